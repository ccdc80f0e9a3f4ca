//! Object diffs built from flattened fields: primitive objects, sets of
//! primitive objects matched by content, and Nomad's object order.
//!
//! A "set" item (constraint, artifact, template, network) is identified by
//! all of its content, so an item that changed shows as one `Deleted`
//! object for the old item plus one `Added` object for the new one.

use std::cmp::Ordering;

use super::fields::{cmp_fields, primitive_fields};
use super::flat::{same_text, Primitive};
use super::{DiffStr, DiffType, ObjectDiff};

/// A primitive object: its flattened fields, typed by what changed;
/// `None` when no field changed (even in contextual mode).
pub(super) fn primitive_object<T: Primitive + PartialEq>(
    old: Option<&T>,
    new: Option<&T>,
    name: &'static str,
    contextual: bool,
) -> Option<ObjectDiff> {
    // Equal objects flatten alike: skip the work.
    if old == new {
        return None;
    }
    let fields = primitive_fields(old, new, contextual);
    let (mut added, mut deleted, mut edited) = (false, false, false);
    for f in &fields {
        match f.diff_type {
            DiffType::Added => added = true,
            DiffType::Deleted => deleted = true,
            DiffType::Edited => edited = true,
            DiffType::None => {}
        }
    }
    let diff_type = if edited || (added && deleted) {
        DiffType::Edited
    } else if added {
        DiffType::Added
    } else if deleted {
        DiffType::Deleted
    } else {
        return None;
    };
    Some(ObjectDiff {
        diff_type,
        name: DiffStr::from_static(name),
        fields,
        objects: Vec::new(),
    })
}

/// Appends objects to an object list, allocating room for four on the
/// first one (`extend` grows an empty list through the growth path).
pub(super) fn add_objects(
    list: &mut Vec<ObjectDiff>,
    objects: impl IntoIterator<Item = ObjectDiff>,
) {
    for object in objects {
        if list.capacity() == 0 {
            *list = Vec::with_capacity(4);
        }
        list.push(object);
    }
}

/// The distinct items of a list (Nomad keys them by a content hash, so
/// duplicates collapse).
pub(super) fn distinct<T: PartialEq>(items: &[T]) -> Vec<&T> {
    let mut out: Vec<&T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The items of `old` missing from `new` and those of `new` missing from
/// `old`, each diffed against nothing by `diff`, then sorted.
pub(super) fn set_diff<T, F>(old: &[T], new: &[T], mut diff: F) -> Vec<ObjectDiff>
where
    T: PartialEq,
    F: FnMut(Option<&T>, Option<&T>) -> Option<ObjectDiff>,
{
    if old == new {
        return Vec::new();
    }
    let (old, new) = (distinct(old), distinct(new));
    let mut out = Vec::new();
    for item in &old {
        if !new.contains(item) {
            // An item whose every field is empty yields no object; Nomad
            // would put a JSON null in the list here.
            add_objects(&mut out, diff(Some(item), None));
        }
    }
    for item in &new {
        if !old.contains(item) {
            add_objects(&mut out, diff(None, Some(item)));
        }
    }
    sort_objects(&mut out);
    out
}

/// A set of primitive objects (constraints, artifacts, templates).
pub(super) fn primitive_set<T: Primitive + PartialEq>(
    old: &[T],
    new: &[T],
    name: &'static str,
    contextual: bool,
) -> Vec<ObjectDiff> {
    set_diff(old, new, |o, n| primitive_object(o, n, name, contextual))
}

/// A list keyed by name: `(name, item)` sorted by name, names unique.
pub(super) type Named<'a, T> = Vec<(&'a str, &'a T)>;

/// A name-keyed view of a list; a later item replaces an earlier one of
/// the same name, as in Nomad's name-keyed maps.
pub(super) fn by_name<T>(items: &[T], name: fn(&T) -> &String) -> Named<'_, T> {
    let mut named: Named<'_, T> = items.iter().map(|i| (name(i).as_str(), i)).collect();
    // Stable, so within a name the list order is kept and the last wins.
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            *kept = *later;
        }
        same
    });
    named
}

/// The old and new item of one name (at least one is present).
pub(super) type Matched<'a, T> = (Option<&'a T>, Option<&'a T>);

/// The items of every name on either side, in name order.
pub(super) fn union<'a, T>(old: &Named<'a, T>, new: &Named<'a, T>) -> Vec<Matched<'a, T>> {
    let mut out = Vec::with_capacity(old.len().max(new.len()));
    let (mut i, mut j) = (0, 0);
    loop {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => compare_names(a.0, b.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => return out,
        };
        out.push(match order {
            Ordering::Less => (Some(old[i].1), None),
            Ordering::Greater => (None, Some(new[j].1)),
            Ordering::Equal => (Some(old[i].1), Some(new[j].1)),
        });
        i += usize::from(order.is_le());
        j += usize::from(order.is_ge());
    }
}

/// Name order, with a quick look for the usual case of equal names.
fn compare_names(a: &str, b: &str) -> Ordering {
    if same_text(a, b) {
        Ordering::Equal
    } else {
        a.cmp(b)
    }
}

