//! Updating an existing allocation to a new job version: `tasksUpdated`
//! (what forces a replacement) and the in-place attempt that re-runs the
//! placement stack on the allocation's own node.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{Allocation, Job, NetworkResource, Resources, Task, TaskGroup, TaskResources};
use crate::scheduler::context::EvalContext;
use crate::scheduler::rank::RankedNode;
use crate::scheduler::reconcile::AllocUpdate;
use crate::scheduler::rng::Rng;

/// Task meta overlaid on group meta overlaid on job meta.
fn combined_meta<'j>(
    job: &'j Job,
    tg: &'j TaskGroup,
    task: &'j Task,
) -> BTreeMap<&'j str, &'j str> {
    let mut m: BTreeMap<&str, &str> = BTreeMap::new();
    for src in [&job.meta, &tg.meta, &task.meta] {
        for (k, v) in src {
            m.insert(k, v);
        }
    }
    m
}

/// Label → port value, dynamic ports as -1 (their values do not matter).
fn port_map(n: &NetworkResource) -> BTreeMap<&str, i64> {
    let mut m: BTreeMap<&str, i64> = n
        .reserved_ports
        .iter()
        .map(|p| (p.label.as_str(), p.value))
        .collect();
    for p in &n.dynamic_ports {
        m.insert(&p.label, -1);
    }
    m
}

/// Whether allocations of group `group` must be replaced to go from job
/// `b` to job `a` (Nomad's `tasksUpdated`; see diff.md).
pub(crate) fn tasks_updated(a: &Job, b: &Job, group: &str) -> bool {
    let (Some(ga), Some(gb)) = (a.task_group(group), b.task_group(group)) else {
        return true;
    };
    if ga.tasks.len() != gb.tasks.len() || ga.ephemeral_disk != gb.ephemeral_disk {
        return true;
    }
    let none = Resources::default();
    for at in &ga.tasks {
        let Some(bt) = gb.tasks.iter().find(|t| t.name == at.name) else {
            return true;
        };
        if at.driver != bt.driver
            || at.user != bt.user
            || at.config != bt.config
            || at.env != bt.env
            || at.artifacts != bt.artifacts
            || at.vault != bt.vault
            || at.templates != bt.templates
            || combined_meta(a, ga, at) != combined_meta(b, gb, bt)
        {
            return true;
        }
        let ar = at.resources.as_ref().unwrap_or(&none);
        let br = bt.resources.as_ref().unwrap_or(&none);
        if ar.networks.len() != br.networks.len() {
            return true;
        }
        for (an, bn) in ar.networks.iter().zip(&br.networks) {
            if an.mbits != bn.mbits || port_map(an) != port_map(bn) {
                return true;
            }
        }
        if ar.cpu != br.cpu || ar.memory_mb != br.memory_mb || ar.iops != br.iops {
            return true;
        }
    }
    false
}

/// The selection an in-place attempt runs: the stack restricted to one
/// node (provided by the scheduler).
pub(crate) trait SelectOn<'a> {
    /// Whether the stack reads planned stops from the plan itself
    /// (distinct_property), not only from node loads.
    fn reads_plan_stops(&self) -> bool;

    fn select_on(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        node: &'a crate::model::Node,
        tg: &TaskGroup,
    ) -> Option<RankedNode<'a>>;
}

/// Nomad's `genericAllocUpdateFn` for one pass: decides how each existing
/// allocation meets the job.
pub(crate) struct AllocUpdater<'e> {
    eval_id: &'e str,
    /// The answer of [`tasks_updated`] for the last (new job, old job,
    /// group) asked. The allocations of one job version share that
    /// version's `Job`, so a reconcile asks the same question for most of
    /// them; a stored job is immutable, so the same `Arc` means the same
    /// answer.
    last_tasks_updated: Option<(usize, Arc<Job>, String, bool)>,
}

impl<'e> AllocUpdater<'e> {
    pub fn new(eval_id: &'e str) -> Self {
        AllocUpdater {
            eval_id,
            last_tasks_updated: None,
        }
    }

