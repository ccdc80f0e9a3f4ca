//! Deep equality as Go's `reflect.DeepEqual` sees the job tree, which
//! decides whether a group or task diff is `Edited` or `None`.
//!
//! It differs from `PartialEq` only in task `Config`: Go decodes every JSON
//! number into a float64, so `600` and `600.0` are the same value there.
//! Resources, services and checks, compared for every edited task, are
//! `PartialEq` spelt out with [`same_text`], which spares a `memcmp` call
//! per (mostly short) string.

use serde_json::{Map, Value};

use super::flat::same_text;
use crate::model::{
    NetworkResource, Port, Resources, Service, ServiceCheck, StringMap, Task, TaskGroup,
};

/// Two optional objects, equal by `same`.
pub(super) fn same_option<T>(a: Option<&T>, b: Option<&T>, same: fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn same_list<T>(a: &[T], b: &[T], same: fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// `a == b` for resources.
pub(super) fn same_resources(a: &Resources, b: &Resources) -> bool {
    let Resources {
        cpu,
        memory_mb,
        disk_mb,
        iops,
        networks,
    } = a;
    *cpu == b.cpu
        && *memory_mb == b.memory_mb
        && *disk_mb == b.disk_mb
        && *iops == b.iops
        && same_list(networks, &b.networks, same_network)
}

/// `a == b` for networks.
pub(super) fn same_network(a: &NetworkResource, b: &NetworkResource) -> bool {
    let NetworkResource {
        device,
        cidr,
        ip,
        mbits,
        reserved_ports,
        dynamic_ports,
    } = a;
    *mbits == b.mbits
        && same_text(device, &b.device)
        && same_text(cidr, &b.cidr)
        && same_text(ip, &b.ip)
        && same_ports(reserved_ports, &b.reserved_ports)
        && same_ports(dynamic_ports, &b.dynamic_ports)
}

/// `a == b` for port lists.
pub(super) fn same_ports(a: &[Port], b: &[Port]) -> bool {
    same_list(a, b, |x, y| {
        let Port { label, value } = x;
        *value == y.value && same_text(label, &y.label)
    })
}

/// `a == b` for service lists.
pub(super) fn same_services(a: &[Service], b: &[Service]) -> bool {
    same_list(a, b, same_service)
}

/// `a == b` for services.
pub(super) fn same_service(a: &Service, b: &Service) -> bool {
    let Service {
        name,
        port_label,
        address_mode,
        tags,
        checks,
    } = a;
    same_text(name, &b.name)
        && same_text(port_label, &b.port_label)
        && same_text(address_mode, &b.address_mode)
        && same_list(tags, &b.tags, |x, y| same_text(x, y))
        && same_checks(checks, &b.checks)
}

/// `a == b` for check lists.
pub(super) fn same_checks(a: &[ServiceCheck], b: &[ServiceCheck]) -> bool {
    same_list(a, b, same_check)
}

/// `a == b` for checks.
pub(super) fn same_check(a: &ServiceCheck, b: &ServiceCheck) -> bool {
    let ServiceCheck {
        name,
        check_type,
        command,
        args,
        path,
        protocol,
        port_label,
        interval,
        timeout,
        initial_status,
        tls_skip_verify,
        method,
        header,
    } = a;
    *interval == b.interval
        && *timeout == b.timeout
        && *tls_skip_verify == b.tls_skip_verify
        && same_text(name, &b.name)
        && same_text(check_type, &b.check_type)
        && same_text(command, &b.command)
        && same_list(args, &b.args, |x, y| same_text(x, y))
        && same_text(path, &b.path)
        && same_text(protocol, &b.protocol)
        && same_text(port_label, &b.port_label)
        && same_text(initial_status, &b.initial_status)
        && same_text(method, &b.method)
        && *header == b.header
}

/// `a == b` for string maps.
fn same_string_map(a: &StringMap, b: &StringMap) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((k, v), (l, w))| same_text(k, l) && same_text(v, w))
}

/// Two task `Config` maps, numbers compared as float64.
pub(super) fn same_config(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Usually both sides list their keys in the same order: walk them
    // together and only look keys up (hashing) when they do not.
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        if !same_text(ka, kb) {
            return a
                .iter()
                .all(|(k, va)| b.get(k).is_some_and(|vb| same_value(va, vb)));
        }
        if !same_value(va, vb) {
            return false;
        }
    }
    true
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Value::Object(x), Value::Object(y)) => same_config(x, y),
        (Value::String(x), Value::String(y)) => same_text(x, y),
        _ => a == b,
    }
}

