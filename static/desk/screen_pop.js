// The customer record (right pane): the CRM screen pop, the picker when several contacts
// match, the new-contact form, and the contact's past conversations.

import { h, replace, api, avatar, dateTime, toast, customerId, customerName, icon } from '../common.js';
import { S, el, newRecord, deriveWrap } from './state.js';
import { cmd, fail } from './socket.js';
import { select } from './list.js';
import { openNewConversation } from './templates.js';

function contactName(c) {
  return [c.first_name, c.last_name].filter(Boolean).join(' ') || (c.phones && c.phones[0]) || `Contact ${c.id}`;
}

export function renderPop() {
  if (!S || !el.right) return;
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (!it) {
    replace(el.right, h('div', { class: 'pane-head' }, h('h2', { text: 'Customer' })),
      h('div', { class: 'empty', text: 'The customer record of the selected conversation shows here.' }));
    return;
  }
  const d = it.data;
  const pop = it.pop;
  const matches = pop ? pop.matches || [] : [];
  const count = pop ? matches.length : it.matches;
  const contact = pop && pop.contact;
  const parts = [];
  const avatarBtn = h('button', {
    type: 'button', class: 'btn ghost', id: 'pop-avatar',
    'aria-label': count ? `${count} matching contact${count > 1 ? 's' : ''}: choose which to link` : 'No matching contact',
    'aria-disabled': String(!(matches.length > 1)),
    on: { click: () => { if (matches.length > 1) { it.showPicker = !it.showPicker; renderPop(); } } },
  }, avatar(contact ? contactName(contact) : customerName(d.customer), { large: true, badge: count || null }));
  avatarBtn.style.height = 'auto';
  avatarBtn.style.padding = '4px';
  parts.push(h('div', { class: 'who' }, avatarBtn,
    h('div', { class: 'nm', id: 'pop-name', text: contact ? contactName(contact) : customerName(d.customer) }),
    h('div', { class: 'muted small', id: 'pop-matches', text: count === null || count === undefined ? 'CRM lookup when accepted' : count ? `${count} matching contact${count === 1 ? '' : 's'}` : 'No matching contact' })));

  if (contact && contact.id !== null && contact.id !== undefined) {
    parts.push(h('div', { class: 'pop-actions' },
      h('button', {
        type: 'button', class: 'btn small', id: 'pop-new-conversation', 'aria-haspopup': 'dialog',
        title: `Write first to ${contactName(contact)} with a WhatsApp template`,
        on: { click: () => startConversation(it, contact) },
      }, icon('plus', 14), 'New conversation')));
  }
  if (contact) {
    parts.push(h('dl', {},
      h('dt', { text: 'Phone' }), h('dd', { text: (contact.phones || []).join(', ') || customerId(d.customer) }),
      !d.customer.phone && d.customer.username ? [h('dt', { text: 'WhatsApp' }), h('dd', { text: customerId(d.customer) })] : null,
      contact.email ? [h('dt', { text: 'Email' }), h('dd', { text: contact.email })] : null,
      contact.company ? [h('dt', { text: 'Company' }), h('dd', { text: contact.company })] : null,
      contact.notes ? [h('dt', { text: 'Notes' }), h('dd', { text: contact.notes })] : null));
  } else {
    parts.push(h('dl', {},
      h('dt', { text: d.customer.phone ? 'Number' : d.customer.username ? 'Username' : 'User id' }),
      h('dd', { id: 'pop-phone', text: customerId(d.customer) }),
      h('dt', { text: 'WhatsApp' }), h('dd', { text: customerName(d.customer) }),
      !d.customer.phone && d.customer.username && d.customer.user_id
        ? [h('dt', { text: 'User id', title: 'Business-scoped user id' }), h('dd', { class: 'small', text: d.customer.user_id })] : null,
      h('dt', { text: 'Source' }), h('dd', { text: d.source_number }),
      h('dt', { text: 'Queue' }), h('dd', { text: d.queue.name })));
  }
  if (matches.length > 1 && (it.showPicker || (pop.action === 'select' && !contact))) {
    parts.push(h('section', {},
      h('h3', { text: pop.action === 'select' && !contact ? 'Choose the contact to link' : 'Matching contacts' }),
      h('ul', { class: 'picker', 'aria-label': 'Matching contacts' }, matches.map((c) => h('li', {},
        h('button', {
          type: 'button', 'aria-pressed': String(!!contact && contact.id === c.id),
          on: { click: () => linkContact(it, c) },
        }, h('div', { text: contactName(c) }), h('div', { class: 'muted small', text: [c.company, (c.phones || [])[0]].filter(Boolean).join(' · ') })))))));
  }
  if (pop && pop.error) parts.push(h('p', { class: 'error-text', role: 'status', text: pop.error }));
  if (pop && pop.action === 'new_contact' && !contact) parts.push(newContactForm(it));
  if (!pop) {
    parts.push(h('p', { class: 'muted small', text: 'No CRM record is linked yet. It pops here when the CRM finds this number.' }));
  }
  parts.push(h('section', {}, h('h3', { text: 'Conversation' }), h('dl', {},
    h('dt', { text: 'Started' }), h('dd', { text: dateTime(d.created_at) }),
    h('dt', { text: 'Accepted' }), h('dd', { text: d.accepted_at ? dateTime(d.accepted_at) : '—' }),
    h('dt', { text: 'Channel' }), h('dd', { text: d.source_number }))));
  const logsBox = h('section', { id: 'pop-logs' }, h('h3', { text: 'Past conversations' }));
  parts.push(logsBox);
  replace(el.right, h('div', { class: 'pane-head' }, h('h2', { text: 'Customer' })), h('div', { class: 'pane-body pop' }, parts));
  fillLogs(it, logsBox);
}

