//! Nomad v0.6 HCL job files → the API job, as `nomad run -output` prints
//! it: an HCL1 scanner and parser, HCL's decoder, and Nomad's block rules.
//!
//! [`parse`] turns a job file into an [`ApiJob`] that is *not*
//! canonicalized (unset fields stay `None`, as Nomad's CLI sends them);
//! [`to_output_json`] prints it exactly as `nomad run -output` does. Errors
//! carry Nomad's text (`error parsing 'job': group: 'web', … -> …`) and the
//! line and column they concern.

mod ast;
mod blocks;
mod decode;
mod goerror;
mod gostrconv;
mod json;
mod literal;
mod output;
mod parser;
mod scanner;
mod weak;

use crate::model::api::ApiJob;

pub use output::to_output_json;

/// A job file that does not parse. `message` is the error text of Nomad's
/// `jobspec.Parse`: the CLI prints it as
/// `Error getting job struct: Error parsing job file from <file>: <message>`.
/// `line`/`column` (1-based, column in characters) locate it even where
/// Nomad's text does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobspecError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl JobspecError {
    fn new(message: String, pos: scanner::Pos) -> Self {
        // Errors that concern the file as a whole point at its start.
        let (line, column) = if pos.line == 0 {
            (1, 1)
        } else {
            (pos.line, pos.column.max(1))
        };
        JobspecError {
            message,
            line,
            column,
        }
    }
}

/// Parses an HCL job file into the API job.
pub fn parse(src: &str) -> Result<ApiJob, JobspecError> {
    // HCL1 reads a file whose first non-space character is `{` as JSON.
    let json_syntax = src.chars().find(|c| !c.is_whitespace()) == Some('{');
    let root = if json_syntax {
        json::parse(src)
    } else {
        parser::parse(src)
    }
    .map_err(|e| JobspecError::new(format!("error parsing: {}", e.message), e.pos))?;
    blocks::job_file(&root).map_err(|e| JobspecError::new(e.text(), e.pos()))
}

#[cfg(test)]
mod tests;
