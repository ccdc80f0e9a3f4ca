//! Server-side canonicalization (`structs.Job.Canonicalize`) and the
//! implicit constraints Nomad adds before validation.

use crate::fork::{map_owned_halves, Fork, Sequential, MIN_GROUPS};
use crate::model::api::ApiJob;
use crate::model::{
    Constraint, EphemeralDisk, Job, RestartPolicy, TaskGroup, UpdateStrategy, JOB_TYPE_BATCH,
};

const OLD_UPDATE_WARNING: &str = "A best effort conversion to new update stanza introduced in v0.6.0 applied. Please update upgrade stanza before v0.7.0.";
const BATCH_UPDATE_WARNING: &str = "Update stanza is disallowed for batch jobs since v0.6.0. The update block has automatically been removed";

/// A submitted job after stages 1–3 of job-model.md, ready for validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub job: Job,
    /// Canonicalization warnings, in Nomad's order.
    pub warnings: Vec<String>,
}

/// API defaults, conversion, server canonicalization and implicit
/// constraints, in Nomad's order.
pub fn prepare(api: ApiJob) -> Prepared {
    prepare_forked(api, &Sequential)
}

/// [`prepare`], the task groups' halves over `fork`. Every step but the
/// job-level rules after the group loop (Nomad's COMPAT update rewrite,
/// batch updates) touches one group at a time, so each group goes through
/// all of its steps at once.
pub fn prepare_forked(mut api: ApiJob, fork: &impl Fork) -> Prepared {
    let groups = api.task_groups.take().unwrap_or_default();
    api.canonicalize();
    let job_name = api.name.clone().unwrap_or_default();
    let job_type = api.job_type.clone().unwrap_or_default();
    let job_update = api.update.clone();
    let mut job = api.into_structs();
    job.task_groups = map_owned_halves(fork, groups, MIN_GROUPS, |mut group| {
        group.canonicalize(&job_name, &job_type, job_update.as_ref());
        let mut group = group.into_structs();
        // `into_structs` keeps the canonical name and type.
        canonicalize_group(&mut group, &job_name, &job_type);
        add_group_constraints(&mut group);
        group
    });
    // The job-level rules do not touch the groups' constraints.
    let warnings = canonicalize_job_level(&mut job);
    Prepared { job, warnings }
}

/// Server-side canonicalization; idempotent. Returns warnings.
pub fn canonicalize(job: &mut Job) -> Vec<String> {
    let (job_name, job_type) = (job.name.clone(), job.job_type.clone());
    for tg in &mut job.task_groups {
        canonicalize_group(tg, &job_name, &job_type);
    }
    canonicalize_job_level(job)
}

/// The group loop of `structs.Job.Canonicalize`.
fn canonicalize_group(tg: &mut TaskGroup, job_name: &str, job_type: &str) {
    if tg.restart_policy.is_none() {
        tg.restart_policy = Some(RestartPolicy::default_for(job_type));
    }
    if tg.ephemeral_disk.is_none() {
        tg.ephemeral_disk = Some(EphemeralDisk::nomad_default());
    }
    let group_name = tg.name.clone();
    for task in &mut tg.tasks {
        canonicalize_task(task, job_name, &group_name);
    }
    let disk: i64 = tg
        .tasks
        .iter()
        .map(|t| t.resources.as_ref().map_or(0, |r| r.disk_mb))
        .sum();
    if disk > 0 {
        if let Some(d) = &mut tg.ephemeral_disk {
            d.size_mb = disk;
        }
    }
}

/// What `structs.Job.Canonicalize` does after its group loop.
fn canonicalize_job_level(job: &mut Job) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(p) = &mut job.parameterized_job {
        if p.payload.is_empty() {
            p.payload = crate::model::DISPATCH_PAYLOAD_OPTIONAL.into();
        }
    }

    // COMPAT(0.6): rewrite a pre-0.6 job-level update block into groups.
    if job.update.rolling() && job.job_type != JOB_TYPE_BATCH {
        let mut base = UpdateStrategy::nomad_default();
        base.max_parallel = job.update.max_parallel;
        base.min_healthy_time = job.update.stagger;
        let groups = job.task_groups.len();
        let mut upgraded = false;
        for tg in &mut job.task_groups {
            if let Some(u) = &tg.update {
                if u.stagger > 0
                    && u.max_parallel > 0
                    && !u.health_check.is_empty()
                    && u.min_healthy_time > 0
                    && u.healthy_deadline > 0
                {
                    continue;
                }
            }
            upgraded = true;
            let mut u = base.clone();
            if groups != 1 {
                u.max_parallel = ((tg.count as f64) * 0.1 + 0.5) as i64;
            }
            if u.max_parallel == 0 {
                u.max_parallel = 1;
            } else if u.max_parallel > tg.count {
                u.max_parallel = tg.count;
            }
            tg.update = Some(u);
        }
        if upgraded {
            warnings.push(OLD_UPDATE_WARNING.to_string());
        }
    }
    if job.job_type == JOB_TYPE_BATCH {
        let mut warned = job.update.rolling();
        job.update = UpdateStrategy::default();
        for tg in &mut job.task_groups {
            if tg.update.take().is_some() {
                warned = true;
            }
        }
        if warned {
            warnings.push(BATCH_UPDATE_WARNING.to_string());
        }
    }
    warnings
}

