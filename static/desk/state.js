// The desk's state while an agent is signed in, and the helpers that read an interaction's
// record. One object, `S`, shared by every pane; `null` when signed out.

export let S = null;

/** Boot sets the state, sign-out and an ended session clear it. */
export function setDesk(state) { S = state; }

/** The shell's elements, filled by buildShell (shell.js). */
export const el = {};

/** The server's clock (hello's `server_time`): deadlines and timers count from it. */
export function now() { return Date.now() + (S ? S.offsetMs : 0); }

/**
 * What the desk keeps per interaction: the server's data and what only this tab knows
 * (the draft, the message being replied to, uploads in flight, the newest inbound message
 * already marked read, when `typing` was last sent).
 */
export function newRecord(data) {
  return {
    data, unread: 0, wrap: null, pop: null, draft: '', logs: null, logsFor: null, matches: null,
    replyTo: null, uploads: [], readUpTo: 0, typingAt: 0,
  };
}

/** The newest message the customer wrote (not deleted), or null. */
export function newestInbound(it) {
  const msgs = it.data.messages;
  for (let i = msgs.length - 1; i >= 0; i -= 1) {
    if (msgs[i].direction === 'in' && !msgs[i].deleted) return msgs[i];
  }
  return null;
}

export function myPart(it) {
  return it.data.participants.find((p) => p.agent_id === S.me?.id) || null;
}

/** Keeps `it.wrap` in step with the participant's wrap-up deadline. */
export function deriveWrap(it) {
  const p = myPart(it);
  if (p && p.wrap_up_deadline) {
    if (!it.wrap) it.wrap = { deadline: p.wrap_up_deadline, codes: null, required: false };
    else it.wrap.deadline = p.wrap_up_deadline;
  }
}