/// Diffs old and new items paired by name (last of a name wins) with
/// `diff`, in no particular order, keeping the objects shown: for lists
/// whose diffs are sorted afterwards.
pub(super) fn diff_by_name<'a, T>(
    old: &'a [T],
    new: &'a [T],
    name: fn(&T) -> &String,
    mut diff: impl FnMut(Option<&'a T>, Option<&'a T>) -> Option<ObjectDiff>,
    out: &mut Vec<ObjectDiff>,
) {
    // The usual cases: one side only, or the same names in the same
    // order, the names distinct (no list of pairs to build).
    let distinct = |items: &[T]| {
        items
            .iter()
            .enumerate()
            .all(|(i, o)| items[..i].iter().all(|p| !same_text(name(p), name(o))))
    };
    if old.is_empty() && distinct(new) {
        add_objects(out, new.iter().filter_map(|n| diff(None, Some(n))));
    } else if new.is_empty() && distinct(old) {
        add_objects(out, old.iter().filter_map(|o| diff(Some(o), None)));
    } else if old.len() == new.len()
        && old
            .iter()
            .zip(new)
            .all(|(o, n)| same_text(name(o), name(n)))
        && distinct(old)
    {
        add_objects(
            out,
            old.iter()
                .zip(new)
                .filter_map(|(o, n)| diff(Some(o), Some(n))),
        );
    } else {
        diff_pairs_by_name(old, new, name, diff, out);
    }
}

/// [`diff_by_name`] for any lists, through sorted name lists.
fn diff_pairs_by_name<'a, T>(
    old: &'a [T],
    new: &'a [T],
    name: fn(&T) -> &String,
    mut diff: impl FnMut(Option<&'a T>, Option<&'a T>) -> Option<ObjectDiff>,
    out: &mut Vec<ObjectDiff>,
) {
    let pairs = union(&by_name(old, name), &by_name(new, name));
    add_objects(out, pairs.into_iter().filter_map(|(o, n)| diff(o, n)));
}

fn type_rank(t: DiffType) -> u8 {
    match t {
        DiffType::Edited => 0,
        DiffType::Added => 1,
        DiffType::Deleted => 2,
        DiffType::None => 3,
    }
}