fn canonicalize_task(task: &mut crate::model::Task, job_name: &str, group_name: &str) {
    if task.resources.is_none() {
        task.resources = Some(crate::model::Resources::nomad_default());
    }
    if task.kill_timeout == 0 {
        task.kill_timeout = 5 * crate::model::SECOND;
    }
    if let Some(v) = &mut task.vault {
        v.change_signal = v.change_signal.to_uppercase();
    }
    for t in &mut task.templates {
        t.change_signal = t.change_signal.to_uppercase();
    }
    let mut base: Option<String> = None;
    for service in &mut task.services {
        if find_reference_start(service.name.as_bytes(), 0).is_some() {
            let base = base.get_or_insert_with(|| format!("{job_name}-{group_name}-{}", task.name));
            service.name = replace_env(
                &service.name,
                &[
                    ("JOB", job_name),
                    ("TASKGROUP", group_name),
                    ("TASK", &task.name),
                    ("BASE", base),
                ],
            );
        }
        for check in &mut service.checks {
            if check.name.is_empty() {
                check.name = format!("service: {} check", crate::gofmt::quote(&service.name));
            }
        }
    }
}

/// `args.ReplaceEnv`: substitutes `${KEY}` for known keys, leaves others.
/// A reference is `${` + one or more of `[a-zA-Z0-9_.-]` + `}` (Nomad's
/// regexp), matched leftmost first without overlaps.
fn replace_env(s: &str, vars: &[(&str, &str)]) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut copied, mut i) = (0, 0);
    while let Some(at) = find_reference_start(bytes, i) {
        let name_len = bytes[at + 2..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            .count();
        let end = at + 2 + name_len;
        if name_len == 0 || bytes.get(end) != Some(&b'}') {
            i = at + 1;
            continue;
        }
        let key = &s[at + 2..end];
        if let Some((_, value)) = vars.iter().find(|(k, _)| *k == key) {
            out.push_str(&s[copied..at]);
            out.push_str(value);
            copied = end + 1;
        }
        i = end + 1;
    }
    out.push_str(&s[copied..]);
    out
}

