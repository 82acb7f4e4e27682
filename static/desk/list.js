// The conversations list (left pane): one item per interaction held, with its unread count,
// state chips and reply-alert colour; selecting one shows it in the other panes.

import { h, replace, avatar, duration, KIND_LABEL, icon, customerId, customerName, isMediaPlaceholder } from '../common.js';
import { S, el, now } from './state.js';
import { renderCenter } from './conversation.js';
import { renderPop } from './screen_pop.js';

function sortedInteractions() {
  return [...S.interactions.values()].sort((a, b) =>
    Date.parse(a.data.created_at) - Date.parse(b.data.created_at) || a.data.id - b.data.id);
}

export function stateChips(it) {
  const d = it.data;
  const chips = [];
  if (d.interrupted) chips.push(h('span', { class: 'chip red', text: 'Interrupted' }));
  if (it.wrap) chips.push(h('span', { class: 'chip amber' }, 'Wrap-up ', h('span', { dataset: { countTo: Date.parse(it.wrap.deadline) } }, duration((Date.parse(it.wrap.deadline) - now()) / 1000))));
  else if (d.state === 'active') chips.push(h('span', { class: 'chip green', text: 'Active' }));
  else chips.push(h('span', { class: 'chip', text: d.state.replace('_', '-') }));
  if (d.kind === 'outbound') {
    chips.push(h('span', { class: 'chip violet outbound-chip', text: 'Outbound', title: 'The business started this conversation with a template' }));
  }
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
  const mine = m.author && m.author.id === String(S.me?.id);
  const who = m.direction === 'out' ? (mine ? 'You: ' : `${(m.author && m.author.name) || 'Agent'}: `) : '';
  if (m.deleted) return `${who}Message deleted`;
  const kind = m.kind && m.kind !== 'text' ? `${KIND_LABEL[m.kind] || m.kind} ` : '';
  const text = m.media && isMediaPlaceholder(m.text) ? (m.media.caption || m.media.filename || '') : (m.text || '');
  return who + kind + text;
}

export function renderList() {
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
    const name = customerName(d.customer);
    const ident = customerId(d.customer);
    const label = [name, ident && ident !== name ? ident : null, it.unread ? `${it.unread} unread` : null,
      it.wrap ? 'in wrap-up' : d.state, d.kind === 'outbound' ? 'outbound' : null, d.alert && d.alert !== 'none' ? `${d.alert} alert` : null,
      d.interrupted ? 'interrupted' : null].filter(Boolean).join(', ');
    const btn = h('button', {
      class: `item alert-${d.alert || 'none'}`, type: 'button', 'aria-current': String(S.selected === d.id),
      'aria-label': label, title: ident && ident !== name ? `${name} · ${ident}` : name, dataset: { iid: d.id },
      on: { click: () => select(d.id) },
    },
    avatar(name, { badge: it.unread || null, unread: true }),
    h('div', { class: 'body' },
      h('div', { class: 'line1' },
        h('span', { class: 'nm', text: name }),
        h('span', { class: 't', title: 'Time since the conversation started', dataset: { elapsedFrom: Date.parse(d.created_at) } }, duration((now() - Date.parse(d.created_at)) / 1000))),
      h('div', { class: 'preview', text: preview(last) }),
      h('div', { class: 'line3' }, stateChips(it))));
    return h('li', {}, btn);
  }));
  if (focusedId) el.list.querySelector(`[data-iid="${CSS.escape(focusedId)}"]`)?.focus();
}

export function select(id) {
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

export function onAlert(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.data.alert = ev.level;
  renderList();
}
