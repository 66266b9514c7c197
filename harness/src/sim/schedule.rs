//! Faults for the simulator: the harness's own nemesis schedule (`crate::nemesis::schedule`),
//! the same data that drives the real world, re-exported here with a convenience constructor.
//! Faults of one lane (network: partition, delay, loss; process: kill, pause; membership:
//! add-learner, promote, remove, replace) never overlap; faults of different lanes may, and all
//! end before `duration_ms`.

pub use crate::nemesis::schedule::{
    links_between_groups, links_out_of, parse_nemesis_list, Fault, Link, NemesisKind, NodeId,
    PartitionShape, Schedule, ScheduleOptions, Step, Targets, UnknownNemesis,
};

/// Parses the simulator's `--nemesis` list: as [`parse_nemesis_list`], except that `all` also
/// brings the simulator-only kinds (`membership`), which real runs cannot carry out yet.
/// `power-loss` is a crash there (the simulator's disk keeps only what was synced); `disk-error`
/// is refused (real runs only).
pub fn parse_sim_nemesis_list(list: &str) -> Result<Vec<NemesisKind>, UnknownNemesis> {
    let mut kinds = parse_nemesis_list(list)?;
    if kinds.contains(&NemesisKind::DiskError) {
        return Err(UnknownNemesis(
            "disk-error (real runs only, not simulated)".into(),
        ));
    }
    if list.split(',').any(|part| part.trim() == "all") {
        kinds.extend(NemesisKind::SIM_ONLY);
        kinds.sort_unstable();
        kinds.dedup();
    }
    Ok(kinds)
}

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
            parse_sim_nemesis_list("all").unwrap(),
            vec![
                NemesisKind::Partition,
                NemesisKind::Kill,
                NemesisKind::Pause,
                NemesisKind::Delay,
                NemesisKind::Membership
            ]
        );
        assert_eq!(
            parse_nemesis_list("all").unwrap(),
            NemesisKind::ALL.to_vec()
        );
        assert_eq!(
            links_between(&[1], &[2, 3]),
            vec![(1, 2), (1, 3), (2, 1), (3, 1)]
        );
    }
}
