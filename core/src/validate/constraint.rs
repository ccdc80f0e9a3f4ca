//! Constraints: validation of their operands and their evaluation against a
//! node (`${attr.*}`, `${meta.*}`, `${node.*}` targets), which the
//! scheduler's feasibility checks call.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use super::gotext::parse_uint;
use super::regexp_error::go_regexp_compile_error;
use super::version::{Version, VersionConstraints};
use crate::gofmt::quote;
use crate::model::{Constraint, Node};
use crate::MultiError;

pub const OPERAND_DISTINCT_HOSTS: &str = "distinct_hosts";
pub const OPERAND_DISTINCT_PROPERTY: &str = "distinct_property";
pub const OPERAND_REGEXP: &str = "regexp";
pub const OPERAND_VERSION: &str = "version";
pub const OPERAND_SET_CONTAINS: &str = "set_contains";

/// `Constraint.Validate`: the constraint's own errors, in Nomad's order
/// (empty when valid). Callers nest it as `Constraint <i> validation
/// failed: …`.
pub fn validate_constraint(c: &Constraint) -> MultiError {
    let mut errors = MultiError::new();
    if c.operand.is_empty() {
        errors.push("Missing constraint operand");
    }
    let mut requires_ltarget = true;
    match c.operand.as_str() {
        OPERAND_DISTINCT_HOSTS => requires_ltarget = false,
        OPERAND_SET_CONTAINS => {
            if c.rtarget.is_empty() {
                errors.push("Set contains constraint requires an RTarget");
            }
        }
        OPERAND_REGEXP => {
            if let Some(e) = go_regexp_compile_error(&c.rtarget) {
                errors.push(format!("Regular expression failed to compile: {e}"));
            }
        }
        OPERAND_VERSION => {
            if let Err(e) = VersionConstraints::parse(&c.rtarget) {
                errors.push(format!("Version constraint is invalid: {e}"));
            }
        }
        OPERAND_DISTINCT_PROPERTY => {
            if !c.rtarget.is_empty() {
                match parse_uint(&c.rtarget, 10, 64) {
                    Err(e) => errors.push(format!(
                        "Failed to convert RTarget {} to uint64: {e}",
                        quote(&c.rtarget)
                    )),
                    Ok(0) => errors.push(
                        "Distinct Property must have an allowed count of 1 or greater: 0 < 1",
                    ),
                    Ok(_) => {}
                }
            }
        }
        "=" | "==" | "is" | "!=" | "not" | "<" | "<=" | ">" | ">=" => {
            if c.rtarget.is_empty() {
                errors.push(format!(
                    "Operator {} requires an RTarget",
                    quote(&c.operand)
                ));
            }
        }
        other => errors.push(format!("Unknown constraint type {}", quote(other))),
    }
    if requires_ltarget && c.ltarget.is_empty() {
        errors.push("No LTarget provided but is required by constraint");
    }
    errors
}

/// Resolves a constraint target against a node: a literal, or a
/// `${node.*}` / `${attr.*}` / `${meta.*}` interpolation; `None` when the
/// node lacks it.
pub fn resolve_target(target: &str, node: &Node) -> Option<String> {
    resolve_target_ref(target, node).map(str::to_string)
}

/// [`resolve_target`] without copying the value.
pub fn resolve_target_ref<'a>(target: &'a str, node: &'a Node) -> Option<&'a str> {
    if !target.starts_with("${") {
        return Some(target);
    }
    match target {
        "${node.unique.id}" => Some(&node.id),
        "${node.datacenter}" => Some(&node.datacenter),
        "${node.unique.name}" => Some(&node.name),
        "${node.class}" => Some(&node.node_class),
        _ => {
            // Nomad trims a closing brace only when there is one.
            let lookup = |prefix: &str| {
                target
                    .strip_prefix(prefix)
                    .map(|key| key.strip_suffix('}').unwrap_or(key))
            };
            if let Some(key) = lookup("${attr.") {
                node.attributes.get(key).map(String::as_str)
            } else if let Some(key) = lookup("${meta.") {
                node.meta.get(key).map(String::as_str)
            } else {
                None
            }
        }
    }
}

/// Whether resolved values satisfy `operand` (Nomad's `checkConstraint`),
/// compiling a `regexp` or `version` right-hand side on the spot. Checks
/// against many nodes go through a [`ConstraintCache`] instead.
pub fn check_operand(operand: &str, lval: &str, rval: &str) -> bool {
    ConstraintCache::default().check_operand(operand, lval, rval)
}

