//! The tape decoder against the tree decoder it replaces: on generated
//! bodies (random key casing, duplicates, nulls, escapes, numbers of every
//! shape, truncations and corruptions) both give the same value or the
//! same error text.

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{from_slice, from_slice_split, tape::Tape, tape_de, tree};
use crate::fork::SecondFirst;
use crate::model::api::ApiTaskGroup;
use crate::model::requests::JobPlanRequest;

/// Field names of the plan request and the job inside it (and a few that
/// are not fields anywhere).
const KEYS: &[&str] = &[
    "Job",
    "Diff",
    "Region",
    "ID",
    "Name",
    "Type",
    "Priority",
    "Datacenters",
    "TaskGroups",
    "Count",
    "Tasks",
    "Driver",
    "Config",
    "Meta",
    "Env",
    "Resources",
    "CPU",
    "MemoryMB",
    "Constraints",
    "LTarget",
    "RTarget",
    "Operand",
    "Update",
    "Stagger",
    "MaxParallel",
    "Periodic",
    "Enabled",
    "Spec",
    "Services",
    "PortLabel",
    "Networks",
    "MBits",
    "Version",
    "SubmitTime",
    "Args",
    "Tags",
    "KillTimeout",
    "RestartPolicy",
    "Attempts",
    "Interval",
    "Mode",
    "EphemeralDisk",
    "SizeMB",
    "Artifacts",
    "Templates",
    "AllAtOnce",
    "Bogus",
    "",
];

fn key() -> impl Strategy<Value = String> {
    (prop::sample::select(KEYS), any::<u64>()).prop_map(|(k, case)| {
        k.chars()
            .enumerate()
            .map(|(i, c)| {
                if case >> (i % 64) & 1 == 1 {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect()
    })
}

fn string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9 ._-]{0,6}",
        Just("é".to_string()),
        Just("😀".to_string()),
        prop::sample::select(vec![
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\n",
            "\\r",
            "\\t",
            "\\u0041",
            "\\u00e9",
            "\\u0000",
            "\\ud83d\\ude00",
            "\\uD834\\uDD1E",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()))
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u32..1000).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?",
        prop::sample::select(vec![
            "0",
            "-0",
            "-0.0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1e308",
            "2.5E-3",
            "1E+2",
        ])
        .prop_map(str::to_string),
    ]
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        number(),
        string(),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            object(inner),
        ]
    })
}

fn object(inner: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop::collection::vec((key(), inner, " {0,2}"), 0..6).prop_map(|members| {
        let members: Vec<String> = members
            .into_iter()
            .map(|(k, v, ws)| format!("{ws}\"{k}\"{ws}:{ws}{v}"))
            .collect();
        format!("{{{}}}", members.join(","))
    })
}

/// A body shaped like a plan request: `{"Job": {...}, ...}` with members
/// that are often of the right type.
fn plan_body() -> impl Strategy<Value = String> {
    let group = object(value()).prop_map(|g| with_members("\"Tasks\":[{}]", &g));
    let job = (
        object(value()),
        prop::collection::vec(group, 0..3),
        "[a-z]{1,5}",
    )
        .prop_map(|(extra, groups, id)| {
            let first = format!("\"ID\":\"{id}\",\"TaskGroups\":[{}]", groups.join(","));
            with_members(&first, &extra)
        });
    (
        job,
        object(value()),
        prop::sample::select(vec!["", " ", "\n", " trailing", "{"]),
    )
        .prop_map(|(job, extra, tail)| with_members(&format!("\"job\":{job}"), &extra) + tail)
}

/// The object text `object` with `members` put first.
fn with_members(members: &str, object: &str) -> String {
    match &object[1..] {
        "}" => format!("{{{members}}}"),
        rest => format!("{{{members},{rest}"),
    }
}

/// How deep brackets nest in `text` (strings not taken into account).
fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Breaks a body: cuts it, drops, replaces or inserts one byte.
fn corrupt(body: String) -> impl Strategy<Value = Vec<u8>> {
    let len = body.len();
    (
        0..4u8,
        0..=len,
        any::<u8>(),
        prop::sample::select(b"{}[]\":,\\ 0-.eEtn\xff".to_vec()),
    )
        .prop_map(move |(how, at, byte, token)| {
            let mut b = body.clone().into_bytes();
            let at = at.min(b.len());
            match how {
                0 => b.truncate(at),
                1 if at < b.len() => {
                    b.remove(at);
                }
                2 if at < b.len() => b[at] = token,
                _ => b.insert(at, if byte % 2 == 0 { token } else { byte }),
            }
            b
        })
}

