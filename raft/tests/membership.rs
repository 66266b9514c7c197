//! Membership scenarios on the library's test world, driven through the admin requests a
//! console sends (add a learner, promote, remove, transfer leadership): a learner catches up and
//! is promoted, the leader removes itself, leadership moves (also to a lagging follower, and
//! not to an unreachable one), a learner never counts toward commit or elections, and
//! membership changes under faults over seeds.

use raft::core::{NodeId, Role};
use raft::kv::{AdminRequest, ClientResponse};
use raft::testing::world::{NetworkSpec, ScriptedWorld, Ticket, WorldConfig, WorldError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ELECTION: u64 = 1_000_000;
const AGREE: u64 = 10 * ELECTION;

fn world(nodes: u64, seed: u64) -> ScriptedWorld {
    let mut config = WorldConfig::new(nodes, seed);
    config.network = NetworkSpec::reliable();
    ScriptedWorld::new(config).expect("the world starts")
}

fn add_learner(id: NodeId) -> AdminRequest {
    AdminRequest::AddLearner {
        id,
        peer_addr: format!("node-{id}"),
        client_addr: format!("node-{id}"),
    }
}

/// Has the leader carry out `admin` and checks it was.
fn admin(w: &mut ScriptedWorld, admin: AdminRequest) -> Result<(), WorldError> {
    let answer = w.admin(admin.clone(), AGREE)?;
    assert_eq!(answer, ClientResponse::AdminOk, "{admin:?} refused");
    Ok(())
}

fn caught_up(w: &ScriptedWorld, id: NodeId, index: u64) -> bool {
    w.applied(id).is_some_and(|a| a >= index)
}

#[test]
fn learner_catch_up_and_promotion() -> Result<(), WorldError> {
    let mut w = world(3, 51);
    for i in 0..30 {
        w.replicate(&format!("k{i}"), "x", 3, AGREE)?;
    }
    let new = w.start_new_node()?;
    assert_eq!(new, 4);
    w.run_for(3 * ELECTION)?;
    assert_eq!(w.status(4).unwrap().term, 0, "a non-member campaigned");
    admin(&mut w, add_learner(4))?;
    w.replicate("after-learner", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let last = w.status(leader).unwrap().commit;
    assert!(
        w.run_until(AGREE, |w| caught_up(w, 4, last))?,
        "learner did not catch up"
    );
    let s4 = w.status(4).unwrap();
    assert_eq!(s4.role, Role::Learner);
    assert!(s4.conf.learners.contains(&4));
    assert_eq!(w.value(4, "k0").as_deref(), Some("x"));
    // A learner never leads.
    w.isolate(leader);
    w.wait_leader(10 * ELECTION)?;
    assert_ne!(w.stable_leader(), Some(4));
    w.reconnect(leader);
    w.wait_leader(10 * ELECTION)?;
    admin(&mut w, AdminRequest::Promote { id: 4 })?;
    let promoted = w.run_until(AGREE, |w| {
        w.status(4).is_some_and(|s| s.conf.voters.contains(&4))
    })?;
    assert!(promoted, "not a voter after promotion: {:?}", w.status(4));
    assert_eq!(w.status(4).unwrap().conf.voters.len(), 4);
    let leader = w.wait_leader(10 * ELECTION)?;
    let down = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    w.crash(down);
    w.replicate("with-four", "x", 3, AGREE)?;
    w.restart(down)?;
    w.replicate("all-four", "x", 4, AGREE)?;
    Ok(())
}

#[test]
fn removing_the_leader() -> Result<(), WorldError> {
    let mut w = world(3, 52);
    w.replicate("k", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let rest: Vec<_> = w.running().into_iter().filter(|id| *id != leader).collect();
    admin(&mut w, AdminRequest::Remove { id: leader })?;
    let new = w.wait_leader(10 * ELECTION)?;
    assert!(rest.contains(&new), "removed node {leader} still leads");
    let conf = w.status(new).unwrap().conf;
    assert!(!conf.voters.contains(&leader));
    assert_eq!(conf.voters.len(), 2);
    assert!(
        w.world().is_removed(leader),
        "the removed leader was not stopped"
    );
    for i in 0..5 {
        w.replicate(&format!("r{i}"), "x", 2, AGREE)?;
        assert!(!w.leaders().iter().any(|(id, _)| *id == leader));
    }
    w.run_for(5 * ELECTION)?;
    assert!(!w.leaders().iter().any(|(id, _)| *id == leader));
    Ok(())
}

#[test]
fn leadership_transfer() -> Result<(), WorldError> {
    let mut w = world(3, 53);
    for i in 0..10 {
        w.replicate(&format!("k{i}"), "x", 3, AGREE)?;
    }
    for _ in 0..3 {
        let leader = w.wait_leader(5 * ELECTION)?;
        let term = w.status(leader).unwrap().term;
        let target = w.running().into_iter().find(|id| *id != leader).unwrap();
        w.submit(
            leader,
            raft::kv::ClientRequest::Admin(AdminRequest::TransferLeadership { to: target }),
        );
        assert!(
            w.run_until(ELECTION, |w| w.stable_leader() == Some(target))?,
            "leadership did not move to {target}"
        );
        let new_term = w.status(target).unwrap().term;
        assert_eq!(new_term, term + 1, "transfer took more than one election");
        w.replicate("after-transfer", "x", 3, AGREE)?;
    }
    Ok(())
}

#[test]
fn leadership_transfer_to_lagging_follower_catches_it_up_first() -> Result<(), WorldError> {
    let mut w = world(3, 54);
    w.replicate("k", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let target = w.running().into_iter().find(|id| *id != leader).unwrap();
    w.isolate(target);
    for i in 0..20 {
        w.replicate(&format!("k{i}"), "x", 2, AGREE)?;
    }
    let last = w.status(leader).unwrap().last_index;
    w.reconnect(target);
    w.submit(
        leader,
        raft::kv::ClientRequest::Admin(AdminRequest::TransferLeadership { to: target }),
    );
    assert!(
        w.run_until(2 * ELECTION, |w| w.stable_leader() == Some(target))?,
        "leadership did not move to the lagging {target}"
    );
    assert!(w.status(target).unwrap().last_index >= last);
    Ok(())
}

#[test]
fn leadership_transfer_to_unreachable_target_times_out() -> Result<(), WorldError> {
    let mut w = world(3, 55);
    w.replicate("k", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let term = w.status(leader).unwrap().term;
    let target = w.running().into_iter().find(|id| *id != leader).unwrap();
    w.isolate(target);
    let transfer = w.submit(
        leader,
        raft::kv::ClientRequest::Admin(AdminRequest::TransferLeadership { to: target }),
    );
    w.run_for(ELECTION / 20)?;
    let during = w.submit_put(leader, "during", "x");
    w.run_for(2 * ELECTION)?;
    assert!(
        !matches!(w.reply(during), Some(ClientResponse::Ok(_))) || w.holding("during", "x") > 0,
        "a write acknowledged but not applied while handing leadership over"
    );
    assert!(
        !matches!(w.reply(transfer), Some(ClientResponse::AdminOk)),
        "the transfer to an unreachable node reported done"
    );
    assert_eq!(w.leader(), Some(leader));
    assert_eq!(w.status(leader).unwrap().term, term);
    w.replicate("after", "x", 2, AGREE)?;
    Ok(())
}

#[test]
fn a_learner_does_not_count_towards_commit_or_elections() -> Result<(), WorldError> {
    let mut w = world(3, 56);
    w.replicate("k", "x", 3, AGREE)?;
    w.start_new_node()?;
    admin(&mut w, add_learner(4))?;
    w.replicate("k", "y", 4, AGREE)?;
    assert_eq!(w.status(4).unwrap().role, Role::Learner);
    let leader = w.wait_leader(5 * ELECTION)?;
    for v in [1, 2, 3].into_iter().filter(|id| *id != leader) {
        w.isolate(v);
    }
    let ticket = w.submit_put(leader, "no", "x");
    w.run_for(3 * ELECTION)?;
    assert_eq!(w.holding("no", "x"), 0, "committed with a learner's ack");
    assert!(!matches!(w.reply(ticket), Some(ClientResponse::Ok(_))));
    w.isolate(leader);
    w.run_for(5 * ELECTION)?;
    assert!(
        w.leaders().iter().all(|(id, _)| *id != 4),
        "the learner leads"
    );
    assert_eq!(w.status(4).unwrap().role, Role::Learner);
    w.heal();
    w.replicate("healed", "x", 4, AGREE)?;
    Ok(())
}

/// Membership changes under crashes and cut-offs on an unreliable network with compaction: a
/// learner is added, promoted once caught up, the oldest voter removed, again and again.
/// Returns how many changes were answered done.
fn membership_churn(seed: u64) -> Result<usize, WorldError> {
    let mut config = WorldConfig::new(3, seed);
    config.network = NetworkSpec {
        loss_chance: 0.1,
        duplicate_chance: 0.1,
        ..NetworkSpec::default()
    };
    config.snapshot_every = 7 + seed % 5;
    let mut w = ScriptedWorld::new(config)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut newest: Option<NodeId> = None;
    let mut pending: Option<Ticket> = None;
    let mut done = 0;
    for round in 0..500u64 {
        if let Some(ticket) = pending {
            match w.reply(ticket) {
                Some(ClientResponse::AdminOk) => {
                    done += 1;
                    pending = None;
                }
                Some(_) => pending = None,
                None if round % 40 == 0 => pending = None,
                None => {}
            }
        }
        if pending.is_none() && round % 5 == 0 {
            if let Some(leader) = w.leader() {
                let conf = w.world().checker().committed_conf();
                let request = match newest {
                    Some(n) if conf.learners.contains(&n) => {
                        let lead_commit = w.status(leader).unwrap().commit;
                        let caught = w.status(n).is_some_and(|s| s.commit + 5 >= lead_commit);
                        caught.then_some(AdminRequest::Promote { id: n })
                    }
                    Some(n) if !conf.contains(n) => Some(add_learner(n)),
                    _ if conf.voters.len() > 3 => {
                        let oldest = *conf.voters.iter().min().unwrap();
                        Some(AdminRequest::Remove { id: oldest })
                    }
                    _ => {
                        let n = w.start_new_node()?;
                        newest = Some(n);
                        Some(add_learner(n))
                    }
                };
                if let Some(request) = request {
                    pending = Some(w.submit(leader, raft::kv::ClientRequest::Admin(request)));
                }
            }
        }
        if rng.random_bool(0.3) {
            if let Some(leader) = w.leader() {
                w.submit_put(leader, &format!("m{round}"), "x");
            }
        }
        w.run_for(50_000)?;
        let running = w.running();
        if rng.random_bool(0.02) && running.len() > 1 {
            w.crash(running[rng.random_range(0..running.len())]);
        }
        if rng.random_bool(0.02) {
            let members = w.world().members().to_vec();
            w.isolate(members[rng.random_range(0..members.len())]);
        }
        if rng.random_bool(0.1) {
            w.restart_all()?;
            w.heal();
        }
    }
    w.heal();
    w.restart_all()?;
    w.world_mut()
        .network_mut()
        .set_spec(NetworkSpec::reliable());
    // A change still in flight may commit meanwhile: the voters are those of the end.
    w.replicate("final", "x", 1, 40 * ELECTION)?;
    let all_voters = |w: &ScriptedWorld| {
        let voters = w.world().checker().committed_conf().voters;
        voters.iter().all(|v| w.value(*v, "final").is_some())
    };
    assert!(
        w.run_until(40 * ELECTION, all_voters)?,
        "seed {seed}: voters {:?} did not all apply the final write",
        w.world().checker().committed_conf().voters
    );
    Ok(done)
}

#[test]
fn membership_changes_under_faults_40_seeds() -> Result<(), WorldError> {
    let seeds: u64 = std::env::var("MEMBERSHIP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let mut total = 0;
    for seed in 0..seeds {
        total += membership_churn(700 + seed)?;
    }
    eprintln!("membership churn: {total} changes done over {seeds} seeds");
    assert!(
        total >= seeds as usize,
        "only {total} membership changes done"
    );
    Ok(())
}
