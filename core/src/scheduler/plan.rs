//! Plans: what a scheduler run wants changed, and what the plan applier
//! accepted of it.

use std::collections::{btree_map, BTreeMap};
use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{nil, AllocMetric, Allocation, Deployment, Job};

/// The output of one scheduler pass, submitted as `Command::ApplyPlan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Plan {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    /// The job the placements run (attached to every new allocation).
    #[serde(rename = "Job")]
    pub job: Option<Arc<Job>>,
    #[serde(rename = "AllAtOnce")]
    pub all_at_once: bool,
    /// node ID → allocations to stop/evict there (copies with the new
    /// desired status, description and optional client status).
    /// Allocations are shared, not held by value: each is built once and
    /// only its pointer moves on to the state, which stores it as it is.
    #[serde(rename = "NodeUpdate")]
    pub node_update: NodeMap<Vec<Arc<Allocation>>>,
    /// node ID → allocations to create or update in place there.
    #[serde(rename = "NodeAllocation")]
    pub node_allocation: NodeMap<Vec<Arc<Allocation>>>,
    /// A deployment created (or updated) by this plan.
    #[serde(rename = "Deployment")]
    pub deployment: Option<Deployment>,
    #[serde(
        rename = "DeploymentUpdates",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Filled only for `AnnotatePlan` (dry-run) evaluations.
    #[serde(rename = "Annotations")]
    pub annotations: Option<PlanAnnotations>,
}

impl Plan {
    /// Nothing to apply (annotations do not count).
    pub fn is_no_op(&self) -> bool {
        self.node_update.is_empty()
            && self.node_allocation.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
    }
}

/// Node ID → what a plan does there, in node-ID order: a sorted list while
/// the keys arrive in ascending order, a `BTreeMap` from the first key that
/// does not.
///
/// The system scheduler plans node after node in ID order, and inserting
/// thousands of node IDs into a B-tree costs a root-to-leaf search of
/// string comparisons each; appending to a sorted list costs one. The
/// generic scheduler visits nodes in random order: its second or third key
/// turns the list into the tree, and from then on every operation is the
/// tree's. Either way the map reads as one ordered map: lookups, iteration,
/// equality and serialization are the `BTreeMap`'s.
#[derive(Clone)]
pub struct NodeMap<V> {
    /// Every entry, once a key arrived out of order (then `run` is empty).
    tree: BTreeMap<String, V>,
    /// Every entry, in ascending key order, while `tree` is empty.
    run: Vec<(String, V)>,
}

/// Where a key is, or goes, in a [`NodeMap`].
enum Lane {
    /// At this index of the run.
    Run(usize),
    /// After the end of the run.
    Append,
    Tree,
}

/// Iterator over a [`NodeMap`]'s entries in key order.
pub type NodeMapIter<'a, V> = std::iter::Chain<
    btree_map::Iter<'a, String, V>,
    std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&(String, V)) -> (&String, &V)>,
>;

impl<V> Default for NodeMap<V> {
    fn default() -> Self {
        NodeMap {
            tree: BTreeMap::new(),
            run: Vec::new(),
        }
    }
}

impl<V> NodeMap<V> {
    pub fn len(&self) -> usize {
        self.tree.len() + self.run.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty() && self.run.is_empty()
    }

    /// Room for `additional` more keys while they arrive in order (a
    /// system pass plans thousands of nodes: the run is sized once).
    pub fn reserve(&mut self, additional: usize) {
        if self.in_run() {
            self.run.reserve(additional);
        }
    }

    /// Whether the entries are in the run (the tree is empty).
    fn in_run(&self) -> bool {
        self.tree.is_empty()
    }

