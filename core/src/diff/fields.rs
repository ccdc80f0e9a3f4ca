//! The field diff rule, field lists of two flattened objects, and string
//! sets (datacenters, Vault policies, parameterized meta lists).
//!
//! A missing name and an empty value are the same thing (`""`), so
//! `"" → "x"` is `Added` and `"x" → ""` is `Deleted`.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::flat::{same_text, Entry, Fields, Flat, Primitive, PrimitiveFields, Val};
use super::{DiffStr, DiffType, FieldDiff, ObjectDiff};
use crate::model::StringMap;

/// One field: `None` (only when `contextual`) if unchanged, else `Added`,
/// `Deleted` or `Edited`.
pub(super) fn field(
    old: &str,
    new: &str,
    name: &'static str,
    contextual: bool,
) -> Option<FieldDiff> {
    text_field(|| DiffStr::from_static(name), old, new, contextual)
}

/// [`field`] with a name rendered only when the field is shown, and an
/// unchanged value copied once.
fn text_field(
    name: impl FnOnce() -> DiffStr,
    old: &str,
    new: &str,
    contextual: bool,
) -> Option<FieldDiff> {
    let diff_type = text_change(old, new, contextual)?;
    Some(text_diff(name(), old, new, diff_type))
}

/// The type of a text field's diff; `None` when it is hidden (unchanged,
/// not contextual).
fn text_change(old: &str, new: &str, contextual: bool) -> Option<DiffType> {
    Some(if same_text(old, new) {
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
    })
}

/// The diff of a shown text field. Built where it is pushed, so that
/// the (large) `FieldDiff` is not moved through an `Option` first.
#[inline(always)]
fn text_diff(name: DiffStr, old: &str, new: &str, diff_type: DiffType) -> FieldDiff {
    let old = DiffStr::from(old);
    let new = if diff_type == DiffType::None {
        old.clone()
    } else {
        DiffStr::from(new)
    };
    FieldDiff {
        annotations: Vec::new(),
        name,
        old,
        new,
        diff_type,
    }
}

/// [`field`] on integers, rendered only when the field is shown (an
/// integer is never empty, so a change is always `Edited`).
fn int_field(name: &'static str, old: i64, new: i64, contextual: bool) -> Option<FieldDiff> {
    let (diff_type, old, new) = if old == new {
        if !contextual {
            return None;
        }
        let text = DiffStr::from_int(old);
        (DiffType::None, text.clone(), text)
    } else {
        (
            DiffType::Edited,
            DiffStr::from_int(old),
            DiffStr::from_int(new),
        )
    };
    Some(FieldDiff {
        annotations: Vec::new(),
        name: DiffStr::from_static(name),
        old,
        new,
        diff_type,
    })
}

/// The field diffs of two fully flattened objects over the union of their
/// names, in Nomad's field order (both inputs are sorted with unique
/// names, so the merge is already ordered by name).
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
        if let Some(diff) = flat_field(|| name.render(), old_value, new_value, contextual) {
            let capacity = if contextual || old.is_empty() || new.is_empty() {
                old.len().max(new.len())
            } else {
                4
            };
            push_reserved(&mut out, capacity, diff);
        }
    }
    out
}

/// The field diffs of two objects of one type through their primitive
/// flattenings, in Nomad's field order. Both sides write the same names in
/// name order, so the new side's fields pair up one by one with the old
/// side's as they are written; only map entries are merged by key.
pub(super) fn primitive_fields<T: Primitive>(
    old: Option<&T>,
    new: Option<&T>,
    contextual: bool,
) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut fields = PrimitiveFields::new();
    match (old, new) {
        (Some(old), Some(new)) => {
            old.fill(&mut fields);
            // Allocate once: contextual lists show (almost) every entry,
            // others few.
            let capacity = if contextual { entry_count(&fields) } else { 4 };
            new.fill(&mut Pairing {
                old: &fields,
                next: 0,
                contextual,
                capacity,
                out: &mut out,
            });
        }
        (Some(one), None) | (None, Some(one)) => {
            // An added or deleted object shows every entry.
            one.fill(&mut fields);
            let capacity = entry_count(&fields);
            for (name, entry) in fields.iter() {
                let (o, n) = if old.is_some() {
                    (Some(entry), None)
                } else {
                    (None, Some(entry))
                };
                entry_fields(name, o, n, contextual, capacity, &mut out);
            }
        }
        (None, None) => {}
    }
    out
}

