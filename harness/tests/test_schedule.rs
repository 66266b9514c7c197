//! The nemesis schedule is data fixed by its seed: same options, same faults; faults stay inside
//! the run and never overlap; partition shapes cut what their names promise; `lag-kill` leaves a
//! node behind, kills the leader, heals while the leader is down, then restarts it; `diverge`
//! cuts the leader off two or three times in a row; adding a composed kind never changes the
//! schedules documented seeds already have.

use harness::nemesis::schedule::{
    composed_windows, isolate, links_between_groups, parse_nemesis_list, partition_links, Fault,
    Lane, NemesisKind, PartitionShape, Schedule, ScheduleOptions, Step, Targets,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn options(seed: u64, kinds: &[NemesisKind]) -> ScheduleOptions {
    ScheduleOptions {
        seed,
        nodes: vec![1, 2, 3, 4, 5],
        kinds: kinds.to_vec(),
        duration_ms: 60_000,
        interval_ms: 2_000,
    }
}

#[test]
fn same_seed_same_schedule_and_other_seeds_differ() {
    let a = Schedule::generate(&options(7, &NemesisKind::ALL));
    let b = Schedule::generate(&options(7, &NemesisKind::ALL));
    assert_eq!(a, b);
    assert!(
        a.steps.len() >= 5,
        "a 60 s run with 2 s faults has many: {}",
        a.steps.len()
    );
    let differing = (8..18)
        .filter(|&seed| Schedule::generate(&options(seed, &NemesisKind::ALL)).steps != a.steps)
        .count();
    assert_eq!(differing, 10);
}

#[test]
fn a_schedule_survives_a_json_round_trip() {
    let schedule = Schedule::generate(&options(3, &NemesisKind::ALL));
    let text = serde_json::to_string(&schedule).unwrap();
    let back: Schedule = serde_json::from_str(&text).unwrap();
    assert_eq!(back, schedule);
}

#[test]
fn faults_are_inside_the_run_and_never_overlap_within_a_lane() {
    let mut overlaps_across_lanes = 0;
    for seed in 0..50 {
        let schedule = Schedule::generate(&options(seed, &NemesisKind::ALL));
        assert!(schedule
            .steps
            .windows(2)
            .all(|w| w[0].start_ms <= w[1].start_ms));
        for lane in Lane::ALL {
            let mut previous_end = 0;
            for step in schedule.lane(lane) {
                assert!(step.start_ms > previous_end);
                assert!(step.start_ms < step.end_ms);
                assert!(step.end_ms < 60_000);
                assert_eq!(Lane::of(step.fault.kind()), lane);
                previous_end = step.end_ms;
            }
        }
        let network = schedule.lane(Lane::Network);
        let process = schedule.lane(Lane::Process);
        overlaps_across_lanes += network
            .iter()
            .filter(|n| {
                process
                    .iter()
                    .any(|p| p.start_ms < n.end_ms && n.start_ms < p.end_ms)
            })
            .count();
    }
    assert!(
        overlaps_across_lanes > 0,
        "a kill during a partition must be possible"
    );
}

#[test]
fn only_the_chosen_kinds_appear() {
    for seed in 0..20 {
        let schedule = Schedule::generate(&options(seed, &[NemesisKind::Kill]));
        assert!(schedule
            .steps
            .iter()
            .all(|s| matches!(s.fault, Fault::Kill { .. })));
    }
    assert!(Schedule::generate(&options(1, &[])).steps.is_empty());
}

#[test]
fn nemesis_lists_parse_and_reject_unknown_names() {
    assert_eq!(
        parse_nemesis_list("kill,partition,kill").unwrap(),
        vec![NemesisKind::Partition, NemesisKind::Kill]
    );
    assert_eq!(
        parse_nemesis_list("all").unwrap(),
        NemesisKind::ALL.to_vec()
    );
    // The parsed list comes in the enum's order; `every()` lists single, opt-in, composed,
    // simulator-only, then disk kinds.
    let mut every: Vec<NemesisKind> = NemesisKind::every().collect();
    every.sort();
    assert_eq!(
        parse_nemesis_list(
            "diverge,lag-kill,all,membership,stale-links,client-partition,power-loss,disk-error"
        )
        .unwrap(),
        every
    );
    assert!(
        !parse_nemesis_list("all")
            .unwrap()
            .contains(&NemesisKind::Diverge),
        "all is the single kinds only"
    );
    assert_eq!(
        parse_nemesis_list("diverge").unwrap(),
        vec![NemesisKind::Diverge]
    );
    assert_eq!(
        parse_nemesis_list("lag-kill").unwrap(),
        vec![NemesisKind::LagKill]
    );
    assert!(parse_nemesis_list("none").unwrap().is_empty());
    let err = parse_nemesis_list("partition,clock").unwrap_err();
    assert!(err.to_string().contains("clock"));
}

/// Which nodes each node can still reach directly.
fn reach(cut: &[(u64, u64)], nodes: &[u64]) -> Vec<(u64, usize)> {
    nodes
        .iter()
        .map(|&a| {
            let seen = nodes
                .iter()
                .filter(|&&b| b != a && !cut.contains(&(a, b)))
                .count();
            (a, seen + 1)
        })
        .collect()
}

#[test]
fn partition_shapes_cut_what_they_promise() {
    let nodes = [1, 2, 3, 4, 5];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let majority = 3;
    for _ in 0..20 {
        // Majority/minority: exactly 3 nodes see 3, 2 nodes see 2.
        let cut = partition_links(&mut rng, PartitionShape::MajorityMinority, &nodes);
        let mut sizes: Vec<usize> = reach(&cut, &nodes).into_iter().map(|(_, s)| s).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![2, 2, 3, 3, 3]);
        // Bridge: two majorities sharing one node, the only one that sees everyone.
        let cut = partition_links(&mut rng, PartitionShape::Bridge, &nodes);
        let sizes = reach(&cut, &nodes);
        assert_eq!(sizes.iter().filter(|(_, s)| *s == 5).count(), 1);
        assert!(sizes.iter().all(|(_, s)| *s >= majority), "{sizes:?}");
        assert_eq!(cut.len(), 8, "2 x 2 nodes, both directions");
        // Majorities ring: everyone sees a majority, nobody sees everyone.
        let cut = partition_links(&mut rng, PartitionShape::MajoritiesRing, &nodes);
        assert!(reach(&cut, &nodes).iter().all(|(_, s)| *s == majority));
        // Every cut is symmetric.
        assert!(cut.iter().all(|&(a, b)| cut.contains(&(b, a))));
    }
    assert_eq!(isolate(2, &[1, 2, 3]), vec![(1, 2), (2, 1), (2, 3), (3, 2)]);
    assert_eq!(
        links_between_groups(&[vec![1], vec![2, 3]]),
        isolate(1, &[1, 2, 3])
    );
}

