//! `caravan job validate|inspect|plan|run`: Nomad v0.6's job commands for
//! HCL job files, with Nomad's output, colours and exit codes.
//!
//! Files are parsed locally by the core's jobspec parser (as Nomad's CLI
//! parses them client-side); `plan` and `run` then talk to a Caravan or
//! Nomad server over plain HTTP/1.1.

mod colorize;
mod commands;
mod flags;
mod http_client;
mod monitor;
mod plan_output;

use std::io::{Read, Write};

use caravan_core::model::api::ApiJob;

/// Where a command writes: Nomad's `Ui` (`Output` to stdout, `Error` to
/// stderr, each message followed by a newline).
pub struct Ui<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl<'a> Ui<'a> {
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Ui<'a> {
        Ui { out, err }
    }

    /// A message and a newline on stdout. A closed pipe is not worth a
    /// panic: the exit code still tells the outcome.
    pub fn output(&mut self, message: &str) {
        let _ = writeln!(self.out, "{message}");
        let _ = self.out.flush();
    }

    /// Text on stdout exactly as given.
    pub fn raw(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// A message and a newline on stderr.
    pub fn error(&mut self, message: &str) {
        let _ = writeln!(self.err, "{message}");
        let _ = self.err.flush();
    }
}

pub const USAGE: &str = "Usage: caravan job <subcommand> [options] <path>

  validate   Check a job file (locally, or on a server with -address)
  inspect    Print the job file as the API JSON (`nomad run -output`)
  plan       Dry-run a job on a server and show what would change
  run        Submit a job to a server and follow its evaluation

Run `caravan job <subcommand> -help` for its options. A path of \"-\" reads
the job file from standard input. The server address comes from -address,
else NOMAD_ADDR, else http://127.0.0.1:4646.";

/// Runs `caravan job …` (the arguments after `job`) and returns the exit
/// code.
pub fn main(args: &[String]) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let mut ui = Ui::new(&mut out, &mut err);
    let env = Env::from_process();
    run(&mut ui, &env, args)
}

/// What a command reads from its surroundings, passed in so tests can set
/// it.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `NOMAD_ADDR`.
    pub nomad_addr: Option<String>,
    /// `NOMAD_REGION`.
    pub nomad_region: Option<String>,
    /// `VAULT_TOKEN`.
    pub vault_token: Option<String>,
    /// Whether stdout is a terminal (colour is off otherwise).
    pub stdout_is_tty: bool,
    /// Unix nanoseconds.
    pub now: i64,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            nomad_addr: var("NOMAD_ADDR"),
            nomad_region: var("NOMAD_REGION"),
            vault_token: var("VAULT_TOKEN"),
            // SAFETY: isatty only inspects the descriptor.
            stdout_is_tty: unsafe { libc::isatty(1) == 1 },
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        }
    }
}

/// Dispatches a subcommand.
pub fn run(ui: &mut Ui, env: &Env, args: &[String]) -> i32 {
    let Some(sub) = args.first() else {
        ui.error(USAGE);
        return 1;
    };
    let rest = &args[1..];
    match sub.as_str() {
        "validate" => commands::validate(ui, env, rest),
        "inspect" => commands::inspect(ui, rest),
        "plan" => commands::plan(ui, env, rest),
        "run" => commands::run(ui, env, rest),
        "-h" | "-help" | "--help" | "help" => {
            ui.output(USAGE);
            0
        }
        other => {
            ui.error(&format!("unknown job subcommand {other:?}\n\n{USAGE}"));
            1
        }
    }
}

/// Nomad's `JobGetter.ApiJob`: the job file at `path` (`-` is stdin),
/// parsed; errors carry Nomad's texts, plus where in the file the problem is.
pub fn load_job(path: &str) -> Result<ApiJob, String> {
    let mut raw = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(|e| format!("Error reading the job file from stdin: {e}"))?;
    } else if path.is_empty() {
        return Err("Error jobfile path has to be specified.".into());
    } else {
        raw = std::fs::read(path).map_err(|e| {
            format!(
                "Error getting jobfile from {}: {}",
                caravan_core::gofmt::quote(path),
                io_text(&e)
            )
        })?;
    }
    let text = String::from_utf8(raw)
        .map_err(|_| format!("Error parsing job file from {path}: the file is not UTF-8"))?;
    caravan_core::jobspec::parse(&text).map_err(|e| {
        format!(
            "Error parsing job file from {path}: {} (at line {}, column {})",
            e.message, e.line, e.column
        )
    })
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
