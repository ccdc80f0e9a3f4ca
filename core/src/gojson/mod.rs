//! Decoding request bodies the way Go's `encoding/json` does: only the
//! first JSON value is read, object keys match struct fields
//! case-insensitively, unknown keys and `null`s are ignored, and errors carry
//! Go's texts (`EOF`, `unexpected EOF`, `json: cannot unmarshal …`).
//!
//! A body is read in one pass into a flat [`tape`] of tokens that the
//! decoder walks; anything the tape does not take as a plain, valid first
//! value (bad syntax, a top-level scalar, deep nesting, bad UTF-8) goes to
//! the [`tree`] decoder, whose serde_json parse words the syntax errors.

mod tape;
mod tape_de;
mod tree;

use serde::de::{self, DeserializeOwned};
use serde_json::Value;

/// A decoding failure, rendered with Go's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GoJsonError(pub String);

impl de::Error for GoJsonError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        GoJsonError(msg.to_string())
    }
}

/// Decodes the first JSON value of `body` into `T` (`root` is the Go type
/// name used in top-level type errors, e.g. `api.JobRegisterRequest`).
pub fn from_slice<T: DeserializeOwned>(body: &[u8], root: &'static str) -> Result<T, GoJsonError> {
    match tape::Tape::parse(body) {
        Some(tape) => tape_de::decode(&tape, root),
        None => tree::from_slice(body, root),
    }
}

/// Decodes `body` like [`from_slice`], but the array at the struct field
/// path `path` (`["Job", "TaskGroups"]`) is decoded by itself, its two
/// halves over `fork` when it has at least `min` elements, and handed to
/// `put` (which receives every element, in order). The result is what
/// `from_slice` gives; when anything fails the body is decoded again
/// sequentially, so errors are Go's first error, as there.
pub fn from_slice_split<T, E>(
    body: &[u8],
    root: &'static str,
    path: &'static [&'static str],
    min: usize,
    fork: &impl crate::fork::Fork,
    put: impl FnOnce(&mut T, Vec<E>),
) -> Result<T, GoJsonError>
where
    T: DeserializeOwned,
    E: DeserializeOwned + Send,
{
    let Some(tape) = tape::Tape::parse(body) else {
        return tree::from_slice(body, root);
    };
    match tape_de::decode_split::<T, E>(&tape, root, path, min, fork) {
        Some((mut value, Some(items))) => {
            put(&mut value, items);
            Ok(value)
        }
        Some((value, None)) => Ok(value),
        None => tape_de::decode(&tape, root),
    }
}

/// Reads the first JSON value of `body`, ignoring whatever follows it, as
/// `json.Decoder.Decode` does.
pub fn first_value(body: &[u8]) -> Result<Value, GoJsonError> {
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    match stream.next() {
        None => Err(GoJsonError("EOF".into())),
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(GoJsonError(syntax_error_text(body, &e))),
    }
}

/// Decodes an already parsed value with Go's field matching.
pub fn from_value<T: DeserializeOwned>(
    value: &Value,
    root: &'static str,
) -> Result<T, GoJsonError> {
    tree::from_value(value, root)
}

fn syntax_error_text(body: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected EOF".into();
    }
    // Locate the offending byte from serde_json's line/column.
    let offset = byte_offset(body, e.line(), e.column());
    match body.get(offset.saturating_sub(1)) {
        Some(&b) if e.is_syntax() => {
            format!(
                "invalid character {} {}",
                go_quote_char(b),
                syntax_context(body, offset)
            )
        }
        _ => e.to_string(),
    }
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut current = 1;
    let mut start = 0;
    for (i, b) in body.iter().enumerate() {
        if current == line {
            break;
        }
        if *b == b'\n' {
            current += 1;
            start = i + 1;
        }
    }
    (start + column).min(body.len())
}

fn go_quote_char(b: u8) -> String {
    match b {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("'\\x{b:02x}'"),
    }
}

