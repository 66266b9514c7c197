//! The world's network between nodes: per-message delay, loss, duplication and reordering
//! (slow messages overtaken by later ones), plus the cut, lossy, delayed and stale
//! links.
//! Clients reach nodes over links with the ordinary delay and loss but no partitions.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use serde::{Deserialize, Serialize};

use crate::core::NodeId;

/// A directed link between two nodes: messages from `.0` to `.1`.
pub type Link = (NodeId, NodeId);

/// The per-message behaviour of the world's network (on top of the cut, lossy, delayed and
/// stale links its owner sets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Delay of an ordinary message, uniform in `[min_delay_us, max_delay_us]`.
    pub min_delay_us: u64,
    pub max_delay_us: u64,
    /// Chance that a message is held much longer (up to `slow_delay_us`): reorders messages.
    pub slow_chance: f64,
    pub slow_delay_us: u64,
    /// Chance that a message is lost.
    pub loss_chance: f64,
    /// Chance that a message is delivered twice.
    pub duplicate_chance: f64,
    /// Time one simulated fsync takes, uniform in `[min_sync_us, max_sync_us]`.
    pub min_sync_us: u64,
    pub max_sync_us: u64,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            min_delay_us: 200,
            max_delay_us: 3_000,
            slow_chance: 0.02,
            slow_delay_us: 300_000,
            loss_chance: 0.01,
            duplicate_chance: 0.02,
            min_sync_us: 100,
            max_sync_us: 2_000,
        }
    }
}

impl NetworkSpec {
    /// No loss, duplication, slow messages or reordering: every message takes 1 ms, so each link
    /// delivers in order (for scripted scenarios).
    pub fn reliable() -> NetworkSpec {
        NetworkSpec {
            min_delay_us: 1_000,
            max_delay_us: 1_000,
            slow_chance: 0.0,
            loss_chance: 0.0,
            duplicate_chance: 0.0,
            ..NetworkSpec::default()
        }
    }
}

/// The state of every link.
#[derive(Debug)]
pub struct Network {
    spec: NetworkSpec,
    /// Cut links, counted (overlapping cuts of one link need as many heals).
    cut: BTreeMap<Link, u32>,
    lossy: BTreeSet<Link>,
    slow: BTreeMap<Link, (u64, u64)>,
    /// `stale-links`: (pass, mean stall, release) in ms, as the proxy's `Stale` state.
    stale: BTreeMap<Link, (u64, u64, u64)>,
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
}

impl Network {
    pub fn new(spec: NetworkSpec) -> Network {
        Network {
            spec,
            cut: BTreeMap::new(),
            lossy: BTreeSet::new(),
            slow: BTreeMap::new(),
            stale: BTreeMap::new(),
            sent: 0,
            dropped: 0,
            duplicated: 0,
        }
    }

    /// Changes the per-message behaviour from now on (messages on their way keep theirs).
    pub fn set_spec(&mut self, spec: NetworkSpec) {
        self.spec = spec;
    }

    /// True when `from -> to` is cut now.
    pub fn is_cut(&self, link: Link) -> bool {
        self.cut.contains_key(&link)
    }

    pub fn cut_links(&mut self, links: &[Link]) {
        for link in links {
            *self.cut.entry(*link).or_insert(0) += 1;
        }
    }

    pub fn heal_links(&mut self, links: &[Link]) {
        for link in links {
            if let Some(count) = self.cut.get_mut(link) {
                *count -= 1;
                if *count == 0 {
                    self.cut.remove(link);
                }
            }
        }
    }

    /// Heals every cut link at once, however often it was cut.
    pub fn heal_all(&mut self) {
        self.cut.clear();
    }

    /// Heals `link` at once, however often it was cut.
    pub fn uncut(&mut self, link: Link) {
        self.cut.remove(&link);
    }

    pub fn set_lossy(&mut self, links: &[Link], on: bool) {
        for link in links {
            if on {
                self.lossy.insert(*link);
            } else {
                self.lossy.remove(link);
            }
        }
    }

    pub fn set_delay(&mut self, links: &[Link], delay: Option<(u64, u64)>) {
        for link in links {
            match delay {
                Some(d) => {
                    self.slow.insert(*link, d);
                }
                None => {
                    self.slow.remove(link);
                }
            }
        }
    }

    /// Makes links stale (`Some((pass_ms, stall_ms, release_ms))`) or not (`None`).
    pub fn set_stale(&mut self, links: &[Link], stale: Option<(u64, u64, u64)>) {
        for link in links {
            match stale {
                Some(s) => {
                    self.stale.insert(*link, s);
                }
                None => {
                    self.stale.remove(link);
                }
            }
        }
    }

    /// The delays (microseconds) of the copies of one peer message that get through: none when
    /// lost or cut, two when duplicated.
    pub fn peer_delays(&mut self, rng: &mut ChaCha8Rng, link: Link) -> Vec<u64> {
        self.sent += 1;
        if self.is_cut(link) || self.lossy.contains(&link) || rng.random_bool(self.spec.loss_chance)
        {
            self.dropped += 1;
            return Vec::new();
        }
        let mut extra = self.slow.get(&link).map_or(0, |&(fixed_ms, jitter_ms)| {
            (fixed_ms + rng.random_range(0..=jitter_ms)) * 1_000
        });
        // A stale link holds what is sent during a stall (a share `stall / (pass + stall)` of the
        // time) until after the stall and the release, while later messages pass: the real
        // fault's effect on one message, without its connections.
        if let Some(&(pass_ms, stall_ms, release_ms)) = self.stale.get(&link) {
            if stall_ms > 0 && rng.random_range(0..pass_ms + stall_ms) < stall_ms {
                extra += (rng.random_range(1..=stall_ms) + release_ms) * 1_000;
            }
        }
        let mut delays = vec![self.one_delay(rng) + extra];
        if rng.random_bool(self.spec.duplicate_chance) {
            self.duplicated += 1;
            delays.push(self.one_delay(rng) + extra);
        }
        delays
    }

    /// The delay of a client request or reply; `None` when lost.
    pub fn client_delay(&mut self, rng: &mut ChaCha8Rng) -> Option<u64> {
        if rng.random_bool(self.spec.loss_chance / 2.0) {
            return None;
        }
        Some(rng.random_range(self.spec.min_delay_us..=self.spec.max_delay_us))
    }

    fn one_delay(&self, rng: &mut ChaCha8Rng) -> u64 {
        let base = rng.random_range(self.spec.min_delay_us..=self.spec.max_delay_us);
        if rng.random_bool(self.spec.slow_chance) {
            base + rng.random_range(0..=self.spec.slow_delay_us)
        } else {
            base
        }
    }

    /// How long one fsync takes.
    pub fn sync_time(&self, rng: &mut ChaCha8Rng) -> u64 {
        rng.random_range(self.spec.min_sync_us..=self.spec.max_sync_us)
    }
}
