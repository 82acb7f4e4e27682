// Shared helpers for the agent desktop, the admin pages and the simulator.
// Every piece of text from the server goes through textContent (never innerHTML).

/**
 * Builds an element. attrs: `class`, `text` (textContent), `on` ({event: handler}),
 * `dataset`, boolean attributes (true/false), anything else as an attribute.
 * Children: nodes, strings (as text), arrays, null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = !!value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  appendAll(el, children);
  return el;
}

function appendAll(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) appendAll(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  appendAll(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

// ---------- session ----------

const TOKEN = 'switchboard.token';
const USER = 'switchboard.user';

/** The token of this tab (sessionStorage), else the last login in this browser (localStorage). */
export function session() {
  for (const store of [sessionStorage, localStorage]) {
    const token = store.getItem(TOKEN);
    if (token) {
      let user = null;
      try { user = JSON.parse(store.getItem(USER) || 'null'); } catch { user = null; }
      return { token, user };
    }
  }
  return null;
}

export function saveSession(token, user) {
  for (const store of [sessionStorage, localStorage]) {
    store.setItem(TOKEN, token);
    store.setItem(USER, JSON.stringify(user));
  }
}

export function clearSession() {
  const current = session();
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
  if (current && localStorage.getItem(TOKEN) === current.token) {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(USER);
  }
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the HTTP API with the session's token; throws ApiError. */
export async function api(method, path, body) {
  const s = session();
  const headers = {};
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
  }
  return data;
}

/** Renders the login form into `root`; calls onDone(user) after a successful login. */
export function renderLogin(root, { subtitle, onDone }) {
  const user = h('input', { type: 'text', id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true });
  const err = h('div', { class: 'error-text', role: 'alert', id: 'login-error' });
  const submit = h('button', { class: 'btn primary', type: 'submit', text: 'Sign in' });
  const form = h('form', { class: 'login-card', 'aria-labelledby': 'login-title' },
    h('div', { class: 'brand', id: 'login-title' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, icon('phone', 17)), 'Switchboard'),
    h('p', { text: subtitle }),
    h('div', { class: 'field' }, h('label', { for: 'login-username', text: 'Username' }), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password', text: 'Password' }), pass),
    err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    try {
      const r = await api('POST', '/api/v1/auth/login', { username: user.value.trim(), password: pass.value });
      saveSession(r.token, r.user);
      onDone(r.user);
    } catch (ex) {
      err.textContent = ex.code === 'invalid_credentials' ? 'Wrong username or password.' : ex.message;
      submit.disabled = false;
      pass.select();
    }
  });
  replace(root, h('div', { class: 'login-wrap' }, form));
  user.focus();
}

// ---------- formatting ----------

export function initials(name) {
  const s = String(name || '').trim();
  if (!s) return '?';
  if (/^[+\d\s()*-]+$/.test(s)) return '#';
  const parts = s.split(/\s+/).map((w) => Array.from(w).find((c) => /[\p{L}\p{N}]/u.test(c))).filter(Boolean);
  if (!parts.length) return '?';
  const first = parts[0];
  const last = parts.length > 1 ? parts[parts.length - 1] : '';
  return (first + last).toUpperCase();
}

/** A stable, pleasant colour per name for avatars. */
export function avatarColor(name) {
  const colors = ['#5b6cc2', '#2f8f83', '#b3573f', '#7d5bb3', '#3b7fb8', '#a0458a', '#4f8a3a', '#b07a1c'];
  let n = 0;
  for (const ch of String(name || '')) n = (n * 31 + ch.codePointAt(0)) >>> 0;
  return colors[n % colors.length];
}

export function avatar(name, { large = false, badge = null, unread = false } = {}) {
  const el = h('span', { class: 'avatar' + (large ? ' large' : ''), 'aria-hidden': 'true' }, initials(name));
  el.style.background = avatarColor(name);
  if (badge !== null && badge !== undefined && badge !== 0) {
    el.appendChild(h('span', { class: 'badge' + (unread ? ' unread' : ''), text: String(badge) }));
  }
  return el;
}

