//! `gauntlet report RUN_DIR`: rebuilds the plots of a simulated seed's directory and prints their
//! paths; a directory that is not a run directory is exit 3 with a message saying so.

use std::process::Command;

fn gauntlet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
}

#[test]
fn report_draws_the_page_and_plots_of_a_simulated_seed_and_prints_their_paths() {
    let store = tempfile::tempdir().unwrap();
    let sim = gauntlet()
        .args([
            "sim",
            "--seed",
            "1",
            "--nemesis",
            "kill,partition",
            "--store",
        ])
        .arg(store.path())
        .output()
        .unwrap();
    assert!(
        sim.status.code().is_some_and(|c| c < 3),
        "{}",
        String::from_utf8_lossy(&sim.stderr)
    );
    let dir = store.path().join("sim/seed-1");
    // The sim drew them already; the report must draw them again from what the run recorded.
    for made in ["timeline.html", "latency.svg", "throughput.svg"] {
        std::fs::remove_file(dir.join(made)).unwrap();
    }
    let report = gauntlet().arg("report").arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&report.stdout);
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed.len(), 3, "{stdout}");
    assert_eq!(printed[0], dir.join("timeline.html").display().to_string());
    let page = std::fs::read_to_string(dir.join("timeline.html")).unwrap();
    assert!(
        page.contains("</html>") && page.contains("kill"),
        "the page names the faults"
    );
    let expected = [dir.join("latency.svg"), dir.join("throughput.svg")];
    for (line, path) in printed[1..].iter().zip(&expected) {
        assert_eq!(*line, path.display().to_string());
        let svg = std::fs::read_to_string(path).unwrap();
        assert!(
            svg.contains("</svg>") && svg.contains("(fault)"),
            "{}",
            path.display()
        );
    }
}

#[test]
fn report_on_a_directory_without_a_history_is_exit_3_naming_it() {
    let empty = tempfile::tempdir().unwrap();
    let report = gauntlet().arg("report").arg(empty.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert_eq!(report.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("is not a run directory"), "{stderr}");
    assert!(
        stderr.contains(&empty.path().display().to_string()),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(empty.path()).unwrap().next().is_none(),
        "nothing written"
    );
}
