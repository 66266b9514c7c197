//! The world's event queue: events ordered by virtual time (microseconds), ties broken by the
//! order they were scheduled, so a run never depends on anything but the seed. The queue holds
//! the world's own events (ticks, deliveries, fsync completions, client requests and replies)
//! and the events of the world's owner (`Event::Owner`: the simulator's clients and faults), in
//! one order.

use crate::core::{LogMark, Message};
use crate::driver::Token;
use crate::kv::{ClientRequest, ClientResponse};

/// Who sent a client request, so that its reply finds its way back: the owner's client number
/// and the attempt it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Requester {
    pub client: usize,
    pub attempt: u64,
}

/// Something that happens at one instant; `X` is the owner's kind of event.
#[derive(Debug)]
pub enum Event<X> {
    /// A node's tick timer (ignored when from an earlier incarnation).
    Tick { node: usize, incarnation: u32 },
    /// A peer message arrives at `msg.to`.
    Deliver { msg: Message },
    /// A node's fsync of `batch` finished: report `durable` to its driver, then send and
    /// answer what waited for it.
    Synced {
        node: usize,
        incarnation: u32,
        batch: Option<u64>,
        durable: Option<LogMark>,
        send: Vec<Message>,
        replies: Vec<(Token, ClientResponse)>,
    },
    /// `ack-before-sync`: the periodic lazy sync of a node.
    LazySync { node: usize, incarnation: u32 },
    /// A client request arrives at a node.
    Request {
        node: usize,
        from: Requester,
        request: ClientRequest,
    },
    /// A node's answer arrives at its requester.
    Reply {
        to: Requester,
        response: ClientResponse,
    },
    /// An event of the world's owner, handed back to it when its time comes.
    Owner(X),
}

impl<X> Event<X> {
    /// The node an event happens on, if any (held while that node is paused).
    pub fn node(&self) -> Option<usize> {
        match self {
            Event::Tick { node, .. }
            | Event::Synced { node, .. }
            | Event::LazySync { node, .. }
            | Event::Request { node, .. } => Some(*node),
            Event::Deliver { msg } => usize::try_from(msg.to)
                .ok()
                .and_then(|to| to.checked_sub(1)),
            _ => None,
        }
    }
}

/// A heap key: when, in which order, and where the event waits in the slab. Kept small so the
/// heap moves 24 bytes per sift step instead of whole events.
#[derive(Clone, Copy, Debug)]
struct Scheduled {
    time: u64,
    seq: u64,
    slot: u32,
}

impl Scheduled {
    /// True when `self` comes out first. Keys are unique (`seq` is), so the order is total and
    /// the pop order does not depend on the heap's shape.
    fn before(&self, other: &Scheduled) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

/// A 4-ary min-heap of keys: half the depth of a binary heap, and the children of a node share
/// a cache line or two, which makes the pop that every event costs cheaper.
#[derive(Default)]
struct KeyHeap {
    keys: Vec<Scheduled>,
}

impl KeyHeap {
    const ARITY: usize = 4;

    fn push(&mut self, key: Scheduled) {
        let mut hole = self.keys.len();
        self.keys.push(key);
        while hole > 0 {
            let parent = (hole - 1) / Self::ARITY;
            if !key.before(&self.keys[parent]) {
                break;
            }
            self.keys[hole] = self.keys[parent];
            hole = parent;
        }
        self.keys[hole] = key;
    }

    fn first(&self) -> Option<&Scheduled> {
        self.keys.first()
    }

    fn pop(&mut self) -> Option<Scheduled> {
        let last = self.keys.pop()?;
        let Some(&top) = self.keys.first() else {
            return Some(last);
        };
        let len = self.keys.len();
        let mut hole = 0;
        loop {
            let first = hole * Self::ARITY + 1;
            if first >= len {
                break;
            }
            let mut best = first;
            for child in first + 1..(first + Self::ARITY).min(len) {
                if self.keys[child].before(&self.keys[best]) {
                    best = child;
                }
            }
            if !self.keys[best].before(&last) {
                break;
            }
            self.keys[hole] = self.keys[best];
            hole = best;
        }
        self.keys[hole] = last;
        Some(top)
    }
}

/// Pending events: the keys in a heap, the events in a slab whose free slots are reused.
pub struct EventQueue<X> {
    heap: KeyHeap,
    slab: Vec<Option<Event<X>>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<X> Default for EventQueue<X> {
    fn default() -> Self {
        EventQueue {
            heap: KeyHeap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<X> EventQueue<X> {
    pub fn push(&mut self, time: u64, event: Event<X>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Scheduled { time, seq, slot });
    }

    /// The time of the earliest event (perhaps a cancelled slot's, which is never later).
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.first().map(|key| key.time)
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(u64, Event<X>)> {
        while let Some(key) = self.heap.pop() {
            self.free.push(key.slot);
            if let Some(event) = self.slab[key.slot as usize].take() {
                return Some((key.time, event));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_by_scheduling_order() {
        let mut queue = EventQueue::default();
        queue.push(30, Event::Owner(0));
        queue.push(10, Event::Owner(1));
        queue.push(30, Event::Owner(2));
        let (t, _) = queue.pop().unwrap();
        assert_eq!(t, 10);
        // A slot freed by the pop is reused without disturbing the order.
        queue.push(20, Event::Owner(3));
        queue.push(30, Event::Owner(4));
        let order: Vec<(u64, usize)> = std::iter::from_fn(|| queue.pop())
            .map(|(t, e)| match e {
                Event::Owner(client) => (t, client),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![(20, 3), (30, 0), (30, 2), (30, 4)]);
    }

    #[test]
    fn the_heap_pops_every_key_in_order_under_random_pushes_and_pops() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut heap = KeyHeap::default();
        let mut reference = std::collections::BTreeSet::new();
        for seq in 0..5_000u64 {
            if rng.random_bool(0.6) {
                let time = rng.random_range(0..200);
                heap.push(Scheduled { time, seq, slot: 0 });
                reference.insert((time, seq));
            } else {
                let got = heap.pop().map(|k| (k.time, k.seq));
                assert_eq!(got, reference.pop_first());
            }
        }
        while let Some(want) = reference.pop_first() {
            assert_eq!(heap.pop().map(|k| (k.time, k.seq)), Some(want));
        }
        assert!(heap.pop().is_none());
    }
}
