//! The conversations waiting in one queue, in R27's order: highest priority first, then the
//! oldest ([`QueueKey`]). A conversation reserved for its sticky agent waits apart, for that
//! agent only, until its reservation ends. Every change is O(log n) in the waiting
//! conversations: the queue actor asks for the next one at each dispatch.

use super::priority::QueueKey;
use super::sticky::Sticky;
use std::collections::{BTreeSet, HashMap, HashSet};

/// One waiting conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub key: QueueKey,
    /// Offered only to this agent until then (sticky routing).
    pub sticky: Option<Sticky>,
    /// When it came into the queue, for the overflow clock; None: it never overflows (it
    /// did once already).
    pub queued_at: Option<i64>,
}

/// What to offer next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// To the best eligible agent.
    Anyone { interaction_id: i64, key: QueueKey },
    /// To its sticky agent only, who is ready for it.
    Reserved {
        interaction_id: i64,
        key: QueueKey,
        agent_id: i64,
    },
}

#[derive(Debug, Default)]
pub struct WaitingLine {
    entries: HashMap<i64, Waiting>,
    /// For anyone.
    open: BTreeSet<QueueKey>,
    /// Reserved, by agent.
    reserved: HashMap<i64, BTreeSet<QueueKey>>,
    /// Agents the queue says could take an offer now.
    ready_agents: HashSet<i64>,
    /// The best reservation of each ready agent, and back.
    ready: BTreeSet<(QueueKey, i64)>,
    ready_of: HashMap<i64, QueueKey>,
    /// (came in, id) of those that may overflow; (reserved until, id).
    since: BTreeSet<(i64, i64)>,
    until: BTreeSet<(i64, i64)>,
}