/// Whether `node` satisfies `constraint` (missing targets fail it).
pub fn satisfies(node: &Node, constraint: &Constraint) -> bool {
    ConstraintCache::default().satisfies(node, constraint)
}

/// The compiled right-hand sides of `regexp` and `version` constraints, as
/// Nomad's `EvalContext` keeps them for one scheduling pass: each distinct
/// string is compiled once however many nodes it is checked against. The
/// owner decides its lifetime (a pass), so nothing is shared or global.
#[derive(Debug, Default)]
pub struct ConstraintCache {
    regexes: HashMap<String, Option<Arc<Regex>>>,
    versions: HashMap<String, Option<Arc<VersionConstraints>>>,
}

impl ConstraintCache {
    /// [`check_operand`] with this cache.
    pub fn check_operand(&mut self, operand: &str, lval: &str, rval: &str) -> bool {
        match operand {
            OPERAND_DISTINCT_HOSTS | OPERAND_DISTINCT_PROPERTY => true,
            "=" | "==" | "is" => lval == rval,
            "!=" | "not" => lval != rval,
            "<" => lval < rval,
            "<=" => lval <= rval,
            ">" => lval > rval,
            ">=" => lval >= rval,
            OPERAND_VERSION => compiled(&mut self.versions, rval, |t| {
                VersionConstraints::parse(t).ok()
            })
            .is_some_and(|c| version_matches(&c, lval)),
            OPERAND_REGEXP => compiled(&mut self.regexes, rval, |p| Regex::new(p).ok())
                .is_some_and(|re| re.is_match(lval)),
            OPERAND_SET_CONTAINS => set_contains(lval, rval),
            _ => false,
        }
    }

    /// [`satisfies`] with this cache.
    pub fn satisfies(&mut self, node: &Node, constraint: &Constraint) -> bool {
        let (Some(l), Some(r)) = (
            resolve_target_ref(&constraint.ltarget, node),
            resolve_target_ref(&constraint.rtarget, node),
        ) else {
            return false;
        };
        self.check_operand(&constraint.operand, l, r)
    }
}

/// `key` compiled, from `cache` or compiled now (`None`: it does not compile).
fn compiled<T>(
    cache: &mut HashMap<String, Option<Arc<T>>>,
    key: &str,
    compile: impl FnOnce(&str) -> Option<T>,
) -> Option<Arc<T>> {
    if let Some(hit) = cache.get(key) {
        return hit.clone();
    }
    let compiled = compile(key).map(Arc::new);
    cache.insert(key.to_string(), compiled.clone());
    compiled
}

fn version_matches(constraints: &VersionConstraints, lval: &str) -> bool {
    Version::parse(lval).is_ok_and(|v| constraints.check(&v))
}

