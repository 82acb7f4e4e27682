//! The live board the supervisors watch: one [`Board`] per application reads the realtime
//! stats once a tick, only while a supervisor watches, and pushes each change to every
//! session (`ws::supervisor`) that joined: the cost does not grow with the number of
//! supervisors.

use crate::domain::time::now_ms;
use crate::store::stats::{self, RealtimeStats};
use crate::store::{Store, StoreError};
use actix::prelude::*;
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the board is read (a push follows only when it changed).
const POLL: Duration = Duration::from_secs(1);

/// A `realtime` frame, serialised once for every session.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct BoardFrame(pub Arc<str>);

/// A session wants the board: the current one at once, then every change.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    pub id: u64,
    pub session: Recipient<BoardFrame>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub id: u64,
}

type Read = Box<dyn Fn() -> LocalBoxFuture<'static, Result<RealtimeStats, StoreError>>>;

pub struct Board {
    read: Read,
    every: Duration,
    sessions: HashMap<u64, Recipient<BoardFrame>>,
    /// Joined since the last read started, without the board yet: the next read answers them
    /// whatever it finds.
    newcomers: Vec<u64>,
    /// The last board pushed, without its time, to push only changes.
    last: Option<String>,
    /// A read is under way: the next tick waits for it.
    reading: bool,
    /// Someone joined during a read that started before: read again after it.
    read_again: bool,
    ticker: Option<SpawnHandle>,
}

impl Board {
    /// The board of `store`, read every second.
    pub fn reading(store: Store, runtime: Arc<crate::configuration::RuntimeSettings>) -> Board {
        Board::new(
            Box::new(move || {
                let store = store.clone();
                let masking = runtime.masking_enabled();
                Box::pin(async move {
                    let now = now_ms();
                    let board = store.read(move |db| stats::realtime(db, now)).await?;
                    Ok(board.masked(masking))
                })
            }),
            POLL,
        )
    }

    fn new(read: Read, every: Duration) -> Board {
        Board {
            read,
            every,
            sessions: HashMap::new(),
            newcomers: Vec::new(),
            last: None,
            reading: false,
            read_again: false,
            ticker: None,
        }
    }

    fn read(&mut self, ctx: &mut Context<Self>) {
        if self.reading || self.sessions.is_empty() {
            return;
        }
        self.reading = true;
        let answered = std::mem::take(&mut self.newcomers);
        ctx.spawn((self.read)().into_actor(self).map(move |res, act, ctx| {
            act.reading = false;
            match res {
                Ok(stats) => act.push(&stats, &answered),
                Err(e) => {
                    tracing::warn!(error = %e, "supervisor feed: reading the board");
                    act.newcomers.extend(answered);
                }
            }
            if std::mem::take(&mut act.read_again) {
                act.read(ctx);
            }
        }));
    }

    /// Sends a changed board to everyone, an unchanged one to the newcomers only.
    fn push(&mut self, stats: &RealtimeStats, newcomers: &[u64]) {
        let mut unchanged = stats.clone();
        unchanged.generated_at = String::new();
        let key = serde_json::to_string(&unchanged).unwrap_or_default();
        let changed = self.last.as_deref() != Some(key.as_str());
        let Ok(text) = serde_json::to_string(&Frame {
            kind: "realtime",
            stats,
        }) else {
            return;
        };
        let frame = BoardFrame(text.into());
        if changed {
            self.last = Some(key);
            for session in self.sessions.values() {
                session.do_send(frame.clone());
            }
            // Those who joined during this read have the board now: the read after them
            // pushes only a change, as to everyone.
            self.newcomers.clear();
        } else {
            for session in newcomers.iter().filter_map(|id| self.sessions.get(id)) {
                session.do_send(frame.clone());
            }
        }
    }
}

/// One pushed frame.
#[derive(Serialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    stats: &'a RealtimeStats,
}

impl Actor for Board {
    type Context = Context<Self>;
}

impl Handler<Join> for Board {
    type Result = ();

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) {
        self.sessions.insert(msg.id, msg.session);
        self.newcomers.push(msg.id);
        if self.ticker.is_none() {
            self.ticker = Some(ctx.run_interval(self.every, |act, ctx| act.read(ctx)));
        }
        // A read under way may have started before this session's data was committed.
        if self.reading {
            self.read_again = true;
        } else {
            self.read(ctx);
        }
    }
}

