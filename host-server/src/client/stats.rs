//! Live resource usage read from /proc: the host (`GET /v1/client/stats`,
//! Nomad's `HostStats`) and the processes of running tasks
//! (`GET /v1/client/allocation/<id>/stats`, `AllocResourceUsage`).
//!
//! Percentages are deltas since the previous read (Nomad samples every
//! second in the background; here each request is a sample), so a first
//! read reports CPU use since boot for the host and 0 % for a task.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use serde_json::{json, Value};

use super::clock;
use super::fingerprint::{self, CpuInfo};

const MEASURED_MEMORY: [&str; 2] = ["RSS", "Swap"];
const MEASURED_CPU: [&str; 3] = ["System Mode", "User Mode", "Percent"];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// MHz × cores, as fingerprinted (CPU ticks are expressed in it).
fn total_ticks_available() -> f64 {
    static TOTAL: OnceLock<f64> = OnceLock::new();
    *TOTAL.get_or_init(|| CpuInfo::read().total_compute() as f64)
}

fn num_cpus() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).unwrap_or(4096)
}

// ---------------------------------------------------------------- host ----

/// The data dir of the running dev node (for `AllocDirStats`).
static ALLOC_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

pub(crate) fn set_alloc_dir(dir: PathBuf) {
    *lock(&ALLOC_DIR) = Some(dir);
}

/// Per-CPU counters of the previous read.
static PREV_CPU: Mutex<BTreeMap<String, CpuTimes>> = Mutex::new(BTreeMap::new());

#[derive(Debug, Clone, Copy, Default)]
struct CpuTimes {
    idle: f64,
    user: f64,
    system: f64,
    busy: f64,
    total: f64,
}

/// `/proc/stat` per-CPU lines as gopsutil's `cpu.Times(true)` (seconds).
fn read_cpu_times() -> Vec<(String, CpuTimes)> {
    let tck = clock_ticks_per_sec();
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let v: Vec<f64> = f
                .filter_map(|x| x.parse::<f64>().ok())
                .map(|x| x / tck)
                .collect();
            let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
            // user nice system idle iowait irq softirq steal guest guest_nice
            let busy = at(0) + at(2) + at(1) + at(4) + at(5) + at(6) + at(7) + at(8) + at(9);
            Some((
                name,
                CpuTimes {
                    idle: at(3),
                    user: at(0),
                    system: at(2),
                    busy,
                    total: busy + at(3),
                },
            ))
        })
        .collect()
}

fn pct(delta: f64, total: f64, nan_default: f64) -> f64 {
    let v = delta / total * 100.0;
    if v.is_finite() {
        v
    } else {
        nan_default
    }
}

fn disk_json(u: &fingerprint::DiskUsage, with_device: bool) -> Value {
    let used_pct = pct(u.used as f64, (u.used + u.free) as f64, 0.0);
    let inodes_used = u.inodes_total.saturating_sub(u.inodes_free);
    let inodes_pct = pct(inodes_used as f64, u.inodes_total as f64, 0.0);
    let (device, mount) = if with_device {
        (u.volume.clone(), u.mountpoint.clone())
    } else {
        (String::new(), String::new())
    };
    json!({
        "Device": device,
        "Mountpoint": mount,
        "Size": u.total,
        "Used": u.used,
        "Available": u.free,
        "UsedPercent": used_pct,
        "InodesUsedPercent": inodes_pct,
    })
}

/// gopsutil's `disk.Partitions(false)`: mounts of block-device filesystems.
fn partitions() -> Vec<(String, String)> {
    let fs_text = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    let physical: Vec<&str> = fs_text
        .lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(str::trim)
        .collect();
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, mount, fstype) = (f.next()?, f.next()?, f.next()?);
            (dev != "none" && physical.contains(&fstype))
                .then(|| (dev.to_string(), fingerprint::unescape_mount(mount)))
        })
        .collect()
}

fn uptime_secs() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let boot = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let now = u64::try_from(clock::now_ns() / 1_000_000_000).unwrap_or(0);
    now.saturating_sub(boot)
}

