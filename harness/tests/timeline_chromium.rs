//! The timeline page of a real failing run, rendered in headless Chromium (Debian's
//! `chromium-headless-shell`, which `.ci/run` installs): no script errors, the counterexample's
//! operations present and marked `data-counterexample="true"`, at least one leader change on the
//! node lanes, at least one fault window drawn. The page says what it drew in `#render-summary`,
//! which its script fills in after drawing; the test reads that from the DOM Chromium dumps.
//!
//! The failing run is the simulator's (`gauntlet sim --seed 0 --unsafe-bug ack-before-commit`):
//! deterministic, a second long, with every node's Raft events in virtual time. Without Chromium
//! the pages are still built and checked as data, and the test says that rendering was skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::report::{load_run_dir, write_run_timeline};

fn chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium-headless-shell"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let lib = PathBuf::from("/usr/lib/chromium/chromium-headless-shell");
        lib.is_file().then_some(lib)
    })
}

/// What Chromium made of a page: the DOM after its scripts ran, and its log.
struct Rendered {
    dom: String,
    log: String,
}

fn render(chromium: &Path, page: &Path) -> Rendered {
    let out = Command::new(chromium)
        .args([
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .expect("run chromium-headless-shell");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        log: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Rendered {
    /// An attribute of the page's `#render-summary` element.
    fn summary(&self, name: &str) -> String {
        let start = self
            .dom
            .find("id=\"render-summary\"")
            .expect("the page has its render summary");
        let tag = &self.dom[start..start + self.dom[start..].find('>').unwrap()];
        let key = format!("{name}=\"");
        let at = tag
            .find(&key)
            .unwrap_or_else(|| panic!("render summary lacks {name}: {tag}"))
            + key.len();
        tag[at..at + tag[at..].find('"').unwrap()].to_string()
    }

    fn count(&self, name: &str) -> usize {
        self.summary(name)
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number"))
    }

    fn assert_no_script_errors(&self) {
        assert_eq!(
            self.summary("data-rendered"),
            "true",
            "the script did not finish drawing"
        );
        assert_eq!(self.count("data-errors"), 0, "script errors:\n{}", self.dom);
        assert!(
            !self.log.contains("Uncaught"),
            "Chromium logged a script error:\n{}",
            self.log
        );
    }
}

fn gauntlet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
}

/// A simulator seed directory of a failing run: the first of seeds 0..20 that `ack-before-commit`
/// makes fail (most do; which one first depends on the simulator's draws).
fn failing_sim_run(store: &Path) -> PathBuf {
    let mut outcomes = Vec::new();
    for seed in 0..20u64 {
        let output = gauntlet()
            .args(["sim", "--seed", &seed.to_string()])
            .args(["--unsafe-bug", "ack-before-commit", "--store"])
            .arg(store)
            .output()
            .unwrap();
        if output.status.code() == Some(1) {
            return store.join("sim").join(format!("seed-{seed}"));
        }
        outcomes.push(format!(
            "seed {seed}: exit {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    panic!(
        "ack-before-commit failed none of seeds 0..20:\n{}",
        outcomes.join("\n")
    );
}

#[test]
fn a_failing_runs_page_shows_the_counterexample_leaders_and_faults() {
    let store = tempfile::tempdir().unwrap();
    let run = failing_sim_run(store.path());
    assert_page_shows_the_failure(&run);
}

/// The page of a failing real `gauntlet test` run. `.ci/run` makes one (a planted bug caught
/// under partitions and kills) and names its directory in `GAUNTLET_REAL_FAILING_RUN`; without
/// it the test says it was skipped (a real failing run takes tens of seconds and several seeds).
#[test]
fn a_real_failing_runs_page_shows_the_counterexample_leaders_and_faults() {
    let Some(run) = std::env::var_os("GAUNTLET_REAL_FAILING_RUN") else {
        eprintln!(
            "SKIPPED: GAUNTLET_REAL_FAILING_RUN names no run directory (.ci/run sets it to the \
             failing real run it makes)"
        );
        return;
    };
    let run = std::fs::canonicalize(PathBuf::from(&run)).unwrap_or_else(|err| {
        panic!(
            "GAUNTLET_REAL_FAILING_RUN={}: {err} (an absolute path: the test runs in harness/)",
            run.to_string_lossy()
        )
    });
    let results = std::fs::read_to_string(run.join("results.json")).unwrap();
    assert!(
        results.contains("\"exit_code\": 1"),
        "{} is not a failing run: {results}",
        run.display()
    );
    assert!(
        run.join("timeline.html").is_file(),
        "the run wrote no page itself"
    );
    assert_page_shows_the_failure(&run);
}

/// Draws `run`'s page again and checks what it is given and, in Chromium, what it drew.
fn assert_page_shows_the_failure(run: &Path) {
    let page = write_run_timeline(run).unwrap();
    assert_eq!(page, run.join("timeline.html"));

    // As data first: what the page is given.
    let data = load_run_dir(run).unwrap();
    let cx = data.counterexample.as_ref().expect("a counterexample");
    let involved = cx.involved();
    assert!(!involved.is_empty());
    assert!(!data.faults.is_empty());
    assert!(data
        .nodes
        .iter()
        .any(|n| n.spans.iter().any(|s| s.role == "leader")));

    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED rendering {}: chromium-headless-shell is missing \
             (apt-get install chromium-headless-shell; .ci/run installs it)",
            page.display()
        );
        return;
    };
    let rendered = render(&chromium, &page);
    rendered.assert_no_script_errors();
    assert_eq!(
        rendered.count("data-counterexample-operations"),
        involved.len()
    );
    for op in &involved {
        let marked = format!("data-op=\"{op}\" data-counterexample=\"true\"");
        assert!(
            rendered.dom.contains(&marked),
            "counterexample operation {op} is not in the DOM marked"
        );
    }
    assert!(rendered.count("data-counterexample-marked") >= involved.len());
    assert!(rendered.count("data-counterexample-drawn") >= 1);
    assert!(
        rendered.count("data-leader-changes") >= 1,
        "no leader change on the node lanes"
    );
    assert!(rendered.count("data-leader-spans-drawn") >= 2);
    assert!(
        rendered.count("data-fault-windows-drawn") >= 1,
        "no fault window drawn"
    );
    assert_eq!(rendered.count("data-operations"), data.operations.len());
}

#[test]
fn check_html_draws_a_jepsen_historys_fault_window_and_refuses_several_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("page.html");
    let history =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../histories/jepsen/cas-register-ok.edn");
    let status = gauntlet()
        .arg("check")
        .arg(&history)
        .arg("--html")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    assert!(out.is_file());

    let refused = gauntlet()
        .arg("check")
        .arg(&history)
        .arg(&history)
        .arg("--html")
        .arg(dir.path().join("two.html"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("one history"));
    assert!(!dir.path().join("two.html").exists());

    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED rendering {}: chromium-headless-shell is missing",
            out.display()
        );
        return;
    };
    let rendered = render(&chromium, &out);
    rendered.assert_no_script_errors();
    assert_eq!(rendered.count("data-fault-windows-drawn"), 1);
    assert_eq!(rendered.count("data-counterexample-operations"), 0);
    assert!(rendered.count("data-operations-drawn") >= 1);
}
