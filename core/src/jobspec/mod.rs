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
    if json_mode(src) {
        // HCL1 reads a file starting with `{` as its JSON flavour, which
        // Caravan does not implement.
        let at = src.find('{').map_or(0, |o| o);
        let pos = position_of(src, at);
        return Err(JobspecError::new(
            "error parsing: job files in HCL's JSON syntax are not supported".into(),
            pos,
        ));
    }
    let root = parser::parse(src)
        .map_err(|e| JobspecError::new(format!("error parsing: {}", e.message), e.pos))?;
    blocks::job_file(&root).map_err(|e| JobspecError::new(e.text(), e.pos()))
}

/// HCL1 switches to JSON when the first non-space character is `{`.
fn json_mode(src: &str) -> bool {
    src.chars().find(|c| !c.is_whitespace()) == Some('{')
}

fn position_of(src: &str, offset: usize) -> scanner::Pos {
    let before = src.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    scanner::Pos {
        offset,
        line,
        column,
    }
}

#[cfg(test)]
mod tests;
