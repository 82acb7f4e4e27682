// Incoming requests (new conversation, transfer, conference): the popups with Accept /
// Reject and their timers, the ring, and the desktop notification when the tab is hidden.

import { h, replace, avatar, duration, toast, icon, customerId, customerIdKind, customerName } from '../common.js';
import { S, el, now } from './state.js';
import { cmd, fail } from './socket.js';
import { renderTitle } from './shell.js';
import { renderBanners } from './banners.js';
import { select } from './list.js';

// Browsers allow sound only after a gesture: the first click or key unlocks it.
let audioCtx = null;
export function unlockAudio() {
  try {
    audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)();
    if (audioCtx.state === 'suspended') audioCtx.resume();
  } catch { audioCtx = null; }
}
document.addEventListener('pointerdown', unlockAudio);
document.addEventListener('keydown', unlockAudio);

export function ring() {
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
      body: `${customerName(offer.customer)} (${customerId(offer.customer)}) · ${offer.queue.name}`,
      tag: `offer-${offer.interaction_id}`,
      requireInteraction: true,
    });
    n.onclick = () => { window.focus(); n.close(); };
    offer._notification = n;
  } catch { /* notifications unavailable */ }
}

export function askNotificationPermission() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().then(() => renderBanners());
  }
}

export function onOffer(ev) {
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

export function onOfferRevoked(ev) {
  const offer = S.offers.get(ev.interaction_id);
  S.offers.delete(ev.interaction_id);
  if (offer && offer._notification) offer._notification.close();
  renderOffers();
  renderTitle();
  if (offer && ev.reason !== 'rejected') {
    toast(`The request from ${customerName(offer.customer)} ${REVOKE_TEXT[ev.reason] || 'was withdrawn'}.`);
  }
}

/** What the customer is known by, where the number shows (R21: it may be withheld). */
const ID_LABEL = { phone: 'Customer number', username: 'WhatsApp username', user_id: 'WhatsApp user id' };

function offerTitle(o) {
  if (o.kind === 'transfer') return 'Transfer request';
  if (o.kind === 'conference') return 'Conference request';
  return 'Incoming WhatsApp request';
}

export function renderOffers() {
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
        avatar(customerName(o.customer), { badge: o.contact_matches || null }),
        h('div', {},
          h('div', { class: 'nm offer-name', text: customerName(o.customer) }),
          h('div', { class: 'muted small', text: o.contact_matches ? `${o.contact_matches} matching contact${o.contact_matches > 1 ? 's' : ''}` : 'No matching contact' }))),
      h('dl', {},
        h('dt', { text: ID_LABEL[customerIdKind(o.customer)] }),
        h('dd', { class: 'offer-phone', dataset: { identity: customerIdKind(o.customer) }, text: customerId(o.customer) }),
        h('dt', { text: 'Source number' }), h('dd', { class: 'offer-source', text: o.source_number }),
        h('dt', { text: 'Queue' }), h('dd', { class: 'offer-queue', text: o.queue.name }),
        o.priority > 0 ? [h('dt', { text: 'Priority' }), h('dd', { class: 'offer-priority', text: `${o.priority} of 9` })] : null,
        o.from_agent ? [h('dt', { text: o.kind === 'conference' ? 'Invited by' : 'From' }), h('dd', { text: o.from_agent.display_name })] : null,
        h('dt', { text: 'Waiting' }), h('dd', { class: 'offer-waiting', dataset: { elapsedFrom: received } }, duration((now() - received) / 1000)),
        h('dt', { text: 'Expires in' }), h('dd', { class: 'offer-expires', dataset: { countTo: expires } }, duration((expires - now()) / 1000))),
      h('div', { class: 'bar', 'aria-hidden': 'true' }, bar)),
    h('div', { class: 'actions' }, rejectWrap, accept),
    o.can_reject ? null : h('div', { class: 'note', id: `offer-${id}-noreject`, text: 'Reject is disabled: your administrator has not given you permission to reject requests.' }));
}
