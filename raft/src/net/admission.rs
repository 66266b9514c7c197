//! Who gets a connection slot on a listener: at most `max_connections` at once, and at most
//! `max_per_source` from one source IP address, so one source cannot starve the others.
//!
//! When the listener is full, a new connection takes the slot of the oldest connection that has
//! not proved itself yet (delivered its first request, or completed the peer handshake); that one
//! is closed. Likewise when its source holds its limit: it takes the slot of that source's oldest
//! unproven connection. Idle and half-sent connections therefore cannot lock out a client that
//! speaks right away, from however many addresses they come, nor one that shares their address.
//! When every candidate slot is held by a proven connection, the new connection is refused.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio_util::sync::CancellationToken;

/// The limits of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AdmissionLimits {
    /// Most connections at once (at least 1).
    pub max_connections: usize,
    /// Most connections at once from one source IP address (at least 1).
    pub max_per_source: usize,
}

/// Why a new connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its source already holds `max_per_source` connections.
    SourceFull,
    /// The listener holds `max_connections`, every one of them proven.
    ListenerFull,
}

/// A newly admitted connection.
#[derive(Debug)]
pub(crate) struct Admitted {
    /// Its slot; dropping it frees the slot.
    pub slot: Slot,
    /// Whether an unproven connection was evicted to make room for it.
    pub evicted_another: bool,
}

/// The slot table of one listener, shared by the accept loop and every connection's [`Slot`].
#[derive(Clone, Debug)]
pub(crate) struct Admission {
    limits: AdmissionLimits,
    slots: Arc<Mutex<Slots>>,
}

#[derive(Debug, Default)]
struct Slots {
    next_id: u64,
    per_source: HashMap<IpAddr, usize>,
    /// Every admitted connection, oldest first.
    live: BTreeMap<u64, Live>,
}

#[derive(Debug)]
struct Live {
    source: IpAddr,
    proven: bool,
    evict: CancellationToken,
}

impl Slots {
    /// The oldest connection that has not proved itself, from `source` or from anywhere.
    fn oldest_unproven(&self, source: Option<IpAddr>) -> Option<u64> {
        self.live
            .iter()
            .find(|(_, live)| !live.proven && source.is_none_or(|s| s == live.source))
            .map(|(id, _)| *id)
    }

    /// Frees slot `id` (no-op when already freed) and tells its connection to stop.
    fn release(&mut self, id: u64) {
        let Some(live) = self.live.remove(&id) else {
            return;
        };
        if let Some(count) = self.per_source.get_mut(&live.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_source.remove(&live.source);
            }
        }
        live.evict.cancel();
    }
}

fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    slots.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Admission {
        Admission {
            limits: AdmissionLimits {
                max_connections: limits.max_connections.max(1),
                max_per_source: limits.max_per_source.max(1),
            },
            slots: Arc::default(),
        }
    }

    /// Admits a connection from `source`, evicting the oldest unproven connection when the
    /// listener is full, or says why it cannot be admitted.
    pub fn admit(&self, source: IpAddr) -> Result<Admitted, Refusal> {
        let mut slots = lock(&self.slots);
        let mut evicted_another = false;
        let from_source = slots.per_source.get(&source).copied().unwrap_or(0);
        if from_source >= self.limits.max_per_source {
            let victim = slots.oldest_unproven(Some(source));
            slots.release(victim.ok_or(Refusal::SourceFull)?);
            evicted_another = true;
        }
        if slots.live.len() >= self.limits.max_connections {
            let victim = slots.oldest_unproven(None);
            slots.release(victim.ok_or(Refusal::ListenerFull)?);
            evicted_another = true;
        }
        let id = slots.next_id;
        slots.next_id += 1;
        let evict = CancellationToken::new();
        slots.live.insert(
            id,
            Live {
                source,
                proven: false,
                evict: evict.clone(),
            },
        );
        *slots.per_source.entry(source).or_insert(0) += 1;
        Ok(Admitted {
            slot: Slot {
                id,
                slots: self.slots.clone(),
                evict,
            },
            evicted_another,
        })
    }

    /// Connections holding a slot right now.
    #[cfg(test)]
    fn held(&self) -> usize {
        lock(&self.slots).live.len()
    }
}

