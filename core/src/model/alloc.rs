//! Allocations (a task group placed on a node), their scheduling metrics and
//! the task states a client reports.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::job::{Job, Resources};
use super::nil;
use super::vecmap::VecMap;

/// Task name → the resources the task got on its node.
pub type TaskResources = VecMap<String, Resources>;

/// `<node id>.<scorer>` → score. The keys are shared: every allocation
/// that scored a node holds the same key.
pub type Scores = VecMap<Arc<str>, f64>;

/// A counter per class, constraint, dimension or datacenter.
pub type Counts = VecMap<String, i64>;

pub const ALLOC_DESIRED_RUN: &str = "run";
pub const ALLOC_DESIRED_STOP: &str = "stop";
pub const ALLOC_DESIRED_EVICT: &str = "evict";

pub const ALLOC_CLIENT_PENDING: &str = "pending";
pub const ALLOC_CLIENT_RUNNING: &str = "running";
pub const ALLOC_CLIENT_COMPLETE: &str = "complete";
pub const ALLOC_CLIENT_FAILED: &str = "failed";
pub const ALLOC_CLIENT_LOST: &str = "lost";

/// An allocation as the server stores it (`GET /v1/allocation/<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Allocation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version this allocation runs (shared, never mutated).
    #[serde(rename = "Job")]
    pub job: Option<Arc<Job>>,
    #[serde(rename = "TaskGroup")]
    pub task_group: String,
    #[serde(rename = "Resources")]
    pub resources: Option<Resources>,
    #[serde(rename = "SharedResources")]
    pub shared_resources: Option<Resources>,
    #[serde(
        rename = "TaskResources",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub task_resources: TaskResources,
    #[serde(rename = "Metrics")]
    pub metrics: Option<AllocMetric>,
    #[serde(rename = "DesiredStatus")]
    pub desired_status: String,
    #[serde(rename = "DesiredDescription")]
    pub desired_description: String,
    #[serde(rename = "ClientStatus")]
    pub client_status: String,
    #[serde(rename = "ClientDescription")]
    pub client_description: String,
    #[serde(
        rename = "TaskStates",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub task_states: BTreeMap<String, TaskState>,
    #[serde(rename = "PreviousAllocation")]
    pub previous_allocation: String,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "DeploymentStatus")]
    pub deployment_status: Option<AllocDeploymentStatus>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "AllocModifyIndex")]
    pub alloc_modify_index: u64,
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
}

impl Allocation {
    /// Terminal: desired stop/evict, or the client reports it finished.
    pub fn terminal(&self) -> bool {
        matches!(
            self.desired_status.as_str(),
            ALLOC_DESIRED_STOP | ALLOC_DESIRED_EVICT
        ) || self.client_terminal()
    }

    /// The client reports complete, failed or lost.
    pub fn client_terminal(&self) -> bool {
        matches!(
            self.client_status.as_str(),
            ALLOC_CLIENT_COMPLETE | ALLOC_CLIENT_FAILED | ALLOC_CLIENT_LOST
        )
    }

    /// Version of the job this allocation runs.
    pub fn job_version(&self) -> u64 {
        self.job.as_ref().map_or(0, |j| j.version)
    }

    /// The name index `i` of `<job>.<group>[i]`.
    pub fn name_index(&self) -> Option<u64> {
        let open = self.name.rfind('[')?;
        let close = self.name.rfind(']')?;
        self.name.get(open + 1..close)?.parse().ok()
    }

    /// Every task has run to a clean exit (batch "ran successfully").
    pub fn ran_successfully(&self) -> bool {
        !self.task_states.is_empty()
            && self.task_states.values().all(|s| {
                s.state == "dead"
                    && s.events
                        .last()
                        .is_some_and(|e| e.event_type == "Terminated" && e.exit_code == 0)
            })
    }

    /// The list stub of `/allocations` endpoints.
    pub fn stub(&self) -> AllocListStub {
        AllocListStub {
            id: self.id.clone(),
            eval_id: self.eval_id.clone(),
            name: self.name.clone(),
            node_id: self.node_id.clone(),
            job_id: self.job_id.clone(),
            job_version: self.job_version(),
            task_group: self.task_group.clone(),
            desired_status: self.desired_status.clone(),
            desired_description: self.desired_description.clone(),
            client_status: self.client_status.clone(),
            client_description: self.client_description.clone(),
            task_states: self.task_states.clone(),
            deployment_status: self.deployment_status.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            create_time: self.create_time,
        }
    }
}

