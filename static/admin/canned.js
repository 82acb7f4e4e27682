// The admin page "Canned responses" (R26), for supervisors and admins: the saved replies
// agents pick with `/` in the composer. A table with search, a form to add or edit one (the
// shortcut, title, text with its placeholders and a preview, and the queue: every queue or
// one) with its validation messages, and delete with confirmation. Only common.js is
// imported; admin.js lists the page.

import { h, replace, api, toast, modal, dateTime, session } from '../common.js';

const SHORTCUT = /^[a-z0-9_-]{1,32}$/;
const TITLE_MAX = 100;
/** The server's `limits.max_message_chars` by default; the server has the last word. */
const TEXT_MAX = 4096;
const PLACEHOLDERS = [
  ['{{customer.first_name}}', 'The customer’s first name'],
  ['{{customer.name}}', 'The customer’s name'],
  ['{{agent.name}}', 'Your name as the customer sees it'],
  ['{{agent.first_name}}', 'Your first name'],
  ['{{queue.name}}', 'The conversation’s queue'],
];
/** What the preview fills in (the real values come from the conversation). */
const SAMPLE_CUSTOMER = 'Ana Costa';

function chars(s) { return Array.from(String(s || '')).length; }

/** Why a shortcut is refused, or null. */
export function shortcutProblem(v) {
  if (!v) return 'Enter a shortcut: agents type it after /.';
  if (v.startsWith('/')) return 'Leave out the leading /: agents type it themselves.';
  if (chars(v) > 32) return 'At most 32 characters.';
  if (!SHORTCUT.test(v)) return 'Only lower-case letters a-z, digits, - and _ (no spaces).';
  return null;
}

export function titleProblem(v) {
  const t = String(v || '').trim();
  if (!t) return 'Enter a title: agents see it in the list.';
  if (chars(t) > TITLE_MAX) return `At most ${TITLE_MAX} characters (now ${chars(t)}).`;
  return null;
}

export function textProblem(v) {
  if (!String(v || '').trim()) return 'Enter the text of the reply.';
  if (chars(v) > TEXT_MAX) return `At most ${TEXT_MAX} characters, like a message (now ${chars(v)}).`;
  return null;
}

/** The text with sample values, as the server fills it (unknown placeholders stay). */
export function sampleFill(text, { agent, queue }) {
  const first = (s) => String(s || '').trim().split(/\s+/)[0] || '';
  const values = {
    'customer.name': SAMPLE_CUSTOMER,
    'customer.first_name': first(SAMPLE_CUSTOMER),
    'agent.name': agent,
    'agent.first_name': first(agent),
    'queue.name': queue,
  };
  return String(text || '').replace(/\{\{([^{}]*)\}\}/g, (all, inner) => {
    const bar = inner.indexOf('|');
    const key = (bar < 0 ? inner : inner.slice(0, bar)).trim().toLowerCase();
    return Object.prototype.hasOwnProperty.call(values, key) && values[key] ? values[key] : all;
  });
}

/** The queues a supervisor may name: every live queue (from the realtime stats, which
 * supervisors may read, unlike /queues). */
async function loadQueues() {
  const stats = await api('GET', '/api/v1/stats/realtime');
  return (stats.queues || []).map((q) => ({ id: q.id, name: q.name }));
}

