// The composer under the conversation: the text with its counter (4096 characters, Enter to
// send), the message being replied to (R24), attachments by the paperclip, drag and drop or
// paste with their upload progress (R22; the text becomes the caption), and `typing` while
// the agent writes. Refused when the 24-hour customer service window is closed (R14): then
// (and at any time from the toolbar) the agent sends an approved template (R23, templates.js).
// `/` at the start of an empty message picks a canned response (R26, canned.js).

import { h, replace, dateTime, toast, icon, bytes, customerName } from '../common.js';
import { S, el, now, myPart } from './state.js';
import { cmd, fail, quiet } from './socket.js';
import { authorLabel, excerpt } from './conversation.js';
import { upsertMessage } from './events.js';
import { classify, precheck, postAttachment, uploadError, ACCEPT, MAX_CAPTION_CHARS } from './media.js';
import { openTemplateDialog } from './templates.js';
import { attachCannedPicker } from './canned.js';

const MAX_CHARS = 4096;
/** `typing` at most this often per interaction (the server also limits it). */
const TYPING_EVERY_MS = 20000;

let cp = null; // the composer's elements, for the interaction cp.iid
let uploadSeq = 0;

function current() {
  return cp ? S.interactions.get(cp.iid) || null : null;
}

function charCount(s) { return Array.from(s).length; }

/** Why the agent cannot act in this conversation at all (text or template), or null. */
function stateBlock(it) {
  const d = it.data;
  const p = myPart(it);
  if (it.wrap || (p && p.wrap_up_deadline)) return 'This conversation has ended for you. Wrap it up to free your capacity.';
  if (d.interrupted) return `This conversation was interrupted (${d.interrupted}). You can no longer send messages: end it and wrap up.`;
  if (d.state !== 'active' || !p) return 'You cannot write in this conversation.';
  return null;
}

/**
 * The 24-hour customer service window is closed: the customer last wrote more than 24 hours
 * ago, or the business started the conversation and the customer has not answered yet.
 */
export function windowClosed(it) {
  const d = it.data;
  if (d.window_expires_at) return Date.parse(d.window_expires_at) <= now();
  return d.kind === 'outbound';
}

/** May the agent send a template here now (the window does not matter)? */
export function canSendTemplate(it) {
  return !stateBlock(it);
}

/** Why the agent cannot write free text in this conversation now, or null. */
export function composerBlock(it) {
  const block = stateBlock(it);
  if (block) return block;
  if (windowClosed(it)) {
    const d = it.data;
    if (!d.window_expires_at) {
      return 'The customer has not written yet: WhatsApp only allows an approved template until they reply. Their reply opens the 24-hour window for free text.';
    }
    return `The customer last wrote more than 24 hours ago: WhatsApp only allows an approved template. The 24-hour window closed at ${dateTime(d.window_expires_at)}; it opens again when the customer writes.`;
  }
  return null;
}

/** The template dialog for this conversation: `send_template` over the socket. */
export function openTemplatePicker(it) {
  if (!canSendTemplate(it)) return;
  const d = it.data;
  openTemplateDialog({
    channelId: d.channel_id,
    customerName: customerName(d.customer),
    send: (payload) => cmd('send_template', { interaction_id: d.id, ...payload }),
    onSent: () => {
      toast('Template sent.');
      if (cp && cp.iid === d.id) (cp.ta.disabled ? cp.templateBtn : cp.ta).focus();
    },
  });
}

