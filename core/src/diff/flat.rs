//! Flattening objects into `name → string` lists, the way Nomad's
//! `flatmap.Flatten` does before it compares them field by field.
//!
//! Two modes exist. *Primitive* flattening walks one struct's own fields
//! (bools, integers, durations as nanoseconds, strings, and string maps as
//! `Field[key]`) and skips everything nested; each impl below also leaves
//! out the names Nomad filters at its single call site. *Full* flattening
//! recurses through a JSON tree (task `Config`, check `Header`): map keys
//! add `[key]` (bare at the top level), list indexes add `[i]`, `null` is
//! `"nil"` and numbers print like Go's `%v` of a float64.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::DiffStr;
use crate::gofmt;
use crate::model::{
    Constraint, DispatchPayloadConfig, EphemeralDisk, Job, LogConfig, NetworkResource, NilVec,
    ParameterizedJobConfig, PeriodicConfig, Port, Resources, RestartPolicy, Service, ServiceCheck,
    StringMap, Task, TaskArtifact, TaskGroup, Template, UpdateStrategy, Vault,
};

/// A name of a fully flattened object (a map key, bare at the top level,
/// or a nested path built while recursing: `args[0]`, `a[b][c]`). Primitive
/// objects name their fields with static strs instead (see
/// [`PrimitiveFields`]).
#[derive(Debug, Clone)]
pub(super) enum Name<'a> {
    Field(&'a str),
    Path(String),
}

impl Name<'_> {
    fn as_str(&self) -> &str {
        match self {
            Name::Field(s) => s,
            Name::Path(s) => s,
        }
    }

    pub(super) fn render(&self) -> DiffStr {
        DiffStr::from(self.as_str())
    }
}

impl Ord for Name<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Name<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name<'_> {}

/// A flattened value; integers are rendered only when a diff shows them.
#[derive(Debug, Clone)]
pub(super) enum Val<'a> {
    Static(&'static str),
    Str(&'a str),
    Int(i64),
    Text(String),
}

impl Val<'_> {
    fn as_text(&self) -> Option<&str> {
        match self {
            Val::Static(s) => Some(s),
            Val::Str(s) => Some(s),
            Val::Text(s) => Some(s),
            Val::Int(_) => None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.as_text().is_some_and(str::is_empty)
    }

    /// Equal as rendered text.
    pub(super) fn same(&self, other: &Val<'_>) -> bool {
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::Int(i), v) | (v, Val::Int(i)) => v.as_text() == Some(&*DiffStr::from_int(*i)),
            _ => match (self.as_text(), other.as_text()) {
                (Some(a), Some(b)) => same_text(a, b),
                _ => false,
            },
        }
    }

    pub(super) fn render(&self) -> DiffStr {
        match self {
            Val::Static(s) => DiffStr::from_static(s),
            Val::Str(s) => DiffStr::from(*s),
            Val::Int(i) => DiffStr::from_int(*i),
            Val::Text(s) => DiffStr::from(s.as_str()),
        }
    }
}

/// `a == b`, without a call to `memcmp` for strings of up to 16 bytes
/// (nearly all names and values; the call costs more than the compare).
pub(super) fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

fn word4(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

fn word8(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// A fully flattened object: `(name, value)` pairs sorted by name, names
/// unique.
pub(super) type Flat<'a> = Vec<(Name<'a>, Val<'a>)>;

/// Builds a [`Flat`] from names in document order.
struct Flattener<'a> {
    pairs: Flat<'a>,
}

impl<'a> Flattener<'a> {
    fn new() -> Self {
        Flattener { pairs: Vec::new() }
    }

    /// Sorted by name. A key like `"a[b]"` can collide with a nested path;
    /// then the first one (document order) is kept — Go keeps whichever
    /// its random map order wrote last.
    fn finish(mut self) -> Flat<'a> {
        self.pairs.sort_by(|a, b| a.0.cmp(&b.0));
        self.pairs.dedup_by(|later, first| later.0 == first.0);
        self.pairs
    }
}

