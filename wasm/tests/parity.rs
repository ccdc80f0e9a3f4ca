//! Native core vs the plugin under wasmtime: the same corpus (every visible
//! oracle case involving validation, diff, plan or dispatch, plus the
//! server-side plan and scheduling calls) must give byte-identical answers.

mod built_plugin;
mod corpus;

use std::collections::BTreeMap;

use caravan_core::model::Evaluation;
use caravan_core::scheduler::EvalRun;
use caravan_core::state::Reply;
use caravan_core::{ClusterState, Command};
use caravan_wasm::abi::ScheduleRequest;
use caravan_wasm::host::{Limits, PluginScheduler, ResidentScheduler};
use caravan_wasm::Op;

#[test]
fn native_and_plugin_answers_are_byte_identical() {
    let cases = corpus::corpus();
    let plugin = built_plugin::plugin(Limits::default());
    let mut per_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for case in &cases {
        let native = caravan_wasm::call(case.op, &case.request);
        let wasm = plugin
            .call_raw(case.op, &case.request)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let counts = per_op.entry(case.op.name()).or_default();
        counts.0 += 1;
        if native.starts_with(b"{\"ok\":") {
            counts.1 += 1;
        }
        if native != wasm {
            mismatches.push(format!(
                "{}\n  native: {}\n  plugin: {}",
                case.name,
                String::from_utf8_lossy(&native),
                String::from_utf8_lossy(&wasm)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // The corpus covers every operation it should, with real answers.
    let at_least = |op: Op, cases: usize, oks: usize| {
        let (n, ok) = per_op.get(op.name()).copied().unwrap_or_default();
        assert!(
            n >= cases && ok >= oks,
            "{}: {n} cases, {ok} ok; want {cases}/{oks}",
            op.name()
        );
    };
    at_least(Op::Validate, 60, 55);
    at_least(Op::Diff, 60, 1);
    at_least(Op::Plan, 60, 30);
    at_least(Op::Simulate, 60, 30);
    at_least(Op::Dispatch, 8, 3);
    at_least(Op::PlanJob, 60, 30);
    at_least(Op::Schedule, 40, 30);
    at_least(Op::NextLaunch, 2, 0);
}

/// Drives a native `EvalRun` the way the server does.
fn native_run(mut state: ClusterState, eval: Evaluation, seed: u64) -> Vec<String> {
    let mut run = EvalRun::new(eval, seed);
    let mut out = Vec::new();
    while let Some(cmd) = run.next(&state) {
        out.push(serde_json::to_string(&cmd).unwrap());
        let applied = state.apply(cmd).unwrap();
        if let Reply::Plan(result) = applied.reply {
            run.plan_applied(&result);
        }
    }
    out
}

#[test]
fn the_plugin_scheduler_drives_evaluations_like_the_core() {
    let scheduler = PluginScheduler::new(built_plugin::plugin(Limits::default()));
    let mut resident = ResidentScheduler::new(built_plugin::plugin(Limits::default()));
    let mut checked = 0;
    for case in corpus::corpus()
        .into_iter()
        .filter(|c| c.op == Op::Schedule)
    {
        let req: ScheduleRequest = serde_json::from_slice(&case.request).unwrap();
        let native = native_run(req.state.clone(), req.eval.clone(), req.seed);

        // Stepwise, exactly as a server drives EvalRun.
        let mut state = req.state.clone();
        let mut run = scheduler.eval_run(req.eval.clone(), req.seed).unwrap();
        let mut stepwise = Vec::new();
        while let Some(cmd) = run.next(&state).unwrap() {
            stepwise.push(serde_json::to_string(&cmd).unwrap());
            if let Reply::Plan(result) = state.apply(cmd).unwrap().reply {
                run.plan_applied(&result).unwrap();
            }
        }
        assert_eq!(stepwise, native, "{}: stepwise", case.name);

        // In one call.
        let steps = scheduler.schedule(&req.state, &req.eval, req.seed).unwrap();
        let one_call: Vec<String> = steps
            .iter()
            .map(|s| serde_json::to_string(&s.command).unwrap())
            .collect();
        assert_eq!(one_call, native, "{}: schedule", case.name);

        // On a resident replica fed each write as logged, as the server's
        // `-scheduler-plugin` runs it (the applier's verdict reaches the run
        // through the replayed `ApplyPlan`).
        let mut host = req.state.clone();
        assert_eq!(resident.load(&host).unwrap(), host.index());
        resident.eval_start(&req.eval, req.seed).unwrap();
        let mut replicated = Vec::new();
        loop {
            let step = resident.eval_next(0).unwrap();
            let Some(cmd) = step.command else { break };
            // The write is logged as the guest encoded it; the replica
            // applies the copy it kept, so that copy must be what the host
            // decodes: the encoding is the host's, and decoding it again
            // gives the same command.
            let logged = step.encoded.expect("a write comes with its encoding");
            assert_eq!(logged, serde_json::to_vec(&cmd).unwrap(), "{}", case.name);
            assert_eq!(serde_json::from_slice::<Command>(&logged).unwrap(), cmd);
            replicated.push(String::from_utf8(logged.clone()).unwrap());
            let _ = host.apply(cmd);
            let index = resident.apply_encoded([logged.as_slice()]).unwrap();
            assert_eq!(index, host.index(), "{}: replica index", case.name);
        }
        assert_eq!(replicated, native, "{}: resident", case.name);
        checked += 1;
    }
    assert!(checked >= 40, "{checked}");
}