/// Where the next `${` at or after `from` starts.
fn find_reference_start(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = bytes.get(i..)?.iter().position(|&b| b == b'$') {
        let at = i + p;
        if bytes.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// The constraint a group gets when one of its tasks uses Vault.
pub fn vault_constraint() -> Constraint {
    Constraint::new("${attr.vault.version}", "version", ">= 0.6.1")
}

/// Appends the Vault-version and signal constraints Nomad adds implicitly.
/// Signals are sorted (v0.6 joined them in random order).
pub fn add_implicit_constraints(job: &mut Job) {
    job.task_groups.iter_mut().for_each(add_group_constraints);
}

/// One group's implicit constraints.
fn add_group_constraints(tg: &mut TaskGroup) {
    let uses_vault = tg.tasks.iter().any(|t| t.vault.is_some());
    let mut signals: Vec<String> = Vec::new();
    for task in &tg.tasks {
        if let Some(v) = &task.vault {
            if v.change_mode == "signal" {
                signals.push(v.change_signal.clone());
            }
        }
        for t in &task.templates {
            if t.change_mode == "signal" {
                signals.push(t.change_signal.clone());
            }
        }
    }
    if uses_vault {
        let c = vault_constraint();
        if !tg.constraints.contains(&c) {
            tg.constraints.push(c);
        }
    }
    if !signals.is_empty() {
        signals.sort();
        signals.dedup();
        let c = Constraint::new("${attr.os.signals}", "set_contains", &signals.join(","));
        if !tg.constraints.contains(&c) {
            tg.constraints.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson;

    #[test]
    fn replace_env_matches_nomads_regexp() {
        let re = regex::Regex::new(r"\$\{[a-zA-Z0-9_\-\.]+\}").unwrap();
        let vars = [("TASK", "web"), ("JOB", "j"), ("a.b-c_1", "x")];
        let by_regex = |s: &str| {
            re.replace_all(s, |caps: &regex::Captures<'_>| {
                let whole = &caps[0];
                let key = &whole[2..whole.len() - 1];
                vars.iter()
                    .find(|(k, _)| *k == key)
                    .map_or_else(|| whole.to_string(), |(_, v)| v.to_string())
            })
            .into_owned()
        };
        let parts = [
            "${", "}", "$", "{", "TASK", "JOB", "a.b-c_1", "x", "-", "é", "${}", " ",
        ];
        let mut cases = vec![String::new()];
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        cases.push(format!("{a}{b}{c}{d}"));
                    }
                }
            }
        }
        for s in &cases {
            assert_eq!(replace_env(s, &vars), by_regex(s), "{s:?}");
        }
        assert_eq!(replace_env("${TASK}-frontend", &vars), "web-frontend");
        assert_eq!(replace_env("${${TASK}}", &vars), "${web}");
        assert_eq!(replace_env("${NOPE}-${JOB}", &vars), "${NOPE}-j");
    }

    fn prep(body: &str) -> Prepared {
        prepare(gojson::from_slice(body.as_bytes(), "api.Job").unwrap())
    }

    #[test]
    fn defaults_fill_a_minimal_job() {
        let p = prep(
            r#"{"ID":"j","Datacenters":["dc1"],"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec"}]}]}"#,
        );
        let j = &p.job;
        assert_eq!(
            (j.name.as_str(), j.priority, j.job_type.as_str()),
            ("j", 50, "service")
        );
        let g = &j.task_groups[0];
        assert_eq!(g.count, 1);
        assert_eq!(
            g.restart_policy,
            Some(RestartPolicy::default_for("service"))
        );
        assert_eq!(g.ephemeral_disk.as_ref().map(|d| d.size_mb), Some(300));
        let t = &g.tasks[0];
        let r = t.resources.as_ref().unwrap();
        assert_eq!((r.cpu, r.memory_mb, r.disk_mb, r.iops), (100, 10, 0, 0));
        assert_eq!(t.kill_timeout, 5 * crate::model::SECOND);
        assert_eq!(
            t.log_config
                .as_ref()
                .map(|l| (l.max_files, l.max_file_size_mb)),
            Some((10, 10))
        );
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn job_update_is_copied_to_groups_and_trimmed_on_the_job() {
        let p = prep(
            r#"{"ID":"j","Update":{"Stagger":60000000000,"MaxParallel":2,"HealthCheck":"manual"},"TaskGroups":[{"Name":"g","Count":5,"Tasks":[{"Name":"t"}]}]}"#,
        );
        let u = p.job.task_groups[0].update.clone().unwrap();
        assert_eq!(u.stagger, 60 * crate::model::SECOND);
        assert_eq!(u.max_parallel, 2);
        assert_eq!(u.health_check, "manual");
        assert_eq!(u.healthy_deadline, 300 * crate::model::SECOND);
        assert_eq!(p.job.update.health_check, "");
        assert_eq!(p.job.update.max_parallel, 2);
    }

    #[test]
    fn batch_update_is_removed_with_a_warning() {
        let p = prep(
            r#"{"ID":"j","Type":"batch","Update":{"Stagger":1,"MaxParallel":1},"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t"}]}]}"#,
        );
        assert_eq!(p.job.update, UpdateStrategy::default());
        assert_eq!(p.job.task_groups[0].update, None);
        assert_eq!(p.warnings, vec![BATCH_UPDATE_WARNING.to_string()]);
        assert_eq!(
            p.job.task_groups[0]
                .restart_policy
                .as_ref()
                .unwrap()
                .attempts,
            15
        );
    }

    #[test]
    fn service_and_check_names() {
        let p = prep(
            r#"{"ID":"j","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Services":[{"Name":"${BASE}-x","Checks":[{"Type":"tcp"}]},{}]}]}]}"#,
        );
        let s = &p.job.task_groups[0].tasks[0].services;
        assert_eq!(s[0].name, "j-g-t-x");
        assert_eq!(s[0].checks[0].name, "service: \"j-g-t-x\" check");
        assert_eq!(s[1].name, "j-g-t");
        assert_eq!(s[1].address_mode, "auto");
    }

    #[test]
    fn implicit_constraints_sorted_and_not_duplicated() {
        let p = prep(
            r#"{"ID":"j","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Vault":{"Policies":["p"],"ChangeMode":"signal","ChangeSignal":"sigusr1"},"Templates":[{"DestPath":"x","ChangeMode":"signal","ChangeSignal":"SIGHUP"}]}]}]}"#,
        );
        let c = &p.job.task_groups[0].constraints;
        assert_eq!(c[0], vault_constraint());
        assert_eq!(
            c[1],
            Constraint::new("${attr.os.signals}", "set_contains", "SIGHUP,SIGUSR1")
        );
        let mut again = p.job.clone();
        add_implicit_constraints(&mut again);
        assert_eq!(again, p.job);
    }
}
