//! The simulated clients' operations: seeded per client, independent of timing and replies.
//! Each [`SimOp`] knows its history form (`f`, key, value), the KV request it sends, and the
//! history value of an `Ok` reply (the same conventions as the harness workloads and the
//! checker's models: register values are integers; list-append keys hold `"3,17,"` in the store
//! and reads are recorded as lists).

use raft::kv::{Op, OpResult};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};

use super::spec::SimWorkload;

/// Keys in use at once by the append workload, and ops per key before moving to fresh keys.
const APPEND_KEYS: u64 = 4;
const APPEND_OPS_PER_KEY_WINDOW: u64 = 60;

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimOp {
    RegisterRead,
    RegisterWrite(i64),
    RegisterCas { expected: i64, new: i64 },
    Append { key: String, element: i64 },
    ListRead { key: String },
}

impl SimOp {
    pub fn f(&self) -> &'static str {
        match self {
            SimOp::RegisterRead | SimOp::ListRead { .. } => "read",
            SimOp::RegisterWrite(_) => "write",
            SimOp::RegisterCas { .. } => "cas",
            SimOp::Append { .. } => "append",
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, SimOp::RegisterRead | SimOp::ListRead { .. })
    }

    /// The history key (none for the single register).
    pub fn history_key(&self) -> Option<&str> {
        match self {
            SimOp::Append { key, .. } | SimOp::ListRead { key } => Some(key),
            _ => None,
        }
    }

    pub fn invoke_value(&self) -> Json {
        match self {
            SimOp::RegisterRead | SimOp::ListRead { .. } => Json::Null,
            SimOp::RegisterWrite(v) => json!(v),
            SimOp::RegisterCas { expected, new } => json!([expected, new]),
            SimOp::Append { element, .. } => json!(element),
        }
    }

    /// The KV operation sent to the cluster.
    pub fn request(&self) -> Op {
        let register = "register".to_string();
        match self {
            SimOp::RegisterRead => Op::Get { key: register },
            SimOp::RegisterWrite(v) => Op::Put {
                key: register,
                value: v.to_string(),
            },
            SimOp::RegisterCas { expected, new } => Op::Cas {
                key: register,
                expected: Some(expected.to_string()),
                new: new.to_string(),
            },
            SimOp::Append { key, element } => Op::Append {
                key: key.clone(),
                value: format!("{element},"),
            },
            SimOp::ListRead { key } => Op::Get { key: key.clone() },
        }
    }

    /// The history value of a successful reply; `Err` names a reply that does not fit.
    pub fn ok_value(&self, result: &OpResult) -> Result<Json, String> {
        let bad = || Err(format!("unexpected reply {result:?} to {}", self.f()));
        match (self, result) {
            (SimOp::RegisterRead, OpResult::Value(None)) => Ok(Json::Null),
            (SimOp::RegisterRead, OpResult::Value(Some(v))) => match v.parse::<i64>() {
                Ok(n) => Ok(json!(n)),
                Err(_) => bad(),
            },
            (SimOp::RegisterWrite(v), OpResult::Written) => Ok(json!(v)),
            (SimOp::RegisterCas { expected, new }, OpResult::CasOk) => Ok(json!([expected, new])),
            (SimOp::Append { element, .. }, OpResult::Written) => Ok(json!(element)),
            (SimOp::ListRead { .. }, OpResult::Value(value)) => {
                let text = value.as_deref().unwrap_or("");
                let mut items = Vec::new();
                for part in text.split(',').filter(|p| !p.is_empty()) {
                    match part.parse::<i64>() {
                        Ok(n) => items.push(json!(n)),
                        Err(_) => return bad(),
                    }
                }
                Ok(Json::Array(items))
            }
            _ => bad(),
        }
    }

    /// True when an `Ok` reply means "compared and did not match" (recorded as `fail`: a cas
    /// whose comparison failed changed nothing).
    pub fn is_cas_mismatch(&self, result: &OpResult) -> bool {
        matches!(
            (self, result),
            (SimOp::RegisterCas { .. }, OpResult::CasMismatch { .. })
        )
    }
}

/// The operation stream of one client.
pub struct OpGenerator {
    workload: SimWorkload,
    rng: ChaCha8Rng,
    client: u64,
    issued: u64,
}

impl OpGenerator {
    pub fn new(workload: SimWorkload, seed: u64, client: u64) -> OpGenerator {
        let mixed = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(client.wrapping_mul(0xc2b2_ae3d_27d4_eb4f));
        OpGenerator {
            workload,
            rng: ChaCha8Rng::seed_from_u64(mixed ^ 0x776f_726b_6c6f_6164),
            client,
            issued: 0,
        }
    }

    /// The next operation; `reads_only` in the final phase.
    pub fn next_op(&mut self, reads_only: bool) -> SimOp {
        self.issued += 1;
        match self.workload {
            SimWorkload::Register => {
                if reads_only {
                    return SimOp::RegisterRead;
                }
                match self.rng.random_range(0..10) {
                    0..=3 => SimOp::RegisterRead,
                    4..=6 => SimOp::RegisterWrite(self.rng.random_range(0..5)),
                    _ => SimOp::RegisterCas {
                        expected: self.rng.random_range(0..5),
                        new: self.rng.random_range(0..5),
                    },
                }
            }
            SimWorkload::Append => {
                // Every client moves through the same windows of keys at its own pace.
                let window = self.issued / APPEND_OPS_PER_KEY_WINDOW;
                let key = format!(
                    "k{}",
                    window * APPEND_KEYS + self.rng.random_range(0..APPEND_KEYS)
                );
                if reads_only || self.rng.random_bool(0.4) {
                    SimOp::ListRead { key }
                } else {
                    SimOp::Append {
                        key,
                        element: (self.client as i64) * 1_000_000 + self.issued as i64,
                    }
                }
            }
        }
    }
}
