// The Reports page (SPEC 8.8), for supervisors and admins: a period, then per queue and per
// agent the conversations per hour, the service level, wait and handle times, abandoned and
// transferred conversations, dispositions, customer satisfaction and billable messages, as
// charts (Chart.js, vendored in vendor/) and tables, with the server's CSV exports.
// Every value from the server is set with textContent; every chart has a text alternative.

import { h, replace, api, session, duration, toast } from '../common.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const COLORS = {
  primary: '#1f64d6', green: '#178a4c', amber: '#b86e00', red: '#c7302b', grey: '#8a94a3', violet: '#7d5bb3',
  line: '#dde2ea', text: '#5d6878',
};
const SCORE_COLORS = ['#c7302b', '#d9622b', '#b86e00', '#5f9b3f', '#178a4c'];

let generation = 0;
let charts = [];
// The period picked last, kept while the page is left and opened again.
let period = { kind: 'today', from: '', to: '' };

/** Renders the Reports page into `main` (the admin pages' tab panel). */
export async function renderReports(main) {
  const gen = ++generation;
  destroyCharts();
  const live = () => gen === generation && main.isConnected && main.getAttribute('aria-labelledby') === 'tab-reports';

  const kind = h('select', { id: 'rep-period' },
    h('option', { value: 'today', text: 'Today' }), h('option', { value: 'yesterday', text: 'Yesterday' }),
    h('option', { value: 'last7', text: 'Last 7 days' }), h('option', { value: 'custom', text: 'Custom dates' }));
  kind.value = period.kind;
  const from = h('input', { type: 'date', id: 'rep-from', value: period.from || isoDay(new Date(Date.now() - 6 * DAY_MS)) });
  const to = h('input', { type: 'date', id: 'rep-to', value: period.to || isoDay(new Date()) });
  const custom = h('div', { class: 'row', id: 'rep-custom' },
    field('rep-from', 'From', from), field('rep-to', 'To (included)', to));
  const apply = h('button', { class: 'btn primary', type: 'submit', id: 'rep-apply', text: 'Show' });
  const shown = h('p', { class: 'muted small', id: 'rep-range', role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'report-period', 'aria-label': 'Report period' },
    field('rep-period', 'Period', kind), custom, apply);
  const syncCustom = () => { custom.hidden = kind.value !== 'custom'; };
  syncCustom();
  const body = h('div', { id: 'rep-body' });
  replace(main,
    h('section', { class: 'card', 'aria-labelledby': 'rep-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'rep-title', text: 'Reports' }), shown),
      h('div', { class: 'card-body' }, form)),
    body);

  const load = async () => {
    let range;
    try {
      range = rangeOf(kind.value, from.value, to.value);
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
    period = { kind: kind.value, from: from.value, to: to.value };
    apply.disabled = true;
    shown.textContent = `Loading ${describe(range)}…`;
    try {
      const q = `from=${encodeURIComponent(range.from.toISOString())}&to=${encodeURIComponent(range.to.toISOString())}`;
      const [queues, agents, intervals] = await Promise.all([
        api('GET', `/api/v1/reports/queues?${q}`),
        api('GET', `/api/v1/reports/agents?${q}`),
        api('GET', `/api/v1/reports/intervals?${q}&interval=${range.interval}`),
      ]);
      if (!live()) return;
      destroyCharts();
      const Chart = await loadChart().catch((e) => { toast(e.message, 'error'); return null; });
      if (!live()) return;
      drawReport(body, { range, q, queues, agents, intervals, Chart });
      shown.textContent = `${describe(range)} · ${queues.totals.offered} conversations`;
    } catch (e) {
      if (!live()) return;
      if (e.status === 401) throw e;
      shown.textContent = `Not loaded: ${e.message}`;
      toast(e.message, 'error');
    } finally {
      apply.disabled = false;
    }
  };
  kind.addEventListener('change', () => {
    syncCustom();
    if (kind.value !== 'custom') load();
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  await load();
}

// ---------------------------------------------------------------- period

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function localMidnight(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

function addDays(d, n) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
}

/** The period as `[from, to)` in local days, and the interval its chart is counted by. */
function rangeOf(kind, fromDay, toDay) {
  const today = localMidnight(new Date());
  let from;
  let to;
  if (kind === 'yesterday') { from = addDays(today, -1); to = today; }
  else if (kind === 'last7') { from = addDays(today, -6); to = addDays(today, 1); }
  else if (kind === 'custom') {
    const parse = (v, what) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v || '');
      if (!m) throw new Error(`Choose the ${what} date.`);
      return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    };
    from = parse(fromDay, 'first');
    to = addDays(parse(toDay, 'last'), 1);
    if (to <= from) throw new Error('The last date must not be before the first.');
    if (to - from > 366 * DAY_MS + 2 * 3600 * 1000) throw new Error('A report covers at most 366 days.');
  } else { from = today; to = addDays(today, 1); }
  // By the hour up to a week (168 bars), by the day beyond.
  const interval = to - from <= 7 * DAY_MS + 2 * 3600 * 1000 ? 'hour' : 'day';
  return { kind, from, to, interval };
}

function describe(range) {
  const day = (d) => d.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
  const last = addDays(range.to, -1);
  return range.to - range.from <= DAY_MS + 2 * 3600 * 1000 ? day(range.from) : `${day(range.from)} – ${day(last)}`;
}

// ---------------------------------------------------------------- formatting

const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 10) / 10}%`);
const secs = (v) => (v === null || v === undefined ? '—' : duration(v));
const avg = (v) => (v === null || v === undefined ? '—' : (Math.round(v * 100) / 100).toFixed(2));

function field(id, label, input) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
}

/** A cell: `text` shown, the raw `value` kept in data-value (what the API said). */
function cell(text, value, { num = true, name = null } = {}) {
  const td = h('td', { class: num ? 'num' : null, text });
  if (value !== undefined) td.dataset.value = value === null ? '' : String(value);
  if (name) td.dataset.field = name;
  return td;
}

/**
 * A table with a caption, column headers and a row header per line. columns: [{label, num}];
 * rows: [{head, cells, data}] where cells are <td>s; foot: the same, for totals.
 */
function dataTable({ id, caption, columns, rows, foot = null, empty = 'Nothing in this period.' }) {
  const tr = (r) => h('tr', { dataset: r.data || {} }, h('th', { scope: 'row', text: r.head }), r.cells);
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data', id },
    h('caption', { class: 'visually-hidden', text: caption }),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, text: c.label })))),
    h('tbody', {}, rows.length ? rows.map(tr) : h('tr', {}, h('td', { class: 'muted', colspan: String(columns.length), text: empty }))),
    foot ? h('tfoot', {}, foot.map(tr)) : null));
}

function card(title, id, actions, ...body) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` },
    h('div', { class: 'card-head' }, h('h2', { id: `${id}-title`, text: title }), actions),
    h('div', { class: 'card-body' }, ...body));
}

