//! The secondary indexes of the allocation table: a job's or a node's
//! allocations as one ID-ordered list of the stored (shared) allocations,
//! so reading them costs no lookup per allocation and indexing one costs a
//! pointer, not a copied ID.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::model::Allocation;

/// Allocations ordered by ID (IDs unique), shared with the `allocs` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AllocList(Vec<Arc<Allocation>>);

impl AllocList {
    pub fn iter(&self) -> std::slice::Iter<'_, Arc<Allocation>> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Arc<Allocation>] {
        &self.0
    }

    pub fn to_vec(&self) -> Vec<Arc<Allocation>> {
        self.0.clone()
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|a| a.id.as_str().cmp(id))
    }

    /// Puts `alloc` in place of the allocation with its ID; `false` (and
    /// nothing changed) if there is none.
    pub fn replace(&mut self, alloc: &Arc<Allocation>) -> bool {
        match self.position(&alloc.id) {
            Ok(i) => {
                self.0[i] = alloc.clone();
                true
            }
            Err(_) => false,
        }
    }

    /// Takes out the allocation with ID `id`; `false` if there is none.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.position(id) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Inserts or replaces `alloc` (linear: for short lists).
    pub fn upsert(&mut self, alloc: &Arc<Allocation>) {
        match self.position(&alloc.id) {
            Ok(i) => self.0[i] = alloc.clone(),
            Err(i) => self.0.insert(i, alloc.clone()),
        }
    }

    /// Adds allocations whose IDs are not in the list yet (unique among
    /// themselves): one merge, however long the list.
    pub fn merge_new(&mut self, mut new: Vec<Arc<Allocation>>) {
        sort_by_id(&mut new);
        self.merge_new_in_order(new);
    }

    /// [`AllocList::merge_new`] of allocations already in ID order.
    pub fn merge_new_in_order(&mut self, new: Vec<Arc<Allocation>>) {
        debug_assert!(new.is_sorted_by(|a, b| a.id < b.id));
        let append = match (self.0.last(), new.first()) {
            (None, _) => {
                // A new list: no copy.
                self.0 = new;
                return;
            }
            (Some(last), Some(first)) => last.id < first.id,
            (Some(_), None) => return,
        };
        if append {
            self.0.extend(new);
            return;
        }
        let old = std::mem::take(&mut self.0);
        let mut out = Vec::with_capacity(old.len() + new.len());
        let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
        loop {
            let take_old = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.id < y.id,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_old { a.next() } else { b.next() };
            out.extend(next);
        }
        self.0 = out;
    }
}

impl<'a> IntoIterator for &'a AllocList {
    type Item = &'a Arc<Allocation>;
    type IntoIter = std::slice::Iter<'a, Arc<Allocation>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Sorts allocations by ID (see [`id_order`]), then moves them into that
/// order.
fn sort_by_id(allocs: &mut Vec<Arc<Allocation>>) {
    // Allocations the table took in ID order (a batch of fresh
    // placements) need only this check.
    if allocs.is_sorted_by(|a, b| a.id <= b.id) {
        return;
    }
    let order = {
        let ids: Vec<&str> = allocs.iter().map(|a| a.id.as_str()).collect();
        id_order(&ids)
    };
    let mut taken: Vec<Option<Arc<Allocation>>> =
        std::mem::take(allocs).into_iter().map(Some).collect();
    allocs.reserve_exact(order.len());
    allocs.extend(order.iter().filter_map(|&i| taken[i as usize].take()));
}

/// The positions of `ids` in ascending string order. What is sorted is a
/// compact list of each ID's first 8 bytes (zero-padded; byte order is
/// string order) and its position, not the strings; only IDs sharing those
/// 8 bytes (rare for random IDs) are compared in full. Equal IDs keep their
/// order.
pub(crate) fn id_order(ids: &[&str]) -> Vec<u32> {
    let prefix = |id: &str| {
        let mut head = [0u8; 8];
        let n = id.len().min(8);
        head[..n].copy_from_slice(&id.as_bytes()[..n]);
        u64::from_be_bytes(head)
    };
    // The prefix above the position, in one integer: one comparison each.
    let mut keys: Vec<u128> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (u128::from(prefix(id)) << 32) | i as u128)
        .collect();
    keys.sort_unstable();
    let head = |k: &u128| k >> 32;
    let at = |k: &u128| *k as u32 as usize;
    // Runs of equal prefixes: ordered by the whole ID.
    let mut start = 0;
    while start < keys.len() {
        let h = head(&keys[start]);
        let end = start + keys[start..].iter().take_while(|k| head(k) == h).count();
        if end - start > 1 {
            keys[start..end].sort_by(|x, y| ids[at(x)].cmp(ids[at(y)]));
        }
        start = end;
    }
    keys.iter().map(|k| at(k) as u32).collect()
}

