//! The dev node's fingerprint of this machine against the node record a
//! real Nomad v0.6.3 dev agent registered (fixture 003-node-get).

use std::collections::BTreeSet;
use std::path::PathBuf;

use caravan_server::client::{fingerprint_node, host_stats, DevNodeConfig};
use serde_json::Value;

fn recorded_node() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/nomad-0.6.3/003-node-get.json");
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_str(case["response"]["body"].as_str().unwrap()).unwrap()
}

fn config(tag: &str) -> DevNodeConfig {
    DevNodeConfig {
        datacenter: "dc1".into(),
        http_addr: "127.0.0.1:4646".into(),
        data_dir: std::env::temp_dir().join(format!("caravan-fp-{}-{tag}", std::process::id())),
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn node_record_has_nomads_shape() {
    let cfg = config("shape");
    let node = fingerprint_node(&cfg).unwrap();
    let ours = serde_json::to_value(&node).unwrap();
    let golden = recorded_node();
    assert_eq!(keys(&ours), keys(&golden));
    assert_eq!(keys(&ours["Resources"]), keys(&golden["Resources"]));
    assert_eq!(ours["SecretID"], "");
    assert_eq!(ours["Datacenter"], "dc1");
    assert_eq!(ours["HTTPAddr"], "127.0.0.1:4646");
    assert_eq!(ours["TLSEnabled"], false);
    assert_eq!(ours["Reserved"], golden["Reserved"]);
    assert_eq!(ours["Links"], Value::Null);
    assert_eq!(ours["Meta"], Value::Null);
    assert_eq!(ours["NodeClass"], "");
    assert_eq!(ours["Status"], "initializing");
    assert_eq!(ours["Resources"]["IOPS"], 0);
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(ours["Name"], name.trim());
    assert!(node.computed_class.starts_with("v1:"));

    // Same node ID on the next start from the same data dir.
    assert_eq!(fingerprint_node(&cfg).unwrap().id, node.id);
    std::fs::remove_dir_all(&cfg.data_dir).unwrap();
}

#[test]
fn attributes_are_nomads_names_with_consistent_values() {
    let cfg = config("attrs");
    let node = fingerprint_node(&cfg).unwrap();
    let golden = recorded_node();
    let golden_names: BTreeSet<String> = keys(&golden["Attributes"]).into_iter().collect();
    let ours: BTreeSet<String> = node.attributes.keys().cloned().collect();
    // exec and java depend on root, cgroups and a JVM; everything else is
    // always there.
    let optional: BTreeSet<String> = [
        "driver.exec",
        "driver.java",
        "driver.java.version",
        "driver.java.runtime",
        "driver.java.vm",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let required: BTreeSet<String> = golden_names.difference(&optional).cloned().collect();
    assert_eq!(
        ours.difference(&golden_names).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
    assert_eq!(
        required.difference(&ours).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
    let java = ours.contains("driver.java");
    assert_eq!(
        ours.contains("driver.java.version"),
        java,
        "java attributes come together"
    );

    let a = &node.attributes;
    let num = |k: &str| {
        a[k].parse::<i64>()
            .unwrap_or_else(|_| panic!("{k}={}", a[k]))
    };
    let res = node.resources.as_ref().unwrap();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(a["cpu.arch"], "amd64");
    }
    assert_eq!(
        num("cpu.totalcompute"),
        num("cpu.frequency") * num("cpu.numcores")
    );
    assert_eq!(res.cpu, num("cpu.totalcompute"));
    assert_eq!(
        num("cpu.numcores"),
        std::thread::available_parallelism().unwrap().get() as i64
    );
    assert_eq!(res.memory_mb, num("memory.totalbytes") / (1 << 20));
    assert_eq!(res.disk_mb, num("unique.storage.bytesfree") / (1 << 20));
    assert!(num("unique.storage.bytestotal") >= num("unique.storage.bytesfree"));
    assert_eq!(res.iops, 0);
    assert_eq!(a["kernel.name"], "linux");
    let osrelease = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(a["kernel.version"], osrelease.trim());
    assert_eq!(a["nomad.version"], "0.6.3");
    assert_eq!(a["nomad.revision"], "ac9d8f5f");
    assert_eq!(a["driver.raw_exec"], "1");
    assert_eq!(a["unique.hostname"], node.name);
    assert_eq!(a["unique.network.ip-address"], "127.0.0.1");
    let signals: BTreeSet<&str> = a["os.signals"].split(',').collect();
    let golden_signals: BTreeSet<&str> = golden["Attributes"]["os.signals"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(signals, golden_signals);
    assert!(!a["unique.storage.volume"].is_empty());
    assert!(a["unique.cgroup.mountpoint"].starts_with('/'));

    // Loopback, as in the recording: IPv4 first, then ::1 when the kernel
    // has IPv6 on lo.
    let nets = serde_json::to_value(&res.networks).unwrap();
    assert_eq!(nets[0], golden["Resources"]["Networks"][0]);
    let has_v6 = std::fs::read_to_string("/proc/net/if_inet6")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("00000000000000000000000000000001"))
        })
        .unwrap_or(false);
    if has_v6 {
        assert_eq!(nets, golden["Resources"]["Networks"]);
    }
    std::fs::remove_dir_all(&cfg.data_dir).unwrap();
}

#[test]
fn host_stats_has_nomads_fields() {
    let v = host_stats();
    assert_eq!(
        keys(&v),
        [
            "Memory",
            "CPU",
            "DiskStats",
            "AllocDirStats",
            "Uptime",
            "Timestamp",
            "CPUTicksConsumed"
        ]
    );
    assert_eq!(keys(&v["Memory"]), ["Total", "Available", "Used", "Free"]);
    assert_eq!(
        keys(&v["CPU"][0]),
        ["CPU", "User", "System", "Idle", "Total"]
    );
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(v["Memory"]["Total"], total_kb * 1024);
    for d in v["DiskStats"].as_array().unwrap() {
        assert_eq!(
            keys(d),
            [
                "Device",
                "Mountpoint",
                "Size",
                "Used",
                "Available",
                "UsedPercent",
                "InodesUsedPercent"
            ]
        );
    }
}
