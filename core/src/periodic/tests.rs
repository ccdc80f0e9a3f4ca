//! The public periodic API (next launch, plan rendering, catch-up) and
//! property tests of launches across DST changes against a brute-force search.

use chrono::{DateTime, Datelike, NaiveDate};
use proptest::prelude::*;

use super::*;
use crate::model::{ParameterizedJobConfig, PeriodicConfig};

const NS: i64 = 1_000_000_000;

fn cron(spec: &str, zone: &str) -> PeriodicConfig {
    PeriodicConfig {
        enabled: true,
        spec: spec.into(),
        spec_type: SPEC_TYPE_CRON.into(),
        prohibit_overlap: false,
        time_zone: zone.into(),
    }
}

fn unix_ns(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp() * NS
}

fn periodic_job(config: PeriodicConfig) -> Job {
    Job {
        id: "p".into(),
        job_type: "batch".into(),
        periodic: Some(config),
        ..Default::default()
    }
}

#[test]
fn next_launch_by_spec_type() {
    let now = unix_ns("2026-11-27T03:26:18Z") + 107_017_585;
    assert_eq!(
        next_launch(&cron("0 0 1 1 *", "UTC"), now),
        Some(unix_ns("2027-01-01T00:00:00Z"))
    );
    // An empty zone is UTC; an unknown one falls back to UTC.
    assert_eq!(
        next_launch(&cron("0 0 1 1 *", ""), now),
        Some(unix_ns("2027-01-01T00:00:00Z"))
    );
    assert_eq!(
        next_launch(&cron("0 0 1 1 *", "Mars/Olympus"), now),
        Some(unix_ns("2027-01-01T00:00:00Z"))
    );
    assert_eq!(
        next_launch(&cron("0 0 1 1 *", "Asia/Tokyo"), now),
        Some(unix_ns("2027-01-01T00:00:00+09:00"))
    );
    // Unparsable spec or unknown type: none.
    assert_eq!(next_launch(&cron("not a cron", "UTC"), now), None);
    let mut other = cron("* * * * *", "UTC");
    other.spec_type = "foo".into();
    assert_eq!(next_launch(&other, now), None);
    // Disabled configs still have a schedule; callers decide.
    let mut disabled = cron("0 0 1 1 *", "UTC");
    disabled.enabled = false;
    assert!(next_launch(&disabled, now).is_some());
}

#[test]
fn internal_test_spec_takes_the_first_listed_time_after() {
    let mut c = cron("30,10,20", "UTC");
    c.spec_type = SPEC_TYPE_TEST.into();
    assert_eq!(next_launch(&c, 5 * NS), Some(30 * NS));
    assert_eq!(next_launch(&c, 30 * NS), None);
    c.spec = "10,+20".into();
    assert_eq!(next_launch(&c, 10 * NS), Some(20 * NS));
    c.spec = "10,x".into();
    assert_eq!(next_launch(&c, 0), None);
    c.spec = String::new();
    assert_eq!(next_launch(&c, 0), None);
}

#[test]
fn plan_rendering() {
    let now = unix_ns("2026-11-27T03:26:18Z");
    let job = periodic_job(cron("0 0 1 1 *", "UTC"));
    assert_eq!(next_launch_rfc3339(&job, now), "2027-01-01T00:00:00Z");
    let ny = periodic_job(cron("0 0 1 1 *", "America/New_York"));
    assert_eq!(next_launch_rfc3339(&ny, now), "2027-01-01T00:00:00-05:00");
    let mut disabled = job.clone();
    if let Some(p) = disabled.periodic.as_mut() {
        p.enabled = false;
    }
    assert_eq!(next_launch_rfc3339(&disabled, now), GO_ZERO_TIME);
    let plain = Job::default();
    assert_eq!(next_launch_rfc3339(&plain, now), "0001-01-01T00:00:00Z");
    let past = periodic_job(cron("0 0 * * * 2020", "UTC"));
    assert_eq!(next_launch_rfc3339(&past, now), GO_ZERO_TIME);
    // Nomad renders it for a parameterized periodic job too.
    let mut both = job.clone();
    both.parameterized_job = Some(ParameterizedJobConfig::default());
    assert_eq!(next_launch_rfc3339(&both, now), "2027-01-01T00:00:00Z");
}

#[test]
fn missed_launch_only_when_the_next_is_before_now() {
    let c = cron("0 * * * *", "UTC");
    let last = unix_ns("2026-05-01T10:00:00Z");
    assert!(!missed_launch(&c, last, unix_ns("2026-05-01T10:59:59Z")));
    assert!(!missed_launch(&c, last, unix_ns("2026-05-01T11:00:00Z")));
    assert!(missed_launch(&c, last, unix_ns("2026-05-01T11:00:01Z")));
    assert!(missed_launch(&c, last, unix_ns("2026-05-03T00:00:00Z")));
    let never = cron("0 0 * * * 2020", "UTC");
    assert!(!missed_launch(
        &never,
        last,
        unix_ns("2030-01-01T00:00:00Z")
    ));
}