    fn tasks_updated(&mut self, job: &Job, old_job: &Arc<Job>, group: &str) -> bool {
        let new_job = job as *const Job as usize;
        if let Some((j, old, g, updated)) = &self.last_tasks_updated {
            if *j == new_job && Arc::ptr_eq(old, old_job) && g == group {
                return *updated;
            }
        }
        let updated = tasks_updated(job, old_job, group);
        self.last_tasks_updated = Some((new_job, old_job.clone(), group.to_string(), updated));
        updated
    }

    /// Unchanged job → ignore; `tasksUpdated` → destructive; else an
    /// in-place version if the group still fits on the allocation's node.
    pub fn decide<'a>(
        &mut self,
        ctx: &mut EvalContext<'a>,
        stack: &mut impl SelectOn<'a>,
        rng: &mut Rng,
        existing: &Allocation,
        job: &Job,
        tg: &TaskGroup,
    ) -> AllocUpdate {
        let Some(old_job) = &existing.job else {
            return AllocUpdate::Destructive;
        };
        if old_job.job_modify_index == job.job_modify_index {
            return AllocUpdate::Ignore;
        }
        if self.tasks_updated(job, old_job, &tg.name) {
            return AllocUpdate::Destructive;
        }
        if existing.terminal() {
            return AllocUpdate::Ignore;
        }
        match try_in_place(ctx, stack, rng, self.eval_id, existing, tg) {
            Some(updated) => AllocUpdate::InPlace(updated),
            None => AllocUpdate::Destructive,
        }
    }
}

