//! `gauntlet check` as a user runs it: the built binary on histories from `histories/`, asserting
//! exit codes (0 linearizable, 1 not, 3 unusable input) and the `--json` output.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn history(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../histories")
        .join(relative)
}

/// Runs `gauntlet check <args>`; returns (exit code, stdout, stderr).
fn gauntlet(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("check")
        .args(args)
        .output()
        .expect("run gauntlet");
    (
        output.status.code().expect("exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn linearizable_history_exits_0_with_json_verdict() {
    let path = history("jsonl/register-ok.jsonl");
    let (code, stdout, _) = gauntlet(&[path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stdout}");
    let json = json_of(&stdout);
    assert_eq!(json["verdict"]["kind"], "linearizable");
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["format"], "jsonl");
    assert_eq!(json["model"], "register");
    assert_eq!(json["operations"], 6);
    assert!(
        json["read_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{json}"
    );
    assert_eq!(json["report"]["counterexample"], Value::Null);
}

#[test]
fn violation_exits_1_and_names_the_counterexample() {
    let path = history("jepsen/stale-read.edn");
    let (code, stdout, _) = gauntlet(&[path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let json = json_of(&stdout);
    assert_eq!(json["verdict"]["kind"], "not-linearizable");
    assert_eq!(json["format"], "jepsen");
    let counterexample = &json["report"]["counterexample"];
    assert!(
        counterexample["blocked"]
            .as_array()
            .is_some_and(|b| !b.is_empty()),
        "{counterexample}"
    );

    let (code, text, _) = gauntlet(&[path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(text.contains("NOT linearizable"), "{text}");
    assert!(text.contains("jepsen history"), "{text}");
}

#[test]
fn the_same_file_gives_the_same_counterexample() {
    let path = history("etcd/failed-cas-that-must-have-succeeded.log");
    let runs: Vec<Value> = (0..2)
        .map(|_| {
            let (code, stdout, _) = gauntlet(&[path.to_str().unwrap(), "--json"]);
            assert_eq!(code, 1, "{stdout}");
            json_of(&stdout)
        })
        .collect();
    assert_eq!(runs[0]["model"], "cas-register");
    assert_eq!(
        runs[0]["report"]["counterexample"],
        runs[1]["report"]["counterexample"]
    );
}

#[test]
fn malformed_histories_exit_3_naming_file_and_line() {
    for (file, line) in [
        ("malformed/two-open-invocations.edn", 2),
        ("malformed/broken-json-line.jsonl", 2),
        ("malformed/etcd-truncated-operation.log", 5),
    ] {
        let path = history(file);
        let (code, stdout, stderr) = gauntlet(&[path.to_str().unwrap(), "--json"]);
        assert_eq!(code, 3, "{file}: {stderr}");
        let json = json_of(&stdout);
        assert_eq!(json["verdict"]["kind"], "unusable-input");
        let error = json["error"].as_str().unwrap();
        let location = format!("{}:{line}", path.display());
        assert!(error.starts_with(&location), "{file}: {error}");
        assert!(stderr.contains(&location), "{file}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bad_arguments_and_missing_files_exit_3() {
    let valid = history("jsonl/register-ok.jsonl");
    let valid = valid.to_str().unwrap();
    for args in [
        vec!["/nonexistent/history.jsonl"],
        vec![valid, "--format", "csv"],
        vec![valid, "--model", "queue"],
        vec![valid, "--timeout", "0"],
        vec![valid, "--memory-mb", "0"],
        vec![valid, "--format", "jepsen-etcd-log"],
        vec![valid, "--model", "set"],
    ] {
        let (code, _, stderr) = gauntlet(&args);
        assert_eq!(code, 3, "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
    }
}

#[test]
fn model_comes_from_flag_header_or_format() {
    let path = history("jsonl/register-ok.jsonl");
    let (code, stdout, _) =
        gauntlet(&[path.to_str().unwrap(), "--json", "--model", "cas-register"]);
    assert_eq!(code, 0);
    assert_eq!(json_of(&stdout)["model"], "cas-register");

    let (code, stdout, _) = gauntlet(&[
        history("porcupine-kv/kv-ok.txt").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(json_of(&stdout)["model"], "kv");

    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd-model.jsonl");
    std::fs::write(
        &odd,
        "{\"model\":\"queue\"}\n{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n",
    )
    .unwrap();
    let (code, _, stderr) = gauntlet(&[odd.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(stderr.contains("queue"), "{stderr}");

    let unknown_fs = dir.path().join("unknown-functions.jsonl");
    std::fs::write(
        &unknown_fs,
        "{\"type\":\"invoke\",\"process\":0,\"f\":\"enqueue\",\"value\":1}\n",
    )
    .unwrap();
    let (code, _, stderr) = gauntlet(&[unknown_fs.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(stderr.contains("--model"), "{stderr}");
}

#[test]
fn witness_is_given_when_asked() {
    let path = history("jsonl/cas-register-ok.jsonl");
    let (code, stdout, _) = gauntlet(&[path.to_str().unwrap(), "--json", "--witness"]);
    assert_eq!(code, 0, "{stdout}");
    let json = json_of(&stdout);
    let witness = &json["report"]["partitions"][0]["witness"];
    assert_eq!(witness.as_array().map(Vec::len), Some(4), "{json}");

    let (code, text, _) = gauntlet(&[path.to_str().unwrap(), "--witness"]);
    assert_eq!(code, 0);
    let order: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("witness"))
        .skip(1)
        .collect();
    assert_eq!(order.len(), 4, "{text}");
    assert!(order[0].contains("write 1"), "{text}");
    assert!(order[3].contains("read"), "{text}");
}

#[test]
fn a_search_over_its_time_bound_exits_2_unknown() {
    // 6000 sequential operations need at least 6000 search steps; a microsecond is not enough.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jsonl");
    let mut text = String::from("{\"model\":\"register\"}\n");
    for i in 0..6000 {
        let process = i % 3;
        let (f, input) = if i % 2 == 0 {
            ("write", (i / 2).to_string())
        } else {
            ("read", "null".to_string())
        };
        text.push_str(&format!(
            "{{\"type\":\"invoke\",\"process\":{process},\"f\":\"{f}\",\"value\":{input}}}\n"
        ));
        text.push_str(&format!(
            "{{\"type\":\"ok\",\"process\":{process},\"f\":\"{f}\",\"value\":{}}}\n",
            i / 2
        ));
    }
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    let (code, stdout, _) = gauntlet(&[path, "--json", "--timeout", "0.000001"]);
    assert_eq!(code, 2, "{stdout}");
    let json = json_of(&stdout);
    assert_eq!(json["verdict"]["kind"], "unknown");
    assert_eq!(json["exit_code"], 2);
    // Without the bound the same history is linearizable.
    let (code, _, _) = gauntlet(&[path]);
    assert_eq!(code, 0);
}

#[test]
fn a_dash_reads_the_history_from_standard_input() {
    use std::io::Write;
    use std::process::Stdio;
    let bytes = std::fs::read(history("etcd/ok.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["check", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json = json_of(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(json["format"], "jepsen-etcd-log");
    assert_eq!(json["model"], "cas-register");
}

#[test]
fn several_files_print_one_line_each_and_a_summary_and_exit_with_the_worst() {
    let ok = history("jsonl/register-ok.jsonl");
    let bad = history("jepsen/stale-read.edn");
    let (ok, bad) = (ok.to_str().unwrap(), bad.to_str().unwrap());
    let (code, stdout, _) = gauntlet(&[ok, bad, ok]);
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{ok}: linearizable")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("{bad}: NOT linearizable")),
        "{stdout}"
    );
    assert_eq!(
        lines[3],
        "3 files: 2 linearizable, 1 not linearizable, 0 unknown, 0 unusable input (exit 1)"
    );

    let (code, stdout, _) = gauntlet(&[ok, "/nonexistent/history.jsonl", bad, "--json"]);
    assert_eq!(code, 3, "{stdout}");
    let objects: Vec<Value> = stdout.lines().map(json_of).collect();
    assert_eq!(objects.len(), 3, "{stdout}");
    let codes: Vec<i64> = objects
        .iter()
        .map(|o| o["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![0, 3, 1]);
    assert_eq!(objects[1]["verdict"]["kind"], "unusable-input");
    assert!(objects[2]["check_ms"].as_f64().is_some(), "{}", objects[2]);
}

#[test]
fn a_directory_is_every_file_below_it_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    std::fs::copy(
        history("jsonl/register-ok.jsonl"),
        dir.path().join("b/z.jsonl"),
    )
    .unwrap();
    std::fs::copy(history("etcd/ok.log"), dir.path().join("a.log")).unwrap();
    std::fs::write(dir.path().join(".hidden"), "not a history").unwrap();
    let (code, stdout, _) = gauntlet(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains("a.log: linearizable"), "{stdout}");
    assert!(lines[1].contains("z.jsonl: linearizable"), "{stdout}");
    assert!(lines[2].starts_with("2 files: 2 linearizable"), "{stdout}");

    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = gauntlet(&[empty.path().to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(stderr.contains("found none"), "{stderr}");
}

#[test]
fn endless_binary_or_over_long_input_is_refused_at_once_with_exit_3() {
    let (code, _, stderr) = gauntlet(&["/dev/zero"]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("/dev/zero:1:1: expected a text history, found a NUL byte"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.jsonl");
    let line = format!(
        "{{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":\"{}\"}}\n",
        "x".repeat(2 << 20)
    );
    std::fs::write(&long, format!("{{\"model\":\"register\"}}\n{line}")).unwrap();
    let long = long.to_str().unwrap();
    let (code, _, stderr) = gauntlet(&[long, "--max-line-mb", "1"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!("{long}:2: expected a line end within 1 MiB")),
        "{stderr}"
    );
    let (code, _, stderr) = gauntlet(&[long, "--max-input-mb", "1"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("expected a history of at most 1 MiB"),
        "{stderr}"
    );
    let (code, _, _) = gauntlet(&[long, "--max-line-mb", "3"]);
    assert_eq!(code, 0);
    let (code, _, stderr) = gauntlet(&[long, "--max-line-mb", "0"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("at least 1"), "{stderr}");
}

/// Runs `gauntlet check -` with `args` on an endless standard input whose `n`-th line is
/// `line(n)`, until gauntlet exits (the writer stops when the pipe closes).
fn check_endless_stdin(args: &[&str], line: fn(u64) -> String) -> (Option<i32>, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["check", "-"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut n = 0;
        loop {
            let mut chunk = String::new();
            for _ in 0..1000 {
                chunk.push_str(&line(n));
                n += 1;
            }
            if stdin.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn endless_standard_input_ends_with_exit_3() {
    // One process invoking again and again: ill-formed at line 2, seen in the first MiB.
    let (code, stderr) = check_endless_stdin(&[], |_| {
        "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n".to_string()
    });
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("<stdin>:2: two open invocations"),
        "{stderr}"
    );
    // Ever new processes: well-formed as far as it goes, stopped by the stream's size bound.
    let (code, stderr) = check_endless_stdin(&["--max-input-mb", "2"], |n| {
        format!("{{:type :invoke, :f :read, :process {n}}}\n")
    });
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("expected a history of at most 2 MiB from a stream"),
        "{stderr}"
    );
}
