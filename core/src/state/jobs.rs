//! Job-level commands: register (with check-and-set), deregister, evaluate,
//! revert, stability, dispatch and periodic launches.

use super::commands::{DeregisterReply, DispatchReply, ForceReply, RegisterReply};
use super::writes::Txn;
use super::{key, ApplyError, PeriodicLaunch, Table};
use crate::model::{
    Evaluation, Job, StringMap, EVAL_STATUS_PENDING, JOB_TYPE_SERVICE, TRIGGER_JOB_DEREGISTER,
    TRIGGER_JOB_REGISTER, TRIGGER_PERIODIC_JOB,
};
use crate::{dispatch, gofmt, periodic};

/// Nomad's default job priority (used by deregister evaluations).
const DEFAULT_PRIORITY: i64 = 50;

/// Whether `new` differs from `existing` in anything but the fields the
/// server owns (Nomad's `SpecChanged`).
pub fn spec_changed(existing: &Job, new: &Job) -> bool {
    // Destructured without `..`: a new field must be placed on one side.
    let Job {
        stop,
        region,
        id,
        parent_id,
        name,
        job_type,
        priority,
        all_at_once,
        datacenters,
        constraints,
        task_groups,
        update,
        periodic,
        parameterized_job,
        payload,
        meta,
        vault_token,
        // Owned by the server.
        status: _,
        status_description: _,
        stable: _,
        version: _,
        submit_time: _,
        create_index: _,
        modify_index: _,
        job_modify_index: _,
    } = new;
    *stop != existing.stop
        || *region != existing.region
        || *id != existing.id
        || *parent_id != existing.parent_id
        || *name != existing.name
        || *job_type != existing.job_type
        || *priority != existing.priority
        || *all_at_once != existing.all_at_once
        || *datacenters != existing.datacenters
        || *constraints != existing.constraints
        || *update != existing.update
        || *periodic != existing.periodic
        || *parameterized_job != existing.parameterized_job
        || *payload != existing.payload
        || *meta != existing.meta
        || *vault_token != existing.vault_token
        || *task_groups != existing.task_groups
}

/// The EnforceIndex check-and-set rule.
fn check_enforce_index(existing: Option<&Job>, jmi: u64) -> Result<(), ApplyError> {
    let prefix = format!("Enforcing job modify index {jmi}");
    match existing {
        Some(_) if jmi == 0 => Err(ApplyError(format!("{prefix}: job already exists"))),
        Some(j) if j.job_modify_index != jmi => Err(ApplyError(format!(
            "{prefix}: job exists with conflicting job modify index: {}",
            j.job_modify_index
        ))),
        None if jmi != 0 => Err(ApplyError(format!("{prefix}: job does not exist"))),
        _ => Ok(()),
    }
}

/// Type and periodic/parameterized changes an update may not make.
fn check_update_compatible(existing: &Job, new: &Job) -> Result<(), ApplyError> {
    if existing.job_type != new.job_type {
        return Err(ApplyError(format!(
            "cannot update job from type {} to {}",
            gofmt::quote(&existing.job_type),
            gofmt::quote(&new.job_type)
        )));
    }
    // v0.6's messages are inverted relative to the condition; kept so.
    if existing.is_periodic() && !new.is_periodic() {
        return Err(ApplyError::new(
            "cannot update non-periodic job to being periodic",
        ));
    }
    if !existing.is_periodic() && new.is_periodic() {
        return Err(ApplyError::new(
            "cannot update periodic job to being non-periodic",
        ));
    }
    if existing.is_parameterized() && !new.is_parameterized() {
        return Err(ApplyError::new(
            "cannot update non-parameterized job to being parameterized",
        ));
    }
    if !existing.is_parameterized() && new.is_parameterized() {
        return Err(ApplyError::new(
            "cannot update parameterized job to being non-parameterized",
        ));
    }
    Ok(())
}

fn new_eval(id: &str, job: &Job, trigger: &str, job_modify_index: u64) -> Evaluation {
    Evaluation {
        id: id.to_string(),
        priority: job.priority,
        eval_type: job.job_type.clone(),
        triggered_by: trigger.to_string(),
        job_id: job.id.clone(),
        job_modify_index,
        status: EVAL_STATUS_PENDING.to_string(),
        ..Default::default()
    }
}

