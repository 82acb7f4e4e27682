// The customer simulator (sandbox mode): play a WhatsApp customer, known by a phone number
// or, with the number withheld, by @username (R21). Messages go through the real webhook
// path (signed like Meta signs them, by /api/v1/simulator/messages); the agents' replies
// show with their delivery status, and with their attachments and quotes when the server
// tells them. No login needed.

import { h, $, replace, avatar, clock, dateTime, tick, toast, kindBadge, icon, bytes, isMediaPlaceholder, KIND_LABEL, modal } from './common.js';

const root = $('#root');
const STORE = 'switchboard.simulator';
const FIRST = ['Maria', 'James', 'Aiko', 'Omar', 'Lena', 'Diego', 'Priya', 'Tom', 'Chloé', 'Kwame'];
const LAST = ['Lopez', 'Smith', 'Tanaka', 'Haddad', 'Fischer', 'García', 'Patel', 'Brown', 'Martin', 'Mensah'];
const USERNAME = /^@[A-Za-z0-9._]{3,35}$/;

let channels = [];
let cur = loadSaved();
let lastKey = '';
let readInFlight = false;
let pollTimer = null;
/** The message the customer is answering (quoted), or null. */
let replyTo = null;

function loadSaved() {
  try {
    const s = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (s && s.from) return s;
  } catch { /* ignore */ }
  return randomCustomer();
}

function randomCustomer(withUsername = false) {
  const pick = (a) => a[Math.floor(Math.random() * a.length)];
  const first = pick(FIRST);
  const last = pick(LAST);
  if (withUsername) {
    const plain = (w) => w.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
    return { name: `${first} ${last}`, from: `@${plain(first)}.${plain(last)}${Math.floor(10 + Math.random() * 90)}`, phone_number_id: null };
  }
  const digits = String(Math.floor(1e8 + Math.random() * 9e8));
  return { name: `${first} ${last}`, from: `4477${digits}`, phone_number_id: null };
}

/** The number's digits, or `@username` in lower case; null when it is neither. */
function parseFrom(value) {
  const v = value.trim();
  if (v.startsWith('@')) return USERNAME.test(v) ? v.toLowerCase() : null;
  const digits = v.replace(/[\s+().-]/g, '');
  return /^\d{6,15}$/.test(digits) ? digits : null;
}

