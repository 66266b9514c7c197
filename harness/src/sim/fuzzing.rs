//! Body of the `sim_schedule` cargo-fuzz target (`fuzz/fuzz_targets/sim_schedule.rs`), kept in
//! the library so that `cargo test` runs the same code over the checked-in corpus
//! (`harness/tests/fuzz_corpus_sim.rs`).
//!
//! The fuzzer's bytes become a small simulated run through `arbitrary`: the cluster size, the
//! workload, the Raft timing, the network model (delay, loss, duplication, reordering, fsync
//! times, message budget), an explicit fault schedule of the harness's own `Step`/`Fault`/
//! `Targets` (partitions of every shape or any set of directed links, kills, pauses, link delay
//! and loss, possibly overlapping) and the run seed, which drives every per-message decision,
//! crash survivor choice and client operation. The run is the ordinary simulator ([`super::run`])
//! in memory, kept tiny (1-5 nodes, 1-4 clients, at most 0.8 simulated seconds of workload and
//! 40 operations) so that one execution costs about half a millisecond (`docs/fuzzing.md`).
//!
//! Any input maps to a valid run (missing bytes read as zeros), so the target panics only when
//! the correct build misbehaves: a Raft invariant breaks, a reply does not fit its operation, the
//! history is not linearizable, or the simulator itself fails on a valid spec. `Unknown` (the
//! checker's small time budget) is not a failure. The panic message carries the spec as JSON, so
//! `gauntlet sim --replay FILE` reruns a crash outside the fuzzer.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::run::{run, RunOptions, SimVerdict};
use super::schedule::{Fault, Link, NodeId, PartitionShape, Step, Targets};
use super::spec::{NetworkSpec, SimSpec, SimWorkload};
use crate::nemesis::schedule::partition_links;

/// The most fault steps one run holds.
pub const MAX_STEPS: usize = 6;
/// The longest workload phase, in simulated milliseconds.
pub const MAX_TIME_MS: u64 = 800;
/// The checker's budget per run (a run's history holds at most [`MAX_OPS`] operations).
pub const CHECK_BUDGET: Duration = Duration::from_millis(500);
/// The most operations the clients start in one run.
pub const MAX_OPS: u64 = 40;

const SHAPES: [PartitionShape; 6] = [
    PartitionShape::IsolateOne,
    PartitionShape::MajorityMinority,
    PartitionShape::RandomHalves,
    PartitionShape::Bridge,
    PartitionShape::MajoritiesRing,
    PartitionShape::IsolateLeader,
];

/// One fuzz input as a simulated run: a [`SimSpec`] with an explicit schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct FuzzRun(pub SimSpec);

impl<'a> Arbitrary<'a> for FuzzRun {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let seed = u.arbitrary::<u64>()?;
        let nodes = *u.choose(&[3, 3, 3, 5, 1, 2, 4, 3])?;
        let mut spec = SimSpec::new(seed);
        spec.nodes = nodes;
        spec.clients = *u.choose(&[3, 1, 2, 4])?;
        spec.workload = if u.arbitrary::<bool>()? {
            SimWorkload::Register
        } else {
            SimWorkload::Append
        };
        spec.time_ms = MAX_TIME_MS - 100 * u.int_in_range(0..=MAX_TIME_MS / 100 - 2)?;
        spec.final_reads_ms = 100 * u.int_in_range(1..=2)?;
        spec.max_ops = Some(MAX_OPS - u.int_in_range(0..=MAX_OPS - 4)?);
        spec.nemesis = Vec::new();
        // Faster elections than the server's 10-20 ticks of 50 ms, so that they fit in a short run.
        spec.tick_ms = *u.choose(&[50, 20, 50, 20])?;
        spec.election_ticks = u.int_in_range(3..=8)?;
        spec.max_msg_bytes = *u.choose(&[1 << 20, 64, 256, 4096])?;
        spec.network = network(u)?;
        let ids = spec.node_ids();
        let steps = u.int_in_range(0..=MAX_STEPS)?;
        let mut schedule = Vec::with_capacity(steps);
        for _ in 0..steps {
            if u.is_empty() {
                break;
            }
            schedule.push(step(u, &ids, spec.time_ms)?);
        }
        spec.schedule = Some(schedule);
        Ok(FuzzRun(spec))
    }
}

/// A chance in `[0, max]`, quadratic in the byte: mostly small (every lost client message costs
/// a simulated second of timeout), up to `max` for the byte 255.
fn chance(u: &mut Unstructured<'_>, max: f64) -> arbitrary::Result<f64> {
    let share = f64::from(u.arbitrary::<u8>()?) / 255.0;
    Ok(share * share * max)
}

fn network(u: &mut Unstructured<'_>) -> arbitrary::Result<NetworkSpec> {
    let defaults = NetworkSpec::default();
    let max_delay_us = *u.choose(&[3_000, 1_000, 20_000, 3_000])?;
    let max_sync_us = *u.choose(&[2_000, 500, 10_000, 2_000])?;
    Ok(NetworkSpec {
        min_delay_us: defaults.min_delay_us,
        max_delay_us,
        slow_chance: chance(u, 0.3)?,
        slow_delay_us: 1_000 * u.int_in_range(10..=300)?,
        loss_chance: chance(u, 0.3)?,
        duplicate_chance: chance(u, 0.3)?,
        min_sync_us: defaults.min_sync_us,
        max_sync_us,
    })
}

