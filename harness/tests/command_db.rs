//! A system gauntlet did not build, driven through a config file and the command protocol:
//! `CommandDb` and `CommandClient` with the tiny Python server in `tests/fixtures/tiny_kv.py`
//! (every operation, SIGKILL + restart keeping data, wipe, pause as `info`, teardown leaving no
//! process, concurrent clients whose history the checker finds valid, and invalid with the planted
//! `stale-reads` bug), plus malformed replies from a fake node and config errors. Tests that need
//! `python3` say SKIPPED when it is absent instead of passing silently.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use checker::formats::jsonl::Header;
use harness::db::command::client::CommandClient;
use harness::db::command::config::CommandConfig;
use harness::db::command::CommandDb;
use harness::db::{guard, ClientFailure, ClientProfile, Db, DbClient, KvReply, NodeId};
use harness::recorder::Recorder;
use harness::run::verdict::judge;
use harness::run::workers::Worker;
use harness::verdict::ExitVerdict;
use harness::workload::{WorkerGenerator, WorkloadKind, WorkloadOptions};
use raft::client::ErrorKind;
use raft::kv::Op;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn python3_present() -> bool {
    support::program_present(
        "python3",
        "python3 not installed (apt-get install python3); tiny_kv.py needs it",
    )
}

/// Three tiny-kv nodes from config `name`, started, in a fresh temporary directory.
fn start_cluster(name: &str) -> (CommandDb, tempfile::TempDir) {
    guard::install_panic_hook();
    let dir = tempfile::tempdir().unwrap();
    let config = CommandConfig::load(&fixture(name)).unwrap();
    let mut db = CommandDb::plan(config, dir.path().to_path_buf()).unwrap();
    tokio::task::block_in_place(|| {
        for node in db.nodes() {
            if let Err(err) = db.start(node) {
                panic!("node {node}: {}\n{}", err.describe(), db.log_text(node));
            }
        }
    });
    (db, dir)
}

fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> Op {
    Op::Get { key: key.into() }
}

fn cas(key: &str, expected: Option<&str>, new: &str) -> Op {
    Op::Cas {
        key: key.into(),
        expected: expected.map(str::to_owned),
        new: new.into(),
    }
}

fn value(text: &str) -> KvReply {
    KvReply::Value(Some(text.into()))
}

