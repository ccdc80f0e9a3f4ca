//! The four job commands: flags, the calls they make and what they print,
//! following Nomad v0.6's `validate`, `run -output`, `plan` and `run`.

use caravan_core::gofmt::quote;
use caravan_core::model::api::ApiJob;
use caravan_core::scheduler::PlanResponse;
use caravan_core::validate::{validate_job, ValidateOptions};
use caravan_core::MultiError;
use serde::Deserialize;
use serde_json::json;

use super::colorize::Colorize;
use super::flags::{self, Flag, Parsed};
use super::http_client::{ApiClient, DEFAULT_ADDRESS};
use super::monitor::monitor;
use super::plan_output::{format_time, plan_exit_code, render_plan, time_difference, PlanView};
use super::{load_job, Env, Ui};

const CLIENT_FLAGS: [Flag; 3] = [
    Flag::text("address"),
    Flag::text("region"),
    Flag::bool("no-color"),
];
const HELP_FLAGS: [Flag; 2] = [Flag::bool("h"), Flag::bool("help")];

const CLIENT_HELP: &str = "  -address=<addr>
    The address of the server. Overrides NOMAD_ADDR.
    Default: http://127.0.0.1:4646

  -region=<region>
    The region to send the request to. Overrides NOMAD_REGION; a region set
    in the job file wins over both.

  -no-color
    Disables colored output (also off when stdout is not a terminal).";

fn validate_help() -> String {
    format!(
        "Usage: caravan job validate [options] <path>

  Checks a job file: its syntax, then Nomad's validation rules. Without an
  address (-address or NOMAD_ADDR) the checks run locally with the same code
  the server runs; with one, the server validates, falling back to the local
  checks if it cannot be reached.

  Exit code: 0 valid, 1 invalid or unreadable.

Options:

{CLIENT_HELP}"
    )
}

const INSPECT_HELP: &str = "Usage: caravan job inspect <path>

  Parses a job file and prints the job as API JSON, exactly as
  `nomad run -output` prints it. Nothing is sent anywhere.

  Exit code: 0 printed, 1 the file does not parse.";

fn plan_help() -> String {
    format!(
        "Usage: caravan job plan [options] <path>

  Dry-runs the scheduler for the job file on the server and shows the
  difference from the running version and what the scheduler would do.
  Nothing changes on the server. The job modify index printed can be given
  to `caravan job run -check-index` to submit only if nobody changed the job
  meanwhile.

  Exit code: 0 no allocations created or destroyed, 1 allocations created or
  destroyed, 255 error.

Options:

{CLIENT_HELP}

  -diff=<bool>
    Whether to show the job diff. Default: true.

  -verbose
    Expand added and removed groups and tasks in the diff."
    )
}

fn run_help() -> String {
    format!(
        "Usage: caravan job run [options] <path>

  Submits the job file to the server, then follows the evaluation it
  created until it finishes (unless -detach, or the job is periodic or
  parameterized).

  Exit code: 0 success, 1 error, 2 some allocations could not be placed.

Options:

{CLIENT_HELP}

  -check-index=<index>
    Submit only if the job's modify index on the server is this one (0: only
    if the job does not exist yet). `caravan job plan` prints the index.

  -detach
    Print the evaluation ID and return without following it.

  -verbose
    Print full identifiers.

  -output
    Print the job as API JSON instead of submitting it.

  -vault-token=<token>
    A Vault token for the job's Vault policies. Overrides VAULT_TOKEN."
    )
}

/// Flag parsing shared by the commands: `Ok(None)` when help was asked
/// for (and printed); on a bad flag, prints Go's message and the help.
fn parse_flags(
    ui: &mut Ui,
    args: &[String],
    own: &[Flag],
    help: &str,
) -> Result<Option<Parsed>, ()> {
    let spec: Vec<Flag> = own.iter().chain(HELP_FLAGS.iter()).copied().collect();
    match flags::parse(args, &spec) {
        Ok(p) if p.bool("h", false) || p.bool("help", false) => {
            ui.output(help);
            Ok(None)
        }
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            ui.error(&e);
            ui.error(help);
            Err(())
        }
    }
}

