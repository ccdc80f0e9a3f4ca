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
        new.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let append = match (self.0.last(), new.first()) {
            (None, _) => true,
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
/// only then).
pub(crate) fn list_mut<'i>(index: &'i mut AllocIndex, key: &str) -> &'i mut AllocList {
    if index.contains_key(key) {
        match index.get_mut(key) {
            Some(list) => return list,
            None => unreachable!("present above"),
        }
    }
    index.entry(key.to_string()).or_default()
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
