//! R16: the reply-time alert of an active conversation whose customer waits.

use super::InteractionActor;
use crate::domain::time::now_ms;
use crate::domain::{AlertLevel, Direction, InteractionState};
use crate::ws::protocol::ServerEvent;
use actix::prelude::*;
use std::time::Duration;

impl InteractionActor {
    /// When the customer's oldest unanswered message was sent: the first customer message
    /// after the last agent reply.
    pub(super) fn unanswered_since(&self) -> Option<i64> {
        let mut since = None;
        for m in &self.messages {
            match m.direction {
                Direction::In => {
                    since.get_or_insert(m.sent_at);
                }
                Direction::Out => since = None,
                Direction::System | Direction::Internal => {}
            }
        }
        since
    }

    /// R16: recomputes the reply-time alert and arms the timers for the next level.
    pub(super) fn refresh_alert(&mut self, ctx: &mut Context<Self>) {
        for h in self.alert_timers.drain(..) {
            ctx.cancel_future(h);
        }
        let since = (self.d.state == InteractionState::Active)
            .then(|| self.unanswered_since())
            .flatten();
        let Some(since) = since else {
            return self.set_alert(AlertLevel::None);
        };
        let (warn, critical) = self
            .registry
            .with_queue(self.d.queue_id, |q| {
                (q.alert_warn_secs, q.alert_critical_secs)
            })
            .unwrap_or((60, 180));
        let warn_at = since + i64::from(warn) * 1000;
        let critical_at = since + i64::from(critical) * 1000;
        let now = now_ms();
        self.set_alert(AlertLevel::of(Some(since), warn, critical, now));
        for at in [warn_at, critical_at] {
            if at > now {
                let delay = Duration::from_millis((at - now) as u64);
                self.alert_timers
                    .push(ctx.run_later(delay, |act, ctx| act.refresh_alert(ctx)));
            }
        }
    }

    pub(super) fn set_alert(&mut self, level: AlertLevel) {
        if self.alert == level {
            return;
        }
        self.alert = level;
        self.show(ServerEvent::Alert {
            interaction_id: self.d.id,
            level,
        });
    }
}
