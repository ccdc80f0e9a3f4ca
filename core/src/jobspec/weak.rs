//! mapstructure's weakly typed decoding (`mapstructure.WeakDecode`, plus
//! the string → duration hook) of decoded HCL values into API fields.

use std::collections::BTreeMap;

use super::ast::{equal_fold, Item};
use super::decode::{GoMap, GoValue};
use super::goerror::GoError;
use super::gostrconv::{parse_bool, parse_duration, parse_int, parse_uint};
use super::scanner::Pos;

type Errs = Vec<String>;

/// mapstructure's `*Error`: its points are sorted when rendered.
pub fn render(mut errors: Errs) -> String {
    errors.sort();
    let points: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    format!(
        "{} error(s) decoding:\n\n{}",
        errors.len(),
        points.join("\n")
    )
}

fn unconvertible(name: &str, target: &str, v: &GoValue) -> Errs {
    vec![format!(
        "'{name}' expected type '{target}', got unconvertible type '{}'",
        v.type_name()
    )]
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
fn format_float(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    format!("{f}")
}

/// Go's float → int64 conversion as amd64 does it (out of range gives the
/// minimum).
fn truncate(f: f64) -> i64 {
    // 2^63 as a float; every finite float below it and at or above -2^63
    // converts exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

pub fn weak_string(name: &str, v: &GoValue) -> Result<String, Errs> {
    match v {
        GoValue::Str(s) => Ok(s.clone()),
        GoValue::Bool(b) => Ok(if *b { "1" } else { "0" }.into()),
        GoValue::Int(i) => Ok(i.to_string()),
        GoValue::Float(f) => Ok(format_float(*f)),
        other => Err(unconvertible(name, "string", other)),
    }
}

pub fn weak_int(name: &str, v: &GoValue, target: &str) -> Result<i64, Errs> {
    match v {
        GoValue::Int(i) => Ok(*i),
        GoValue::Float(f) => Ok(truncate(*f)),
        GoValue::Bool(b) => Ok(i64::from(*b)),
        GoValue::Str(s) => {
            parse_int(s, 64).map_err(|e| vec![format!("cannot parse '{name}' as int: {e}")])
        }
        other => Err(unconvertible(name, target, other)),
    }
}

fn weak_uint(name: &str, v: &GoValue) -> Result<u64, Errs> {
    match v {
        GoValue::Int(i) => Ok(*i as u64),
        GoValue::Float(f) => Ok(truncate(*f) as u64),
        GoValue::Bool(b) => Ok(u64::from(*b)),
        GoValue::Str(s) => {
            parse_uint(s).map_err(|e| vec![format!("cannot parse '{name}' as uint: {e}")])
        }
        other => Err(unconvertible(name, "uint64", other)),
    }
}

pub fn weak_bool(name: &str, v: &GoValue) -> Result<bool, Errs> {
    match v {
        GoValue::Bool(b) => Ok(*b),
        GoValue::Int(i) => Ok(*i != 0),
        GoValue::Float(f) => Ok(*f != 0.0),
        GoValue::Str(s) => match parse_bool(s) {
            Ok(b) => Ok(b),
            Err(_) if s.is_empty() => Ok(false),
            Err(e) => Err(vec![format!("cannot parse '{name}' as bool: {e}")]),
        },
        other => Err(unconvertible(name, "bool", other)),
    }
}

fn weak_duration(name: &str, v: &GoValue, hook: bool) -> Result<i64, Errs> {
    match v {
        GoValue::Str(s) if hook => parse_duration(s).map_err(|e| vec![e]),
        other => weak_int(name, other, "time.Duration"),
    }
}

pub fn weak_strings(name: &str, v: &GoValue) -> Result<Vec<String>, Errs> {
    let mut errors = Errs::new();
    let mut out = Vec::new();
    match v {
        GoValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                match weak_string(&format!("{name}[{i}]"), item) {
                    Ok(s) => out.push(s),
                    Err(e) => errors.extend(e),
                }
            }
        }
        GoValue::MapList(maps) => {
            for (i, m) in maps.iter().enumerate() {
                errors.extend(unconvertible(
                    &format!("{name}[{i}]"),
                    "string",
                    &GoValue::Map(m.clone()),
                ));
            }
        }
        GoValue::Map(m) if m.is_empty() => {}
        other => {
            return Err(vec![format!(
                "'{name}': source data must be an array or slice, got {}",
                other.kind_name()
            )])
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// `WeakDecode(m, &map[string]string)`, merging into `into` (later blocks
/// overwrite earlier keys). Errors name the key as `[key]`.
pub fn weak_string_map(m: &GoMap, into: &mut BTreeMap<String, String>) -> Result<(), String> {
    let mut errors = Errs::new();
    for (k, v) in m {
        match weak_string(&format!("[{k}]"), v) {
            Ok(s) => {
                into.insert(k.clone(), s);
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(render(errors))
    }
}

/// One struct decode: looks fields up by their Go name or `mapstructure`
/// tag (exactly, then ignoring case), converts weakly, and gathers every
/// field's errors into one mapstructure error.
pub struct Fields<'m> {
    map: &'m GoMap,
    /// With `StringToTimeDurationHookFunc`: strings parse as durations.
    hook: bool,
    positions: BTreeMap<String, Pos>,
    fallback: Pos,
    errors: Errs,
    error_pos: Option<Pos>,
}

impl<'m> Fields<'m> {
    pub fn new(map: &'m GoMap, hook: bool, block: &[Item<'_>], fallback: Pos) -> Self {
        let mut positions = BTreeMap::new();
        for item in block {
            if let Some(k) = item.key() {
                positions.entry(k.to_string()).or_insert(item.pos());
            }
        }
        Fields {
            map,
            hook,
            positions,
            fallback,
            errors: Errs::new(),
            error_pos: None,
        }
    }

    fn lookup(&self, field: &str) -> Option<(&'m str, &'m GoValue)> {
        if let Some((k, v)) = self.map.get_key_value(field) {
            return Some((k.as_str(), v));
        }
        self.map
            .iter()
            .find(|(k, _)| equal_fold(k, field))
            .map(|(k, v)| (k.as_str(), v))
    }

    fn take<T>(
        &mut self,
        field: &str,
        convert: impl FnOnce(&str, &GoValue) -> Result<T, Errs>,
    ) -> Option<T> {
        let (key, value) = self.lookup(field)?;
        match convert(field, value) {
            Ok(v) => Some(v),
            Err(e) => {
                if self.error_pos.is_none() {
                    self.error_pos =
                        Some(self.positions.get(key).copied().unwrap_or(self.fallback));
                }
                self.errors.extend(e);
                None
            }
        }
    }

    pub fn string(&mut self, field: &str) -> Option<String> {
        self.take(field, weak_string)
    }

    pub fn int(&mut self, field: &str) -> Option<i64> {
        self.take(field, |n, v| weak_int(n, v, "int"))
    }

    pub fn uint(&mut self, field: &str) -> Option<u64> {
        self.take(field, weak_uint)
    }

    pub fn bool(&mut self, field: &str) -> Option<bool> {
        self.take(field, weak_bool)
    }

    pub fn duration(&mut self, field: &str) -> Option<i64> {
        let hook = self.hook;
        self.take(field, |n, v| weak_duration(n, v, hook))
    }

    pub fn strings(&mut self, field: &str) -> Option<Vec<String>> {
        self.take(field, weak_strings)
    }

    /// The gathered errors as one mapstructure error.
    pub fn finish(self) -> Result<(), GoError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        Err(GoError::new(
            self.error_pos.unwrap_or(self.fallback),
            render(self.errors),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, GoValue)]) -> GoMap {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn weak_conversions() {
        assert_eq!(weak_string("x", &GoValue::Int(10)), Ok("10".into()));
        assert_eq!(weak_string("x", &GoValue::Float(2.5)), Ok("2.5".into()));
        assert_eq!(
            weak_string("x", &GoValue::Float(1e21)),
            Ok("1000000000000000000000".into())
        );
        assert_eq!(weak_string("x", &GoValue::Bool(false)), Ok("0".into()));
        assert_eq!(weak_int("x", &GoValue::Str("0x10".into()), "int"), Ok(16));
        assert_eq!(weak_int("x", &GoValue::Float(-2.9), "int"), Ok(-2));
        assert_eq!(weak_bool("x", &GoValue::Str("".into())), Ok(false));
        assert_eq!(
            weak_bool("Enabled", &GoValue::Str("yes".into())),
            Err(vec!["cannot parse 'Enabled' as bool: strconv.ParseBool: parsing \"yes\": invalid syntax".into()])
        );
        assert_eq!(
            weak_strings("Tags", &GoValue::Str("a".into())),
            Err(vec![
                "'Tags': source data must be an array or slice, got string".into()
            ])
        );
        assert_eq!(
            weak_strings(
                "Tags",
                &GoValue::List(vec![GoValue::Int(1), GoValue::List(vec![])])
            ),
            Err(vec![
                "'Tags[1]' expected type 'string', got unconvertible type '[]interface {}'".into()
            ])
        );
    }

    #[test]
    fn fields_match_names_and_tags_and_sort_errors() {
        let m = map(&[
            ("cpu", GoValue::Str("500".into())),
            ("memory", GoValue::List(vec![])),
            ("kill_timeout", GoValue::Str("1x".into())),
        ]);
        let mut f = Fields::new(&m, true, &[], Pos::default());
        assert_eq!(f.int("CPU"), Some(500));
        assert_eq!(f.int("memory"), None);
        assert_eq!(f.duration("kill_timeout"), None);
        assert_eq!(f.int("IOPS"), None);
        assert_eq!(
            f.finish().unwrap_err().text(),
            "2 error(s) decoding:\n\n* 'memory' expected type 'int', got unconvertible type '[]interface {}'\n* time: unknown unit x in duration 1x"
        );
    }

    #[test]
    fn string_maps_merge_and_report_by_key() {
        let mut into = BTreeMap::from([("a".to_string(), "old".to_string())]);
        weak_string_map(
            &map(&[("a", GoValue::Int(1)), ("b", GoValue::Bool(true))]),
            &mut into,
        )
        .unwrap();
        assert_eq!(into["a"], "1");
        assert_eq!(into["b"], "1");
        let err = weak_string_map(&map(&[("x", GoValue::MapList(vec![]))]), &mut into).unwrap_err();
        assert_eq!(
            err,
            "1 error(s) decoding:\n\n* '[x]' expected type 'string', got unconvertible type '[]map[string]interface {}'"
        );
    }
}
