//! The blocks of a job file → the API job, walked in the order Nomad
//! v0.6.3's `jobspec/parse.go` walks them, so the first error is the same.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Number, Value};

use super::ast::{children, elem, filter, items, Item, Node, NodeRef, ObjectItem, ObjectType};
use super::decode::{decode_object, GoMap, GoValue};
use super::goerror::{GoError, Located};
use super::gostrconv::parse_bool;
use super::scanner::Pos;
use super::weak::{weak_string_map, Fields};
use crate::gofmt;
use crate::model::api::{
    ApiConstraint, ApiDispatchPayloadConfig, ApiEphemeralDisk, ApiJob, ApiLogConfig,
    ApiNetworkResource, ApiParameterizedJobConfig, ApiPeriodicConfig, ApiResources,
    ApiRestartPolicy, ApiService, ApiServiceCheck, ApiTask, ApiTaskArtifact, ApiTaskGroup,
    ApiTemplate, ApiUpdateStrategy, ApiVault,
};
use crate::model::{Port, SECOND};

const JOB_KEYS: &[&str] = &[
    "all_at_once",
    "constraint",
    "datacenters",
    "parameterized",
    "group",
    "id",
    "meta",
    "name",
    "periodic",
    "priority",
    "region",
    "task",
    "type",
    "update",
    "vault",
    "vault_token",
];
const GROUP_KEYS: &[&str] = &[
    "count",
    "constraint",
    "restart",
    "meta",
    "task",
    "ephemeral_disk",
    "update",
    "vault",
];
const TASK_KEYS: &[&str] = &[
    "artifact",
    "config",
    "constraint",
    "dispatch_payload",
    "driver",
    "env",
    "kill_timeout",
    "leader",
    "logs",
    "meta",
    "resources",
    "service",
    "shutdown_delay",
    "template",
    "user",
    "vault",
];
const CONSTRAINT_KEYS: &[&str] = &[
    "attribute",
    "distinct_hosts",
    "distinct_property",
    "operator",
    "regexp",
    "set_contains",
    "value",
    "version",
];
const RESTART_KEYS: &[&str] = &["attempts", "interval", "delay", "mode"];
const EPHEMERAL_DISK_KEYS: &[&str] = &["sticky", "size", "migrate"];
const UPDATE_KEYS: &[&str] = &[
    "stagger",
    "max_parallel",
    "health_check",
    "min_healthy_time",
    "healthy_deadline",
    "auto_revert",
    "canary",
];
const PERIODIC_KEYS: &[&str] = &["enabled", "cron", "prohibit_overlap", "time_zone"];
const PARAMETERIZED_KEYS: &[&str] = &["payload", "meta_required", "meta_optional"];
const LOGS_KEYS: &[&str] = &["max_files", "max_file_size"];
const ARTIFACT_KEYS: &[&str] = &["source", "options", "mode", "destination"];
const TEMPLATE_KEYS: &[&str] = &[
    "change_mode",
    "change_signal",
    "data",
    "destination",
    "left_delimiter",
    "perms",
    "right_delimiter",
    "source",
    "splay",
    "env",
    "vault_grace",
];
const SERVICE_KEYS: &[&str] = &["name", "tags", "port", "check", "address_mode"];
const CHECK_KEYS: &[&str] = &[
    "name",
    "type",
    "interval",
    "timeout",
    "path",
    "protocol",
    "port",
    "command",
    "args",
    "initial_status",
    "tls_skip_verify",
    "header",
    "method",
];
const RESOURCES_KEYS: &[&str] = &["cpu", "iops", "disk", "memory", "network"];
const NETWORK_KEYS: &[&str] = &["mbits", "port"];
const VAULT_KEYS: &[&str] = &["policies", "env", "change_mode", "change_signal"];
const DISPATCH_PAYLOAD_KEYS: &[&str] = &["file"];

type Result<T> = std::result::Result<T, GoError>;

/// The whole file: exactly one `job "name" { … }` at the top.
pub fn job_file(root: &[ObjectItem]) -> Result<ApiJob> {
    let list = items(root);
    check_keys(NodeRef::Items(list.clone()), &["job"])?;
    let matches = filter(&list, "job");
    if matches.is_empty() {
        return Err(GoError::new(first_line(), "'job' stanza not found"));
    }
    parse_job(&matches).map_err(|e| e.wrap("error parsing 'job': "))
}

fn first_line() -> Pos {
    Pos {
        offset: 0,
        line: 1,
        column: 1,
    }
}

