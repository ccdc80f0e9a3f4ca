//! The next launch of a cron spec in a time zone: the earliest instant after
//! a given one whose wall-clock time matches, safe across DST changes.
//!
//! Launches are defined on wall-clock times: each matching wall time launches
//! once, at the instant [`zone::resolve`] gives it (skipped times move forward
//! by the jump, repeated times launch at their first occurrence). So a daily
//! spec launches exactly once on every day, a spec inside a spring-forward gap
//! still runs that day, and no launch ever precedes the one before it. Because
//! moving skipped times forward can make a later wall time resolve to an
//! earlier instant (Lord Howe: 02:15 → 02:45, but 02:40 → 02:40), the search
//! keeps scanning matching wall times until none can resolve any earlier.

use chrono::{DateTime, NaiveDateTime};
use chrono_tz::Tz;

use super::cron::CronSpec;
use super::zone;

/// Margin around an instant that covers any DST jump (the largest, Samoa's
/// skipped day, is 24 h).
const JUMP_MARGIN: i64 = 26 * 3600;

fn naive(unix: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(unix, 0).map(|t| t.naive_utc())
}

impl CronSpec {
    /// The earliest launch strictly after `after` (Unix ns) with the fields
    /// matched against wall-clock time in `tz`, as Unix ns; `None` if the
    /// spec never matches again (e.g. only past years).
    pub fn next_launch(&self, tz: Tz, after: i64) -> Option<i64> {
        let after_s = after.div_euclid(1_000_000_000);
        let offsets = |t: i64| {
            let around = [t - JUMP_MARGIN, t];
            let o = around.map(|x| zone::offset_at(tz, x));
            (o[0].min(o[1]), o[0].max(o[1]))
        };
        // A wall time w resolves to w - o for an offset o in force near
        // `after`, so only walls past `after + lowest offset` can qualify.
        let (low, mut high) = offsets(after_s);
        let mut from = naive(after_s.checked_add(low)?.checked_add(1)?)?;
        let mut best: Option<i64> = None;
        while let Some(wall) = self.next_wall(from) {
            let wall_s = wall.and_utc().timestamp();
            // Later walls resolve no earlier than `wall - high`.
            if best.is_some_and(|b| wall_s - high >= b) {
                break;
            }
            let at = zone::resolve(tz, wall);
            if at > after_s && best.is_none_or(|b| at < b) {
                best = Some(at);
                high = high.max(offsets(at).1);
            }
            from = wall + chrono::Duration::seconds(1);
        }
        best.and_then(|b| b.checked_mul(1_000_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_cron, parse_time_zone};
    use super::*;
    use crate::periodic::format_go_time;

    /// The next `n` launches after `from` (RFC 3339 with offset), each
    /// searched from the previous one, as the periodic dispatcher does.
    fn launches(spec: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
        let c = parse_cron(spec).unwrap();
        let tz = parse_time_zone(zone).unwrap();
        let mut t = DateTime::parse_from_rfc3339(from)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap();
        let mut out = Vec::new();
        for _ in 0..n {
            let Some(next) = c.next_launch(tz, t) else {
                break;
            };
            assert!(next > t);
            out.push(format_go_time(next, tz));
            t = next;
        }
        out
    }

    #[test]
    fn utc_launches_are_strictly_after() {
        assert_eq!(
            launches("0 0 1 1 *", "UTC", "2026-11-27T03:26:18Z", 2),
            ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]
        );
        // Exactly on a launch: the next one, not the same.
        assert_eq!(
            launches("*/15 * * * *", "UTC", "2026-05-01T10:15:00Z", 1),
            ["2026-05-01T10:30:00Z"]
        );
        // A fraction after a launch second still moves on.
        assert_eq!(
            launches("* * * * * * *", "UTC", "2026-05-01T10:15:00.5Z", 2),
            ["2026-05-01T10:15:01Z", "2026-05-01T10:15:02Z"]
        );
        assert_eq!(
            launches("0 0 * * * 2020", "UTC", "2026-05-01T00:00:00Z", 1),
            Vec::<String>::new()
        );
    }

    #[test]
    fn zone_shifts_wall_time() {
        assert_eq!(
            launches("0 0 1 1 *", "America/New_York", "2026-11-27T03:26:18Z", 1),
            ["2027-01-01T00:00:00-05:00"]
        );
        assert_eq!(
            launches("30 9 * * MON", "Asia/Kolkata", "2026-05-01T00:00:00Z", 2),
            ["2026-05-04T09:30:00+05:30", "2026-05-11T09:30:00+05:30"]
        );
    }

    /// Table: (zone, spec, start, expected launches) around DST changes.
    #[test]
    fn dst_changes() {
        let cases: &[(&str, &str, &str, &[&str])] = &[
            // New York spring forward (2026-03-08 02:00 EST → 03:00 EDT).
            (
                "America/New_York",
                "*/15 * * * *",
                "2026-03-08T01:30:00-05:00",
                &[
                    "2026-03-08T01:45:00-05:00",
                    "2026-03-08T03:00:00-04:00",
                    "2026-03-08T03:15:00-04:00",
                    "2026-03-08T03:30:00-04:00",
                    "2026-03-08T03:45:00-04:00",
                    "2026-03-08T04:00:00-04:00",
                ],
            ),
            (
                "America/New_York",
                "0 * * * *",
                "2026-03-08T00:30:00-05:00",
                &[
                    "2026-03-08T01:00:00-05:00",
                    "2026-03-08T03:00:00-04:00",
                    "2026-03-08T04:00:00-04:00",
                ],
            ),
            // Daily in the gap still runs that day, an hour later.
            (
                "America/New_York",
                "30 2 * * *",
                "2026-03-07T12:00:00-05:00",
                &["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"],
            ),
            // Fall back (2026-11-01 02:00 EDT → 01:00 EST): each wall time
            // once, at its first occurrence.
            (
                "America/New_York",
                "*/20 * * * *",
                "2026-11-01T00:50:00-04:00",
                &[
                    "2026-11-01T01:00:00-04:00",
                    "2026-11-01T01:20:00-04:00",
                    "2026-11-01T01:40:00-04:00",
                    "2026-11-01T02:00:00-05:00",
                    "2026-11-01T02:20:00-05:00",
                ],
            ),
            // Starting inside the repeated hour skips what already ran.
            (
                "America/New_York",
                "*/20 * * * *",
                "2026-11-01T01:10:00-05:00",
                &["2026-11-01T02:00:00-05:00", "2026-11-01T02:20:00-05:00"],
            ),
            (
                "America/New_York",
                "0 * * * *",
                "2026-11-01T00:30:00-04:00",
                &[
                    "2026-11-01T01:00:00-04:00",
                    "2026-11-01T02:00:00-05:00",
                    "2026-11-01T03:00:00-05:00",
                ],
            ),
            (
                "America/New_York",
                "30 1 * * *",
                "2026-10-31T12:00:00-04:00",
                &["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
            ),
            // Berlin (2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 → 02:00).
            (
                "Europe/Berlin",
                "30 2 * * *",
                "2026-03-27T12:00:00+01:00",
                &[
                    "2026-03-28T02:30:00+01:00",
                    "2026-03-29T03:30:00+02:00",
                    "2026-03-30T02:30:00+02:00",
                ],
            ),
            (
                "Europe/Berlin",
                "0,30 * * * *",
                "2026-03-29T01:15:00+01:00",
                &[
                    "2026-03-29T01:30:00+01:00",
                    "2026-03-29T03:00:00+02:00",
                    "2026-03-29T03:30:00+02:00",
                ],
            ),
            (
                "Europe/Berlin",
                "30 2 * * *",
                "2026-10-24T12:00:00+02:00",
                &["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
            ),
            (
                "Europe/Berlin",
                "*/30 * * * *",
                "2026-10-25T01:45:00+02:00",
                &[
                    "2026-10-25T02:00:00+02:00",
                    "2026-10-25T02:30:00+02:00",
                    "2026-10-25T03:00:00+01:00",
                ],
            ),
            // Sydney (2026-04-05 03:00 AEDT → 02:00 AEST; 2026-10-04 02:00 → 03:00).
            (
                "Australia/Sydney",
                "0 * * * *",
                "2026-04-05T01:30:00+11:00",
                &[
                    "2026-04-05T02:00:00+11:00",
                    "2026-04-05T03:00:00+10:00",
                    "2026-04-05T04:00:00+10:00",
                ],
            ),
            (
                "Australia/Sydney",
                "15 2 * * *",
                "2026-10-03T12:00:00+10:00",
                &["2026-10-04T03:15:00+11:00", "2026-10-05T02:15:00+11:00"],
            ),
            // Lord Howe's 30-minute jump: a skipped wall time moved forward
            // (02:15 → 02:45) comes after a real one (02:40).
            (
                "Australia/Lord_Howe",
                "15,40 2 * * *",
                "2026-10-04T01:00:00+10:30",
                &[
                    "2026-10-04T02:40:00+11:00",
                    "2026-10-04T02:45:00+11:00",
                    "2026-10-05T02:15:00+11:00",
                ],
            ),
            // Samoa skipped 2011-12-30 entirely: that day's launch runs at
            // the same wall time the next day, once.
            (
                "Pacific/Apia",
                "0 9 * * *",
                "2011-12-29T12:00:00-10:00",
                &["2011-12-31T09:00:00+14:00", "2012-01-01T09:00:00+14:00"],
            ),
        ];
        for (zone, spec, from, want) in cases {
            assert_eq!(
                launches(spec, zone, from, want.len()),
                *want,
                "{zone} {spec:?} from {from}"
            );
        }
    }
}