/// As Nomad's index: the list of IDs.
impl Serialize for AllocList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for a in &self.0 {
            seq.serialize_element(&a.id)?;
        }
        seq.end()
    }
}

/// Key (job or node ID) → its allocations.
pub(crate) type AllocIndex = BTreeMap<String, AllocList>;

/// The list of `key` in `index`, created if missing (the key is copied
/// only then). Two searches of the index either way.
pub(crate) fn list_mut<'i>(index: &'i mut AllocIndex, key: &str) -> &'i mut AllocList {
    if index.contains_key(key) {
        match index.get_mut(key) {
            Some(list) => return list,
            None => unreachable!("present above"),
        }
    }
    index.entry(key.to_string()).or_default()
}

/// Takes allocation `id` out of `key`'s list, and the list out of the
/// index once it is empty.
pub(crate) fn unindex(index: &mut AllocIndex, key: &str, id: &str) {
    if let Some(list) = index.get_mut(key) {
        if list.remove(id) && list.is_empty() {
            index.remove(key);
        }
    }
}

/// New allocations grouped by node: node ID → its new allocations.
pub(crate) type NodeGroups = Vec<(String, Vec<Arc<Allocation>>)>;

/// Adds allocations new to the table (unique IDs, in no list yet) to the
/// node index. A plan touching many nodes (a system job) rebuilds the index
/// in one ordered merge instead of searching it once per node. A plan's
/// batch comes grouped by node, in node order (then no group is sorted);
/// groups out of order, or a node in more than one group, are sorted and
/// joined first.
pub(crate) fn index_by_node(index: &mut AllocIndex, mut groups: NodeGroups) {
    groups.retain(|(_, g)| !g.is_empty());
    if groups.is_empty() {
        return;
    }
    if !groups.windows(2).all(|w| w[0].0 < w[1].0) {
        // Stable: a node's allocations keep their order.
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                earlier.1.append(&mut later.1);
            }
            same
        });
    }
    // A search costs about as much as moving 8 entries of the index.
    if groups.len() * 8 < index.len() {
        for (node, g) in groups {
            list_mut(index, &node).merge_new(g);
        }
        return;
    }
    let mut merged = Vec::with_capacity(index.len() + groups.len());
    let mut old = std::mem::take(index).into_iter().peekable();
    for (node, g) in groups {
        // One comparison per entry of the index stepped over or found.
        let mut found = None;
        while let Some((k, _)) = old.peek() {
            match k.cmp(&node) {
                std::cmp::Ordering::Less => merged.extend(old.next()),
                std::cmp::Ordering::Equal => {
                    found = old.next();
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        let (key, mut list) = found.unwrap_or_else(|| (node, AllocList::default()));
        list.merge_new(g);
        merged.push((key, list));
    }
    merged.extend(old);
    // In key order already: the map is built in bulk.
    *index = merged.into_iter().collect();
}

/// An index read back from its serialized form (key → allocation IDs),
/// resolved against the allocation table.
pub(crate) fn resolve_index(
    ids: BTreeMap<String, Vec<String>>,
    allocs: &BTreeMap<String, Arc<Allocation>>,
) -> AllocIndex {
    ids.into_iter()
        .map(|(key, ids)| {
            let mut list: Vec<Arc<Allocation>> = ids
                .iter()
                .filter_map(|id| allocs.get(id).cloned())
                .collect();
            list.sort_by(|a, b| a.id.cmp(&b.id));
            list.dedup_by(|a, b| a.id == b.id);
            (key, AllocList(list))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(id: &str) -> Arc<Allocation> {
        Arc::new(Allocation {
            id: id.into(),
            ..Default::default()
        })
    }

    fn ids(l: &AllocList) -> Vec<&str> {
        l.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn nodes_indexed_in_bulk_or_one_by_one_as_by_upserts() {
        let on = |id: &str, node: &str| {
            Arc::new(Allocation {
                id: id.into(),
                node_id: node.into(),
                ..Default::default()
            })
        };
        let existing = [on("a1", "n1"), on("a3", "n3"), on("a5", "n5")];
        let new = vec![
            on("b3", "n3"),
            on("a0", "n3"),
            on("b2", "n2"),
            on("b9", "n9"),
        ];
        let mut expected = AllocIndex::new();
        for a in existing.iter().chain(&new) {
            list_mut(&mut expected, &a.node_id).upsert(a);
        }
        // Few new nodes against a large index: one search per node.
        let mut large = AllocIndex::new();
        for i in 0..40 {
            let a = on(&format!("x{i}"), &format!("m{i:02}"));
            list_mut(&mut large, &a.node_id).upsert(&a);
            list_mut(&mut expected, &a.node_id).upsert(&a);
        }
        // The batch as groups out of node order, with a node in two
        // groups and an empty group, and as a plan's batch comes: one
        // group per node, in node order.
        let one_each: NodeGroups = new
            .iter()
            .map(|a| (a.node_id.clone(), vec![a.clone()]))
            .chain([("n0".to_string(), vec![])])
            .collect();
        let mut in_node_order: NodeGroups = Vec::new();
        let mut sorted = new.clone();
        sorted.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        for a in sorted {
            match in_node_order.last_mut() {
                Some((node, g)) if *node == a.node_id => g.push(a),
                _ => in_node_order.push((a.node_id.clone(), vec![a])),
            }
        }
        for (index, batch) in [
            (AllocIndex::new(), &one_each),
            (large.clone(), &one_each),
            (AllocIndex::new(), &in_node_order),
            (large, &in_node_order),
        ] {
            let mut index = index;
            for a in &existing {
                list_mut(&mut index, &a.node_id).upsert(a);
            }
            index_by_node(&mut index, batch.clone());
            let want: Vec<_> = expected
                .iter()
                .filter(|(k, _)| index.contains_key(*k) || !k.starts_with('m'))
                .map(|(k, l)| (k.clone(), ids(l).join(",")))
                .collect();
            let got: Vec<_> = index
                .iter()
                .map(|(k, l)| (k.clone(), ids(l).join(",")))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn sorts_by_id_past_the_first_16_bytes() {
        let mut l: Vec<_> = [
            "0123456789abcdef-2",
            "0123456789abcdef",
            "0123456789abcdef-10",
            "b",
            "0123456789abcdeg",
            "",
            "a\u{0}",
            "a",
        ]
        .iter()
        .map(|id| alloc(id))
        .collect();
        let got = sorted_ids(&mut l);
        assert_eq!(got[..3], ["", "0123456789abcdef", "0123456789abcdef-10"]);
    }

    #[test]
    fn many_ids_sort_as_strings() {
        // Some share their first 8 bytes.
        let mut rng = crate::scheduler::Rng::new(3);
        let mut l: Vec<_> = (0..700)
            .map(|i| match i % 7 {
                0 => alloc(&format!("abcdefgh{}", rng.uuid())),
                1 => alloc(&format!("ab{i}")),
                _ => alloc(&rng.uuid()),
            })
            .collect();
        sorted_ids(&mut l);
    }

    /// `sort_by_id` of `l`, checked against sorting the IDs as strings.
    fn sorted_ids(l: &mut Vec<Arc<Allocation>>) -> Vec<&str> {
        sort_by_id(l);
        let got: Vec<&str> = l.iter().map(|a| a.id.as_str()).collect();
        let mut want = got.clone();
        want.sort();
        assert_eq!(got, want);
        got
    }

    #[test]
    fn stays_ordered_by_id() {
        let mut l = AllocList::default();
        l.merge_new(vec![alloc("c"), alloc("a")]);
        l.merge_new(vec![alloc("d"), alloc("e")]);
        l.merge_new(vec![alloc("b"), alloc("f"), alloc("0")]);
        l.upsert(&alloc("bb"));
        assert_eq!(ids(&l), ["0", "a", "b", "bb", "c", "d", "e", "f"]);
        let mut changed = Allocation::clone(&alloc("c"));
        changed.name = "x".into();
        assert!(l.replace(&Arc::new(changed)));
        assert!(!l.replace(&alloc("zz")));
        assert_eq!(l.iter().find(|a| a.id == "c").unwrap().name, "x");
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"["0","a","b","bb","c","d","e","f"]"#
        );
    }
}
