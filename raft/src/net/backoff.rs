//! Exponential reconnect backoff, capped, with jitter drawn from a seeded RNG.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Delay before the next reconnect attempt. Each delay is drawn uniformly from
/// `[current / 2, current]`; `current` doubles after every draw, up to `max`.
#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// A backoff starting at `initial` (at least 1 ms) and never exceeding `max`.
    pub fn new(initial: Duration, max: Duration, seed: u64) -> Backoff {
        let initial = initial.max(Duration::from_millis(1));
        let max = max.max(initial);
        Backoff {
            initial,
            max,
            current: initial,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The next delay to wait; grows the following one.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.current;
        let floor = ceiling / 2;
        let spread = (ceiling - floor).as_micros() as u64;
        let delay = floor + Duration::from_micros(self.rng.random_range(0..=spread));
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// Back to the initial delay (after a connection worked).
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_never_beyond() {
        let max = Duration::from_millis(800);
        let mut backoff = Backoff::new(Duration::from_millis(10), max, 1);
        let delays: Vec<Duration> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= max));
        assert!(delays[0] <= Duration::from_millis(10));
        assert!(
            delays[19] >= max / 2,
            "late delays sit near the cap: {:?}",
            delays[19]
        );
    }

    #[test]
    fn jitter_differs_between_seeds_and_reset_restarts() {
        let draw = |seed| {
            let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10), seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_ne!(draw(1), draw(2));
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_secs(10), 3);
        for _ in 0..10 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(10));
    }
}
