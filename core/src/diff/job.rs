//! Job and task group diffs: top-level fields (never contextual), the
//! job's and group's objects in Nomad's fixed order, groups matched by name.

use super::fields::{primitive_fields, string_set};
use super::objects::{add_objects, by_name, primitive_object, primitive_set, union};
use super::same::same_group;
use super::task::{parameterized_diff, task_diffs};
use super::{DiffStr, DiffType, JobDiff, TaskDiff, TaskGroupDiff};
use crate::fork::{map_halves, Fork, MIN_GROUPS};
use crate::gofmt::quote;
use crate::model::{Job, TaskGroup};

pub(super) fn job_diff(
    old: Option<&Job>,
    new: Option<&Job>,
    contextual: bool,
    fork: &impl Fork,
) -> Result<JobDiff, String> {
    let (diff_type, id) = match (old, new) {
        (None, None) => return Ok(JobDiff::default()),
        (None, Some(n)) => (DiffType::Added, &n.id),
        (Some(o), None) => (DiffType::Deleted, &o.id),
        (Some(o), Some(n)) if o.id != n.id => {
            return Err(format!(
                "can not diff jobs with different IDs: {} and {}",
                quote(&o.id),
                quote(&n.id)
            ))
        }
        (Some(_), Some(n)) => (DiffType::None, &n.id),
    };
    let mut objects = Vec::new();
    // Datacenters only when something changed, even in contextual mode.
    add_objects(
        &mut objects,
        string_set(
            old.map_or(&[][..], |j| &j.datacenters),
            new.map_or(&[][..], |j| &j.datacenters),
            "Datacenters",
            contextual,
        )
        .filter(|d| d.diff_type != DiffType::None),
    );
    add_objects(
        &mut objects,
        primitive_set(
            old.map_or(&[][..], |j| &j.constraints),
            new.map_or(&[][..], |j| &j.constraints),
            "Constraint",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_object(
            old.and_then(|j| j.periodic.as_ref()),
            new.and_then(|j| j.periodic.as_ref()),
            "Periodic",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        parameterized_diff(
            old.and_then(|j| j.parameterized_job.as_ref()),
            new.and_then(|j| j.parameterized_job.as_ref()),
            contextual,
        ),
    );
    let old_groups = by_name(old.map_or(&[][..], |j| &j.task_groups), |g| &g.name);
    let new_groups = by_name(new.map_or(&[][..], |j| &j.task_groups), |g| &g.name);
    let pairs = union(&old_groups, &new_groups);
    let task_groups = map_halves(fork, &pairs, MIN_GROUPS, |&(o, n)| {
        group_diff(o, n, contextual)
    });
    let fields = primitive_fields(old, new, false);
    let changed = fields.iter().any(|f| f.diff_type != DiffType::None)
        || objects.iter().any(|o| o.diff_type != DiffType::None)
        || task_groups.iter().any(|g| g.diff_type != DiffType::None);
    Ok(JobDiff {
        diff_type: if diff_type == DiffType::None && changed {
            DiffType::Edited
        } else {
            diff_type
        },
        id: id.clone(),
        fields,
        objects,
        task_groups,
    })
}

fn group_diff(old: Option<&TaskGroup>, new: Option<&TaskGroup>, contextual: bool) -> TaskGroupDiff {
    let (diff_type, name) = match (old, new) {
        (Some(o), Some(n)) if same_group(o, n) => return unchanged_group(n),
        (Some(_), Some(n)) => (DiffType::Edited, &n.name),
        (None, Some(n)) => (DiffType::Added, &n.name),
        (Some(o), None) => (DiffType::Deleted, &o.name),
        (None, None) => return TaskGroupDiff::default(),
    };
    let mut objects = primitive_set(
        old.map_or(&[][..], |g| &g.constraints),
        new.map_or(&[][..], |g| &g.constraints),
        "Constraint",
        contextual,
    );
    add_objects(
        &mut objects,
        primitive_object(
            old.and_then(|g| g.restart_policy.as_ref()),
            new.and_then(|g| g.restart_policy.as_ref()),
            "RestartPolicy",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_object(
            old.and_then(|g| g.ephemeral_disk.as_ref()),
            new.and_then(|g| g.ephemeral_disk.as_ref()),
            "EphemeralDisk",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_object(
            old.and_then(|g| g.update.as_ref()),
            new.and_then(|g| g.update.as_ref()),
            "Update",
            contextual,
        ),
    );
    TaskGroupDiff {
        // Top-level group fields are never contextual.
        fields: primitive_fields(old, new, false),
        name: DiffStr::from(name),
        objects,
        tasks: task_diffs(
            old.map_or(&[][..], |g| &g.tasks),
            new.map_or(&[][..], |g| &g.tasks),
            contextual,
        ),
        diff_type,
        updates: None,
    }
}

/// A group equal on both sides: nothing but its tasks, all `None` (what
/// the full comparison would produce, without flattening anything).
fn unchanged_group(group: &TaskGroup) -> TaskGroupDiff {
    let tasks = by_name(&group.tasks, |t| &t.name);
    TaskGroupDiff {
        name: DiffStr::from(&group.name),
        tasks: tasks
            .iter()
            .map(|(name, _)| TaskDiff {
                name: DiffStr::from(*name),
                ..TaskDiff::default()
            })
            .collect(),
        ..TaskGroupDiff::default()
    }
}