/// Items of `GET /v1/job/<id>/allocations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "TaskGroup")]
    pub task_group: String,
    #[serde(rename = "DesiredStatus")]
    pub desired_status: String,
    #[serde(rename = "DesiredDescription")]
    pub desired_description: String,
    #[serde(rename = "ClientStatus")]
    pub client_status: String,
    #[serde(rename = "ClientDescription")]
    pub client_description: String,
    #[serde(
        rename = "TaskStates",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub task_states: BTreeMap<String, TaskState>,
    #[serde(rename = "DeploymentStatus")]
    pub deployment_status: Option<AllocDeploymentStatus>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "CreateTime")]
    pub create_time: i64,
}

/// Health of an allocation within its deployment, reported by the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocDeploymentStatus {
    pub healthy: Option<bool>,
    pub modify_index: u64,
}

/// Decodes `Metrics.Scores` (`null` or missing: empty, as
/// [`nil::or_default`]). Each key is made a shared string straight from the
/// decoder's text: serde's `Arc<str>` builds a `String` first and copies it
/// again, and a decoded plan of 1000 allocations holds ~20 000 keys.
fn decode_scores<'de, D: Deserializer<'de>>(d: D) -> Result<Scores, D::Error> {
    /// A present (non-null) scores map.
    struct Present(Scores);

    impl<'de> Deserialize<'de> for Present {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(PresentVisitor)
        }
    }

    struct PresentVisitor;

    impl<'de> Visitor<'de> for PresentVisitor {
        type Value = Present;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Present, A::Error> {
            // A placement scores up to two dozen nodes: room for that at
            // once instead of growing 4, 8, 16, 32; the spare is dropped.
            let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(24).min(64));
            while let Some(key) = access.next_key_seed(Key)? {
                entries.push((key, access.next_value::<f64>()?));
            }
            let mut scores = Scores::from_unsorted(entries);
            nil::Compact::compact(&mut scores);
            Ok(Present(scores))
        }
    }

    struct Key;

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Arc<str>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Arc<str>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl Visitor<'_> for Key {
        type Value = Arc<str>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Arc<str>, E> {
            Ok(Arc::from(v))
        }
    }

    Ok(Option::<Present>::deserialize(d)?.map_or_else(Scores::new, |p| p.0))
}

/// What the scheduler saw while placing (or failing to place) one
/// allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocMetric {
    pub nodes_evaluated: i64,
    pub nodes_filtered: i64,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub nodes_available: Counts,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub class_filtered: Counts,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub constraint_filtered: Counts,
    pub nodes_exhausted: i64,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub class_exhausted: Counts,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub dimension_exhausted: Counts,
    #[serde(serialize_with = "nil::map", deserialize_with = "decode_scores")]
    pub scores: Scores,
    pub allocation_time: i64,
    pub coalesced_failures: i64,
}

impl AllocMetric {
    /// Nomad's `FilterNode`.
    pub fn filter_node(&mut self, node_class: &str, reason: &str) {
        self.nodes_filtered += 1;
        if !node_class.is_empty() {
            count(&mut self.class_filtered, node_class);
        }
        if !reason.is_empty() {
            count(&mut self.constraint_filtered, reason);
        }
    }

    /// Nomad's `ExhaustedNode`.
    pub fn exhausted_node(&mut self, node_class: &str, dimension: &str) {
        self.nodes_exhausted += 1;
        if !node_class.is_empty() {
            count(&mut self.class_exhausted, node_class);
        }
        if !dimension.is_empty() {
            count(&mut self.dimension_exhausted, dimension);
        }
    }

    /// Nomad's `ScoreNode`: `<node id>.<scorer>` → score.
    pub fn score_node(&mut self, node_id: &str, scorer: &str, score: f64) {
        self.scores
            .insert(Arc::from(format!("{node_id}.{scorer}")), score);
    }
}

