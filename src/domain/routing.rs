//! Which eligible agent gets the next offer (R2). Pure: the queue actor feeds it snapshots.

use super::{AgentStatus, Strategy};

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
