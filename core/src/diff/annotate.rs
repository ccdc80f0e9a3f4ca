//! Plan annotations: the scheduler's per-group update counts and the
//! create/destroy hints Nomad derives from the diff alone.
//!
//! Task hints look only at the diff, so they can disagree with what the
//! scheduler decided (a job-level `Meta` change leaves every task `None`
//! yet replaces every allocation).

use std::collections::BTreeMap;

use super::{DiffType, JobDiff, TaskDiff, TaskGroupDiff};
use crate::scheduler::plan::{DesiredUpdates, PlanAnnotations};

pub const FORCES_CREATE: &str = "forces create";
pub const FORCES_DESTROY: &str = "forces destroy";
pub const FORCES_IN_PLACE_UPDATE: &str = "forces in-place update";
pub const FORCES_DESTRUCTIVE_UPDATE: &str = "forces create/destroy update";

/// Task fields whose change alone is applied in place.
const IN_PLACE_FIELDS: &[&str] = &["KillTimeout"];
/// Task objects whose change alone is applied in place.
const IN_PLACE_OBJECTS: &[&str] = &["LogConfig", "Service", "Constraint"];

pub(super) fn annotate(diff: &mut JobDiff, annotations: &PlanAnnotations) {
    for group in &mut diff.task_groups {
        if let Some(desired) = annotations.desired_tg_updates.get(group.name.as_str()) {
            group.updates = Some(update_counts(desired));
        }
        annotate_count(group);
        let group_type = group.diff_type;
        for task in &mut group.tasks {
            annotate_task(task, group_type);
        }
    }
}

/// The non-zero counts under Nomad's update names (`{}` if all are zero).
fn update_counts(d: &DesiredUpdates) -> BTreeMap<String, u64> {
    [
        ("ignore", d.ignore),
        ("create", d.place),
        ("migrate", d.migrate),
        ("destroy", d.stop),
        ("canary", d.canary),
        ("in-place update", d.in_place_update),
        ("create/destroy update", d.destructive_update),
    ]
    .into_iter()
    .filter(|(_, n)| *n != 0)
    .map(|(k, n)| (k.to_string(), n))
    .collect()
}

/// `Count` going up forces creates, going down forces destroys (a missing
/// side counts as 0).
fn annotate_count(group: &mut TaskGroupDiff) {
    let Some(count) = group.fields.iter_mut().find(|f| f.name == "Count") else {
        return;
    };
    let parse = |s: &str| {
        if s.is_empty() {
            Some(0)
        } else {
            s.parse::<i64>().ok()
        }
    };
    // Nomad stops annotating on a value that is not an integer; ours are
    // always rendered integers.
    let (Some(old), Some(new)) = (parse(&count.old), parse(&count.new)) else {
        return;
    };
    if old < new {
        count.annotations.push(FORCES_CREATE.into());
    } else if new < old {
        count.annotations.push(FORCES_DESTROY.into());
    }
}

