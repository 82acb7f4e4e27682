//! R27 overflow: a conversation that waited in its queue longer than the queue's
//! `max_wait_secs` goes to the front of the overflow queue, once, with a system message.

use super::InteractionActor;
use crate::domain::overflow;
use crate::domain::time::now_ms;
use crate::domain::InteractionState;
use actix::prelude::*;

/// The queue says this conversation waited too long in it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Overflow {
    pub from_queue_id: i64,
    pub to_queue_id: i64,
}

impl Handler<Overflow> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: Overflow, ctx: &mut Self::Context) {
        let waiting_there = self.d.state == InteractionState::Queued
            && self.d.queue_id == msg.from_queue_id
            && self.d.offer.is_none()
            && self.d.interrupted.is_none();
        if !waiting_there || self.d.routing.overflowed_from.is_some() {
            return; // it moved on meanwhile; or it overflowed once already (no loops)
        }
        let (Some(from), Some(to)) = (
            self.registry.queue_record(msg.from_queue_id),
            self.registry.queue_record(msg.to_queue_id),
        ) else {
            self.stay();
            return;
        };
        let now = now_ms();
        let mut next = self.d.clone();
        next.queue_id = to.id;
        next.position = -now;
        next.routing.entering(to.routing.default_priority, now);
        next.routing.overflowed_from = Some(from.id);
        let note = overflow::note(&from.name, &to.name, now - self.d.routing.queued_at);
        let fut = self.commit(&next, vec![note]).map(move |res, act, ctx| match res {
            Ok(notes) => {
                act.d = next;
                act.add_notes(notes);
                act.announce_state(ctx);
                act.enqueue();
            }
            Err(e) => {
                tracing::error!(error = %e, "could not save an overflow; it waits where it was");
                act.stay();
            }
        });
        ctx.wait(fut);
    }
}

impl InteractionActor {
    /// It cannot overflow: it waits on where it is, off the overflow clock (else the queue
    /// would ask again at once).
    fn stay(&mut self) {
        self.d.routing.overflowed_from = Some(self.d.queue_id);
        self.enqueue();
    }
}
