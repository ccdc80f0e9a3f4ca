//! `nomad run -output`: the API job as Go's `json.MarshalIndent` prints
//! `{"Job": …}` — 4-space indent, sorted map keys, HTML-safe escapes.

use serde_json::{Map, Value};

use crate::model::api::ApiJob;

/// The text `nomad run -output` prints for a job, trailing newline
/// included. Struct fields keep the API declaration order; maps (driver
/// `config` included, at every depth) are sorted by key as Go sorts them.
pub fn to_output_json(job: &ApiJob) -> String {
    let mut job = job.clone();
    for group in job.task_groups.iter_mut().flatten() {
        for task in group.tasks.iter_mut().flatten() {
            if let Some(config) = task.config.take() {
                task.config = Some(sorted_map(config));
            }
        }
    }
    // Serializing the API types cannot fail: every map has string keys.
    let job = serde_json::to_value(&job).unwrap_or(Value::Null);
    let mut out = String::new();
    write_value(
        &mut out,
        &Value::Object(Map::from_iter([("Job".to_string(), job)])),
        0,
    );
    out.push('\n');
    out
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(sorted_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn sorted_map(m: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().map(|(k, v)| (k, sorted(v))).collect()
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("    ");
    }
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&go_float(n.as_f64().unwrap_or(0.0)));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

/// Go's float64 encoding: plain digits, or exponent form (`1e+21`,
/// `1e-7`) outside [1e-6, 1e21), shortest round-trip digits either way.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let sci = format!("{f:e}");
        return match sci.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => sci,
        };
    }
    format!("{f}")
}

/// Go's JSON string escaping with HTML escaping on (`<`, `>`, `&` as
/// `\u003c`…), U+2028/U+2029 escaped, other controls as `\u00XX`.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_like_go() {
        let mut s = String::new();
        write_string(&mut s, "a<b>&\"\\\n\t\u{1}\u{2028}é");
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\u2028é""#);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(2.5), "2.5");
        assert_eq!(go_float(-0.000001), "-0.000001");
        assert_eq!(go_float(0.0000001), "1e-7");
        assert_eq!(go_float(1.5e-10), "1.5e-10");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(123456789.0), "123456789");
    }

    #[test]
    fn layout_and_sorted_config() {
        let mut job = ApiJob {
            id: Some("x".into()),
            ..ApiJob::default()
        };
        let mut config = Map::new();
        config.insert("b".into(), Value::from(1));
        config.insert("a".into(), serde_json::json!([{"z": 1, "y": []}]));
        job.task_groups = Some(vec![crate::model::api::ApiTaskGroup {
            tasks: Some(vec![crate::model::api::ApiTask {
                config: Some(config),
                ..Default::default()
            }]),
            ..Default::default()
        }]);
        let text = to_output_json(&job);
        assert!(text.starts_with("{\n    \"Job\": {\n        \"Stop\": null,\n        \"Region\": null,\n        \"ID\": \"x\",\n"));
        assert!(text.contains(
            "\"Config\": {\n                            \"a\": [\n                                {\n                                    \"y\": [],\n                                    \"z\": 1\n                                }\n                            ],\n                            \"b\": 1\n                        },"
        ));
        assert!(text.ends_with("        \"JobModifyIndex\": null\n    }\n}\n"));
    }
}
