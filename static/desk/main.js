// The agent desktop's start: login and sign-out, the desk's state at boot, the one-second
// tick. It talks to the server over /ws/agent (socket.js, SPEC section 5) and a few HTTP
// calls. Customer-provided text is only ever set with textContent (see common.js `h`).
//
// One module per pane; they call each other at run time (a pane re-renders another), and
// nothing but declarations runs when they are imported, so their import cycles are harmless.

import { api, session, clearSession, renderLogin, duration, initials } from '../common.js';
import { S, setDesk, now } from './state.js';
import { connect, cmd } from './socket.js';
import { root, buildShell } from './shell.js';
import { unlockAudio } from './offer.js';
import { recheckWindow, markRead } from './conversation.js';

let timerStarted = false;

export function start() {
  const s = session();
  if (!s) return showLogin();
  boot(s.user);
}

export function showLogin(message) {
  document.title = 'Switchboard — Sign in';
  renderLogin(root, {
    subtitle: message || 'Sign in to the agent desktop.',
    onDone: (user) => { unlockAudio(); boot(user); },
  });
}

export async function logout() {
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
    setDesk(null);
    showLogin('You are signed out.');
  }
}

function boot(user) {
  setDesk({
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
    unsupported: new Set(), // command types this server refused as unknown
  });
  buildShell();
  connect();
  if (!timerStarted) {
    timerStarted = true;
    setInterval(everySecond, 1000);
    // Back to the tab: the conversation on screen is read now.
    document.addEventListener('visibilitychange', () => {
      if (S && S.selected) markRead(S.interactions.get(S.selected));
    });
  }
}

// Elapsed times, countdowns and offer bars tick from the server's clock (state.js `now`).
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
  recheckWindow();
}

// Exposed for debugging in the browser console only.
window.switchboardDesk = { get state() { return S; }, initials };
