//! A `caravan` process on an ephemeral loopback port and a minimal HTTP/1.1
//! client that keeps header names exactly as they came over the wire.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed (by PID) when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub data_dir: PathBuf,
    owns_dir: bool,
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("caravan-e2e-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The scheduler plugin every server of this run uses:
/// `CARAVAN_SCHEDULER_PLUGIN=path.wasm` runs the whole suite in plugin mode.
/// A path that is not a file fails the run rather than quietly testing the
/// linked scheduler instead.
pub fn scheduler_plugin() -> Option<PathBuf> {
    let path = std::env::var_os("CARAVAN_SCHEDULER_PLUGIN").filter(|p| !p.is_empty())?;
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "CARAVAN_SCHEDULER_PLUGIN={} is not a file (build it with `cargo build --release \
         -p caravan-wasm --target wasm32-unknown-unknown --features plugin`)",
        path.display()
    );
    Some(path)
}

impl Server {
    /// Starts a server without a dev node in a fresh data dir.
    pub fn start(tag: &str) -> Server {
        let dir = temp_dir(tag);
        let mut s = Server::start_in(&dir, &[]);
        s.owns_dir = true;
        s
    }

    /// Starts a server on `dir` (kept when dropped) with extra flags, and
    /// with `-scheduler-plugin` when `CARAVAN_SCHEDULER_PLUGIN` names one.
    pub fn start_in(dir: &std::path::Path, extra: &[&str]) -> Server {
        let mut flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if let Some(plugin) = scheduler_plugin() {
            flags.push("-scheduler-plugin".into());
            flags.push(plugin.display().to_string());
        }
        Server::spawn(dir, &flags)
    }

    /// Starts a server on `dir` with exactly these flags (no environment).
    pub fn spawn(dir: &std::path::Path, flags: &[String]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_caravan"))
            .arg("agent")
            .arg("-http-port")
            .arg("0")
            .arg("-data-dir")
            .arg(dir)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn caravan");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .expect("address in the listening line")
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "unexpected line {line:?}");
        Server {
            child: Some(child),
            addr,
            data_dir: dir.to_path_buf(),
            owns_dir: false,
        }
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        c.wait().expect("wait")
    }

    pub fn get(&self, path: &str) -> Resp {
        request(&self.addr, "GET", path, None)
    }

    pub fn put(&self, path: &str, body: &str) -> Resp {
        request(&self.addr, "PUT", path, Some(body))
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        request(&self.addr, method, path, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A response with headers as sent (names keep their case).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub elapsed: Duration,
}

impl Resp {
    /// The value of the header named exactly `name` (case-sensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Names of the `X-Nomad-*` headers, as sent.
    pub fn nomad_headers(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-nomad-"))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn index(&self) -> u64 {
        self.header("X-Nomad-Index")
            .expect("X-Nomad-Index")
            .parse()
            .expect("numeric index")
    }
}

pub fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> Resp {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body.as_bytes()).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
        elapsed: start.elapsed(),
    }
}

/// A job body a server without nodes accepts (placement is not needed).
pub fn job_json(id: &str, env: &str) -> String {
    format!(
        r#"{{"Job":{{"ID":"{id}","Name":"{id}","Type":"service","Datacenters":["dc1"],
        "TaskGroups":[{{"Name":"web","Count":1,"Tasks":[{{"Name":"server","Driver":"raw_exec",
        "Config":{{"command":"/bin/sleep","args":["600"]}},"Env":{{"E":"{env}"}},
        "Resources":{{"CPU":100,"MemoryMB":64}}}}]}}]}}}}"#
    )
}

/// Polls `f` until it holds (or panics after 10 s).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}
