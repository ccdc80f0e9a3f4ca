//! Scheduler benchmarks: one evaluation end to end — scheduling, the plan
//! applier's check and committing the plan to the state — on clusters of
//! up to 10 000 nodes. Prints the peak heap growth of each run once.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use caravan_core::model::{Evaluation, Job, NetworkResource, Node, Resources};
use caravan_core::scheduler::Rng;
use caravan_core::state::AllocClientUpdate;
use caravan_core::{ApiJob, ClusterState, Command};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// The allocator of the `caravan` binary, which the scheduler runs in
/// (glibc's malloc and free were ~30 % of the system case's instructions;
/// BENCHMARKS.md has both).
#[path = "../../host-server/src/mialloc.rs"]
mod mialloc;

/// Counts live heap bytes and their peak, allocating with [`mialloc`].
struct Counting;

static INNER: mialloc::MiMalloc = mialloc::MiMalloc;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { INNER.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { INNER.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { INNER.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A client node fingerprinted like the dev node of the oracle corpus.
fn node(rng: &mut Rng, mem: i64) -> Node {
    let id = rng.uuid();
    let attrs = [
        ("cpu.arch", "amd64"),
        ("cpu.frequency", "2599"),
        ("cpu.modelname", "Intel(R) Xeon(R) Processor"),
        ("cpu.numcores", "2"),
        ("cpu.totalcompute", "5198"),
        ("driver.exec", "1"),
        ("driver.java", "1"),
        ("driver.raw_exec", "1"),
        ("kernel.name", "linux"),
        ("kernel.version", "6.18.44"),
        ("memory.totalbytes", "25276502016"),
        ("nomad.revision", "ac9d8f5f"),
        ("nomad.version", "0.6.3"),
        ("os.name", "debian"),
        ("os.version", "12.11"),
        ("unique.cgroup.mountpoint", "/sys/fs/cgroup"),
        ("unique.network.ip-address", "10.0.0.1"),
        ("unique.storage.volume", "/dev/vda"),
    ];
    let mut attributes: std::collections::BTreeMap<String, String> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    attributes.insert("unique.hostname".into(), id[..8].to_string());
    Node {
        id: id.clone(),
        name: id[..8].to_string(),
        datacenter: "dc1".into(),
        status: "ready".into(),
        attributes,
        resources: Some(Resources {
            cpu: 4000,
            memory_mb: mem,
            disk_mb: 100_000,
            iops: 0,
            networks: vec![NetworkResource {
                device: "eth0".into(),
                cidr: "10.0.0.1/32".into(),
                ip: "10.0.0.1".into(),
                mbits: 1000,
                ..Default::default()
            }],
        }),
        reserved: Some(Resources::default()),
        ..Default::default()
    }
}

fn job(id: &str, job_type: &str, count: i64, mem: i64) -> Job {
    let doc = format!(
        r#"{{"ID":"{id}","Type":"{job_type}","Datacenters":["dc1"],"TaskGroups":[{{"Name":"web","Count":{count},
        "Tasks":[{{"Name":"server","Driver":"raw_exec","Config":{{"command":"/bin/sleep","args":["600"]}},
        "Resources":{{"CPU":20,"MemoryMB":{mem}}}}}]}}]}}"#
    );
    let api: ApiJob =
        caravan_core::gojson::from_slice(doc.as_bytes(), "api.Job").expect("bench job");
    caravan_core::prepare(api).job
}

fn cluster(nodes: usize, mem: i64) -> ClusterState {
    let mut state = ClusterState::default();
    let mut rng = Rng::new(7);
    for _ in 0..nodes {
        let n = node(&mut rng, mem);
        state
            .apply(Command::UpsertNode { node: Box::new(n) })
            .expect("node");
    }
    state
}

/// Registers `job`; returns its pending evaluation.
fn register(state: &mut ClusterState, job: Job, eval_id: &str) -> Evaluation {
    state
        .apply(Command::RegisterJob {
            job: Box::new(job),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: eval_id.into(),
            now: 1,
        })
        .expect("register");
    (**state.eval(eval_id).expect("eval")).clone()
}

