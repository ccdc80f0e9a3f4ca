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

/// A flattened name. Map entries keep their parts so that flattening
/// allocates nothing; names order as their rendered text would.
#[derive(Debug, Clone)]
pub(super) enum Name<'a> {
    /// A struct field.
    Static(&'static str),
    /// A bare name: a top-level map key.
    Field(&'a str),
    /// `Field[key]`.
    Keyed(&'a str, &'a str),
    /// A nested path built while recursing (`args[0]`, `a[b][c]`).
    Path(String),
}

impl Name<'_> {
    fn segments(&self) -> [&[u8]; 4] {
        match self {
            Name::Static(s) => [s.as_bytes(), b"", b"", b""],
            Name::Field(s) => [s.as_bytes(), b"", b"", b""],
            Name::Keyed(field, key) => [field.as_bytes(), b"[", key.as_bytes(), b"]"],
            Name::Path(s) => [s.as_bytes(), b"", b"", b""],
        }
    }

    pub(super) fn render(&self) -> DiffStr {
        match self {
            Name::Static(s) => DiffStr::from_static(s),
            Name::Field(s) => DiffStr::from(*s),
            Name::Keyed(field, key) => DiffStr::concat(&[field, "[", key, "]"]),
            Name::Path(s) => DiffStr::from(s.as_str()),
        }
    }
}

/// Byte-wise order of two names given as concatenated segments.
fn cmp_segments(a: &[&[u8]], b: &[&[u8]]) -> Ordering {
    let (mut ai, mut ao, mut bi, mut bo) = (0, 0, 0, 0);
    loop {
        while ai < a.len() && ao == a[ai].len() {
            ai += 1;
            ao = 0;
        }
        while bi < b.len() && bo == b[bi].len() {
            bi += 1;
            bo = 0;
        }
        let (x, y) = match (a.get(ai), b.get(bi)) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (&x[ao..], &y[bo..]),
        };
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            Ordering::Equal => {
                ao += n;
                bo += n;
            }
            other => return other,
        }
    }
}

/// `a]` against `b]`: the keys of one map field.
fn cmp_keys(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    // One key is a prefix of the other: the shorter goes on with `]`.
    match (a.get(n), b.get(n)) {
        (None, Some(c)) => b']'.cmp(c).then(Ordering::Less),
        (Some(c), None) => c.cmp(&b']').then(Ordering::Greater),
        _ => Ordering::Equal,
    }
}

impl Ord for Name<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Both sides of a primitive diff name their fields with the
            // same static strs: compare addresses first.
            (Name::Static(a), Name::Static(b)) if std::ptr::eq(*a, *b) => Ordering::Equal,
            (Name::Keyed(f, a), Name::Keyed(g, b)) if std::ptr::eq(*f, *g) || f == g => {
                cmp_keys(a.as_bytes(), b.as_bytes())
            }
            (Name::Static(a) | Name::Field(a), Name::Static(b) | Name::Field(b)) => a.cmp(b),
            _ => cmp_segments(&self.segments(), &other.segments()),
        }
    }
}

impl PartialOrd for Name<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
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
            _ => self.as_text() == other.as_text(),
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

/// A flattened object: `(name, value)` pairs sorted by name, names unique.
pub(super) type Flat<'a> = Vec<(Name<'a>, Val<'a>)>;

/// Builds a [`Flat`]; [`Flattener::finish`] sorts it if needed.
pub(super) struct Flattener<'a> {
    pairs: Flat<'a>,
    /// Whether `pairs` is known to be in name order.
    sorted: bool,
}

impl<'a> Flattener<'a> {
    /// For primitive impls, which emit names in order.
    fn new(capacity: usize) -> Self {
        Flattener {
            pairs: Vec::with_capacity(capacity),
            sorted: true,
        }
    }

    /// For full flattening, whose names come in document order.
    fn unsorted() -> Self {
        Flattener {
            pairs: Vec::new(),
            sorted: false,
        }
    }

    fn str(&mut self, name: &'static str, value: &'a str) {
        self.pairs.push((Name::Static(name), Val::Str(value)));
    }

    fn int(&mut self, name: &'static str, value: i64) {
        self.pairs.push((Name::Static(name), Val::Int(value)));
    }

    fn bool(&mut self, name: &'static str, value: bool) {
        self.pairs
            .push((Name::Static(name), Val::Static(go_bool(value))));
    }

