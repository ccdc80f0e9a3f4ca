//! Rules for a task's Consul services and their checks: names, address
//! modes, check settings, duplicates and port labels that must exist.

use std::collections::{BTreeMap, HashSet};

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
    let mut services_by_port: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut known: HashSet<String> = HashSet::new();
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
        if !known.insert(format!("{}{}", service.name, service.port_label)) {
            errors.push(format!("service {} is duplicate", quote(&service.name)));
        }
        if !service.port_label.is_empty() {
            services_by_port
                .entry(&service.port_label)
                .or_default()
                .push(&service.name);
        }
        let mut checks: HashSet<&str> = HashSet::new();
        for check in &service.checks {
            if !checks.insert(&check.name) {
                errors.push(format!("check {} is duplicate", quote(&check.name)));
            }
        }
    }
    let labels: HashSet<&str> = task
        .resources
        .iter()
        .flat_map(|r| &r.networks)
        .flat_map(|n| n.reserved_ports.iter().chain(&n.dynamic_ports))
        .map(|p| p.label.as_str())
        .collect();
    for (label, services) in services_by_port {
        if !labels.contains(label) {
            errors.push(format!(
                "port label {} referenced by services {} does not exist",
                quote(label),
                services.join(", ")
            ));
        }
    }
    errors
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

/// `ServiceCheck.validate`: the first failing rule.
fn check_error(c: &ServiceCheck) -> Result<(), String> {
    match c.check_type.to_lowercase().as_str() {
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
        ];
        for (i, (services, want)) in cases.into_iter().enumerate() {
            let t = task(services, &["http", "admin"]);
            assert_eq!(services_errors(&t).errors, want, "case {i}");
        }
    }
}
