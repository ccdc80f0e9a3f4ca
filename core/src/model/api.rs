//! The client-side ("API") job tree: what a request body or a job file
//! decodes into. Almost every scalar is optional; `None` renders `null`.
//! [`ApiJob::canonicalize`] fills Nomad's API defaults (stage 1 of
//! job-model.md) and [`ApiJob::into_structs`] converts to the stored type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::job::{self, Duration, StringMap, SECOND};
use super::nil;

/// A job as submitted (`api.Job`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Job", default)]
pub struct ApiJob {
    #[serde(rename = "Stop")]
    pub stop: Option<bool>,
    #[serde(rename = "Region")]
    pub region: Option<String>,
    #[serde(rename = "ID")]
    pub id: Option<String>,
    #[serde(rename = "ParentID")]
    pub parent_id: Option<String>,
    #[serde(rename = "Name")]
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub job_type: Option<String>,
    #[serde(rename = "Priority")]
    pub priority: Option<i64>,
    #[serde(rename = "AllAtOnce")]
    pub all_at_once: Option<bool>,
    #[serde(rename = "Datacenters")]
    pub datacenters: Option<Vec<String>>,
    #[serde(rename = "Constraints")]
    pub constraints: Option<Vec<ApiConstraint>>,
    #[serde(rename = "TaskGroups")]
    pub task_groups: Option<Vec<ApiTaskGroup>>,
    #[serde(rename = "Update")]
    pub update: Option<ApiUpdateStrategy>,
    #[serde(rename = "Periodic")]
    pub periodic: Option<ApiPeriodicConfig>,
    #[serde(rename = "ParameterizedJob")]
    pub parameterized_job: Option<ApiParameterizedJobConfig>,
    #[serde(rename = "Payload", with = "nil::bytes")]
    pub payload: Vec<u8>,
    #[serde(rename = "Meta")]
    pub meta: Option<StringMap>,
    #[serde(rename = "VaultToken")]
    pub vault_token: Option<String>,
    #[serde(rename = "Status")]
    pub status: Option<String>,
    #[serde(rename = "StatusDescription")]
    pub status_description: Option<String>,
    #[serde(rename = "Stable")]
    pub stable: Option<bool>,
    #[serde(rename = "Version")]
    pub version: Option<u64>,
    #[serde(rename = "SubmitTime")]
    pub submit_time: Option<i64>,
    #[serde(rename = "CreateIndex")]
    pub create_index: Option<u64>,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: Option<u64>,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: Option<u64>,
}

/// `api.TaskGroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "TaskGroup", default)]
pub struct ApiTaskGroup {
    #[serde(rename = "Name")]
    pub name: Option<String>,
    #[serde(rename = "Count")]
    pub count: Option<i64>,
    #[serde(rename = "Constraints")]
    pub constraints: Option<Vec<ApiConstraint>>,
    #[serde(rename = "Tasks")]
    pub tasks: Option<Vec<ApiTask>>,
    #[serde(rename = "RestartPolicy")]
    pub restart_policy: Option<ApiRestartPolicy>,
    #[serde(rename = "EphemeralDisk")]
    pub ephemeral_disk: Option<ApiEphemeralDisk>,
    #[serde(rename = "Update")]
    pub update: Option<ApiUpdateStrategy>,
    #[serde(rename = "Meta")]
    pub meta: Option<StringMap>,
}

/// `api.Task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Task", default)]
pub struct ApiTask {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "User")]
    pub user: String,
    #[serde(rename = "Config")]
    pub config: Option<Map<String, Value>>,
    #[serde(rename = "Constraints")]
    pub constraints: Option<Vec<ApiConstraint>>,
    #[serde(rename = "Env")]
    pub env: Option<StringMap>,
    #[serde(rename = "Services")]
    pub services: Option<Vec<ApiService>>,
    #[serde(rename = "Resources")]
    pub resources: Option<ApiResources>,
    #[serde(rename = "Meta")]
    pub meta: Option<StringMap>,
    #[serde(rename = "KillTimeout")]
    pub kill_timeout: Option<Duration>,
    #[serde(rename = "LogConfig")]
    pub log_config: Option<ApiLogConfig>,
    #[serde(rename = "Artifacts")]
    pub artifacts: Option<Vec<ApiTaskArtifact>>,
    #[serde(rename = "Vault")]
    pub vault: Option<ApiVault>,
    #[serde(rename = "Templates")]
    pub templates: Option<Vec<ApiTemplate>>,
    #[serde(rename = "DispatchPayload")]
    pub dispatch_payload: Option<ApiDispatchPayloadConfig>,
    #[serde(rename = "Leader")]
    pub leader: bool,
    #[serde(rename = "ShutdownDelay")]
    pub shutdown_delay: Duration,
}

