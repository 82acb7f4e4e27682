// Routing depth (R27) on the admin pages: the skill rows of the agent dialog, the queue
// dialog's Routing, Business hours and Overflow tabs, and the short summaries the tables and
// the live board show. Only common.js is imported; admin.js calls these.

import { h, replace } from '../common.js';

export const DAYS = [
  ['mon', 'Monday', 'Mon'], ['tue', 'Tuesday', 'Tue'], ['wed', 'Wednesday', 'Wed'], ['thu', 'Thursday', 'Thu'],
  ['fri', 'Friday', 'Fri'], ['sat', 'Saturday', 'Sat'], ['sun', 'Sunday', 'Sun'],
];
const WEEKDAYS = ['tue', 'wed', 'thu', 'fri'];
const SKILL_NAME_MAX = 64;
const MESSAGE_MAX = 4096;

/** A value the dialog refuses before sending: the message, and the input to focus. */
export class Problem extends Error {
  constructor(message, el) {
    super(message);
    this.el = el || null;
  }
}

function chars(s) { return Array.from(String(s || '')).length; }

/** The whole number in `el` within min..max, else a Problem naming `what`. */
function wholeNumber(el, what, min, max) {
  const v = el.value.trim();
  const n = Number(v);
  if (v === '' || !Number.isInteger(n) || n < min || n > max) throw new Problem(`${what}: a whole number from ${min} to ${max}.`, el);
  return n;
}

// ---------------------------------------------------------------- skills

/** "spanish 7, billing 3" (an agent's skills), or "" for none. */
export function skillsText(skills, key = 'level') {
  return (skills || []).map((s) => `${s.name} ${s[key]}`).join(', ');
}

/** The skill names in use (for suggestions), sorted, each once. */
export function skillNames(agents) {
  const seen = new Map();
  for (const a of agents || []) for (const s of a.skills || []) {
    const k = s.name.toLowerCase();
    if (!seen.has(k)) seen.set(k, s.name);
  }
  return [...seen.values()].sort((a, b) => a.localeCompare(b));
}

/**
 * Rows of a skill name and a level (1 to 10) with Add and Remove. `levelKey`: `level` (an
 * agent's skills) or `min_level` (a queue's required skills). Returns {el, read()}; read()
 * gives the list for the request body (rows without a name are left out) or throws a Problem.
 */
