//! Leader churn: a protocol-aware adversary that strikes a leader a short random time after a
//! protocol moment (its election; its first commit in its term), or at the end of a random
//! tenure if it survived those, crashing it (restart from disk later) or cutting it off from
//! every peer (messages still in flight to or from it are lost).
//!
//! Random faults at random times rarely land in the few milliseconds after an election, when a
//! new leader holds entries that only a minority has and is catching followers up, or right
//! after a new leader's first commit, before its followers learn of it; that is where
//! leader-change bugs (Raft's Figure 8) live. Striking leaders at those moments, again and again,
//! produces the "leaders fail with partial replication, in a given order" shapes.
//!
//! Decisions come from their own seeded stream, drawn for every opportunity in order whether or
//! not the strike is carried out, so sparing one strike (`--shrink`) leaves later decisions alone.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The knobs of leader churn (saved in `spec.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChurnSpec {
    /// Chance that a newly elected leader is struck.
    pub chance: f64,
    /// Chance that a leader is struck after its first commit in its term.
    #[serde(default)]
    pub commit_chance: f64,
    /// Chance that a leader not struck right after its election is struck at the end of a
    /// tenure uniform in `[1, max_tenure_ms]` ms (in the middle of its normal work).
    #[serde(default)]
    pub tenure_chance: f64,
    #[serde(default = "default_max_tenure_ms")]
    pub max_tenure_ms: u64,
    /// Time from the moment to the strike, log-uniform in `[min_delay_us, max_delay_us]`.
    pub min_delay_us: u64,
    pub max_delay_us: u64,
    /// How long the strike lasts (down or cut off), uniform in `[min_down_ms, max_down_ms]`.
    pub min_down_ms: u64,
    pub max_down_ms: u64,
    /// Chance that a strike cuts the leader off instead of crashing it.
    pub isolate_chance: f64,
    /// At most this many strikes in one run.
    pub max_strikes: u32,
    /// Opportunities (numbered from 0 in the order they happen: every new leader's election and
    /// its first commit) whose strike is not carried out; `--shrink` fills this in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spared: Vec<u32>,
}

fn default_max_tenure_ms() -> u64 {
    2_000
}

impl Default for ChurnSpec {
    /// Every other leader, struck 0.1-20 ms after its election or its first commit, or after a
    /// tenure of up to 2 s, for 0.2-2 s.
    fn default() -> Self {
        ChurnSpec {
            chance: 0.5,
            commit_chance: 0.5,
            tenure_chance: 0.5,
            max_tenure_ms: default_max_tenure_ms(),
            min_delay_us: 100,
            max_delay_us: 20_000,
            min_down_ms: 200,
            max_down_ms: 2_000,
            isolate_chance: 0.25,
            max_strikes: 20,
            spared: Vec::new(),
        }
    }
}

impl ChurnSpec {
    /// Checks the knobs; the error names what was expected.
    pub fn validate(&self) -> Result<(), String> {
        let chances = [
            self.chance,
            self.commit_chance,
            self.tenure_chance,
            self.isolate_chance,
        ];
        if chances.iter().any(|c| !(0.0..=1.0).contains(c)) {
            return Err("leader churn chances must be between 0 and 1".into());
        }
        if self.min_delay_us == 0
            || self.min_delay_us > self.max_delay_us
            || self.min_down_ms == 0
            || self.min_down_ms > self.max_down_ms
            || self.max_tenure_ms == 0
        {
            return Err("leader churn needs 0 < min <= max for delays and down times".into());
        }
        Ok(())
    }
}

/// How a strike hits the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrikeKind {
    /// Crash it; it restarts from its disk when the strike ends.
    Crash,
    /// Cut every link to and from it; healed when the strike ends.
    Isolate,
}

/// The protocol moment a strike follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Elected,
    FirstCommit,
    /// The end of a leader's tenure (it survived its election).
    Tenure,
}

impl Moment {
    pub fn name(self) -> &'static str {
        match self {
            Moment::Elected => "elected",
            Moment::FirstCommit => "first-commit",
            Moment::Tenure => "tenure",
        }
    }
}

/// One strike to carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strike {
    pub node: u64,
    pub term: u64,
    /// The opportunity's number (what `spared` refers to).
    pub opportunity: u32,
    pub moment: Moment,
    pub kind: StrikeKind,
    pub at_us: u64,
    pub until_us: u64,
}

/// The adversary's state during one run.
#[derive(Debug)]
pub struct Churn {
    spec: ChurnSpec,
    rng: ChaCha8Rng,
    last_term: u64,
    /// The commit index when the leader of `last_term` was first seen (`None` once it moved).
    commit_at_election: Option<u64>,
    opportunities: u32,
    /// Opportunities struck so far, in order.
    pub struck: Vec<u32>,
}

