//! Driver tests on an in-memory three-replica cluster: messages delivered by hand, persistence
//! into an in-memory `PersistedState`, so every rule of the batch contract is observable.

use std::collections::BTreeMap;

use crate::core::{ConfState, Config, Message, PersistedState, Role};
use crate::kv::{ClientRequest, ClientResponse, Op, OpResult};

use super::*;

/// What a replica's disk holds, updated from each batch's `persist` part.
#[derive(Default, Clone)]
struct MemDisk {
    state: PersistedState,
}

impl MemDisk {
    fn persist(&mut self, batch: &PersistBatch) {
        match &batch.snapshot {
            Some(SnapshotToPersist::Installed(s)) => {
                self.state.entries.clear();
                self.state.snapshot = Some(s.clone());
            }
            Some(SnapshotToPersist::Taken(s)) => {
                self.state.entries.retain(|e| e.index > s.index);
                self.state.snapshot = Some(s.clone());
            }
            None => {}
        }
        if let Some(first) = batch.entries.first() {
            self.state.entries.retain(|e| e.index < first.index);
            self.state.entries.extend(batch.entries.iter().cloned());
        }
        if let Some(hs) = batch.hard_state {
            self.state.hard_state = hs;
        }
    }
}

struct TestCluster {
    drivers: BTreeMap<u64, Driver>,
    disks: BTreeMap<u64, MemDisk>,
    in_flight: Vec<Message>,
    answers: Vec<(Token, ClientResponse)>,
    /// Messages to or from these nodes are dropped.
    isolated: Vec<u64>,
    bugs: UnsafeBugs,
    snapshot_every: u64,
}

fn config(id: u64, bugs: UnsafeBugs, snapshot_every: u64) -> DriverConfig {
    let mut node = Config::new(id);
    node.seed = 7;
    let mut cfg = DriverConfig::new(node, ConfState::with_voters([1, 2, 3]), bugs);
    cfg.snapshot_every = snapshot_every;
    cfg.client_addrs = (1..=3).map(|i| (i, format!("127.0.0.1:800{i}"))).collect();
    cfg
}

impl TestCluster {
    fn new(bugs: UnsafeBugs, snapshot_every: u64) -> TestCluster {
        let mut cluster = TestCluster {
            drivers: BTreeMap::new(),
            disks: BTreeMap::new(),
            in_flight: Vec::new(),
            answers: Vec::new(),
            isolated: Vec::new(),
            bugs,
            snapshot_every,
        };
        for id in 1..=3 {
            cluster.disks.insert(id, MemDisk::default());
            cluster.restart(id);
        }
        cluster
    }

    fn restart(&mut self, id: u64) {
        let persisted = self.disks[&id].state.clone();
        let driver = Driver::new(config(id, self.bugs, self.snapshot_every), persisted).unwrap();
        self.drivers.insert(id, driver);
    }