export function buildComposer(it) {
  const noticeText = h('span', { class: 'notice-text', id: 'composer-notice-text' });
  const noticeBtn = h('button', {
    type: 'button', class: 'btn small primary', id: 'notice-template-btn', hidden: true,
    on: { click: () => { const cur = current(); if (cur) openTemplatePicker(cur); } },
  }, icon('template', 14), 'Send template');
  const notice = h('div', { class: 'notice', id: 'composer-notice', role: 'status', hidden: true }, noticeText, noticeBtn);
  const replyBar = h('div', { class: 'reply-bar', id: 'reply-bar', hidden: true });
  const uploads = h('ul', { class: 'uploads', id: 'uploads', 'aria-label': 'Files being sent', hidden: true });
  const ta = h('textarea', {
    id: 'composer', 'aria-label': 'Message', rows: '3',
    placeholder: 'Type a message — Enter to send, Shift+Enter for a new line',
    'aria-describedby': 'char-counter composer-notice reply-bar',
  });
  const counter = h('span', { class: 'counter', id: 'char-counter', 'aria-live': 'off' });
  const sendBtn = h('button', { class: 'btn primary', type: 'button', id: 'send-btn', text: 'Send' });
  const fileInput = h('input', { type: 'file', id: 'attach-input', multiple: true, accept: ACCEPT, hidden: true, tabindex: '-1' });
  const attachBtn = h('button', {
    class: 'icon-btn', type: 'button', id: 'attach-btn', title: 'Attach a file (the text becomes its caption)',
    'aria-label': 'Attach a file', 'aria-describedby': 'attach-hint',
  }, icon('paperclip', 17));
  const templateBtn = h('button', {
    class: 'icon-btn', type: 'button', id: 'template-btn', title: 'Send a WhatsApp template',
    'aria-label': 'Send a template', 'aria-haspopup': 'dialog',
    on: { click: () => { const cur = current(); if (cur) openTemplatePicker(cur); } },
  }, icon('template', 17));
  const cannedBtn = h('button', {
    class: 'icon-btn', type: 'button', id: 'canned-btn', title: 'Insert a canned response (or type / in an empty message)',
    'aria-label': 'Insert a canned response', 'aria-controls': 'canned-list',
  }, icon('list', 17));
  // R25: an internal note to the agents and supervisors of the conversation, never sent.
  const noteBtn = h('button', {
    class: 'btn small note-toggle', type: 'button', id: 'note-toggle', 'aria-pressed': 'false',
    title: 'Write an internal note: the agents and supervisors see it, the customer never does',
    text: 'Internal note',
    on: { click: () => { const cur = current(); if (cur) { cur.noteMode = !cur.noteMode; fillComposer(cur); cp.ta.focus(); } } },
  });
  const root = h('div', { class: 'composer' }, notice, replyBar, uploads, ta,
    h('div', { class: 'bar' }, attachBtn, templateBtn, cannedBtn, noteBtn,
      h('span', { class: 'muted small', id: 'attach-hint', text: 'Enter to send · Shift+Enter for a new line · / for canned responses · drop or paste a file to attach it' }),
      h('span', { class: 'spacer' }), counter, sendBtn),
    fileInput);
  const canned = attachCannedPicker({ ta, host: root, interactionId: () => (cp ? cp.iid : null) });
  cannedBtn.addEventListener('click', () => canned.openFromButton());
  ta.value = it.draft || '';
  ta.addEventListener('input', () => {
    const cur = current();
    if (cur) cur.draft = ta.value;
    updateCounter();
    if (cur && ta.value.trim()) sendTyping(cur);
    canned.update();
  });
  ta.addEventListener('keydown', (e) => {
    if (canned.handleKey(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendCurrent();
    } else if (e.key === 'Escape') {
      const cur = current();
      if (cur && cur.replyTo) { e.preventDefault(); e.stopPropagation(); cancelReply(); }
    }
  });
  ta.addEventListener('paste', (e) => {
    const files = e.clipboardData ? [...e.clipboardData.files] : [];
    if (!files.length) return;
    e.preventDefault();
    sendFiles(files);
  });
  sendBtn.addEventListener('click', sendCurrent);
  attachBtn.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    const files = [...fileInput.files];
    fileInput.value = '';
    sendFiles(files);
  });
  cp = {
    iid: it.data.id, root, notice, noticeText, noticeBtn, blockText: '', replyBar, uploads, ta, counter, sendBtn,
    attachBtn, templateBtn, cannedBtn, canned, fileInput, noteBtn,
  };
  wireDrop();
  return root;
}

