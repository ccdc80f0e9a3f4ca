//! Rules for a task's Consul services and their checks: names, address
//! modes, check settings, duplicates and port labels that must exist.

use std::collections::HashSet;

use super::gotext::quote_ascii;
use crate::gofmt::{duration, quote};
use crate::model::{Service, ServiceCheck, Task, SECOND};
use crate::MultiError;

/// Nomad's service-name rule, RFC 1123 plus the `${...}` interpolation
/// characters: `^(?i:[a-z0-9]|[a-z0-9\$][a-zA-Z0-9\-\$\{\}\_\.]*[a-z0-9\}])$`.
/// Written out by hand because it runs for every service of every job;
/// `(?i)` makes the Kelvin sign and the long s count as letters, as in Go.
fn valid_service_name(name: &str) -> bool {
    let letter_or_digit = |c: char| c.is_ascii_alphanumeric() || c == '\u{212A}' || c == '\u{17F}';
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let Some(last) = chars.next_back() else {
        return letter_or_digit(first);
    };
    (letter_or_digit(first) || first == '$')
        && (letter_or_digit(last) || last == '}')
        && chars.all(|c| letter_or_digit(c) || matches!(c, '-' | '$' | '{' | '}' | '_' | '.'))
}

/// `validateServices`: per-service errors, duplicates, then port labels
/// that no network of the task defines (sorted by label; Go iterated a
/// map).
pub(super) fn services_errors(task: &Task) -> MultiError {
    let mut errors = MultiError::new();
    // A task has a handful of services and checks: the duplicate checks
    // scan what came before (quadratic only past `SMALL`, where they hash).
    let many = task.services.len() > SMALL;
    let mut known: HashSet<String> = HashSet::new();
    let mut by_port: Vec<(&str, &str)> = Vec::new();
    for (i, service) in task.services.iter().enumerate() {
        let own = service_errors(service);
        if !own.is_empty() {
            let prefix = format!(
                "service[{i}] {} validation failed: ",
                quote_ascii(&service.name)
            );
            errors.push_prefixed(&prefix, own);
        }
        // Nomad keys services by name and label concatenated.
        let duplicate = if many {
            !known.insert(format!("{}{}", service.name, service.port_label))
        } else {
            task.services[..i]
                .iter()
                .any(|s| same_concatenation(s, service))
        };
        if duplicate {
            errors.push(format!("service {} is duplicate", quote(&service.name)));
        }
        if !service.port_label.is_empty() {
            by_port.push((&service.port_label, &service.name));
        }
        check_duplicates(&service.checks, &mut errors);
    }
    if by_port.is_empty() {
        return errors;
    }
    let mut labels: Vec<&str> = task
        .resources
        .iter()
        .flat_map(|r| &r.networks)
        .flat_map(|n| n.reserved_ports.iter().chain(&n.dynamic_ports))
        .map(|p| p.label.as_str())
        .collect();
    labels.sort_unstable();
    // By label, services in their order (a stable sort keeps it).
    by_port.sort_by(|a, b| a.0.cmp(b.0));
    for run in by_port.chunk_by(|a, b| a.0 == b.0) {
        let label = run[0].0;
        if labels.binary_search(&label).is_err() {
            let services: Vec<&str> = run.iter().map(|(_, name)| *name).collect();
            errors.push(format!(
                "port label {} referenced by services {} does not exist",
                quote(label),
                services.join(", ")
            ));
        }
    }
    errors
}

/// Up to this many services or checks, duplicates are found by scanning.
const SMALL: usize = 16;

/// Whether `a.name + a.port_label == b.name + b.port_label` (Nomad's key),
/// without building either string.
fn same_concatenation(a: &Service, b: &Service) -> bool {
    a.name.len() + a.port_label.len() == b.name.len() + b.port_label.len()
        && a.name
            .bytes()
            .chain(a.port_label.bytes())
            .eq(b.name.bytes().chain(b.port_label.bytes()))
}

