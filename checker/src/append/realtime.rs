//! Decides whether a recovered order ([`super::order::VersionOrder`]) fits real time, by sorting
//! and one sweep.
//!
//! The order fixes where every operation takes effect up to ties: the append of element `i` at
//! rank `2i + 1`, a read of the first `len` elements at rank `2 len`, an acknowledged append no
//! read shows at rank `2n + 2` (after every read; `n` elements in the order). Only operations of
//! equal rank (reads of one list, or unobserved appends) may go in either order. So a
//! linearization exists exactly when no operation `y` must come after an operation `x` (higher
//! rank) although `y` completed before `x` was invoked. Sorting by (rank, invocation) then gives
//! a linearization: within a rank, invocation order never contradicts real time.

use super::order::{Placed, Role, VersionOrder};

/// Where an operation takes effect: equal ranks may be ordered freely.
fn rank(role: Role, elements: usize) -> usize {
    match role {
        Role::Read { len } => 2 * len,
        Role::Observed { position } => 2 * position + 1,
        Role::Unobserved => 2 * elements + 2,
    }
}

/// A pair that real time forbids: `later` must take effect after `earlier` in the order, yet
/// `later` completed before `earlier` was invoked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conflict<'a> {
    /// Takes effect first in the order, but was invoked last.
    pub earlier: Placed<'a>,
    /// Takes effect last in the order, but completed first.
    pub later: Placed<'a>,
}

/// The linearization (positions in `order.placed`), or the conflict of lowest rank.
pub(crate) fn fit_real_time<'a>(order: &VersionOrder<'a>) -> Result<Vec<usize>, Conflict<'a>> {
    let n = order.elements.len();
    let placed = &order.placed;
    let rank_of = |i: usize| rank(placed[i].role, n);
    let mut sorted: Vec<usize> = (0..placed.len()).collect();
    sorted.sort_by_key(|&i| (rank_of(i), placed[i].op.call, placed[i].op.id));
    // Sweep from the highest rank down, keeping the earliest completion among higher ranks.
    let mut earliest_after: Option<(usize, usize)> = None;
    let mut conflict = None;
    let mut end = sorted.len();
    while end > 0 {
        let group_rank = rank_of(sorted[end - 1]);
        let mut start = end;
        while start > 0 && rank_of(sorted[start - 1]) == group_rank {
            start -= 1;
        }
        let group = &sorted[start..end];
        if let Some((ret, later)) = earliest_after {
            if let Some(&earlier) = group.iter().find(|&&x| ret < placed[x].op.call) {
                conflict = Some(Conflict {
                    earlier: placed[earlier],
                    later: placed[later],
                });
            }
        }
        for &x in group {
            if let Some(ret) = placed[x].op.ret {
                if earliest_after.is_none_or(|(best, _)| ret < best) {
                    earliest_after = Some((ret, x));
                }
            }
        }
        end = start;
    }
    match conflict {
        Some(conflict) => Err(conflict),
        None => Ok(sorted),
    }
}