/// Diffs each field of the new side, as it is written, against the old
/// side's field at the same place.
struct Pairing<'o, 'a> {
    old: &'o PrimitiveFields<'a>,
    next: usize,
    contextual: bool,
    capacity: usize,
    out: &'o mut Vec<FieldDiff>,
}

impl<'a> Fields<'a> for Pairing<'_, 'a> {
    fn field(&mut self, name: &'static str, entry: Entry<'a>) {
        let old = self.old.get(self.next).map(|(n, e)| {
            debug_assert_eq!(n, name, "both sides write the same fields");
            e
        });
        self.next += 1;
        match (old, entry) {
            // Strings, the most common fields, without a call.
            (Some(Entry::Str(a)), Entry::Str(b)) => {
                if let Some(diff_type) = text_change(a, b, self.contextual) {
                    reserve_once(self.out, self.capacity);
                    let name = DiffStr::from_static(name);
                    self.out.push(text_diff(name, a, b, diff_type));
                }
                return;
            }
            // Most fields of two versions are equal, and then hidden
            // unless contextual: skip them without a call.
            (Some(old), _) if !self.contextual && same_value(old, entry) => return,
            _ => {}
        }
        entry_fields(
            name,
            old,
            Some(entry),
            self.contextual,
            self.capacity,
            self.out,
        );
    }
}

/// Whether two entries of one field are the same value (maps are left
/// to [`map_fields`], which skips their equal entries itself).
fn same_value(a: Entry<'_>, b: Entry<'_>) -> bool {
    match (a, b) {
        (Entry::Str(a), Entry::Str(b)) => same_text(a, b),
        (Entry::Int(a), Entry::Int(b)) => a == b,
        (Entry::Static(a), Entry::Static(b)) => same_text(a, b),
        _ => false,
    }
}

/// The map of an absent object (static: a local empty map costs a drop).
static NO_MAP: StringMap = StringMap::new();

/// The shown fields of one primitive field (a map shows its entries).
fn entry_fields(
    name: &'static str,
    old: Option<Entry<'_>>,
    new: Option<Entry<'_>>,
    contextual: bool,
    capacity: usize,
    out: &mut Vec<FieldDiff>,
) {
    match (old, new) {
        (Some(Entry::Map(a)), Some(Entry::Map(b))) => {
            map_fields(name, a, b, contextual, capacity, out);
        }
        (Some(Entry::Map(a)), None) => map_fields(name, a, &NO_MAP, contextual, capacity, out),
        (None, Some(Entry::Map(b))) => map_fields(name, &NO_MAP, b, contextual, capacity, out),
        // The usual fields, compared without going through `Val`; a
        // missing string is `""`.
        (Some(Entry::Str(a)), Some(Entry::Str(b))) => {
            if let Some(diff_type) = text_change(a, b, contextual) {
                reserve_once(out, capacity);
                out.push(text_diff(DiffStr::from_static(name), a, b, diff_type));
            }
        }
        (Some(Entry::Str(a)), None) | (None, Some(Entry::Str(a))) => {
            let (a, b) = if old.is_some() { (a, "") } else { ("", a) };
            if let Some(diff_type) = text_change(a, b, contextual) {
                reserve_once(out, capacity);
                out.push(text_diff(DiffStr::from_static(name), a, b, diff_type));
            }
        }
        (Some(Entry::Int(a)), Some(Entry::Int(b))) => {
            if let Some(diff) = int_field(name, a, b, contextual) {
                push_reserved(out, capacity, diff);
            }
        }
        // An added or deleted object's integers and bools (never empty).
        (Some(Entry::Int(a)), None) | (None, Some(Entry::Int(a))) => {
            let (diff_type, text) = (one_side_type(old.is_some()), DiffStr::from_int(a));
            let (old, new) = one_side(old.is_some(), text);
            push_reserved(out, capacity, shown_field(name, old, new, diff_type));
        }
        (Some(Entry::Static(a)), None) | (None, Some(Entry::Static(a))) if !a.is_empty() => {
            let (diff_type, text) = (one_side_type(old.is_some()), DiffStr::from_static(a));
            let (old, new) = one_side(old.is_some(), text);
            push_reserved(out, capacity, shown_field(name, old, new, diff_type));
        }
        (o, n) => {
            let (o, n) = (o.and_then(Entry::val), n.and_then(Entry::val));
            let shown = flat_field(
                || DiffStr::from_static(name),
                o.as_ref(),
                n.as_ref(),
                contextual,
            );
            if let Some(diff) = shown {
                push_reserved(out, capacity, diff);
            }
        }
    }
}

