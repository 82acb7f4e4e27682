// Admin and supervisor pages: live board (polls /api/v1/stats/realtime), agents, queues,
// channels, contacts and settings. Every value from the server is set with textContent.

import {
  h, $, replace, api, session, clearSession, renderLogin, duration, dateTime, STATUS_LABEL,
  toast, modal, icon,
} from './common.js';
import {
  loadTemplates, statusChip, humanReason, statusLabel, previewBubble, paramFields, openNewConversation,
} from './desk/templates.js';
import { openMonitor } from './admin/monitor.js';
import { renderCanned } from './admin/canned.js';
import { renderReports } from './admin/reports.js';
import {
  Problem, skillsEditor, skillsText, skillNames, queueRoutingFields, queueTabs, tabOfMessage, hoursSummary, hoursDetail,
  overflowText, priorityText, untilText, priorityBadge,
} from './admin/routing.js';

const root = $('#root');
const POLL_MS = 2000;
let user = null;
let main = null;
let current = null;
let pollTimer = null;
let tabs = [];

const PAGES = [
  { id: 'board', label: 'Live board', role: 'supervisor', render: renderBoard },
  { id: 'reports', label: 'Reports', role: 'supervisor', render: () => renderReports(main) },
  { id: 'agents', label: 'Agents', role: 'admin', render: renderAgents },
  { id: 'queues', label: 'Queues', role: 'admin', render: renderQueues },
  { id: 'channels', label: 'Channels', role: 'admin', render: renderChannels },
  { id: 'contacts', label: 'Contacts', role: 'supervisor', render: renderContacts },
  { id: 'canned', label: 'Canned responses', role: 'supervisor', render: () => renderCanned(main) },
  { id: 'settings', label: 'Settings', role: 'admin', render: renderSettings },
];
const RANK = { agent: 0, supervisor: 1, admin: 2 };

start();

async function start() {
  const s = session();
  if (!s) return showLogin();
  try {
    user = await api('GET', '/api/v1/me');
  } catch (e) {
    if (e.status === 401) { clearSession(); return showLogin('Your session has ended. Please sign in again.'); }
    toast(e.message, 'error');
    return;
  }
  boot();
}

function showLogin(msg) {
  document.title = 'Switchboard — Sign in';
  renderLogin(root, { subtitle: msg || 'Sign in to the administration pages.', onDone: () => start() });
}

function boot() {
  if (RANK[user.role] < RANK.supervisor) {
    replace(root, h('div', { class: 'login-wrap' }, h('div', { class: 'login-card' },
      h('h2', { text: 'Supervisors and admins only' }),
      h('p', { class: 'muted', text: `You are signed in as ${user.display_name}, an agent.` }),
      h('a', { class: 'btn primary', href: './', text: 'Open the agent desktop' }))));
    return;
  }
  const pages = PAGES.filter((p) => RANK[user.role] >= RANK[p.role]);
  tabs = pages.map((p) => h('button', {
    role: 'tab', type: 'button', id: `tab-${p.id}`, 'aria-controls': 'admin-main', dataset: { page: p.id },
    text: p.label, on: { click: () => go(p.id) },
  }));
  tabs.forEach((t, i) => t.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const n = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      n.focus();
      go(n.dataset.page);
    }
  }));
  main = h('main', { class: 'admin-main', id: 'admin-main', role: 'tabpanel' });
  replace(root,
    h('header', { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, icon('phone', 17)), 'Switchboard'),
      h('nav', { class: 'admin-nav', role: 'tablist', 'aria-label': 'Administration' }, tabs),
      h('div', { class: 'spacer' }),
      h('a', { class: 'btn ghost', href: './', text: 'Agent desktop' }),
      h('div', { class: 'who' }, h('div', { class: 'name', text: user.display_name }), h('div', { class: 'role', text: user.role })),
      h('button', { class: 'btn ghost', type: 'button', text: 'Sign out', on: { click: signOut } })),
    main);
  const wanted = location.hash.slice(1);
  go(pages.some((p) => p.id === wanted) ? wanted : 'board');
}

async function signOut() {
  await api('POST', '/api/v1/auth/logout').catch(() => {});
  clearSession();
  clearTimeout(pollTimer);
  showLogin('You are signed out.');
}

function go(id) {
  current = id;
  clearTimeout(pollTimer);
  history.replaceState(null, '', `#${id}`);
  for (const t of tabs) {
    const sel = t.dataset.page === id;
    t.setAttribute('aria-selected', String(sel));
    t.tabIndex = sel ? 0 : -1;
  }
  main.setAttribute('aria-labelledby', `tab-${id}`);
  const page = PAGES.find((p) => p.id === id);
  document.title = `Switchboard — ${page.label}`;
  replace(main, h('p', { class: 'muted', text: 'Loading…' }));
  page.render().catch((e) => {
    if (e.status === 401) { clearSession(); showLogin('Your session has ended. Please sign in again.'); return; }
    replace(main, h('div', { class: 'card' }, h('div', { class: 'card-body error-text', text: e.message })));
  });
}

function card(title, actions, ...body) {
  return h('section', { class: 'card', 'aria-label': title },
    h('div', { class: 'card-head' }, h('h2', { text: title }), actions),
    ...body);
}

function table(columns, rows, empty = 'Nothing here yet.') {
  return h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null, scope: 'col', text: c.label })))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { class: 'muted', colspan: String(columns.length), text: empty }))));
}

function td(value, cls) { return h('td', { class: cls || null }, value instanceof Node ? value : String(value ?? '')); }

function fail(e) { toast(e.message || 'Something went wrong.', 'error'); }

// ---------------------------------------------------------------- live board

