// The conversation (center pane): header with the actions, the message bubbles (delivery
// ticks, media, the quoted message of a reply, reactions, edited and deleted messages, each
// with Reply and React), and the composer (composer.js). Sends `read` while the agent looks
// at a conversation with new customer messages.
//
// Bubbles are kept per message and rebuilt only when their message changes, so a playing
// video or a focused button survives the next message.

import {
  h, replace, avatar, clock, dateTime, STATUS_LABEL, tick, icon, kindBadge, KIND_LABEL,
  customerId, customerIdKind, customerName, isMediaPlaceholder,
} from '../common.js';
import { S, el, myPart, newestInbound } from './state.js';
import { cmd, fail, quiet } from './socket.js';
import { stateChips } from './list.js';
import { openTargets } from './transfer.js';
import { openWrapUp } from './wrap_up.js';
import { mediaEl } from './media.js';
import { reactionsEl, openPicker } from './reactions.js';
import {
  buildComposer, fillComposer, composerBlock, shownBlock, startReply, putBack, openTemplatePicker, canSendTemplate,
} from './composer.js';

let centerFor = null; // id the center was built for
let centerParts = null;

const FOCUSABLE = 'button, a[href], video, audio';

export function renderCenter(update = false) {
  if (!S || !el.center) return;
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (!it) {
    centerFor = null;
    centerParts = null;
    const st = S.status ? S.status.status : 'offline';
    const hint = st === 'available'
      ? (S.status.stop_new ? 'New requests are stopped. Press Resume to receive requests.' : 'You are Available. New requests will pop up here.')
      : st === 'rona' ? 'You missed a request (RONA). Set yourself Available to receive requests again.'
        : `You are ${STATUS_LABEL[st] || st}. Set yourself Available to receive requests.`;
    replace(el.center, h('div', { class: 'empty' },
      h('div', { class: 'big' }, icon('chat', 34)),
      h('h2', { text: 'No conversation selected' }),
      h('p', { class: 'muted', id: 'idle-hint', text: hint })));
    return;
  }
  if (!update || centerFor !== it.data.id || !centerParts) buildCenter(it);
  fillHead(it);
  fillMessages(it);
  fillComposer(it);
  markRead(it);
}

function buildCenter(it) {
  centerFor = it.data.id;
  const head = h('div', { class: 'pane-head conv-head' });
  const msgs = h('div', {
    class: 'pane-body messages', id: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages',
    'aria-describedby': 'messages-help',
  });
  const help = h('p', { class: 'visually-hidden', id: 'messages-help', text: 'Arrow up and down move between messages; each has Reply and React buttons.' });
  msgs.addEventListener('focusin', (e) => {
    const row = e.target.closest('.msg');
    if (row && centerParts && centerParts.activeMid !== row.dataset.mid) { centerParts.activeMid = row.dataset.mid; rove(); }
  });
  msgs.addEventListener('keydown', onLogKey);
  replace(el.center, head, msgs, help, buildComposer(it));
  centerParts = { head, msgs, nodes: new Map(), activeMid: null };
}

function isOwner(it) { return it.data.owner_agent_id === S.me?.id; }

