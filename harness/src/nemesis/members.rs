//! Schedule node numbers against the members of the moment. A schedule is drawn over the initial
//! node ids `1..=n`; once membership churn added and removed nodes, node number `k` names the
//! `k`-th current member by id (wrapping), so partitions, kills and pauses strike the nodes that
//! are in the cluster now, those added by churn included. While membership never changed, node
//! `k` is node `k` itself. The simulator maps its schedule the same way.

use super::schedule::{Link, NodeId};

/// The member that the schedule's node number `slot` names: the `slot`-th of `members` sorted
/// by id, wrapping; `None` for slot 0 or no members.
pub fn member_at(members: &[NodeId], slot: NodeId) -> Option<NodeId> {
    let index = usize::try_from(slot.checked_sub(1)?).ok()?;
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.get(index % sorted.len().max(1)).copied()
}

/// The schedule's node numbers mapped to members (duplicates dropped, order kept).
pub fn members_at(members: &[NodeId], slots: &[NodeId]) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    for node in slots.iter().filter_map(|&s| member_at(members, s)) {
        if !nodes.contains(&node) {
            nodes.push(node);
        }
    }
    nodes
}

/// The schedule's links with both ends mapped to members; a link whose ends land on one node is
/// dropped, and so are repeats.
pub fn member_links(members: &[NodeId], links: &[Link]) -> Vec<Link> {
    let mut mapped: Vec<Link> = links
        .iter()
        .filter_map(|&(a, b)| Some((member_at(members, a)?, member_at(members, b)?)))
        .filter(|(a, b)| a != b)
        .collect();
    mapped.sort_unstable();
    mapped.dedup();
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_name_the_initial_nodes_until_membership_changes() {
        let initial = [1, 2, 3];
        assert_eq!(members_at(&initial, &[3, 1]), vec![3, 1]);
        assert_eq!(
            member_links(&initial, &[(1, 2), (2, 1)]),
            vec![(1, 2), (2, 1)]
        );
    }

    #[test]
    fn after_churn_slots_name_the_current_members_added_ones_included() {
        // Node 1 was replaced by 4, then 5 was added.
        let members = [5, 2, 3, 4];
        assert_eq!(member_at(&members, 1), Some(2));
        assert_eq!(member_at(&members, 3), Some(4));
        assert_eq!(member_at(&members, 4), Some(5));
        assert_eq!(member_at(&members, 5), Some(2), "wraps");
        assert_eq!(member_at(&members, 0), None);
        assert_eq!(member_at(&[], 1), None);
        assert_eq!(members_at(&members, &[1, 5, 4]), vec![2, 5]);
        // Slots 1 and 4 of a 3-member cluster are one node: that link goes.
        let three = [2, 3, 4];
        assert_eq!(
            member_links(&three, &[(1, 4), (1, 2), (2, 1)]),
            vec![(2, 3), (3, 2)]
        );
    }
}