/// `api.Resources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Resources", default)]
pub struct ApiResources {
    #[serde(rename = "CPU")]
    pub cpu: Option<i64>,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: Option<i64>,
    #[serde(rename = "DiskMB")]
    pub disk_mb: Option<i64>,
    #[serde(rename = "IOPS")]
    pub iops: Option<i64>,
    #[serde(rename = "Networks")]
    pub networks: Option<Vec<ApiNetworkResource>>,
}

/// `api.NetworkResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "NetworkResource", default)]
pub struct ApiNetworkResource {
    #[serde(rename = "Device")]
    pub device: String,
    #[serde(rename = "CIDR")]
    pub cidr: String,
    #[serde(rename = "IP")]
    pub ip: String,
    #[serde(rename = "MBits")]
    pub mbits: Option<i64>,
    #[serde(rename = "ReservedPorts")]
    pub reserved_ports: Option<Vec<job::Port>>,
    #[serde(rename = "DynamicPorts")]
    pub dynamic_ports: Option<Vec<job::Port>>,
}

/// `api.Constraint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Constraint", default)]
pub struct ApiConstraint {
    #[serde(rename = "LTarget")]
    pub ltarget: String,
    #[serde(rename = "RTarget")]
    pub rtarget: String,
    #[serde(rename = "Operand")]
    pub operand: String,
}

/// `api.UpdateStrategy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "UpdateStrategy", default)]
pub struct ApiUpdateStrategy {
    #[serde(rename = "Stagger")]
    pub stagger: Option<Duration>,
    #[serde(rename = "MaxParallel")]
    pub max_parallel: Option<i64>,
    #[serde(rename = "HealthCheck")]
    pub health_check: Option<String>,
    #[serde(rename = "MinHealthyTime")]
    pub min_healthy_time: Option<Duration>,
    #[serde(rename = "HealthyDeadline")]
    pub healthy_deadline: Option<Duration>,
    #[serde(rename = "AutoRevert")]
    pub auto_revert: Option<bool>,
    #[serde(rename = "Canary")]
    pub canary: Option<i64>,
}

/// `api.PeriodicConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "PeriodicConfig", default)]
pub struct ApiPeriodicConfig {
    #[serde(rename = "Enabled")]
    pub enabled: Option<bool>,
    #[serde(rename = "Spec")]
    pub spec: Option<String>,
    #[serde(rename = "SpecType")]
    pub spec_type: Option<String>,
    #[serde(rename = "ProhibitOverlap")]
    pub prohibit_overlap: Option<bool>,
    #[serde(rename = "TimeZone")]
    pub time_zone: Option<String>,
}

/// `api.ParameterizedJobConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "ParameterizedJobConfig", default)]
pub struct ApiParameterizedJobConfig {
    #[serde(rename = "Payload")]
    pub payload: String,
    #[serde(rename = "MetaRequired")]
    pub meta_required: Option<Vec<String>>,
    #[serde(rename = "MetaOptional")]
    pub meta_optional: Option<Vec<String>>,
}

/// `api.DispatchPayloadConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "DispatchPayloadConfig", default)]
pub struct ApiDispatchPayloadConfig {
    #[serde(rename = "File")]
    pub file: String,
}

/// `api.RestartPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "RestartPolicy", default)]
pub struct ApiRestartPolicy {
    #[serde(rename = "Interval")]
    pub interval: Option<Duration>,
    #[serde(rename = "Attempts")]
    pub attempts: Option<i64>,
    #[serde(rename = "Delay")]
    pub delay: Option<Duration>,
    #[serde(rename = "Mode")]
    pub mode: Option<String>,
}

/// `api.EphemeralDisk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "EphemeralDisk", default)]
pub struct ApiEphemeralDisk {
    #[serde(rename = "Sticky")]
    pub sticky: Option<bool>,
    #[serde(rename = "Migrate")]
    pub migrate: Option<bool>,
    #[serde(rename = "SizeMB")]
    pub size_mb: Option<i64>,
}

