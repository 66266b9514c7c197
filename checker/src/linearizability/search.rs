//! The search for one partition: Wing & Gong's backtracking over a linked list of call and return
//! entries, with Lowe's memo of (linearized set, model state) so no configuration is explored twice.
//!
//! Operations whose outcome is unknown return "at infinity": they may be linearized anywhere after
//! their call, and the search succeeds as soon as every completed operation is linearized (the
//! unknown ones left over are taken never to have happened, which is always allowed).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::hash::hash_of;
use super::hash::zobrist_tag;
use super::linearized::Linearized;
use super::memo::Memo;
use crate::model::{Model, PreparedOp};

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
    /// Given the steps this search has taken, true when its result is no longer needed.
    pub cancelled: &'a (dyn Fn(u64) -> bool + Sync),
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

/// One entry of the list: a call or a return of one operation.
#[derive(Clone, Copy)]
struct Node {
    next: u32,
    prev: u32,
    /// The operation (partition position).
    op: u32,
    /// For a call entry, its return entry; `u32::MAX` for return entries.
    matching_return: u32,
    /// For a call of unknown outcome, its twin (see [`unknown_twins`]); else `u32::MAX`.
    twin: u32,
}

/// The doubly linked list of call/return entries, ordered by time; nodes packed for locality.
struct EntryList {
    nodes: Vec<Node>,
}

impl EntryList {
    fn new<O: PartialEq>(ops: &[PreparedOp<O>]) -> Self {
        let n = ops.len();
        let mut events: Vec<(u64, u32, bool)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call as u64, i as u32, true));
            events.push((op.ret.map_or(u64::MAX, |r| r as u64), i as u32, false));
        }
        // Calls before returns at equal times (only unknown returns tie, all at infinity).
        events.sort_unstable_by_key(|&(time, op, is_call)| (time, !is_call, op));
        // Within each run of calls between two returns, operations go in order of return
        // (unknown outcomes last): the same operations are candidates at the same points, but
        // the search tries first the ones that must take effect soonest.
        let mut run_start = 0;
        while run_start < events.len() {
            let mut run_end = run_start;
            while run_end < events.len() && events[run_end].2 {
                run_end += 1;
            }
            events[run_start..run_end]
                .sort_by_key(|&(_, op, _)| ops[op as usize].ret.unwrap_or(usize::MAX));
            run_start = run_end + 1;
        }
        let count = 2 * n + 2;
        let mut nodes: Vec<Node> = (0..count as u32)
            .map(|i| Node {
                next: i + 1,
                prev: i.wrapping_sub(1),
                op: u32::MAX,
                matching_return: u32::MAX,
                twin: u32::MAX,
            })
            .collect();
        nodes[count - 1].next = u32::MAX;
        let twins = unknown_twins(ops);
        let mut call_node = vec![0u32; n];
        for (position, &(_, op, is_call)) in events.iter().enumerate() {
            let node = position + 1;
            nodes[node].op = op;
            if is_call {
                call_node[op as usize] = node as u32;
                nodes[node].twin = twins[op as usize];
            } else {
                nodes[call_node[op as usize] as usize].matching_return = node as u32;
            }
        }
        EntryList { nodes }
    }

    fn next(&self, node: usize) -> usize {
        self.nodes[node].next as usize
    }

    fn op(&self, node: usize) -> usize {
        self.nodes[node].op as usize
    }

    fn unlink(&mut self, node: usize) {
        let Node { prev, next, .. } = self.nodes[node];
        self.nodes[prev as usize].next = next;
        self.nodes[next as usize].prev = prev;
    }

    fn relink(&mut self, node: usize) {
        let Node { prev, next, .. } = self.nodes[node];
        self.nodes[prev as usize].next = node as u32;
        self.nodes[next as usize].prev = node as u32;
    }

    /// Removes a call entry and its return entry.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.nodes[call].matching_return as usize);
    }

    /// Undoes [`EntryList::lift`].
    fn unlift(&mut self, call: usize) {
        self.relink(self.nodes[call].matching_return as usize);
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
    memo: Memo<M::State>,
    /// Heap bytes of the states the memo holds, as the model estimates them.
    state_heap_bytes: usize,
    linearized: Linearized,
    bits_hash: u64,
    state: M::State,
    /// (call entry, state before it), in linearization order.
    stack: Vec<(u32, M::State)>,
    completed_total: usize,
    completed_done: usize,
    best_prefix: Vec<u32>,
    /// How much of the stack has stayed as it was when `best_prefix` was last taken: that much
    /// of `best_prefix` is still right, so only the rest is copied (a deep search would
    /// otherwise copy its whole stack at every new depth).
    best_prefix_valid: usize,
    best_state: M::State,
    steps: u64,
    reported_bytes: usize,
    entry: usize,
    check_every: u64,
    until_check: u64,
}