/// The measured unit: process `eval` to the end, applying every write.
/// Never inlined, so `valgrind --toggle-collect='*measured_run*'` can
/// count it alone (set-up runs call `run_eval` directly).
#[inline(never)]
fn measured_run(state: &mut ClusterState, eval: Evaluation, seed: u64) {
    run_eval(state, eval, seed)
}

#[path = "support/run_eval.rs"]
mod run_eval;
use run_eval::run_eval;

fn set_running(state: &mut ClusterState, job_id: &str) {
    let updates = state
        .allocs_by_job(job_id, false)
        .iter()
        .map(|a| AllocClientUpdate {
            alloc_id: a.id.clone(),
            client_status: "running".into(),
            ..Default::default()
        })
        .collect();
    state
        .apply(Command::UpdateAllocsFromClient { updates })
        .expect("client update");
}

/// A ready-to-process evaluation and the state it runs against.
struct Case {
    name: String,
    state: ClusterState,
    eval: Evaluation,
    samples: usize,
}

fn place_case(nodes: usize, count: i64) -> Case {
    let mut state = cluster(nodes, 8192);
    let eval = register(
        &mut state,
        job("web", "service", count, 64),
        "00000000-0000-0000-0000-000000000001",
    );
    Case {
        name: format!("service N={nodes} C={count}"),
        state,
        eval,
        samples: if nodes >= 5000 { 10 } else { 20 },
    }
}

fn system_case(nodes: usize) -> Case {
    let mut state = cluster(nodes, 8192);
    let eval = register(
        &mut state,
        job("sys", "system", 1, 64),
        "00000000-0000-0000-0000-000000000001",
    );
    Case {
        name: format!("system N={nodes}"),
        state,
        eval,
        samples: 10,
    }
}

fn in_place_case() -> Case {
    let mut state = cluster(1000, 8192);
    let first = register(
        &mut state,
        job("web", "service", 1000, 64),
        "00000000-0000-0000-0000-000000000001",
    );
    run_eval(&mut state, first, 1);
    set_running(&mut state, "web");
    let eval = register(
        &mut state,
        job("web", "service", 1200, 64),
        "00000000-0000-0000-0000-000000000002",
    );
    Case {
        name: "in-place count 1000->1200 N=1000".into(),
        state,
        eval,
        samples: 20,
    }
}

fn exhausted_case() -> Case {
    // A system job fills every node's memory.
    let mut state = cluster(5000, 8192);
    let filler = register(
        &mut state,
        job("filler", "system", 1, 8192),
        "00000000-0000-0000-0000-000000000001",
    );
    run_eval(&mut state, filler, 1);
    let eval = register(
        &mut state,
        job("web", "service", 1000, 64),
        "00000000-0000-0000-0000-000000000002",
    );
    Case {
        name: "unplaceable N=5000 C=1000".into(),
        state,
        eval,
        samples: 20,
    }
}

