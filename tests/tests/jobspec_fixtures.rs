//! Job files against what Nomad v0.6.3 printed for them: Nomad's own
//! fixtures (`fixtures/jobspec`) and Caravan's (`fixtures/jobspec-caravan`).

use std::fs;
use std::path::{Path, PathBuf};

use caravan_core::jobspec::{parse, to_output_json};
use serde_json::Value;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Every `NAME.hcl` of a fixture directory with its name, source and
/// expected outcome.
fn cases(dir: &str) -> Vec<(String, String, Expected)> {
    let dir = fixture_dir(dir);
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "hcl"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let src = fs::read_to_string(&path).unwrap();
        let json = dir.join(format!("{name}.json"));
        let error = dir.join(format!("{name}.error.txt"));
        let expected = if json.exists() {
            Expected::Output(fs::read_to_string(json).unwrap())
        } else {
            Expected::Error(
                fs::read_to_string(error).unwrap_or_else(|_| panic!("{name}: no outcome")),
            )
        };
        out.push((name, src, expected));
    }
    out
}

enum Expected {
    Output(String),
    Error(String),
}

/// Checks every case of a directory; returns how many parsed and failed.
fn check_dir(dir: &str) -> (usize, usize) {
    let (mut parsed, mut refused) = (0, 0);
    for (name, src, expected) in cases(dir) {
        match expected {
            Expected::Output(want) => {
                let job = parse(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
                let got: Value = serde_json::json!({ "Job": serde_json::to_value(&job).unwrap() });
                let want_value: Value = serde_json::from_str(&want).unwrap();
                if !has_float(&want_value) {
                    assert_eq!(got, want_value, "{name}: JSON value");
                }
                assert_eq!(to_output_json(&job), want, "{name}: -output text");
                parsed += 1;
            }
            Expected::Error(want) => {
                let err = parse(&src)
                    .err()
                    .unwrap_or_else(|| panic!("{name}: parsed"));
                let got = format!(
                    "exit 1\nError getting job struct: Error parsing job file from {name}.hcl: {}",
                    err.message
                );
                assert_eq!(got, want.trim_end(), "{name}: error text");
                assert!(err.line >= 1 && err.column >= 1, "{name}: position");
                refused += 1;
            }
        }
    }
    (parsed, refused)
}

/// Integral floats print as `1` in Go but stay floats in a JSON value, so
/// value comparison is left to the text comparison there.
fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

#[test]
fn nomad_fixtures_reproduced_exactly() {
    assert_eq!(check_dir("jobspec"), (16, 9));
}

#[test]
fn caravan_fixtures_reproduced_exactly() {
    assert_eq!(check_dir("jobspec-caravan"), (102, 163));
}

#[test]
fn parsed_fixtures_go_through_prepare() {
    let mut prepared = 0;
    for dir in ["jobspec", "jobspec-caravan"] {
        for (name, src, expected) in cases(dir) {
            if let Expected::Output(_) = expected {
                let api = parse(&src).unwrap();
                let groups = api.task_groups.as_ref().map_or(0, Vec::len);
                let p = caravan_core::prepare(api.clone());
                assert_eq!(Some(&p.job.id), api.id.as_ref(), "{name}");
                assert_eq!(p.job.task_groups.len(), groups, "{name}");
                prepared += 1;
            }
        }
    }
    assert_eq!(prepared, 16 + 102);

    // The example job of `nomad init`, canonicalized.
    let src = fs::read_to_string(fixture_dir("jobspec").join("init-example.hcl")).unwrap();
    let p = caravan_core::prepare(parse(&src).unwrap());
    let job = &p.job;
    assert_eq!(
        (job.region.as_str(), job.job_type.as_str(), job.priority),
        ("global", "service", 50)
    );
    let tg = &job.task_groups[0];
    assert_eq!((tg.name.as_str(), tg.count), ("cache", 1));
    let restart = tg.restart_policy.as_ref().unwrap();
    assert_eq!(
        (
            restart.attempts,
            restart.interval,
            restart.delay,
            restart.mode.as_str()
        ),
        (10, 300_000_000_000, 25_000_000_000, "delay")
    );
    assert_eq!(tg.ephemeral_disk.as_ref().unwrap().size_mb, 300);
    let update = tg.update.as_ref().unwrap();
    assert_eq!(
        (
            update.max_parallel,
            update.min_healthy_time,
            update.healthy_deadline
        ),
        (1, 10_000_000_000, 180_000_000_000)
    );
    let task = &tg.tasks[0];
    assert_eq!(
        (task.name.as_str(), task.driver.as_str()),
        ("redis", "docker")
    );
    assert_eq!(task.kill_timeout, 5_000_000_000);
    assert_eq!(task.services[0].name, "global-redis-check");
    assert_eq!(task.services[0].checks[0].interval, 10_000_000_000);
    let net = &task.resources.as_ref().unwrap().networks[0];
    assert_eq!((net.mbits, net.dynamic_ports[0].label.as_str()), (10, "db"));
    assert_eq!(task.config["port_map"], serde_json::json!([{ "db": 6379 }]));
}

/// Parses `src` and prints the result: neither may panic, and a parsed
/// job must print as JSON that reads back.
fn survive(src: &str) {
    match parse(src) {
        Ok(job) => {
            let text = to_output_json(&job);
            assert!(serde_json::from_str::<Value>(&text).is_ok(), "{src:?}");
        }
        Err(e) => assert!(e.line >= 1 && e.column >= 1, "{src:?}: {e:?}"),
    }
}

#[test]
fn truncated_and_mutated_fixtures_never_panic() {
    // Fragments that open or close constructs, or that HCL treats specially.
    const INSERTS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "\"",
        "=",
        ",",
        "<<EOF\n",
        "<<-",
        "\0",
        "\\",
        "${",
        "#",
        "/*",
        "\n",
        "é",
        "-",
        "0x",
        "1e",
        ".",
        "port \"\" {}",
        "true",
    ];
    let mut runs = 0usize;
    for dir in ["jobspec", "jobspec-caravan"] {
        for (_, src, _) in cases(dir) {
            let bounds: Vec<usize> = (0..=src.len())
                .filter(|&i| src.is_char_boundary(i))
                .collect();
            // About 30 positions a file keep the test to seconds.
            let step = (bounds.len() / 30).max(1);
            for &i in bounds.iter().step_by(step) {
                survive(&src[..i]);
                let next = bounds.iter().find(|&&j| j > i).copied();
                if let Some(j) = next {
                    survive(&format!("{}{}", &src[..i], &src[j..]));
                }
                for insert in INSERTS {
                    survive(&format!("{}{insert}{}", &src[..i], &src[i..]));
                }
                runs += 2 + INSERTS.len();
            }
        }
    }
    assert!(runs > 150_000, "{runs}");
}