impl WaitingLine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, interaction_id: i64) -> Option<&Waiting> {
        self.entries.get(&interaction_id)
    }

    /// Whether the conversation still waits where `key` put it.
    pub fn still_at(&self, interaction_id: i64, key: QueueKey) -> bool {
        self.entries
            .get(&interaction_id)
            .is_some_and(|w| w.key == key)
    }

    /// Adds (or moves) a waiting conversation; `key.2` is its id.
    pub fn insert(&mut self, w: Waiting) {
        let id = w.key.2;
        self.remove(id);
        self.entries.insert(id, w);
        if let Some(t) = w.queued_at {
            self.since.insert((t, id));
        }
        match w.sticky {
            Some(s) => {
                self.until.insert((s.until, id));
                self.reserved.entry(s.agent_id).or_default().insert(w.key);
                self.refresh_ready(s.agent_id);
            }
            None => {
                self.open.insert(w.key);
            }
        }
    }

    /// Takes a conversation out of the line (offered, closed, moved).
    pub fn remove(&mut self, interaction_id: i64) -> Option<Waiting> {
        let w = self.entries.remove(&interaction_id)?;
        if let Some(t) = w.queued_at {
            self.since.remove(&(t, interaction_id));
        }
        match w.sticky {
            Some(s) => {
                self.until.remove(&(s.until, interaction_id));
                self.unreserve(s.agent_id, w.key);
            }
            None => {
                self.open.remove(&w.key);
            }
        }
        Some(w)
    }

    fn unreserve(&mut self, agent_id: i64, key: QueueKey) {
        if let Some(keys) = self.reserved.get_mut(&agent_id) {
            keys.remove(&key);
            if keys.is_empty() {
                self.reserved.remove(&agent_id);
            }
        }
        self.refresh_ready(agent_id);
    }

    fn refresh_ready(&mut self, agent_id: i64) {
        if let Some(old) = self.ready_of.remove(&agent_id) {
            self.ready.remove(&(old, agent_id));
        }
        if !self.ready_agents.contains(&agent_id) {
            return;
        }
        if let Some(best) = self.reserved.get(&agent_id).and_then(|k| k.first()) {
            self.ready.insert((*best, agent_id));
            self.ready_of.insert(agent_id, *best);
        }
    }

    /// Whether `agent_id` could take an offer now (eligible and qualified).
    pub fn set_ready(&mut self, agent_id: i64, ready: bool) {
        let changed = if ready {
            self.ready_agents.insert(agent_id)
        } else {
            self.ready_agents.remove(&agent_id)
        };
        if changed {
            self.refresh_ready(agent_id);
        }
    }

    /// The conversations reserved for `agent_id` go to everyone (the agent went away).
    pub fn release_agent(&mut self, agent_id: i64) -> usize {
        let Some(keys) = self.reserved.get(&agent_id) else {
            return 0;
        };
        let ids: Vec<i64> = keys.iter().map(|k| k.2).collect();
        for id in &ids {
            self.release(*id);
        }
        ids.len()
    }

    /// The conversation's reservation ends: it waits for everyone, where its key puts it.
    pub fn release(&mut self, interaction_id: i64) {
        if let Some(mut w) = self.entries.get(&interaction_id).copied() {
            if w.sticky.is_some() {
                w.sticky = None;
                self.insert(w);
            }
        }
    }

    /// Reservations that ended by `now` go to everyone; how many.
    pub fn expire(&mut self, now: i64) -> usize {
        let ended: Vec<i64> = self
            .until
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in &ended {
            self.release(*id);
        }
        ended.len()
    }

    /// Takes out and returns the conversations that waited `max_wait_ms` or longer by `now`,
    /// longest first.
    pub fn take_overdue(&mut self, now: i64, max_wait_ms: i64) -> Vec<i64> {
        let due: Vec<i64> = self
            .since
            .iter()
            .take_while(|(t, _)| t.saturating_add(max_wait_ms) <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in &due {
            self.remove(*id);
        }
        due
    }

    /// When something changes next by itself: a reservation ends, or (with `max_wait_ms`)
    /// a conversation overflows.
    pub fn next_deadline(&self, max_wait_ms: Option<i64>) -> Option<i64> {
        let reserved = self.until.first().map(|(t, _)| *t);
        let overflow = max_wait_ms.and_then(|w| self.since.first().map(|(t, _)| t + w));
        match (reserved, overflow) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next conversation to offer: the first of the line for anyone, unless a ready
    /// agent's reservation stands before it.
    pub fn next(&self) -> Option<Next> {
        let open = self.open.first();
        let ready = self.ready.first();
        match (open, ready) {
            (Some(o), Some((r, agent))) if r < o => Some(Next::Reserved {
                interaction_id: r.2,
                key: *r,
                agent_id: *agent,
            }),
            (None, Some((r, agent))) => Some(Next::Reserved {
                interaction_id: r.2,
                key: *r,
                agent_id: *agent,
            }),
            (Some(o), _) => Some(Next::Anyone {
                interaction_id: o.2,
                key: *o,
            }),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::priority::queue_key;
    use super::*;
    use proptest::prelude::*;

    fn w(id: i64, priority: u8, position: i64) -> Waiting {
        Waiting {
            key: queue_key(priority, position, id),
            sticky: None,
            queued_at: Some(position.abs()),
        }
    }

    fn sticky(mut x: Waiting, agent_id: i64, until: i64) -> Waiting {
        x.sticky = Some(Sticky { agent_id, until });
        x
    }

    fn next_id(line: &WaitingLine) -> Option<i64> {
        line.next().map(|n| match n {
            Next::Anyone { interaction_id, .. } | Next::Reserved { interaction_id, .. } => {
                interaction_id
            }
        })
    }

    #[test]
    fn priority_then_age_and_the_front_of_a_priority() {
        let mut line = WaitingLine::new();
        line.insert(w(1, 0, 100));
        line.insert(w(2, 0, 200));
        line.insert(w(3, 9, 300)); // a VIP, newest
        line.insert(w(4, 0, -400)); // came back: front of priority 0
        let mut order = Vec::new();
        while let Some(id) = next_id(&line) {
            order.push(id);
            line.remove(id);
        }
        assert_eq!(order, [3, 4, 1, 2]);
        assert!(line.is_empty());
    }

    #[test]
    fn a_reservation_waits_for_its_agent_then_for_everyone() {
        let mut line = WaitingLine::new();
        line.insert(sticky(w(1, 0, 100), 7, 5_000));
        line.insert(w(2, 0, 200));
        // Agent 7 not ready: the next for anyone is 2, not the older 1.
        assert_eq!(next_id(&line), Some(2));
        line.set_ready(7, true);
        assert_eq!(
            line.next(),
            Some(Next::Reserved {
                interaction_id: 1,
                key: queue_key(0, 100, 1),
                agent_id: 7
            })
        );
        line.set_ready(7, false);
        assert_eq!(line.next_deadline(None), Some(5_000));
        assert_eq!(line.expire(4_999), 0);
        assert_eq!(line.expire(5_000), 1);
        assert_eq!(
            line.next(),
            Some(Next::Anyone {
                interaction_id: 1,
                key: queue_key(0, 100, 1)
            })
        );
    }

    #[test]
    fn an_agent_going_away_releases_its_reservations() {
        let mut line = WaitingLine::new();
        line.insert(sticky(w(1, 0, 100), 7, 5_000));
        line.insert(sticky(w(2, 0, 150), 7, 5_000));
        assert_eq!(next_id(&line), None);
        assert_eq!(line.release_agent(7), 2);
        assert_eq!(next_id(&line), Some(1));
        assert_eq!(line.next_deadline(None), None);
    }

    #[test]
    fn a_better_open_conversation_goes_before_a_ready_reservation() {
        let mut line = WaitingLine::new();
        line.insert(sticky(w(1, 0, 100), 7, 5_000));
        line.insert(w(2, 5, 200));
        line.set_ready(7, true);
        assert_eq!(next_id(&line), Some(2));
        line.remove(2);
        assert_eq!(next_id(&line), Some(1));
        line.remove(1);
        assert_eq!(next_id(&line), None);
        assert!(line.ready.is_empty() && line.reserved.is_empty());
    }

    #[test]
    fn overdue_conversations_are_taken_out_oldest_first() {
        let mut line = WaitingLine::new();
        line.insert(w(1, 0, 1_000));
        line.insert(w(2, 9, 3_000));
        let mut never = w(3, 0, 500);
        never.queued_at = None;
        line.insert(never);
        assert_eq!(line.next_deadline(Some(10_000)), Some(11_000));
        assert_eq!(line.take_overdue(12_999, 10_000), vec![1]);
        assert_eq!(line.take_overdue(13_000, 10_000), vec![2]);
        assert_eq!(line.take_overdue(99_000, 10_000), Vec::<i64>::new());
        assert_eq!(next_id(&line), Some(3));
    }

    proptest! {
        /// Whatever is inserted, removed or reserved, `next` is the smallest key among the
        /// open conversations and the ready agents' reservations.
        #[test]
        fn next_is_the_smallest_offerable(ops in proptest::collection::vec(
            (0i64..40, 0u8..=9, 0i64..1000, proptest::option::of(0i64..4), 0u8..3), 1..200)
        ) {
            let mut line = WaitingLine::new();
            let mut ready = HashSet::new();
            for (id, priority, position, agent, op) in ops {
                match op {
                    0 => {
                        let mut x = w(id, priority, position);
                        x.sticky = agent.map(|a| Sticky { agent_id: a, until: position });
                        line.insert(x);
                    }
                    1 => { line.remove(id); }
                    _ => {
                        let a = agent.unwrap_or(0);
                        let now = !ready.contains(&a);
                        if now { ready.insert(a); } else { ready.remove(&a); }
                        line.set_ready(a, now);
                    }
                }
                let expected = line
                    .entries
                    .values()
                    .filter(|x| x.sticky.is_none_or(|s| ready.contains(&s.agent_id)))
                    .map(|x| x.key)
                    .min();
                let got = line.next().map(|n| match n {
                    Next::Anyone { key, .. } | Next::Reserved { key, .. } => key,
                });
                prop_assert_eq!(got, expected);
            }
        }
    }
}
