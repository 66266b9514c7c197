//! The search for one partition: Wing & Gong's backtracking over a linked list of call and return
//! entries, with Lowe's memo of (linearized set, model state) so no configuration is explored twice.
//!
//! Operations whose outcome is unknown return "at infinity": they may be linearized anywhere after
//! their call, and the search succeeds as soon as every completed operation is linearized (the
//! unknown ones left over are taken never to have happened, which is always allowed).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::hash::zobrist_tag;
use super::memo::{Memo, StateInterner};
use crate::model::Model;

/// An operation ready for the search: its model form and its interval in event indices.
#[derive(Debug)]
pub struct PreparedOp<O> {
    /// [`crate::history::Operation::id`].
    pub id: usize,
    /// Position in the slice of operations given to the check.
    pub index: usize,
    pub call: usize,
    /// `None`: outcome unknown (never returns).
    pub ret: Option<usize>,
    pub op: O,
}

/// A memory budget shared by all partitions searched at once.
#[derive(Debug)]
pub struct MemoryBudget {
    budget: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(budget: usize) -> Self {
        MemoryBudget {
            budget,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Moves this caller's share from `old` to `new` bytes; false when the total is over budget.
    pub fn update(&self, old: usize, new: usize) -> bool {
        let total = if new >= old {
            self.used.fetch_add(new - old, Ordering::Relaxed) + (new - old)
        } else {
            self.used.fetch_sub(old - new, Ordering::Relaxed) - (old - new)
        };
        self.peak.fetch_max(total, Ordering::Relaxed);
        total <= self.budget
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn budget(&self) -> usize {
        self.budget
    }
}

/// When to give up.
pub struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub memory: &'a MemoryBudget,
    /// True when the result of this partition is no longer needed.
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
}

/// How a partition's search ended. Operation positions are indices into the partition's ops.
#[derive(Debug)]
pub enum Outcome<S> {
    /// A linearization of every completed operation (and of the unknown ones it needed).
    Linearizable {
        order: Vec<u32>,
    },
    /// No linearization: the longest linearizable prefix found and the state after it.
    NotLinearizable {
        prefix: Vec<u32>,
        state: S,
    },
    Unknown {
        reason: String,
    },
    Cancelled,
}

/// The outcome and what it cost.
#[derive(Debug)]
pub struct SearchResult<S> {
    pub outcome: Outcome<S>,
    pub steps: u64,
    pub memo_entries: usize,
}

const HEAD: usize = 0;
const CHECK_EVERY: u64 = 1 << 12;

/// The doubly linked list of call/return entries, ordered by time.
struct EntryList {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The operation (partition position) of each entry.
    op: Vec<u32>,
    /// For a call entry, its return entry; `u32::MAX` for return entries.
    matching_return: Vec<u32>,
}

impl EntryList {
    fn new<O>(ops: &[PreparedOp<O>]) -> Self {
        let n = ops.len();
        let mut events: Vec<(u64, u32, bool)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call as u64, i as u32, true));
            events.push((op.ret.map_or(u64::MAX, |r| r as u64), i as u32, false));
        }
        // Calls before returns at equal times (only unknown returns tie, all at infinity).
        events.sort_unstable_by_key(|&(time, op, is_call)| (time, !is_call, op));
        let nodes = 2 * n + 2;
        let tail = nodes - 1;
        let mut list = EntryList {
            next: (1..=nodes as u32).collect(),
            prev: (0..nodes as u32).map(|i| i.wrapping_sub(1)).collect(),
            op: vec![u32::MAX; nodes],
            matching_return: vec![u32::MAX; nodes],
        };
        list.next[tail] = u32::MAX;
        let mut call_node = vec![0u32; n];
        for (position, &(_, op, is_call)) in events.iter().enumerate() {
            let node = position + 1;
            list.op[node] = op;
            if is_call {
                call_node[op as usize] = node as u32;
            } else {
                list.matching_return[call_node[op as usize] as usize] = node as u32;
            }
        }
        list
    }

    fn is_call(&self, node: usize) -> bool {
        self.matching_return[node] != u32::MAX
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node] as usize, self.next[node] as usize);
        self.next[p] = n as u32;
        self.prev[n] = p as u32;
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node] as usize, self.next[node] as usize);
        self.next[p] = node as u32;
        self.prev[n] = node as u32;
    }

    /// Removes a call entry and its return entry.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.matching_return[call] as usize);
    }

    /// Undoes [`EntryList::lift`].
    fn unlift(&mut self, call: usize) {
        self.relink(self.matching_return[call] as usize);
        self.relink(call);
    }
}

