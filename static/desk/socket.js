// The agent's WebSocket (/ws/agent, SPEC section 5): connect and reconnect with backoff,
// commands answered by `ack` / `error`, and the connection indicator.

import { h, replace, api, session, clearSession, toast } from '../common.js';
import { S, setDesk, el } from './state.js';
import { showLogin } from './main.js';
import { handle } from './events.js';
import { renderBanners } from './banners.js';
import { renderTop } from './status.js';

const PING_EVERY_MS = 15000;
const COMMAND_TIMEOUT_MS = 20000;

export function connect() {
  const s = session();
  if (!s) { setDesk(null); return showLogin(); }
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
        if (e.status === 401) { clearSession(); setDesk(null); return showLogin('Your session has ended. Please sign in again.'); }
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

export function send(frame) {
  if (S && S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.ws.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

/** Sends a command; resolves on `ack`, rejects with {code, message} on `error`. */
export function cmd(type, fields = {}) {
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

/** Shows a refused or failed command to the agent. */
export function fail(e) {
  toast(e && e.message ? e.message : 'Something went wrong.', 'error');
}

/** A server that does not know a command type answers `bad_request` naming the variant. */
export function isUnknownCommand(e) {
  return !!e && e.code === 'bad_request' && /unknown variant/.test(e.message || '');
}

/**
 * A command the agent did not ask for in so many words (`read`, `typing`): never a toast.
 * A server that does not know the command is not asked again in this session.
 */
export function quiet(type, fields) {
  if (!S || S.unsupported.has(type)) return Promise.resolve(false);
  return cmd(type, fields).then(() => true, (e) => {
    if (isUnknownCommand(e)) S.unsupported.add(type);
    return false;
  });
}

/** The indicator in the top bar; `replaced` sticks until the agent takes the desk back. */
export function setConn(state) {
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
