//! The browser flavour: a small JS API (wasm-bindgen) over the same
//! operations as the plugin, with plain JS objects in and out.
//!
//! Objects cross through serde-wasm-bindgen with Nomad's field names; a
//! failure is thrown as a JS `Error` whose message is the core's text.
//! Integers beyond 2^53 (Unix-nanosecond times) come back as the nearest
//! JS number, as `JSON.parse` would give them; `call()` answers with the
//! exact JSON text when that matters. Times may be passed as numbers or
//! BigInts.

use js_sys::{Error, Reflect};
use serde::Serialize;
use serde_json::{json, Map, Number, Value};
use wasm_bindgen::prelude::*;

use crate::abi::{self, Op};
use crate::ops;

/// JS → JSON value (`undefined` and `null` become `null`).
fn from_js(v: &JsValue) -> Result<Value, JsValue> {
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| Error::new(&e.to_string()).into())
}

/// Rust → a plain JS object with Nomad's field names.
fn to_js<T: Serialize>(answer: &T) -> Result<JsValue, JsValue> {
    let mut v = serde_json::to_value(answer).map_err(|e| Error::new(&e.to_string()))?;
    round_large_integers(&mut v);
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::new(&e.to_string()).into())
}

/// JS numbers hold integers exactly only up to 2^53: round larger ones
/// (nanosecond times) to the nearest double instead of failing.
fn round_large_integers(v: &mut Value) {
    const SAFE: u64 = (1 << 53) - 1;
    match v {
        Value::Number(n) => {
            let large = n.as_u64().is_some_and(|u| u > SAFE)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > SAFE);
            if large {
                if let Some(f) = n.as_f64().and_then(Number::from_f64) {
                    *n = f;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_large_integers),
        Value::Object(map) => map.values_mut().for_each(round_large_integers),
        _ => {}
    }
}

fn thrown(message: String) -> JsValue {
    Error::new(&message).into()
}

/// Reads `options.name` (absent, `undefined` or `null` give `null`).
fn option(options: &JsValue, name: &str) -> Result<Value, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(Value::Null);
    }
    from_js(&Reflect::get(options, &JsValue::from_str(name))?)
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<String, Value>>(),
    )
}

/// The plugin ABI version this build answers `call()` with.
#[wasm_bindgen(js_name = abiVersion)]
pub fn abi_version() -> u32 {
    abi::ABI_VERSION
}

/// `validate(job, {extraDrivers})` → `{DriverConfigValidated,
/// ValidationErrors, Error, Warnings, Job}`. An invalid job is an answer
/// (`Error` non-empty), not an exception.
#[wasm_bindgen]
pub fn validate(job: &JsValue, options: &JsValue) -> Result<JsValue, JsValue> {
    let req = object(vec![
        ("Job", from_js(job)?),
        ("ExtraDrivers", option(options, "extraDrivers")?),
    ]);
    to_js(&ops::validate(&req).map_err(thrown)?)
}

/// `diff(oldJob, newJob, contextual)` → the job diff (`Type`, `Fields`,
/// `Objects`, `TaskGroups`); either job may be `null`.
#[wasm_bindgen]
pub fn diff(old_job: &JsValue, new_job: &JsValue, contextual: bool) -> Result<JsValue, JsValue> {
    let req = json!({"Old": from_js(old_job)?, "New": from_js(new_job)?, "Contextual": contextual});
    to_js(&ops::diff(&req).map_err(thrown)?)
}

fn plan_request(job: &JsValue, cluster: &JsValue, options: &JsValue) -> Result<Value, JsValue> {
    Ok(object(vec![
        ("Job", from_js(job)?),
        ("Cluster", from_js(cluster)?),
        ("Diff", option(options, "diff")?),
        ("Seed", option(options, "seed")?),
        ("Now", option(options, "now")?),
        ("ExtraDrivers", option(options, "extraDrivers")?),
    ]))
}