/// The lag-kill steps of a schedule, as (isolation, kill) pairs.
fn lag_kill_pairs(steps: &[Step]) -> Vec<(Step, Step)> {
    let losses: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.fault, Fault::Loss { .. }))
        .collect();
    let kills: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.fault, Fault::Kill { .. }))
        .collect();
    assert_eq!(losses.len(), kills.len(), "{steps:#?}");
    losses
        .into_iter()
        .cloned()
        .zip(kills.into_iter().cloned())
        .collect()
}

#[test]
fn lag_kill_isolates_then_kills_the_leader_then_heals_while_it_is_still_down() {
    let nodes = [1, 2, 3, 4, 5];
    let (mut leader_kills, mut others_kills) = (0, 0);
    for seed in 0..30 {
        let opts = options(seed, &[NemesisKind::LagKill]);
        let schedule = Schedule::generate(&opts);
        let pairs = lag_kill_pairs(&schedule.steps);
        assert_eq!(pairs.len() * 2, schedule.steps.len());
        assert!(
            pairs.len() >= 5,
            "60 s at 2 s intervals holds several: {}",
            pairs.len()
        );
        let mut previous_restart = 0;
        for (isolation, kill) in &pairs {
            let Fault::Loss { links } = &isolation.fault else {
                unreachable!()
            };
            let behind = nodes
                .iter()
                .copied()
                .find(|&n| links.iter().all(|&(a, b)| a == n || b == n))
                .expect("one node in every cut link");
            assert_eq!(*links, isolate(behind, &nodes), "one node cut off");
            // isolate < kill < heal < restart, with time for the majority to commit first.
            assert!(isolation.start_ms > previous_restart);
            assert!(kill.start_ms >= isolation.start_ms + 2_000);
            match &kill.fault {
                Fault::Kill {
                    targets: Targets::Leader,
                } => {
                    leader_kills += 1;
                    assert!(kill.start_ms + 1_500 <= isolation.end_ms);
                    assert!(isolation.end_ms <= kill.start_ms + 2_000);
                    assert!(kill.end_ms >= isolation.end_ms + 2_000);
                }
                Fault::Kill {
                    targets: Targets::Nodes(killed),
                } => {
                    others_kills += 1;
                    let others: Vec<u64> = nodes.iter().copied().filter(|&n| n != behind).collect();
                    assert_eq!(*killed, others, "every node but the one left behind");
                    assert!(kill.start_ms + 200 <= isolation.end_ms);
                    assert!(isolation.end_ms <= kill.start_ms + 400);
                    assert!(kill.end_ms >= isolation.end_ms + 200);
                    assert!(kill.end_ms <= isolation.end_ms + 500);
                }
                other => panic!("not a kill: {other:?}"),
            }
            assert!(kill.end_ms < 60_000);
            previous_restart = kill.end_ms;
        }
        assert_eq!(schedule, Schedule::generate(&opts), "same seed, same plan");
    }
    assert!(
        leader_kills > 30 && others_kills > 30,
        "{leader_kills} {others_kills}"
    );
}