export function skillsEditor({ id, items, levelKey = 'level', noun = 'Skill', levelLabel = 'Level', suggestions = [], empty = 'None.' }) {
  const rows = h('div', { class: 'skill-rows', id: `${id}-rows` });
  const listId = `${id}-names`;
  const datalist = h('datalist', { id: listId }, suggestions.map((s) => h('option', { value: s })));
  const head = h('div', { class: 'skill-row skill-head', 'aria-hidden': 'true' },
    h('span', { class: 'small muted', text: 'Name' }), h('span', { class: 'small muted', text: levelLabel }), h('span'));
  const none = h('div', { class: 'muted small skill-none', text: empty });
  const label = (n) => `${noun} ${n}`;

  function renumber() {
    [...rows.children].forEach((row, k) => {
      const n = k + 1;
      row.querySelector('.skill-name').setAttribute('aria-label', `${label(n)} name`);
      row.querySelector('.skill-level').setAttribute('aria-label', `${label(n)} ${levelLabel.toLowerCase()}`);
      row.querySelector('.skill-remove').setAttribute('aria-label', `Remove ${label(n).toLowerCase()}`);
    });
    head.hidden = !rows.children.length;
    none.hidden = !!rows.children.length;
  }

  function add(s = { name: '', [levelKey]: 5 }, focus = false) {
    const name = h('input', { type: 'text', class: 'skill-name', value: s.name, maxlength: String(SKILL_NAME_MAX), list: listId, autocomplete: 'off', spellcheck: 'false' });
    const level = h('input', { type: 'number', class: 'skill-level', min: '1', max: '10', step: '1', value: String(s[levelKey] ?? 5) });
    const row = h('div', { class: 'skill-row' }, name, level,
      h('button', {
        type: 'button', class: 'icon-btn small skill-remove', text: '×',
        on: {
          click: () => {
            const next = row.nextElementSibling || row.previousElementSibling;
            row.remove();
            renumber();
            (next ? next.querySelector('.skill-name') : addBtn).focus();
          },
        },
      }));
    rows.appendChild(row);
    renumber();
    if (focus) name.focus();
  }

  const addBtn = h('button', { type: 'button', class: 'btn small', id: `${id}-add`, text: `Add ${noun.toLowerCase()}`, on: { click: () => add(undefined, true) } });
  (items || []).forEach((s) => add(s));
  renumber();

  let sent = [];
  function read() {
    const out = [];
    const seen = new Set();
    sent = [];
    [...rows.children].forEach((row, k) => {
      const nameEl = row.querySelector('.skill-name');
      const levelEl = row.querySelector('.skill-level');
      const name = nameEl.value.trim();
      if (!name) return;
      if (chars(name) > SKILL_NAME_MAX) throw new Problem(`${label(k + 1)}: a name of at most ${SKILL_NAME_MAX} characters.`, nameEl);
      const key = name.toLowerCase();
      if (seen.has(key)) throw new Problem(`“${name}” is listed twice (names match whatever the case).`, nameEl);
      seen.add(key);
      out.push({ name, [levelKey]: wholeNumber(levelEl, `${label(k + 1)} (${name}) ${levelLabel.toLowerCase()}`, 1, 10) });
      sent.push(row);
    });
    return out;
  }

  /** The input a refusal of the list `field` is about ("skills[1]: the level must be ..."). */
  function inputFor(message, field) {
    const m = String(message || '').match(new RegExp(`\\b${field}\\[(\\d+)\\]`));
    const row = m && sent[Number(m[1])];
    if (!row) return null;
    return row.querySelector(/level/.test(message) ? '.skill-level' : '.skill-name');
  }

  return { el: h('div', { class: 'skills-editor' }, head, rows, none, datalist, addBtn), read, inputFor };
}

// ---------------------------------------------------------------- summaries

const minutes = (t) => (t === '24:00' ? 1440 : Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5)));

/** The openings of each day, {mon: [{open, close}], ...}, sorted by the opening time. */
function byDay(hours) {
  const out = Object.fromEntries(DAYS.map(([d]) => [d, []]));
  for (const w of (hours && hours.weekly) || []) if (out[w.day]) out[w.day].push({ open: w.open, close: w.close });
  for (const list of Object.values(out)) list.sort((a, b) => minutes(a.open) - minutes(b.open));
  return out;
}

const spans = (list) => list.map((x) => `${x.open}–${x.close}`).join(', ');

/** Every day's openings in a line: "Mon 09:00–17:00; Tue 09:00–13:00, 14:00–18:00; Sat closed". */
export function hoursDetail(hours) {
  if (!hours) return 'Always open';
  const days = byDay(hours);
  const week = DAYS.map(([d, , short]) => `${short} ${days[d].length ? spans(days[d]) : 'closed'}`).join('; ');
  const hol = (hours.holidays || []).length ? `; closed on ${hours.holidays.join(', ')}` : '';
  return `${week} (${hours.timezone})${hol}`;
}

/**
 * The queue's hours in a few words: "Always open", "Mon–Fri 09:00–17:00 Europe/Madrid"
 * (one run of days with the same openings, the others closed), else "Custom hours".
 */
export function hoursSummary(hours) {
  if (!hours) return 'Always open';
  const days = byDay(hours);
  const open = DAYS.map(([d], k) => [k, days[d]]).filter(([, list]) => list.length);
  if (!open.length) return `Closed every day ${hours.timezone}`;
  const first = open[0][0];
  const last = open[open.length - 1][0];
  const same = open.every(([, list]) => spans(list) === spans(open[0][1]));
  if (!same || last - first + 1 !== open.length) return `Custom hours ${hours.timezone}`;
  const range = first === last ? DAYS[first][2] : `${DAYS[first][2]}–${DAYS[last][2]}`;
  return `${range} ${spans(open[0][1])} ${hours.timezone}`;
}

