// Canned responses (R26) in the composer. Typing `/` at the start of an empty message (and
// then a shortcut: `/ref`) opens the list of saved replies this agent may use, filtered as
// the agent types; ↑ ↓ move, Enter picks, Esc closes (then Enter sends the text as it is).
// The toolbar button opens it too: into an empty message as `/`, or with a search field to
// insert at the caret. The pick is rendered by the server for the conversation on screen
// (POST /api/v1/canned_responses/{id}/render: the customer's, the agent's and the queue's
// names filled in) and put into the composer for the agent to edit: nothing is sent until
// the agent sends it. The list is fetched once per session, again on demand (↻).

import { h, replace, api, icon, toast } from '../common.js';

/** `/` and up to 32 characters of a shortcut, alone in the message. */
const SLASH = /^\/([A-Za-z0-9_-]{0,32})$/;
/** A placeholder left as written (unknown to the server, for the agent to fill in). */
const LEFT_PLACEHOLDER = /\{\{[^{}]*\}\}/;

// ---------------------------------------------------------------- the list, once per session

let items = null; // the canned responses, once loaded
let loading = null; // the request in flight
let loadError = null;
const listeners = new Set();

/** GET /api/v1/canned_responses with the agent's token (again when `force`). */
export function loadCanned(force = false) {
  if (loading) return loading;
  if (items && !force) return Promise.resolve(items);
  loadError = null;
  loading = api('GET', '/api/v1/canned_responses').then((r) => {
    items = (r && r.items) || [];
    return items;
  }, (e) => {
    loadError = e.message || 'unknown error';
    return items;
  }).finally(() => {
    loading = null;
    listeners.forEach((fn) => fn());
  });
  listeners.forEach((fn) => fn());
  return loading;
}

/** The responses that fit `q`, best first: the shortcut itself, one that starts with it, then
 * any field containing every word of it. */
export function filterCanned(list, q) {
  const query = String(q || '').trim().toLowerCase();
  if (!query) return list.slice();
  const words = query.split(/\s+/);
  const scored = [];
  for (const c of list) {
    const s = c.shortcut.toLowerCase();
    const hay = [s, String(c.title || '').toLowerCase(), String(c.text || '').toLowerCase()];
    if (!words.every((w) => hay.some((f) => f.includes(w)))) continue;
    const rank = s === query ? 0 : s.startsWith(query) ? 1 : s.includes(query) ? 2
      : hay[1].includes(query) ? 3 : 4;
    scored.push([rank, c]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].shortcut.localeCompare(b[1].shortcut));
  return scored.map(([, c]) => c);
}

// ---------------------------------------------------------------- the picker of a composer

/**
 * The picker of one composer: `ta` its textarea, `host` the element it opens in (positioned),
 * `interactionId()` the conversation on screen. Returns {update, handleKey, openFromButton,
 * close}: the composer calls `update()` on every input and state change and `handleKey(e)`
 * first on every keydown (true when the picker used the key).
 */
