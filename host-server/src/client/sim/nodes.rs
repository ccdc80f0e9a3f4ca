//! The nodes to simulate: read from a spec file (the oracle's `nodes.json`)
//! or generated with plausible v0.6.3 fingerprints.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use caravan_core::model::{NetworkResource, Resources, NODE_STATUS_INIT};
use caravan_core::Node;

use super::super::fingerprint::{NOMAD_REVISION, NOMAD_VERSION, SIGNALS};
use super::SimNodes;

/// Reads a JSON list of Node objects. Each keeps its ID, name, datacenter,
/// class, attributes, meta, resources and reserved resources; it registers
/// as `initializing`. The list comes back in the order of the nodes'
/// `CreateIndex` (file order among equal ones), their registration order.
pub fn load_sim_spec(path: &Path) -> Result<Vec<Node>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read -sim-spec {}: {e}", path.display()))?;
    let mut nodes: Vec<Node> = serde_json::from_str(&text)
        .map_err(|e| format!("-sim-spec {}: not a list of nodes: {e}", path.display()))?;
    let mut seen = HashSet::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.id.is_empty() || n.name.is_empty() || n.datacenter.is_empty() {
            return Err(format!(
                "-sim-spec {}: node {i} needs an ID, a Name and a Datacenter",
                path.display()
            ));
        }
        if !seen.insert(n.id.clone()) {
            return Err(format!(
                "-sim-spec {}: node ID {} appears twice",
                path.display(),
                n.id
            ));
        }
    }
    nodes.sort_by_key(|n| n.create_index);
    for n in &mut nodes {
        n.status = NODE_STATUS_INIT.into();
        n.status_description.clear();
        n.drain = false;
    }
    Ok(nodes)
}