/// Adds one to `key`'s counter (the key is copied only when new).
pub(crate) fn count(counts: &mut Counts, key: &str) {
    // A selection mostly counts one reason over and over (every node it
    // visits exhausted on memory): a map of one entry is checked without
    // a search.
    if counts.len() == 1 {
        if let Some((k, v)) = counts.iter_mut().next() {
            if k == key {
                *v += 1;
                return;
            }
        }
    }
    *counts.get_or_insert_with(key, |k| (k.to_string(), 0)) += 1;
}

/// The client's view of one task of an allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskState {
    pub state: String,
    pub failed: bool,
    pub restarts: u64,
    /// RFC 3339; the Go zero time when never restarted.
    pub last_restart: String,
    pub started_at: String,
    pub finished_at: String,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub events: Vec<TaskEvent>,
}

/// Go's zero `time.Time` in RFC 3339.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for TaskState {
    fn default() -> Self {
        TaskState {
            state: "pending".into(),
            failed: false,
            restarts: 0,
            last_restart: GO_ZERO_TIME.into(),
            started_at: GO_ZERO_TIME.into(),
            finished_at: GO_ZERO_TIME.into(),
            events: Vec::new(),
        }
    }
}

/// One event of a task's life (`Received`, `Started`, `Terminated`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskEvent {
    #[serde(rename = "Type")]
    pub event_type: String,
    #[serde(rename = "Time")]
    pub time: i64,
    #[serde(rename = "FailsTask")]
    pub fails_task: bool,
    #[serde(rename = "RestartReason")]
    pub restart_reason: String,
    #[serde(rename = "SetupError")]
    pub setup_error: String,
    #[serde(rename = "DriverError")]
    pub driver_error: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i64,
    #[serde(rename = "Signal")]
    pub signal: i64,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "KillTimeout")]
    pub kill_timeout: i64,
    #[serde(rename = "KillError")]
    pub kill_error: String,
    #[serde(rename = "KillReason")]
    pub kill_reason: String,
    #[serde(rename = "StartDelay")]
    pub start_delay: i64,
    #[serde(rename = "DownloadError")]
    pub download_error: String,
    #[serde(rename = "ValidationError")]
    pub validation_error: String,
    #[serde(rename = "DiskLimit")]
    pub disk_limit: i64,
    #[serde(rename = "FailedSibling")]
    pub failed_sibling: String,
    #[serde(rename = "VaultError")]
    pub vault_error: String,
    #[serde(rename = "TaskSignalReason")]
    pub task_signal_reason: String,
    #[serde(rename = "TaskSignal")]
    pub task_signal: String,
    #[serde(rename = "DriverMessage")]
    pub driver_message: String,
    #[serde(rename = "GenericSource")]
    pub generic_source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores_of(json: &str) -> Scores {
        serde_json::from_str::<AllocMetric>(json).unwrap().scores
    }

    #[test]
    fn scores_decode_to_the_map_they_encode_from() {
        let mut m = AllocMetric::default();
        m.score_node("b", "binpack", 1.25);
        m.score_node("a", "job-anti-affinity", -20.0);
        m.score_node("a", "binpack", 0.737_672_345_260_385_5);
        let json = serde_json::to_string(&m).unwrap();
        let back: AllocMetric = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let keys: Vec<&str> = back.scores.keys().map(|k| &**k).collect();
        assert_eq!(keys, ["a.binpack", "a.job-anti-affinity", "b.binpack"]);
        // No spare room is kept.
        assert_eq!(back.scores.capacity(), 3);
    }

    #[test]
    fn scores_decode_null_missing_unsorted_repeated_and_escaped() {
        assert!(scores_of(r#"{"Scores":null}"#).is_empty());
        assert!(scores_of(r#"{}"#).is_empty());
        assert!(scores_of(r#"{"Scores":{}}"#).is_empty());
        let s =
            scores_of(r#"{"Scores":{"z.binpack":1,"a.binpack":2.5,"z.binpack":3,"\u0041.x":4}}"#);
        let got: Vec<(&str, f64)> = s.iter().map(|(k, v)| (&**k, *v)).collect();
        assert_eq!(got, [("A.x", 4.0), ("a.binpack", 2.5), ("z.binpack", 3.0)]);
        for bad in [
            r#"{"Scores":{"a":"x"}}"#,
            r#"{"Scores":[1]}"#,
            r#"{"Scores":7}"#,
        ] {
            assert!(serde_json::from_str::<AllocMetric>(bad).is_err(), "{bad}");
        }
    }
}