// ---------------------------------------------------------------- CSV

/** Downloads one of the server's CSV exports with the session's token (fetch, then a blob). */
async function downloadCsv(path, fallbackName) {
  const s = session();
  let res;
  try {
    res = await fetch(path, { headers: s ? { Authorization: `Bearer ${s.token}` } : {} });
  } catch {
    throw new Error('The server cannot be reached.');
  }
  if (!res.ok) {
    let message = '';
    try { message = (await res.json()).error.message; } catch { message = ''; }
    throw new Error(message || `The server answered ${res.status}.`);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '')?.[1] || fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: name });
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function csvButton(id, label, path, name) {
  const btn = h('button', { class: 'btn small', type: 'button', id, 'aria-label': label, text: 'Download CSV' });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      await downloadCsv(path, name);
    } catch (e) {
      toast(`Could not download the CSV: ${e.message}`, 'error');
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

// ---------------------------------------------------------------- charts

let chartLib = null;

/** Chart.js, loaded once from the binary (vendor/chart.umd.min.js), only for this page. */
function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!chartLib) {
    chartLib = new Promise((resolve, reject) => {
      const s = h('script', { src: 'vendor/chart.umd.min.js' });
      s.addEventListener('load', () => (window.Chart ? resolve(window.Chart) : reject(new Error('The chart library did not start.'))));
      s.addEventListener('error', () => { chartLib = null; s.remove(); reject(new Error('The chart library could not be loaded: the tables show the figures.')); });
      document.head.appendChild(s);
    });
  }
  return chartLib;
}