/// Every field of two tasks (exhaustive, so a new model field is a
/// compile error here rather than a silently ignored difference).
pub(super) fn same_task(a: &Task, b: &Task) -> bool {
    let Task {
        name,
        driver,
        user,
        config,
        env,
        services,
        vault,
        templates,
        constraints,
        resources,
        dispatch_payload,
        meta,
        kill_timeout,
        log_config,
        artifacts,
        leader,
        shutdown_delay,
    } = a;
    same_text(name, &b.name)
        && same_text(driver, &b.driver)
        && same_text(user, &b.user)
        && same_string_map(env, &b.env)
        && same_string_map(meta, &b.meta)
        && *kill_timeout == b.kill_timeout
        && *leader == b.leader
        && *shutdown_delay == b.shutdown_delay
        && same_option(resources.as_ref(), b.resources.as_ref(), same_resources)
        && *log_config == b.log_config
        && *constraints == b.constraints
        && same_services(services, &b.services)
        && *vault == b.vault
        && *templates == b.templates
        && *dispatch_payload == b.dispatch_payload
        && *artifacts == b.artifacts
        && same_config(config, &b.config)
}

/// Every field of two task groups, tasks in order.
pub(super) fn same_group(a: &TaskGroup, b: &TaskGroup) -> bool {
    let TaskGroup {
        name,
        count,
        update,
        constraints,
        restart_policy,
        tasks,
        ephemeral_disk,
        meta,
    } = a;
    same_text(name, &b.name)
        && *count == b.count
        && *update == b.update
        && *constraints == b.constraints
        && *restart_policy == b.restart_policy
        && *ephemeral_disk == b.ephemeral_disk
        && same_string_map(meta, &b.meta)
        && tasks.len() == b.tasks.len()
        && tasks.iter().zip(&b.tasks).all(|(x, y)| same_task(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NilVec;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn config_numbers_compare_as_floats_and_keys_ignore_order() {
        let a = map(json!({"port": 8080, "args": [1, {"x": 2}], "s": "a"}));
        let b = map(json!({"s": "a", "args": [1.0, {"x": 2.0}], "port": 8080.0}));
        assert!(same_config(&a, &b));
        let c = map(json!({"s": "a", "args": [1.0, {"x": 3}], "port": 8080}));
        assert!(!same_config(&a, &c));
        let d = map(json!({"s": "a", "args": [1, {"x": 2}]}));
        assert!(!same_config(&a, &d));
        assert!(!same_config(
            &map(json!({"a": null})),
            &map(json!({"a": []}))
        ));
    }

    #[test]
    fn spelt_out_equalities_agree_with_partial_eq() {
        let check = ServiceCheck {
            name: "alive".into(),
            check_type: "tcp".into(),
            interval: 10,
            timeout: 2,
            ..ServiceCheck::default()
        };
        let service = Service {
            name: "web".into(),
            port_label: "http".into(),
            tags: vec!["a".into(), "b".into()],
            checks: vec![check],
            ..Service::default()
        };
        let network = NetworkResource {
            mbits: 10,
            dynamic_ports: vec![Port {
                label: "http".into(),
                value: 0,
            }],
            ..NetworkResource::default()
        };
        let resources = Resources {
            cpu: 100,
            networks: vec![network],
            ..Resources::default()
        };
        let copies = vec![service.clone(); 2];
        assert!(same_services(&copies, &[service.clone(), service.clone()]));
        assert!(same_resources(&resources, &resources.clone()));
        let services = [
            Service {
                tags: vec!["a".into(), "c".into()],
                ..service.clone()
            },
            Service {
                address_mode: "host".into(),
                ..service.clone()
            },
            Service {
                checks: vec![ServiceCheck {
                    timeout: 3,
                    ..service.checks[0].clone()
                }],
                ..service.clone()
            },
            Service {
                checks: vec![ServiceCheck {
                    header: [("X".to_string(), NilVec(vec!["1".to_string()]))].into(),
                    ..service.checks[0].clone()
                }],
                ..service.clone()
            },
        ];
        for other in &services {
            assert!(!same_service(&service, other), "{other:?}");
            assert_eq!(same_service(&service, other), service == *other);
        }
        let mut other = resources.clone();
        other.networks[0].dynamic_ports[0].label = "admin".into();
        assert!(!same_resources(&resources, &other));
        other.networks[0].dynamic_ports[0].label = "http".into();
        other.networks[0].ip = "10.0.0.1".into();
        assert!(!same_resources(&resources, &other));
        assert!(same_option(None, None, same_resources));
        let env = |pairs: &[(&str, &str)]| -> StringMap {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let maps = [
            env(&[]),
            env(&[("A", "1")]),
            env(&[("A", "2")]),
            env(&[("B", "1")]),
            env(&[("A", "1"), ("B", "1")]),
        ];
        for a in &maps {
            for b in &maps {
                assert_eq!(same_string_map(a, b), a == b, "{a:?} vs {b:?}");
            }
        }
        assert!(!same_option(Some(&resources), None, same_resources));
    }

    #[test]
    fn task_order_matters_inside_a_group() {
        let t = |n: &str| Task {
            name: n.into(),
            ..Task::default()
        };
        let g1 = TaskGroup {
            tasks: vec![t("a"), t("b")],
            ..TaskGroup::default()
        };
        let g2 = TaskGroup {
            tasks: vec![t("b"), t("a")],
            ..TaskGroup::default()
        };
        assert!(same_group(&g1, &g1.clone()));
        assert!(!same_group(&g1, &g2));
    }
}