    /// A `map[string]string` field: one `Field[key]` entry per key, in key
    /// order — which is name order unless a key is a prefix of the next
    /// one followed by a byte below `]` (`a` then `a b`: `Env[a b]` <
    /// `Env[a]`).
    fn map(&mut self, field: &'static str, map: &'a StringMap) {
        let mut previous: Option<&str> = None;
        for (key, value) in map {
            if let Some(p) = previous {
                if key.as_bytes().get(p.len()).is_some_and(|&c| c < b']') && key.starts_with(p) {
                    self.sorted = false;
                }
            }
            previous = Some(key);
            self.pairs
                .push((Name::Keyed(field, key), Val::Str(value.as_str())));
        }
    }

    /// Sorted by name. The primitive impls emit their fields in name order,
    /// so sorting is mostly a check; map entries can still be out of order
    /// (`Env[a b]` < `Env[a]`). Names are unique in primitive flattening; in
    /// full flattening a key like `"a[b]"` can collide with a nested path,
    /// and then the first one (document order) is kept — Go keeps whichever
    /// its random map order wrote last.
    fn finish(mut self) -> Flat<'a> {
        if self.sorted {
            debug_assert!(
                self.pairs.is_sorted_by(|a, b| a.0 < b.0),
                "{:?}",
                self.pairs
            );
        } else {
            self.pairs.sort_by(|a, b| a.0.cmp(&b.0));
            self.pairs.dedup_by(|later, first| later.0 == first.0);
        }
        self.pairs
    }
}

fn go_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// A struct with a primitive flattening (Nomad's `Flatten(obj, filter,
/// true)` with the filter of the place the struct is diffed). Impls emit
/// fields in name order (a map field at the place of `Field[`), which
/// spares the sort.
pub(super) trait Primitive {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>);

    /// How many entries `fill` writes, at most (no struct has more than
    /// eleven fixed fields; those with maps say more).
    fn len_hint(&self) -> usize {
        11
    }
}

/// The primitive flattening of an optional object (absent = no entries,
/// as Nomad drops the `"" → "nil"` entry of a nil pointer).
pub(super) fn primitive<T: Primitive>(obj: Option<&T>) -> Flat<'_> {
    let Some(obj) = obj else {
        return Vec::new();
    };
    let mut out = Flattener::new(obj.len_hint());
    obj.fill(&mut out);
    out.finish()
}

impl Primitive for Job {
    /// Filter: ID, Status, StatusDescription, Version, Stable, CreateIndex,
    /// ModifyIndex, JobModifyIndex, Update, SubmitTime. `Payload` is a
    /// byte slice and never flattened.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
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

    fn len_hint(&self) -> usize {
        8 + self.meta.len()
    }
}

impl Primitive for TaskGroup {
    /// Filter: Name.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("Count", self.count);
        out.map("Meta", &self.meta);
    }

    fn len_hint(&self) -> usize {
        1 + self.meta.len()
    }
}

impl Primitive for Task {
    /// Filter: Name, Config (whose values are not strings anyway).
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Driver", &self.driver);
        out.map("Env", &self.env);
        out.int("KillTimeout", self.kill_timeout);
        out.bool("Leader", self.leader);
        out.map("Meta", &self.meta);
        out.int("ShutdownDelay", self.shutdown_delay);
        out.str("User", &self.user);
    }

    fn len_hint(&self) -> usize {
        6 + self.env.len() + self.meta.len()
    }
}

impl Primitive for Resources {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("CPU", self.cpu);
        out.int("DiskMB", self.disk_mb);
        out.int("IOPS", self.iops);
        out.int("MemoryMB", self.memory_mb);
    }
}

impl Primitive for NetworkResource {
    /// Filter: Device, CIDR, IP.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
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
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Label", &self.0.label);
        out.int("Value", self.0.value);
    }
}

impl Primitive for DynamicPort<'_> {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Label", &self.0.label);
    }
}

impl Primitive for Constraint {
    /// Filter: the unexported memoized `str`.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("LTarget", &self.ltarget);
        out.str("Operand", &self.operand);
        out.str("RTarget", &self.rtarget);
    }
}