/// One field of a primitive flattening: a value, or a string map that
/// stands for its `Field[key]` entries (expanded only when diffed, so
/// that equal entries of two maps are never copied anywhere).
#[derive(Debug, Clone, Copy)]
pub(super) enum Entry<'a> {
    Static(&'static str),
    Str(&'a str),
    Int(i64),
    Map(&'a StringMap),
}

impl<'a> Entry<'a> {
    /// The value of a field that is not a map.
    pub(super) fn val(self) -> Option<Val<'a>> {
        match self {
            Entry::Static(s) => Some(Val::Static(s)),
            Entry::Str(s) => Some(Val::Str(s)),
            Entry::Int(i) => Some(Val::Int(i)),
            Entry::Map(_) => None,
        }
    }
}

/// Receives the fields of a primitive flattening, in name order.
pub(super) trait Fields<'a> {
    fn field(&mut self, name: &'static str, entry: Entry<'a>);

    fn str(&mut self, name: &'static str, value: &'a str) {
        self.field(name, Entry::Str(value));
    }

    fn int(&mut self, name: &'static str, value: i64) {
        self.field(name, Entry::Int(value));
    }

    fn bool(&mut self, name: &'static str, value: bool) {
        self.field(name, Entry::Static(go_bool(value)));
    }

    /// A `map[string]string` field: its `Field[key]` entries.
    fn map(&mut self, field: &'static str, map: &'a StringMap) {
        self.field(field, Entry::Map(map));
    }
}

/// The most fields a primitive impl writes (`ServiceCheck` and `Template`
/// have eleven).
const MAX_FIELDS: usize = 11;

/// The primitive flattening of one object, on the stack: its fields in
/// name order, each map at the place of its `Field[` entries. Two objects
/// of one type write the same names in the same order, so their fields
/// pair up one by one. (Slots are `Option`s so that an empty flattening
/// costs one word per slot to set up.)
pub(super) struct PrimitiveFields<'a> {
    fields: [Option<(&'static str, Entry<'a>)>; MAX_FIELDS],
    len: usize,
}

impl<'a> PrimitiveFields<'a> {
    pub(super) fn new() -> Self {
        PrimitiveFields {
            fields: [None; MAX_FIELDS],
            len: 0,
        }
    }

    /// The field written `i`-th.
    pub(super) fn get(&self, i: usize) -> Option<(&'static str, Entry<'a>)> {
        self.fields.get(i).copied().flatten()
    }

    /// The fields in the order written.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&'static str, Entry<'a>)> + '_ {
        self.fields[..self.len].iter().flatten().copied()
    }
}

impl<'a> Fields<'a> for PrimitiveFields<'a> {
    fn field(&mut self, name: &'static str, entry: Entry<'a>) {
        debug_assert!(
            self.len == 0
                || self
                    .get(self.len - 1)
                    .is_none_or(|last| sort_name(last).lt(sort_name((name, entry)))),
            "primitive fields come in name order: {name} after {:?}",
            self.len.checked_sub(1).and_then(|i| self.get(i))
        );
        self.fields[self.len] = Some((name, entry));
        self.len += 1;
    }
}

fn go_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// The text a field sorts by: a map sorts at the place of its `Field[`
/// entries.
fn sort_name((name, entry): (&'static str, Entry<'_>)) -> impl Iterator<Item = u8> {
    let bracket = matches!(entry, Entry::Map(_)).then_some(b'[');
    name.bytes().chain(bracket)
}

/// A struct with a primitive flattening (Nomad's `Flatten(obj, filter,
/// true)` with the filter of the place the struct is diffed). Impls write
/// fields in name order (a map field at the place of `Field[`), so two
/// flattenings pair up without sorting or comparing names.
pub(super) trait Primitive {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F);
}

impl Primitive for Job {
    /// Filter: ID, Status, StatusDescription, Version, Stable, CreateIndex,
    /// ModifyIndex, JobModifyIndex, Update, SubmitTime. `Payload` is a
    /// byte slice and never flattened.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.bool("AllAtOnce", self.all_at_once);
        out.map("Meta", &self.meta);
        out.str("Name", &self.name);
        out.str("ParentID", &self.parent_id);
        out.int("Priority", self.priority);
        out.str("Region", &self.region);
        out.bool("Stop", self.stop);
        out.str("Type", &self.job_type);
        out.str("VaultToken", &self.vault_token);
    }
}

impl Primitive for TaskGroup {
    /// Filter: Name.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.int("Count", self.count);
        out.map("Meta", &self.meta);
    }
}

impl Primitive for Task {
    /// Filter: Name, Config (whose values are not strings anyway).
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("Driver", &self.driver);
        out.map("Env", &self.env);
        out.int("KillTimeout", self.kill_timeout);
        out.bool("Leader", self.leader);
        out.map("Meta", &self.meta);
        out.int("ShutdownDelay", self.shutdown_delay);
        out.str("User", &self.user);
    }
}

