// The page's frame: top bar, banners, the three panes (conversations, conversation,
// customer record) and the offers' corner; renders them all at once.

import { h, $, replace, icon } from '../common.js';
import { S, el } from './state.js';
import { logout } from './main.js';
import { renderTop, wireStatusBar } from './status.js';
import { renderBanners } from './banners.js';
import { renderOffers } from './offer.js';
import { renderList } from './list.js';
import { renderCenter } from './conversation.js';
import { renderPop } from './screen_pop.js';

export const root = $('#root');

/** Builds the desk for the signed-in agent (S.user) and wires the top bar. */
export function buildShell() {
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
  Object.assign(el, { statusBtn, statusMenu, stopNew, load, conn, banners, list, listCount, center, right, offers });

  wireStatusBar();
  renderAll();
}

export function renderAll() {
  renderTop();
  renderBanners();
  renderOffers();
  renderList();
  renderCenter();
  renderPop();
  renderTitle();
}

/** The tab's title counts the waiting requests, so a background tab shows them. */
export function renderTitle() {
  const n = S ? S.offers.size : 0;
  document.title = (n ? `(${n}) Incoming request — ` : '') + 'Switchboard — Agent desktop';
}
