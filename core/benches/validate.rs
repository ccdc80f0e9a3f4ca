//! Validation of the perf "big job" (50 groups × 10 tasks, the shape of
//! /work/shared/perf/jobs.py `big_job`, built by `support/big_job.rs`), and
//! constraint checks per node.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use caravan_core::model::{Constraint, Node};
use caravan_core::validate::ConstraintCache;
use caravan_core::validate::{validate_job, ValidateOptions};

/// The allocator of the `caravan` binary these paths run in.
#[path = "../../host-server/src/mialloc.rs"]
mod mialloc;

#[global_allocator]
static ALLOCATOR: mialloc::MiMalloc = mialloc::MiMalloc;

/// The builders of the diff bench; its `dc1` datacenter does not matter
/// to validation.
#[path = "support/big_job.rs"]
#[allow(dead_code)]
mod big_job;

fn bench_validate(c: &mut Criterion) {
    let job = big_job::prepared(big_job::big_job());
    let opts = ValidateOptions::default();
    let sanity = validate_job(&job, &opts);
    assert!(sanity.errors.is_empty(), "{:?}", sanity.errors.render());

    c.bench_function("validate_job big job (50x10)", |b| {
        b.iter(|| validate_job(black_box(&job), &opts))
    });
}

fn bench_constraints(c: &mut Criterion) {
    let nodes: Vec<Node> = (0..1000)
        .map(|i| {
            let mut n = Node {
                id: format!("node-{i}"),
                datacenter: "dc1".into(),
                ..Node::default()
            };
            n.attributes
                .insert("nomad.version".into(), format!("0.6.{}", i % 5));
            n.attributes.insert("kernel.name".into(), "linux".into());
            n
        })
        .collect();
    let version = Constraint::new("${attr.nomad.version}", "version", ">= 0.6.1, < 0.7");
    let regexp = Constraint::new("${attr.kernel.name}", "regexp", "^(linux|darwin)$");
    // As a scheduling pass checks them: one cache for the pass.
    c.bench_function("satisfies version+regexp x1000 nodes", |b| {
        b.iter(|| {
            let mut cache = ConstraintCache::default();
            nodes
                .iter()
                .filter(|n| cache.satisfies(n, &version) && cache.satisfies(n, &regexp))
                .count()
        })
    });
}

criterion_group!(benches, bench_validate, bench_constraints);
criterion_main!(benches);
