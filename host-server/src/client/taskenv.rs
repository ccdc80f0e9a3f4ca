//! A task's environment as Nomad v0.6.3's env builder makes it for
//! `raw_exec` (host env, `NOMAD_*`, meta, ports, task env) and `${…}`
//! interpolation of config values against it and the node's attributes.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_core::model::{Allocation, Job, Resources, Task};
use caravan_core::Node;

/// Host variables that never reach a task (Nomad's default
/// `env.blacklist`).
const ENV_BLACKLIST: &[&str] = &[
    "CONSUL_TOKEN",
    "VAULT_TOKEN",
    "ATLAS_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
];

/// The region of the dev agent.
const REGION: &str = "global";

/// Where a task's directories are on the host (`raw_exec` has no
/// filesystem isolation, so tasks see host paths).
#[derive(Debug, Clone)]
pub(crate) struct TaskDirs {
    /// `<alloc>/<task>`: the working directory.
    pub dir: std::path::PathBuf,
    /// `<alloc>/<task>/local`.
    pub local: std::path::PathBuf,
    /// `<alloc>/<task>/secrets`.
    pub secrets: std::path::PathBuf,
    /// `<alloc>/alloc`, shared by the group's tasks.
    pub shared: std::path::PathBuf,
    /// `<alloc>/alloc/logs`.
    pub logs: std::path::PathBuf,
}

impl TaskDirs {
    pub(crate) fn new(alloc_dir: &Path, task: &str) -> TaskDirs {
        let dir = alloc_dir.join(task);
        let shared = alloc_dir.join("alloc");
        TaskDirs {
            local: dir.join("local"),
            secrets: dir.join("secrets"),
            logs: shared.join("logs"),
            shared,
            dir,
        }
    }
}

/// The built environment and the node attributes usable in `${…}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TaskEnv {
    pub env: BTreeMap<String, String>,
    pub node_attrs: BTreeMap<String, String>,
}

impl TaskEnv {
    /// Builds the environment of `task` in `alloc` on `node`.
    pub(crate) fn build(
        node: &Node,
        alloc: &Allocation,
        job: &Job,
        task: &Task,
        dirs: &TaskDirs,
        host_env: impl IntoIterator<Item = (String, String)>,
    ) -> TaskEnv {
        let mut attrs = BTreeMap::new();
        attrs.insert("node.unique.id".to_string(), node.id.clone());
        attrs.insert("node.unique.name".to_string(), node.name.clone());
        attrs.insert("node.class".to_string(), node.node_class.clone());
        attrs.insert("node.datacenter".to_string(), node.datacenter.clone());
        attrs.insert("node.region".to_string(), REGION.to_string());
        for (k, v) in &node.attributes {
            attrs.insert(format!("attr.{k}"), v.clone());
        }
        for (k, v) in &node.meta {
            attrs.insert(format!("meta.{k}"), v.clone());
        }

        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_string(), v);
        };
        set("NOMAD_ALLOC_DIR", path_string(&dirs.shared));
        set("NOMAD_TASK_DIR", path_string(&dirs.local));
        set("NOMAD_SECRETS_DIR", path_string(&dirs.secrets));
        let resources = alloc.task_resources.get(&task.name);
        if let Some(r) = resources {
            if r.memory_mb != 0 {
                set("NOMAD_MEMORY_LIMIT", r.memory_mb.to_string());
            }
            if r.cpu != 0 {
                set("NOMAD_CPU_LIMIT", r.cpu.to_string());
            }
        }
        set("NOMAD_ALLOC_ID", alloc.id.clone());
        set("NOMAD_ALLOC_NAME", alloc.name.clone());
        set("NOMAD_GROUP_NAME", alloc.task_group.clone());
        set(
            "NOMAD_ALLOC_INDEX",
            alloc.name_index().unwrap_or(0).to_string(),
        );
        set("NOMAD_TASK_NAME", task.name.clone());
        set("NOMAD_JOB_NAME", job.name.clone());
        set("NOMAD_DC", node.datacenter.clone());
        set("NOMAD_REGION", REGION.to_string());
        if let Some(r) = resources {
            own_ports(&mut env, r);
        }
        for (other, r) in &alloc.task_resources {
            if other != &task.name {
                other_ports(&mut env, other, r);
            }
        }
        for (k, v) in combined_meta(job, &alloc.task_group, task) {
            env.insert(format!("NOMAD_META_{}", k.to_uppercase()), v.clone());
            env.insert(format!("NOMAD_META_{k}"), v);
        }
        for (k, v) in host_env {
            if !ENV_BLACKLIST.contains(&k.as_str()) {
                let v = replace_env(&v, &[&attrs, &env]);
                env.insert(k, v);
            }
        }
        for (k, v) in &task.env {
            let v = replace_env(v, &[&attrs, &env]);
            env.insert(k.clone(), v);
        }
        let env = env
            .into_iter()
            .map(|(k, v)| (clean_env_var(&k), v))
            .collect();
        TaskEnv {
            env,
            node_attrs: attrs,
        }
    }

    /// Interpolates `${VAR}` / `${attr.x}` in a config value; unknown
    /// references stay as written.
    pub(crate) fn replace(&self, s: &str) -> String {
        replace_env(s, &[&self.env, &self.node_attrs])
    }
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Job meta, overlaid by group meta, overlaid by task meta.
fn combined_meta(job: &Job, group: &str, task: &Task) -> BTreeMap<String, String> {
    let mut meta = job.meta.clone();
    if let Some(tg) = job.task_groups.iter().find(|g| g.name == group) {
        meta.extend(tg.meta.clone());
    }
    meta.extend(task.meta.clone());
    meta
}

