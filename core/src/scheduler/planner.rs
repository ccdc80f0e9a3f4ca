//! The dry-run planner behind `/plan` (Nomad's `Job.Plan`): one scheduler
//! pass for the submitted job over a view of the state in which that job is
//! already registered; nothing is written.

use std::sync::Arc;

use chrono::{Offset, TimeZone};

use crate::diff::diff_jobs_forked;
use crate::fork::{drop_halves, Fork, Sequential, MIN_GROUPS};
use crate::model::{Evaluation, Job, EVAL_STATUS_PENDING, GO_ZERO_TIME, TRIGGER_JOB_REGISTER};
use crate::scheduler::context::StateView;
use crate::scheduler::pass::Carry;
use crate::scheduler::rng::Rng;
use crate::scheduler::run::Kind;
use crate::scheduler::{PlanOptions, PlanResponse};
use crate::state::{spec_changed, ClusterState};

/// The index a new job is planned at (Nomad's constant).
const NEW_JOB_INDEX: u64 = 100;

/// Go's RFC 3339 rendering of a `time.Time` in zone `tz` (`Z` for a zero
/// offset, fractional seconds only when non-zero).
fn rfc3339_in(ns: i64, tz: &str) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    let Some(utc) = chrono::DateTime::from_timestamp(secs, nanos) else {
        return GO_ZERO_TIME.into();
    };
    let zone = crate::periodic::parse_time_zone(tz).unwrap_or(chrono_tz::UTC);
    let local = zone.from_utc_datetime(&utc.naive_utc());
    let mut s = local.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    let off = local.offset().fix().local_minus_utc();
    if off == 0 {
        s.push('Z');
    } else {
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.abs();
        s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off % 3600 / 60));
    }
    s
}

/// The next launch of an enabled periodic job after `now`, else Go's zero
/// time.
fn next_periodic_launch(job: &Job, now: i64) -> String {
    match &job.periodic {
        Some(p) if p.enabled => match crate::periodic::next_launch(p, now) {
            Some(t) => rfc3339_in(t, &p.time_zone),
            None => GO_ZERO_TIME.into(),
        },
        _ => GO_ZERO_TIME.into(),
    }
}

/// Runs the scheduler for `job` (canonicalized and validated) on a view of
/// `state` and reports what it would do. `Warnings` is left to the caller
/// (it comes from canonicalization).
pub fn plan_job(
    state: &ClusterState,
    job: Job,
    opts: &PlanOptions,
) -> Result<PlanResponse, String> {
    plan_job_forked(state, job, opts, &Sequential)
}

/// [`plan_job`], with the diff's task groups split over `fork`, and the
/// planned job's groups freed in the same halves.
pub fn plan_job_forked(
    state: &ClusterState,
    job: Job,
    opts: &PlanOptions,
    fork: &impl Fork,
) -> Result<PlanResponse, String> {
    let existing = state.job(&job.id).cloned();
    // The view holds the job as it would be stored; the indexes and version
    // set here are not part of a diff, so the diff reads the same copy.
    let (index, updated_index, job, view) = match &existing {
        Some(e) if spec_changed(e, &job) => {
            let updated = e.job_modify_index + 1;
            let mut planned = job;
            planned.create_index = e.create_index;
            planned.modify_index = updated;
            planned.job_modify_index = updated;
            planned.version = e.version + 1;
            let planned = Arc::new(planned);
            (
                e.job_modify_index,
                updated,
                planned.clone(),
                StateView::with_job(state, planned),
            )
        }
        Some(e) => (e.job_modify_index, 0, Arc::new(job), StateView::new(state)),
        None => {
            let mut planned = job;
            planned.create_index = NEW_JOB_INDEX;
            planned.modify_index = NEW_JOB_INDEX;
            planned.job_modify_index = NEW_JOB_INDEX;
            planned.version = 0;
            let planned = Arc::new(planned);
            (0, 0, planned.clone(), StateView::with_job(state, planned))
        }
    };
    let mut rng = Rng::new(opts.seed);
    let eval = Evaluation {
        id: rng.uuid(),
        priority: job.priority,
        eval_type: job.job_type.clone(),
        triggered_by: TRIGGER_JOB_REGISTER.into(),
        job_id: job.id.clone(),
        job_modify_index: updated_index,
        status: EVAL_STATUS_PENDING.into(),
        annotate_plan: true,
        ..Default::default()
    };
    let kind = Kind::of(&eval.eval_type)?;
    let mut out = kind.pass(view, &eval, &mut rng, &mut Carry::default())?;
    let Some(mut plan) = out.plan.take() else {
        return Err("scheduler resulted in an unexpected number of plans: 0".into());
    };
    let annotations = plan.annotations.take().unwrap_or_default();
    let diff = if opts.diff {
        let mut d = diff_jobs_forked(existing.as_deref(), Some(&job), true, fork)
            .map_err(|e| format!("failed to create job diff: {e}"))?;
        crate::diff::annotate(&mut d, &annotations);
        Some(d)
    } else {
        None
    };
    let failed = std::mem::take(&mut out.failed_tg_allocs);
    let created = std::mem::take(&mut out.created_evals);
    let response = PlanResponse {
        annotations: Some(annotations),
        failed_tg_allocs: (!failed.is_empty()).then_some(failed),
        job_modify_index: index,
        created_evals: (!created.is_empty()).then_some(created),
        diff,
        next_periodic_launch: next_periodic_launch(&job, opts.now),
        warnings: String::new(),
        index,
    };
    drop((out, plan));
    if let Ok(mut job) = Arc::try_unwrap(job) {
        drop_halves(fork, std::mem::take(&mut job.task_groups), MIN_GROUPS);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_rendering() {
        assert_eq!(
            rfc3339_in(1_798_761_600_000_000_000, "UTC"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339_in(1_798_761_600_000_000_000, ""),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339_in(1_798_779_600_500_000_000, "America/New_York"),
            "2027-01-01T00:00:00.5-05:00"
        );
    }
}
