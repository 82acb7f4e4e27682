//! R27 when a customer's conversation is created, in the transaction of its first message:
//! its priority (the queue's default, raised by a matching contact's), its sticky agent (the
//! owner of the customer's previous conversation in the queue, if recent), and the closed or
//! greeting message, sent once since only the creation sends it.

use crate::domain::interaction::InteractionRecord;
use crate::domain::message::Message;
use crate::domain::priority;
use crate::domain::routing::QueueRouting;
use crate::store::{contacts, interactions, messages, outbox, Db, StoreResult};

/// Sets the routing of a conversation being created at `now` in a queue with `routing`.
pub(super) fn route_new(
    db: &Db,
    row: &mut InteractionRecord,
    routing: &QueueRouting,
    now: i64,
) -> StoreResult<()> {
    let contact = contacts::priority_of_customer(
        db,
        row.customer.phone.as_deref(),
        row.customer.user_id.as_deref(),
    )?;
    row.routing.priority = priority::initial(routing.default_priority, contact);
    row.routing.queued_at = now;
    let last_owner = match (routing.sticky.window_start(now), row.customer_id) {
        (Some(since), Some(customer_id)) => {
            interactions::last_owner(db, customer_id, row.queue_id, since)?
        }
        _ => None,
    };
    row.routing.sticky = routing.sticky.reservation(last_owner, now);
    Ok(())
}

/// The closed message out of hours, the greeting in hours, when the queue has one: in the
/// transcript and the outbox.
pub(super) fn greet(
    db: &Db,
    interaction_id: i64,
    routing: &QueueRouting,
    now: i64,
) -> StoreResult<Option<Message>> {
    let Some(text) = routing.arrival_message(now) else {
        return Ok(None);
    };
    let message = messages::insert_system_text(db, interaction_id, text, now)?;
    outbox::enqueue(db, message.id, interaction_id, now)?;
    Ok(Some(message))
}