/// Nomad's object order: name; type (`Edited` < `Added` < `Deleted` <
/// `None`); fewer fields; fewer objects; then the fields pairwise, then
/// the objects pairwise.
///
/// Nomad's pairwise step answers "less" as soon as *any* pair is less, which
/// is not a consistent order when one pair is less and a later one greater
/// (its result then depends on Go's random map order). Comparing
/// lexicographically agrees with Nomad whenever Nomad's answer is
/// well-defined.
pub(super) fn cmp_objects(a: &ObjectDiff, b: &ObjectDiff) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| type_rank(a.diff_type).cmp(&type_rank(b.diff_type)))
        .then_with(|| a.fields.len().cmp(&b.fields.len()))
        .then_with(|| a.objects.len().cmp(&b.objects.len()))
        .then_with(|| {
            a.fields
                .iter()
                .zip(&b.fields)
                .map(|(x, y)| cmp_fields(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| {
            a.objects
                .iter()
                .zip(&b.objects)
                .map(|(x, y)| cmp_objects(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
}

pub(super) fn sort_objects(objects: &mut [ObjectDiff]) {
    objects.sort_by(cmp_objects);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::FieldDiff;
    use crate::model::{Constraint, LogConfig};

    fn field(t: DiffType, name: &str, old: &str, new: &str) -> FieldDiff {
        FieldDiff {
            annotations: Vec::new(),
            name: name.into(),
            old: old.into(),
            new: new.into(),
            diff_type: t,
        }
    }

    fn object(t: DiffType, name: &str, fields: Vec<FieldDiff>) -> ObjectDiff {
        ObjectDiff {
            diff_type: t,
            name: name.into(),
            fields,
            objects: Vec::new(),
        }
    }

    #[test]
    fn primitive_object_type_follows_its_fields() {
        let a = LogConfig {
            max_files: 10,
            max_file_size_mb: 10,
        };
        let b = LogConfig {
            max_files: 3,
            max_file_size_mb: 10,
        };
        assert_eq!(
            primitive_object(Some(&a), Some(&a), "LogConfig", true),
            None
        );
        let edited = primitive_object(Some(&a), Some(&b), "LogConfig", true).expect("changed");
        assert_eq!(edited.diff_type, DiffType::Edited);
        assert_eq!(
            edited.fields,
            [
                field(DiffType::None, "MaxFileSizeMB", "10", "10"),
                field(DiffType::Edited, "MaxFiles", "10", "3"),
            ]
        );
        let edited = primitive_object(Some(&a), Some(&b), "LogConfig", false).expect("changed");
        assert_eq!(
            edited.fields,
            [field(DiffType::Edited, "MaxFiles", "10", "3")]
        );
        let added = primitive_object(None, Some(&b), "LogConfig", true).expect("added");
        assert_eq!(added.diff_type, DiffType::Added);
        let deleted = primitive_object(Some(&a), None, "LogConfig", true).expect("deleted");
        assert_eq!(deleted.diff_type, DiffType::Deleted);
        assert_eq!(deleted.fields.len(), 2);
    }

    #[test]
    fn added_and_deleted_fields_together_make_an_edited_object() {
        let a = Constraint::new("${attr.a}", "=", "");
        let b = Constraint::new("", "=", "x");
        let diff = primitive_object(Some(&a), Some(&b), "Constraint", false).expect("changed");
        assert_eq!(diff.diff_type, DiffType::Edited);
    }

    #[test]
    fn changed_set_item_is_deleted_plus_added_and_duplicates_collapse() {
        let old = vec![
            Constraint::new("${attr.kernel.name}", "=", "linux"),
            Constraint::new("${attr.arch}", "=", "amd64"),
            Constraint::new("${attr.arch}", "=", "amd64"),
        ];
        let new = vec![
            Constraint::new("${attr.arch}", "=", "amd64"),
            Constraint::new("${attr.kernel.name}", "=", "windows"),
        ];
        let diffs = primitive_set(&old, &new, "Constraint", true);
        assert_eq!(
            diffs,
            [
                object(
                    DiffType::Added,
                    "Constraint",
                    vec![
                        field(DiffType::Added, "LTarget", "", "${attr.kernel.name}"),
                        field(DiffType::Added, "Operand", "", "="),
                        field(DiffType::Added, "RTarget", "", "windows"),
                    ]
                ),
                object(
                    DiffType::Deleted,
                    "Constraint",
                    vec![
                        field(DiffType::Deleted, "LTarget", "${attr.kernel.name}", ""),
                        field(DiffType::Deleted, "Operand", "=", ""),
                        field(DiffType::Deleted, "RTarget", "linux", ""),
                    ]
                ),
            ]
        );
        assert!(primitive_set(&old, &old[..2], "Constraint", true).is_empty());
    }

    /// The in-place pairings give, once sorted, what pairing through
    /// name lists gives: one side empty, same names, other orders,
    /// duplicate names (the last wins).
    #[test]
    fn paired_in_place_agrees_with_pairing_through_name_lists() {
        use crate::diff::flat::StaticPort;
        use crate::model::Port;
        let port = |label: &str, value: i64| Port {
            label: label.into(),
            value,
        };
        let lists = [
            vec![],
            vec![port("a", 1), port("b", 2)],
            vec![port("a", 1), port("b", 3)],
            vec![port("b", 2), port("a", 1)],
            vec![port("a", 1), port("a", 4), port("c", 5)],
            vec![port("c", 5)],
        ];
        let diff = |o: Option<&Port>, n: Option<&Port>| {
            primitive_object(
                o.map(StaticPort).as_ref(),
                n.map(StaticPort).as_ref(),
                "Static Port",
                true,
            )
        };
        for old in &lists {
            for new in &lists {
                let (mut fast, mut general) = (Vec::new(), Vec::new());
                diff_by_name(old, new, |p| &p.label, diff, &mut fast);
                diff_pairs_by_name(old, new, |p| &p.label, diff, &mut general);
                sort_objects(&mut fast);
                sort_objects(&mut general);
                assert_eq!(fast, general, "{old:?} -> {new:?}");
            }
        }
    }

    #[test]
    fn object_order_table() {
        use DiffType::*;
        let f = |n: &str, o: &str, v: &str| field(Added, n, o, v);
        // Each pair: the first sorts before the second.
        let cases = vec![
            (object(None, "A", vec![]), object(Edited, "B", vec![])),
            (object(Edited, "X", vec![]), object(Added, "X", vec![])),
            (object(Added, "X", vec![]), object(Deleted, "X", vec![])),
            (object(Deleted, "X", vec![]), object(None, "X", vec![])),
            (
                object(Added, "X", vec![f("Z", "", "1")]),
                object(Added, "X", vec![f("A", "", "1"), f("B", "", "1")]),
            ),
            (
                object(Added, "X", vec![f("A", "", "1"), f("B", "", "2")]),
                object(Added, "X", vec![f("A", "", "1"), f("B", "", "3")]),
            ),
            (
                object(Added, "X", vec![f("A", "", "1")]),
                ObjectDiff {
                    objects: vec![object(Added, "Y", vec![])],
                    ..object(Added, "X", vec![f("A", "", "1")])
                },
            ),
            (
                ObjectDiff {
                    objects: vec![object(Added, "P", vec![])],
                    ..object(Added, "X", vec![])
                },
                ObjectDiff {
                    objects: vec![object(Added, "Q", vec![])],
                    ..object(Added, "X", vec![])
                },
            ),
        ];
        for (first, second) in cases {
            assert_eq!(cmp_objects(&first, &second), Ordering::Less, "{first:?}");
            assert_eq!(cmp_objects(&second, &first), Ordering::Greater);
            let mut v = vec![second.clone(), first.clone()];
            sort_objects(&mut v);
            assert_eq!(v, [first, second]);
        }
    }
}