function fillHead(it) {
  const d = it.data;
  const p = myPart(it);
  const owner = isOwner(it);
  const activeMe = p && !p.wrap_up_deadline && d.state === 'active';
  const name = customerName(d.customer);
  const actions = [];
  if (it.wrap) {
    actions.push(h('button', { class: 'btn primary', type: 'button', text: 'Wrap up', on: { click: () => openWrapUp(it) } }));
  } else if (activeMe) {
    const blocked = !!d.interrupted;
    if (owner) {
      actions.push(h('button', { class: 'btn', type: 'button', text: 'Transfer', disabled: blocked, on: { click: () => openTargets(it, 'transfer') } }));
      actions.push(h('button', { class: 'btn', type: 'button', text: 'Conference', disabled: blocked || d.participants.length >= 5, on: { click: () => openTargets(it, 'conference') } }));
      if (d.conference_state !== 'none') {
        actions.push(h('button', { class: 'btn', type: 'button', text: 'End conference', on: { click: () => cmd('end_conference', { interaction_id: d.id }).catch(fail) } }));
      }
    } else if (p && p.role === 'conference') {
      actions.push(h('button', { class: 'btn', type: 'button', text: 'Leave conference', on: { click: () => cmd('leave_conference', { interaction_id: d.id }).catch(fail) } }));
    }
    if (owner) {
      actions.push(h('button', { class: 'btn danger', type: 'button', text: 'End', 'aria-label': `End the conversation with ${name}`, on: { click: () => cmd('end', { interaction_id: d.id }).catch(fail) } }));
    }
  }
  replace(centerParts.head,
    avatar(name),
    h('div', { class: 'title' },
      h('div', { class: 'nm', id: 'conv-name', text: name }),
      h('div', { class: 'sub' },
        h('span', {
          id: 'conv-phone', dataset: { identity: customerIdKind(d.customer) }, text: customerId(d.customer),
          title: d.customer.phone ? 'Phone number' : d.customer.username ? 'WhatsApp username (the number is withheld)' : 'WhatsApp user id (the number is withheld)',
        }),
        h('span', { text: '·' }),
        h('span', { text: d.queue.name }))),
    h('div', { class: 'conv-actions', role: 'toolbar', 'aria-label': 'Conversation actions' }, actions),
    h('div', { class: 'conv-chips' }, stateChips(it)));
}

// ---------------------------------------------------------------- the messages

/** Who wrote `m`, as the desk names them. */
export function authorLabel(m) {
  if (m.direction === 'in') return (m.author && m.author.name) || 'the customer';
  if (m.direction === 'out') {
    if (m.author && m.author.id && m.author.id === String(S.me?.id)) return 'you';
    return (m.author && m.author.name) || 'an agent';
  }
  return 'the system';
}

/** What a message says, in a line (for quotes and the reply bar). */
export function excerpt(m) {
  if (m.deleted) return 'Deleted message';
  const caption = m.media ? mediaCaption(m) : (m.text || '');
  const kind = m.kind && m.kind !== 'text' ? KIND_LABEL[m.kind] || m.kind : '';
  const text = caption || (kind ? '' : m.text || '');
  const line = [kind && (m.media?.filename ? `${kind}: ${m.media.filename}` : kind), text].filter(Boolean).join(' · ');
  return line.length > 140 ? `${line.slice(0, 139)}…` : line || 'Message';
}

function mediaCaption(m) {
  const c = (m.media && m.media.caption) || m.text || '';
  return isMediaPlaceholder(c) ? '' : c;
}