function destroyCharts() {
  for (const c of charts) c.destroy();
  charts = [];
}

/**
 * A chart in a box, with its text alternative: the canvas is an image named by `summary`
 * (the tables beside it carry the figures). Without the library, the summary alone.
 */
function chartBox(Chart, { id, summary, config, tall = false }) {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': summary }, h('p', { text: summary }));
  const box = h('div', { class: `chart-box${tall ? ' tall' : ''}` }, Chart ? canvas : h('p', { class: 'muted small', text: summary }));
  if (Chart) {
    // Drawn once the box is in the page (Chart.js sizes the canvas to its box).
    queueMicrotask(() => {
      if (!canvas.isConnected) return;
      const options = config.options || {};
      charts.push(new Chart(canvas, {
        ...config,
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          ...options,
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, color: COLORS.text } }, ...(options.plugins || {}) },
        },
      }));
    });
  }
  return box;
}

const axis = (title, extra = {}) => ({
  beginAtZero: true, grid: { color: COLORS.line }, ticks: { color: COLORS.text, precision: 0 },
  title: { display: !!title, text: title, color: COLORS.text }, ...extra,
});

// ---------------------------------------------------------------- the report

function drawReport(body, { range, q, queues, agents, intervals, Chart }) {
  const t = queues.totals;
  const queueRows = queues.queues;
  const agentRows = agents.agents;
  const named = (r) => `${r.queue_name}`;

  // Summary tiles for all queues.
  const tile = (key, label, value, sub) => h('div', { class: 'stat', dataset: { stat: key } },
    h('div', {}, h('div', { class: 'v', text: value }), h('div', { class: 'k', text: label }), sub ? h('div', { class: 'sub', text: sub }) : null));
  const answered = t.csat.answered;
  const summary = h('div', { class: 'stats wide', id: 'rep-summary' },
    tile('offered', 'Conversations', String(t.offered), t.outbound ? `+ ${t.outbound} started by agents` : null),
    tile('service_level', 'Service level', pct(t.service_level.percent), `${t.service_level.accepted_within} of ${t.service_level.counted} in time`),
    tile('wait', 'Average wait', secs(t.wait.avg_secs), `p90 ${secs(t.wait.p90_secs)}`),
    tile('handle', 'Average handle time', secs(t.handle.avg_secs), `p90 ${secs(t.handle.p90_secs)}`),
    tile('abandoned', 'Abandoned', String(t.abandoned), `${t.transferred} transferred`),
    tile('csat', 'Customer satisfaction', answered ? `${avg(t.csat.average)} / 5` : '—', `${answered} of ${t.csat.sent} answered`));

  replace(body,
    summary,
    hourlyCard(Chart, { range, q, intervals }),
    queuesCard(Chart, { q, queueRows, t, named }),
    agentsCard(Chart, { q, agentRows }),
    h('div', { class: 'grid2 report-pair' },
      dispositionsCard(Chart, { queueRows, t }),
      csatCard(Chart, { queueRows, agentRows, t })),
    billableCard({ queueRows, t }));
}