/** How the customer shows: +digits, or @username. */
function label(from) {
  return from.startsWith('@') ? from : `+${from}`;
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
const numberIn = h('input', { type: 'text', id: 'sim-number', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'sim-number-hint' });
const applyBtn = h('button', { type: 'button', class: 'btn primary', id: 'sim-apply', text: 'Use this customer' });
const randomBtn = h('button', { type: 'button', class: 'btn small', id: 'sim-random', text: 'Random number', title: 'A random customer known by a phone number' });
const randomUserBtn = h('button', { type: 'button', class: 'btn small', id: 'sim-random-username', text: 'Random @username', title: 'A random customer who withholds the number' });
const autoRead = h('input', { type: 'checkbox', id: 'sim-autoread', checked: true });
const readBtn = h('button', { type: 'button', class: 'btn small', id: 'sim-read', text: 'Mark replies as read', disabled: true });
const headName = h('div', { id: 'phone-business' });
const headAvatar = h('span');
const headSub = h('div', { class: 'sub', id: 'phone-sub' });
const msgs = h('div', { class: 'phone-msgs', id: 'sim-messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
const text = h('textarea', { id: 'sim-text', rows: '1', 'aria-label': 'Message as the customer', placeholder: 'Write as the customer — Enter to send' });
const sendBtn = h('button', { type: 'button', class: 'btn primary', id: 'sim-send', text: 'Send' });
const replyText = h('div', { class: 'q' });
const replyCancel = h('button', { type: 'button', class: 'btn small', id: 'sim-reply-cancel', text: '×', 'aria-label': 'Cancel the reply' });
const replyBar = h('div', { class: 'wa-quote sim-replying', id: 'sim-replying', hidden: true },
  h('div', { class: 'nm', text: 'Replying to' }), replyText, replyCancel);
const attach = (kind, what) => h('button', {
  type: 'button', class: 'icon-btn', title: `Send ${what} (the text becomes its caption)`, 'aria-label': `Send ${what}`,
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
          h('div', { class: 'field' }, h('label', { for: 'sim-number', text: 'Your phone number or @username' }), numberIn,
            h('div', { class: 'hint', id: 'sim-number-hint', text: 'Digits with country code (447700900123), or @username for a customer who withholds the number.' })),
          h('div', { class: 'row wrap' }, applyBtn, h('div', { class: 'row' }, randomBtn, randomUserBtn)))),
      h('div', { class: 'card' },
        h('div', { class: 'card-body' },
          h('label', { class: 'check', for: 'sim-autoread' }, autoRead, 'Send read receipts when replies arrive'),
          h('div', { class: 'row', id: 'sim-read-row' }, readBtn),
          h('p', { class: 'muted small', text: 'Messages are signed with the channel\u2019s app secret and delivered to /webhooks/whatsapp, like Meta\u2019s deliveries; replies come back here (sandbox mode). Images, documents and stickers are sample files.' }),
          who))),
    h('section', { class: 'phone', 'aria-label': 'Phone' },
      h('div', { class: 'phone-head' }, headAvatar, h('div', {}, headName, headSub)),
      msgs,
      replyBar,
      h('div', { class: 'phone-compose' },
        attach('image', 'an image'), attach('document', 'a document'), attach('sticker', 'a sticker'), attach('location', 'a location'),
        text, sendBtn))));

// ---------------------------------------------------------------- behaviour

function fillForm() {
  nameIn.value = cur.name;
  numberIn.value = cur.from;
  if (cur.phone_number_id) channelSel.value = cur.phone_number_id;
  const ch = channels.find((c) => c.phone_number_id === channelSel.value);
  headName.textContent = ch ? ch.name : 'No channel';
  replace(headAvatar, avatar(ch ? ch.name : '?'));
  headSub.textContent = ch ? `${ch.display_phone_number} · chatting as ${cur.name} (${label(cur.from)})` : '';
  who.textContent = cur.from.startsWith('@')
    ? `Chatting as ${cur.name}, ${cur.from}: the number is withheld.`
    : `Chatting as ${cur.name}, ${label(cur.from)}.`;
}

function applyForm() {
  const from = parseFrom(numberIn.value);
  if (!from) {
    toast('Enter a phone number of 6 to 15 digits, or @username (3 to 35 letters, digits, . or _).', 'error');
    numberIn.focus();
    return false;
  }
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
for (const [btn, withUsername] of [[randomBtn, false], [randomUserBtn, true]]) {
  btn.addEventListener('click', () => {
    const r = randomCustomer(withUsername);
    nameIn.value = r.name;
    numberIn.value = r.from;
    applyForm();
  });
}
readBtn.addEventListener('click', () => markRead(true));
channelSel.addEventListener('change', applyForm);
text.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage('text'); }
});
sendBtn.addEventListener('click', () => sendMessage('text'));

async function sendMessage(kind) {
  if ((nameIn.value.trim() !== cur.name || parseFrom(numberIn.value) !== cur.from) && !applyForm()) return;
  const body = text.value;
  if (kind === 'text' && !body.trim()) return;
  sendBtn.disabled = true;
  try {
    await call('POST', '/api/v1/simulator/messages', {
      phone_number_id: cur.phone_number_id || undefined, from: cur.from, name: cur.name, text: kind === 'text' ? body : body.trim(), kind,
      reply_to: replyTo ? replyTo.id : undefined,
    });
    text.value = '';
    setReply(null);
    await poll();
  } catch (e) {
    toast(`Not sent: ${e.message}`, 'error');
  } finally {
    sendBtn.disabled = false;
    text.focus();
  }
}

