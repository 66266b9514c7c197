//! Checks a node makes before it opens its data directory or binds a port: a configuration that
//! can never work (voters nobody can reach) is refused with an error that says what to fix.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::core::NodeId;

/// Every voter must be this node or have an address in `peers`; there must be at least one. A
/// voter without an address could never be asked for its vote, so the cluster might never elect.
pub fn check_voters(
    id: NodeId,
    voters: &[NodeId],
    peers: &BTreeMap<NodeId, SocketAddr>,
) -> Result<(), String> {
    if voters.is_empty() {
        return Err("--voters names no node; a cluster needs at least one voter".into());
    }
    let unknown: Vec<String> = voters
        .iter()
        .filter(|v| **v != id && !peers.contains_key(v))
        .map(|v| v.to_string())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = peers.keys().map(|p| p.to_string()).collect();
    Err(format!(
        "--voters names node {} but --peers has no address for it (--peers has {}; this node is {id}); add it to --peers or leave it out of --voters",
        unknown.join(", "),
        if known.is_empty() { "none".to_string() } else { known.join(", ") },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(ids: &[NodeId]) -> BTreeMap<NodeId, SocketAddr> {
        ids.iter()
            .map(|id| (*id, SocketAddr::from(([127, 0, 0, 1], 7000 + *id as u16))))
            .collect()
    }

    #[test]
    fn voters_with_addresses_or_this_node_pass() {
        assert_eq!(check_voters(1, &[1, 2, 3], &peers(&[1, 2, 3])), Ok(()));
        // This node need not list itself in --peers (it has --listen).
        assert_eq!(check_voters(1, &[1, 2], &peers(&[2])), Ok(()));
        // A learner-to-be is no voter of its own configuration.
        assert_eq!(check_voters(4, &[1, 2, 3], &peers(&[1, 2, 3, 4])), Ok(()));
    }

    #[test]
    fn a_voter_without_an_address_is_refused_by_name() {
        let err = check_voters(1, &[1, 2, 4], &peers(&[1, 2, 3])).unwrap_err();
        assert!(
            err.contains("names node 4") && err.contains("--peers has 1, 2, 3"),
            "{err}"
        );
        assert!(check_voters(1, &[], &peers(&[1])).is_err());
    }
}
