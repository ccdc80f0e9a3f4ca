//! `caravan job …` as a user runs it: local commands on the jobspec
//! fixtures, and plan/run against a live `caravan agent -dev`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{eventually, temp_dir, Server};

/// A finished command.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn jobspec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/jobspec")
}

/// `caravan job <args>` in `cwd`, with the Nomad variables of the
/// environment replaced by `env`.
fn caravan_job(args: &[&str], env: &[(&str, &str)], cwd: &Path, stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caravan"));
    cmd.arg("job")
        .args(args)
        .current_dir(cwd)
        .env_remove("NOMAD_ADDR")
        .env_remove("NOMAD_REGION")
        .env_remove("VAULT_TOKEN")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn caravan job");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for caravan job");
    Out {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

fn local(args: &[&str]) -> Out {
    caravan_job(args, &[], &jobspec_dir(), None)
}

/// Every fixture's `nomad run -output` JSON, byte for byte; every refused
/// file with Nomad's error text, then the position.
#[test]
fn inspect_prints_what_nomad_printed() {
    let mut printed = 0;
    let mut refused = 0;
    let mut names: Vec<_> = std::fs::read_dir(jobspec_dir())
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hcl"))
        .collect();
    names.sort();
    for hcl in &names {
        let stem = hcl.trim_end_matches(".hcl");
        let out = local(&["inspect", hcl]);
        if let Ok(json) = std::fs::read_to_string(jobspec_dir().join(format!("{stem}.json"))) {
            assert_eq!(
                (out.code, out.stdout.as_str(), out.stderr.as_str()),
                (0, json.as_str(), ""),
                "{hcl}"
            );
            printed += 1;
        } else if let Ok(error) =
            std::fs::read_to_string(jobspec_dir().join(format!("{stem}.error.txt")))
        {
            let nomad_text = error.strip_prefix("exit 1\n").expect("exit line");
            assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{hcl}");
            let rest = out
                .stderr
                .strip_prefix(nomad_text.trim_end())
                .unwrap_or_else(|| panic!("{hcl}: {}", out.stderr));
            assert!(
                rest.starts_with(" (at line ") && rest.ends_with(")\n"),
                "{hcl}: {rest:?}"
            );
            refused += 1;
        }
    }
    assert_eq!((printed, refused), (16, 9));

    let out = local(&["inspect", "basic_wrong_key.hcl"]);
    assert_eq!(
        out.stderr,
        "Error getting job struct: Error parsing job file from basic_wrong_key.hcl: \
error parsing 'job': 1 error(s) occurred:\n\n\
* group: 'binsl', task: 'binstore', service: 'foo', check -> invalid key: nterval \
(at line 70, column 11)\n"
    );

    // Standard input, and `run -output` (which is the same thing).
    let hcl = std::fs::read_to_string(jobspec_dir().join("specify-job.hcl")).expect("hcl");
    let json = std::fs::read_to_string(jobspec_dir().join("specify-job.json")).expect("json");
    let out = caravan_job(&["inspect", "-"], &[], &jobspec_dir(), Some(&hcl));
    assert_eq!((out.code, out.stdout.as_str()), (0, json.as_str()));
    let out = local(&["run", "-output", "specify-job.hcl"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, json.as_str()));

    let out = local(&["inspect", "missing.hcl"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error getting job struct: Error getting jobfile from \"missing.hcl\": no such file or directory\n"
        )
    );
    let out = local(&["inspect"]);
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .starts_with("Usage: caravan job inspect <path>\n"));
}

#[test]
fn validate_locally() {
    let out = local(&["validate", "init-example.hcl"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "Job validation successful\n", "")
    );
    let out = local(&["validate", "specify-job.hcl"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            "Job validation errors:\n2 error(s) occurred:\n\n* Missing job datacenters\n* Missing job task groups\n"
        )
    );
    // A file that does not parse.
    let out = local(&["validate", "multi-vault.hcl"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error getting job struct: Error parsing job file from multi-vault.hcl: \
error parsing: object expected closing RBRACE got: EOF (at line 26, column 2)\n"
        )
    );
    // A server that cannot be reached: the local checks, flagged as such.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let addr = format!("http://127.0.0.1:{port}");
    let out = local(&["validate", "-address", &addr, "init-example.hcl"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            0,
            "Driver configuration not validated since connection to Nomad agent couldn't be established.\n\n\
Job validation successful\n"
        )
    );
    let out = local(&["validate", "-bogus", "init-example.hcl"]);
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .starts_with("flag provided but not defined: -bogus\nUsage: caravan job validate"));
}

const JOB: &str = r#"job "clijob" {
  datacenters = ["dc1"]
  type = "batch"

  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
"#;

/// The job's `JobModifyIndex` on the server.
fn job_modify_index(s: &Server, id: &str) -> u64 {
    s.get(&format!("/v1/job/{id}")).json()["JobModifyIndex"]
        .as_u64()
        .expect("JobModifyIndex")
}

