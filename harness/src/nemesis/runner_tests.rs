//! The runner resolves "the leader" against the live cluster and records what it hit: a fake
//! [`Db`] whose leader is node 2 and a proxy with a listener per link stand in for the cluster.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use checker::formats::jsonl::Header;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::*;
use crate::db::{ClientProfile, DbClient, DbError};
use crate::proxy::{LinkSpec, Proxy};
use crate::recorder::Recorder;

/// Three nodes, node 2 leads; kills and pauses are only noted.
struct FakeDb {
    actions: Arc<Mutex<Vec<String>>>,
}

impl FakeDb {
    fn note(&self, what: String) -> Result<(), DbError> {
        self.actions.lock().unwrap().push(what);
        Ok(())
    }
}

impl Db for FakeDb {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn nodes(&self) -> Vec<NodeId> {
        vec![1, 2, 3]
    }
    fn start(&mut self, node: NodeId) -> Result<(), DbError> {
        self.note(format!("start {node}"))
    }
    fn kill(&mut self, node: NodeId) -> Result<(), DbError> {
        self.note(format!("kill {node}"))
    }
    fn pause(&mut self, node: NodeId) -> Result<(), DbError> {
        self.note(format!("pause {node}"))
    }
    fn resume(&mut self, node: NodeId) -> Result<(), DbError> {
        self.note(format!("resume {node}"))
    }
    fn wipe(&mut self, _node: NodeId) -> Result<(), DbError> {
        Ok(())
    }
    fn is_running(&mut self, _node: NodeId) -> bool {
        true
    }
    fn pid(&self, _node: NodeId) -> Option<u32> {
        None
    }
    fn teardown(&mut self) {}
    fn log_path(&self, node: NodeId) -> PathBuf {
        PathBuf::from(format!("node-{node}.log"))
    }
    fn client_addrs(&self) -> Vec<SocketAddr> {
        Vec::new()
    }
    fn client(&self, _profile: ClientProfile) -> Box<dyn DbClient> {
        unimplemented!("the runner makes no clients")
    }
    fn is_leader(&self, node: NodeId) -> BoxFuture<'static, bool> {
        futures::future::ready(node == 2).boxed()
    }
}

/// A history buffer the test can read while the recorder holds it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_aimed_at_the_leader_record_the_leader_they_hit() {
    let target: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let specs = [1, 2, 3]
        .into_iter()
        .flat_map(|a| [1, 2, 3].into_iter().map(move |b| (a, b)))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| LinkSpec::loopback(LinkId::new(a, b), target))
        .collect();
    let proxy = Arc::new(Proxy::start(specs).await.unwrap());
    let actions = Arc::new(Mutex::new(Vec::new()));
    let db: Box<dyn Db> = Box::new(FakeDb {
        actions: actions.clone(),
    });
    let history = Shared::default();
    let recorder = Recorder::with_writer(Box::new(history.clone()), &Header::default(), 0).unwrap();
    let runner = NemesisRunner {
        cluster: Cluster {
            db: Arc::new(Mutex::new(db)),
            proxy: proxy.clone(),
        },
        recorder: Arc::new(recorder),
        active: Arc::new(Mutex::new(Vec::new())),
    };
    let kill = runner
        .apply(&Fault::Kill {
            targets: Targets::Leader,
        })
        .await;
    runner.revert(kill);
    let isolate = runner
        .apply(&Fault::Partition {
            shape: PartitionShape::IsolateLeader,
            cut: Vec::new(),
        })
        .await;
    let cut = LinkId::new(2, 1);
    assert!(
        matches!(proxy.state(cut).unwrap(), LinkState::Blackhole { .. }),
        "the leader's links are cut"
    );
    runner.revert(isolate);
    assert_eq!(*actions.lock().unwrap(), ["kill 2", "start 2"]);

    let text = String::from_utf8(history.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fs: Vec<&str> = events.iter().map(|e| e["f"].as_str().unwrap()).collect();
    assert_eq!(
        fs,
        ["kill-start", "kill-end", "partition-start", "partition-end"]
    );
    for kill in &events[0..2] {
        assert_eq!(kill["fault"]["targets"], "leader");
        assert_eq!(kill["fault"]["nodes"], json!([2]), "{kill}");
    }
    assert_eq!(events[0]["value"], "kill leader 2");
    assert_eq!(events[1]["value"], "restarted nodes 2");
    for partition in &events[2..4] {
        assert_eq!(partition["fault"]["shape"], "isolate-leader");
        assert_eq!(partition["fault"]["nodes"], json!([2]), "{partition}");
        let mut links: Vec<(u64, u64)> =
            serde_json::from_value(partition["fault"]["links"].clone()).unwrap();
        links.sort_unstable();
        assert_eq!(links, [(1, 2), (2, 1), (2, 3), (3, 2)], "{partition}");
    }
}
