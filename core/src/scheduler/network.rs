//! The network index of one node (Nomad's `NetworkIndex`): ports in use per
//! IP, bandwidth in use per device, and the assignment of a network ask —
//! reserved ports plus dynamic ports drawn from the seeded generator.

// Address values only (parsing, masks): `core::net` has no sockets.
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{NetworkResource, Node, Port};
use crate::scheduler::rng::Rng;

/// Lowest dynamic port.
pub(crate) const MIN_DYNAMIC_PORT: u32 = 20000;
/// Highest dynamic port (inclusive for the precise search, exclusive for
/// random probes, as in v0.6.3).
pub(crate) const MAX_DYNAMIC_PORT: u32 = 32000;
const MAX_RAND_PORT_ATTEMPTS: u32 = 20;
const MAX_VALID_PORT: i64 = 65536;

/// Ports in use on one IP, kept sorted.
#[derive(Debug, Clone, Default)]
struct PortSet(Vec<u32>);

impl PortSet {
    fn contains(&self, p: u32) -> bool {
        self.0.binary_search(&p).is_ok()
    }

    /// Marks `p` used; `false` if it already was.
    fn insert(&mut self, p: u32) -> bool {
        match self.0.binary_search(&p) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, p);
                true
            }
        }
    }
}

/// Network capacity and usage of one node.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkIndex<'n> {
    avail: Vec<&'n NetworkResource>,
    /// Device → MBits (a later network of the same device wins).
    avail_bandwidth: Vec<(&'n str, i64)>,
    used_ports: Vec<(String, PortSet)>,
    used_bandwidth: Vec<(String, i64)>,
}

fn lookup<'v, K: AsRef<str>, V>(v: &'v [(K, V)], k: &str) -> Option<&'v V> {
    v.iter().find(|(x, _)| x.as_ref() == k).map(|(_, v)| v)
}

impl<'n> NetworkIndex<'n> {
    /// The node's usable networks and its reserved ports; `true` on a
    /// reserved-port collision.
    pub fn for_node(node: &'n Node) -> (Self, bool) {
        let mut idx = NetworkIndex::default();
        for n in node.resources.iter().flat_map(|r| r.networks.iter()) {
            if n.device.is_empty() {
                continue;
            }
            idx.avail.push(n);
            match idx.avail_bandwidth.iter_mut().find(|(d, _)| *d == n.device) {
                Some(e) => e.1 = n.mbits,
                None => idx.avail_bandwidth.push((&n.device, n.mbits)),
            }
        }
        let mut collide = false;
        for n in node.reserved.iter().flat_map(|r| r.networks.iter()) {
            collide |= idx.add_reserved(n);
        }
        (idx, collide)
    }

    /// Counts a network in use (Nomad's `AddReserved`); `true` on a port
    /// collision or an out-of-range port.
    pub fn add_reserved(&mut self, n: &NetworkResource) -> bool {
        let pos = match self.used_ports.iter().position(|(ip, _)| *ip == n.ip) {
            Some(p) => p,
            None => {
                self.used_ports.push((n.ip.clone(), PortSet::default()));
                self.used_ports.len() - 1
            }
        };
        let used = &mut self.used_ports[pos].1;
        let mut collide = false;
        for p in n.reserved_ports.iter().chain(&n.dynamic_ports) {
            if p.value < 0 || p.value >= MAX_VALID_PORT {
                return true;
            }
            collide |= !used.insert(p.value as u32);
        }
        match self.used_bandwidth.iter_mut().find(|(d, _)| *d == n.device) {
            Some(e) => e.1 = e.1.saturating_add(n.mbits),
            None => self.used_bandwidth.push((n.device.clone(), n.mbits)),
        }
        collide
    }

    /// Some device uses more bandwidth than it has.
    pub fn overcommitted(&self) -> bool {
        self.used_bandwidth
            .iter()
            .any(|(d, used)| *used > lookup(&self.avail_bandwidth, d).copied().unwrap_or(0))
    }