function fillMessages(it) {
  const box = centerParts.msgs;
  const d = it.data;
  const showNames = d.conference_state !== 'none' || d.messages.some((m) => m.direction === 'out' && m.author && m.author.id && m.author.id !== String(S.me?.id));
  const canAct = !composerBlock(it);
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  if (!d.messages.length) {
    centerParts.nodes.clear();
    replace(box, h('div', { class: 'sysmsg', text: 'No messages yet.' }));
    return;
  }
  // Focus inside a bubble that is rebuilt goes back to the same control of the new one.
  const focused = box.contains(document.activeElement) ? document.activeElement : null;
  const focusRow = focused && focused.closest('.msg');
  const focusAct = focused && (focused.dataset.act || (focused.classList.contains('reaction') ? `reaction:${focused.dataset.emoji}` : null));
  const nodes = centerParts.nodes;
  const seen = new Set();
  let changed = false;
  const want = d.messages.map((m) => {
    const key = JSON.stringify(m) + (m.reply_to ? JSON.stringify(quoted(it, m.reply_to.message_id)) : '') + `|${showNames}|${canAct}`;
    seen.add(m.id);
    let n = nodes.get(m.id);
    if (!n || n.key !== key) {
      n = { key, el: messageEl(it, m, showNames, canAct) };
      nodes.set(m.id, n);
      changed = true;
    }
    return n.el;
  });
  for (const id of [...nodes.keys()]) if (!seen.has(id)) nodes.delete(id);
  // Remove what goes first, then put the rest in order, moving as few nodes as possible.
  const keep = new Set(want);
  for (const child of [...box.children]) if (!keep.has(child)) { box.removeChild(child); changed = true; }
  let cursor = box.firstChild;
  for (const node of want) {
    if (cursor === node) { cursor = cursor.nextSibling; continue; }
    box.insertBefore(node, cursor);
    changed = true;
  }
  if (!changed) return;
  rove();
  if (focusRow && !focusRow.isConnected) {
    const row = box.querySelector(`.msg[data-mid="${CSS.escape(focusRow.dataset.mid)}"]`);
    const target = row && ((focusAct && (focusAct.startsWith('reaction:')
      ? row.querySelector(`.reaction[data-emoji="${CSS.escape(focusAct.slice(9))}"]`)
      : row.querySelector(`[data-act="${focusAct}"]`))) || row.querySelector(FOCUSABLE));
    if (target) target.focus({ preventScroll: true });
  }
  if (atBottom || !box.dataset.seen) box.scrollTop = box.scrollHeight;
  box.dataset.seen = '1';
}

/** What a quote shows of the message it names (part of the bubble's key). */
function quoted(it, id) {
  const m = it.data.messages.find((x) => x.id === id);
  return m ? [m.deleted, m.text, m.media && m.media.caption] : null;
}

/** Only the messages' current row is in the Tab order; arrows move between rows. */
function rove() {
  const rows = [...centerParts.msgs.querySelectorAll(':scope > .msg')];
  if (!rows.length) return;
  const active = rows.find((r) => r.dataset.mid === centerParts.activeMid && r.querySelector(FOCUSABLE))
    || [...rows].reverse().find((r) => r.querySelector(FOCUSABLE));
  for (const r of rows) {
    for (const f of r.querySelectorAll(FOCUSABLE)) f.tabIndex = r === active ? 0 : -1;
  }
}

