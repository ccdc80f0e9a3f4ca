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

/// A server with job `b` registered and its evaluation done; the job's
/// index.
fn with_settled_job(name: &str) -> (Server, u64) {
    let s = Server::start(name);
    assert_eq!(s.put("/v1/job/b", &job_json("b", "1")).status, 200);
    settle(&s);
    let job_index = s.get("/v1/job/b").index();
    (s, job_index)
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

/// A parked read that a change of something it did not read wakes (an
/// evaluation of its job) runs again and waits on, until the deadline of
/// its first run: the wake does not restart the wait.
#[test]
fn a_wake_that_changes_nothing_read_keeps_the_first_deadline() {
    let (s, job_index) = with_settled_job("block-rewait");
    let (addr, path) = (
        s.addr.clone(),
        format!("/v1/job/b?index={job_index}&wait=1s"),
    );
    let waiter = std::thread::spawn(move || request(&addr, "GET", &path, None));
    std::thread::sleep(Duration::from_millis(600));
    let eval = s.call("PUT", "/v1/job/b/evaluate", None);
    assert_eq!(eval.status, 200, "{}", eval.body);
    assert!(s.get("/v1/job/b/evaluations").index() > job_index);
    let r = waiter.join().expect("waiter");
    assert_eq!(r.status, 200);
    assert_eq!(r.index(), job_index, "the job itself did not change");
    assert_eq!(r.json()["ID"], "b");
    assert!(r.elapsed >= Duration::from_secs(1), "{:?}", r.elapsed);
    // A wait restarted at the wake would end after 1.6 s.
    assert!(r.elapsed < Duration::from_millis(1500), "{:?}", r.elapsed);
}

/// One keep-alive connection: a blocking read, then a plain one; both are
/// answered in order on the same connection.
#[test]
fn a_connection_goes_on_after_a_parked_read() {
    use std::io::{BufRead, BufReader, Read, Write};
    let (s, job_index) = with_settled_job("block-keepalive");
    let mut stream = std::net::TcpStream::connect(&s.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut read_response = || {
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        let mut length = 0;
        let mut index = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().expect("length");
            }
            if let Some(v) = line.strip_prefix("X-Nomad-Index: ") {
                index = v.parse().expect("index");
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        (status, index, String::from_utf8(body).expect("utf-8"))
    };
    let host = &s.addr;
    let blocking =
        format!("GET /v1/job/b?index={job_index}&wait=300ms HTTP/1.1\r\nHost: {host}\r\n\r\n");
    stream.write_all(blocking.as_bytes()).expect("write");
    let (status, index, body) = read_response();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(index, job_index);
    assert!(body.contains("\"ID\":\"b\""), "{body}");
    let plain = format!("GET /v1/job/b/summary HTTP/1.1\r\nHost: {host}\r\n\r\n");
    stream.write_all(plain.as_bytes()).expect("write");
    let (status, _, body) = read_response();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("\"JobID\":\"b\""), "{body}");
}
