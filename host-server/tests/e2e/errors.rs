//! Status codes, exact error texts and which headers error responses carry.

use crate::support::{job_json, Resp, Server};

const TEXT: &str = "text/plain; charset=utf-8";

/// An error as Nomad writes it: plain text, no `X-Nomad-*` headers.
fn assert_plain_error(r: &Resp, status: u16, body: &str) {
    assert_eq!((r.status, r.body.as_str()), (status, body), "{r:?}");
    assert_eq!(r.header("Content-Type"), Some(TEXT));
    assert!(r.nomad_headers().is_empty(), "{:?}", r.headers);
}

#[test]
fn http_layer_errors_have_nomads_texts() {
    let s = Server::start("errors");
    // Body decoding and the required fields.
    assert_plain_error(&s.put("/v1/jobs", ""), 400, "EOF");
    assert_plain_error(&s.put("/v1/jobs", "{"), 400, "unexpected EOF");
    assert_plain_error(
        &s.put("/v1/jobs", r#"{"Job":null}"#),
        400,
        "Job must be specified",
    );
    assert_plain_error(&s.put("/v1/jobs", "{}"), 400, "Job must be specified");
    assert_plain_error(
        &s.put("/v1/jobs", r#"{"Job":{}}"#),
        400,
        "Job ID hasn't been provided",
    );
    assert_plain_error(
        &s.put("/v1/jobs", r#"{"Job":{"ID":"x","TaskGroups":[{"Count":"a"}]}}"#),
        400,
        "json: cannot unmarshal string into Go struct field TaskGroup.Job.TaskGroups.Count of type int",
    );
    assert_plain_error(
        &s.put("/v1/job/other", &job_json("x", "1")),
        400,
        "Job ID does not match name",
    );
    // Plan has its own texts.
    assert_plain_error(&s.put("/v1/job/x/plan", "{}"), 400, "Job must be specified");
    assert_plain_error(
        &s.put("/v1/job/x/plan", r#"{"Job":{}}"#),
        400,
        "Job must have a valid ID",
    );
    assert_plain_error(
        &s.put("/v1/job/y/plan", &job_json("x", "1")),
        400,
        "Job ID does not match",
    );
    // Dispatch, revert and stable.
    assert_plain_error(&s.put("/v1/job/p/dispatch", ""), 400, "EOF");
    assert_plain_error(
        &s.put("/v1/job/p/dispatch", r#"{"Payload":"!!!"}"#),
        400,
        "illegal base64 data at input byte 0",
    );
    assert_plain_error(
        &s.put("/v1/job/p/dispatch", r#"{"JobID":"q"}"#),
        400,
        "Job ID does not match",
    );
    assert_plain_error(
        &s.put("/v1/job/p/dispatch", "{}"),
        500,
        "parameterized job not found",
    );
    assert_plain_error(
        &s.put("/v1/job/p/revert", "{}"),
        400,
        "JobID must be specified",
    );
    assert_plain_error(
        &s.put("/v1/job/p/revert", r#"{"JobID":"q"}"#),
        400,
        "Job ID does not match",
    );
    assert_plain_error(
        &s.put("/v1/job/p/revert", r#"{"JobID":"p"}"#),
        500,
        "job \"p\" not found",
    );
    assert_plain_error(
        &s.put("/v1/job/p/stable", "{}"),
        400,
        "JobID must be specified",
    );
    assert_plain_error(
        &s.put("/v1/job/p/stable", r#"{"JobID":"p","JobVersion":3}"#),
        500,
        "job \"p\" at version 3 not found",
    );
    // Validate needs a job and a write method, and sets no meta headers.
    assert_plain_error(
        &s.put("/v1/validate/job", "{}"),
        400,
        "Job must be specified",
    );
    assert_plain_error(&s.get("/v1/validate/job"), 405, "Invalid method");
    let v = s.put("/v1/validate/job?region=mars", &job_json("v", "1"));
    assert_eq!(v.status, 200);
    assert!(v.nomad_headers().is_empty());
    assert_eq!(
        v.body,
        r#"{"DriverConfigValidated":true,"ValidationErrors":null,"Error":"","Warnings":""}"#
    );
}

#[test]
fn methods_regions_and_query_options() {
    let s = Server::start("methods");
    for (method, path) in [
        ("PATCH", "/v1/jobs"),
        ("DELETE", "/v1/jobs"),
        ("PATCH", "/v1/job/x"),
        ("GET", "/v1/job/x/plan"),
        ("GET", "/v1/job/x/evaluate"),
        ("GET", "/v1/job/x/dispatch"),
        ("GET", "/v1/job/x/periodic/force"),
        ("GET", "/v1/job/x/revert"),
        ("GET", "/v1/job/x/stable"),
        ("PUT", "/v1/job/x/allocations"),
        ("PUT", "/v1/job/x/evaluations"),
        ("POST", "/v1/job/x/deployments"),
        ("POST", "/v1/job/x/deployment"),
        ("PUT", "/v1/evaluations"),
        ("PUT", "/v1/nodes"),
        ("DELETE", "/v1/allocations"),
        ("GET", "/v1/search"),
    ] {
        assert_plain_error(&s.call(method, path, None), 405, "Invalid method");
    }
    for (method, path, body) in [
        ("GET", "/v1/jobs?region=mars", None),
        ("GET", "/v1/job/x?region=mars", None),
        ("GET", "/v1/job/x/summary?region=mars", None),
        ("DELETE", "/v1/job/x?region=mars", None),
        ("PUT", "/v1/job/x/evaluate?region=mars", None),
        ("PUT", "/v1/jobs?region=mars", Some(job_json("x", "1"))),
        (
            "PUT",
            "/v1/jobs",
            Some(r#"{"Job":{"ID":"x"},"Region":"mars"}"#.to_string()),
        ),
    ] {
        assert_plain_error(
            &s.call(method, path, body.as_deref()),
            500,
            "No path to region",
        );
    }
    assert_plain_error(&s.get("/v1/job/x?index=abc"), 400, "Invalid index");
    assert_plain_error(&s.get("/v1/job/x?index=-1"), 400, "Invalid index");
    assert_plain_error(
        &s.get("/v1/job/x?index=1&wait=abc"),
        400,
        "Invalid wait time",
    );
    // A bad wait is reported before a bad region, a bad bool before both.
    assert_plain_error(
        &s.get("/v1/jobs?wait=x&region=mars"),
        400,
        "Invalid wait time",
    );
    assert_plain_error(
        &s.get("/v1/job/x/versions?diffs=maybe&wait=x"),
        500,
        "Failed to parse value of \"diffs\" (maybe) as a bool: strconv.ParseBool: parsing \"maybe\": invalid syntax",
    );
    assert_plain_error(
        &s.call("DELETE", "/v1/job/x?purge=maybe", None),
        500,
        "Failed to parse value of \"purge\" (maybe) as a bool: strconv.ParseBool: parsing \"maybe\": invalid syntax",
    );
    // Routes outside the API: Go's ServeMux answer.
    let r = s.get("/v1/nothing");
    assert_eq!((r.status, r.body.as_str()), (404, "404 page not found\n"));
    assert!(r.nomad_headers().is_empty());
    // A bare subtree path is redirected, as Go's ServeMux does.
    let r = s.get("/v1/job?pretty");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/v1/job/?pretty"));
    assert_eq!(
        r.body,
        "<a href=\"/v1/job/?pretty\">Moved Permanently</a>.\n\n"
    );
    // The local region is fine.
    assert_eq!(s.get("/v1/jobs?region=global").status, 200);
}

#[test]
fn not_found_reads_carry_meta_headers() {
    let s = Server::start("notfound");
    for (path, text) in [
        ("/v1/job/ghost", "job not found"),
        ("/v1/job/", "job not found"),
        ("/v1/job/simple/bogus", "job not found"),
        ("/v1/job/ghost/summary", "job not found"),
        ("/v1/job/ghost/versions", "job versions not found"),
        ("/v1/evaluation/nope", "eval not found"),
        ("/v1/allocation/nope", "alloc not found"),
        ("/v1/node/nope", "node not found"),
        ("/v1/deployment/nope", "deployment not found"),
    ] {
        let r = s.get(path);
        assert_eq!((r.status, r.body.as_str()), (404, text), "{path}");
        assert_eq!(r.header("Content-Type"), Some(TEXT));
        assert_eq!(
            r.nomad_headers(),
            vec![
                "X-Nomad-Index",
                "X-Nomad-Knownleader",
                "X-Nomad-Lastcontact"
            ],
            "{path}"
        );
        assert_eq!(r.header("X-Nomad-Index"), Some("0"));
        assert_eq!(r.header("X-Nomad-Knownleader"), Some("true"));
        assert_eq!(r.header("X-Nomad-Lastcontact"), Some("0"));
    }
    // Lists of a missing job are empty, never 404; deployment is null.
    for (path, body) in [
        ("/v1/job/ghost/allocations", "[]"),
        ("/v1/job/ghost/evaluations", "[]"),
        ("/v1/job/ghost/deployments", "[]"),
        ("/v1/job/ghost/deployment", "null"),
        ("/v1/jobs", "[]"),
        ("/v1/nodes", "[]"),
        ("/v1/evaluations", "[]"),
        ("/v1/allocations", "[]"),
    ] {
        let r = s.get(path);
        assert_eq!((r.status, r.body.as_str()), (200, body), "{path}");
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.nomad_headers().len(), 3, "{path}");
    }
    assert_plain_error(&s.put("/v1/job/ghost/evaluate", ""), 500, "job not found");
    assert_plain_error(
        &s.put("/v1/job/ghost/periodic/force", ""),
        500,
        "job not found",
    );
}

/// A job body with one group of `count` and a task asking for `memory_mb`
/// next to a small one (so that the group's sum is what overflows).
fn absurd_job(id: &str, count: i64, memory_mb: i64) -> String {
    format!(
        r#"{{"Job":{{"ID":"{id}","Datacenters":["dc1"],"TaskGroups":[{{"Name":"g","Count":{count},
        "Tasks":[{{"Name":"a","Driver":"raw_exec","Config":{{"command":"/bin/true"}},
        "Resources":{{"CPU":100,"MemoryMB":{memory_mb}}}}},
        {{"Name":"b","Driver":"raw_exec","Config":{{"command":"/bin/true"}},
        "Resources":{{"CPU":100,"MemoryMB":64}}}}]}}]}}}}"#
    )
}

/// Asks no cluster can meet are accepted as Nomad accepts them, and then
/// fail cleanly: a count beyond the scheduler's limit fails its evaluation
/// (and `/plan` answers 500 with the same text) instead of building two
/// billion names; a memory ask near `i64::MAX` exhausts memory instead of
/// overflowing. The worker goes on with the next evaluation.
#[test]
fn absurd_asks_fail_cleanly_and_the_worker_goes_on() {
    let dir = crate::support::temp_dir("absurd");
    let s = Server::start_in(&dir, &["-sim-nodes", "2", "-sim-dc", "dc1"]);
    crate::support::eventually("two ready nodes", || {
        s.get("/v1/nodes").json().as_array().map(Vec::len) == Some(2)
    });

    let huge = absurd_job("huge", 2_147_483_647, 64);
    let why = "job \"huge\"'s task groups ask for 2147483647 allocations, more than the \
               1000000 one job may have";
    assert_plain_error(&s.put("/v1/job/huge/plan", &huge), 500, why);
    let r = s.put("/v1/jobs", &huge);
    assert_eq!(r.status, 200, "{r:?}");
    let eval = r.json()["EvalID"].as_str().expect("EvalID").to_string();
    crate::support::eventually("the evaluation fails", || {
        s.get(&format!("/v1/evaluation/{eval}")).json()["Status"] == "failed"
    });
    let e = s.get(&format!("/v1/evaluation/{eval}")).json();
    assert_eq!(e["StatusDescription"], why);
    assert_eq!(
        s.get("/v1/job/huge/allocations").json(),
        serde_json::json!([])
    );

    let greedy = absurd_job("greedy", 1, i64::MAX);
    let plan = s.put("/v1/job/greedy/plan", &greedy).json();
    let failed = &plan["FailedTGAllocs"]["g"];
    assert_eq!(failed["NodesEvaluated"], 2, "{plan}");
    assert_eq!(failed["NodesExhausted"], 2, "{plan}");
    assert_eq!(
        failed["DimensionExhausted"],
        serde_json::json!({"memory exhausted": 2})
    );
    assert_eq!(s.put("/v1/jobs", &greedy).status, 200);

    // The worker is alive: a job that fits is placed.
    assert_eq!(s.put("/v1/jobs", &absurd_job("fits", 2, 64)).status, 200);
    crate::support::eventually("both allocations of the job that fits", || {
        s.get("/v1/job/fits/allocations")
            .json()
            .as_array()
            .map(Vec::len)
            == Some(2)
    });
    crate::support::eventually("greedy's evaluation blocked", || {
        s.get("/v1/job/greedy/evaluations")
            .json()
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["Status"] == "blocked"))
    });
    assert!(s
        .get("/v1/job/greedy/allocations")
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