impl Primitive for Resources {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.int("CPU", self.cpu);
        out.int("DiskMB", self.disk_mb);
        out.int("IOPS", self.iops);
        out.int("MemoryMB", self.memory_mb);
    }
}

impl Primitive for NetworkResource {
    /// Filter: Device, CIDR, IP.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.int("MBits", self.mbits);
    }
}

/// A reserved port (`Static Port`: label and value).
#[derive(PartialEq)]
pub(super) struct StaticPort<'p>(pub &'p Port);

/// A dynamic port (`Dynamic Port`: filter Value, only the label counts).
pub(super) struct DynamicPort<'p>(pub &'p Port);

impl PartialEq for DynamicPort<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.label == other.0.label
    }
}

impl Primitive for StaticPort<'_> {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("Label", &self.0.label);
        out.int("Value", self.0.value);
    }
}

impl Primitive for DynamicPort<'_> {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("Label", &self.0.label);
    }
}

impl Primitive for Constraint {
    /// Filter: the unexported memoized `str`.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("LTarget", &self.ltarget);
        out.str("Operand", &self.operand);
        out.str("RTarget", &self.rtarget);
    }
}

impl Primitive for UpdateStrategy {
    /// Filter: Stagger (the v0.5 field, kept only for conversion).
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.bool("AutoRevert", self.auto_revert);
        out.int("Canary", self.canary);
        out.str("HealthCheck", &self.health_check);
        out.int("HealthyDeadline", self.healthy_deadline);
        out.int("MaxParallel", self.max_parallel);
        out.int("MinHealthyTime", self.min_healthy_time);
    }
}

impl Primitive for PeriodicConfig {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.bool("Enabled", self.enabled);
        out.bool("ProhibitOverlap", self.prohibit_overlap);
        out.str("Spec", &self.spec);
        out.str("SpecType", &self.spec_type);
        out.str("TimeZone", &self.time_zone);
    }
}

impl Primitive for ParameterizedJobConfig {
    /// The meta lists are slices, diffed as string sets elsewhere.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("Payload", &self.payload);
    }
}

impl Primitive for DispatchPayloadConfig {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("File", &self.file);
    }
}

impl Primitive for RestartPolicy {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.int("Attempts", self.attempts);
        out.int("Delay", self.delay);
        out.int("Interval", self.interval);
        out.str("Mode", &self.mode);
    }
}

impl Primitive for EphemeralDisk {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.bool("Migrate", self.migrate);
        out.int("SizeMB", self.size_mb);
        out.bool("Sticky", self.sticky);
    }
}

impl Primitive for LogConfig {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.int("MaxFileSizeMB", self.max_file_size_mb);
        out.int("MaxFiles", self.max_files);
    }
}

impl Primitive for Service {
    /// `Tags` and `Checks` are slices: not flattened (so a tags-only change
    /// shows no field).
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("AddressMode", &self.address_mode);
        out.str("Name", &self.name);
        out.str("PortLabel", &self.port_label);
    }
}

impl Primitive for ServiceCheck {
    /// `Args` (a slice) and `Header` (a map of slices) are skipped.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("Command", &self.command);
        out.str("InitialStatus", &self.initial_status);
        out.int("Interval", self.interval);
        out.str("Method", &self.method);
        out.str("Name", &self.name);
        out.str("Path", &self.path);
        out.str("PortLabel", &self.port_label);
        out.str("Protocol", &self.protocol);
        out.bool("TLSSkipVerify", self.tls_skip_verify);
        out.int("Timeout", self.timeout);
        out.str("Type", &self.check_type);
    }
}

impl Primitive for Template {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("ChangeMode", &self.change_mode);
        out.str("ChangeSignal", &self.change_signal);
        out.str("DestPath", &self.dest_path);
        out.str("EmbeddedTmpl", &self.embedded_tmpl);
        out.bool("Envvars", self.envvars);
        out.str("LeftDelim", &self.left_delim);
        out.str("Perms", &self.perms);
        out.str("RightDelim", &self.right_delim);
        out.str("SourcePath", &self.source_path);
        out.int("Splay", self.splay);
        out.int("VaultGrace", self.vault_grace);
    }
}

impl Primitive for TaskArtifact {
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("GetterMode", &self.getter_mode);
        out.map("GetterOptions", &self.getter_options);
        out.str("GetterSource", &self.getter_source);
        out.str("RelativeDest", &self.relative_dest);
    }
}