/** "Sales after 300 s", or "" when the queue does not overflow. */
export function overflowText(q, queues) {
  if (q.overflow_queue_id === null || q.overflow_queue_id === undefined) return '';
  const target = (queues || []).find((x) => x.id === q.overflow_queue_id);
  return `${target ? target.name : `#${q.overflow_queue_id}`} after ${q.max_wait_secs} s`;
}

/** The board's waiting per priority: "P9: 2 · P0: 5", or "" when nobody waits. */
export function priorityText(list) {
  return (list || []).filter((x) => x.waiting > 0).map((x) => `P${x.priority}: ${x.waiting}`).join(' · ');
}

/** How long until `iso`: "in 42 s", "in 3 min", "in 1 h 5 min"; "now" once it has passed. */
export function untilText(iso, now = Date.now()) {
  const secs = Math.round((Date.parse(iso) - now) / 1000);
  if (!Number.isFinite(secs)) return '';
  if (secs <= 0) return 'now';
  if (secs < 60) return `in ${secs} s`;
  if (secs < 3600) return `in ${Math.round(secs / 60)} min`;
  const m = Math.round((secs % 3600) / 60);
  return `in ${Math.floor(secs / 3600)} h${m ? ` ${m} min` : ''}`;
}

/** A small "P7" badge for a priority above 0 (null for 0). */
export function priorityBadge(p) {
  if (!p) return null;
  return h('span', { class: 'chip prio', title: `Priority ${p} (0 to 9, higher first)`, dataset: { priority: String(p) } },
    h('span', { 'aria-hidden': 'true', text: `P${p}` }), h('span', { class: 'visually-hidden', text: `priority ${p}` }));
}

// ---------------------------------------------------------------- queue dialog

/**
 * The queue dialog's sections as tabs: `panels` is [{id, label, el}]. Arrow keys move
 * between the tabs. Returns {el, show(id)}.
 */
