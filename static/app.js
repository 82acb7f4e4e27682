// The agent desktop: login, status, offers, conversations, transfer / conference, wrap-up,
// screen pop. Talks to the server over /ws/agent (SPEC section 5) and a few HTTP calls.
// Customer-provided text is only ever set with textContent (see common.js `h`).

import {
  h, $, replace, api, session, clearSession, renderLogin, avatar, duration, clock,
  dateTime, STATUS_LABEL, KIND_LABEL, tick, toast, modal, initials, icon, kindBadge,
} from './common.js';

const root = $('#root');
const MAX_CHARS = 4096;
const PING_EVERY_MS = 15000;
const COMMAND_TIMEOUT_MS = 20000;

let S = null; // the desk's state while logged in
let timerStarted = false;

// ---------------------------------------------------------------- start / login

start();

function start() {
  const s = session();
  if (!s) return showLogin();
  boot(s.user);
}

function showLogin(message) {
  document.title = 'Switchboard — Sign in';
  renderLogin(root, {
    subtitle: message || 'Sign in to the agent desktop.',
    onDone: (user) => { unlockAudio(); boot(user); },
  });
}

async function logout() {
  if (!S) return;
  S.loggingOut = true;
  try {
    if (S.status && S.status.status !== 'offline') await cmd('set_status', { status: 'offline' }).catch(() => {});
    await api('POST', '/api/v1/auth/logout').catch(() => {});
  } finally {
    if (S.ws) S.ws.close();
    clearInterval(S.pingTimer);
    clearTimeout(S.retryTimer);
    clearSession();
    S = null;
    showLogin('You are signed out.');
  }
}

function boot(user) {
  S = {
    user,
    me: null,
    status: null,
    interactions: new Map(), // id -> {data, unread, wrap, pop, draft, logs}
    offers: new Map(),
    selected: null,
    ws: null,
    conn: 'connecting',
    attempt: 0,
    retryAt: 0,
    retryTimer: null,
    pingTimer: null,
    refs: 0,
    pending: new Map(),
    offsetMs: 0,
    justAccepted: new Set(),
    wrapDialog: null,
    targetsDialog: null,
    loggingOut: false,
  };
  buildShell();
  connect();
  if (!timerStarted) {
    timerStarted = true;
    setInterval(everySecond, 1000);
  }
}

// ---------------------------------------------------------------- sound and notifications

let audioCtx = null;
function unlockAudio() {
  try {
    audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)();
    if (audioCtx.state === 'suspended') audioCtx.resume();
  } catch { audioCtx = null; }
}
document.addEventListener('pointerdown', unlockAudio);
document.addEventListener('keydown', unlockAudio);

function ring() {
  if (!audioCtx) return;
  try {
    const t0 = audioCtx.currentTime;
    for (const [i, freq] of [[0, 880], [1, 1175]]) {
      const osc = audioCtx.createOscillator();
      const gain = audioCtx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.22);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + i * 0.22 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.22 + 0.2);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(t0 + i * 0.22);
      osc.stop(t0 + i * 0.22 + 0.21);
    }
  } catch { /* no sound */ }
}

function notifyOffer(offer) {
  ring();
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(offerTitle(offer), {
      body: `${offer.customer.name} (${offer.customer.phone}) · ${offer.queue.name}`,
      tag: `offer-${offer.interaction_id}`,
      requireInteraction: true,
    });
    n.onclick = () => { window.focus(); n.close(); };
    offer._notification = n;
  } catch { /* notifications unavailable */ }
}

function askNotificationPermission() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().then(() => renderBanners());
  }
}

// ---------------------------------------------------------------- WebSocket

function now() { return Date.now() + (S ? S.offsetMs : 0); }