impl<'a, M: Model> Search<'a, M> {
    /// A search at its start.
    pub fn new(model: &'a M, ops: &'a [PreparedOp<M::Op>]) -> Self {
        let words = ops.len().div_ceil(64).max(1);
        let list = EntryList::new(ops);
        let entry = list.next(HEAD);
        let check_every = (GROWTH_BETWEEN_CHECKS / (words as u64 * 8 + 16)).clamp(16, CHECK_EVERY);
        Search {
            model,
            ops,
            list,
            memo: Memo::new(completed_mask(ops)),
            state_heap_bytes: 0,
            linearized: Linearized::new(ops.len()),
            bits_hash: 0,
            state: model.init(),
            stack: Vec::new(),
            completed_total: ops.iter().filter(|op| op.ret.is_some()).count(),
            completed_done: 0,
            best_prefix: Vec::new(),
            best_prefix_valid: 0,
            best_state: model.init(),
            steps: 0,
            reported_bytes: 0,
            entry,
            check_every,
            until_check: check_every,
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
            + self.state_heap_bytes
            + self.list.nodes.len() * 20
            + self.linearized.words().len() * 8
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
                    .map(|&(node, _)| self.list.op(node as usize) as u32)
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
            let node = self.list.nodes[entry];
            if node.matching_return != u32::MAX {
                let position = node.op as usize;
                let op = &ops[position];
                let twin = node.twin as usize;
                let twin_pending = twin != u32::MAX as usize && !self.linearized.contains(twin);
                if twin_pending {
                    self.entry = node.next as usize;
                    continue;
                }
                if let Some(next_state) = model.step(&self.state, &op.op) {
                    self.linearized.insert(position);
                    let next_hash = if op.ret.is_some() {
                        self.bits_hash ^ zobrist_tag(position)
                    } else {
                        self.bits_hash
                    };
                    let state_hash = hash_of(&next_state);
                    if self
                        .memo
                        .insert(next_hash, state_hash, &self.linearized, &next_state)
                    {
                        self.state_heap_bytes += model.state_heap_bytes(&next_state);
                        let previous = std::mem::replace(&mut self.state, next_state);
                        self.stack.push((entry as u32, previous));
                        self.bits_hash = next_hash;
                        if op.ret.is_some() {
                            self.completed_done += 1;
                        }
                        self.list.lift(entry);
                        self.entry = self.list.next(HEAD);
                        if model.prunes() {
                            if let Some(deadline) = self.hopeless_deadline() {
                                // Jump to the deadline's return entry: the loop backtracks there.
                                self.entry = deadline;
                            }
                        }
                        continue;
                    }
                    self.linearized.remove(position);
                }
                self.entry = self.list.next(entry);
            } else if let Some(outcome) = self.backtrack() {
                return Some(outcome);
            }
        }
    }

    /// The return entry of the first remaining completed operation, when the model says it can no
    /// longer be linearized from the current state (see [`Model::hopeless`]).
    fn hopeless_deadline(&self) -> Option<usize> {
        let first = self.list.next(HEAD);
        let mut node = first;
        while self.list.nodes[node].matching_return != u32::MAX {
            node = self.list.next(node);
        }
        let deadline = node;
        let op = self.ops.get(self.list.nodes.get(deadline)?.op as usize)?;
        op.ret?;
        let mut cursor = first;
        let mut before = std::iter::from_fn(|| {
            if cursor == deadline {
                return None;
            }
            let call = cursor;
            cursor = self.list.next(cursor);
            Some(&self.ops[self.list.op(call)].op)
        });
        self.model
            .hopeless(&self.state, &op.op, &mut before)
            .then_some(deadline)
    }

    /// At a return entry: its operation must already be linearized, so undo the last choice.
    fn backtrack(&mut self) -> Option<Outcome<M::State>> {
        if self.stack.len() > self.best_prefix.len() {
            self.best_prefix.truncate(self.best_prefix_valid);
            let list = &self.list;
            self.best_prefix.extend(
                self.stack[self.best_prefix_valid..]
                    .iter()
                    .map(|&(node, _)| list.op(node as usize) as u32),
            );
            self.best_prefix_valid = self.stack.len();
            self.best_state = self.state.clone();
        }
        let Some((call, previous_state)) = self.stack.pop() else {
            return Some(Outcome::NotLinearizable {
                prefix: std::mem::take(&mut self.best_prefix),
                state: std::mem::replace(&mut self.best_state, self.model.init()),
            });
        };
        self.best_prefix_valid = self.best_prefix_valid.min(self.stack.len());
        let call = call as usize;
        let position = self.list.op(call);
        self.state = previous_state;
        self.linearized.remove(position);
        if self.ops[position].ret.is_some() {
            self.bits_hash ^= zobrist_tag(position);
            self.completed_done -= 1;
        }
        self.list.unlift(call);
        self.entry = self.list.next(call);
        None
    }

    fn check_limits(&mut self, limits: &Limits<'_>) -> Option<Outcome<M::State>> {
        // The step about to be taken is already counted.
        if (limits.cancelled)(self.steps - 1) {
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
