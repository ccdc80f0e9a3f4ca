//! Deep equality as Go's `reflect.DeepEqual` sees the job tree, which
//! decides whether a group or task diff is `Edited` or `None`.
//!
//! It differs from `PartialEq` only in task `Config`: Go decodes every JSON
//! number into a float64, so `600` and `600.0` are the same value there.

use serde_json::{Map, Value};

use crate::model::{Task, TaskGroup};

/// Two task `Config` maps, numbers compared as float64.
pub(super) fn same_config(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Usually both sides list their keys in the same order: walk them
    // together and only look keys up (hashing) when they do not.
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        if ka != kb {
            return a
                .iter()
                .all(|(k, va)| b.get(k).is_some_and(|vb| same_value(va, vb)));
        }
        if !same_value(va, vb) {
            return false;
        }
    }
    true
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Value::Object(x), Value::Object(y)) => same_config(x, y),
        _ => a == b,
    }
}

/// Every field of two tasks (exhaustive, so a new model field is a
/// compile error here rather than a silently ignored difference).
pub(super) fn same_task(a: &Task, b: &Task) -> bool {
    let Task {
        name,
        driver,
        user,
        config,
        env,
        services,
        vault,
        templates,
        constraints,
        resources,
        dispatch_payload,
        meta,
        kill_timeout,
        log_config,
        artifacts,
        leader,
        shutdown_delay,
    } = a;
    *name == b.name
        && *driver == b.driver
        && *user == b.user
        && *env == b.env
        && *meta == b.meta
        && *kill_timeout == b.kill_timeout
        && *leader == b.leader
        && *shutdown_delay == b.shutdown_delay
        && *resources == b.resources
        && *log_config == b.log_config
        && *constraints == b.constraints
        && *services == b.services
        && *vault == b.vault
        && *templates == b.templates
        && *dispatch_payload == b.dispatch_payload
        && *artifacts == b.artifacts
        && same_config(config, &b.config)
}

/// Every field of two task groups, tasks in order.
pub(super) fn same_group(a: &TaskGroup, b: &TaskGroup) -> bool {
    let TaskGroup {
        name,
        count,
        update,
        constraints,
        restart_policy,
        tasks,
        ephemeral_disk,
        meta,
    } = a;
    *name == b.name
        && *count == b.count
        && *update == b.update
        && *constraints == b.constraints
        && *restart_policy == b.restart_policy
        && *ephemeral_disk == b.ephemeral_disk
        && *meta == b.meta
        && tasks.len() == b.tasks.len()
        && tasks.iter().zip(&b.tasks).all(|(x, y)| same_task(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn config_numbers_compare_as_floats_and_keys_ignore_order() {
        let a = map(json!({"port": 8080, "args": [1, {"x": 2}], "s": "a"}));
        let b = map(json!({"s": "a", "args": [1.0, {"x": 2.0}], "port": 8080.0}));
        assert!(same_config(&a, &b));
        let c = map(json!({"s": "a", "args": [1.0, {"x": 3}], "port": 8080}));
        assert!(!same_config(&a, &c));
        let d = map(json!({"s": "a", "args": [1, {"x": 2}]}));
        assert!(!same_config(&a, &d));
        assert!(!same_config(
            &map(json!({"a": null})),
            &map(json!({"a": []}))
        ));
    }

    #[test]
    fn task_order_matters_inside_a_group() {
        let t = |n: &str| Task {
            name: n.into(),
            ..Task::default()
        };
        let g1 = TaskGroup {
            tasks: vec![t("a"), t("b")],
            ..TaskGroup::default()
        };
        let g2 = TaskGroup {
            tasks: vec![t("b"), t("a")],
            ..TaskGroup::default()
        };
        assert!(same_group(&g1, &g1.clone()));
        assert!(!same_group(&g1, &g2));
    }
}
