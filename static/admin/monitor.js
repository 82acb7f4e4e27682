// R25: a supervisor watches one conversation from the live board: the live transcript (over
// its own /ws/agent connection: `monitor`, then every event), a whisper box (`note`: an
// internal note the agents see, never sent to the customer), Barge in (`barge_in`: joins as a
// participant who may write to the customer) and Leave (`leave_conference`). Closing the
// panel ends the watch. Every value from the server is set with textContent.

import { h, replace, session, modal, clock, dateTime, toast, customerName } from '../common.js';

const PING_EVERY_MS = 10000;

/** Opens the monitor panel for interaction `id`; `user` is the signed-in supervisor. */
export function openMonitor(id, user) {
  const s = session();
  if (!s) return;
  const { dialog, body, foot, close, titleEl } = modal({ title: `Conversation ${id}`, id: 'monitor-dlg', wide: true });
  dialog.classList.add('monitor');
  const status = h('p', { class: 'muted small', role: 'status', id: 'monitor-status', text: 'Connecting…' });
  const who = h('div', { class: 'monitor-who', id: 'monitor-who' });
  const transcript = h('div', { class: 'monitor-transcript', id: 'monitor-transcript', role: 'log', 'aria-live': 'polite', 'aria-label': 'Live transcript' });
  const noteInput = h('textarea', { id: 'monitor-note', rows: 2, maxlength: 4096, placeholder: 'Whisper to the agents (an internal note: the customer never sees it)', 'aria-label': 'Internal note to the agents' });
  const noteBtn = h('button', { type: 'button', class: 'btn', id: 'monitor-note-send', text: 'Whisper' });
  const sayInput = h('textarea', { id: 'monitor-say', rows: 2, maxlength: 4096, placeholder: 'Message to the customer', 'aria-label': 'Message to the customer' });
  const sayBtn = h('button', { type: 'button', class: 'btn primary', id: 'monitor-say-send', text: 'Send to customer' });
  const sayRow = h('div', { class: 'row monitor-say', hidden: true }, sayInput, sayBtn);
  const bargeBtn = h('button', { type: 'button', class: 'btn primary', id: 'monitor-barge', text: 'Barge in' });
  const leaveBtn = h('button', { type: 'button', class: 'btn', id: 'monitor-leave', text: 'Leave the chat', hidden: true });
  const closeBtn = h('button', { type: 'button', class: 'btn', text: 'Close' });
  body.append(status, who, transcript, h('div', { class: 'row monitor-note' }, noteInput, noteBtn), sayRow);
  foot.append(bargeBtn, leaveBtn, h('span', { class: 'spacer' }), closeBtn);

  let data = null;
  let ws = null;
  let pinger = null;
  let ref = 0;
  const pending = new Map();
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';

  const send = (cmd) => new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return reject(new Error('Not connected.'));
    const r = `m${++ref}`;
    pending.set(r, { resolve, reject });
    ws.send(JSON.stringify({ ...cmd, ref: r }));
  });

  const inIt = () => !!data && data.participants.some((p) => p.agent_id === user.id);

  const render = () => {
    if (!data) return;
    titleEl.textContent = `${customerName(data.customer)} · ${data.queue.name}`;
    replace(who, h('span', { text: `State: ${data.state.replace('_', '-')}` }), ' · ',
      h('span', { text: `Agents: ${data.participants.map((p) => `${p.display_name}${p.role === 'supervisor' ? ' (supervisor)' : ''}`).join(', ') || 'none'}` }),
      data.alert && data.alert !== 'none' ? h('span', { class: `alert-chip ${data.alert}`, text: ` · reply alert: ${data.alert}` }) : null);
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    replace(transcript, data.messages.map(line));
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
    const joined = inIt();
    const open = data.state !== 'closed';
    bargeBtn.hidden = joined || !open;
    bargeBtn.disabled = data.state !== 'active';
    leaveBtn.hidden = !joined;
    sayRow.hidden = !joined;
    noteInput.disabled = !open;
    noteBtn.disabled = !open;
    if (!open) status.textContent = 'The conversation is closed.';
  };

  const line = (m) => {
    const time = h('time', { datetime: m.sent_at, title: dateTime(m.sent_at), text: clock(m.sent_at) });
    const author = (m.author && m.author.name) || '';
    if (m.direction === 'system') return h('div', { class: 'mline sys', dataset: { mid: m.id } }, h('span', { text: m.text }), ' · ', time);
    const label = m.direction === 'internal' ? `Internal note · ${author}` : m.direction === 'in' ? author || 'Customer' : author || 'Agent';
    return h('div', { class: `mline ${m.direction}`, dataset: { mid: m.id } },
      h('div', { class: 'who small', text: label }),
      h('div', { class: 'text', text: m.deleted ? '(deleted by the customer)' : m.text }),
      h('div', { class: 'muted small' }, time, m.status ? ` · ${m.status}` : ''));
  };

  const upsert = (m) => {
    if (!data) return;
    const i = data.messages.findIndex((x) => x.id === m.id);
    if (i >= 0) data.messages[i] = m; else data.messages.push(m);
  };

  const onEvent = (e) => {
    if (e.type === 'ack' || e.type === 'error') {
      const p = pending.get(e.ref);
      if (!p) { if (e.type === 'error') toast(e.message, 'error'); return; }
      pending.delete(e.ref);
      return e.type === 'ack' ? p.resolve(e) : p.reject(new Error(e.message || e.code));
    }
    if (e.type === 'interaction' && e.id === id) { data = e; render(); return; }
    if (e.interaction_id !== id) return;
    if (e.type === 'message' || e.type === 'message_changed') { upsert(e.message); render(); }
    else if (e.type === 'message_status' && data) {
      const m = data.messages.find((x) => x.id === e.message_id);
      if (m) { m.status = e.status; render(); }
    } else if (e.type === 'alert' && data) { data.alert = e.level; render(); }
  };

  const connect = () => {
    ws = new WebSocket(`${proto}://${location.host}/ws/agent?token=${encodeURIComponent(s.token)}`);
    ws.addEventListener('open', async () => {
      pinger = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}'); }, PING_EVERY_MS);
      try {
        await send({ type: 'monitor', interaction_id: id });
        status.textContent = 'Watching live: the agents are not told.';
      } catch (err) {
        status.textContent = `Cannot watch: ${err.message}`;
      }
    });
    ws.addEventListener('message', (msg) => {
      let e;
      try { e = JSON.parse(msg.data); } catch { return; }
      onEvent(e);
    });
    ws.addEventListener('close', () => {
      clearInterval(pinger);
      if (dialog.isConnected) status.textContent = 'Disconnected. Close and open the conversation again to watch it.';
    });
  };

  const act = async (btn, cmd, done) => {
    btn.disabled = true;
    try {
      await send(cmd);
      if (done) done();
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      btn.disabled = false;
      render();
    }
  };
  const sendNote = () => {
    const text = noteInput.value.trim();
    if (text) act(noteBtn, { type: 'note', interaction_id: id, text }, () => { noteInput.value = ''; });
  };
  const sendSay = () => {
    const text = sayInput.value.trim();
    if (text) act(sayBtn, { type: 'send', interaction_id: id, text }, () => { sayInput.value = ''; });
  };
  noteBtn.addEventListener('click', sendNote);
  sayBtn.addEventListener('click', sendSay);
  for (const [input, go] of [[noteInput, sendNote], [sayInput, sendSay]]) {
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); go(); }
    });
  }
  bargeBtn.addEventListener('click', () => act(bargeBtn, { type: 'barge_in', interaction_id: id }, () => {
    status.textContent = 'You are in the conversation: the customer sees your messages.';
  }));
  leaveBtn.addEventListener('click', () => act(leaveBtn, { type: 'leave_conference', interaction_id: id }, () => {
    status.textContent = 'You left the conversation; still watching.';
  }));
  const finish = () => {
    clearInterval(pinger);
    if (ws && ws.readyState === WebSocket.OPEN) {
      try { ws.send(JSON.stringify({ type: 'unmonitor', interaction_id: id })); } catch { /* closing anyway */ }
      ws.close();
    }
  };
  closeBtn.addEventListener('click', () => { finish(); close(); });
  dialog.addEventListener('close', finish);
  connect();
  dialog.showModal();
  noteInput.focus();
}
