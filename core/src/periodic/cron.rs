//! Nomad's cron dialect: gorhill/cronexpr at the revision Nomad v0.6.3 vendors
//! (a557574) — fields, operators, names, macros, error texts — and wall-clock matching.
//!
//! The parser keeps that revision's quirks because they decide what a job
//! does: no leading zeros (`05` is a syntax error), a day-of-week range that
//! ends in `7` is empty (`7` is read as Sunday = 0, so `5-7` is `5-0`), a
//! `*`/`?` in a minute-like list makes the whole field "every", and a range
//! written backwards (`30-10`) allows nothing. Two things differ on purpose,
//! because v0.6.3 has no answer to copy: a step that cronexpr reads as 0
//! (`*/0`, `*/60`, `*/05`) hangs v0.6.3's parser forever, here it is the later
//! cronexpr's error `invalid interval <entry>`; and a field left empty by a
//! backwards range makes v0.6.3 panic when it computes a launch, here the
//! spec simply never matches.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// A parsed cron expression: the values each field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec {
    seconds: Vec<u32>,
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: DayRule,
    months: Vec<u32>,
    years: Vec<u32>,
}

/// Day-of-month and day-of-week rules; a day matches when either restricted
/// field matches it (both unrestricted: every day).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct DayRule {
    dom_restricted: bool,
    /// `L`
    last_day: bool,
    /// `LW`
    last_workday: bool,
    /// Bits 1–31.
    days: u32,
    /// `nW`, bits 1–31.
    workdays: u32,
    dow_restricted: bool,
    /// Bits 0 (Sunday) – 6.
    weekdays: u8,
    /// `n#k` stored as cronexpr does: bit `(k-1)*7 + n`.
    nth_weekdays: u64,
    /// `nL`, bits 0–6.
    last_weekdays: u8,
}

/// The textual macros, replaced wherever they occur (case-sensitive), in
/// cronexpr's order.
const MACROS: [(&str, &str); 6] = [
    ("@yearly", "0 0 0 1 1 * *"),
    ("@annually", "0 0 0 1 1 * *"),
    ("@monthly", "0 0 0 1 * * *"),
    ("@weekly", "0 0 0 * * 0 *"),
    ("@daily", "0 0 0 * * * *"),
    ("@hourly", "0 0 * * * * *"),
];

const FIRST_YEAR: u32 = 1970;
const LAST_YEAR: u32 = 2099;

/// How one field reads its values.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    value: fn(&str) -> Option<u32>,
}

const SECOND: Field = Field {
    name: "second",
    min: 0,
    max: 59,
    value: |t| number(t, 0, 59),
};
const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    value: |t| number(t, 0, 59),
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    value: |t| number(t, 0, 23),
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    value: |t| number(t, 1, 31),
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    value: month_value,
};
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 6,
    value: weekday_value,
};
const YEAR: Field = Field {
    name: "year",
    min: FIRST_YEAR,
    max: LAST_YEAR,
    value: |t| number(t, FIRST_YEAR, LAST_YEAR),
};

/// A decimal without leading zeros in `min..=max` (cronexpr's value
/// patterns, e.g. `[0-9]|[1-5][0-9]`).
fn number(token: &str, min: u32, max: u32) -> Option<u32> {
    let digits_only = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (token.len() > 1 && token.starts_with('0')) || token.len() > 4 {
        return None;
    }
    token.parse().ok().filter(|v| (min..=max).contains(v))
}

fn month_value(token: &str) -> Option<u32> {
    const NAMES: [(&str, &str); 12] = [
        ("jan", "january"),
        ("feb", "february"),
        ("mar", "march"),
        ("apr", "april"),
        ("may", "may"),
        ("jun", "june"),
        ("jul", "july"),
        ("aug", "august"),
        ("sep", "september"),
        ("oct", "october"),
        ("nov", "november"),
        ("dec", "december"),
    ];
    number(token, 1, 12).or_else(|| {
        NAMES
            .iter()
            .position(|(short, long)| token == *short || token == *long)
            .map(|i| i as u32 + 1)
    })
}

