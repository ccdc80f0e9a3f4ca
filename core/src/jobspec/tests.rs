//! Job file → API job, block by block: values, parse-time defaults, error
//! texts with their line and column, and inputs that must not panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::model::api::{ApiConstraint, ApiTemplate, ApiVault};
use crate::model::Port;

fn err(src: &str) -> (String, usize, usize) {
    let e = parse(src).expect_err("should not parse");
    (e.message, e.line, e.column)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn label_gives_id_and_name_and_keys_override() {
    let job = parse("job \"x\" {}").unwrap();
    assert_eq!(
        (job.id.as_deref(), job.name.as_deref()),
        (Some("x"), Some("x"))
    );
    assert_eq!(job.task_groups, None);
    assert_eq!(job.region, None);
    let job = parse("job \"x\" { name = \"N\" }").unwrap();
    assert_eq!(
        (job.id.as_deref(), job.name.as_deref()),
        (Some("x"), Some("N"))
    );
}

#[test]
fn tasks_outside_groups_come_first_in_groups_of_their_own() {
    let job = parse(
        "job \"j\" {\n group \"a\" { task \"t1\" {} }\n task \"out\" { driver = \"exec\" }\n group \"b\" {}\n}",
    )
    .unwrap();
    let groups = job.task_groups.unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["out", "a", "b"]);
    assert_eq!(groups[0].count, None);
    assert_eq!(groups[0].tasks.as_ref().unwrap()[0].driver, "exec");
    // A group without tasks keeps Tasks null.
    assert_eq!(groups[2].tasks, None);
}

#[test]
fn constraints_operands_and_literal_targets() {
    let job = parse(
        r#"job "j" {
  constraint { attribute = "$attr.kernel.name" value = "linux" }
  constraint { attribute = "a" version = ">= 1.2" }
  constraint { attribute = "b" regexp = "^x" operator = "ignored" }
  constraint { attribute = "c" set_contains = "y" }
  constraint { distinct_hosts = true }
  constraint { distinct_hosts = "false" }
  constraint { distinct_property = "${meta.rack}" }
}"#,
    )
    .unwrap();
    let c = |l: &str, r: &str, o: &str| ApiConstraint {
        ltarget: l.into(),
        rtarget: r.into(),
        operand: o.into(),
    };
    assert_eq!(
        job.constraints.unwrap(),
        vec![
            c("$attr.kernel.name", "linux", "="),
            c("a", ">= 1.2", "version"),
            c("b", "^x", "regexp"),
            c("c", "y", "set_contains"),
            c("", "", "distinct_hosts"),
            c("${meta.rack}", "", "distinct_property"),
        ]
    );
}

#[test]
fn vault_defaults_and_inheritance() {
    let job = parse(
        r#"job "j" {
  vault { policies = ["job"] }
  task "outer" {}
  group "g" {
    vault { policies = ["group"] change_mode = "signal" change_signal = "SIGHUP" }
    task "a" {}
    task "b" { vault { env = false } }
  }
}"#,
    )
    .unwrap();
    let groups = job.task_groups.unwrap();
    let vault_of = |g: usize, t: usize| groups[g].tasks.as_ref().unwrap()[t].vault.clone().unwrap();
    assert_eq!(
        vault_of(0, 0),
        ApiVault {
            policies: Some(strings(&["job"])),
            env: Some(true),
            change_mode: Some("restart".into()),
            change_signal: None,
        }
    );
    assert_eq!(
        vault_of(1, 0),
        ApiVault {
            policies: Some(strings(&["group"])),
            env: Some(true),
            change_mode: Some("signal".into()),
            change_signal: Some("SIGHUP".into()),
        }
    );
    assert_eq!(
        vault_of(1, 1),
        ApiVault {
            policies: None,
            env: Some(false),
            change_mode: Some("restart".into()),
            change_signal: None,
        }
    );
}

