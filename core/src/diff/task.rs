//! Task diffs and the objects nested in a task: config, resources with
//! networks and ports, services with checks and headers, Vault.
//!
//! Objects matched by name (services, checks, ports) keep the last item of
//! a name, as Nomad's name-keyed maps do.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fields::{fields, primitive_fields, string_set};
use super::flat::{self, same_text, DynamicPort, StaticPort};
use super::objects::{
    add_objects, by_name, diff_by_name, primitive_object, primitive_set, set_diff, sort_objects,
    union,
};
use super::same::{
    same_check, same_checks, same_config, same_network, same_option, same_ports, same_resources,
    same_service, same_services, same_task,
};
use super::{DiffStr, DiffType, ObjectDiff, TaskDiff};
use crate::model::{
    NetworkResource, NilVec, ParameterizedJobConfig, Port, Resources, Service, ServiceCheck, Task,
    Vault,
};

/// The tasks of two groups matched by name, sorted by name.
pub(super) fn task_diffs(old: &[Task], new: &[Task], contextual: bool) -> Vec<TaskDiff> {
    // The usual case: one side, or both with the same names, listed in
    // name order (then distinct): pair them in place, without name lists.
    let in_name_order = |tasks: &[Task]| tasks.windows(2).all(|w| w[0].name < w[1].name);
    if old.is_empty() && in_name_order(new) {
        return new
            .iter()
            .map(|n| task_diff(None, Some(n), contextual))
            .collect();
    }
    if new.is_empty() && in_name_order(old) {
        return old
            .iter()
            .map(|o| task_diff(Some(o), None, contextual))
            .collect();
    }
    if old.len() == new.len()
        && old
            .iter()
            .zip(new)
            .all(|(o, n)| same_text(&o.name, &n.name))
        && in_name_order(old)
    {
        return old
            .iter()
            .zip(new)
            .map(|(o, n)| task_diff(Some(o), Some(n), contextual))
            .collect();
    }
    task_diffs_by_name(old, new, contextual)
}

/// [`task_diffs`] for any lists: tasks keyed by name (the last of a name
/// wins), every name on either side in name order.
fn task_diffs_by_name(old: &[Task], new: &[Task], contextual: bool) -> Vec<TaskDiff> {
    let old = by_name(old, |t| &t.name);
    let new = by_name(new, |t| &t.name);
    union(&old, &new)
        .into_iter()
        .map(|(o, n)| task_diff(o, n, contextual))
        .collect()
}

