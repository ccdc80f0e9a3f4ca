//! Dispatching parameterized jobs: the request rules (payload and meta),
//! the child job and its ID. Time and the random ID suffix are inputs.

use crate::gofmt;
use crate::model::{Job, StringMap, DISPATCH_PAYLOAD_FORBIDDEN, DISPATCH_PAYLOAD_REQUIRED};

/// Largest accepted payload, in decoded bytes.
pub const MAX_PAYLOAD_SIZE: usize = 16 * 1024;

/// The suffix between a parent ID and the launch time of a dispatched child.
pub const DISPATCH_LAUNCH_SUFFIX: &str = "/dispatch-";

/// Checks a dispatch request against its parent (rules 3–9 of
/// dispatch-periodic.md; the caller checks the ID and existence). Nomad names
/// the job as the request spelled it (`requested_id`), which differs from the
/// stored ID in case only, since lookups ignore case.
pub fn check_request(
    parent: &Job,
    requested_id: &str,
    payload: &[u8],
    meta: &StringMap,
) -> Result<(), String> {
    let Some(config) = &parent.parameterized_job else {
        return Err(format!(
            "Specified job {} is not a parameterized job",
            gofmt::quote(requested_id)
        ));
    };
    if parent.stop {
        return Err(format!(
            "Specified job {} is stopped",
            gofmt::quote(requested_id)
        ));
    }
    if config.payload == DISPATCH_PAYLOAD_REQUIRED && payload.is_empty() {
        return Err("Payload is not provided but required by parameterized job".into());
    }
    if config.payload == DISPATCH_PAYLOAD_FORBIDDEN && !payload.is_empty() {
        return Err("Payload provided but forbidden by parameterized job".into());
    }
    if payload.len() > MAX_PAYLOAD_SIZE {
        return Err(format!(
            "Payload exceeds maximum size; {} > {}",
            payload.len(),
            MAX_PAYLOAD_SIZE
        ));
    }
    let mut unpermitted: Vec<String> = meta
        .keys()
        .filter(|k| !config.meta_required.contains(k) && !config.meta_optional.contains(k))
        .cloned()
        .collect();
    if !unpermitted.is_empty() {
        unpermitted.sort();
        return Err(format!(
            "Dispatch request included unpermitted metadata keys: {}",
            gofmt::string_list(&unpermitted)
        ));
    }
    let mut missing: Vec<String> = config
        .meta_required
        .iter()
        .filter(|k| !meta.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(format!(
            "Dispatch did not provide required meta keys: {}",
            gofmt::string_list(&missing)
        ));
    }
    Ok(())
}

/// `<parent>/dispatch-<unix seconds>-<8 hex>`.
pub fn dispatched_id(parent_id: &str, now_unix_seconds: i64, suffix: &str) -> String {
    format!("{parent_id}{DISPATCH_LAUNCH_SUFFIX}{now_unix_seconds}-{suffix}")
}

/// Derives the child of a (checked) dispatch: a copy of the parent without
/// the parameterized block, with its own ID and name, the merged meta and
/// the payload. `now` is Unix nanoseconds.
pub fn child_job(parent: &Job, payload: Vec<u8>, meta: &StringMap, suffix: &str, now: i64) -> Job {
    let mut child = parent.clone();
    child.parameterized_job = None;
    child.id = dispatched_id(&parent.id, now.div_euclid(1_000_000_000), suffix);
    child.parent_id = parent.id.clone();
    child.name = child.id.clone();
    child.submit_time = now;
    for (k, v) in meta {
        child.meta.insert(k.clone(), v.clone());
    }
    child.payload = payload;
    child
}