#[test]
fn task_blocks() {
    let job = parse(
        r#"job "j" {
  task "t" {
    driver = "docker"
    kill_timeout = "1m30s"
    shutdown_delay = 5
    leader = "true"
    env { N = 1 F = 1.5 B = true }
    meta { m = "v" }
    config {
      image = "redis"
      labels { a = "b" }
      args = ["-p", 6379]
    }
    template {
      data = <<EOF
{{ key "x" }}
EOF
      destination = "local/x"
    }
    artifact { source = "http://x" destination = "" options { checksum = 12 } }
    logs { max_files = 3 }
    dispatch_payload { file = "in" }
    resources {
      cpu = 200
      network {
        mbits = "20"
        port "http" {}
        port "db" { static = "5432" }
        port "admin" {}
      }
    }
  }
}"#,
    )
    .unwrap();
    let groups = job.task_groups.unwrap();
    let t = &groups[0].tasks.as_ref().unwrap()[0];
    assert_eq!(t.kill_timeout, Some(90_000_000_000));
    assert_eq!(t.shutdown_delay, 5);
    assert!(t.leader);
    let env: BTreeMap<String, String> = [("B", "1"), ("F", "1.5"), ("N", "1")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(t.env.as_ref(), Some(&env));
    assert_eq!(
        serde_json::to_value(t.config.as_ref().unwrap()).unwrap(),
        json!({"args": ["-p", 6379], "image": "redis", "labels": [{"a": "b"}]})
    );
    assert_eq!(
        t.templates.as_ref().unwrap()[0],
        ApiTemplate {
            dest_path: Some("local/x".into()),
            embedded_tmpl: Some("{{ key \"x\" }}\n".into()),
            change_mode: Some("restart".into()),
            splay: Some(5_000_000_000),
            perms: Some("0644".into()),
            ..ApiTemplate::default()
        }
    );
    let a = &t.artifacts.as_ref().unwrap()[0];
    assert_eq!(a.relative_dest.as_deref(), Some(""));
    assert_eq!(a.getter_mode, None);
    assert_eq!(a.getter_options.as_ref().unwrap()["checksum"], "12");
    let logs = t.log_config.as_ref().unwrap();
    assert_eq!((logs.max_files, logs.max_file_size_mb), (Some(3), None));
    assert_eq!(t.dispatch_payload.as_ref().unwrap().file, "in");
    let r = t.resources.as_ref().unwrap();
    assert_eq!((r.cpu, r.memory_mb), (Some(200), None));
    let nw = &r.networks.as_ref().unwrap()[0];
    assert_eq!(nw.mbits, Some(20));
    let port = |l: &str, v: i64| Port {
        label: l.into(),
        value: v,
    };
    assert_eq!(nw.reserved_ports, Some(vec![port("db", 5432)]));
    assert_eq!(
        nw.dynamic_ports,
        Some(vec![port("http", 0), port("admin", 0)])
    );
}

#[test]
fn services_checks_and_headers() {
    let job = parse(
        r#"job "j" { task "t" { service {
  port = "http"
  check {
    type = "http"
    interval = "10s"
    timeout = "2s"
    header { X = ["a", "b"] Empty = [] }
    header { X = ["c"] }
  }
} } }"#,
    )
    .unwrap();
    let groups = job.task_groups.unwrap();
    let s = &groups[0].tasks.as_ref().unwrap()[0]
        .services
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        (s.name.as_str(), s.port_label.as_str(), &s.tags),
        ("", "http", &None)
    );
    let c = &s.checks.as_ref().unwrap()[0];
    assert_eq!((c.interval, c.timeout), (10_000_000_000, 2_000_000_000));
    let header = BTreeMap::from([("X".to_string(), Some(strings(&["a", "b", "c"])))]);
    assert_eq!(c.header, Some(header));
}

#[test]
fn group_blocks() {
    let job = parse(
        r#"job "j" { group "g" {
  count = "3"
  restart { attempts = 2 interval = "30m" delay = "15s" mode = "fail" }
  ephemeral_disk { size = 500 sticky = true }
  update { max_parallel = 2 canary = 1 }
  meta { n = 10 }
} }"#,
    )
    .unwrap();
    let g = &job.task_groups.unwrap()[0];
    assert_eq!(g.count, Some(3));
    let r = g.restart_policy.as_ref().unwrap();
    assert_eq!(
        (r.attempts, r.interval, r.delay, r.mode.as_deref()),
        (
            Some(2),
            Some(1_800_000_000_000),
            Some(15_000_000_000),
            Some("fail")
        )
    );
    let d = g.ephemeral_disk.as_ref().unwrap();
    assert_eq!(
        (d.size_mb, d.sticky, d.migrate),
        (Some(500), Some(true), None)
    );
    let u = g.update.as_ref().unwrap();
    assert_eq!(
        (u.max_parallel, u.canary, u.stagger),
        (Some(2), Some(1), None)
    );
    assert_eq!(g.meta.as_ref().unwrap()["n"], "10");
}

#[test]
fn periodic_and_parameterized() {
    let job = parse(
        r#"job "j" {
  periodic { cron = "*/5 * * * *" prohibit_overlap = true }
  parameterized { payload = "required" meta_required = ["a"] }
}"#,
    )
    .unwrap();
    let p = job.periodic.unwrap();
    assert_eq!(
        (
            p.spec.as_deref(),
            p.spec_type.as_deref(),
            p.enabled,
            p.prohibit_overlap,
            p.time_zone
        ),
        (Some("*/5 * * * *"), Some("cron"), None, Some(true), None)
    );
    let d = job.parameterized_job.unwrap();
    assert_eq!(
        (d.payload.as_str(), d.meta_required, d.meta_optional),
        ("required", Some(strings(&["a"])), None)
    );
}

