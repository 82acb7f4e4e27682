// The customer simulator (sandbox mode): play a WhatsApp customer. Messages go through the
// real webhook path (signed like Meta signs them, by /api/v1/simulator/messages); the
// agents' replies show with their delivery status. No login needed.

import { h, $, replace, avatar, clock, dateTime, tick, toast, kindBadge, icon } from './common.js';

const root = $('#root');
const STORE = 'switchboard.simulator';
const FIRST = ['Maria', 'James', 'Aiko', 'Omar', 'Lena', 'Diego', 'Priya', 'Tom', 'Chloé', 'Kwame'];
const LAST = ['Lopez', 'Smith', 'Tanaka', 'Haddad', 'Fischer', 'García', 'Patel', 'Brown', 'Martin', 'Mensah'];

let channels = [];
let cur = loadSaved();
let lastKey = '';
let readInFlight = false;
let pollTimer = null;

function loadSaved() {
  try {
    const s = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (s && s.from) return s;
  } catch { /* ignore */ }
  return randomCustomer();
}

function randomCustomer() {
  const pick = (a) => a[Math.floor(Math.random() * a.length)];
  const digits = String(Math.floor(1e8 + Math.random() * 9e8));
  return { name: `${pick(FIRST)} ${pick(LAST)}`, from: `4477${digits}`, phone_number_id: null };
}

function save() { localStorage.setItem(STORE, JSON.stringify(cur)); }

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error((data && data.error && data.error.message) || res.statusText);
    e.status = res.status;
    throw e;
  }
  return data;
}

// ---------------------------------------------------------------- layout

const channelSel = h('select', { id: 'sim-channel' });
const nameIn = h('input', { type: 'text', id: 'sim-name', autocomplete: 'off', maxlength: '100' });
const numberIn = h('input', { type: 'tel', id: 'sim-number', autocomplete: 'off', inputmode: 'tel' });
const applyBtn = h('button', { type: 'button', class: 'btn primary', id: 'sim-apply', text: 'Use this customer' });
const randomBtn = h('button', { type: 'button', class: 'btn', id: 'sim-random', text: 'Random customer' });
const autoRead = h('input', { type: 'checkbox', id: 'sim-autoread', checked: true });
const headName = h('div', { id: 'phone-business' });
const headAvatar = h('span');
const headSub = h('div', { class: 'sub', id: 'phone-sub' });
const msgs = h('div', { class: 'phone-msgs', id: 'sim-messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
const text = h('textarea', { id: 'sim-text', rows: '1', 'aria-label': 'Message as the customer', placeholder: 'Write as the customer — Enter to send' });
const sendBtn = h('button', { type: 'button', class: 'btn primary', id: 'sim-send', text: 'Send' });
const attach = (kind, label) => h('button', {
  type: 'button', class: 'icon-btn', title: `Send ${label.toLowerCase()}`, 'aria-label': `Send ${label.toLowerCase()}`,
  dataset: { kind }, on: { click: () => sendMessage(kind) },
}, icon(kind));
const who = h('div', { class: 'muted small', id: 'sim-who' });

replace(root,
  h('header', { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, icon('phone', 17)), 'Switchboard'),
    h('span', { class: 'chip amber', text: 'Sandbox' }),
    h('h1', { class: 'small muted', text: 'Customer simulator' }),
    h('div', { class: 'spacer' }),
    h('a', { class: 'btn ghost', href: './', target: '_blank', text: 'Agent desktop' })),
  h('div', { class: 'sim' },
    h('section', { 'aria-labelledby': 'cust-title' },
      h('div', { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', { id: 'cust-title', text: 'You are the customer' })),
        h('div', { class: 'card-body' },
          h('div', { class: 'field' }, h('label', { for: 'sim-channel', text: 'Business number' }), channelSel),
          h('div', { class: 'field' }, h('label', { for: 'sim-name', text: 'Your WhatsApp name' }), nameIn),
          h('div', { class: 'field' }, h('label', { for: 'sim-number', text: 'Your phone number' }), numberIn,
            h('div', { class: 'hint', text: 'Digits with country code, e.g. 447700900123.' })),
          h('div', { class: 'row wrap' }, applyBtn, randomBtn))),
      h('div', { class: 'card' },
        h('div', { class: 'card-body' },
          h('label', { class: 'check', for: 'sim-autoread' }, autoRead, 'Send read receipts when replies arrive'),
          h('p', { class: 'muted small', text: 'Messages are signed with the channel\u2019s app secret and delivered to /webhooks/whatsapp, exactly like Meta\u2019s deliveries. Replies are delivered here instead of WhatsApp (sandbox mode).' }),
          who))),
    h('section', { class: 'phone', 'aria-label': 'Phone' },
      h('div', { class: 'phone-head' }, headAvatar, h('div', {}, headName, headSub)),
      msgs,
      h('div', { class: 'phone-compose' }, attach('image', 'Image'), attach('location', 'Location'), attach('document', 'Document'), text, sendBtn))));

// ---------------------------------------------------------------- behaviour

function fillForm() {
  nameIn.value = cur.name;
  numberIn.value = cur.from;
  if (cur.phone_number_id) channelSel.value = cur.phone_number_id;
  const ch = channels.find((c) => c.phone_number_id === channelSel.value);
  headName.textContent = ch ? ch.name : 'No channel';
  replace(headAvatar, avatar(ch ? ch.name : '?'));
  headSub.textContent = ch ? `${ch.display_phone_number} · chatting as ${cur.name} (+${cur.from})` : '';
  who.textContent = `Chatting as ${cur.name}, +${cur.from}.`;
}

function applyForm() {
  const from = numberIn.value.replace(/[\s+().-]/g, '');
  if (!/^\d{6,15}$/.test(from)) { toast('The phone number must have 6 to 15 digits.', 'error'); numberIn.focus(); return false; }
  const name = nameIn.value.trim();
  if (!name) { toast('Enter a name.', 'error'); nameIn.focus(); return false; }
  const changed = from !== cur.from || channelSel.value !== cur.phone_number_id;
  cur = { name, from, phone_number_id: channelSel.value || null };
  save();
  fillForm();
  if (changed) { lastKey = ''; replace(msgs); }
  poll();
  return true;
}

applyBtn.addEventListener('click', applyForm);
randomBtn.addEventListener('click', () => {
  const r = randomCustomer();
  nameIn.value = r.name;
  numberIn.value = r.from;
  applyForm();
});
channelSel.addEventListener('change', applyForm);
text.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage('text'); }
});
sendBtn.addEventListener('click', () => sendMessage('text'));

