// The top bar's agent controls: the status menu (Available / On Break / Offline, RONA),
// Stop new / Resume, and the load (conversations held of the maximum).

import { h, replace, STATUS_LABEL } from '../common.js';
import { S, el } from './state.js';
import { cmd, fail } from './socket.js';
import { askNotificationPermission } from './offer.js';

/** The top bar's listeners, once per shell built. */
export function wireStatusBar() {
  const { statusBtn, statusMenu, stopNew } = el;
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
}

export function renderTop() {
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