impl Primitive for Vault {
    /// `Policies` is a slice, diffed as a string set elsewhere.
    fn fill<'a, F: Fields<'a>>(&'a self, out: &mut F) {
        out.str("ChangeMode", &self.change_mode);
        out.str("ChangeSignal", &self.change_signal);
        out.bool("Env", self.env);
    }
}

/// Full flattening of a task `Config` map.
pub(super) fn config(config: &Map<String, Value>) -> Flat<'_> {
    let mut out = Flattener::new();
    for (key, value) in config {
        json_value(&mut out, Name::Field(key), value);
    }
    out.finish()
}

fn json_value<'a>(out: &mut Flattener<'a>, name: Name<'a>, value: &'a Value) {
    let path = |name: &Name<'_>, sub: &dyn std::fmt::Display| {
        Name::Path(format!("{}[{sub}]", name.render()))
    };
    match value {
        Value::Null => out.pairs.push((name, Val::Static("nil"))),
        Value::Bool(b) => out.pairs.push((name, Val::Static(go_bool(*b)))),
        // encoding/json decodes every number into a float64.
        Value::Number(n) => out
            .pairs
            .push((name, Val::Text(gofmt::float(n.as_f64().unwrap_or(0.0))))),
        Value::String(s) => out.pairs.push((name, Val::Str(s.as_str()))),
        // An empty (non-nil) list adds nothing.
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_value(out, path(&name, &i), item);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                json_value(out, path(&name, key), item);
            }
        }
    }
}

