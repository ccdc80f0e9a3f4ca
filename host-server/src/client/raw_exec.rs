//! The `raw_exec` driver: starts a task's command on the host in its own
//! process group, writes its output to the alloc's log dir, reports its exit
//! and kills the whole group (SIGINT, then SIGKILL after the kill timeout).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use caravan_core::gofmt;
use caravan_core::model::Task;
use serde_json::Value;
use tokio::sync::watch;

use super::fingerprint::{find_in_path, is_executable_file};
use super::restarts::WaitResult;
use super::taskenv::{TaskDirs, TaskEnv};

/// Bash's convention, which Nomad mirrors: a process killed by signal `n`
/// exits with `128 + n`.
const EXIT_SIGNAL_BASE: i64 = 128;

/// A running task process.
#[derive(Debug)]
pub(crate) struct ProcessHandle {
    pid: i32,
    exited: watch::Receiver<Option<WaitResult>>,
}

impl ProcessHandle {
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits for the process to exit. Cancel-safe: the result is kept.
    pub(crate) async fn wait(&mut self) -> WaitResult {
        loop {
            if let Some(res) = self.exited.borrow_and_update().clone() {
                return res;
            }
            if self.exited.changed().await.is_err() {
                // The supervisor is gone (runtime shutting down) and took
                // the child with it (kill_on_drop).
                return self.exited.borrow().clone().unwrap_or(WaitResult {
                    exit_code: 1,
                    signal: 0,
                    err: Some("task supervisor stopped".into()),
                });
            }
        }
    }

    /// Nomad's kill: SIGINT to the group, SIGKILL if it has not exited
    /// within `timeout`; returns how the process ended.
    pub(crate) async fn kill(&mut self, timeout: Duration) -> WaitResult {
        signal_group(self.pid, libc::SIGINT);
        if let Ok(res) = tokio::time::timeout(timeout, self.wait()).await {
            return res;
        }
        signal_group(self.pid, libc::SIGKILL);
        self.wait().await
    }
}

fn signal_group(pgid: i32, sig: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // task leads; ESRCH (group gone) is harmless.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// `command` and `args` of a `raw_exec` config, decoded weakly like
/// mapstructure's `WeakDecode` (numbers and bools become strings).
fn decode_config(task: &Task) -> Result<(String, Vec<String>), String> {
    let command = match task.config.get("command") {
        None | Some(Value::Null) => String::new(),
        Some(v) => weak_string(v).ok_or_else(|| {
            format!("1 error(s) decoding:\n\n* 'command' expected type 'string', got {v}")
        })?,
    };
    let args = match task.config.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                weak_string(v).ok_or_else(|| {
                    format!("1 error(s) decoding:\n\n* 'args[{i}]' expected type 'string', got {v}")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(v) => vec![weak_string(v).ok_or_else(|| {
            format!("1 error(s) decoding:\n\n* 'args' expected a slice, got {v}")
        })?],
    };
    Ok((command, args))
}

fn weak_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        _ => None,
    }
}

/// Nomad's `validateCommand`.
fn validate_command(command: &str) -> Result<(), String> {
    let trimmed = command.trim();
    if trimmed.is_empty() {
        return Err(format!("command empty: {}", gofmt::quote(command)));
    }
    if trimmed.len() != command.len() {
        return Err(format!(
            "command contains extra white space: {}",
            gofmt::quote(command)
        ));
    }
    Ok(())
}

/// The executor's `lookupBin`: the task's `local/`, the task dir, then the
/// agent's `$PATH`.
fn lookup_bin(task_dir: &Path, bin: &str) -> Result<PathBuf, String> {
    let rel = bin.trim_start_matches('/');
    for candidate in [task_dir.join("local").join(rel), task_dir.join(rel)] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    let found = if bin.contains('/') {
        is_executable_file(Path::new(bin)).then(|| PathBuf::from(bin))
    } else {
        find_in_path(bin)
    };
    found.ok_or_else(|| format!("binary {} could not be found", gofmt::quote(bin)))
}

/// The executor's `makeExecutable`: files in the task dir (payloads,
/// artifacts) may arrive without the execute bits.
fn make_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("failed to stat path: {e}"))?;
    let mode = meta.permissions().mode();
    if mode & 0o111 != 0o111 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o111))
            .map_err(|e| format!("failed to chmod path: {e}"))?;
    }
    Ok(())
}

