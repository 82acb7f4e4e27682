//! R19: where a conversation can be transferred or who can be invited: the queues, and the
//! agents that are connected, available, taking offers and below capacity.

use super::{agent::GetView, queue::GetStats, registry::Registry};
use crate::domain::AgentStatus;
use crate::ws::protocol::{AgentTarget, QueueTarget};
use futures_util::future::join_all;

/// R19: every queue with its waiting count, and the agents that are connected, available,
/// taking offers and below capacity; both filtered by a case-insensitive search string.
pub async fn find(
    registry: &Registry,
    me: i64,
    filter: Option<&str>,
) -> (Vec<QueueTarget>, Vec<AgentTarget>) {
    let needle = filter.map(|f| f.trim().to_lowercase()).unwrap_or_default();
    let matches = |name: &str| needle.is_empty() || name.to_lowercase().contains(&needle);
    let queues = registry.queues();
    let stats = join_all(queues.iter().map(|(_, q)| q.send(GetStats))).await;
    let queues = queues
        .into_iter()
        .zip(stats)
        .filter(|((rec, _), _)| matches(&rec.name))
        .map(|((rec, _), stats)| QueueTarget {
            id: rec.id,
            name: rec.name,
            waiting: stats.map(|s| s.waiting).unwrap_or(0),
        })
        .collect();
    let agents = registry.agents();
    let views = join_all(agents.iter().map(|(_, a)| a.send(GetView))).await;
    let mut agents: Vec<_> = views
        .into_iter()
        .flatten()
        .filter(|v| {
            v.id != me
                && v.connected
                && v.status == AgentStatus::Available
                && !v.stop_new
                && v.load < v.max_concurrent
                && matches(&v.display_name)
        })
        .map(|v| AgentTarget {
            id: v.id,
            display_name: v.display_name,
            load: v.load,
            max_concurrent: v.max_concurrent,
        })
        .collect();
    agents.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
    (queues, agents)
}
