//! R21: a customer who changes number or business-scoped user id stays the same customer, and
//! their open conversation goes on; agents see the new identity.

use super::{InteractionActor, Reply};
use crate::domain::time::now_ms;
use crate::store::{customers, interactions, StoreResult};
use crate::whatsapp::payload::IdentityChange;
use actix::prelude::*;

/// Meta said the customer now has another number or BSUID.
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct CustomerChanged {
    pub change: IdentityChange,
}

impl Handler<CustomerChanged> for InteractionActor {
    type Result = Reply<StoreResult<()>>;

    fn handle(&mut self, msg: CustomerChanged, _ctx: &mut Self::Context) -> Self::Result {
        let change = msg.change;
        let mut next = self.d.clone();
        // A new number comes with a new BSUID: the old one no longer reaches the customer.
        if change.after.phone.is_some() && change.after.user_id.is_none() {
            next.customer.user_id = None;
        }
        next.customer.learn(&change.after);
        let persisted = self.persisted;
        let channel_id = self.d.channel_id;
        let now = now_ms();
        let mut row = next.clone();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> StoreResult<_> {
                let customer = customers::rename(
                    db,
                    channel_id,
                    change.previous_user_id.as_deref(),
                    change.before.phone.as_deref(),
                    &change.after,
                    now,
                )?;
                if persisted {
                    row.customer_id = customer.or(row.customer_id);
                    interactions::set_customer(db, &row)?;
                }
                Ok(customer)
            })
            .map(move |res, act, ctx| {
                let customer = res?;
                act.d.customer = next.customer;
                if act.persisted {
                    act.d.customer_id = customer.or(act.d.customer_id);
                }
                act.announce_state(ctx);
                Ok(())
            }),
        ))
    }
}