/** An attachment as the phone shows it: a picture, or a file to open (sandbox links). */
function mediaInfo(m) {
  const md = m.media;
  if (md.state === 'ready' && md.url && ['image', 'sticker'].includes(m.kind)) {
    return h('a', { class: 'wa-media-img', href: md.url, target: '_blank', rel: 'noopener', dataset: { kind: m.kind, mediaState: md.state }, 'aria-label': `Open the ${KIND_LABEL[m.kind] || 'picture'}` },
      h('img', { src: md.url, alt: md.caption || KIND_LABEL[m.kind] || 'Picture', loading: 'lazy' }));
  }
  if (md.state === 'ready' && md.url) {
    return h('a', { class: 'wa-media', href: md.url, target: '_blank', rel: 'noopener', dataset: { kind: m.kind, mediaState: md.state } },
      icon(['video', 'audio'].includes(m.kind) ? m.kind : 'document', 20),
      h('div', {},
        h('div', { class: 'nm', text: md.filename || KIND_LABEL[m.kind] || 'File' }),
        h('div', { class: 'small', text: [md.mime_type, md.size ? bytes(md.size) : null].filter(Boolean).join(' · ') })));
  }
  const facts = [md.mime_type, md.size ? bytes(md.size) : null].filter(Boolean).join(' · ');
  const state = md.state === 'pending' ? 'on its way…' : md.state === 'failed' ? `not delivered: ${md.error || 'failed'}` : null;
  return h('div', { class: 'wa-media', dataset: { kind: m.kind, mediaState: md.state || '' } },
    icon(['image', 'video', 'audio', 'sticker'].includes(m.kind) ? m.kind : 'document', 20),
    h('div', {},
      h('div', { class: 'nm', text: md.filename || KIND_LABEL[m.kind] || 'File' }),
      facts || state ? h('div', { class: 'small', text: [facts, state].filter(Boolean).join(' · ') }) : null));
}

/** Quote `m` in the next message (null: none). */
function setReply(m) {
  replyTo = m;
  replyBar.hidden = !m;
  replyText.textContent = m ? (m.text || 'A message') : '';
  if (m) text.focus();
}
replyCancel.addEventListener('click', () => setReply(null));
text.addEventListener('keydown', (e) => { if (e.key === 'Escape' && replyTo) setReply(null); });

/** The customer reacts 👍 to a message, or takes their reaction back. */
async function react(m) {
  const mineNow = (m.reactions || []).some((r) => r.by === 'customer');
  try {
    await call('POST', '/api/v1/simulator/reactions', {
      phone_number_id: cur.phone_number_id || undefined, from: cur.from, message_id: m.id, emoji: mineNow ? '' : '👍',
    });
    await poll();
  } catch (e) {
    toast(`Not sent: ${e.message}`, 'error');
  }
}