/// `api.LogConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "LogConfig", default)]
pub struct ApiLogConfig {
    #[serde(rename = "MaxFiles")]
    pub max_files: Option<i64>,
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: Option<i64>,
}

/// `api.Service`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Service", default)]
pub struct ApiService {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<String>>,
    #[serde(rename = "PortLabel")]
    pub port_label: String,
    #[serde(rename = "AddressMode")]
    pub address_mode: String,
    #[serde(rename = "Checks")]
    pub checks: Option<Vec<ApiServiceCheck>>,
}

/// `api.ServiceCheck`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "ServiceCheck", default)]
pub struct ApiServiceCheck {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Type")]
    pub check_type: String,
    #[serde(rename = "Command")]
    pub command: String,
    #[serde(rename = "Args")]
    pub args: Option<Vec<String>>,
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Protocol")]
    pub protocol: String,
    #[serde(rename = "PortLabel")]
    pub port_label: String,
    #[serde(rename = "Interval")]
    pub interval: Duration,
    #[serde(rename = "Timeout")]
    pub timeout: Duration,
    #[serde(rename = "InitialStatus")]
    pub initial_status: String,
    #[serde(rename = "TLSSkipVerify")]
    pub tls_skip_verify: bool,
    #[serde(rename = "Header")]
    pub header: Option<BTreeMap<String, Option<Vec<String>>>>,
    #[serde(rename = "Method")]
    pub method: String,
}

/// `api.Template`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Template", default)]
pub struct ApiTemplate {
    #[serde(rename = "SourcePath")]
    pub source_path: Option<String>,
    #[serde(rename = "DestPath")]
    pub dest_path: Option<String>,
    #[serde(rename = "EmbeddedTmpl")]
    pub embedded_tmpl: Option<String>,
    #[serde(rename = "ChangeMode")]
    pub change_mode: Option<String>,
    #[serde(rename = "ChangeSignal")]
    pub change_signal: Option<String>,
    #[serde(rename = "Splay")]
    pub splay: Option<Duration>,
    #[serde(rename = "Perms")]
    pub perms: Option<String>,
    #[serde(rename = "LeftDelim")]
    pub left_delim: Option<String>,
    #[serde(rename = "RightDelim")]
    pub right_delim: Option<String>,
    #[serde(rename = "Envvars")]
    pub envvars: Option<bool>,
    #[serde(rename = "VaultGrace")]
    pub vault_grace: Option<Duration>,
}

/// `api.TaskArtifact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "TaskArtifact", default)]
pub struct ApiTaskArtifact {
    #[serde(rename = "GetterSource")]
    pub getter_source: Option<String>,
    #[serde(rename = "GetterOptions")]
    pub getter_options: Option<StringMap>,
    #[serde(rename = "GetterMode")]
    pub getter_mode: Option<String>,
    #[serde(rename = "RelativeDest")]
    pub relative_dest: Option<String>,
}

/// `api.Vault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Vault", default)]
pub struct ApiVault {
    #[serde(rename = "Policies")]
    pub policies: Option<Vec<String>>,
    #[serde(rename = "Env")]
    pub env: Option<bool>,
    #[serde(rename = "ChangeMode")]
    pub change_mode: Option<String>,
    #[serde(rename = "ChangeSignal")]
    pub change_signal: Option<String>,
}

fn or<T: Clone>(slot: &mut Option<T>, default: T) {
    if slot.is_none() {
        *slot = Some(default);
    }
}