async function renderBoard() {
  const statsBox = h('div', { class: 'stats', id: 'board-agents' });
  const queuesBox = h('div', { id: 'board-queues' });
  const agentsBox = h('div', { id: 'board-agent-list' });
  const convBox = h('div', { id: 'board-conversations' });
  const updated = h('span', { class: 'muted small', id: 'board-updated', role: 'status' });
  replace(main,
    h('div', { class: 'row', style: null }, h('h2', { text: 'Live board' }), h('span', { class: 'spacer' }), updated),
    h('div', { class: 'spacer' }),
    statsBox,
    card('Queues', null, queuesBox),
    h('div', { class: 'grid2' },
      RANK[user.role] >= RANK.admin ? card('Agents', null, agentsBox) : null,
      card('Open conversations', null, convBox)));
  main.firstChild.style.marginBottom = '12px';

  const tick = async () => {
    if (current !== 'board') return;
    try {
      const [stats, agents] = await Promise.all([
        api('GET', '/api/v1/stats/realtime'),
        RANK[user.role] >= RANK.admin ? api('GET', '/api/v1/agents') : Promise.resolve(null),
      ]);
      if (current !== 'board') return;
      const a = stats.agents || {};
      replace(statsBox, ['available', 'on_break', 'rona', 'offline'].map((s) => h('div', { class: 'stat', dataset: { status: s } },
        h('span', { class: `dot st-${s}`, 'aria-hidden': 'true' }),
        h('div', {}, h('div', { class: 'v', text: String(a[s] ?? 0) }), h('div', { class: 'k', text: `${STATUS_LABEL[s]} agents` })))));
      replace(queuesBox, table([
        { label: 'Queue' }, { label: 'Waiting', num: true }, { label: 'By priority' }, { label: 'Longest wait', num: true },
        { label: 'Next overflow', num: true }, { label: 'Offered', num: true }, { label: 'Active', num: true }, { label: 'In wrap-up', num: true },
      ], stats.queues.map((q) => h('tr', { dataset: { queue: q.id, open: String(q.open !== false) } },
        h('td', { class: 'queue-cell' }, q.name, q.open === false ? ' ' : null, q.open === false
          ? h('span', { class: 'chip amber closed-chip', title: 'Outside business hours: new conversations wait and get the closed message', text: 'Closed' }) : null),
        td(q.waiting, 'num' + (q.waiting ? ' hot' : '')),
        td(priorityText(q.waiting_by_priority) || '—', 'by-priority'),
        td(duration(q.longest_wait_secs), 'num'),
        h('td', { class: 'num next-overflow', title: q.next_overflow_at ? dateTime(q.next_overflow_at) : null, text: q.next_overflow_at ? untilText(q.next_overflow_at) : '—' }),
        td(q.offered, 'num'), td(q.active, 'num'), td(q.wrap_up, 'num'))), 'No queues.'));
      if (agents) {
        const list = Array.isArray(agents) ? agents : agents.items || [];
        replace(agentsBox, table([{ label: 'Agent' }, { label: 'Status' }, { label: 'Since', num: true }],
          list.map((x) => h('tr', {},
            td(x.display_name),
            td(h('span', { class: 'row' }, h('span', { class: `dot st-${x.status}`, 'aria-hidden': 'true' }), `${STATUS_LABEL[x.status] || x.status}${x.stop_new ? ' · stop new' : ''}`)),
            td(x.status_since ? duration((Date.now() - Date.parse(x.status_since)) / 1000) : '', 'num')))));
      }
      // R25: every open conversation (the oldest first), one click from watching it.
      const open = stats.conversations || [];
      replace(convBox, table([{ label: 'Customer' }, { label: 'Queue' }, { label: 'Agent' }, { label: 'State' },
        { label: 'Alert' }, { label: 'Age', num: true }, { label: 'Watch' }],
      open.map((c) => h('tr', { dataset: { interaction: c.id, alert: c.alert } },
        h('td', { class: 'customer-cell' }, c.customer, c.priority > 0 ? ' ' : null, priorityBadge(c.priority)), td(c.queue_name), td(c.agent_name || '—'),
        td(`${c.state.replace('_', '-')}${c.kind === 'outbound' ? ' · outbound' : ''}`),
        td(c.alert === 'none' ? '—' : h('span', { class: `alert-chip ${c.alert}`, text: c.alert === 'critical' ? 'Critical' : 'Warning' })),
        td(duration((Date.now() - Date.parse(c.created_at)) / 1000), 'num'),
        td(h('button', {
          type: 'button', class: 'btn small', text: 'Monitor', dataset: { monitor: c.id },
          'aria-label': `Monitor the conversation with ${c.customer}`, on: { click: () => openMonitor(c.id, user) },
        })))), 'No open conversations.'));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      updated.textContent = `Not updated: ${e.message}`;
    }
    pollTimer = setTimeout(tick, POLL_MS);
  };
  await tick();
}

// ---------------------------------------------------------------- agents

async function renderAgents() {
  const [agentsR, queuesR] = await Promise.all([api('GET', '/api/v1/agents'), api('GET', '/api/v1/queues')]);
  const agents = Array.isArray(agentsR) ? agentsR : agentsR.items || [];
  const queues = Array.isArray(queuesR) ? queuesR : queuesR.items || [];
  const qname = (id) => queues.find((q) => q.id === id)?.name || `#${id}`;
  const known = skillNames(agents);
  replace(main, card('Agents', h('button', { class: 'btn primary', type: 'button', text: 'Add agent', on: { click: () => editAgent(null, queues, known) } }),
    table([{ label: 'Name' }, { label: 'Username' }, { label: 'Role' }, { label: 'Capacity', num: true }, { label: 'May reject' }, { label: 'Queues' }, { label: 'Skills' }, { label: 'Status' }, { label: '' }],
      agents.map((a) => h('tr', { dataset: { agent: a.username } },
        td(a.display_name), td(a.username), td(a.role), td(a.max_concurrent, 'num'), td(a.can_reject ? 'Yes' : 'No'),
        td(a.queues.map(qname).join(', ') || '—'),
        td(skillsText(a.skills) || '—', 'skills-cell'),
        td(h('span', { class: 'row' }, h('span', { class: `dot st-${a.status}`, 'aria-hidden': 'true' }), STATUS_LABEL[a.status] || a.status || '')),
        h('td', { class: 'num' },
          h('button', { class: 'btn small', type: 'button', text: 'Edit', 'aria-label': `Edit ${a.display_name}`, on: { click: () => editAgent(a, queues, known) } }), ' ',
          h('button', { class: 'btn small', type: 'button', text: 'Delete', 'aria-label': `Delete ${a.display_name}`, on: { click: () => del(`/api/v1/agents/${a.id}`, a.display_name) } })))))));
}