impl Handler<Leave> for Board {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Self::Context) {
        self.sessions.remove(&msg.id);
        self.newcomers.retain(|id| *id != msg.id);
        if self.sessions.is_empty() {
            // Nobody watches: the board is not read until someone does.
            if let Some(ticker) = self.ticker.take() {
                ctx.cancel_future(ticker);
            }
            self.last = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use std::sync::Mutex;

    /// Collects the frames a session would write.
    struct Watcher(Arc<Mutex<Vec<String>>>);

    impl Actor for Watcher {
        type Context = Context<Self>;
    }

    impl Handler<BoardFrame> for Watcher {
        type Result = ();
        fn handle(&mut self, frame: BoardFrame, _: &mut Self::Context) {
            self.0.lock().unwrap().push(frame.0.to_string());
        }
    }

    fn watcher() -> (Recipient<BoardFrame>, Arc<Mutex<Vec<String>>>) {
        let frames = Arc::new(Mutex::new(Vec::new()));
        (Watcher(frames.clone()).start().recipient(), frames)
    }

    fn board(waiting: i64, at: &str) -> RealtimeStats {
        RealtimeStats {
            generated_at: at.into(),
            queues: vec![stats::QueueStats {
                id: 1,
                name: "Support".into(),
                waiting,
                longest_wait_secs: 0,
                offered: 0,
                active: 0,
                wrap_up: 0,
                waiting_by_priority: Vec::new(),
                next_overflow_at: None,
                open: true,
            }],
            agents: BTreeMap::new(),
            agent_list: Vec::new(),
            conversations: Vec::new(),
        }
    }

    fn waiting(frames: &Arc<Mutex<Vec<String>>>) -> Vec<i64> {
        frames
            .lock()
            .unwrap()
            .iter()
            .map(|f| {
                let v: serde_json::Value = serde_json::from_str(f).unwrap();
                assert_eq!(v["type"], "realtime");
                v["queues"][0]["waiting"].as_i64().unwrap()
            })
            .collect()
    }

    async fn settle() {
        actix::clock::sleep(Duration::from_millis(30)).await;
    }

    #[actix::test]
    async fn one_read_per_tick_is_fanned_out_to_every_session_and_only_changes_are_pushed() {
        let reads = Rc::new(Cell::new(0u32));
        let queued = Rc::new(RefCell::new(1i64));
        let (r, q) = (reads.clone(), queued.clone());
        let read: Read = Box::new(move || {
            r.set(r.get() + 1);
            let now = board(*q.borrow(), &format!("t{}", r.get()));
            Box::pin(async move { Ok(now) })
        });
        // A tick long enough that only the joins read, until the test waits for one.
        let addr = Board::new(read, Duration::from_millis(500)).start();

        let (first, first_frames) = watcher();
        addr.send(Join {
            id: 1,
            session: first,
        })
        .await
        .unwrap();
        settle().await;
        assert_eq!(waiting(&first_frames), vec![1], "the board at once");

        // A second supervisor gets the board at once; the first is not sent it again.
        let (second, second_frames) = watcher();
        addr.send(Join {
            id: 2,
            session: second,
        })
        .await
        .unwrap();
        settle().await;
        assert_eq!(waiting(&second_frames), vec![1]);
        assert_eq!(waiting(&first_frames), vec![1]);
        assert_eq!(reads.get(), 2, "one read per join");

        // Ticks read once for both; an unchanged board (only its time moved) is not pushed.
        actix::clock::sleep(Duration::from_millis(690)).await;
        assert_eq!(reads.get(), 3, "one read per tick, whatever the sessions");
        assert_eq!(waiting(&first_frames), vec![1]);

        // A change reaches both.
        *queued.borrow_mut() = 2;
        actix::clock::sleep(Duration::from_millis(500)).await;
        assert_eq!(reads.get(), 4);
        assert_eq!(waiting(&first_frames), vec![1, 2]);
        assert_eq!(waiting(&second_frames), vec![1, 2]);

        // Nobody watches: no more reads.
        addr.send(Leave { id: 1 }).await.unwrap();
        addr.send(Leave { id: 2 }).await.unwrap();
        actix::clock::sleep(Duration::from_millis(1100)).await;
        assert_eq!(reads.get(), 4, "no reads without supervisors");

        // The next one starts it again, with the board at once.
        let (third, third_frames) = watcher();
        addr.send(Join {
            id: 3,
            session: third,
        })
        .await
        .unwrap();
        settle().await;
        assert_eq!(waiting(&third_frames), vec![2]);
        assert_eq!(reads.get(), 5);
    }

    #[actix::test]
    async fn a_supervisor_joining_during_a_read_gets_the_board_once() {
        let reads = Rc::new(Cell::new(0u32));
        let r = reads.clone();
        let read: Read = Box::new(move || {
            r.set(r.get() + 1);
            let now = board(1, &format!("t{}", r.get()));
            Box::pin(async move {
                actix::clock::sleep(Duration::from_millis(100)).await;
                Ok(now)
            })
        });
        let addr = Board::new(read, Duration::from_secs(60)).start();
        let (first, first_frames) = watcher();
        let (second, second_frames) = watcher();
        addr.do_send(Join {
            id: 1,
            session: first,
        });
        actix::clock::sleep(Duration::from_millis(20)).await;
        addr.do_send(Join {
            id: 2,
            session: second,
        });
        actix::clock::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            reads.get(),
            2,
            "read again for the one who joined during a read"
        );
        assert_eq!(waiting(&first_frames), vec![1]);
        assert_eq!(waiting(&second_frames), vec![1], "not twice the same board");
    }
}
