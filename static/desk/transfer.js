// Transfer and conference: one dialog to pick the target, a queue or an available agent.

import { h, replace, toast, modal, icon } from '../common.js';
import { S } from './state.js';
import { cmd, fail } from './socket.js';

export function openTargets(it, mode) {
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