function field(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hint ? h('div', { class: 'hint', text: hint }) : null);
}

/** The dialog's line for a refusal (the server's words, or a Problem found before sending). */
function dialogError(id) {
  return h('div', { class: 'error-text dlg-error', id, role: 'alert' });
}

function editAgent(a, queues, known = []) {
  const m = modal({ title: a ? `Edit ${a.display_name}` : 'Add agent', id: 'agent-dialog', wide: true });
  const i = {
    username: h('input', { type: 'text', id: 'ag-username', value: a?.username || '', disabled: !!a }),
    display_name: h('input', { type: 'text', id: 'ag-name', value: a?.display_name || '' }),
    role: h('select', { id: 'ag-role' }, ['agent', 'supervisor', 'admin'].map((r) => h('option', { value: r, text: r }))),
    password: h('input', { type: 'password', id: 'ag-password', autocomplete: 'new-password', placeholder: a ? 'unchanged' : '' }),
    max_concurrent: h('input', { type: 'number', id: 'ag-max', min: '1', max: '50', value: String(a?.max_concurrent ?? 3) }),
    can_reject: h('input', { type: 'checkbox', id: 'ag-reject', checked: a ? a.can_reject : true }),
    auto_pop: h('input', { type: 'checkbox', id: 'ag-autopop', checked: a ? a.auto_multi_match_pop : true }),
  };
  i.role.value = a?.role || 'agent';
  const qboxes = queues.map((q) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(q.id), checked: !!a && a.queues.includes(q.id) }), q.name));
  const skills = skillsEditor({ id: 'ag-skills', items: a?.skills || [], suggestions: known, empty: 'No skills yet.' });
  m.body.append(
    h('div', { class: 'grid2' }, field('ag-username', 'Username', i.username), field('ag-name', 'Display name', i.display_name)),
    h('div', { class: 'grid2' }, field('ag-role', 'Role', i.role), field('ag-max', 'Capacity (conversations at once)', i.max_concurrent)),
    field('ag-password', 'Password', i.password, a ? 'Leave empty to keep the password.' : 'At least 8 characters.'),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'ag-reject' }, i.can_reject, 'May reject requests')),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'ag-autopop' }, i.auto_pop, 'Pop the first CRM match automatically')),
    h('fieldset', { class: 'field' }, h('legend', { text: 'Queues' }), h('div', { class: 'members' }, qboxes.length ? qboxes : h('span', { class: 'muted', text: 'No queues yet.' }))),
    h('fieldset', { class: 'field group' }, h('legend', { text: 'Skills' }),
      h('p', { class: 'hint', text: 'Levels 1 to 10. A queue that requires a skill offers only to members who have it at its minimum level or above.' }),
      skills.el));
  const err = dialogError('agent-dialog-error');
  const save = h('button', { class: 'btn primary', type: 'button', text: 'Save' });
  m.foot.append(err, h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: m.close } }), save);
  save.addEventListener('click', async () => {
    err.textContent = '';
    let skillList;
    try { skillList = skills.read(); } catch (e) {
      if (!(e instanceof Problem)) throw e;
      err.textContent = e.message;
      e.el?.focus();
      return;
    }
    const body = {
      skills: skillList,
      display_name: i.display_name.value.trim() || undefined,
      role: i.role.value,
      max_concurrent: Number(i.max_concurrent.value),
      can_reject: i.can_reject.checked,
      auto_multi_match_pop: i.auto_pop.checked,
      queues: qboxes.map((l) => l.querySelector('input')).filter((c) => c.checked).map((c) => Number(c.value)),
    };
    if (i.password.value) body.password = i.password.value;
    if (!a) body.username = i.username.value.trim();
    if (a && a.id === user.id) delete body.role;
    try {
      await api(a ? 'PATCH' : 'POST', a ? `/api/v1/agents/${a.id}` : '/api/v1/agents', body);
      m.close();
      toast('Saved.');
      go('agents');
    } catch (e) {
      err.textContent = e.message || 'Something went wrong.';
      skills.inputFor(e.message, 'skills')?.focus();
    }
  });
  m.dialog.showModal();
}

async function del(path, name) {
  if (!window.confirm(`Delete ${name}? Open conversations that use it are interrupted.`)) return;
  try {
    await api('DELETE', path);
    toast('Deleted.');
    go(current);
  } catch (e) { fail(e); }
}

// ---------------------------------------------------------------- queues