impl ApiJob {
    /// Applies Nomad's API-side defaults (`api.Job.Canonicalize`). A field
    /// that was sent, even as `0`, `""` or `false`, is kept.
    pub fn canonicalize(&mut self) {
        or(&mut self.id, String::new());
        let id = self.id.clone().unwrap_or_default();
        or(&mut self.name, id);
        or(&mut self.parent_id, String::new());
        or(&mut self.priority, 50);
        or(&mut self.stop, false);
        or(&mut self.region, "global".into());
        or(&mut self.job_type, job::JOB_TYPE_SERVICE.into());
        or(&mut self.all_at_once, false);
        or(&mut self.vault_token, String::new());
        or(&mut self.status, String::new());
        or(&mut self.status_description, String::new());
        or(&mut self.stable, false);
        or(&mut self.version, 0);
        or(&mut self.create_index, 0);
        or(&mut self.modify_index, 0);
        or(&mut self.job_modify_index, 0);
        if let Some(p) = &mut self.periodic {
            p.canonicalize();
        }
        if let Some(u) = &mut self.update {
            u.canonicalize();
        }
        let job_name = self.name.clone().unwrap_or_default();
        let job_type = self.job_type.clone().unwrap_or_default();
        let job_update = self.update.clone();
        for tg in self.task_groups.iter_mut().flatten() {
            tg.canonicalize(&job_name, &job_type, job_update.as_ref());
        }
    }

    /// Converts a canonicalized API job to the stored type
    /// (`ApiJobToStructJob`): server-owned fields are dropped, as are a
    /// task's `DiskMB`, network `Device`, service/check `Id` and every
    /// job-level `Update` field but `Stagger` and `MaxParallel`.
    pub fn into_structs(self) -> job::Job {
        job::Job {
            stop: self.stop.unwrap_or(false),
            region: self.region.unwrap_or_default(),
            id: self.id.unwrap_or_default(),
            parent_id: self.parent_id.unwrap_or_default(),
            name: self.name.unwrap_or_default(),
            job_type: self.job_type.unwrap_or_default(),
            priority: self.priority.unwrap_or(0),
            all_at_once: self.all_at_once.unwrap_or(false),
            datacenters: self.datacenters.unwrap_or_default(),
            constraints: constraints(self.constraints),
            task_groups: self
                .task_groups
                .into_iter()
                .flatten()
                .map(ApiTaskGroup::into_structs)
                .collect(),
            update: self
                .update
                .map(|u| job::UpdateStrategy {
                    stagger: u.stagger.unwrap_or(0),
                    max_parallel: u.max_parallel.unwrap_or(0),
                    ..Default::default()
                })
                .unwrap_or_default(),
            periodic: self.periodic.map(|p| job::PeriodicConfig {
                enabled: p.enabled.unwrap_or(false),
                spec: p.spec.unwrap_or_default(),
                spec_type: p.spec_type.unwrap_or_default(),
                prohibit_overlap: p.prohibit_overlap.unwrap_or(false),
                time_zone: p.time_zone.unwrap_or_default(),
            }),
            parameterized_job: self.parameterized_job.map(|p| job::ParameterizedJobConfig {
                payload: p.payload,
                meta_required: p.meta_required.unwrap_or_default(),
                meta_optional: p.meta_optional.unwrap_or_default(),
            }),
            payload: self.payload,
            meta: self.meta.unwrap_or_default(),
            vault_token: self.vault_token.unwrap_or_default(),
            ..job::Job::default()
        }
    }
}

fn constraints(list: Option<Vec<ApiConstraint>>) -> Vec<job::Constraint> {
    list.into_iter()
        .flatten()
        .map(|c| job::Constraint {
            ltarget: c.ltarget,
            rtarget: c.rtarget,
            operand: c.operand,
        })
        .collect()
}

impl ApiTaskGroup {
    pub(crate) fn canonicalize(
        &mut self,
        job_name: &str,
        job_type: &str,
        job_update: Option<&ApiUpdateStrategy>,
    ) {
        or(&mut self.name, String::new());
        or(&mut self.count, 1);
        let group_name = self.name.clone().unwrap_or_default();
        for task in self.tasks.iter_mut().flatten() {
            task.canonicalize(job_name, &group_name);
        }
        match &mut self.ephemeral_disk {
            None => self.ephemeral_disk = Some(ApiEphemeralDisk::default_disk()),
            Some(d) => d.canonicalize(),
        }
        // The group inherits the job's update block, its own fields winning.
        match (job_update, &self.update) {
            (Some(ju), Some(gu)) => {
                let mut merged = ju.clone();
                merged.merge(gu);
                self.update = Some(merged);
            }
            (Some(ju), None) if !ju.is_empty() => self.update = Some(ju.clone()),
            _ => {}
        }
        if let Some(u) = &mut self.update {
            u.canonicalize();
        }
        let d = job::RestartPolicy::default_for(job_type);
        let mut policy = ApiRestartPolicy {
            interval: Some(d.interval),
            attempts: Some(d.attempts),
            delay: Some(d.delay),
            mode: Some(d.mode),
        };
        if let Some(user) = &self.restart_policy {
            policy.merge(user);
        }
        self.restart_policy = Some(policy);
    }