    fn run_index(&self, key: &str) -> Result<usize, usize> {
        self.run.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Finds `key`'s lane for a write. A new key below the run's last one
    /// moves the run into the tree, in one bulk build.
    fn lane_for_write(&mut self, key: &str) -> Lane {
        if !self.in_run() {
            return Lane::Tree;
        }
        let Some((last, _)) = self.run.last() else {
            return Lane::Append;
        };
        match last.as_str().cmp(key) {
            std::cmp::Ordering::Less => Lane::Append,
            std::cmp::Ordering::Equal => Lane::Run(self.run.len() - 1),
            std::cmp::Ordering::Greater => match self.run_index(key) {
                Ok(i) => Lane::Run(i),
                Err(_) => {
                    self.tree = std::mem::take(&mut self.run).into_iter().collect();
                    Lane::Tree
                }
            },
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        if self.in_run() {
            return self.run_index(key).ok().map(|i| &self.run[i].1);
        }
        self.tree.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        if self.in_run() {
            return self.run_index(key).ok().map(|i| &mut self.run[i].1);
        }
        self.tree.get_mut(key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, made by `make` (and the key copied) if absent.
    pub fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        match self.lane_for_write(key) {
            Lane::Run(i) => &mut self.run[i].1,
            Lane::Append => {
                let i = self.run.len();
                self.run.push((key.to_string(), make()));
                &mut self.run[i].1
            }
            Lane::Tree => self.tree.entry(key.to_string()).or_insert_with(make),
        }
    }

    /// Sets `key`'s value; returns the one it replaces.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.lane_for_write(&key) {
            Lane::Run(i) => Some(std::mem::replace(&mut self.run[i].1, value)),
            Lane::Append => {
                self.run.push((key, value));
                None
            }
            Lane::Tree => self.tree.insert(key, value),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        if self.in_run() {
            let i = self.run_index(key).ok()?;
            return Some(self.run.remove(i).1);
        }
        self.tree.remove(key)
    }

    /// Entries in key order.
    pub fn iter(&self) -> NodeMapIter<'_, V> {
        let pair: fn(&(String, V)) -> (&String, &V) = |(k, v)| (k, v);
        self.tree.iter().chain(self.run.iter().map(pair))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.tree
            .values_mut()
            .chain(self.run.iter_mut().map(|(_, v)| v))
    }
}

impl<V> NodeMap<V> {
    /// The map of `entries`, whose keys must be ascending and unique (as
    /// [`NodeMap::into_vec`] hands them out): the list becomes the run as it
    /// is, with no comparison or copy.
    pub(crate) fn from_ordered(entries: Vec<(String, V)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        NodeMap {
            tree: BTreeMap::new(),
            run: entries,
        }
    }

    /// The entries in key order, as one list: the run itself when the keys
    /// arrived in order (a system plan's thousands of nodes), no copy.
    pub fn into_vec(self) -> Vec<(String, V)> {
        if self.in_run() {
            return self.run;
        }
        self.tree.into_iter().collect()
    }
}

impl<V> IntoIterator for NodeMap<V> {
    type Item = (String, V);
    type IntoIter =
        std::iter::Chain<btree_map::IntoIter<String, V>, std::vec::IntoIter<(String, V)>>;

    fn into_iter(self) -> Self::IntoIter {
        self.tree.into_iter().chain(self.run)
    }
}

impl<'a, V> IntoIterator for &'a NodeMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = NodeMapIter<'a, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<V> FromIterator<(String, V)> for NodeMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = NodeMap::default();
        map.extend(iter);
        map
    }
}

impl<V> Extend<(String, V)> for NodeMap<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<V, const N: usize> From<[(String, V); N]> for NodeMap<V> {
    fn from(entries: [(String, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<V> std::ops::Index<&str> for NodeMap<V> {
    type Output = V;

    fn index(&self, key: &str) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for node {key:?}"),
        }
    }
}

impl<V: PartialEq> PartialEq for NodeMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<V: fmt::Debug> fmt::Debug for NodeMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Serialize> Serialize for NodeMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Read as a `BTreeMap` (same duplicate-key rule: the last one wins).
impl<'de, V: Deserialize<'de>> Deserialize<'de> for NodeMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(NodeMap {
            tree: BTreeMap::deserialize(d)?,
            run: Vec::new(),
        })
    }
}

/// A deployment status change carried by a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentStatusUpdate {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
}

/// `Annotations` of a plan response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanAnnotations {
    #[serde(rename = "DesiredTGUpdates")]
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
}

/// What the reconciler decided for one task group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DesiredUpdates {
    pub ignore: u64,
    pub place: u64,
    pub migrate: u64,
    pub stop: u64,
    pub in_place_update: u64,
    pub destructive_update: u64,
    pub canary: u64,
}