async function renderQueues() {
  const [queuesR, agentsR] = await Promise.all([api('GET', '/api/v1/queues'), api('GET', '/api/v1/agents')]);
  const queues = Array.isArray(queuesR) ? queuesR : queuesR.items || [];
  const agents = Array.isArray(agentsR) ? agentsR : agentsR.items || [];
  const aname = (id) => agents.find((x) => x.id === id)?.display_name || `#${id}`;
  replace(main, card('Queues', h('button', { class: 'btn primary', type: 'button', text: 'Add queue', on: { click: () => editQueue(null, agents, queues) } }),
    table([{ label: 'Name' }, { label: 'Offer timeout', num: true }, { label: 'Wrap-up', num: true }, { label: 'Alerts (warn / critical)', num: true }, { label: 'Strategy' }, { label: 'Disposition codes' }, { label: 'CSAT' }, { label: 'Hours' }, { label: 'Overflow' }, { label: 'Members' }, { label: '' }],
      queues.map((q) => h('tr', { dataset: { queue: q.name } },
        td(q.name), td(`${q.offer_timeout_secs} s`, 'num'), td(`${q.wrap_up_secs} s`, 'num'),
        td(`${q.alert_warn_secs} s / ${q.alert_critical_secs} s`, 'num'), td(q.strategy.replace('_', ' ')),
        td(`${q.disposition_codes.map((c) => c.label).join(', ') || '—'}${q.disposition_required ? ' (required)' : ''}`),
        h('td', { class: 'csat-cell' }, q.csat_enabled
          ? h('span', { class: 'chip green', title: q.csat_question || '', text: `On · ${q.csat_timeout_hours ?? 24} h` })
          : h('span', { class: 'chip', text: 'Off' })),
        h('td', { class: 'hours-cell', title: hoursDetail(q.hours ?? null), text: hoursSummary(q.hours ?? null) }),
        td(overflowText(q, queues) || '—', 'overflow-cell'),
        td(q.members.map(aname).join(', ') || '—'),
        h('td', { class: 'num actions' },
          h('button', { class: 'btn small', type: 'button', text: 'Edit', 'aria-label': `Edit ${q.name}`, on: { click: () => editQueue(q, agents, queues) } }), ' ',
          h('button', { class: 'btn small', type: 'button', text: 'Delete', 'aria-label': `Delete ${q.name}`, on: { click: () => del(`/api/v1/queues/${q.id}`, q.name) } })))))));
}

