//! The example job of the API page Caravan starts from
//! (`binstore-storagelocker`) decodes into the stored job type and
//! re-encodes to the same JSON, field for field and in the same key order;
//! fields the page predates (v0.6 additions) are the only extra keys.

use serde_json::Value;

const SEED: &str = include_str!("../fixtures/seed/binstore-storagelocker.json");

/// Every key of `seed` is in `ours` with an equal value (recursively), and
/// the seed's keys keep their relative order.
fn assert_contains(path: &str, seed: &Value, ours: &Value) {
    match (seed, ours) {
        (Value::Object(s), Value::Object(o)) => {
            let positions: Vec<usize> = s
                .keys()
                .map(|k| {
                    o.keys()
                        .position(|ok| ok == k)
                        .unwrap_or_else(|| panic!("{path}.{k} missing after round trip"))
                })
                .collect();
            assert!(
                positions.windows(2).all(|w| w[0] < w[1]),
                "{path}: key order differs from the seed: {:?} vs {:?}",
                s.keys().collect::<Vec<_>>(),
                o.keys().collect::<Vec<_>>()
            );
            for (k, v) in s {
                assert_contains(&format!("{path}.{k}"), v, &o[k]);
            }
        }
        (Value::Array(s), Value::Array(o)) => {
            assert_eq!(s.len(), o.len(), "{path}: list length");
            for (i, (a, b)) in s.iter().zip(o).enumerate() {
                assert_contains(&format!("{path}[{i}]"), a, b);
            }
        }
        _ => assert_eq!(seed, ours, "{path}"),
    }
}

#[test]
fn seed_job_round_trips_field_for_field() {
    let seed: Value = serde_json::from_str(SEED).unwrap();
    let job: caravan_core::Job = serde_json::from_str(SEED).unwrap();
    assert_eq!(job.id, "binstore-storagelocker");
    assert_eq!(job.version, 3);
    assert_eq!(
        job.task_groups[0].tasks[1]
            .resources
            .as_ref()
            .unwrap()
            .memory_mb,
        0
    );
    let ours = serde_json::to_value(&job).unwrap();
    assert_contains("Job", &seed, &ours);
    // Decoding what we encoded is the identity.
    let again: caravan_core::Job = serde_json::from_value(ours.clone()).unwrap();
    assert_eq!(again, job);
    // The v0.6 additions are there with Nomad's zero values.
    assert_eq!(ours["Stop"], Value::Bool(false));
    assert_eq!(ours["ParentID"], Value::String(String::new()));
    assert_eq!(ours["Periodic"], Value::Null);
    assert_eq!(ours["Payload"], Value::Null);
    assert_eq!(ours["TaskGroups"][0]["Tasks"][0]["Services"], Value::Null);
}

#[test]
fn seed_job_registers_through_the_api_path() {
    // The same document as a register body's `Job`: API defaults apply to
    // what it leaves out, and explicit zeros stay (MemoryMB 0).
    let body = format!(r#"{{"Job": {SEED}}}"#);
    let req: caravan_core::model::requests::JobRegisterRequest =
        caravan_core::gojson::from_slice(body.as_bytes(), "api.JobRegisterRequest").unwrap();
    let prepared = caravan_core::prepare(req.job.unwrap());
    let job = prepared.job;
    let store = &job.task_groups[0].tasks[0];
    let res = store.resources.as_ref().unwrap();
    assert_eq!((res.cpu, res.memory_mb, res.iops), (500, 0, 0));
    assert_eq!(res.networks[0].mbits, 100);
    assert_eq!(store.kill_timeout, 5_000_000_000);
    assert_eq!(
        job.task_groups[0].ephemeral_disk.as_ref().unwrap().size_mb,
        300
    );
    // Server-owned fields of the document are dropped on the way in.
    assert_eq!(
        (job.version, job.create_index, job.status.as_str()),
        (0, 0, "")
    );
}
