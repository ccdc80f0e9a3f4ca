//! The generic scheduler for service and batch jobs (Nomad's
//! `generic_sched.go`): reconcile, then place destructive replacements and
//! new allocations through the generic stack.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{
    Allocation, Counts, Deployment, Evaluation, Job, Node, Resources, ALLOC_CLIENT_FAILED,
    ALLOC_CLIENT_PENDING, ALLOC_DESIRED_EVICT, ALLOC_DESIRED_RUN, ALLOC_DESIRED_STOP,
    EVAL_STATUS_BLOCKED,
};
use crate::scheduler::context::{EvalContext, StateView};
use crate::scheduler::pass::{
    blocked_eval, make_plan, next_rolling_eval, ready_nodes_in_dcs, stop_lost_on_tainted,
    tainted_nodes, Carry, PassOutcome,
};
use crate::scheduler::plan::PlanAnnotations;
use crate::scheduler::reconcile::{reconcile, Placement, ReconcileInput};
use crate::scheduler::rng::Rng;
use crate::scheduler::stack::GenericStack;
use crate::scheduler::update::AllocUpdater;

/// Drops allocations that are finished: terminal ones for services; for
/// batch, stopped ones that did not finish cleanly and failed ones, then
/// only the newest allocation per name.
fn filter_complete(allocs: Vec<Arc<Allocation>>, batch: bool) -> Vec<Arc<Allocation>> {
    let done = |a: &Allocation| {
        if batch {
            if a.desired_status == ALLOC_DESIRED_STOP || a.desired_status == ALLOC_DESIRED_EVICT {
                return !a.ran_successfully();
            }
            a.client_status == ALLOC_CLIENT_FAILED
        } else {
            a.terminal()
        }
    };
    let live: Vec<Arc<Allocation>> = allocs.into_iter().filter(|a| !done(a)).collect();
    if !batch {
        return live;
    }
    let mut newest: BTreeMap<String, Arc<Allocation>> = BTreeMap::new();
    for a in live {
        match newest.get(&a.name) {
            Some(e) if e.create_index >= a.create_index => {}
            _ => {
                newest.insert(a.name.clone(), a);
            }
        }
    }
    let mut out: Vec<Arc<Allocation>> = newest.into_values().collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The most allocations one job's task groups may ask for (the sum of
/// their counts). Nomad v0.6.3 has no limit: for a count like 2^31 its
/// reconciler builds a name per missing allocation until memory runs out.
/// Caravan fails such an evaluation with `too_many`'s text instead, and
/// the dry run (`/plan`) answers with it (COMPATIBILITY.md).
pub const MAX_JOB_ALLOCS: i64 = 1_000_000;

/// Why a job asks for more allocations than [`MAX_JOB_ALLOCS`], if it does.
fn too_many(job: &Job) -> Option<String> {
    let total = job
        .task_groups
        .iter()
        .fold(0i64, |sum, tg| sum.saturating_add(tg.count.max(0)));
    (total > MAX_JOB_ALLOCS).then(|| {
        format!(
            "job {}'s task groups ask for {total} allocations, more than the {MAX_JOB_ALLOCS} \
             one job may have",
            crate::gofmt::quote(&job.id)
        )
    })
}

/// One pass of the generic scheduler.
pub(crate) fn process<'a>(
    view: StateView<'a>,
    eval: &Evaluation,
    batch: bool,
    rng: &mut Rng,
    carry: &mut Carry,
) -> Result<PassOutcome, String> {
    let job = view.job(&eval.job_id);
    let stopped = job.as_ref().is_none_or(|j| j.stop);
    if let Some(why) = job.as_deref().filter(|_| !stopped).and_then(too_many) {
        return Err(why);
    }
    let mut out = PassOutcome::default();
    let plan = make_plan(eval, job.as_ref());
    let mut deployment: Option<Deployment> = if batch {
        None
    } else {
        view.latest_deployment(&eval.job_id).map(|d| (*d).clone())
    };
    let ctx_job_id = job
        .as_ref()
        .map_or(eval.job_id.as_str(), |j| j.id.as_str())
        .to_string();
    let mut ctx = EvalContext::new(view.clone(), plan, &ctx_job_id);
    let mut stack = GenericStack::new(batch);
    if let (false, Some(j)) = (stopped, &job) {
        stack.set_job(&mut ctx, j);
    }

    let allocs = view.allocs_by_job(&eval.job_id);
    let tainted = tainted_nodes(&view, &allocs);
    stop_lost_on_tainted(&mut ctx, &tainted, &allocs);
    let allocs = filter_complete(allocs, batch);

    // In-place attempts visit the nodes of the job's allocations of an
    // older job version: when there are many, their loads come from one
    // walk of the ready nodes (kept for the placements).
    let mut ready = None;
    if let (false, Some(j)) = (stopped, &job) {
        let older = allocs
            .iter()
            .filter(|a| {
                a.job
                    .as_ref()
                    .is_some_and(|o| o.job_modify_index != j.job_modify_index)
            })
            .count();
        if older > 0 {
            let (nodes, by_dc) = ready_nodes_in_dcs(&view, &j.datacenters);
            ctx.preload(&nodes, older, None);
            ready = Some((nodes, by_dc));
        }
    }

    let results = {
        let input = ReconcileInput {
            job_id: &eval.job_id,
            job: job.clone(),
            deployment: deployment.clone(),
            allocs,
            tainted: &tainted,
        };
        let (ctx, stack) = (&mut ctx, &mut stack);
        let mut updater = AllocUpdater::new(&eval.id);
        reconcile(input, rng, |rng, a, j, tg| {
            updater.decide(ctx, stack, rng, a, j, tg)
        })
    };

    if eval.annotate_plan {
        ctx.plan.annotations = Some(PlanAnnotations {
            desired_tg_updates: results.desired_tg_updates.clone(),
        });
    }
    ctx.plan.deployment = results.deployment.clone();
    ctx.plan.deployment_updates = results.deployment_updates.clone();
    if let Some(d) = &results.deployment {
        deployment = Some(d.clone());
    }
    let deployment_id = deployment
        .as_ref()
        .map(|d| d.id.clone())
        .unwrap_or_default();
    for s in &results.stop {
        ctx.append_update(&s.alloc, ALLOC_DESIRED_STOP, s.description, s.client_status);
    }
    for mut u in results.in_place {
        if u.deployment_id != deployment_id {
            // The reconciler's version is the only one: changed in place.
            let u = Arc::make_mut(&mut u);
            u.deployment_id = deployment_id.clone();
            u.deployment_status = None;
        }
        ctx.append_in_place(u);
    }

    if results.place.is_empty() && results.destructive.is_empty() {
        if let (false, Some(j)) = (stopped, &job) {
            for tg in &j.task_groups {
                out.queued.insert(tg.name.clone(), 0);
            }
        }
    } else if let Some(job) = &job {
        for p in results.destructive.iter().chain(&results.place) {
            *out.queued
                .entry(job.task_groups[p.group].name.clone())
                .or_default() += 1;
        }
        let mut placer = Placer {
            eval,
            job,
            stack: &mut stack,
            deployment: &mut deployment,
            failed: &mut out.failed_tg_allocs,
        };
        placer.place_all(&mut ctx, rng, ready, results.destructive, results.place);
    }

    out.deployment_id = deployment_id;
    out.record_eligibility(&ctx);
    if eval.status != EVAL_STATUS_BLOCKED
        && !out.failed_tg_allocs.is_empty()
        && carry.blocked.is_none()
    {
        let b = blocked_eval(eval, &out, rng, false);
        carry.blocked = Some(b.clone());
        out.created_evals.push(b);
    }
    if ctx.plan.is_no_op() && !eval.annotate_plan {
        return Ok(out);
    }
    if results.followup_eval_wait != 0 && carry.next_eval.is_none() {
        let next = next_rolling_eval(eval, results.followup_eval_wait, rng);
        carry.next_eval = Some(next.clone());
        out.created_evals.push(next);
    }
    out.plan = Some(ctx.plan);
    Ok(out)
}

