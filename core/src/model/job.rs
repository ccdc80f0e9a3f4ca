//! The stored (server-side) job tree of Nomad v0.6.3: every field with its
//! exact JSON name, in Nomad's declaration order, nil collections as `null`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::nil;

/// A Go `time.Duration`: signed nanoseconds.
pub type Duration = i64;

/// One second, in [`Duration`] units.
pub const SECOND: Duration = 1_000_000_000;
/// One minute, in [`Duration`] units.
pub const MINUTE: Duration = 60 * SECOND;
/// One hour, in [`Duration`] units.
pub const HOUR: Duration = 60 * MINUTE;

/// A string map that renders `null` when empty (`Meta`, `Env`, …).
pub type StringMap = BTreeMap<String, String>;

pub const JOB_TYPE_SERVICE: &str = "service";
pub const JOB_TYPE_BATCH: &str = "batch";
pub const JOB_TYPE_SYSTEM: &str = "system";
pub const JOB_TYPE_CORE: &str = "_core";

pub const JOB_STATUS_PENDING: &str = "pending";
pub const JOB_STATUS_RUNNING: &str = "running";
pub const JOB_STATUS_DEAD: &str = "dead";

/// A job as the server stores and returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Job {
    pub stop: bool,
    pub region: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    pub name: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    pub priority: i64,
    pub all_at_once: bool,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub datacenters: Vec<String>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub constraints: Vec<Constraint>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub task_groups: Vec<TaskGroup>,
    pub update: UpdateStrategy,
    pub periodic: Option<PeriodicConfig>,
    pub parameterized_job: Option<ParameterizedJobConfig>,
    #[serde(with = "nil::bytes")]
    pub payload: Vec<u8>,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub meta: StringMap,
    pub vault_token: String,
    pub status: String,
    pub status_description: String,
    pub stable: bool,
    pub version: u64,
    pub submit_time: i64,
    pub create_index: u64,
    pub modify_index: u64,
    pub job_modify_index: u64,
}

/// A task group: the unit of placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroup {
    pub name: String,
    pub count: i64,
    pub update: Option<UpdateStrategy>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub constraints: Vec<Constraint>,
    pub restart_policy: Option<RestartPolicy>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub tasks: Vec<Task>,
    pub ephemeral_disk: Option<EphemeralDisk>,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub meta: StringMap,
}

/// A single task run by a driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Task {
    pub name: String,
    pub driver: String,
    pub user: String,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub config: Map<String, Value>,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub env: StringMap,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub services: Vec<Service>,
    pub vault: Option<Vault>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub templates: Vec<Template>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub constraints: Vec<Constraint>,
    pub resources: Option<Resources>,
    pub dispatch_payload: Option<DispatchPayloadConfig>,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub meta: StringMap,
    pub kill_timeout: Duration,
    pub log_config: Option<LogConfig>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub artifacts: Vec<TaskArtifact>,
    pub leader: bool,
    pub shutdown_delay: Duration,
}

/// Compute resources asked for by a task, offered by a node, or used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Resources {
    #[serde(rename = "CPU")]
    pub cpu: i64,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
    #[serde(rename = "IOPS")]
    pub iops: i64,
    #[serde(
        rename = "Networks",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub networks: Vec<NetworkResource>,
}

/// A network ask (task) or offer (scheduler output, node fingerprint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NetworkResource {
    #[serde(rename = "Device")]
    pub device: String,
    #[serde(rename = "CIDR")]
    pub cidr: String,
    #[serde(rename = "IP")]
    pub ip: String,
    #[serde(rename = "MBits")]
    pub mbits: i64,
    #[serde(
        rename = "ReservedPorts",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub reserved_ports: Vec<Port>,
    #[serde(
        rename = "DynamicPorts",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub dynamic_ports: Vec<Port>,
}

/// A labelled port; `Value` is 0 for a dynamic port until it is assigned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Port {
    pub label: String,
    pub value: i64,
}

/// A placement constraint (`${attr.kernel.name} = linux`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Constraint {
    #[serde(rename = "LTarget")]
    pub ltarget: String,
    #[serde(rename = "RTarget")]
    pub rtarget: String,
    #[serde(rename = "Operand")]
    pub operand: String,
}

