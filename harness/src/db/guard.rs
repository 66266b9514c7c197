//! The process guard: every node process the harness starts is registered here, in its own
//! process group, so that no node outlives gauntlet on any exit path.
//!
//! Paths covered: normal end and errors (the [`Db`](super::Db) tears down and unregisters), panics
//! (the owner's `Drop` and the panic hook installed by [`install_panic_hook`] call [`kill_all`]),
//! Ctrl-C and SIGTERM (the run's signal handler calls [`kill_all`] before exiting). SIGKILL of
//! gauntlet itself cannot be caught; nodes then survive until killed by their process group id,
//! which is logged at start.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, Once};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn live() -> MutexGuard<'static, BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Remembers a process group (the node's pid; nodes are started as group leaders).
pub fn register(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        live().insert(pgid);
    }
}

/// Forgets a process group whose processes are gone.
pub fn unregister(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        live().remove(&pgid);
    }
}

/// SIGKILLs one process group (stopped processes die too). Errors (already gone) are ignored.
pub fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// SIGKILLs every registered process group and forgets them. Safe to call from any thread, any
/// number of times.
pub fn kill_all() {
    let groups: Vec<i32> = std::mem::take(&mut *live()).into_iter().collect();
    for pgid in groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// The process groups currently registered.
pub fn registered() -> Vec<u32> {
    live()
        .iter()
        .filter_map(|&p| u32::try_from(p).ok())
        .collect()
}

/// Adds a panic hook (once) that kills every node before the default hook reports the panic.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            kill_all();
            previous(info);
        }));
    });
}