/// One error per check whose name an earlier check of the service has.
fn check_duplicates(checks: &[ServiceCheck], errors: &mut MultiError) {
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, check) in checks.iter().enumerate() {
        let duplicate = if checks.len() > SMALL {
            !seen.insert(&check.name)
        } else {
            checks[..i].iter().any(|c| c.name == check.name)
        };
        if duplicate {
            errors.push(format!("check {} is duplicate", quote(&check.name)));
        }
    }
}

/// `Service.Validate`.
fn service_errors(s: &Service) -> MultiError {
    let mut errors = MultiError::new();
    if !valid_service_name(&s.name) {
        errors.push(format!(
            "service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes: {}",
            quote(&s.name)
        ));
    }
    match s.address_mode.as_str() {
        "" | "auto" | "host" | "driver" => {}
        other => errors.push(format!(
            "service address_mode must be \"auto\", \"host\", or \"driver\"; not {}",
            quote(other)
        )),
    }
    for check in &s.checks {
        // Only the exact lower-case types need a port here; the check rules
        // below compare case-insensitively.
        if s.port_label.is_empty() && matches!(check.check_type.as_str(), "http" | "tcp") {
            errors.push(format!(
                "check {} invalid: check requires a port but the service {} has no port",
                check.name,
                quote_ascii(&s.name)
            ));
            continue;
        }
        if let Err(e) = check_error(check) {
            errors.push(format!("check {} invalid: {e}", check.name));
        }
    }
    errors
}

/// Go's `strings.ToLower`: simple per-rune lowering (U+0130 becomes a
/// plain `i`, where Rust's full mapping adds a combining dot); ASCII text is
/// lowered without copying when it has no upper-case letter.
fn go_lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return s.to_ascii_lowercase().into();
        }
        return s.into();
    }
    s.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect::<String>()
        .into()
}