function updateCounter() {
  const { ta, counter, sendBtn } = cp;
  const n = charCount(ta.value);
  counter.textContent = `${n} / ${MAX_CHARS}`;
  counter.classList.toggle('over', n > MAX_CHARS);
  counter.setAttribute('aria-label', `${n} of ${MAX_CHARS} characters`);
  sendBtn.disabled = ta.disabled || n === 0 || n > MAX_CHARS || !ta.value.trim();
}

export function fillComposer(it) {
  if (!cp || cp.iid !== it.data.id) return;
  const block = composerBlock(it);
  const templateOk = canSendTemplate(it);
  cp.blockText = block || '';
  cp.notice.hidden = !block;
  cp.notice.classList.toggle('window', !!block && templateOk);
  cp.noticeText.textContent = block || '';
  cp.noticeBtn.hidden = !(block && templateOk);
  const noteMode = !!it.noteMode;
  cp.ta.disabled = !!block && !noteMode;
  cp.ta.placeholder = noteMode ? 'Internal note to the agents and supervisors — the customer never sees it'
    : block && templateOk ? 'Free text is not allowed now: send a template' : 'Type a message — Enter to send, Shift+Enter for a new line';
  cp.root.classList.toggle('note-mode', noteMode);
  cp.noteBtn.setAttribute('aria-pressed', String(noteMode));
  cp.sendBtn.textContent = noteMode ? 'Add note' : 'Send';
  cp.attachBtn.disabled = !!block || noteMode;
  cp.templateBtn.disabled = !templateOk;
  cp.cannedBtn.disabled = !!block;
  cp.canned.update();
  updateCounter();
  fillReplyBar(it);
  renderUploads(it);
}

/** The notice's text now (the window may close while the conversation is on screen). */
export function shownBlock() {
  return cp ? cp.blockText : '';
}

/** A failed message's text goes back into the composer. */
export function putBack(text) {
  if (!cp || cp.ta.disabled) return;
  cp.ta.value = text;
  const it = current();
  if (it) it.draft = text;
  updateCounter();
  cp.ta.focus();
}

function sendTyping(it) {
  if (cp.ta.disabled || it.noteMode) return;
  const t = Date.now();
  if (t - it.typingAt < TYPING_EVERY_MS) return;
  it.typingAt = t;
  quiet('typing', { interaction_id: it.data.id });
}

async function sendCurrent() {
  const it = current();
  if (!it) return;
  const { ta } = cp;
  const text = ta.value;
  const n = charCount(text);
  if (ta.disabled || !text.trim()) return;
  if (n > MAX_CHARS) { toast(`A message can have at most ${MAX_CHARS} characters.`, 'error'); return; }
  if (it.noteMode) {
    ta.value = '';
    it.draft = '';
    updateCounter();
    try {
      await cmd('note', { interaction_id: it.data.id, text });
    } catch (e) {
      fail(e);
      if (!it.draft && cp && cp.iid === it.data.id && !ta.value) { it.draft = text; ta.value = text; updateCounter(); }
    }
    return;
  }
  const reply = it.replyTo;
  const fields = { interaction_id: it.data.id, text };
  if (reply) fields.reply_to = reply.message_id;
  ta.value = '';
  it.draft = '';
  it.replyTo = null;
  updateCounter();
  fillReplyBar(it);
  try {
    await cmd('send', fields);
  } catch (e) {
    fail(e);
    if (!it.draft) { it.draft = text; if (cp && cp.iid === it.data.id && !ta.value) { ta.value = text; updateCounter(); } }
    if (!it.replyTo && reply) { it.replyTo = reply; fillReplyBar(it); }
  }
}

// ---------------------------------------------------------------- replying