/// Searches one partition for a linearization.
pub fn search<M: Model>(
    model: &M,
    ops: &[PreparedOp<M::Op>],
    limits: &Limits<'_>,
) -> SearchResult<M::State> {
    let n = ops.len();
    let words = n.div_ceil(64).max(1);
    let completed_total = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut list = EntryList::new(ops);
    let mut states = StateInterner::new();
    let mut memo = Memo::new(words);
    let mut bits = vec![0u64; words];
    let mut bits_hash = 0u64;
    let mut state = states.intern(model.init());
    // (call entry, state before it)
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut completed_done = 0usize;
    let mut best_prefix: Vec<u32> = Vec::new();
    let mut best_state = state;
    let mut steps = 0u64;
    let mut reported_bytes = 0usize;
    let mut entry = list.next[HEAD] as usize;

    let finish = |outcome, steps, memo: &Memo, reported: usize| {
        limits.memory.update(reported, 0);
        SearchResult {
            outcome,
            steps,
            memo_entries: memo.len(),
        }
    };

    loop {
        if completed_done == completed_total {
            let order = stack
                .iter()
                .map(|&(node, _)| list.op[node as usize])
                .collect();
            return finish(
                Outcome::Linearizable { order },
                steps,
                &memo,
                reported_bytes,
            );
        }
        steps += 1;
        if steps % CHECK_EVERY == 0 {
            if (limits.cancelled)() {
                return finish(Outcome::Cancelled, steps, &memo, reported_bytes);
            }
            if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                let reason = format!("timeout reached after {steps} search steps");
                return finish(Outcome::Unknown { reason }, steps, &memo, reported_bytes);
            }
            let bytes = memo.bytes() + states.bytes() + list.next.len() * 16 + stack.len() * 8;
            let within = limits.memory.update(reported_bytes, bytes);
            reported_bytes = bytes;
            if !within {
                let reason = format!(
                    "memory budget of {} MiB reached after {steps} search steps ({} memo entries)",
                    limits.memory.budget() >> 20,
                    memo.len()
                );
                return finish(Outcome::Unknown { reason }, steps, &memo, reported_bytes);
            }
        }
        if list.is_call(entry) {
            let position = list.op[entry] as usize;
            let op = &ops[position];
            if let Some(next_state) = model.step(states.get(state), &op.op) {
                let next_id = if next_state == *states.get(state) {
                    state
                } else {
                    states.intern(next_state)
                };
                bits[position / 64] |= 1 << (position % 64);
                let next_hash = bits_hash ^ zobrist_tag(position);
                if memo.insert(next_hash, states.hash(next_id), &bits, next_id) {
                    stack.push((entry as u32, state));
                    state = next_id;
                    bits_hash = next_hash;
                    if op.ret.is_some() {
                        completed_done += 1;
                    }
                    list.lift(entry);
                    entry = list.next[HEAD] as usize;
                    continue;
                }
                bits[position / 64] &= !(1 << (position % 64));
            }
            entry = list.next[entry] as usize;
        } else {
            // A return entry: its operation must already be linearized. Backtrack.
            if stack.len() > best_prefix.len() {
                best_prefix.clear();
                best_prefix.extend(stack.iter().map(|&(node, _)| list.op[node as usize]));
                best_state = state;
            }
            let Some((call, previous_state)) = stack.pop() else {
                let outcome = Outcome::NotLinearizable {
                    prefix: best_prefix,
                    state: states.get(best_state).clone(),
                };
                return finish(outcome, steps, &memo, reported_bytes);
            };
            let call = call as usize;
            let position = list.op[call] as usize;
            state = previous_state;
            bits[position / 64] &= !(1 << (position % 64));
            bits_hash ^= zobrist_tag(position);
            if ops[position].ret.is_some() {
                completed_done -= 1;
            }
            list.unlift(call);
            entry = list.next[call] as usize;
        }
    }
}