impl Constraint {
    pub fn new(ltarget: &str, operand: &str, rtarget: &str) -> Self {
        Constraint {
            ltarget: ltarget.to_string(),
            rtarget: rtarget.to_string(),
            operand: operand.to_string(),
        }
    }
}

impl std::fmt::Display for Constraint {
    /// `"<LTarget> <Operand> <RTarget>"`, the form metrics report.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.ltarget, self.operand, self.rtarget)
    }
}

/// Rolling-update strategy (group level; the job level keeps the deprecated
/// block as sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStrategy {
    pub stagger: Duration,
    pub max_parallel: i64,
    pub health_check: String,
    pub min_healthy_time: Duration,
    pub healthy_deadline: Duration,
    pub auto_revert: bool,
    pub canary: i64,
}

impl UpdateStrategy {
    /// Nomad's `DefaultUpdateStrategy`.
    pub fn nomad_default() -> Self {
        UpdateStrategy {
            stagger: 30 * SECOND,
            max_parallel: 1,
            health_check: "checks".into(),
            min_healthy_time: 10 * SECOND,
            healthy_deadline: 5 * MINUTE,
            auto_revert: false,
            canary: 0,
        }
    }

    /// The v0.5 "old style" rolling update: both Stagger and MaxParallel set.
    pub fn rolling(&self) -> bool {
        self.stagger > 0 && self.max_parallel > 0
    }
}

/// A periodic (cron) launch configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeriodicConfig {
    pub enabled: bool,
    pub spec: String,
    pub spec_type: String,
    pub prohibit_overlap: bool,
    pub time_zone: String,
}

/// Marks a batch job as a dispatchable template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParameterizedJobConfig {
    pub payload: String,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub meta_required: Vec<String>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub meta_optional: Vec<String>,
}

pub const DISPATCH_PAYLOAD_OPTIONAL: &str = "optional";
pub const DISPATCH_PAYLOAD_REQUIRED: &str = "required";
pub const DISPATCH_PAYLOAD_FORBIDDEN: &str = "forbidden";

/// Where a task receives the dispatch payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DispatchPayloadConfig {
    pub file: String,
}

/// How a task group's tasks are restarted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub attempts: i64,
    pub interval: Duration,
    pub delay: Duration,
    pub mode: String,
}

impl RestartPolicy {
    /// The default policy of a job type (service and system share one;
    /// batch and every other type get the batch one).
    pub fn default_for(job_type: &str) -> Self {
        match job_type {
            JOB_TYPE_SERVICE | JOB_TYPE_SYSTEM => RestartPolicy {
                attempts: 2,
                interval: MINUTE,
                delay: 15 * SECOND,
                mode: "delay".into(),
            },
            _ => RestartPolicy {
                attempts: 15,
                interval: 7 * 24 * HOUR,
                delay: 15 * SECOND,
                mode: "delay".into(),
            },
        }
    }
}

/// The group's scratch disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct EphemeralDisk {
    #[serde(rename = "Sticky")]
    pub sticky: bool,
    #[serde(rename = "SizeMB")]
    pub size_mb: i64,
    #[serde(rename = "Migrate")]
    pub migrate: bool,
}

impl EphemeralDisk {
    pub fn nomad_default() -> Self {
        EphemeralDisk {
            sticky: false,
            size_mb: 300,
            migrate: false,
        }
    }
}

/// Log rotation of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogConfig {
    #[serde(rename = "MaxFiles")]
    pub max_files: i64,
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: i64,
}

impl LogConfig {
    pub fn nomad_default() -> Self {
        LogConfig {
            max_files: 10,
            max_file_size_mb: 10,
        }
    }
}

/// A Consul service registered for a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Service {
    pub name: String,
    pub port_label: String,
    pub address_mode: String,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub tags: Vec<String>,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub checks: Vec<ServiceCheck>,
}