/// `plan(job, cluster, {diff, seed, now, extraDrivers})` → the body of
/// `/v1/job/<id>/plan` (`Annotations.DesiredTGUpdates`, `FailedTGAllocs`,
/// `Diff`, …) for `job` on the cluster snapshot `{Nodes, Job,
/// Allocations}`. Throws the validation error of an invalid job.
#[wasm_bindgen]
pub fn plan(job: &JsValue, cluster: &JsValue, options: &JsValue) -> Result<JsValue, JsValue> {
    let req = plan_request(job, cluster, options)?;
    to_js(&ops::plan(&req).map_err(thrown)?)
}

/// `simulate(job, cluster, options)` (same arguments as `plan`) →
/// `{Register, Placements, Stops, Evaluations}`: the job registered on the
/// snapshot and its evaluation run by the real scheduler.
#[wasm_bindgen]
pub fn simulate(job: &JsValue, cluster: &JsValue, options: &JsValue) -> Result<JsValue, JsValue> {
    let req = plan_request(job, cluster, options)?;
    to_js(&ops::simulate(&req).map_err(thrown)?)
}

/// `dispatchId(parentId, nowUnixSeconds, suffix)` →
/// `"<parent>/dispatch-<seconds>-<suffix>"`.
#[wasm_bindgen(js_name = dispatchId)]
pub fn dispatch_id(
    parent_id: &str,
    now_unix_seconds: f64,
    suffix: &str,
) -> Result<String, JsValue> {
    ops::check_suffix(suffix).map_err(thrown)?;
    if now_unix_seconds.fract() != 0.0 || now_unix_seconds.abs() > 9.0e15 {
        return Err(thrown(format!(
            "nowUnixSeconds must be a whole number of seconds, got {now_unix_seconds}"
        )));
    }
    Ok(caravan_core::dispatch::dispatched_id(
        parent_id,
        now_unix_seconds as i64,
        suffix,
    ))
}

/// `dispatchChild(parent, {payload (base64), meta, suffix, now})` →
/// `{DispatchedJobID, Job}`; throws the dispatch rule a request breaks.
#[wasm_bindgen(js_name = dispatchChild)]
pub fn dispatch_child(parent: &JsValue, request: &JsValue) -> Result<JsValue, JsValue> {
    let req = object(vec![
        ("Job", from_js(parent)?),
        ("Payload", option(request, "payload")?),
        ("Meta", option(request, "meta")?),
        ("IDSuffix", option(request, "suffix")?),
        ("Now", option(request, "now")?),
    ]);
    to_js(&ops::dispatch(&req).map_err(thrown)?)
}

/// `nextPeriodicLaunch(periodic, afterNs)` → the next launch in Unix
/// nanoseconds strictly after `afterNs`, or `null`.
#[wasm_bindgen(js_name = nextPeriodicLaunch)]
pub fn next_periodic_launch(periodic: &JsValue, after: &JsValue) -> Result<JsValue, JsValue> {
    let req = json!({"Periodic": from_js(periodic)?, "After": from_js(after)?});
    let answer = ops::next_periodic_launch(&req).map_err(thrown)?;
    to_js(&answer.next)
}

/// `parseHcl(source)` → the API job; throws an `Error` with `line` and
/// `column` for a file that does not parse.
#[wasm_bindgen(js_name = parseHcl)]
pub fn parse_hcl(source: &str) -> Result<JsValue, JsValue> {
    match ops::parse_hcl(&json!({ "Source": source })).map_err(thrown)? {
        Ok(job) => to_js(&job),
        Err(e) => {
            let err: JsValue = Error::new(&e.message).into();
            Reflect::set(&err, &"line".into(), &(e.line as f64).into())?;
            Reflect::set(&err, &"column".into(), &(e.column as f64).into())?;
            Err(err)
        }
    }
}

/// `call(op, requestJson)` → the plugin's answer envelope as JSON text
/// (`{"ok": …}` / `{"error": "…"}`), byte for byte what the plugin export
/// `op` returns; for exact integers and parity checks.
#[wasm_bindgen]
pub fn call(op: &str, request_json: &str) -> Result<String, JsValue> {
    let op = Op::from_name(op).ok_or_else(|| thrown(format!("unknown operation {op:?}")))?;
    String::from_utf8(abi::call(op, request_json.as_bytes())).map_err(|e| thrown(e.to_string()))
}