function connect() {
  const s = session();
  if (!s) { S = null; return showLogin(); }
  clearTimeout(S.retryTimer);
  setConn(S.attempt ? 'reconnecting' : 'connecting');
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/ws/agent?token=${encodeURIComponent(s.token)}`);
  S.ws = ws;
  let opened = false;
  ws.addEventListener('open', () => {
    opened = true;
    clearInterval(S.pingTimer);
    S.pingTimer = setInterval(() => send({ type: 'ping' }), PING_EVERY_MS);
  });
  ws.addEventListener('message', (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    if (S && S.ws === ws) handle(ev);
  });
  ws.addEventListener('close', async () => {
    if (!S || S.ws !== ws) return;
    clearInterval(S.pingTimer);
    for (const [, p] of S.pending) p.reject({ code: 'disconnected', message: 'Connection lost; try again.' });
    S.pending.clear();
    if (S.loggingOut || S.conn === 'replaced') return;
    if (!opened) {
      // The upgrade was refused: an ended session looks like this.
      try { await api('GET', '/api/v1/me'); } catch (e) {
        if (e.status === 401) { clearSession(); S = null; return showLogin('Your session has ended. Please sign in again.'); }
      }
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const base = Math.min(30, 2 ** Math.min(S.attempt, 5));
  const delay = base * (0.75 + Math.random() * 0.5);
  S.attempt += 1;
  S.retryAt = Date.now() + delay * 1000;
  setConn('reconnecting');
  S.retryTimer = setTimeout(connect, delay * 1000);
}

function send(frame) {
  if (S && S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.ws.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

/** Sends a command; resolves on `ack`, rejects with {code, message} on `error`. */
function cmd(type, fields = {}) {
  return new Promise((resolve, reject) => {
    const ref = `c${++S.refs}`;
    if (!send({ type, ref, ...fields })) {
      reject({ code: 'disconnected', message: 'Not connected to the server; wait for the connection to come back.' });
      return;
    }
    const timer = setTimeout(() => {
      S.pending.delete(ref);
      reject({ code: 'timeout', message: 'The server did not answer in time.' });
    }, COMMAND_TIMEOUT_MS);
    S.pending.set(ref, {
      resolve: (v) => { clearTimeout(timer); resolve(v); },
      reject: (e) => { clearTimeout(timer); reject(e); },
    });
  });
}

function fail(e) {
  toast(e && e.message ? e.message : 'Something went wrong.', 'error');
}

// ---------------------------------------------------------------- events

function handle(ev) {
  switch (ev.type) {
    case 'hello': return onHello(ev);
    case 'status': S.status = ev; renderTop(); renderCenter(); return;
    case 'offer': return onOffer(ev);
    case 'offer_revoked': return onOfferRevoked(ev);
    case 'interaction': return onInteraction(ev);
    case 'message': return onMessage(ev);
    case 'message_status': return onMessageStatus(ev);
    case 'screen_pop': return onScreenPop(ev);
    case 'wrap_up_started': return onWrapUpStarted(ev);
    case 'wrap_up_done': return onWrapUpDone(ev);
    case 'interrupted': return onInterrupted(ev);
    case 'alert': return onAlert(ev);
    case 'transfer_targets': {
      if (S.targetsDialog) S.targetsDialog.update(ev);
      const p = ev.ref && S.pending.get(ev.ref);
      if (p) { S.pending.delete(ev.ref); p.resolve(ev); }
      return;
    }
    case 'replaced':
      S.conn = 'replaced';
      setConn('replaced');
      return;
    case 'ack': {
      const p = S.pending.get(ev.ref);
      if (p) { S.pending.delete(ev.ref); p.resolve(ev); }
      return;
    }
    case 'error': {
      const p = ev.ref && S.pending.get(ev.ref);
      if (p) { S.pending.delete(ev.ref); p.reject(ev); } else toast(ev.message, 'error');
      return;
    }
    default:
  }
}

function onHello(ev) {
  S.me = ev.agent;
  S.status = ev.status;
  S.offsetMs = Date.parse(ev.server_time) - Date.now();
  S.attempt = 0;
  const old = S.interactions;
  S.interactions = new Map();
  for (const data of ev.interactions) {
    const prev = old.get(data.id);
    const it = prev || newRecord(data);
    it.data = data;
    deriveWrap(it);
    S.interactions.set(data.id, it);
  }
  S.offers = new Map(ev.offers.map((o) => [o.interaction_id, o]));
  if (S.selected && !S.interactions.has(S.selected)) S.selected = null;
  if (!S.selected && S.interactions.size) S.selected = [...S.interactions.keys()][0];
  setConn('online');
  renderAll();
  if (ev.offers.length) ring();
}

function newRecord(data) {
  return { data, unread: 0, wrap: null, pop: null, draft: '', logs: null, logsFor: null, matches: null };
}

function myPart(it) {
  return it.data.participants.find((p) => p.agent_id === S.me?.id) || null;
}

/** Keeps `it.wrap` in step with the participant's wrap-up deadline. */
function deriveWrap(it) {
  const p = myPart(it);
  if (p && p.wrap_up_deadline) {
    if (!it.wrap) it.wrap = { deadline: p.wrap_up_deadline, codes: null, required: false };
    else it.wrap.deadline = p.wrap_up_deadline;
  }
}

function onOffer(ev) {
  const isNew = !S.offers.has(ev.interaction_id);
  S.offers.set(ev.interaction_id, ev);
  const it = S.interactions.get(ev.interaction_id);
  if (it) it.matches = ev.contact_matches;
  renderOffers();
  renderTitle();
  if (isNew) notifyOffer(ev);
}

const REVOKE_TEXT = {
  timeout: 'was not accepted in time',
  rejected: 'was rejected',
  taken: 'was taken by someone else',
  customer_left: 'ended: the customer left',
  resource_deleted: 'was withdrawn: its queue or channel was deleted',
  disconnected: 'was withdrawn because you were disconnected',
};

function onOfferRevoked(ev) {
  const offer = S.offers.get(ev.interaction_id);
  S.offers.delete(ev.interaction_id);
  if (offer && offer._notification) offer._notification.close();
  renderOffers();
  renderTitle();
  if (offer && ev.reason !== 'rejected') {
    toast(`The request from ${offer.customer.name} ${REVOKE_TEXT[ev.reason] || 'was withdrawn'}.`);
  }
}

function onInteraction(ev) {
  const data = { ...ev };
  delete data.type;
  let it = S.interactions.get(data.id);
  const mine = data.participants.some((p) => p.agent_id === S.me?.id);
  if (data.state === 'closed' || !mine) {
    if (it) removeInteraction(data.id);
    return;
  }
  if (!it) {
    it = newRecord(data);
    const offer = S.offers.get(data.id);
    if (offer) it.matches = offer.contact_matches;
    S.interactions.set(data.id, it);
  }
  it.data = data;
  deriveWrap(it);
  if (S.justAccepted.has(data.id)) {
    S.justAccepted.delete(data.id);
    S.offers.delete(data.id);
    renderOffers();
    select(data.id);
    return;
  }
  if (!S.selected) S.selected = data.id;
  renderList();
  if (S.selected === data.id) renderCenter(true);
  renderBanners();
}

function removeInteraction(id) {
  S.interactions.delete(id);
  if (S.wrapDialog && S.wrapDialog.id === id) S.wrapDialog.close();
  if (S.selected === id) {
    S.selected = S.interactions.size ? [...S.interactions.keys()][0] : null;
    renderCenter();
    renderPop();
  }
  renderList();
  renderBanners();
}

function onMessage(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  const msgs = it.data.messages;
  const i = msgs.findIndex((m) => m.id === ev.message.id);
  if (i >= 0) msgs[i] = ev.message; else msgs.push(ev.message);
  if (ev.message.direction === 'in') {
    it.data.last_customer_message_at = ev.message.sent_at;
    it.data.window_expires_at = new Date(Date.parse(ev.message.sent_at) + 24 * 3600 * 1000).toISOString();
    if (S.selected !== it.data.id || document.hidden) it.unread += 1;
  }
  renderList();
  if (S.selected === it.data.id) renderCenter(true);
}

function onMessageStatus(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  const m = it.data.messages.find((x) => x.id === ev.message_id);
  if (!m) return;
  m.status = ev.status;
  if (ev.error) m.error = ev.error;
  if (S.selected === it.data.id) renderCenter(true);
}

function onScreenPop(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.pop = ev;
  it.matches = (ev.matches || []).length;
  if (ev.contact && ev.contact.id) it.data.contact_id = ev.contact.id;
  if (S.selected === it.data.id) renderPop();
}

function onWrapUpStarted(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.wrap = { deadline: ev.deadline, codes: ev.disposition_codes || [], required: !!ev.disposition_required };
  renderList();
  if (!S.wrapDialog) {
    select(it.data.id);
    openWrapUp(it);
  } else if (S.selected === it.data.id) renderCenter(true);
}

function onWrapUpDone(ev) {
  const it = S.interactions.get(ev.interaction_id);
  const name = it ? it.data.customer.name : 'the customer';
  toast(ev.auto
    ? `Wrap-up time for ${name} ran out; the conversation was closed for you.`
    : `Wrapped up the conversation with ${name}${ev.disposition ? ` (${ev.disposition})` : ''}.`);
  removeInteraction(ev.interaction_id);
}

function onInterrupted(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.data.interrupted = ev.reason || 'interrupted';
  renderList();
  renderBanners();
  if (S.selected === it.data.id) renderCenter(true);
}

function onAlert(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.data.alert = ev.level;
  renderList();
}

// ---------------------------------------------------------------- shell

let el = {};

function buildShell() {
  document.title = 'Switchboard — Agent desktop';
  const statusBtn = h('button', {
    class: 'btn status-btn', id: 'status-btn', type: 'button', 'aria-haspopup': 'menu',
    'aria-expanded': 'false', 'aria-controls': 'status-menu',
  });
  const statusMenu = h('div', { class: 'menu', id: 'status-menu', role: 'menu', 'aria-label': 'Status', hidden: true });
  const stopNew = h('button', { class: 'btn', id: 'stop-new', type: 'button', 'aria-pressed': 'false' });
  const load = h('span', { class: 'load', id: 'load', role: 'status' });
  const conn = h('span', { class: 'conn connecting', id: 'conn', role: 'status', 'aria-live': 'polite' });
  const who = h('div', { class: 'who' },
    h('div', { class: 'name', text: S.user?.display_name || S.user?.username || '' }),
    h('div', { class: 'role', text: S.user?.role || '' }));
  const adminLink = S.user && S.user.role !== 'agent'
    ? h('a', { class: 'btn ghost', href: 'admin.html', target: '_blank', text: S.user.role === 'admin' ? 'Admin' : 'Supervisor' })
    : null;
  const logoutBtn = h('button', { class: 'btn ghost', type: 'button', text: 'Sign out', on: { click: logout } });

  const header = h('header', { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, icon('phone', 17)), 'Switchboard'),
    conn,
    h('div', { class: 'spacer' }),
    h('div', { class: 'status-wrap' }, statusBtn, statusMenu),
    stopNew, load,
    who, adminLink, logoutBtn);

  const banners = h('div', { class: 'banners', id: 'banners' });
  const list = h('ul', { class: 'ilist', id: 'ilist', 'aria-label': 'Conversations' });
  const listCount = h('span', { class: 'chip', id: 'list-count' });
  const left = h('nav', { class: 'pane', 'aria-label': 'Conversations' },
    h('div', { class: 'pane-head' }, h('h2', { text: 'Conversations' }), h('span', { class: 'spacer' }), listCount),
    h('div', { class: 'pane-body' }, list));
  const center = h('main', { class: 'pane', id: 'center', 'aria-label': 'Conversation' });
  const right = h('aside', { class: 'pane', id: 'pop', 'aria-label': 'Customer record' });
  const offers = h('div', { class: 'offers', id: 'offers', 'aria-live': 'assertive' });

  replace(root, header, banners, h('div', { class: 'desk' }, left, center, right), offers);
  el = { statusBtn, statusMenu, stopNew, load, conn, banners, list, listCount, center, right, offers };

  statusBtn.addEventListener('click', () => toggleStatusMenu());
  statusBtn.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); toggleStatusMenu(true); }
  });
  statusMenu.addEventListener('keydown', onMenuKey);
  document.addEventListener('click', (e) => {
    if (!statusMenu.hidden && !e.target.closest('.status-wrap')) toggleStatusMenu(false);
  });
  stopNew.addEventListener('click', () => {
    if (!S.status) return;
    cmd('stop_new', { enabled: !S.status.stop_new }).catch(fail);
  });
  renderAll();
}

function setConn(state) {
  if (!S) return;
  if (S.conn === 'replaced' && state !== 'connecting') state = 'replaced';
  S.conn = state;
  const labels = {
    online: 'Connected', connecting: 'Connecting…', reconnecting: 'Reconnecting…', replaced: 'Opened elsewhere',
  };
  el.conn.className = 'conn ' + state;
  replace(el.conn, h('span', { class: 'dot', 'aria-hidden': 'true' }), labels[state] || state);
  renderBanners();
  renderTop();
}

function renderAll() {
  renderTop();
  renderBanners();
  renderOffers();
  renderList();
  renderCenter();
  renderPop();
  renderTitle();
}

function renderTitle() {
  const n = S ? S.offers.size : 0;
  document.title = (n ? `(${n}) Incoming request — ` : '') + 'Switchboard — Agent desktop';
}

// ---------------------------------------------------------------- top bar

function renderTop() {
  if (!S || !el.statusBtn) return;
  const st = S.status ? S.status.status : 'offline';
  const online = S.conn === 'online';
  el.statusBtn.disabled = !online || !S.status;
  el.statusBtn.classList.toggle('rona', st === 'rona');
  el.statusBtn.setAttribute('aria-label', `Status: ${STATUS_LABEL[st] || st}. Change status`);
  replace(el.statusBtn,
    h('span', { class: `dot st-${st}`, 'aria-hidden': 'true' }),
    h('span', { id: 'status-label', text: STATUS_LABEL[st] || st }),
    h('span', { class: 'caret', 'aria-hidden': 'true', text: '▾' }));
  const stop = !!(S.status && S.status.stop_new);
  el.stopNew.disabled = !online || !S.status;
  el.stopNew.setAttribute('aria-pressed', String(stop));
  el.stopNew.textContent = stop ? 'Resume' : 'Stop new';
  el.stopNew.title = stop
    ? 'New requests are stopped. Resume to receive new requests again.'
    : 'Stop receiving new requests (your status does not change)';
  const loadN = S.status ? S.status.load ?? 0 : 0;
  const max = S.status ? S.status.max_concurrent ?? S.me?.max_concurrent ?? 0 : 0;
  el.load.setAttribute('aria-label', `Load: ${loadN} of ${max} conversations`);
  el.load.title = `You hold ${loadN} of at most ${max} conversations`;
  replace(el.load, h('span', { class: 'lbl', text: 'Load' }), h('span', { id: 'load-value', text: `${loadN} / ${max}` }));
  if (!el.statusMenu.hidden) buildStatusMenu();
}

function buildStatusMenu() {
  const st = S.status ? S.status.status : 'offline';
  const items = [];
  if (st === 'rona') {
    items.push(h('button', { role: 'menuitemradio', type: 'button', 'aria-checked': 'true', disabled: true, tabindex: '-1' },
      h('span', { class: 'dot st-rona', 'aria-hidden': 'true' }), 'RONA (missed a request)'));
  }
  for (const s of ['available', 'on_break', 'offline']) {
    items.push(h('button', {
      role: 'menuitemradio', type: 'button', 'aria-checked': String(st === s), tabindex: '-1', dataset: { status: s },
      on: { click: () => chooseStatus(s) },
    }, h('span', { class: `dot st-${s}`, 'aria-hidden': 'true' }), STATUS_LABEL[s]));
  }
  if (st === 'rona') {
    items.push(h('div', { class: 'menu-note', text: 'You missed a request, so the system set RONA. Choose Available to take requests again.' }));
  }
  replace(el.statusMenu, items);
}

function toggleStatusMenu(open) {
  const willOpen = open === undefined ? el.statusMenu.hidden : open;
  if (willOpen) {
    buildStatusMenu();
    el.statusMenu.hidden = false;
    el.statusBtn.setAttribute('aria-expanded', 'true');
    const items = menuItems();
    (items.find((b) => b.getAttribute('aria-checked') === 'true') || items[0])?.focus();
  } else {
    el.statusMenu.hidden = true;
    el.statusBtn.setAttribute('aria-expanded', 'false');
  }
}

function menuItems() {
  return [...el.statusMenu.querySelectorAll('[role="menuitemradio"]:not(:disabled)')];
}

function onMenuKey(e) {
  const items = menuItems();
  const i = items.indexOf(document.activeElement);
  if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
  else if (e.key === 'ArrowUp') { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
  else if (e.key === 'Home') { e.preventDefault(); items[0].focus(); }
  else if (e.key === 'End') { e.preventDefault(); items[items.length - 1].focus(); }
  else if (e.key === 'Escape') { e.preventDefault(); toggleStatusMenu(false); el.statusBtn.focus(); }
  else if (e.key === 'Tab') toggleStatusMenu(false);
}

function chooseStatus(status) {
  toggleStatusMenu(false);
  el.statusBtn.focus();
  if (status === 'available') askNotificationPermission();
  cmd('set_status', { status }).catch(fail);
}

// ---------------------------------------------------------------- banners

function renderBanners() {
  if (!S || !el.banners) return;
  const out = [];
  if (S.conn === 'reconnecting') {
    const secs = Math.max(0, Math.ceil((S.retryAt - Date.now()) / 1000));
    out.push(h('div', { class: 'banner warn', role: 'status', id: 'reconnect-banner' },
      h('strong', { text: 'Connection lost.' }),
      h('span', { id: 'reconnect-text', text: secs > 0 ? `Reconnecting in ${secs} s… Your conversations stay with you for a while.` : 'Reconnecting…' }),
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn small', type: 'button', text: 'Reconnect now', on: { click: () => { S.attempt = Math.max(1, S.attempt); connect(); } } })));
  }
  if (S.conn === 'replaced') {
    out.push(h('div', { class: 'banner error', role: 'alert' },
      h('strong', { text: 'This desktop was opened in another tab or device.' }),
      h('span', { text: 'Only one desktop per agent can be connected.' }),
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn small', type: 'button', text: 'Use this tab', on: { click: () => { S.conn = 'connecting'; S.attempt = 0; connect(); } } })));
  }
  for (const it of S.interactions.values()) {
    if (!it.data.interrupted) continue;
    out.push(h('div', { class: 'banner error', role: 'alert', dataset: { interrupted: it.data.id } },
      h('strong', { text: `Conversation with ${it.data.customer.name} was interrupted` }),
      h('span', { text: `(${it.data.interrupted}). You can no longer send messages: end it and wrap up.` }),
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn small', type: 'button', text: 'Open', on: { click: () => select(it.data.id) } })));
  }
  if ('Notification' in window && Notification.permission === 'default' && S.conn === 'online') {
    out.push(h('div', { class: 'banner info' },
      h('span', { text: 'Turn on desktop notifications to hear about new requests while this tab is in the background.' }),
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn small', type: 'button', text: 'Turn on notifications', on: { click: askNotificationPermission } })));
  }
  replace(el.banners, out);
}

// ---------------------------------------------------------------- offers

function offerTitle(o) {
  if (o.kind === 'transfer') return 'Transfer request';
  if (o.kind === 'conference') return 'Conference request';
  return 'Incoming WhatsApp request';
}

function renderOffers() {
  if (!S || !el.offers) return;
  const focusWasInOffers = el.offers.contains(document.activeElement);
  const cards = [...S.offers.values()].map(offerCard);
  replace(el.offers, cards);
  const active = document.activeElement;
  if (cards.length && (focusWasInOffers || !active || active === document.body)) {
    cards[0].querySelector('.accept').focus();
  }
}

function offerCard(o) {
  const id = o.interaction_id;
  const tId = `offer-${id}-title`;
  const received = Date.parse(o.received_at);
  const expires = Date.parse(o.expires_at);
  const total = Math.max(1, expires - (o._shownAt || (o._shownAt = now())));
  const accept = h('button', { class: 'btn success accept', type: 'button', text: 'Accept', 'aria-describedby': tId });
  const reject = h('button', {
    class: 'btn danger reject', type: 'button', text: 'Reject', disabled: !o.can_reject,
    'aria-describedby': o.can_reject ? tId : `offer-${id}-noreject`,
  });
  const rejectWrap = h('span', { title: o.can_reject ? 'Reject this request' : 'Your administrator has not allowed you to reject requests' }, reject);
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    reject.disabled = true;
    S.justAccepted.add(id);
    try {
      await cmd('accept', { interaction_id: id });
      S.offers.delete(id);
      renderOffers();
      renderTitle();
      if (S.interactions.has(id)) select(id);
    } catch (e) {
      S.justAccepted.delete(id);
      fail(e);
      accept.disabled = false;
      reject.disabled = !o.can_reject;
    }
  });
  reject.addEventListener('click', async () => {
    reject.disabled = true;
    try {
      await cmd('reject', { interaction_id: id });
      S.offers.delete(id);
      renderOffers();
      renderTitle();
    } catch (e) { fail(e); reject.disabled = !o.can_reject; }
  });
  const bar = h('div');
  bar.dataset.barFrom = String(expires - total);
  bar.dataset.barTo = String(expires);
  bar.style.width = `${Math.max(0, Math.min(100, ((expires - now()) / total) * 100))}%`;
  return h('section', { class: 'offer', role: 'alertdialog', 'aria-labelledby': tId, dataset: { offer: id } },
    h('div', { class: 'oh' },
      h('span', { class: 'wa-icon', 'aria-hidden': 'true' }, icon('phone', 13)),
      h('span', { id: tId, text: offerTitle(o) }),
      h('span', { class: 'spacer' }),
      h('span', { class: 'countdown', 'aria-label': 'Time left to accept', dataset: { countTo: expires } }, duration((expires - now()) / 1000))),
    h('div', { class: 'ob' },
      h('div', { class: 'cust' },
        avatar(o.customer.name, { badge: o.contact_matches || null }),
        h('div', {},
          h('div', { class: 'nm offer-name', text: o.customer.name }),
          h('div', { class: 'muted small', text: o.contact_matches ? `${o.contact_matches} matching contact${o.contact_matches > 1 ? 's' : ''}` : 'No matching contact' }))),
      h('dl', {},
        h('dt', { text: 'Customer number' }), h('dd', { class: 'offer-phone', text: o.customer.phone }),
        h('dt', { text: 'Source number' }), h('dd', { class: 'offer-source', text: o.source_number }),
        h('dt', { text: 'Queue' }), h('dd', { class: 'offer-queue', text: o.queue.name }),
        o.from_agent ? [h('dt', { text: o.kind === 'conference' ? 'Invited by' : 'From' }), h('dd', { text: o.from_agent.display_name })] : null,
        h('dt', { text: 'Waiting' }), h('dd', { class: 'offer-waiting', dataset: { elapsedFrom: received } }, duration((now() - received) / 1000)),
        h('dt', { text: 'Expires in' }), h('dd', { class: 'offer-expires', dataset: { countTo: expires } }, duration((expires - now()) / 1000))),
      h('div', { class: 'bar', 'aria-hidden': 'true' }, bar)),
    h('div', { class: 'actions' }, rejectWrap, accept),
    o.can_reject ? null : h('div', { class: 'note', id: `offer-${id}-noreject`, text: 'Reject is disabled: your administrator has not given you permission to reject requests.' }));
}

// ---------------------------------------------------------------- interaction list

function sortedInteractions() {
  return [...S.interactions.values()].sort((a, b) =>
    Date.parse(a.data.created_at) - Date.parse(b.data.created_at) || a.data.id - b.data.id);
}

function stateChips(it) {
  const d = it.data;
  const chips = [];
  if (d.interrupted) chips.push(h('span', { class: 'chip red', text: 'Interrupted' }));
  if (it.wrap) chips.push(h('span', { class: 'chip amber' }, 'Wrap-up ', h('span', { dataset: { countTo: Date.parse(it.wrap.deadline) } }, duration((Date.parse(it.wrap.deadline) - now()) / 1000))));
  else if (d.state === 'active') chips.push(h('span', { class: 'chip green', text: 'Active' }));
  else chips.push(h('span', { class: 'chip', text: d.state.replace('_', '-') }));
  if (d.conference_state === 'requested') chips.push(h('span', { class: 'chip blue', text: 'Conference requested' }));
  if (d.conference_state === 'active') {
    const others = d.participants.filter((x) => x.agent_id !== S.me?.id && !x.wrap_up_deadline).map((x) => x.display_name);
    chips.push(h('span', { class: 'chip blue', text: others.length ? `Conference · ${others.join(', ')}` : 'Conference' }));
  }
  if (d.alert === 'warn') chips.push(h('span', { class: 'chip amber', text: 'Waiting for reply' }));
  if (d.alert === 'critical') chips.push(h('span', { class: 'chip red', text: 'Reply overdue' }));
  return chips;
}

function preview(m) {
  if (!m) return '';
  const kind = m.kind && m.kind !== 'text' ? `${KIND_LABEL[m.kind] || m.kind} ` : '';
  const mine = m.author && m.author.id === String(S.me?.id);
  const who = m.direction === 'out' ? (mine ? 'You: ' : `${(m.author && m.author.name) || 'Agent'}: `) : '';
  return who + kind + (m.text || '');
}

function renderList() {
  if (!S || !el.list) return;
  const items = sortedInteractions();
  el.listCount.textContent = String(items.length);
  el.listCount.setAttribute('aria-label', `${items.length} conversations`);
  if (!items.length) {
    replace(el.list, h('li', { class: 'empty' },
      h('div', { class: 'big' }, icon('chat', 30)),
      h('div', { text: 'No conversations yet.' })));
    return;
  }
  const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.iid : null;
  replace(el.list, items.map((it) => {
    const d = it.data;
    const last = [...d.messages].reverse().find((m) => m.direction !== 'system');
    const label = [`${d.customer.name}`, it.unread ? `${it.unread} unread` : null,
      it.wrap ? 'in wrap-up' : d.state, d.alert && d.alert !== 'none' ? `${d.alert} alert` : null,
      d.interrupted ? 'interrupted' : null].filter(Boolean).join(', ');
    const btn = h('button', {
      class: `item alert-${d.alert || 'none'}`, type: 'button', 'aria-current': String(S.selected === d.id),
      'aria-label': label, dataset: { iid: d.id },
      on: { click: () => select(d.id) },
    },
    avatar(d.customer.name, { badge: it.unread || null, unread: true }),
    h('div', { class: 'body' },
      h('div', { class: 'line1' },
        h('span', { class: 'nm', text: d.customer.name }),
        h('span', { class: 't', title: 'Time since the conversation started', dataset: { elapsedFrom: Date.parse(d.created_at) } }, duration((now() - Date.parse(d.created_at)) / 1000))),
      h('div', { class: 'preview', text: preview(last) }),
      h('div', { class: 'line3' }, stateChips(it))));
    return h('li', {}, btn);
  }));
  if (focusedId) el.list.querySelector(`[data-iid="${CSS.escape(focusedId)}"]`)?.focus();
}

function select(id) {
  if (!S.interactions.has(id)) return;
  const changed = S.selected !== id;
  S.selected = id;
  const it = S.interactions.get(id);
  it.unread = 0;
  renderList();
  renderCenter(!changed);
  renderPop();
  if (changed) el.center.querySelector('textarea:not(:disabled)')?.focus();
}

// ---------------------------------------------------------------- conversation

let centerFor = null; // id the center was built for
let centerParts = null;

function renderCenter(update = false) {
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
      actions.push(h('button', { class: 'btn danger', type: 'button', text: 'End', 'aria-label': `End the conversation with ${d.customer.name}`, on: { click: () => cmd('end', { interaction_id: d.id }).catch(fail) } }));
    }
  }
  replace(centerParts.head,
    avatar(d.customer.name),
    h('div', { class: 'title' },
      h('div', { class: 'nm', id: 'conv-name', text: d.customer.name }),
      h('div', { class: 'sub' },
        h('span', { id: 'conv-phone', text: d.customer.phone }),
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

// ---------------------------------------------------------------- transfer / conference

function openTargets(it, mode) {
  const d = it.data;
  const verb = mode === 'transfer' ? 'Transfer' : 'Conference';
  const m = modal({ title: `${verb} — ${d.customer.name}`, id: `${mode}-dialog` });
  let tab = 'queue';
  let data = { queues: [], agents: [] };
  let choice = null;
  const tabs = ['queue', 'agent'].map((t) => h('button', {
    type: 'button', role: 'tab', id: `${mode}-tab-${t}`, 'aria-controls': `${mode}-panel`, text: t === 'queue' ? 'Queue' : 'Agent',
    on: { click: () => setTab(t) },
  }));
  const search = h('input', { type: 'search', id: `${mode}-search`, placeholder: 'Search', 'aria-label': 'Search queues and agents' });
  const refresh = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Refresh the list', title: 'Refresh the list' }, icon('refresh'));
  const list = h('ul', { class: 'options', id: `${mode}-panel`, role: 'tabpanel' });
  const go = h('button', { type: 'button', class: 'btn primary', text: verb, disabled: true });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', on: { click: () => m.close() } });
  const help = h('div', { class: 'muted small' });
  m.body.append(h('div', { class: 'tabs', role: 'tablist', 'aria-label': `${verb} to` }, tabs),
    h('div', { class: 'row' }, search, refresh), list, h('p', {}, help));
  m.foot.append(cancel, go);

  function setTab(t) {
    tab = t;
    choice = null;
    tabs.forEach((b) => {
      const sel = b.id.endsWith(t);
      b.setAttribute('aria-selected', String(sel));
      b.tabIndex = sel ? 0 : -1;
    });
    list.setAttribute('aria-labelledby', `${mode}-tab-${t}`);
    help.textContent = tab === 'queue'
      ? (mode === 'transfer' ? 'The conversation goes to the front of the queue.' : 'The first available agent of the queue is invited.')
      : 'Only connected, available agents with free capacity are listed.';
    draw();
  }
  tabs.forEach((b, i) => b.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const next = tabs[(i + 1) % 2];
      next.focus();
      setTab(next.id.endsWith('queue') ? 'queue' : 'agent');
    }
  }));

  function draw() {
    const q = search.value.trim().toLowerCase();
    const rows = tab === 'queue'
      ? data.queues.filter((x) => x.name.toLowerCase().includes(q)).map((x) => ({ id: x.id, name: x.name, info: `${x.waiting} waiting` }))
      : data.agents.filter((x) => x.id !== S.me?.id && x.display_name.toLowerCase().includes(q))
        .map((x) => ({ id: x.id, name: x.display_name, info: `load ${x.load} / ${x.max_concurrent}` }));
    if (choice && !rows.some((r) => r.id === choice)) choice = null;
    go.disabled = choice === null;
    replace(list, rows.length ? rows.map((r) => {
      const radio = h('input', { type: 'radio', name: `${mode}-target`, value: String(r.id), checked: choice === r.id, 'aria-label': r.name });
      radio.addEventListener('change', () => { choice = r.id; go.disabled = false; });
      return h('li', {}, h('label', { class: 'option' }, radio, h('span', { class: 'nm', text: r.name }), h('span', { class: 'muted small', text: r.info })));
    }) : h('li', { class: 'option empty-opt', text: tab === 'queue' ? 'No queue matches.' : 'No available agent right now. Refresh to check again.' }));
  }

  function load() {
    refresh.disabled = true;
    cmd('transfer_targets', { filter: search.value.trim() || undefined })
      .then((ev) => { data = { queues: ev.queues || [], agents: ev.agents || [] }; draw(); })
      .catch(fail)
      .finally(() => { refresh.disabled = false; });
  }

  search.addEventListener('input', draw);
  refresh.addEventListener('click', load);
  go.addEventListener('click', async () => {
    if (choice === null) return;
    go.disabled = true;
    const fields = { interaction_id: d.id, [tab === 'queue' ? 'queue_id' : 'agent_id']: choice };
    try {
      await cmd(mode, fields);
      m.close();
      toast(mode === 'transfer' ? 'Transfer requested.' : 'Conference requested.');
    } catch (e) {
      fail(e);
      go.disabled = false;
    }
  });
  S.targetsDialog = { update: () => {} };
  m.dialog.addEventListener('close', () => { S.targetsDialog = null; });
  setTab('queue');
  m.dialog.showModal();
  tabs[0].focus();
  load();
}

// ---------------------------------------------------------------- wrap-up

function openWrapUp(it) {
  if (S.wrapDialog) {
    if (S.wrapDialog.id === it.data.id) return;
    S.wrapDialog.close();
  }
  const d = it.data;
  const w = it.wrap || { deadline: new Date(now()).toISOString(), codes: [], required: false };
  const m = modal({ title: `Wrap up — ${d.customer.name}`, id: 'wrapup-dialog' });
  const codes = w.codes || [];
  let choice = null;
  const search = h('input', { type: 'search', id: 'wrapup-search', placeholder: 'Search disposition codes', 'aria-label': 'Search disposition codes' });
  const list = h('ul', { class: 'options', role: 'radiogroup', 'aria-label': 'Disposition code' });
  const submit = h('button', { type: 'button', class: 'btn primary', id: 'wrapup-submit', text: 'Submit' });
  const later = h('button', { type: 'button', class: 'btn', text: 'Later', on: { click: () => m.close() } });
  const deadline = Date.parse(w.deadline);
  m.body.append(
    h('div', { class: 'wrap-timer', role: 'timer', 'aria-label': 'Time left before the wrap-up completes on its own' },
      h('span', { text: 'Completes on its own in' }),
      h('span', { class: 'countdown', id: 'wrapup-countdown', dataset: { countTo: deadline } }, duration((deadline - now()) / 1000))),
    codes.length ? search : null,
    codes.length ? list : h('p', { class: 'muted', text: w.codes === null ? 'Disposition codes are not available after a reconnect; submit to finish.' : 'This queue has no disposition codes.' }),
    h('p', { class: 'muted small', text: w.required ? 'A disposition code is required.' : 'Choosing a disposition code is optional.' }));
  m.foot.append(later, submit);

  function draw() {
    const q = search.value.trim().toLowerCase();
    const rows = codes.filter((c) => c.label.toLowerCase().includes(q) || c.code.toLowerCase().includes(q));
    replace(list, rows.length ? rows.map((c) => {
      const radio = h('input', { type: 'radio', name: 'disposition', value: c.code, checked: choice === c.code });
      radio.addEventListener('change', () => { choice = c.code; check(); });
      return h('li', {}, h('label', { class: 'option' }, radio, h('span', { class: 'nm', text: c.label }), h('span', { class: 'muted small', text: c.code })));
    }) : h('li', { class: 'option empty-opt', text: 'No code matches.' }));
  }
  function check() { submit.disabled = w.required && !choice; }
  search.addEventListener('input', draw);
  submit.addEventListener('click', async () => {
    submit.disabled = true;
    try {
      await cmd('wrap_up', { interaction_id: d.id, ...(choice ? { disposition: choice } : {}) });
      m.close();
    } catch (e) { fail(e); check(); }
  });
  draw();
  check();
  S.wrapDialog = { id: d.id, close: m.close };
  m.dialog.addEventListener('close', () => { if (S && S.wrapDialog && S.wrapDialog.id === d.id) S.wrapDialog = null; });
  m.dialog.showModal();
  (codes.length ? search : submit).focus();
}

// ---------------------------------------------------------------- screen pop

function contactName(c) {
  return [c.first_name, c.last_name].filter(Boolean).join(' ') || (c.phones && c.phones[0]) || `Contact ${c.id}`;
}

function renderPop() {
  if (!S || !el.right) return;
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (!it) {
    replace(el.right, h('div', { class: 'pane-head' }, h('h2', { text: 'Customer' })),
      h('div', { class: 'empty', text: 'The customer record of the selected conversation shows here.' }));
    return;
  }
  const d = it.data;
  const pop = it.pop;
  const matches = pop ? pop.matches || [] : [];
  const count = pop ? matches.length : it.matches;
  const contact = pop && pop.contact;
  const parts = [];
  const avatarBtn = h('button', {
    type: 'button', class: 'btn ghost', id: 'pop-avatar',
    'aria-label': count ? `${count} matching contact${count > 1 ? 's' : ''}: choose which to link` : 'No matching contact',
    'aria-disabled': String(!(matches.length > 1)),
    on: { click: () => { if (matches.length > 1) { it.showPicker = !it.showPicker; renderPop(); } } },
  }, avatar(contact ? contactName(contact) : d.customer.name, { large: true, badge: count || null }));
  avatarBtn.style.height = 'auto';
  avatarBtn.style.padding = '4px';
  parts.push(h('div', { class: 'who' }, avatarBtn,
    h('div', { class: 'nm', id: 'pop-name', text: contact ? contactName(contact) : d.customer.name }),
    h('div', { class: 'muted small', id: 'pop-matches', text: count === null || count === undefined ? 'CRM lookup when accepted' : count ? `${count} matching contact${count === 1 ? '' : 's'}` : 'No matching contact' })));

  if (contact) {
    parts.push(h('dl', {},
      h('dt', { text: 'Phone' }), h('dd', { text: (contact.phones || []).join(', ') || d.customer.phone }),
      contact.email ? [h('dt', { text: 'Email' }), h('dd', { text: contact.email })] : null,
      contact.company ? [h('dt', { text: 'Company' }), h('dd', { text: contact.company })] : null,
      contact.notes ? [h('dt', { text: 'Notes' }), h('dd', { text: contact.notes })] : null));
  } else {
    parts.push(h('dl', {},
      h('dt', { text: 'Number' }), h('dd', { id: 'pop-phone', text: d.customer.phone }),
      h('dt', { text: 'WhatsApp' }), h('dd', { text: d.customer.name }),
      h('dt', { text: 'Source' }), h('dd', { text: d.source_number }),
      h('dt', { text: 'Queue' }), h('dd', { text: d.queue.name })));
  }
  if (matches.length > 1 && (it.showPicker || (pop.action === 'select' && !contact))) {
    parts.push(h('section', {},
      h('h3', { text: pop.action === 'select' && !contact ? 'Choose the contact to link' : 'Matching contacts' }),
      h('ul', { class: 'picker', 'aria-label': 'Matching contacts' }, matches.map((c) => h('li', {},
        h('button', {
          type: 'button', 'aria-pressed': String(!!contact && contact.id === c.id),
          on: { click: () => linkContact(it, c) },
        }, h('div', { text: contactName(c) }), h('div', { class: 'muted small', text: [c.company, (c.phones || [])[0]].filter(Boolean).join(' · ') })))))));
  }
  if (pop && pop.error) parts.push(h('p', { class: 'error-text', role: 'status', text: pop.error }));
  if (pop && pop.action === 'new_contact' && !contact) parts.push(newContactForm(it));
  if (!pop) {
    parts.push(h('p', { class: 'muted small', text: 'No CRM record is linked yet. It pops here when the CRM finds this number.' }));
  }
  parts.push(h('section', {}, h('h3', { text: 'Conversation' }), h('dl', {},
    h('dt', { text: 'Started' }), h('dd', { text: dateTime(d.created_at) }),
    h('dt', { text: 'Accepted' }), h('dd', { text: d.accepted_at ? dateTime(d.accepted_at) : '—' }),
    h('dt', { text: 'Channel' }), h('dd', { text: d.source_number }))));
  const logsBox = h('section', { id: 'pop-logs' }, h('h3', { text: 'Past conversations' }));
  parts.push(logsBox);
  replace(el.right, h('div', { class: 'pane-head' }, h('h2', { text: 'Customer' })), h('div', { class: 'pane-body pop' }, parts));
  fillLogs(it, logsBox);
}

function newContactForm(it) {
  const d = it.data;
  const f = (id, label, type = 'text', value = '') => h('div', { class: 'field' },
    h('label', { for: `nc-${id}`, text: label }), h('input', { type, id: `nc-${id}`, name: id, value }));
  const parts = d.customer.name.split(/\s+/);
  const looksLikeNumber = /^[+\d\s()*-]+$/.test(d.customer.name);
  const form = h('form', { 'aria-label': 'New contact' },
    h('div', { class: 'grid2' },
      f('first_name', 'First name', 'text', looksLikeNumber ? '' : parts[0] || ''),
      f('last_name', 'Last name', 'text', looksLikeNumber ? '' : parts.slice(1).join(' '))),
    f('phone', 'Phone', 'tel', d.customer.phone),
    f('email', 'Email', 'email'),
    f('company', 'Company'),
    h('div', { class: 'field' }, h('label', { for: 'nc-notes', text: 'Notes' }), h('textarea', { id: 'nc-notes', name: 'notes', rows: '2' })),
    h('button', { class: 'btn primary', type: 'submit', text: 'Save contact' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    const contact = {
      first_name: v('first_name'), last_name: v('last_name'), phones: v('phone') ? [v('phone')] : [],
      email: v('email') || null, company: v('company') || null, notes: v('notes') || null,
    };
    try {
      await cmd('create_contact', { interaction_id: d.id, contact });
      if (it.pop && it.pop.action === 'new_contact' && !it.pop.contact) it.pop = { ...it.pop, action: 'pop', contact: { id: null, ...contact } };
      toast('Contact saved and linked.');
      renderPop();
    } catch (ex) { fail(ex); }
  });
  return h('section', {}, h('h3', { text: 'New contact' }), h('p', { class: 'muted small', text: 'No contact matches this number. Save the customer as a new contact:' }), form);
}

async function linkContact(it, c) {
  try {
    await cmd('link_contact', { interaction_id: it.data.id, contact_id: c.id });
    it.pop = { ...it.pop, action: 'pop', contact: c };
    it.data.contact_id = c.id;
    it.showPicker = false;
    renderPop();
  } catch (e) { fail(e); }
}

async function fillLogs(it, box) {
  const contactId = (it.pop && it.pop.contact && it.pop.contact.id) || it.data.contact_id;
  const show = (rows) => {
    if (!box.isConnected) return;
    box.querySelector('.logs, .muted')?.remove();
    if (!rows || !rows.length) {
      box.appendChild(h('p', { class: 'muted small', text: contactId ? 'No earlier conversations with this contact.' : 'Past conversations show once a contact is linked.' }));
      return;
    }
    box.appendChild(h('ul', { class: 'logs' }, rows.slice(0, 10).map((a) => h('li', {},
      h('div', { class: 'l1' }, h('span', { text: dateTime(a.initiated_at || a.wrapped_up_at) }), h('span', { class: 'chip', text: a.disposition || 'no code' })),
      h('div', { class: 'muted', text: `${(a.agents || []).map((x) => x.display_name || x.name || x).join(', ')} · ${a.queue?.name || a.queue_name || ''}` })))));
  };
  if (!contactId) return show(null);
  if (it.logsFor === contactId && it.logs) return show(it.logs);
  try {
    const r = await api('GET', `/api/v1/activities?contact_id=${encodeURIComponent(contactId)}`);
    it.logs = Array.isArray(r) ? r : r.items || [];
    it.logsFor = contactId;
    show(it.logs);
  } catch { show(null); }
}

// ---------------------------------------------------------------- timers

function everySecond() {
  if (!S) return;
  const t = now();
  for (const node of document.querySelectorAll('[data-elapsed-from]')) {
    node.textContent = duration((t - Number(node.dataset.elapsedFrom)) / 1000);
  }
  for (const node of document.querySelectorAll('[data-count-to]')) {
    node.textContent = duration((Number(node.dataset.countTo) - t) / 1000);
  }
  for (const node of document.querySelectorAll('[data-bar-to]')) {
    const from = Number(node.dataset.barFrom);
    const to = Number(node.dataset.barTo);
    node.style.width = `${Math.max(0, Math.min(100, ((to - t) / Math.max(1, to - from)) * 100))}%`;
  }
  if (S.conn === 'reconnecting') {
    const txt = document.getElementById('reconnect-text');
    const secs = Math.max(0, Math.ceil((S.retryAt - Date.now()) / 1000));
    if (txt) txt.textContent = secs > 0 ? `Reconnecting in ${secs} s… Your conversations stay with you for a while.` : 'Reconnecting…';
  }
  // The 24-hour window may close while the conversation is open.
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (it && centerParts && centerFor === it.data.id) {
    const block = composerBlock(it);
    if ((block || '') !== centerParts.notice.textContent) fillComposer(it);
  }
}

// Exposed for debugging in the browser console only.
window.switchboardDesk = { get state() { return S; }, initials };