function newContactForm(it) {
  const d = it.data;
  const f = (id, label, type = 'text', value = '') => h('div', { class: 'field' },
    h('label', { for: `nc-${id}`, text: label }), h('input', { type, id: `nc-${id}`, name: id, value }));
  const nm = customerName(d.customer);
  const parts = nm.split(/\s+/);
  // No profile name: the name is the number, @username or user id, not a person's name.
  const looksLikeNumber = /^[+\d\s()*-]+$/.test(nm) || nm.startsWith('@') || nm === d.customer.user_id;
  const form = h('form', { 'aria-label': 'New contact' },
    h('div', { class: 'grid2' },
      f('first_name', 'First name', 'text', looksLikeNumber ? '' : parts[0] || ''),
      f('last_name', 'Last name', 'text', looksLikeNumber ? '' : parts.slice(1).join(' '))),
    f('phone', 'Phone', 'tel', d.customer.phone || ''),
    f('email', 'Email', 'email'),
    f('company', 'Company'),
    h('div', { class: 'field' }, h('label', { for: 'nc-notes', text: 'Notes' }), h('textarea', { id: 'nc-notes', name: 'notes', rows: '2' })),
    h('button', { class: 'btn primary', type: 'submit', text: 'Save contact' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    const contact = {
      first_name: v('first_name'), last_name: v('last_name'), phones: v('phone') ? [v('phone')] : [],
      email: v('email') || null, company: v('company') || null, notes: v('notes') || null,
    };
    try {
      await cmd('create_contact', { interaction_id: d.id, contact });
      if (it.pop && it.pop.action === 'new_contact' && !it.pop.contact) it.pop = { ...it.pop, action: 'pop', contact: { id: null, ...contact } };
      toast('Contact saved and linked.');
      renderPop();
    } catch (ex) { fail(ex); }
  });
  return h('section', {}, h('h3', { text: 'New contact' }), h('p', { class: 'muted small', text: `No contact matches this ${d.customer.phone ? 'number' : 'customer'}. Save the customer as a new contact:` }), form);
}

async function linkContact(it, c) {
  try {
    await cmd('link_contact', { interaction_id: it.data.id, contact_id: c.id });
    it.pop = { ...it.pop, action: 'pop', contact: c };
    it.data.contact_id = c.id;
    it.showPicker = false;
    renderPop();
  } catch (e) { fail(e); }
}

async function fillLogs(it, box) {
  const contactId = (it.pop && it.pop.contact && it.pop.contact.id) || it.data.contact_id;
  const show = (rows) => {
    if (!box.isConnected) return;
    box.querySelector('.logs, .muted')?.remove();
    if (!rows || !rows.length) {
      box.appendChild(h('p', { class: 'muted small', text: contactId ? 'No earlier conversations with this contact.' : 'Past conversations show once a contact is linked.' }));
      return;
    }
    box.appendChild(h('ul', { class: 'logs' }, rows.slice(0, 10).map((a) => h('li', { dataset: { activity: a.id } },
      h('div', { class: 'l1' }, h('span', { text: dateTime(a.initiated_at || a.wrapped_up_at) }), h('span', { class: 'chip', text: a.disposition || 'no code' })),
      h('div', { class: 'l2' },
        h('span', { class: 'muted', text: `${(a.agents || []).map((x) => x.display_name || x.name || x).join(', ')} · ${a.queue?.name || a.queue_name || ''}` }),
        a.kind === 'outbound' ? h('span', { class: 'chip violet', text: 'Outbound' }) : null,
        csatEl(a.csat))))));
  };
  if (!contactId) return show(null);
  if (it.logsFor === contactId && it.logs) return show(it.logs);
  try {
    const r = await api('GET', `/api/v1/activities?contact_id=${encodeURIComponent(contactId)}`);
    it.logs = Array.isArray(r) ? r : r.items || [];
    it.logsFor = contactId;
    show(it.logs);
  } catch { show(null); }
}

export function onScreenPop(ev) {
  const it = S.interactions.get(ev.interaction_id);
  if (!it) return;
  it.pop = ev;
  it.matches = (ev.matches || []).length;
  if (ev.contact && ev.contact.id) it.data.contact_id = ev.contact.id;
  if (S.selected === it.data.id) renderPop();
}

/** The customer's rating of a past conversation (R28): "★ 4/5". */
function csatEl(csat) {
  if (!csat || csat.score === null || csat.score === undefined) return null;
  const n = Number(csat.score);
  return h('span', {
    class: `csat csat-${n >= 4 ? 'good' : n === 3 ? 'ok' : 'bad'}`, role: 'img',
    'aria-label': `Customer rating ${n} out of 5`,
    title: csat.answered_at ? `Rated ${n} out of 5 on ${dateTime(csat.answered_at)}` : `Rated ${n} out of 5`,
  }, h('span', { class: 'star', 'aria-hidden': 'true', text: '★' }), ` ${n}/5`);
}

/** The channels this agent can write from: those of the conversations on the desk. */
function deskChannels(it) {
  const seen = new Map();
  for (const x of [it, ...S.interactions.values()]) {
    const d = x.data;
    if (d.channel_id === undefined || d.channel_id === null || seen.has(d.channel_id)) continue;
    seen.set(d.channel_id, { id: d.channel_id, name: d.source_number, display_phone_number: d.queue ? d.queue.name : null });
  }
  return [...seen.values()];
}

/**
 * "New conversation" with the linked contact: a template to one of the contact's numbers
 * (POST /api/v1/conversations). The new conversation is selected when it arrives.
 */
function startConversation(it, contact) {
  const phones = contact.phones || [];
  // The number the customer is writing from now already has a conversation here: another
  // number of the contact is the likelier choice.
  const current = (it.data.customer.phone || '').replace(/\D/g, '');
  const other = phones.find((p) => p.replace(/\D/g, '') !== current);
  openNewConversation({
    channels: deskChannels(it),
    channelId: it.data.channel_id,
    contact,
    to: other || phones[0] || '',
    onCreated: (created) => {
      showCreated(created);
      toast(`Conversation started with ${customerName(created.customer)}.`);
    },
    conflict: (message) => {
      const id = (message.match(/\d+/g) || []).map(Number).find((n) => S.interactions.has(n));
      return id ? { label: 'Show it', action: () => select(id) } : null;
    },
  });
}

/** The 201 of a new conversation: on the desk at once (the `interaction` event follows). */
function showCreated(created) {
  if (!S || !created || created.id === undefined) return;
  if (!S.interactions.has(created.id) && (created.participants || []).some((p) => p.agent_id === S.me?.id)) {
    const rec = newRecord(created);
    deriveWrap(rec);
    S.interactions.set(created.id, rec);
  }
  if (S.interactions.has(created.id)) select(created.id);
}
