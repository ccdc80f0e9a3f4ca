//! The perf "small job" (perf/jobs.py `small_job`) as the API decodes it,
//! shared by the state-writes bench and the server's snapshot bench.

use caravan_core::model::api::ApiJob;

/// `small_job(id)` of perf/jobs.py: one group, one raw_exec task, in
/// datacenter `perf-none` (no node there: its evaluation ends blocked).
pub fn small_job(id: &str) -> ApiJob {
    let json = format!(
        r#"{{"ID":"{id}","Name":"{id}","Type":"service","Priority":50,"Datacenters":["perf-none"],
        "Meta":{{"rev":"0"}},"TaskGroups":[{{"Name":"g","Count":1,"EphemeralDisk":{{"SizeMB":50}},
        "Tasks":[{{"Name":"t","Driver":"raw_exec","Config":{{"command":"/bin/sleep","args":["3600"]}},
        "LogConfig":{{"MaxFiles":2,"MaxFileSizeMB":10}},"Resources":{{"CPU":20,"MemoryMB":16}}}}]}}]}}"#
    );
    caravan_core::gojson::from_slice(json.as_bytes(), "api.Job").expect("job")
}