impl Primitive for UpdateStrategy {
    /// Filter: Stagger (the v0.5 field, kept only for conversion).
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("AutoRevert", self.auto_revert);
        out.int("Canary", self.canary);
        out.str("HealthCheck", &self.health_check);
        out.int("HealthyDeadline", self.healthy_deadline);
        out.int("MaxParallel", self.max_parallel);
        out.int("MinHealthyTime", self.min_healthy_time);
    }
}

impl Primitive for PeriodicConfig {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("Enabled", self.enabled);
        out.bool("ProhibitOverlap", self.prohibit_overlap);
        out.str("Spec", &self.spec);
        out.str("SpecType", &self.spec_type);
        out.str("TimeZone", &self.time_zone);
    }
}

impl Primitive for ParameterizedJobConfig {
    /// The meta lists are slices, diffed as string sets elsewhere.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Payload", &self.payload);
    }
}

impl Primitive for DispatchPayloadConfig {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("File", &self.file);
    }
}

impl Primitive for RestartPolicy {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("Attempts", self.attempts);
        out.int("Delay", self.delay);
        out.int("Interval", self.interval);
        out.str("Mode", &self.mode);
    }
}

impl Primitive for EphemeralDisk {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("Migrate", self.migrate);
        out.int("SizeMB", self.size_mb);
        out.bool("Sticky", self.sticky);
    }
}

impl Primitive for LogConfig {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("MaxFileSizeMB", self.max_file_size_mb);
        out.int("MaxFiles", self.max_files);
    }
}

impl Primitive for Service {
    /// `Tags` and `Checks` are slices: not flattened (so a tags-only change
    /// shows no field).
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("AddressMode", &self.address_mode);
        out.str("Name", &self.name);
        out.str("PortLabel", &self.port_label);
    }
}

impl Primitive for ServiceCheck {
    /// `Args` (a slice) and `Header` (a map of slices) are skipped.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
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
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
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
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("GetterMode", &self.getter_mode);
        out.map("GetterOptions", &self.getter_options);
        out.str("GetterSource", &self.getter_source);
        out.str("RelativeDest", &self.relative_dest);
    }

    fn len_hint(&self) -> usize {
        3 + self.getter_options.len()
    }
}

impl Primitive for Vault {
    /// `Policies` is a slice, diffed as a string set elsewhere.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("ChangeMode", &self.change_mode);
        out.str("ChangeSignal", &self.change_signal);
        out.bool("Env", self.env);
    }
}

/// Full flattening of a task `Config` map.
pub(super) fn config(config: &Map<String, Value>) -> Flat<'_> {
    let mut out = Flattener::unsorted();
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
    let mut out = Flattener::unsorted();
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
    use serde_json::json;

    fn names_values(flat: &Flat<'_>) -> Vec<(String, String)> {
        flat.iter()
            .map(|(n, v)| (n.render().into(), v.render().into()))
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
            names_values(&primitive(Some(&task))),
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
        let names: Vec<DiffStr> = primitive(Some(&job))
            .iter()
            .map(|(n, _)| n.render())
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

    /// The impls emit names in order (so `finish` only has to check) and
    /// no more than their hint.
    fn emits_sorted<T: Primitive>(obj: &T) -> bool {
        let mut out = Flattener::new(obj.len_hint());
        obj.fill(&mut out);
        out.pairs.len() <= obj.len_hint() && out.pairs.is_sorted_by(|a, b| a.0 < b.0)
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
    fn names_order_as_their_text() {
        let names = [
            Name::Field("Env"),
            Name::Keyed("Env", ""),
            Name::Keyed("Env", "a b"),
            Name::Keyed("Env", "a"),
            Name::Keyed("Env", "a]"),
            Name::Keyed("Env", "ab"),
            Name::Path("Env[b]".into()),
            Name::Field("Env[c"),
            Name::Static("Envy"),
            Name::Keyed("Envy", "a"),
            Name::Field("KillTimeout"),
            Name::Static("Leader"),
        ];
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                assert_eq!(a.cmp(b), a.render().cmp(&b.render()), "{a:?} vs {b:?}");
                assert_eq!(a.cmp(b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn decimals_match_to_string() {
        for i in [0, 7, -7, 10, 5_000_000_000, i64::MAX, i64::MIN] {
            assert_eq!(Val::Int(i).render(), i.to_string());
        }
    }

    #[test]
    fn absent_object_flattens_to_nothing() {
        assert!(primitive::<LogConfig>(None).is_empty());
    }
}