/// A health check of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceCheck {
    pub name: String,
    #[serde(rename = "Type")]
    pub check_type: String,
    pub command: String,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub args: Vec<String>,
    pub path: String,
    pub protocol: String,
    pub port_label: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub initial_status: String,
    #[serde(rename = "TLSSkipVerify")]
    pub tls_skip_verify: bool,
    pub method: String,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub header: BTreeMap<String, NilVec<String>>,
}

/// A list that renders `null` when empty, for use inside maps
/// (check `Header` values).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NilVec<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NilVec<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(NilVec(nil::or_default(d)?))
    }
}

impl<T: Serialize> Serialize for NilVec<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        nil::vec(&self.0, s)
    }
}

/// A consul-template template rendered into the task directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Template {
    pub source_path: String,
    pub dest_path: String,
    pub embedded_tmpl: String,
    pub change_mode: String,
    pub change_signal: String,
    pub splay: Duration,
    pub perms: String,
    pub left_delim: String,
    pub right_delim: String,
    pub envvars: bool,
    pub vault_grace: Duration,
}

/// An artifact downloaded into the task directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskArtifact {
    pub getter_source: String,
    #[serde(serialize_with = "nil::map", deserialize_with = "nil::or_default")]
    pub getter_options: StringMap,
    pub getter_mode: String,
    pub relative_dest: String,
}

/// Vault policies a task needs a token for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Vault {
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub policies: Vec<String>,
    pub env: bool,
    pub change_mode: String,
    pub change_signal: String,
}

impl Job {
    /// Periodic block present (Nomad's `IsPeriodic`, enabled or not).
    pub fn is_periodic(&self) -> bool {
        self.periodic.is_some()
    }

    /// Periodic, enabled, not parameterized and not stopped: the periodic
    /// dispatcher launches children of this job.
    pub fn is_periodic_tracked(&self) -> bool {
        self.periodic.as_ref().is_some_and(|p| p.enabled) && !self.is_parameterized() && !self.stop
    }

    /// Parameterized block present.
    pub fn is_parameterized(&self) -> bool {
        self.parameterized_job.is_some()
    }

    /// The group of this name, if any.
    pub fn task_group(&self, name: &str) -> Option<&TaskGroup> {
        self.task_groups.iter().find(|g| g.name == name)
    }

    /// The list stub of `GET /v1/jobs`.
    pub fn stub(&self, summary: Option<&super::JobSummary>) -> super::JobListStub {
        super::JobListStub {
            id: self.id.clone(),
            parent_id: self.parent_id.clone(),
            name: self.name.clone(),
            job_type: self.job_type.clone(),
            priority: self.priority,
            periodic: self.periodic.is_some(),
            parameterized_job: self.parameterized_job.is_some(),
            stop: self.stop,
            status: self.status.clone(),
            status_description: self.status_description.clone(),
            job_summary: summary.cloned(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            job_modify_index: self.job_modify_index,
            submit_time: self.submit_time,
        }
    }
}

impl TaskGroup {
    /// The sum of the group's task resources plus its ephemeral disk, the
    /// ask the bin-packer checks.
    pub fn combined_resources(&self) -> Resources {
        let mut total = Resources {
            disk_mb: self.ephemeral_disk.as_ref().map_or(0, |d| d.size_mb),
            ..Resources::default()
        };
        for task in &self.tasks {
            if let Some(r) = &task.resources {
                total.cpu = total.cpu.saturating_add(r.cpu);
                total.memory_mb = total.memory_mb.saturating_add(r.memory_mb);
                total.iops = total.iops.saturating_add(r.iops);
            }
        }
        total
    }
}

impl Resources {
    /// Nomad's `DefaultResources()`: what a task without resources gets.
    pub fn nomad_default() -> Self {
        Resources {
            cpu: 100,
            memory_mb: 10,
            disk_mb: 0,
            iops: 0,
            networks: Vec::new(),
        }
    }

    /// Adds `other` (scalars only; networks are accounted separately),
    /// saturating where Go would wrap.
    pub fn add(&mut self, other: &Resources) {
        self.cpu = self.cpu.saturating_add(other.cpu);
        self.memory_mb = self.memory_mb.saturating_add(other.memory_mb);
        self.disk_mb = self.disk_mb.saturating_add(other.disk_mb);
        self.iops = self.iops.saturating_add(other.iops);
    }
}
