use std::path::PathBuf;

use caravan_core::model::api::ApiJob;
use caravan_core::model::{AllocMetric, VecMap};
use caravan_core::scheduler::PlanResponse;
use serde_json::Value;

use super::*;

const PLAIN: Colorize = Colorize { disable: true };
const COLOR: Colorize = Colorize { disable: false };

fn manifest_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read_json(rel: &str) -> Value {
    let path = manifest_path(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A recorded plan: the job sent and the response body as received.
fn recorded(fixture: &str) -> (PlanResponse, ApiJob) {
    let rec = read_json(&format!("../tests/fixtures/nomad-0.6.3/{fixture}"));
    let body = rec["response"]["body"].as_str().expect("response body");
    let resp = serde_json::from_str(body).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    let job = serde_json::from_value(rec["request"]["body"]["Job"].clone()).expect("request job");
    (resp, job)
}

fn view(diff: bool, verbose: bool, now: i64) -> PlanView<'static> {
    PlanView {
        path: "job.nomad",
        diff,
        verbose,
        now,
    }
}

/// Every recorded plan response and the synthetic ones, rendered plain,
/// verbose and coloured, against what Nomad's own formatting printed.
#[test]
fn matches_nomads_plan_output_for_every_case() {
    let golden = read_json("tests/fixtures/plan-output/golden.json");
    let now = golden["now"].as_i64().expect("now") * 1_000_000_000;
    let cases = golden["cases"].as_object().expect("cases");
    assert_eq!(cases.len(), 35);
    for (name, case) in cases {
        let (resp, job) = match case["fixture"].as_str() {
            Some(f) => recorded(f),
            None => (
                serde_json::from_value(case["resp"].clone()).expect("resp"),
                serde_json::from_value(case["job"].clone()).expect("job"),
            ),
        };
        let diff = case["diff"].as_bool().expect("diff");
        for (key, verbose, colorize) in [
            ("plain", false, PLAIN),
            ("verbose", true, PLAIN),
            ("color", false, COLOR),
        ] {
            let got = render_plan(&resp, &job, &view(diff, verbose, now), colorize);
            assert_eq!(got, case[key].as_str().expect("text"), "{name} {key}");
        }
        assert_eq!(
            i64::from(plan_exit_code(&resp)),
            case["exit"].as_i64().expect("exit"),
            "{name}"
        );
    }
}

#[test]
fn new_job_exact_text() {
    let (resp, job) = recorded("052-plan-new-job.json");
    assert_eq!(
        render_plan(&resp, &job, &view(true, false, 0), PLAIN),
        r#"+ Job: "planjob"
+ Task Group: "web" (1 create)
  + Task: "server" (forces create)
  + Task: "sidecar" (forces create)

+ Task Group: "worker" (1 create)
  + Task: "work" (forces create)

Scheduler dry-run:
- All tasks successfully allocated.

Job Modify Index: 0
To submit the job with version verification run:

caravan job run -check-index 0 job.nomad

When running the job with the check-index flag, the job will only be run if the
server side version matches the job modify index returned. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.
"#
    );
    assert_eq!(plan_exit_code(&resp), 1);
}

#[test]
fn edited_job_with_annotations_exact_text() {
    let (resp, job) = recorded("075-plan-multi-change.json");
    assert_eq!(
        render_plan(&resp, &job, &view(true, false, 0), PLAIN),
        r#"+/- Job: "planjob"
+/- Task Group: "web" (2 create, 1 create/destroy update)
  +/- Count: "1" => "3" (forces create)
  +/- Task: "server" (forces create/destroy update)
    +/- Env[E]: "1" => "9"
      Task: "sidecar"

+/- Task Group: "worker" (1 create/destroy update)
  +/- Task: "work" (forces create/destroy update)
    +/- Config {
      +/- args[0]: "600" => "601"
          command: "/bin/sleep"
        }

Scheduler dry-run:
- All tasks successfully allocated.

Job Modify Index: 52
To submit the job with version verification run:

caravan job run -check-index 52 job.nomad

When running the job with the check-index flag, the job will only be run if the
server side version matches the job modify index returned. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.
"#
    );
}

#[test]
fn failed_placement_exact_text_and_colors() {
    let (resp, job) = recorded("078-plan-new-cpu-too-large.json");
    assert_eq!(
        format_dry_run(&resp, &job, 0),
        "[bold][yellow]- WARNING: Failed to place all allocations.[reset]\n  \
[yellow]Task Group \"web\" (failed to place 1 allocation):\n[reset]\
[yellow]    * Resources exhausted on 1 nodes\n    \
* Dimension \"cpu exhausted\" exhausted on 1 nodes[reset]"
    );
    let text = render_plan(&resp, &job, &view(false, false, 0), PLAIN);
    assert!(text.starts_with(
        "Scheduler dry-run:\n- WARNING: Failed to place all allocations.\n  \
Task Group \"web\" (failed to place 1 allocation):\n    \
* Resources exhausted on 1 nodes\n    \
* Dimension \"cpu exhausted\" exhausted on 1 nodes\n\nJob Modify Index: 0\n"
    ));
    assert_eq!(
        COLOR.color(&format_dry_run(&resp, &job, 0)),
        "\x1b[1m\x1b[33m- WARNING: Failed to place all allocations.\x1b[0m\n  \
\x1b[33mTask Group \"web\" (failed to place 1 allocation):\n\x1b[0m\
\x1b[33m    * Resources exhausted on 1 nodes\n    \
* Dimension \"cpu exhausted\" exhausted on 1 nodes\x1b[0m\x1b[0m"
    );
}

#[test]
fn metrics_print_every_reason_in_key_order_with_scores() {
    let metrics = AllocMetric {
        nodes_evaluated: 0,
        nodes_available: VecMap::from([("dc2".into(), 0), ("dc1".into(), 0), ("dc3".into(), 4)]),
        constraint_filtered: VecMap::from([("b".into(), 2), ("a".into(), 1)]),
        dimension_exhausted: VecMap::from([("memory".into(), 1), ("cpu".into(), 3)]),
        scores: VecMap::from([
            ("n1.binpack".into(), 0.25),
            ("n0.job-anti-affinity".into(), -10.0),
        ]),
        ..Default::default()
    };
    assert_eq!(
        format_alloc_metrics(&metrics, true, "  "),
        "  * No nodes were eligible for evaluation\n  \
* No nodes are available in datacenter \"dc1\"\n  \
* No nodes are available in datacenter \"dc2\"\n  \
* Constraint \"a\" filtered 1 nodes\n  \
* Constraint \"b\" filtered 2 nodes\n  \
* Dimension \"cpu\" exhausted on 3 nodes\n  \
* Dimension \"memory\" exhausted on 1 nodes\n  \
* Score \"n0.job-anti-affinity\" = -10.000000\n  \
* Score \"n1.binpack\" = 0.250000"
    );
    assert_eq!(
        format_alloc_metrics(
            &AllocMetric {
                nodes_evaluated: 2,
                ..Default::default()
            },
            true,
            "  "
        ),
        ""
    );
}

#[test]
fn periodic_launch_in_the_jobs_zone() {
    let resp = PlanResponse {
        next_periodic_launch: "2027-01-01T00:00:00-05:00".into(),
        ..Default::default()
    };
    let job: ApiJob = serde_json::from_value(serde_json::json!({
        "Type": "batch",
        "Periodic": {"Spec": "0 0 1 1 *", "TimeZone": "America/New_York"}
    }))
    .expect("job");
    // 2026-12-31T21:59:30.9Z, i.e. 16:59:30 in New York: 7h0m30s to go
    // once both ends are truncated to the second.
    let now = 1_798_754_370_900_000_000;
    assert_eq!(
        format_dry_run(&resp, &job, now),
        "[bold][green]- All tasks successfully allocated.[reset]\n\
[green]- If submitted now, next periodic launch would be at 01/01/27 00:00:00 EST (7h0m30s from now)."
    );
    // No annotations at all: nothing changes (Nomad would crash).
    assert_eq!(plan_exit_code(&resp), 0);
}

#[test]
fn go_times_and_differences() {
    assert_eq!(parse_go_time("0001-01-01T00:00:00Z"), None);
    assert_eq!(parse_go_time("garbage"), None);
    assert_eq!(
        parse_go_time("2027-01-01T00:00:00.5+01:00"),
        Some(1_798_758_000_500_000_000)
    );
    assert_eq!(format_time(0, chrono_tz::UTC), "");
    assert_eq!(
        format_time(1_798_758_000_500_000_000, chrono_tz::Europe::Paris),
        "01/01/27 00:00:00 CET"
    );
    assert_eq!(time_difference(1_500_000_000, 3_400_000_000), "2s");
    assert_eq!(time_difference(5_000_000_000, 1_000_000_000), "-4s");
}
