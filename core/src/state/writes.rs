//! Command dispatch and the write transaction every handler uses.

use std::collections::BTreeSet;

use super::{key, Applied, ApplyError, ClusterState, Command, Reply, Table};

/// A write in progress: hands out indexes and records what changed.
pub(crate) struct Txn<'a> {
    pub s: &'a mut ClusterState,
    pub tables: BTreeSet<Table>,
    pub jobs: BTreeSet<String>,
    /// The last write [`Txn::touch`] recorded: a plan's thousands of
    /// allocations touch the same tables at the same index again and again.
    last_touch: Option<(Table, u64)>,
}

impl Txn<'_> {
    /// Allocates the next raft-like index.
    pub fn next_index(&mut self) -> u64 {
        self.s.index += 1;
        self.s.index
    }

    /// Records a write to `table` at `index`.
    pub fn touch(&mut self, table: Table, index: u64) {
        // Only `touch` writes the table indexes during a transaction: the
        // same touch again would change nothing.
        if self.last_touch == Some((table, index)) {
            return;
        }
        self.last_touch = Some((table, index));
        self.s.table_index.insert(table, index);
        self.tables.insert(table);
    }

    /// Records a change to a job's objects (for per-job watchers).
    pub fn touch_job(&mut self, id: &str) {
        self.jobs.insert(key(id));
    }
}

pub(super) fn apply(s: &mut ClusterState, command: Command) -> Result<Applied, ApplyError> {
    let mut txn = Txn {
        s,
        tables: BTreeSet::new(),
        jobs: BTreeSet::new(),
        last_touch: None,
    };
    let reply = match command {
        Command::RegisterJob {
            job,
            enforce_index,
            job_modify_index,
            eval_id,
            now,
        } => Reply::Register(txn.register(
            *job,
            enforce_index,
            job_modify_index,
            &eval_id,
            now,
            "",
        )?),
        Command::DeregisterJob {
            job_id,
            purge,
            eval_id,
            now,
        } => Reply::Deregister(txn.deregister(&job_id, purge, &eval_id, now)?),
        Command::EvaluateJob { job_id, eval_id } => {
            Reply::Evaluate(txn.evaluate(&job_id, &eval_id)?)
        }
        Command::RevertJob {
            job_id,
            version,
            enforce_prior_version,
            eval_id,
            now,
        } => Reply::Register(txn.revert(&job_id, version, enforce_prior_version, &eval_id, now)?),
        Command::SetJobStability {
            job_id,
            version,
            stable,
        } => Reply::Stable {
            index: txn.set_stability(&job_id, version, stable)?,
        },
        Command::DispatchJob {
            job_id,
            payload,
            meta,
            idempotency_token,
            id_suffix,
            eval_id,
            now,
        } => Reply::Dispatch(txn.dispatch(
            &job_id,
            payload,
            meta,
            idempotency_token,
            &id_suffix,
            &eval_id,
            now,
        )?),
        Command::PeriodicLaunch {
            job_id,
            launch,
            force,
            eval_id,
            now,
        } => Reply::Force(txn.periodic_launch(&job_id, launch, force, &eval_id, now)?),
        Command::UpsertEvals { evals } => {
            let index = txn.next_index();
            txn.upsert_evals(index, evals);
            Reply::Done
        }
        Command::ApplyPlan { plan, now } => Reply::Plan(txn.apply_plan(*plan, now)),
        Command::UpdateAllocsFromClient { updates } => {
            txn.update_allocs_from_client(updates);
            Reply::Done
        }
        Command::UpsertNode { node } => {
            txn.upsert_node(*node);
            Reply::Done
        }
        Command::UpdateNodeStatus {
            node_id,
            status,
            now,
        } => {
            txn.update_node(&node_id, |n| {
                n.status = status.clone();
                n.status_updated_at = now;
            })?;
            Reply::Done
        }
        Command::UpdateNodeDrain { node_id, drain } => {
            txn.update_node(&node_id, |n| n.drain = drain)?;
            Reply::Done
        }
    };
    Ok(Applied {
        index: txn.s.index,
        tables: txn.tables,
        jobs: txn.jobs,
        reply,
    })
}
