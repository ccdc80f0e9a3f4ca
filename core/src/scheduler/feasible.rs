//! Feasibility: which nodes may run a task group at all — the node ring,
//! constraint and driver checks, per-class eligibility memo, distinct_hosts
//! and distinct_property (Nomad's `feasible.go` and `propertyset.go`).

use std::collections::BTreeMap;

use crate::gofmt::quote;
use crate::model::{Constraint, Job, Node};
use crate::scheduler::context::EvalContext;
use crate::validate::constraint::resolve_target;

pub(crate) const CONSTRAINT_DISTINCT_HOSTS: &str = "distinct_hosts";
pub(crate) const CONSTRAINT_DISTINCT_PROPERTY: &str = "distinct_property";

/// The nodes of one selection, visited as a ring: every selection sees each
/// node at most once and starts where the previous one stopped.
///
/// Each node may carry its slot in the [`EvalContext`] (when the context
/// preloaded it): a visit then hands the slot over, and the checks that
/// follow find it without hashing the node's address.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeRing<'a> {
    nodes: Vec<(&'a Node, Option<u32>)>,
    offset: usize,
    seen: usize,
}

impl<'a> NodeRing<'a> {
    pub fn set_nodes(&mut self, nodes: Vec<&'a Node>) {
        self.set_slotted(nodes.into_iter().map(|n| (n, None)).collect());
    }

    /// [`NodeRing::set_nodes`] with each node's slot in the context.
    pub fn set_slotted(&mut self, nodes: Vec<(&'a Node, Option<u32>)>) {
        self.nodes = nodes;
        self.offset = 0;
        self.seen = 0;
    }

    /// A ring of one node, reusing the list.
    pub fn set_node(&mut self, node: &'a Node) {
        self.nodes.clear();
        self.nodes.push((node, None));
        self.offset = 0;
        self.seen = 0;
    }

    #[cfg(test)]
    pub fn nodes(&self) -> Vec<&'a Node> {
        self.nodes.iter().map(|(n, _)| *n).collect()
    }

    /// Takes the ring's nodes out (to put them back with
    /// [`NodeRing::set_slotted`]).
    pub fn take_nodes(&mut self) -> Vec<(&'a Node, Option<u32>)> {
        std::mem::take(&mut self.nodes)
    }

    /// A new selection: forget what was seen, keep the offset.
    pub fn reset(&mut self) {
        self.seen = 0;
    }

    pub fn next(&mut self, ctx: &mut EvalContext<'a>) -> Option<&'a Node> {
        let n = self.nodes.len();
        if self.offset == n || self.seen == n {
            if self.seen == n {
                return None;
            }
            self.offset = 0;
        }
        let (node, slot) = self.nodes[self.offset];
        if let Some(&(_, ahead)) = self.nodes.get(self.offset + crate::prefetch::AHEAD) {
            ctx.prefetch_visit(ahead);
        }
        self.offset += 1;
        self.seen += 1;
        ctx.visit(node, slot);
        Some(node)
    }
}

/// Checks `constraints` in order; the first failing one filters the node
/// under its `"<LTarget> <Operand> <RTarget>"` form.
#[inline]
pub(crate) fn meets_constraints(
    ctx: &mut EvalContext<'_>,
    node: &Node,
    constraints: &[Constraint],
) -> bool {
    for c in constraints {
        if !ctx.constraints.satisfies(node, c) {
            ctx.filter_node(node, &c.to_string());
            return false;
        }
    }
    true
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The node attribute announcing a driver.
pub(crate) fn driver_attribute(driver: &str) -> String {
    format!("driver.{driver}")
}

/// Every driver needs its attribute (`driver_attributes`, built with
/// [`driver_attribute`]) to parse as true.
pub(crate) fn has_drivers(
    ctx: &mut EvalContext<'_>,
    node: &Node,
    driver_attributes: &[String],
) -> bool {
    let ok = driver_attributes
        .iter()
        .all(|k| node.attributes.get(k).and_then(|v| parse_go_bool(v)) == Some(true));
    if !ok {
        ctx.filter_node(node, "missing drivers");
    }
    ok
}

/// A constraint target that defeats class caching (unique per node).
fn escapes(target: &str) -> bool {
    ["${node.unique.", "${attr.unique.", "${meta.unique."]
        .iter()
        .any(|p| target.starts_with(p))
}

fn any_escaped<'c>(mut constraints: impl Iterator<Item = &'c Constraint>) -> bool {
    constraints.any(|c| escapes(&c.ltarget) || escapes(&c.rtarget))
}

/// What an evaluation learned about a computed node class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClassStatus {
    Unknown,
    Ineligible,
    Eligible,
    Escaped,
}