    /// Drains every driver's batches, persisting then sending, until quiet.
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut progressed = false;
            for (id, driver) in self.drivers.iter_mut() {
                while driver.has_work() {
                    progressed = true;
                    let batch = driver.next_batch().unwrap();
                    self.disks.get_mut(id).unwrap().persist(&batch.persist);
                    if let Some(mark) = batch.ack_when_durable {
                        driver.on_persisted(mark);
                    }
                    self.in_flight.extend(batch.then_send);
                    self.answers.extend(batch.replies);
                }
            }
            let msgs = std::mem::take(&mut self.in_flight);
            for msg in msgs {
                progressed = true;
                if self.isolated.contains(&msg.from) || self.isolated.contains(&msg.to) {
                    continue;
                }
                if let Some(d) = self.drivers.get_mut(&msg.to) {
                    d.on_message(msg);
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("cluster did not settle");
    }

    fn tick_all(&mut self, ticks: usize) {
        for _ in 0..ticks {
            for d in self.drivers.values_mut() {
                d.on_tick();
            }
            self.settle();
        }
    }

    fn leader(&self) -> Option<u64> {
        self.drivers
            .iter()
            .find(|(id, d)| d.status().role == Role::Leader && !self.isolated.contains(id))
            .map(|(id, _)| *id)
    }

    fn elect(&mut self) -> u64 {
        for _ in 0..100 {
            self.tick_all(1);
            if let Some(l) = self.leader() {
                // Let the leader commit its no-op.
                self.tick_all(2);
                return l;
            }
        }
        panic!("no leader elected");
    }

    fn request(&mut self, node: u64, token: Token, req: ClientRequest) -> Option<ClientResponse> {
        self.drivers
            .get_mut(&node)
            .unwrap()
            .on_client_request(token, req);
        self.settle();
        self.tick_all(2);
        self.answer(token)
    }

    fn answer(&mut self, token: Token) -> Option<ClientResponse> {
        let pos = self.answers.iter().position(|(t, _)| *t == token)?;
        Some(self.answers.remove(pos).1)
    }
}

fn put(client_id: u64, seq: u64, key: &str, value: &str) -> ClientRequest {
    ClientRequest::Kv {
        client_id,
        seq,
        op: Op::Put {
            key: key.into(),
            value: value.into(),
        },
    }
}

fn append(client_id: u64, seq: u64, key: &str, value: &str) -> ClientRequest {
    ClientRequest::Kv {
        client_id,
        seq,
        op: Op::Append {
            key: key.into(),
            value: value.into(),
        },
    }
}

fn get(key: &str) -> ClientRequest {
    ClientRequest::Kv {
        client_id: 99,
        seq: 0,
        op: Op::Get { key: key.into() },
    }
}

fn value(v: &str) -> Option<ClientResponse> {
    Some(ClientResponse::Ok(OpResult::Value(Some(v.into()))))
}

#[test]
fn write_then_read_round_trips_through_the_leader() {
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    assert_eq!(
        c.request(leader, 1, put(5, 1, "k", "v")),
        Some(ClientResponse::Ok(OpResult::Written))
    );
    assert_eq!(c.request(leader, 2, get("k")), value("v"));
    // Every replica applied the write.
    for d in c.drivers.values() {
        assert_eq!(d.kv().read("k").as_deref(), Some("v"));
    }
}

#[test]
fn follower_refuses_with_the_leader_hint_and_its_client_address() {
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    let follower = (1..=3).find(|i| *i != leader).unwrap();
    let expected = ClientResponse::NotLeader {
        leader_hint: Some(leader),
        leader_client_addr: Some(format!("127.0.0.1:800{leader}")),
    };
    assert_eq!(
        c.request(follower, 1, put(5, 1, "k", "v")),
        Some(expected.clone())
    );
    assert_eq!(c.request(follower, 2, get("k")), Some(expected));
}

#[test]
fn retried_write_with_the_same_seq_applies_once() {
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    let written = Some(ClientResponse::Ok(OpResult::Written));
    assert_eq!(c.request(leader, 1, append(5, 1, "k", "x")), written);
    assert_eq!(c.request(leader, 2, append(5, 1, "k", "x")), written);
    assert_eq!(c.request(leader, 3, get("k")), value("x"));
}

#[test]
fn no_dedup_bug_applies_a_retried_append_twice() {
    let bugs = UnsafeBugs::parse(&["no-dedup"]).unwrap();
    let mut c = TestCluster::new(bugs, 0);
    let leader = c.elect();
    c.request(leader, 1, append(5, 1, "k", "x"));
    c.request(leader, 2, append(5, 1, "k", "x"));
    assert_eq!(c.request(leader, 3, get("k")), value("xx"));
}

#[test]
fn isolated_leader_neither_acknowledges_writes_nor_answers_reads() {
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    c.isolated.push(leader);
    assert_eq!(c.request(leader, 1, put(5, 1, "k", "v")), None);
    assert_eq!(c.request(leader, 2, get("k")), None);
}

#[test]
fn ack_before_commit_bug_acknowledges_an_uncommitted_write() {
    let bugs = UnsafeBugs::parse(&["ack-before-commit"]).unwrap();
    let mut c = TestCluster::new(bugs, 0);
    let leader = c.elect();
    c.isolated.push(leader);
    assert_eq!(
        c.request(leader, 1, put(5, 1, "k", "v")),
        Some(ClientResponse::Ok(OpResult::Written))
    );
}

#[test]
fn stale_read_bug_answers_from_an_isolated_leader() {
    let bugs = UnsafeBugs::parse(&["stale-read"]).unwrap();
    let mut c = TestCluster::new(bugs, 0);
    let leader = c.elect();
    c.request(leader, 1, put(5, 1, "k", "old"));
    c.isolated.push(leader);
    assert_eq!(c.request(leader, 2, get("k")), value("old"));
}

#[test]
fn restart_from_persisted_batches_keeps_every_acknowledged_write() {
    let mut c = TestCluster::new(UnsafeBugs::default(), 4);
    let leader = c.elect();
    for seq in 1..=10 {
        let resp = c.request(leader, seq, put(5, seq, &format!("k{seq}"), "v"));
        assert_eq!(resp, Some(ClientResponse::Ok(OpResult::Written)));
    }
    // Snapshots were taken and persisted along the way.
    assert!(c.disks.values().all(|d| d.state.snapshot.is_some()));
    for id in 1..=3 {
        c.restart(id);
    }
    let leader = c.elect();
    for seq in 1..=10 {
        assert_eq!(
            c.request(leader, 100 + seq, get(&format!("k{seq}"))),
            value("v")
        );
    }
}

#[test]
fn lagging_replica_catches_up_through_a_snapshot() {
    let mut c = TestCluster::new(UnsafeBugs::default(), 3);
    let leader = c.elect();
    let lagging = (1..=3).find(|i| *i != leader).unwrap();
    c.isolated.push(lagging);
    for seq in 1..=12 {
        c.request(leader, seq, put(5, seq, "k", &format!("v{seq}")));
    }
    c.isolated.clear();
    c.tick_all(10);
    assert_eq!(c.drivers[&lagging].kv().read("k").as_deref(), Some("v12"));
    assert!(matches!(
        c.disks[&lagging].state.snapshot,
        Some(ref s) if s.index >= 3
    ));
}

#[test]
fn membership_changes_through_the_leader_are_answered_once_applied() {
    use crate::kv::AdminRequest;
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    let follower = (1..=3).find(|i| *i != leader).unwrap();
    let add = ClientRequest::Admin(AdminRequest::AddLearner {
        id: 4,
        peer_addr: "127.0.0.1:7004".into(),
        client_addr: "127.0.0.1:8004".into(),
    });
    assert!(matches!(
        c.request(follower, 1, add.clone()),
        Some(ClientResponse::NotLeader { .. })
    ));
    assert_eq!(c.request(leader, 2, add), Some(ClientResponse::AdminOk));
    assert_eq!(c.drivers[&leader].status().conf.learners, vec![4]);
    let remove = ClientRequest::Admin(AdminRequest::Remove { id: 4 });
    assert_eq!(c.request(leader, 3, remove), Some(ClientResponse::AdminOk));
    assert!(c.drivers[&leader].status().conf.learners.is_empty());
}

#[test]
fn planted_bugs_reach_the_core_and_kv_configs() {
    let cfg = config(1, UnsafeBugs::parse(&["vote-any", "no-dedup"]).unwrap(), 0);
    assert!(cfg.node.bugs.vote_any && cfg.kv.bugs.no_dedup);
    assert!(cfg.node.check_quorum);
    let cfg = config(1, UnsafeBugs::parse(&["stale-read"]).unwrap(), 0);
    assert!(!cfg.node.check_quorum);
    let cfg = config(1, UnsafeBugs::parse(&["truncate-matching"]).unwrap(), 0);
    assert!(cfg.node.bugs.truncate_matching && !cfg.node.bugs.vote_any);
    let cfg = config(1, UnsafeBugs::default(), 0);
    assert!(!cfg.node.bugs.vote_any && !cfg.kv.bugs.no_dedup && cfg.node.check_quorum);
    assert!(!cfg.node.bugs.truncate_matching);
}

#[test]
fn a_lone_replica_answers_a_write_only_after_its_batch_is_reported_durable() {
    let mut node = Config::new(1);
    node.seed = 7;
    let cfg = DriverConfig::new(node, ConfState::with_voters([1]), UnsafeBugs::default());
    let mut driver = Driver::new(cfg, PersistedState::default()).unwrap();
    driver.campaign();
    while driver.has_work() {
        let batch = driver.next_batch().unwrap();
        if let Some(mark) = batch.ack_when_durable {
            driver.on_persisted(mark);
        }
    }
    assert_eq!(driver.status().role, Role::Leader);
    driver.on_client_request(1, put(5, 1, "k", "v"));
    let batch = driver.next_batch().unwrap();
    let mark = batch
        .ack_when_durable
        .expect("the write's entry is to be persisted");
    assert_eq!(
        batch.persist.entries.last().map(|e| e.index),
        Some(mark.index)
    );
    assert!(batch.replies.is_empty());
    while driver.has_work() {
        let batch = driver.next_batch().unwrap();
        assert!(
            batch.replies.is_empty(),
            "answered before the write is durable"
        );
    }
    assert!(driver.status().commit < mark.index);
    driver.on_persisted(mark);
    assert!(driver.has_work());
    let batch = driver.next_batch().unwrap();
    assert_eq!(
        batch.replies,
        vec![(1, ClientResponse::Ok(OpResult::Written))]
    );
}

#[test]
fn a_leadership_transfer_is_answered_once_the_target_leads() {
    use crate::kv::AdminRequest;
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    let target = (1..=3).find(|i| *i != leader).unwrap();
    let transfer = |to| ClientRequest::Admin(AdminRequest::TransferLeadership { to });
    // A follower refuses (definitely); a non-voter target is refused (definitely).
    assert!(matches!(
        c.request(target, 1, transfer(target)),
        Some(ClientResponse::NotLeader { .. })
    ));
    assert!(matches!(
        c.request(leader, 2, transfer(9)),
        Some(ClientResponse::Error(reason)) if !reason.contains("unknown")
    ));
    assert_eq!(c.leader(), Some(leader));
    assert_eq!(
        c.request(leader, 3, transfer(target)),
        Some(ClientResponse::AdminOk)
    );
    assert_eq!(c.leader(), Some(target));
    // A retry to the old leader finds the hand-over done.
    assert_eq!(
        c.request(leader, 4, transfer(target)),
        Some(ClientResponse::AdminOk)
    );
}

#[test]
fn a_leadership_transfer_to_an_unreachable_target_ends_with_an_unknown_outcome() {
    use crate::kv::AdminRequest;
    let mut c = TestCluster::new(UnsafeBugs::default(), 0);
    let leader = c.elect();
    let target = (1..=3).find(|i| *i != leader).unwrap();
    c.isolated.push(target);
    let request = ClientRequest::Admin(AdminRequest::TransferLeadership { to: target });
    assert_eq!(c.request(leader, 1, request), None);
    assert_eq!(c.drivers[&leader].pending(), 1);
    c.tick_all(40);
    assert!(matches!(
        c.answer(1),
        Some(ClientResponse::Error(reason)) if reason.contains("unknown")
    ));
    assert_eq!(c.drivers[&leader].pending(), 0);
    assert_eq!(c.leader(), Some(leader));
}