function render(list) {
  const key = JSON.stringify(list);
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
    const quoted = m.reply_to ? list.find((x) => x.id === m.reply_to.message_id) : null;
    const body = m.deleted ? 'You deleted this message' : m.media && isMediaPlaceholder(m.text) ? (m.media.caption || '') : m.text;
    const special = !m.deleted && !mine && (m.template || m.interactive);
    const extra = m.template ? ' template' : m.interactive ? ' interactive' : '';
    out.push(h('div', { class: `wa ${mine ? 'mine' : 'theirs'}${m.deleted ? ' deleted' : ''}${extra}`, dataset: { mid: m.id, status: m.status || '', template: m.template ? m.template.name : null } },
      m.reply_to ? h('div', { class: 'wa-quote' },
        h('div', { class: 'nm', text: quoted && quoted.direction === 'in' ? 'You' : headName.textContent }),
        h('div', { class: 'q', text: m.reply_to.text || (quoted && quoted.text) || 'An earlier message' })) : null,
      special ? null : m.media ? mediaInfo(m) : m.kind !== 'text' && m.kind !== 'template' ? h('div', {}, kindBadge(m.kind)) : null,
      special && m.template ? templateParts(m) : null,
      special && !m.template && m.interactive ? listParts(m) : null,
      !special && body ? h('div', { class: 'text', text: body }) : null,
      Array.isArray(m.reactions) && m.reactions.length
        ? h('div', { class: 'wa-reactions', role: 'img', 'aria-label': `Reactions: ${m.reactions.map((r) => r.emoji).join(' ')}` },
          m.reactions.map((r) => h('span', { text: r.emoji, title: (r.author && r.author.name) || '' }))) : null,
      h('div', { class: 'meta' },
        m.edited ? h('span', { text: 'edited' }) : null,
        h('time', { datetime: m.sent_at, title: dateTime(m.sent_at), text: clock(m.sent_at) }),
        // The customer's own messages show ticks when the server gives them a status.
        tick(m.status)),
      !mine && m.status === 'failed' ? h('div', { class: 'error-text', text: `Not delivered: ${m.error || 'failed'}` }) : null,
      m.deleted ? null : h('div', { class: 'wa-actions' },
        h('button', { type: 'button', class: 'btn small sim-reply', text: 'Reply', 'aria-label': 'Reply to this message', on: { click: () => setReply(m) } }),
        h('button', { type: 'button', class: 'btn small sim-react', text: (m.reactions || []).some((r) => r.by === 'customer') ? 'Undo 👍' : '👍', 'aria-label': 'React with thumbs up', on: { click: () => react(m) } }))));
  }
  replace(msgs, out);
  if (atBottom || msgs.dataset.seen !== cur.from) msgs.scrollTop = msgs.scrollHeight;
  msgs.dataset.seen = cur.from;
}

/**
 * A template as the phone shows it: header in bold, body, footer in small grey, the buttons
 * as chips under the bubble. The server gives the rendered text (header, body, footer and
 * "[Button] [Button]", one block per line); the parts are taken from the template's own
 * fields when the server names them, else from that text.
 */
function templateParts(m) {
  const t = m.template || {};
  let header = t.header ?? null;
  let body = t.body ?? null;
  let footer = t.footer ?? null;
  let buttons = Array.isArray(t.buttons) ? t.buttons.map((b) => (typeof b === 'string' ? b : b.text || '')) : null;
  if (body === null) {
    const lines = String(m.text || '').split('\n');
    const last = lines[lines.length - 1] || '';
    if (!buttons && lines.length > 1 && /^(\[[^\]]+\]\s*)+$/.test(last.trim())) {
      buttons = [...last.matchAll(/\[([^\]]+)\]/g)].map((x) => x[1]);
      lines.pop();
    }
    // A media header is "[image]" on the first line.
    if (lines.length > 1 && /^\[(image|video|document)\]$/.test(lines[0])) header = lines.shift();
    // Headers and footers are one line of at most 60 characters: with three lines or more,
    // the first is the header and the last the footer when they fit.
    if (header === null && lines.length >= 3 && lines[0].length <= 60) header = lines.shift();
    if (lines.length >= 2 && lines[lines.length - 1].length <= 60) footer = lines.pop();
    body = lines.join('\n');
  }
  const media = header && /^\[(image|video|document)\]$/.test(header) ? header.slice(1, -1) : null;
  return [
    media ? h('div', { class: 'wa-media', dataset: { kind: media } }, icon(media === 'document' ? 'document' : media, 20), h('div', { class: 'nm', text: media.charAt(0).toUpperCase() + media.slice(1) }))
      : header ? h('div', { class: 'wa-tpl-header', text: header }) : null,
    body ? h('div', { class: 'text wa-tpl-body', text: body }) : null,
    footer ? h('div', { class: 'wa-tpl-footer', text: footer }) : null,
    buttons && buttons.length ? h('div', { class: 'wa-buttons' }, buttons.map((b) => h('span', { class: 'wa-chip', text: b }))) : null,
  ];
}

