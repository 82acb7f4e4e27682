// Reactions (R24): the chips under a bubble, the picker with a few common emoji, and the
// `react` command. One reaction per author and message; an empty emoji removes it.

import { h } from '../common.js';
import { S } from './state.js';
import { cmd, fail, isUnknownCommand } from './socket.js';
import { renderCenter } from './conversation.js';

export const EMOJI = [
  ['👍', 'thumbs up'], ['❤️', 'red heart'], ['😂', 'tears of joy'],
  ['😮', 'surprise'], ['😢', 'sadness'], ['🙏', 'folded hands'],
];
const EMOJI_NAME = new Map(EMOJI);

export function sameAuthor(a, b) {
  return !!a && !!b && a.kind === b.kind && String(a.id ?? '') === String(b.id ?? '');
}

/** This agent as the author of a reaction. */
export function meAuthor() {
  return { kind: 'agent', id: String(S.me?.id ?? ''), name: S.me?.display_name || S.user?.display_name || 'You' };
}

/** A `reaction` event (or ours, once acknowledged) applied to its message. */
export function applyReaction(m, emoji, author) {
  const rest = (m.reactions || []).filter((r) => !sameAuthor(r.author, author));
  m.reactions = emoji ? [...rest, { emoji, author }] : rest;
}

function mine(m) {
  const me = meAuthor();
  return (m.reactions || []).find((r) => sameAuthor(r.author, me)) || null;
}

/** Our reaction to `message_id` becomes `emoji` (the same emoji again takes it back). */
export async function react(it, messageId, emoji) {
  const m = it.data.messages.find((x) => x.id === messageId);
  if (!m) return;
  const cur = mine(m);
  const next = cur && cur.emoji === emoji ? '' : emoji;
  try {
    await cmd('react', { interaction_id: it.data.id, message_id: messageId, emoji: next });
    const now = it.data.messages.find((x) => x.id === messageId);
    if (now) applyReaction(now, next, meAuthor());
    if (S.selected === it.data.id) renderCenter(true);
  } catch (e) {
    fail(isUnknownCommand(e) ? { message: 'This server does not take reactions yet.' } : e);
  }
}

/** The reactions under a bubble, one chip per emoji; pressing one reacts with it too. */
export function reactionsEl(it, m, enabled) {
  const list = m.reactions || [];
  if (!list.length) return null;
  const groups = new Map();
  for (const r of list) {
    if (!r.emoji) continue;
    if (!groups.has(r.emoji)) groups.set(r.emoji, []);
    groups.get(r.emoji).push(r.author);
  }
  const me = meAuthor();
  const chips = [...groups].map(([emoji, authors]) => {
    const ours = authors.some((a) => sameAuthor(a, me));
    const names = authors.map((a) => (sameAuthor(a, me) ? 'you' : (a && a.name) || 'someone')).join(', ');
    const label = `${EMOJI_NAME.get(emoji) || emoji} from ${names}`;
    const content = [h('span', { class: 'emoji', text: emoji }), authors.length > 1 ? h('span', { class: 'n', text: String(authors.length) }) : null];
    if (!enabled) return h('span', { class: 'reaction', role: 'img', 'aria-label': label, title: label, dataset: { emoji } }, content);
    return h('button', {
      type: 'button', class: 'reaction', title: label, dataset: { emoji },
      'aria-label': `${label}. ${ours ? 'Take your reaction back' : 'React with it too'}`, 'aria-pressed': String(ours),
      on: { click: () => react(it, m.id, emoji) },
    }, content);
  });
  return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' }, chips);
}

// ---------------------------------------------------------------- the picker

let open = null; // {picker, anchor}

export function closePicker(returnFocus = false) {
  if (!open) return;
  const { picker, anchor } = open;
  open = null;
  picker.remove();
  anchor.setAttribute('aria-expanded', 'false');
  if (returnFocus && anchor.isConnected) anchor.focus();
}

/** The emoji to react with, beside the message's React button; arrows move, Esc closes. */
export function openPicker(it, m, anchor, host) {
  const wasOpenHere = open && open.anchor === anchor;
  closePicker();
  if (wasOpenHere) return;
  const cur = mine(m);
  const buttons = EMOJI.map(([emoji, name]) => h('button', {
    type: 'button', class: 'emoji-btn', text: emoji, title: name,
    'aria-label': `React with ${name}`, 'aria-pressed': String(!!cur && cur.emoji === emoji),
    on: { click: () => { closePicker(true); react(it, m.id, emoji); } },
  }));
  const picker = h('div', { class: 'react-picker', role: 'group', 'aria-label': 'Pick a reaction' }, buttons);
  picker.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement);
    const go = (j) => { e.preventDefault(); buttons[(j + buttons.length) % buttons.length].focus(); };
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') go(i + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') go(i - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(buttons.length - 1);
    else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closePicker(true); }
  });
  picker.addEventListener('focusout', (e) => {
    if (!picker.contains(e.relatedTarget) && e.relatedTarget !== anchor) closePicker();
  });
  host.appendChild(picker);
  anchor.setAttribute('aria-expanded', 'true');
  open = { picker, anchor };
  (buttons.find((b) => b.getAttribute('aria-pressed') === 'true') || buttons[0]).focus();
}

document.addEventListener('pointerdown', (e) => {
  if (open && !open.picker.contains(e.target) && !open.anchor.contains(e.target)) closePicker();
});
