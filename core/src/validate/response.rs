//! The body of `POST /v1/validate/job`, which never fails: errors and
//! warnings are reported inside a 200 response.

use serde::{Deserialize, Serialize};

use super::{validate_job, ValidateOptions};
use crate::{MultiError, Prepared};

/// `structs.JobValidateResponse`, field order as Nomad encodes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateResponse {
    /// Always `true`: the server validated driver configs.
    #[serde(rename = "DriverConfigValidated")]
    pub driver_config_validated: bool,
    /// Each top-level error text; `null` when the job is valid.
    #[serde(rename = "ValidationErrors")]
    pub validation_errors: Option<Vec<String>>,
    /// The full multi-error rendering, or `""`.
    #[serde(rename = "Error")]
    pub error: String,
    /// Canonicalization then validation warnings (`N warning(s):`), or `""`.
    #[serde(rename = "Warnings")]
    pub warnings: String,
}

/// Validates a prepared job and builds the validate endpoint's body.
pub fn validate_response(prepared: &Prepared, opts: &ValidateOptions) -> ValidateResponse {
    let validation = validate_job(&prepared.job, opts);
    let mut warnings = MultiError::new();
    for w in &prepared.warnings {
        warnings.push(w.clone());
    }
    warnings.extend(validation.warnings);
    let error = validation.errors.render().unwrap_or_default();
    let errors = validation.errors.errors;
    ValidateResponse {
        driver_config_validated: true,
        validation_errors: (!errors.is_empty()).then_some(errors),
        error,
        warnings: warnings.render_warnings(),
    }
}
