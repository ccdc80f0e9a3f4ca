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

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::gofmt;
use crate::model::{
    Constraint, DispatchPayloadConfig, EphemeralDisk, Job, LogConfig, NetworkResource, NilVec,
    ParameterizedJobConfig, PeriodicConfig, Port, Resources, RestartPolicy, Service, ServiceCheck,
    StringMap, Task, TaskArtifact, TaskGroup, Template, UpdateStrategy, Vault,
};

/// A flattened object: `(name, value)` pairs sorted by name, names unique.
pub(super) type Flat<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Builds a [`Flat`]; [`Flattener::finish`] sorts it.
pub(super) struct Flattener<'a> {
    pairs: Flat<'a>,
}

impl<'a> Flattener<'a> {
    fn new() -> Self {
        Flattener {
            pairs: Vec::with_capacity(16),
        }
    }

    fn str(&mut self, name: &'static str, value: &'a str) {
        self.pairs.push((Cow::Borrowed(name), Cow::Borrowed(value)));
    }

    fn int(&mut self, name: &'static str, value: i64) {
        self.pairs
            .push((Cow::Borrowed(name), Cow::Owned(value.to_string())));
    }

    fn bool(&mut self, name: &'static str, value: bool) {
        self.pairs
            .push((Cow::Borrowed(name), Cow::Borrowed(go_bool(value))));
    }

    /// A `map[string]string` field: one `Field[key]` entry per key.
    fn map(&mut self, field: &str, map: &'a StringMap) {
        for (key, value) in map {
            self.pairs.push((
                Cow::Owned(format!("{field}[{key}]")),
                Cow::Borrowed(value.as_str()),
            ));
        }
    }

    /// Sorted by name. Names are unique in primitive flattening; in full
    /// flattening a key like `"a[b]"` can collide with a nested path, and
    /// then the first one (document order) is kept — Go keeps whichever its
    /// random map order wrote last.
    fn finish(mut self) -> Flat<'a> {
        self.pairs.sort_by(|a, b| a.0.cmp(&b.0));
        self.pairs.dedup_by(|later, first| later.0 == first.0);
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
/// true)` with the filter of the place the struct is diffed).
pub(super) trait Primitive {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>);
}

/// The primitive flattening of an optional object (absent = no entries,
/// as Nomad drops the `"" → "nil"` entry of a nil pointer).
pub(super) fn primitive<T: Primitive>(obj: Option<&T>) -> Flat<'_> {
    let mut out = Flattener::new();
    if let Some(obj) = obj {
        obj.fill(&mut out);
    }
    out.finish()
}

impl Primitive for Job {
    /// Filter: ID, Status, StatusDescription, Version, Stable, CreateIndex,
    /// ModifyIndex, JobModifyIndex, Update, SubmitTime. `Payload` is a
    /// byte slice and never flattened.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("Stop", self.stop);
        out.str("Region", &self.region);
        out.str("ParentID", &self.parent_id);
        out.str("Name", &self.name);
        out.str("Type", &self.job_type);
        out.int("Priority", self.priority);
        out.bool("AllAtOnce", self.all_at_once);
        out.map("Meta", &self.meta);
        out.str("VaultToken", &self.vault_token);
    }
}

impl Primitive for TaskGroup {
    /// Filter: Name.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("Count", self.count);
        out.map("Meta", &self.meta);
    }
}

impl Primitive for Task {
    /// Filter: Name, Config (whose values are not strings anyway).
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Driver", &self.driver);
        out.str("User", &self.user);
        out.map("Env", &self.env);
        out.map("Meta", &self.meta);
        out.int("KillTimeout", self.kill_timeout);
        out.bool("Leader", self.leader);
        out.int("ShutdownDelay", self.shutdown_delay);
    }
}

impl Primitive for Resources {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("CPU", self.cpu);
        out.int("MemoryMB", self.memory_mb);
        out.int("DiskMB", self.disk_mb);
        out.int("IOPS", self.iops);
    }
}

impl Primitive for NetworkResource {
    /// Filter: Device, CIDR, IP.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("MBits", self.mbits);
    }
}

/// A reserved port (`Static Port`: label and value).
pub(super) struct StaticPort<'p>(pub &'p Port);

/// A dynamic port (`Dynamic Port`: filter Value, only the label counts).
pub(super) struct DynamicPort<'p>(pub &'p Port);

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
        out.str("RTarget", &self.rtarget);
        out.str("Operand", &self.operand);
    }
}

impl Primitive for UpdateStrategy {
    /// Filter: Stagger (the v0.5 field, kept only for conversion).
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("MaxParallel", self.max_parallel);
        out.str("HealthCheck", &self.health_check);
        out.int("MinHealthyTime", self.min_healthy_time);
        out.int("HealthyDeadline", self.healthy_deadline);
        out.bool("AutoRevert", self.auto_revert);
        out.int("Canary", self.canary);
    }
}

