//! The field diff rule, field lists of two flattened objects, and string
//! sets (datacenters, Vault policies, parameterized meta lists).
//!
//! A missing name and an empty value are the same thing (`""`), so
//! `"" → "x"` is `Added` and `"x" → ""` is `Deleted`.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::flat::{Flat, Name, Val};
use super::{DiffStr, DiffType, FieldDiff, ObjectDiff};

/// One field: `None` (only when `contextual`) if unchanged, else `Added`,
/// `Deleted` or `Edited`.
pub(super) fn field(
    old: &str,
    new: &str,
    name: &'static str,
    contextual: bool,
) -> Option<FieldDiff> {
    let diff_type = if old == new {
        if !contextual {
            return None;
        }
        DiffType::None
    } else if old.is_empty() {
        DiffType::Added
    } else if new.is_empty() {
        DiffType::Deleted
    } else {
        DiffType::Edited
    };
    Some(FieldDiff {
        annotations: Vec::new(),
        name: DiffStr::from_static(name),
        old: DiffStr::from(old),
        new: DiffStr::from(new),
        diff_type,
    })
}

/// The field diffs of two flattened objects over the union of their names,
/// in Nomad's field order (both inputs are sorted with unique names, so the
/// merge is already ordered by name).
pub(super) fn fields(old: &Flat<'_>, new: &Flat<'_>, contextual: bool) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => o.0.cmp(&n.0),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        let (name, old_value, new_value) = match order {
            Ordering::Less => {
                i += 1;
                (&old[i - 1].0, Some(&old[i - 1].1), None)
            }
            Ordering::Greater => {
                j += 1;
                (&new[j - 1].0, None, Some(&new[j - 1].1))
            }
            Ordering::Equal => {
                i += 1;
                j += 1;
                (&old[i - 1].0, Some(&old[i - 1].1), Some(&new[j - 1].1))
            }
        };
        if let Some(diff) = flat_field(name, old_value, new_value, contextual) {
            if out.capacity() == 0 {
                // Allocate once: contextual lists and one-sided (added or
                // deleted) objects show (almost) every name, others few.
                out.reserve(if contextual || old.is_empty() || new.is_empty() {
                    old.len().max(new.len())
                } else {
                    4
                });
            }
            out.push(diff);
        }
    }
    out
}

/// [`field`] on flattened values (a missing value is `""`), rendering
/// names and values only for a field that is shown.
fn flat_field(
    name: &Name<'_>,
    old: Option<&Val<'_>>,
    new: Option<&Val<'_>>,
    contextual: bool,
) -> Option<FieldDiff> {
    let old_empty = old.is_none_or(Val::is_empty);
    let new_empty = new.is_none_or(Val::is_empty);
    let same = match (old, new) {
        (Some(a), Some(b)) => a.same(b),
        _ => old_empty && new_empty,
    };
    let diff_type = if same {
        if !contextual {
            return None;
        }
        DiffType::None
    } else if old_empty {
        DiffType::Added
    } else if new_empty {
        DiffType::Deleted
    } else {
        DiffType::Edited
    };
    Some(FieldDiff {
        annotations: Vec::new(),
        name: name.render(),
        old: old.map_or_else(DiffStr::new, Val::render),
        new: new.map_or_else(DiffStr::new, Val::render),
        diff_type,
    })
}

/// Nomad's field order: name, then old value, then new value (byte-wise).
pub(super) fn cmp_fields(a: &FieldDiff, b: &FieldDiff) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| a.old.cmp(&b.old))
        .then_with(|| a.new.cmp(&b.new))
}

