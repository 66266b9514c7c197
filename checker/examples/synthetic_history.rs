//! Writes a synthetic, linearizable kv history to standard output, for timing `gauntlet check`
//! end to end: `cargo run --release -p checker --example synthetic_history -- jepsen 100000 40 >
//! /tmp/kv-100k.edn` (format `jepsen`, `jsonl` or `porcupine-kv`, operations, keys; 50 clients,
//! seed 7). The 100,000-operation, 40-key Jepsen EDN file is 19 MB. Format `jepsen-register`
//! writes a single-register read/write history instead (no keys), its third argument the number of
//! clients (default 50): `jepsen-register 1000000 10`.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let format = args.first().map_or("jepsen", String::as_str);
    let ops = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let keys = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(40);
    let history = if format == "jepsen-register" {
        synthetic::generated_register(
            ops,
            args.get(2).and_then(|n| n.parse().ok()).unwrap_or(50),
            7,
        )
    } else {
        synthetic::generated_kv(ops, keys, 50, 7)
    };
    let text = match format {
        "jepsen-register" => synthetic::jepsen_edn(&history),
        "jepsen" => synthetic::jepsen_edn(&history),
        "jsonl" => synthetic::native_jsonl(&history),
        "porcupine-kv" => synthetic::porcupine_kv(&history),
        other => {
            eprintln!("synthetic_history: unknown format {other:?}: expected jepsen, jepsen-register, jsonl or porcupine-kv");
            std::process::exit(3);
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout.write_all(text.as_bytes()) {
        eprintln!("synthetic_history: writing the history: {err}");
        std::process::exit(3);
    }
}