/// The type of a field present on the old side only (`Deleted`) or on
/// the new side only (`Added`), its value not empty.
fn one_side_type(on_old_side: bool) -> DiffType {
    if on_old_side {
        DiffType::Deleted
    } else {
        DiffType::Added
    }
}

/// `(old, new)` of a field present on one side.
fn one_side(on_old_side: bool, text: DiffStr) -> (DiffStr, DiffStr) {
    if on_old_side {
        (text, DiffStr::new())
    } else {
        (DiffStr::new(), text)
    }
}

fn shown_field(name: &'static str, old: DiffStr, new: DiffStr, diff_type: DiffType) -> FieldDiff {
    FieldDiff {
        annotations: Vec::new(),
        name: DiffStr::from_static(name),
        old,
        new,
        diff_type,
    }
}

/// How many entries a primitive flattening stands for.
fn entry_count(fields: &PrimitiveFields<'_>) -> usize {
    fields
        .iter()
        .map(|(_, e)| match e {
            Entry::Map(m) => m.len(),
            _ => 1,
        })
        .sum()
}

fn push_reserved(out: &mut Vec<FieldDiff>, capacity: usize, diff: FieldDiff) {
    reserve_once(out, capacity);
    out.push(diff);
}

/// Allocates a field list once, for all the fields it will hold (as a
/// new list: `with_capacity` allocates straight away, where `reserve`
/// goes through the growth path).
fn reserve_once(out: &mut Vec<FieldDiff>, capacity: usize) {
    if out.capacity() == 0 {
        *out = Vec::with_capacity(capacity);
    }
}