async function sendMessage(kind) {
  if ((nameIn.value.trim() !== cur.name || numberIn.value.replace(/[\s+().-]/g, '') !== cur.from) && !applyForm()) return;
  const body = text.value;
  if (kind === 'text' && !body.trim()) return;
  sendBtn.disabled = true;
  try {
    await call('POST', '/api/v1/simulator/messages', {
      phone_number_id: cur.phone_number_id || undefined, from: cur.from, name: cur.name, text: kind === 'text' ? body : body.trim(), kind,
    });
    text.value = '';
    await poll();
  } catch (e) {
    toast(`Not sent: ${e.message}`, 'error');
  } finally {
    sendBtn.disabled = false;
    text.focus();
  }
}

function render(list) {
  const key = list.map((m) => `${m.id}:${m.status}`).join(',');
  if (key === lastKey) return;
  lastKey = key;
  const atBottom = msgs.scrollHeight - msgs.scrollTop - msgs.clientHeight < 60;
  if (!list.length) {
    replace(msgs, h('div', { class: 'sysmsg', text: 'No messages yet. Write something to the business.' }));
    return;
  }
  let lastInteraction = null;
  const out = [];
  for (const m of list) {
    if (lastInteraction !== null && m.interaction_id !== lastInteraction) {
      out.push(h('div', { class: 'day-sep', text: 'New conversation' }));
    }
    lastInteraction = m.interaction_id;
    const mine = m.direction === 'in';
    out.push(h('div', { class: `wa ${mine ? 'mine' : 'theirs'}`, dataset: { mid: m.id, status: m.status || '' } },
      m.kind !== 'text' ? h('div', {}, kindBadge(m.kind)) : null,
      m.text ? h('div', { class: 'text', text: m.text }) : null,
      h('div', { class: 'meta' },
        h('time', { datetime: m.sent_at, title: dateTime(m.sent_at), text: clock(m.sent_at) }),
        mine ? null : tick(m.status)),
      !mine && m.status === 'failed' ? h('div', { class: 'error-text', text: `Not delivered: ${m.error || 'failed'}` }) : null));
  }
  replace(msgs, out);
  if (atBottom || msgs.dataset.seen !== cur.from) msgs.scrollTop = msgs.scrollHeight;
  msgs.dataset.seen = cur.from;
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    const qs = new URLSearchParams({ from: cur.from });
    if (cur.phone_number_id) qs.set('phone_number_id', cur.phone_number_id);
    const r = await call('GET', `/api/v1/simulator/messages?${qs}`);
    render(r.messages);
    const unread = r.messages.some((m) => m.direction === 'out' && (m.status === 'sent' || m.status === 'delivered'));
    if (unread && autoRead.checked && !document.hidden && !readInFlight) {
      readInFlight = true;
      call('POST', '/api/v1/simulator/read', { from: cur.from, phone_number_id: cur.phone_number_id || undefined })
        .catch(() => {})
        .finally(() => { readInFlight = false; });
    }
  } catch (e) {
    if (e.status === 404) {
      replace(msgs, h('div', { class: 'sysmsg', text: 'The simulator is only available in sandbox mode (whatsapp.sandbox = true).' }));
      return;
    }
  }
  pollTimer = setTimeout(poll, 1000);
}

async function init() {
  try {
    const r = await call('GET', '/api/v1/simulator/channels');
    channels = r.channels;
  } catch (e) {
    replace(msgs, h('div', { class: 'sysmsg', text: e.status === 404 ? 'The simulator is only available in sandbox mode (whatsapp.sandbox = true).' : e.message }));
    return;
  }
  replace(channelSel, channels.map((c) => h('option', { value: c.phone_number_id, text: `${c.name} (${c.display_phone_number})` })));
  if (!channels.some((c) => c.phone_number_id === cur.phone_number_id)) cur.phone_number_id = channels[0]?.phone_number_id || null;
  fillForm();
  save();
  poll();
}

document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
init();