fn colorize(p: &Parsed, env: &Env) -> Colorize {
    Colorize {
        disable: p.bool("no-color", false) || !env.stdout_is_tty,
    }
}

/// The address from `-address`, else `NOMAD_ADDR`, if either is given.
fn explicit_address(p: &Parsed, env: &Env) -> Option<String> {
    p.text("address")
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .or_else(|| env.nomad_addr.clone())
}

/// Nomad's `Meta.Client` plus "force the region to be that of the job".
fn client(p: &Parsed, env: &Env, job: &ApiJob) -> Result<ApiClient, String> {
    let address = explicit_address(p, env).unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
    let mut client = ApiClient::new(&address)?;
    client.region = p
        .text("region")
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .or_else(|| env.nomad_region.clone())
        .unwrap_or_default();
    if let Some(region) = &job.region {
        client.region = region.clone();
    }
    Ok(client)
}

/// `api.JobValidateResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ValidateResponse {
    #[serde(rename = "DriverConfigValidated")]
    driver_config_validated: bool,
    #[serde(rename = "Error")]
    error: String,
    #[serde(rename = "Warnings")]
    warnings: String,
}

/// The server's validation, run here: what `/v1/validate/job` answers.
fn validate_locally(job: &ApiJob) -> ValidateResponse {
    let prepared = caravan_core::prepare(job.clone());
    let validation = validate_job(&prepared.job, &ValidateOptions::default());
    let mut warnings = MultiError {
        errors: prepared.warnings,
    };
    warnings.extend(validation.warnings);
    ValidateResponse {
        driver_config_validated: true,
        error: validation.errors.render().unwrap_or_default(),
        warnings: warnings.render_warnings(),
    }
}

/// `caravan job validate`: 0 valid, 1 not.
pub fn validate(ui: &mut Ui, env: &Env, args: &[String]) -> i32 {
    let help = validate_help();
    let p = match parse_flags(ui, args, &CLIENT_FLAGS, &help) {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(()) => return 1,
    };
    let [path] = p.args.as_slice() else {
        ui.error(&help);
        return 1;
    };
    let job = match load_job(path) {
        Ok(j) => j,
        Err(e) => {
            ui.error(&format!("Error getting job struct: {e}"));
            return 1;
        }
    };
    let c = colorize(&p, env);
    let outcome = if explicit_address(&p, env).is_some() {
        let client = match client(&p, env, &job) {
            Ok(c) => c,
            Err(e) => {
                ui.error(&format!("Error initializing client: {e}"));
                return 255;
            }
        };
        client
            .write::<ValidateResponse>(
                "/v1/validate/job",
                &json!({"Job": &job}),
                "api.JobValidateResponse",
            )
            .unwrap_or_else(|_| ValidateResponse {
                // As Nomad: the local checks, flagged as such.
                driver_config_validated: false,
                ..validate_locally(&job)
            })
    } else {
        validate_locally(&job)
    };
    if !outcome.driver_config_validated {
        ui.output(&c.color("[bold][yellow]Driver configuration not validated since connection to Nomad agent couldn't be established.[reset]\n"));
    }
    if !outcome.error.is_empty() {
        ui.error(&c.color("[bold][red]Job validation errors:[reset]"));
        ui.error(&outcome.error);
        return 1;
    }
    if !outcome.warnings.is_empty() {
        ui.output(&c.color(&format!(
            "[bold][yellow]Job Warnings:\n{}[reset]\n",
            outcome.warnings
        )));
    }
    ui.output(&c.color("[bold][green]Job validation successful[reset]"));
    0
}

/// `caravan job inspect`: the `nomad run -output` JSON of a file.
pub fn inspect(ui: &mut Ui, args: &[String]) -> i32 {
    let p = match parse_flags(ui, args, &[], INSPECT_HELP) {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(()) => return 1,
    };
    let [path] = p.args.as_slice() else {
        ui.error(INSPECT_HELP);
        return 1;
    };
    match load_job(path) {
        Ok(job) => {
            ui.raw(&caravan_core::jobspec::to_output_json(&job));
            0
        }
        Err(e) => {
            ui.error(&format!("Error getting job struct: {e}"));
            1
        }
    }
}