/// `0`–`7` or a day name; `7` is Sunday, i.e. 0.
fn weekday_value(token: &str) -> Option<u32> {
    const NAMES: [(&str, &str); 7] = [
        ("sun", "sunday"),
        ("mon", "monday"),
        ("tue", "tuesday"),
        ("wed", "wednesday"),
        ("thu", "thursday"),
        ("fri", "friday"),
        ("sat", "saturday"),
    ];
    number(token, 0, 7).map(|v| v % 7).or_else(|| {
        NAMES
            .iter()
            .position(|(short, long)| token == *short || token == *long)
            .map(|i| i as u32)
    })
}

/// cronexpr reads a step through its table of number tokens (`0`–`59`,
/// `1970`–`2099`, no leading zeros); anything else reads as 0.
fn step_value(digits: &str) -> u32 {
    number(digits, 0, 59)
        .or_else(|| number(digits, FIRST_YEAR, LAST_YEAR))
        .unwrap_or(0)
}

/// One comma-separated entry of a field, as cronexpr classifies it.
enum Directive {
    /// `*` or `?`
    All,
    One(u32),
    /// first, last, step
    Span(u32, u32, u32),
    /// Not a generic form; day fields try their special forms.
    Other,
}

fn directive(entry: &str, field: &Field) -> Directive {
    if entry == "*" || entry == "?" {
        return Directive::All;
    }
    if let Some(v) = (field.value)(entry) {
        return Directive::One(v);
    }
    if let Some((a, b)) = entry.split_once('-') {
        if let (Some(a), Some(b)) = ((field.value)(a), (field.value)(b)) {
            return Directive::Span(a, b, 1);
        }
    }
    if let Some((base, step)) = entry.split_once('/') {
        if !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit()) {
            let step = step_value(step);
            if base == "*" {
                return Directive::Span(field.min, field.max, step);
            }
            if let Some(v) = (field.value)(base) {
                return Directive::Span(v, field.max, step);
            }
            if let Some((a, b)) = base.split_once('-') {
                if let (Some(a), Some(b)) = ((field.value)(a), (field.value)(b)) {
                    return Directive::Span(a, b, step);
                }
            }
        }
    }
    Directive::Other
}

/// The entries of a field: (original text, lower-cased text). Empty entries
/// (`1,,2`) are skipped, as cronexpr's `[^,]+` does.
fn entries<'a>(s: &'a str, field: &Field) -> Result<Vec<(&'a str, String)>, String> {
    let list: Vec<(&str, String)> = s
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|e| (e, e.to_lowercase()))
        .collect();
    if list.is_empty() {
        return Err(format!("{} field: missing directive", field.name));
    }
    Ok(list)
}

/// Every value `first, first+step, … <= last` (nothing when first > last).
fn span(first: u32, last: u32, step: u32, entry: &str) -> Result<Vec<u32>, String> {
    if step == 0 {
        return Err(format!("invalid interval {entry}"));
    }
    Ok((first..=last).step_by(step as usize).collect())
}