export function queueTabs(panels) {
  const tabs = panels.map((p, k) => h('button', {
    type: 'button', role: 'tab', id: `qtab-${p.id}`, 'aria-controls': `qpanel-${p.id}`, text: p.label,
    'aria-selected': String(k === 0), tabindex: k === 0 ? '0' : '-1', dataset: { panel: p.id },
    on: { click: () => show(p.id) },
  }));
  const bodies = panels.map((p, k) => h('div', {
    role: 'tabpanel', id: `qpanel-${p.id}`, 'aria-labelledby': `qtab-${p.id}`, class: 'qpanel', hidden: k !== 0,
  }, p.el));
  tabs.forEach((t, k) => t.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
    const n = tabs[(k + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    show(n.dataset.panel);
    n.focus();
  }));
  function show(id) {
    tabs.forEach((t, k) => {
      const on = panels[k].id === id;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      bodies[k].hidden = !on;
    });
  }
  /** The tab that holds `el`, shown. */
  function reveal(el) {
    const k = bodies.findIndex((b) => b.contains(el));
    if (k >= 0) show(panels[k].id);
  }
  return { el: h('div', {}, h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Queue settings' }, tabs), bodies), show, reveal };
}

/** Which tab a refusal from the server is about, from the field it names first. */
export function tabOfMessage(message) {
  const m = String(message || '').toLowerCase();
  if (/hours|weekly|holiday|timezone|time zone|closed_message|greeting/.test(m)) return 'hours';
  if (/max_wait|overflow/.test(m)) return 'overflow';
  if (/skill|priority|sticky/.test(m)) return 'routing';
  return null;
}

const num = (id, v, min, max) => h('input', { type: 'number', id, min: String(min), max: String(max), step: '1', value: v === null || v === undefined ? '' : String(v) });

function field(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
    hint ? h('div', { class: 'hint', id: `${id}-hint`, text: hint }) : null);
}

/**
 * The Routing, Business hours and Overflow parts of the queue dialog for queue `q` (null
 * for a new one). `queues`: every queue (the overflow targets are the others); `suggestions`:
 * skill names in use. Returns {routing, hours, overflow, read()}: read() gives the fields
 * for the request body, or throws a Problem.
 */
export function queueRoutingFields(q, { queues = [], suggestions = [] } = {}) {
  // Routing: required skills, default priority, sticky agent.
  const required = skillsEditor({
    id: 'q-skills', items: q?.required_skills || [], levelKey: 'min_level', noun: 'Required skill', levelLabel: 'Minimum level',
    suggestions, empty: 'None: every member gets offers.',
  });
  const priority = h('select', { id: 'q-priority', 'aria-describedby': 'q-priority-hint' },
    Array.from({ length: 10 }, (_, p) => h('option', { value: String(p), text: p === 0 ? '0 (the usual)' : p === 9 ? '9 (highest)' : String(p) })));
  priority.value = String(q?.default_priority ?? 0);
  const stickySecs = num('q-sticky-secs', q?.sticky_agent_secs ?? 0, 0, 3600);
  const stickyHours = num('q-sticky-window', q?.sticky_window_hours ?? 72, 1, 720);
  stickySecs.setAttribute('aria-describedby', 'q-sticky-secs-hint');
  stickyHours.setAttribute('aria-describedby', 'q-sticky-window-hint');
  const stickyWindow = field('q-sticky-window', 'Returning within (hours)', stickyHours, 'Only if their last conversation in this queue closed less than this long ago (1 to 720).');
  const syncSticky = () => stickyWindow.classList.toggle('off', !(Number(stickySecs.value) > 0));
  stickySecs.addEventListener('input', syncSticky);
  syncSticky();
  const routing = h('div', { class: 'routing-fields' },
    h('fieldset', { class: 'field group' }, h('legend', { text: 'Required skills' }),
      h('p', { class: 'hint', text: 'Only members with every one of these skills, at or above the level, get offers from this queue.' }),
      required.el),
    h('div', { class: 'grid2' },
      field('q-priority', 'Default priority', priority, 'Higher is served first; a VIP contact’s priority raises it.'),
      h('span')),
    h('fieldset', { class: 'field group' }, h('legend', { text: 'Sticky agent' }),
      h('div', { class: 'grid2' },
        field('q-sticky-secs', 'Wait for the last agent (seconds)', stickySecs, '0: off. A returning customer is offered first to the agent who served them last, for at most this long (up to 3600).'),
        stickyWindow)));

  // Business hours.
  const hours = hoursEditor(q?.hours || null);
  const closedMsg = h('textarea', { id: 'q-closed-message', rows: '2', maxlength: String(MESSAGE_MAX), 'aria-describedby': 'q-closed-message-hint', value: q?.closed_message || '' });
  const greetingMsg = h('textarea', { id: 'q-greeting-message', rows: '2', maxlength: String(MESSAGE_MAX), 'aria-describedby': 'q-greeting-message-hint', value: q?.greeting_message || '' });
  const hoursEl = h('div', { class: 'hours-fields' }, hours.el,
    field('q-closed-message', 'Closed message', closedMsg, 'Sent once when a conversation starts out of hours; it still waits in the queue. Empty: none.'),
    field('q-greeting-message', 'Greeting', greetingMsg, 'Sent once when a conversation starts in hours. Empty: none.'));

  // Overflow.
  const others = queues.filter((x) => !q || x.id !== q.id);
  const maxWait = num('q-max-wait', q?.max_wait_secs ?? null, 10, 86400);
  maxWait.setAttribute('placeholder', 'off');
  maxWait.setAttribute('aria-describedby', 'q-max-wait-hint');
  const target = h('select', { id: 'q-overflow', 'aria-describedby': 'q-overflow-hint', disabled: !others.length },
    h('option', { value: '', text: others.length ? 'No overflow' : 'No other queue' }),
    others.map((x) => h('option', { value: String(x.id), text: x.name })));
  if (q && q.overflow_queue_id !== null && q.overflow_queue_id !== undefined) {
    if (!others.some((x) => x.id === q.overflow_queue_id)) target.append(h('option', { value: String(q.overflow_queue_id), text: `#${q.overflow_queue_id}` }));
    target.value = String(q.overflow_queue_id);
  }
  const overflow = h('div', { class: 'overflow-fields' },
    h('p', { class: 'hint', text: 'A conversation that waits longer than this moves once to the front of the other queue, with a system message.' }),
    h('div', { class: 'grid2' },
      field('q-max-wait', 'Longest wait (seconds)', maxWait, 'Empty: no overflow. 10 to 86400.'),
      field('q-overflow', 'Then move it to', target, others.length ? 'Any queue but this one.' : 'Add another queue first.')));

  function read() {
    const body = {
      required_skills: required.read(),
      default_priority: Number(priority.value),
      sticky_agent_secs: wholeNumber(stickySecs, 'Wait for the last agent', 0, 3600),
      sticky_window_hours: wholeNumber(stickyHours, 'Returning within (hours)', 1, 720),
      hours: hours.read(),
    };
    for (const [key, el, what] of [['closed_message', closedMsg, 'The closed message'], ['greeting_message', greetingMsg, 'The greeting']]) {
      const v = el.value.trim();
      if (chars(v) > MESSAGE_MAX) throw new Problem(`${what}: at most ${MESSAGE_MAX} characters.`, el);
      body[key] = v || null;
    }
    const wait = maxWait.value.trim();
    if (wait === '' && target.value === '') {
      body.max_wait_secs = null;
      body.overflow_queue_id = null;
    } else if (wait === '') {
      throw new Problem('Enter the longest wait before the move, or choose no overflow.', maxWait);
    } else if (target.value === '') {
      throw new Problem('Choose the queue to move waiting conversations to, or empty the longest wait.', target);
    } else {
      body.max_wait_secs = wholeNumber(maxWait, 'Longest wait', 10, 86400);
      body.overflow_queue_id = Number(target.value);
    }
    return body;
  }

  /** The input a refusal from the server is about, from the field its message names. */
  function inputFor(message) {
    const m = String(message || '');
    const first = [
      ['required_skills', () => required.inputFor(m, 'required_skills')],
      ['hours', () => hours.inputFor(m)],
      ['closed_message', () => closedMsg], ['greeting_message', () => greetingMsg],
      ['max_wait_secs', () => maxWait], ['overflow_queue_id', () => target],
      ['default_priority', () => priority], ['sticky_agent_secs', () => stickySecs], ['sticky_window_hours', () => stickyHours],
    ].map(([name, find]) => [m.indexOf(name), find]).filter(([at]) => at >= 0).sort((a, b) => a[0] - b[0]);
    return first.length ? first[0][1]() : null;
  }

  return { routing, hours: hoursEl, overflow, read, inputFor };
}

// ---------------------------------------------------------------- hours editor

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return []; }
}