/** The agent replies to `m`: the bar over the composer says to what, Esc or × cancels. */
export function startReply(it, m) {
  it.replyTo = { message_id: m.id, who: authorLabel(m), text: excerpt(m) };
  fillReplyBar(it);
  if (cp && cp.iid === it.data.id && !cp.ta.disabled) cp.ta.focus();
}

function cancelReply() {
  const it = current();
  if (!it) return;
  it.replyTo = null;
  fillReplyBar(it);
  cp.ta.focus();
}

function fillReplyBar(it) {
  if (!cp || cp.iid !== it.data.id) return;
  const r = it.replyTo;
  const show = !!r && !cp.ta.disabled && it.data.messages.some((m) => m.id === r.message_id);
  cp.replyBar.hidden = !show;
  if (!show) { replace(cp.replyBar); return; }
  replace(cp.replyBar,
    h('span', { class: 'rb-icon', 'aria-hidden': 'true' }, icon('reply', 16)),
    h('div', { class: 'rb-body' },
      h('div', { class: 'rb-who', text: `Replying to ${r.who}` }),
      h('div', { class: 'rb-text', text: r.text })),
    h('button', {
      type: 'button', class: 'icon-btn small', id: 'reply-cancel', 'aria-label': 'Cancel the reply', title: 'Cancel the reply (Esc)',
      on: { click: cancelReply },
    }, icon('close', 14)));
}

// ---------------------------------------------------------------- attachments

/** Sends files to the conversation on screen; the composer's text is the first caption. */
export function sendFiles(files) {
  const it = current();
  if (!it || !files.length) return;
  const block = composerBlock(it);
  if (block) { toast(block, 'error'); return; }
  const text = cp.ta.value;
  let captionUsed = false;
  for (const file of files) {
    const rule = classify(file);
    let caption = '';
    if (!captionUsed && rule.caption && text.trim()) {
      if (charCount(text) > MAX_CAPTION_CHARS) {
        addUpload(it, file, `A caption can have at most ${MAX_CAPTION_CHARS} characters: shorten the text, or send it as a message of its own.`);
        continue;
      }
      caption = text;
      captionUsed = true;
    }
    const problem = precheck(file, rule);
    if (problem) { addUpload(it, file, problem); continue; }
    startUpload(it, file, rule, caption);
  }
  if (captionUsed) {
    cp.ta.value = '';
    it.draft = '';
    updateCounter();
  }
}

function addUpload(it, file, error) {
  const u = { key: ++uploadSeq, name: file.name || 'file', size: file.size, loaded: 0, total: file.size, error, abort: null };
  it.uploads.push(u);
  renderUploads(it);
  return u;
}

function startUpload(it, file, rule, caption) {
  const u = addUpload(it, file, null);
  const { promise, abort } = postAttachment(it.data.id, file, caption, (loaded, total) => {
    u.loaded = loaded;
    u.total = total || u.total;
    paintProgress(it, u);
  });
  u.abort = abort;
  renderUploads(it);
  promise.then((message) => {
    it.uploads = it.uploads.filter((x) => x !== u);
    renderUploads(it);
    // The socket may already have brought it, and a newer status: the answer only fills a gap.
    if (message && message.id !== undefined && !it.data.messages.some((m) => m.id === message.id)) upsertMessage(it, message);
  }, (e) => {
    u.abort = null;
    if (e.status === -1) it.uploads = it.uploads.filter((x) => x !== u);
    else u.error = uploadError(file, rule, e.status, e.code, e.message);
    if (caption && !it.draft) {
      it.draft = caption;
      if (cp && cp.iid === it.data.id && !cp.ta.value) { cp.ta.value = caption; updateCounter(); }
    }
    renderUploads(it);
  });
}

function pct(u) {
  return u.total ? Math.min(100, Math.round((u.loaded / u.total) * 100)) : 0;
}

