//! `TaskGroup.Validate` and `TaskGroup.Warnings`: count, tasks,
//! constraints, restart policy, ephemeral disk, update strategy, static
//! ports and leaders, then every task.

use std::collections::HashMap;

use super::constraint::validate_constraint;
use super::task::task_errors;
use crate::gofmt::{duration, quote};
use crate::model::{RestartPolicy, TaskGroup, UpdateStrategy, SECOND};
use crate::MultiError;

/// The group's errors, in Nomad's order.
pub(super) fn group_errors(tg: &TaskGroup) -> MultiError {
    let mut errors = MultiError::new();
    if tg.name.is_empty() {
        errors.push("Missing task group name");
    }
    if tg.count < 0 {
        errors.push("Task group count can't be negative");
    }
    if tg.tasks.is_empty() {
        errors.push("Missing tasks for task group");
    }
    for (i, c) in tg.constraints.iter().enumerate() {
        let own = validate_constraint(c);
        if !own.is_empty() {
            errors.push_prefixed(&format!("Constraint {} validation failed: ", i + 1), own);
        }
    }
    match &tg.restart_policy {
        Some(policy) => errors.push_nested(restart_policy_errors(policy)),
        None => errors.push(format!(
            "Task Group {} should have a restart policy",
            tg.name
        )),
    }
    match &tg.ephemeral_disk {
        Some(disk) if disk.size_mb < 10 => {
            errors.push(format!("minimum DiskMB value is 10; got {}", disk.size_mb));
        }
        Some(_) => {}
        None => errors.push(format!(
            "Task Group {} should have an ephemeral disk object",
            tg.name
        )),
    }
    // v0.6 validates an update block for every job type (batch jobs lose
    // theirs during canonicalization).
    if let Some(update) = &tg.update {
        errors.push_nested(update_errors(update));
    }

    let mut task_index: HashMap<&str, usize> = HashMap::new();
    let mut static_ports: HashMap<i64, String> = HashMap::new();
    let mut leaders = 0;
    for (i, task) in tg.tasks.iter().enumerate() {
        if task.name.is_empty() {
            errors.push(format!("Task {} missing name", i + 1));
        } else if let Some(first) = task_index.get(task.name.as_str()) {
            errors.push(format!(
                "Task {} redefines '{}' from task {}",
                i + 1,
                task.name,
                first + 1
            ));
        } else {
            task_index.insert(&task.name, i);
        }
        if task.leader {
            leaders += 1;
        }
        for network in task.resources.iter().flat_map(|r| &r.networks) {
            for port in &network.reserved_ports {
                match static_ports.get(&port.value) {
                    Some(owner) => errors.push(format!(
                        "Static port {} already reserved by {owner}",
                        port.value
                    )),
                    None => {
                        static_ports.insert(port.value, format!("{}:{}", task.name, port.label));
                    }
                }
            }
        }
    }
    if leaders > 1 {
        errors.push("Only one task may be marked as leader");
    }
    for task in &tg.tasks {
        let own = task_errors(task, tg.ephemeral_disk.as_ref());
        if !own.is_empty() {
            errors.push_prefixed(&format!("Task {} validation failed: ", task.name), own);
        }
    }
    errors
}

/// `RestartPolicy.Validate`; all rules collected.
fn restart_policy_errors(p: &RestartPolicy) -> MultiError {
    let mut errors = MultiError::new();
    if p.mode != "delay" && p.mode != "fail" {
        errors.push(format!("Unsupported restart mode: {}", quote(&p.mode)));
    }
    if p.attempts == 0 && p.mode != "fail" {
        errors.push(format!(
            "Restart policy {} with {} attempts is ambiguous",
            quote(&p.mode),
            p.attempts
        ));
    }
    if p.interval < 5 * SECOND {
        errors.push(format!(
            "Interval can not be less than 5s (got {})",
            duration(p.interval)
        ));
    }
    // Go multiplies two int64s and wraps on overflow.
    if p.attempts.wrapping_mul(p.delay) > p.interval {
        errors.push(format!(
            "Nomad can't restart the TaskGroup {} times in an interval of {} with a delay of {}",
            p.attempts,
            duration(p.interval),
            duration(p.delay)
        ));
    }
    errors
}

/// `UpdateStrategy.Validate`; all rules collected.
fn update_errors(u: &UpdateStrategy) -> MultiError {
    let mut errors = MultiError::new();
    if !matches!(u.health_check.as_str(), "checks" | "task_states" | "manual") {
        errors.push(format!(
            "Invalid health check given: {}",
            quote(&u.health_check)
        ));
    }
    if u.max_parallel < 1 {
        errors.push(format!(
            "Max parallel can not be less than one: {} < 1",
            u.max_parallel
        ));
    }
    if u.canary < 0 {
        errors.push(format!(
            "Canary count can not be less than zero: {} < 0",
            u.canary
        ));
    }
    if u.min_healthy_time < 0 {
        errors.push(format!(
            "Minimum healthy time may not be less than zero: {}",
            duration(u.min_healthy_time)
        ));
    }
    if u.healthy_deadline <= 0 {
        errors.push(format!(
            "Healthy deadline must be greater than zero: {}",
            duration(u.healthy_deadline)
        ));
    }
    if u.min_healthy_time >= u.healthy_deadline {
        errors.push(format!(
            "Minimum healthy time must be less than healthy deadline: {} > {}",
            duration(u.min_healthy_time),
            duration(u.healthy_deadline)
        ));
    }
    if u.stagger <= 0 {
        errors.push(format!(
            "Stagger must be greater than zero: {}",
            duration(u.stagger)
        ));
    }
    errors
}

/// `TaskGroup.Warnings`.
pub(super) fn group_warnings(tg: &TaskGroup) -> MultiError {
    let mut warnings = MultiError::new();
    if let Some(u) = &tg.update {
        if u.max_parallel > tg.count {
            warnings.push(format!(
                "Update max parallel count is greater than task group count ({} > {}). A destructive change would result in the simultaneous replacement of all allocations.",
                u.max_parallel, tg.count
            ));
        }
    }
    warnings
}
