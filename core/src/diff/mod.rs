//! Job diffs as Nomad v0.6.3 computes them for `/plan` and
//! `/versions?diffs=true`: job → task group → task, with object and field
//! diffs, flattened field names and Nomad's ordering.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{nil, Job};

mod annotate;
mod fields;
mod flat;
mod job;
mod objects;
mod same;
mod task;
mod text;

pub use text::DiffStr;

pub use annotate::{
    FORCES_CREATE, FORCES_DESTROY, FORCES_DESTRUCTIVE_UPDATE, FORCES_IN_PLACE_UPDATE,
};

/// The kind of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum DiffType {
    #[default]
    None,
    Added,
    Deleted,
    Edited,
}

/// One flattened field (`Env[KEY]`, `Count`, …). JSON keys are
/// alphabetical, as Nomad emits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FieldDiff {
    #[serde(
        rename = "Annotations",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub annotations: Vec<String>,
    #[serde(rename = "Name")]
    pub name: DiffStr,
    #[serde(rename = "New")]
    pub new: DiffStr,
    #[serde(rename = "Old")]
    pub old: DiffStr,
    #[serde(rename = "Type")]
    pub diff_type: DiffType,
}

/// A nested object (`Resources`, `Constraint`, `Config`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ObjectDiff {
    #[serde(
        rename = "Fields",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Name")]
    pub name: DiffStr,
    #[serde(
        rename = "Objects",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub objects: Vec<ObjectDiff>,
    #[serde(rename = "Type")]
    pub diff_type: DiffType,
}

/// The diff of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskDiff {
    #[serde(
        rename = "Annotations",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub annotations: Vec<String>,
    #[serde(
        rename = "Fields",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Name")]
    pub name: DiffStr,
    #[serde(
        rename = "Objects",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub objects: Vec<ObjectDiff>,
    #[serde(rename = "Type")]
    pub diff_type: DiffType,
}

/// The diff of one task group; `Updates` is filled by plan annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskGroupDiff {
    #[serde(
        rename = "Fields",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "Name")]
    pub name: DiffStr,
    #[serde(
        rename = "Objects",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub objects: Vec<ObjectDiff>,
    #[serde(
        rename = "Tasks",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub tasks: Vec<TaskDiff>,
    #[serde(rename = "Type")]
    pub diff_type: DiffType,
    /// `null` unless annotated; `{}` when annotated with all-zero counts.
    #[serde(rename = "Updates")]
    pub updates: Option<BTreeMap<String, u64>>,
}

/// The diff of a whole job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobDiff {
    #[serde(
        rename = "Fields",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub fields: Vec<FieldDiff>,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(
        rename = "Objects",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub objects: Vec<ObjectDiff>,
    #[serde(
        rename = "TaskGroups",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub task_groups: Vec<TaskGroupDiff>,
    #[serde(rename = "Type")]
    pub diff_type: DiffType,
}

/// Diffs two versions of a job (either may be absent), as Nomad's
/// `Job.Diff`. `contextual` lists unchanged fields inside changed objects
/// (and unchanged members of changed string sets); `/plan` and
/// `/versions` use `true`. Fails only when both jobs exist with different
/// IDs.
pub fn diff_jobs(
    old: Option<&Job>,
    new: Option<&Job>,
    contextual: bool,
) -> Result<JobDiff, String> {
    job::job_diff(old, new, contextual)
}

/// Applies a dry run's `DesiredTGUpdates` to a diff: group `Updates`,
/// `Count` and task annotations (Nomad's `scheduler.Annotate`).
pub fn annotate(diff: &mut JobDiff, annotations: &crate::scheduler::plan::PlanAnnotations) {
    annotate::annotate(diff, annotations);
}

#[cfg(test)]
mod tests;