/// `caravan job plan`: 0 no changes, 1 changes, 255 error.
pub fn plan(ui: &mut Ui, env: &Env, args: &[String]) -> i32 {
    let help = plan_help();
    let own: Vec<Flag> = CLIENT_FLAGS
        .iter()
        .copied()
        .chain([Flag::bool("diff"), Flag::bool("verbose")])
        .collect();
    let p = match parse_flags(ui, args, &own, &help) {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(()) => return 255,
    };
    let [path] = p.args.as_slice() else {
        ui.error(&help);
        return 255;
    };
    let job = match load_job(path) {
        Ok(j) => j,
        Err(e) => {
            ui.error(&format!("Error getting job struct: {e}"));
            return 255;
        }
    };
    let client = match client(&p, env, &job) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&format!("Error initializing client: {e}"));
            return 255;
        }
    };
    let diff = p.bool("diff", true);
    let id = job.id.clone().unwrap_or_default();
    let resp: PlanResponse = match client.write(
        &format!("/v1/job/{id}/plan"),
        &json!({"Job": &job, "Diff": diff}),
        "api.JobPlanResponse",
    ) {
        Ok(r) => r,
        Err(e) => {
            ui.error(&format!("Error during plan: {e}"));
            return 255;
        }
    };
    let view = PlanView {
        path,
        diff,
        verbose: p.bool("verbose", false),
        now: env.now,
    };
    ui.raw(&render_plan(&resp, &job, &view, colorize(&p, env)));
    plan_exit_code(&resp)
}

/// `api.JobRegisterResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RegisterResponse {
    #[serde(rename = "EvalID")]
    eval_id: String,
    #[serde(rename = "Warnings")]
    warnings: String,
}

/// `strconv.ParseUint(s, 10, 64)` with its error text.
fn parse_check_index(s: &str) -> Result<u64, String> {
    let syntax = || format!("strconv.ParseUint: parsing {}: invalid syntax", quote(s));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    s.parse().map_err(|_| {
        format!(
            "strconv.ParseUint: parsing {}: value out of range",
            quote(s)
        )
    })
}

/// The part of a register error Nomad's `run` shows on its own when the
/// check-index did not match (`\((Enforcing job modify index.*)\)`).
fn enforce_index_message(err: &str) -> Option<&str> {
    let start = err.find("(Enforcing job modify index")?;
    let line = err[start + 1..].split('\n').next()?;
    let end = line.rfind(')')?;
    Some(&line[..end])
}