function hourlyCard(Chart, { range, q, intervals }) {
  const byHour = intervals.interval === 'hour';
  const manyDays = range.to - range.from > DAY_MS + 2 * 3600 * 1000;
  const label = (iso) => {
    const d = new Date(iso);
    if (!byHour) return d.toLocaleDateString([], { day: 'numeric', month: 'short' });
    const hh = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return manyDays ? `${d.toLocaleDateString([], { weekday: 'short' })} ${hh}` : hh;
  };
  const labels = intervals.starts.map(label);
  const scopes = [
    { key: 'total', name: 'All queues', series: intervals.totals, queue: true },
    ...intervals.queues.map((s) => ({ key: `queue-${s.queue_id}`, name: `Queue: ${s.queue_name}`, series: s, queue: true })),
    ...intervals.agents.map((s) => ({ key: `agent-${s.agent_id}`, name: `Agent: ${s.display_name}`, series: s, queue: false })),
  ];
  const scope = h('select', { id: 'rep-scope', 'aria-label': 'Show conversations of' },
    scopes.map((s) => h('option', { value: s.key, text: s.name })));
  const unit = byHour ? 'hour' : 'day';
  const box = h('div', { id: 'rep-hourly-chart' });
  const tableBox = h('div', { id: 'rep-hourly-table' });
  const draw = () => {
    const s = scopes.find((x) => x.key === scope.value) || scopes[0];
    const old = charts.find((c) => c.canvas && c.canvas.id === 'rep-hourly-canvas');
    if (old) { old.destroy(); charts = charts.filter((c) => c !== old); }
    const ser = s.series;
    const waiting = s.queue ? ser.offered.map((n, k) => Math.max(0, n - ser.accepted[k] - ser.abandoned[k])) : null;
    const total = (v) => v.reduce((a, b) => a + b, 0);
    const busiest = (v) => { const m = Math.max(...v); return m > 0 ? labels[v.indexOf(m)] : null; };
    const counts = s.queue ? ser.offered.map((n, k) => n + ser.outbound[k]) : ser.accepted.map((n, k) => n + ser.outbound[k]);
    const peak = busiest(counts);
    const summaryText = s.queue
      ? `${s.name}: ${total(ser.offered)} conversations from customers and ${total(ser.outbound)} started by agents, per ${unit}${peak ? `; busiest ${unit} ${peak}` : ''}.`
      : `${s.name}: ${total(ser.accepted)} conversations taken and ${total(ser.outbound)} started, per ${unit}${peak ? `; busiest ${unit} ${peak}` : ''}.`;
    const datasets = s.queue ? [
      { type: 'bar', label: 'Accepted', data: ser.accepted, backgroundColor: COLORS.primary, stack: 'n', order: 2 },
      { type: 'bar', label: 'Abandoned', data: ser.abandoned, backgroundColor: COLORS.red, stack: 'n', order: 2 },
      { type: 'bar', label: 'Waiting', data: waiting, backgroundColor: COLORS.grey, stack: 'n', order: 2 },
      { type: 'bar', label: 'Started by agents', data: ser.outbound, backgroundColor: COLORS.violet, stack: 'n', order: 2 },
      { type: 'line', label: 'Service level %', data: ser.service_level_percent, yAxisID: 'sl', borderColor: COLORS.green, backgroundColor: COLORS.green, spanGaps: false, pointRadius: 2, order: 1 },
    ] : [
      { type: 'bar', label: 'Taken', data: ser.accepted, backgroundColor: COLORS.primary, stack: 'n' },
      { type: 'bar', label: 'Started by the agent', data: ser.outbound, backgroundColor: COLORS.violet, stack: 'n' },
    ];
    const scales = {
      x: { stacked: true, grid: { display: false }, ticks: { color: COLORS.text, autoSkip: true, maxRotation: 0 } },
      y: axis('Conversations', { stacked: true }),
    };
    if (s.queue) scales.sl = axis('Service level %', { position: 'right', min: 0, max: 100, grid: { display: false } });
    replace(box, chartBox(Chart, {
      id: 'rep-hourly-canvas', summary: summaryText, tall: true,
      config: { type: 'bar', data: { labels, datasets }, options: { scales, interaction: { mode: 'index', intersect: false } } },
    }));
    const columns = s.queue
      ? [{ label: byHour ? 'Hour' : 'Day' }, { label: 'Conversations', num: true }, { label: 'Accepted', num: true }, { label: 'Abandoned', num: true }, { label: 'Started by agents', num: true }, { label: 'Service level', num: true }]
      : [{ label: byHour ? 'Hour' : 'Day' }, { label: 'Taken', num: true }, { label: 'Started', num: true }];
    const rows = labels.map((l, k) => ({
      head: l,
      data: { start: intervals.starts[k] },
      cells: s.queue
        ? [cell(String(ser.offered[k]), ser.offered[k], { name: 'offered' }), cell(String(ser.accepted[k]), ser.accepted[k], { name: 'accepted' }),
          cell(String(ser.abandoned[k]), ser.abandoned[k], { name: 'abandoned' }), cell(String(ser.outbound[k]), ser.outbound[k], { name: 'outbound' }),
          cell(pct(ser.service_level_percent[k]), ser.service_level_percent[k], { name: 'service_level' })]
        : [cell(String(ser.accepted[k]), ser.accepted[k], { name: 'accepted' }), cell(String(ser.outbound[k]), ser.outbound[k], { name: 'outbound' })],
    })).filter((r, k) => counts[k] > 0);
    replace(tableBox, h('details', { class: 'chart-data' },
      h('summary', { text: `The figures per ${unit} (${rows.length} with conversations)` }),
      dataTable({ id: 'rep-hourly-data', caption: `${s.name}: conversations per ${unit}`, columns, rows })));
  };
  scope.addEventListener('change', draw);
  draw();
  return card(byHour ? 'Conversations per hour' : 'Conversations per day', 'rep-hourly',
    h('div', { class: 'row' }, scope,
      csvButton('rep-csv-intervals', `Download the conversations per ${unit} as CSV`, `/api/v1/reports/intervals?${q}&interval=${intervals.interval}&format=csv`, 'switchboard-intervals.csv')),
    box, tableBox);
}

