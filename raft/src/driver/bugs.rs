//! Planted bugs of the replica driver and server (`--unsafe-bug NAME`): deliberate, realistic
//! mistakes that the harness must catch. All off unless named.

use thiserror::Error;

/// The `--unsafe-bug` switches of a replica. Each is documented with the fault that provokes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnsafeBugs {
    /// `stale-read`: the leader answers `get` from its local state without a read index, so a
    /// deposed leader cut off by a partition serves stale values. It also runs without
    /// check-quorum (a leader that trusts its leadership), so it stays leader, and stale, for as
    /// long as the partition lasts.
    pub stale_read: bool,
    /// `no-dedup`: client sessions are ignored (`KvConfig.bugs.no_dedup`), so a retried write is
    /// applied twice. Provoked by anything that makes clients retry (partitions, leader kills).
    pub no_dedup: bool,
    /// `ack-before-commit`: the leader answers a write as soon as it is in its own log, before a
    /// quorum has it. Killing or partitioning the leader loses acknowledged writes.
    pub ack_before_commit: bool,
    /// `ack-before-sync`: the storage layer keeps written batches in process memory and syncs them
    /// only now and then, while the node already sends and acknowledges. A SIGKILL of a majority
    /// loses acknowledged writes (and votes).
    pub ack_before_sync: bool,
    /// `vote-any`: votes are granted without the up-to-date log check (the core's
    /// `PlantedBugs::vote_any`), so a node with a short log can win and erase committed entries.
    pub vote_any: bool,
    /// `snapshot-keeps-suffix`: a follower offered a snapshot whose last entry conflicts with its
    /// log keeps its conflicting entries instead of the snapshot, and commits them (the core's
    /// `PlantedBugs::snapshot_keeps_suffix`). Provoked by a follower left behind with a deposed
    /// leader's entries while the winners compact their logs past them.
    pub snapshot_keeps_suffix: bool,
    /// `snapshot-drops-sessions`: KV snapshots leave out the client session table
    /// (`KvConfig.bugs.snapshot_drops_sessions`). A replica that installs or restarts from such a
    /// snapshot applies retried writes again and refuses clients the others still serve.
    pub snapshot_drops_sessions: bool,
    /// `truncate-matching`: a follower drops its log after `prev_log_index` even where entries
    /// match (the core's `PlantedBugs::truncate_matching`), so a resent or late AppendEntries
    /// erases entries it already acknowledged. Provoked by log repair (`--nemesis diverge`).
    pub truncate_matching: bool,
    /// `skip-fsync`: the node's storage never calls `fsync`/`fdatasync` (files or directories)
    /// and acknowledges as usual (`raft::storage::NodeFs`). A SIGKILL loses nothing, since the
    /// data is in the kernel's cache; a power loss (the harness's power-loss file system) loses
    /// acknowledged writes and votes.
    pub skip_fsync: bool,
    /// `unsynced-vote`: a batch that only changes the term or the vote (a candidate's own vote, a
    /// vote granted, a higher term heard) is written to the WAL but not synced, and the vote is
    /// sent at once; batches with entries are synced as usual (which makes the earlier vote
    /// durable too). A SIGKILL loses nothing (the write is in the kernel's cache); a power loss
    /// before the next synced batch makes the node forget its vote and vote again in that term.
    pub unsynced_vote: bool,
    /// `promote-unready`: the leader promotes a learner without checking that it has caught up,
    /// and counts the new voter as holding the leader's whole log for the rest of its term (the
    /// core's `PlantedBugs::promote_unready`). Provoked only by membership churn (a promotion).
    pub promote_unready: bool,
    /// `two-changes-in-flight`: the leader accepts a membership change while another is still in
    /// flight, or before it committed an entry of its term (the core's
    /// `PlantedBugs::two_changes_in_flight`). Provoked only by membership churn.
    pub two_changes_in_flight: bool,
}

/// An `--unsafe-bug` name that is not known.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown --unsafe-bug {name:?}; expected one of: {}", UnsafeBugs::NAMES.join(", "))]
pub struct UnknownBug {
    /// The name given.
    pub name: String,
}