export function attachCannedPicker({ ta, host, interactionId }) {
  let open = false;
  let mode = 'slash'; // 'slash': the message is `/query`; 'insert': the search field, at the caret
  let range = { from: 0, to: 0 };
  let dismissed = null; // the text Esc closed the picker on: it stays closed until it changes
  let rows = [];
  let active = 0;
  let busy = false;
  let note = ''; // a refusal, shown until the next change

  const list = h('ul', { class: 'canned-list', id: 'canned-list', role: 'listbox', 'aria-label': 'Canned responses' });
  const status = h('div', { class: 'canned-status', id: 'canned-status', role: 'status', 'aria-live': 'polite' });
  const search = h('input', {
    type: 'search', id: 'canned-search', class: 'canned-search', autocomplete: 'off', placeholder: 'Search by shortcut, title or text',
    'aria-label': 'Search canned responses', 'aria-controls': 'canned-list', hidden: true,
  });
  const refresh = h('button', {
    type: 'button', class: 'icon-btn small', id: 'canned-refresh', title: 'Refresh the list', 'aria-label': 'Refresh the canned responses',
  }, icon('refresh', 14));
  const pop = h('div', { class: 'canned-pop', id: 'canned-picker', hidden: true, 'aria-label': 'Canned responses' },
    h('div', { class: 'canned-head' },
      h('span', { class: 'canned-title' }, icon('list', 14), 'Canned responses'),
      h('span', { class: 'muted small canned-keys', text: '↑ ↓ choose · Enter insert · Esc close' }),
      refresh),
    search, list, status);
  host.appendChild(pop);

  ta.setAttribute('aria-controls', 'canned-list');
  // Keep the focus where the agent types: pointer presses inside the picker do not take it.
  pop.addEventListener('mousedown', (e) => { if (e.target !== search) e.preventDefault(); });
  refresh.addEventListener('click', () => { note = ''; loadCanned(true); draw(); });
  search.addEventListener('input', () => { note = ''; active = 0; draw(); });
  search.addEventListener('keydown', (e) => { handleKey(e); });
  search.addEventListener('blur', () => {
    setTimeout(() => { if (open && mode === 'insert' && !pop.contains(document.activeElement)) close(false); }, 0);
  });
  const redraw = () => {
    if (!ta.isConnected) listeners.delete(redraw);
    else if (open) draw();
  };
  listeners.add(redraw);

  function query() {
    if (mode === 'insert') return search.value;
    const m = SLASH.exec(ta.value);
    return m ? m[1].toLowerCase() : '';
  }

  function show() {
    if (!open) {
      open = true;
      active = 0;
      note = '';
      pop.hidden = false;
      if (!items && !loading) loadCanned();
    }
    draw();
  }

  function close(refocus = true) {
    if (!open) return;
    open = false;
    pop.hidden = true;
    search.hidden = true;
    search.value = '';
    ta.removeAttribute('aria-activedescendant');
    if (mode === 'insert' && refocus && !ta.disabled) ta.focus();
    mode = 'slash';
  }

  /** After every change of the message or of the composer's state. */
  function update() {
    if (!ta.isConnected) { listeners.delete(redraw); return; }
    if (ta.disabled) { close(false); return; }
    if (mode === 'insert' && open) return;
    const slash = SLASH.test(ta.value);
    if (dismissed !== null && ta.value !== dismissed) dismissed = null;
    if (slash && dismissed === null) {
      mode = 'slash';
      range = { from: 0, to: ta.value.length };
      if (open) { active = 0; note = ''; }
      show();
    } else {
      close(false);
    }
  }

  /** The toolbar button: `/` in an empty message, else the search field (insert at the caret). */
  function openFromButton() {
    if (ta.disabled) return;
    if (open) { close(); return; }
    dismissed = null;
    if (!ta.value.trim()) {
      ta.value = '/';
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      ta.focus();
      ta.setSelectionRange(1, 1);
      return;
    }
    mode = 'insert';
    range = { from: ta.selectionStart ?? ta.value.length, to: ta.selectionEnd ?? ta.value.length };
    search.hidden = false;
    show();
    search.focus();
  }

  function handleKey(e) {
    if (!open || e.isComposing) return false;
    const n = rows.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (n) { active = (active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n; paintActive(true); }
      return true;
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      if (n && !busy) pick(rows[active]);
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      if (mode === 'slash') dismissed = ta.value;
      close();
      return true;
    }
    return false;
  }

  function draw() {
    if (!open) return;
    const q = query();
    refresh.disabled = !!loading;
    if (!items && (loading || !loadError)) {
      replace(list);
      replace(status, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading canned responses…');
      return;
    }
    if (!items && loadError) {
      replace(list);
      replace(status, h('span', { class: 'error-text', text: `The canned responses could not be loaded: ${loadError}` }),
        h('button', { type: 'button', class: 'btn small', text: 'Try again', on: { click: () => loadCanned(true) } }));
      return;
    }
    rows = filterCanned(items, q);
    if (active >= rows.length) active = 0;
    replace(list, rows.map((c, i) => h('li', {
      role: 'option', id: `canned-opt-${c.id}`, class: 'canned-opt', 'aria-selected': String(i === active),
      dataset: { shortcut: c.shortcut, id: c.id },
      on: { click: () => { if (!busy) { active = i; pick(c); } }, mousemove: () => { if (active !== i) { active = i; paintActive(false); } } },
    },
    h('div', { class: 'canned-l1' },
      h('span', { class: 'canned-shortcut', text: `/${c.shortcut}` }),
      h('span', { class: 'canned-name', text: c.title }),
      c.queue_id === null || c.queue_id === undefined ? null : h('span', { class: 'chip blue', text: c.queue_name || 'Queue' })),
    h('div', { class: 'canned-text', text: c.text }))));
    paintActive(false);
    const total = items.length;
    let line;
    if (busy) line = [h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Filling in /${rows[active]?.shortcut || ''}…`];
    else if (note) line = h('span', { class: 'error-text', text: note });
    else if (!total) line = 'No canned responses yet: a supervisor adds them on the admin page.';
    else if (!rows.length) line = `No canned response matches “${q}”. Esc, then Enter, sends the text as it is.`;
    else line = `${rows.length} of ${total} · the text goes into the message for you to edit`;
    replace(status, line);
    if (loadError && items) status.append(h('span', { class: 'error-text', text: ` (not refreshed: ${loadError})` }));
  }

  function paintActive(scroll) {
    const opts = list.children;
    for (let i = 0; i < opts.length; i += 1) opts[i].setAttribute('aria-selected', String(i === active));
    const cur = opts[active];
    const owner = mode === 'insert' ? search : ta;
    if (cur) {
      owner.setAttribute('aria-activedescendant', cur.id);
      if (scroll) cur.scrollIntoView({ block: 'nearest' });
    } else {
      owner.removeAttribute('aria-activedescendant');
    }
  }

  async function pick(c) {
    const iid = interactionId();
    if (!c || iid === null || iid === undefined) return;
    busy = true;
    note = '';
    draw();
    try {
      const r = await api('POST', `/api/v1/canned_responses/${encodeURIComponent(c.id)}/render`, { interaction_id: iid });
      if (!ta.isConnected || interactionId() !== iid || ta.disabled) return;
      const text = (r && r.text) || '';
      const { from, to } = range;
      busy = false;
      close(false);
      ta.focus();
      ta.setRangeText(text, Math.min(from, ta.value.length), Math.min(to, ta.value.length), 'end');
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      if (LEFT_PLACEHOLDER.test(text)) toast('Some placeholders could not be filled in: complete them before you send.');
    } catch (e) {
      if (e.status === 404) {
        note = `/${c.shortcut} is no longer available to you: the list was refreshed.`;
        loadCanned(true);
      } else {
        note = `Could not fill in /${c.shortcut}: ${e.message}`;
      }
    } finally {
      busy = false;
      draw();
    }
  }

  return { update, handleKey, openFromButton, close, isOpen: () => open };
}