/// One fault with a window inside `[0, time_ms)`.
fn step(u: &mut Unstructured<'_>, ids: &[NodeId], time_ms: u64) -> arbitrary::Result<Step> {
    let start_ms = u.int_in_range(0..=time_ms - 2)?;
    let end_ms = u.int_in_range(start_ms + 1..=time_ms - 1)?;
    let fault = match u.int_in_range(0..=5u8)? {
        0 => {
            let shape = *u.choose(&SHAPES)?;
            let mut rng = ChaCha8Rng::seed_from_u64(u64::from(u.arbitrary::<u8>()?));
            Fault::Partition {
                shape,
                cut: partition_links(&mut rng, shape, ids),
            }
        }
        // Any set of directed links: asymmetric and one-way partitions.
        1 => Fault::Partition {
            shape: PartitionShape::IsolateOne,
            cut: links(u, ids)?,
        },
        2 => Fault::Kill {
            targets: targets(u, ids)?,
        },
        3 => Fault::Pause {
            targets: targets(u, ids)?,
        },
        4 => Fault::Delay {
            links: links(u, ids)?,
            fixed_ms: u.int_in_range(0..=200)?,
            jitter_ms: u.int_in_range(0..=100)?,
        },
        _ => Fault::Loss {
            links: links(u, ids)?,
        },
    };
    Ok(Step {
        start_ms,
        end_ms,
        fault,
    })
}

/// The leader, or a non-empty set of nodes.
fn targets(u: &mut Unstructured<'_>, ids: &[NodeId]) -> arbitrary::Result<Targets> {
    let mask = u.arbitrary::<u8>()?;
    if mask == 0 {
        return Ok(Targets::Leader);
    }
    let chosen: Vec<NodeId> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
        .map(|(_, &id)| id)
        .collect();
    Ok(if chosen.is_empty() {
        Targets::Leader
    } else {
        Targets::Nodes(chosen)
    })
}

/// A set of directed links between the nodes, one bit each.
fn links(u: &mut Unstructured<'_>, ids: &[NodeId]) -> arbitrary::Result<Vec<Link>> {
    let mask = u.arbitrary::<u32>()?;
    let all = ids
        .iter()
        .flat_map(|&a| ids.iter().filter(move |&&b| b != a).map(move |&b| (a, b)));
    Ok(all
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 32)) != 0)
        .map(|(_, link)| link)
        .collect())
}

/// The run `data` describes; every input gives a valid spec (short input reads as zeros).
pub fn spec_from_bytes(data: &[u8]) -> SimSpec {
    match FuzzRun::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(FuzzRun(spec)) => spec,
        // Not reached with the generators above (they read missing bytes as zeros); kept so
        // that no input can panic here.
        Err(_) => FuzzRun::arbitrary_take_rest(Unstructured::new(&[]))
            .map(|run| run.0)
            .unwrap_or_else(|_| SimSpec::new(0)),
    }
}

/// Runs `spec` in memory with the fuzz target's checker budget and returns its verdict.
pub fn verdict(spec: &SimSpec) -> SimVerdict {
    let options = RunOptions {
        check_timeout: CHECK_BUDGET,
        record_events: false,
    };
    run(spec, options).verdict
}

/// The fuzz target: runs the simulation `data` describes and panics when the correct build
/// misbehaves (a violation, or a harness failure on a valid spec).
pub fn sim_schedule(data: &[u8]) {
    let spec = spec_from_bytes(data);
    match verdict(&spec) {
        SimVerdict::Valid | SimVerdict::Unknown(_) => {}
        failed => {
            let json = serde_json::to_string(&spec).unwrap_or_else(|err| err.to_string());
            panic!(
                "sim_schedule: {}\n{}\nspec (save as FILE, then `gauntlet sim --replay FILE`):\n{json}",
                failed.summary(),
                match &failed {
                    SimVerdict::Violation { detail, .. } => detail.as_str(),
                    _ => "",
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_empty_inputs_map_to_valid_small_runs() {
        for data in [&[][..], &[0], &[0xff; 3], &[7; 40]] {
            let spec = spec_from_bytes(data);
            assert!((1..=5).contains(&spec.nodes));
            assert!((1..=4).contains(&spec.clients));
            assert!(spec.time_ms <= MAX_TIME_MS);
            let steps = spec.schedule.as_deref().unwrap_or_default();
            assert!(steps.len() <= MAX_STEPS);
            assert!(steps
                .iter()
                .all(|s| s.start_ms < s.end_ms && s.end_ms < spec.time_ms));
        }
    }

    #[test]
    fn link_and_target_bits_pick_nodes() {
        let ids = [1, 2, 3];
        let all = links(&mut Unstructured::new(&[0xff; 4]), &ids).unwrap();
        assert_eq!(all, vec![(1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2)]);
        let first = links(&mut Unstructured::new(&[1, 0, 0, 0]), &ids).unwrap();
        assert_eq!(first, vec![(1, 2)]);
        assert_eq!(
            targets(&mut Unstructured::new(&[0]), &ids).unwrap(),
            Targets::Leader
        );
        assert_eq!(
            targets(&mut Unstructured::new(&[0b101]), &ids).unwrap(),
            Targets::Nodes(vec![1, 3])
        );
        // Bits beyond the cluster select nobody, which falls back to the leader.
        assert_eq!(
            targets(&mut Unstructured::new(&[0b1000]), &ids).unwrap(),
            Targets::Leader
        );
    }

    #[test]
    fn bytes_decide_the_schedule() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        let spec = spec_from_bytes(&data);
        assert_eq!(spec, spec_from_bytes(&data));
        let mut other = data.clone();
        other[0] ^= 1;
        assert_ne!(spec.seed, spec_from_bytes(&other).seed);
    }
}
