//! Wall-clock stamps in the forms Nomad's client reports them: Unix
//! nanoseconds for task events, RFC 3339 with nanoseconds for task states.

use std::time::{SystemTime, UNIX_EPOCH};

use caravan_core::model::alloc::GO_ZERO_TIME;

/// Now, in Unix nanoseconds (a clock before 1970 reads as 0).
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Go's `time.Time` JSON rendering of a UTC instant (RFC 3339 with the
/// fraction's trailing zeros trimmed); 0 renders as Go's zero time.
pub(crate) fn rfc3339_nano(ns: i64) -> String {
    if ns <= 0 {
        return GO_ZERO_TIME.to_string();
    }
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day)
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_go() {
        // 2026-11-27T03:26:15.088870841Z from the recordings.
        assert_eq!(
            rfc3339_nano(1_795_749_975_088_870_841),
            "2026-11-27T03:26:15.088870841Z"
        );
        assert_eq!(
            rfc3339_nano(1_795_749_981_772_431_310),
            "2026-11-27T03:26:21.77243131Z"
        );
        assert_eq!(
            rfc3339_nano(951_782_400_000_000_000),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(rfc3339_nano(0), "0001-01-01T00:00:00Z");
    }
}
