//! Node tracks from the nodes' event streams (`docs/events.md`): role spans with their term and
//! known leader, `down` spans between a kill (or graceful stop) and the next start, and marks for
//! restarts, pauses, snapshots, truncations and membership changes. Event times must already be on
//! the history's clock.

use std::collections::BTreeMap;

use raft::events::{EventRecord, NodeEvent, RoleName};

use super::model::{FaultWindow, NodeMark, NodeTrack, RoleSpan};

/// The kebab-case name of a role.
pub fn role_name(role: RoleName) -> &'static str {
    match role {
        RoleName::Follower => "follower",
        RoleName::PreCandidate => "pre-candidate",
        RoleName::Candidate => "candidate",
        RoleName::Leader => "leader",
        RoleName::Learner => "learner",
    }
}

/// Builds one track per node from `records` (times on the history clock, any order) and the
/// fault windows (kills and pauses that name their nodes become marks, and a kill ends the span
/// the node was in).
pub fn node_tracks(records: &[(u64, EventRecord)], faults: &[FaultWindow]) -> Vec<NodeTrack> {
    let mut by_node: BTreeMap<u64, Vec<(u64, &NodeEvent)>> = BTreeMap::new();
    for (t, record) in records {
        by_node
            .entry(record.node)
            .or_default()
            .push((*t, &record.event));
    }
    by_node
        .into_iter()
        .map(|(node, mut events)| {
            events.sort_by_key(|(t, _)| *t);
            track(node, &events, faults)
        })
        .collect()
}

