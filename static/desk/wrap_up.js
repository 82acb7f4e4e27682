// Wrap-up: the dialog with the disposition codes and the countdown, opened when the
// conversation ends for this agent; closed by the agent or when the time runs out.

import { h, replace, duration, toast, modal } from '../common.js';
import { S, now } from './state.js';
import { cmd, fail } from './socket.js';
import { renderList, select } from './list.js';
import { renderCenter } from './conversation.js';
import { removeInteraction } from './events.js';

export function openWrapUp(it) {
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

export function onWrapUpStarted(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.wrap = { deadline: ev.deadline, codes: ev.disposition_codes || [], required: !!ev.disposition_required };
  renderList();
  if (!S.wrapDialog) {
    select(it.data.id);
    openWrapUp(it);
  } else if (S.selected === it.data.id) renderCenter(true);
}

export function onWrapUpDone(ev) {
  const it = S.interactions.get(ev.interaction_id);
  const name = it ? it.data.customer.name : 'the customer';
  toast(ev.auto
    ? `Wrap-up time for ${name} ran out; the conversation was closed for you.`
    : `Wrapped up the conversation with ${name}${ev.disposition ? ` (${ev.disposition})` : ''}.`);
  removeInteraction(ev.interaction_id);
}
