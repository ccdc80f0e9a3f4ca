//! The placement stacks: the feasibility and ranking steps composed in
//! Nomad's order — generic (shuffled ring, limit, max score) and system
//! (one given node, first fit).

use crate::model::{Constraint, Job, Node, Scores, TaskGroup};
use crate::scheduler::context::EvalContext;
use crate::scheduler::feasible::{
    class_feasible, distinct_hosts_ok, driver_attribute, ClassChecks, NodeRing, PropertySet,
    CONSTRAINT_DISTINCT_HOSTS, CONSTRAINT_DISTINCT_PROPERTY,
};
use crate::scheduler::rank::{bin_pack_fit, job_anti_affinity, GroupFit, RankedNode};
use crate::scheduler::rng::Rng;
use crate::scheduler::update::SelectOn;

/// Anti-affinity penalty per own allocation on a node (service jobs).
const SERVICE_ANTI_AFFINITY_PENALTY: f64 = 20.0;
/// The same for batch jobs.
const BATCH_ANTI_AFFINITY_PENALTY: f64 = 10.0;

/// The per-group inputs of a selection.
struct GroupAsk {
    constraints: Vec<Constraint>,
    driver_attributes: Vec<String>,
    distinct_hosts: bool,
    fit: GroupFit,
}

impl GroupAsk {
    fn of(tg: &TaskGroup) -> Self {
        let constraints = tg
            .constraints
            .iter()
            .chain(tg.tasks.iter().flat_map(|t| t.constraints.iter()))
            .cloned()
            .collect();
        let mut drivers: Vec<&str> = tg.tasks.iter().map(|t| t.driver.as_str()).collect();
        drivers.sort_unstable();
        drivers.dedup();
        GroupAsk {
            constraints,
            driver_attributes: drivers.into_iter().map(driver_attribute).collect(),
            distinct_hosts: tg
                .constraints
                .iter()
                .any(|c| c.operand == CONSTRAINT_DISTINCT_HOSTS),
            fit: GroupFit::of(tg),
        }
    }
}

/// The selection inputs of one task group, made on its first selection.
struct GroupChecks {
    name: String,
    ask: GroupAsk,
    /// Its memo in the pass's eligibility ([`Eligibility::group_id`]).
    ///
    /// [`Eligibility::group_id`]: crate::scheduler::feasible::Eligibility::group_id
    eligibility: usize,
    /// Its distinct_property sets, made once a job is set.
    properties: Option<Vec<PropertySet>>,
}

/// What both stacks share: the job-level settings and property sets.
#[derive(Default)]
struct JobChecks {
    constraints: Vec<Constraint>,
    distinct_hosts: bool,
    job_properties: Vec<PropertySet>,
    /// Per group (one job per pass, a few groups), in order of first use.
    groups: Vec<GroupChecks>,
    /// The group of the last selection: a pass selects for the same group
    /// many times in a row, and finds it again without comparing names.
    last_group: usize,
    job: Option<std::sync::Arc<Job>>,
}

impl JobChecks {
    fn set_job(&mut self, ctx: &mut EvalContext<'_>, job: &std::sync::Arc<Job>) {
        self.constraints = job.constraints.clone();
        self.distinct_hosts = job
            .constraints
            .iter()
            .any(|c| c.operand == CONSTRAINT_DISTINCT_HOSTS);
        self.job_properties = job
            .constraints
            .iter()
            .filter(|c| c.operand == CONSTRAINT_DISTINCT_PROPERTY)
            .map(|c| PropertySet::new(ctx, job, c, None))
            .collect();
        self.job = Some(job.clone());
        ctx.eligibility.set_job(job);
    }

