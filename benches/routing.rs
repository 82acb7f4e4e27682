//! R27 routing at scale: a queue with 5,000 member agents and 50,000 waiting conversations.
//! `cargo bench --bench routing`. Numbers go in docs/BENCHMARKS.md ("Routing").
//!
//! What one dispatch of the queue actor costs (`src/actors/queue.rs`): the next conversation
//! from the waiting line (priority, then age, with sticky reservations apart), the eligible
//! agents picked out of the snapshots and the first few ranked by selection; and what a
//! conversation entering or leaving the line costs. The line's operations are O(log n) in the
//! waiting conversations: the 5,000 and 50,000 figures should be close.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use switchboard::domain::priority::queue_key;
use switchboard::domain::routing::{rank_top, Candidate};
use switchboard::domain::skills::{qualifies, RequiredSkill, Skill};
use switchboard::domain::sticky::Sticky;
use switchboard::domain::waiting_line::{Next, Waiting, WaitingLine};
use switchboard::domain::{AgentStatus, Strategy};

const AGENTS: i64 = 5_000;
const WAITING: i64 = 50_000;
/// As the queue actor: the first 8 are ranked by selection, the rest only if they refuse.
const FIRST_ASKED: usize = 8;
const NOW: i64 = 1_800_000_000_000;

/// A cheap deterministic spread (no rand in the measured loop).
fn spread(i: i64, m: i64) -> i64 {
    (i.wrapping_mul(2_654_435_761) >> 7).rem_euclid(m)
}

/// `n` waiting conversations: priorities mostly 0, some higher; one in ten reserved for a
/// sticky agent; arrival a millisecond apart.
fn line_of(n: i64) -> WaitingLine {
    let mut line = WaitingLine::new();
    for id in 0..n {
        line.insert(waiting(id));
    }
    line
}

fn waiting(id: i64) -> Waiting {
    let priority = match spread(id, 100) {
        0..=79 => 0,
        80..=94 => 5,
        _ => 9,
    } as u8;
    Waiting {
        key: queue_key(priority, NOW + id, id),
        sticky: (spread(id, 10) == 0).then(|| Sticky {
            agent_id: spread(id, AGENTS),
            until: NOW + 60_000 + id,
        }),
        queued_at: Some(NOW + id),
    }
}

/// 5,000 member agents: half eligible (available with room), the rest busy, away or
/// disconnected.
fn agents() -> Vec<Candidate> {
    (0..AGENTS)
        .map(|id| {
            let kind = spread(id, 4);
            Candidate {
                agent_id: id,
                connected: kind != 3,
                status: if kind == 2 {
                    AgentStatus::OnBreak
                } else {
                    AgentStatus::Available
                },
                stop_new: false,
                load: if kind == 1 { 3 } else { spread(id, 3) as u32 },
                max_concurrent: 3,
                idle_since: NOW - spread(id, 3_600_000),
                last_offer_at: NOW - spread(id, 600_000),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("waiting_line");
    for n in [5_000, WAITING] {
        let mut line = line_of(n);
        // Half the agents are ready for their reservations.
        for a in 0..AGENTS {
            line.set_ready(a, a % 2 == 0);
        }
        group.bench_with_input(BenchmarkId::new("enqueue_then_dequeue", n), &n, |b, _| {
            let mut id = n;
            b.iter(|| {
                id += 1;
                line.insert(waiting(black_box(id)));
                black_box(line.remove(id));
            })
        });
        group.bench_with_input(BenchmarkId::new("next", n), &n, |b, _| {
            b.iter(|| black_box(line.next()))
        });
        group.bench_with_input(
            BenchmarkId::new("take_the_next_and_requeue_it", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let id = match line.next() {
                        Some(Next::Anyone { interaction_id, .. })
                        | Some(Next::Reserved { interaction_id, .. }) => interaction_id,
                        None => unreachable!(),
                    };
                    let w = line.remove(id).unwrap();
                    line.insert(w);
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("agent_ready_toggle", n), &n, |b, _| {
            let mut a = 0;
            b.iter(|| {
                a = (a + 1) % AGENTS;
                line.set_ready(a, false);
                line.set_ready(a, true);
            })
        });
    }
    group.finish();

    let candidates = agents();
    let line = line_of(WAITING);
    c.bench_function("dispatch_choice_5000_agents_50000_waiting", |b| {
        b.iter(|| {
            // As QueueActor::dispatch: the next conversation, then the eligible agents and
            // the first few in rank order.
            let next = black_box(line.next());
            let eligible: Vec<Candidate> = candidates
                .iter()
                .filter(|c| c.eligible())
                .cloned()
                .collect();
            (
                next,
                rank_top(Strategy::LongestIdle, &eligible, FIRST_ASKED),
            )
        })
    });

    let skills: Vec<Skill> = ["english", "spanish", "billing", "returns", "vip", "french"]
        .iter()
        .enumerate()
        .map(|(i, n)| Skill {
            name: (*n).into(),
            level: 3 + i as u8,
        })
        .collect();
    let required = vec![
        RequiredSkill {
            name: "Spanish".into(),
            min_level: 4,
        },
        RequiredSkill {
            name: "billing".into(),
            min_level: 5,
        },
    ];
    c.bench_function("qualifies_6_skills_2_required", |b| {
        b.iter(|| qualifies(black_box(&skills), black_box(&required)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