function editQueue(q, agents, queues) {
  const m = modal({ title: q ? `Edit ${q.name}` : 'Add queue', id: 'queue-dialog', wide: true });
  m.dialog.style.width = '720px';
  const num = (id, v, min, max) => h('input', { type: 'number', id, value: String(v), min: String(min), max: String(max) });
  const i = {
    name: h('input', { type: 'text', id: 'q-name', value: q?.name || '' }),
    offer: num('q-offer', q?.offer_timeout_secs ?? 30, 5, 600),
    wrap: num('q-wrap', q?.wrap_up_secs ?? 60, 0, 3600),
    warn: num('q-warn', q?.alert_warn_secs ?? 60, 1, 86400),
    crit: num('q-crit', q?.alert_critical_secs ?? 180, 1, 86400),
    sl: num('q-sl', q?.service_level_secs ?? 60, 1, 86400),
    strategy: h('select', { id: 'q-strategy' },
      [['longest_idle', 'Longest idle'], ['least_busy', 'Least busy'], ['round_robin', 'Round robin']].map(([v, l]) => h('option', { value: v, text: l }))),
    required: h('input', { type: 'checkbox', id: 'q-required', checked: !!q?.disposition_required }),
    csat: h('input', { type: 'checkbox', id: 'q-csat', checked: !!q?.csat_enabled }),
    csatQuestion: h('textarea', {
      id: 'q-csat-question', rows: '2', maxlength: '1024',
      value: q?.csat_question ?? 'How would you rate your conversation with us?',
    }),
    csatHours: num('q-csat-timeout', q?.csat_timeout_hours ?? 24, 1, 168),
  };
  const csatBox = h('fieldset', { class: 'field csat-fields' },
    h('legend', { text: 'Customer satisfaction (CSAT)' }),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'q-csat' }, i.csat, 'Ask the customer to rate the conversation when it ends'),
      h('div', { class: 'hint', text: 'A WhatsApp list with the ratings 1 to 5, sent when a conversation closes inside the 24-hour window. The score shows on the call log.' })),
    h('div', { class: 'csat-detail' },
      field('q-csat-question', 'Question', i.csatQuestion, 'Up to 1024 characters.'),
      field('q-csat-timeout', 'Answers count for (hours)', i.csatHours, '1 to 168 hours after the question is sent.')));
  const syncCsat = () => { csatBox.classList.toggle('off', !i.csat.checked); };
  i.csat.addEventListener('change', syncCsat);
  syncCsat();
  i.strategy.value = q?.strategy || 'longest_idle';
  const codes = h('div', { class: 'code-rows' });
  const addCode = (c = { code: '', label: '' }) => {
    const n = codes.children.length + 1;
    const row = h('div', { class: 'row' },
      h('input', { type: 'text', class: 'code', value: c.code, placeholder: 'code', 'aria-label': `Code ${n}` }),
      h('input', { type: 'text', class: 'label', value: c.label, placeholder: 'Label', 'aria-label': `Label ${n}` }),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Remove code ${n}`, text: '×', on: { click: () => row.remove() } }));
    codes.appendChild(row);
  };
  (q?.disposition_codes || []).forEach(addCode);
  const members = agents.map((a) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(a.id), checked: !!q && q.members.includes(a.id) }), a.display_name));
  const routing = queueRoutingFields(q, { queues, suggestions: skillNames(agents) });
  const general = h('div', {},
    field('q-name', 'Name', i.name),
    h('div', { class: 'grid2' }, field('q-offer', 'Offer timeout (seconds)', i.offer, '5 to 600'), field('q-wrap', 'Wrap-up time (seconds)', i.wrap, '0 to 3600')),
    h('div', { class: 'grid2' }, field('q-warn', 'Warn alert after (seconds)', i.warn), field('q-crit', 'Critical alert after (seconds)', i.crit)),
    h('div', { class: 'grid2' }, field('q-strategy', 'Routing strategy', i.strategy),
      field('q-sl', 'Service level target (seconds)', i.sl, 'Accepted within this many seconds counts as in service level (reports).')),
    h('fieldset', { class: 'field' }, h('legend', { text: 'Disposition codes' }), codes,
      h('button', { type: 'button', class: 'btn small', text: 'Add code', on: { click: () => addCode() } })),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'q-required' }, i.required, 'A disposition code is required at wrap-up')),
    csatBox,
    h('fieldset', { class: 'field' }, h('legend', { text: 'Members' }), h('div', { class: 'members' }, members)));
  const tabs = queueTabs([
    { id: 'general', label: 'General', el: general },
    { id: 'routing', label: 'Routing', el: routing.routing },
    { id: 'hours', label: 'Business hours', el: routing.hours },
    { id: 'overflow', label: 'Overflow', el: routing.overflow },
  ]);
  m.body.append(tabs.el);
  const err = dialogError('queue-dialog-error');
  const refuse = (message, el) => {
    err.textContent = message;
    if (!el) return;
    tabs.reveal(el);
    el.focus();
    el.setAttribute('aria-invalid', 'true');
    el.addEventListener('input', () => el.removeAttribute('aria-invalid'), { once: true });
  };
  const save = h('button', { class: 'btn primary', type: 'button', text: 'Save' });
  m.foot.append(err, h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: m.close } }), save);
  save.addEventListener('click', async () => {
    err.textContent = '';
    let depth;
    try { depth = routing.read(); } catch (e) {
      if (!(e instanceof Problem)) throw e;
      refuse(e.message, e.el);
      return;
    }
    const body = {
      ...depth,
      name: i.name.value.trim(),
      offer_timeout_secs: Number(i.offer.value),
      wrap_up_secs: Number(i.wrap.value),
      alert_warn_secs: Number(i.warn.value),
      alert_critical_secs: Number(i.crit.value),
      service_level_secs: Number(i.sl.value),
      strategy: i.strategy.value,
      disposition_required: i.required.checked,
      disposition_codes: [...codes.children].map((r) => ({ code: r.querySelector('.code').value.trim(), label: r.querySelector('.label').value.trim() })).filter((c) => c.code || c.label),
      members: members.map((l) => l.querySelector('input')).filter((c) => c.checked).map((c) => Number(c.value)),
      csat_enabled: i.csat.checked,
      csat_question: i.csatQuestion.value.trim(),
      csat_timeout_hours: Number(i.csatHours.value),
    };
    if (!body.csat_question) { refuse('Write the CSAT question (it is sent when CSAT is on).', i.csatQuestion); return; }
    if (!Number.isInteger(body.csat_timeout_hours) || body.csat_timeout_hours < 1 || body.csat_timeout_hours > 168) {
      refuse('The CSAT answer time is 1 to 168 hours.', i.csatHours); return;
    }
    save.disabled = true;
    try {
      await api(q ? 'PATCH' : 'POST', q ? `/api/v1/queues/${q.id}` : '/api/v1/queues', body);
      m.close();
      toast('Saved.');
      go('queues');
    } catch (e) {
      const el = routing.inputFor(e.message);
      refuse(e.message || 'Something went wrong.', el);
      const tab = el ? null : tabOfMessage(e.message);
      if (tab) tabs.show(tab);
    } finally {
      save.disabled = false;
    }
  });
  m.dialog.showModal();
}

// ---------------------------------------------------------------- channels

async function renderChannels() {
  const [chR, queuesR] = await Promise.all([api('GET', '/api/v1/channels'), api('GET', '/api/v1/queues')]);
  const channels = Array.isArray(chR) ? chR : chR.items || [];
  const queues = Array.isArray(queuesR) ? queuesR : queuesR.items || [];
  const qname = (id) => queues.find((q) => q.id === id)?.name || `#${id}`;
  replace(main, card('WhatsApp channels', h('button', { class: 'btn primary', type: 'button', text: 'Add channel', on: { click: () => editChannel(null, queues) } }),
    table([{ label: 'Name' }, { label: 'Business number' }, { label: 'Phone number id' }, { label: 'Queue' }, { label: 'Own app secret' }, { label: 'Templates' }, { label: '' }],
      channels.map((c) => h('tr', { dataset: { channel: c.id } },
        td(c.name), td(c.display_phone_number), td(c.phone_number_id), td(qname(c.queue_id)), td(c.has_app_secret ? 'Yes' : 'No'),
        h('td', { class: 'sync-cell' }, syncSummary(c)),
        h('td', { class: 'num' },
          h('button', { class: 'btn small', type: 'button', text: 'Templates', 'aria-label': `Templates of ${c.name}`, on: { click: () => showTemplates(c) } }), ' ',
          h('button', { class: 'btn small', type: 'button', text: 'Edit', 'aria-label': `Edit ${c.name}`, on: { click: () => editChannel(c, queues) } }), ' ',
          h('button', { class: 'btn small', type: 'button', text: 'Delete', 'aria-label': `Delete ${c.name}`, on: { click: () => del(`/api/v1/channels/${c.id}`, c.name) } })))))),
  h('p', { class: 'muted small', text: 'Point the WhatsApp webhook of your Meta app at /webhooks/whatsapp on this server. Access tokens and app secrets are write-only.' }));
}

function editChannel(c, queues) {
  const m = modal({ title: c ? `Edit ${c.name}` : 'Add channel', id: 'channel-dialog' });
  const i = {
    name: h('input', { type: 'text', id: 'ch-name', value: c?.name || '' }),
    pnid: h('input', { type: 'text', id: 'ch-pnid', value: c?.phone_number_id || '', inputmode: 'numeric' }),
    display: h('input', { type: 'text', id: 'ch-display', value: c?.display_phone_number || '' }),
    queue: h('select', { id: 'ch-queue' }, queues.map((q) => h('option', { value: String(q.id), text: q.name }))),
    token: h('input', { type: 'password', id: 'ch-token', autocomplete: 'off', placeholder: c ? 'unchanged' : '' }),
    secret: h('input', { type: 'password', id: 'ch-secret', autocomplete: 'off', placeholder: c ? (c.has_app_secret ? 'unchanged' : 'not set') : 'optional' }),
    verify: h('input', { type: 'text', id: 'ch-verify', value: c?.verify_token || '' }),
    waba: h('input', { type: 'text', id: 'ch-waba', value: c?.waba_id || '', inputmode: 'numeric', autocomplete: 'off' }),
  };
  if (c) i.queue.value = String(c.queue_id);
  m.body.append(field('ch-name', 'Name', i.name),
    h('div', { class: 'grid2' }, field('ch-pnid', 'Phone number id', i.pnid), field('ch-display', 'Business number', i.display)),
    field('ch-queue', 'Routes to queue', i.queue),
    field('ch-token', 'Access token', i.token, 'Write-only.'),
    field('ch-secret', 'App secret', i.secret, 'Write-only; overrides the server-wide app secret for webhook signatures.'),
    field('ch-verify', 'Verify token', i.verify),
    field('ch-waba', 'WhatsApp Business Account id', i.waba, 'Digits, from WhatsApp Manager. Needed to sync the message templates; leave empty to clear.'));
  const save = h('button', { class: 'btn primary', type: 'button', text: 'Save' });
  m.foot.append(h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: m.close } }), save);
  save.addEventListener('click', async () => {
    const body = { name: i.name.value.trim(), phone_number_id: i.pnid.value.trim(), display_phone_number: i.display.value.trim(), queue_id: Number(i.queue.value) };
    if (i.token.value) body.access_token = i.token.value;
    if (i.secret.value) body.app_secret = i.secret.value;
    body.verify_token = i.verify.value.trim() || null;
    const waba = i.waba.value.trim();
    if (waba && !/^\d+$/.test(waba)) { toast('The WhatsApp Business Account id is digits only.', 'error'); i.waba.focus(); return; }
    if (waba) body.waba_id = waba;
    else if (c && c.waba_id) body.waba_id = null;
    try {
      await api(c ? 'PATCH' : 'POST', c ? `/api/v1/channels/${c.id}` : '/api/v1/channels', body);
      m.close();
      toast('Saved.');
      go('channels');
    } catch (e) { fail(e); }
  });
  m.dialog.showModal();
}