    pub(crate) fn into_structs(self) -> job::TaskGroup {
        job::TaskGroup {
            name: self.name.unwrap_or_default(),
            count: self.count.unwrap_or(0),
            update: self.update.map(|u| job::UpdateStrategy {
                stagger: u.stagger.unwrap_or(0),
                max_parallel: u.max_parallel.unwrap_or(0),
                health_check: u.health_check.unwrap_or_default(),
                min_healthy_time: u.min_healthy_time.unwrap_or(0),
                healthy_deadline: u.healthy_deadline.unwrap_or(0),
                auto_revert: u.auto_revert.unwrap_or(false),
                canary: u.canary.unwrap_or(0),
            }),
            constraints: constraints(self.constraints),
            restart_policy: self.restart_policy.map(|r| job::RestartPolicy {
                attempts: r.attempts.unwrap_or(0),
                interval: r.interval.unwrap_or(0),
                delay: r.delay.unwrap_or(0),
                mode: r.mode.unwrap_or_default(),
            }),
            tasks: self
                .tasks
                .into_iter()
                .flatten()
                .map(ApiTask::into_structs)
                .collect(),
            ephemeral_disk: self.ephemeral_disk.map(|d| job::EphemeralDisk {
                sticky: d.sticky.unwrap_or(false),
                size_mb: d.size_mb.unwrap_or(0),
                migrate: d.migrate.unwrap_or(false),
            }),
            meta: self.meta.unwrap_or_default(),
        }
    }
}

impl ApiTask {
    fn canonicalize(&mut self, job_name: &str, group_name: &str) {
        let mut res = ApiResources {
            cpu: Some(100),
            memory_mb: Some(10),
            iops: Some(0),
            ..Default::default()
        };
        if let Some(user) = &self.resources {
            if user.cpu.is_some() {
                res.cpu = user.cpu;
            }
            if user.memory_mb.is_some() {
                res.memory_mb = user.memory_mb;
            }
            if user.disk_mb.is_some() {
                res.disk_mb = user.disk_mb;
            }
            if user.iops.is_some() {
                res.iops = user.iops;
            }
            res.networks = user.networks.clone();
        }
        for n in res.networks.iter_mut().flatten() {
            or(&mut n.mbits, 10);
        }
        self.resources = Some(res);
        or(&mut self.kill_timeout, 5 * SECOND);
        let log = self.log_config.get_or_insert_with(ApiLogConfig::default);
        or(&mut log.max_files, 10);
        or(&mut log.max_file_size_mb, 10);
        for a in self.artifacts.iter_mut().flatten() {
            a.canonicalize();
        }
        if let Some(v) = &mut self.vault {
            or(&mut v.env, true);
            or(&mut v.change_mode, "restart".into());
            or(&mut v.change_signal, "SIGHUP".into());
        }
        for t in self.templates.iter_mut().flatten() {
            t.canonicalize();
        }
        for s in self.services.iter_mut().flatten() {
            if s.name.is_empty() {
                s.name = format!("{job_name}-{group_name}-{}", self.name);
            }
            if s.address_mode.is_empty() {
                s.address_mode = "auto".into();
            }
        }
    }