function queuesCard(Chart, { q, queueRows, t, named }) {
  const withTraffic = queueRows.filter((r) => r.offered + r.outbound > 0);
  const shownQueues = withTraffic.length ? withTraffic : queueRows;
  const slSummary = `Service level by queue: ${shownQueues.map((r) => `${named(r)} ${pct(r.service_level.percent)} within ${r.service_level.threshold_secs} s`).join('; ') || 'no queues'}.`;
  const waitSummary = `Wait before an agent accepted, by queue: ${shownQueues.map((r) => `${named(r)} average ${secs(r.wait.avg_secs)}, p90 ${secs(r.wait.p90_secs)}`).join('; ') || 'no queues'}.`;
  const slChart = chartBox(Chart, {
    id: 'rep-queues-sl', summary: slSummary,
    config: {
      type: 'bar',
      data: {
        labels: shownQueues.map((r) => `${named(r)} (${r.service_level.threshold_secs} s)`),
        datasets: [{ label: 'Service level %', data: shownQueues.map((r) => r.service_level.percent), backgroundColor: COLORS.green }],
      },
      options: { indexAxis: 'y', scales: { x: axis('% accepted within the threshold', { min: 0, max: 100 }), y: { grid: { display: false }, ticks: { color: COLORS.text } } } },
    },
  });
  const waitChart = chartBox(Chart, {
    id: 'rep-queues-wait', summary: waitSummary,
    config: {
      type: 'bar',
      data: {
        labels: shownQueues.map(named),
        datasets: [
          { label: 'Average wait (s)', data: shownQueues.map((r) => r.wait.avg_secs), backgroundColor: COLORS.primary },
          { label: 'p90 wait (s)', data: shownQueues.map((r) => r.wait.p90_secs), backgroundColor: COLORS.amber },
        ],
      },
      options: { scales: { x: { grid: { display: false }, ticks: { color: COLORS.text } }, y: axis('Seconds') } },
    },
  });
  const columns = [
    { label: 'Queue' }, { label: 'Conversations', num: true }, { label: 'Accepted', num: true }, { label: 'Abandoned', num: true },
    { label: 'Transferred', num: true }, { label: 'Started by agents', num: true }, { label: 'Service level', num: true },
    { label: 'Avg wait', num: true }, { label: 'p90 wait', num: true }, { label: 'Avg handle', num: true }, { label: 'p90 handle', num: true },
    { label: 'Avg wrap-up', num: true }, { label: 'Avg first response', num: true }, { label: 'CSAT', num: true },
  ];
  const line = (r) => [
    cell(String(r.offered), r.offered, { name: 'offered' }),
    cell(String(r.accepted), r.accepted, { name: 'accepted' }),
    cell(String(r.abandoned), r.abandoned, { name: 'abandoned' }),
    cell(String(r.transferred), r.transferred, { name: 'transferred' }),
    cell(String(r.outbound), r.outbound, { name: 'outbound' }),
    slCell(r.service_level),
    cell(secs(r.wait.avg_secs), r.wait.avg_secs, { name: 'wait_avg' }),
    cell(secs(r.wait.p90_secs), r.wait.p90_secs, { name: 'wait_p90' }),
    cell(secs(r.handle.avg_secs), r.handle.avg_secs, { name: 'handle_avg' }),
    cell(secs(r.handle.p90_secs), r.handle.p90_secs, { name: 'handle_p90' }),
    cell(secs(r.wrap_up.avg_secs), r.wrap_up.avg_secs, { name: 'wrap_up_avg' }),
    cell(secs(r.first_response.avg_secs), r.first_response.avg_secs, { name: 'first_response_avg' }),
    cell(r.csat.answered ? avg(r.csat.average) : '—', r.csat.average, { name: 'csat_average' }),
  ];
  return card('Queues', 'rep-queues',
    csvButton('rep-csv-queues', 'Download the queue report as CSV', `/api/v1/reports/queues?${q}&format=csv`, 'switchboard-queues.csv'),
    h('div', { class: 'chart-grid' }, slChart, waitChart),
    dataTable({
      id: 'rep-queues-table', caption: 'Queues: conversations, service level, times and satisfaction', columns,
      rows: queueRows.map((r) => ({ head: named(r), data: { queue: String(r.queue_id) }, cells: line(r) })),
      foot: [{ head: 'All queues', data: { queue: 'total' }, cells: line(t) }],
    }),
    h('p', { class: 'muted small', text: 'Service level: conversations accepted within the queue\u2019s threshold, out of those accepted, abandoned after the threshold or still waiting past it. Conversations started by agents are counted apart.' }));
}

