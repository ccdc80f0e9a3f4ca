//! Time zones of periodic jobs: IANA names compiled into the binary (no system
//! tz data, so wasm agrees), wall-clock ↔ instant, and Go's `time.Time` JSON.
//!
//! A wall time that a DST jump skips is read with the offset in force before
//! the jump, i.e. moved forward by the jump (02:30 on a spring-forward night
//! in New York is 03:30 EDT); a wall time that occurs twice is its first
//! occurrence. Go's `time.Date` makes neither choice consistently: west of
//! UTC it moves a skipped time *backward* (02:30 → 01:30 EST), which is what
//! let v0.6.3's cron search step back in time and relaunch a job in a loop.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{GapInfo, Tz};

/// Go's zero `time.Time` as JSON: "no launch".
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Looks up a zone the way Go's `time.LoadLocation` names it; the error is
/// Go's (`unknown time zone X`). `""` and `"UTC"` are UTC. `"Local"` (Go: the
/// server's own zone) is UTC too: the core has no host zone, and a host that
/// wants its own must pass the IANA name.
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    match name {
        "" | "UTC" | "Local" => Ok(chrono_tz::UTC),
        _ => name
            .parse::<Tz>()
            .map_err(|_| format!("unknown time zone {name}")),
    }
}

/// The zone's offset from UTC in seconds at `unix` seconds.
pub(crate) fn offset_at(tz: Tz, unix: i64) -> i64 {
    DateTime::from_timestamp(unix, 0)
        .map(|t| {
            i64::from(
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            )
        })
        .unwrap_or(0)
}

/// The wall-clock time at `unix` seconds.
pub(crate) fn wall_at(tz: Tz, unix: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(unix.checked_add(offset_at(tz, unix))?, 0).map(|t| t.naive_utc())
}

/// The instant (Unix seconds) of a wall-clock time: its first occurrence
/// when it occurs twice, moved forward by the jump when it is skipped.
pub(crate) fn resolve(tz: Tz, wall: NaiveDateTime) -> i64 {
    let as_utc = wall.and_utc().timestamp();
    match tz.offset_from_local_datetime(&wall) {
        LocalResult::Single(o) => as_utc - i64::from(o.fix().local_minus_utc()),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.fix().local_minus_utc(), b.fix().local_minus_utc());
            as_utc - i64::from(a.max(b))
        }
        LocalResult::None => {
            let before = GapInfo::new(&wall, &tz)
                .and_then(|gap| gap.begin)
                .map_or(0, |(_, o)| o.fix().local_minus_utc());
            as_utc - i64::from(before)
        }
    }
}

