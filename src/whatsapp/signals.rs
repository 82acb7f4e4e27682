//! R24: sends reactions, read receipts and typing indicators from the `signals` table to the
//! Cloud API, retried with backoff like messages (R6); a typing indicator that could not be
//! sent in time is dropped, a refused signal is dropped with a warning (it changes no
//! transcript).

use crate::configuration::Settings;
use crate::domain::customer::Recipient;
use crate::domain::time::now_ms;
use crate::store::signals::{self, DueSignal, SignalKind};
use crate::store::Store;
use crate::whatsapp::outbox::{backoff_ms, build_client, post, Finish};
use actix::prelude::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const POLL_EVERY: Duration = Duration::from_secs(1);
/// A signal refused this many times is given up.
const MAX_ATTEMPTS: u32 = 10;

/// New signals were committed: send them now rather than at the next poll.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KickSignals;

pub struct SignalSender {
    store: Store,
    settings: Arc<Settings>,
    client: Option<awc::Client>,
    busy: HashSet<i64>,
    scanning: bool,
}

impl SignalSender {
    pub fn new(store: Store, settings: Arc<Settings>) -> Self {
        SignalSender {
            store,
            settings,
            client: None,
            busy: HashSet::new(),
            scanning: false,
        }
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.scanning {
            return;
        }
        let room = self.settings.whatsapp.max_in_flight.max(1);
        if self.busy.len() >= room {
            return;
        }
        self.scanning = true;
        let store = self.store.clone();
        let limit = (room + self.busy.len()) as i64;
        let now = now_ms();
        let read = async move { store.read(move |db| signals::due(db, now, limit)).await };
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| {
            act.scanning = false;
            match result {
                Ok(due) => {
                    for s in due {
                        if act.busy.len() >= room {
                            break;
                        }
                        if act.busy.insert(s.id) {
                            act.start(s, ctx);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "signal scan failed"),
            }
        }));
    }

    fn start(&mut self, s: DueSignal, ctx: &mut Context<Self>) {
        if s.wamid.is_none() && !s.message_lost {
            // A reaction to an agent's message still in the outbox: once it is sent.
            let wait = Finish::Retry("the message is not sent yet".into());
            return self.settle(s, wait, ctx);
        }
        let (Some(kind), Some(wamid), Some(phone_number_id)) =
            (s.kind, s.wamid.clone(), s.phone_number_id.clone())
        else {
            return self.settle(s, Finish::Drop, ctx);
        };
        if s.expired {
            return self.settle(s, Finish::Drop, ctx);
        }
        let Some(body) = body(kind, &wamid, s.to.as_ref(), &s.emoji) else {
            return self.settle(s, Finish::Drop, ctx);
        };
        if self.settings.whatsapp.sandbox {
            return self.settle(s, Finish::Sandbox, ctx);
        }
        let settings = &self.settings.whatsapp;
        let url = format!(
            "{}/{}/messages",
            settings.graph_base_url.trim_end_matches('/'),
            phone_number_id
        );
        let timeout = Duration::from_millis(settings.request_timeout_ms);
        let client = self
            .client
            .get_or_insert_with(|| build_client(&self.settings))
            .clone();
        let token = s.access_token.clone();
        let call = async move { post(&client, &url, &token, timeout, &body).await };
        ctx.spawn(
            call.into_actor(self)
                .map(move |finish, act, ctx| act.settle(s, finish, ctx)),
        );
    }

    fn settle(&mut self, s: DueSignal, finish: Finish, ctx: &mut Context<Self>) {
        let now = now_ms();
        let wa = &self.settings.whatsapp;
        let retry_at = now
            + backoff_ms(
                s.attempts,
                wa.retry_base_ms,
                wa.retry_max_ms,
                rand::random::<f64>(),
            ) as i64;
        let id = s.id;
        let give_up = s.attempts + 1 >= MAX_ATTEMPTS;
        let keep = match &finish {
            Finish::Retry(reason) if !give_up && s.kind != Some(SignalKind::Typing) => {
                Some(reason.clone())
            }
            Finish::Retry(reason) | Finish::Failed(reason) => {
                tracing::warn!(signal = id, kind = ?s.kind, %reason, "signal to WhatsApp given up");
                None
            }
            _ => None,
        };
        let store = self.store.clone();
        let write = async move {
            store
                .write(move |db| match &keep {
                    Some(reason) => signals::retry_later(db, id, retry_at, reason),
                    None => signals::remove(db, id),
                })
                .await
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
            if let Err(e) = result {
                tracing::error!(error = %e, signal = id, "signal bookkeeping failed");
            }
            act.busy.remove(&id);
            act.pump(ctx);
        }));
    }
}

/// The Cloud API body of a signal (R24).
fn body(kind: SignalKind, wamid: &str, to: Option<&Recipient>, emoji: &str) -> Option<Value> {
    Some(match kind {
        SignalKind::Reaction => {
            let mut b = json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "type": "reaction",
                "reaction": {"message_id": wamid, "emoji": emoji},
            });
            match to? {
                Recipient::Phone(p) => b["to"] = json!(format!("+{p}")),
                Recipient::UserId(u) => b["recipient"] = json!(u),
            }
            b
        }
        SignalKind::Read => json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }),
        SignalKind::Typing => json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
            "typing_indicator": {"type": "text"},
        }),
    })
}

impl Actor for SignalSender {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_EVERY, |act, ctx| act.pump(ctx));
        self.pump(ctx);
    }
}

impl Handler<KickSignals> for SignalSender {
    type Result = ();
    fn handle(&mut self, _: KickSignals, ctx: &mut Self::Context) {
        self.pump(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_documented_shapes() {
        let phone = Recipient::Phone("447700900001".into());
        assert_eq!(
            body(SignalKind::Reaction, "wamid.A", Some(&phone), "👍").unwrap(),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": "+447700900001", "type": "reaction",
                   "reaction": {"message_id": "wamid.A", "emoji": "👍"}})
        );
        let bsuid = Recipient::UserId("US.1".into());
        let b = body(SignalKind::Reaction, "wamid.A", Some(&bsuid), "").unwrap();
        assert_eq!(b["recipient"], "US.1");
        assert!(b.get("to").is_none());
        assert_eq!(
            body(SignalKind::Read, "wamid.B", None, "").unwrap(),
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.B"})
        );
        assert_eq!(
            body(SignalKind::Typing, "wamid.B", None, "").unwrap()["typing_indicator"],
            json!({"type": "text"})
        );
        assert!(body(SignalKind::Reaction, "wamid.A", None, "x").is_none());
    }
}
