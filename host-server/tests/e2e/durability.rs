//! Crash durability: every acknowledged write survives SIGKILL, and a
//! restart replays the log (and snapshots) to the identical state.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{eventually, job_json, request, temp_dir, Server};

/// Everything a client can read, as one comparable text.
fn dump(s: &Server) -> String {
    let mut out = String::new();
    let jobs = s.get("/v1/jobs").json();
    for j in jobs.as_array().expect("list") {
        let id = j["ID"].as_str().expect("ID");
        out.push_str(&s.get(&format!("/v1/job/{id}")).body);
        out.push_str(&s.get(&format!("/v1/job/{id}/versions")).body);
        out.push_str(&s.get(&format!("/v1/job/{id}/summary")).body);
    }
    out.push_str(&jobs.to_string());
    out.push_str(&s.get("/v1/evaluations").body);
    out.push_str(&s.get("/v1/allocations").body);
    out.push_str(&s.get("/v1/nodes").body);
    out
}

fn settled(s: &Server) -> bool {
    s.get("/v1/evaluations")
        .json()
        .as_array()
        .expect("evals")
        .iter()
        .all(|e| e["Status"] != "pending")
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = temp_dir("crash");
    let mut s = Server::start_in(&dir, &["-snapshot-every", "50"]);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_millis(1500);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (addr, acked) = (s.addr.clone(), acked.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if Instant::now() > deadline {
                        break;
                    }
                    let id = format!("crash-{w}-{n}");
                    let r = std::panic::catch_unwind(|| {
                        request(&addr, "PUT", "/v1/jobs", Some(&job_json(&id, "1")))
                    });
                    match r {
                        Ok(r) if r.status == 200 => acked.lock().expect("lock").push(id),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    s.kill();
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() > 20, "only {} writes acknowledged", acked.len());

    let s = Server::start_in(&dir, &["-snapshot-every", "50"]);
    let listed = s.get("/v1/jobs").json();
    let ids: std::collections::HashSet<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|j| j["ID"].as_str())
        .collect();
    for id in &acked {
        assert!(ids.contains(id.as_str()), "acknowledged job {id} lost");
    }
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn restart_replays_to_the_identical_state() {
    let dir = temp_dir("replay");
    let mut s = Server::start_in(&dir, &["-snapshot-every", "7"]);
    for n in 0..12 {
        assert_eq!(
            s.put(
                "/v1/jobs",
                &job_json(&format!("r{}", n % 5), &n.to_string())
            )
            .status,
            200
        );
    }
    assert_eq!(s.call("DELETE", "/v1/job/r1", None).status, 200);
    assert_eq!(s.call("DELETE", "/v1/job/r2?purge=true", None).status, 200);
    eventually("evaluations to settle", || settled(&s));
    let before = dump(&s);
    s.kill();
    let mut s = Server::start_in(&dir, &["-snapshot-every", "7"]);
    assert_eq!(dump(&s), before);
    // A clean stop (SIGTERM) keeps it too.
    assert!(s.terminate().success());
    let s = Server::start_in(&dir, &[]);
    assert_eq!(dump(&s), before);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