/** Renders the page into `main` (admin.js's `#admin-main`). */
export async function renderCanned(main = document.getElementById('admin-main')) {
  const queues = await loadQueues();
  const search = h('input', {
    type: 'search', id: 'canned-admin-search', placeholder: 'Search by shortcut, title or text', 'aria-label': 'Search canned responses',
    autocomplete: 'off',
  });
  const count = h('span', { class: 'muted small', id: 'canned-admin-count', role: 'status' });
  const box = h('div', { id: 'canned-admin-table' });
  const add = h('button', { class: 'btn primary', type: 'button', id: 'canned-add', text: 'Add canned response' });
  replace(main, h('section', { class: 'card canned-admin', 'aria-label': 'Canned responses' },
    h('div', { class: 'card-head' }, h('h2', { text: 'Canned responses' }), search, add),
    h('div', { class: 'card-body canned-intro' },
      h('p', { class: 'muted small', text: 'Agents type / and the shortcut in the composer (for example /hello) to put a reply into their message, with the customer’s, their own and the queue’s names filled in. They see the replies of their queues and those for every queue; they edit the text before sending.' }),
      count),
    box));

  let seq = 0;
  async function load() {
    const mine = ++seq;
    const q = search.value.trim();
    let list;
    try {
      const r = await api('GET', `/api/v1/canned_responses${q ? `?q=${encodeURIComponent(q)}` : ''}`);
      list = (r && r.items) || [];
    } catch (e) {
      if (mine !== seq) return;
      replace(box, h('div', { class: 'card-body error-text', text: e.message }));
      return;
    }
    if (mine !== seq) return;
    count.textContent = q ? `${list.length} found for “${q}”` : `${list.length} canned response${list.length === 1 ? '' : 's'}`;
    const rows = list.map((c) => h('tr', { dataset: { shortcut: c.shortcut, id: c.id } },
      h('td', {}, h('span', { class: 'canned-shortcut', text: `/${c.shortcut}` })),
      h('td', { text: c.title }),
      h('td', { class: 'canned-body' }, h('div', { title: c.text, text: c.text })),
      h('td', {}, c.queue_id === null || c.queue_id === undefined
        ? h('span', { class: 'muted', text: 'Every queue' })
        : h('span', { class: 'chip blue', text: queueLabel(c, queues) })),
      h('td', { class: 'muted small', text: dateTime(c.updated_at) }),
      h('td', { class: 'num' },
        h('button', { class: 'btn small', type: 'button', text: 'Edit', 'aria-label': `Edit /${c.shortcut}`, on: { click: () => edit(c) } }), ' ',
        h('button', { class: 'btn small', type: 'button', text: 'Delete', 'aria-label': `Delete /${c.shortcut}`, on: { click: () => confirmDelete(c) } }))));
    replace(box, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ['Shortcut', 'Title', 'Text', 'Queue', 'Updated', ''].map((l) => h('th', { scope: 'col', class: l ? null : 'num', text: l })))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', {
        class: 'muted', colspan: '6',
        text: q ? `No canned response matches “${q}”.` : 'No canned responses yet. Add the replies your team writes again and again.',
      })))));
  }

  function edit(c) {
    openCannedForm({ canned: c, queues, onSaved: (saved) => { toast(`/${saved.shortcut} saved.`); load(); } });
  }

  function confirmDelete(c) {
    const m = modal({ title: `Delete /${c.shortcut}?`, id: 'canned-delete-dialog' });
    const err = h('div', { class: 'error-text dlg-error', role: 'alert' });
    const yes = h('button', { class: 'btn danger', type: 'button', id: 'canned-delete-confirm', text: 'Delete' });
    m.body.append(h('p', { text: `“${c.title}” disappears from every agent’s list at once. Its shortcut /${c.shortcut} can be used again.` }));
    m.foot.append(err, h('span', { class: 'spacer' }), h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: m.close } }), yes);
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', `/api/v1/canned_responses/${c.id}`);
        m.close();
        toast(`/${c.shortcut} deleted.`);
        load();
      } catch (e) {
        if (e.status === 404) { m.close(); load(); return; }
        err.textContent = e.message;
        yes.disabled = false;
      }
    });
    m.dialog.showModal();
    yes.focus();
  }

  add.addEventListener('click', () => openCannedForm({ canned: null, queues, onSaved: (saved) => { toast(`/${saved.shortcut} added.`); load(); } }));
  let t = null;
  search.addEventListener('input', () => { clearTimeout(t); t = setTimeout(load, 250); });
  await load();
}

function queueLabel(c, queues) {
  const live = queues.find((q) => q.id === c.queue_id);
  if (live) return live.name;
  return `${c.queue_name || `Queue ${c.queue_id}`} (deleted)`;
}