fn own_ports(env: &mut BTreeMap<String, String>, r: &Resources) {
    for n in &r.networks {
        for p in n.reserved_ports.iter().chain(&n.dynamic_ports) {
            let port = p.value.to_string();
            env.insert(format!("NOMAD_IP_{}", p.label), n.ip.clone());
            env.insert(format!("NOMAD_HOST_PORT_{}", p.label), port.clone());
            env.insert(
                format!("NOMAD_ADDR_{}", p.label),
                join_host_port(&n.ip, &port),
            );
            env.insert(format!("NOMAD_PORT_{}", p.label), port);
        }
    }
}

fn other_ports(env: &mut BTreeMap<String, String>, task: &str, r: &Resources) {
    for n in &r.networks {
        for p in n.reserved_ports.iter().chain(&n.dynamic_ports) {
            let label = format!("{task}_{}", p.label);
            env.insert(
                format!("NOMAD_ADDR_{label}"),
                format!("{}:{}", n.ip, p.value),
            );
            env.insert(format!("NOMAD_IP_{label}"), n.ip.clone());
            env.insert(format!("NOMAD_PORT_{label}"), p.value.to_string());
        }
    }
}

/// Go's `net.JoinHostPort`: IPv6 hosts are bracketed.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Nomad's `CleanEnvVar`: characters outside `[A-Za-z_]` (and digits after
/// the first position) become `_`.
fn clean_env_var(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `helper/args.ReplaceEnv`: each `${name}` (name of `[A-Za-z0-9_.-]`) is
/// replaced by its value from the first map that has it.
pub(crate) fn replace_env(s: &str, maps: &[&BTreeMap<String, String>]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        if name_len > 0 && after[name_len..].starts_with('}') {
            match maps.iter().find_map(|m| m.get(name)) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[start..start + 2 + name_len + 1]),
            }
            rest = &after[name_len + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn replaces_known_names_only() {
        let env = map(&[("NOMAD_ALLOC_ID", "a1"), ("X", "x")]);
        let attrs = map(&[("attr.kernel.name", "linux")]);
        let r = |s| replace_env(s, &[&env, &attrs]);
        assert_eq!(r("${NOMAD_ALLOC_ID}/${X}"), "a1/x");
        assert_eq!(r("k=${attr.kernel.name}"), "k=linux");
        assert_eq!(r("${MISSING} ${} $X ${X"), "${MISSING} ${} $X ${X");
        assert_eq!(r("${a b}"), "${a b}");
        assert_eq!(r("é${X}é"), "éxé");
    }

    #[test]
    fn cleans_names() {
        assert_eq!(clean_env_var("NOMAD_META_my-key.x"), "NOMAD_META_my_key_x");
        assert_eq!(clean_env_var("1A"), "_A");
    }
}
