//! The simulated network: messages in flight with a delivery time, and the faults a test can turn
//! on (drop, delay, long delay, duplicate, reorder, cut links one way or both ways).
//!
//! All choices come from one seeded ChaCha RNG, so a run is a pure function of its seed.

use std::collections::{BTreeSet, VecDeque};

use raft::core::{Message, NodeId};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How unreliable the network is. Delays are in ticks; 0 means "delivered within this tick".
#[derive(Clone, Debug, Default)]
pub struct NetConfig {
    /// Probability that a message is lost.
    pub drop: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Each message is delayed by a uniform number of ticks in `0..=max_delay`.
    pub max_delay: u64,
    /// Probability that a message is instead delayed by `long_delay_min..=long_delay_max` ticks.
    pub long_delay: f64,
    pub long_delay_min: u64,
    pub long_delay_max: u64,
    /// Deliver messages that are due in random order instead of send order.
    pub reorder: bool,
}

impl NetConfig {
    /// Every message arrives once, in order, within the tick it was sent.
    pub fn reliable() -> NetConfig {
        NetConfig::default()
    }

    /// Lossy and jittery: 10% loss, 5% duplicates, up to 2 ticks of delay, reordering.
    pub fn unreliable() -> NetConfig {
        NetConfig {
            drop: 0.1,
            duplicate: 0.05,
            max_delay: 2,
            reorder: true,
            ..NetConfig::default()
        }
    }

    /// Unreliable, and a sixth of the messages are held back for up to 4 election timeouts.
    pub fn long_reordering() -> NetConfig {
        NetConfig {
            long_delay: 1.0 / 6.0,
            long_delay_min: 5,
            long_delay_max: 80,
            ..NetConfig::unreliable()
        }
    }

    fn is_fifo(&self) -> bool {
        self.max_delay == 0 && self.long_delay == 0.0 && !self.reorder
    }
}

#[derive(Clone, Debug)]
struct InFlight {
    deliver_at: u64,
    msg: Message,
}

/// A predicate that picks messages to lose.
pub type DropFilter = Box<dyn Fn(&Message) -> bool>;

/// Counters a test can assert on.
#[derive(Clone, Debug, Default)]
pub struct NetStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
}

/// The in-flight messages and the cut links.
pub struct Network {
    pub config: NetConfig,
    queue: VecDeque<InFlight>,
    /// Directed links (from, to) that lose every message.
    cut: BTreeSet<(NodeId, NodeId)>,
    pub stats: NetStats,
    /// Messages for which this returns true are lost (scripted scenarios).
    pub drop_filter: Option<DropFilter>,
}

impl Network {
    pub fn new(config: NetConfig) -> Network {
        Network {
            config,
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            stats: NetStats::default(),
            drop_filter: None,
        }
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Cut the directed link `from -> to`.
    pub fn cut_one_way(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
    }

    pub fn repair_one_way(&mut self, from: NodeId, to: NodeId) {
        self.cut.remove(&(from, to));
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Forget every message in flight (used to model a hard network reset).
    pub fn clear(&mut self) {
        self.stats.dropped += self.queue.len() as u64;
        self.queue.clear();
    }

    /// Hand a message to the network at time `now`.
    pub fn send(&mut self, msg: Message, now: u64, rng: &mut ChaCha8Rng) {
        self.stats.sent += 1;
        if self.is_cut(msg.from, msg.to) || self.drop_filter.as_ref().is_some_and(|f| f(&msg)) {
            self.stats.dropped += 1;
            return;
        }
        if self.config.is_fifo() {
            self.queue.push_back(InFlight {
                deliver_at: now,
                msg,
            });
            return;
        }
        if self.config.drop > 0.0 && rng.random_bool(self.config.drop) {
            self.stats.dropped += 1;
            return;
        }
        let copies = if self.config.duplicate > 0.0 && rng.random_bool(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 1..copies {
            let deliver_at = now + self.draw_delay(rng);
            self.queue.push_back(InFlight {
                deliver_at,
                msg: msg.clone(),
            });
        }
        let deliver_at = now + self.draw_delay(rng);
        self.queue.push_back(InFlight { deliver_at, msg });
    }

    fn draw_delay(&self, rng: &mut ChaCha8Rng) -> u64 {
        let c = &self.config;
        if c.long_delay > 0.0 && rng.random_bool(c.long_delay) {
            rng.random_range(c.long_delay_min..=c.long_delay_max.max(c.long_delay_min))
        } else if c.max_delay > 0 {
            rng.random_range(0..=c.max_delay)
        } else {
            0
        }
    }

    /// Take the next message due at `now`, if any; messages on links cut since they were sent are
    /// lost on the way.
    pub fn next_due(&mut self, now: u64, rng: &mut ChaCha8Rng) -> Option<Message> {
        loop {
            let pos = if self.config.is_fifo() {
                match self.queue.front() {
                    Some(m) if m.deliver_at <= now => 0,
                    _ => return None,
                }
            } else {
                let due: Vec<usize> = self
                    .queue
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.deliver_at <= now)
                    .map(|(i, _)| i)
                    .collect();
                if due.is_empty() {
                    return None;
                }
                if self.config.reorder {
                    due[rng.random_range(0..due.len())]
                } else {
                    due[0]
                }
            };
            let inflight = self.queue.remove(pos)?;
            if self.is_cut(inflight.msg.from, inflight.msg.to) {
                self.stats.dropped += 1;
                continue;
            }
            self.stats.delivered += 1;
            return Some(inflight.msg);
        }
    }
}
