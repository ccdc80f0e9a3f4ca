//! Client nodes as the scheduler sees them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::job::{Resources, StringMap};
use super::nil;

pub const NODE_STATUS_INIT: &str = "initializing";
pub const NODE_STATUS_READY: &str = "ready";
pub const NODE_STATUS_DOWN: &str = "down";

/// A client node (`GET /v1/node/<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    #[serde(rename = "TLSEnabled")]
    pub tls_enabled: bool,
    #[serde(
        rename = "Attributes",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub attributes: StringMap,
    #[serde(rename = "Resources")]
    pub resources: Option<Resources>,
    #[serde(rename = "Reserved")]
    pub reserved: Option<Resources>,
    #[serde(
        rename = "Links",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub links: StringMap,
    #[serde(
        rename = "Meta",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub meta: StringMap,
    #[serde(rename = "NodeClass")]
    pub node_class: String,
    #[serde(rename = "ComputedClass")]
    pub computed_class: String,
    #[serde(rename = "Drain")]
    pub drain: bool,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    /// Unix seconds.
    #[serde(rename = "StatusUpdatedAt")]
    pub status_updated_at: i64,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// Items of `GET /v1/nodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Datacenter")]
    pub datacenter: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "NodeClass")]
    pub node_class: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Drain")]
    pub drain: bool,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl Node {
    /// Ready and not draining: may receive new allocations.
    pub fn ready(&self) -> bool {
        self.status == NODE_STATUS_READY && !self.drain
    }

    /// Recomputes `ComputedClass` from the fields that define a class:
    /// datacenter, node class, attributes and meta, minus `unique.` keys.
    /// The hash is FNV-1a 64 over a canonical encoding, rendered as
    /// `v1:<decimal>` like Nomad's.
    pub fn compute_class(&mut self) {
        let mut h = Fnv64::new();
        h.field(&self.datacenter);
        h.field(&self.node_class);
        for (map_tag, map) in [("attr", &self.attributes), ("meta", &self.meta)] {
            h.field(map_tag);
            for (k, v) in map.iter().filter(|(k, _)| !k.starts_with("unique.")) {
                h.field(k);
                h.field(v);
            }
        }
        self.computed_class = format!("v1:{}", h.0);
    }

    /// The list stub of `GET /v1/nodes`.
    pub fn stub(&self) -> NodeListStub {
        NodeListStub {
            id: self.id.clone(),
            datacenter: self.datacenter.clone(),
            name: self.name.clone(),
            node_class: self.node_class.clone(),
            version: self
                .attributes
                .get("nomad.version")
                .cloned()
                .unwrap_or_else(|| "0.6.3".into()),
            drain: self.drain,
            status: self.status.clone(),
            status_description: self.status_description.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
        }
    }
}

struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes a length-prefixed string so field boundaries are unambiguous.
    fn field(&mut self, s: &str) {
        for b in (s.len() as u64).to_le_bytes().iter().chain(s.as_bytes()) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A map of node class → eligibility learned during an eval.
pub type ClassEligibility = BTreeMap<String, bool>;