#[test]
fn periodic_child_is_derived_from_the_parent() {
    let mut parent = periodic_job(cron("@daily", "UTC"));
    parent.version = 3;
    let child = child_job(&parent, 1_795_749_978, 42);
    assert_eq!(child.id, "p/periodic-1795749978");
    assert_eq!(child.name, child.id);
    assert_eq!(child.parent_id, "p");
    assert_eq!(child.periodic, None);
    assert_eq!(child.submit_time, 42);
}

// ---- properties ----

const ZONES: [&str; 7] = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
];

/// Whether `at` (Unix s) is a launch: some matching wall time resolves to it.
fn is_launch(spec: &CronSpec, tz: chrono_tz::Tz, at: i64) -> bool {
    (0..=26).any(|h| {
        let offset = zone::offset_at(tz, at - h * 3600);
        DateTime::from_timestamp(at + offset, 0).is_some_and(|w| {
            let w = w.naive_utc();
            spec.matches(w) && zone::resolve(tz, w) == at
        })
    })
}

/// The first launch after `after` (Unix s) found minute by minute.
fn brute_force_next(spec: &CronSpec, tz: chrono_tz::Tz, after: i64, horizon: i64) -> Option<i64> {
    let first = (after.div_euclid(60) + 1) * 60;
    (0..horizon / 60)
        .map(|i| first + i * 60)
        .find(|t| is_launch(spec, tz, *t))
}

/// Specs that launch at least every few hours, at whole minutes.
fn dense_spec() -> impl Strategy<Value = String> {
    let minutes = prop::sample::select(vec!["*/15", "0", "30", "0,20,40", "5-10", "*/7", "59"]);
    let hours = prop::sample::select(vec!["*", "*/2", "0-3", "1,2,3", "2", "22-23,0-4", "*/3"]);
    (minutes, hours).prop_map(|(m, h)| format!("{m} {h} * * *"))
}

/// Instants within two days of a DST change (2024–2030, both hemispheres).
fn around_dst_change() -> impl Strategy<Value = i64> {
    let changes = vec![
        "2026-03-08T07:00:00Z", // New York spring
        "2026-11-01T06:00:00Z", // New York fall
        "2026-03-29T01:00:00Z", // Europe spring
        "2026-10-25T01:00:00Z", // Europe fall
        "2026-04-04T16:00:00Z", // Sydney fall
        "2026-10-03T16:00:00Z", // Sydney spring
        "2026-04-04T15:00:00Z", // Lord Howe fall
        "2026-10-03T15:30:00Z", // Lord Howe spring
        "2024-03-10T07:00:00Z",
        "2030-10-27T01:00:00Z",
    ];
    (prop::sample::select(changes), -2 * 86_400i64..2 * 86_400)
        .prop_map(|(c, d)| unix_ns(c) / NS + d)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn next_launch_is_the_first_launch_after(
        spec in dense_spec(),
        zone in prop::sample::select(ZONES.to_vec()),
        after in around_dst_change(),
        fraction in 0i64..NS,
    ) {
        let c = parse_cron(&spec).unwrap();
        let tz = parse_time_zone(zone).unwrap();
        let after_ns = after * NS + fraction;
        let next = c.next_launch(tz, after_ns);
        let want = brute_force_next(&c, tz, after, 2 * 86_400).map(|t| t * NS);
        prop_assert_eq!(next, want, "{} in {} after {}", spec, zone, after);
        if let Some(n) = next {
            prop_assert!(n > after_ns);
            prop_assert_eq!(n % NS, 0);
        }
    }

    #[test]
    fn consecutive_launches_strictly_increase(
        spec in dense_spec(),
        zone in prop::sample::select(ZONES.to_vec()),
        start in around_dst_change(),
    ) {
        let c = parse_cron(&spec).unwrap();
        let tz = parse_time_zone(zone).unwrap();
        let mut t = start * NS;
        for _ in 0..60 {
            let Some(n) = c.next_launch(tz, t) else { break };
            prop_assert!(n / NS > t.div_euclid(NS), "{} repeated a second at {}", spec, n);
            t = n;
        }
    }

    #[test]
    fn daily_specs_launch_once_on_every_day_of_a_year(
        minute in 0u32..60,
        hour in 0u32..24,
        zone in prop::sample::select(ZONES.to_vec()),
        year in 2025i32..2030,
    ) {
        let c = parse_cron(&format!("{minute} {hour} * * *")).unwrap();
        let tz = parse_time_zone(zone).unwrap();
        let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        let mut t = zone::resolve(tz, start.and_hms_opt(0, 0, 0).unwrap()) * NS - 1;
        let mut days = Vec::new();
        loop {
            let n = c.next_launch(tz, t).unwrap();
            let wall = zone::wall_at(tz, n / NS).unwrap();
            if wall.date().year() != year {
                break;
            }
            days.push(wall.date());
            t = n;
        }
        let all: Vec<NaiveDate> = start.iter_days().take_while(|d| d.year() == year).collect();
        prop_assert_eq!(days, all);
    }
}