/// Every trimmed `,` item of `rval` is among the trimmed `,` items of `lval`.
fn set_contains(lval: &str, rval: &str) -> bool {
    let have: Vec<&str> = lval.split(',').map(str::trim).collect();
    rval.split(',')
        .map(str::trim)
        .all(|want| have.contains(&want))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(l: &str, op: &str, r: &str) -> Constraint {
        Constraint::new(l, op, r)
    }

    #[test]
    fn validation_rules() {
        let cases: Vec<(Constraint, Vec<&str>)> = vec![
            (c("${attr.kernel.name}", "=", "linux"), vec![]),
            (
                c("a", "", "b"),
                vec!["Missing constraint operand", "Unknown constraint type \"\""],
            ),
            (c("a", "~~", "b"), vec!["Unknown constraint type \"~~\""]),
            (c("a", "set_contains", ""), vec!["Set contains constraint requires an RTarget"]),
            (
                c("a", "regexp", "[a-"),
                vec!["Regular expression failed to compile: error parsing regexp: missing closing ]: `[a-`"],
            ),
            (
                c("a", "version", "~~ 1"),
                vec!["Version constraint is invalid: Malformed constraint: ~~ 1"],
            ),
            (
                c("a", "distinct_property", "x"),
                vec!["Failed to convert RTarget \"x\" to uint64: strconv.ParseUint: parsing \"x\": invalid syntax"],
            ),
            (
                c("a", "distinct_property", "0"),
                vec!["Distinct Property must have an allowed count of 1 or greater: 0 < 1"],
            ),
            (c("${meta.rack}", "distinct_property", ""), vec![]),
            (c("${meta.rack}", "distinct_property", "2"), vec![]),
            (c("a", "!=", ""), vec!["Operator \"!=\" requires an RTarget"]),
            (c("a", ">=", ""), vec!["Operator \">=\" requires an RTarget"]),
            (c("", "=", "b"), vec!["No LTarget provided but is required by constraint"]),
            (c("", "distinct_hosts", ""), vec![]),
            (c("", "distinct_hosts", "true"), vec![]),
            (
                c("", "set_contains", ""),
                vec![
                    "Set contains constraint requires an RTarget",
                    "No LTarget provided but is required by constraint",
                ],
            ),
        ];
        for (constraint, want) in cases {
            assert_eq!(
                validate_constraint(&constraint).errors,
                want,
                "{constraint}"
            );
        }
    }

    fn node() -> Node {
        let mut n = Node {
            id: "node-1".into(),
            datacenter: "dc1".into(),
            name: "alpha".into(),
            node_class: "large".into(),
            ..Node::default()
        };
        for (k, v) in [
            ("kernel.name", "linux"),
            ("os.signals", "SIGHUP, SIGINT,SIGUSR1"),
            ("vault.version", "0.6.2"),
            ("nomad.version", "0.6.3"),
            ("cpu.numcores", "8"),
        ] {
            n.attributes.insert(k.into(), v.into());
        }
        n.meta.insert("rack".into(), "r1".into());
        n
    }

    #[test]
    fn targets_resolve_against_the_node() {
        let n = node();
        let cases = [
            ("literal", Some("literal")),
            ("${node.unique.id}", Some("node-1")),
            ("${node.datacenter}", Some("dc1")),
            ("${node.unique.name}", Some("alpha")),
            ("${node.class}", Some("large")),
            ("${attr.kernel.name}", Some("linux")),
            ("${attr.kernel.name", Some("linux")),
            ("${meta.rack}", Some("r1")),
            ("${meta.missing}", None),
            ("${attr.missing}", None),
            ("${node.unique.id", None),
            ("${env.HOME}", None),
        ];
        for (target, want) in cases {
            assert_eq!(resolve_target(target, &n).as_deref(), want, "{target}");
        }
    }

    #[test]
    fn operands_against_a_node() {
        let n = node();
        let cases = [
            (c("${attr.kernel.name}", "=", "linux"), true),
            (c("${attr.kernel.name}", "==", "windows"), false),
            (c("${attr.kernel.name}", "is", "linux"), true),
            (c("${attr.kernel.name}", "!=", "windows"), true),
            (c("${attr.kernel.name}", "not", "linux"), false),
            // A missing attribute fails every operand, even `!=`.
            (c("${attr.missing}", "!=", "x"), false),
            (c("x", "=", "${meta.missing}"), false),
            // Lexical, byte-wise order: "8" > "10".
            (c("${attr.cpu.numcores}", ">", "10"), true),
            (c("${attr.cpu.numcores}", ">=", "8"), true),
            (c("${attr.cpu.numcores}", "<", "8"), false),
            (c("${attr.cpu.numcores}", "<=", "8"), true),
            (c("${attr.vault.version}", "version", ">= 0.6.1"), true),
            (
                c("${attr.vault.version}", "version", ">= 0.6.1, < 0.6.2"),
                false,
            ),
            (c("${attr.nomad.version}", "version", "~> 0.6"), true),
            (c("${attr.kernel.name}", "version", ">= 1"), false),
            (c("${attr.vault.version}", "version", "bogus"), false),
            (c("${attr.kernel.name}", "regexp", "^li"), true),
            (c("${attr.kernel.name}", "regexp", "nu"), true),
            (c("${attr.kernel.name}", "regexp", "^nu"), false),
            (c("${attr.kernel.name}", "regexp", "[a-"), false),
            (
                c("${attr.os.signals}", "set_contains", "SIGINT, SIGHUP"),
                true,
            ),
            (
                c("${attr.os.signals}", "set_contains", "SIGUSR1,SIGUSR2"),
                false,
            ),
            (c("${meta.rack}", "distinct_property", ""), true),
            (c("", "distinct_hosts", ""), true),
            (c("${node.class}", "~~", "large"), false),
            (c("${node.datacenter}", "=", "${node.datacenter}"), true),
            (c("${attr.kernel.name}", "regexp", "${meta.rack}"), false),
        ];
        // One cache across every case, asked twice: the second answer comes
        // from the compiled form and must not differ.
        let mut cache = ConstraintCache::default();
        for (constraint, want) in cases {
            assert_eq!(satisfies(&n, &constraint), want, "{constraint}");
            for round in 0..2 {
                assert_eq!(
                    cache.satisfies(&n, &constraint),
                    want,
                    "cached {constraint} (round {round})"
                );
            }
        }
    }
}