/// Snappy block encoding of `data` using literals only: a valid snappy
/// stream that any decoder reads back. Nomad stores payloads compressed and
/// exposes the compressed bytes outside `GET /v1/job/<id>`.
pub fn snappy_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    let mut n = data.len() as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    for chunk in data.chunks(65536) {
        let len = chunk.len() - 1;
        if len < 60 {
            out.push((len as u8) << 2);
        } else if len < 256 {
            out.push(60 << 2);
            out.push(len as u8);
        } else {
            out.push(61 << 2);
            out.extend_from_slice(&(len as u16).to_le_bytes());
        }
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParameterizedJobConfig;

    fn parent(payload: &str, required: &[&str], optional: &[&str]) -> Job {
        Job {
            id: "p".into(),
            job_type: "batch".into(),
            parameterized_job: Some(ParameterizedJobConfig {
                payload: payload.into(),
                meta_required: required.iter().map(|s| s.to_string()).collect(),
                meta_optional: optional.iter().map(|s| s.to_string()).collect(),
            }),
            ..Default::default()
        }
    }

    fn meta(kv: &[(&str, &str)]) -> StringMap {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn request_rules_in_order() {
        let p = parent("required", &["foo"], &["bar"]);
        let check = |payload: &[u8], m: &StringMap| check_request(&p, "p", payload, m);
        assert_eq!(
            check(b"", &meta(&[("foo", "1")])).unwrap_err(),
            "Payload is not provided but required by parameterized job"
        );
        assert_eq!(
            check(b"x", &meta(&[("bar", "1")])).unwrap_err(),
            "Dispatch did not provide required meta keys: [foo]"
        );
        assert_eq!(
            check(b"x", &meta(&[("foo", "1"), ("zzz", "1"), ("aaa", "2")])).unwrap_err(),
            "Dispatch request included unpermitted metadata keys: [aaa zzz]"
        );
        assert_eq!(
            check(&vec![b'x'; MAX_PAYLOAD_SIZE + 1], &meta(&[("foo", "1")])).unwrap_err(),
            "Payload exceeds maximum size; 16385 > 16384"
        );
        assert!(check(&vec![b'x'; MAX_PAYLOAD_SIZE], &meta(&[("foo", "1")])).is_ok());
        let f = parent("forbidden", &[], &[]);
        assert_eq!(
            check_request(&f, "p", b"x", &StringMap::new()).unwrap_err(),
            "Payload provided but forbidden by parameterized job"
        );
        let mut stopped = parent("optional", &[], &[]);
        stopped.stop = true;
        assert_eq!(
            check_request(&stopped, "P", b"", &StringMap::new()).unwrap_err(),
            "Specified job \"P\" is stopped"
        );
        let plain = Job {
            id: "simple".into(),
            ..Default::default()
        };
        assert_eq!(
            check_request(&plain, "simple", b"", &StringMap::new()).unwrap_err(),
            "Specified job \"simple\" is not a parameterized job"
        );
    }

    /// Rules 5–9 in Nomad's order: the first failing rule wins.
    #[test]
    fn first_failing_rule_wins() {
        let big = vec![b'x'; MAX_PAYLOAD_SIZE + 1];
        /// (payload rule, required keys, payload, request meta, outcome)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [u8],
            &'a [(&'a str, &'a str)],
            Result<(), &'a str>,
        );
        let cases: &[Case] = &[
            // payload rule before size, size before meta
            (
                "forbidden",
                &[],
                &big,
                &[("zzz", "1")],
                Err("Payload provided but forbidden by parameterized job"),
            ),
            (
                "required",
                &["foo"],
                b"",
                &[("zzz", "1")],
                Err("Payload is not provided but required by parameterized job"),
            ),
            (
                "optional",
                &["foo"],
                &big,
                &[("zzz", "1")],
                Err("Payload exceeds maximum size; 16385 > 16384"),
            ),
            // unpermitted keys before missing ones
            (
                "optional",
                &["foo"],
                b"",
                &[("zzz", "1")],
                Err("Dispatch request included unpermitted metadata keys: [zzz]"),
            ),
            (
                "optional",
                &["b", "a", "a"],
                b"",
                &[],
                Err("Dispatch did not provide required meta keys: [a b]"),
            ),
            // an empty block (optional, no keys) permits no meta at all
            (
                "optional",
                &[],
                b"",
                &[("k", "v")],
                Err("Dispatch request included unpermitted metadata keys: [k]"),
            ),
            ("optional", &[], b"", &[], Ok(())),
            ("optional", &[], b"x", &[], Ok(())),
            ("forbidden", &[], b"", &[], Ok(())),
            ("required", &["foo"], b"x", &[("foo", "")], Ok(())),
        ];
        for (payload_rule, required, payload, m, want) in cases {
            let p = parent(payload_rule, required, &[]);
            let got = check_request(&p, "p", payload, &meta(m));
            assert_eq!(
                got,
                want.map_err(str::to_string),
                "{payload_rule} {required:?} {m:?}"
            );
        }
    }

    #[test]
    fn child_meta_stays_null_without_any_and_periodic_is_kept() {
        let mut p = parent("optional", &[], &[]);
        p.periodic = Some(crate::model::PeriodicConfig {
            enabled: true,
            spec: "@daily".into(),
            spec_type: "cron".into(),
            ..Default::default()
        });
        let c = child_job(
            &p,
            Vec::new(),
            &StringMap::new(),
            "81644024",
            1_485_408_778_000_000_000,
        );
        assert!(c.meta.is_empty());
        assert_eq!(c.id, "p/dispatch-1485408778-81644024");
        assert!(c.is_periodic() && !c.is_parameterized());
        assert!(c.payload.is_empty());
    }

    #[test]
    fn child_is_derived_from_the_parent() {
        let mut p = parent("optional", &[], &["a"]);
        p.meta = meta(&[("a", "parent"), ("b", "kept")]);
        let c = child_job(
            &p,
            b"hi".to_vec(),
            &meta(&[("a", "req")]),
            "0123abcd",
            1_485_408_778_500_000_000,
        );
        assert_eq!(c.id, "p/dispatch-1485408778-0123abcd");
        assert_eq!(c.name, c.id);
        assert_eq!(c.parent_id, "p");
        assert_eq!(c.parameterized_job, None);
        assert_eq!(c.meta, meta(&[("a", "req"), ("b", "kept")]));
        assert_eq!(c.payload, b"hi");
        assert_eq!(c.submit_time, 1_485_408_778_500_000_000);
    }

    #[test]
    fn snappy_literal_blocks() {
        assert_eq!(snappy_encode(b""), vec![0]);
        assert_eq!(
            snappy_encode(b"hello world"),
            [&[11u8, 10 << 2][..], b"hello world"].concat()
        );
        let big = snappy_encode(&[7u8; 300]);
        assert_eq!(&big[..5], &[0xac, 0x02, 61 << 2, 43, 1]);
        assert_eq!(big.len(), 5 + 300);
        // Tags hold lengths up to 60; 61 is the first needing a length byte.
        assert_eq!(&snappy_encode(&[1u8; 61])[..3], &[61, 60 << 2, 60]);
        assert_eq!(snappy_encode(&[1u8; 60])[1], 59 << 2);
        // Literals are cut into 64 KiB blocks.
        let huge = snappy_encode(&[9u8; 70_000]);
        assert_eq!(&huge[..6], &[0xf0, 0xa2, 0x04, 61 << 2, 0xff, 0xff]);
        let second = 6 + 65_536;
        assert_eq!(&huge[second..second + 3], &[61 << 2, 0x6f, 0x11]);
        assert_eq!(huge.len(), second + 3 + 4_464);
    }
}