#[test]
fn lag_kill_shares_the_run_with_single_faults_without_overlapping_them() {
    let every = parse_nemesis_list("all,lag-kill").unwrap();
    let mut single_steps = 0;
    let mut composed = 0;
    for seed in 0..30 {
        let opts = options(seed, &every);
        let schedule = Schedule::generate(&opts);
        let windows = composed_windows(&opts);
        composed += windows.len();
        let singles_only = Schedule::generate(&options(seed, &NemesisKind::ALL));
        for step in &schedule.steps {
            let in_window = windows.iter().any(|w| w.steps.contains(step));
            if in_window {
                continue;
            }
            single_steps += 1;
            // Adding lag-kill only leaves single faults out; it never draws different ones.
            assert!(singles_only.steps.contains(step), "{step:?}");
            assert!(windows
                .iter()
                .all(|w| step.end_ms < w.start_ms || w.end_ms < step.start_ms));
        }
        for lane in Lane::ALL {
            let mut previous_end = 0;
            for step in schedule.lane(lane) {
                assert!(step.start_ms > previous_end, "{lane:?} overlaps");
                assert!(step.end_ms < 60_000);
                previous_end = step.end_ms;
            }
        }
        let text = serde_json::to_string(&schedule).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&text).unwrap(), schedule);
    }
    assert!(
        composed >= 30,
        "about two lag-kills a minute with all kinds: {composed}"
    );
    assert!(
        single_steps >= 30 * 5,
        "single faults keep most of the run: {single_steps}"
    );
}

/// A fingerprint of a schedule's steps (FNV-1a over their JSON).
fn fingerprint(list: &str, seed: u64) -> (usize, u64) {
    let schedule = Schedule::generate(&options(seed, &parse_nemesis_list(list).unwrap()));
    let text = serde_json::to_string(&schedule.steps).unwrap();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (schedule.steps.len(), hash)
}

#[test]
fn adding_diverge_left_the_schedules_of_documented_seeds_unchanged() {
    // Taken before `diverge` existed: a seed's schedule under `all`, `lag-kill` or single kinds
    // is what it was, so seeds quoted in the docs and in old run directories still replay.
    let pinned = [
        ("all", 1, 28, 0x9098_96d9_78f8_5e13),
        ("all", 7, 28, 0xf37d_d94d_5844_ca28),
        ("lag-kill", 1, 12, 0x82fe_773b_ee68_142c),
        ("lag-kill", 7, 12, 0x3384_b9bb_fed0_8692),
        ("partition,kill", 1, 29, 0x3e5c_de05_330f_dd1a),
        ("partition,kill", 7, 27, 0x5989_15b4_3321_a02f),
    ];
    for (list, seed, steps, hash) in pinned {
        assert_eq!(fingerprint(list, seed), (steps, hash), "{list} seed {seed}");
    }
}