/// The per-evaluation memo of class eligibility (Nomad's
/// `EvalEligibility`), at job level and per task group, by interned class.
#[derive(Debug, Clone, Default)]
pub(crate) struct Eligibility {
    job: Vec<ClassStatus>,
    job_escaped: bool,
    /// Group name and what is known of it, in order of first mention: a
    /// selection finds its group once ([`Eligibility::group_id`]) and each
    /// visited node then reads it by position.
    groups: Vec<(String, GroupEligibility)>,
}

/// The memo of one task group.
#[derive(Debug, Clone, Default)]
struct GroupEligibility {
    /// Whether a constraint of the group defeats class caching.
    escaped: bool,
    /// By interned class.
    classes: Vec<ClassStatus>,
}

fn get(v: &[ClassStatus], class: u32) -> ClassStatus {
    v.get(class as usize)
        .copied()
        .unwrap_or(ClassStatus::Unknown)
}

fn set(v: &mut Vec<ClassStatus>, class: u32, s: ClassStatus) {
    let i = class as usize;
    if v.len() <= i {
        v.resize(i + 1, ClassStatus::Unknown);
    }
    v[i] = s;
}

impl Eligibility {
    pub fn set_job(&mut self, job: &Job) {
        self.job_escaped = any_escaped(job.constraints.iter());
        for tg in &job.task_groups {
            let tasks = tg.tasks.iter().flat_map(|t| t.constraints.iter());
            let g = self.group_id(&tg.name);
            self.groups[g].1.escaped = any_escaped(tg.constraints.iter().chain(tasks));
        }
    }

    /// The position of group `group`'s memo (made empty, with nothing
    /// known, on first mention).
    pub fn group_id(&mut self, group: &str) -> usize {
        match self.groups.iter().position(|(name, _)| name == group) {
            Some(g) => g,
            None => {
                self.groups
                    .push((group.to_string(), GroupEligibility::default()));
                self.groups.len() - 1
            }
        }
    }

    /// Whether any constraint of the job escaped class caching.
    pub fn has_escaped(&self) -> bool {
        self.job_escaped || self.groups.iter().any(|(_, g)| g.escaped)
    }

    /// Class → eligible, merged over the groups and then the job: a class
    /// one group found eligible stays eligible, job ineligibility wins.
    /// (The merge does not depend on the order of the groups.)
    pub fn classes(&self, names: &[&str]) -> BTreeMap<String, bool> {
        let mut out = BTreeMap::new();
        let name = |i: usize| names.get(i).map_or_else(String::new, |n| n.to_string());
        for (i, s) in self.job.iter().enumerate() {
            match s {
                ClassStatus::Eligible => {
                    out.insert(name(i), true);
                }
                ClassStatus::Ineligible => {
                    out.insert(name(i), false);
                }
                _ => {}
            }
        }
        for (_, group) in &self.groups {
            for (i, s) in group.classes.iter().enumerate() {
                match s {
                    ClassStatus::Eligible => {
                        out.insert(name(i), true);
                    }
                    ClassStatus::Ineligible => {
                        out.entry(name(i)).or_insert(false);
                    }
                    _ => {}
                }
            }
        }
        out
    }

    pub fn job_status(&self, class: Option<u32>) -> ClassStatus {
        match class {
            Some(c) if !self.job_escaped => get(&self.job, c),
            _ => ClassStatus::Escaped,
        }
    }

    pub fn set_job_eligibility(&mut self, eligible: bool, class: u32) {
        set(&mut self.job, class, status(eligible));
    }

    /// What is known of `class` for the group at `group` (see
    /// [`Eligibility::group_id`]).
    pub fn group_status(&self, group: usize, class: Option<u32>) -> ClassStatus {
        let Some(class) = class else {
            return ClassStatus::Escaped;
        };
        match self.groups.get(group) {
            Some((_, g)) if g.escaped => ClassStatus::Escaped,
            Some((_, g)) => get(&g.classes, class),
            None => ClassStatus::Unknown,
        }
    }

    pub fn set_group_eligibility(&mut self, eligible: bool, group: usize, class: u32) {
        if let Some((_, g)) = self.groups.get_mut(group) {
            set(&mut g.classes, class, status(eligible));
        }
    }
}

fn status(eligible: bool) -> ClassStatus {
    if eligible {
        ClassStatus::Eligible
    } else {
        ClassStatus::Ineligible
    }
}