    /// Finds an IP for `ask` and picks its dynamic ports; the error is the
    /// reason of the last IP tried (`no networks available` if none).
    pub fn assign(&self, ask: &NetworkResource, rng: &mut Rng) -> Result<NetworkResource, String> {
        let mut err = "no networks available".to_string();
        for n in &self.avail {
            let Some(ips) = CidrIps::parse(&n.cidr) else {
                continue;
            };
            for ip in ips {
                let avail = lookup(&self.avail_bandwidth, &n.device)
                    .copied()
                    .unwrap_or(0);
                let used_bw = lookup(&self.used_bandwidth, &n.device)
                    .copied()
                    .unwrap_or(0);
                if used_bw.saturating_add(ask.mbits) > avail {
                    // Bandwidth is per device: every other IP of this
                    // network fails the same way.
                    err = "bandwidth exceeded".into();
                    break;
                }
                let ip_str = ip.to_string();
                let used = lookup(&self.used_ports, &ip_str);
                let mut port_problem = None;
                for p in &ask.reserved_ports {
                    if p.value < 0 || p.value >= MAX_VALID_PORT {
                        port_problem = Some(format!("invalid port {} (out of range)", p.value));
                        break;
                    }
                    if used.is_some_and(|u| u.contains(p.value as u32)) {
                        port_problem = Some("reserved port collision".into());
                        break;
                    }
                }
                if let Some(problem) = port_problem {
                    // An out-of-range port fails every further IP too
                    // (short of a collision first), so stop scanning.
                    let invalid = problem.starts_with("invalid");
                    err = problem;
                    if invalid {
                        break;
                    }
                    continue;
                }
                let dynamic = match dynamic_ports_stochastic(used, ask, rng) {
                    Some(d) => d,
                    None => match dynamic_ports_precise(used, ask, rng) {
                        Some(d) => d,
                        None => {
                            err = "dynamic port selection failed".into();
                            // An IP nobody uses cannot fail this way, so
                            // only used IPs are ever retried.
                            continue;
                        }
                    },
                };
                let dynamic_ports = ask
                    .dynamic_ports
                    .iter()
                    .zip(dynamic)
                    .map(|(p, v)| Port {
                        label: p.label.clone(),
                        value: i64::from(v),
                    })
                    .collect();
                return Ok(NetworkResource {
                    device: n.device.clone(),
                    cidr: String::new(),
                    ip: ip_str,
                    mbits: ask.mbits,
                    reserved_ports: ask.reserved_ports.clone(),
                    dynamic_ports,
                });
            }
        }
        Err(err)
    }
}

/// Up to 20 random probes per port in [20000, 32000).
fn dynamic_ports_stochastic(
    used: Option<&PortSet>,
    ask: &NetworkResource,
    rng: &mut Rng,
) -> Option<Vec<u32>> {
    let mut picked: Vec<u32> = Vec::with_capacity(ask.dynamic_ports.len());
    for _ in &ask.dynamic_ports {
        let mut attempts = 0;
        loop {
            attempts += 1;
            if attempts > MAX_RAND_PORT_ATTEMPTS {
                return None;
            }
            let p =
                MIN_DYNAMIC_PORT + rng.below(u64::from(MAX_DYNAMIC_PORT - MIN_DYNAMIC_PORT)) as u32;
            if used.is_some_and(|u| u.contains(p))
                || ask.reserved_ports.iter().any(|r| r.value == i64::from(p))
                || picked.contains(&p)
            {
                continue;
            }
            picked.push(p);
            break;
        }
    }
    Some(picked)
}

/// A random choice among every free port in [20000, 32000].
fn dynamic_ports_precise(
    used: Option<&PortSet>,
    ask: &NetworkResource,
    rng: &mut Rng,
) -> Option<Vec<u32>> {
    let mut available: Vec<u32> = (MIN_DYNAMIC_PORT..=MAX_DYNAMIC_PORT)
        .filter(|p| {
            !used.is_some_and(|u| u.contains(*p))
                && !ask.reserved_ports.iter().any(|r| r.value == i64::from(*p))
        })
        .collect();
    let want = ask.dynamic_ports.len();
    if available.len() < want {
        return None;
    }
    let n = available.len() as u64;
    for i in 0..want {
        let j = rng.below(n) as usize;
        available.swap(i, j);
    }
    available.truncate(want);
    Some(available)
}

/// The addresses of a CIDR block, lowest first.
struct CidrIps {
    next: Option<IpAddr>,
    net: IpAddr,
    prefix: u32,
}

impl CidrIps {
    fn parse(cidr: &str) -> Option<Self> {
        let (ip, bits) = cidr.split_once('/')?;
        let prefix: u32 = bits.parse().ok()?;
        let ip: IpAddr = ip.parse().ok()?;
        let first = match ip {
            IpAddr::V4(v) if prefix <= 32 => {
                IpAddr::V4(Ipv4Addr::from(u32::from(v) & mask32(prefix)))
            }
            IpAddr::V6(v) if prefix <= 128 => {
                IpAddr::V6(Ipv6Addr::from(u128::from(v) & mask128(prefix)))
            }
            _ => return None,
        };
        Some(CidrIps {
            next: Some(first),
            net: first,
            prefix,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => u32::from(i) & mask32(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(i)) => u128::from(i) & mask128(self.prefix) == u128::from(n),
            _ => false,
        }
    }
}

fn mask32(prefix: u32) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

fn mask128(prefix: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    }
}