/// `checkHCLKeys`: every key of the block not in `valid`, as one
/// multi-error listing them all.
fn check_keys(node: NodeRef<'_>, valid: &[&str]) -> Result<()> {
    let list = match node {
        NodeRef::Items(v) => v,
        NodeRef::Object(o) => items(&o.items),
        other => {
            return Err(GoError::new(
                other.pos(),
                format!("cannot check HCL keys of type {}", other.type_name()),
            ))
        }
    };
    let invalid: Vec<Located> = list
        .iter()
        .filter_map(|i| {
            let key = i.key().unwrap_or_default();
            (!valid.contains(&key)).then(|| Located {
                text: format!("invalid key: {key}"),
                pos: i.pos(),
            })
        })
        .collect();
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(GoError::Many(invalid))
    }
}

/// The object of a labelled block (always an object once parsed).
fn object_of<'t>(item: &Item<'t>, err: impl FnOnce() -> String) -> Result<&'t ObjectType> {
    match item.val {
        Node::Object(o) => Ok(o),
        _ => Err(GoError::new(item.at, err())),
    }
}

/// The single unlabelled block of a kind that allows only one. Nomad
/// indexes the first item without checking; a file holding only labelled
/// blocks of that kind crashes it, and is an error here.
fn only_one<'t>(list: &[Item<'t>], name: &str, too_many: &str) -> Result<Item<'t>> {
    let list = elem(list);
    if list.len() > 1 {
        return Err(GoError::new(list[1].at, too_many));
    }
    list.first().copied().ok_or_else(|| {
        GoError::new(
            Pos::default(),
            format!("'{name}' block must not have a label"),
        )
    })
}

fn block_items<'t>(item: &Item<'t>) -> Vec<Item<'t>> {
    match item.val {
        Node::Object(o) => items(&o.items),
        _ => Vec::new(),
    }
}