/** The channel's template sync state in a line: last sync, or why it failed. */
function syncSummary(c) {
  if (c.templates_sync_error) {
    return h('span', { class: 'chip red', title: c.templates_sync_error, text: 'Sync failed' });
  }
  if (c.templates_synced_at) return h('span', { class: 'muted small', title: dateTime(c.templates_synced_at), text: `Synced ${dateTime(c.templates_synced_at)}` });
  if (!c.waba_id) return h('span', { class: 'muted small', text: 'No WABA id' });
  return h('span', { class: 'muted small', text: 'Not synced yet' });
}

/** The channel's message templates (R23): status, category, reason; Sync asks Meta now. */
async function showTemplates(c) {
  const m = modal({ title: `Templates — ${c.name}`, id: 'templates-dialog', wide: true });
  m.dialog.style.width = '920px';
  let items = [];
  let syncedAt = c.templates_synced_at || null;
  let syncError = c.templates_sync_error || null;
  let changed = false;
  const state = h('div', { class: 'sync-state', id: 'templates-sync-state', role: 'status' });
  const syncBtn = h('button', { type: 'button', class: 'btn primary', id: 'templates-sync' }, icon('refresh', 15), 'Sync now');
  const search = h('input', { type: 'search', id: 'templates-search', placeholder: 'Search by name or text', 'aria-label': 'Search templates' });
  const statusSel = h('select', { id: 'templates-status', 'aria-label': 'Status' },
    h('option', { value: '', text: 'Every status' }), h('option', { value: 'APPROVED', text: 'Approved' }),
    h('option', { value: 'other', text: 'Not approved' }));
  const box = h('div', { id: 'templates-table' });
  m.body.append(
    h('div', { class: 'row', style: null }, state, h('span', { class: 'spacer' }), syncBtn),
    h('div', { class: 'row', style: null }, search, statusSel),
    box,
    h('p', { class: 'muted small', text: 'Templates are created and approved in WhatsApp Manager. Switchboard keeps them in step every hour, on Meta\u2019s status webhooks and when you sync.' }));
  [...m.body.children].slice(0, 2).forEach((r) => { r.style.marginBottom = '10px'; });
  statusSel.style.width = '180px';
  m.foot.append(h('button', { type: 'button', class: 'btn', text: 'Close', on: { click: m.close } }));
  m.dialog.addEventListener('close', () => { if (changed && current === 'channels') go('channels'); });

  function drawState() {
    replace(state,
      syncedAt ? h('span', { id: 'templates-synced-at', text: `Last synced ${dateTime(syncedAt)}` })
        : h('span', { class: 'muted', id: 'templates-synced-at', text: c.waba_id ? 'Not synced from Meta yet.' : 'No WhatsApp Business Account id: set it with Edit to sync from Meta.' }),
      syncError ? h('span', { class: 'error-text', id: 'templates-sync-error', text: `Last sync failed: ${syncError}` }) : null);
  }
  function draw() {
    const q = search.value.trim().toLowerCase();
    const st = statusSel.value;
    const rows = items.filter((t) => {
      const status = String(t.status || '').toUpperCase();
      if (st === 'APPROVED' && status !== 'APPROVED') return false;
      if (st === 'other' && status === 'APPROVED') return false;
      if (!q) return true;
      const pv = t.preview || {};
      return [t.name, t.language, t.category, pv.header, pv.body, pv.footer].filter(Boolean).join('\n').toLowerCase().includes(q);
    });
    const trs = [];
    for (const t of rows) {
      const body = (t.preview && (t.preview.body || t.preview.header)) || '';
      const detail = h('tr', { class: 'tpl-detail', hidden: true },
        h('td', { colspan: '6' }, h('div', { class: 'row', style: null }, h('div', { class: 'tpl-preview-phone', style: null }, previewBubble(t, paramFields(t))))));
      const toggle = h('button', {
        type: 'button', class: 'btn small', text: 'Preview', 'aria-expanded': 'false', 'aria-label': `Preview ${t.name} (${t.language})`,
        on: { click: () => { detail.hidden = !detail.hidden; toggle.setAttribute('aria-expanded', String(!detail.hidden)); } },
      });
      trs.push(h('tr', { dataset: { template: t.name, language: t.language } },
        h('td', {}, h('span', { class: 'tpl-name', text: t.name }), body ? h('div', { class: 'tpl-body-line', title: body, text: body }) : null),
        td(t.language), td(statusLabel(t.category || '')),
        h('td', { class: 'tpl-status-cell' }, statusChip(t.status)),
        td(t.rejected_reason ? humanReason(t.rejected_reason) : '—', t.rejected_reason ? 'tpl-reason' : 'muted'),
        h('td', { class: 'num' }, toggle)));
      trs.push(detail);
    }
    replace(box, h('div', { class: 'tpl-table' }, table([{ label: 'Name' }, { label: 'Language' }, { label: 'Category' }, { label: 'Status' }, { label: 'Reason' }, { label: '' }],
      trs, items.length ? 'No template matches.' : 'No templates on this channel yet.')));
  }
  search.addEventListener('input', draw);
  statusSel.addEventListener('change', draw);
  syncBtn.addEventListener('click', async () => {
    syncBtn.disabled = true;
    const label = syncBtn.lastChild;
    label.textContent = 'Syncing…';
    try {
      const r = await api('POST', `/api/v1/channels/${c.id}/templates/sync`);
      items = (r && r.items) || [];
      syncedAt = (r && r.synced_at) || new Date().toISOString();
      syncError = null;
      changed = true;
      drawState();
      draw();
      toast(`Templates synced: ${items.length}.`);
    } catch (e) {
      syncError = e.code === 'no_waba_id' ? 'this channel has no WhatsApp Business Account id: set it with Edit first.' : e.message;
      changed = true;
      drawState();
    } finally {
      syncBtn.disabled = false;
      label.textContent = 'Sync now';
    }
  });
  drawState();
  replace(box, h('p', { class: 'muted', text: 'Loading…' }));
  m.dialog.showModal();
  try {
    items = await loadTemplates(c.id);
    draw();
  } catch (e) {
    replace(box, h('p', { class: 'error-text', text: e.message }));
  }
}

