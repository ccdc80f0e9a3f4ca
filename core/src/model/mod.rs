//! The data model: the stored job tree ([`job`]), the submitted API job tree
//! ([`api`]), and nodes, allocations, evaluations, summaries, deployments.

pub mod alloc;
pub mod api;
pub mod eval;
pub mod job;
pub mod nil;
pub mod node;
pub mod requests;
pub mod summary;
pub mod vecmap;

pub use alloc::*;
pub use eval::*;
pub use job::*;
pub use node::*;
pub use summary::*;
pub use vecmap::VecMap;