function onLogKey(e) {
  if (!['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key) || e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target;
  if (t.tagName === 'VIDEO' || t.tagName === 'AUDIO' || t.closest('.react-picker')) return;
  const row = t.closest('.msg');
  if (!row) return;
  const rows = [...centerParts.msgs.querySelectorAll(':scope > .msg')].filter((r) => r.querySelector(FOCUSABLE));
  const i = rows.indexOf(row);
  const j = e.key === 'Home' ? 0 : e.key === 'End' ? rows.length - 1 : e.key === 'ArrowUp' ? i - 1 : i + 1;
  if (j < 0 || j >= rows.length || j === i) { e.preventDefault(); return; }
  e.preventDefault();
  const next = rows[j];
  const act = t.dataset.act;
  const target = (act && next.querySelector(`[data-act="${act}"]`)) || next.querySelector(FOCUSABLE);
  centerParts.activeMid = next.dataset.mid;
  rove();
  target.focus();
  target.scrollIntoView({ block: 'nearest' });
}

/** Scrolls to a quoted message and lights it up for a moment. */
function showMessage(id) {
  const row = centerParts && centerParts.msgs.querySelector(`.msg[data-mid="${CSS.escape(String(id))}"]`);
  if (!row) return;
  row.scrollIntoView({ block: 'center', behavior: 'smooth' });
  row.classList.remove('flash');
  void row.offsetWidth;
  row.classList.add('flash');
  const target = row.querySelector(FOCUSABLE);
  if (target) { centerParts.activeMid = row.dataset.mid; rove(); target.focus({ preventScroll: true }); }
}

function quoteEl(it, rt) {
  const orig = it.data.messages.find((x) => x.id === rt.message_id) || null;
  const who = orig ? authorLabel(orig) : '';
  const text = orig && orig.deleted ? 'Deleted message' : (rt.text || (orig ? excerpt(orig) : '') || 'An earlier message');
  const parts = [
    who ? h('span', { class: 'q-who', text: who === 'you' ? 'You' : who }) : null,
    h('span', { class: 'q-text', text }),
  ];
  if (!orig) return h('div', { class: 'quote' }, parts);
  return h('button', {
    type: 'button', class: 'quote', dataset: { act: 'quote' },
    'aria-label': `Reply to ${who}: ${text}. Show that message`,
    on: { click: () => showMessage(orig.id) },
  }, parts);
}

function actionsEl(it, m, host) {
  const what = `${authorLabel(m) === 'you' ? 'your message' : `${authorLabel(m)}'s message`}: ${excerpt(m)}`;
  const reactBtn = h('button', {
    type: 'button', class: 'act', dataset: { act: 'react' }, title: 'React',
    'aria-label': `React to ${what}`, 'aria-haspopup': 'true', 'aria-expanded': 'false',
  }, icon('smile', 15));
  reactBtn.addEventListener('click', () => openPicker(it, m, reactBtn, host));
  return h('div', { class: 'msg-actions', role: 'group', 'aria-label': 'Message actions' },
    h('button', {
      type: 'button', class: 'act', dataset: { act: 'reply' }, title: 'Reply',
      'aria-label': `Reply to ${what}`, on: { click: () => startReply(it, m) },
    }, icon('reply', 15)),
    reactBtn);
}

function messageEl(it, m, showNames, canAct) {
  const time = h('time', { datetime: m.sent_at, title: dateTime(m.sent_at), text: clock(m.sent_at) });
  if (m.direction === 'system') {
    return h('div', { class: 'sysmsg', dataset: { mid: m.id } }, m.text, ' · ', time);
  }
  if (m.direction === 'internal') {
    // R25: a whisper among agents and supervisors; the customer never sees it.
    const author = (m.author && m.author.name) || 'A supervisor';
    return h('div', { class: 'msg note', dataset: { mid: m.id }, role: 'note' },
      h('div', { class: 'col' },
        h('div', { class: 'bubble', 'aria-label': `Internal note from ${author}` },
          h('div', { class: 'author', text: `Internal note · ${author}` }),
          h('div', { class: 'text', text: m.text })),
        h('div', { class: 'meta' }, time, h('span', { class: 'muted', text: ' · not sent to the customer' }))));
  }
  let content;
  if (m.deleted) {
    content = [h('div', { class: 'text deleted-text' }, h('span', { 'aria-hidden': 'true', text: '⊘ ' }), 'This message was deleted by the customer')];
  } else {
    const media = mediaEl(m, it.data.id);
    const kind = m.kind === 'template' ? templateLabel(m)
      : !media && m.kind && m.kind !== 'text' ? h('div', {}, kindBadge(m.kind)) : null;
    const tpl = m.kind === 'template' ? templateText(m.text) : null;
    const body = tpl ? tpl.text : media ? mediaCaption(m) : m.text;
    content = [
      m.reply_to ? quoteEl(it, m.reply_to) : null,
      media, kind,
      body ? h('div', { class: 'text', text: body }) : null,
      tpl && tpl.buttons.length ? h('div', { class: 'tpl-chips', 'aria-label': 'Buttons' },
        tpl.buttons.map((b) => h('span', { class: 'tpl-chip', text: b }))) : null,
    ];
  }
  const edited = m.edited && !m.deleted ? h('span', { class: 'edited', title: 'The customer edited this message', text: 'edited' }) : null;
  const reactions = m.deleted ? null : reactionsEl(it, m, canAct);
  const row = h('div', { class: `msg ${m.direction === 'in' ? 'in' : 'out'}${m.deleted ? ' deleted' : ''}`, dataset: { mid: m.id } });
  const actions = canAct && !m.deleted ? actionsEl(it, m, row) : null;
  if (m.direction === 'in') {
    const name = (m.author && m.author.name) || 'Customer';
    row.append(avatar(name), h('div', { class: 'col' },
      h('div', { class: 'bubble', 'aria-label': `${name} wrote` }, content),
      reactions,
      h('div', { class: 'meta' }, time, edited)));
    if (actions) row.append(actions);
    return row;
  }
  const mine = m.author && m.author.id === String(S.me?.id);
  const name = (m.author && m.author.name) || 'Agent';
  const failed = m.status === 'failed';
  row.classList.toggle('failed', failed);
  row.dataset.status = m.status || '';
  row.append(h('div', { class: 'col' },
    h('div', { class: 'bubble' },
      showNames ? h('div', { class: 'author', text: mine ? `${name} (you)` : name }) : null, content),
    reactions,
    h('div', { class: 'meta' }, time, edited, tick(m.status)),
    failed ? h('div', { class: 'failure', role: 'alert' },
      h('span', { text: `Not delivered: ${m.error || 'the WhatsApp API refused it'}.` }),
      m.kind === 'template'
        ? [h('span', { text: 'Check the reason, then send a template again.' }),
          canSendTemplate(it) ? h('button', {
            class: 'btn small', type: 'button', text: 'Send template',
            'aria-label': 'Open the templates to send one again', on: { click: () => openTemplatePicker(it) },
          }) : null]
        : m.media
        ? h('span', { text: 'Check the reason, then attach the file again.' })
        : [h('span', { text: 'Check the reason, then send it again.' }),
          h('button', {
            class: 'btn small', type: 'button', text: 'Retry',
            'aria-label': 'Put the failed message back in the composer to send it again',
            on: { click: () => putBack(m.text) },
          })]) : null));
  if (actions) row.append(actions);
  return row;
}

/**
 * A template's text is what the customer got, one block a line, its buttons last as
 * "[Track] [Call us]": the buttons show as chips under the text.
 */
function templateText(text) {
  const lines = String(text || '').split('\n');
  const last = lines[lines.length - 1] || '';
  if (lines.length > 1 && /^(\[[^\]]+\]\s*)+$/.test(last.trim())) {
    return { text: lines.slice(0, -1).join('\n'), buttons: [...last.matchAll(/\[([^\]]+)\]/g)].map((x) => x[1]) };
  }
  return { text: String(text || ''), buttons: [] };
}