// ---------------------------------------------------------------- contacts

async function renderContacts() {
  const q = h('input', { type: 'search', id: 'contact-search', placeholder: 'Search by name, phone, email or company', 'aria-label': 'Search contacts' });
  const box = h('div');
  replace(main, card('Contacts', h('div', { class: 'row' }, q, h('button', { class: 'btn primary', type: 'button', text: 'Add contact', on: { click: () => editContact(null) } })), box));
  const load = async () => {
    try {
      const r = await api('GET', `/api/v1/contacts${q.value.trim() ? `?q=${encodeURIComponent(q.value.trim())}` : ''}`);
      const list = Array.isArray(r) ? r : r.items || [];
      replace(box, table([{ label: 'Name' }, { label: 'Phones' }, { label: 'WhatsApp user ids' }, { label: 'Email' }, { label: 'Company' }, { label: 'Priority' }, { label: 'Updated' }, { label: '' }],
        list.map((c) => h('tr', { dataset: { contact: c.id } },
          td([c.first_name, c.last_name].filter(Boolean).join(' ')), td((c.phones || []).join(', ')), td((c.whatsapp_user_ids || []).join(', ')), td(c.email || ''), td(c.company || ''),
          h('td', { class: 'priority-cell' }, c.priority === null || c.priority === undefined ? '' : h('span', {
            class: 'chip prio', title: 'Their conversations get at least this priority (0 to 9, higher first)', text: `P${c.priority}`,
          })),
          td(dateTime(c.updated_at)),
          h('td', { class: 'num' },
            h('button', {
              class: 'btn small', type: 'button', text: 'New conversation', 'aria-haspopup': 'dialog',
              'aria-label': `New conversation with ${[c.first_name, c.last_name].filter(Boolean).join(' ') || 'this contact'}`,
              on: { click: () => newConversation(c) },
            }), ' ',
            h('button', { class: 'btn small', type: 'button', text: 'Edit', on: { click: () => editContact(c) } }), ' ',
            h('button', { class: 'btn small', type: 'button', text: 'Delete', on: { click: () => del(`/api/v1/contacts/${c.id}`, 'this contact') } })))), 'No contacts.'));
    } catch (e) {
      replace(box, h('div', { class: 'card-body muted', text: e.status === 404 ? 'The CRM is not available in this build yet.' : e.message }));
    }
  };
  let t = null;
  q.addEventListener('input', () => { clearTimeout(t); t = setTimeout(load, 250); });
  await load();
}

/**
 * The channels the user may write from: all of them for an admin; a supervisor (who may
 * not list channels) gets those of the recent conversations.
 */
