//! The system scheduler (Nomad's `system_sched.go`): one allocation of
//! each group on every ready node of the job's datacenters, in-place where
//! possible, destructive updates under the job's rolling limit.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{
    AllocMetric, Allocation, Counts, Evaluation, Job, Node, Resources, TaskResources,
    ALLOC_CLIENT_LOST, ALLOC_CLIENT_PENDING, ALLOC_DESIRED_RUN, ALLOC_DESIRED_STOP, JOB_TYPE_BATCH,
};
use crate::scheduler::context::{EvalContext, StateView};
use crate::scheduler::pass::{
    make_plan, next_rolling_eval, ready_nodes_in_dcs, stop_lost_on_tainted, tainted_nodes, Carry,
    PassOutcome,
};
use crate::scheduler::plan::{DesiredUpdates, PlanAnnotations};
use crate::scheduler::reconcile::{ALLOC_LOST, ALLOC_NOT_NEEDED, ALLOC_UPDATING};
use crate::scheduler::rng::Rng;
use crate::scheduler::stack::SystemStack;
use crate::scheduler::update::{tasks_updated, try_in_place};

/// One required or existing allocation of the system diff.
#[derive(Debug, Clone)]
struct Tuple<'a> {
    name: String,
    /// Index of the group in the job (`None` for names no longer required).
    group: Option<usize>,
    /// The existing allocation (or, for a placement, the previous one).
    alloc: Option<Arc<Allocation>>,
    /// Where a new placement goes (destructive updates go where `alloc` is).
    node: Option<&'a Node>,
}

#[derive(Debug, Default)]
struct Diff<'a> {
    place: Vec<Tuple<'a>>,
    update: Vec<Tuple<'a>>,
    stop: Vec<Tuple<'a>>,
    ignore: Vec<Tuple<'a>>,
    lost: Vec<Tuple<'a>>,
}

/// `<Name>.<group>[i]` for every group and count (nothing when stopped).
fn materialize(job: Option<&Job>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let Some(job) = job.filter(|j| !j.stop) else {
        return out;
    };
    for (gi, tg) in job.task_groups.iter().enumerate() {
        for i in 0..tg.count.max(0) {
            out.insert(format!("{}.{}[{}]", job.name, tg.name, i), gi);
        }
    }
    out
}

/// Nomad's `diffSystemAllocs`, node by node in ID order: the ready nodes
/// (sorted by ID) merged with the nodes holding allocations.
fn diff_system<'a>(
    job: Option<&Job>,
    nodes: &[&'a Node],
    tainted: &BTreeMap<String, Option<&Node>>,
    allocs: &[Arc<Allocation>],
    terminal: &BTreeMap<String, Arc<Allocation>>,
) -> Diff<'a> {
    let mut by_node: Vec<&Arc<Allocation>> = allocs.iter().collect();
    by_node.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    let required = materialize(job);
    let mut d = Diff::default();
    let (mut i, mut n) = (0, 0);
    while i < by_node.len() || n < nodes.len() {
        let node_id: &str = match (by_node.get(i), nodes.get(n)) {
            (Some(a), Some(r)) => a.node_id.as_str().min(r.id.as_str()),
            (Some(a), None) => &a.node_id,
            (None, Some(r)) => &r.id,
            (None, None) => break,
        };
        let ready = nodes.get(n).filter(|r| r.id == node_id).copied();
        n += usize::from(ready.is_some());
        let start = i;
        while by_node.get(i).is_some_and(|a| a.node_id == node_id) {
            i += 1;
        }
        let here = &by_node[start..i];
        let node_tainted = tainted.contains_key(node_id);
        for a in here {
            let group = required.get(&a.name).copied();
            let t = Tuple {
                name: a.name.clone(),
                group,
                alloc: Some((*a).clone()),
                node: None,
            };
            if group.is_none() {
                d.stop.push(t);
                continue;
            }
            if let Some(node) = tainted.get(&a.node_id) {
                let batch_done = a.job.as_ref().is_some_and(|j| j.job_type == JOB_TYPE_BATCH)
                    && a.ran_successfully();
                if !batch_done {
                    match node {
                        Some(n) if n.status != crate::model::NODE_STATUS_DOWN => d.stop.push(t),
                        _ => d.lost.push(t),
                    }
                    continue;
                }
            } else if a.job.as_ref().map(|j| j.job_modify_index) != job.map(|j| j.job_modify_index)
            {
                d.update.push(t);
                continue;
            }
            d.ignore.push(t);
        }
        if node_tainted {
            continue;
        }
        for (name, group) in &required {
            if here.iter().any(|a| a.name == *name) {
                continue;
            }
            let previous = terminal.get(name).filter(|p| p.node_id == node_id).cloned();
            d.place.push(Tuple {
                name: name.clone(),
                group: Some(*group),
                alloc: previous,
                node: ready,
            });
        }
    }
    d
}

