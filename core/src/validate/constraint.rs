//! Constraints: validation of their operands and their evaluation against a
//! node (`${attr.*}`, `${meta.*}`, `${node.*}` targets), which the
//! scheduler's feasibility checks call.

use crate::model::{Constraint, Node};

/// Resolves a constraint target against a node: a literal, or a
/// `${node.*}` / `${attr.*}` / `${meta.*}` interpolation; `None` when the
/// node lacks it. PLACEHOLDER until the full rules land.
pub fn resolve_target(target: &str, node: &Node) -> Option<String> {
    let Some(inner) = target.strip_prefix("${") else {
        return Some(target.to_string());
    };
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    match inner {
        "node.unique.id" => Some(node.id.clone()),
        "node.datacenter" => Some(node.datacenter.clone()),
        "node.unique.name" => Some(node.name.clone()),
        "node.class" => Some(node.node_class.clone()),
        _ => {
            if let Some(k) = inner.strip_prefix("attr.") {
                node.attributes.get(k).cloned()
            } else if let Some(k) = inner.strip_prefix("meta.") {
                node.meta.get(k).cloned()
            } else {
                None
            }
        }
    }
}

/// Whether resolved values satisfy `operand`. PLACEHOLDER: equality only.
pub fn check_operand(operand: &str, lval: &str, rval: &str) -> bool {
    match operand {
        "=" | "==" | "is" => lval == rval,
        "!=" | "not" => lval != rval,
        "distinct_hosts" | "distinct_property" => true,
        _ => false,
    }
}

/// Whether `node` satisfies `constraint` (missing targets fail it).
pub fn satisfies(node: &Node, constraint: &Constraint) -> bool {
    let (Some(l), Some(r)) = (
        resolve_target(&constraint.ltarget, node),
        resolve_target(&constraint.rtarget, node),
    ) else {
        return false;
    };
    check_operand(&constraint.operand, &l, &r)
}