/// Places destructive replacements, then new allocations.
struct Placer<'p, 'a> {
    eval: &'p Evaluation,
    job: &'p Arc<Job>,
    stack: &'p mut GenericStack<'a>,
    deployment: &'p mut Option<Deployment>,
    failed: &'p mut BTreeMap<String, crate::model::AllocMetric>,
}

impl<'a> Placer<'_, 'a> {
    fn place_all(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        ready: Option<(Vec<&'a Node>, Counts)>,
        destructive: Vec<Placement>,
        place: Vec<Placement>,
    ) {
        let (nodes, by_dc) =
            ready.unwrap_or_else(|| ready_nodes_in_dcs(&ctx.view, &self.job.datacenters));
        let deployment_id = self
            .deployment
            .as_ref()
            .map(|d| d.id.clone())
            .unwrap_or_default();
        // The ring's order is drawn first, so that the nodes are
        // preloaded (in ID order) into slots laid out as the ring visits
        // them.
        let visits =
            (destructive.len() + place.len()).saturating_mul(self.stack.limit_for(nodes.len()));
        let ring = rng.shuffled_positions(nodes.len());
        let slots = ctx.preload(&nodes, visits, Some(&ring));
        let ring = ring
            .iter()
            .map(|&p| (nodes[p as usize], Some(slots[p as usize])))
            .collect();
        self.stack.set_ring(ring);
        // Taken by value: a placed allocation gets the placement's name.
        for missing in destructive.into_iter().chain(place) {
            let tg = &self.job.task_groups[missing.group];
            if let Some(m) = self.failed.get_mut(&tg.name) {
                m.coalesced_failures += 1;
                continue;
            }
            let preferred = self.preferred_node(ctx, &missing);
            if let (Some(desc), Some(prev)) = (missing.stop_previous, &missing.previous) {
                ctx.append_update(prev, ALLOC_DESIRED_STOP, desc, "");
            }
            let option = match preferred {
                Some(node) => self.stack.select_preferring(ctx, rng, tg, node),
                None => self.stack.select(ctx, rng, tg),
            };
            ctx.metrics.nodes_available = by_dc.clone();
            let Some(option) = option else {
                self.failed.insert(tg.name.clone(), ctx.take_metrics());
                if let (Some(_), Some(prev)) = (missing.stop_previous, &missing.previous) {
                    ctx.pop_update(prev);
                }
                continue;
            };
            let alloc = Arc::new(Allocation {
                id: rng.uuid(),
                eval_id: self.eval.id.clone(),
                name: missing.name.build(&self.eval.job_id, &tg.name),
                node_id: option.node.id.clone(),
                job_id: self.job.id.clone(),
                task_group: tg.name.clone(),
                metrics: Some(ctx.take_metrics()),
                deployment_id: deployment_id.clone(),
                task_resources: option.task_resources(tg),
                desired_status: ALLOC_DESIRED_RUN.into(),
                client_status: ALLOC_CLIENT_PENDING.into(),
                shared_resources: Some(Resources {
                    disk_mb: tg.ephemeral_disk.as_ref().map_or(0, |d| d.size_mb),
                    ..Default::default()
                }),
                previous_allocation: missing
                    .previous
                    .as_ref()
                    .map(|p| p.id.clone())
                    .unwrap_or_default(),
                ..Default::default()
            });
            if missing.canary {
                self.record_canary(ctx, &tg.name, &alloc.id);
            }
            ctx.append_placement_in(option.slot, alloc);
        }
    }

    /// A sticky disk prefers the previous allocation's node if it is ready.
    fn preferred_node(
        &self,
        ctx: &EvalContext<'a>,
        missing: &Placement,
    ) -> Option<&'a crate::model::Node> {
        let prev = missing.previous.as_ref()?;
        let sticky = self.job.task_groups[missing.group]
            .ephemeral_disk
            .as_ref()
            .is_some_and(|d| d.sticky);
        if !sticky {
            return None;
        }
        ctx.view.node(&prev.node_id).filter(|n| n.ready())
    }

    /// Records a placed canary in the evaluation's deployment (and carries
    /// that deployment in the plan so the record is kept).
    fn record_canary(&mut self, ctx: &mut EvalContext<'a>, group: &str, alloc_id: &str) {
        if let Some(d) = self.deployment.as_mut() {
            if let Some(state) = d.task_groups.get_mut(group) {
                state.placed_canaries.push(alloc_id.to_string());
                ctx.plan.deployment = Some(d.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
