//! This machine as a Nomad v0.6.3 client node: the attributes and resources
//! its fingerprinters report, read from /proc, /sys, /etc and `statvfs`.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use caravan_core::model::{NetworkResource, Resources, NODE_STATUS_INIT};
use caravan_core::Node;

use super::DevNodeConfig;

/// The Nomad release the dev node claims to be.
pub(crate) const NOMAD_VERSION: &str = "0.6.3";
pub(crate) const NOMAD_REVISION: &str = "ac9d8f5f";

/// consul-template's signal table on Linux, which Nomad lists as
/// `os.signals` (Go map order; any order is valid).
pub(crate) const SIGNALS: &str =
    "SIGABRT,SIGTRAP,SIGURG,SIGCHLD,SIGQUIT,SIGSYS,SIGTTOU,SIGILL,SIGIOT,\
SIGKILL,SIGTTIN,SIGFPE,SIGIO,SIGSEGV,SIGTSTP,SIGALRM,SIGHUP,SIGBUS,SIGPIPE,SIGUSR1,SIGWINCH,\
SIGCONT,SIGTERM,SIGXCPU,SIGXFSZ,SIGINT,SIGPROF,SIGSTOP,SIGUSR2";

/// Link speed Nomad assumes when the device does not report one (`lo`).
const DEFAULT_MBITS: i64 = 1000;

/// The node ID stored under the data dir, or a new random one persisted
/// there (Nomad keeps `client-id` in its state dir the same way).
pub(crate) fn node_id(data_dir: &Path) -> io::Result<String> {
    let dir = data_dir.join("client");
    let path = dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if is_uuid(s.trim()) => return Ok(s.trim().to_ascii_lowercase()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = random_uuid()?;
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&path, &id)?;
    Ok(id)
}

/// A random UUID rendered like Nomad's `GenerateUUID` (16 random bytes,
/// 8-4-4-4-12 hex).
pub(crate) fn random_uuid() -> io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Fingerprints the machine into a node record in status `initializing`.
/// Fingerprinters that cannot read their source leave their attributes out,
/// as Nomad's do.
pub(crate) fn fingerprint(config: &DevNodeConfig, node_id: &str) -> Node {
    let mut attrs = BTreeMap::new();
    let mut res = Resources::default();

    attrs.insert("cpu.arch".into(), go_arch().to_string());
    let cpu = CpuInfo::read();
    if !cpu.model_name.is_empty() {
        attrs.insert("cpu.modelname".into(), cpu.model_name.clone());
    }
    if cpu.mhz > 0 {
        attrs.insert("cpu.frequency".into(), cpu.mhz.to_string());
    }
    if cpu.cores > 0 {
        attrs.insert("cpu.numcores".into(), cpu.cores.to_string());
    }
    let total_compute = cpu.total_compute();
    if total_compute > 0 {
        attrs.insert("cpu.totalcompute".into(), total_compute.to_string());
        res.cpu = total_compute;
    }

    let hostname = hostname();
    attrs.insert("kernel.name".into(), "linux".into());
    if let Some(v) = read_trimmed("/proc/sys/kernel/osrelease") {
        attrs.insert("kernel.version".into(), v);
    }
    let (os_name, os_version) = platform();
    attrs.insert("os.name".into(), os_name);
    attrs.insert("os.version".into(), os_version);
    attrs.insert("unique.hostname".into(), hostname.clone());
    attrs.insert("os.signals".into(), SIGNALS.into());

    if let Some(total) = meminfo_bytes("MemTotal") {
        attrs.insert("memory.totalbytes".into(), total.to_string());
        res.memory_mb = i64::try_from(total / (1 << 20)).unwrap_or(i64::MAX);
    }

    attrs.insert("nomad.version".into(), NOMAD_VERSION.into());
    attrs.insert("nomad.revision".into(), NOMAD_REVISION.into());

    let cgroup = cgroup_mountpoint();
    if let Some(mount) = &cgroup {
        attrs.insert("unique.cgroup.mountpoint".into(), mount.clone());
    }

    if let Some(disk) = storage(&config.data_dir) {
        attrs.insert("unique.storage.volume".into(), disk.volume);
        attrs.insert("unique.storage.bytestotal".into(), disk.total.to_string());
        attrs.insert("unique.storage.bytesfree".into(), disk.free.to_string());
        res.disk_mb = i64::try_from(disk.free / (1 << 20)).unwrap_or(i64::MAX);
    }

    // Dev mode fingerprints the loopback device only.
    res.networks = loopback_networks();
    if let Some(first) = res.networks.first() {
        attrs.insert("unique.network.ip-address".into(), first.ip.clone());
    }

    attrs.insert("driver.raw_exec".into(), "1".into());
    // exec and java isolate with cgroups and chroots, which needs root.
    let privileged = cgroup.is_some() && is_root();
    if privileged {
        attrs.insert("driver.exec".into(), "1".into());
        if let Some(java) = java_version() {
            attrs.insert("driver.java".into(), "1".into());
            attrs.insert("driver.java.version".into(), java.version);
            attrs.insert("driver.java.runtime".into(), java.runtime);
            attrs.insert("driver.java.vm".into(), java.vm);
        }
    }

    let mut node = Node {
        id: node_id.to_string(),
        secret_id: String::new(),
        datacenter: config.datacenter.clone(),
        name: if hostname.is_empty() {
            node_id.to_string()
        } else {
            hostname
        },
        http_addr: config.http_addr.clone(),
        attributes: attrs,
        resources: Some(res),
        reserved: Some(Resources::default()),
        status: NODE_STATUS_INIT.into(),
        ..Node::default()
    };
    node.compute_class();
    node
}