/// `ServiceCheck.validate`: the first failing rule.
fn check_error(c: &ServiceCheck) -> Result<(), String> {
    match go_lower(&c.check_type).as_ref() {
        "tcp" => {}
        "http" if c.path.is_empty() => return Err("http type must have a valid http path".into()),
        "http" => {}
        "script" if c.command.is_empty() => {
            return Err("script type must have a valid script path".into())
        }
        "script" => {}
        _ => {
            return Err(format!(
                "invalid type ({}), must be one of \"http\", \"tcp\", or \"script\" type",
                quote_ascii(&c.check_type)
            ))
        }
    }
    if c.interval == 0 {
        return Err("missing required value interval. Interval cannot be less than 1s".into());
    }
    if c.interval < SECOND {
        return Err(format!(
            "interval ({}) cannot be lower than 1s",
            duration(c.interval)
        ));
    }
    if c.timeout == 0 {
        return Err("missing required value timeout. Timeout cannot be less than 1s".into());
    }
    if c.timeout < SECOND {
        return Err(format!(
            "timeout ({}) is lower than required minimum timeout 1s",
            duration(c.timeout)
        ));
    }
    match c.initial_status.as_str() {
        "" | "passing" | "warning" | "critical" => Ok(()),
        other => Err(format!(
            "invalid initial check state ({other}), must be one of \"passing\", \"warning\", \"critical\" or empty"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NetworkResource, Port, Resources};

    fn check(kind: &str) -> ServiceCheck {
        ServiceCheck {
            name: "alive".into(),
            check_type: kind.into(),
            command: "/bin/true".into(),
            path: "/health".into(),
            interval: 10 * SECOND,
            timeout: 2 * SECOND,
            ..ServiceCheck::default()
        }
    }

    #[test]
    fn service_name_rule_equals_nomads_regex() {
        let nomad =
            regex::Regex::new(r"^(?i:[a-z0-9]|[a-z0-9\$][a-zA-Z0-9\-\$\{\}\_\.]*[a-z0-9\}])$")
                .unwrap();
        let mut names: Vec<String> = vec![
            String::new(),
            "web".into(),
            "${TASK}-x".into(),
            "a".into(),
            "-".into(),
            "$".into(),
            "$a".into(),
            "a}".into(),
            "{a".into(),
            "web.".into(),
        ];
        // Every character below U+3000 alone, first, middle and last.
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            names.push(c.to_string());
            names.push(format!("{c}ab"));
            names.push(format!("a{c}b"));
            names.push(format!("ab{c}"));
        }
        names.push("\u{212A}elvin".into());
        for name in &names {
            assert_eq!(valid_service_name(name), nomad.is_match(name), "{name:?}");
        }
    }

    #[test]
    fn check_rules() {
        type Edit = fn(&mut ServiceCheck);
        let cases: Vec<(&str, Edit, Result<(), &str>)> = vec![
            ("tcp", |_| {}, Ok(())),
            ("HTTP", |_| {}, Ok(())),
            ("script", |_| {}, Ok(())),
            ("http", |c| c.path.clear(), Err("http type must have a valid http path")),
            ("script", |c| c.command.clear(), Err("script type must have a valid script path")),
            (
                "grpc",
                |_| {},
                Err("invalid type (\"grpc\"), must be one of \"http\", \"tcp\", or \"script\" type"),
            ),
            (
                "tcp",
                |c| c.interval = 0,
                Err("missing required value interval. Interval cannot be less than 1s"),
            ),
            (
                "tcp",
                |c| c.interval = 500_000_000,
                Err("interval (500ms) cannot be lower than 1s"),
            ),
            (
                "tcp",
                |c| c.timeout = 0,
                Err("missing required value timeout. Timeout cannot be less than 1s"),
            ),
            (
                "tcp",
                |c| c.timeout = 1,
                Err("timeout (1ns) is lower than required minimum timeout 1s"),
            ),
            ("tcp", |c| c.initial_status = "warning".into(), Ok(())),
            (
                "tcp",
                |c| c.initial_status = "unknown".into(),
                Err("invalid initial check state (unknown), must be one of \"passing\", \"warning\", \"critical\" or empty"),
            ),
            // First failure only.
            (
                "http",
                |c| {
                    c.path.clear();
                    c.interval = 0;
                },
                Err("http type must have a valid http path"),
            ),
        ];
        for (kind, edit, want) in cases {
            let mut c = check(kind);
            edit(&mut c);
            assert_eq!(check_error(&c), want.map_err(String::from), "{kind}");
        }
    }

    fn task(services: Vec<Service>, labels: &[&str]) -> Task {
        Task {
            name: "server".into(),
            services,
            resources: Some(Resources {
                networks: vec![NetworkResource {
                    mbits: 10,
                    dynamic_ports: labels
                        .iter()
                        .map(|l| Port {
                            label: (*l).into(),
                            value: 0,
                        })
                        .collect(),
                    ..NetworkResource::default()
                }],
                ..Resources::nomad_default()
            }),
            ..Task::default()
        }
    }

    fn service(name: &str, port: &str, checks: Vec<ServiceCheck>) -> Service {
        Service {
            name: name.into(),
            port_label: port.into(),
            address_mode: "auto".into(),
            checks,
            ..Service::default()
        }
    }

    #[test]
    fn service_rules() {
        let cases: Vec<(Vec<Service>, Vec<&str>)> = vec![
            (vec![service("web", "http", vec![check("http")])], vec![]),
            (vec![service("a", "", vec![])], vec![]),
            (vec![service("${TASK}-x", "http", vec![])], vec![]),
            (vec![service("web_1.v2", "http", vec![])], vec![]),
            (
                vec![service("web_", "http", vec![])],
                vec!["service[0] \"web_\" validation failed: 1 error(s) occurred:\n\n* service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes: \"web_\""],
            ),
            (
                vec![service("caf\u{e9}", "http", vec![])],
                vec!["service[0] \"caf\\u00e9\" validation failed: 1 error(s) occurred:\n\n* service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes: \"café\""],
            ),
            (
                vec![service("-web", "http", vec![])],
                vec!["service[0] \"-web\" validation failed: 1 error(s) occurred:\n\n* service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes: \"-web\""],
            ),
            (
                vec![Service {
                    address_mode: "bridge".into(),
                    ..service("web", "http", vec![])
                }],
                vec!["service[0] \"web\" validation failed: 1 error(s) occurred:\n\n* service address_mode must be \"auto\", \"host\", or \"driver\"; not \"bridge\""],
            ),
            (
                vec![service("web", "", vec![check("tcp"), check("script")])],
                vec!["service[0] \"web\" validation failed: 1 error(s) occurred:\n\n* check alive invalid: check requires a port but the service \"web\" has no port", "check \"alive\" is duplicate"],
            ),
            // `TCP` is not recognised as needing a port (exact comparison).
            (vec![service("web", "", vec![check("TCP")])], vec![]),
            (
                vec![service("web", "http", vec![ServiceCheck {
                    timeout: 0,
                    ..check("tcp")
                }])],
                vec!["service[0] \"web\" validation failed: 1 error(s) occurred:\n\n* check alive invalid: missing required value timeout. Timeout cannot be less than 1s"],
            ),
            (
                vec![service("web", "http", vec![]), service("web", "http", vec![])],
                vec!["service \"web\" is duplicate"],
            ),
            (
                vec![service("web", "http", vec![]), service("web", "admin", vec![])],
                vec![],
            ),
            (
                vec![
                    service("b", "zeta", vec![]),
                    service("a", "alpha", vec![]),
                    service("c", "zeta", vec![]),
                ],
                vec![
                    "port label \"alpha\" referenced by services a does not exist",
                    "port label \"zeta\" referenced by services b, c does not exist",
                ],
            ),
            // Nomad's key is name and label concatenated: "webh" + "ttp"
            // collides with "web" + "http".
            (
                vec![service("web", "http", vec![]), service("webh", "ttp", vec![])],
                vec![
                    "service \"webh\" is duplicate",
                    "port label \"ttp\" referenced by services webh does not exist",
                ],
            ),
            (
                vec![service("web", "http", vec![check("http"), check("tcp"), check("script")])],
                vec!["check \"alive\" is duplicate", "check \"alive\" is duplicate"],
            ),
        ];
        for (i, (services, want)) in cases.into_iter().enumerate() {
            let t = task(services, &["http", "admin"]);
            assert_eq!(services_errors(&t).errors, want, "case {i}");
        }
    }

    /// Past `SMALL` services or checks the duplicate checks hash; both ways
    /// give the same errors in the same order.
    #[test]
    fn many_services_and_checks_report_like_few() {
        let services = |n: usize| -> Vec<Service> {
            (0..n)
                .map(|i| {
                    // Every third service repeats an earlier name, and its
                    // checks repeat each other's names.
                    let name = format!("svc{}", if i % 3 == 2 { i - 1 } else { i });
                    let checks = (0..n).map(|j| ServiceCheck {
                        name: format!("c{}", j % (n / 2).max(1)),
                        ..check("tcp")
                    });
                    service(&name, "http", checks.collect())
                })
                .collect()
        };
        for n in [3, SMALL, SMALL + 1, 40] {
            let errors = services_errors(&task(services(n), &["http"])).errors;
            let dup_services = (0..n).filter(|i| i % 3 == 2).count();
            let dup_checks = n * (n - (n / 2).max(1));
            assert_eq!(errors.len(), dup_services + dup_checks, "n = {n}");
            let first_dup = errors
                .iter()
                .position(|e| e.starts_with("service "))
                .expect("a duplicate service");
            assert_eq!(
                errors[first_dup], "service \"svc1\" is duplicate",
                "n = {n}"
            );
        }
    }

    #[test]
    fn check_types_lower_like_go() {
        assert_eq!(go_lower("TCP"), "tcp");
        assert!(matches!(go_lower("tcp"), std::borrow::Cow::Borrowed(_)));
        // Go maps U+0130 to a plain `i`, so Nomad takes "SCR\u{130}PT".
        assert_eq!(go_lower("SCR\u{130}PT"), "script");
        assert_eq!(check_error(&check("SCR\u{130}PT")), Ok(()));
        assert_eq!(go_lower("\u{212A}"), "k");
        assert_eq!(go_lower("\u{17F}cript"), "\u{17F}cript");
    }
}
