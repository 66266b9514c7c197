//! Faults for the simulator: the harness's own nemesis schedule (`crate::nemesis::schedule`),
//! the same data that drives the real world, re-exported here with a convenience constructor.
//! Faults of one lane (network: partition, delay, loss; process: kill, pause) never overlap;
//! faults of different lanes may, and all end before `duration_ms`.

pub use crate::nemesis::schedule::{
    links_between_groups, parse_nemesis_list, Fault, Link, NemesisKind, NodeId, PartitionShape,
    Schedule, ScheduleOptions, Step, Targets, UnknownNemesis,
};

/// The steps of the schedule for these options (a pure function of its arguments).
pub fn generate(
    seed: u64,
    nodes: &[NodeId],
    kinds: &[NemesisKind],
    duration_ms: u64,
    interval_ms: u64,
) -> Vec<Step> {
    Schedule::generate(&ScheduleOptions {
        seed,
        nodes: nodes.to_vec(),
        kinds: kinds.to_vec(),
        duration_ms,
        interval_ms,
    })
    .steps
}

/// The directed links (both ways) between two groups.
pub fn links_between(a: &[NodeId], b: &[NodeId]) -> Vec<Link> {
    links_between_groups(&[a.to_vec(), b.to_vec()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_schedule_and_faults_end_in_time() {
        let nodes = [1, 2, 3, 4, 5];
        let a = generate(7, &nodes, &NemesisKind::ALL, 20_000, 1_000);
        assert_eq!(a, generate(7, &nodes, &NemesisKind::ALL, 20_000, 1_000));
        assert!(!a.is_empty());
        assert!(a.iter().all(|s| s.start_ms < s.end_ms && s.end_ms < 20_000));
        assert!(generate(7, &nodes, &[], 20_000, 1_000).is_empty());
        assert_eq!(
            links_between(&[1], &[2, 3]),
            vec![(1, 2), (1, 3), (2, 1), (3, 1)]
        );
    }
}