    fn into_structs(self) -> job::Task {
        let res = self.resources.unwrap_or_default();
        job::Task {
            name: self.name,
            driver: self.driver,
            user: self.user,
            config: self.config.unwrap_or_default(),
            env: self.env.unwrap_or_default(),
            services: self
                .services
                .into_iter()
                .flatten()
                .map(|s| job::Service {
                    name: s.name,
                    port_label: s.port_label,
                    address_mode: s.address_mode,
                    tags: s.tags.unwrap_or_default(),
                    checks: s
                        .checks
                        .into_iter()
                        .flatten()
                        .map(|c| job::ServiceCheck {
                            name: c.name,
                            check_type: c.check_type,
                            command: c.command,
                            args: c.args.unwrap_or_default(),
                            path: c.path,
                            protocol: c.protocol,
                            port_label: c.port_label,
                            interval: c.interval,
                            timeout: c.timeout,
                            initial_status: c.initial_status,
                            tls_skip_verify: c.tls_skip_verify,
                            method: c.method,
                            header: c
                                .header
                                .into_iter()
                                .flatten()
                                .map(|(k, v)| (k, job::NilVec(v.unwrap_or_default())))
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            vault: self.vault.map(|v| job::Vault {
                policies: v.policies.unwrap_or_default(),
                env: v.env.unwrap_or(false),
                change_mode: v.change_mode.unwrap_or_default(),
                change_signal: v.change_signal.unwrap_or_default(),
            }),
            templates: self
                .templates
                .into_iter()
                .flatten()
                .map(|t| job::Template {
                    source_path: t.source_path.unwrap_or_default(),
                    dest_path: t.dest_path.unwrap_or_default(),
                    embedded_tmpl: t.embedded_tmpl.unwrap_or_default(),
                    change_mode: t.change_mode.unwrap_or_default(),
                    change_signal: t.change_signal.unwrap_or_default(),
                    splay: t.splay.unwrap_or(0),
                    perms: t.perms.unwrap_or_default(),
                    left_delim: t.left_delim.unwrap_or_default(),
                    right_delim: t.right_delim.unwrap_or_default(),
                    envvars: t.envvars.unwrap_or(false),
                    vault_grace: t.vault_grace.unwrap_or(0),
                })
                .collect(),
            constraints: constraints(self.constraints),
            resources: Some(job::Resources {
                cpu: res.cpu.unwrap_or(0),
                memory_mb: res.memory_mb.unwrap_or(0),
                disk_mb: 0,
                iops: res.iops.unwrap_or(0),
                networks: res
                    .networks
                    .into_iter()
                    .flatten()
                    .map(|n| job::NetworkResource {
                        device: String::new(),
                        cidr: n.cidr,
                        ip: n.ip,
                        mbits: n.mbits.unwrap_or(0),
                        reserved_ports: n.reserved_ports.unwrap_or_default(),
                        dynamic_ports: n.dynamic_ports.unwrap_or_default(),
                    })
                    .collect(),
            }),
            dispatch_payload: self
                .dispatch_payload
                .map(|d| job::DispatchPayloadConfig { file: d.file }),
            meta: self.meta.unwrap_or_default(),
            kill_timeout: self.kill_timeout.unwrap_or(0),
            log_config: self.log_config.map(|l| job::LogConfig {
                max_files: l.max_files.unwrap_or(0),
                max_file_size_mb: l.max_file_size_mb.unwrap_or(0),
            }),
            artifacts: self
                .artifacts
                .into_iter()
                .flatten()
                .map(|a| job::TaskArtifact {
                    getter_source: a.getter_source.unwrap_or_default(),
                    getter_options: a.getter_options.unwrap_or_default(),
                    getter_mode: a.getter_mode.unwrap_or_default(),
                    relative_dest: a.relative_dest.unwrap_or_default(),
                })
                .collect(),
            leader: self.leader,
            shutdown_delay: self.shutdown_delay,
        }
    }
}

impl ApiUpdateStrategy {
    /// Fills every unset field from Nomad's default update strategy.
    pub fn canonicalize(&mut self) {
        let d = job::UpdateStrategy::nomad_default();
        or(&mut self.max_parallel, d.max_parallel);
        or(&mut self.stagger, d.stagger);
        or(&mut self.health_check, d.health_check);
        or(&mut self.healthy_deadline, d.healthy_deadline);
        or(&mut self.min_healthy_time, d.min_healthy_time);
        or(&mut self.auto_revert, d.auto_revert);
        or(&mut self.canary, d.canary);
    }

    /// Overlays every field `other` sets.
    pub fn merge(&mut self, other: &ApiUpdateStrategy) {
        macro_rules! take {
            ($($f:ident),*) => {$( if other.$f.is_some() { self.$f = other.$f.clone(); } )*};
        }
        take!(
            stagger,
            max_parallel,
            health_check,
            min_healthy_time,
            healthy_deadline,
            auto_revert,
            canary
        );
    }

    /// No field set to a non-zero value.
    pub fn is_empty(&self) -> bool {
        self.stagger.unwrap_or(0) == 0
            && self.max_parallel.unwrap_or(0) == 0
            && self.health_check.as_deref().unwrap_or("").is_empty()
            && self.min_healthy_time.unwrap_or(0) == 0
            && self.healthy_deadline.unwrap_or(0) == 0
            && !self.auto_revert.unwrap_or(false)
            && self.canary.unwrap_or(0) == 0
    }
}

impl ApiPeriodicConfig {
    fn canonicalize(&mut self) {
        or(&mut self.enabled, true);
        or(&mut self.spec, String::new());
        or(&mut self.spec_type, "cron".into());
        or(&mut self.prohibit_overlap, false);
        if self.time_zone.as_deref().unwrap_or("").is_empty() {
            self.time_zone = Some("UTC".into());
        }
    }
}

impl ApiRestartPolicy {
    fn merge(&mut self, other: &ApiRestartPolicy) {
        if other.interval.is_some() {
            self.interval = other.interval;
        }
        if other.attempts.is_some() {
            self.attempts = other.attempts;
        }
        if other.delay.is_some() {
            self.delay = other.delay;
        }
        if other.mode.is_some() {
            self.mode = other.mode.clone();
        }
    }
}

impl ApiEphemeralDisk {
    fn default_disk() -> Self {
        let mut d = ApiEphemeralDisk::default();
        d.canonicalize();
        d
    }

    fn canonicalize(&mut self) {
        let d = job::EphemeralDisk::nomad_default();
        or(&mut self.sticky, d.sticky);
        or(&mut self.size_mb, d.size_mb);
        or(&mut self.migrate, d.migrate);
    }
}

impl ApiTaskArtifact {
    fn canonicalize(&mut self) {
        or(&mut self.getter_mode, "any".into());
        or(&mut self.getter_source, String::new());
        if self.relative_dest.is_none() {
            let dest = if self.getter_mode.as_deref() == Some("file") {
                let base = go_path_base(self.getter_source.as_deref().unwrap_or(""));
                go_clean_join("local", &base)
            } else {
                "local/".to_string()
            };
            self.relative_dest = Some(dest);
        }
    }
}

impl ApiTemplate {
    fn canonicalize(&mut self) {
        or(&mut self.source_path, String::new());
        or(&mut self.dest_path, String::new());
        or(&mut self.embedded_tmpl, String::new());
        or(&mut self.change_mode, "restart".into());
        self.change_signal = Some(match &self.change_signal {
            None if self.change_mode.as_deref() == Some("signal") => "SIGHUP".into(),
            None => String::new(),
            Some(s) => s.to_uppercase(),
        });
        or(&mut self.splay, 5 * SECOND);
        or(&mut self.perms, "0644".into());
        or(&mut self.left_delim, "{{".into());
        or(&mut self.right_delim, "}}".into());
        or(&mut self.envvars, false);
        or(&mut self.vault_grace, 5 * job::MINUTE);
    }
}

/// Go's `path.Base`.
pub(crate) fn go_path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// Go's `path.Clean`.
pub(crate) fn go_path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Join(a, b)` on Unix.
pub(crate) fn go_clean_join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => go_path_clean(b),
        (false, true) => go_path_clean(a),
        (false, false) => go_path_clean(&format!("{a}/{b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_paths() {
        assert_eq!(go_path_base("http://foo.com/bar.tgz"), "bar.tgz");
        assert_eq!(go_path_base("a/b/"), "b");
        assert_eq!(go_clean_join("local", "x"), "local/x");
        assert_eq!(go_path_clean("/alloc/../../x"), "/x");
        assert_eq!(go_path_clean("a/../../x"), "../x");
        assert_eq!(go_path_clean(""), ".");
    }

    #[test]
    fn explicit_zero_is_not_defaulted() {
        let mut j = ApiJob {
            id: Some("x".into()),
            priority: Some(0),
            name: Some(String::new()),
            ..Default::default()
        };
        j.canonicalize();
        assert_eq!(j.priority, Some(0));
        assert_eq!(j.name.as_deref(), Some(""));
        let mut j = ApiJob {
            id: Some("x".into()),
            ..Default::default()
        };
        j.canonicalize();
        assert_eq!(j.priority, Some(50));
        assert_eq!(j.name.as_deref(), Some("x"));
        assert_eq!(j.region.as_deref(), Some("global"));
        assert_eq!(j.job_type.as_deref(), Some("service"));
    }
}