/// Two string lists compared as sets; every element is a field named
/// `name`. `None` when there is nothing to show; type `None` when only
/// contextual unchanged members are listed.
pub(super) fn string_set(
    old: &[String],
    new: &[String],
    name: &'static str,
    contextual: bool,
) -> Option<ObjectDiff> {
    let old: BTreeSet<&str> = old.iter().map(String::as_str).collect();
    let new: BTreeSet<&str> = new.iter().map(String::as_str).collect();
    if old == new && !contextual {
        return None;
    }
    let mut diff = ObjectDiff {
        name: DiffStr::from_static(name),
        ..ObjectDiff::default()
    };
    let (mut added, mut removed) = (false, false);
    for &item in &old {
        if !new.contains(item) {
            // A removed "" compares equal to the missing side: Nomad then
            // lists it as unchanged (contextual) or as a nil entry, which
            // we leave out.
            diff.fields.extend(field(item, "", name, contextual));
            removed = true;
        } else if contextual {
            diff.fields.extend(field(item, item, name, contextual));
        }
    }
    for &item in &new {
        if !old.contains(item) {
            diff.fields.extend(field("", item, name, contextual));
            added = true;
        }
    }
    diff.fields.sort_by(cmp_fields);
    diff.diff_type = match (added, removed) {
        (true, true) => DiffType::Edited,
        (true, false) => DiffType::Added,
        (false, true) => DiffType::Deleted,
        (false, false) if diff.fields.is_empty() => return None,
        (false, false) => DiffType::None,
    };
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat<'a>(items: &[(&'a str, &'a str)]) -> Flat<'a> {
        items
            .iter()
            .map(|(n, v)| (Name::Field(n), Val::Str(v)))
            .collect()
    }

    fn summary(diffs: &[FieldDiff]) -> Vec<(DiffType, &str, &str, &str)> {
        diffs
            .iter()
            .map(|f| (f.diff_type, f.name.as_str(), f.old.as_str(), f.new.as_str()))
            .collect()
    }

    #[test]
    fn field_rule_table() {
        use DiffType::*;
        type Case<'c> = (&'c str, &'c str, bool, Option<(DiffType, &'c str, &'c str)>);
        let cases: &[Case] = &[
            ("a", "a", false, Option::None),
            ("a", "a", true, Some((None, "a", "a"))),
            ("", "", true, Some((None, "", ""))),
            ("", "x", false, Some((Added, "", "x"))),
            ("x", "", false, Some((Deleted, "x", ""))),
            ("x", "y", false, Some((Edited, "x", "y"))),
            ("x", "y", true, Some((Edited, "x", "y"))),
        ];
        for (old, new, contextual, want) in cases {
            let got = field(old, new, "F", *contextual)
                .map(|f| (f.diff_type, f.old.to_string(), f.new.to_string()));
            let want = want.map(|(t, o, n)| (t, o.to_string(), n.to_string()));
            assert_eq!(got, want, "{old:?} → {new:?} contextual={contextual}");
        }
    }

    #[test]
    fn fields_take_the_union_of_names_in_order() {
        let old = flat(&[("A", "1"), ("B", "2"), ("D", "")]);
        let new = flat(&[("B", "3"), ("C", "4"), ("D", "")]);
        assert_eq!(
            summary(&fields(&old, &new, false)),
            [
                (DiffType::Deleted, "A", "1", ""),
                (DiffType::Edited, "B", "2", "3"),
                (DiffType::Added, "C", "", "4"),
            ]
        );
        assert_eq!(
            summary(&fields(&old, &new, true)),
            [
                (DiffType::Deleted, "A", "1", ""),
                (DiffType::Edited, "B", "2", "3"),
                (DiffType::Added, "C", "", "4"),
                (DiffType::None, "D", "", ""),
            ]
        );
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn string_set_table() {
        use DiffType::*;
        type Case<'c> = (&'c [&'c str], &'c [&'c str], bool, Option<DiffType>, usize);
        let cases: &[Case] = &[
            (&["a", "b"], &["b", "a", "a"], false, Option::None, 0),
            (&["a", "b"], &["b", "a"], true, Some(None), 2),
            (&[], &[], true, Option::None, 0),
            (&["a"], &["a", "b"], false, Some(Added), 1),
            (&["a"], &["a", "b"], true, Some(Added), 2),
            (&["a", "b"], &["a"], false, Some(Deleted), 1),
            (&["a"], &["b"], false, Some(Edited), 2),
        ];
        for (old, new, contextual, want_type, want_fields) in cases {
            let got = string_set(&strings(old), &strings(new), "Datacenters", *contextual);
            assert_eq!(
                got.as_ref().map(|d| d.diff_type),
                *want_type,
                "{old:?} → {new:?}"
            );
            assert_eq!(got.map_or(0, |d| d.fields.len()), *want_fields);
        }
    }

    #[test]
    fn string_set_fields_sort_by_old_then_new() {
        let diff = string_set(
            &strings(&["b", "c"]),
            &strings(&["c", "a"]),
            "Policies",
            true,
        )
        .expect("sets differ");
        assert_eq!(diff.diff_type, DiffType::Edited);
        assert_eq!(
            summary(&diff.fields),
            [
                (DiffType::Added, "Policies", "", "a"),
                (DiffType::Deleted, "Policies", "b", ""),
                (DiffType::None, "Policies", "c", "c"),
            ]
        );
    }
}
