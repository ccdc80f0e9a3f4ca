//! The snapshot format hosts store: the state as independent parts that
//! can be encoded and decoded apart (on as many threads as the host has),
//! holding every stored job once.
//!
//! A snapshot is `MAGIC`, the number of parts (`u32`, little-endian), then
//! each part as its length (`u64`) and its JSON. Part `i` of `n` holds the
//! `i`-th of `n` contiguous runs of every table, so the parts cost about
//! the same to decode and assembling them is concatenation; part 0 also
//! holds the index and the config.
//!
//! The current job of an ID is almost always its newest version (the same
//! `Arc`): a part stores it only where it is not (`current_jobs`), and then
//! as its newest version's patched status and modify index when those are
//! all that differ (Nomad's `setJobStatus` rewrites the job, not the
//! version). Decoding shares the newest version's `Arc` again.
//!
//! The first format, one JSON object of the whole state (the
//! [`ClusterState`] serde shape, still used by the scheduler plugin's ABI),
//! is still read: [`decode`] tells them apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::index::resolve_index;
use super::{ClusterState, PeriodicLaunch, StateConfig, Table};
use crate::model::{Allocation, Deployment, Evaluation, Job, JobSummary, Node};

/// The first bytes of a snapshot in this format.
pub const MAGIC: &[u8; 16] = b"caravan-state/2\n";

/// The number of parts [`encode`] splits `state` into: one per 25 000
/// stored objects, 1 to 8.
pub fn default_parts(state: &ClusterState) -> usize {
    let objects = state.job_versions.len() + state.evals.len() + state.allocs.len();
    (1 + objects / 25_000).min(8)
}

/// Part `part` of `parts` of `state`, to serialize.
pub fn part(state: &ClusterState, part: usize, parts: usize) -> Part<'_> {
    Part {
        s: state,
        part,
        parts: parts.max(1),
    }
}

/// Frames encoded parts (in order) as one snapshot.
pub fn frame(parts: &[Vec<u8>]) -> Vec<u8> {
    let size: usize = parts.iter().map(|p| 8 + p.len()).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// `state` as a snapshot of [`default_parts`] parts, encoded one after the
/// other (hosts with threads encode the [`part`]s apart and [`frame`] them).
pub fn encode(state: &ClusterState) -> Result<Vec<u8>, String> {
    encode_parts(state, default_parts(state))
}

/// `state` as a snapshot of `n` parts.
pub fn encode_parts(state: &ClusterState, n: usize) -> Result<Vec<u8>, String> {
    let parts = (0..n)
        .map(|i| crate::json_out::to_vec(&part(state, i, n)).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(frame(&parts))
}

/// The parts of a snapshot in this format, or `None` when `bytes` is not
/// one (the first format: a JSON object).
pub fn split(bytes: &[u8]) -> Option<Result<Vec<&[u8]>, String>> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    Some(split_parts(rest))
}

fn split_parts(mut rest: &[u8]) -> Result<Vec<&[u8]>, String> {
    let short = || "snapshot is truncated".to_string();
    let (count, tail) = rest.split_first_chunk::<4>().ok_or_else(short)?;
    rest = tail;
    let count = u32::from_le_bytes(*count) as usize;
    let mut parts = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<8>().ok_or_else(short)?;
        let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| short())?;
        if tail.len() < len {
            return Err(short());
        }
        let (p, tail) = tail.split_at(len);
        parts.push(p);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err("snapshot has bytes after its last part".into());
    }
    Ok(parts)
}

/// Decodes one part (any thread may).
pub fn decode_part(bytes: &[u8]) -> Result<PartRecord, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// A snapshot of either format, decoded on this thread.
pub fn decode(bytes: &[u8]) -> Result<ClusterState, String> {
    match split(bytes) {
        None => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        Some(parts) => assemble(
            parts?
                .into_iter()
                .map(decode_part)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    }
}

/// One part of a snapshot, serialized from the state it borrows.
pub struct Part<'a> {
    s: &'a ClusterState,
    part: usize,
    parts: usize,
}

