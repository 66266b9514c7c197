//! Each operation's effect and result, through `apply`, `apply_entry` and `read`.

use super::*;
use crate::kv::{KvError, OpResult, Reply};

#[test]
fn put_then_read_returns_value() {
    let mut m = machine();
    assert_eq!(
        m.apply(1, &cmd(7, 1, put("a", "x"))),
        Reply::Ok(OpResult::Written)
    );
    assert_eq!(m.read("a"), Some("x".to_string()));
    assert_eq!(m.read("b"), None);
    assert_eq!(m.applied_index(), 1);
}

#[test]
fn append_concatenates_and_treats_absent_as_empty() {
    let mut m = machine();
    m.apply(1, &cmd(7, 1, append("k", "1,")));
    m.apply(2, &cmd(7, 2, append("k", "2,")));
    assert_eq!(m.read("k").as_deref(), Some("1,2,"));
}

#[test]
fn cas_succeeds_only_on_match_including_absent() {
    let mut m = machine();
    let cas = |expected: Option<&str>, new: &str| Op::Cas {
        key: "r".into(),
        expected: expected.map(str::to_string),
        new: new.into(),
    };
    assert_eq!(
        m.apply(1, &cmd(1, 1, cas(None, "a"))),
        Reply::Ok(OpResult::CasOk)
    );
    assert_eq!(
        m.apply(2, &cmd(1, 2, cas(None, "b"))),
        Reply::Ok(OpResult::CasMismatch {
            current: Some("a".into())
        })
    );
    assert_eq!(
        m.apply(3, &cmd(1, 3, cas(Some("a"), "c"))),
        Reply::Ok(OpResult::CasOk)
    );
    assert_eq!(m.read("r").as_deref(), Some("c"));
}

#[test]
fn delete_reports_whether_key_existed() {
    let mut m = machine();
    m.apply(1, &cmd(1, 1, put("k", "v")));
    let del = Op::Delete { key: "k".into() };
    assert_eq!(
        m.apply(2, &cmd(1, 2, del.clone())),
        Reply::Ok(OpResult::Deleted { existed: true })
    );
    assert_eq!(
        m.apply(3, &cmd(1, 3, del)),
        Reply::Ok(OpResult::Deleted { existed: false })
    );
    assert_eq!(m.read("k"), None);
}

#[test]
fn logged_get_and_read_op_agree_with_read() {
    let mut m = machine();
    m.apply(1, &cmd(1, 1, put("k", "v")));
    assert_eq!(
        m.apply(2, &cmd(1, 2, get("k"))),
        Reply::Ok(OpResult::Value(Some("v".into())))
    );
    assert_eq!(
        m.read_op(&get("k")),
        Some(OpResult::Value(Some("v".into())))
    );
    assert_eq!(m.read_op(&put("k", "w")), None);
}

#[test]
fn apply_entry_decodes_applies_and_skips_noops() {
    let mut m = machine();
    let c = cmd(3, 1, put("k", "v"));
    let out = m.apply_entry(1, &c.encode()).unwrap();
    assert_eq!(out, Some((3, 1, Reply::Ok(OpResult::Written))));
    assert_eq!(m.apply_entry(2, &[]).unwrap(), None);
    assert_eq!(m.applied_index(), 2);
}

#[test]
fn apply_entry_refuses_non_increasing_index() {
    let mut m = machine();
    m.apply_entry(5, &cmd(3, 1, put("k", "v")).encode())
        .unwrap();
    let err = m
        .apply_entry(5, &cmd(3, 2, put("k", "w")).encode())
        .unwrap_err();
    assert!(matches!(
        err,
        KvError::IndexNotIncreasing {
            index: 5,
            applied: 5
        }
    ));
    assert!(m.mark_applied(4).is_err());
    assert_eq!(m.read("k").as_deref(), Some("v"));
}

#[test]
fn apply_entry_with_garbage_errors_but_advances_index() {
    let mut m = machine();
    let err = m.apply_entry(1, &[0xff, 0xff, 0xff]).unwrap_err();
    assert!(
        matches!(
            err,
            KvError::Decode {
                what: "Command",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(m.applied_index(), 1);
    assert!(m.data().is_empty());
}

#[test]
fn command_round_trips_and_rejects_trailing_bytes() {
    let c = cmd(
        u64::MAX,
        42,
        Op::Cas {
            key: "ключ".into(),
            expected: None,
            new: "v".into(),
        },
    );
    let bytes = c.encode();
    assert_eq!(Command::decode(&bytes).unwrap(), c);
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Command::decode(&longer).is_err());
    for cut in 0..bytes.len() {
        assert!(
            Command::decode(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
}

#[test]
fn planted_bug_names_are_recognized() {
    let mut bugs = crate::kv::KvPlantedBugs::default();
    assert!(!bugs.enable("stale-read"));
    assert!(!bugs.no_dedup);
    assert!(bugs.enable("no-dedup"));
    assert!(bugs.no_dedup);
}