/// Error texts are Nomad's; the position is where the problem is, even
/// where Nomad's text has none.
#[test]
fn errors_with_line_and_column() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("job \"x\" {\n  group \"g\" {\n", "error parsing: object expected closing RBRACE got: EOF", 3, 2),
        ("job \"x\" {\n  a = @\n}", "error parsing: At 2:7: illegal char", 2, 7),
        ("job \"x\" {\n  a b = 1\n}", "error parsing: At 2:7: nested object expected: LBRACE got: ASSIGN", 2, 7),
        ("\n\nfoo = 1", "1 error(s) occurred:\n\n* invalid key: foo", 3, 1),
        ("# nothing\n", "'job' stanza not found", 1, 1),
        ("job \"a\" {}\njob \"b\" {}", "error parsing 'job': only one 'job' block allowed", 2, 1),
        ("job {}", "error parsing 'job': 'job' block missing name", 1, 1),
        (
            "job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      artifact {\n        bad = 1\n      }\n    }\n  }\n}",
            "error parsing 'job': 1 error(s) occurred:\n\n* group: 'g', task: 't', artifact -> invalid key: bad",
            5,
            9,
        ),
        (
            "job \"x\" {\n  foo = 1\n  bar = 2\n}",
            "error parsing 'job': 2 error(s) occurred:\n\n* job: invalid key: foo\n* job: invalid key: bar",
            2,
            3,
        ),
        (
            "job \"x\" {\n  priority = \"high\"\n}",
            "error parsing 'job': 1 error(s) decoding:\n\n* cannot parse 'Priority' as int: strconv.ParseInt: parsing \"high\": invalid syntax",
            2,
            3,
        ),
        (
            "job \"x\" { task \"t\" { resources { network {}\n network {} } } }",
            "error parsing 'job': task: 't', only one 'network' resource allowed",
            2,
            2,
        ),
        (
            "job \"x\" { task \"t\" { resources { network {\n port \"a b\" {} } } } }",
            "error parsing 'job': task: 't', resources, network, ports -> Port label does not conform to naming requirements ^[a-zA-Z0-9_]+$",
            2,
            7,
        ),
        (
            "job \"x\" { task \"t\" { resources { network {\n port \"Web\" {}\n port \"web\" {} } } } }",
            "error parsing 'job': task: 't', resources, network, ports -> found a port label collision: web",
            3,
            7,
        ),
        (
            "job \"x\" { group \"g\" {\n ephemeral_disk {}\n ephemeral_disk {} } }",
            "error parsing 'job': group: 'g', ephemeral_disk -> only one 'ephemeral_disk' block allowed",
            3,
            2,
        ),
        (
            "job \"x\" { task \"t\" { service { check {\n header { A = \"v\" } } } } }",
            "error parsing 'job': task: 't', service: '', check -> header -> \"A\" expected a []string but found string",
            2,
            2,
        ),
        (
            "job \"x\" { task \"t\" { kill_timeout = \"5y\" } }",
            "error parsing 'job': task: 1 error(s) decoding:\n\n* time: unknown unit y in duration 5y",
            1,
            22,
        ),
        (
            "{ \"job\": {\"x\": {\"foo\": 1}} }",
            "error parsing 'job': 1 error(s) occurred:\n\n* job: invalid key: foo",
            1,
            1,
        ),
        ("\n{ \"job\": nope }", "error parsing: 2:13: illegal char", 2, 13),
    ];
    for (src, message, line, column) in cases {
        assert_eq!(err(src), (message.to_string(), *line, *column), "{src}");
    }
}

/// Fragments of job files; random sequences of them exercise every parser
/// and decoder path with broken input.
const TOKENS: &[&str] = &[
    "job",
    "\"x\"",
    "group",
    "task",
    "\"t\"",
    "{",
    "}",
    "[",
    "]",
    "=",
    ",",
    "1",
    "-2",
    "1.5",
    "0x1F",
    "true",
    "\"s\"",
    "<<EOF\nx\nEOF\n",
    "<<-E\n  y\n  E\n",
    "#c\n",
    "/*c*/",
    "config",
    "meta",
    "env",
    "port",
    "\"p\"",
    "static",
    "network",
    "resources",
    "service",
    "check",
    "header",
    "constraint",
    "distinct_hosts",
    "vault",
    "template",
    "artifact",
    "options",
    "update",
    "periodic",
    "enabled",
    "count",
    "\"${a}\"",
    "\"\\x41\"",
    "\n",
    "\0",
    "é",
    "@",
    ":",
    "null",
    "\"job\"",
    "\"group\"",
    "\"task\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..80)) {
        let src = tokens.join(" ");
        match parse(&src) {
            Ok(job) => {
                let text = to_output_json(&job);
                prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
            }
            Err(e) => prop_assert!(e.line >= 1 && e.column >= 1),
        }
    }

    #[test]
    fn json_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..80)) {
        // A leading `{` switches HCL1 to its JSON syntax.
        let src = format!("{{{}", tokens.join(" "));
        match parse(&src) {
            Ok(job) => {
                let text = to_output_json(&job);
                prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
            }
            Err(e) => prop_assert!(e.line >= 1 && e.column >= 1),
        }
    }

    #[test]
    fn wrapped_soup_reaches_the_blocks(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        // Inside a job and a task most fragments get past the syntax.
        let src = format!("job \"j\" {{ group \"g\" {{ task \"t\" {{ {} }} }} }}", tokens.join(" "));
        let _ = parse(&src).map(|job| to_output_json(&job));
    }
}