/// The in-place attempt: select on the allocation's own node with the old
/// allocation counted as gone; the new version keeps ID, name, node and
/// network assignments. `None` if the node is gone or the group no longer
/// fits there.
pub(crate) fn try_in_place<'a>(
    ctx: &mut EvalContext<'a>,
    stack: &mut impl SelectOn<'a>,
    rng: &mut Rng,
    eval_id: &str,
    existing: &Allocation,
    tg: &TaskGroup,
) -> Option<Arc<Allocation>> {
    let node = ctx.node_by_id(&existing.node_id)?;
    let in_plan = stack.reads_plan_stops();
    ctx.stage_stop(node, existing, in_plan);
    let option = stack.select_on(ctx, rng, node, tg);
    ctx.unstage_stop(node, existing, in_plan);
    option?;
    // The tasks' asks with the networks the allocation has: ports are
    // never changed in place (tasksUpdated guards it), so the node's
    // offers are not copied only to be dropped.
    let no_ask = Resources::default();
    let task_resources: TaskResources = tg
        .tasks
        .iter()
        .map(|task| {
            let ask = task.resources.as_ref().unwrap_or(&no_ask);
            let networks = existing
                .task_resources
                .get(&task.name)
                .map(|r| r.networks.clone())
                .unwrap_or_default();
            let res = Resources {
                cpu: ask.cpu,
                memory_mb: ask.memory_mb,
                disk_mb: ask.disk_mb,
                iops: ask.iops,
                networks,
            };
            (task.name.clone(), res)
        })
        .collect();
    // Only what the plan applier keeps: client-side fields (task states,
    // client status) are taken from the stored allocation on commit.
    let updated = Arc::new(Allocation {
        id: existing.id.clone(),
        eval_id: eval_id.to_string(),
        name: existing.name.clone(),
        node_id: existing.node_id.clone(),
        job_id: existing.job_id.clone(),
        job: None,
        task_group: existing.task_group.clone(),
        resources: None,
        shared_resources: existing.shared_resources.clone(),
        task_resources,
        metrics: Some(ctx.take_metrics()),
        desired_status: existing.desired_status.clone(),
        desired_description: existing.desired_description.clone(),
        client_status: existing.client_status.clone(),
        client_description: existing.client_description.clone(),
        task_states: Default::default(),
        previous_allocation: existing.previous_allocation.clone(),
        deployment_id: existing.deployment_id.clone(),
        deployment_status: existing.deployment_status.clone(),
        create_index: existing.create_index,
        modify_index: existing.modify_index,
        alloc_modify_index: existing.alloc_modify_index,
        create_time: existing.create_time,
    });
    Some(updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EphemeralDisk, Port, TaskArtifact};

    fn job() -> Job {
        Job {
            id: "j".into(),
            task_groups: vec![TaskGroup {
                name: "web".into(),
                count: 1,
                ephemeral_disk: Some(EphemeralDisk::nomad_default()),
                tasks: vec![Task {
                    name: "t".into(),
                    driver: "raw_exec".into(),
                    resources: Some(Resources {
                        cpu: 100,
                        memory_mb: 64,
                        networks: vec![NetworkResource {
                            mbits: 10,
                            reserved_ports: vec![Port {
                                label: "http".into(),
                                value: 80,
                            }],
                            dynamic_ports: vec![Port {
                                label: "admin".into(),
                                value: 0,
                            }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn what_forces_a_replacement() {
        let base = job();
        type Change = fn(&mut Job);
        let destructive: [(&str, Change); 11] = [
            ("driver", |j| {
                j.task_groups[0].tasks[0].driver = "exec".into()
            }),
            ("env", |j| {
                j.task_groups[0].tasks[0].env.insert("A".into(), "1".into());
            }),
            ("config", |j| {
                j.task_groups[0].tasks[0]
                    .config
                    .insert("x".into(), 1.into());
            }),
            ("job meta", |j| {
                j.meta.insert("rev".into(), "2".into());
            }),
            ("group meta", |j| {
                j.task_groups[0].meta.insert("rev".into(), "2".into());
            }),
            ("cpu", |j| {
                j.task_groups[0].tasks[0].resources.as_mut().unwrap().cpu = 200
            }),
            ("reserved port", |j| {
                j.task_groups[0].tasks[0]
                    .resources
                    .as_mut()
                    .unwrap()
                    .networks[0]
                    .reserved_ports[0]
                    .value = 81
            }),
            ("mbits", |j| {
                j.task_groups[0].tasks[0]
                    .resources
                    .as_mut()
                    .unwrap()
                    .networks[0]
                    .mbits = 20
            }),
            ("disk", |j| {
                j.task_groups[0].ephemeral_disk.as_mut().unwrap().size_mb = 500
            }),
            ("artifact", |j| {
                j.task_groups[0].tasks[0]
                    .artifacts
                    .push(TaskArtifact::default())
            }),
            ("new task", |j| {
                let mut t = j.task_groups[0].tasks[0].clone();
                t.name = "u".into();
                j.task_groups[0].tasks.push(t);
            }),
        ];
        for (what, change) in destructive {
            let mut j = base.clone();
            change(&mut j);
            assert!(tasks_updated(&j, &base, "web"), "{what}");
        }
        let in_place: [(&str, Change); 6] = [
            ("count", |j| j.task_groups[0].count = 5),
            ("priority", |j| j.priority = 70),
            ("kill timeout", |j| {
                j.task_groups[0].tasks[0].kill_timeout = 1
            }),
            ("datacenters", |j| j.datacenters = vec!["dc9".into()]),
            ("dynamic port value", |j| {
                j.task_groups[0].tasks[0]
                    .resources
                    .as_mut()
                    .unwrap()
                    .networks[0]
                    .dynamic_ports[0]
                    .value = 23456
            }),
            ("disk in task", |j| {
                j.task_groups[0].tasks[0]
                    .resources
                    .as_mut()
                    .unwrap()
                    .disk_mb = 99
            }),
        ];
        for (what, change) in in_place {
            let mut j = base.clone();
            change(&mut j);
            assert!(!tasks_updated(&j, &base, "web"), "{what}");
        }
        // Task meta overriding job meta with the same value is no change.
        let mut a = base.clone();
        a.meta.insert("k".into(), "v".into());
        let mut b = base.clone();
        b.task_groups[0].tasks[0]
            .meta
            .insert("k".into(), "v".into());
        assert!(!tasks_updated(&a, &b, "web"));
        assert!(tasks_updated(&a, &b, "missing"));
    }
}
