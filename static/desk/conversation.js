// The conversation (center pane): header with the actions, message bubbles with delivery
// ticks, and the composer (4096 characters, the 24-hour customer service window).

import { h, replace, avatar, clock, dateTime, STATUS_LABEL, tick, toast, icon, kindBadge, customerId, customerIdKind, customerName } from '../common.js';
import { S, el, now, myPart } from './state.js';
import { cmd, fail } from './socket.js';
import { stateChips } from './list.js';
import { openTargets } from './transfer.js';
import { openWrapUp } from './wrap_up.js';

const MAX_CHARS = 4096;

let centerFor = null; // id the center was built for
let centerParts = null;

export function renderCenter(update = false) {
  if (!S || !el.center) return;
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (!it) {
    centerFor = null;
    const st = S.status ? S.status.status : 'offline';
    const hint = st === 'available'
      ? (S.status.stop_new ? 'New requests are stopped. Press Resume to receive requests.' : 'You are Available. New requests will pop up here.')
      : st === 'rona' ? 'You missed a request (RONA). Set yourself Available to receive requests again.'
        : `You are ${STATUS_LABEL[st] || st}. Set yourself Available to receive requests.`;
    replace(el.center, h('div', { class: 'empty' },
      h('div', { class: 'big' }, icon('chat', 34)),
      h('h2', { text: 'No conversation selected' }),
      h('p', { class: 'muted', id: 'idle-hint', text: hint })));
    return;
  }
  if (!update || centerFor !== it.data.id || !centerParts) buildCenter(it);
  fillHead(it);
  fillMessages(it);
  fillComposer(it);
}

function buildCenter(it) {
  centerFor = it.data.id;
  const head = h('div', { class: 'pane-head conv-head' });
  const msgs = h('div', { class: 'pane-body messages', id: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const notice = h('div', { class: 'notice', id: 'composer-notice', role: 'status', hidden: true });
  const ta = h('textarea', {
    id: 'composer', 'aria-label': 'Message', rows: '3',
    placeholder: 'Type a message — Enter to send, Shift+Enter for a new line',
    'aria-describedby': 'char-counter composer-notice',
  });
  const counter = h('span', { class: 'counter', id: 'char-counter', 'aria-live': 'off' });
  const sendBtn = h('button', { class: 'btn primary', type: 'button', id: 'send-btn', text: 'Send' });
  const composer = h('div', { class: 'composer' }, notice, ta,
    h('div', { class: 'bar' }, h('span', { class: 'muted small', text: 'Enter to send · Shift+Enter for a new line' }), h('span', { class: 'spacer' }), counter, sendBtn));
  ta.value = it.draft || '';
  ta.addEventListener('input', () => {
    const cur = S.interactions.get(centerFor);
    if (cur) cur.draft = ta.value;
    updateCounter();
  });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendCurrent();
    }
  });
  sendBtn.addEventListener('click', sendCurrent);
  replace(el.center, head, msgs, composer);
  centerParts = { head, msgs, notice, ta, counter, sendBtn, renderedKey: '' };
}

function charCount(s) { return Array.from(s).length; }

function updateCounter() {
  const { ta, counter, sendBtn } = centerParts;
  const n = charCount(ta.value);
  counter.textContent = `${n} / ${MAX_CHARS}`;
  counter.classList.toggle('over', n > MAX_CHARS);
  counter.setAttribute('aria-label', `${n} of ${MAX_CHARS} characters`);
  sendBtn.disabled = ta.disabled || n === 0 || n > MAX_CHARS || !ta.value.trim();
}

async function sendCurrent() {
  const it = S.interactions.get(centerFor);
  if (!it || !centerParts) return;
  const { ta } = centerParts;
  const text = ta.value;
  const n = charCount(text);
  if (ta.disabled || !text.trim()) return;
  if (n > MAX_CHARS) { toast(`A message can have at most ${MAX_CHARS} characters.`, 'error'); return; }
  ta.value = '';
  it.draft = '';
  updateCounter();
  try {
    await cmd('send', { interaction_id: it.data.id, text });
  } catch (e) {
    fail(e);
    if (!ta.value) { ta.value = text; it.draft = text; updateCounter(); }
  }
}

function isOwner(it) { return it.data.owner_agent_id === S.me?.id; }

