//! Who may change a real raft-kv cluster, and whose data a node opens (`docs/security.md`), with
//! real processes: admin requests need the admin token and respect the voter floor unless forced;
//! a node with another peer secret is refused at the handshake; a data directory of another node
//! or cluster, and voters without addresses, are refused before `ready`.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use raft::client::ClientError;
use raft::kv::{AdminRequest, AuthorizedAdmin, PresentedToken};
use support::{node_bin, LocalCluster};

const TOKEN: &str = "admin-token-for-the-authority-test";

fn authorized(request: AdminRequest, token: Option<&str>, force: bool) -> AuthorizedAdmin {
    AuthorizedAdmin {
        request,
        token: token.map(|t| PresentedToken(t.as_bytes().to_vec())),
        force,
    }
}

fn rejected_because(err: ClientError, words: &str) {
    match &err {
        ClientError::Rejected { reason } if reason.contains(words) => {}
        _ => panic!("expected a rejection mentioning {words:?}, got {err}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_requests_need_the_token_and_a_removal_below_the_floor_needs_force() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("admin-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let token_arg = token_file.to_str().unwrap().to_string();
    let mut cluster = LocalCluster::start(3, 1000, &["--admin-token-file", &token_arg]);
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let victim = (1..=3).find(|id| *id != leader).unwrap();
    let mut client = cluster.client();
    client.put("k", "v").await.unwrap();

    let remove = AdminRequest::Remove { id: victim };
    rejected_because(
        client.admin(remove.clone()).await.unwrap_err(),
        "admin token",
    );
    let wrong = authorized(remove.clone(), Some("not-the-admin-token-at-all"), true);
    rejected_because(
        client.authorized_admin(wrong).await.unwrap_err(),
        "does not match",
    );
    // The right token, but three voters would become two: below the default floor of 3.
    let unforced = authorized(remove.clone(), Some(TOKEN), false);
    rejected_because(
        client.authorized_admin(unforced).await.unwrap_err(),
        "--min-voters",
    );
    // The command-line client says the same and exits 1 (definite failure).
    let cli = Command::new(node_bin())
        .args(["client", "--cluster", &addrs(&cluster)])
        .args([
            "--admin-token-file",
            &token_arg,
            "remove",
            &victim.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(1), "{}", text(&cli));
    assert!(text(&cli).contains("--min-voters"), "{}", text(&cli));

    let forced = authorized(remove, Some(TOKEN), true);
    client.authorized_admin(forced).await.unwrap();
    client.put("after-removal", "ok").await.unwrap();
    assert_eq!(client.get("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_peer_secret_is_refused_at_the_handshake() {
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("peer-secret");
    std::fs::write(&secret_file, "the-cluster-peer-secret\n").unwrap();
    let secret_arg = secret_file.to_str().unwrap().to_string();
    let mut cluster = LocalCluster::start(3, 1000, &["--peer-secret-file", &secret_arg]);
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let mut client = cluster.client();
    client.put("with-secret", "ok").await.unwrap();

    // Node `odd` comes back with another secret: the others refuse it, and it refuses them.
    let odd = (1..=3).find(|id| *id != leader).unwrap();
    cluster.kill(odd);
    std::fs::write(&secret_file, "a-different-peer-secret\n").unwrap();
    cluster.restart(odd);
    let refused = "failed to prove the cluster's peer secret";
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(cluster.stderr(leader).contains(refused) && cluster.stderr(odd).contains(refused)) {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n--- leader {leader}\n{}\n--- node {odd}\n{}",
            cluster.stderr(leader),
            cluster.stderr(odd)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The two members that share the secret still carry the cluster.
    client.put("still-writable", "ok").await.unwrap();
}

/// Starts `raft-kv serve` with `args` and waits for its `ready` line (then stops it) or its exit.
/// Returns whether it became ready, and its stderr when it exited.
fn serve(args: &[&str]) -> (bool, String) {
    let mut child: Child = Command::new(node_bin())
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("ready ") {
                let _ = ready_tx.send(());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if ready_rx.try_recv().is_ok() {
            child.kill().unwrap();
            child.wait().unwrap();
            return (true, String::new());
        }
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            assert!(!status.success(), "a refusal must exit non-zero");
            return (false, String::from_utf8_lossy(&output.stderr).into_owned());
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("raft-kv serve {args:?} neither became ready nor exited");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn node_args<'a>(id: &'a str, peers: &'a str, dir: &'a Path, cluster: &'a str) -> Vec<&'a str> {
    vec![
        "--id",
        id,
        "--peers",
        peers,
        "--data-dir",
        dir.to_str().unwrap(),
        "--cluster-id",
        cluster,
    ]
}

#[test]
fn a_data_directory_of_another_node_or_cluster_is_refused_naming_both() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let (ready, _) = serve(&node_args("1", "1=127.0.0.1:0", &dir, "7"));
    assert!(ready, "a new directory starts");
    assert!(dir.join("IDENTITY").is_file());

    let (ready, stderr) = serve(&node_args("2", "2=127.0.0.1:0", &dir, "7"));
    assert!(!ready);
    assert!(
        stderr.contains("belongs to node 1 of cluster 7, not node 2 of cluster 7"),
        "{stderr}"
    );
    let (ready, stderr) = serve(&node_args("1", "1=127.0.0.1:0", &dir, "99"));
    assert!(!ready);
    assert!(
        stderr.contains("belongs to node 1 of cluster 7, not node 1 of cluster 99"),
        "{stderr}"
    );
    let (ready, _) = serve(&node_args("1", "1=127.0.0.1:0", &dir, "7"));
    assert!(ready, "its own node still starts");
}

#[test]
fn a_directory_from_before_identity_files_is_adopted() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let (ready, _) = serve(&node_args("1", "1=127.0.0.1:0", &dir, "7"));
    assert!(ready);
    std::fs::remove_file(dir.join("IDENTITY")).unwrap();
    let (ready, _) = serve(&node_args("1", "1=127.0.0.1:0", &dir, "7"));
    assert!(ready, "an old directory is adopted");
    let (ready, stderr) = serve(&node_args("2", "2=127.0.0.1:0", &dir, "7"));
    assert!(!ready && stderr.contains("belongs to node 1"), "{stderr}");
}

#[test]
fn voters_without_an_address_are_refused_before_ready() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let mut args = node_args("1", "1=127.0.0.1:0", &dir, "7");
    args.extend(["--voters", "1,4"]);
    let (ready, stderr) = serve(&args);
    assert!(!ready, "must not print ready");
    assert!(
        stderr.contains("--voters names node 4 but --peers has no address for it"),
        "{stderr}"
    );
    assert!(
        !dir.join("IDENTITY").exists(),
        "refused before the data directory is touched"
    );
}

fn addrs(cluster: &LocalCluster) -> String {
    (1..=3)
        .map(|id| cluster.client_addr(id).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
