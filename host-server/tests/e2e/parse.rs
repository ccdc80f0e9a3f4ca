//! `/v1/jobs/parse` (a later-Nomad endpoint): the API job of an HCL file,
//! raw or with API defaults, and 400s with Nomad's texts plus a position.

use serde_json::{json, Value};

use crate::support::{Resp, Server};

const TEXT: &str = "text/plain; charset=utf-8";

pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_body(hcl: &str, canonicalize: bool) -> String {
    json!({"JobHCL": hcl, "Canonicalize": canonicalize}).to_string()
}

fn assert_plain_error(r: &Resp, status: u16, body: &str) {
    assert_eq!((r.status, r.body.as_str()), (status, body), "{r:?}");
    assert_eq!(r.header("Content-Type"), Some(TEXT));
    assert!(r.nomad_headers().is_empty(), "{:?}", r.headers);
}

#[test]
fn parse_returns_the_api_job_raw_or_canonicalized() {
    let s = Server::start("parse");
    for name in ["init-example", "basic", "task-nested-config", "specify-job"] {
        let hcl = fixture(&format!("jobspec/{name}.hcl"));
        let expected: Value =
            serde_json::from_str(&fixture(&format!("jobspec/{name}.json"))).expect("fixture JSON");
        let r = s.put("/v1/jobs/parse", &parse_body(&hcl, false));
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert!(r.nomad_headers().is_empty(), "{:?}", r.headers);
        assert_eq!(r.json(), expected["Job"], "{name}");

        // Canonicalized: the same job through the API defaults.
        let mut api: caravan_core::ApiJob =
            serde_json::from_value(expected["Job"].clone()).expect("API job");
        api.canonicalize();
        let r = s.call("POST", "/v1/jobs/parse", Some(&parse_body(&hcl, true)));
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(
            r.json(),
            serde_json::to_value(&api).expect("JSON"),
            "{name}"
        );
    }

    // The defaults themselves, on a minimal file; keys match like Go's.
    let hcl = "job \"web\" {\n  datacenters = [\"dc1\"]\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n";
    let raw = s
        .put(
            "/v1/jobs/parse",
            &json!({"jobhcl": hcl, "canonicalize": false}).to_string(),
        )
        .json();
    assert_eq!(
        (
            &raw["Region"],
            &raw["Priority"],
            &raw["TaskGroups"][0]["Count"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let j = s
        .put(
            "/v1/jobs/parse?pretty",
            &json!({"jobhcl": hcl, "canonicalize": true}).to_string(),
        )
        .body;
    assert!(j.starts_with("{\n    \"Stop\": false,\n    \"Region\": \"global\",\n    \"ID\": \"web\",\n    \"ParentID\": \"\",\n    \"Name\": \"web\",\n    \"Type\": \"service\",\n    \"Priority\": 50,\n"), "{j}");
    let j: Value = serde_json::from_str(&j).expect("JSON");
    let group = &j["TaskGroups"][0];
    assert_eq!(group["Count"], 1);
    assert_eq!(
        group["RestartPolicy"],
        json!({"Interval": 60_000_000_000i64, "Attempts": 2, "Delay": 15_000_000_000i64, "Mode": "delay"})
    );
    assert_eq!(
        group["EphemeralDisk"],
        json!({"Sticky": false, "Migrate": false, "SizeMB": 300})
    );
    let task = &group["Tasks"][0];
    assert_eq!(task["KillTimeout"], 5_000_000_000i64);
    assert_eq!(
        task["LogConfig"],
        json!({"MaxFiles": 10, "MaxFileSizeMB": 10})
    );
}

#[test]
fn parse_errors_are_400_with_nomads_text_and_position() {
    let s = Server::start("parse-errors");
    assert_plain_error(&s.put("/v1/jobs/parse", ""), 400, "EOF");
    assert_plain_error(&s.put("/v1/jobs/parse", "{}"), 400, "Job spec is empty");
    assert_plain_error(
        &s.put("/v1/jobs/parse", r#"{"JobHCL": ""}"#),
        400,
        "Job spec is empty",
    );
    assert_plain_error(
        &s.put("/v1/jobs/parse", r#"{"JobHCL": 1}"#),
        400,
        "json: cannot unmarshal number 1 into Go struct field JobsParseRequest.JobHCL of type string",
    );
    assert_plain_error(&s.get("/v1/jobs/parse"), 405, "Invalid method");

    assert_plain_error(
        &s.put(
            "/v1/jobs/parse",
            &parse_body(&fixture("jobspec/basic_wrong_key.hcl"), false),
        ),
        400,
        "error parsing 'job': 1 error(s) occurred:\n\n* group: 'binsl', task: 'binstore', service: 'foo', check -> invalid key: nterval (at line 70, column 11)",
    );
    assert_plain_error(
        &s.put(
            "/v1/jobs/parse",
            &parse_body(&fixture("jobspec/multi-vault.hcl"), true),
        ),
        400,
        "error parsing: object expected closing RBRACE got: EOF (at line 26, column 2)",
    );
    assert_plain_error(
        &s.put("/v1/jobs/parse", &parse_body("job \"x\" {\n  bogus = 1\n}\n", false)),
        400,
        "error parsing 'job': 1 error(s) occurred:\n\n* job: invalid key: bogus (at line 2, column 3)",
    );
}
