//! Property: any subset of one leader's AppendEntries, in any order and duplicated, leaves
//! the follower's log a prefix of the leader's that never shrinks.

use proptest::prelude::*;

use super::*;
use crate::core::*;

fn leader_log(term_steps: &[bool]) -> Vec<Entry> {
    let mut term = 1;
    term_steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            if *step {
                term += 1;
            }
            entry(i as Index + 1, term)
        })
        .collect()
}

proptest! {
    #[test]
    fn follower_log_only_grows_and_stays_a_prefix(
        term_steps in proptest::collection::vec(proptest::bool::weighted(0.2), 1..40),
        sends in proptest::collection::vec((0usize..40, 0usize..40), 1..60),
    ) {
        let log = leader_log(&term_steps);
        let n = log.len();
        let leader_term = log[n - 1].term;
        let mut follower = Node::bootstrap(config(2), ConfState::with_voters([1, 2, 3])).unwrap();
        let mut last = 0;
        for (a, b) in sends {
            let (lo, hi) = ((a % n).min(b % n), (a % n).max(b % n));
            let prev = (lo as Index, if lo == 0 { 0 } else { log[lo - 1].term });
            let m = append(1, 2, leader_term, prev, log[lo..=hi].to_vec());
            follower.step(m).unwrap();
            let now = follower.status().last_index;
            prop_assert!(now >= last, "log shrank from {} to {}", last, now);
            last = now;
            for i in 1..=now {
                prop_assert_eq!(follower.log_term(i), Some(log[i as usize - 1].term));
            }
        }
    }
}