function paintProgress(it, u) {
  if (!cp || cp.iid !== it.data.id) return;
  const li = cp.uploads.querySelector(`li[data-key="${u.key}"]`);
  if (!li) return;
  const bar = li.querySelector('progress');
  if (bar) { bar.max = u.total || 1; bar.value = u.loaded; }
  const p = li.querySelector('.pct');
  if (p) p.textContent = `${pct(u)} %`;
}

function renderUploads(it) {
  if (!cp || cp.iid !== it.data.id) return;
  const list = it.uploads;
  cp.uploads.hidden = !list.length;
  const focusedKey = cp.uploads.contains(document.activeElement) ? document.activeElement.closest('li')?.dataset.key : null;
  replace(cp.uploads, list.map((u) => {
    if (u.error) {
      return h('li', { class: 'upload failed', dataset: { key: u.key } },
        h('div', { class: 'up-text', role: 'alert' },
          h('strong', { text: `Not sent: ${u.name}. ` }), h('span', { class: 'up-error', text: u.error })),
        h('button', {
          type: 'button', class: 'btn small', text: 'Dismiss', 'aria-label': `Dismiss the error about ${u.name}`,
          on: { click: () => { it.uploads = it.uploads.filter((x) => x !== u); renderUploads(it); cp.ta.focus(); } },
        }));
    }
    return h('li', { class: 'upload', dataset: { key: u.key } },
      h('span', { class: 'up-icon', 'aria-hidden': 'true' }, icon('paperclip', 14)),
      h('span', { class: 'up-name', text: u.name, title: u.name }),
      h('span', { class: 'muted small', text: bytes(u.size) }),
      h('progress', { max: String(u.total || 1), value: String(u.loaded), 'aria-label': `Uploading ${u.name}` }),
      h('span', { class: 'pct small', text: `${pct(u)} %` }),
      h('button', {
        type: 'button', class: 'btn small', text: 'Cancel', 'aria-label': `Cancel sending ${u.name}`,
        on: { click: () => { if (u.abort) u.abort(); } },
      }));
  }));
  if (focusedKey) cp.uploads.querySelector(`li[data-key="${focusedKey}"] button`)?.focus();
}

// ---------------------------------------------------------------- drag and drop

function hasFiles(e) {
  return !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
}

function showDrop(on) {
  let zone = el.center.querySelector(':scope > .drop-zone');
  if (!on) { if (zone) zone.remove(); return; }
  const it = current();
  const block = it ? composerBlock(it) : 'Open a conversation first.';
  if (!zone) {
    zone = h('div', { class: 'drop-zone', 'aria-hidden': 'true' });
    el.center.appendChild(zone);
  }
  zone.classList.toggle('blocked', !!block);
  replace(zone, h('div', { class: 'dz-card' }, icon('paperclip', 28),
    h('div', { text: block || `Drop to send to ${it.data.customer.name || 'the customer'}` }),
    block ? null : h('div', { class: 'muted small', text: 'The text in the composer becomes the caption.' })));
}

/** Files dropped on the conversation are sent; dropped anywhere else they do nothing. */
function wireDrop() {
  const center = el.center;
  if (!center || center.dataset.dropWired) return;
  center.dataset.dropWired = '1';
  let depth = 0;
  center.addEventListener('dragenter', (e) => {
    if (!hasFiles(e) || !cp) return;
    e.preventDefault();
    depth += 1;
    showDrop(true);
  });
  center.addEventListener('dragover', (e) => {
    if (!hasFiles(e) || !cp) return;
    e.preventDefault();
    const it = current();
    e.dataTransfer.dropEffect = it && !composerBlock(it) ? 'copy' : 'none';
  });
  center.addEventListener('dragleave', (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) showDrop(false);
  });
  center.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    showDrop(false);
    if (cp) sendFiles([...e.dataTransfer.files]);
  });
  // A file dropped beside the conversation would replace the desk with the file.
  window.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  window.addEventListener('drop', (e) => { if (hasFiles(e)) e.preventDefault(); });
}
