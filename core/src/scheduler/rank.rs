//! Ranking: the bin-pack fit and score of a node (Nomad's `BinPackIterator`
//! and `ScoreFit`, reserved quirk included) and the job anti-affinity
//! penalty. Scores use a platform-independent power of ten.

use crate::model::{NetworkResource, Node, TaskGroup, TaskResources};
use crate::scheduler::context::{EvalContext, NodeFit, Scorer, Usage};
use crate::scheduler::network::NetworkIndex;
use crate::scheduler::rng::Rng;

/// A node that passed every check, with its score and the network offers
/// its tasks would get there.
#[derive(Debug, Clone)]
pub(crate) struct RankedNode<'a> {
    pub node: &'a Node,
    /// The node's slot in the pass's context.
    pub slot: usize,
    pub score: f64,
    /// Proposed allocations of the evaluated job on the node.
    job_allocs: u32,
    /// Task index → network offer (tasks that ask for a network).
    offers: Vec<(usize, NetworkResource)>,
}

impl RankedNode<'_> {
    /// Task name → the resources the task gets on this node: its ask, with
    /// the offer in place of its network ask.
    pub fn task_resources(&self, tg: &TaskGroup) -> TaskResources {
        tg.tasks
            .iter()
            .enumerate()
            .map(|(i, task)| {
                let mut res = task.resources.clone().unwrap_or_default();
                if let Some((_, offer)) = self.offers.iter().find(|(j, _)| *j == i) {
                    res.networks = vec![offer.clone()];
                }
                (task.name.clone(), res)
            })
            .collect()
    }

    /// [`RankedNode::task_resources`], copied from `asked` when no task got
    /// a network offer: the tasks' asks, the same on every node, are then
    /// put together once per group (and kept in `asked`).
    pub fn task_resources_from(
        &self,
        tg: &TaskGroup,
        asked: &mut Option<TaskResources>,
    ) -> TaskResources {
        if !self.offers.is_empty() {
            return self.task_resources(tg);
        }
        asked.get_or_insert_with(|| self.task_resources(tg)).clone()
    }
}

/// 1/i! for i in 0..=14.
const INV_FACTORIALS: [f64; 15] = {
    let mut c = [1.0; 15];
    let mut i = 1;
    while i < 15 {
        c[i] = c[i - 1] / i as f64;
        i += 1;
    }
    c
};

/// `10^x` from basic IEEE operations only, so x86 and wasm32 agree bit for
/// bit (libm `pow` differs between platforms in the last place).
pub(crate) fn pow10(x: f64) -> f64 {
    const LN_10: f64 = std::f64::consts::LN_10;
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2 (exact bit patterns): k·LN2_HI is exact for
    // the k used here.
    let ln2_hi = f64::from_bits(0x3fe6_2e42_fee0_0000);
    let ln2_lo = f64::from_bits(0x3dea_39ef_3579_3c76);
    if x.is_nan() {
        return x;
    }
    let z = x * LN_10;
    if z > 709.0 {
        return f64::INFINITY;
    }
    if z < -708.0 {
        return 0.0;
    }
    // floor() by truncation: |v| < 1100 here, and a libm call would cost
    // more than the rest of the function on targets without SSE4.1.
    let v = z * LOG2_E + 0.5;
    let t = v as i64 as f64;
    let k = if t > v { t - 1.0 } else { t };
    let r = (z - k * ln2_hi) - k * ln2_lo;
    // exp(r) for |r| ≤ ln2/2: Taylor series to r^14 in Horner form
    // (truncation < 1e-18), coefficients 1/i!.
    let mut sum = INV_FACTORIALS[14];
    for c in INV_FACTORIALS[..14].iter().rev() {
        sum = sum * r + c;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// Nomad's `ScoreFit`: 20 − (10^freeCpu + 10^freeMem), clamped to [0, 18].
/// `used` includes the node's reservation while the denominators exclude
/// it (v0.6.3's quirk, reproduced).
pub(crate) fn score_fit(fit: &NodeFit, used: &Usage) -> f64 {
    let (total, reserved) = (fit.capacity, fit.reserved);
    let node_cpu = total.cpu.saturating_sub(reserved.cpu) as f64;
    let node_mem = total.memory_mb.saturating_sub(reserved.memory_mb) as f64;
    let free_cpu = 1.0 - used.cpu as f64 / node_cpu;
    let free_mem = 1.0 - used.memory_mb as f64 / node_mem;
    let score = 20.0 - (pow10(free_cpu) + pow10(free_mem));
    score.clamp(0.0, 18.0)
}

/// Whether the task group asks for any network.
pub(crate) fn asks_network(tg: &TaskGroup) -> bool {
    tg.tasks
        .iter()
        .any(|t| t.resources.as_ref().is_some_and(|r| !r.networks.is_empty()))
}

/// What a task group asks of any node: summed once per group, not once
/// per visited node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupFit {
    /// The tasks' resources and the group's ephemeral disk.
    total: Usage,
    asks_network: bool,
}

impl GroupFit {
    pub fn of(tg: &TaskGroup) -> Self {
        let mut total = Usage {
            disk_mb: tg.ephemeral_disk.as_ref().map_or(0, |d| d.size_mb),
            ..Usage::default()
        };
        for res in tg.tasks.iter().filter_map(|t| t.resources.as_ref()) {
            total.add(Usage::of(res));
        }
        GroupFit {
            total,
            asks_network: asks_network(tg),
        }
    }
}

/// Fits `tg` on `node` next to its proposed allocations; `None` (and an
/// exhausted-node metric) if it does not fit.
#[cfg(test)]
pub(crate) fn bin_pack<'a>(
    ctx: &mut EvalContext<'a>,
    rng: &mut Rng,
    node: &'a Node,
    tg: &TaskGroup,
) -> Option<RankedNode<'a>> {
    bin_pack_fit(ctx, rng, node, tg, &GroupFit::of(tg))
}