fn task_diff(old: Option<&Task>, new: Option<&Task>, contextual: bool) -> TaskDiff {
    let (diff_type, name) = match (old, new) {
        (Some(o), Some(n)) if same_task(o, n) => {
            return TaskDiff {
                name: DiffStr::from(&n.name),
                ..TaskDiff::default()
            }
        }
        (Some(_), Some(n)) => (DiffType::Edited, &n.name),
        (None, Some(n)) => (DiffType::Added, &n.name),
        (Some(o), None) => (DiffType::Deleted, &o.name),
        (None, None) => return TaskDiff::default(),
    };
    let mut objects = match (old, new) {
        // An added or deleted task shows all of its objects: allocate once.
        (Some(t), None) | (None, Some(t)) => Vec::with_capacity(
            t.constraints.len() + t.services.len() + t.artifacts.len() + t.templates.len() + 5,
        ),
        _ => Vec::new(),
    };
    add_objects(
        &mut objects,
        primitive_set(
            old.map_or(&[][..], |t| &t.constraints),
            new.map_or(&[][..], |t| &t.constraints),
            "Constraint",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        config_diff(old.map(|t| &t.config), new.map(|t| &t.config), contextual),
    );
    add_objects(
        &mut objects,
        resources_diff(
            old.and_then(|t| t.resources.as_ref()),
            new.and_then(|t| t.resources.as_ref()),
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_object(
            old.and_then(|t| t.log_config.as_ref()),
            new.and_then(|t| t.log_config.as_ref()),
            "LogConfig",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_object(
            old.and_then(|t| t.dispatch_payload.as_ref()),
            new.and_then(|t| t.dispatch_payload.as_ref()),
            "DispatchPayload",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_set(
            old.map_or(&[][..], |t| &t.artifacts),
            new.map_or(&[][..], |t| &t.artifacts),
            "Artifact",
            contextual,
        ),
    );
    service_diffs(
        old.map_or(&[][..], |t| &t.services),
        new.map_or(&[][..], |t| &t.services),
        contextual,
        &mut objects,
    );
    add_objects(
        &mut objects,
        vault_diff(
            old.and_then(|t| t.vault.as_ref()),
            new.and_then(|t| t.vault.as_ref()),
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        primitive_set(
            old.map_or(&[][..], |t| &t.templates),
            new.map_or(&[][..], |t| &t.templates),
            "Template",
            contextual,
        ),
    );
    TaskDiff {
        annotations: Vec::new(),
        // Top-level task fields are never contextual.
        fields: primitive_fields(old, new, false),
        name: DiffStr::from(name),
        objects,
        diff_type,
    }
}

/// Type of an object that exists on one or both sides and is not equal.
fn presence_type<T>(old: Option<&T>, new: Option<&T>) -> DiffType {
    match (old, new) {
        (None, _) => DiffType::Added,
        (_, None) => DiffType::Deleted,
        _ => DiffType::Edited,
    }
}

fn config_diff(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    contextual: bool,
) -> Option<ObjectDiff> {
    let empty = Map::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    if same_config(old, new) {
        return None;
    }
    let diff_type = if old.is_empty() {
        DiffType::Added
    } else if new.is_empty() {
        DiffType::Deleted
    } else {
        DiffType::Edited
    };
    Some(ObjectDiff {
        diff_type,
        name: DiffStr::from_static("Config"),
        fields: fields(&flat::config(old), &flat::config(new), contextual),
        objects: Vec::new(),
    })
}

fn resources_diff(
    old: Option<&Resources>,
    new: Option<&Resources>,
    contextual: bool,
) -> Option<ObjectDiff> {
    if same_option(old, new, same_resources) {
        return None;
    }
    Some(ObjectDiff {
        diff_type: presence_type(old, new),
        name: DiffStr::from_static("Resources"),
        fields: primitive_fields(old, new, contextual),
        objects: set_diff(
            old.map_or(&[][..], |r| &r.networks),
            new.map_or(&[][..], |r| &r.networks),
            |o, n| network_diff(o, n, contextual),
        ),
    })
}

fn network_diff(
    old: Option<&NetworkResource>,
    new: Option<&NetworkResource>,
    contextual: bool,
) -> Option<ObjectDiff> {
    if same_option(old, new, same_network) {
        return None;
    }
    // Reserved then dynamic ports, each kind sorted on its own. (When two
    // networks with equal fields are compared for sorting, Nomad re-sorts
    // their port objects in place as a side effect, depending on Go's
    // random map order; we keep the documented order.)
    let mut objects = port_diffs(
        old.map_or(&[][..], |n| &n.reserved_ports),
        new.map_or(&[][..], |n| &n.reserved_ports),
        false,
        contextual,
    );
    let dynamic = port_diffs(
        old.map_or(&[][..], |n| &n.dynamic_ports),
        new.map_or(&[][..], |n| &n.dynamic_ports),
        true,
        contextual,
    );
    // Usually one kind only: keep its list rather than copy it.
    if objects.is_empty() {
        objects = dynamic;
    } else {
        objects.extend(dynamic);
    }
    Some(ObjectDiff {
        diff_type: presence_type(old, new),
        name: DiffStr::from_static("Network"),
        fields: primitive_fields(old, new, contextual),
        objects,
    })
}

/// Ports matched by label; a dynamic port compares only its label.
fn port_diffs(old: &[Port], new: &[Port], dynamic: bool, contextual: bool) -> Vec<ObjectDiff> {
    if same_ports(old, new) {
        return Vec::new();
    }
    let mut out = Vec::new();
    diff_by_name(
        old,
        new,
        |p| &p.label,
        |o, n| {
            if dynamic {
                primitive_object(
                    o.map(DynamicPort).as_ref(),
                    n.map(DynamicPort).as_ref(),
                    "Dynamic Port",
                    contextual,
                )
            } else {
                primitive_object(
                    o.map(StaticPort).as_ref(),
                    n.map(StaticPort).as_ref(),
                    "Static Port",
                    contextual,
                )
            }
        },
        &mut out,
    );
    sort_objects(&mut out);
    out
}

/// Appends the service objects, sorted, to `out` (the task's objects:
/// no list of their own to allocate and copy).
fn service_diffs(old: &[Service], new: &[Service], contextual: bool, out: &mut Vec<ObjectDiff>) {
    // Equal lists pair every name with an equal item: nothing to show.
    if same_services(old, new) {
        return;
    }
    let start = out.len();
    diff_by_name(
        old,
        new,
        |s| &s.name,
        |o, n| service_diff(o, n, contextual),
        out,
    );
    sort_objects(&mut out[start..]);
}

fn service_diff(
    old: Option<&Service>,
    new: Option<&Service>,
    contextual: bool,
) -> Option<ObjectDiff> {
    if same_option(old, new, same_service) {
        return None;
    }
    let old_checks = old.map_or(&[][..], |s| &s.checks);
    let new_checks = new.map_or(&[][..], |s| &s.checks);
    let mut objects = Vec::new();
    if !same_checks(old_checks, new_checks) {
        diff_by_name(
            old_checks,
            new_checks,
            |c| &c.name,
            |o, n| check_diff(o, n, contextual),
            &mut objects,
        );
        sort_objects(&mut objects);
    }
    Some(ObjectDiff {
        diff_type: presence_type(old, new),
        name: DiffStr::from_static("Service"),
        fields: primitive_fields(old, new, contextual),
        objects,
    })
}

fn check_diff(
    old: Option<&ServiceCheck>,
    new: Option<&ServiceCheck>,
    contextual: bool,
) -> Option<ObjectDiff> {
    if same_option(old, new, same_check) {
        return None;
    }
    let empty = BTreeMap::new();
    Some(ObjectDiff {
        diff_type: presence_type(old, new),
        name: DiffStr::from_static("Check"),
        fields: primitive_fields(old, new, contextual),
        objects: header_diff(
            old.map_or(&empty, |c| &c.header),
            new.map_or(&empty, |c| &c.header),
            contextual,
        )
        .into_iter()
        .collect(),
    })
}

fn header_diff(
    old: &BTreeMap<String, NilVec<String>>,
    new: &BTreeMap<String, NilVec<String>>,
    contextual: bool,
) -> Option<ObjectDiff> {
    if old == new {
        return None;
    }
    let diff_type = if old.is_empty() {
        DiffType::Added
    } else if new.is_empty() {
        DiffType::Deleted
    } else {
        DiffType::Edited
    };
    Some(ObjectDiff {
        diff_type,
        name: DiffStr::from_static("Header"),
        fields: fields(&flat::header(old), &flat::header(new), contextual),
        objects: Vec::new(),
    })
}

fn vault_diff(old: Option<&Vault>, new: Option<&Vault>, contextual: bool) -> Option<ObjectDiff> {
    if old == new {
        return None;
    }
    Some(ObjectDiff {
        diff_type: presence_type(old, new),
        name: DiffStr::from_static("Vault"),
        fields: primitive_fields(old, new, contextual),
        objects: string_set(
            old.map_or(&[][..], |v| &v.policies),
            new.map_or(&[][..], |v| &v.policies),
            "Policies",
            contextual,
        )
        .into_iter()
        .collect(),
    })
}

/// The job's `ParameterizedJob` object (here because it is built like
/// Vault: fields plus string-set sub-objects).
pub(super) fn parameterized_diff(
    old: Option<&ParameterizedJobConfig>,
    new: Option<&ParameterizedJobConfig>,
    contextual: bool,
) -> Option<ObjectDiff> {
    if old == new {
        return None;
    }
    let mut objects = Vec::new();
    add_objects(
        &mut objects,
        string_set(
            old.map_or(&[][..], |p| &p.meta_optional),
            new.map_or(&[][..], |p| &p.meta_optional),
            "MetaOptional",
            contextual,
        ),
    );
    add_objects(
        &mut objects,
        string_set(
            old.map_or(&[][..], |p| &p.meta_required),
            new.map_or(&[][..], |p| &p.meta_required),
            "MetaRequired",
            contextual,
        ),
    );
    Some(ObjectDiff {
        diff_type: presence_type(old, new),
        name: DiffStr::from_static("ParameterizedJob"),
        fields: primitive_fields(old, new, contextual),
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, driver: &str) -> Task {
        Task {
            name: name.into(),
            driver: driver.into(),
            ..Task::default()
        }
    }

    /// Pairing in place gives what pairing by name gives, for lists in
    /// name order or not, with duplicates, or one side empty.
    #[test]
    fn task_lists_paired_in_place_agree_with_pairing_by_name() {
        let lists = [
            vec![],
            vec![task("a", "exec"), task("b", "exec"), task("c", "exec")],
            vec![task("a", "exec"), task("b", "docker"), task("c", "exec")],
            vec![task("a", "exec"), task("c", "exec"), task("b", "exec")],
            vec![task("a", "exec"), task("a", "docker"), task("b", "exec")],
            vec![task("b", "exec"), task("c", "raw_exec")],
        ];
        for contextual in [false, true] {
            for old in &lists {
                for new in &lists {
                    assert_eq!(
                        task_diffs(old, new, contextual),
                        task_diffs_by_name(old, new, contextual),
                        "{old:?} -> {new:?}"
                    );
                }
            }
        }
    }
}
