// The server's events: each goes to the pane that owns it. The events about the
// interaction records themselves (hello, interaction, message, delivery status, media,
// reactions, edits and deletions, interruption) are handled here.

import { toast } from '../common.js';
import { S, newRecord, deriveWrap } from './state.js';
import { setConn } from './socket.js';
import { renderAll } from './shell.js';
import { renderTop } from './status.js';
import { renderBanners } from './banners.js';
import { onOffer, onOfferRevoked, renderOffers, ring } from './offer.js';
import { renderList, select, onAlert } from './list.js';
import { renderCenter } from './conversation.js';
import { renderPop, onScreenPop } from './screen_pop.js';
import { onWrapUpStarted, onWrapUpDone } from './wrap_up.js';
import { forgetMedia } from './media.js';
import { applyReaction } from './reactions.js';

/** Dispatches one event from /ws/agent. */
export function handle(ev) {
  switch (ev.type) {
    case 'hello': return onHello(ev);
    case 'status': S.status = ev; renderTop(); renderCenter(); return;
    case 'offer': return onOffer(ev);
    case 'offer_revoked': return onOfferRevoked(ev);
    case 'interaction': return onInteraction(ev);
    case 'message': return onMessage(ev);
    case 'message_status': return onMessageStatus(ev);
    case 'message_media': return onMessageMedia(ev);
    case 'message_changed': return onMessageChanged(ev);
    case 'reaction': return onReaction(ev);
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
  S.unsupported.clear(); // a new connection may be to a newer server
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

/** The interaction left this desk (closed, wrapped up, or no longer ours). */
export function removeInteraction(id) {
  S.interactions.delete(id);
  forgetMedia(id);
  if (S.wrapDialog && S.wrapDialog.id === id) S.wrapDialog.close();
  if (S.selected === id) {
    S.selected = S.interactions.size ? [...S.interactions.keys()][0] : null;
    renderCenter();
    renderPop();
  }
  renderList();
  renderBanners();
}

/**
 * A message joins the transcript or replaces the one with its id (the `message` event, and
 * the 202 of an attachment, whichever comes first).
 */
export function upsertMessage(it, message) {
  const msgs = it.data.messages;
  const i = msgs.findIndex((m) => m.id === message.id);
  if (i >= 0) msgs[i] = message;
  else {
    msgs.push(message);
    // Ids grow with time; an answer that overtook an event still lands in its place.
    if (msgs.length > 1 && msgs[msgs.length - 2].id > message.id) msgs.sort((a, b) => a.id - b.id);
  }
  renderList();
  if (S.selected === it.data.id) renderCenter(true);
  return i < 0;
}

function onMessage(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  const isNew = !it.data.messages.some((m) => m.id === ev.message.id);
  if (ev.message.direction === 'in' && isNew) {
    it.data.last_customer_message_at = ev.message.sent_at;
    it.data.window_expires_at = new Date(Date.parse(ev.message.sent_at) + 24 * 3600 * 1000).toISOString();
    if (S.selected !== it.data.id || document.hidden) it.unread += 1;
  }
  upsertMessage(it, ev.message);
}

function findMessage(ev) {
  const it = S.interactions.get(ev.interaction_id);
  const id = ev.message_id ?? (ev.message && ev.message.id);
  const m = it ? it.data.messages.find((x) => x.id === id) : null;
  return { it, m };
}

/** A file finished downloading (or failed): the bubble shows it. */
function onMessageMedia(ev) {
  const { it, m } = findMessage(ev);
  if (!m) return;
  m.media = ev.media;
  if (S.selected === it.data.id) renderCenter(true);
}

/** The customer edited or deleted a message: its bubble is replaced. */
function onMessageChanged(ev) {
  const { it, m } = findMessage(ev);
  if (!m) return;
  upsertMessage(it, ev.message);
}

function onReaction(ev) {
  const { it, m } = findMessage(ev);
  if (!m) return;
  applyReaction(m, ev.emoji || '', ev.author);
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

function onInterrupted(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.data.interrupted = ev.reason || 'interrupted';
  renderList();
  renderBanners();
  if (S.selected === it.data.id) renderCenter(true);
}