impl Part<'_> {
    /// The run of `map` this part holds.
    fn run<'m, K, V>(&self, map: &'m BTreeMap<K, V>) -> impl Iterator<Item = (&'m K, &'m V)> {
        let (from, len) = run_bounds(map.len(), self.part, self.parts);
        map.iter().skip(from).take(len)
    }
}

/// `(first entry, entries)` of part `part` of `parts` of `len` entries.
fn run_bounds(len: usize, part: usize, parts: usize) -> (usize, usize) {
    let from = len * part / parts;
    let to = len * (part + 1) / parts;
    (from, to.saturating_sub(from))
}

/// A map written from an iterator of its entries (in key order).
struct MapOf<I>(std::cell::Cell<Option<I>>);

impl<I> MapOf<I> {
    fn new(entries: I) -> Self {
        MapOf(std::cell::Cell::new(Some(entries)))
    }
}

impl<K: Serialize, V: Serialize, I: Iterator<Item = (K, V)>> Serialize for MapOf<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entries = self
            .0
            .take()
            .ok_or_else(|| serde::ser::Error::custom("a snapshot map is written only once"))?;
        let mut m = s.serialize_map(None)?;
        for (k, v) in entries {
            m.serialize_entry(&k, &v)?;
        }
        m.end()
    }
}

/// How a part stores a current job that is not its newest version.
#[derive(Serialize, Deserialize)]
enum CurrentJob {
    /// The newest version with another status and modify index.
    Status { status: String, modify_index: u64 },
    /// The whole job.
    Job(Arc<Job>),
}

/// How `current` is stored, or `None` when it is `newest` (shared).
fn current_job(current: &Arc<Job>, newest: Option<&Arc<Job>>) -> Option<CurrentJob> {
    let Some(newest) = newest else {
        return Some(CurrentJob::Job(current.clone()));
    };
    if Arc::ptr_eq(current, newest) || current == newest {
        return None;
    }
    if current.status != newest.status || current.modify_index != newest.modify_index {
        let mut probe = (**newest).clone();
        probe.status.clone_from(&current.status);
        probe.modify_index = current.modify_index;
        if probe == **current {
            return Some(CurrentJob::Status {
                status: current.status.clone(),
                modify_index: current.modify_index,
            });
        }
    }
    Some(CurrentJob::Job(current.clone()))
}

impl Serialize for Part<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        let mut m = ser.serialize_struct("Part", 18)?;
        m.serialize_field("part", &self.part)?;
        m.serialize_field("parts", &self.parts)?;
        if self.part == 0 {
            m.serialize_field("config", &s.config)?;
            m.serialize_field("index", &s.index)?;
            m.serialize_field("table_index", &s.table_index)?;
        }
        m.serialize_field("job_versions", &MapOf::new(self.run(&s.job_versions)))?;
        let current = self.run(&s.jobs).filter_map(|(k, job)| {
            let newest = s.job_versions.get(k).and_then(|v| v.first());
            current_job(job, newest).map(|c| (k, c))
        });
        m.serialize_field("current_jobs", &MapOf::new(current))?;
        // IDs with versions but no current job (none, as the state is
        // written today; kept so any state round-trips).
        let versions_only: Vec<&String> = self
            .run(&s.job_versions)
            .filter(|(k, _)| !s.jobs.contains_key(*k))
            .map(|(k, _)| k)
            .collect();
        m.serialize_field("versions_only", &versions_only)?;
        m.serialize_field("summaries", &MapOf::new(self.run(&s.summaries)))?;
        m.serialize_field("evals", &MapOf::new(self.run(&s.evals)))?;
        m.serialize_field("evals_by_job", &MapOf::new(self.run(&s.evals_by_job)))?;
        m.serialize_field("allocs", &MapOf::new(self.run(&s.allocs)))?;
        m.serialize_field("allocs_by_job", &MapOf::new(self.run(&s.allocs_by_job)))?;
        m.serialize_field("allocs_by_node", &MapOf::new(self.run(&s.allocs_by_node)))?;
        m.serialize_field("nodes", &MapOf::new(self.run(&s.nodes)))?;
        m.serialize_field("deployments", &MapOf::new(self.run(&s.deployments)))?;
        m.serialize_field(
            "periodic_launches",
            &MapOf::new(self.run(&s.periodic_launches)),
        )?;
        m.serialize_field("dispatch_tokens", &MapOf::new(self.run(&s.dispatch_tokens)))?;
        m.end()
    }
}