/// `caravan job run`: 0 done, 1 error, 2 placements failed.
pub fn run(ui: &mut Ui, env: &Env, args: &[String]) -> i32 {
    let help = run_help();
    let own: Vec<Flag> = CLIENT_FLAGS
        .iter()
        .copied()
        .chain([
            Flag::bool("detach"),
            Flag::bool("verbose"),
            Flag::bool("output"),
            Flag::text("check-index"),
            Flag::text("vault-token"),
        ])
        .collect();
    let p = match parse_flags(ui, args, &own, &help) {
        Ok(Some(p)) => p,
        Ok(None) => return 0,
        Err(()) => return 1,
    };
    let [path] = p.args.as_slice() else {
        ui.error(&help);
        return 1;
    };
    let length = if p.bool("verbose", false) { 36 } else { 8 };
    let mut job = match load_job(path) {
        Ok(j) => j,
        Err(e) => {
            ui.error(&format!("Error getting job struct: {e}"));
            return 1;
        }
    };
    let client = match client(&p, env, &job) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&format!("Error initializing client: {e}"));
            return 1;
        }
    };
    let periodic = job.periodic.is_some();
    let parameterized = job.parameterized_job.is_some();
    let vault_token = p
        .text("vault-token")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| env.vault_token.clone());
    if let Some(token) = vault_token {
        job.vault_token = Some(token);
    }
    if p.bool("output", false) {
        ui.raw(&caravan_core::jobspec::to_output_json(&job));
        return 0;
    }
    let check_index = p.text("check-index").unwrap_or("");
    let mut body = json!({"Job": &job});
    if !check_index.is_empty() {
        match parse_check_index(check_index) {
            Ok(index) => {
                body["EnforceIndex"] = json!(true);
                body["JobModifyIndex"] = json!(index);
            }
            Err(e) => {
                ui.error(&format!(
                    "Error parsing check-index value {}: {e}",
                    quote(check_index)
                ));
                return 1;
            }
        }
    }
    let resp: RegisterResponse = match client.write("/v1/jobs", &body, "api.JobRegisterResponse") {
        Ok(r) => r,
        Err(e) => {
            if let Some(message) = enforce_index_message(&e) {
                ui.error(message);
                ui.error("Job not updated");
            } else {
                ui.error(&format!("Error submitting job: {e}"));
            }
            return 1;
        }
    };
    let c = colorize(&p, env);
    if !resp.warnings.is_empty() {
        ui.output(&c.color(&format!(
            "[bold][yellow]Job Warnings:\n{}[reset]\n",
            resp.warnings
        )));
    }
    if p.bool("detach", false) || periodic || parameterized {
        ui.output("Job registration successful");
        if periodic && !parameterized {
            if let Some(line) = next_launch_line(&job, env.now) {
                ui.output(&line);
            }
        } else if !parameterized {
            ui.output(&format!("Evaluation ID: {}", resp.eval_id));
        }
        return 0;
    }
    monitor(ui, &client, &resp.eval_id, length)
}

/// "Approximate next launch time: …" for a periodic job, computed here
/// as Nomad's CLI does; nothing if the job's time zone is unknown.
fn next_launch_line(job: &ApiJob, now: i64) -> Option<String> {
    let zone = job
        .periodic
        .as_ref()
        .and_then(|p| p.time_zone.as_deref())
        .unwrap_or("");
    let tz = caravan_core::periodic::parse_time_zone(zone).ok()?;
    let mut canonical = job.clone();
    canonical.canonicalize();
    let next = canonical
        .into_structs()
        .periodic
        .as_ref()
        .and_then(|p| caravan_core::periodic::next_launch(p, now));
    let (at, from_now) = match next {
        Some(next) => (format_time(next, tz), time_difference(now, next)),
        // Go's zero time: no date, and the duration saturates.
        None => (String::new(), "-2562047h47m16.854775808s".to_string()),
    };
    Some(format!(
        "Approximate next launch time: {at} ({from_now} from now)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_index_parses_like_go() {
        assert_eq!(parse_check_index("42"), Ok(42));
        assert_eq!(
            parse_check_index("-1"),
            Err("strconv.ParseUint: parsing \"-1\": invalid syntax".to_string())
        );
        assert_eq!(
            parse_check_index("99999999999999999999"),
            Err(
                "strconv.ParseUint: parsing \"99999999999999999999\": value out of range"
                    .to_string()
            )
        );
    }

    #[test]
    fn enforce_index_errors_are_picked_out() {
        assert_eq!(
            enforce_index_message(
                "Unexpected response code: 500 (Enforcing job modify index 5: job exists with conflicting job modify index: 7)"
            ),
            Some("Enforcing job modify index 5: job exists with conflicting job modify index: 7")
        );
        assert_eq!(
            enforce_index_message("Unexpected response code: 500 (job not found)"),
            None
        );
    }

    #[test]
    fn next_launch_of_a_periodic_job() {
        let job: ApiJob = serde_json::from_value(json!({
            "ID": "p",
            "Type": "batch",
            "Periodic": {"Spec": "0 0 1 1 *", "SpecType": "cron", "TimeZone": "Europe/Paris"}
        }))
        .expect("job");
        // 2026-12-31T20:00:00.5Z, 21:00:00 in Paris: three hours to go.
        let now = 1_798_747_200_500_000_000;
        assert_eq!(
            next_launch_line(&job, now),
            Some(
                "Approximate next launch time: 01/01/27 00:00:00 CET (3h0m0s from now)".to_string()
            )
        );
    }
}