impl Txn<'_> {
    /// Register (`Job.Register`): check-and-set, compatibility and Vault
    /// checks, a new version if the spec changed, then an evaluation unless
    /// the job is periodic or parameterized.
    pub fn register(
        &mut self,
        mut job: Job,
        enforce_index: bool,
        job_modify_index: u64,
        eval_id: &str,
        now: i64,
        warnings: &str,
    ) -> Result<RegisterReply, ApplyError> {
        let existing = self.s.job(&job.id).cloned();
        if enforce_index {
            check_enforce_index(existing.as_deref(), job_modify_index)?;
        }
        if let Some(e) = &existing {
            check_update_compatible(e, &job)?;
        }
        let uses_vault = job
            .task_groups
            .iter()
            .flat_map(|g| &g.tasks)
            .any(|t| t.vault.is_some());
        if uses_vault && !self.s.config.vault_enabled {
            return Err(ApplyError::new(
                "Vault not enabled and Vault policies requested",
            ));
        }
        job.vault_token.clear();

        let mut reply = RegisterReply {
            warnings: warnings.to_string(),
            ..Default::default()
        };
        // The evaluation is made from the job as submitted; its modify
        // index is known once the job is written (the job moves there).
        let eval = (!job.is_periodic() && !job.is_parameterized())
            .then(|| new_eval(eval_id, &job, TRIGGER_JOB_REGISTER, 0));
        match &existing {
            Some(e) if !spec_changed(e, &job) => reply.job_modify_index = e.job_modify_index,
            _ => {
                job.submit_time = now;
                job.stable = false;
                let index = self.next_index();
                self.write_job(index, job, now);
                reply.job_modify_index = index;
            }
        }
        let Some(mut eval) = eval else {
            return Ok(reply);
        };
        eval.job_modify_index = reply.job_modify_index;
        let index = self.next_index();
        self.upsert_evals(index, vec![eval]);
        reply.eval_id = eval_id.to_string();
        reply.eval_create_index = index;
        reply.index = index;
        Ok(reply)
    }

    /// Writes a job version as the FSM's `applyUpsertJob` does, including
    /// periodic launch bookkeeping.
    fn write_job(&mut self, index: u64, job: Job, now: i64) {
        let id = job.id.clone();
        let parent_id = job.parent_id.clone();
        let periodic = job.is_periodic();
        self.upsert_job(index, job, false);
        if periodic && !self.s.periodic_launches.contains_key(&key(&id)) {
            self.upsert_periodic_launch(index, &id, now);
        }
        // A periodic child records its launch time on the parent.
        if let Some(parent) = self.s.job(&parent_id).cloned() {
            if parent.is_periodic() && !parent.is_parameterized() {
                let launch = id
                    .strip_prefix(&format!("{parent_id}{}", periodic::PERIODIC_LAUNCH_SUFFIX))
                    .and_then(|s| s.parse::<i64>().ok());
                if let Some(seconds) = launch {
                    self.upsert_periodic_launch(index, &parent_id, seconds * 1_000_000_000);
                }
            }
        }
    }

    fn upsert_periodic_launch(&mut self, index: u64, id: &str, launch: i64) {
        let create_index = self
            .s
            .periodic_launches
            .get(&key(id))
            .map_or(index, |l| l.create_index);
        self.s.periodic_launches.insert(
            key(id),
            PeriodicLaunch {
                id: id.to_string(),
                launch,
                create_index,
                modify_index: index,
            },
        );
        self.touch(Table::PeriodicLaunch, index);
    }

    /// Deregister (`Job.Deregister`): stop (a new version with `Stop`) or
    /// purge; an evaluation unless the job was periodic or parameterized.
    /// A missing job still gets a write and an evaluation, as in v0.6.
    pub fn deregister(
        &mut self,
        job_id: &str,
        purge: bool,
        eval_id: &str,
        now: i64,
    ) -> Result<DeregisterReply, ApplyError> {
        let existing = self.s.job(job_id).cloned();
        let index = self.next_index();
        if purge {
            self.delete_job(index, job_id);
            if self.s.periodic_launches.remove(&key(job_id)).is_some() {
                self.touch(Table::PeriodicLaunch, index);
            }
        } else if let Some(current) = &existing {
            let mut stopped = (**current).clone();
            stopped.stop = true;
            self.upsert_job(index, stopped, false);
        }
        let _ = now;
        let mut reply = DeregisterReply {
            job_modify_index: index,
            ..Default::default()
        };
        if existing
            .as_ref()
            .is_some_and(|j| j.is_periodic() || j.is_parameterized())
        {
            return Ok(reply);
        }
        let eval_index = self.next_index();
        let eval = Evaluation {
            id: eval_id.to_string(),
            priority: DEFAULT_PRIORITY,
            eval_type: JOB_TYPE_SERVICE.to_string(),
            triggered_by: TRIGGER_JOB_DEREGISTER.to_string(),
            job_id: job_id.to_string(),
            job_modify_index: index,
            status: EVAL_STATUS_PENDING.to_string(),
            ..Default::default()
        };
        self.upsert_evals(eval_index, vec![eval]);
        reply.eval_id = eval_id.to_string();
        reply.eval_create_index = eval_index;
        reply.index = eval_index;
        Ok(reply)
    }

    /// Force a new evaluation (`Job.Evaluate`).
    pub fn evaluate(&mut self, job_id: &str, eval_id: &str) -> Result<RegisterReply, ApplyError> {
        if job_id.is_empty() {
            return Err(ApplyError::new("missing job ID for evaluation"));
        }
        let Some(job) = self.s.job(job_id).cloned() else {
            return Err(ApplyError::new("job not found"));
        };
        if job.is_periodic() {
            return Err(ApplyError::new("can't evaluate periodic job"));
        }
        if job.is_parameterized() {
            return Err(ApplyError::new("can't evaluate parameterized job"));
        }
        let index = self.next_index();
        let eval = new_eval(eval_id, &job, TRIGGER_JOB_REGISTER, job.modify_index);
        self.upsert_evals(index, vec![eval]);
        Ok(RegisterReply {
            eval_id: eval_id.to_string(),
            eval_create_index: index,
            job_modify_index: job.modify_index,
            warnings: String::new(),
            index,
        })
    }

    /// Revert to an earlier version (`Job.Revert`): registers that version's
    /// spec as a new version.
    pub fn revert(
        &mut self,
        job_id: &str,
        version: u64,
        enforce_prior_version: Option<u64>,
        eval_id: &str,
        now: i64,
    ) -> Result<RegisterReply, ApplyError> {
        if job_id.is_empty() {
            return Err(ApplyError::new("missing job ID for revert"));
        }
        let Some(current) = self.s.job(job_id).cloned() else {
            return Err(ApplyError(format!(
                "job {} not found",
                gofmt::quote(job_id)
            )));
        };
        if version == current.version {
            return Err(ApplyError::new("can't revert to current version"));
        }
        let Some(old) = self.s.job_version(job_id, version) else {
            return Err(ApplyError(format!(
                "job {} at version {version} not found",
                gofmt::quote(job_id)
            )));
        };
        let (enforce, jmi) = match enforce_prior_version {
            Some(want) if want != current.version => {
                return Err(ApplyError(format!(
                    "Current job has version {}; enforcing version {want}",
                    current.version
                )))
            }
            Some(_) => (true, current.job_modify_index),
            None => (false, 0),
        };
        let mut job = (*old).clone();
        let warnings = crate::canonicalize(&mut job);
        crate::add_implicit_constraints(&mut job);
        let warnings = crate::MultiError { errors: warnings }.render_warnings();
        self.register(job, enforce, jmi, eval_id, now, &warnings)
    }

    /// Mark a version stable or not (`Job.Stable`); returns the write index.
    pub fn set_stability(
        &mut self,
        job_id: &str,
        version: u64,
        stable: bool,
    ) -> Result<u64, ApplyError> {
        if job_id.is_empty() {
            return Err(ApplyError::new("missing job ID for marking job as stable"));
        }
        if self.s.job_version(job_id, version).is_none() {
            return Err(ApplyError(format!(
                "job {} at version {version} not found",
                gofmt::quote(job_id)
            )));
        }
        let index = self.next_index();
        self.update_job_stability(index, job_id, version, stable);
        Ok(index)
    }

    /// Nomad's `updateJobStabilityImpl`: rewrite that version (keeping its
    /// Version and JobModifyIndex) as the current job.
    pub fn update_job_stability(&mut self, index: u64, job_id: &str, version: u64, stable: bool) {
        let Some(job) = self.s.job_version(job_id, version) else {
            return;
        };
        if job.stable == stable {
            return;
        }
        let mut copy = (*job).clone();
        copy.stable = stable;
        self.upsert_job(index, copy, true);
    }

    /// Dispatch a parameterized job (`Job.Dispatch`).
    #[allow(clippy::too_many_arguments)]
    pub fn dispatch(
        &mut self,
        job_id: &str,
        payload: Vec<u8>,
        meta: StringMap,
        token: Option<String>,
        suffix: &str,
        eval_id: &str,
        now: i64,
    ) -> Result<DispatchReply, ApplyError> {
        if job_id.is_empty() {
            return Err(ApplyError::new("missing parameterized job ID"));
        }
        let Some(parent) = self.s.job(job_id).cloned() else {
            return Err(ApplyError::new("parameterized job not found"));
        };
        dispatch::check_request(&parent, job_id, &payload, &meta).map_err(ApplyError)?;
        let token = token.filter(|t| !t.is_empty());
        if let Some(t) = &token {
            let existing = self
                .s
                .dispatched_child(&parent.id, t)
                .and_then(|child| self.s.job(child));
            if let Some(child) = existing {
                return Ok(DispatchReply {
                    dispatched_job_id: child.id.clone(),
                    eval_id: String::new(),
                    eval_create_index: 0,
                    job_create_index: child.create_index,
                    index: child.modify_index,
                });
            }
        }
        let child = dispatch::child_job(&parent, payload, &meta, suffix, now);
        let child_id = child.id.clone();
        let periodic = child.is_periodic();
        let index = self.next_index();
        self.write_job(index, child.clone(), now);
        if let Some(t) = token {
            self.s
                .dispatch_tokens
                .entry(parent.id.clone())
                .or_default()
                .insert(t, child_id.clone());
        }
        let mut reply = DispatchReply {
            dispatched_job_id: child_id,
            job_create_index: index,
            index,
            ..Default::default()
        };
        if !periodic {
            let eval_index = self.next_index();
            let eval = new_eval(eval_id, &child, TRIGGER_JOB_REGISTER, index);
            self.upsert_evals(eval_index, vec![eval]);
            reply.eval_id = eval_id.to_string();
            reply.eval_create_index = eval_index;
            reply.index = eval_index;
        }
        Ok(reply)
    }

    /// Launch a child of a periodic job for `launch` (Unix seconds). A
    /// scheduled (non-forced) launch is skipped when `ProhibitOverlap` and
    /// an earlier child is still running; then `index` is 0.
    pub fn periodic_launch(
        &mut self,
        job_id: &str,
        launch: i64,
        force: bool,
        eval_id: &str,
        now: i64,
    ) -> Result<ForceReply, ApplyError> {
        if job_id.is_empty() {
            return Err(ApplyError::new("missing job ID for evaluation"));
        }
        let Some(parent) = self.s.job(job_id).cloned() else {
            return Err(ApplyError::new("job not found"));
        };
        if !parent.is_periodic() {
            return Err(ApplyError::new("can't force launch non-periodic job"));
        }
        if !parent.is_periodic_tracked() {
            return Err(ApplyError(format!(
                "force launch for job {} failed: can't force run non-tracked job {}",
                gofmt::quote(&parent.id),
                parent.id
            )));
        }
        if !force
            && parent.periodic.as_ref().is_some_and(|p| p.prohibit_overlap)
            && self.has_running_child(&parent)
        {
            return Ok(ForceReply::default());
        }
        let child = periodic::child_job(&parent, launch, now);
        let index = self.next_index();
        // Launching twice for one second overwrites the child as a new
        // version, with no change detection.
        self.write_job(index, child.clone(), now);
        let eval_index = self.next_index();
        let eval = new_eval(eval_id, &child, TRIGGER_PERIODIC_JOB, index);
        self.upsert_evals(eval_index, vec![eval]);
        Ok(ForceReply {
            eval_id: eval_id.to_string(),
            eval_create_index: eval_index,
            index: eval_index,
        })
    }

    /// Any periodic child with a non-terminal evaluation or allocation.
    fn has_running_child(&self, parent: &Job) -> bool {
        let prefix = format!("{}{}", parent.id, periodic::PERIODIC_LAUNCH_SUFFIX);
        self.s
            .jobs
            .values()
            .filter(|j| j.parent_id == parent.id && j.id.starts_with(&prefix))
            .any(|child| {
                self.s.evals_by_job(&child.id).iter().any(|e| !e.terminal())
                    || self
                        .s
                        .allocs_by_job(&child.id, true)
                        .iter()
                        .any(|a| !a.terminal())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::spec_changed;
    use crate::model::{Job, TaskGroup};

    fn job() -> Job {
        Job {
            id: "web".into(),
            name: "web".into(),
            job_type: "service".into(),
            priority: 50,
            datacenters: vec!["dc1".into()],
            task_groups: vec![TaskGroup {
                name: "g".into(),
                count: 1,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn server_owned_fields_are_not_a_spec_change() {
        let existing = job();
        let mut new = job();
        new.status = "running".into();
        new.status_description = "x".into();
        new.stable = true;
        new.version = 7;
        new.submit_time = 99;
        new.create_index = 3;
        new.modify_index = 4;
        new.job_modify_index = 5;
        assert!(!spec_changed(&existing, &new));
    }

    #[test]
    fn every_spec_field_is_a_change() {
        let existing = job();
        let edits: [fn(&mut Job); 8] = [
            |j| j.stop = true,
            |j| j.priority = 51,
            |j| j.datacenters.push("dc2".into()),
            |j| j.task_groups[0].count = 2,
            |j| j.meta.insert("k".into(), "v".into()).map_or((), drop),
            |j| j.payload = vec![1],
            |j| j.vault_token = "t".into(),
            |j| j.update.max_parallel = 2,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut new = job();
            edit(&mut new);
            assert!(spec_changed(&existing, &new), "edit {i}");
        }
    }
}
