//! Coverage marks: named places in the core, the KV machine and the driver that count how often
//! a run really took a rare path (a snapshot installed over a conflicting log, a duplicate write
//! answered from the session table, ...), so a test can assert that the path was exercised
//! instead of hoping it was.
//!
//! Counters are thread-local and cost one `Cell` increment: the simulator runs one seed per
//! thread, so [`reset`] before a run and [`take`] after it give that run's counts even when a
//! sweep runs seeds on several threads at once. The real server never reads them.

use std::cell::Cell;

/// A path worth knowing a run took. [`Mark::name`] is its kebab-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// The application handed the core a snapshot and the log was compacted.
    SnapshotTaken,
    /// A leader started sending a snapshot to a follower that needed compacted entries.
    SnapshotSent,
    /// A follower received the last chunk of a snapshot that came in more than one chunk.
    SnapshotSentInChunks,
    /// A leader sent a snapshot chunk again (it, or its answer, was lost or refused).
    SnapshotChunkResent,
    /// A follower installed a snapshot whose last entry conflicted with an entry it held.
    SnapshotInstalledOverConflict,
    /// A follower installed a snapshot beyond the end of its log.
    SnapshotInstalled,
    /// A restarting replica restored its state machine from a persisted snapshot.
    SnapshotRestoredOnRestart,
    /// A KV snapshot brought back a non-empty session table.
    SessionsRestored,
    /// A follower truncated a conflicting suffix of its log.
    LogTruncatedOnConflict,
    /// A leader's commit index passed entries of older terms (through one of its own term).
    OldTermCommitted,
    /// A leader released a read that arrived before it had committed an entry of its term.
    ReadAfterLeaderChange,
    /// A vote was refused because the candidate's log was behind.
    VoteRefusedStaleLog,
    /// A pre-vote was refused.
    PreVoteRefused,
    /// A leader stepped down on seeing a higher term.
    LeaderSteppedDownHigherTerm,
    /// A leader stepped down because no quorum answered within an election timeout.
    CheckQuorumStepDown,
    /// A follower rejected an AppendEntries and told the leader where to retry.
    AppendRejectedWithHint,
    /// A membership change added a learner.
    LearnerAdded,
    /// A membership change promoted a learner to voter.
    LearnerPromoted,
    /// A membership change removed a voter.
    VoterRemoved,
    /// A node campaigned on a leader's TimeoutNow (leadership transfer).
    LeadershipTransfer,
    /// A KV session expired after being idle too long.
    SessionExpired,
    /// A retried write was answered from the session table without applying it again.
    DuplicateWriteAnswered,
}