async function writableChannels() {
  try {
    const r = await api('GET', '/api/v1/channels');
    return Array.isArray(r) ? r : r.items || [];
  } catch (e) {
    if (e.status !== 403) throw e;
    const r = await api('GET', '/api/v1/interactions?limit=200');
    const seen = new Map();
    for (const i of r.items || []) {
      if (i.channel_id !== undefined && !seen.has(i.channel_id)) seen.set(i.channel_id, { id: i.channel_id, name: i.source_number, display_phone_number: null });
    }
    return [...seen.values()];
  }
}

async function newConversation(c) {
  let channels;
  try { channels = await writableChannels(); } catch (e) { fail(e); return; }
  openNewConversation({
    channels,
    channelId: channels[0]?.id,
    contact: c,
    onCreated: (created) => {
      const who = created.customer?.name || created.customer?.phone || 'the customer';
      toast(`Conversation started with ${who}: it is yours on the agent desktop. Keep the desktop open, or it goes to the queue after the reconnect grace.`);
    },
  });
}

function editContact(c) {
  const m = modal({ title: c ? 'Edit contact' : 'Add contact', id: 'contact-dialog' });
  const inp = (id, v, type = 'text') => h('input', { type, id, value: v || '' });
  const i = {
    first: inp('ct-first', c?.first_name), last: inp('ct-last', c?.last_name),
    phones: inp('ct-phones', (c?.phones || []).join(', ')), userIds: inp('ct-user-ids', (c?.whatsapp_user_ids || []).join(', ')),
    email: inp('ct-email', c?.email, 'email'),
    company: inp('ct-company', c?.company), notes: h('textarea', { id: 'ct-notes', rows: '3', value: c?.notes || '' }),
    priority: h('input', {
      type: 'number', id: 'ct-priority', min: '0', max: '9', step: '1', placeholder: 'none', 'aria-describedby': 'ct-priority-hint',
      value: c?.priority === null || c?.priority === undefined ? '' : String(c.priority),
    }),
  };
  m.body.append(h('div', { class: 'grid2' }, field('ct-first', 'First name', i.first), field('ct-last', 'Last name', i.last)),
    field('ct-phones', 'Phones', i.phones, 'Separate several numbers with commas.'),
    field('ct-user-ids', 'WhatsApp user ids', i.userIds, 'Business-scoped user ids, like US.13491208655302741918; separate several with commas.'),
    field('ct-email', 'Email', i.email), field('ct-company', 'Company', i.company), field('ct-notes', 'Notes', i.notes),
    h('div', { class: 'grid2' }, h('div', { class: 'field' }, h('label', { for: 'ct-priority', text: 'Priority' }), i.priority,
      h('div', { class: 'hint', id: 'ct-priority-hint', text: '0 to 9; empty: none. Their conversations are served at least at this priority (VIPs).' }))));
  const err = dialogError('contact-dialog-error');
  const save = h('button', { class: 'btn primary', type: 'button', text: 'Save' });
  m.foot.append(err, h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: m.close } }), save);
  save.addEventListener('click', async () => {
    err.textContent = '';
    const list = (el) => el.value.split(',').map((s) => s.trim()).filter(Boolean);
    const prio = i.priority.value.trim();
    if (prio !== '' && !/^[0-9]$/.test(prio)) { err.textContent = 'Priority: a whole number from 0 to 9, or empty for none.'; i.priority.focus(); return; }
    const body = {
      first_name: i.first.value.trim(), last_name: i.last.value.trim(),
      phones: list(i.phones), whatsapp_user_ids: list(i.userIds),
      email: i.email.value.trim() || null, company: i.company.value.trim() || null, notes: i.notes.value.trim() || null,
      priority: prio === '' ? null : Number(prio),
    };
    if (c) {
      // Only what was edited is sent: an external CRM keeps the rest as it was written there.
      const same = (a, b) => a.join('\n') === (b || []).join('\n');
      if (same(body.phones, c.phones)) delete body.phones;
      if (same(body.whatsapp_user_ids, c.whatsapp_user_ids)) delete body.whatsapp_user_ids;
      for (const k of ['first_name', 'last_name', 'email', 'company', 'notes']) {
        if ((body[k] || null) === (c[k] || null)) delete body[k];
      }
      if (body.priority === (c.priority ?? null)) delete body.priority;
    } else if (body.priority === null) {
      delete body.priority;
    }
    try {
      await api(c ? 'PATCH' : 'POST', c ? `/api/v1/contacts/${c.id}` : '/api/v1/contacts', body);
      m.close();
      toast('Saved.');
      go('contacts');
    } catch (e) { err.textContent = e.message || 'Something went wrong.'; }
  });
  m.dialog.showModal();
}

// ---------------------------------------------------------------- settings

async function renderSettings() {
  const s = await api('GET', '/api/v1/settings');
  const masking = h('input', { type: 'checkbox', id: 'set-masking', checked: s.masking_enabled });
  const noAnswer = h('select', { id: 'set-noanswer' },
    h('option', { value: 'on_break', text: 'On Break (like 8x8)' }), h('option', { value: 'rona', text: 'RONA (like Webex)' }));
  noAnswer.value = s.no_answer_status;
  const save = h('button', { class: 'btn primary', type: 'button', id: 'set-save', text: 'Save settings' });
  save.addEventListener('click', async () => {
    try {
      await api('PATCH', '/api/v1/settings', { masking_enabled: masking.checked, no_answer_status: noAnswer.value });
      toast('Settings saved; they apply at once.');
    } catch (e) { fail(e); }
  });
  replace(main, card('Settings', null, h('div', { class: 'card-body' },
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'set-masking' }, masking, 'Mask sensitive customer data on the agent desktop'),
      h('div', { class: 'hint', text: 'Phone numbers, e-mail addresses, card numbers, IBANs and social security numbers are masked in everything sent to agents. Stored data stays complete.' })),
    field('set-noanswer', 'Status after a missed or rejected request', noAnswer),
    save)));
}