/// Go's `runtime.GOARCH` for this build's architecture.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// What gopsutil reads from /proc/cpuinfo (first processor) and
/// `cpufreq/cpuinfo_max_freq`, floored as Nomad floors it.
#[derive(Debug, Default)]
pub(crate) struct CpuInfo {
    pub model_name: String,
    pub mhz: i64,
    pub cores: i64,
}

impl CpuInfo {
    pub(crate) fn read() -> CpuInfo {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let mut info = CpuInfo::default();
        let mut first_mhz: Option<f64> = None;
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "processor" => info.cores += 1,
                "model name" | "cpu" if info.cores == 1 && info.model_name.is_empty() => {
                    info.model_name = value.to_string();
                }
                "cpu MHz" | "clock" if info.cores == 1 && first_mhz.is_none() => {
                    first_mhz = value.trim_end_matches("MHz").trim().parse().ok();
                }
                _ => {}
            }
        }
        if info.cores == 0 {
            info.cores = std::thread::available_parallelism().map_or(0, |n| n.get() as i64);
        }
        // The maximum clock speed wins over the current one when the kernel
        // exposes it (kHz, or Hz on some boards).
        let max = read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
            .and_then(|s| s.parse::<f64>().ok())
            .map(|khz| {
                let mhz = khz / 1000.0;
                if mhz > 9999.0 {
                    mhz / 1000.0
                } else {
                    mhz
                }
            });
        info.mhz = max.or(first_mhz).map_or(0, |m| m.floor() as i64);
        info
    }

    /// `cpu.totalcompute`: MHz × cores.
    pub(crate) fn total_compute(&self) -> i64 {
        self.mhz * self.cores
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Go's `os.Hostname` on Linux.
fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname").unwrap_or_default()
}

/// A `/proc/meminfo` value in bytes.
pub(crate) fn meminfo_bytes(key: &str) -> Option<u64> {
    meminfo().get(key).copied()
}

/// `/proc/meminfo` as bytes per key.
pub(crate) fn meminfo() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            let v = v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()?;
            let scaled = if line.ends_with("kB") { v * 1024 } else { v };
            Some((k.trim().to_string(), scaled))
        })
        .collect()
}

/// gopsutil's platform detection (`os.name`, `os.version`), for the
/// distributions it knows, falling back to /etc/os-release.
fn platform() -> (String, String) {
    let lsb = key_values("/etc/lsb-release", '=');
    let first_line = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
            .unwrap_or_default()
    };
    let exists = |p: &str| Path::new(p).exists();
    if exists("/etc/debian_version") {
        match lsb.get("DISTRIB_ID").map(String::as_str) {
            Some("Ubuntu") => ("ubuntu".into(), lsb_release(&lsb)),
            Some("LinuxMint") => ("linuxmint".into(), lsb_release(&lsb)),
            _ => {
                let name = if exists("/usr/bin/raspi-config") {
                    "raspbian"
                } else {
                    "debian"
                };
                (name.into(), first_line("/etc/debian_version"))
            }
        }
    } else if exists("/etc/alpine-release") {
        ("alpine".into(), first_line("/etc/alpine-release"))
    } else {
        let os = key_values("/etc/os-release", '=');
        let unquote = |k: &str| {
            os.get(k)
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default()
        };
        (unquote("ID"), unquote("VERSION_ID"))
    }
}

fn lsb_release(lsb: &BTreeMap<String, String>) -> String {
    lsb.get("DISTRIB_RELEASE").cloned().unwrap_or_default()
}

fn key_values(path: &str, sep: char) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(sep)?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// runc's `FindCgroupMountpointDir`: the parent of the first cgroup v1
/// mount; on a unified (v2-only) host, the cgroup2 mount itself.
fn cgroup_mountpoint() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut unified = None;
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount) = pre.split(' ').nth(4) else {
            continue;
        };
        match post.split_whitespace().next() {
            Some("cgroup") => {
                let dir = Path::new(mount).parent()?;
                return Some(dir.to_string_lossy().into_owned());
            }
            Some("cgroup2") if unified.is_none() => unified = Some(mount.to_string()),
            _ => {}
        }
    }
    unified
}

