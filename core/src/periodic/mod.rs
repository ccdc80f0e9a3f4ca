//! Periodic jobs: Nomad's cron dialect (gorhill/cronexpr), IANA time zones
//! compiled into the binary, the next launch after a given time, and the
//! child job of a launch. "Now" is always an argument.

use crate::model::{Job, PeriodicConfig};

/// The suffix between a parent ID and the launch time of a periodic child.
pub const PERIODIC_LAUNCH_SUFFIX: &str = "/periodic-";

/// `<parent>/periodic-<unix seconds>`.
pub fn derived_id(parent_id: &str, launch_unix_seconds: i64) -> String {
    format!("{parent_id}{PERIODIC_LAUNCH_SUFFIX}{launch_unix_seconds}")
}

/// The child a launch at `launch_unix_seconds` registers: a copy of the
/// parent without its periodic block. `now` (Unix ns) is its SubmitTime.
pub fn child_job(parent: &Job, launch_unix_seconds: i64, now: i64) -> Job {
    let mut child = parent.clone();
    child.parent_id = parent.id.clone();
    child.id = derived_id(&parent.id, launch_unix_seconds);
    child.name = child.id.clone();
    child.periodic = None;
    child.submit_time = now;
    child
}

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec {
    fields: Vec<String>,
}

/// Parses a spec in Nomad's cron dialect; the error is the parser's detail
/// (`missing field(s)`), to be wrapped as `Invalid cron spec "<spec>": …`.
pub fn parse_cron(spec: &str) -> Result<CronSpec, String> {
    // PLACEHOLDER until the full dialect lands: field count only.
    let fields: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    if fields.len() < 5 && !spec.trim_start().starts_with('@') {
        return Err("missing field(s)".into());
    }
    Ok(CronSpec { fields })
}

/// Looks up an IANA zone name; the error is Go's (`unknown time zone X`).
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(chrono_tz::UTC);
    }
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown time zone {name}"))
}

/// The earliest launch strictly after `after` (Unix ns), or `None` if the
/// spec never matches again.
pub fn next_launch(config: &PeriodicConfig, after: i64) -> Option<i64> {
    // PLACEHOLDER until the full dialect lands.
    let _ = (config, after);
    None
}
