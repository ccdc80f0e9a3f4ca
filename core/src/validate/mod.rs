//! Job validation exactly as Nomad v0.6.3 reports it: every rule of
//! validation.md with its error text, nested multi-errors and warnings.

pub mod constraint;

use crate::model::Job;
use crate::MultiError;

/// Host-chosen validation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Drivers known besides Nomad's built-in ones (e.g. `mock_driver`).
    pub extra_drivers: Vec<String>,
}

/// The outcome of validating a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    pub errors: MultiError,
    pub warnings: MultiError,
}

/// Validates a canonicalized job (with implicit constraints added).
/// PLACEHOLDER until the validation rules land.
pub fn validate_job(job: &Job, opts: &ValidateOptions) -> Validation {
    let _ = (job, opts);
    Validation::default()
}
