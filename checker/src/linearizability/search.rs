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
/// Steps between checks of the clock, the cancel flag and the memory budget, at most.
const CHECK_EVERY: u64 = 1 << 12;
/// Memo growth (bytes) allowed between two checks of the memory budget, about.
const GROWTH_BETWEEN_CHECKS: u64 = 1 << 20;

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
        // Within each run of calls between two returns, completed operations go before those
        // with unknown outcome: the same operations are candidates at the same points, but the
        // search tries the ones that must take effect first and the optional ones last.
        let mut run_start = 0;
        while run_start < events.len() {
            let mut run_end = run_start;
            while run_end < events.len() && events[run_end].2 {
                run_end += 1;
            }
            events[run_start..run_end].sort_by_key(|&(_, op, _)| ops[op as usize].ret.is_none());
            run_start = run_end + 1;
        }
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

/// One bit per operation whose outcome is known (it returned).
fn completed_mask<O>(ops: &[PreparedOp<O>]) -> Vec<u64> {
    let mut mask = vec![0u64; ops.len().div_ceil(64).max(1)];
    for (position, op) in ops.iter().enumerate() {
        if op.ret.is_some() {
            mask[position / 64] |= 1 << (position % 64);
        }
    }
    mask
}

/// Unknown-outcome operations scanned back for an equal one (bounded; missing a twin only costs speed).
const TWIN_SCAN: usize = 256;

/// For each operation of unknown outcome, the latest earlier-called one with an equal model op
/// (`u32::MAX` when none). Such twins never return, so once both are invoked they are
/// interchangeable: the search only linearizes a twin after the one before it.
fn unknown_twins<O: PartialEq>(ops: &[PreparedOp<O>]) -> Vec<u32> {
    let mut twin = vec![u32::MAX; ops.len()];
    let mut unknown: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_none()).collect();
    unknown.sort_by_key(|&i| ops[i].call);
    for (k, &i) in unknown.iter().enumerate() {
        let earlier = &unknown[k.saturating_sub(TWIN_SCAN)..k];
        if let Some(&j) = earlier.iter().rev().find(|&&j| ops[j].op == ops[i].op) {
            twin[i] = j as u32;
        }
    }
    twin
}

/// The search of one partition, resumable: [`Search::run`] advances it by a bounded number of
/// steps, so partitions can be driven in rounds whose outcome does not depend on thread timing.
pub struct Search<'a, M: Model> {
    model: &'a M,
    ops: &'a [PreparedOp<M::Op>],
    list: EntryList,
    states: StateInterner<M::State>,
    memo: Memo,
    bits: Vec<u64>,
    bits_hash: u64,
    state: u32,
    /// (call entry, state before it), in linearization order.
    stack: Vec<(u32, u32)>,
    completed_total: usize,
    completed_done: usize,
    best_prefix: Vec<u32>,
    best_state: u32,
    steps: u64,
    reported_bytes: usize,
    entry: usize,
    check_every: u64,
    until_check: u64,
    twin: Vec<u32>,
}