/// Both decoders agree on `body`, compared through `Debug` (so `-0.0` and
/// `0.0` differ); a body the tape refuses is one the tree refuses too,
/// unless it is not UTF-8 after the first value.
fn agree<T: DeserializeOwned + std::fmt::Debug>(body: &[u8], root: &'static str) {
    let old = format!("{:?}", tree::from_slice::<T>(body, root));
    let new = format!("{:?}", from_slice::<T>(body, root));
    assert_eq!(new, old, "body {:?}", String::from_utf8_lossy(body));
    match Tape::parse(body) {
        Some(tape) => {
            let direct = format!("{:?}", tape_de::decode::<T>(&tape, root));
            assert_eq!(direct, old);
        }
        None => {
            let text = std::str::from_utf8(body);
            let top_container = text.is_ok_and(|t| t.trim_start().starts_with(['{', '[']));
            if top_container && text.is_ok_and(|t| nesting(t) <= 100) {
                assert!(old.starts_with("Err"), "refused valid {:?}", text);
            }
        }
    }
}

/// Decoding the job's task groups apart, in two halves taken second half
/// first, gives `from_slice`'s value or error.
fn split_agrees(body: &[u8]) {
    let root = "api.JobPlanRequest";
    let whole = format!("{:?}", from_slice::<JobPlanRequest>(body, root));
    let split = from_slice_split::<JobPlanRequest, ApiTaskGroup>(
        body,
        root,
        &["Job", "TaskGroups"],
        2,
        &SecondFirst::default(),
        |r, groups| {
            if let Some(job) = &mut r.job {
                job.task_groups = Some(groups);
            }
        },
    );
    assert_eq!(
        format!("{split:?}"),
        whole,
        "body {:?}",
        String::from_utf8_lossy(body)
    );
}

fn agree_all(body: &[u8]) {
    agree::<JobPlanRequest>(body, "api.JobPlanRequest");
    agree::<Value>(body, "");
    split_agrees(body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn plan_requests_decode_alike(body in plan_body()) {
        agree_all(body.as_bytes());
    }

    #[test]
    fn any_values_decode_alike(body in value()) {
        agree_all(body.as_bytes());
    }

    #[test]
    fn broken_bodies_fail_alike(body in plan_body().prop_flat_map(corrupt)) {
        agree_all(&body);
    }
}

#[test]
fn hand_picked_bodies_decode_alike() {
    for body in [
        &b""[..],
        b" \n",
        b"{}",
        b"[]",
        b"null",
        b"5",
        b"\"x\"",
        br#"{"Job":{"ID":"a","id":null,"Id":"c"},"diff":true,"DIFF":false}"#,
        br#"{"Job":{"TaskGroups":[{"Count":"3"}]}}"#,
        br#"{"Job":{"TaskGroups":[{"Name":"a"},null,{"Count":"3"}],"Priority":"x"}}"#,
        br#"{"Job":{"TaskGroups":[{"Name":"a"},{"Name":"b"}],"taskgroups":[{"Name":"c"}]}}"#,
        br#"{"Job":{"TaskGroups":[{"Name":"a"},{"Name":"b"}],"taskgroups":null}}"#,
        br#"{"Job":{"TaskGroups":[]},"job":{"ID":"second"}}"#,
        br#"{"Job":{"TaskGroups":{"Name":"a"}}}"#,
        br#"{"Job":{"TaskGroups":[1,2]}}"#,
        br#"{"Job":{"Priority":"x","TaskGroups":[{"Count":"3"},{"Count":true}]}}"#,
        br#"{"Job":{"TaskGroups":[{"Count":1.5}]}}"#,
        br#"{"Job":{"TaskGroups":[{"Count":-0}]}}"#,
        br#"{"Job":{"Priority":18446744073709551616}}"#,
        br#"{"Job":{"Version":-1}}"#,
        br#"{"Job":{"SubmitTime":1e3}}"#,
        br#"{"Job":{"Datacenters":"dc1"}}"#,
        br#"{"Job":{"Meta":{"a":1}}}"#,
        br#"{"Job":{"Meta":{"k\u00e9y":"v\n"}}}"#,
        br#"{"Job":{"\u0049D":"escaped key"}}"#,
        br#"{"Job":[1]}"#,
        br#"{"Job":{"ID":"\ud800"}}"#,
        br#"{"Job":{"ID":"x"},"Region":1e400}"#,
        b"{\"Job\":{\"ID\":\"x\"}}\xff",
        b"{\"Job\":{\"ID\":\"\xff\"}}",
    ] {
        agree_all(body);
    }
    let deep = format!(
        "{{\"Job\":{{\"Meta\":{}{}}}}}",
        "[".repeat(120),
        "]".repeat(120)
    );
    agree_all(deep.as_bytes());
}
