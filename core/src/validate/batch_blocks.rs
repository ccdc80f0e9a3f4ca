//! Rules for the job blocks only batch jobs may carry: the periodic
//! launch configuration and the parameterized (dispatch) configuration.

use crate::gofmt::{quote, string_list};
use crate::model::{ParameterizedJobConfig, PeriodicConfig};
use crate::periodic::{parse_cron, parse_time_zone};
use crate::MultiError;

/// `PeriodicConfig.Validate` (nothing to check when disabled).
pub(super) fn periodic_errors(p: &PeriodicConfig) -> MultiError {
    let mut errors = MultiError::new();
    if !p.enabled {
        return errors;
    }
    if p.spec.is_empty() {
        errors.push("Must specify a spec");
    }
    if !p.time_zone.is_empty() {
        if let Err(e) = parse_time_zone(&p.time_zone) {
            errors.push(format!("Invalid time zone {}: {e}", quote(&p.time_zone)));
        }
    }
    match p.spec_type.as_str() {
        "cron" => {
            if let Err(e) = parse_cron(&p.spec) {
                errors.push(format!("Invalid cron spec {}: {e}", quote(&p.spec)));
            }
        }
        // Nomad's test-only spec type: a list of launch times.
        "_internal_test" => {}
        other => errors.push(format!(
            "Unknown periodic specification type {}",
            quote(other)
        )),
    }
    errors
}

/// `ParameterizedJobConfig.Validate`.
pub(super) fn parameterized_errors(p: &ParameterizedJobConfig) -> MultiError {
    let mut errors = MultiError::new();
    if !matches!(p.payload.as_str(), "optional" | "required" | "forbidden") {
        errors.push(format!(
            "Unknown payload requirement: {}",
            quote(&p.payload)
        ));
    }
    // v0.6 listed the overlap in map order; sorted here.
    let mut both: Vec<String> = p
        .meta_required
        .iter()
        .filter(|k| p.meta_optional.contains(k))
        .cloned()
        .collect();
    both.sort();
    both.dedup();
    if !both.is_empty() {
        errors.push(format!(
            "Required and optional meta keys should be disjoint. Following keys exist in both: {}",
            string_list(&both)
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn periodic(spec: &str, spec_type: &str, tz: &str) -> PeriodicConfig {
        PeriodicConfig {
            enabled: true,
            spec: spec.into(),
            spec_type: spec_type.into(),
            prohibit_overlap: false,
            time_zone: tz.into(),
        }
    }

    #[test]
    fn periodic_rules() {
        let cases: Vec<(PeriodicConfig, Vec<&str>)> = vec![
            (periodic("*/15 * * * *", "cron", "UTC"), vec![]),
            (periodic("0 0 1 1 *", "cron", "America/New_York"), vec![]),
            (periodic("0 0 1 1 *", "cron", ""), vec![]),
            (
                PeriodicConfig {
                    enabled: false,
                    ..periodic("", "bogus", "Mars/Olympus")
                },
                vec![],
            ),
            (
                periodic("", "cron", "UTC"),
                vec![
                    "Must specify a spec",
                    "Invalid cron spec \"\": missing field(s)",
                ],
            ),
            (
                periodic("not a cron", "cron", "UTC"),
                vec!["Invalid cron spec \"not a cron\": missing field(s)"],
            ),
            (
                periodic("* * * * *", "cron", "Mars/Olympus"),
                vec!["Invalid time zone \"Mars/Olympus\": unknown time zone Mars/Olympus"],
            ),
            (periodic("1,2,3", "_internal_test", "UTC"), vec![]),
            (
                periodic("* * * * *", "interval", "UTC"),
                vec!["Unknown periodic specification type \"interval\""],
            ),
            (
                periodic("", "interval", "Nowhere"),
                vec![
                    "Must specify a spec",
                    "Invalid time zone \"Nowhere\": unknown time zone Nowhere",
                    "Unknown periodic specification type \"interval\"",
                ],
            ),
        ];
        for (config, want) in cases {
            assert_eq!(periodic_errors(&config).errors, want, "{config:?}");
        }
    }

    #[test]
    fn parameterized_rules() {
        let config = |payload: &str, required: &[&str], optional: &[&str]| ParameterizedJobConfig {
            payload: payload.into(),
            meta_required: required.iter().map(|s| s.to_string()).collect(),
            meta_optional: optional.iter().map(|s| s.to_string()).collect(),
        };
        let cases: Vec<(ParameterizedJobConfig, Vec<&str>)> = vec![
            (config("optional", &["a"], &["b"]), vec![]),
            (config("required", &[], &[]), vec![]),
            (config("forbidden", &[], &[]), vec![]),
            (
                config("sometimes", &[], &[]),
                vec!["Unknown payload requirement: \"sometimes\""],
            ),
            (
                config("optional", &["z", "a", "b"], &["b", "z"]),
                vec!["Required and optional meta keys should be disjoint. Following keys exist in both: [b z]"],
            ),
        ];
        for (c, want) in cases {
            assert_eq!(parameterized_errors(&c).errors, want, "{c:?}");
        }
    }
}