/// One connection's slot: freed when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    slots: Arc<Mutex<Slots>>,
    evict: CancellationToken,
}

impl Slot {
    /// The connection proved itself (first request, or completed handshake): it is no longer
    /// evicted to make room for newcomers.
    pub fn prove(&self) {
        if let Some(live) = lock(&self.slots).live.get_mut(&self.id) {
            live.proven = true;
        }
    }

    /// Cancelled when the connection was evicted to make room for another (or its slot freed).
    pub fn evicted(&self) -> CancellationToken {
        self.evict.clone()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.slots).release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn admission(max_connections: usize, max_per_source: usize) -> Admission {
        Admission::new(AdmissionLimits {
            max_connections,
            max_per_source,
        })
    }

    #[test]
    fn one_source_cannot_take_more_than_its_share() {
        let admission = admission(10, 2);
        let a = admission.admit(ip(2)).unwrap().slot;
        let b = admission.admit(ip(2)).unwrap().slot;
        a.prove();
        b.prove();
        assert_eq!(admission.admit(ip(2)).unwrap_err(), Refusal::SourceFull);
        let other = admission.admit(ip(3)).unwrap();
        assert!(!other.evicted_another);
    }

    #[test]
    fn a_full_source_gives_its_oldest_unproven_slot_to_a_newcomer_of_the_same_source() {
        let admission = admission(10, 2);
        let other_source = admission.admit(ip(3)).unwrap().slot;
        let proven = admission.admit(ip(2)).unwrap().slot;
        proven.prove();
        let silent = admission.admit(ip(2)).unwrap().slot;
        let newcomer = admission.admit(ip(2)).unwrap();
        assert!(newcomer.evicted_another);
        assert!(silent.evicted().is_cancelled());
        assert!(!proven.evicted().is_cancelled());
        assert!(!other_source.evicted().is_cancelled());
        newcomer.slot.prove();
        assert_eq!(admission.admit(ip(2)).unwrap_err(), Refusal::SourceFull);
    }

    #[test]
    fn a_freed_slot_counts_again_for_its_source() {
        let admission = admission(10, 1);
        let first = admission.admit(ip(2)).unwrap();
        first.slot.prove();
        assert_eq!(admission.admit(ip(2)).unwrap_err(), Refusal::SourceFull);
        drop(first);
        let _again = admission.admit(ip(2)).unwrap();
        assert_eq!(admission.held(), 1);
    }

    #[test]
    fn a_full_listener_evicts_the_oldest_unproven_connection() {
        let admission = admission(3, 3);
        let oldest = admission.admit(ip(2)).unwrap().slot;
        let proven_older = admission.admit(ip(3)).unwrap().slot;
        let younger = admission.admit(ip(4)).unwrap().slot;
        // Prove the second one: the oldest unproven is then `oldest`, then `younger`.
        proven_older.prove();
        let newcomer = admission.admit(ip(5)).unwrap();
        assert!(newcomer.evicted_another);
        assert!(oldest.evicted().is_cancelled());
        assert!(!proven_older.evicted().is_cancelled());
        assert!(!younger.evicted().is_cancelled());
        assert_eq!(admission.held(), 3);
        // The evicted connection's slot drops later: nothing is freed twice.
        drop(oldest);
        assert_eq!(admission.held(), 3);
    }

    #[test]
    fn a_listener_full_of_proven_connections_refuses() {
        let admission = admission(2, 2);
        let a = admission.admit(ip(2)).unwrap().slot;
        let b = admission.admit(ip(3)).unwrap().slot;
        a.prove();
        b.prove();
        assert_eq!(admission.admit(ip(4)).unwrap_err(), Refusal::ListenerFull);
        drop(a);
        assert!(admission.admit(ip(4)).is_ok());
    }
}