/// Go's scanner names what it was looking for; approximate it from the last
/// significant byte before the error.
fn syntax_context(body: &[u8], offset: usize) -> &'static str {
    let before = body[..offset.saturating_sub(1)]
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace());
    match before {
        Some(b'{') => "looking for beginning of object key string",
        Some(b',') | Some(b':') | Some(b'[') | None => "looking for beginning of value",
        Some(b'"') => "after object key",
        _ => "after object key:value pair",
    }
}

/// One field of the path from the root to the value being decoded, kept on
/// the stack of the decoding calls and joined only for an error message.
pub(super) struct PathLink<'p> {
    field: &'static str,
    parent: Option<&'p PathLink<'p>>,
}

/// The dotted field path from the root (`Job.TaskGroups.Count`).
fn dotted(mut link: Option<&PathLink<'_>>) -> String {
    let mut fields = Vec::new();
    while let Some(l) = link {
        fields.push(l.field);
        link = l.parent;
    }
    fields.reverse();
    fields.join(".")
}

#[derive(Clone, Copy)]
pub(super) struct Ctx<'p> {
    /// Go name of the innermost struct being decoded.
    struct_name: &'static str,
    /// The innermost struct field on the way to the value.
    path: Option<&'p PathLink<'p>>,
    /// The field being decoded (selects Go type names).
    field: &'static str,
    root: &'static str,
}

impl Ctx<'_> {
    /// Go's error for a value of JSON kind `kind` (`string`, `number 5`)
    /// that does not fit the Go type `go_type` of the field being decoded.
    fn type_error(&self, kind: &str, go_type: &str) -> GoJsonError {
        let go_type = go_type_of_field(self.field, go_type);
        if self.struct_name.is_empty() {
            GoJsonError(format!(
                "json: cannot unmarshal {} into Go value of type {}",
                kind,
                if self.root.is_empty() {
                    &go_type
                } else {
                    self.root
                }
            ))
        } else {
            GoJsonError(format!(
                "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
                kind,
                self.struct_name,
                dotted(self.path),
                go_type
            ))
        }
    }
}