/// What the plan applier committed of a plan. Once applied to a state, the
/// allocations are the stored ones (shared with the state, indexes set).
/// The maps are [`NodeMap`]s: the applier's lists are in node order, so a
/// result for thousands of nodes is built without a sort or a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanResult {
    pub node_update: NodeMap<Vec<Arc<Allocation>>>,
    pub node_allocation: NodeMap<Vec<Arc<Allocation>>>,
    pub deployment: Option<Deployment>,
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Non-zero when part of the plan was refused: the scheduler must
    /// refresh its state to at least this index and retry.
    pub refresh_index: u64,
    /// Index at which the result was committed (0 if nothing was).
    pub alloc_index: u64,
}

impl PlanResult {
    pub fn is_no_op(&self) -> bool {
        self.node_update.is_empty()
            && self.node_allocation.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
    }
}

/// Group name → the metric of its first failed placement.
pub type FailedTgAllocs = BTreeMap<String, AllocMetric>;

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &NodeMap<u32>) -> Vec<(&str, u32)> {
        m.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }

    #[test]
    fn node_map_reads_like_a_btree_map_whatever_the_insertion_order() {
        let mut m: NodeMap<u32> = NodeMap::default();
        // Ascending keys, or the last key again: the run.
        for (i, k) in ["b", "d", "f", "f"].into_iter().enumerate() {
            *m.get_or_insert_with(k, || 0) += i as u32 + 1;
        }
        assert_eq!(m.insert("g".into(), 9), None);
        assert_eq!(m.insert("g".into(), 8), Some(9));
        *m.get_or_insert_with("d", || 0) += 10;
        assert_eq!((m.tree.len(), m.run.len()), (0, 4));
        assert_eq!((m["d"], m.get("c"), m.get("h")), (12, None, None));
        // A new key below the last: the tree, for good.
        assert_eq!(m.insert("c".into(), 5), None);
        assert_eq!((m.tree.len(), m.run.len()), (5, 0));
        assert_eq!(m.insert("a".into(), 7), None);
        assert_eq!(m.insert("h".into(), 1), None);
        assert_eq!((m.tree.len(), m.run.len()), (7, 0));
        let want = [
            ("a", 7),
            ("b", 1),
            ("c", 5),
            ("d", 12),
            ("f", 7),
            ("g", 8),
            ("h", 1),
        ];
        assert_eq!(keys(&m), want);
        assert_eq!((m.len(), m["f"], m.get("e")), (7, 7, None));
        assert!(m.contains_key("g") && !m.contains_key("i"));

        // The same entries inserted in the other order are the same map,
        // and both serialize like the BTreeMap.
        let ascending: NodeMap<u32> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!((ascending.tree.len(), ascending.run.len()), (0, 7));
        assert_eq!(ascending, m);
        assert_eq!(format!("{ascending:?}"), format!("{m:?}"));
        let tree: BTreeMap<String, u32> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let json = serde_json::to_string(&ascending).unwrap();
        assert_eq!(json, serde_json::to_string(&tree).unwrap());
        assert_eq!(json, serde_json::to_string(&m).unwrap());
        let back: NodeMap<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        // An ordered list is taken as the run, and reads the same.
        let ordered =
            NodeMap::from_ordered(want.iter().map(|(k, v)| (k.to_string(), *v)).collect());
        assert_eq!((ordered.tree.len(), ordered.run.len()), (0, 7));
        assert_eq!((ordered["c"], ordered.get("e")), (5, None));
        assert_eq!(ordered, m);

        // Removal from either form.
        let mut run = ascending;
        assert_eq!((run.remove("g"), m.remove("g")), (Some(8), Some(8)));
        assert_eq!((run.remove("b"), m.remove("b")), (Some(1), Some(1)));
        assert_eq!((run.remove("zz"), m.remove("zz")), (None, None));
        *run.get_mut("a").unwrap() += 1;
        *m.get_mut("a").unwrap() += 1;
        assert_eq!(
            keys(&run),
            [("a", 8), ("c", 5), ("d", 12), ("f", 7), ("h", 1)]
        );
        assert_eq!(run, m);
        m.values_mut().for_each(|v| *v = 0);
        assert_eq!(m.values().sum::<u32>(), 0);
        assert_eq!(
            run.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "c", "d", "f", "h"]
        );
    }
}