impl Primitive for PeriodicConfig {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("Enabled", self.enabled);
        out.str("Spec", &self.spec);
        out.str("SpecType", &self.spec_type);
        out.bool("ProhibitOverlap", self.prohibit_overlap);
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
        out.int("Interval", self.interval);
        out.int("Delay", self.delay);
        out.str("Mode", &self.mode);
    }
}

impl Primitive for EphemeralDisk {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("Sticky", self.sticky);
        out.int("SizeMB", self.size_mb);
        out.bool("Migrate", self.migrate);
    }
}

impl Primitive for LogConfig {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.int("MaxFiles", self.max_files);
        out.int("MaxFileSizeMB", self.max_file_size_mb);
    }
}

impl Primitive for Service {
    /// `Tags` and `Checks` are slices: not flattened (so a tags-only change
    /// shows no field).
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Name", &self.name);
        out.str("PortLabel", &self.port_label);
        out.str("AddressMode", &self.address_mode);
    }
}

impl Primitive for ServiceCheck {
    /// `Args` (a slice) and `Header` (a map of slices) are skipped.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("Name", &self.name);
        out.str("Type", &self.check_type);
        out.str("Command", &self.command);
        out.str("Path", &self.path);
        out.str("Protocol", &self.protocol);
        out.str("PortLabel", &self.port_label);
        out.int("Interval", self.interval);
        out.int("Timeout", self.timeout);
        out.str("InitialStatus", &self.initial_status);
        out.bool("TLSSkipVerify", self.tls_skip_verify);
        out.str("Method", &self.method);
    }
}

impl Primitive for Template {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("SourcePath", &self.source_path);
        out.str("DestPath", &self.dest_path);
        out.str("EmbeddedTmpl", &self.embedded_tmpl);
        out.str("ChangeMode", &self.change_mode);
        out.str("ChangeSignal", &self.change_signal);
        out.int("Splay", self.splay);
        out.str("Perms", &self.perms);
        out.str("LeftDelim", &self.left_delim);
        out.str("RightDelim", &self.right_delim);
        out.bool("Envvars", self.envvars);
        out.int("VaultGrace", self.vault_grace);
    }
}

impl Primitive for TaskArtifact {
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.str("GetterSource", &self.getter_source);
        out.map("GetterOptions", &self.getter_options);
        out.str("GetterMode", &self.getter_mode);
        out.str("RelativeDest", &self.relative_dest);
    }
}

impl Primitive for Vault {
    /// `Policies` is a slice, diffed as a string set elsewhere.
    fn fill<'a>(&'a self, out: &mut Flattener<'a>) {
        out.bool("Env", self.env);
        out.str("ChangeMode", &self.change_mode);
        out.str("ChangeSignal", &self.change_signal);
    }
}

/// Full flattening of a task `Config` map.
pub(super) fn config(config: &Map<String, Value>) -> Flat<'_> {
    let mut out = Flattener::new();
    for (key, value) in config {
        json_value(&mut out, key.clone(), value);
    }
    out.finish()
}

fn json_value<'a>(out: &mut Flattener<'a>, name: String, value: &'a Value) {
    match value {
        Value::Null => out.pairs.push((Cow::Owned(name), Cow::Borrowed("nil"))),
        Value::Bool(b) => out
            .pairs
            .push((Cow::Owned(name), Cow::Borrowed(go_bool(*b)))),
        // encoding/json decodes every number into a float64.
        Value::Number(n) => out.pairs.push((
            Cow::Owned(name),
            Cow::Owned(gofmt::float(n.as_f64().unwrap_or(0.0))),
        )),
        Value::String(s) => out
            .pairs
            .push((Cow::Owned(name), Cow::Borrowed(s.as_str()))),
        // An empty (non-nil) list adds nothing.
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_value(out, format!("{name}[{i}]"), item);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                json_value(out, format!("{name}[{key}]"), item);
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
            out.pairs
                .push((Cow::Borrowed(key.as_str()), Cow::Borrowed("nil")));
        }
        for (i, value) in values.iter().enumerate() {
            out.pairs.push((
                Cow::Owned(format!("{key}[{i}]")),
                Cow::Borrowed(value.as_str()),
            ));
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
            .map(|(n, v)| (n.to_string(), v.to_string()))
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
        let names: Vec<String> = primitive(Some(&job))
            .iter()
            .map(|(n, _)| n.to_string())
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

    #[test]
    fn absent_object_flattens_to_nothing() {
        assert!(primitive::<LogConfig>(None).is_empty());
    }
}