/// Go type names of fields whose Rust type does not tell them apart.
fn go_type_of_field(field: &str, fallback: &str) -> String {
    const DURATIONS: &[&str] = &[
        "Interval",
        "Timeout",
        "Stagger",
        "MinHealthyTime",
        "HealthyDeadline",
        "KillTimeout",
        "ShutdownDelay",
        "Delay",
        "Splay",
        "VaultGrace",
        "Wait",
    ];
    const UINT64: &[&str] = &[
        "Version",
        "CreateIndex",
        "ModifyIndex",
        "JobModifyIndex",
        "JobVersion",
        "EnforcePriorVersion",
    ];
    const STRING_LISTS: &[&str] = &[
        "Datacenters",
        "MetaRequired",
        "MetaOptional",
        "Tags",
        "Args",
        "Policies",
    ];
    if DURATIONS.contains(&field) {
        "time.Duration".into()
    } else if UINT64.contains(&field) {
        "uint64".into()
    } else if field == "SubmitTime" {
        "int64".into()
    } else if STRING_LISTS.contains(&field) {
        "[]string".into()
    } else {
        fallback.into()
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename = "TaskGroup")]
    struct Group {
        #[serde(rename = "Name")]
        name: Option<String>,
        #[serde(rename = "Count")]
        count: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename = "Job")]
    struct Job {
        #[serde(rename = "ID")]
        id: Option<String>,
        #[serde(rename = "TaskGroups")]
        task_groups: Option<Vec<Group>>,
        #[serde(rename = "Meta")]
        meta: Option<std::collections::BTreeMap<String, String>>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename = "JobRegisterRequest")]
    struct Req {
        #[serde(rename = "Job")]
        job: Option<Job>,
    }

    #[test]
    fn keys_match_case_insensitively_and_last_wins() {
        let r: Req = from_slice(
            br#"{"job":{"id":"a","ID":"b","meta":{"Key":"v"},"Bogus":1}}"#,
            "api.JobRegisterRequest",
        )
        .unwrap();
        let job = r.job.unwrap();
        assert_eq!(job.id.as_deref(), Some("b"));
        assert_eq!(job.meta.unwrap().get("Key").map(String::as_str), Some("v"));
    }

    #[test]
    fn the_last_member_in_document_order_wins() {
        let r: Req = from_slice(
            br#"{"Job":{"ID":"a","id":"b","ID":"c","Meta":{"k":"1","k":"2"}}}"#,
            "api.JobRegisterRequest",
        )
        .unwrap();
        let job = r.job.unwrap();
        assert_eq!(job.id.as_deref(), Some("c"));
        assert_eq!(job.meta.unwrap()["k"], "2");
        // A later null clears an earlier value (the fields are pointers in Go).
        let r: Req =
            from_slice(br#"{"Job":{"ID":"a","id":null}}"#, "api.JobRegisterRequest").unwrap();
        assert_eq!(r.job.unwrap().id, None);
        // Not UTF-8: refused, not decoded.
        assert!(
            from_slice::<Req>(b"{\"Job\":{\"ID\":\"\xff\"}}", "api.JobRegisterRequest").is_err()
        );
    }

    #[test]
    fn escaped_strings_and_free_form_values_decode() {
        #[derive(Debug, Deserialize)]
        #[serde(rename = "Task")]
        struct Task {
            #[serde(rename = "Name")]
            name: Option<String>,
            #[serde(rename = "Config")]
            config: Option<serde_json::Map<String, Value>>,
        }
        let body = br#"{"name":"a\u0062\"c","Config":{"n":-3,"u":7,"f":1.5,"l":[true,null,"x\n"],"m":{"k":{}}}}"#;
        let t: Task = from_slice(body, "api.Task").unwrap();
        assert_eq!(t.name.as_deref(), Some("ab\"c"));
        let config = Value::Object(t.config.unwrap());
        assert_eq!(
            config,
            serde_json::json!({"n": -3, "u": 7, "f": 1.5, "l": [true, null, "x\n"], "m": {"k": {}}})
        );
        // The same through an already parsed value.
        let parsed: Value = serde_json::from_slice(body).unwrap();
        let again: Task = from_value(&parsed, "api.Task").unwrap();
        assert_eq!(Value::Object(again.config.unwrap()), config);
    }

    #[test]
    fn null_is_absent() {
        let r: Req = from_slice(br#"{"Job":{"ID":null}}"#, "api.JobRegisterRequest").unwrap();
        assert_eq!(r.job.unwrap().id, None);
    }

    #[test]
    fn trailing_data_is_ignored() {
        let r: Req =
            from_slice(br#"{"Job":{"ID":"x"}} garbage"#, "api.JobRegisterRequest").unwrap();
        assert_eq!(r.job.unwrap().id.as_deref(), Some("x"));
    }

    #[test]
    fn go_error_texts() {
        let err = |b: &[u8]| {
            from_slice::<Req>(b, "api.JobRegisterRequest")
                .unwrap_err()
                .0
        };
        assert_eq!(err(b""), "EOF");
        assert_eq!(err(b"   "), "EOF");
        assert_eq!(err(br#"{"Job": {"ID": "inv-malformed","#), "unexpected EOF");
        assert_eq!(
            err(br#"{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Count":"3"}]}}"#),
            "json: cannot unmarshal string into Go struct field TaskGroup.Job.TaskGroups.Count of type int"
        );
        assert_eq!(
            err(br#"[1]"#),
            "json: cannot unmarshal array into Go value of type api.JobRegisterRequest"
        );
        assert_eq!(
            err(br#"{"Job":{"ID":5}}"#),
            "json: cannot unmarshal number 5 into Go struct field Job.Job.ID of type string"
        );
        assert_eq!(
            err(b"{x"),
            "invalid character 'x' looking for beginning of object key string"
        );
    }
}

#[cfg(test)]
mod differential;