/// `==> Monitoring evaluation "<8>"` … `==> Evaluation "<8>" finished …`.
fn assert_monitored(out: &Out) {
    let lines: Vec<&str> = out.stdout.lines().collect();
    let first = lines.first().copied().unwrap_or("");
    let id = first
        .strip_prefix("==> Monitoring evaluation \"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!(id.len(), 8, "{out:?}");
    assert!(
        lines.contains(&"    Evaluation triggered by job \"clijob\""),
        "{out:?}"
    );
    assert_eq!(
        lines.last().copied(),
        Some(format!("==> Evaluation \"{id}\" finished with status \"complete\"").as_str()),
        "{out:?}"
    );
}

#[test]
fn plan_and_run_against_a_live_server() {
    let dir = temp_dir("cli");
    let mut s = Server::start_in(&dir, &["-dev"]);
    // Placements need the dev node to be up.
    eventually("the dev node to be ready", || {
        s.get("/v1/nodes").json()[0]["Status"] == "ready"
    });
    std::fs::write(dir.join("clijob.nomad"), JOB).expect("write job");
    let addr = format!("http://{}", s.addr);
    let env = [("NOMAD_ADDR", addr.as_str())];
    let job = |args: &[&str]| caravan_job(args, &env, &dir, None);

    // Validation on the server.
    let out = job(&["validate", "clijob.nomad"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Job validation successful\n")
    );

    // Run and follow the evaluation.
    let out = job(&["run", "clijob.nomad"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_monitored(&out);
    let index = job_modify_index(&s, "clijob");

    // The same job again: nothing to change, the index to check against.
    let footer = format!(
        "Job Modify Index: {index}\n\
To submit the job with version verification run:\n\n\
caravan job run -check-index {index} clijob.nomad\n\n\
When running the job with the check-index flag, the job will only be run if the\n\
server side version matches the job modify index returned. If the index has\n\
changed, another user has modified the job and the plan's results are\n\
potentially invalid.\n"
    );
    let out = job(&["plan", "-diff=false", "clijob.nomad"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            0,
            format!("Scheduler dry-run:\n- All tasks successfully allocated.\n\n{footer}").as_str(),
            ""
        )
    );
    // -address wins over NOMAD_ADDR; the diff comes first.
    let out = caravan_job(
        &["plan", "clijob.nomad", "-address", &addr, "-no-color"],
        &[("NOMAD_ADDR", "http://127.0.0.1:1")],
        &dir,
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("\n\nScheduler dry-run:\n- All tasks successfully allocated.\n\n"),
        "{out:?}"
    );
    assert!(out.stdout.ends_with(&footer), "{out:?}");

    // Check-index: a stale index is refused, the current one accepted.
    let stale = (index + 100).to_string();
    let out = job(&["run", "-check-index", &stale, "clijob.nomad"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            format!(
                "Enforcing job modify index {stale}: job exists with conflicting job modify index: {index}\nJob not updated\n"
            )
            .as_str()
        )
    );
    let out = job(&[
        "run",
        &format!("-check-index={index}"),
        "-detach",
        "clijob.nomad",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let eval_id = out
        .stdout
        .strip_prefix("Job registration successful\nEvaluation ID: ")
        .and_then(|r| r.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!(s.get(&format!("/v1/evaluation/{eval_id}")).status, 200);

    // A job the server refuses: Nomad's 500 text, exit 255.
    std::fs::write(
        dir.join("bad.nomad"),
        "job \"bad\" {\n  datacenters = [\"dc1\"]\n  priority = 500\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n",
    )
    .expect("write job");
    let refusal = "Unexpected response code: 500 (2 error(s) occurred:\n\n\
* Job priority must be between [1, 100]\n\
* group \"g\" -> task \"t\" -> config: 1 error(s) occurred:\n\n\
* field \"command\" is required)\n";
    let out = job(&["plan", "bad.nomad"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.clone()),
        (255, "", format!("Error during plan: {refusal}"))
    );
    let out = job(&["run", "bad.nomad"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.clone()),
        (1, "", format!("Error submitting job: {refusal}"))
    );

    // A file that does not parse never reaches the server.
    std::fs::write(dir.join("broken.nomad"), "job \"x\" {\n").expect("write");
    let out = job(&["plan", "broken.nomad"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            255,
            "Error getting job struct: Error parsing job file from broken.nomad: \
error parsing: object expected closing RBRACE got: EOF (at line 2, column 2)\n"
        )
    );

    assert!(s.terminate().success());
    // Once the server is gone: the Go client's transport error.
    let out = job(&["plan", "clijob.nomad"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            255,
            format!(
                "Error during plan: Put {addr}/v1/job/clijob/plan: dial tcp {}: connect: connection refused\n",
                s.addr
            )
            .as_str()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
