//! Blocking queries: woken by a concurrent change, or returning at `wait`.

use std::time::Duration;

use crate::support::{eventually, job_json, request, Server};

/// Waits until no evaluation is pending, so job statuses stop moving.
fn settle(s: &Server) {
    eventually("evaluations to settle", || {
        s.get("/v1/evaluations")
            .json()
            .as_array()
            .is_some_and(|l| l.iter().all(|e| e["Status"] != "pending"))
    });
}

#[test]
fn a_blocked_read_returns_at_wait_with_the_current_index() {
    let s = Server::start("block-timeout");
    // Another job first, so that index 1 is stale for job b.
    assert_eq!(s.put("/v1/job/a", &job_json("a", "1")).status, 200);
    assert_eq!(s.put("/v1/job/b", &job_json("b", "1")).status, 200);
    settle(&s);
    let now = s.get("/v1/job/b").index();
    let r = s.get(&format!("/v1/job/b?index={now}&wait=1s"));
    assert_eq!(r.status, 200);
    assert_eq!(r.index(), now);
    assert!(r.elapsed >= Duration::from_secs(1), "{:?}", r.elapsed);
    // Jitter adds at most wait/16.
    assert!(
        r.elapsed < Duration::from_millis(1062 + 500),
        "{:?}",
        r.elapsed
    );
    // A stale index returns at once.
    let r = s.get("/v1/job/b?index=1&wait=5s");
    assert!(r.elapsed < Duration::from_millis(500), "{:?}", r.elapsed);
    assert_eq!(r.index(), now);
}

#[test]
fn blocked_reads_wake_on_a_change_of_what_they_read() {
    let s = Server::start("block-wake");
    assert_eq!(s.put("/v1/job/b", &job_json("b", "1")).status, 200);
    assert_eq!(s.put("/v1/job/other", &job_json("other", "1")).status, 200);
    settle(&s);
    let job_index = s.get("/v1/job/b").index();
    let list_index = s.get("/v1/jobs").index();
    let version_index = s.get("/v1/job/b/versions").index();
    let paths = [
        format!("/v1/job/b?index={job_index}&wait=20s"),
        format!("/v1/jobs?index={list_index}&wait=20s"),
        format!("/v1/job/b/versions?index={version_index}&wait=20s"),
    ];
    let waiters: Vec<_> = paths
        .iter()
        .map(|p| {
            let (addr, p) = (s.addr.clone(), p.clone());
            std::thread::spawn(move || request(&addr, "GET", &p, None))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A change to another job does not wake the job's own waiters.
    assert_eq!(s.put("/v1/job/other", &job_json("other", "2")).status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let update = s.put("/v1/job/b", &job_json("b", "2"));
    assert_eq!(update.status, 200);
    let results: Vec<_> = waiters
        .into_iter()
        .map(|w| w.join().expect("waiter"))
        .collect();
    for (r, path) in results.iter().zip(&paths) {
        assert_eq!(r.status, 200, "{path}");
        // Woken within moments of the update, not at the wait.
        assert!(
            r.elapsed < Duration::from_secs(5),
            "{path}: {:?}",
            r.elapsed
        );
    }
    assert!(results[0].index() > job_index);
    assert!(
        results[0].elapsed >= Duration::from_millis(550),
        "job waiter woke early"
    );
    assert!(results[1].index() > list_index);
    assert!(results[2].index() > version_index);
}