/// [`bin_pack`] with the group's ask summed by the caller (`fit`, made by
/// [`GroupFit::of`] from `tg`).
pub(crate) fn bin_pack_fit<'a>(
    ctx: &mut EvalContext<'a>,
    rng: &mut Rng,
    node: &'a Node,
    tg: &TaskGroup,
    fit: &GroupFit,
) -> Option<RankedNode<'a>> {
    let (slot, node_fit, load) = ctx.node_fit_and_load(node);
    let proposed = load.used;
    let job_allocs = load.job_allocs;
    // Without any network in play no device can be overcommitted.
    let mut net = if load.net_allocs > 0 || node_fit.reserved_networks || fit.asks_network {
        let (mut idx, _) = NetworkIndex::for_node(node);
        for n in load.networks() {
            idx.add_reserved(n);
        }
        Some(idx)
    } else {
        None
    };

    let mut offers = Vec::new();
    if let Some(idx) = net.as_mut() {
        for (i, task) in tg.tasks.iter().enumerate() {
            let Some(ask) = task.resources.as_ref().and_then(|r| r.networks.first()) else {
                continue;
            };
            match idx.assign(ask, rng) {
                Ok(offer) => {
                    idx.add_reserved(&offer);
                    offers.push((i, offer));
                }
                Err(e) => {
                    ctx.exhausted_node(node, &format!("network: {e}"));
                    return None;
                }
            }
        }
    }

    let mut used = node_fit.reserved;
    used.add(proposed);
    used.add(fit.total);
    if let Some(dim) = Usage::exceeded_dimension(&node_fit.capacity, &used) {
        ctx.exhausted_node(node, dim);
        return None;
    }
    if net.as_ref().is_some_and(NetworkIndex::overcommitted) {
        ctx.exhausted_node(node, "bandwidth exceeded");
        return None;
    }
    let fitness = score_fit(&node_fit, &used);
    ctx.score_node(node, Scorer::BinPack, fitness);
    Some(RankedNode {
        node,
        slot,
        score: fitness,
        job_allocs,
        offers,
    })
}