    /// Refreshes the property sets from the plan and finds the group's
    /// checks (made on first use, its property sets once a job is set);
    /// returns the group's index and whether any distinct_property applies.
    fn prepare(&mut self, ctx: &mut EvalContext<'_>, tg: &TaskGroup) -> (usize, bool) {
        for set in self.job_properties.iter_mut().chain(
            self.groups
                .iter_mut()
                .filter_map(|g| g.properties.as_mut())
                .flatten(),
        ) {
            set.populate_proposed(ctx);
        }
        let last = self.last_group;
        let found = match self.groups.get(last) {
            Some(g) if g.name == tg.name => Some(last),
            _ => self.groups.iter().position(|g| g.name == tg.name),
        };
        let g = match found {
            Some(g) => g,
            None => {
                self.groups.push(GroupChecks {
                    name: tg.name.clone(),
                    ask: GroupAsk::of(tg),
                    eligibility: ctx.eligibility.group_id(&tg.name),
                    properties: None,
                });
                self.groups.len() - 1
            }
        };
        self.last_group = g;
        let group = &mut self.groups[g];
        if let (None, Some(job)) = (&group.properties, &self.job) {
            group.properties = Some(
                tg.constraints
                    .iter()
                    .filter(|c| c.operand == CONSTRAINT_DISTINCT_PROPERTY)
                    .map(|c| PropertySet::new(ctx, job, c, Some(&tg.name)))
                    .collect(),
            );
        }
        let has_group_sets = group.properties.as_ref().is_some_and(|s| !s.is_empty());
        (g, !self.job_properties.is_empty() || has_group_sets)
    }

    fn properties_ok(&self, ctx: &mut EvalContext<'_>, node: &Node, group: usize) -> bool {
        let group_sets = self.groups[group].properties.iter().flatten();
        for set in self.job_properties.iter().chain(group_sets) {
            if let Err(reason) = set.satisfies(node) {
                ctx.filter_node(node, &reason);
                return false;
            }
        }
        true
    }
}

/// The service and batch stack.
pub(crate) struct GenericStack<'a> {
    batch: bool,
    source: NodeRing<'a>,
    limit: usize,
    checks: JobChecks,
}

impl<'a> GenericStack<'a> {
    pub fn new(batch: bool) -> Self {
        GenericStack {
            batch,
            source: NodeRing::default(),
            limit: 2,
            checks: JobChecks::default(),
        }
    }

    pub fn set_job(&mut self, ctx: &mut EvalContext<'_>, job: &std::sync::Arc<Job>) {
        self.checks.set_job(ctx, job);
    }

    /// Shuffles `nodes` into the ring and sets the limit: 2 for batch,
    /// `max(2, ceil(log2 n))` for service.
    #[cfg(test)]
    pub fn set_nodes(&mut self, rng: &mut Rng, nodes: Vec<&'a Node>) {
        self.set_slotted(rng, nodes.into_iter().map(|n| (n, None)).collect());
    }