/**
 * An interactive list (the CSAT question): its text and a button that opens the rows; the
 * customer taps one. Once answered, the choice shows and the button is spent.
 */
function listParts(m) {
  const it = m.interactive;
  const rows = it.rows || [];
  const chosen = m.answered ? rows.find((r) => r.id === m.answered) : null;
  return [
    it.header ? h('div', { class: 'wa-tpl-header', text: it.header }) : null,
    h('div', { class: 'text', text: it.body || m.text || '' }),
    it.footer ? h('div', { class: 'wa-tpl-footer', text: it.footer }) : null,
    m.answered ? h('div', { class: 'wa-answered', dataset: { answered: m.answered } }, '✓ ', h('span', { text: `You chose: ${chosen ? chosen.title : m.answered}` })) : null,
    h('div', { class: 'wa-buttons' },
      h('button', {
        type: 'button', class: 'wa-chip sim-list-open', disabled: !!m.answered || !rows.length,
        'aria-haspopup': 'dialog', 'aria-label': m.answered ? `${it.button || 'Choose'} (answered)` : `${it.button || 'Choose'}: ${it.body || ''}`,
        on: { click: () => openList(m) },
      }, icon('list', 15), h('span', { text: it.button || 'Choose' }))),
  ];
}

/** The list's rows, as the phone shows them in a sheet; a tap answers. */
function openList(m) {
  const it = m.interactive;
  const dlg = modal({ title: it.button || 'Choose', id: 'sim-list-dialog' });
  dlg.dialog.classList.add('wa-sheet');
  let busy = false;
  dlg.body.append(
    h('p', { class: 'muted small', style: null, text: it.body || '' }),
    h('ul', { class: 'wa-rows', role: 'list' }, (it.rows || []).map((r) => h('li', {},
      h('button', {
        type: 'button', class: 'wa-row', dataset: { row: r.id },
        on: {
          click: async () => {
            if (busy) return;
            busy = true;
            try {
              await call('POST', '/api/v1/simulator/messages', {
                phone_number_id: cur.phone_number_id || undefined, from: cur.from, name: cur.name,
                kind: 'list_reply', reply_to: m.id, choice: r.id, text: r.title,
              });
              dlg.close();
              await poll();
            } catch (e) {
              busy = false;
              toast(`Not sent: ${e.message}`, 'error');
            }
          },
        },
      }, h('span', { class: 't', text: r.title }), r.description ? h('span', { class: 'd', text: r.description }) : null)))));
  const p = dlg.body.querySelector('p');
  p.style.margin = '0 18px 8px';
  dlg.dialog.showModal();
  dlg.body.querySelector('.wa-row')?.focus();
}

/** The customer has seen the replies: they get read ticks on the agents' side. */
function markRead(byHand) {
  if (readInFlight) return;
  readInFlight = true;
  readBtn.disabled = true;
  call('POST', '/api/v1/simulator/read', { from: cur.from, phone_number_id: cur.phone_number_id || undefined })
    .then(() => { if (byHand) poll(); }, (e) => { if (byHand) toast(`Not marked as read: ${e.message}`, 'error'); })
    .finally(() => { readInFlight = false; });
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    const qs = new URLSearchParams({ from: cur.from });
    if (cur.phone_number_id) qs.set('phone_number_id', cur.phone_number_id);
    const r = await call('GET', `/api/v1/simulator/messages?${qs}`);
    render(r.messages);
    const unread = r.messages.some((m) => m.direction === 'out' && (m.status === 'sent' || m.status === 'delivered'));
    readBtn.disabled = !unread || readInFlight;
    if (unread && autoRead.checked && !document.hidden) markRead(false);
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