impl Iterator for CidrIps {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        let cur = self.next?;
        let succ = match cur {
            IpAddr::V4(v) => u32::from(v).checked_add(1).map(|x| IpAddr::V4(x.into())),
            IpAddr::V6(v) => u128::from(v).checked_add(1).map(|x| IpAddr::V6(x.into())),
        };
        self.next = succ.filter(|ip| self.contains(*ip));
        Some(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Resources;

    fn net(device: &str, cidr: &str, mbits: i64) -> NetworkResource {
        NetworkResource {
            device: device.into(),
            cidr: cidr.into(),
            mbits,
            ..Default::default()
        }
    }

    fn loopback_node() -> Node {
        Node {
            resources: Some(Resources {
                networks: vec![net("lo", "127.0.0.1/32", 1000), net("lo", "::1/128", 1000)],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ask(mbits: i64, reserved: &[i64], dynamic: &[&str]) -> NetworkResource {
        NetworkResource {
            mbits,
            reserved_ports: reserved
                .iter()
                .map(|v| Port {
                    label: format!("p{v}"),
                    value: *v,
                })
                .collect(),
            dynamic_ports: dynamic
                .iter()
                .map(|l| Port {
                    label: l.to_string(),
                    value: 0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_static_port_fits_once_per_address() {
        let node = loopback_node();
        let (mut idx, collide) = NetworkIndex::for_node(&node);
        assert!(!collide);
        let mut rng = Rng::new(1);
        let a = ask(10, &[18080], &["admin", "metrics"]);
        let first = idx.assign(&a, &mut rng).unwrap();
        assert_eq!(
            (first.ip.as_str(), first.device.as_str()),
            ("127.0.0.1", "lo")
        );
        assert_eq!(first.dynamic_ports.len(), 2);
        assert!(first
            .dynamic_ports
            .iter()
            .all(|p| (20000..32000).contains(&p.value)));
        assert_ne!(first.dynamic_ports[0].value, first.dynamic_ports[1].value);
        assert!(!idx.add_reserved(&first));
        let second = idx.assign(&a, &mut rng).unwrap();
        assert_eq!(second.ip, "::1");
        idx.add_reserved(&second);
        assert_eq!(
            idx.assign(&a, &mut rng),
            Err("reserved port collision".into())
        );
    }

    #[test]
    fn bandwidth_is_counted_per_device() {
        let node = loopback_node();
        let (mut idx, _) = NetworkIndex::for_node(&node);
        let mut rng = Rng::new(1);
        let a = ask(600, &[], &[]);
        let offer = idx.assign(&a, &mut rng).unwrap();
        idx.add_reserved(&offer);
        assert!(!idx.overcommitted());
        assert_eq!(idx.assign(&a, &mut rng), Err("bandwidth exceeded".into()));
        idx.add_reserved(&offer);
        assert!(idx.overcommitted());
    }

    #[test]
    fn odd_asks_and_nodes() {
        let mut rng = Rng::new(3);
        let bare = Node::default();
        let (idx, _) = NetworkIndex::for_node(&bare);
        assert_eq!(
            idx.assign(&ask(1, &[], &[]), &mut rng),
            Err("no networks available".into())
        );
        let node = loopback_node();
        let (idx, _) = NetworkIndex::for_node(&node);
        assert_eq!(
            idx.assign(&ask(1, &[70000], &[]), &mut rng),
            Err("invalid port 70000 (out of range)".into())
        );
        let mut reserved = loopback_node();
        reserved.reserved = Some(Resources {
            networks: vec![NetworkResource {
                ip: "127.0.0.1".into(),
                reserved_ports: vec![Port {
                    label: "ssh".into(),
                    value: 22,
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        let (idx, collide) = NetworkIndex::for_node(&reserved);
        assert!(!collide);
        assert_eq!(idx.assign(&ask(1, &[22], &[]), &mut rng).unwrap().ip, "::1");
    }

    #[test]
    fn precise_search_when_probes_fail() {
        let mut used = PortSet::default();
        for p in MIN_DYNAMIC_PORT..MAX_DYNAMIC_PORT {
            used.insert(p);
        }
        let mut rng = Rng::new(9);
        let a = ask(0, &[], &["x"]);
        assert_eq!(dynamic_ports_stochastic(Some(&used), &a, &mut rng), None);
        assert_eq!(
            dynamic_ports_precise(Some(&used), &a, &mut rng),
            Some(vec![32000])
        );
        used.insert(32000);
        assert_eq!(dynamic_ports_precise(Some(&used), &a, &mut rng), None);
    }

    #[test]
    fn cidr_blocks_iterate_in_order() {
        let ips: Vec<String> = CidrIps::parse("10.0.0.5/30")
            .unwrap()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ips, ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"]);
        assert_eq!(CidrIps::parse("::1/128").unwrap().count(), 1);
        assert!(CidrIps::parse("bogus").is_none());
    }
}
