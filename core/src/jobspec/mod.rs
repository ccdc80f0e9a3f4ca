//! Nomad v0.6 HCL job files → the API job, as `nomad run -output` prints it.

use crate::model::api::ApiJob;

/// A job file that does not parse, with the position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobspecError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// Parses a job file. PLACEHOLDER until the parser lands.
pub fn parse(src: &str) -> Result<ApiJob, JobspecError> {
    let _ = src;
    Err(JobspecError {
        message: "HCL job files are not supported yet".into(),
        line: 1,
        column: 1,
    })
}