/// A stable UUID-shaped ID for a generated node, so that an agent started
/// again with the same flags brings back the same nodes.
fn stable_id(key: &str) -> String {
    let hash = |seed: u64| {
        let mut h = seed;
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let h = format!(
        "{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x6c62_272e_07bb_0142)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `count` nodes named `sim-0001`…, spread round robin over the
/// datacenters (`default_dc` if none) and classes, each with the asked
/// CPU, memory and disk, one 1 Gbit/s interface with its own 10.x.y.z
/// address, and the raw_exec, exec and docker drivers.
pub fn generate_sim_nodes(sim: &SimNodes, default_dc: &str, http_addr: &str) -> Vec<Node> {
    let dcs = if sim.datacenters.is_empty() {
        vec![default_dc.to_string()]
    } else {
        sim.datacenters.clone()
    };
    let width = sim.count.to_string().len().max(4);
    (0..sim.count)
        .map(|i| {
            let name = format!("sim-{:0width$}", i + 1);
            let dc = &dcs[i % dcs.len()];
            let class = if sim.classes.is_empty() {
                String::new()
            } else {
                sim.classes[i % sim.classes.len()].clone()
            };
            let n = i + 1;
            let ip = format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
            let id = stable_id(&format!("caravan-sim/{dc}/{class}/{name}"));
            sim_node(sim, id, name, dc.clone(), class, ip, http_addr)
        })
        .collect()
}

fn sim_node(
    sim: &SimNodes,
    id: String,
    name: String,
    datacenter: String,
    node_class: String,
    ip: String,
    http_addr: &str,
) -> Node {
    const MHZ: i64 = 2500;
    let cores = (sim.cpu_mhz + MHZ - 1) / MHZ;
    let disk_bytes = sim.disk_mb.saturating_mul(1 << 20);
    let attributes: BTreeMap<String, String> = [
        ("cpu.arch", "amd64".to_string()),
        ("cpu.frequency", MHZ.to_string()),
        ("cpu.modelname", "Caravan Simulated CPU".to_string()),
        ("cpu.numcores", cores.to_string()),
        ("cpu.totalcompute", sim.cpu_mhz.to_string()),
        ("driver.docker", "1".to_string()),
        ("driver.docker.version", "17.06.0-ce".to_string()),
        ("driver.exec", "1".to_string()),
        ("driver.raw_exec", "1".to_string()),
        ("kernel.name", "linux".to_string()),
        ("kernel.version", "4.9.0-8-amd64".to_string()),
        (
            "memory.totalbytes",
            sim.memory_mb.saturating_mul(1 << 20).to_string(),
        ),
        ("nomad.revision", NOMAD_REVISION.to_string()),
        ("nomad.version", NOMAD_VERSION.to_string()),
        ("os.name", "debian".to_string()),
        ("os.signals", SIGNALS.to_string()),
        ("os.version", "9.5".to_string()),
        ("unique.cgroup.mountpoint", "/sys/fs/cgroup".to_string()),
        ("unique.hostname", name.clone()),
        ("unique.network.ip-address", ip.clone()),
        ("unique.storage.bytesfree", disk_bytes.to_string()),
        ("unique.storage.bytestotal", disk_bytes.to_string()),
        ("unique.storage.volume", "/dev/sda1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut node = Node {
        id,
        datacenter,
        name,
        http_addr: http_addr.to_string(),
        attributes,
        resources: Some(Resources {
            cpu: sim.cpu_mhz,
            memory_mb: sim.memory_mb,
            disk_mb: sim.disk_mb,
            networks: vec![NetworkResource {
                device: "eth0".into(),
                cidr: format!("{ip}/32"),
                ip,
                mbits: 1000,
                ..NetworkResource::default()
            }],
            ..Resources::default()
        }),
        reserved: Some(Resources::default()),
        node_class,
        status: NODE_STATUS_INIT.into(),
        ..Node::default()
    };
    node.compute_class();
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_nodes_spread_over_datacenters_and_classes() {
        let sim = SimNodes {
            count: 5,
            datacenters: vec!["dc1".into(), "dc2".into()],
            classes: vec!["a".into(), "b".into(), "c".into()],
            cpu_mhz: 3000,
            memory_mb: 2048,
            ..SimNodes::default()
        };
        let nodes = generate_sim_nodes(&sim, "ignored", "127.0.0.1:4646");
        let dcs: Vec<&str> = nodes.iter().map(|n| n.datacenter.as_str()).collect();
        assert_eq!(dcs, ["dc1", "dc2", "dc1", "dc2", "dc1"]);
        let classes: Vec<&str> = nodes.iter().map(|n| n.node_class.as_str()).collect();
        assert_eq!(classes, ["a", "b", "c", "a", "b"]);
        assert_eq!(nodes[0].name, "sim-0001");
        let n = &nodes[4];
        assert_eq!(n.attributes["driver.docker"], "1");
        assert_eq!(n.attributes["kernel.name"], "linux");
        assert_eq!(n.attributes["cpu.numcores"], "2");
        assert_eq!(n.attributes["memory.totalbytes"], "2147483648");
        assert_eq!(n.attributes["unique.network.ip-address"], "10.0.0.5");
        let res = n.resources.as_ref().expect("resources");
        assert_eq!((res.cpu, res.memory_mb), (3000, 2048));
        assert_eq!(res.networks[0].cidr, "10.0.0.5/32");
        assert_eq!(n.status, "initializing");
        // Stable and distinct IDs.
        let again = generate_sim_nodes(&sim, "ignored", "x");
        assert_eq!(again[3].id, nodes[3].id);
        let ids: HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids.len(), 5);
        // The default datacenter and wide names.
        let many = SimNodes {
            count: 12_000,
            ..SimNodes::default()
        };
        let nodes = generate_sim_nodes(&many, "east", "x");
        assert_eq!(nodes[11_999].name, "sim-12000");
        assert_eq!(nodes[0].name, "sim-00001");
        assert_eq!(nodes[11_999].datacenter, "east");
        assert_eq!(
            nodes[11_999].attributes["unique.network.ip-address"],
            "10.0.46.224"
        );
    }

    #[test]
    fn the_oracle_spec_loads_in_registration_order() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/nomad-0.6.3-multinode/nodes.json");
        let nodes = load_sim_spec(&path).expect("spec");
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["mn-c6", "mn-c1", "mn-c4", "mn-c3", "mn-c2", "mn-c5"]
        );
        assert!(nodes.iter().all(|n| n.status == "initializing"));
        let c4 = &nodes[2];
        assert_eq!(c4.node_class, "edge");
        assert_eq!(c4.meta["rack"], "r2");
        assert_eq!(c4.reserved.as_ref().map(|r| r.memory_mb), Some(23081));
        assert!(load_sim_spec(Path::new("/nonexistent/nodes.json"))
            .unwrap_err()
            .starts_with("cannot read -sim-spec"));
    }
}