/// A workload client whose home is node `home` (1-based), with `timeout` per operation.
fn client_at(db: &CommandDb, home: NodeId, timeout: Duration) -> CommandClient {
    let nodes = db
        .nodes()
        .into_iter()
        .map(|n| (n, db.client_addr(n).unwrap()))
        .collect();
    CommandClient::new(nodes, ClientProfile::Workload, home as usize - 1, timeout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_serve_every_operation_and_keep_data_across_kill_and_restart() {
    if !python3_present() {
        return;
    }
    let (mut db, dir) = start_cluster("tiny_kv.json");
    let marker = dir.path().display().to_string();
    assert_eq!(db.name(), "command");
    assert_eq!(db.system_name(), "tiny-kv");
    assert_eq!(
        support::live_processes_where(|c| c.contains(&marker)).len(),
        3
    );
    let log = db.log_text(2);
    assert!(log.contains("starting tiny-kv node 2 (start #1)"), "{log}");
    assert!(log.contains("tiny-kv ready: node 2 (backup)"), "{log}");

    // Through a backup (node 2), which forwards to the primary over its peer route.
    let mut client = client_at(&db, 2, Duration::from_secs(2));
    assert_eq!(client.call(get("a")).await, Ok(KvReply::Value(None)));
    assert_eq!(client.last_node(), Some(2));
    assert_eq!(client.call(put("a", "1")).await, Ok(KvReply::Written));
    assert_eq!(client.call(get("a")).await, Ok(value("1")));
    assert_eq!(
        client.call(cas("a", Some("1"), "2")).await,
        Ok(KvReply::Cas(true))
    );
    assert_eq!(
        client.call(cas("a", Some("1"), "3")).await,
        Ok(KvReply::Cas(false))
    );
    assert_eq!(
        client.call(cas("b", None, "x")).await,
        Ok(KvReply::Cas(true))
    );
    assert_eq!(
        client.call(cas("b", None, "y")).await,
        Ok(KvReply::Cas(false))
    );
    assert_eq!(
        client
            .call(Op::Append {
                key: "b".into(),
                value: "z".into()
            })
            .await,
        Ok(KvReply::Written)
    );
    assert_eq!(client.call(get("b")).await, Ok(value("xz")));
    assert_eq!(client.call(get("a")).await, Ok(value("2")));
    assert!(db.is_leader(1).await, "node 1 is the primary");
    assert!(!db.is_leader(2).await);

    // SIGKILL of the primary: a backup cannot reach it, which is a definite failure (the
    // primary refused the connection, so nothing happened).
    let pid = db.pid(1).unwrap();
    tokio::task::block_in_place(|| db.kill(1)).unwrap();
    assert!(!db.is_running(1));
    let live = support::live_processes_where(|c| c.contains(&marker));
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(!live.contains(&pid));
    let refused = client.call(put("a", "lost")).await.unwrap_err();
    assert!(refused.definite, "{refused:?}");
    assert_eq!(refused.kind, ErrorKind::ConnectionRefused, "{refused:?}");
    tokio::task::block_in_place(|| db.start(1)).unwrap();
    assert_eq!(
        client.call(get("a")).await,
        Ok(value("2")),
        "acknowledged data survives SIGKILL"
    );
    assert_eq!(client.call(get("b")).await, Ok(value("xz")));
    assert!(db.log_text(1).contains("start #2"));

    // A client homed at the killed node moves on while nothing was sent.
    tokio::task::block_in_place(|| db.kill(3)).unwrap();
    let mut at_three = client_at(&db, 3, Duration::from_secs(2));
    assert_eq!(at_three.call(get("a")).await, Ok(value("2")));
    assert_eq!(
        at_three.last_node(),
        Some(1),
        "moved on from the dead node 3"
    );

    // Wipe: the primary's data goes with its directory.
    tokio::task::block_in_place(|| {
        db.kill(1).unwrap();
        db.wipe(1).unwrap();
        db.start(1).unwrap();
    });
    assert_eq!(client.call(get("a")).await, Ok(KvReply::Value(None)));

    tokio::task::block_in_place(|| db.teardown());
    assert!(db.process_groups().is_empty());
    assert_eq!(
        support::live_processes_where(|c| c.contains(&marker)),
        Vec::<u32>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_node_makes_requests_time_out_as_info() {
    if !python3_present() {
        return;
    }
    let (mut db, _dir) = start_cluster("tiny_kv.json");
    let mut direct = client_at(&db, 1, Duration::from_millis(500));
    let mut via_backup = client_at(&db, 2, Duration::from_secs(3));
    assert_eq!(direct.call(put("k", "1")).await, Ok(KvReply::Written));
    db.pause(1).unwrap();
    let started = Instant::now();
    let paused = direct.call(put("k", "2")).await.unwrap_err();
    assert!(!paused.definite, "{paused:?}");
    assert_eq!(paused.kind, ErrorKind::Timeout, "{paused:?}");
    assert!(
        paused.reason.contains("may have taken effect"),
        "{}",
        paused.reason
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The backup's forward times out: it answers info, which stays info.
    let forwarded = via_backup.call(put("k", "3")).await.unwrap_err();
    assert!(!forwarded.definite, "{forwarded:?}");
    assert_eq!(forwarded.kind, ErrorKind::Timeout, "{forwarded:?}");
    assert!(
        forwarded.reason.contains("did not answer in time"),
        "{}",
        forwarded.reason
    );
    db.resume(1).unwrap();
    // The primary applies what reached it while paused; the reads show the last of them.
    let after = direct.call(get("k")).await.unwrap();
    assert!(after == value("3") || after == value("2"), "{after:?}");
    tokio::task::block_in_place(|| db.teardown());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_by_an_open_client_port_and_a_start_that_never_gets_ready() {
    if !python3_present() {
        return;
    }
    guard::install_panic_hook();
    let text = std::fs::read_to_string(fixture("tiny_kv.json")).unwrap();
    let config_dir = fixture("");
    // No `ready.line`: ready once the client port accepts a connection.
    let tcp = text.replace(
        r#""ready": { "line": "^tiny-kv ready", "timeout_ms": 10000 },"#,
        "",
    );
    assert_ne!(tcp, text, "the fixture changed; update this test");
    let config = CommandConfig::parse(&tcp, Path::new("tcp.json"), config_dir.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut db = CommandDb::plan(config, dir.path().to_path_buf()).unwrap();
    tokio::task::block_in_place(|| db.start(1)).unwrap();
    let mut client = client_at(&db, 1, Duration::from_secs(2));
    assert_eq!(client.call(put("k", "v")).await, Ok(KvReply::Written));
    assert!(
        db.log_text(1).contains("tiny-kv ready"),
        "stdout goes to the log"
    );
    tokio::task::block_in_place(|| db.teardown());

    // A ready line that never comes: the start fails within the timeout, naming the log, and
    // the node is gone.
    let never = text.replace(
        r#""line": "^tiny-kv ready", "timeout_ms": 10000"#,
        r#""line": "^never printed", "timeout_ms": 700"#,
    );
    let config = CommandConfig::parse(&never, Path::new("never.json"), config_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().display().to_string();
    let mut db = CommandDb::plan(config, dir.path().to_path_buf()).unwrap();
    let started = Instant::now();
    let err = tokio::task::block_in_place(|| db.start(2)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = err.describe();
    assert!(
        text.contains("no output line matched the ready pattern"),
        "{text}"
    );
    assert!(text.contains("node-2.log"), "{text}");
    assert!(!db.is_running(2));
    assert_eq!(
        support::live_processes_where(|c| c.contains(&marker)),
        Vec::<u32>::new()
    );
}

/// A fake node that answers each request with the next of `replies` (then closes).
async fn fake_node(replies: Vec<&'static str>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for reply in replies {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let mut stream = BufReader::new(stream);
            let mut request = String::new();
            if stream.read_line(&mut request).await.is_err() {
                return;
            }
            if !reply.is_empty() {
                let _ = stream.get_mut().write_all(reply.as_bytes()).await;
            }
            // Closing after one reply makes the client reconnect for the next.
        }
    });
    addr
}

async fn call_fake(addr: std::net::SocketAddr, op: Op) -> Result<KvReply, ClientFailure> {
    let mut client = CommandClient::new(
        vec![(1, addr)],
        ClientProfile::Workload,
        0,
        Duration::from_millis(500),
    );
    client.call(op).await
}

#[tokio::test]
async fn malformed_replies_become_info_with_a_clear_reason() {
    let cases: [(&str, ErrorKind, &str); 6] = [
        (
            "this is not json\n",
            ErrorKind::BadReply,
            "reply is not JSON",
        ),
        (
            "{\"id\":99,\"type\":\"ok\",\"value\":\"v\"}\n",
            ErrorKind::BadReply,
            "for request 99, not 1",
        ),
        (
            "{\"id\":1,\"type\":\"ok\"}\n",
            ErrorKind::BadReply,
            "no `value`",
        ),
        (
            "{\"id\":1,\"type\":\"ok\",\"val",
            ErrorKind::ConnectionReset,
            "before a whole reply line",
        ),
        ("", ErrorKind::ConnectionReset, "before a whole reply line"),
        ("\u{fffd}\u{fffd}\n", ErrorKind::BadReply, "not JSON"),
    ];
    for (reply, kind, why) in cases {
        let addr = fake_node(vec![reply]).await;
        let failure = call_fake(addr, get("k")).await.unwrap_err();
        assert!(!failure.definite, "{reply:?}: {failure:?}");
        assert_eq!(failure.kind, kind, "{reply:?}: {failure:?}");
        assert!(
            failure.reason.contains(why),
            "{reply:?}: {}",
            failure.reason
        );
    }
    // A fail reply is definite, with the kind the node named.
    let addr = fake_node(vec![
        "{\"id\":1,\"type\":\"fail\",\"error\":\"no quorum\",\"error_kind\":\"no-leader\"}\n",
    ])
    .await;
    let failure = call_fake(addr, put("k", "v")).await.unwrap_err();
    assert!(
        failure.definite && failure.kind == ErrorKind::NoLeader,
        "{failure:?}"
    );
    // Nothing listening: refused before sending, a definite fail.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let refused = call_fake(closed, put("k", "v")).await.unwrap_err();
    assert!(
        refused.definite && refused.kind == ErrorKind::ConnectionRefused,
        "{refused:?}"
    );
    // A node that takes the request and never answers: a timeout, outcome unknown.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let timeout = call_fake(silent_addr, put("k", "v")).await.unwrap_err();
    assert!(
        !timeout.definite && timeout.kind == ErrorKind::Timeout,
        "{timeout:?}"
    );
    drop(silent);
}

#[test]
fn config_errors_name_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(
        &path,
        "{\n  \"name\": \"x\",\n  \"start\": [\"server\", \"--port\", \"{client_prot}\"]\n}\n",
    )
    .unwrap();
    let err = CommandConfig::load(&path).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:3: `start`: unknown placeholder {{client_prot}}",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("expected one of"), "{text}");
    std::fs::write(
        &path,
        "{\n  \"start\": \"s\",\n  \"ready\": { \"line\": 5 }\n}\n",
    )
    .unwrap();
    let err = CommandConfig::load(&path).unwrap_err();
    assert_eq!(err.line(), 3, "{err}");
    assert!(err.to_string().contains("expected a string"), "{err}");
    let missing = CommandConfig::load(&dir.path().join("absent.json")).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("absent.json: cannot read the config"),
        "{missing}"
    );
    // The fixtures themselves are good configs.
    let good = CommandConfig::load(&fixture("tiny_kv.json")).unwrap();
    assert_eq!((good.name.as_str(), good.nodes), ("tiny-kv", 3));
    assert!(CommandConfig::load(&fixture("tiny_kv_stale_reads.json")).is_ok());
}

/// Runs `concurrency` workload clients of the `append` workload (unique elements appended to
/// two lists, whole lists read) for `duration` against `db` and checks the recorded history with
/// the checker: a read that misses an append acknowledged before it began shows.
async fn record_and_check(
    db: &CommandDb,
    dir: &Path,
    duration: Duration,
) -> (ExitVerdict, Option<String>, u64) {
    let concurrency = 6;
    let header = Header {
        format: Some("gauntlet-history".into()),
        version: Some(1),
        workload: Some("append".into()),
        seed: Some(1),
        model: Some(WorkloadKind::Append.model().name().into()),
    };
    let path = dir.join("history.jsonl");
    let recorder = Arc::new(Recorder::create(&path, &header, concurrency as u64).unwrap());
    let options = WorkloadOptions {
        kind: WorkloadKind::Append,
        seed: 1,
        concurrency,
        keys: 2,
        key_churn_ops: 0,
    };
    let stop = CancellationToken::new();
    let workers: Vec<_> = (0..concurrency)
        .map(|index| {
            let worker = Worker {
                index,
                generator: WorkerGenerator::new(&options, index),
                client: db.client(ClientProfile::Workload),
                recorder: recorder.clone(),
                pace: None,
            };
            tokio::spawn(worker.run(stop.clone()))
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.cancel();
    for worker in workers {
        worker.await.unwrap().unwrap();
    }
    let ok = recorder.counts().ok;
    drop(recorder);
    let judgement = judge(&path, WorkloadKind::Append.model(), Duration::from_secs(30)).unwrap();
    (judgement.outcome, judgement.anomaly, ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_of_the_correct_server_record_a_valid_history() {
    if !python3_present() {
        return;
    }
    let (mut db, dir) = start_cluster("tiny_kv.json");
    let (outcome, anomaly, ok) = record_and_check(&db, dir.path(), Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| db.teardown());
    assert!(ok >= 30, "only {ok} operations succeeded");
    assert_eq!(outcome, ExitVerdict::Valid, "{anomaly:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planted_stale_reads_bug_makes_the_history_invalid() {
    if !python3_present() {
        return;
    }
    let (mut db, dir) = start_cluster("tiny_kv_stale_reads.json");
    let (outcome, anomaly, ok) = record_and_check(&db, dir.path(), Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| db.teardown());
    assert!(ok >= 30, "only {ok} operations succeeded");
    assert_eq!(
        outcome,
        ExitVerdict::Violation,
        "the stale reads went unnoticed"
    );
    assert!(anomaly.is_some());
}