/// The checks whose outcome depends only on a node's computed class.
pub(crate) struct ClassChecks<'c> {
    pub job_constraints: &'c [Constraint],
    pub drivers: &'c [String],
    pub group_constraints: &'c [Constraint],
    /// The group's memo ([`Eligibility::group_id`]).
    pub group: usize,
}

/// Nomad's `FeasibilityWrapper`: job constraints, then drivers and group
/// constraints, each skipped when the node's class is already known.
pub(crate) fn class_feasible<'a>(
    ctx: &mut EvalContext<'a>,
    node: &'a Node,
    checks: &ClassChecks<'_>,
) -> bool {
    let class = ctx.class_of(node);
    let job_status = ctx.eligibility.job_status(class);
    if job_status == ClassStatus::Ineligible {
        ctx.filter_node(node, "computed class ineligible");
        return false;
    }
    // Most jobs have no job-level constraint: no call per visited node.
    if !checks.job_constraints.is_empty() && !meets_constraints(ctx, node, checks.job_constraints) {
        if let (Some(c), false) = (class, job_status == ClassStatus::Escaped) {
            ctx.eligibility.set_job_eligibility(false, c);
        }
        return false;
    }
    if let (Some(c), ClassStatus::Unknown) = (class, job_status) {
        ctx.eligibility.set_job_eligibility(true, c);
    }
    let group_status = ctx.eligibility.group_status(checks.group, class);
    match group_status {
        ClassStatus::Ineligible => {
            ctx.filter_node(node, "computed class ineligible");
            return false;
        }
        ClassStatus::Eligible => return true,
        _ => {}
    }
    let ok = has_drivers(ctx, node, checks.drivers)
        && meets_constraints(ctx, node, checks.group_constraints);
    if !ok {
        if let (Some(c), false) = (class, group_status == ClassStatus::Escaped) {
            ctx.eligibility
                .set_group_eligibility(false, checks.group, c);
        }
        return false;
    }
    if let (Some(c), ClassStatus::Unknown) = (class, group_status) {
        ctx.eligibility.set_group_eligibility(true, checks.group, c);
    }
    true
}

/// distinct_hosts: no other proposed allocation of the job (job level) or
/// of the job's group (group level) on the node.
pub(crate) fn distinct_hosts_ok<'a>(
    ctx: &mut EvalContext<'a>,
    node: &'a Node,
    job_level: bool,
    group: &str,
) -> bool {
    let taken = if job_level {
        ctx.job_allocs_on(node, None)
    } else {
        ctx.job_allocs_on(node, Some(group))
    };
    taken == 0
}

/// The values of one distinct_property constraint already in use (Nomad's
/// `propertySet`).
#[derive(Debug, Clone)]
pub(crate) struct PropertySet {
    ltarget: String,
    group: Option<String>,
    allowed: u64,
    error: Option<String>,
    existing: BTreeMap<String, u64>,
    proposed: BTreeMap<String, u64>,
    cleared: BTreeMap<String, u64>,
}

/// Go's `strconv.ParseUint(v, 10, 64)` error texts.
fn parse_go_uint(v: &str) -> Result<u64, String> {
    let func = format!("strconv.ParseUint: parsing {}", quote(v));
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{func}: invalid syntax"));
    }
    v.parse().map_err(|_| format!("{func}: value out of range"))
}

fn property(node: Option<&Node>, ltarget: &str) -> Option<String> {
    if ltarget.is_empty() {
        return None;
    }
    resolve_target(ltarget, node?)
}

impl PropertySet {
    /// A set for `constraint` of `job` (group-level when `group` is set),
    /// seeded with the job's live allocations and the plan so far.
    pub fn new(ctx: &EvalContext<'_>, job: &Job, c: &Constraint, group: Option<&str>) -> Self {
        let mut set = PropertySet {
            ltarget: c.ltarget.clone(),
            group: group.map(str::to_string),
            allowed: 1,
            error: None,
            existing: BTreeMap::new(),
            proposed: BTreeMap::new(),
            cleared: BTreeMap::new(),
        };
        if !c.rtarget.is_empty() {
            match parse_go_uint(&c.rtarget) {
                Ok(n) => set.allowed = n,
                Err(e) => {
                    set.error = Some(format!(
                        "failed to convert RTarget {} to uint64: {e}",
                        quote(&c.rtarget)
                    ));
                    return set;
                }
            }
        }
        for a in ctx.view.allocs_by_current_job(&job.id) {
            if a.terminal() || !set.in_group(&a.task_group) {
                continue;
            }
            if let Some(v) = property(ctx.view.node(&a.node_id), &set.ltarget) {
                *set.existing.entry(v).or_default() += 1;
            }
        }
        set.populate_proposed(ctx);
        set
    }