fn annotate_task(task: &mut TaskDiff, group_type: DiffType) {
    if task.diff_type == DiffType::None {
        return;
    }
    if matches!(group_type, DiffType::Added | DiffType::Deleted) {
        match task.diff_type {
            DiffType::Added => return task.annotations.push(FORCES_CREATE.into()),
            DiffType::Deleted => return task.annotations.push(FORCES_DESTROY.into()),
            _ => {}
        }
    }
    let destructive = task
        .fields
        .iter()
        .any(|f| !IN_PLACE_FIELDS.contains(&f.name.as_str()))
        || task
            .objects
            .iter()
            .any(|o| !IN_PLACE_OBJECTS.contains(&o.name.as_str()));
    task.annotations.push(
        if destructive {
            FORCES_DESTRUCTIVE_UPDATE
        } else {
            FORCES_IN_PLACE_UPDATE
        }
        .into(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{FieldDiff, ObjectDiff};

    fn field(name: &str, old: &str, new: &str) -> FieldDiff {
        FieldDiff {
            name: name.into(),
            old: old.into(),
            new: new.into(),
            diff_type: DiffType::Edited,
            ..FieldDiff::default()
        }
    }

    fn object(name: &str) -> ObjectDiff {
        ObjectDiff {
            name: name.into(),
            diff_type: DiffType::Edited,
            ..ObjectDiff::default()
        }
    }

    fn task(t: DiffType, fields: Vec<FieldDiff>, objects: Vec<ObjectDiff>) -> TaskDiff {
        TaskDiff {
            name: "t".into(),
            diff_type: t,
            fields,
            objects,
            ..TaskDiff::default()
        }
    }

    #[test]
    fn task_annotation_table() {
        use DiffType::*;
        let cases: Vec<(DiffType, TaskDiff, &[&str])> = vec![
            (Edited, task(None, vec![], vec![]), &[]),
            (
                Added,
                task(Added, vec![field("Driver", "", "x")], vec![]),
                &[FORCES_CREATE],
            ),
            (
                Deleted,
                task(Deleted, vec![field("Driver", "x", "")], vec![]),
                &[FORCES_DESTROY],
            ),
            (
                Edited,
                task(Added, vec![field("Driver", "", "x")], vec![]),
                &[FORCES_DESTRUCTIVE_UPDATE],
            ),
            (
                Edited,
                task(Deleted, vec![field("Driver", "x", "")], vec![]),
                &[FORCES_DESTRUCTIVE_UPDATE],
            ),
            (
                Edited,
                task(Edited, vec![field("KillTimeout", "1", "2")], vec![]),
                &[FORCES_IN_PLACE_UPDATE],
            ),
            (
                Edited,
                task(Edited, vec![field("Leader", "false", "true")], vec![]),
                &[FORCES_DESTRUCTIVE_UPDATE],
            ),
            (
                Edited,
                task(
                    Edited,
                    vec![],
                    vec![object("LogConfig"), object("Service"), object("Constraint")],
                ),
                &[FORCES_IN_PLACE_UPDATE],
            ),
            (
                Edited,
                task(Edited, vec![], vec![object("Resources")]),
                &[FORCES_DESTRUCTIVE_UPDATE],
            ),
            (
                Edited,
                task(Edited, vec![], vec![]),
                &[FORCES_IN_PLACE_UPDATE],
            ),
            // A None group cannot hold a changed task, but the rule is by type.
            (
                None,
                task(Edited, vec![], vec![object("Config")]),
                &[FORCES_DESTRUCTIVE_UPDATE],
            ),
        ];
        for (group_type, mut t, want) in cases {
            annotate_task(&mut t, group_type);
            assert_eq!(t.annotations, want, "group {group_type:?}");
        }
    }

    #[test]
    fn count_annotation_table() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("1", "3", &[FORCES_CREATE]),
            ("3", "1", &[FORCES_DESTROY]),
            ("", "2", &[FORCES_CREATE]),
            ("2", "", &[FORCES_DESTROY]),
            ("2", "2", &[]),
            ("10", "9", &[FORCES_DESTROY]),
        ];
        for (old, new, want) in cases {
            let mut g = TaskGroupDiff {
                fields: vec![field("Count", old, new)],
                ..TaskGroupDiff::default()
            };
            annotate_count(&mut g);
            assert_eq!(g.fields[0].annotations, *want, "{old} → {new}");
        }
    }

    #[test]
    fn updates_keep_only_non_zero_counts_and_unlisted_groups_stay_null() {
        let mut diff = JobDiff {
            task_groups: vec![
                TaskGroupDiff {
                    name: "a".into(),
                    ..TaskGroupDiff::default()
                },
                TaskGroupDiff {
                    name: "b".into(),
                    ..TaskGroupDiff::default()
                },
                TaskGroupDiff {
                    name: "c".into(),
                    ..TaskGroupDiff::default()
                },
            ],
            ..JobDiff::default()
        };
        let mut ann = PlanAnnotations::default();
        ann.desired_tg_updates.insert(
            "a".into(),
            DesiredUpdates {
                ignore: 1,
                place: 2,
                migrate: 3,
                stop: 4,
                in_place_update: 5,
                destructive_update: 6,
                canary: 7,
            },
        );
        ann.desired_tg_updates
            .insert("b".into(), DesiredUpdates::default());
        annotate(&mut diff, &ann);
        let json = serde_json::to_value(&diff.task_groups).expect("serializable");
        assert_eq!(
            json[0]["Updates"],
            serde_json::json!({
                "ignore": 1, "create": 2, "migrate": 3, "destroy": 4,
                "in-place update": 5, "create/destroy update": 6, "canary": 7
            })
        );
        assert_eq!(json[1]["Updates"], serde_json::json!({}));
        assert_eq!(json[2]["Updates"], serde_json::Value::Null);
    }
}
