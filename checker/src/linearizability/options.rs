//! What a check may spend and what it adds to the report: the search's bounds and extras.

use std::time::Duration;

/// Bounds and extras for a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// Give up with `Unknown` after this long.
    pub timeout: Option<Duration>,
    /// Give up with `Unknown` when the search's memo would hold more than this many bytes.
    pub memory_budget_bytes: usize,
    /// Worker threads for partitions; 0 = all cores.
    pub threads: usize,
    /// Produce a witness linearization for linearizable partitions.
    pub witness: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            memory_budget_bytes: 2 << 30,
            threads: 0,
            witness: false,
        }
    }
}
