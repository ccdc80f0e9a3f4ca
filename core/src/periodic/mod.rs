//! Periodic jobs: Nomad's cron dialect (gorhill/cronexpr), IANA time zones
//! compiled into the binary, the next launch after a given time, and the
//! child job of a launch. "Now" is always an argument.

mod cron;
mod launch;
mod zone;

pub use cron::{parse_cron, CronSpec};
pub use zone::{format_go_time, parse_time_zone, GO_ZERO_TIME};

use crate::model::{Job, PeriodicConfig};

/// The suffix between a parent ID and the launch time of a periodic child.
pub const PERIODIC_LAUNCH_SUFFIX: &str = "/periodic-";

/// `Periodic.SpecType` of cron specs.
pub const SPEC_TYPE_CRON: &str = "cron";

/// `Periodic.SpecType` of Nomad's test hook: comma-separated Unix seconds.
pub const SPEC_TYPE_TEST: &str = "_internal_test";

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

/// The zone a periodic config launches in; an unknown name (which
/// validation rejects) falls back to UTC as Nomad's `GetLocation` does.
pub fn config_time_zone(config: &PeriodicConfig) -> chrono_tz::Tz {
    parse_time_zone(&config.time_zone).unwrap_or(chrono_tz::UTC)
}

/// The earliest launch strictly after `after` (Unix ns), or `None` if the
/// spec never matches again or does not parse (Nomad's `PeriodicConfig.Next`
/// returns the zero time then). `Enabled` is not consulted.
pub fn next_launch(config: &PeriodicConfig, after: i64) -> Option<i64> {
    match config.spec_type.as_str() {
        SPEC_TYPE_CRON => parse_cron(&config.spec)
            .ok()?
            .next_launch(config_time_zone(config), after),
        SPEC_TYPE_TEST => next_test_launch(&config.spec, after),
        _ => None,
    }
}

/// `_internal_test`: the first listed time (in list order, not the
/// smallest) after `after`; any unparsable entry means none.
fn next_test_launch(spec: &str, after: i64) -> Option<i64> {
    if spec.is_empty() {
        return None;
    }
    let times: Vec<i64> = spec
        .split(',')
        .map(|s| s.parse::<i64>().ok())
        .collect::<Option<_>>()?;
    times
        .into_iter()
        .filter_map(|s| s.checked_mul(1_000_000_000))
        .find(|t| *t > after)
}

/// `NextPeriodicLaunch` of a plan: the next launch after `now` (Unix ns)
/// rendered like Go's `time.Time` JSON in the job's zone if the job is
/// periodic and enabled, else (or if it never launches) Go's zero time.
pub fn next_launch_rfc3339(job: &Job, now: i64) -> String {
    job.periodic
        .as_ref()
        .filter(|p| p.enabled)
        .and_then(|p| Some(format_go_time(next_launch(p, now)?, config_time_zone(p))))
        .unwrap_or_else(|| GO_ZERO_TIME.to_string())
}

/// Whether a tracked job missed a launch while no leader ran it: its next
/// launch after `last_launch` (Unix ns, the periodic launch table's value)
/// is before `now`. Nomad then force-launches once at `now`, however many
/// launches were missed.
pub fn missed_launch(config: &PeriodicConfig, last_launch: i64, now: i64) -> bool {
    next_launch(config, last_launch).is_some_and(|next| next < now)
}

#[cfg(test)]
mod tests;
