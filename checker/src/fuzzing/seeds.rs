//! Seed inputs for the checker's fuzz targets. `checker/tests/fuzz_corpus.rs` writes them (and the
//! histories under `histories/`) to `fuzz/corpus/<target>/` on request (see `docs/fuzzing.md`).

use arbitrary::Unstructured;

use super::generate::generate_history;
use super::parse::event_json;

/// A named seed input.
pub type Seed = (String, Vec<u8>);

/// A small deterministic byte generator (SplitMix64), so seeds need no RNG crate.
fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Seeds for [`super::checker_vs_bruteforce`]: byte strings of a few lengths.
pub fn checker_vs_bruteforce_seeds() -> Vec<Seed> {
    (0..24u64)
        .map(|i| {
            let len = 32 + 16 * (i as usize % 8);
            (format!("bytes-{i:02}"), pseudo_random_bytes(i, len))
        })
        .collect()
}

/// Seeds for [`super::parse_history`] besides the `histories/` files: a line of each format and
/// generated histories written as native JSON Lines.
pub fn parse_history_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = [
        ("jsonl-header", "{\"format\":\"gauntlet-history\",\"version\":1,\"model\":\"kv\"}\n{\"index\":0,\"type\":\"invoke\",\"process\":3,\"f\":\"append\",\"key\":\"k7\",\"value\":\"x\",\"time_ns\":1834}\n{\"type\":\"ok\",\"process\":3,\"f\":\"append\",\"key\":\"k7\",\"value\":\"x\"}\n"),
        ("jsonl-cut-last-line", "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"type\":\"ok\",\"pro"),
        ("edn-ops", "{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}\n{:type :info, :f :start, :value nil, :process :nemesis}\n{:type :ok, :f :write, :value 3, :process 0, :time 20}\n"),
        ("edn-vector", "[{:type :invoke, :f :cas, :value [1 2], :process 1} {:type :fail, :f :cas, :value [1 2], :process 1}]"),
        ("porcupine-kv", "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"1\", :value \"\"}\n"),
        ("etcd-log", "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\nINFO  jepsen.util - 2\t:fail\t:cas\t[3 0]\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t4\n"),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
    .collect();
    for i in 0..12u64 {
        let bytes = pseudo_random_bytes(1000 + i, 160);
        let Ok(generated) = generate_history(&mut Unstructured::new(&bytes)) else {
            continue;
        };
        let mut text = format!("{{\"model\":\"{}\"}}\n", generated.model.name());
        for event in &generated.history.events {
            text.push_str(&event_json(event).to_string());
            text.push('\n');
        }
        seeds.push((format!("generated-{i:02}"), text.into_bytes()));
    }
    seeds
}