/// Starts the task. Errors carry the driver's text (Nomad wraps them as
/// `failed to start task …`).
pub(crate) fn start(task: &Task, env: &TaskEnv, dirs: &TaskDirs) -> Result<ProcessHandle, String> {
    let (command, args) = decode_config(task)?;
    validate_command(&command)?;

    let log = |stream: &str| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dirs.logs.join(format!("{}.{stream}.0", task.name)))
            .map_err(|e| {
                format!(
                    "error creating new {stream} log file for {}: {e}",
                    gofmt::quote(&task.name)
                )
            })
    };
    let stdout = log("stdout")?;
    let stderr = log("stderr")?;

    let path = lookup_bin(&dirs.dir, &env.replace(&command))?;
    make_executable(&path)?;
    let args: Vec<String> = args.iter().map(|a| env.replace(a)).collect();

    let mut cmd = tokio::process::Command::new(&path);
    cmd.args(&args)
        .env_clear()
        .envs(&env.env)
        .current_dir(&dirs.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        // Its own group, so a kill reaches the children it forks.
        .process_group(0)
        // Last resort if the runtime goes away with the task still running.
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "failed to start command path={} --- args={}: {e}",
            gofmt::quote(&path.to_string_lossy()),
            go_quoted_list(std::iter::once(path.to_string_lossy().into_owned()).chain(args))
        )
    })?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| "started process has no pid".to_string())?;
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let status = child.wait().await;
        // The task's life is its main process: whatever it left behind in
        // its group goes with it.
        signal_group(pid, libc::SIGKILL);
        let res = match status {
            Ok(s) => wait_result(s),
            Err(e) => WaitResult {
                exit_code: 1,
                signal: 0,
                err: Some(e.to_string()),
            },
        };
        let _ = tx.send(Some(res));
    });
    Ok(ProcessHandle { pid, exited: rx })
}

fn wait_result(status: std::process::ExitStatus) -> WaitResult {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => WaitResult {
            exit_code: i64::from(code),
            signal: 0,
            err: None,
        },
        (None, Some(sig)) => WaitResult {
            exit_code: EXIT_SIGNAL_BASE + i64::from(sig),
            signal: i64::from(sig),
            err: None,
        },
        (None, None) => WaitResult {
            exit_code: 1,
            signal: 0,
            err: None,
        },
    }
}

/// Go's `%q` of a `[]string`.
fn go_quoted_list(items: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = items.map(|s| gofmt::quote(&s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Nomad's `GetKillTimeout`: the task's timeout (at least 1 s), capped by
/// the agent's `max_kill_timeout` (30 s).
pub(crate) fn kill_timeout(desired_ns: i64) -> Duration {
    const MAX_NS: i64 = 30_000_000_000;
    let desired = if desired_ns <= 0 {
        1_000_000_000
    } else {
        desired_ns
    };
    Duration::from_nanos(desired.min(MAX_NS) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_timeouts() {
        assert_eq!(kill_timeout(0), Duration::from_secs(1));
        assert_eq!(kill_timeout(5_000_000_000), Duration::from_secs(5));
        assert_eq!(kill_timeout(90_000_000_000), Duration::from_secs(30));
    }

    #[test]
    fn commands_are_validated_like_nomad() {
        assert_eq!(validate_command(""), Err("command empty: \"\"".into()));
        assert_eq!(
            validate_command(" /bin/sleep"),
            Err("command contains extra white space: \" /bin/sleep\"".into())
        );
        assert_eq!(validate_command("/bin/sleep"), Ok(()));
    }

    #[test]
    fn args_decode_weakly() {
        let task = Task {
            config: serde_json::from_str(r#"{"command":"/bin/echo","args":["a",1,true]}"#)
                .expect("json"),
            ..Task::default()
        };
        assert_eq!(
            decode_config(&task),
            Ok((
                "/bin/echo".to_string(),
                vec!["a".to_string(), "1".to_string(), "1".to_string()]
            ))
        );
    }

    #[test]
    fn binaries_are_looked_up_in_the_task_dir_first() {
        let dir = std::env::temp_dir().join(format!(
            "caravan-bin-{}",
            super::super::fingerprint::random_uuid().unwrap()
        ));
        std::fs::create_dir_all(dir.join("local")).unwrap();
        std::fs::write(dir.join("local/run.sh"), "#!/bin/sh\n").unwrap();
        assert_eq!(lookup_bin(&dir, "run.sh"), Ok(dir.join("local/run.sh")));
        assert_eq!(lookup_bin(&dir, "/bin/sh"), Ok(PathBuf::from("/bin/sh")));
        assert_eq!(
            lookup_bin(&dir, "no-such-binary-here"),
            Err("binary \"no-such-binary-here\" could not be found".into())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
