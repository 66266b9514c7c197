//! A `gauntlet test` killed with SIGKILL (no chance to clean up) leaves no raft-kv node behind:
//! each node watches its parent (`raft-kv serve --exit-with-parent`) and stops once it is gone.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::node_bin;

const GAUNTLET: &str = env!("CARGO_BIN_EXE_gauntlet");

/// Live (not zombie) raft-kv processes whose command line mentions `marker`.
fn live_processes_naming(marker: &str) -> Vec<u32> {
    support::live_processes_where(|cmdline| cmdline.contains(marker) && cmdline.contains("serve"))
}

fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("gave up waiting for {what} after {deadline:?}");
    false
}

#[test]
fn nodes_stop_when_gauntlet_is_killed() {
    let store = tempfile::tempdir().unwrap();
    let marker = store.path().to_str().unwrap().to_string();
    let mut gauntlet = Command::new(GAUNTLET)
        .args(["test", "--time", "60", "--nodes", "3", "--nemesis", "none"])
        .arg("--store")
        .arg(store.path())
        .arg("--node-bin")
        .arg(node_bin())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let nodes_running = wait_for("3 nodes", Duration::from_secs(30), || {
        live_processes_naming(&marker).len() >= 3
    });
    let nodes = live_processes_naming(&marker);
    gauntlet.kill().unwrap(); // SIGKILL
    gauntlet.wait().unwrap();
    assert!(nodes_running, "the run never started its nodes: {nodes:?}");
    let gone = wait_for("the nodes to stop", Duration::from_secs(10), || {
        live_processes_naming(&marker).is_empty()
    });
    let left = live_processes_naming(&marker);
    for pid in &left {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    assert!(
        gone,
        "raft-kv nodes {left:?} outlived a SIGKILLed gauntlet (they were {nodes:?})"
    );
}