/// Runs per case of the report (`SCHED_RUNS`, default 5).
fn report_runs() -> u64 {
    std::env::var("SCHED_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// The best run of a case so far, and its heap.
#[derive(Default)]
struct Best {
    cpu_ms: Option<f64>,
    wall_ms: Option<f64>,
    peak: usize,
    kept: usize,
}

impl Best {
    /// Runs `case` once with `seed` and keeps what beats the runs before.
    fn run(&mut self, case: &Case, seed: u64) {
        let mut state = case.state.clone();
        let eval = case.eval.clone();
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let (cpu0, wall0) = (thread_cpu_ns(), std::time::Instant::now());
        measured_run(&mut state, eval, seed);
        let cpu = (thread_cpu_ns() - cpu0) as f64 / 1e6;
        let wall = wall0.elapsed().as_secs_f64() * 1e3;
        self.cpu_ms = Some(self.cpu_ms.map_or(cpu, |b| b.min(cpu)));
        self.wall_ms = Some(self.wall_ms.map_or(wall, |b| b.min(wall)));
        self.peak = self.peak.max(PEAK.load(Ordering::Relaxed) - base);
        self.kept = CURRENT.load(Ordering::Relaxed).saturating_sub(base);
        drop(state);
    }
}

/// Prints, once per case, the peak heap growth of a run and the best of
/// `SCHED_RUNS` runs in CPU and wall time (the minimum is the least
/// disturbed by other work on a shared machine). The cases take turns,
/// one run each, so that a slow phase of the machine falls on all of
/// them alike instead of on whichever case was running then (the
/// (5000, 5000) → (10000, 10000) ratio compares two of them).
fn report(cases: &[Case]) {
    let runs = report_runs();
    let mut best: Vec<Best> = cases.iter().map(|_| Best::default()).collect();
    for seed in 0..runs {
        for (case, best) in cases.iter().zip(&mut best) {
            best.run(case, 42 + seed);
        }
    }
    for (case, best) in cases.iter().zip(&best) {
        eprintln!(
            "{}: best of {runs}: {:.2} ms CPU, {:.2} ms wall; peak heap growth {:.1} MiB ({:.1} MiB retained in the state)",
            case.name,
            best.cpu_ms.unwrap_or(f64::NAN),
            best.wall_ms.unwrap_or(f64::NAN),
            best.peak as f64 / (1 << 20) as f64,
            best.kept as f64 / (1 << 20) as f64,
        );
    }
}

/// Builds one benchmark case.
type Builder = fn() -> Case;

/// The cases selected by `SCHED_BENCH` (comma-separated name parts), built
/// once: a 10 000-node cluster takes a while to set up.
fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let filter: Vec<String> = std::env::var("SCHED_BENCH")
            .unwrap_or_default()
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        let wanted =
            |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
        let builders: Vec<(&str, Builder)> = vec![
            ("service N=100 C=100", || place_case(100, 100)),
            ("service N=1000 C=1000", || place_case(1000, 1000)),
            ("service N=5000 C=1000", || place_case(5000, 1000)),
            ("service N=5000 C=5000", || place_case(5000, 5000)),
            ("service N=10000 C=10000", || place_case(10000, 10000)),
            ("system N=5000", || system_case(5000)),
            ("in-place count 1000->1200 N=1000", in_place_case),
            ("unplaceable N=5000 C=1000", exhausted_case),
        ];
        let built: Vec<Case> = builders
            .into_iter()
            .filter(|(name, _)| wanted(name))
            .map(|(_, build)| build())
            .collect();
        report(&built);
        built
    })
}

fn bench_with<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut group = c.benchmark_group(group);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for case in cases() {
        group.sample_size(case.samples);
        group.bench_function(&case.name, |b| {
            let mut seed = 0;
            b.iter_batched(
                || {
                    seed += 1;
                    (case.state.clone(), case.eval.clone(), seed)
                },
                |(mut state, eval, seed)| {
                    measured_run(&mut state, eval, seed);
                    black_box(state)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Which criterion clocks run (`SCHED_CLOCK`: `wall`, `cpu`, or `none`
/// for the report alone, e.g. under valgrind); both by default.
fn clock_wanted(clock: &str) -> bool {
    if std::env::var("SCHED_CLOCK").is_ok_and(|v| v == "none") {
        cases();
        return false;
    }
    std::env::var("SCHED_CLOCK").map_or(true, |v| v == clock)
}

/// Wall-clock time (criterion's default).
fn wall(c: &mut Criterion) {
    if clock_wanted("wall") {
        bench_with(c, "eval");
    }
}

/// CPU time of the benchmarking thread: what a run costs, whatever else
/// the (shared) machine is doing.
fn cpu(c: &mut Criterion<ThreadCpu>) {
    if clock_wanted("cpu") {
        bench_with(c, "eval-cpu");
    }
}

/// Thread CPU time from `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` (Linux).
struct ThreadCpu;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn thread_cpu_ns() -> u64 {
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> Duration {
        Duration::from_nanos(thread_cpu_ns().saturating_sub(start))
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "per CPU-second"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

criterion_group!(wall_benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu
}
criterion_main!(wall_benches, cpu_benches);