/// A map read as its entries in order (parts are concatenated, then the
/// maps are built in bulk).
struct Entries<K, V>(Vec<(K, V)>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, K: DeserializeOwned, V: DeserializeOwned> Deserialize<'de> for Entries<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V_<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: DeserializeOwned, V: DeserializeOwned> Visitor<'de> for V_<K, V> {
            type Value = Entries<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = a.next_entry()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V_(std::marker::PhantomData))
    }
}

/// One decoded part; [`assemble`] makes the state of all of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRecord {
    part: usize,
    parts: usize,
    #[serde(default)]
    config: Option<StateConfig>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    table_index: Option<BTreeMap<Table, u64>>,
    job_versions: Entries<String, Vec<Arc<Job>>>,
    current_jobs: Entries<String, CurrentJob>,
    versions_only: Vec<String>,
    summaries: Entries<String, JobSummary>,
    evals: Entries<String, Arc<Evaluation>>,
    evals_by_job: Entries<String, std::collections::BTreeSet<String>>,
    allocs: Entries<String, Arc<Allocation>>,
    allocs_by_job: Entries<String, Vec<String>>,
    allocs_by_node: Entries<String, Vec<String>>,
    nodes: Entries<String, Arc<Node>>,
    deployments: Entries<String, Arc<Deployment>>,
    periodic_launches: Entries<String, PeriodicLaunch>,
    dispatch_tokens: Entries<String, BTreeMap<String, String>>,
}

