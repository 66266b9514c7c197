//! What a fault acted on once it started ([`Resolved`]): the node ids it hit and the directed
//! links it changed, after "the leader" and `isolate-leader` were resolved against the live
//! cluster. The history's nemesis events carry it as data ([`fault_record`]), so a reader learns
//! which leader was killed or which links were cut without parsing the event's text.

use serde::Serialize;
use serde_json::Value as Json;

use super::schedule::{Fault, Link, NodeId};

/// The targets of a fault as carried out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The nodes aimed at: killed or paused nodes, the isolated leader of `isolate-leader`, the
    /// sources of `stale-links`, the node a membership step removes or adds (empty when the fault
    /// names no node, such as a `random-halves` partition).
    pub nodes: Vec<NodeId>,
    /// The directed links whose state changed (`[from, to]`): cut, delayed, lossy or stale.
    pub links: Vec<Link>,
}

impl Resolved {
    /// Only nodes.
    pub fn nodes(nodes: Vec<NodeId>) -> Resolved {
        Resolved {
            nodes,
            links: Vec::new(),
        }
    }

    /// Only links.
    pub fn links(links: Vec<Link>) -> Resolved {
        Resolved {
            nodes: Vec::new(),
            links,
        }
    }
}

/// The history's `fault` object of a nemesis event: the fault as scheduled (`"fault"` names its
/// kind, then its own fields, e.g. `"targets": "leader"`) plus the resolved `nodes` and `links`.
pub fn fault_record(fault: &Fault, resolved: &Resolved) -> Json {
    let mut record = serde_json::to_value(fault).unwrap_or(Json::Null);
    if let Json::Object(fields) = &mut record {
        fields.insert("nodes".into(), serde_json::json!(resolved.nodes));
        fields.insert("links".into(), serde_json::json!(resolved.links));
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::schedule::{PartitionShape, Targets};
    use serde_json::json;

    #[test]
    fn the_record_keeps_the_schedule_and_adds_what_was_hit() {
        let kill = Fault::Kill {
            targets: Targets::Leader,
        };
        assert_eq!(
            fault_record(&kill, &Resolved::nodes(vec![2])),
            json!({"fault": "kill", "targets": "leader", "nodes": [2], "links": []})
        );
        let isolate = Fault::Partition {
            shape: PartitionShape::IsolateLeader,
            cut: Vec::new(),
        };
        let resolved = Resolved {
            nodes: vec![3],
            links: vec![(3, 1), (1, 3)],
        };
        let record = fault_record(&isolate, &resolved);
        assert_eq!(record["shape"], "isolate-leader");
        assert_eq!(record["nodes"], json!([3]));
        assert_eq!(record["links"], json!([[3, 1], [1, 3]]));
        let back: Fault = serde_json::from_value(record).unwrap();
        assert_eq!(back, isolate, "old readers still read the fault");
    }
}
