//! The stream's JSON names and the reader's tolerance of a cut last line.

use super::*;

fn record(event: NodeEvent) -> EventRecord {
    EventRecord {
        time_ns: 42,
        node: 3,
        event,
    }
}

#[test]
fn events_are_flat_json_objects_with_kebab_case_names() {
    let line = serde_json::to_string(&record(NodeEvent::LogTruncated {
        cause: TruncationCause::InstalledSnapshot,
        term: 4,
        from_index: 10,
        last_index: 12,
        acked_index: 11,
    }))
    .unwrap();
    assert_eq!(
        line,
        r#"{"time_ns":42,"node":3,"event":"log-truncated","cause":"installed-snapshot","term":4,"from_index":10,"last_index":12,"acked_index":11}"#
    );
    let role = serde_json::to_string(&record(NodeEvent::Role {
        role: RoleName::PreCandidate,
        term: 2,
        leader: None,
    }))
    .unwrap();
    assert!(
        role.contains(r#""event":"role","role":"pre-candidate""#),
        "{role}"
    );
    let applied = serde_json::to_string(&record(NodeEvent::Applied {
        index: 64,
        digest: Digest(255),
    }))
    .unwrap();
    assert!(
        applied.contains(r#""digest":"00000000000000ff""#),
        "{applied}"
    );
}

#[test]
fn every_event_reads_back_as_written_and_names_itself() {
    let events = vec![
        NodeEvent::Started {
            term: 1,
            vote: Some(2),
            commit: 3,
            applied: 0,
            applied_digest: None,
            snapshot_index: 0,
            snapshot_term: 0,
            last_index: 5,
            voters: vec![1, 2, 3],
            learners: vec![],
        },
        NodeEvent::Role {
            role: RoleName::Leader,
            term: 2,
            leader: Some(3),
        },
        NodeEvent::Vote { term: 2, vote: 3 },
        NodeEvent::Commit { commit: 9, from: 3 },
        NodeEvent::Applied {
            index: 64,
            digest: Digest(7),
        },
        NodeEvent::SnapshotTaken { index: 8, term: 2 },
        NodeEvent::SnapshotInstalled { index: 9, term: 2 },
        NodeEvent::Membership {
            voters: vec![1, 2],
            learners: vec![4],
        },
        NodeEvent::LogTruncated {
            cause: TruncationCause::Entries,
            term: 2,
            from_index: 4,
            last_index: 5,
            acked_index: 0,
        },
        NodeEvent::Stopped,
    ];
    for event in events {
        let line = serde_json::to_string(&record(event.clone())).unwrap();
        assert!(
            line.contains(&format!(r#""event":"{}""#, event.name())),
            "{line}"
        );
        let back: EventRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back.event, event);
    }
}

#[test]
fn a_cut_last_line_is_skipped_and_a_bad_line_elsewhere_is_an_error() {
    let good = serde_json::to_string(&record(NodeEvent::Stopped)).unwrap();
    let cut = format!("{good}\n{good}\n{}", &good[..good.len() / 2]);
    let stream = parse_stream("s", &cut).unwrap();
    assert_eq!(stream.records.len(), 2);
    assert!(stream.truncated_last_line);

    let whole = format!("{good}\n{good}\n");
    let stream = parse_stream("s", &whole).unwrap();
    assert_eq!(stream.records.len(), 2);
    assert!(!stream.truncated_last_line);

    let bad_middle = format!("{good}\nnot json\n{good}\n");
    let err = parse_stream("s", &bad_middle).unwrap_err();
    assert!(err.to_string().contains("s:2"), "{err}");
    // A complete (newline-ended) last line that does not parse is not a cut: an error.
    assert!(parse_stream("s", &format!("{good}\n{{\"x\":1}}\n")).is_err());
}

#[test]
fn the_writer_appends_stamped_lines_that_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events-1.jsonl");
    let before = monotonic_ns();
    let mut writer = EventWriter::open(&path, 1).unwrap();
    writer
        .write(&[NodeEvent::Commit { commit: 1, from: 0 }, NodeEvent::Stopped])
        .unwrap();
    writer.flush().unwrap();
    drop(writer);
    let mut again = EventWriter::open(&path, 1).unwrap();
    again.write(&[NodeEvent::Stopped]).unwrap();
    again.flush().unwrap();
    let stream = read_stream(&path).unwrap();
    assert_eq!(stream.records.len(), 3);
    assert!(stream
        .records
        .iter()
        .all(|r| r.node == 1 && r.time_ns >= before));
    assert!(stream.records[2].time_ns >= stream.records[0].time_ns);
}
