//! The state writes behind one registration of W1/W2 (`../shared/perf`):
//! the writer applying `RegisterJob` of the perf small job, and the eval
//! worker's run of its evaluation with every write it hands out applied
//! (the job's datacenter has no node, so the evaluation ends blocked).
//! The state already holds 10 000 such jobs, as after a W1 and W2 run.
//! Each iteration registers 100 new jobs on a fresh clone of that state;
//! cloning is set-up, not measured.

use std::hint::black_box;

use caravan_core::model::Job;
use caravan_core::state::Reply;
use caravan_core::{ClusterState, Command};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// The allocator of the `caravan` binary these paths run in.
#[path = "../../host-server/src/mialloc.rs"]
mod mialloc;

#[global_allocator]
static ALLOCATOR: mialloc::MiMalloc = mialloc::MiMalloc;

/// Jobs registered per iteration.
const BATCH: usize = 100;

#[path = "support/small_job.rs"]
mod small_job;

/// The perf small job, prepared as the server prepares a submitted job.
fn small_job(id: &str) -> Job {
    caravan_core::prepare(small_job::small_job(id)).job
}

fn eval_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn register(state: &mut ClusterState, job: Job, eval_id: String) {
    let reply = state
        .apply(Command::RegisterJob {
            job: Box::new(job),
            enforce_index: false,
            job_modify_index: 0,
            eval_id,
            now: 1,
        })
        .expect("register");
    assert!(matches!(reply.reply, Reply::Register(_)));
}

#[path = "support/run_eval.rs"]
mod run_eval;

/// Runs the evaluation `id` to its end, applying every write.
fn evaluate(state: &mut ClusterState, id: &str, seed: u64) {
    let eval = (**state.eval(id).expect("eval")).clone();
    run_eval::run_eval(state, eval, seed);
}

fn bench(c: &mut Criterion) {
    let mut base = ClusterState::default();
    for n in 0..10_000 {
        register(&mut base, small_job(&format!("s-{n:07}")), eval_id(n));
        evaluate(&mut base, &eval_id(n), n as u64);
    }
    // What a run leaves: the evaluation blocked, the job pending.
    let last = eval_id(9_999);
    let blocked = base
        .evals()
        .filter(|e| e.previous_eval == last)
        .map(|e| e.status.clone())
        .collect::<Vec<_>>();
    assert_eq!(blocked, ["blocked"]);
    assert_eq!(base.job("s-0009999").expect("job").status, "pending");

    let jobs: Vec<(Job, String)> = (0..BATCH)
        .map(|i| (small_job(&format!("c-{i:07}")), eval_id(10_000 + i)))
        .collect();
    let mut group = c.benchmark_group("writes");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("register 100 small jobs", |b| {
        b.iter_batched(
            || (base.clone(), jobs.clone()),
            |(mut state, jobs)| {
                for (job, id) in jobs {
                    register(&mut state, job, id);
                }
                black_box(state)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("register 100 small jobs and evaluate them", |b| {
        b.iter_batched(
            || (base.clone(), jobs.clone()),
            |(mut state, jobs)| {
                for (n, (job, id)) in jobs.into_iter().enumerate() {
                    register(&mut state, job, id.clone());
                    evaluate(&mut state, &id, n as u64);
                }
                black_box(state)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