fn track(node: u64, events: &[(u64, &NodeEvent)], faults: &[FaultWindow]) -> NodeTrack {
    let mut track = NodeTrack {
        node,
        ..NodeTrack::default()
    };
    let kills: Vec<&FaultWindow> = faults
        .iter()
        .filter(|w| (w.name == "kill" || w.name == "power-loss") && w.targets.contains(&node))
        .collect();
    let close = |spans: &mut Vec<RoleSpan>, t: u64| {
        if let Some(last) = spans.last_mut() {
            if last.end_ns.is_none() {
                last.end_ns = Some(t.max(last.start_ns));
            }
        }
    };
    let mut started = false;
    let mut last_t = 0;
    for &(t, event) in events {
        match event {
            NodeEvent::Started {
                term,
                commit,
                last_index,
                snapshot_index,
                ..
            } => {
                let detail = format!(
                    "term {term}, commit {commit}, last index {last_index}, snapshot {snapshot_index}"
                );
                if started {
                    // Down since the kill that hit it after its last event, if one names it,
                    // else since that last event.
                    let killed_at = kills
                        .iter()
                        .map(|w| w.start_ns)
                        .filter(|&k| k >= last_t && k <= t)
                        .max();
                    let still_up = track.spans.last().is_some_and(|s| s.end_ns.is_none());
                    if still_up {
                        // No kill names it: it was last heard of at its previous event.
                        let down_from = killed_at.unwrap_or(last_t);
                        close(&mut track.spans, down_from);
                        if down_from < t {
                            track.spans.push(RoleSpan {
                                start_ns: down_from,
                                end_ns: Some(t),
                                role: "down".into(),
                                term: *term,
                                leader: None,
                            });
                        }
                    } else {
                        close(&mut track.spans, t);
                    }
                    track.marks.push(NodeMark {
                        time_ns: t,
                        kind: "restarted".into(),
                        detail,
                    });
                } else {
                    track.marks.push(NodeMark {
                        time_ns: t,
                        kind: "started".into(),
                        detail,
                    });
                }
                started = true;
            }
            NodeEvent::Role { role, term, leader } => {
                close(&mut track.spans, t);
                track.spans.push(RoleSpan {
                    start_ns: t,
                    end_ns: None,
                    role: role_name(*role).into(),
                    term: *term,
                    leader: *leader,
                });
            }
            NodeEvent::Stopped => {
                close(&mut track.spans, t);
                let term = track.spans.last().map_or(0, |s| s.term);
                track.spans.push(RoleSpan {
                    start_ns: t,
                    end_ns: None,
                    role: "down".into(),
                    term,
                    leader: None,
                });
                track.marks.push(NodeMark {
                    time_ns: t,
                    kind: "stopped".into(),
                    detail: "graceful stop".into(),
                });
            }
            NodeEvent::SnapshotTaken { index, term } => track.marks.push(NodeMark {
                time_ns: t,
                kind: "snapshot-taken".into(),
                detail: format!("up to index {index} (term {term})"),
            }),
            NodeEvent::SnapshotInstalled { index, term } => track.marks.push(NodeMark {
                time_ns: t,
                kind: "snapshot-installed".into(),
                detail: format!("up to index {index} (term {term})"),
            }),
            NodeEvent::Membership { voters, learners } => track.marks.push(NodeMark {
                time_ns: t,
                kind: "membership".into(),
                detail: format!("voters {voters:?}, learners {learners:?}"),
            }),
            NodeEvent::LogTruncated {
                term,
                from_index,
                last_index,
                acked_index,
                ..
            } => track.marks.push(NodeMark {
                time_ns: t,
                kind: "log-truncated".into(),
                detail: format!(
                    "entries {from_index}..={last_index} left the log in term {term} (acknowledged up to {acked_index})"
                ),
            }),
            NodeEvent::Vote { .. } | NodeEvent::Commit { .. } | NodeEvent::Applied { .. } => {}
        }
        last_t = t;
    }
    // A kill after the node's last event (never restarted): down from the kill on.
    if let Some(kill) = kills.iter().rfind(|w| w.start_ns >= last_t) {
        if track.spans.last().is_some_and(|s| s.end_ns.is_none()) {
            close(&mut track.spans, kill.start_ns);
            let term = track.spans.last().map_or(0, |s| s.term);
            track.spans.push(RoleSpan {
                start_ns: kill.start_ns,
                end_ns: None,
                role: "down".into(),
                term,
                leader: None,
            });
        }
    }
    for window in faults.iter().filter(|w| w.targets.contains(&node)) {
        let (start, end) = match window.name.as_str() {
            "kill" => ("killed", None),
            "power-loss" => ("power-lost", None),
            "disk-error" => ("disk-error", None),
            "pause" => ("paused", Some("resumed")),
            _ => continue,
        };
        track.marks.push(NodeMark {
            time_ns: window.start_ns,
            kind: start.into(),
            detail: window.description.clone(),
        });
        if let (Some(end), Some(end_ns)) = (end, window.end_ns) {
            track.marks.push(NodeMark {
                time_ns: end_ns,
                kind: end.into(),
                detail: window.description.clone(),
            });
        }
    }
    track.marks.sort_by_key(|m| m.time_ns);
    track
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(node: u64, line: &str) -> EventRecord {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["node"] = node.into();
        value["time_ns"] = 0.into();
        serde_json::from_value(value).unwrap()
    }

    fn started(term: u64) -> String {
        format!(
            r#"{{"event":"started","term":{term},"vote":null,"commit":0,"applied":0,"applied_digest":"cbf29ce484222325","snapshot_index":0,"snapshot_term":0,"last_index":0,"voters":[1,2],"learners":[]}}"#
        )
    }

    #[test]
    fn roles_become_spans_and_a_kill_ends_one() {
        let records = vec![
            (0, record(1, &started(0))),
            (
                0,
                record(
                    1,
                    r#"{"event":"role","role":"follower","term":0,"leader":null}"#,
                ),
            ),
            (
                50,
                record(1, r#"{"event":"role","role":"leader","term":1,"leader":1}"#),
            ),
            (300, record(1, &started(1))),
            (
                300,
                record(
                    1,
                    r#"{"event":"role","role":"follower","term":1,"leader":null}"#,
                ),
            ),
        ];
        let kill = FaultWindow {
            name: "kill".into(),
            description: "kill 1".into(),
            start_ns: 200,
            end_ns: Some(290),
            targets: vec![1],
        };
        let tracks = node_tracks(&records, &[kill]);
        assert_eq!(tracks.len(), 1);
        let spans: Vec<(u64, Option<u64>, &str, u64)> = tracks[0]
            .spans
            .iter()
            .map(|s| (s.start_ns, s.end_ns, s.role.as_str(), s.term))
            .collect();
        assert_eq!(
            spans,
            [
                (0, Some(50), "follower", 0),
                (50, Some(200), "leader", 1),
                (200, Some(300), "down", 1),
                (300, None, "follower", 1)
            ]
        );
        let kinds: Vec<&str> = tracks[0].marks.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["started", "killed", "restarted"]);
    }

    #[test]
    fn a_restart_no_kill_names_is_down_from_the_last_event() {
        let records = vec![
            (0, record(1, &started(0))),
            (
                10,
                record(1, r#"{"event":"role","role":"leader","term":1,"leader":1}"#),
            ),
            (40, record(1, r#"{"event":"commit","commit":3,"from":2}"#)),
            (90, record(1, &started(1))),
        ];
        // A kill of "the leader" names no node: the fault cannot place it.
        let kill = FaultWindow {
            name: "kill".into(),
            description: "kill leader 1".into(),
            start_ns: 45,
            end_ns: Some(85),
            targets: vec![],
        };
        let tracks = node_tracks(&records, &[kill]);
        let spans: Vec<(u64, Option<u64>, &str)> = tracks[0]
            .spans
            .iter()
            .map(|s| (s.start_ns, s.end_ns, s.role.as_str()))
            .collect();
        assert_eq!(spans, [(10, Some(40), "leader"), (40, Some(90), "down")]);
    }
}