function slCell(sl) {
  const td = cell('', sl.percent, { name: 'service_level' });
  td.append(h('span', { text: pct(sl.percent) }),
    h('span', { class: 'muted small sl-detail', text: ` ${sl.accepted_within}/${sl.counted}${sl.threshold_secs ? ` in ${sl.threshold_secs} s` : ''}` }));
  return td;
}

function agentsCard(Chart, { q, agentRows }) {
  const active = agentRows.filter((r) => r.offered + r.outbound > 0);
  const shown = active.length ? active : agentRows;
  const convSummary = `Conversations by agent: ${shown.map((r) => `${r.display_name} ${r.accepted} accepted, ${r.outbound} started`).join('; ') || 'no agents'}.`;
  const handleSummary = `Handle time by agent: ${shown.map((r) => `${r.display_name} average ${secs(r.handle.avg_secs)}, p90 ${secs(r.handle.p90_secs)}`).join('; ') || 'no agents'}.`;
  const convChart = chartBox(Chart, {
    id: 'rep-agents-conv', summary: convSummary,
    config: {
      type: 'bar',
      data: {
        labels: shown.map((r) => r.display_name),
        datasets: [
          { label: 'Accepted', data: shown.map((r) => r.accepted), backgroundColor: COLORS.primary, stack: 'n' },
          { label: 'Started', data: shown.map((r) => r.outbound), backgroundColor: COLORS.violet, stack: 'n' },
          { label: 'Rejected or missed', data: shown.map((r) => r.rejected + r.timed_out), backgroundColor: COLORS.amber, stack: 'n' },
        ],
      },
      options: { scales: { x: { stacked: true, grid: { display: false }, ticks: { color: COLORS.text } }, y: axis('Conversations', { stacked: true }) } },
    },
  });
  const handleChart = chartBox(Chart, {
    id: 'rep-agents-handle', summary: handleSummary,
    config: {
      type: 'bar',
      data: {
        labels: shown.map((r) => r.display_name),
        datasets: [
          { label: 'Average handle (min)', data: shown.map((r) => minutes(r.handle.avg_secs)), backgroundColor: COLORS.primary },
          { label: 'p90 handle (min)', data: shown.map((r) => minutes(r.handle.p90_secs)), backgroundColor: COLORS.amber },
        ],
      },
      options: { scales: { x: { grid: { display: false }, ticks: { color: COLORS.text } }, y: axis('Minutes', { ticks: { color: COLORS.text } }) } },
    },
  });
  const columns = [
    { label: 'Agent' }, { label: 'Offered', num: true }, { label: 'Accepted', num: true }, { label: 'Rejected', num: true },
    { label: 'Missed', num: true }, { label: 'Customer left', num: true }, { label: 'Transferred', num: true }, { label: 'Started', num: true },
    { label: 'Avg wait', num: true }, { label: 'Avg handle', num: true }, { label: 'p90 handle', num: true }, { label: 'Avg wrap-up', num: true },
    { label: 'Avg first response', num: true }, { label: 'Auto wrap-ups', num: true }, { label: 'CSAT', num: true },
  ];
  const rows = agentRows.map((r) => ({
    head: r.display_name,
    data: { agent: String(r.agent_id) },
    cells: [
      cell(String(r.offered), r.offered, { name: 'offered' }),
      cell(String(r.accepted), r.accepted, { name: 'accepted' }),
      cell(String(r.rejected), r.rejected, { name: 'rejected' }),
      cell(String(r.timed_out), r.timed_out, { name: 'timed_out' }),
      cell(String(r.abandoned), r.abandoned, { name: 'abandoned' }),
      cell(String(r.transferred), r.transferred, { name: 'transferred' }),
      cell(String(r.outbound), r.outbound, { name: 'outbound' }),
      cell(secs(r.wait.avg_secs), r.wait.avg_secs, { name: 'wait_avg' }),
      cell(secs(r.handle.avg_secs), r.handle.avg_secs, { name: 'handle_avg' }),
      cell(secs(r.handle.p90_secs), r.handle.p90_secs, { name: 'handle_p90' }),
      cell(secs(r.wrap_up.avg_secs), r.wrap_up.avg_secs, { name: 'wrap_up_avg' }),
      cell(secs(r.first_response.avg_secs), r.first_response.avg_secs, { name: 'first_response_avg' }),
      cell(String(r.auto_wrap_ups), r.auto_wrap_ups, { name: 'auto_wrap_ups' }),
      cell(r.csat.answered ? avg(r.csat.average) : '—', r.csat.average, { name: 'csat_average' }),
    ],
  }));
  return card('Agents', 'rep-agents',
    csvButton('rep-csv-agents', 'Download the agent report as CSV', `/api/v1/reports/agents?${q}&format=csv`, 'switchboard-agents.csv'),
    h('div', { class: 'chart-grid' }, convChart, handleChart),
    dataTable({ id: 'rep-agents-table', caption: 'Agents: offers, conversations, times and satisfaction', columns, rows, empty: 'No agents.' }));
}

