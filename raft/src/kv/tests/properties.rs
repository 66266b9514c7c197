//! Property tests over random logs of client commands with retries, stale resends and no-ops:
//! snapshot/restore at any point gives identical state, and each (client, seq) applies once.

use proptest::prelude::*;

use super::*;
use crate::kv::KvPlantedBugs;

/// One step a simulated client takes; turned into log entries by [`build_log`].
#[derive(Clone, Debug)]
enum Step {
    /// Client sends its next sequence (an append of a unique token, or another op).
    Next { client: u64, key: u8, kind: u8 },
    /// Client's last command appears in the log again (a retry that got committed twice).
    Retry { client: u64 },
    /// An older command of the client appears again (a very late duplicate).
    Stale { client: u64, back: u64 },
    /// A no-op or membership entry: only the index advances.
    Noop,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..6u64, 0..4u8, 0..6u8).prop_map(|(client, key, kind)| Step::Next { client, key, kind }),
        3 => (0..6u64).prop_map(|client| Step::Retry { client }),
        1 => (0..6u64, 1..4u64).prop_map(|(client, back)| Step::Stale { client, back }),
        1 => Just(Step::Noop),
    ]
}

/// The token an append of `(client, seq)` writes; unique per command.
fn token(client: u64, seq: u64) -> String {
    format!("<{client}.{seq}>")
}

/// Log entries: `None` is a no-op entry. Also returns every (client, seq) that was sent.
fn build_log(steps: &[Step]) -> (Vec<Option<Command>>, Vec<(u64, u64)>) {
    let mut sent: std::collections::BTreeMap<u64, Vec<Command>> = Default::default();
    let mut log = Vec::new();
    let mut all = Vec::new();
    for s in steps {
        match *s {
            Step::Next { client, key, kind } => {
                let history = sent.entry(client).or_default();
                let seq = history.len() as u64 + 1;
                let key = format!("k{key}");
                let op = match kind {
                    0 => get(&key),
                    1 => Op::Delete { key },
                    2 => Op::Cas {
                        key,
                        expected: None,
                        new: token(client, seq),
                    },
                    _ => append(&key, &token(client, seq)),
                };
                let c = cmd(client, seq, op);
                history.push(c.clone());
                all.push((client, seq));
                log.push(Some(c));
            }
            Step::Retry { client } => {
                if let Some(c) = sent.get(&client).and_then(|h| h.last()) {
                    log.push(Some(c.clone()));
                }
            }
            Step::Stale { client, back } => {
                if let Some(h) = sent.get(&client) {
                    if let Some(c) = h.len().checked_sub(1 + back as usize).map(|i| &h[i]) {
                        log.push(Some(c.clone()));
                    }
                }
            }
            Step::Noop => log.push(None),
        }
    }
    (log, all)
}

fn apply_all(m: &mut KvStateMachine, log: &[Option<Command>], first_index: u64) {
    for (i, entry) in log.iter().enumerate() {
        let index = first_index + i as u64;
        match entry {
            Some(c) => {
                m.apply_entry(index, &c.encode()).unwrap();
            }
            None => m.mark_applied(index).unwrap(),
        }
    }
}

fn small_config() -> KvConfig {
    KvConfig {
        session_idle_entries: 8,
        max_sessions: 3,
        max_tombstones: 64,
        bugs: KvPlantedBugs::default(),
    }
}

/// How many times `needle` occurs across all values.
fn occurrences(m: &KvStateMachine, needle: &str) -> usize {
    m.data().values().map(|v| v.matches(needle).count()).sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_restore_midway_gives_identical_state(
        steps in prop::collection::vec(step(), 0..120),
        split_permille in 0..=1000usize,
        small in any::<bool>(),
    ) {
        let cfg = if small { small_config() } else { KvConfig::default() };
        let (log, _) = build_log(&steps);
        let split = log.len() * split_permille / 1000;

        let mut whole = KvStateMachine::new(cfg.clone());
        apply_all(&mut whole, &log, 1);

        let mut first = KvStateMachine::new(cfg.clone());
        apply_all(&mut first, &log[..split], 1);
        let image = first.snapshot();
        let mut second = KvStateMachine::from_snapshot(cfg, &image).unwrap();
        prop_assert_eq!(second.snapshot(), image);
        apply_all(&mut second, &log[split..], split as u64 + 1);

        prop_assert_eq!(&second, &whole);
        prop_assert_eq!(second.snapshot(), whole.snapshot());
    }

    #[test]
    fn replayed_log_with_duplicates_applies_each_command_once(
        steps in prop::collection::vec(step(), 0..150),
    ) {
        // Only appends, so every applied command leaves exactly one token behind.
        let steps: Vec<Step> = steps
            .into_iter()
            .map(|s| match s {
                Step::Next { client, key, .. } => Step::Next { client, key, kind: 5 },
                other => other,
            })
            .collect();
        let (log, sent) = build_log(&steps);
        let mut m = KvStateMachine::new(KvConfig::default());
        apply_all(&mut m, &log, 1);
        for (client, seq) in sent {
            prop_assert_eq!(occurrences(&m, &token(client, seq)), 1, "client {} seq {}", client, seq);
        }
    }

    #[test]
    fn expiry_and_eviction_never_apply_a_command_twice(
        steps in prop::collection::vec(step(), 0..200),
    ) {
        let cfg = small_config();
        let (log, sent) = build_log(&steps);
        let mut m = KvStateMachine::new(cfg.clone());
        for (i, entry) in log.iter().enumerate() {
            match entry {
                Some(c) => { m.apply_entry(i as u64 + 1, &c.encode()).unwrap(); }
                None => m.mark_applied(i as u64 + 1).unwrap(),
            }
            prop_assert!(m.sessions().len() <= cfg.max_sessions);
        }
        for (client, seq) in sent {
            prop_assert!(occurrences(&m, &token(client, seq)) <= 1, "client {} seq {}", client, seq);
        }
    }
}