impl Mark {
    /// Every mark, in declaration order.
    pub const ALL: &'static [Mark] = &[
        Mark::SnapshotTaken,
        Mark::SnapshotSent,
        Mark::SnapshotSentInChunks,
        Mark::SnapshotChunkResent,
        Mark::SnapshotInstalledOverConflict,
        Mark::SnapshotInstalled,
        Mark::SnapshotRestoredOnRestart,
        Mark::SessionsRestored,
        Mark::LogTruncatedOnConflict,
        Mark::OldTermCommitted,
        Mark::ReadAfterLeaderChange,
        Mark::VoteRefusedStaleLog,
        Mark::PreVoteRefused,
        Mark::LeaderSteppedDownHigherTerm,
        Mark::CheckQuorumStepDown,
        Mark::AppendRejectedWithHint,
        Mark::LearnerAdded,
        Mark::LearnerPromoted,
        Mark::VoterRemoved,
        Mark::LeadershipTransfer,
        Mark::SessionExpired,
        Mark::DuplicateWriteAnswered,
    ];

    /// How many marks there are.
    pub const COUNT: usize = Mark::ALL.len();

    /// The kebab-case name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Mark::SnapshotTaken => "snapshot-taken",
            Mark::SnapshotSent => "snapshot-sent",
            Mark::SnapshotSentInChunks => "snapshot-sent-in-chunks",
            Mark::SnapshotChunkResent => "snapshot-chunk-resent",
            Mark::SnapshotInstalledOverConflict => "snapshot-installed-over-conflict",
            Mark::SnapshotInstalled => "snapshot-installed",
            Mark::SnapshotRestoredOnRestart => "snapshot-restored-on-restart",
            Mark::SessionsRestored => "sessions-restored",
            Mark::LogTruncatedOnConflict => "log-truncated-on-conflict",
            Mark::OldTermCommitted => "old-term-committed",
            Mark::ReadAfterLeaderChange => "read-after-leader-change",
            Mark::VoteRefusedStaleLog => "vote-refused-stale-log",
            Mark::PreVoteRefused => "pre-vote-refused",
            Mark::LeaderSteppedDownHigherTerm => "leader-stepped-down-higher-term",
            Mark::CheckQuorumStepDown => "check-quorum-step-down",
            Mark::AppendRejectedWithHint => "append-rejected-with-hint",
            Mark::LearnerAdded => "learner-added",
            Mark::LearnerPromoted => "learner-promoted",
            Mark::VoterRemoved => "voter-removed",
            Mark::LeadershipTransfer => "leadership-transfer",
            Mark::SessionExpired => "session-expired",
            Mark::DuplicateWriteAnswered => "duplicate-write-answered",
        }
    }

    /// The mark called `name`, if any.
    pub fn from_name(name: &str) -> Option<Mark> {
        Mark::ALL.iter().copied().find(|m| m.name() == name)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

thread_local! {
    static COUNTS: [Cell<u64>; Mark::COUNT] = const { [const { Cell::new(0) }; Mark::COUNT] };
}

/// Counts one pass through `mark` on this thread.
#[inline]
pub fn hit(mark: Mark) {
    COUNTS.with(|c| {
        let cell = &c[mark.slot()];
        cell.set(cell.get().saturating_add(1));
    });
}

/// Counts one pass through `mark` when `taken` holds (for a mark on one arm of a condition).
#[inline]
pub fn hit_if(taken: bool, mark: Mark) {
    if taken {
        hit(mark);
    }
}

/// Sets every counter of this thread to zero.
pub fn reset() {
    COUNTS.with(|c| c.iter().for_each(|cell| cell.set(0)));
}

/// This thread's counts since the last [`reset`] (or [`take`]), and zero again.
pub fn take() -> MarkCounts {
    let mut counts = [0; Mark::COUNT];
    COUNTS.with(|c| {
        for (count, cell) in counts.iter_mut().zip(c) {
            *count = cell.replace(0);
        }
    });
    MarkCounts(counts)
}

/// How often each mark was hit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarkCounts([u64; Mark::COUNT]);

impl MarkCounts {
    /// The count of `mark`.
    pub fn get(&self, mark: Mark) -> u64 {
        self.0[mark.slot()]
    }

    /// Every mark with its count, in [`Mark::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Mark, u64)> + '_ {
        Mark::ALL.iter().map(|m| (*m, self.get(*m)))
    }

    /// The marks hit at least once.
    pub fn hit(&self) -> impl Iterator<Item = Mark> + '_ {
        self.iter().filter(|(_, n)| *n > 0).map(|(m, _)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_per_thread_and_take_resets_them() {
        reset();
        hit(Mark::SnapshotSent);
        hit(Mark::SnapshotSent);
        hit_if(false, Mark::PreVoteRefused);
        hit_if(true, Mark::VoterRemoved);
        let other = std::thread::spawn(|| {
            hit(Mark::SnapshotTaken);
            take()
        })
        .join()
        .expect("thread runs");
        assert_eq!(other.get(Mark::SnapshotTaken), 1);
        assert_eq!(other.get(Mark::SnapshotSent), 0);
        let counts = take();
        assert_eq!(counts.get(Mark::SnapshotSent), 2);
        assert_eq!(counts.get(Mark::SnapshotTaken), 0);
        assert_eq!(
            counts.hit().collect::<Vec<_>>(),
            vec![Mark::SnapshotSent, Mark::VoterRemoved]
        );
        assert_eq!(take(), MarkCounts::default());
    }

    #[test]
    fn names_are_kebab_case_unique_and_in_order() {
        for (i, mark) in Mark::ALL.iter().enumerate() {
            assert_eq!(mark.slot(), i, "{mark:?} is out of order in Mark::ALL");
            let name = mark.name();
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name}"
            );
            assert_eq!(Mark::from_name(name), Some(*mark));
        }
        assert_eq!(Mark::from_name("no-such-mark"), None);
    }
}
