// The banners under the top bar: connection lost or opened elsewhere, interrupted
// conversations, and the offer to turn on desktop notifications.

import { h, replace } from '../common.js';
import { S, el } from './state.js';
import { connect } from './socket.js';
import { select } from './list.js';
import { askNotificationPermission } from './offer.js';

export function renderBanners() {
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
