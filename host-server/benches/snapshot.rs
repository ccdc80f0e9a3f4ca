//! Snapshot and log codecs at scale: builds a state of N registered small
//! jobs (the perf workload's job, each evaluated and blocked as the server's
//! worker would), then times cloning, encoding and decoding it, and decoding
//! plus replaying a log tail. Prints one line per measurement.
//!
//! `SNAP_JOBS=100000 cargo bench -p caravan-server --bench snapshot`

use std::time::Instant;

use caravan_core::scheduler::EvalRun;
use caravan_core::state::{Reply, StateConfig};
use caravan_core::{ClusterState, Command};

#[path = "../../core/benches/support/small_job.rs"]
mod small_job;
use small_job::small_job;

/// The commands the server logs for one registration: the register and the
/// worker's writes for its evaluation.
fn register(state: &mut ClusterState, i: u64, log: &mut Vec<Command>) {
    let job = caravan_core::prepare(small_job(&format!("job-{i:07}"))).job;
    let eval_id = format!("{:08x}-0000-4000-8000-{:012x}", i, i);
    let cmd = Command::RegisterJob {
        job: Box::new(job),
        enforce_index: false,
        job_modify_index: 0,
        eval_id: eval_id.clone(),
        now: 1_700_000_000_000_000_000 + i as i64,
    };
    log.push(cmd.clone());
    state.apply(cmd).expect("register");
    let eval = state.eval(&eval_id).expect("eval").as_ref().clone();
    let mut run = EvalRun::new(eval, i);
    while let Some(cmd) = run.next(state) {
        log.push(cmd.clone());
        if let Ok(applied) = state.apply(cmd) {
            if let Reply::Plan(r) = &applied.reply {
                run.plan_applied(r);
            }
        }
    }
}

fn time<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    println!("{what:48} {:9.1} ms", t.elapsed().as_secs_f64() * 1e3);
    out
}

fn main() {
    let n: u64 = std::env::var("SNAP_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tail: usize = 16_384;
    let mut state = ClusterState::new(StateConfig::default());
    let mut log = Vec::new();
    time(&format!("build state of {n} jobs"), || {
        for i in 0..n {
            register(&mut state, i, &mut log);
        }
    });
    println!("log entries: {}", log.len());
    let copy = time("clone", || state.clone());
    drop(copy);

    let json = time("snapshot json encode", || {
        serde_json::to_vec(&state).expect("json")
    });
    println!("snapshot json bytes: {}", json.len());
    let back: ClusterState = time("snapshot json decode", || {
        serde_json::from_slice(&json).expect("decode")
    });
    assert!(back == state);

    let mp = time("snapshot msgpack encode", || {
        rmp_serde::to_vec(&state).expect("mp")
    });
    println!("snapshot msgpack bytes: {}", mp.len());
    let back: ClusterState = time("snapshot msgpack decode", || {
        rmp_serde::from_slice(&mp).expect("decode")
    });
    assert!(back == state);

    let tail_cmds = &log[log.len().saturating_sub(tail)..];
    let json_tail: Vec<Vec<u8>> = tail_cmds
        .iter()
        .map(|c| serde_json::to_vec(c).expect("json"))
        .collect();
    let mp_tail: Vec<Vec<u8>> = tail_cmds
        .iter()
        .map(|c| rmp_serde::to_vec(c).expect("mp"))
        .collect();
    println!(
        "log tail of {}: json {} bytes, msgpack {} bytes",
        tail_cmds.len(),
        json_tail.iter().map(Vec::len).sum::<usize>(),
        mp_tail.iter().map(Vec::len).sum::<usize>()
    );
    time("log tail json decode", || {
        for b in &json_tail {
            let _: Command = serde_json::from_slice(b).expect("decode");
        }
    });
    time("log tail msgpack decode", || {
        for b in &mp_tail {
            let _: Command = rmp_serde::from_slice(b).expect("decode");
        }
    });
    let mut replayed = ClusterState::new(StateConfig::default());
    time("log tail apply (on an empty state)", || {
        for c in tail_cmds {
            let _ = replayed.apply(c.clone());
        }
    });
}
