//! `--shard I/N`: the I-th of N disjoint slices of a seed range, so that N machines (a CI matrix,
//! a Kubernetes indexed Job, any batch scheduler) each run one slice of a sweep with no
//! coordinator. The slices are strided: shard I of N takes the seeds `A+I-1, A+I-1+N, ...`, so
//! every shard runs the same number of seeds (give or take one) and a stretch of slow seeds is
//! spread over every shard instead of landing on one. `I` counts from 1; together the N shards
//! cover the range exactly once.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One slice of a seed range: shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// A `--shard` value that is not `I/N` with `1 <= I <= N`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected a shard like 1/4 (I/N with 1 <= I <= N), found {0:?}")]
pub struct BadShard(String);

impl Shard {
    /// The whole range as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether this is the whole range (`1/1`).
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// The seeds of `range` this shard runs, in increasing order.
    pub fn seeds(self, range: Range<u64>) -> impl Iterator<Item = u64> {
        let first = range.start.saturating_add(self.index - 1);
        (first..range.end).step_by(self.count as usize)
    }

    /// `-shard-I-of-N` for file names (empty for the whole range).
    pub fn file_suffix(self) -> String {
        if self.is_whole() {
            String::new()
        } else {
            format!("-shard-{}-of-{}", self.index, self.count)
        }
    }
}

impl FromStr for Shard {
    type Err = BadShard;

    fn from_str(s: &str) -> Result<Shard, BadShard> {
        let bad = || BadShard(s.to_string());
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count || count > usize::MAX as u64 {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_shards_cover_the_range_exactly_once() {
        for (range, count) in [
            (0..10, 3),
            (5..6, 4),
            (100..1_000, 7),
            (0..7, 7),
            (3..50, 1),
        ] {
            let mut seen: Vec<u64> = (1..=count)
                .flat_map(|index| Shard { index, count }.seeds(range.clone()))
                .collect();
            seen.sort_unstable();
            let expected: Vec<u64> = range.clone().collect();
            assert_eq!(seen, expected, "{range:?} in {count} shards");
        }
    }

    #[test]
    fn shards_are_strided_and_balanced() {
        let shard: Shard = "2/3".parse().unwrap();
        assert_eq!(shard.seeds(10..20).collect::<Vec<_>>(), vec![11, 14, 17]);
        let sizes: Vec<usize> = (1..=4)
            .map(|index| Shard { index, count: 4 }.seeds(0..10).count())
            .collect();
        assert_eq!(sizes, vec![3, 3, 2, 2]);
    }

    #[test]
    fn bad_shards_are_refused() {
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", "", "/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("3/3".parse::<Shard>().unwrap().to_string(), "3/3");
        assert_eq!(Shard::WHOLE.file_suffix(), "");
        assert_eq!(
            "2/5".parse::<Shard>().unwrap().file_suffix(),
            "-shard-2-of-5"
        );
    }
}
