//! Which eligible agent gets the next offer (R2), and a queue's routing settings beyond the
//! strategy (R27). Pure: the queue actor feeds it snapshots.

use super::business_hours::BusinessHours;
use super::input::{check_len, InvalidInput};
use super::overflow::Overflow;
use super::skills::RequiredSkill;
use super::sticky::StickySettings;
use super::{AgentStatus, Strategy};

/// Longest closed or greeting message (WhatsApp's limit for a text body).
pub const MAX_ARRIVAL_MESSAGE_CHARS: usize = 4096;

/// A queue's R27 settings: who may take its conversations, in which order, when it is open
/// and where its conversations go when it cannot keep up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueRouting {
    pub required_skills: Vec<RequiredSkill>,
    pub default_priority: u8,
    pub sticky: StickySettings,
    /// None: always open.
    pub hours: Option<BusinessHours>,
    /// Sent once when a conversation starts out of hours.
    pub closed_message: Option<String>,
    /// Sent once when a conversation starts in hours.
    pub greeting_message: Option<String>,
    pub overflow: Option<Overflow>,
}

impl QueueRouting {
    /// Whether the queue is open at `now` (always, without hours).
    pub fn is_open(&self, now: i64) -> bool {
        self.hours.as_ref().is_none_or(|h| h.is_open(now))
    }

    /// The message a conversation created at `now` gets: the closed message out of hours,
    /// the greeting in hours; None when that one is not set.
    pub fn arrival_message(&self, now: i64) -> Option<&str> {
        if self.is_open(now) {
            self.greeting_message.as_deref()
        } else {
            self.closed_message.as_deref()
        }
    }
}

/// A closed or greeting message as asked for: blank is none; else 1 to 4,096 characters.
pub fn check_arrival_message(
    field: &str,
    text: Option<String>,
) -> Result<Option<String>, InvalidInput> {
    match text {
        Some(t) if !t.trim().is_empty() => {
            check_len(field, &t, 1, MAX_ARRIVAL_MESSAGE_CHARS)?;
            Ok(Some(t))
        }
        _ => Ok(None),
    }
}

/// What a queue knows of one member agent.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub agent_id: i64,
    pub connected: bool,
    pub status: AgentStatus,
    pub stop_new: bool,
    pub load: u32,
    pub max_concurrent: u32,
    /// When the agent last became idle (load 0) or available, in ms.
    pub idle_since: i64,
    /// When the agent last got an offer, in ms (round robin).
    pub last_offer_at: i64,
}

impl Candidate {
    /// R2: a connected, available agent with stop_new off and room below its capacity.
    pub fn eligible(&self) -> bool {
        self.connected
            && self.status == AgentStatus::Available
            && !self.stop_new
            && self.load < self.max_concurrent
    }
}

/// The order of a strategy: smaller is better; unique, since it ends with the agent id.
fn key(strategy: Strategy, c: &Candidate) -> (i64, i64, i64) {
    match strategy {
        Strategy::LongestIdle => (i64::from(c.load > 0), c.idle_since, c.agent_id),
        Strategy::LeastBusy => (i64::from(c.load), c.idle_since, c.agent_id),
        Strategy::RoundRobin => (c.last_offer_at, c.agent_id, 0),
    }
}

/// Orders the eligible candidates best first; ties go to the lower agent id.
pub fn rank(strategy: Strategy, candidates: &[Candidate]) -> Vec<i64> {
    let mut eligible: Vec<&Candidate> = candidates.iter().filter(|c| c.eligible()).collect();
    eligible.sort_unstable_by_key(|c| key(strategy, c));
    eligible.into_iter().map(|c| c.agent_id).collect()
}

/// The first `k` of [`rank`], without sorting them all (a queue with thousands of agents
/// usually needs only the first).
pub fn rank_top(strategy: Strategy, candidates: &[Candidate], k: usize) -> Vec<i64> {
    let mut eligible: Vec<&Candidate> = candidates.iter().filter(|c| c.eligible()).collect();
    if k == 0 {
        return Vec::new();
    }
    if eligible.len() > k {
        eligible.select_nth_unstable_by_key(k - 1, |c| key(strategy, c));
        eligible.truncate(k);
    }
    eligible.sort_unstable_by_key(|c| key(strategy, c));
    eligible.into_iter().map(|c| c.agent_id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: i64, load: u32, idle: i64, last: i64) -> Candidate {
        Candidate {
            agent_id: id,
            connected: true,
            status: AgentStatus::Available,
            stop_new: false,
            load,
            max_concurrent: 3,
            idle_since: idle,
            last_offer_at: last,
        }
    }

    #[test]
    fn longest_idle_prefers_idle_agents_then_oldest_idle() {
        let list = [c(1, 1, 10, 0), c(2, 0, 50, 0), c(3, 0, 20, 0)];
        assert_eq!(rank(Strategy::LongestIdle, &list), vec![3, 2, 1]);
    }

    #[test]
    fn least_busy_prefers_lowest_load() {
        let list = [c(1, 2, 10, 0), c(2, 1, 50, 0), c(3, 2, 5, 0)];
        assert_eq!(rank(Strategy::LeastBusy, &list), vec![2, 3, 1]);
    }

    #[test]
    fn round_robin_prefers_least_recently_offered() {
        let list = [c(1, 0, 0, 30), c(2, 0, 0, 10), c(3, 0, 0, 20)];
        assert_eq!(rank(Strategy::RoundRobin, &list), vec![2, 3, 1]);
    }

    #[test]
    fn rank_top_is_the_start_of_rank() {
        let list: Vec<Candidate> = (0..50)
            .map(|i| c(i, (i % 3) as u32, (i * 7919) % 101, (i * 31) % 17))
            .collect();
        for strategy in [
            Strategy::LongestIdle,
            Strategy::LeastBusy,
            Strategy::RoundRobin,
        ] {
            let all = rank(strategy, &list);
            for k in [0, 1, 5, 49, 50, 80] {
                assert_eq!(rank_top(strategy, &list, k), all[..k.min(all.len())]);
            }
        }
    }

    #[test]
    fn ineligible_agents_are_never_ranked() {
        let mut full = c(1, 3, 0, 0);
        full.max_concurrent = 3;
        let mut stopped = c(2, 0, 0, 0);
        stopped.stop_new = true;
        let mut away = c(3, 0, 0, 0);
        away.status = AgentStatus::Rona;
        let mut gone = c(4, 0, 0, 0);
        gone.connected = false;
        assert!(rank(Strategy::LongestIdle, &[full, stopped, away, gone]).is_empty());
    }
}