/** The small line above a template's text: which approved template it was. */
function templateLabel(m) {
  const t = m.template || {};
  const name = t.name || 'template';
  return h('div', { class: 'tpl-label', title: t.language ? `WhatsApp template ${name} (${t.language})` : `WhatsApp template ${name}` },
    icon('template', 12), h('span', { text: `Template: ${name}` }));
}

// ---------------------------------------------------------------- read receipts

/**
 * The agent is looking at this conversation: its newest customer message is marked read at
 * WhatsApp (once per message; again when a new one arrives while it is on screen).
 */
export function markRead(it) {
  if (!it || S.selected !== it.data.id || document.visibilityState !== 'visible') return;
  const p = myPart(it);
  if (!p || p.wrap_up_deadline || it.wrap || it.data.state !== 'active') return;
  const newest = newestInbound(it);
  if (!newest || newest.id <= it.readUpTo) return;
  it.readUpTo = newest.id;
  quiet('read', { interaction_id: it.data.id });
}

/** The 24-hour window may close while the conversation is open: checked every second. */
export function recheckWindow() {
  const it = S.selected ? S.interactions.get(S.selected) : null;
  if (it && centerParts && centerFor === it.data.id) {
    const block = composerBlock(it);
    if ((block || '') !== shownBlock()) renderCenter(true);
  }
}
