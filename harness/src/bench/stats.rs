//! Figures from a measurement's latencies (throughput, p50, p99, max) and the spread of a figure
//! over several runs. Latencies are kept whole and sorted (no histogram crate is in the
//! dependency tree, and a measurement holds at most a few million of them).

use std::time::Duration;

use serde::Serialize;

use super::generator::Sample;

/// The `q`-quantile (0 < q <= 1) of sorted latencies by the nearest-rank rule: the smallest
/// latency that at least a fraction `q` of them do not exceed. `None` when there are none.
pub fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One measurement's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Figures {
    /// Successful operations completed in the window.
    pub ops: u64,
    /// `ops` per second of the window.
    pub ops_per_sec: f64,
    /// Latency quantiles of the successful operations, ms (`None`: no operation succeeded).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Failed operations that surely did not take effect.
    pub fail: u64,
    /// Failed operations whose outcome is unknown.
    pub info: u64,
    /// The first failure's reason, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

impl Figures {
    /// The figures of one sample (its latencies get sorted).
    pub fn of(mut sample: Sample) -> Figures {
        sample.tally.latencies.sort_unstable();
        let sorted = &sample.tally.latencies;
        let window = sample.window.as_secs_f64();
        Figures {
            ops: sorted.len() as u64,
            ops_per_sec: if window > 0.0 {
                sorted.len() as f64 / window
            } else {
                0.0
            },
            p50_ms: percentile(sorted, 0.50).map(ms),
            p99_ms: percentile(sorted, 0.99).map(ms),
            max_ms: sorted.last().copied().map(ms),
            fail: sample.tally.fails,
            info: sample.tally.infos,
            first_error: sample.tally.first_error,
        }
    }
}

/// A figure over several runs: lowest, median and highest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (NaN ignored); `None` when there is none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        };
        Some(Spread {
            min: values[0],
            median,
            max: values[values.len() - 1],
        })
    }

    /// The width of the spread relative to its median, in percent (0 for one run).
    pub fn width_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::generator::ClientTally;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn percentiles_follow_the_nearest_rank_rule() {
        let sorted = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 0.50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&sorted, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&sorted, 1.0), Some(Duration::from_millis(100)));
        let one = millis(&[7]);
        assert_eq!(percentile(&one, 0.5), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&one, 0.99), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 0.5), None);
        let three = millis(&[1, 2, 30]);
        assert_eq!(percentile(&three, 0.5), Some(Duration::from_millis(2)));
        assert_eq!(percentile(&three, 0.99), Some(Duration::from_millis(30)));
    }

    #[test]
    fn figures_count_successes_per_second_and_keep_failures_apart() {
        let sample = Sample {
            window: Duration::from_secs(2),
            tally: ClientTally {
                latencies: millis(&[4, 1, 3, 2]),
                fails: 2,
                infos: 1,
                first_error: Some("timeout: slow".into()),
            },
        };
        let figures = Figures::of(sample);
        assert_eq!(figures.ops, 4);
        assert_eq!(figures.ops_per_sec, 2.0);
        assert_eq!(figures.p50_ms, Some(2.0));
        assert_eq!(figures.p99_ms, Some(4.0));
        assert_eq!(figures.max_ms, Some(4.0));
        assert_eq!((figures.fail, figures.info), (2, 1));
        let empty = Figures::of(Sample {
            window: Duration::from_secs(1),
            tally: ClientTally::default(),
        });
        assert_eq!((empty.ops, empty.p50_ms, empty.max_ms), (0, None, None));
    }

    #[test]
    fn spreads_give_min_median_max() {
        let odd = Spread::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.min, odd.median, odd.max), (1.0, 2.0, 3.0));
        assert_eq!(odd.width_percent(), 100.0);
        let even = Spread::of([4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(even.median, 2.5);
        assert_eq!(Spread::of([f64::NAN]), None);
        assert_eq!(Spread::of(std::iter::empty()), None);
    }
}