impl Churn {
    pub fn new(spec: ChurnSpec, seed: u64) -> Churn {
        Churn {
            spec,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6c65_6164_6572_6368),
            last_term: 0,
            commit_at_election: None,
            opportunities: 0,
            struck: Vec::new(),
        }
    }

    /// Called whenever a node reports itself leader (with its commit index); decides, once per
    /// new term and once at the first commit in it, whether and how to strike it. Strikes end
    /// before `end_us` (the end of the workload phase).
    pub fn on_leader(
        &mut self,
        now_us: u64,
        node: u64,
        term: u64,
        commit: u64,
        end_us: u64,
    ) -> Option<Strike> {
        let (mut moment, chance) = if term > self.last_term {
            self.last_term = term;
            self.commit_at_election = Some(commit);
            (Moment::Elected, self.spec.chance)
        } else if term == self.last_term && self.commit_at_election.is_some_and(|c| commit > c) {
            self.commit_at_election = None;
            (Moment::FirstCommit, self.spec.commit_chance)
        } else {
            return None;
        };
        let opportunity = self.opportunities;
        self.opportunities += 1;
        let s = &self.spec;
        let roll = self.rng.random_bool(chance);
        let (lo, hi) = (s.min_delay_us as f64, s.max_delay_us as f64);
        let delay = (lo * (hi / lo).powf(self.rng.random::<f64>())) as u64;
        let down_ms = self.rng.random_range(s.min_down_ms..=s.max_down_ms);
        let isolate = self.rng.random_bool(s.isolate_chance);
        let tenure_roll = self.rng.random_bool(s.tenure_chance);
        let tenure_us = self.rng.random_range(1..=s.max_tenure_ms) * 1_000;
        let mut at_us = now_us + delay.max(1);
        let mut roll = roll;
        if moment == Moment::Elected && !roll && tenure_roll {
            moment = Moment::Tenure;
            at_us = now_us + tenure_us;
            roll = true;
        }
        let until_us = (at_us + down_ms * 1_000).min(end_us);
        let allowed = roll
            && (self.struck.len() as u32) < s.max_strikes
            && !s.spared.contains(&opportunity)
            && at_us < until_us;
        if !allowed {
            return None;
        }
        self.struck.push(opportunity);
        Some(Strike {
            node,
            term,
            opportunity,
            moment,
            kind: if isolate {
                StrikeKind::Isolate
            } else {
                StrikeKind::Crash
            },
            at_us,
            until_us,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const END: u64 = 10_000_000;

    #[test]
    fn strikes_at_election_and_first_commit_within_bounds_and_spares_on_request() {
        let spec = ChurnSpec {
            chance: 1.0,
            commit_chance: 1.0,
            ..ChurnSpec::default()
        };
        let mut churn = Churn::new(spec.clone(), 3);
        let first = churn.on_leader(1_000, 2, 5, 7, END).expect("strikes");
        assert_eq!((first.node, first.term, first.opportunity), (2, 5, 0));
        assert_eq!(first.moment, Moment::Elected);
        assert!(first.at_us >= 1_100 && first.at_us <= 21_000);
        assert!(first.until_us > first.at_us && first.until_us <= END);
        // Same term, no new commit: nothing; an old term: nothing.
        assert_eq!(churn.on_leader(2_000, 2, 5, 7, END), None);
        assert_eq!(churn.on_leader(2_000, 3, 4, 9, END), None);
        let commit = churn.on_leader(2_500, 2, 5, 8, END).expect("strikes");
        assert_eq!(
            (commit.moment, commit.opportunity),
            (Moment::FirstCommit, 1)
        );
        assert_eq!(
            churn.on_leader(2_600, 2, 5, 9, END),
            None,
            "only the first commit"
        );
        let second = churn.on_leader(3_000, 3, 6, 9, END).expect("strikes");
        assert_eq!(second.opportunity, 2);
        assert_eq!(churn.struck, vec![0, 1, 2]);
        // Sparing opportunity 0 keeps the later decisions as they were.
        let mut spared = Churn::new(
            ChurnSpec {
                spared: vec![0],
                ..spec
            },
            3,
        );
        assert_eq!(spared.on_leader(1_000, 2, 5, 7, END), None);
        assert_eq!(spared.on_leader(2_500, 2, 5, 8, END), Some(commit));
        assert_eq!(spared.on_leader(3_000, 3, 6, 9, END), Some(second));
        // A leader that survives its election may be struck at the end of its tenure.
        let mut tenure = Churn::new(
            ChurnSpec {
                chance: 0.0,
                commit_chance: 0.0,
                tenure_chance: 1.0,
                max_tenure_ms: 500,
                ..ChurnSpec::default()
            },
            4,
        );
        let end = tenure.on_leader(1_000, 4, 2, 0, END).expect("strikes");
        assert_eq!(end.moment, Moment::Tenure);
        assert!(end.at_us > 1_000 && end.at_us <= 501_000);
        assert_eq!(tenure.on_leader(2_000, 4, 2, 1, END), None);
        // Nothing starts after the workload phase.
        assert_eq!(spared.on_leader(END - 1, 1, 7, 9, END), None);
    }
}