    fn in_group(&self, tg: &str) -> bool {
        self.group.as_deref().is_none_or(|g| g == tg)
    }

    /// Recounts the plan's placements and stops (Nomad does it on every
    /// selection).
    pub fn populate_proposed(&mut self, ctx: &EvalContext<'_>) {
        self.proposed.clear();
        self.cleared.clear();
        if self.error.is_some() {
            return;
        }
        for a in ctx.plan.node_update.values().flatten() {
            if !self.in_group(&a.task_group) {
                continue;
            }
            if let Some(v) = property(ctx.view.node(&a.node_id), &self.ltarget) {
                *self.cleared.entry(v).or_default() += 1;
            }
        }
        for a in ctx.plan.node_allocation.values().flatten() {
            if a.terminal() || !self.in_group(&a.task_group) {
                continue;
            }
            if let Some(v) = property(ctx.view.node(&a.node_id), &self.ltarget) {
                *self.proposed.entry(v).or_default() += 1;
            }
        }
        for v in self.proposed.keys() {
            match self.cleared.get(v).copied() {
                Some(0) => {
                    self.cleared.remove(v);
                }
                Some(n) if n > 1 => {
                    self.cleared.insert(v.clone(), n - 1);
                }
                _ => {}
            }
        }
    }

    /// `Ok` if `node` may take one more allocation, else the filter reason.
    pub fn satisfies(&self, node: &Node) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let Some(value) = property(Some(node), &self.ltarget) else {
            return Err(format!("missing property {}", quote(&self.ltarget)));
        };
        let used_before = self.existing.get(&value).copied();
        let proposed = self.proposed.get(&value).copied();
        if used_before.is_none() && proposed.is_none() {
            return Ok(());
        }
        let combined = used_before.unwrap_or(0) + proposed.unwrap_or(0);
        let used = combined.saturating_sub(self.cleared.get(&value).copied().unwrap_or(0));
        if used < self.allowed {
            return Ok(());
        }
        Err(format!(
            "distinct_property: {}={} used by {} allocs",
            self.ltarget, value, used
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::context::StateView;
    use crate::scheduler::plan::Plan;
    use crate::state::ClusterState;

    fn node(id: &str, class: &str) -> Node {
        let mut n = Node {
            id: id.into(),
            datacenter: "dc1".into(),
            node_class: class.into(),
            attributes: [
                ("driver.raw_exec".to_string(), "1".to_string()),
                ("driver.docker".to_string(), "false".to_string()),
                ("kernel.name".to_string(), "linux".to_string()),
            ]
            .into_iter()
            .collect(),
            meta: [("rack".to_string(), format!("r-{id}"))]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        n.computed_class = format!("v1:{class}");
        n
    }

    fn ctx(state: &ClusterState) -> EvalContext<'_> {
        EvalContext::new(StateView::new(state), Plan::default(), "j")
    }

    #[test]
    fn ring_resumes_where_the_last_selection_stopped() {
        let state = ClusterState::default();
        let mut c = ctx(&state);
        let (a, b, d) = (node("a", ""), node("b", ""), node("d", ""));
        let mut ring = NodeRing::default();
        ring.set_nodes(vec![&a, &b, &d]);
        assert_eq!(ring.next(&mut c).map(|n| n.id.as_str()), Some("a"));
        assert_eq!(ring.next(&mut c).map(|n| n.id.as_str()), Some("b"));
        ring.reset();
        let seq: Vec<_> = std::iter::from_fn(|| ring.next(&mut c).map(|n| n.id.clone())).collect();
        assert_eq!(seq, ["d", "a", "b"]);
        assert_eq!(c.metrics.nodes_evaluated, 5);
        let mut empty = NodeRing::default();
        assert!(empty.next(&mut c).is_none());
    }

    #[test]
    fn constraint_failure_filters_with_its_text() {
        let state = ClusterState::default();
        let mut c = ctx(&state);
        let n = node("a", "compute");
        let cons = [
            Constraint::new("${attr.kernel.name}", "=", "linux"),
            Constraint::new("${attr.kernel.name}", "=", "windows"),
        ];
        assert!(!meets_constraints(&mut c, &n, &cons));
        assert_eq!(
            c.metrics.constraint_filtered["${attr.kernel.name} = windows"],
            1
        );
        assert_eq!(c.metrics.class_filtered["compute"], 1);
        assert!(meets_constraints(&mut c, &n, &cons[..1]));
    }

    #[test]
    fn drivers_need_a_true_attribute() {
        let state = ClusterState::default();
        let mut c = ctx(&state);
        let n = node("a", "");
        let keys = |ds: &[&str]| ds.iter().map(|d| driver_attribute(d)).collect::<Vec<_>>();
        assert!(has_drivers(&mut c, &n, &keys(&["raw_exec"])));
        assert!(!has_drivers(&mut c, &n, &keys(&["raw_exec", "docker"])));
        assert!(!has_drivers(&mut c, &n, &keys(&["exec"])));
        assert_eq!(c.metrics.constraint_filtered["missing drivers"], 2);
        assert_eq!(c.metrics.nodes_filtered, 2);
        assert!(c.metrics.class_filtered.is_empty());
    }

    #[test]
    fn class_memo_filters_later_nodes_of_an_ineligible_class() {
        let state = ClusterState::default();
        let mut c = ctx(&state);
        let (a, b) = (node("a", "x"), node("b", "x"));
        let group_cons = [Constraint::new("${attr.kernel.name}", "=", "windows")];
        let checks = ClassChecks {
            job_constraints: &[],
            drivers: &[driver_attribute("raw_exec")],
            group_constraints: &group_cons,
            group: c.eligibility.group_id("web"),
        };
        assert!(!class_feasible(&mut c, &a, &checks));
        assert!(!class_feasible(&mut c, &b, &checks));
        let m = &c.metrics;
        assert_eq!(m.constraint_filtered["${attr.kernel.name} = windows"], 1);
        assert_eq!(m.constraint_filtered["computed class ineligible"], 1);
        assert_eq!(c.class_eligibility(), [("v1:x".to_string(), true)].into());
        // Another group of the same job still gets checked.
        let api = c.eligibility.group_id("api");
        let ok = ClassChecks {
            group: api,
            group_constraints: &[],
            ..checks
        };
        assert!(class_feasible(&mut c, &b, &ok));
        assert_eq!(
            c.eligibility.group_status(api, Some(0)),
            ClassStatus::Eligible
        );
    }

    #[test]
    fn class_merge_follows_nomads_get_classes_and_unique_targets_escape() {
        let names = ["c0", "c1", "c2", "c3"];
        let mut e = Eligibility::default();
        let (a, b) = (e.group_id("a"), e.group_id("b"));
        e.set_group_eligibility(false, a, 1);
        e.set_group_eligibility(true, b, 1);
        e.set_group_eligibility(false, a, 2);
        e.set_job_eligibility(true, 3);
        // Job-level results come first; a group's ineligibility does not
        // override them, its eligibility does.
        e.set_job_eligibility(true, 0);
        e.set_group_eligibility(false, a, 0);
        let want: BTreeMap<String, bool> = [
            ("c0".to_string(), true),
            ("c1".to_string(), true),
            ("c2".to_string(), false),
            ("c3".to_string(), true),
        ]
        .into();
        assert_eq!(e.classes(&names), want);
        let job = Job {
            constraints: vec![Constraint::new("${node.unique.id}", "=", "x")],
            ..Default::default()
        };
        e.set_job(&job);
        assert!(e.has_escaped());
        assert_eq!(e.job_status(Some(3)), ClassStatus::Escaped);
        assert_eq!(
            Eligibility::default().job_status(None),
            ClassStatus::Escaped
        );
    }

    #[test]
    fn property_set_counts_and_parses_like_go() {
        let state = ClusterState::default();
        let c = ctx(&state);
        let job = Job {
            id: "j".into(),
            ..Default::default()
        };
        let n = node("a", "");
        let set = PropertySet::new(
            &c,
            &job,
            &Constraint::new("${meta.rack}", "distinct_property", ""),
            None,
        );
        assert_eq!(set.satisfies(&n), Ok(()));
        let bad = PropertySet::new(
            &c,
            &job,
            &Constraint::new("${meta.rack}", "distinct_property", "+1"),
            None,
        );
        assert_eq!(
            bad.satisfies(&n),
            Err("failed to convert RTarget \"+1\" to uint64: strconv.ParseUint: parsing \"+1\": invalid syntax".into())
        );
        let missing = PropertySet::new(
            &c,
            &job,
            &Constraint::new("${meta.zone}", "distinct_property", ""),
            None,
        );
        assert_eq!(
            missing.satisfies(&n),
            Err("missing property \"${meta.zone}\"".into())
        );
    }
}
