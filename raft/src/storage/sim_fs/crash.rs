//! What a crash leaves of a [`SimFs`](super::SimFs): the durable state plus a chosen part of what
//! was not synced (see the module comment of `sim_fs` for the exact rules). The choices come from
//! a [`CrashChoices`], so a seeded RNG gives a deterministic crash and tests can ask for the
//! extremes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rand::Rng;

use super::state::{DataOp, DataOpKind, Node, State, ROOT};

/// The decisions a crash makes about unsynced operations.
pub(super) trait CrashChoices {
    /// How many of a file's `n` unsynced operations (a prefix) reach the disk.
    fn ops_kept(&mut self, n: usize) -> usize;
    /// Of the first write lost, how many leading bytes (out of `len`, at least 2) reach the disk
    /// anyway (0: none), and whether they read back as zeros (the size was updated, the data not).
    fn torn(&mut self, len: usize) -> (usize, bool);
    /// Whether an unsynced directory operation reaches the disk (asked only when it may).
    fn dir_op_kept(&mut self) -> bool;
}

/// Seeded choices: a uniform prefix per file, a torn write half of the time (a quarter of those
/// zero-filled), each allowed directory operation kept with probability 1/2.
pub(super) struct Seeded<'a, R: Rng + ?Sized>(pub &'a mut R);

impl<R: Rng + ?Sized> CrashChoices for Seeded<'_, R> {
    fn ops_kept(&mut self, n: usize) -> usize {
        self.0.random_range(0..=n)
    }
    fn torn(&mut self, len: usize) -> (usize, bool) {
        if self.0.random_bool(0.5) {
            (self.0.random_range(1..len), self.0.random_bool(0.25))
        } else {
            (0, false)
        }
    }
    fn dir_op_kept(&mut self) -> bool {
        self.0.random_bool(0.5)
    }
}

/// The worst case: nothing unsynced survives.
pub(super) struct LoseAll;

impl CrashChoices for LoseAll {
    fn ops_kept(&mut self, _: usize) -> usize {
        0
    }
    fn torn(&mut self, _: usize) -> (usize, bool) {
        (0, false)
    }
    fn dir_op_kept(&mut self) -> bool {
        false
    }
}

/// The luckiest case for unsynced data: everything issued before the first pending sync survives.
pub(super) struct KeepAll;

impl CrashChoices for KeepAll {
    fn ops_kept(&mut self, n: usize) -> usize {
        n
    }
    fn torn(&mut self, _: usize) -> (usize, bool) {
        (0, false)
    }
    fn dir_op_kept(&mut self) -> bool {
        true
    }
}

impl State {
    /// Crashes: the durable state plus what `choices` keeps becomes the whole state; open handles
    /// and locks go stale, pending syncs are forgotten.
    pub fn crash(&mut self, choices: &mut dyn CrashChoices) {
        // The process was blocked in the first sync not yet completed: nothing after it happened.
        let cut = self.syncs.front().map_or(u64::MAX, |s| s.seq);
        for inode in self.inodes.values_mut() {
            let ops = std::mem::take(&mut inode.unsynced);
            let eligible = ops.partition_point(|op| op.seq < cut);
            let kept = choices.ops_kept(eligible);
            for op in &ops[..kept] {
                op.kind.apply(&mut inode.durable);
            }
            if let Some(DataOp {
                kind: DataOpKind::Write { offset, bytes },
                ..
            }) = ops[..eligible].get(kept)
            {
                if bytes.len() >= 2 {
                    let (len, zeroed) = choices.torn(bytes.len());
                    if len > 0 {
                        let part = if zeroed {
                            vec![0; len]
                        } else {
                            bytes[..len].to_vec()
                        };
                        let torn = DataOpKind::Write {
                            offset: *offset,
                            bytes: part,
                        };
                        torn.apply(&mut inode.durable);
                    }
                }
            }
            inode.len = inode.durable.len() as u64;
            inode.handles = 0;
        }
        for ops in std::mem::take(&mut self.dir_ops).into_values() {
            // A directory operation survives only if every earlier unsynced operation on one of
            // its names survived, so the survivors replay as valid operations in issue order.
            let mut lost: BTreeSet<PathBuf> = BTreeSet::new();
            for op in ops.iter().take_while(|op| op.seq < cut) {
                let names = op.kind.names();
                let names = names.iter().flatten();
                let blocked = names.clone().any(|name| lost.contains(*name));
                if !blocked && choices.dir_op_kept() {
                    op.kind.apply(&mut self.durable);
                } else {
                    lost.extend(names.map(|name| name.to_path_buf()));
                }
            }
        }
        let durable = std::mem::take(&mut self.durable);
        let reachable = durable
            .iter()
            .filter(|(path, _)| reachable(&durable, path))
            .map(|(path, node)| (path.clone(), *node))
            .collect();
        self.durable = reachable;
        self.current = self.durable.clone();
        self.syncs.clear();
        self.locks.clear();
        self.generation += 1;
        self.crashes += 1;
        self.collect_garbage();
    }
}

/// Whether every directory above `path` exists in `namespace` (a directory whose own entry was
/// lost takes everything in it along).
fn reachable(namespace: &std::collections::BTreeMap<PathBuf, Node>, path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .all(|dir| dir == Path::new(ROOT) || namespace.get(dir) == Some(&Node::Dir))
}