    /// [`GenericStack::set_nodes`] with each node's slot in the context.
    /// The pairs are shuffled as the nodes alone would be: the same draws,
    /// the same order.
    #[cfg(test)]
    pub fn set_slotted(&mut self, rng: &mut Rng, nodes: Vec<(&'a Node, Option<u32>)>) {
        let ring = rng.shuffled_positions(nodes.len());
        self.set_ring(ring.iter().map(|&p| nodes[p as usize]).collect());
    }

    /// Takes `nodes` (with each node's slot in the context, as
    /// [`EvalContext::preload`] returns them) as the ring, in the order
    /// given (drawn by [`Rng::shuffled_positions`]).
    pub fn set_ring(&mut self, nodes: Vec<(&'a Node, Option<u32>)>) {
        self.limit = self.limit_for(nodes.len());
        self.source.set_slotted(nodes);
    }

    /// [`GenericStack::set_nodes`] for one node (nothing to shuffle),
    /// reusing the ring's list.
    fn set_node(&mut self, node: &'a Node) {
        self.limit = self.limit_for(1);
        self.source.set_node(node);
    }

    /// The limit for a ring of `n` nodes.
    pub fn limit_for(&self, n: usize) -> usize {
        if self.batch || n == 0 {
            return 2;
        }
        // ceil(log2 n) in integers: exact where floats could round.
        let log = usize::BITS - (n - 1).leading_zeros();
        (log as usize).max(2)
    }

    /// Tries `preferred` first, then the regular ring (which restarts at
    /// its first node, as Nomad's does after swapping the node list).
    pub fn select_preferring(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        tg: &TaskGroup,
        preferred: &'a Node,
    ) -> Option<RankedNode<'a>> {
        let original = self.source.take_nodes();
        self.source.set_nodes(vec![preferred]);
        let first = self.select(ctx, rng, tg);
        self.source.set_slotted(original);
        if first.is_some() {
            return first;
        }
        self.select(ctx, rng, tg)
    }

    /// One selection: the best of the first `limit` nodes that pass every
    /// check (ties go to the first seen).
    pub fn select(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        tg: &TaskGroup,
    ) -> Option<RankedNode<'a>> {
        ctx.metrics = Default::default();
        // At most two scores (bin-pack, anti-affinity) per ranked node.
        ctx.metrics.scores = Scores::with_capacity(2 * self.limit);
        self.source.reset();
        let (group, has_properties) = self.checks.prepare(ctx, tg);
        let ask = &self.checks.groups[group].ask;
        let class_checks = ClassChecks {
            job_constraints: &self.checks.constraints,
            drivers: &ask.driver_attributes,
            group_constraints: &ask.constraints,
            group: self.checks.groups[group].eligibility,
        };
        let penalty = if self.batch {
            BATCH_ANTI_AFFINITY_PENALTY
        } else {
            SERVICE_ANTI_AFFINITY_PENALTY
        };
        let hosts = self.checks.distinct_hosts || ask.distinct_hosts;
        let mut best: Option<RankedNode<'a>> = None;
        let mut ranked = 0;
        while ranked < self.limit {
            let Some(node) = self.source.next(ctx) else {
                break;
            };
            if !class_feasible(ctx, node, &class_checks) {
                continue;
            }
            if hosts && !distinct_hosts_ok(ctx, node, self.checks.distinct_hosts, &tg.name) {
                ctx.filter_node(node, CONSTRAINT_DISTINCT_HOSTS);
                continue;
            }
            if has_properties && !self.checks.properties_ok(ctx, node, group) {
                continue;
            }
            let Some(mut option) = bin_pack_fit(ctx, rng, node, tg, &ask.fit) else {
                continue;
            };
            job_anti_affinity(ctx, &mut option, penalty);
            ranked += 1;
            if best.as_ref().is_none_or(|b| option.score > b.score) {
                best = Some(option);
            }
        }
        best
    }
}

/// The system stack: the one node it is given, first fit.
pub(crate) struct SystemStack<'a> {
    source: NodeRing<'a>,
    checks: JobChecks,
}

impl<'a> SystemStack<'a> {
    pub fn new() -> Self {
        SystemStack {
            source: NodeRing::default(),
            checks: JobChecks::default(),
        }
    }

    pub fn set_job(&mut self, ctx: &mut EvalContext<'_>, job: &std::sync::Arc<Job>) {
        self.checks.set_job(ctx, job);
    }

    pub fn set_node(&mut self, node: &'a Node) {
        self.source.set_node(node);
    }

    pub fn select(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        tg: &TaskGroup,
    ) -> Option<RankedNode<'a>> {
        ctx.metrics = Default::default();
        // One node, one bin-pack score: the list is made with room for
        // exactly that (not grown to the default four).
        ctx.metrics.scores = Scores::with_capacity(1);
        self.source.reset();
        let (group, has_properties) = self.checks.prepare(ctx, tg);
        let ask = &self.checks.groups[group].ask;
        let class_checks = ClassChecks {
            job_constraints: &self.checks.constraints,
            drivers: &ask.driver_attributes,
            group_constraints: &ask.constraints,
            group: self.checks.groups[group].eligibility,
        };
        while let Some(node) = self.source.next(ctx) {
            if !class_feasible(ctx, node, &class_checks) {
                continue;
            }
            if has_properties && !self.checks.properties_ok(ctx, node, group) {
                continue;
            }
            if let Some(option) = bin_pack_fit(ctx, rng, node, tg, &ask.fit) {
                return Some(option);
            }
        }
        None
    }
}

impl JobChecks {
    /// Whether any distinct_property constraint (they count planned stops
    /// from the plan) is in the job.
    fn reads_plan_stops(&self) -> bool {
        self.job.as_ref().is_some_and(|j| {
            j.constraints
                .iter()
                .chain(j.task_groups.iter().flat_map(|g| g.constraints.iter()))
                .any(|c| c.operand == CONSTRAINT_DISTINCT_PROPERTY)
        })
    }
}

impl<'a> SelectOn<'a> for GenericStack<'a> {
    fn reads_plan_stops(&self) -> bool {
        self.checks.reads_plan_stops()
    }

    fn select_on(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        node: &'a Node,
        tg: &TaskGroup,
    ) -> Option<RankedNode<'a>> {
        self.set_node(node);
        self.select(ctx, rng, tg)
    }
}