const minutes = (v) => (v === null || v === undefined ? null : Math.round((v / 60) * 10) / 10);

function dispositionsCard(Chart, { queueRows, t }) {
  const codes = Object.keys(t.dispositions).sort((a, b) => t.dispositions[b] - t.dispositions[a] || a.localeCompare(b));
  const queuesWith = queueRows.filter((r) => Object.keys(r.dispositions).length || r.auto_wrap_ups);
  const total = codes.reduce((n, c) => n + t.dispositions[c], 0);
  const summary = codes.length
    ? `Wrap-ups by disposition: ${codes.map((c) => `${c} ${t.dispositions[c]}`).join(', ')}; ${t.auto_wrap_ups} ended by the countdown.`
    : `No disposition in this period; ${t.auto_wrap_ups} wrap-ups ended by the countdown.`;
  const chart = chartBox(Chart, {
    id: 'rep-dispositions-chart', summary,
    config: {
      type: 'bar',
      data: { labels: codes, datasets: [{ label: 'Wrap-ups', data: codes.map((c) => t.dispositions[c]), backgroundColor: COLORS.primary }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: axis('Wrap-ups'), y: { grid: { display: false }, ticks: { color: COLORS.text } } } },
    },
  });
  const columns = [{ label: 'Disposition' }, { label: 'All queues', num: true }, ...queuesWith.map((r) => ({ label: r.queue_name, num: true }))];
  const rows = codes.map((c) => ({
    head: c,
    data: { code: c },
    cells: [cell(String(t.dispositions[c]), t.dispositions[c], { name: 'total' }),
      ...queuesWith.map((r) => cell(String(r.dispositions[c] || 0), r.dispositions[c] || 0))],
  }));
  const foot = [{
    head: 'Ended by the countdown',
    data: { code: 'auto' },
    cells: [cell(String(t.auto_wrap_ups), t.auto_wrap_ups, { name: 'total' }), ...queuesWith.map((r) => cell(String(r.auto_wrap_ups), r.auto_wrap_ups))],
  }];
  return card('Dispositions', 'rep-dispositions', h('span', { class: 'muted small', text: `${total} with a code` }),
    chart,
    dataTable({ id: 'rep-dispositions-table', caption: 'Wrap-ups by disposition code and queue', columns, rows, foot, empty: 'No disposition codes in this period.' }));
}