/** The add / edit form. `onSaved(saved)` after the server took it. */
export function openCannedForm({ canned: c, queues, onSaved }) {
  const m = modal({ title: c ? `Edit /${c.shortcut}` : 'Add canned response', id: 'canned-dialog', wide: true });
  m.dialog.classList.add('canned-form');
  const me = session()?.user?.display_name || 'Alice Martin';
  const problems = {};
  const input = (id, attrs) => h('input', { id, autocomplete: 'off', ...attrs });
  const shortcut = input('cn-shortcut', { type: 'text', value: c?.shortcut || '', placeholder: 'hello', spellcheck: 'false', 'aria-describedby': 'cn-shortcut-hint cn-shortcut-problem' });
  const title = input('cn-title', { type: 'text', value: c?.title || '', placeholder: 'Greeting', 'aria-describedby': 'cn-title-problem' });
  const queue = h('select', { id: 'cn-queue', 'aria-describedby': 'cn-queue-hint cn-queue-problem' },
    h('option', { value: '', text: 'Every queue' }),
    queues.map((q) => h('option', { value: String(q.id), text: q.name })));
  if (c && c.queue_id !== null && c.queue_id !== undefined) {
    if (!queues.some((q) => q.id === c.queue_id)) queue.append(h('option', { value: String(c.queue_id), text: queueLabel(c, queues) }));
    queue.value = String(c.queue_id);
  }
  const text = h('textarea', { id: 'cn-text', rows: '6', 'aria-describedby': 'cn-text-hint cn-text-counter cn-text-problem', placeholder: 'Hi {{customer.first_name}}, this is {{agent.first_name}}. How can I help?' });
  text.value = c?.text || '';
  const counter = h('span', { class: 'counter', id: 'cn-text-counter' });
  const preview = h('div', { class: 'canned-preview', id: 'cn-preview', 'aria-live': 'polite' });
  const err = h('div', { class: 'error-text dlg-error', id: 'canned-form-error', role: 'alert' });
  const save = h('button', { class: 'btn primary', type: 'button', id: 'canned-save', text: c ? 'Save' : 'Add' });

  const problemEl = (id) => h('div', { class: 'error-text small field-problem', id: `${id}-problem`, hidden: true });
  const pShortcut = problemEl('cn-shortcut');
  const pTitle = problemEl('cn-title');
  const pQueue = problemEl('cn-queue');
  const pText = problemEl('cn-text');
  const fields = { shortcut: [shortcut, pShortcut], title: [title, pTitle], queue_id: [queue, pQueue], text: [text, pText] };

  function setProblem(name, message) {
    const [el, p] = fields[name];
    problems[name] = message || null;
    p.hidden = !message;
    p.textContent = message || '';
    if (message) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid');
  }

  const touched = new Set();
  function check(all = false) {
    const rules = { shortcut: () => shortcutProblem(shortcut.value), title: () => titleProblem(title.value), text: () => textProblem(text.value) };
    for (const [name, rule] of Object.entries(rules)) {
      if (all || touched.has(name)) setProblem(name, rule());
    }
    return !Object.values(problems).some(Boolean);
  }

  function drawCounter() {
    const n = chars(text.value);
    counter.textContent = `${n} / ${TEXT_MAX}`;
    counter.classList.toggle('over', n > TEXT_MAX);
  }

  function drawPreview() {
    const q = queues.find((x) => String(x.id) === queue.value);
    const filled = sampleFill(text.value, { agent: me, queue: q ? q.name : 'Support' });
    replace(preview, filled.trim()
      ? h('div', { class: 'tpl-bubble', text: filled })
      : h('div', { class: 'tpl-preview-empty', text: 'The reply, as a customer named Ana Costa would get it, shows here.' }));
  }

  for (const [name, el] of [['shortcut', shortcut], ['title', title], ['text', text]]) {
    el.addEventListener('input', () => { touched.add(name); err.textContent = ''; check(); });
    el.addEventListener('blur', () => { if (el.value) touched.add(name); check(); });
  }
  text.addEventListener('input', () => { drawCounter(); drawPreview(); });
  queue.addEventListener('change', () => { setProblem('queue_id', null); drawPreview(); });

  const phButtons = h('div', { class: 'ph-buttons', role: 'group', 'aria-label': 'Insert a placeholder' },
    PLACEHOLDERS.map(([ph, label]) => h('button', {
      type: 'button', class: 'btn', text: ph, title: label, 'aria-label': `Insert ${label.toLowerCase()}: ${ph}`,
      on: {
        click: () => {
          text.focus();
          text.setRangeText(ph, text.selectionStart, text.selectionEnd, 'end');
          text.dispatchEvent(new Event('input', { bubbles: true }));
        },
      },
    })));

  m.body.append(
    h('div', { class: 'grid2' },
      h('div', { class: 'field' }, h('label', { for: 'cn-shortcut', text: 'Shortcut' }), shortcut,
        h('div', { class: 'hint', id: 'cn-shortcut-hint', text: 'Agents type / and this: lower-case letters, digits, - and _, up to 32.' }), pShortcut),
      h('div', { class: 'field' }, h('label', { for: 'cn-title', text: 'Title' }), title, pTitle)),
    h('div', { class: 'field' }, h('label', { for: 'cn-queue', text: 'Queue' }), queue,
      h('div', { class: 'hint', id: 'cn-queue-hint', text: 'Every queue: all agents see it. One queue: only its members (supervisors and admins see all).' }), pQueue),
    h('div', { class: 'field' }, h('label', { for: 'cn-text', text: 'Text' }), phButtons, text,
      h('div', { class: 'counter-line' },
        h('div', { class: 'hint', id: 'cn-text-hint', text: 'Placeholders are filled in from the conversation. A customer without a name is greeted as “there”; give your own word after |, like {{customer.first_name | friend}}. Anything else in {{ }} stays for the agent to fill in.' }),
        counter),
      pText),
    h('div', { class: 'field' }, h('div', { class: 'small muted', text: 'Preview' }), preview));
  m.foot.append(err, h('span', { class: 'spacer' }), h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: m.close } }), save);

  let busy = false;
  async function submit() {
    if (busy) return;
    err.textContent = '';
    if (!check(true)) {
      const first = ['shortcut', 'title', 'text'].find((n) => problems[n]);
      if (first) fields[first][0].focus();
      return;
    }
    const qid = queue.value === '' ? null : Number(queue.value);
    let body = { shortcut: shortcut.value, title: title.value.trim(), text: text.value, queue_id: qid };
    if (c) {
      body = Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== (c[k] ?? null)));
      if (!Object.keys(body).length) { m.close(); return; }
    }
    busy = true;
    save.disabled = true;
    try {
      const saved = await api(c ? 'PATCH' : 'POST', c ? `/api/v1/canned_responses/${c.id}` : '/api/v1/canned_responses', body);
      m.close();
      onSaved(saved);
    } catch (e) {
      const field = e.code === 'shortcut_taken' ? 'shortcut'
        : e.code === 'unknown_queue' ? 'queue_id'
          : e.code === 'invalid_input' ? ['shortcut', 'title', 'text'].find((n) => String(e.message).startsWith(n)) : null;
      if (field) {
        setProblem(field, e.code === 'shortcut_taken' ? `/${shortcut.value} is taken: another canned response has it.` : e.message);
        fields[field][0].focus();
      } else if (e.status === 404) {
        err.textContent = 'This canned response was deleted meanwhile.';
      } else {
        err.textContent = e.message;
      }
    } finally {
      busy = false;
      save.disabled = false;
    }
  }
  save.addEventListener('click', submit);
  m.form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing && e.target.tagName === 'INPUT') { e.preventDefault(); submit(); }
  });
  drawCounter();
  drawPreview();
  m.dialog.showModal();
  (c ? title : shortcut).focus();
  return m;
}