impl<'a> SelectOn<'a> for SystemStack<'a> {
    fn reads_plan_stops(&self) -> bool {
        self.checks.reads_plan_stops()
    }

    fn select_on(
        &mut self,
        ctx: &mut EvalContext<'a>,
        rng: &mut Rng,
        node: &'a Node,
        tg: &TaskGroup,
    ) -> Option<RankedNode<'a>> {
        self.set_node(node);
        self.select(ctx, rng, tg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Allocation, EphemeralDisk, Resources, Task};
    use crate::scheduler::context::StateView;
    use crate::scheduler::plan::Plan;
    use crate::state::ClusterState;
    use std::sync::Arc;

    fn node(i: usize, class: &str) -> Node {
        let mut n = Node {
            id: format!("node-{i}"),
            datacenter: "dc1".into(),
            node_class: class.into(),
            status: "ready".into(),
            attributes: [("driver.raw_exec".to_string(), "1".to_string())].into(),
            resources: Some(Resources {
                cpu: 4000,
                memory_mb: 8192,
                disk_mb: 100_000,
                ..Default::default()
            }),
            ..Default::default()
        };
        n.compute_class();
        n
    }

    fn job(constraints: Vec<Constraint>, group_constraints: Vec<Constraint>) -> Arc<Job> {
        Arc::new(Job {
            id: "j".into(),
            job_type: "service".into(),
            constraints,
            task_groups: vec![TaskGroup {
                name: "web".into(),
                count: 1,
                constraints: group_constraints,
                ephemeral_disk: Some(EphemeralDisk::nomad_default()),
                tasks: vec![Task {
                    name: "t".into(),
                    driver: "raw_exec".into(),
                    resources: Some(Resources {
                        cpu: 100,
                        memory_mb: 64,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    fn place(ctx: &mut EvalContext<'_>, option: &RankedNode<'_>, id: &str) {
        let tg = TaskGroup {
            tasks: vec![Task {
                name: "t".into(),
                resources: Some(Resources {
                    cpu: 100,
                    memory_mb: 64,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        ctx.append_placement(Arc::new(Allocation {
            id: id.into(),
            node_id: option.node.id.clone(),
            job_id: "j".into(),
            task_group: "web".into(),
            task_resources: option.task_resources(&tg),
            ..Default::default()
        }));
    }

    #[test]
    fn limit_is_log2_of_the_node_count_for_services() {
        let nodes: Vec<Node> = (0..1000).map(|i| node(i, "")).collect();
        let mut s = GenericStack::new(false);
        let mut rng = Rng::new(1);
        s.set_nodes(&mut rng, nodes.iter().collect());
        assert_eq!(s.limit, 10);
        s.set_nodes(&mut rng, nodes[..4].iter().collect());
        assert_eq!(s.limit, 2);
        s.set_nodes(&mut rng, nodes[..9].iter().collect());
        assert_eq!(s.limit, 4);
        let mut b = GenericStack::new(true);
        b.set_nodes(&mut rng, nodes.iter().collect());
        assert_eq!(b.limit, 2);
    }

    #[test]
    fn consecutive_selections_walk_the_ring_in_pairs() {
        let state = ClusterState::default();
        let nodes: Vec<Node> = (0..4).map(|i| node(i, "")).collect();
        let j = job(vec![], vec![]);
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let mut s = GenericStack::new(false);
        let mut rng = Rng::new(7);
        s.set_job(&mut ctx, &j);
        s.set_nodes(&mut rng, nodes.iter().collect());
        let order: Vec<String> = s.source.nodes().iter().map(|n| n.id.clone()).collect();
        let mut seen_pairs = Vec::new();
        for i in 0..4 {
            let option = s.select(&mut ctx, &mut rng, &j.task_groups[0]).unwrap();
            let mut scored: Vec<&str> = ctx
                .metrics
                .scores
                .keys()
                .filter_map(|k| k.strip_suffix(".binpack"))
                .collect();
            scored.sort();
            assert_eq!(ctx.metrics.nodes_evaluated, 2);
            seen_pairs.push(scored.join(","));
            place(&mut ctx, &option, &format!("a{i}"));
        }
        let pair = |a: usize, b: usize| {
            let mut p = [order[a].as_str(), order[b].as_str()];
            p.sort();
            p.join(",")
        };
        assert_eq!(seen_pairs, [pair(0, 1), pair(2, 3), pair(0, 1), pair(2, 3)]);
    }

    #[test]
    fn failed_selection_scans_every_node_and_distinct_hosts_filters() {
        let state = ClusterState::default();
        let nodes: Vec<Node> = (0..3).map(|i| node(i, "c")).collect();
        let j = job(vec![Constraint::new("", "distinct_hosts", "")], vec![]);
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let mut s = GenericStack::new(false);
        let mut rng = Rng::new(3);
        s.set_job(&mut ctx, &j);
        s.set_nodes(&mut rng, nodes.iter().collect());
        for i in 0..3 {
            let o = s.select(&mut ctx, &mut rng, &j.task_groups[0]).unwrap();
            place(&mut ctx, &o, &format!("a{i}"));
        }
        assert!(s.select(&mut ctx, &mut rng, &j.task_groups[0]).is_none());
        let m = &ctx.metrics;
        assert_eq!((m.nodes_evaluated, m.nodes_filtered), (3, 3));
        assert_eq!(m.constraint_filtered["distinct_hosts"], 3);
        assert_eq!(m.class_filtered["c"], 3);
    }

    #[test]
    fn group_distinct_property_limits_values() {
        let mut state = ClusterState::default();
        for i in 0..4 {
            let mut n = node(i, "");
            n.meta.insert("rack".into(), format!("r{}", i % 2));
            state
                .apply(crate::state::Command::UpsertNode { node: Box::new(n) })
                .unwrap();
        }
        let nodes: Vec<Node> = state.nodes().map(|n| (**n).clone()).collect();
        let j = job(
            vec![],
            vec![Constraint::new("${meta.rack}", "distinct_property", "")],
        );
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let mut s = GenericStack::new(false);
        let mut rng = Rng::new(5);
        s.set_job(&mut ctx, &j);
        s.set_nodes(&mut rng, nodes.iter().collect());
        let mut racks = Vec::new();
        for i in 0..2 {
            let o = s.select(&mut ctx, &mut rng, &j.task_groups[0]).unwrap();
            racks.push(o.node.meta["rack"].clone());
            place(&mut ctx, &o, &format!("a{i}"));
        }
        racks.sort();
        assert_eq!(racks, ["r0", "r1"]);
        assert!(s.select(&mut ctx, &mut rng, &j.task_groups[0]).is_none());
        assert_eq!(ctx.metrics.nodes_filtered, 4);
        assert_eq!(ctx.metrics.constraint_filtered.values().sum::<i64>(), 4);
        assert!(ctx
            .metrics
            .constraint_filtered
            .keys()
            .all(|k| k.starts_with("distinct_property: ${meta.rack}=r")
                && k.ends_with(" used by 1 allocs")));
    }

    #[test]
    fn system_stack_takes_the_first_fit_of_its_node() {
        let state = ClusterState::default();
        let nodes: Vec<Node> = (0..2).map(|i| node(i, "")).collect();
        let j = job(
            vec![Constraint::new("${node.unique.id}", "=", "node-1")],
            vec![],
        );
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let mut s = SystemStack::new();
        let mut rng = Rng::new(1);
        s.set_job(&mut ctx, &j);
        s.set_node(&nodes[0]);
        assert!(s.select(&mut ctx, &mut rng, &j.task_groups[0]).is_none());
        assert_eq!(
            ctx.metrics.constraint_filtered["${node.unique.id} = node-1"],
            1
        );
        s.set_node(&nodes[1]);
        let o = s.select(&mut ctx, &mut rng, &j.task_groups[0]).unwrap();
        assert_eq!(o.node.id, "node-1");
        assert_eq!(ctx.metrics.nodes_evaluated, 1);
        // Escaped job constraints are never memoized; the group's are.
        assert_eq!(
            ctx.eligibility.job_status(Some(0)),
            crate::scheduler::feasible::ClassStatus::Escaped
        );
        assert_eq!(
            ctx.class_eligibility(),
            [(nodes[1].computed_class.clone(), true)].into()
        );
    }
}
