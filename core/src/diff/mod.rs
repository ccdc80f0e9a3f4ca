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
    job::job_diff(old, new, contextual, &crate::fork::Sequential)
}

/// [`diff_jobs`], with the task groups' diffs split over `fork`.
pub fn diff_jobs_forked(
    old: Option<&Job>,
    new: Option<&Job>,
    contextual: bool,
    fork: &impl crate::fork::Fork,
) -> Result<JobDiff, String> {
    job::job_diff(old, new, contextual, fork)
}

impl JobDiff {
    /// Appends this diff as compact JSON to `out`, the bytes of
    /// [`json_out::to_writer`](crate::json_out::to_writer), with the two
    /// halves of a long task group list encoded over `fork`.
    pub fn write_json_forked(
        &self,
        out: &mut Vec<u8>,
        fork: &impl crate::fork::Fork,
    ) -> Result<(), crate::json_out::Error> {
        use crate::json_out::to_writer;
        let groups = &self.task_groups;
        if groups.len() < crate::fork::MIN_GROUPS {
            return to_writer(out, self);
        }
        // The fields in the order, and with the nil rules, of the derive.
        out.extend_from_slice(b"{\"Fields\":");
        write_nil_vec(out, &self.fields)?;
        out.extend_from_slice(b",\"ID\":");
        to_writer(out, &self.id)?;
        out.extend_from_slice(b",\"Objects\":");
        write_nil_vec(out, &self.objects)?;
        out.extend_from_slice(b",\"TaskGroups\":[");
        let (head, tail) = groups.split_at(groups.len() / 2);
        let (first, second) = fork.join(
            || write_elements(out, head),
            || {
                let mut rest = Vec::with_capacity(1 << 16);
                write_elements(&mut rest, tail).map(|()| rest)
            },
        );
        first?;
        out.push(b',');
        out.extend_from_slice(&second?);
        out.extend_from_slice(b"],\"Type\":");
        to_writer(out, &self.diff_type)?;
        out.push(b'}');
        Ok(())
    }
}

/// `items` as `nil::vec` serializes them: `null` when empty.
fn write_nil_vec<T: Serialize>(
    out: &mut Vec<u8>,
    items: &[T],
) -> Result<(), crate::json_out::Error> {
    if items.is_empty() {
        out.extend_from_slice(b"null");
        Ok(())
    } else {
        crate::json_out::to_writer(out, items)
    }
}

/// `items` separated by commas, without brackets.
fn write_elements<T: Serialize>(
    out: &mut Vec<u8>,
    items: &[T],
) -> Result<(), crate::json_out::Error> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        crate::json_out::to_writer(out, item)?;
    }
    Ok(())
}

/// Applies a dry run's `DesiredTGUpdates` to a diff: group `Updates`,
/// `Count` and task annotations (Nomad's `scheduler.Annotate`).
pub fn annotate(diff: &mut JobDiff, annotations: &crate::scheduler::plan::PlanAnnotations) {
    annotate::annotate(diff, annotations);
}

#[cfg(test)]
mod tests;