function fillHead(it) {
  const d = it.data;
  const p = myPart(it);
  const owner = isOwner(it);
  const activeMe = p && !p.wrap_up_deadline && d.state === 'active';
  const name = customerName(d.customer);
  const actions = [];
  if (it.wrap) {
    actions.push(h('button', { class: 'btn primary', type: 'button', text: 'Wrap up', on: { click: () => openWrapUp(it) } }));
  } else if (activeMe) {
    const blocked = !!d.interrupted;
    if (owner) {
      actions.push(h('button', { class: 'btn', type: 'button', text: 'Transfer', disabled: blocked, on: { click: () => openTargets(it, 'transfer') } }));
      actions.push(h('button', { class: 'btn', type: 'button', text: 'Conference', disabled: blocked || d.participants.length >= 5, on: { click: () => openTargets(it, 'conference') } }));
      if (d.conference_state !== 'none') {
        actions.push(h('button', { class: 'btn', type: 'button', text: 'End conference', on: { click: () => cmd('end_conference', { interaction_id: d.id }).catch(fail) } }));
      }
    } else if (p && p.role === 'conference') {
      actions.push(h('button', { class: 'btn', type: 'button', text: 'Leave conference', on: { click: () => cmd('leave_conference', { interaction_id: d.id }).catch(fail) } }));
    }
    if (owner) {
      actions.push(h('button', { class: 'btn danger', type: 'button', text: 'End', 'aria-label': `End the conversation with ${name}`, on: { click: () => cmd('end', { interaction_id: d.id }).catch(fail) } }));
    }
  }
  replace(centerParts.head,
    avatar(name),
    h('div', { class: 'title' },
      h('div', { class: 'nm', id: 'conv-name', text: name }),
      h('div', { class: 'sub' },
        h('span', {
          id: 'conv-phone', dataset: { identity: customerIdKind(d.customer) }, text: customerId(d.customer),
          title: d.customer.phone ? 'Phone number' : d.customer.username ? 'WhatsApp username (the number is withheld)' : 'WhatsApp user id (the number is withheld)',
        }),
        h('span', { text: '·' }),
        h('span', { text: d.queue.name }))),
    h('div', { class: 'conv-actions', role: 'toolbar', 'aria-label': 'Conversation actions' }, actions),
    h('div', { class: 'conv-chips' }, stateChips(it)));
}

function fillMessages(it) {
  const box = centerParts.msgs;
  const d = it.data;
  const key = d.messages.map((m) => `${m.id}:${m.status || ''}:${m.error || ''}`).join(',') + `|${d.conference_state}`;
  if (key === centerParts.renderedKey) return;
  centerParts.renderedKey = key;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const showNames = d.conference_state !== 'none' || d.messages.some((m) => m.direction === 'out' && m.author && m.author.id && m.author.id !== String(S.me?.id));
  replace(box, d.messages.length ? d.messages.map((m) => messageEl(m, showNames)) : h('div', { class: 'sysmsg', text: 'No messages yet.' }));
  if (atBottom || !box.dataset.seen) box.scrollTop = box.scrollHeight;
  box.dataset.seen = '1';
}

function messageEl(m, showNames) {
  const time = h('time', { datetime: m.sent_at, title: dateTime(m.sent_at), text: clock(m.sent_at) });
  if (m.direction === 'system') {
    return h('div', { class: 'sysmsg', dataset: { mid: m.id } }, m.text, ' · ', time);
  }
  const kind = m.kind && m.kind !== 'text'
    ? h('div', {}, kindBadge(m.kind)) : null;
  const text = m.text ? h('div', { class: 'text', text: m.text }) : null;
  if (m.direction === 'in') {
    const name = (m.author && m.author.name) || 'Customer';
    return h('div', { class: 'msg in', dataset: { mid: m.id } },
      avatar(name),
      h('div', {},
        h('div', { class: 'bubble', 'aria-label': `${name} wrote` }, kind, text),
        h('div', { class: 'meta' }, time)));
  }
  const mine = m.author && m.author.id === String(S.me?.id);
  const name = (m.author && m.author.name) || 'Agent';
  const failed = m.status === 'failed';
  return h('div', { class: `msg out${failed ? ' failed' : ''}`, dataset: { mid: m.id, status: m.status || '' } },
    h('div', {},
      h('div', { class: 'bubble' },
        showNames ? h('div', { class: 'author', text: mine ? `${name} (you)` : name }) : null, kind, text),
      h('div', { class: 'meta' }, time, tick(m.status)),
      failed ? h('div', { class: 'failure', role: 'alert' },
        h('span', { text: `Not delivered: ${m.error || 'the WhatsApp API refused it'}.` }),
        h('span', { text: 'Check the reason, then send it again.' }),
        h('button', {
          class: 'btn small', type: 'button', text: 'Retry',
          'aria-label': 'Put the failed message back in the composer to send it again',
          on: { click: () => { if (centerParts && !centerParts.ta.disabled) { centerParts.ta.value = m.text; updateCounter(); centerParts.ta.focus(); } } },
        })) : null));
}

function composerBlock(it) {
  const d = it.data;
  const p = myPart(it);
  if (it.wrap || (p && p.wrap_up_deadline)) return 'This conversation has ended for you. Wrap it up to free your capacity.';
  if (d.interrupted) return `This conversation was interrupted (${d.interrupted}). You can no longer send messages: end it and wrap up.`;
  if (d.state !== 'active' || !p) return 'You cannot write in this conversation.';
  if (d.window_expires_at && Date.parse(d.window_expires_at) <= now()) {
    return `The 24-hour customer service window closed at ${dateTime(d.window_expires_at)}. WhatsApp only allows replies within 24 hours of the customer's last message: you can write again when the customer does.`;
  }
  return null;
}

function fillComposer(it) {
  const block = composerBlock(it);
  const { notice, ta } = centerParts;
  notice.hidden = !block;
  notice.textContent = block || '';
  ta.disabled = !!block;
  updateCounter();
}

/** The 24-hour window may close while the conversation is open: checked every second. */
export function recheckWindow() {
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (it && centerParts && centerFor === it.data.id) {
    const block = composerBlock(it);
    if ((block || '') !== centerParts.notice.textContent) fillComposer(it);
  }
}