/// Nomad's `HostStats`.
pub(crate) fn host_stats() -> Value {
    let mem = fingerprint::meminfo();
    let get = |k: &str| mem.get(k).copied().unwrap_or(0);
    let total = get("MemTotal");
    let free = get("MemFree");
    let available = if mem.contains_key("MemAvailable") {
        get("MemAvailable")
    } else {
        free + get("Buffers") + get("Cached")
    };

    let ticks_per_cpu_share;
    let mut cpus = Vec::new();
    let mut consumed = 0.0;
    {
        let now = read_cpu_times();
        ticks_per_cpu_share = total_ticks_available() / now.len().max(1) as f64;
        let mut prev = lock(&PREV_CPU);
        for (name, t) in now {
            let p = prev.get(&name).copied().unwrap_or_default();
            let dt = t.total - p.total;
            let total_pct = pct(t.busy - p.busy, dt, 0.0);
            cpus.push(json!({
                "CPU": name,
                "User": pct(t.user - p.user, dt, 0.0),
                "System": pct(t.system - p.system, dt, 0.0),
                "Idle": pct(t.idle - p.idle, dt, 100.0),
                "Total": total_pct,
            }));
            consumed += total_pct / 100.0 * ticks_per_cpu_share;
            prev.insert(name, t);
        }
    }

    let disks: Vec<Value> = partitions()
        .into_iter()
        .filter_map(|(dev, mount)| {
            let mut u = fingerprint::statvfs(Path::new(&mount))?;
            u.volume = dev;
            u.mountpoint = mount;
            Some(disk_json(&u, true))
        })
        .collect();
    let alloc_dir = lock(&ALLOC_DIR).clone();
    let alloc_dir_stats = alloc_dir
        .and_then(|d| fingerprint::statvfs(&d))
        .map_or(Value::Null, |u| disk_json(&u, false));

    json!({
        "Memory": {
            "Total": total,
            "Available": available,
            "Used": total.saturating_sub(available),
            "Free": free,
        },
        "CPU": cpus,
        "DiskStats": disks,
        "AllocDirStats": alloc_dir_stats,
        "Uptime": uptime_secs(),
        "Timestamp": clock::now_ns(),
        "CPUTicksConsumed": consumed,
    })
}

// --------------------------------------------------------------- tasks ----

/// The previous CPU reading of one process.
#[derive(Debug, Clone, Copy)]
struct PidSample {
    at: Instant,
    user: f64,
    system: f64,
}

#[derive(Debug, Default)]
struct TaskSampler {
    /// The task's main process, which leads its process group.
    pid: Option<i32>,
    prev: BTreeMap<i32, PidSample>,
}

/// Allocations the dev node runs → their tasks' samplers.
static ALLOCS: Mutex<BTreeMap<String, BTreeMap<String, TaskSampler>>> = Mutex::new(BTreeMap::new());

pub(crate) fn register_alloc(alloc_id: &str) {
    lock(&ALLOCS).entry(alloc_id.to_string()).or_default();
}

pub(crate) fn unregister_alloc(alloc_id: &str) {
    lock(&ALLOCS).remove(alloc_id);
}

/// Records (or, with `None`, clears) the running process of a task.
pub(crate) fn set_task_pid(alloc_id: &str, task: &str, pid: Option<i32>) {
    let mut all = lock(&ALLOCS);
    if let Some(tasks) = all.get_mut(alloc_id) {
        let s = tasks.entry(task.to_string()).or_default();
        s.pid = pid;
        s.prev.clear();
    }
}

/// One /proc/<pid>/stat reading.
struct ProcStat {
    pid: i32,
    pgrp: i32,
    user: f64,
    system: f64,
}

fn read_proc_stat(pid: &str, tck: f64) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is parenthesised and may itself contain ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] = state (field 3); pgrp is field 5, utime 14, stime 15.
    Some(ProcStat {
        pid: pid.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        user: f.get(11)?.parse::<f64>().ok()? / tck,
        system: f.get(12)?.parse::<f64>().ok()? / tck,
    })
}

fn rss_and_swap(pid: i32) -> (u64, u64) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page_size());
    let swap = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmSwap:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    (rss, swap)
}

fn usage_json(rss: u64, swap: u64, system: f64, user: f64, percent: f64, ticks: f64) -> Value {
    json!({
        "MemoryStats": {
            "RSS": rss, "Cache": 0, "Swap": swap, "MaxUsage": 0,
            "KernelUsage": 0, "KernelMaxUsage": 0, "Measured": MEASURED_MEMORY,
        },
        "CpuStats": {
            "SystemMode": system, "UserMode": user, "TotalTicks": ticks,
            "ThrottledPeriods": 0, "ThrottledTime": 0, "Percent": percent,
            "Measured": MEASURED_CPU,
        },
    })
}

/// Percent of one CPU used between two readings of a CPU-seconds counter.
fn cpu_percent(prev: Option<(Instant, f64)>, now: Instant, secs: f64) -> f64 {
    match prev {
        Some((at, before)) => {
            let wall = now.duration_since(at).as_secs_f64();
            if wall <= 0.0 || secs <= before {
                0.0
            } else {
                (secs - before) / wall * 100.0
            }
        }
        None => 0.0,
    }
}