impl UnsafeBugs {
    /// Every name `--unsafe-bug` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "stale-read",
        "no-dedup",
        "ack-before-commit",
        "ack-before-sync",
        "vote-any",
        "snapshot-keeps-suffix",
        "snapshot-drops-sessions",
        "truncate-matching",
        "skip-fsync",
        "unsynced-vote",
        "promote-unready",
        "two-changes-in-flight",
    ];

    /// Parses a list of bug names (each may also be a comma-separated list).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<UnsafeBugs, UnknownBug> {
        let mut bugs = UnsafeBugs::default();
        for name in names
            .iter()
            .flat_map(|n| n.as_ref().split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            bugs.enable(name)?;
        }
        Ok(bugs)
    }

    /// Turns on the bug called `name`.
    pub fn enable(&mut self, name: &str) -> Result<(), UnknownBug> {
        let flag = match name {
            "stale-read" => &mut self.stale_read,
            "no-dedup" => &mut self.no_dedup,
            "ack-before-commit" => &mut self.ack_before_commit,
            "ack-before-sync" => &mut self.ack_before_sync,
            "vote-any" => &mut self.vote_any,
            "snapshot-keeps-suffix" => &mut self.snapshot_keeps_suffix,
            "snapshot-drops-sessions" => &mut self.snapshot_drops_sessions,
            "truncate-matching" => &mut self.truncate_matching,
            "skip-fsync" => &mut self.skip_fsync,
            "unsynced-vote" => &mut self.unsynced_vote,
            "promote-unready" => &mut self.promote_unready,
            "two-changes-in-flight" => &mut self.two_changes_in_flight,
            _ => {
                return Err(UnknownBug {
                    name: name.to_string(),
                })
            }
        };
        *flag = true;
        Ok(())
    }

    /// The names of the bugs that are on.
    pub fn enabled_names(&self) -> Vec<&'static str> {
        let flags = [
            self.stale_read,
            self.no_dedup,
            self.ack_before_commit,
            self.ack_before_sync,
            self.vote_any,
            self.snapshot_keeps_suffix,
            self.snapshot_drops_sessions,
            self.truncate_matching,
            self.skip_fsync,
            self.unsynced_vote,
            self.promote_unready,
            self.two_changes_in_flight,
        ];
        UnsafeBugs::NAMES
            .iter()
            .zip(flags)
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }

    /// True when any bug is on.
    pub fn any(&self) -> bool {
        !self.enabled_names().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_names_and_refuses_unknown_ones() {
        let bugs = UnsafeBugs::parse(&["stale-read,no-dedup", "vote-any"]).unwrap();
        assert!(bugs.stale_read && bugs.no_dedup && bugs.vote_any);
        assert!(!bugs.ack_before_commit && !bugs.ack_before_sync);
        assert_eq!(
            bugs.enabled_names(),
            vec!["stale-read", "no-dedup", "vote-any"]
        );
        let snapshots =
            UnsafeBugs::parse(&["snapshot-keeps-suffix,snapshot-drops-sessions"]).unwrap();
        assert!(snapshots.snapshot_keeps_suffix && snapshots.snapshot_drops_sessions);
        assert_eq!(
            snapshots.enabled_names(),
            vec!["snapshot-keeps-suffix", "snapshot-drops-sessions"]
        );
        let no_sync = UnsafeBugs::parse(&["skip-fsync"]).unwrap();
        assert!(no_sync.skip_fsync && !no_sync.ack_before_sync);
        assert_eq!(no_sync.enabled_names(), vec!["skip-fsync"]);
        let vote = UnsafeBugs::parse(&["unsynced-vote"]).unwrap();
        assert!(vote.unsynced_vote && !vote.skip_fsync);
        assert_eq!(vote.enabled_names(), vec!["unsynced-vote"]);
        let err = UnsafeBugs::parse(&["stale-reads"]).unwrap_err();
        assert!(err.to_string().contains("ack-before-sync"), "{err}");
        assert!(!UnsafeBugs::parse::<&str>(&[]).unwrap().any());
    }
}
