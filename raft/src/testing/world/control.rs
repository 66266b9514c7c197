//! What the world's owner (the simulator, a scripted scenario) may look at and do between
//! events: time, the random stream, the network, the checker, the nodes' status; crash, restart,
//! wipe, pause and resume nodes, add a node, send a client request, schedule its own events,
//! steer delivery. The event loop itself is in `world.rs`.

use rand_chacha::ChaCha8Rng;

use crate::core::{NodeId, Role, Status};
use crate::driver::Driver;
use crate::events::EventRecord;
use crate::kv::ClientRequest;

use super::disk::SimDisk;
use super::{DropFilter, Event, Network, Requester, SimNode, World, WorldConfig, WorldError};
use crate::testing::Checker;

impl<X> World<X> {
    // ----- the owner's access -----

    /// Virtual time now, in microseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// The world's random stream (the owner draws from it too, so one seed drives everything).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    pub fn checker(&self) -> &Checker {
        &self.checker
    }

    /// Schedules an owner's event at virtual time `at`.
    pub fn schedule(&mut self, at: u64, event: X) {
        self.queue.push(at, Event::Owner(event));
    }

    /// The next event due and its time, taken off the queue; hand it to [`World::handle`].
    pub fn next_event(&mut self) -> Option<(u64, Event<X>)> {
        self.queue.pop()
    }

    /// The cluster's members now, by id.
    pub fn members(&self) -> &[NodeId] {
        &self.members
    }

    /// True once after a committed removal changed the members.
    pub fn take_members_changed(&mut self) -> bool {
        std::mem::take(&mut self.members_changed)
    }

    /// Counts `id` among the members (a node the owner started to join).
    pub fn add_member(&mut self, id: NodeId) -> bool {
        if self.members.contains(&id) {
            return false;
        }
        self.members.push(id);
        self.members.sort_unstable();
        true
    }

    /// Every node ever created: 1..=len.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn slot(&self, id: NodeId) -> Option<usize> {
        let n = usize::try_from(id).ok()?.checked_sub(1)?;
        (n < self.nodes.len()).then_some(n)
    }

    /// The status of a running node.
    pub fn status(&self, id: NodeId) -> Option<Status> {
        let n = self.slot(id)?;
        self.nodes[n].driver.as_ref().map(Driver::status)
    }

    /// A running node's driver (its KV machine, its pending requests).
    pub fn driver(&self, id: NodeId) -> Option<&Driver> {
        self.nodes[self.slot(id)?].driver.as_ref()
    }

    pub fn is_running(&self, id: NodeId) -> bool {
        self.driver(id).is_some()
    }

    pub fn is_removed(&self, id: NodeId) -> bool {
        self.slot(id).is_some_and(|n| self.nodes[n].removed)
    }

    /// The running node that leads in the highest term now, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter_map(|node| node.driver.as_ref().map(|d| (node.id, d.status())))
            .filter(|(_, s)| s.role == Role::Leader)
            .max_by_key(|(_, s)| s.term)
            .map(|(id, _)| id)
    }

    // ----- faults and operations -----

    /// A fresh node slot under the next id, empty disk, not started.
    pub fn add_node(&mut self) -> NodeId {
        let id = self.nodes.len() as NodeId + 1;
        let lazy = self.config.driver_bugs.ack_before_sync;
        self.nodes.push(SimNode::new(id, lazy));
        id
    }

    /// Starts node `id` from its disk unless it runs or was removed.
    pub fn restart(&mut self, id: NodeId) -> Result<(), WorldError> {
        match self.slot(id) {
            Some(n) if self.nodes[n].driver.is_none() && !self.nodes[n].removed => {
                self.start_node(n)
            }
            _ => Ok(()),
        }
    }

    /// A crash: the process is gone, and its file system keeps what was synced plus a seeded
    /// part of the rest (`raft::storage::sim_fs`).
    /// The event streams of every node so far, in the order the world produced them (empty
    /// unless [`WorldConfig::record_events`]).
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    pub fn crash(&mut self, id: NodeId) {
        let Some(n) = self.slot(id) else { return };
        let node = &mut self.nodes[n];
        node.driver = None;
        node.incarnation += 1;
        node.paused = false;
        node.held.clear();
        node.disk.crash(&mut self.rng);
        self.checker.on_crash(node.id);
    }

    /// Stops node `id` (if running) and gives it an empty disk.
    pub fn wipe(&mut self, id: NodeId) {
        let Some(n) = self.slot(id) else { return };
        let lazy = self.config.driver_bugs.ack_before_sync;
        let node = &mut self.nodes[n];
        node.driver = None;
        node.incarnation += 1;
        node.disk = SimDisk::new(lazy);
        self.checker.on_disk_wiped(id);
    }

    /// Node `id` starts an election now (if running), and its batches are carried out.
    pub fn campaign(&mut self, id: NodeId) -> Result<(), WorldError> {
        let Some(n) = self.slot(id) else {
            return Ok(());
        };
        let Some(driver) = self.nodes[n].driver.as_mut() else {
            return Ok(());
        };
        driver.campaign();
        self.pump(n, &mut ())
    }

    /// Freezes node `id`: its clock stops and what arrives for it waits.
    pub fn pause(&mut self, id: NodeId) {
        if let Some(n) = self.slot(id) {
            self.nodes[n].paused = true;
        }
    }

    /// Thaws node `id`: what waited arrives now, in its order.
    pub fn resume(&mut self, id: NodeId) {
        let Some(n) = self.slot(id) else { return };
        self.nodes[n].paused = false;
        for event in std::mem::take(&mut self.nodes[n].held) {
            self.queue.push(self.now, event);
        }
    }

    /// Sends a client request to node `to` over the client network (it may be lost); the
    /// answer comes back as [`Handled::Reply`] for `from`.
    pub fn send_request(&mut self, to: NodeId, from: Requester, request: ClientRequest) {
        if let Some(delay) = self.network.client_delay(&mut self.rng) {
            let node = (to as usize).wrapping_sub(1);
            self.queue.push(
                self.now + delay,
                Event::Request {
                    node,
                    from,
                    request,
                },
            );
        }
    }

    /// Loses every peer message `filter` picks from now on (`None`: none).
    pub fn set_drop_filter(&mut self, filter: Option<DropFilter>) {
        self.drop_filter = filter;
    }

    /// Crashes node `id` when its next fsync completes: what it wrote is durable, but nothing
    /// that waited on it (messages, replies, the durability report) gets out.
    pub fn crash_after_next_sync(&mut self, id: NodeId) {
        if self.is_running(id) && !self.crash_after_sync.contains(&id) {
            self.crash_after_sync.push(id);
        }
    }

    /// Forgets every crash armed with [`World::crash_after_next_sync`].
    pub fn disarm_crashes(&mut self) {
        self.crash_after_sync.clear();
    }
}