impl TaskSampler {
    /// Nomad's `TaskResourceUsage` of the task's process group, or `None`
    /// when it is not running.
    fn sample(&mut self, procs: &[ProcStat]) -> Option<Value> {
        let pgid = self.pid?;
        let now = Instant::now();
        let mut pids = serde_json::Map::new();
        let (mut rss_t, mut swap_t, mut sys_t, mut user_t, mut pct_t) = (0, 0, 0.0, 0.0, 0.0);
        let mut next = BTreeMap::new();
        for p in procs.iter().filter(|p| p.pgrp == pgid) {
            let prev = self.prev.get(&p.pid);
            let system = cpu_percent(prev.map(|s| (s.at, s.system)), now, p.system);
            let user = cpu_percent(prev.map(|s| (s.at, s.user)), now, p.user);
            let percent = cpu_percent(
                prev.map(|s| (s.at, s.system + s.user)),
                now,
                p.system + p.user,
            );
            next.insert(
                p.pid,
                PidSample {
                    at: now,
                    user: p.user,
                    system: p.system,
                },
            );
            let (rss, swap) = rss_and_swap(p.pid);
            pids.insert(
                p.pid.to_string(),
                usage_json(rss, swap, system, user, percent, 0.0),
            );
            rss_t += rss;
            swap_t += swap;
            sys_t += system;
            user_t += user;
            pct_t += percent;
        }
        self.prev = next;
        let ticks = pct_t / 100.0 * total_ticks_available() / num_cpus();
        let mut usage = usage_json(rss_t, swap_t, sys_t, user_t, pct_t, ticks);
        if let Some(mem) = usage.get_mut("MemoryStats") {
            mem["Measured"] = json!(MEASURED_MEMORY);
        }
        Some(json!({
            "ResourceUsage": usage,
            "Timestamp": clock::now_ns(),
            "Pids": pids,
        }))
    }
}

/// Nomad's `AllocResourceUsage` of an allocation this node runs.
pub(crate) fn alloc_stats(alloc_id: &str) -> Option<Value> {
    let mut all = lock(&ALLOCS);
    let tasks = all.get_mut(alloc_id)?;
    let tck = clock_ticks_per_sec();
    let procs: Vec<ProcStat> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name();
                    let name = name.to_str()?;
                    name.bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| read_proc_stat(name, tck))?
                })
                .collect()
        })
        .unwrap_or_default();

    let mut out_tasks = serde_json::Map::new();
    let (mut rss, mut swap, mut sys, mut user, mut ticks, mut percent) =
        (0u64, 0u64, 0.0, 0.0, 0.0, 0.0);
    let mut timestamp = 0i64;
    let mut measured = false;
    for (name, sampler) in tasks.iter_mut() {
        let Some(tru) = sampler.sample(&procs) else {
            continue;
        };
        let ru = &tru["ResourceUsage"];
        rss += ru["MemoryStats"]["RSS"].as_u64().unwrap_or(0);
        swap += ru["MemoryStats"]["Swap"].as_u64().unwrap_or(0);
        sys += ru["CpuStats"]["SystemMode"].as_f64().unwrap_or(0.0);
        user += ru["CpuStats"]["UserMode"].as_f64().unwrap_or(0.0);
        ticks += ru["CpuStats"]["TotalTicks"].as_f64().unwrap_or(0.0);
        percent += ru["CpuStats"]["Percent"].as_f64().unwrap_or(0.0);
        timestamp = timestamp.max(tru["Timestamp"].as_i64().unwrap_or(0));
        measured = true;
        out_tasks.insert(name.clone(), tru);
    }
    let mut usage = usage_json(rss, swap, sys, user, percent, ticks);
    if !measured {
        // Nothing summed: Nomad's `Measured` lists stay nil.
        usage["MemoryStats"]["Measured"] = Value::Null;
        usage["CpuStats"]["Measured"] = Value::Null;
    }
    Some(json!({
        "ResourceUsage": usage,
        "Tasks": out_tasks,
        "Timestamp": timestamp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_stats_shape() {
        let v = host_stats();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
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
        assert!(v["Memory"]["Total"].as_u64().unwrap() > 0);
        assert_eq!(
            v["CPU"].as_array().unwrap().len(),
            std::thread::available_parallelism().unwrap().get()
        );
        assert_eq!(v["CPU"][0]["CPU"], "cpu0");
        assert!(v["Uptime"].as_u64().unwrap() > 0);
    }

    #[test]
    fn unknown_alloc_has_no_stats() {
        assert_eq!(alloc_stats("no-such-alloc"), None);
        register_alloc("stats-test-alloc");
        let v = alloc_stats("stats-test-alloc").unwrap();
        assert_eq!(v["Tasks"], json!({}));
        assert_eq!(v["Timestamp"], 0);
        assert_eq!(v["ResourceUsage"]["MemoryStats"]["RSS"], 0);
        assert_eq!(v["ResourceUsage"]["CpuStats"]["Measured"], Value::Null);
        unregister_alloc("stats-test-alloc");
    }

    #[test]
    fn own_process_is_measured() {
        let me = std::process::id().to_string();
        let st = read_proc_stat(&me, clock_ticks_per_sec()).unwrap();
        assert_eq!(st.pid.to_string(), me);
        let (rss, _) = rss_and_swap(st.pid);
        assert!(rss > 0);
    }
}