/// Lowers the score by `penalty` per proposed allocation of the same job on
/// the node (recorded only when there is one).
pub(crate) fn job_anti_affinity<'a>(
    ctx: &mut EvalContext<'a>,
    option: &mut RankedNode<'a>,
    penalty: f64,
) {
    let collisions = option.job_allocs;
    if collisions > 0 {
        let p = -f64::from(collisions) * penalty;
        option.score += p;
        ctx.score_node(option.node, Scorer::JobAntiAffinity, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::model::{Allocation, EphemeralDisk, NetworkResource, Resources, Task};
    use crate::scheduler::context::StateView;
    use crate::scheduler::plan::Plan;
    use crate::state::ClusterState;

    /// The worked example of scheduler.md: 4000 MHz / 24105 MB with
    /// 20009 MB reserved.
    fn example_node() -> Node {
        Node {
            id: "n1".into(),
            resources: Some(Resources {
                cpu: 4000,
                memory_mb: 24105,
                disk_mb: 68562,
                ..Default::default()
            }),
            reserved: Some(Resources {
                memory_mb: 20009,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn group(cpu: i64, mem: i64) -> TaskGroup {
        TaskGroup {
            name: "web".into(),
            count: 1,
            ephemeral_disk: Some(EphemeralDisk::nomad_default()),
            tasks: vec![Task {
                name: "server".into(),
                resources: Some(Resources {
                    cpu,
                    memory_mb: mem,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn pow10_is_accurate() {
        for x in [-3.9006, -1.0, 0.0, 0.5, 0.975, 1.0, -0.123_456] {
            let want = 10f64.powf(x);
            // Rounding x·ln10 costs relative error ~|x·ln10|·2^-53.
            let tolerance = 4e-16 * (x * std::f64::consts::LN_10).abs().max(1.0);
            assert!(((pow10(x) - want) / want).abs() < tolerance, "{x}");
        }
        assert_eq!(pow10(0.0), 1.0);
        assert_eq!(pow10(-400.0), 0.0);
    }

    #[test]
    fn scores_survive_a_json_round_trip_bit_for_bit() {
        // Plans cross JSON between the plugin and its host; serde_json's
        // default float parser may land one ulp off (14.376489026571821
        // came back as ...82), so the workspace enables `float_roundtrip`.
        for bits in [0x402c_c0c3_2b70_db92_u64, 0x4030_d6a7_1c5c_a5c1] {
            let x = f64::from_bits(bits);
            let text = serde_json::to_string(&x).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), bits, "{text}");
        }
        let worst = 20.0 - (pow10(1.0 - 1500.0 / 3500.0) + pow10(1.0 - 768.0 / 3000.0));
        let back: f64 = serde_json::from_str(&serde_json::to_string(&worst).unwrap()).unwrap();
        assert_eq!(back.to_bits(), worst.to_bits());
    }

    #[test]
    fn score_of_the_worked_example() {
        let node = example_node();
        let used = Usage {
            cpu: 100,
            memory_mb: 20009 + 64,
            ..Default::default()
        };
        let s = score_fit(&NodeFit::of(&node), &used);
        assert!((s - 10.559_266).abs() < 1e-6, "{s}");
        let two = Usage {
            cpu: 200,
            memory_mb: 20009 + 128,
            ..Default::default()
        };
        assert!((score_fit(&NodeFit::of(&node), &two) - 11.087_369).abs() < 1e-6);
        // Clamped: a full node scores 18 at most, an empty one 0 at least.
        let full = Usage {
            cpu: 4000,
            memory_mb: 24105 + 20009,
            ..Default::default()
        };
        assert_eq!(score_fit(&NodeFit::of(&node), &full), 18.0);
    }

    #[test]
    fn bin_pack_scores_and_anti_affinity_penalizes() {
        let state = ClusterState::default();
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let node = example_node();
        let tg = group(100, 64);
        let mut rng = Rng::new(1);
        let first = bin_pack(&mut ctx, &mut rng, &node, &tg).unwrap();
        assert!((first.score - 10.559_266).abs() < 1e-6);
        assert_eq!(first.task_resources(&tg)["server"].cpu, 100);
        ctx.append_placement(Arc::new(Allocation {
            id: "a1".into(),
            node_id: "n1".into(),
            job_id: "j".into(),
            task_group: "web".into(),
            task_resources: first.task_resources(&tg),
            shared_resources: Some(Resources::default()),
            ..Default::default()
        }));
        let mut second = bin_pack(&mut ctx, &mut rng, &node, &tg).unwrap();
        assert!((second.score - 11.087_369).abs() < 1e-6);
        job_anti_affinity(&mut ctx, &mut second, 20.0);
        assert!((second.score - (11.087_369 - 20.0)).abs() < 1e-6);
        assert_eq!(ctx.metrics.scores["n1.job-anti-affinity"], -20.0);
        assert_eq!(ctx.metrics.scores.len(), 2);
    }

    #[test]
    fn exhaustion_reports_the_first_dimension() {
        let state = ClusterState::default();
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let node = example_node();
        let mut rng = Rng::new(1);
        assert!(bin_pack(&mut ctx, &mut rng, &node, &group(5000, 5000)).is_none());
        assert!(bin_pack(&mut ctx, &mut rng, &node, &group(100, 5000)).is_none());
        let mut disk = group(100, 10);
        disk.ephemeral_disk = Some(EphemeralDisk {
            size_mb: 100_000,
            ..Default::default()
        });
        assert!(bin_pack(&mut ctx, &mut rng, &node, &disk).is_none());
        let m = &ctx.metrics;
        assert_eq!(m.nodes_exhausted, 3);
        assert_eq!(m.dimension_exhausted["cpu exhausted"], 1);
        assert_eq!(m.dimension_exhausted["memory exhausted"], 1);
        assert_eq!(m.dimension_exhausted["disk exhausted"], 1);
    }

    #[test]
    fn network_asks_get_offers_or_exhaust_the_node() {
        let state = ClusterState::default();
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let mut node = example_node();
        node.resources.as_mut().unwrap().networks = vec![NetworkResource {
            device: "eth0".into(),
            cidr: "10.0.0.1/32".into(),
            mbits: 100,
            ..Default::default()
        }];
        let mut tg = group(100, 10);
        tg.tasks[0].resources.as_mut().unwrap().networks = vec![NetworkResource {
            mbits: 60,
            ..Default::default()
        }];
        let mut rng = Rng::new(1);
        let ok = bin_pack(&mut ctx, &mut rng, &node, &tg).unwrap();
        let resources = ok.task_resources(&tg);
        let offer = &resources["server"].networks[0];
        assert_eq!(
            (offer.ip.as_str(), offer.device.as_str(), offer.mbits),
            ("10.0.0.1", "eth0", 60)
        );
        ctx.append_placement(Arc::new(Allocation {
            id: "a1".into(),
            node_id: "n1".into(),
            job_id: "j".into(),
            task_resources: resources.clone(),
            ..Default::default()
        }));
        assert!(bin_pack(&mut ctx, &mut rng, &node, &tg).is_none());
        assert_eq!(
            ctx.metrics.dimension_exhausted["network: bandwidth exceeded"],
            1
        );
    }
}