fn group_name<'t>(job: Option<&'t Job>, t: &'t Tuple<'_>) -> &'t str {
    match (job, t.group) {
        (Some(j), Some(g)) => &j.task_groups[g].name,
        _ => t.alloc.as_ref().map_or("", |a| a.task_group.as_str()),
    }
}

/// Nomad's `desiredUpdates` (computed before the rolling limit).
fn desired_updates(
    job: Option<&Job>,
    d: &Diff,
    in_place: &[Tuple],
    destructive: &[Tuple],
) -> BTreeMap<String, DesiredUpdates> {
    let mut out: BTreeMap<String, DesiredUpdates> = BTreeMap::new();
    let mut count = |t: &Tuple, f: fn(&mut DesiredUpdates)| {
        f(out.entry(group_name(job, t).to_string()).or_default());
    };
    d.place.iter().for_each(|t| count(t, |u| u.place += 1));
    d.stop.iter().for_each(|t| count(t, |u| u.stop += 1));
    d.ignore.iter().for_each(|t| count(t, |u| u.ignore += 1));
    in_place
        .iter()
        .for_each(|t| count(t, |u| u.in_place_update += 1));
    destructive
        .iter()
        .for_each(|t| count(t, |u| u.destructive_update += 1));
    out
}

/// One pass of the system scheduler.
pub(crate) fn process<'a>(
    view: StateView<'a>,
    eval: &Evaluation,
    rng: &mut Rng,
    carry: &mut Carry,
) -> Result<PassOutcome, String> {
    let job = view.job(&eval.job_id);
    let job_ref = job.as_deref();
    let stopped = job_ref.is_none_or(|j| j.stop);
    let mut out = PassOutcome::default();
    let (nodes, by_dc) = match job_ref {
        Some(j) if !stopped => ready_nodes_in_dcs(&view, &j.datacenters),
        _ => (Vec::new(), Counts::new()),
    };
    let plan = make_plan(eval, job.as_ref());
    let ctx_job_id = job_ref
        .map_or(eval.job_id.as_str(), |j| j.id.as_str())
        .to_string();
    let mut ctx = EvalContext::new(view.clone(), plan, &ctx_job_id);
    let mut stack = SystemStack::new();
    if let (false, Some(j)) = (stopped, &job) {
        stack.set_job(&mut ctx, j);
    }

    let allocs = view.allocs_by_job(&eval.job_id);
    let tainted = tainted_nodes(&view, &allocs);
    stop_lost_on_tainted(&mut ctx, &tainted, &allocs);
    let mut terminal: BTreeMap<String, Arc<Allocation>> = BTreeMap::new();
    let mut live = Vec::with_capacity(allocs.len());
    for a in allocs {
        if a.terminal() {
            match terminal.get(&a.name) {
                Some(t) if t.create_index >= a.create_index => {}
                _ => {
                    terminal.insert(a.name.clone(), a);
                }
            }
        } else {
            live.push(a);
        }
    }
    let mut diff = diff_system(job_ref, &nodes, &tainted, &live, &terminal);
    for t in &diff.stop {
        if let Some(a) = &t.alloc {
            ctx.append_update(a, ALLOC_DESIRED_STOP, ALLOC_NOT_NEEDED, "");
        }
    }
    for t in &diff.lost {
        if let Some(a) = &t.alloc {
            ctx.append_update(a, ALLOC_DESIRED_STOP, ALLOC_LOST, ALLOC_CLIENT_LOST);
        }
    }

    // In-place where the tasks did not change and the node still fits.
    let (mut destructive, mut in_place) = (Vec::new(), Vec::new());
    for t in std::mem::take(&mut diff.update) {
        let (Some(j), Some(g), Some(a)) = (job_ref, t.group, t.alloc.clone()) else {
            destructive.push(t);
            continue;
        };
        let tg = &j.task_groups[g];
        let changed = a
            .job
            .as_ref()
            .is_none_or(|old| tasks_updated(j, old, &tg.name));
        if changed {
            destructive.push(t);
            continue;
        }
        if a.terminal() {
            in_place.push(t);
            continue;
        }
        match try_in_place(&mut ctx, &mut stack, rng, &eval.id, &a, tg) {
            Some(updated) => {
                ctx.append_in_place(updated);
                in_place.push(t);
            }
            None => destructive.push(t),
        }
    }
    if eval.annotate_plan {
        ctx.plan.annotations = Some(PlanAnnotations {
            desired_tg_updates: desired_updates(job_ref, &diff, &in_place, &destructive),
        });
    }

    // Destructive updates under the job's rolling limit.
    let mut limit = destructive.len();
    if let (false, Some(j)) = (stopped, job_ref) {
        if j.update.rolling() {
            limit = j.update.max_parallel.max(0) as usize;
        }
    }
    let limit_reached = destructive.len() > limit;
    for t in destructive.into_iter().take(limit) {
        if let Some(a) = &t.alloc {
            ctx.append_update(a, ALLOC_DESIRED_STOP, ALLOC_UPDATING, "");
        }
        diff.place.push(t);
    }

    if diff.place.is_empty() {
        if let (false, Some(j)) = (stopped, job_ref) {
            for tg in &j.task_groups {
                out.queued.insert(tg.name.clone(), 0);
            }
        }
    } else if let Some(j) = job_ref {
        // Counted per run of placements of one group (one group on
        // thousands of nodes: one lookup); the group's name is copied once,
        // not once per placement.
        let mut count = |name: &str, n: i64| match out.queued.get_mut(name) {
            Some(queued) => *queued += n,
            None => {
                out.queued.insert(name.to_string(), n);
            }
        };
        let mut run: Option<(&str, i64)> = None;
        for t in &diff.place {
            let name = group_name(job_ref, t);
            match &mut run {
                Some((group, n)) if *group == name => *n += 1,
                _ => {
                    if let Some((group, n)) = run.replace((name, 1)) {
                        count(group, n);
                    }
                }
            }
        }
        if let Some((group, n)) = run {
            count(group, n);
        }
        ctx.preload(&nodes, diff.place.len(), None);
        place(
            &mut ctx, &mut stack, rng, eval, j, &by_dc, diff.place, &mut out,
        )?;
    }

    out.record_eligibility(&ctx);
    if ctx.plan.is_no_op() && !eval.annotate_plan {
        return Ok(out);
    }
    if limit_reached && carry.next_eval.is_none() {
        let stagger = job_ref.map_or(0, |j| j.update.stagger);
        let next = next_rolling_eval(eval, stagger, rng);
        carry.next_eval = Some(next.clone());
        out.created_evals.push(next);
    }
    out.plan = Some(ctx.plan);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn place<'a>(
    ctx: &mut EvalContext<'a>,
    stack: &mut SystemStack<'a>,
    rng: &mut Rng,
    eval: &Evaluation,
    job: &Job,
    by_dc: &Counts,
    missing: Vec<Tuple<'a>>,
    out: &mut PassOutcome,
) -> Result<(), String> {
    // Per group: its tasks' resources where no network is offered.
    let mut asked: Vec<Option<TaskResources>> = vec![None; job.task_groups.len()];
    // Mostly one placement per node, in node order.
    ctx.plan.node_allocation.reserve(missing.len());
    for m in missing {
        let Some(g) = m.group else { continue };
        let tg = &job.task_groups[g];
        // A replacement goes where the old allocation is, if that node is
        // one of the ready nodes of the job's datacenters.
        let node = m.node.or_else(|| {
            let a = m.alloc.as_ref()?;
            ctx.view
                .node(&a.node_id)
                .filter(|n| n.ready() && job.datacenters.contains(&n.datacenter))
        });
        let Some(node) = node else {
            let id = m.alloc.as_ref().map_or("", |a| a.node_id.as_str());
            return Err(format!("could not find node {}", crate::gofmt::quote(id)));
        };
        stack.set_node(node);
        let option = stack.select(ctx, rng, tg);
        if option.is_none() {
            // A node filtered by a constraint was never meant to run it.
            if ctx.metrics.nodes_filtered > 0 {
                *out.queued.entry(tg.name.clone()).or_default() -= 1;
                if let Some(a) = ctx.plan.annotations.as_mut() {
                    if let Some(u) = a.desired_tg_updates.get_mut(&tg.name) {
                        u.place = u.place.saturating_sub(1);
                    }
                }
            }
            if let Some(metric) = out.failed_tg_allocs.get_mut(&tg.name) {
                metric.coalesced_failures += 1;
                continue;
            }
        }
        ctx.metrics.nodes_available = by_dc.clone();
        let metrics: AllocMetric = ctx.take_metrics();
        match option {
            Some(option) => {
                let alloc = Arc::new(Allocation {
                    id: rng.uuid(),
                    eval_id: eval.id.clone(),
                    name: m.name,
                    node_id: option.node.id.clone(),
                    job_id: job.id.clone(),
                    task_group: tg.name.clone(),
                    metrics: Some(metrics),
                    task_resources: option.task_resources_from(tg, &mut asked[g]),
                    desired_status: ALLOC_DESIRED_RUN.into(),
                    client_status: ALLOC_CLIENT_PENDING.into(),
                    shared_resources: Some(Resources {
                        disk_mb: tg.ephemeral_disk.as_ref().map_or(0, |d| d.size_mb),
                        ..Default::default()
                    }),
                    previous_allocation: m.alloc.as_ref().map(|a| a.id.clone()).unwrap_or_default(),
                    ..Default::default()
                });
                ctx.append_placement_on(option.node, alloc);
            }
            None => {
                out.failed_tg_allocs.insert(tg.name.clone(), metrics);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