/// The `Field[key]` entries of one map field over the union of the keys
/// of both sides. Keys come in key order, which is name order unless a
/// shown key is a prefix of the next one followed by a byte below `]`
/// (`a` then `a b`: `Env[a b]` < `Env[a]`); then the entries are sorted.
fn map_fields(
    field: &'static str,
    old: &StringMap,
    new: &StringMap,
    contextual: bool,
    capacity: usize,
    out: &mut Vec<FieldDiff>,
) {
    let start = out.len();
    let mut in_name_order = true;
    let mut previous: Option<&str> = None;
    let (mut olds, mut news) = (old.iter(), new.iter());
    let (mut o, mut n) = (olds.next(), news.next());
    loop {
        let (key, old_value, new_value) = match (o, n) {
            (None, None) => break,
            (Some((k, v)), None) => {
                o = olds.next();
                (k, Some(v), None)
            }
            (None, Some((k, v))) => {
                n = news.next();
                (k, None, Some(v))
            }
            (Some((k, v)), Some((l, w))) => match compare_keys(k, l) {
                Ordering::Less => {
                    o = olds.next();
                    (k, Some(v), None)
                }
                Ordering::Greater => {
                    n = news.next();
                    (l, None, Some(w))
                }
                Ordering::Equal => {
                    o = olds.next();
                    n = news.next();
                    // Most entries of two versions are equal: hidden
                    // unless contextual, and nothing to render.
                    if !contextual && same_text(v, w) {
                        continue;
                    }
                    (k, Some(v), Some(w))
                }
            },
        };
        let (old_value, new_value) = (
            old_value.map_or("", String::as_str),
            new_value.map_or("", String::as_str),
        );
        if let Some(diff_type) = text_change(old_value, new_value, contextual) {
            if previous.is_some_and(|p| sorts_after_its_extension(p, key)) {
                in_name_order = false;
            }
            previous = Some(key);
            reserve_once(out, capacity);
            let name = DiffStr::keyed(field, key);
            out.push(text_diff(name, old_value, new_value, diff_type));
        }
    }
    if !in_name_order {
        out[start..].sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Key order, with a quick look for the usual case of equal keys.
fn compare_keys(a: &str, b: &str) -> Ordering {
    if same_text(a, b) {
        Ordering::Equal
    } else {
        a.cmp(b)
    }
}

/// Whether `key` (after `previous` in key order) extends `previous` with a
/// byte below `]`, so that `Field[key]` sorts before `Field[previous]`.
fn sorts_after_its_extension(previous: &str, key: &str) -> bool {
    key.as_bytes()
        .get(previous.len())
        .is_some_and(|&c| c < b']')
        && key.starts_with(previous)
}

/// [`field`] on flattened values (a missing value is `""`), rendering
/// names and values only for a field that is shown.
fn flat_field(
    name: impl FnOnce() -> DiffStr,
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
    let old = old.map_or_else(DiffStr::new, Val::render);
    // An unchanged value is one text: render it once.
    let new = match new {
        Some(_) if diff_type == DiffType::None => old.clone(),
        _ => new.map_or_else(DiffStr::new, Val::render),
    };
    Some(FieldDiff {
        annotations: Vec::new(),
        name: name(),
        old,
        new,
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
    use super::super::flat::Name;
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

    #[test]
    fn map_entries_merge_by_key_and_show_in_name_order() {
        use crate::model::Task;
        let task = |env: &[(&str, &str)]| Task {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Task::default()
        };
        let old = task(&[("a", "1"), ("a b", "2"), ("c", "3"), ("d", "")]);
        let new = task(&[("a", "1"), ("a b", "4"), ("b", "5"), ("d", "")]);
        assert_eq!(
            summary(&primitive_fields(Some(&old), Some(&new), false)),
            [
                (DiffType::Edited, "Env[a b]", "2", "4"),
                (DiffType::Added, "Env[b]", "", "5"),
                (DiffType::Deleted, "Env[c]", "3", ""),
            ]
        );
        // Only `a` and `a b` shown together are out of key order.
        assert_eq!(
            summary(&primitive_fields(Some(&old), Some(&new), true))[..6],
            [
                (DiffType::None, "Driver", "", ""),
                (DiffType::Edited, "Env[a b]", "2", "4"),
                (DiffType::None, "Env[a]", "1", "1"),
                (DiffType::Added, "Env[b]", "", "5"),
                (DiffType::Deleted, "Env[c]", "3", ""),
                (DiffType::None, "Env[d]", "", ""),
            ]
        );
        assert_eq!(
            summary(&primitive_fields(None, Some(&new), false))[..4],
            [
                (DiffType::Added, "Env[a b]", "", "4"),
                (DiffType::Added, "Env[a]", "", "1"),
                (DiffType::Added, "Env[b]", "", "5"),
                (DiffType::Added, "KillTimeout", "", "0"),
            ]
        );
    }

    /// The string and integer shortcuts show what the general rule on
    /// flattened values shows (a missing value is `""`).
    #[test]
    fn text_and_int_fields_agree_with_flat_field() {
        let name = || DiffStr::from_static("F");
        let texts = [
            "",
            "a",
            "b",
            "10",
            "value-1-2-3",
            "a string longer than 22 bytes",
        ];
        let ints = [0, 7, -7, 10, 5_000_000_000];
        for contextual in [false, true] {
            for old in texts {
                let old_val = Val::Str(old);
                for new in texts {
                    let new_val = Val::Str(new);
                    let general = flat_field(name, Some(&old_val), Some(&new_val), contextual);
                    assert_eq!(text_field(name, old, new, contextual), general);
                }
                let general = flat_field(name, Some(&old_val), None, contextual);
                assert_eq!(text_field(name, old, "", contextual), general);
                let general = flat_field(name, None, Some(&old_val), contextual);
                assert_eq!(text_field(name, "", old, contextual), general);
            }
            for old in ints {
                for new in ints {
                    let general =
                        flat_field(name, Some(&Val::Int(old)), Some(&Val::Int(new)), contextual);
                    assert_eq!(int_field("F", old, new, contextual), general);
                }
            }
        }
    }

    /// Entries of one side only (an added or deleted object) show what
    /// the general rule on flattened values shows.
    #[test]
    fn one_sided_entries_agree_with_flat_field() {
        let entries = [
            Entry::Int(0),
            Entry::Int(-7),
            Entry::Int(5_000_000_000),
            Entry::Static("true"),
            Entry::Static(""),
            Entry::Str("x"),
            Entry::Str(""),
        ];
        for contextual in [false, true] {
            for entry in entries {
                for (o, n) in [(Some(entry), None), (None, Some(entry))] {
                    let mut out = Vec::new();
                    entry_fields("F", o, n, contextual, 1, &mut out);
                    let (o, n) = (o.and_then(Entry::val), n.and_then(Entry::val));
                    let general = flat_field(
                        || DiffStr::from_static("F"),
                        o.as_ref(),
                        n.as_ref(),
                        contextual,
                    );
                    assert_eq!(out, Vec::from_iter(general), "{entry:?}");
                }
            }
        }
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