impl<'a, M: Model> Search<'a, M> {
    /// A search at its start.
    pub fn new(model: &'a M, ops: &'a [PreparedOp<M::Op>]) -> Self {
        let words = ops.len().div_ceil(64).max(1);
        let list = EntryList::new(ops);
        let mut states = StateInterner::new();
        let state = states.intern(model.init());
        let entry = list.next[HEAD] as usize;
        let check_every = (GROWTH_BETWEEN_CHECKS / (words as u64 * 8 + 16)).clamp(16, CHECK_EVERY);
        Search {
            model,
            ops,
            list,
            states,
            memo: Memo::new(completed_mask(ops)),
            bits: vec![0u64; words],
            bits_hash: 0,
            state,
            stack: Vec::new(),
            completed_total: ops.iter().filter(|op| op.ret.is_some()).count(),
            completed_done: 0,
            best_prefix: Vec::new(),
            best_state: state,
            steps: 0,
            reported_bytes: 0,
            entry,
            check_every,
            until_check: check_every,
            twin: unknown_twins(ops),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Entries in the memo.
    pub fn memo_entries(&self) -> usize {
        self.memo.len()
    }

    fn bytes(&self) -> usize {
        self.memo.bytes()
            + self.states.bytes()
            + self.list.next.len() * 16
            + (self.stack.capacity() + self.best_prefix.capacity()) * 8
    }

    /// Gives this search's memory back to the shared budget.
    fn release(&mut self, limits: &Limits<'_>) {
        limits.memory.update(self.reported_bytes, 0);
        self.reported_bytes = 0;
    }

    /// Runs until the search ends or `max_steps` more steps were taken (`None`: not done yet).
    pub fn run(&mut self, max_steps: u64, limits: &Limits<'_>) -> Option<Outcome<M::State>> {
        let stop_at = self.steps.saturating_add(max_steps);
        let outcome = self.run_until(stop_at, limits);
        if outcome.is_some() {
            self.release(limits);
        }
        outcome
    }

    fn run_until(&mut self, stop_at: u64, limits: &Limits<'_>) -> Option<Outcome<M::State>> {
        let (model, ops) = (self.model, self.ops);
        loop {
            if self.completed_done == self.completed_total {
                let order = self
                    .stack
                    .iter()
                    .map(|&(node, _)| self.list.op[node as usize])
                    .collect();
                return Some(Outcome::Linearizable { order });
            }
            if self.steps >= stop_at {
                return None;
            }
            self.steps += 1;
            self.until_check -= 1;
            if self.until_check == 0 {
                self.until_check = self.check_every;
                if let Some(outcome) = self.check_limits(limits) {
                    return Some(outcome);
                }
            }
            let entry = self.entry;
            if self.list.is_call(entry) {
                let position = self.list.op[entry] as usize;
                let op = &ops[position];
                let twin = self.twin[position] as usize;
                let twin_pending =
                    twin != u32::MAX as usize && self.bits[twin / 64] & (1 << (twin % 64)) == 0;
                if twin_pending {
                    self.entry = self.list.next[entry] as usize;
                    continue;
                }
                if let Some(next_state) = model.step(self.states.get(self.state), &op.op) {
                    let next_id = if next_state == *self.states.get(self.state) {
                        self.state
                    } else {
                        self.states.intern(next_state)
                    };
                    self.bits[position / 64] |= 1 << (position % 64);
                    let next_hash = if op.ret.is_some() {
                        self.bits_hash ^ zobrist_tag(position)
                    } else {
                        self.bits_hash
                    };
                    let state_hash = self.states.hash(next_id);
                    if self.memo.insert(next_hash, state_hash, &self.bits, next_id) {
                        self.stack.push((entry as u32, self.state));
                        self.state = next_id;
                        self.bits_hash = next_hash;
                        if op.ret.is_some() {
                            self.completed_done += 1;
                        }
                        self.list.lift(entry);
                        self.entry = self.list.next[HEAD] as usize;
                        continue;
                    }
                    self.bits[position / 64] &= !(1 << (position % 64));
                }
                self.entry = self.list.next[entry] as usize;
            } else if let Some(outcome) = self.backtrack() {
                return Some(outcome);
            }
        }
    }

    /// At a return entry: its operation must already be linearized, so undo the last choice.
    fn backtrack(&mut self) -> Option<Outcome<M::State>> {
        if self.stack.len() > self.best_prefix.len() {
            self.best_prefix.clear();
            let list = &self.list;
            self.best_prefix
                .extend(self.stack.iter().map(|&(node, _)| list.op[node as usize]));
            self.best_state = self.state;
        }
        let Some((call, previous_state)) = self.stack.pop() else {
            return Some(Outcome::NotLinearizable {
                prefix: std::mem::take(&mut self.best_prefix),
                state: self.states.get(self.best_state).clone(),
            });
        };
        let call = call as usize;
        let position = self.list.op[call] as usize;
        self.state = previous_state;
        self.bits[position / 64] &= !(1 << (position % 64));
        if self.ops[position].ret.is_some() {
            self.bits_hash ^= zobrist_tag(position);
            self.completed_done -= 1;
        }
        self.list.unlift(call);
        self.entry = self.list.next[call] as usize;
        None
    }

    fn check_limits(&mut self, limits: &Limits<'_>) -> Option<Outcome<M::State>> {
        if (limits.cancelled)() {
            return Some(Outcome::Cancelled);
        }
        if limits.deadline.is_some_and(|d| Instant::now() >= d) {
            let reason = format!("timeout reached after {} search steps", self.steps);
            return Some(Outcome::Unknown { reason });
        }
        let bytes = self.bytes();
        let within = limits.memory.update(self.reported_bytes, bytes);
        self.reported_bytes = bytes;
        if within {
            return None;
        }
        let reason = format!(
            "memory budget of {} MiB reached after {} search steps ({} memo entries)",
            limits.memory.budget() >> 20,
            self.steps,
            self.memo.len()
        );
        Some(Outcome::Unknown { reason })
    }
}

/// Searches one partition to the end (or a limit).
pub fn search<M: Model>(
    model: &M,
    ops: &[PreparedOp<M::Op>],
    limits: &Limits<'_>,
) -> SearchResult<M::State> {
    let mut search = Search::new(model, ops);
    let outcome = loop {
        if let Some(outcome) = search.run(u64::MAX, limits) {
            break outcome;
        }
    };
    SearchResult {
        outcome,
        steps: search.steps(),
        memo_entries: search.memo_entries(),
    }
}