/** 75 → "1:15", 3700 → "1:01:40". */
export function duration(secs) {
  secs = Math.max(0, Math.floor(secs));
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = String(secs % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** 1536 → "1.5 KB", 5242880 → "5 MB". */
export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '';
  n = Number(n);
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/**
 * Who the customer is, where a number shows (R21): the number, else `@username`, else the
 * business-scoped user id.
 */
export function customerId(c) {
  if (!c) return '';
  if (c.phone) return c.phone;
  if (c.username) return `@${String(c.username).replace(/^@/, '')}`;
  return c.user_id || '';
}

/** Which of the three `customerId` shows: `phone`, `username` or `user_id`. */
export function customerIdKind(c) {
  if (c && c.phone) return 'phone';
  if (c && c.username) return 'username';
  return 'user_id';
}

/** The customer's name, else what identifies them. */
export function customerName(c) {
  return (c && c.name) || customerId(c) || 'Customer';
}

export const STATUS_LABEL = {
  available: 'Available',
  on_break: 'On Break',
  offline: 'Offline',
  rona: 'RONA',
};

/**
 * The transcript text the server writes for a media message without a caption (`[image]`,
 * `[document: invoice.pdf]`): shown as the media itself, not as text, when the media is there.
 */
export function isMediaPlaceholder(text) {
  return /^\[(image|video|audio|voice message|sticker|document)(: [^\]]*)?\]$/.test(String(text || ''));
}

export const KIND_LABEL = {
  image: 'Image',
  document: 'Document',
  audio: 'Voice message',
  video: 'Video',
  location: 'Location',
  sticker: 'Sticker',
  contacts: 'Contact card',
  interactive: 'Button reply',
  template: 'Template',
  unsupported: 'Unsupported message',
};

const ICONS = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  phone: 'M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z',
  image: 'M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4',
  document: 'M6 3h8l4 4v14H6z M14 3v4h4',
  location: 'M12 22s7-7.5 7-12a7 7 0 0 0-14 0c0 4.5 7 12 7 12z M12 12.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7 M20 4v7h-7',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M4 21a8 8 0 0 1 16 0',
  paperclip: 'M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9',
  reply: 'M10 8V4l-7 7 7 7v-4c5 0 8.5 1.5 11 6-1-6-4.5-11-11-12z',
  smile: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z M8.5 14.5a4.5 4.5 0 0 0 7 0 M9 9.5h.01 M15 9.5h.01',
  download: 'M12 3v12 M7 10l5 5 5-5 M5 21h14',
  video: 'M3 6h12v12H3z M15 10l6-3v10l-6-3',
  audio: 'M9 18V5l12-2v13 M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0z M21 16a3 3 0 1 1-6 0 3 3 0 0 1 6 0z',
  sticker: 'M4 4h16v9l-7 7H4z M13 20v-7h7',
  close: 'M6 6l12 12 M18 6L6 18',
  template: 'M5 3h14v18H5z M8 8h8 M8 12h8 M8 16h5',
  external: 'M14 4h6v6 M20 4l-9 9 M18 14v6H4V6h6',
  copy: 'M9 9h11v11H9z M5 15H4V4h11v1',
  send: 'M3 11l18-8-8 18-2-8z',
  plus: 'M12 5v14 M5 12h14',
  list: 'M8 6h13 M8 12h13 M8 18h13 M3.5 6h.01 M3.5 12h.01 M3.5 18h.01',
  star: 'M12 3l2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3 6.4 20.2l1.1-6.2L3 9.6l6.2-.9z',
};

/** A small stroke icon (SVG built with the DOM, no markup strings). */
export function icon(name, size = 16) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.chat);
  svg.appendChild(path);
  return svg;
}

export function kindBadge(kind) {
  const name = kind === 'image' || kind === 'video' || kind === 'audio' || kind === 'sticker' ? kind
    : kind === 'location' ? 'location' : kind === 'contacts' ? 'user' : 'document';
  return h('span', { class: 'kind', dataset: { kind } }, icon(name, 13), KIND_LABEL[kind] || kind);
}

export const TICKS = {
  queued: { glyph: '◷', label: 'Queued' },
  sent: { glyph: '✓', label: 'Sent' },
  delivered: { glyph: '✓✓', label: 'Delivered' },
  read: { glyph: '✓✓', label: 'Read' },
  failed: { glyph: '!', label: 'Failed' },
};

export function tick(status) {
  const t = TICKS[status];
  if (!t) return null;
  return h('span', { class: 'tick ' + status, title: t.label, 'aria-label': t.label, role: 'img', dataset: { status } }, t.glyph);
}

let toastRoot = null;
export function toast(message, kind = 'info') {
  if (!toastRoot) {
    toastRoot = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(toastRoot);
  }
  const t = h('div', { class: 'toast ' + kind, text: message });
  toastRoot.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 6000 : 3500);
}

/** A small modal dialog built from parts; returns {dialog, body, foot, close}. */
export function modal({ title, id, wide = false }) {
  const titleId = (id || 'dlg') + '-title';
  const body = h('div', { class: 'dlg-body' });
  const foot = h('div', { class: 'dlg-foot' });
  const closeBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', text: '×' });
  const form = h('form', { method: 'dialog' },
    h('div', { class: 'dlg-head' }, h('h2', { id: titleId, text: title }), closeBtn), body, foot);
  const dialog = h('dialog', { id, 'aria-labelledby': titleId }, form);
  if (wide) dialog.style.width = '640px';
  const close = () => { if (dialog.open) dialog.close(); dialog.remove(); };
  closeBtn.addEventListener('click', close);
  dialog.addEventListener('close', () => dialog.remove());
  form.addEventListener('submit', (e) => e.preventDefault());
  document.body.appendChild(dialog);
  return { dialog, body, foot, form, close, titleEl: form.querySelector('h2') };
}
