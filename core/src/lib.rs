//! Caravan's core: a deterministic re-implementation of the job logic of
//! HashiCorp Nomad v0.6 — the job model and its defaults, validation, job
//! diffs, versioning with check-and-set, scheduling and dry-run planning,
//! dispatch and periodic launches — as a pure state machine.
//!
//! This crate **contains no I/O of any kind**: no networking, no files, no
//! threads, and it never reads a clock or draws a random number. A host
//! decides "now" and draws random bytes before it calls in, and passes them
//! as arguments or inside a [`Command`]. The same inputs give the same
//! outputs natively and in `wasm32-unknown-unknown`, so the HTTP server, the
//! browser previewer and the sandboxed plugin all share this code and agree
//! byte for byte.
//!
//! Entry points:
//! - decode a request body the way Go does: [`gojson`];
//! - canonicalize and validate a submitted job: [`prepare`], [`validate`];
//! - compare two jobs: [`diff`];
//! - hold the cluster state and apply commands to it: [`ClusterState`];
//! - schedule an evaluation and dry-run a plan: [`scheduler`];
//! - dispatch and periodic children, the cron dialect: [`dispatch`],
//!   [`periodic`];
//! - parse HCL job files: [`jobspec`];
//! - encode responses, byte for byte as `serde_json` would, but faster:
//!   [`json_out`];
//! - split the work on a big job in two halves where the host has a spare
//!   core (the host runs them; the results are the sequential results):
//!   [`fork`].

mod canonical;
pub mod diff;
pub mod dispatch;
pub mod fork;
pub mod gofmt;
pub mod gojson;
pub mod jobspec;
pub mod json_out;
pub mod model;
mod multierror;
pub mod periodic;
mod prefetch;
pub mod scheduler;
pub mod state;
mod swar;
pub mod validate;

pub use canonical::{add_implicit_constraints, canonicalize, prepare, prepare_forked, Prepared};
pub use model::api::ApiJob;
pub use model::{Allocation, Evaluation, Job, Node};
pub use multierror::MultiError;
pub use state::{ClusterState, Command};