/// Full flattening of a check `Header` (`map[string][]string`). Our model
/// does not keep Go's nil-versus-empty distinction for the value lists: an
/// empty list is taken as nil (`"nil"`), which is what a JSON `null` or a
/// round trip through our own JSON gives.
pub(super) fn header(header: &std::collections::BTreeMap<String, NilVec<String>>) -> Flat<'_> {
    let mut out = Flattener::new();
    for (key, NilVec(values)) in header {
        if values.is_empty() {
            out.pairs.push((Name::Field(key), Val::Static("nil")));
        }
        for (i, value) in values.iter().enumerate() {
            out.pairs
                .push((Name::Path(format!("{key}[{i}]")), Val::Str(value.as_str())));
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::fields::primitive_fields;
    use crate::diff::FieldDiff;
    use serde_json::json;

    fn names_values(flat: &Flat<'_>) -> Vec<(String, String)> {
        flat.iter()
            .map(|(n, v)| (n.render().into(), v.render().into()))
            .collect()
    }

    fn shown(fields: &[FieldDiff]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|f| (f.name.to_string(), f.new.to_string()))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn config_flattens_like_go_flatmap() {
        let cfg = json!({
            "image": "redis:3.2",
            "args": ["-p", 8080],
            "port_map": [{"db": 6379}],
            "labels": [{"a.b": "c"}],
            "big": 1000000,
            "ratio": 1234567.0,
            "small": 0.0001,
            "tiny": 0.00001,
            "neg": -2.5,
            "debug": true,
            "nothing": null,
            "empty_list": [],
            "empty_map": {},
            "nested": {"inner": {"deep": [null, false]}}
        });
        let Value::Object(map) = cfg else {
            panic!("literal is an object")
        };
        assert_eq!(
            names_values(&config(&map)),
            pairs(&[
                ("args[0]", "-p"),
                ("args[1]", "8080"),
                ("big", "1e+06"),
                ("debug", "true"),
                ("image", "redis:3.2"),
                ("labels[0][a.b]", "c"),
                ("neg", "-2.5"),
                ("nested[inner][deep][0]", "nil"),
                ("nested[inner][deep][1]", "false"),
                ("nothing", "nil"),
                ("port_map[0][db]", "6379"),
                ("ratio", "1.234567e+06"),
                ("small", "0.0001"),
                ("tiny", "1e-05"),
            ])
        );
    }

    #[test]
    fn header_flattens_lists_by_index_and_empty_as_nil() {
        let mut h = std::collections::BTreeMap::new();
        h.insert(
            "X-Token".to_string(),
            NilVec(vec!["a".to_string(), "b".to_string()]),
        );
        h.insert("X-Empty".to_string(), NilVec(vec![]));
        assert_eq!(
            names_values(&header(&h)),
            pairs(&[("X-Empty", "nil"), ("X-Token[0]", "a"), ("X-Token[1]", "b")])
        );
    }

    #[test]
    fn task_primitive_fields_skip_nested_and_sort_map_entries_by_full_name() {
        let mut task = Task {
            name: "t".into(),
            driver: "exec".into(),
            kill_timeout: 5_000_000_000,
            ..Task::default()
        };
        // "Env[a b]" sorts before "Env[a]" (' ' < ']'), unlike the keys.
        task.env.insert("a".into(), "1".into());
        task.env.insert("a b".into(), "2".into());
        task.meta.insert("m".into(), "x".into());
        task.config.insert("command".into(), json!("/bin/date"));
        task.resources = Some(Resources::nomad_default());
        assert_eq!(
            shown(&primitive_fields(None, Some(&task), true)),
            pairs(&[
                ("Driver", "exec"),
                ("Env[a b]", "2"),
                ("Env[a]", "1"),
                ("KillTimeout", "5000000000"),
                ("Leader", "false"),
                ("Meta[m]", "x"),
                ("ShutdownDelay", "0"),
                ("User", ""),
            ])
        );
    }

    #[test]
    fn job_primitive_fields_leave_out_the_filtered_ones() {
        let job = Job {
            id: "j".into(),
            name: "j".into(),
            job_type: "service".into(),
            priority: 50,
            status: "running".into(),
            version: 3,
            submit_time: 12,
            ..Job::default()
        };
        let names: Vec<DiffStr> = primitive_fields(None, Some(&job), true)
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "AllAtOnce",
                "Name",
                "ParentID",
                "Priority",
                "Region",
                "Stop",
                "Type",
                "VaultToken"
            ]
        );
    }

    /// The impls emit names in order, a map at the place of `Field[`.
    fn emits_sorted<T: Primitive>(obj: &T) -> bool {
        let mut fields = PrimitiveFields::new();
        obj.fill(&mut fields);
        let names: Vec<String> = fields
            .iter()
            .map(|(name, entry)| match entry {
                Entry::Map(_) => format!("{name}["),
                _ => name.to_string(),
            })
            .collect();
        names.is_sorted_by(|a, b| a < b)
    }

    #[test]
    fn primitive_impls_emit_names_in_order() {
        let mut job = Job::default();
        job.meta.insert("k".into(), "v".into());
        let mut group = TaskGroup::default();
        group.meta.insert("k".into(), "v".into());
        let mut task = Task::default();
        task.env.insert("E".into(), "1".into());
        task.meta.insert("m".into(), "1".into());
        let mut artifact = TaskArtifact::default();
        artifact
            .getter_options
            .insert("checksum".into(), "x".into());
        let port = Port::default();
        assert!(emits_sorted(&job));
        assert!(emits_sorted(&group));
        assert!(emits_sorted(&task));
        assert!(emits_sorted(&artifact));
        assert!(emits_sorted(&Resources::default()));
        assert!(emits_sorted(&NetworkResource::default()));
        assert!(emits_sorted(&StaticPort(&port)));
        assert!(emits_sorted(&DynamicPort(&port)));
        assert!(emits_sorted(&Constraint::default()));
        assert!(emits_sorted(&UpdateStrategy::default()));
        assert!(emits_sorted(&PeriodicConfig::default()));
        assert!(emits_sorted(&ParameterizedJobConfig::default()));
        assert!(emits_sorted(&DispatchPayloadConfig::default()));
        assert!(emits_sorted(&RestartPolicy::default()));
        assert!(emits_sorted(&EphemeralDisk::default()));
        assert!(emits_sorted(&LogConfig::default()));
        assert!(emits_sorted(&Service::default()));
        assert!(emits_sorted(&ServiceCheck::default()));
        assert!(emits_sorted(&Template::default()));
        assert!(emits_sorted(&Vault::default()));
    }

    #[test]
    fn same_text_is_equality_at_every_length() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            let a = &text[..n];
            assert!(same_text(a, a));
            for i in 0..n {
                let mut b = a.as_bytes().to_vec();
                b[i] = b'_';
                let b = String::from_utf8(b).expect("ASCII");
                assert!(!same_text(a, &b), "{a:?} vs {b:?}");
            }
            if n > 0 {
                assert!(!same_text(a, &text[..n - 1]));
            }
        }
    }

    #[test]
    fn decimals_match_to_string() {
        for i in [0, 7, -7, 10, 5_000_000_000, i64::MAX, i64::MIN] {
            assert_eq!(Val::Int(i).render(), i.to_string());
        }
    }
}
