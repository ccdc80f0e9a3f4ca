//! Job validation exactly as Nomad v0.6.3 reports it: every rule of
//! validation.md with its error text, nested multi-errors and warnings.

mod batch_blocks;
pub mod constraint;
mod driver;
mod gotext;
mod group;
mod regexp_error;
mod response;
mod services;
mod task;
mod task_files;
pub mod version;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::fork::{map_halves, Fork, Sequential, MIN_GROUPS};
use crate::gofmt::quote;
use crate::model::{Job, JOB_TYPE_BATCH, JOB_TYPE_CORE, JOB_TYPE_SERVICE, JOB_TYPE_SYSTEM};
use crate::MultiError;

pub use constraint::{validate_constraint, ConstraintCache};
pub use response::{validate_response, ValidateResponse};

/// Host-chosen validation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Drivers known besides Nomad's built-in ones (e.g. `mock_driver`).
    /// Like Nomad's mock driver they accept any config and cannot signal.
    pub extra_drivers: Vec<String>,
}

/// The outcome of validating a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Top-level errors: the job's own list, then the driver, signal, type
    /// and payload checks. Render with [`MultiError::render`].
    pub errors: MultiError,
    /// Validation warnings only (canonicalization warnings come from
    /// [`crate::prepare`]).
    pub warnings: MultiError,
}

/// Validates a canonicalized job (with implicit constraints added):
/// Nomad's `validateJob`.
pub fn validate_job(job: &Job, opts: &ValidateOptions) -> Validation {
    validate_job_forked(job, opts, &Sequential)
}

/// [`validate_job`], the groups' own rules checked in two halves over
/// `fork` (their errors still listed in group order).
pub fn validate_job_forked(job: &Job, opts: &ValidateOptions, fork: &impl Fork) -> Validation {
    let mut errors = job_errors(job, fork);
    driver_errors(job, opts, &mut errors);
    if job.job_type == JOB_TYPE_CORE {
        errors.push("job type cannot be core");
    }
    if !job.payload.is_empty() {
        errors.push("job can't be submitted with a payload, only dispatched");
    }
    let mut warnings = MultiError::new();
    for tg in &job.task_groups {
        if let Some(text) = group::group_warnings(tg).render() {
            warnings.push(format!("Group {} has warnings: {text}", quote(&tg.name)));
        }
    }
    Validation { errors, warnings }
}

/// `Job.Validate`.
fn job_errors(job: &Job, fork: &impl Fork) -> MultiError {
    let mut errors = MultiError::new();
    if job.region.is_empty() {
        errors.push("Missing job region");
    }
    if job.id.is_empty() {
        errors.push("Missing job ID");
    } else if job.id.contains(' ') {
        errors.push("Job ID contains a space");
    }
    if job.name.is_empty() {
        errors.push("Missing job name");
    }
    match job.job_type.as_str() {
        JOB_TYPE_CORE | JOB_TYPE_SERVICE | JOB_TYPE_BATCH | JOB_TYPE_SYSTEM => {}
        "" => errors.push("Missing job type"),
        other => errors.push(format!("Invalid job type: {}", quote(other))),
    }
    if !(1..=100).contains(&job.priority) {
        errors.push("Job priority must be between [1, 100]");
    }
    if job.datacenters.is_empty() {
        errors.push("Missing job datacenters");
    }
    if job.task_groups.is_empty() {
        errors.push("Missing job task groups");
    }
    for (i, c) in job.constraints.iter().enumerate() {
        let own = validate_constraint(c);
        if !own.is_empty() {
            errors.push_prefixed(&format!("Constraint {} validation failed: ", i + 1), own);
        }
    }
    let mut group_index: HashMap<&str, usize> = HashMap::new();
    for (i, tg) in job.task_groups.iter().enumerate() {
        if tg.name.is_empty() {
            errors.push(format!("Job task group {} missing name", i + 1));
        } else if let Some(first) = group_index.get(tg.name.as_str()) {
            errors.push(format!(
                "Job task group {} redefines '{}' from group {}",
                i + 1,
                tg.name,
                first + 1
            ));
        } else {
            group_index.insert(&tg.name, i);
        }
        if job.job_type == JOB_TYPE_SYSTEM && tg.count > 1 {
            errors.push(format!(
                "Job task group {} has count {}. Count cannot exceed 1 with system scheduler",
                tg.name, tg.count
            ));
        }
    }
    let groups = map_halves(fork, &job.task_groups, MIN_GROUPS, group::group_errors);
    for (tg, own) in job.task_groups.iter().zip(groups) {
        if !own.is_empty() {
            errors.push_prefixed(&format!("Task group {} validation failed: ", tg.name), own);
        }
    }
    if let Some(periodic) = job.periodic.as_ref().filter(|p| p.enabled) {
        if job.job_type != JOB_TYPE_BATCH {
            errors.push("Periodic can only be used with \"batch\" scheduler");
        }
        errors.push_nested(batch_blocks::periodic_errors(periodic));
    }
    if let Some(parameterized) = &job.parameterized_job {
        if job.job_type != JOB_TYPE_BATCH {
            errors.push("Parameterized job can only be used with \"batch\" scheduler");
        }
        errors.push_nested(batch_blocks::parameterized_errors(parameterized));
    }
    errors
}

/// The driver part of `validateJob`: every task's driver must exist and
/// accept its config, and tasks that need signals need a driver that can
/// send them.
fn driver_errors(job: &Job, opts: &ValidateOptions, errors: &mut MultiError) {
    let signals = required_signals(job);
    for tg in &job.task_groups {
        let group_signals = signals.get(tg.name.as_str());
        for task in &tg.tasks {
            let d = match driver::lookup(&task.driver, &opts.extra_drivers) {
                Ok(d) => d,
                Err(e) => {
                    // v0.6 passes the group name as the task and the task
                    // name as the group; reproduced as written.
                    errors.push(format!(
                        "failed to create driver for task {} in group {} for validation: {e}",
                        quote(&tg.name),
                        quote(&task.name)
                    ));
                    continue;
                }
            };
            if let Some(text) = d.check_config(&task.config).render() {
                errors.push(format!(
                    "group {} -> task {} -> config: {text}",
                    quote(&tg.name),
                    quote(&task.name)
                ));
            }
            let Some(needed) = group_signals.and_then(|g| g.get(task.name.as_str())) else {
                continue;
            };
            if !d.sends_signals {
                errors.push(format!(
                    "group {} -> task {}: driver {} doesn't support sending signals. Requested signals are {}",
                    quote(&tg.name),
                    quote(&task.name),
                    quote(&task.driver),
                    needed.join(", ")
                ));
            }
        }
    }
}

/// `Job.RequiredSignals`: group name → task name → sorted distinct signals
/// of its Vault block and templates in `signal` change mode.
fn required_signals(job: &Job) -> HashMap<&str, HashMap<&str, Vec<&str>>> {
    let mut out: HashMap<&str, HashMap<&str, Vec<&str>>> = HashMap::new();
    for tg in &job.task_groups {
        for task in &tg.tasks {
            let vault = task
                .vault
                .iter()
                .filter(|v| v.change_mode == "signal")
                .map(|v| v.change_signal.as_str());
            let templates = task
                .templates
                .iter()
                .filter(|t| t.change_mode == "signal")
                .map(|t| t.change_signal.as_str());
            let mut signals: Vec<&str> = vault.chain(templates).collect();
            if signals.is_empty() {
                continue;
            }
            signals.sort_unstable();
            signals.dedup();
            out.entry(&tg.name).or_default().insert(&task.name, signals);
        }
    }
    out
}