/// Size and free space of the volume holding a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiskUsage {
    pub volume: String,
    pub mountpoint: String,
    pub total: u64,
    /// Available to unprivileged users (`df`'s "Available").
    pub free: u64,
    pub used: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
}

/// The data dir's volume as `df -kP` reports it (the dir is created if
/// missing so it can be measured).
pub(crate) fn storage(data_dir: &Path) -> Option<DiskUsage> {
    let _ = std::fs::create_dir_all(data_dir);
    let abs = data_dir.canonicalize().ok()?;
    let (volume, mountpoint) = mount_of(&abs).unwrap_or_default();
    let mut usage = statvfs(&abs)?;
    usage.volume = volume;
    usage.mountpoint = mountpoint;
    Some(usage)
}

/// The device and mount point of the longest mount prefix of `path`.
fn mount_of(path: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string("/proc/self/mounts").ok()?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let dev = f.next()?;
            let mount = unescape_mount(f.next()?);
            path.starts_with(&mount).then(|| (dev.to_string(), mount))
        })
        .max_by_key(|(_, m)| m.len())
}

/// /proc/mounts escapes spaces, tabs, newlines and backslashes as octal.
pub(crate) fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// gopsutil's `disk.Usage` on top of `statvfs(3)`.
pub(crate) fn statvfs(path: &Path) -> Option<DiskUsage> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized
    // out-parameter that statvfs fills on success.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let bsize = st.f_frsize as u64;
    Some(DiskUsage {
        volume: String::new(),
        mountpoint: String::new(),
        total: st.f_blocks as u64 * bsize,
        free: st.f_bavail as u64 * bsize,
        used: (st.f_blocks as u64).saturating_sub(st.f_bfree as u64) * bsize,
        inodes_total: st.f_files as u64,
        inodes_free: st.f_ffree as u64,
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// One network resource per address of `lo`, IPv4 first, link-local
/// addresses only when there is nothing else (Nomad's network fingerprint
/// with `network_interface = "lo"`).
fn loopback_networks() -> Vec<NetworkResource> {
    let mbits = read_trimmed("/sys/class/net/lo/speed")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_MBITS);
    let mut addrs = interface_addrs("lo");
    addrs.sort_by_key(|a| a.is_ipv6());
    let link_local = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    let (locals, normal): (Vec<IpAddr>, Vec<IpAddr>) =
        addrs.into_iter().partition(|ip| link_local(ip));
    let chosen = if normal.is_empty() { locals } else { normal };
    chosen
        .into_iter()
        .map(|ip| NetworkResource {
            device: "lo".into(),
            cidr: format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }),
            ip: ip.to_string(),
            mbits,
            ..NetworkResource::default()
        })
        .collect()
}

/// Addresses of a network interface via `getifaddrs(3)`.
fn interface_addrs(name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list that we walk read-only and free
    // with freeifaddrs exactly once.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
                continue;
            }
            if std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() != name.as_bytes() {
                continue;
            }
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    out.push(IpAddr::from(u32::from_be(sa.sin_addr.s_addr).to_be_bytes()));
                }
                libc::AF_INET6 => {
                    let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    out.push(IpAddr::from(sa.sin6_addr.s6_addr));
                }
                _ => {}
            }
        }
        libc::freeifaddrs(head);
    }
    out
}

struct JavaVersion {
    version: String,
    runtime: String,
    vm: String,
}

/// Nomad's java fingerprint: `java -version` must run; its three lines
/// (stderr, or stdout if stderr is empty) give version, runtime and VM.
fn java_version() -> Option<JavaVersion> {
    let java = find_in_path("java")?;
    let mut child = Command::new(java)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    // A JVM that hangs must not hold up registration forever.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = if stderr.is_empty() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        stderr
    };
    if text.is_empty() {
        return None;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let line = |i: usize| lines.get(i).copied().unwrap_or_default().to_string();
    let version = line(0);
    let version = version.strip_prefix("java version ").unwrap_or(&version);
    Some(JavaVersion {
        version: version.trim_matches('"').to_string(),
        runtime: line(1),
        vm: line(2),
    })
}

/// `exec.LookPath` for a bare name.
pub(crate) fn find_in_path(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| is_executable_file(p))
}

pub(crate) fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let id = random_uuid().expect("urandom");
        assert!(is_uuid(&id), "{id}");
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("ee98a2a8-a855-f616-200a-cb3e720bdcc"));
    }

    #[test]
    fn node_id_is_stable_per_data_dir() {
        let dir = std::env::temp_dir().join(format!("caravan-fp-{}", random_uuid().unwrap()));
        let a = node_id(&dir).unwrap();
        let b = node_id(&dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            std::fs::read_to_string(dir.join("client/node-id")).unwrap(),
            a
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mount_names_unescape() {
        assert_eq!(unescape_mount("/mnt/a\\040b"), "/mnt/a b");
    }
}