/// Second, minute, hour, month and year: the first `*` makes the field
/// "every value" and ends the scan (later entries are not even checked); the
/// first unknown entry is a syntax error.
fn generic_field(s: &str, field: &Field) -> Result<Vec<u32>, String> {
    let mut values = Vec::new();
    for (original, entry) in entries(s, field)? {
        match directive(&entry, field) {
            Directive::All => return Ok((field.min..=field.max).collect()),
            Directive::One(v) => values.push(v),
            Directive::Span(a, b, step) => values.extend(span(a, b, step, &entry)?),
            Directive::Other => {
                return Err(format!(
                    "syntax error in {} field: '{original}'",
                    field.name
                ))
            }
        }
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

fn bits32(values: &[u32]) -> u32 {
    values.iter().fold(0, |acc, v| acc | (1 << v))
}

impl DayRule {
    fn parse_day_of_month(&mut self, s: &str) -> Result<(), String> {
        let field = &DAY_OF_MONTH;
        self.dom_restricted = true;
        for (original, entry) in entries(s, field)? {
            match directive(&entry, field) {
                Directive::All => {
                    self.days |= bits32(&span(1, 31, 1, &entry)?);
                    self.dom_restricted = false;
                }
                Directive::One(v) => self.days |= 1 << v,
                Directive::Span(a, b, step) => self.days |= bits32(&span(a, b, step, &entry)?),
                Directive::Other => {
                    if entry == "l" {
                        self.last_day = true;
                    } else if entry == "lw" {
                        self.last_workday = true;
                    } else if let Some(v) = entry.strip_suffix('w').and_then(|d| (field.value)(d)) {
                        self.workdays |= 1 << v;
                    } else {
                        return Err(format!("syntax error in day-of-month field: '{original}'"));
                    }
                }
            }
        }
        Ok(())
    }

    fn parse_day_of_week(&mut self, s: &str) -> Result<(), String> {
        let field = &DAY_OF_WEEK;
        self.dow_restricted = true;
        for (original, entry) in entries(s, field)? {
            match directive(&entry, field) {
                Directive::All => {
                    self.weekdays |= bits32(&span(0, 6, 1, &entry)?) as u8;
                    self.dow_restricted = false;
                }
                Directive::One(v) => self.weekdays |= 1 << v,
                Directive::Span(a, b, step) => {
                    self.weekdays |= bits32(&span(a, b, step, &entry)?) as u8
                }
                Directive::Other => {
                    if let Some(v) = entry.strip_suffix('l').and_then(|d| (field.value)(d)) {
                        self.last_weekdays |= 1 << v;
                    } else if let Some((v, k)) = nth_weekday(&entry) {
                        self.nth_weekdays |= 1 << ((k - 1) * 7 + v);
                    } else {
                        return Err(format!("syntax error in day-of-week field: '{original}'"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The matching days of a month as bits 1–31 (cronexpr's
    /// `calculateActualDaysOfMonth`).
    fn days_of_month(&self, year: i32, month: u32) -> u32 {
        let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
            return 0;
        };
        let last = days_in_month(year, month);
        let all_days = ((1u64 << (last + 1)) - 2) as u32;
        if !self.dom_restricted && !self.dow_restricted {
            return all_days;
        }
        let weekday_of = |day: u32| (first.weekday().num_days_from_sunday() + day - 1) % 7;
        // Nearest weekday to `day` without leaving the month.
        let workday = |day: u32| match weekday_of(day) {
            6 if day > 1 => day - 1,
            6 => day + 2,
            0 if day < last => day + 1,
            0 => day - 2,
            _ => day,
        };
        let mut set = 0u32;
        if self.dom_restricted {
            if self.last_day {
                set |= 1 << last;
            }
            if self.last_workday {
                set |= 1 << workday(last);
            }
            set |= self.days & all_days;
            for day in (1..=last).filter(|d| self.workdays & (1 << d) != 0) {
                set |= 1 << workday(day);
            }
        }
        if self.dow_restricted {
            // Days from the 1st to the first Sunday, as cronexpr counts.
            let offset = 7 - first.weekday().num_days_from_sunday();
            for v in (0..7).filter(|v| self.weekdays & (1 << v) != 0) {
                let start = (offset + v) % 7 + 1;
                for day in (start..=last).step_by(7) {
                    set |= 1 << day;
                }
            }
            for bit in (0..35u32).filter(|b| self.nth_weekdays & (1 << b) != 0) {
                let day = 1 + 7 * (bit / 7) + (offset + bit) % 7;
                if day <= last {
                    set |= 1 << day;
                }
            }
            let origin = last - 6;
            let offset = 7 - weekday_of(origin);
            for v in (0..7).filter(|v| self.last_weekdays & (1 << v) != 0) {
                set |= 1 << (origin + (offset + v) % 7);
            }
        }
        set
    }
}

/// `n#k` with k in 1–5.
fn nth_weekday(entry: &str) -> Option<(u32, u32)> {
    let (v, k) = entry.split_once('#')?;
    let v = weekday_value(v)?;
    let k = match k.as_bytes() {
        [d @ b'1'..=b'5'] => u32::from(d - b'0'),
        _ => return None,
    };
    Some((v, k))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if NaiveDate::from_ymd_opt(year, 2, 29).is_some() => 29,
        2 => 28,
        _ => 31,
    }
}

/// Go's regexp `\s`: ASCII space, tab, newline, form feed, carriage return
/// (not vertical tab, not Unicode spaces).
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

fn expand_macros(spec: &str) -> String {
    let mut out = String::with_capacity(spec.len());
    let mut rest = spec;
    while let Some(c) = rest.chars().next() {
        if let Some((name, text)) = MACROS.iter().find(|(name, _)| rest.starts_with(name)) {
            out.push_str(text);
            rest = &rest[name.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Parses a spec in Nomad's cron dialect; the error is the parser's detail
/// (e.g. `missing field(s)`), which validation wraps as
/// `Invalid cron spec "<spec>": <detail>`.
pub fn parse_cron(spec: &str) -> Result<CronSpec, String> {
    let expanded = expand_macros(spec);
    let fields: Vec<&str> = expanded
        .split(is_go_space)
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() < 5 {
        return Err("missing field(s)".into());
    }
    // Fields beyond the seventh are ignored; six fields end with a year.
    let fields = &fields[..fields.len().min(7)];
    let (seconds, fields) = match fields {
        [s, rest @ ..] if rest.len() == 6 => (generic_field(s, &SECOND)?, rest),
        _ => (vec![0], fields),
    };
    let minutes = generic_field(fields[0], &MINUTE)?;
    let hours = generic_field(fields[1], &HOUR)?;
    let mut days = DayRule::default();
    days.parse_day_of_month(fields[2])?;
    let months = generic_field(fields[3], &MONTH)?;
    days.parse_day_of_week(fields[4])?;
    let years = match fields.get(5) {
        Some(f) => generic_field(f, &YEAR)?,
        None => (FIRST_YEAR..=LAST_YEAR).collect(),
    };
    Ok(CronSpec {
        seconds,
        minutes,
        hours,
        days,
        months,
        years,
    })
}

/// The first value in the sorted `list` that is `>= v`.
fn at_least(list: &[u32], v: u32) -> Option<u32> {
    list.get(list.partition_point(|x| *x < v)).copied()
}

impl CronSpec {
    /// Whether a wall-clock time matches every field (the tests' reference
    /// for the search).
    #[cfg(test)]
    pub(crate) fn matches(&self, wall: NaiveDateTime) -> bool {
        let (Ok(year), month) = (u32::try_from(wall.year()), wall.month()) else {
            return false;
        };
        self.years.binary_search(&year).is_ok()
            && self.months.binary_search(&month).is_ok()
            && self.days.days_of_month(wall.year(), month) & (1 << wall.day()) != 0
            && self.hours.binary_search(&wall.hour()).is_ok()
            && self.minutes.binary_search(&wall.minute()).is_ok()
            && self.seconds.binary_search(&wall.second()).is_ok()
    }

    /// The earliest matching wall-clock time at or after `from` (whole
    /// seconds; a fraction of `from` is ignored), or `None` if there is none
    /// up to 2099.
    pub(crate) fn next_wall(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let lists = [
            &self.seconds,
            &self.minutes,
            &self.hours,
            &self.months,
            &self.years,
        ];
        if lists.iter().any(|l| l.is_empty()) {
            return None;
        }
        let mut year = u32::try_from(from.year()).unwrap_or(0);
        let (mut month, mut day) = (from.month(), from.day());
        let (mut hour, mut minute, mut second) = (from.hour(), from.minute(), from.second());
        // Each pass either returns or moves strictly forward, resetting the
        // smaller fields, until the year list runs out.
        loop {
            let y = at_least(&self.years, year)?;
            if y != year {
                (year, month, day, hour, minute, second) = (y, 1, 1, 0, 0, 0);
            }
            let Some(m) = at_least(&self.months, month) else {
                (year, month, day, hour, minute, second) = (year + 1, 1, 1, 0, 0, 0);
                continue;
            };
            if m != month {
                (month, day, hour, minute, second) = (m, 1, 0, 0, 0);
            }
            let days = self.days.days_of_month(year as i32, month) >> day.min(31) << day.min(31);
            if days == 0 || day > 31 {
                (month, day, hour, minute, second) = (month + 1, 1, 0, 0, 0);
                if month > 12 {
                    (year, month) = (year + 1, 1);
                }
                continue;
            }
            let d = days.trailing_zeros();
            if d != day {
                (day, hour, minute, second) = (d, 0, 0, 0);
            }
            let Some(h) = at_least(&self.hours, hour) else {
                (day, hour, minute, second) = (day + 1, 0, 0, 0);
                continue;
            };
            if h != hour {
                (hour, minute, second) = (h, 0, 0);
            }
            let Some(mi) = at_least(&self.minutes, minute) else {
                (hour, minute, second) = (hour + 1, 0, 0);
                continue;
            };
            if mi != minute {
                (minute, second) = (mi, 0);
            }
            let Some(s) = at_least(&self.seconds, second) else {
                (minute, second) = (minute + 1, 0);
                continue;
            };
            return NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_opt(hour, minute, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    /// The next `n` matches strictly after `from`, in UTC wall time.
    fn next_n(spec: &str, from: &str, n: usize) -> Vec<String> {
        let c = parse_cron(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let mut t = wall(from);
        let mut out = Vec::new();
        for _ in 0..n {
            match c.next_wall(t + chrono::Duration::seconds(1)) {
                Some(w) => {
                    out.push(w.format("%a %Y-%m-%d %H:%M:%S").to_string());
                    t = w;
                }
                None => break,
            }
        }
        out
    }

    #[test]
    fn error_texts() {
        let cases: &[(&str, &str)] = &[
            ("", "missing field(s)"),
            ("not a cron", "missing field(s)"),
            ("* * * *", "missing field(s)"),
            ("@midnight", "missing field(s)"),
            ("@reboot", "missing field(s)"),
            ("@every 5m", "missing field(s)"),
            ("@DAILY", "missing field(s)"),
            ("60 * * * *", "syntax error in minute field: '60'"),
            ("05 * * * *", "syntax error in minute field: '05'"),
            ("* 24 * * *", "syntax error in hour field: '24'"),
            ("* * 0 * *", "syntax error in day-of-month field: '0'"),
            ("* * 32 * *", "syntax error in day-of-month field: '32'"),
            ("* * * 13 *", "syntax error in month field: '13'"),
            ("* * * Foo *", "syntax error in month field: 'Foo'"),
            ("* * * * 8", "syntax error in day-of-week field: '8'"),
            ("* * * * MONX", "syntax error in day-of-week field: 'MONX'"),
            ("* * * * L", "syntax error in day-of-week field: 'L'"),
            ("* * * * 1#6", "syntax error in day-of-week field: '1#6'"),
            ("* * 0W * *", "syntax error in day-of-month field: '0W'"),
            ("* * 1L * *", "syntax error in day-of-month field: '1L'"),
            ("* * * * * 1969", "syntax error in year field: '1969'"),
            ("* * * * * 2100", "syntax error in year field: '2100'"),
            ("60 * * * * * *", "syntax error in second field: '60'"),
            ("1,x,2 * * * *", "syntax error in minute field: 'x'"),
            ("a-5 * * * *", "syntax error in minute field: 'a-5'"),
            ("*/a * * * *", "syntax error in minute field: '*/a'"),
            ("*/ * * * *", "syntax error in minute field: '*/'"),
            ("?/5 * * * *", "syntax error in minute field: '?/5'"),
            (", * * * *", "minute field: missing directive"),
            ("* ,, * * *", "hour field: missing directive"),
            ("* * , * *", "day-of-month field: missing directive"),
            ("* * * * ,", "day-of-week field: missing directive"),
            // The first failing field, in cronexpr's order (dom before month).
            ("x y z w v", "syntax error in minute field: 'x'"),
            ("* * * x L", "syntax error in month field: 'x'"),
            ("* * x * L", "syntax error in day-of-month field: 'x'"),
            // v0.6.3 hangs on these; Caravan reports the later cronexpr text.
            ("*/0 * * * *", "invalid interval */0"),
            ("*/60 * * * *", "invalid interval */60"),
            ("*/05 * * * *", "invalid interval */05"),
            ("*/90 * * * *", "invalid interval */90"),
            ("* * */0 * *", "invalid interval */0"),
            ("* * * * MON-FRI/0", "invalid interval mon-fri/0"),
            ("* * * * * */0", "invalid interval */0"),
        ];
        for (spec, want) in cases {
            assert_eq!(parse_cron(spec).unwrap_err(), *want, "spec {spec:?}");
        }
    }

    #[test]
    fn accepted_forms() {
        for spec in [
            "* * * * *",
            "? ? ? ? ?",
            "0 0 1 1 *",
            "*/15 * * * * *",
            "0 0 0 * * * *",
            "0 0 0 * * * * extra fields ignored",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@hourly",
            "@daily ignored",
            "0 0 L * *",
            "0 0 LW * *",
            "0 0 15W * *",
            "0 0 lw * *",
            "0 0 * * 5L",
            "0 0 * * FRIL",
            "0 0 * * 1#1",
            "0 0 * * mon#5",
            "0 0 * JAN-mar,Sep *",
            "0 0 * january *",
            "0 0 * * Sunday,SATURDAY",
            "0 0 * * 0-7",
            "0 0 * * * 2099",
            "0 0 * * * 1970-2099/5",
            "30/10 * * * *",
            "0 */59 * * *",
            "*/1970 * * * *",
            "*,bogus * * * *",
            "1,,2 * * * *",
            "0\t0\n1\x0c1\r*",
        ] {
            assert!(
                parse_cron(spec).is_ok(),
                "spec {spec:?}: {:?}",
                parse_cron(spec)
            );
        }
        // A vertical tab is not a separator for Go's regexp.
        assert_eq!(
            parse_cron("0\x0b0 1 1 * *").unwrap_err(),
            "syntax error in minute field: '0\x0b0'"
        );
    }

    #[test]
    fn six_fields_end_with_a_year_and_seven_start_with_seconds() {
        // The docs' `*/15 * * * * *` is every 15 minutes (year `*`).
        assert_eq!(
            next_n("*/15 * * * * *", "2026-03-01 10:07:00", 3),
            [
                "Sun 2026-03-01 10:15:00",
                "Sun 2026-03-01 10:30:00",
                "Sun 2026-03-01 10:45:00"
            ]
        );
        assert_eq!(
            next_n("0 12 * * * 2027", "2026-03-01 10:07:00", 1),
            ["Fri 2027-01-01 12:00:00"]
        );
        assert_eq!(
            next_n("*/20 * * * * * *", "2026-03-01 10:07:00", 4),
            [
                "Sun 2026-03-01 10:07:20",
                "Sun 2026-03-01 10:07:40",
                "Sun 2026-03-01 10:08:00",
                "Sun 2026-03-01 10:08:20"
            ]
        );
        assert_eq!(
            next_n("0 0 0 1 1 * 2030 junk", "2026-03-01 10:07:00", 2),
            ["Tue 2030-01-01 00:00:00"]
        );
    }

    #[test]
    fn next_matches_by_rule() {
        let cases: &[(&str, &str, &[&str])] = &[
            // Every minute; 5 fields means second 0.
            (
                "* * * * *",
                "2026-01-31 23:58:30",
                &["Sat 2026-01-31 23:59:00", "Sun 2026-02-01 00:00:00"],
            ),
            // Ranges, lists, steps.
            (
                "10-12,40 8 * * *",
                "2026-05-01 08:11:00",
                &[
                    "Fri 2026-05-01 08:12:00",
                    "Fri 2026-05-01 08:40:00",
                    "Sat 2026-05-02 08:10:00",
                ],
            ),
            (
                "0 1-10/4 * * *",
                "2026-05-01 00:00:00",
                &[
                    "Fri 2026-05-01 01:00:00",
                    "Fri 2026-05-01 05:00:00",
                    "Fri 2026-05-01 09:00:00",
                    "Sat 2026-05-02 01:00:00",
                ],
            ),
            // `a/n` runs from a to the field's maximum.
            (
                "50/5 23 * * *",
                "2026-05-01 00:00:00",
                &["Fri 2026-05-01 23:50:00", "Fri 2026-05-01 23:55:00"],
            ),
            // A step larger than the field leaves only its first value.
            (
                "0 */30 * * *",
                "2026-05-01 00:00:00",
                &["Sat 2026-05-02 00:00:00", "Sun 2026-05-03 00:00:00"],
            ),
            // Month names, case-insensitive; day 31 skips short months.
            (
                "0 0 31 JAN-Apr *",
                "2026-01-31 00:00:00",
                &["Tue 2026-03-31 00:00:00", "Sun 2027-01-31 00:00:00"],
            ),
            // Feb 29 only in leap years.
            (
                "0 0 29 2 *",
                "2026-01-01 00:00:00",
                &["Tue 2028-02-29 00:00:00", "Sun 2032-02-29 00:00:00"],
            ),
            // Day-of-week names, 0 and 7 are Sunday.
            (
                "0 9 * * sun",
                "2026-05-01 00:00:00",
                &["Sun 2026-05-03 09:00:00", "Sun 2026-05-10 09:00:00"],
            ),
            (
                "0 9 * * 7",
                "2026-05-01 00:00:00",
                &["Sun 2026-05-03 09:00:00"],
            ),
            (
                "0 9 * * Mon-Wed",
                "2026-05-01 00:00:00",
                &[
                    "Mon 2026-05-04 09:00:00",
                    "Tue 2026-05-05 09:00:00",
                    "Wed 2026-05-06 09:00:00",
                    "Mon 2026-05-11 09:00:00",
                ],
            ),
            // v0.6.3 reads `0-7` as `0-0` (Sunday only) …
            (
                "0 9 * * 0-7",
                "2026-05-01 00:00:00",
                &["Sun 2026-05-03 09:00:00", "Sun 2026-05-10 09:00:00"],
            ),
            // … and `5-7` as `5-0`: no day at all, so no launch ever.
            ("0 9 * * 5-7", "2026-05-01 00:00:00", &[]),
            // Both day fields restricted: either matches.
            (
                "0 0 13 * FRI",
                "2026-02-01 00:00:00",
                &[
                    "Fri 2026-02-06 00:00:00",
                    "Fri 2026-02-13 00:00:00",
                    "Fri 2026-02-20 00:00:00",
                    "Fri 2026-02-27 00:00:00",
                    "Fri 2026-03-06 00:00:00",
                    "Fri 2026-03-13 00:00:00",
                ],
            ),
            // Day-of-month restricted, day-of-week `*`: only the day of month.
            (
                "0 0 13 * *",
                "2026-02-01 00:00:00",
                &["Fri 2026-02-13 00:00:00", "Fri 2026-03-13 00:00:00"],
            ),
            // `*/1` restricts the day of week (to every day): with a day of
            // month, every day matches.
            (
                "0 0 13 * */1",
                "2026-02-01 00:00:00",
                &["Mon 2026-02-02 00:00:00"],
            ),
            // `L`: last day of the month.
            (
                "0 0 L * *",
                "2026-01-15 00:00:00",
                &[
                    "Sat 2026-01-31 00:00:00",
                    "Sat 2026-02-28 00:00:00",
                    "Tue 2026-03-31 00:00:00",
                    "Thu 2026-04-30 00:00:00",
                ],
            ),
            // `LW`: last weekday (2026-01-31 is a Saturday, 2026-05-31 a Sunday).
            (
                "0 0 LW 1,5 *",
                "2026-01-01 00:00:00",
                &["Fri 2026-01-30 00:00:00", "Fri 2026-05-29 00:00:00"],
            ),
            // `nW`: nearest weekday, not crossing the month. 2026-08-01 is a
            // Saturday → Monday the 3rd; 2026-08-15 a Saturday → Friday the
            // 14th; 2026-03-01 a Sunday → Monday the 2nd.
            (
                "0 0 1W,15W 8 *",
                "2026-01-01 00:00:00",
                &["Mon 2026-08-03 00:00:00", "Fri 2026-08-14 00:00:00"],
            ),
            (
                "0 0 1W 3 *",
                "2026-01-01 00:00:00",
                &["Mon 2026-03-02 00:00:00"],
            ),
            // 2026-05-31 is a Sunday and the last day → Friday the 29th.
            (
                "0 0 31W 5 *",
                "2026-01-01 00:00:00",
                &["Fri 2026-05-29 00:00:00"],
            ),
            // `31W` is ignored in a 30-day month.
            (
                "0 0 31W 4,5 *",
                "2026-01-01 00:00:00",
                &["Fri 2026-05-29 00:00:00"],
            ),
            // `nL`: last weekday n of the month.
            (
                "0 0 * * 5L",
                "2026-01-01 00:00:00",
                &[
                    "Fri 2026-01-30 00:00:00",
                    "Fri 2026-02-27 00:00:00",
                    "Fri 2026-03-27 00:00:00",
                ],
            ),
            (
                "0 0 * * 0L",
                "2026-05-01 00:00:00",
                &["Sun 2026-05-31 00:00:00", "Sun 2026-06-28 00:00:00"],
            ),
            // `n#k`: k-th weekday n; the 5th only when it exists.
            (
                "0 0 * * 1#1,Mon#3",
                "2026-01-01 00:00:00",
                &[
                    "Mon 2026-01-05 00:00:00",
                    "Mon 2026-01-19 00:00:00",
                    "Mon 2026-02-02 00:00:00",
                    "Mon 2026-02-16 00:00:00",
                ],
            ),
            (
                "0 0 * * 5#5",
                "2026-01-01 00:00:00",
                &["Fri 2026-01-30 00:00:00", "Fri 2026-05-29 00:00:00"],
            ),
            (
                "0 0 * * 7#1",
                "2026-01-01 00:00:00",
                &["Sun 2026-01-04 00:00:00"],
            ),
            // Macros.
            (
                "@yearly",
                "2026-05-01 00:00:00",
                &["Fri 2027-01-01 00:00:00", "Sat 2028-01-01 00:00:00"],
            ),
            (
                "@monthly",
                "2026-05-01 00:00:00",
                &["Mon 2026-06-01 00:00:00"],
            ),
            (
                "@weekly",
                "2026-05-01 00:00:00",
                &["Sun 2026-05-03 00:00:00", "Sun 2026-05-10 00:00:00"],
            ),
            (
                "@daily",
                "2026-05-01 00:00:00",
                &["Sat 2026-05-02 00:00:00"],
            ),
            (
                "@hourly",
                "2026-05-01 00:00:00",
                &["Fri 2026-05-01 01:00:00", "Fri 2026-05-01 02:00:00"],
            ),
            // `*` anywhere in a minute list means every minute.
            (
                "5,* 0 * * *",
                "2026-05-01 00:00:00",
                &["Fri 2026-05-01 00:01:00"],
            ),
            // Years: only past ones → never; the last year is 2099.
            ("0 0 * * * 2020", "2026-05-01 00:00:00", &[]),
            (
                "0 0 31 12 * 2099",
                "2026-05-01 00:00:00",
                &["Thu 2099-12-31 00:00:00"],
            ),
            // A backwards range leaves the field empty: never.
            ("30-10 * * * *", "2026-05-01 00:00:00", &[]),
            // A day of month no month has.
            ("0 0 30 2 *", "2026-05-01 00:00:00", &[]),
        ];
        for (spec, from, want) in cases {
            // An empty expectation means "never": not even one match.
            let got = next_n(spec, from, want.len().max(1));
            assert_eq!(got, *want, "spec {spec:?} from {from}");
        }
    }

    #[test]
    fn matches_agrees_with_next_wall() {
        let c = parse_cron("0 0 LW,13 * 5L,1#2").unwrap();
        let mut t = wall("2026-01-01 00:00:00");
        for _ in 0..40 {
            let Some(w) = c.next_wall(t) else { break };
            assert!(c.matches(w));
            let mut day = t;
            // Every whole day in between does not match at midnight.
            while day < w {
                if day.time() == chrono::NaiveTime::MIN && day != w {
                    assert!(!c.matches(day), "{day}");
                }
                day += chrono::Duration::days(1);
            }
            t = w + chrono::Duration::seconds(1);
        }
    }
}