/// The state of every part of a snapshot, decoded in order.
pub fn assemble(parts: Vec<PartRecord>) -> Result<ClusterState, String> {
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        if p.part != i || p.parts != n {
            return Err(format!(
                "snapshot part {i} of {n} says it is part {} of {}",
                p.part, p.parts
            ));
        }
    }
    let head = parts.first().ok_or("snapshot has no parts")?;
    let (Some(config), Some(index), Some(table_index)) =
        (&head.config, head.index, &head.table_index)
    else {
        return Err("snapshot part 0 lacks the index".into());
    };
    let mut state = ClusterState {
        config: config.clone(),
        index,
        table_index: table_index.clone(),
        ..Default::default()
    };
    /// Every part's run of one table, as one map.
    fn concat<K: Ord, V>(
        parts: &mut [PartRecord],
        take: impl Fn(&mut PartRecord) -> &mut Entries<K, V>,
    ) -> BTreeMap<K, V> {
        let mut all = Vec::new();
        for p in parts.iter_mut() {
            let run = std::mem::take(&mut take(p).0);
            if all.is_empty() {
                all = run;
            } else {
                all.extend(run);
            }
        }
        // In key order already: built in bulk.
        all.into_iter().collect()
    }
    let mut parts = parts;
    state.job_versions = concat(&mut parts, |p| &mut p.job_versions);
    let mut current = concat(&mut parts, |p| &mut p.current_jobs);
    let versions_only: std::collections::BTreeSet<String> = parts
        .iter_mut()
        .flat_map(|p| std::mem::take(&mut p.versions_only))
        .collect();
    let mut jobs = Vec::with_capacity(state.job_versions.len() + current.len());
    for (k, versions) in &state.job_versions {
        let newest = versions.first();
        let job = match (current.remove(k), newest) {
            (Some(CurrentJob::Job(job)), _) => job,
            (Some(CurrentJob::Status { .. }), None) => {
                return Err(format!("snapshot patches job {k:?}, which has no versions"))
            }
            (
                Some(CurrentJob::Status {
                    status,
                    modify_index,
                }),
                Some(newest),
            ) => {
                let mut job = (**newest).clone();
                job.status = status;
                job.modify_index = modify_index;
                Arc::new(job)
            }
            (None, _) if versions_only.contains(k) => continue,
            (None, Some(newest)) => newest.clone(),
            (None, None) => continue,
        };
        jobs.push((k.clone(), job));
    }
    // Current jobs without versions.
    for (k, c) in current {
        match c {
            CurrentJob::Job(job) => jobs.push((k, job)),
            CurrentJob::Status { .. } => {
                return Err(format!("snapshot patches job {k:?}, which has no versions"))
            }
        }
    }
    // Sorted (stable) then built in bulk.
    state.jobs = jobs.into_iter().collect();
    state.summaries = concat(&mut parts, |p| &mut p.summaries);
    state.evals = concat(&mut parts, |p| &mut p.evals);
    state.evals_by_job = concat(&mut parts, |p| &mut p.evals_by_job);
    state.allocs = concat(&mut parts, |p| &mut p.allocs);
    let by_job = concat(&mut parts, |p| &mut p.allocs_by_job);
    let by_node = concat(&mut parts, |p| &mut p.allocs_by_node);
    state.allocs_by_job = resolve_index(by_job, &state.allocs);
    state.allocs_by_node = resolve_index(by_node, &state.allocs);
    state.nodes = concat(&mut parts, |p| &mut p.nodes);
    state.deployments = concat(&mut parts, |p| &mut p.deployments);
    state.periodic_launches = concat(&mut parts, |p| &mut p.periodic_launches);
    state.dispatch_tokens = concat(&mut parts, |p| &mut p.dispatch_tokens);
    Ok(state)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{ParameterizedJobConfig, PeriodicConfig};
    use crate::scheduler::fixtures::{job_doc, node, prepare, Cluster};
    use crate::state::Command;

    /// A state with every table written: placed and finished jobs (their
    /// current job patched past their newest version), several versions,
    /// a deregistered job, periodic launches and dispatch tokens.
    fn busy_state() -> ClusterState {
        let mut c =
            Cluster::with_nodes([node("n1", "dc1", 4000, 4096), node("n2", "dc1", 4000, 4096)]);
        c.run_job(prepare(&job_doc("web", "service", 3, 100, 64)), 1);
        let mut v2 = job_doc("web", "service", 4, 100, 64);
        v2["Meta"] = json!({"rev": "2"});
        c.run_job(prepare(&v2), 2);
        c.run_job(prepare(&job_doc("batch", "batch", 2, 100, 64)), 3);
        c.set_complete("batch");
        c.run_job(prepare(&job_doc("Mixed-Case", "service", 1, 100, 64)), 4);
        // Nowhere to run: pending, the current job is the newest version.
        for i in 0..30 {
            let mut doc = job_doc(&format!("idle-{i:02}"), "service", 1, 100, 64);
            doc["Datacenters"] = json!(["none"]);
            c.run_job(prepare(&doc), 10 + i);
        }
        let stop = c.deregister("idle-03", false);
        c.process(stop, 99);
        let purge = c.deregister("idle-04", true);
        c.process(purge, 98);

        let mut periodic = prepare(&job_doc("cron", "batch", 1, 100, 64));
        periodic.periodic = Some(PeriodicConfig {
            enabled: true,
            spec: "0 0 1 1 *".into(),
            spec_type: "cron".into(),
            prohibit_overlap: false,
            time_zone: "UTC".into(),
        });
        c.register(periodic);
        let mut param = prepare(&job_doc("param", "batch", 1, 100, 64));
        param.parameterized_job = Some(ParameterizedJobConfig {
            payload: "optional".into(),
            ..Default::default()
        });
        c.register(param);
        c.apply(Command::DispatchJob {
            job_id: "param".into(),
            payload: b"x".to_vec(),
            meta: Default::default(),
            idempotency_token: Some("tok".into()),
            id_suffix: "0123abcd".into(),
            eval_id: "dispatch-eval".into(),
            now: 1_700_000_000_000_000_000,
        });
        c.state
    }

    /// The parts of a busy state, and its allocations with their metrics,
    /// encode to the same bytes with json_out as with serde_json.
    #[test]
    fn json_out_encodes_parts_as_serde_json_does() {
        let state = busy_state();
        let n = default_parts(&state).max(3);
        for i in 0..n {
            let p = part(&state, i, n);
            assert_eq!(
                crate::json_out::to_vec(&p).expect("encodes"),
                serde_json::to_vec(&p).expect("encodes"),
                "part {i}"
            );
        }
        let allocs: Vec<_> = state.allocs.values().collect();
        assert!(allocs.iter().any(|a| a.metrics.is_some()));
        assert_eq!(
            crate::json_out::to_vec(&allocs).expect("encodes"),
            serde_json::to_vec(&allocs).expect("encodes")
        );
        let evals: Vec<_> = state.evals.values().collect();
        assert_eq!(
            crate::json_out::to_vec(&evals).expect("encodes"),
            serde_json::to_vec(&evals).expect("encodes")
        );
    }

    fn encode_in(state: &ClusterState, n: usize) -> Vec<u8> {
        encode_parts(state, n).expect("encode")
    }

    fn shares_current_jobs(state: &ClusterState) -> usize {
        state
            .jobs
            .iter()
            .filter(|(k, j)| {
                state.job_versions[*k]
                    .first()
                    .is_some_and(|v| Arc::ptr_eq(v, j))
            })
            .count()
    }

    #[test]
    fn round_trips_to_an_identical_state_in_any_number_of_parts() {
        let s = busy_state();
        assert!(!s.allocs.is_empty() && !s.periodic_launches.is_empty());
        assert!(!s.dispatch_tokens.is_empty() && !s.nodes.is_empty());
        // Some current jobs are not their newest version (placed: running;
        // finished: dead) and are stored as a patched status.
        let patched = s
            .jobs
            .iter()
            .filter(|(k, j)| {
                matches!(
                    current_job(j, s.job_versions[*k].first()),
                    Some(CurrentJob::Status { .. })
                )
            })
            .count();
        assert!(patched >= 2, "{patched} patched jobs");
        for n in [1, 2, 3, 5, 64] {
            let bytes = encode_in(&s, n);
            let back = decode(&bytes).expect("decode");
            assert_eq!(back, s, "{n} parts");
            assert_eq!(shares_current_jobs(&back), shares_current_jobs(&s));
            // The same state encodes to the same bytes.
            assert_eq!(encode_in(&back, n), bytes);
        }
        assert_eq!(decode(&encode(&s).expect("encode")).expect("decode"), s);
    }

    #[test]
    fn every_current_job_shape_round_trips() {
        let mut s = busy_state();
        // A current job unlike its newest version beyond the status.
        let k = "idle-00".to_string();
        let mut other = (*s.jobs[&k]).clone();
        other.meta.insert("changed".into(), "yes".into());
        s.jobs.insert(k, Arc::new(other));
        // A current job without versions, and versions without a current
        // job (neither is written by a command today).
        let mut lone = (*s.jobs["idle-01"]).clone();
        lone.id = "lone".into();
        s.jobs.insert("lone".into(), Arc::new(lone));
        s.jobs.remove("idle-02");
        s.job_versions.insert("empty".into(), Vec::new());
        for n in [1, 2, 7] {
            assert_eq!(decode(&encode_in(&s, n)).expect("decode"), s, "{n} parts");
        }
    }

    #[test]
    fn the_first_format_still_loads_and_shares_current_jobs() {
        let s = busy_state();
        let old = serde_json::to_vec(&s).expect("encode");
        let back = decode(&old).expect("decode");
        assert_eq!(back, s);
        assert_eq!(shares_current_jobs(&back), shares_current_jobs(&s));
        assert!(shares_current_jobs(&back) > 20);
        // Each job is stored once: well under the first format's size.
        let new = encode(&s).expect("encode");
        assert!(
            new.len() * 10 < old.len() * 8,
            "{} vs {}",
            new.len(),
            old.len()
        );
    }

    #[test]
    fn damaged_snapshots_are_refused() {
        let s = busy_state();
        let bytes = encode_in(&s, 3);
        for cut in [MAGIC.len() + 2, MAGIC.len() + 10, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(b' ');
        assert!(decode(&longer).is_err());
        // Parts out of order.
        let parts = split(&bytes).expect("new format").expect("parts");
        let swapped = frame(&[parts[1].to_vec(), parts[0].to_vec(), parts[2].to_vec()]);
        assert!(decode(&swapped).is_err());
        assert!(decode(&frame(&[])).is_err());
    }
}
