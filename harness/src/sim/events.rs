//! The simulator's own events, queued in the library world's one event queue
//! (`raft::testing::world::Event::Owner`) beside the world's node events, so that one order in
//! simulated time covers both: the clients' timers and the fault schedule's steps.

/// Something of the simulator's that happens at one instant.
#[derive(Debug)]
pub enum SimEvent {
    ClientTimeout {
        client: usize,
        attempt: u64,
    },
    ClientRetry {
        client: usize,
        attempt: u64,
    },
    /// A client starts its next operation.
    ClientStart {
        client: usize,
    },
    FaultStart {
        step: usize,
    },
    FaultEnd {
        step: usize,
    },
    /// The membership operator looks at the cluster again (`sim/world/membership.rs`); polls of
    /// an action other than the one in progress are ignored.
    MemberPoll {
        step: usize,
    },
}