/// Renders an instant (Unix ns) in `tz` as Go's `time.Time` JSON does
/// (RFC 3339 with nanoseconds trimmed, the zone's offset, `Z` for offset 0).
pub fn format_go_time(unix_ns: i64, tz: Tz) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let offset = offset_at(tz, secs);
    let Some(wall) = wall_at(tz, secs) else {
        return GO_ZERO_TIME.to_string();
    };
    let mut out = wall.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    if offset == 0 {
        out.push('Z');
    } else {
        // Go prints whole minutes, truncating toward zero.
        let minutes = offset / 60;
        let sign = if minutes < 0 { '-' } else { '+' };
        let minutes = minutes.abs();
        out.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn tz(name: &str) -> Tz {
        parse_time_zone(name).unwrap()
    }

    #[test]
    fn names_resolve_like_go() {
        assert_eq!(parse_time_zone(""), Ok(chrono_tz::UTC));
        assert_eq!(parse_time_zone("UTC"), Ok(chrono_tz::UTC));
        assert_eq!(parse_time_zone("Local"), Ok(chrono_tz::UTC));
        assert_eq!(
            parse_time_zone("America/New_York"),
            Ok(chrono_tz::America::New_York)
        );
        assert_eq!(parse_time_zone("Etc/GMT+5"), Ok(chrono_tz::Etc::GMTPlus5));
        assert_eq!(parse_time_zone("US/Pacific"), Ok(chrono_tz::US::Pacific));
        for bad in [
            "Mars/Olympus",
            "america/new_york",
            "utc",
            "local",
            " UTC",
            "EST ",
        ] {
            assert_eq!(
                parse_time_zone(bad).unwrap_err(),
                format!("unknown time zone {bad}")
            );
        }
    }

    #[test]
    fn skipped_times_move_forward_and_repeated_times_take_the_first() {
        let cases = [
            // New York, spring forward 2026-03-08 02:00 EST → 03:00 EDT.
            (
                "America/New_York",
                "2026-03-08 02:30:00",
                "2026-03-08T03:30:00-04:00",
            ),
            (
                "America/New_York",
                "2026-03-08 02:00:00",
                "2026-03-08T03:00:00-04:00",
            ),
            (
                "America/New_York",
                "2026-03-08 01:59:59",
                "2026-03-08T01:59:59-05:00",
            ),
            (
                "America/New_York",
                "2026-03-08 03:00:00",
                "2026-03-08T03:00:00-04:00",
            ),
            // Fall back 2026-11-01 02:00 EDT → 01:00 EST: 01:30 twice.
            (
                "America/New_York",
                "2026-11-01 01:30:00",
                "2026-11-01T01:30:00-04:00",
            ),
            (
                "America/New_York",
                "2026-11-01 02:00:00",
                "2026-11-01T02:00:00-05:00",
            ),
            // Berlin, 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 → 02:00.
            (
                "Europe/Berlin",
                "2026-03-29 02:30:00",
                "2026-03-29T03:30:00+02:00",
            ),
            (
                "Europe/Berlin",
                "2026-10-25 02:30:00",
                "2026-10-25T02:30:00+02:00",
            ),
            // Sydney, 2026-10-04 02:00 AEST → 03:00 AEDT; 2026-04-05 03:00 → 02:00.
            (
                "Australia/Sydney",
                "2026-10-04 02:15:00",
                "2026-10-04T03:15:00+11:00",
            ),
            (
                "Australia/Sydney",
                "2026-04-05 02:15:00",
                "2026-04-05T02:15:00+11:00",
            ),
            // Lord Howe jumps by 30 minutes.
            (
                "Australia/Lord_Howe",
                "2026-10-04 02:15:00",
                "2026-10-04T02:45:00+11:00",
            ),
            // Samoa skipped the whole of 2011-12-30.
            (
                "Pacific/Apia",
                "2011-12-30 09:00:00",
                "2011-12-31T09:00:00+14:00",
            ),
        ];
        for (zone, w, want) in cases {
            let z = tz(zone);
            let got = format_go_time(resolve(z, wall(w)) * 1_000_000_000, z);
            assert_eq!(got, want, "{zone} {w}");
        }
    }

    #[test]
    fn go_time_json() {
        let t = 1_798_761_600 * 1_000_000_000; // 2027-01-01T00:00:00Z
        assert_eq!(format_go_time(t, chrono_tz::UTC), "2027-01-01T00:00:00Z");
        assert_eq!(
            format_go_time(t, tz("America/New_York")),
            "2026-12-31T19:00:00-05:00"
        );
        assert_eq!(
            format_go_time(t, tz("Asia/Kolkata")),
            "2027-01-01T05:30:00+05:30"
        );
        // Offset 0 is `Z` whatever the zone's name.
        assert_eq!(
            format_go_time(t, tz("Europe/London")),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            format_go_time(t + 1_500_000, chrono_tz::UTC),
            "2027-01-01T00:00:00.0015Z"
        );
        assert_eq!(
            format_go_time(-1, chrono_tz::UTC),
            "1969-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn zone_rules_extend_past_2037() {
        let z = tz("America/New_York");
        let summer = wall("2090-07-01 12:00:00").and_utc().timestamp();
        assert_eq!(offset_at(z, summer), -4 * 3600);
        let winter = wall("2090-01-01 12:00:00").and_utc().timestamp();
        assert_eq!(offset_at(z, winter), -5 * 3600);
    }
}