#[test]
fn diverge_cuts_the_leader_off_two_or_three_times_in_a_row() {
    let (mut twos, mut threes) = (0, 0);
    for seed in 0..30 {
        let opts = options(seed, &[NemesisKind::Diverge]);
        let schedule = Schedule::generate(&opts);
        let windows = composed_windows(&opts);
        assert!(windows.len() >= 3, "60 s at 2 s intervals holds several");
        assert_eq!(
            schedule.steps,
            windows
                .iter()
                .flat_map(|w| w.steps.clone())
                .collect::<Vec<_>>()
        );
        for window in &windows {
            assert_eq!(window.kind, NemesisKind::Diverge);
            match window.steps.len() {
                2 => twos += 1,
                3 => threes += 1,
                n => panic!("{n} rounds"),
            }
            let mut previous_end = None;
            for step in &window.steps {
                assert_eq!(
                    step.fault,
                    Fault::Partition {
                        shape: PartitionShape::IsolateLeader,
                        cut: Vec::new()
                    }
                );
                // Long enough to depose the old leader, elect and commit; the next round starts
                // while the deposed leader is still being repaired.
                let length = step.end_ms - step.start_ms;
                assert!((1_500..=2_500).contains(&length), "{length} ms");
                if let Some(end) = previous_end {
                    let gap = step.start_ms - end;
                    assert!((200..=500).contains(&gap), "{gap} ms between rounds");
                }
                previous_end = Some(step.end_ms);
            }
            assert_eq!(window.start_ms, window.steps[0].start_ms);
            assert_eq!(Some(window.end_ms), previous_end);
            assert!(window.end_ms < 60_000);
        }
        // With single kinds too: they are left out of diverge's windows, never redrawn.
        let mixed = Schedule::generate(&options(seed, &parse_nemesis_list("all,diverge").unwrap()));
        let singles_only = Schedule::generate(&options(seed, &NemesisKind::ALL));
        let mixed_windows =
            composed_windows(&options(seed, &parse_nemesis_list("all,diverge").unwrap()));
        for step in &mixed.steps {
            if mixed_windows.iter().any(|w| w.steps.contains(step)) {
                continue;
            }
            assert!(singles_only.steps.contains(step), "{step:?}");
            assert!(mixed_windows
                .iter()
                .all(|w| step.end_ms < w.start_ms || w.end_ms < step.start_ms));
        }
        let text = serde_json::to_string(&schedule).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&text).unwrap(), schedule);
    }
    assert!(twos > 10 && threes > 10, "{twos} {threes}");
}

#[test]
fn stale_links_is_opt_in_and_leaves_documented_schedules_alone() {
    assert!(!parse_nemesis_list("all")
        .unwrap()
        .contains(&NemesisKind::StaleLinks));
    assert_eq!(
        parse_nemesis_list("stale-links").unwrap(),
        vec![NemesisKind::StaleLinks]
    );
    for seed in 1..20 {
        // `all` and the default `partition,kill` give the same faults as before the kind existed:
        // none of theirs is a stale-links fault.
        for kinds in [
            &NemesisKind::ALL[..],
            &[NemesisKind::Partition, NemesisKind::Kill],
        ] {
            let schedule = Schedule::generate(&options(seed, kinds));
            assert!(schedule
                .steps
                .iter()
                .all(|s| !matches!(s.fault, Fault::Stale { .. })));
        }
    }
}

#[test]
fn stale_links_faults_are_network_faults_with_a_full_cycle() {
    for seed in 1..20 {
        let kinds = [NemesisKind::Partition, NemesisKind::StaleLinks];
        let schedule = Schedule::generate(&options(seed, &kinds));
        let stale: Vec<&Step> = schedule
            .steps
            .iter()
            .filter(|s| matches!(s.fault, Fault::Stale { .. }))
            .collect();
        assert!(!stale.is_empty(), "seed {seed}: no stale-links fault");
        for step in stale {
            let Fault::Stale {
                source,
                pass_ms,
                stall_ms,
                long_stall_ms,
                release_ms,
            } = &step.fault
            else {
                unreachable!("filtered above");
            };
            assert_eq!(step.fault.kind(), NemesisKind::StaleLinks);
            assert_eq!(Lane::of(step.fault.kind()), Lane::Network);
            assert!(
                (3..=20).contains(pass_ms)
                    && *stall_ms < 500
                    && *long_stall_ms > 500
                    && pass_ms + stall_ms >= 300,
                "a short pass, stalls on both sides of the election timeout"
            );
            assert!((100..=300).contains(release_ms));
            assert_eq!(*source, Targets::Leader);
            assert_eq!(step.fault.name(), "stale-links");
        }
        // Data: a saved schedule replays as the same faults.
        let json = serde_json::to_string(&schedule).unwrap();
        let replayed: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(replayed, schedule);
        // One lane: its faults never overlap.
        let lane = schedule.lane(Lane::Network);
        for pair in lane.windows(2) {
            assert!(pair[0].end_ms < pair[1].start_ms);
        }
    }
}

#[test]
fn faults_print_kebab_case_names_and_plain_node_lists() {
    let shapes = [
        PartitionShape::IsolateOne,
        PartitionShape::MajorityMinority,
        PartitionShape::RandomHalves,
        PartitionShape::Bridge,
        PartitionShape::MajoritiesRing,
        PartitionShape::IsolateLeader,
    ];
    for shape in shapes {
        let json = serde_json::to_string(&shape).unwrap();
        assert_eq!(json, format!("\"{}\"", shape.name()));
        let fault = Fault::Partition {
            shape,
            cut: vec![(1, 2)],
        };
        assert_eq!(
            fault.to_string(),
            format!("partition {} cut [1->2]", shape.name())
        );
    }
    let kill = Fault::Kill {
        targets: Targets::Nodes(vec![1, 3]),
    };
    assert_eq!(kill.to_string(), "kill nodes 1,3");
}
