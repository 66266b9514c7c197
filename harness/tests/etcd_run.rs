//! etcd as a target of `gauntlet test`, through the same entry point as raft-kv: cutting the
//! proxy's links really cuts etcd (isolating the leader elects another, healing brings the old
//! one back up to date), a short `--db etcd` run with every kind of fault passes with each
//! member's log in its run directory, serializable reads under partitions are caught as stale,
//! and membership churn is refused before anything starts. Tests that need etcd print SKIPPED
//! when it is not installed instead of passing silently.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::db::etcd_client::EtcdClient;
use harness::db::etcd_target::{EtcdTarget, ReadConsistency};
use harness::db::{guard, ClientProfile, Db, DbClient, KvReply, NodeId};
use harness::proxy::{DestinationSpec, LinkId, LinkState, Proxy, ProxyConfig};
use harness::run::{NodePlan, PeerRouting, Target};
use raft::kv::Op;

const GAUNTLET: &str = env!("CARGO_BIN_EXE_gauntlet");

fn gauntlet_etcd(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(GAUNTLET)
        .args(["test", "--db", "etcd", "--nodes", "3", "--store"])
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The run directory a finished run names in its summary line.
fn run_dir(stdout: &str) -> std::path::PathBuf {
    let tail = stdout
        .split("everything is in ")
        .nth(1)
        .unwrap_or_else(|| panic!("no run directory in {stdout}"));
    tail.split(';').next().unwrap().trim().into()
}

async fn leaders_among(db: &dyn Db, nodes: &[NodeId]) -> Vec<NodeId> {
    let mut found = Vec::new();
    for &node in nodes {
        if db.is_leader(node).await {
            found.push(node);
        }
    }
    found
}

/// Polls until `leaders_among(nodes)` is exactly one node, up to `within`.
async fn one_leader_among(db: &dyn Db, nodes: &[NodeId], within: Duration) -> Option<NodeId> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let [leader] = leaders_among(db, nodes).await[..] {
            return Some(leader);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

async fn until_ok(client: &mut dyn DbClient, op: Op, within: Duration) -> KvReply {
    let started = Instant::now();
    loop {
        match client.call(op.clone()).await {
            Ok(reply) => return reply,
            Err(failure) if started.elapsed() > within => panic!("{op:?}: {failure:?}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolating_the_leader_through_the_proxy_elects_another_and_healing_restores_it() {
    if !support::etcd_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = EtcdTarget {
        binary: "etcd".into(),
        read_consistency: ReadConsistency::Linearizable,
    };
    let mut planned = target
        .plan(&NodePlan {
            dir: dir.path().into(),
            nodes: 3,
            spares: 0,
            seed: 5,
        })
        .unwrap();
    assert_eq!(planned.routing(), PeerRouting::PerDestination);
    let destinations = planned
        .peer_addrs()
        .into_iter()
        .map(|(to, addr)| DestinationSpec::loopback(to, addr))
        .collect();
    let proxy = Proxy::start_by_destination(ProxyConfig::default(), destinations)
        .await
        .unwrap();
    planned
        .route_peers(&|from, to| proxy.addr(LinkId::new(from, to)).unwrap())
        .unwrap();
    let mut db = planned.into_db();
    tokio::task::block_in_place(|| {
        for node in db.nodes() {
            db.start(node).unwrap();
        }
    });
    let nodes = db.nodes();
    let leader = one_leader_among(db.as_ref(), &nodes, Duration::from_secs(20))
        .await
        .expect("a leader at start");
    let others: Vec<NodeId> = nodes.iter().copied().filter(|&n| n != leader).collect();
    // Every peer byte goes through the proxy, on the link of its sender.
    for &other in &others {
        let heard = proxy.stats(LinkId::new(leader, other)).unwrap();
        assert!(heard.bytes_forwarded > 0, "{leader}->{other}: {heard:?}");
    }

    // Cut every link to and from the leader, both ways: the others elect one of themselves.
    for &other in &others {
        for link in [LinkId::new(leader, other), LinkId::new(other, leader)] {
            proxy
                .set(link, LinkState::Blackhole { drop: true })
                .unwrap();
        }
    }
    let new_leader = one_leader_among(db.as_ref(), &others, Duration::from_secs(20))
        .await
        .expect("the others elect a leader while the old one is cut off");
    let addr_of = |node: NodeId| {
        let index = nodes.iter().position(|&n| n == node).unwrap();
        db.client_addrs()[index]
    };
    let mut majority = EtcdClient::new(
        vec![(new_leader, addr_of(new_leader))],
        ClientProfile::Patient,
        0,
    );
    let written = Op::Put {
        key: "cut".into(),
        value: "while-isolated".into(),
    };
    assert_eq!(
        until_ok(&mut majority, written, Duration::from_secs(10)).await,
        KvReply::Written
    );
    // The old leader cannot serve a linearizable read while cut off.
    let mut isolated = EtcdClient::new(vec![(leader, addr_of(leader))], ClientProfile::Workload, 0);
    let read = Op::Get { key: "cut".into() };
    assert!(
        isolated.call(read.clone()).await.is_err(),
        "the cut-off member served a read"
    );

    // Heal: the old leader catches up and serves the write it missed.
    proxy.heal_all();
    let mut healed = EtcdClient::new(vec![(leader, addr_of(leader))], ClientProfile::Patient, 0);
    assert_eq!(
        until_ok(&mut healed, read, Duration::from_secs(20)).await,
        KvReply::Value(Some("while-isolated".into()))
    );
    assert!(
        one_leader_among(db.as_ref(), &nodes, Duration::from_secs(20))
            .await
            .is_some()
    );
    tokio::task::block_in_place(|| db.teardown());
    guard::kill_all();
}

#[test]
fn a_short_etcd_run_with_every_fault_passes_and_keeps_each_members_log() {
    if !support::etcd_installed() {
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let output = gauntlet_etcd(
        store.path(),
        &[
            "--time",
            "10",
            "--seed",
            "3",
            "--workload",
            "append",
            "--nemesis",
            "partition,kill,pause,delay,lag-kill",
            "--nemesis-interval",
            "2",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let dir = run_dir(&stdout);
    for node in 1..=3 {
        let log = std::fs::read_to_string(dir.join(format!("node-{node}.log"))).unwrap();
        assert!(log.contains("starting etcd member"), "node {node}: {log}");
    }
    let test = read_json(&dir.join("test.json"));
    assert_eq!(test["db"], "etcd", "{test}");
    let replay = test["replay"].as_str().unwrap();
    assert!(replay.contains("--db etcd --etcd-bin etcd"), "{replay}");
    let results = read_json(&dir.join("results.json"));
    assert!(
        results["raft_check"].is_null(),
        "etcd writes no event streams: {results}"
    );
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    assert!(
        history.contains("\"process\":\"nemesis\""),
        "no fault applied"
    );
}

#[test]
fn serializable_etcd_reads_under_partitions_are_caught_as_stale() {
    if !support::etcd_installed() {
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let mut verdicts = Vec::new();
    for seed in ["1", "2", "3"] {
        let output = gauntlet_etcd(
            store.path(),
            &[
                "--time",
                "10",
                "--seed",
                seed,
                "--workload",
                "register",
                "--nemesis",
                "partition",
                "--read-consistency",
                "serializable",
            ],
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.code() == Some(1) && stdout.contains("stale-read") {
            return;
        }
        verdicts.push(stdout);
    }
    panic!("no stale read caught in three seeds: {verdicts:#?}");
}

#[test]
fn etcd_refuses_the_membership_nemesis_before_starting_anything() {
    let store = tempfile::tempdir().unwrap();
    let output = gauntlet_etcd(store.path(), &["--nemesis", "partition,membership"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("membership"), "{stderr}");
    assert!(
        std::fs::read_dir(store.path()).unwrap().next().is_none(),
        "a refused run left a run directory"
    );
    // And raft-kv refuses serializable reads, which it does not have.
    let raft_kv = Command::new(GAUNTLET)
        .args(["test", "--read-consistency", "serializable", "--store"])
        .arg(store.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&raft_kv.stderr);
    assert_eq!(raft_kv.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--read-consistency serializable"),
        "{stderr}"
    );
}