const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

function dateLabel(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  const when = new Date(y, m - 1, d);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleDateString([], { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
}

/** The "Always open" / set hours toggle, the time zone, the weekly grid and the holidays. */
function hoursEditor(initial) {
  const start = initial || {
    timezone: browserZone(),
    weekly: ['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => ({ day, open: '09:00', close: '17:00' })),
    holidays: [],
  };
  const always = h('input', { type: 'radio', name: 'q-hours-mode', id: 'q-always-open', value: 'always', checked: !initial });
  const set = h('input', { type: 'radio', name: 'q-hours-mode', id: 'q-set-hours', value: 'hours', checked: !!initial });

  const tz = h('select', { id: 'q-timezone' });
  const list = zones();
  for (const z of [start.timezone, browserZone()]) if (z && !list.includes(z)) list.unshift(z);
  tz.append(...list.map((z) => h('option', { value: z, text: z.replace(/_/g, ' ') })));
  tz.value = start.timezone;

  // The weekly grid: a row per day; a day without openings is closed.
  const days = {};
  const grid = h('div', { class: 'hours-grid', role: 'group', 'aria-label': 'Weekly opening hours' });
  for (const [day, name] of DAYS) {
    const spansEl = h('div', { class: 'hours-spans' });
    const closed = h('span', { class: 'muted hours-closed', text: 'Closed' });
    const addBtn = h('button', { type: 'button', class: 'btn small hours-add', 'aria-label': `Add opening hours on ${name}`, text: 'Add interval' });
    const row = h('div', { class: 'hours-day', role: 'group', 'aria-label': name, dataset: { day } },
      h('div', { class: 'hours-dayname', text: name }), h('div', { class: 'hours-body' }, spansEl, h('div', { class: 'row' }, closed, addBtn)));
    days[day] = { name, row, spansEl, closed, addBtn };
    addBtn.addEventListener('click', () => {
      const last = spansEl.lastElementChild ? readSpan(spansEl.lastElementChild, false) : null;
      const from = last && last.close ? Math.min(minutes(last.close) + 60, 1380) : 540;
      addSpan(day, { open: hhmm(from), close: hhmm(Math.min(from + 240, 1440)) }, true);
    });
    grid.append(row);
  }

  function relabel(day) {
    const d = days[day];
    [...d.spansEl.children].forEach((s, k) => {
      const what = `${d.name}, interval ${k + 1}`;
      s.querySelector('.open').setAttribute('aria-label', `${what} opens`);
      s.querySelector('.close').setAttribute('aria-label', `${what} closes`);
      s.querySelector('.midnight').setAttribute('aria-label', `${what} open until midnight (24:00)`);
      s.querySelector('.hours-remove').setAttribute('aria-label', `Remove ${d.name} interval ${k + 1}`);
    });
    d.closed.hidden = d.spansEl.children.length > 0;
    d.row.classList.toggle('closed', !d.spansEl.children.length);
  }

  function addSpan(day, { open, close }, focus = false) {
    const toMidnight = close === '24:00';
    const openEl = h('input', { type: 'time', class: 'open', value: open || '' });
    const closeEl = h('input', { type: 'time', class: 'close', value: toMidnight ? '' : close || '', disabled: toMidnight });
    const midnight = h('input', { type: 'checkbox', class: 'midnight', checked: toMidnight });
    const span = h('div', { class: 'hours-span' }, openEl, h('span', { 'aria-hidden': 'true', text: '–' }), closeEl,
      h('label', { class: 'check small' }, midnight, 'until midnight'),
      h('button', {
        type: 'button', class: 'btn small hours-remove', text: 'Remove',
        on: {
          click: () => {
            const next = span.nextElementSibling || span.previousElementSibling;
            span.remove();
            relabel(day);
            (next ? next.querySelector('.open') : days[day].addBtn).focus();
          },
        },
      }));
    midnight.addEventListener('change', () => {
      closeEl.disabled = midnight.checked;
      if (midnight.checked) closeEl.value = '';
      else closeEl.focus();
    });
    // A close of 00:00 can only mean the end of the day.
    closeEl.addEventListener('change', () => {
      if (closeEl.value === '00:00') { midnight.checked = true; closeEl.value = ''; closeEl.disabled = true; }
    });
    days[day].spansEl.append(span);
    relabel(day);
    if (focus) openEl.focus();
  }

  function fill(day, list) {
    replace(days[day].spansEl);
    list.forEach((s) => addSpan(day, s));
    relabel(day);
  }

  const initialDays = byDay(start);
  for (const [day] of DAYS) fill(day, initialDays[day]);

  /** One interval's values; `strict`: a missing time is a Problem. */
  function readSpan(span, strict = true, what = '') {
    const openEl = span.querySelector('.open');
    const closeEl = span.querySelector('.close');
    const open = openEl.value;
    const close = span.querySelector('.midnight').checked || closeEl.value === '00:00' ? '24:00' : closeEl.value;
    if (strict && !open) throw new Problem(`${what}: enter the opening time.`, openEl);
    if (strict && !close) throw new Problem(`${what}: enter the closing time, or tick “until midnight”.`, closeEl);
    return { open, close };
  }

  const copy = h('button', {
    type: 'button', class: 'btn small', id: 'q-copy-monday', text: 'Copy Monday to weekdays',
    on: {
      click: () => {
        const mon = [...days.mon.spansEl.children].map((s) => readSpan(s, false));
        for (const day of WEEKDAYS) fill(day, mon);
      },
    },
  });

  // Holidays: whole days closed, in the queue's time zone.
  let holidays = [...(start.holidays || [])].sort();
  const holidayInput = h('input', { type: 'date', id: 'q-holiday-date' });
  const holidayList = h('ul', { class: 'holiday-list', id: 'q-holidays', 'aria-label': 'Holidays' });
  const holidayAdd = h('button', { type: 'button', class: 'btn small', id: 'q-holiday-add', text: 'Add holiday' });
  const holidayNote = h('div', { class: 'hint', id: 'q-holiday-note', role: 'status' });
  function drawHolidays() {
    replace(holidayList, holidays.length
      ? holidays.map((d) => h('li', { dataset: { date: d } },
        h('span', { class: 'holiday-date', text: dateLabel(d) }), h('span', { class: 'muted small', text: d }),
        h('span', { class: 'spacer' }),
        h('button', {
          type: 'button', class: 'btn small', text: 'Remove', 'aria-label': `Remove holiday ${d}`,
          on: { click: () => { holidays = holidays.filter((x) => x !== d); drawHolidays(); holidayInput.focus(); } },
        })))
      : h('li', { class: 'muted small', text: 'No holidays.' }));
  }
  function addHoliday() {
    const d = holidayInput.value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) { holidayNote.textContent = 'Pick a date first.'; holidayInput.focus(); return; }
    holidayNote.textContent = holidays.includes(d) ? `${d} is already a holiday.` : '';
    if (!holidays.includes(d)) holidays = [...holidays, d].sort();
    holidayInput.value = '';
    drawHolidays();
    holidayInput.focus();
  }
  holidayAdd.addEventListener('click', addHoliday);
  holidayInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addHoliday(); } });
  drawHolidays();

  const detail = h('div', { class: 'hours-detail', id: 'q-hours-detail' },
    field('q-timezone', 'Time zone', tz),
    h('div', { class: 'field' },
      h('div', { class: 'row hours-tools' }, h('span', { class: 'label-like', text: 'Weekly hours' }), h('span', { class: 'spacer' }), copy),
      grid,
      h('div', { class: 'hint', text: 'A day without intervals is closed. A shift past midnight is two intervals: until midnight, and from 00:00 the next day.' })),
    h('div', { class: 'field' },
      h('label', { for: 'q-holiday-date', text: 'Holidays (closed all day)' }),
      h('div', { class: 'row' }, holidayInput, holidayAdd),
      holidayNote,
      holidayList));

  const sync = () => { detail.hidden = always.checked; };
  always.addEventListener('change', sync);
  set.addEventListener('change', sync);
  sync();

  const el = h('fieldset', { class: 'field group' }, h('legend', { text: 'Business hours' }),
    h('div', { class: 'row hours-mode' },
      h('label', { class: 'check', for: 'q-always-open' }, always, 'Always open'),
      h('label', { class: 'check', for: 'q-set-hours' }, set, 'Open at set hours')),
    detail);

  let sentSpans = [];
  function read() {
    if (always.checked) return null;
    const weekly = [];
    sentSpans = [];
    for (const [day, name] of DAYS) {
      [...days[day].spansEl.children].forEach((s, k) => {
        weekly.push({ day, ...readSpan(s, true, `${name}, interval ${k + 1}`) });
        sentSpans.push(s);
      });
    }
    return { timezone: tz.value, weekly, holidays: [...holidays] };
  }

  /** The input a refusal of `hours` is about: an interval (by its place in `weekly`), the zone, the holidays. */
  function inputFor(message) {
    const w = message.match(/hours\.weekly\[(\d+)\](\.(open|close|day))?/);
    if (w && sentSpans[Number(w[1])]) {
      const span = sentSpans[Number(w[1])];
      const close = span.querySelector('.close');
      return w[3] === 'close' && !close.disabled ? close : span.querySelector('.open');
    }
    if (/hours\.timezone/.test(message)) return tz;
    if (/hours\.holidays/.test(message)) return holidayInput;
    return null;
  }

  return { el, read, inputFor };
}