function csatCard(Chart, { queueRows, agentRows, t }) {
  const scores = ['1', '2', '3', '4', '5'];
  const summary = t.csat.answered
    ? `Customer ratings: average ${avg(t.csat.average)} of 5 from ${t.csat.answered} answers to ${t.csat.sent} surveys; ${scores.map((s) => `${t.csat.scores[s] || 0} rated ${s}`).join(', ')}.`
    : `No customer rating in this period (${t.csat.sent} surveys sent).`;
  const chart = chartBox(Chart, {
    id: 'rep-csat-chart', summary,
    config: {
      type: 'bar',
      data: { labels: scores.map((s) => `${s} ★`), datasets: [{ label: 'Answers', data: scores.map((s) => t.csat.scores[s] || 0), backgroundColor: SCORE_COLORS }] },
      options: { plugins: { legend: { display: false } }, scales: { x: { grid: { display: false }, ticks: { color: COLORS.text } }, y: axis('Answers') } },
    },
  });
  const columns = [{ label: 'Queue or agent' }, { label: 'Sent', num: true }, { label: 'Answered', num: true }, { label: 'Average', num: true }, ...scores.map((s) => ({ label: `${s} ★`, num: true }))];
  const line = (c) => [
    cell(String(c.sent), c.sent, { name: 'sent' }), cell(String(c.answered), c.answered, { name: 'answered' }),
    cell(c.answered ? avg(c.average) : '—', c.average, { name: 'average' }),
    ...scores.map((s) => cell(String(c.scores[s] || 0), c.scores[s] || 0, { name: `score_${s}` })),
  ];
  const rows = [
    ...queueRows.filter((r) => r.csat.sent).map((r) => ({ head: `Queue: ${r.queue_name}`, data: { queue: String(r.queue_id) }, cells: line(r.csat) })),
    ...agentRows.filter((r) => r.csat.sent).map((r) => ({ head: `Agent: ${r.display_name}`, data: { agent: String(r.agent_id) }, cells: line(r.csat) })),
  ];
  return card('Customer satisfaction', 'rep-csat', null,
    chart,
    dataTable({ id: 'rep-csat-table', caption: 'Satisfaction surveys by queue and agent', columns, rows, foot: [{ head: 'All queues', data: { queue: 'total' }, cells: line(t.csat) }], empty: 'No survey sent in this period.' }));
}

function billableCard({ queueRows, t }) {
  const categories = Object.keys(t.billable_messages).sort();
  if (!categories.length) return null;
  const columns = [{ label: 'Queue' }, ...categories.map((c) => ({ label: c, num: true }))];
  const line = (b) => categories.map((c) => cell(String(b[c] || 0), b[c] || 0, { name: c }));
  return card('Billable messages', 'rep-billable', h('span', { class: 'muted small', text: 'Messages Meta charges for, by pricing category' }),
    dataTable({
      id: 'rep-billable-table', caption: 'Billable messages by queue and pricing category', columns,
      rows: queueRows.filter((r) => Object.keys(r.billable_messages).length).map((r) => ({ head: r.queue_name, data: { queue: String(r.queue_id) }, cells: line(r.billable_messages) })),
      foot: [{ head: 'All queues', data: { queue: 'total' }, cells: line(t.billable_messages) }],
    }));
}
