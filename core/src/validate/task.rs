//! `Task.Validate`: name, driver, timeouts, resources, log config,
//! constraints, services, log storage, artifacts, Vault, templates and
//! the dispatch payload, in Nomad's order.

use std::collections::HashMap;

use super::constraint::{validate_constraint, OPERAND_DISTINCT_HOSTS, OPERAND_DISTINCT_PROPERTY};
use super::services::services_errors;
use super::task_files::{artifact_errors, dispatch_payload_error, template_errors};
use crate::gofmt::quote;
use crate::model::{EphemeralDisk, LogConfig, Resources, Task, Vault};
use crate::MultiError;

/// The task's errors; `disk` is its group's ephemeral disk.
pub(super) fn task_errors(t: &Task, disk: Option<&EphemeralDisk>) -> MultiError {
    let mut errors = MultiError::new();
    if t.name.is_empty() {
        errors.push("Missing task name");
    }
    if t.name.contains(['/', '\\']) {
        errors.push("Task name cannot include slashes");
    }
    if t.driver.is_empty() {
        errors.push("Missing task driver");
    }
    if t.kill_timeout < 0 {
        errors.push("KillTimeout must be a positive value");
    }
    if t.shutdown_delay < 0 {
        errors.push("ShutdownDelay must be a positive value");
    }
    match &t.resources {
        None => errors.push("Missing task resources"),
        Some(r) => {
            errors.push_nested(minimum_resources_errors(r));
            if r.disk_mb > 0 {
                errors.push(
                    "Task can't ask for disk resources, they have to be specified at the task group level.",
                );
            }
        }
    }
    match &t.log_config {
        None => errors.push("Missing Log Config"),
        Some(l) => errors.push_nested(log_config_errors(l)),
    }
    for (i, c) in t.constraints.iter().enumerate() {
        let own = validate_constraint(c);
        if !own.is_empty() {
            errors.push_prefixed(&format!("Constraint {} validation failed: ", i + 1), own);
        }
        if c.operand == OPERAND_DISTINCT_HOSTS || c.operand == OPERAND_DISTINCT_PROPERTY {
            errors.push(format!(
                "Constraint {} has disallowed Operand at task level: {}",
                i + 1,
                c.operand
            ));
        }
    }
    errors.push_nested(services_errors(t));
    if let (Some(log), Some(disk)) = (&t.log_config, disk) {
        // Go's int arithmetic wraps; so does this.
        let used = log.max_files.wrapping_mul(log.max_file_size_mb);
        if disk.size_mb <= used {
            errors.push(format!(
                "log storage ({used} MB) must be less than requested disk capacity ({} MB)",
                disk.size_mb
            ));
        }
    }
    for (i, a) in t.artifacts.iter().enumerate() {
        let own = artifact_errors(a);
        if !own.is_empty() {
            errors.push_prefixed(&format!("Artifact {} validation failed: ", i + 1), own);
        }
    }
    if let Some(v) = &t.vault {
        errors.push_prefixed("Vault validation failed: ", vault_errors(v));
    }
    let mut destinations: HashMap<&str, usize> = HashMap::new();
    for (i, tmpl) in t.templates.iter().enumerate() {
        let own = template_errors(tmpl);
        if !own.is_empty() {
            errors.push_prefixed(&format!("Template {} validation failed: ", i + 1), own);
        }
        match destinations.get(tmpl.dest_path.as_str()) {
            Some(first) => errors.push(format!(
                "Template {} has same destination as {first}",
                i + 1
            )),
            None => {
                destinations.insert(&tmpl.dest_path, i + 1);
            }
        }
    }
    if let Some(e) = t.dispatch_payload.as_ref().and_then(dispatch_payload_error) {
        errors.push(format!("Dispatch Payload validation failed: {e}"));
    }
    errors
}

/// `Resources.MeetsMinResources`.
fn minimum_resources_errors(r: &Resources) -> MultiError {
    let mut errors = MultiError::new();
    if r.cpu < 20 {
        errors.push(format!("minimum CPU value is 20; got {}", r.cpu));
    }
    if r.memory_mb < 10 {
        errors.push(format!("minimum MemoryMB value is 10; got {}", r.memory_mb));
    }
    if r.iops < 0 {
        errors.push(format!("minimum IOPS value is 0; got {}", r.iops));
    }
    for (i, n) in r.networks.iter().enumerate() {
        if n.mbits < 1 {
            let mut own = MultiError::new();
            own.push(format!("minimum MBits value is 1; got {}", n.mbits));
            errors.push_prefixed(&format!("network resource at index {i} failed: "), own);
        }
    }
    errors
}

/// `LogConfig.Validate`.
fn log_config_errors(l: &LogConfig) -> MultiError {
    let mut errors = MultiError::new();
    if l.max_files < 1 {
        errors.push(format!("minimum number of files is 1; got {}", l.max_files));
    }
    if l.max_file_size_mb < 1 {
        errors.push(format!(
            "minimum file size is 1MB; got {}",
            l.max_file_size_mb
        ));
    }
    errors
}

/// `Vault.Validate`.
fn vault_errors(v: &Vault) -> MultiError {
    let mut errors = MultiError::new();
    if v.policies.is_empty() {
        errors.push("Policy list cannot be empty");
    }
    for p in &v.policies {
        if p == "root" {
            errors.push("Can not specify \"root\" policy");
        }
    }
    match v.change_mode.as_str() {
        "signal" => {
            if v.change_signal.is_empty() {
                errors.push("Signal must be specified when using change mode \"signal\"");
            }
        }
        "noop" | "restart" => {}
        other => errors.push(format!("Unknown change mode {}", quote(other))),
    }
    errors
}
