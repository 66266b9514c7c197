//! The closed-loop load generator: N clients of the system under test, each issuing its next
//! operation as soon as the previous one completed, for a warm-up and then a measured window.
//!
//! An operation counts when it completes inside the measured window (its latency is from its own
//! start, which may fall in the warm-up); operations completing during the warm-up or after the
//! window are not counted. Successful operations give the latencies; failed ones are counted as
//! `fail` (surely not applied) or `info` (outcome unknown) by the client's own rule, and the
//! client pauses [`PAUSE_AFTER_FAILURE`] before its next operation so a dead cluster is not
//! hammered in a tight loop.

use std::time::Duration;

use raft::kv::Op;
use tokio::time::Instant;

use crate::db::{ClientFailure, DbClient};

/// How long a client waits after a failed operation before the next one.
pub const PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(10);

/// What every operation of a measurement does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BenchOp {
    /// A put of a value of `value_bytes` bytes (through the log).
    Put,
    /// A linearizable get of a key put before the measurement.
    Get,
}

impl BenchOp {
    /// The `--op` name.
    pub fn name(self) -> &'static str {
        match self {
            BenchOp::Put => "put",
            BenchOp::Get => "get",
        }
    }

    /// The operation a client sends for key `key`.
    pub fn request(self, key: String, value: &str) -> Op {
        match self {
            BenchOp::Put => Op::Put {
                key,
                value: value.to_owned(),
            },
            BenchOp::Get => Op::Get { key },
        }
    }
}

impl std::str::FromStr for BenchOp {
    type Err = String;

    fn from_str(s: &str) -> Result<BenchOp, String> {
        match s {
            "put" => Ok(BenchOp::Put),
            "get" => Ok(BenchOp::Get),
            other => Err(format!("unknown operation {other:?} (expected put or get)")),
        }
    }
}

/// One measurement's load.
#[derive(Clone, Debug)]
pub struct Load {
    pub op: BenchOp,
    /// Time before the measured window (connections are made, leaders found, caches warm).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Bytes of every value put.
    pub value_bytes: usize,
    /// Size of the key space (keys `bench-0` .. `bench-<keys - 1>`).
    pub keys: usize,
}

/// The name of key number `index`.
pub fn key_name(index: usize) -> String {
    format!("bench-{index}")
}

/// The value every put writes: `value_bytes` bytes.
pub fn bench_value(value_bytes: usize) -> String {
    "x".repeat(value_bytes)
}

/// The key client `client` (of `clients`) uses for its `step`-th operation: the clients start
/// spread evenly over the key space and each walks through it one key at a time.
pub fn key_index(client: usize, clients: usize, step: usize, keys: usize) -> usize {
    let keys = keys.max(1);
    let start = client * keys / clients.max(1);
    (start + step) % keys
}

/// What one client saw in the measured window.
#[derive(Clone, Debug, Default)]
pub struct ClientTally {
    /// Latency of every successful operation that completed in the window.
    pub latencies: Vec<Duration>,
    /// Failed operations that surely did not take effect.
    pub fails: u64,
    /// Failed operations whose outcome is unknown.
    pub infos: u64,
    /// The first failure's reason, to show what went wrong.
    pub first_error: Option<String>,
}

impl ClientTally {
    fn count_failure(&mut self, failure: &ClientFailure) {
        if failure.definite {
            self.fails += 1;
        } else {
            self.infos += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(format!("{}: {}", failure.kind.name(), failure.reason));
        }
    }

    /// Adds another client's tally to this one.
    pub fn merge(&mut self, other: ClientTally) {
        self.latencies.extend(other.latencies);
        self.fails += other.fails;
        self.infos += other.infos;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Everything one measurement saw: every client's tally merged, and the window's length.
#[derive(Clone, Debug)]
pub struct Sample {
    pub window: Duration,
    pub tally: ClientTally,
}

/// Drives `clients` (one task each) with `load`; returns when every client has stopped (the
/// window is over and each one's operation in flight has completed).
pub async fn drive(clients: Vec<Box<dyn DbClient>>, load: &Load) -> Sample {
    let count = clients.len();
    let measure_from = Instant::now() + load.warmup;
    let measure_until = measure_from + load.duration;
    let value = std::sync::Arc::new(bench_value(load.value_bytes));
    let mut tasks = Vec::with_capacity(count);
    for (index, client) in clients.into_iter().enumerate() {
        let value = value.clone();
        let (op, keys) = (load.op, load.keys);
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            let mut tally = ClientTally::default();
            let mut step = 0;
            while Instant::now() < measure_until {
                let key = key_name(key_index(index, count, step, keys));
                step += 1;
                let started = Instant::now();
                let result = client.call(op.request(key, &value)).await;
                let finished = Instant::now();
                let counts = finished >= measure_from && finished < measure_until;
                match result {
                    Ok(_) if counts => tally.latencies.push(finished - started),
                    Ok(_) => {}
                    Err(failure) => {
                        if counts {
                            tally.count_failure(&failure);
                        }
                        tokio::time::sleep(PAUSE_AFTER_FAILURE).await;
                    }
                }
            }
            tally
        }));
    }
    let mut total = ClientTally::default();
    for task in tasks {
        match task.await {
            Ok(tally) => total.merge(tally),
            Err(err) => {
                total.infos += 1;
                total
                    .first_error
                    .get_or_insert(format!("a client task failed: {err}"));
            }
        }
    }
    Sample {
        window: load.duration,
        tally: total,
    }
}

/// Puts every key of the key space once (values of `value_bytes` bytes) with `clients`, so that
/// gets read present values. Each put is retried until it succeeds, up to `attempts` times.
pub async fn preload(
    clients: Vec<Box<dyn DbClient>>,
    keys: usize,
    value_bytes: usize,
    attempts: u32,
) -> Result<(), String> {
    let count = clients.len().max(1);
    let value = std::sync::Arc::new(bench_value(value_bytes));
    let mut tasks = Vec::new();
    for (index, mut client) in clients.into_iter().enumerate() {
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            for key in (index..keys).step_by(count) {
                let mut last = None;
                for _ in 0..attempts.max(1) {
                    match client
                        .call(BenchOp::Put.request(key_name(key), &value))
                        .await
                    {
                        Ok(_) => {
                            last = None;
                            break;
                        }
                        Err(failure) => {
                            last = Some(failure.reason);
                            tokio::time::sleep(PAUSE_AFTER_FAILURE * 10).await;
                        }
                    }
                }
                if let Some(reason) = last {
                    return Err(format!("putting {}: {reason}", key_name(key)));
                }
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|err| format!("a preload task failed: {err}"))??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_start_spread_over_the_key_space_and_walk_it() {
        assert_eq!(key_index(0, 4, 0, 100), 0);
        assert_eq!(key_index(1, 4, 0, 100), 25);
        assert_eq!(key_index(3, 4, 0, 100), 75);
        assert_eq!(key_index(3, 4, 30, 100), 5);
        // More clients than keys: several share a key, every index stays in range.
        for client in 0..64 {
            assert!(key_index(client, 64, 7, 10) < 10);
        }
        assert_eq!(key_index(0, 1, 5, 1), 0);
    }

    #[test]
    fn ops_parse_from_their_names_only() {
        for op in [BenchOp::Put, BenchOp::Get] {
            assert_eq!(op.name().parse::<BenchOp>(), Ok(op));
        }
        assert!("cas".parse::<BenchOp>().is_err());
        assert_eq!(bench_value(3), "xxx");
        assert_eq!(
            BenchOp::Put.request("k".into(), "v"),
            Op::Put {
                key: "k".into(),
                value: "v".into()
            }
        );
    }
}