fn parse_job(list: &[Item<'_>]) -> Result<ApiJob> {
    if list.len() != 1 {
        let at = list.get(1).map_or(Pos::default(), |i| i.at);
        return Err(GoError::new(at, "only one 'job' block allowed"));
    }
    let named = children(list);
    let [obj] = named.as_slice() else {
        let at = list.first().map_or(Pos::default(), |i| i.at);
        return Err(GoError::new(at, "'job' block missing name"));
    };
    let m = decode_object(NodeRef::of(obj.val))?;
    let id = obj.key().unwrap_or_default().to_string();
    let mut job = ApiJob {
        id: Some(id.clone()),
        name: Some(id.clone()),
        ..ApiJob::default()
    };

    let object = object_of(obj, || format!("job '{id}' value: should be an object"))?;
    let block = items(&object.items);

    let mut f = Fields::new(&m, false, &block, obj.at);
    if let Some(v) = f.string("Region") {
        job.region = Some(v);
    }
    if let Some(v) = f.string("ID") {
        job.id = Some(v);
    }
    if let Some(v) = f.string("Name") {
        job.name = Some(v);
    }
    if let Some(v) = f.string("Type") {
        job.job_type = Some(v);
    }
    if let Some(v) = f.int("Priority") {
        job.priority = Some(v);
    }
    if let Some(v) = f.bool("all_at_once") {
        job.all_at_once = Some(v);
    }
    if let Some(v) = f.strings("Datacenters") {
        job.datacenters = Some(v);
    }
    if let Some(v) = f.string("vault_token") {
        job.vault_token = Some(v);
    }
    // Fields no job file may set, decoded anyway so that a bad value is
    // reported before the key is refused, as Nomad does.
    f.bool("Stop");
    f.string("ParentID");
    f.string("Status");
    f.string("StatusDescription");
    f.bool("Stable");
    f.uint("Version");
    f.int("SubmitTime");
    f.uint("CreateIndex");
    f.uint("ModifyIndex");
    f.uint("JobModifyIndex");
    f.finish()?;

    check_keys(NodeRef::Items(block.clone()), JOB_KEYS).map_err(|e| e.prefix("job:"))?;

    let o = filter(&block, "constraint");
    if !o.is_empty() {
        job.constraints = parse_constraints(&o).map_err(|e| e.prefix("constraint ->"))?;
    }
    let o = filter(&block, "update");
    if !o.is_empty() {
        job.update = Some(parse_update(&o).map_err(|e| e.prefix("update ->"))?);
    }
    let o = filter(&block, "periodic");
    if !o.is_empty() {
        job.periodic = Some(parse_periodic(&o).map_err(|e| e.prefix("periodic ->"))?);
    }
    let o = filter(&block, "parameterized");
    if !o.is_empty() {
        job.parameterized_job =
            Some(parse_parameterized(&o).map_err(|e| e.prefix("parameterized ->"))?);
    }
    let o = filter(&block, "meta");
    if !o.is_empty() {
        job.meta = parse_string_maps(&o, job.meta.take())?;
    }

    // Tasks written directly in the job get a group each, ahead of the
    // `group` blocks.
    let o = filter(&block, "task");
    if !o.is_empty() {
        let tasks = parse_tasks(&o).map_err(|e| e.prefix("task:"))?;
        job.task_groups = Some(
            tasks
                .into_iter()
                .map(|t| ApiTaskGroup {
                    name: Some(t.name.clone()),
                    tasks: Some(vec![t]),
                    ..ApiTaskGroup::default()
                })
                .collect(),
        );
    }
    let o = filter(&block, "group");
    if !o.is_empty() {
        let groups = parse_groups(&o).map_err(|e| e.prefix("group:"))?;
        if !groups.is_empty() {
            job.task_groups.get_or_insert_with(Vec::new).extend(groups);
        }
    }

    let o = filter(&block, "vault");
    if !o.is_empty() {
        let mut vault = default_vault();
        parse_vault(&mut vault, &o).map_err(|e| e.prefix("vault ->"))?;
        for group in job.task_groups.iter_mut().flatten() {
            for task in group.tasks.iter_mut().flatten() {
                task.vault.get_or_insert_with(|| vault.clone());
            }
        }
    }
    Ok(job)
}

fn default_vault() -> ApiVault {
    ApiVault {
        env: Some(true),
        change_mode: Some("restart".into()),
        ..ApiVault::default()
    }
}

/// `meta`/`env` blocks: each unlabelled one is weakly decoded into the
/// same string map.
fn parse_string_maps(
    list: &[Item<'_>],
    current: Option<BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>> {
    let mut out = current;
    for o in elem(list) {
        let m = decode_object(NodeRef::of(o.val))?;
        let into = out.get_or_insert_with(BTreeMap::new);
        weak_string_map(&m, into).map_err(|e| GoError::new(o.at, e))?;
    }
    Ok(out)
}

fn parse_groups(list: &[Item<'_>]) -> Result<Vec<ApiTaskGroup>> {
    let list = children(list);
    let mut groups = Vec::new();
    let mut seen = BTreeSet::new();
    for item in &list {
        let n = item.key().unwrap_or_default();
        if !seen.insert(n) {
            return Err(GoError::new(
                item.at,
                format!("group '{n}' defined more than once"),
            ));
        }
        let object = object_of(item, || format!("group '{n}': should be an object"))?;
        let block = items(&object.items);
        check_keys(NodeRef::Items(block.clone()), GROUP_KEYS)
            .map_err(|e| e.prefix(&format!("'{n}' ->")))?;

        let m = decode_object(NodeRef::Object(object))?;
        let mut g = ApiTaskGroup {
            name: Some(n.to_string()),
            ..ApiTaskGroup::default()
        };
        let mut f = Fields::new(&m, false, &block, item.at);
        g.count = f.int("Count");
        f.finish()?;

        let o = filter(&block, "constraint");
        if !o.is_empty() {
            g.constraints =
                parse_constraints(&o).map_err(|e| e.prefix(&format!("'{n}', constraint ->")))?;
        }
        let o = filter(&block, "restart");
        if !o.is_empty() {
            g.restart_policy =
                Some(parse_restart(&o).map_err(|e| e.prefix(&format!("'{n}', restart ->")))?);
        }
        let o = filter(&block, "ephemeral_disk");
        if !o.is_empty() {
            g.ephemeral_disk = Some(
                parse_ephemeral_disk(&o)
                    .map_err(|e| e.prefix(&format!("'{n}', ephemeral_disk ->")))?,
            );
        }
        let o = filter(&block, "update");
        if !o.is_empty() {
            // Nomad names no group here.
            g.update = Some(parse_update(&o).map_err(|e| e.prefix("update ->"))?);
        }
        let o = filter(&block, "meta");
        if !o.is_empty() {
            g.meta = parse_string_maps(&o, g.meta.take())?;
        }
        let o = filter(&block, "task");
        if !o.is_empty() {
            let tasks = parse_tasks(&o).map_err(|e| e.prefix(&format!("'{n}', task:")))?;
            if !tasks.is_empty() {
                g.tasks = Some(tasks);
            }
        }
        let o = filter(&block, "vault");
        if !o.is_empty() {
            let mut vault = default_vault();
            parse_vault(&mut vault, &o).map_err(|e| e.prefix(&format!("'{n}', vault ->")))?;
            for task in g.tasks.iter_mut().flatten() {
                task.vault.get_or_insert_with(|| vault.clone());
            }
        }
        groups.push(g);
    }
    Ok(groups)
}

fn parse_restart(list: &[Item<'_>]) -> Result<ApiRestartPolicy> {
    let obj = only_one(list, "restart", "only one 'restart' block allowed")?;
    check_keys(NodeRef::of(obj.val), RESTART_KEYS)?;
    let m = decode_object(NodeRef::of(obj.val))?;
    let mut f = Fields::new(&m, true, &block_items(&obj), obj.at);
    let policy = ApiRestartPolicy {
        interval: f.duration("Interval"),
        attempts: f.int("Attempts"),
        delay: f.duration("Delay"),
        mode: f.string("Mode"),
    };
    f.finish()?;
    Ok(policy)
}

fn parse_constraints(list: &[Item<'_>]) -> Result<Option<Vec<ApiConstraint>>> {
    let mut out: Option<Vec<ApiConstraint>> = None;
    for o in elem(list) {
        check_keys(NodeRef::of(o.val), CONSTRAINT_KEYS)?;
        let m = decode_object(NodeRef::of(o.val))?;

        let mut ltarget = m.get("attribute");
        let mut rtarget = m.get("value");
        let operator = m.get("operator").cloned();
        let mut operand = operator;
        for op in ["version", "regexp", "set_contains"] {
            if let Some(v) = m.get(op) {
                operand = Some(GoValue::Str(op.into()));
                rtarget = Some(v);
            }
        }
        if let Some(v) = m.get("distinct_hosts") {
            let enabled = go_parse_bool(v).map_err(|e| {
                GoError::new(
                    o.at,
                    format!("distinct_hosts should be set to true or false; {e}"),
                )
            })?;
            if !enabled {
                continue;
            }
            operand = Some(GoValue::Str("distinct_hosts".into()));
        }
        if let Some(p) = m.get("distinct_property") {
            operand = Some(GoValue::Str("distinct_property".into()));
            ltarget = Some(p);
        }

        // mapstructure leaves a field alone when its value is nil.
        let mut fields = GoMap::new();
        for (name, v) in [
            ("LTarget", ltarget.cloned()),
            ("RTarget", rtarget.cloned()),
            ("Operand", operand),
        ] {
            if let Some(v) = v {
                fields.insert(name.into(), v);
            }
        }
        let mut f = Fields::new(&fields, false, &[], o.at);
        let mut c = ApiConstraint {
            ltarget: f.string("LTarget").unwrap_or_default(),
            rtarget: f.string("RTarget").unwrap_or_default(),
            operand: f.string("Operand").unwrap_or_default(),
        };
        f.finish()?;
        if c.operand.is_empty() {
            c.operand = "=".into();
        }
        out.get_or_insert_with(Vec::new).push(c);
    }
    Ok(out)
}

/// Nomad's `parseBool`: a bool, or a string `strconv.ParseBool` accepts.
fn go_parse_bool(v: &GoValue) -> std::result::Result<bool, String> {
    match v {
        GoValue::Bool(b) => Ok(*b),
        GoValue::Str(s) => parse_bool(s),
        other => Err(format!(
            "{} couldn't be converted to boolean value",
            go_v(other)
        )),
    }
}

/// Go's `%v` of a decoded value.
fn go_v(v: &GoValue) -> String {
    match v {
        GoValue::Bool(b) => b.to_string(),
        GoValue::Int(i) => i.to_string(),
        GoValue::Float(f) => gofmt::float(*f),
        GoValue::Str(s) => s.clone(),
        GoValue::List(l) => format!("[{}]", l.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        GoValue::MapList(l) => {
            format!("[{}]", l.iter().map(go_v_map).collect::<Vec<_>>().join(" "))
        }
        GoValue::Map(m) => go_v_map(m),
    }
}

fn go_v_map(m: &GoMap) -> String {
    let entries: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", go_v(v))).collect();
    format!("map[{}]", entries.join(" "))
}

fn parse_ephemeral_disk(list: &[Item<'_>]) -> Result<ApiEphemeralDisk> {
    let obj = only_one(
        list,
        "ephemeral_disk",
        "only one 'ephemeral_disk' block allowed",
    )?;
    check_keys(NodeRef::of(obj.val), EPHEMERAL_DISK_KEYS)?;
    let m = decode_object(NodeRef::of(obj.val))?;
    let mut f = Fields::new(&m, false, &block_items(&obj), obj.at);
    let disk = ApiEphemeralDisk {
        sticky: f.bool("Sticky"),
        migrate: f.bool("Migrate"),
        size_mb: f.int("size"),
    };
    f.finish()?;
    Ok(disk)
}

fn parse_update(list: &[Item<'_>]) -> Result<ApiUpdateStrategy> {
    let obj = only_one(list, "update", "only one 'update' block allowed")?;
    let m = decode_object(NodeRef::of(obj.val))?;
    check_keys(NodeRef::of(obj.val), UPDATE_KEYS)?;
    let mut f = Fields::new(&m, true, &block_items(&obj), obj.at);
    let update = ApiUpdateStrategy {
        stagger: f.duration("stagger"),
        max_parallel: f.int("max_parallel"),
        health_check: f.string("health_check"),
        min_healthy_time: f.duration("min_healthy_time"),
        healthy_deadline: f.duration("healthy_deadline"),
        auto_revert: f.bool("auto_revert"),
        canary: f.int("canary"),
    };
    f.finish()?;
    Ok(update)
}

fn parse_periodic(list: &[Item<'_>]) -> Result<ApiPeriodicConfig> {
    let obj = only_one(
        list,
        "periodic",
        "only one 'periodic' block allowed per job",
    )?;
    let mut m = decode_object(NodeRef::of(obj.val))?;
    check_keys(NodeRef::of(obj.val), PERIODIC_KEYS)?;
    if let Some(v) = m.get("enabled") {
        let enabled = go_parse_bool(v).map_err(|e| {
            GoError::new(
                obj.at,
                format!("periodic.enabled should be set to true or false; {e}"),
            )
        })?;
        m.insert("Enabled".into(), GoValue::Bool(enabled));
    }
    if let Some(cron) = m.get("cron").cloned() {
        m.insert("SpecType".into(), GoValue::Str("cron".into()));
        m.insert("Spec".into(), cron);
    }
    let mut f = Fields::new(&m, false, &block_items(&obj), obj.at);
    let periodic = ApiPeriodicConfig {
        enabled: f.bool("Enabled"),
        spec: f.string("Spec"),
        spec_type: f.string("SpecType"),
        prohibit_overlap: f.bool("prohibit_overlap"),
        time_zone: f.string("time_zone"),
    };
    f.finish()?;
    Ok(periodic)
}

fn parse_parameterized(list: &[Item<'_>]) -> Result<ApiParameterizedJobConfig> {
    let obj = only_one(
        list,
        "parameterized",
        "only one 'parameterized' block allowed per job",
    )?;
    let m = decode_object(NodeRef::of(obj.val))?;
    check_keys(NodeRef::of(obj.val), PARAMETERIZED_KEYS)?;
    let mut f = Fields::new(&m, false, &block_items(&obj), obj.at);
    let config = ApiParameterizedJobConfig {
        payload: f.string("Payload").unwrap_or_default(),
        meta_required: f.strings("meta_required"),
        meta_optional: f.strings("meta_optional"),
    };
    f.finish()?;
    Ok(config)
}

fn parse_vault(result: &mut ApiVault, list: &[Item<'_>]) -> Result<()> {
    let list = elem(list);
    if list.is_empty() {
        return Ok(());
    }
    if list.len() > 1 {
        return Err(GoError::new(
            list[1].at,
            "only one 'vault' block allowed per task",
        ));
    }
    let obj = list[0];
    let object = object_of(&obj, || "vault: should be an object".into())?;
    let block = items(&object.items);
    check_keys(NodeRef::Items(block.clone()), VAULT_KEYS).map_err(|e| e.prefix("vault ->"))?;
    let m = decode_object(NodeRef::of(obj.val))?;
    let mut f = Fields::new(&m, false, &block, obj.at);
    if let Some(v) = f.strings("Policies") {
        result.policies = Some(v);
    }
    if let Some(v) = f.bool("Env") {
        result.env = Some(v);
    }
    if let Some(v) = f.string("change_mode") {
        result.change_mode = Some(v);
    }
    if let Some(v) = f.string("change_signal") {
        result.change_signal = Some(v);
    }
    f.finish()
}

fn parse_tasks(list: &[Item<'_>]) -> Result<Vec<ApiTask>> {
    let list = children(list);
    let mut tasks = Vec::new();
    let mut seen = BTreeSet::new();
    for item in &list {
        let n = item.key().unwrap_or_default();
        if !seen.insert(n) {
            return Err(GoError::new(
                item.at,
                format!("task '{n}' defined more than once"),
            ));
        }
        // Nomad's text says "group" here.
        let object = object_of(item, || format!("group '{n}': should be an object"))?;
        let block = items(&object.items);
        check_keys(NodeRef::Items(block.clone()), TASK_KEYS)
            .map_err(|e| e.prefix(&format!("'{n}' ->")))?;

        let m = decode_object(NodeRef::Object(object))?;
        let mut t = ApiTask {
            name: n.to_string(),
            ..ApiTask::default()
        };
        let mut f = Fields::new(&m, true, &block, item.at);
        t.driver = f.string("Driver").unwrap_or_default();
        t.user = f.string("User").unwrap_or_default();
        t.kill_timeout = f.duration("kill_timeout");
        t.leader = f.bool("Leader").unwrap_or_default();
        t.shutdown_delay = f.duration("shutdown_delay").unwrap_or_default();
        f.finish()?;

        let o = filter(&block, "env");
        if !o.is_empty() {
            t.env = parse_string_maps(&o, t.env.take())?;
        }
        let o = filter(&block, "service");
        if !o.is_empty() {
            t.services = Some(parse_services(&o).map_err(|e| e.prefix(&format!("'{n}',")))?);
        }
        let o = filter(&block, "config");
        for c in elem(&o) {
            let m = decode_object(NodeRef::of(c.val))?;
            let config = t.config.get_or_insert_with(Map::new);
            for (k, v) in m {
                config.insert(k, json_value(v));
            }
        }
        let o = filter(&block, "constraint");
        if !o.is_empty() {
            t.constraints =
                parse_constraints(&o).map_err(|e| e.prefix(&format!("'{n}', constraint ->")))?;
        }
        let o = filter(&block, "meta");
        if !o.is_empty() {
            t.meta = parse_string_maps(&o, t.meta.take())?;
        }
        let o = filter(&block, "resources");
        if !o.is_empty() {
            let mut r = ApiResources::default();
            parse_resources(&mut r, &o).map_err(|e| e.prefix(&format!("'{n}',")))?;
            t.resources = Some(r);
        }
        let o = filter(&block, "logs");
        if !o.is_empty() {
            if o.len() > 1 {
                return Err(GoError::new(
                    o[1].at,
                    format!(
                        "only one logs block is allowed in a Task. Number of logs block found: {}",
                        o.len()
                    ),
                ));
            }
            let logs = o[0];
            check_keys(NodeRef::of(logs.val), LOGS_KEYS)
                .map_err(|e| e.prefix(&format!("'{n}', logs ->")))?;
            let m = decode_object(NodeRef::of(logs.val))?;
            let mut f = Fields::new(&m, false, &block_items(&logs), logs.at);
            t.log_config = Some(ApiLogConfig {
                max_files: f.int("max_files"),
                max_file_size_mb: f.int("max_file_size"),
            });
            f.finish()?;
        }
        let o = filter(&block, "artifact");
        if !o.is_empty() {
            t.artifacts =
                parse_artifacts(&o).map_err(|e| e.prefix(&format!("'{n}', artifact ->")))?;
        }
        let o = filter(&block, "template");
        if !o.is_empty() {
            t.templates =
                parse_templates(&o).map_err(|e| e.prefix(&format!("'{n}', template ->")))?;
        }
        let o = filter(&block, "vault");
        if !o.is_empty() {
            let mut vault = default_vault();
            parse_vault(&mut vault, &o).map_err(|e| e.prefix(&format!("'{n}', vault ->")))?;
            t.vault = Some(vault);
        }
        let o = filter(&block, "dispatch_payload");
        if !o.is_empty() {
            if o.len() > 1 {
                return Err(GoError::new(
                    o[1].at,
                    format!(
                        "only one dispatch_payload block is allowed in a task. Number of dispatch_payload blocks found: {}",
                        o.len()
                    ),
                ));
            }
            let payload = o[0];
            check_keys(NodeRef::of(payload.val), DISPATCH_PAYLOAD_KEYS)
                .map_err(|e| e.prefix(&format!("'{n}', dispatch_payload ->")))?;
            let m = decode_object(NodeRef::of(payload.val))?;
            let mut f = Fields::new(&m, false, &block_items(&payload), payload.at);
            t.dispatch_payload = Some(ApiDispatchPayloadConfig {
                file: f.string("File").unwrap_or_default(),
            });
            f.finish()?;
        }
        tasks.push(t);
    }
    Ok(tasks)
}

/// A driver `config` value as JSON; Go prints a float64 that holds an
/// integer without a fraction, which the output writer takes care of.
fn json_value(v: GoValue) -> Value {
    match v {
        GoValue::Bool(b) => Value::Bool(b),
        GoValue::Int(i) => Value::Number(i.into()),
        GoValue::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        GoValue::Str(s) => Value::String(s),
        GoValue::List(l) => Value::Array(l.into_iter().map(json_value).collect()),
        GoValue::MapList(l) => Value::Array(l.into_iter().map(json_object).collect()),
        GoValue::Map(m) => json_object(m),
    }
}

fn json_object(m: GoMap) -> Value {
    Value::Object(m.into_iter().map(|(k, v)| (k, json_value(v))).collect())
}

fn parse_artifacts(list: &[Item<'_>]) -> Result<Option<Vec<ApiTaskArtifact>>> {
    let mut out: Option<Vec<ApiTaskArtifact>> = None;
    for o in elem(list) {
        check_keys(NodeRef::of(o.val), ARTIFACT_KEYS)?;
        let m = decode_object(NodeRef::of(o.val))?;
        let block = block_items(&o);
        let mut f = Fields::new(&m, false, &block, o.at);
        let mut artifact = ApiTaskArtifact {
            getter_source: f.string("source"),
            getter_options: None,
            getter_mode: f.string("mode"),
            relative_dest: f.string("destination"),
        };
        f.finish()?;
        let options = filter(&block, "options");
        if !options.is_empty() {
            artifact.getter_options =
                Some(parse_artifact_options(&options).map_err(|e| e.prefix("options: "))?);
        }
        out.get_or_insert_with(Vec::new).push(artifact);
    }
    Ok(out)
}

fn parse_artifact_options(list: &[Item<'_>]) -> Result<BTreeMap<String, String>> {
    let o = only_one(
        list,
        "options",
        "only one 'options' block allowed per artifact",
    )?;
    let m = decode_object(NodeRef::of(o.val))?;
    let mut options = BTreeMap::new();
    weak_string_map(&m, &mut options).map_err(|e| GoError::new(o.at, e))?;
    Ok(options)
}

fn parse_templates(list: &[Item<'_>]) -> Result<Option<Vec<ApiTemplate>>> {
    let mut out: Option<Vec<ApiTemplate>> = None;
    for o in elem(list) {
        check_keys(NodeRef::of(o.val), TEMPLATE_KEYS)?;
        let m = decode_object(NodeRef::of(o.val))?;
        let mut f = Fields::new(&m, true, &block_items(&o), o.at);
        let or = |v: Option<String>, default: &str| v.or_else(|| Some(default.to_string()));
        let template = ApiTemplate {
            source_path: f.string("source"),
            dest_path: f.string("destination"),
            embedded_tmpl: f.string("data"),
            change_mode: or(f.string("change_mode"), "restart"),
            change_signal: f.string("change_signal"),
            splay: f.duration("splay").or(Some(5 * SECOND)),
            perms: or(f.string("perms"), "0644"),
            left_delim: f.string("left_delimiter"),
            right_delim: f.string("right_delimiter"),
            envvars: f.bool("env"),
            vault_grace: f.duration("vault_grace"),
        };
        f.finish()?;
        out.get_or_insert_with(Vec::new).push(template);
    }
    Ok(out)
}

fn parse_services(list: &[Item<'_>]) -> Result<Vec<ApiService>> {
    let mut services = Vec::with_capacity(list.len());
    for (idx, o) in list.iter().enumerate() {
        check_keys(NodeRef::of(o.val), SERVICE_KEYS)
            .map_err(|e| e.prefix(&format!("service ({idx}) ->")))?;
        let m = decode_object(NodeRef::of(o.val))?;
        let block = block_items(o);
        let mut f = Fields::new(&m, false, &block, o.at);
        let mut service = ApiService {
            id: String::new(),
            name: f.string("Name").unwrap_or_default(),
            tags: f.strings("Tags"),
            port_label: f.string("port").unwrap_or_default(),
            address_mode: f.string("address_mode").unwrap_or_default(),
            checks: None,
        };
        f.finish()?;
        let checks = filter(&block, "check");
        if !checks.is_empty() {
            service.checks = Some(
                parse_checks(&checks)
                    .map_err(|e| e.prefix(&format!("service: '{}',", service.name)))?,
            );
        }
        services.push(service);
    }
    Ok(services)
}

fn parse_checks(list: &[Item<'_>]) -> Result<Vec<ApiServiceCheck>> {
    let mut checks = Vec::with_capacity(list.len());
    for co in list {
        check_keys(NodeRef::of(co.val), CHECK_KEYS).map_err(|e| e.prefix("check ->"))?;
        let mut cm = decode_object(NodeRef::of(co.val))?;
        let mut check = ApiServiceCheck::default();
        let block = block_items(co);
        if let Some(header) = cm.remove("header") {
            let at = filter(&block, "header").first().map_or(co.at, |h| h.at);
            check.header = Some(parse_header(header, at)?);
        }
        let mut f = Fields::new(&cm, true, &block, co.at);
        check.name = f.string("Name").unwrap_or_default();
        check.check_type = f.string("Type").unwrap_or_default();
        check.command = f.string("Command").unwrap_or_default();
        check.args = f.strings("Args");
        check.path = f.string("Path").unwrap_or_default();
        check.protocol = f.string("Protocol").unwrap_or_default();
        check.port_label = f.string("port").unwrap_or_default();
        check.interval = f.duration("Interval").unwrap_or_default();
        check.timeout = f.duration("Timeout").unwrap_or_default();
        check.initial_status = f.string("initial_status").unwrap_or_default();
        check.tls_skip_verify = f.bool("tls_skip_verify").unwrap_or_default();
        check.method = f.string("Method").unwrap_or_default();
        f.finish()?;
        checks.push(check);
    }
    Ok(checks)
}

/// `header { Name = ["v", …] }` blocks, merged into one map of lists.
fn parse_header(header: GoValue, at: Pos) -> Result<BTreeMap<String, Option<Vec<String>>>> {
    let fail = |text: String| GoError::new(at, format!("check -> header -> {text}"));
    let GoValue::MapList(blocks) = header else {
        return Err(fail(format!(
            "expected a []map[string][]string but found {}",
            header.type_name()
        )));
    };
    let mut out: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for block in blocks {
        for (k, v) in block {
            let GoValue::List(values) = v else {
                return Err(fail(format!(
                    "{} expected a []string but found {}",
                    gofmt::quote(&k),
                    v.type_name()
                )));
            };
            for value in values {
                let GoValue::Str(s) = value else {
                    return Err(fail(format!(
                        "{} expected a string but found {}",
                        gofmt::quote(&k),
                        value.type_name()
                    )));
                };
                out.entry(k.clone())
                    .or_default()
                    .get_or_insert_with(Vec::new)
                    .push(s);
            }
        }
    }
    Ok(out)
}

fn parse_resources(result: &mut ApiResources, list: &[Item<'_>]) -> Result<()> {
    let list = elem(list);
    if list.is_empty() {
        return Ok(());
    }
    if list.len() > 1 {
        return Err(GoError::new(
            list[1].at,
            "only one 'resource' block allowed per task",
        ));
    }
    let o = list[0];
    let object = object_of(&o, || "resource: should be an object".into())?;
    let block = items(&object.items);
    check_keys(NodeRef::Items(block.clone()), RESOURCES_KEYS)
        .map_err(|e| e.prefix("resources ->"))?;
    let m = decode_object(NodeRef::of(o.val))?;
    let mut f = Fields::new(&m, false, &block, o.at);
    result.cpu = f.int("CPU");
    result.memory_mb = f.int("memory");
    result.disk_mb = f.int("disk");
    result.iops = f.int("IOPS");
    f.finish()?;

    let networks = filter(&block, "network");
    if networks.is_empty() {
        return Ok(());
    }
    if networks.len() > 1 {
        return Err(GoError::new(
            networks[1].at,
            "only one 'network' resource allowed",
        ));
    }
    let network = networks[0];
    check_keys(NodeRef::of(network.val), NETWORK_KEYS)
        .map_err(|e| e.prefix("resources, network ->"))?;
    let m = decode_object(NodeRef::of(network.val))?;
    let network_block = block_items(&network);
    let mut f = Fields::new(&m, false, &network_block, network.at);
    let mut nw = ApiNetworkResource {
        mbits: f.int("MBits"),
        ..ApiNetworkResource::default()
    };
    f.finish()?;
    object_of(&network, || "resource: should be an object".into())?;
    parse_ports(&network_block, &mut nw).map_err(|e| e.prefix("resources, network, ports ->"))?;
    result.networks = Some(vec![nw]);
    Ok(())
}

fn parse_ports(network: &[Item<'_>], nw: &mut ApiNetworkResource) -> Result<()> {
    let mut known = BTreeSet::new();
    for port in filter(network, "port") {
        let Some(label) = port.key() else {
            return Err(GoError::new(port.at, "ports must be named"));
        };
        let conforms =
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !conforms {
            return Err(GoError::new(
                port.pos(),
                "Port label does not conform to naming requirements ^[a-zA-Z0-9_]+$",
            ));
        }
        let lower = label.to_lowercase();
        if known.contains(&lower) {
            return Err(GoError::new(
                port.pos(),
                format!("found a port label collision: {label}"),
            ));
        }
        let p = decode_object(NodeRef::of(port.val))?;
        let mut f = Fields::new(&p, false, &block_items(&port), port.pos());
        f.string("Label");
        let value = f.int("static").unwrap_or_default();
        f.finish()?;
        let entry = Port {
            label: label.to_string(),
            value,
        };
        if value > 0 {
            nw.reserved_ports.get_or_insert_with(Vec::new).push(entry);
        } else {
            nw.dynamic_ports.get_or_insert_with(Vec::new).push(entry);
        }
        known.insert(lower);
    }
    Ok(())
}
