//! Command-line parsing in Nomad's style: `caravan agent -dev -bind X
//! -http-port N -data-dir D -region R -dc D -node N -scheduler-plugin P`,
//! simulated nodes (`-sim-*`) and heartbeat timing; `--flag` and
//! `-flag=value` work too.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::agent::AgentConfig;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Agent(Box<AgentConfig>),
    /// `caravan job …`: the arguments after `job`.
    Job(Vec<String>),
    Version,
    Help,
}

pub const USAGE: &str = "Usage: caravan agent [-dev] [-bind 127.0.0.1] [-http-port 4646] \
[-data-dir ./caravan-data] [-region global] [-dc dc1] [-node NAME] [-ui-dir web-demo]
         [-scheduler-plugin PATH.wasm] [-sim-spec nodes.json] [-sim-nodes N] [-sim-dc dc1,dc2] [-sim-class a,b] \
[-sim-cpu 4000] [-sim-memory 8192] [-sim-disk 102400] [-sim-batch-runtime 10s] \
[-sim-start-delay 100ms] [-min-heartbeat-ttl 10s] [-heartbeat-grace 10s]
       caravan job validate|inspect|plan|run [options] <path>
       caravan version";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let Some(command) = args.first() else {
        return Ok(Invocation::Help);
    };
    match command.as_str() {
        "agent" => parse_agent(&args[1..]).map(|c| Invocation::Agent(Box::new(c))),
        "job" => Ok(Invocation::Job(args[1..].to_vec())),
        "version" | "-version" | "--version" | "-v" => Ok(Invocation::Version),
        "help" | "-h" | "-help" | "--help" => Ok(Invocation::Help),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn parse_agent(args: &[String]) -> Result<AgentConfig, String> {
    let mut config = AgentConfig::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let flag = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .ok_or_else(|| format!("unexpected argument {arg:?}\n{USAGE}"))?;
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if name == "dev" {
            config.dev = match inline.as_deref() {
                None | Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(v) => return Err(format!("invalid value {v:?} for -dev")),
            };
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("flag -{name} needs a value"))?
            }
        };
        match name {
            "bind" => {
                config.bind = value
                    .parse::<IpAddr>()
                    .map_err(|_| format!("invalid -bind address {value:?}"))?
            }
            "http-port" => {
                config.http_port = value
                    .parse()
                    .map_err(|_| format!("invalid -http-port {value:?}"))?
            }
            "data-dir" => config.data_dir = PathBuf::from(value),
            "region" => config.region = value,
            "dc" => config.datacenter = value,
            "node" => config.node_name = Some(value),
            "ui-dir" => {
                let dir = PathBuf::from(value);
                if !dir.join("index.html").is_file() {
                    return Err(format!("-ui-dir {}: no index.html there", dir.display()));
                }
                config.ui_dir = Some(dir)
            }
            "scheduler-plugin" => config.scheduler_plugin = Some(PathBuf::from(value)),
            "snapshot-every" => {
                config.snapshot_every = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("invalid -snapshot-every {value:?}"))?
            }
            other => {
                if !config.sim.set_flag(other, &value)?
                    && !config.heartbeat.set_flag(other, &value)?
                {
                    return Err(format!("unknown flag -{other}\n{USAGE}"));
                }
            }
        }
        i += 1;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn nomad_style_flags() {
        let Ok(Invocation::Agent(c)) = parse(&args(
            "agent -dev -bind 0.0.0.0 --http-port=0 -data-dir /tmp/x -region r1 -dc=d2 -node n1",
        )) else {
            panic!("not an agent invocation");
        };
        assert!(c.dev);
        assert_eq!(c.bind.to_string(), "0.0.0.0");
        assert_eq!(c.http_port, 0);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!((c.region.as_str(), c.datacenter.as_str()), ("r1", "d2"));
        assert_eq!(c.node_name.as_deref(), Some("n1"));
    }

    #[test]
    fn simulated_nodes_and_heartbeats() {
        let Ok(Invocation::Agent(c)) = parse(&args(
            "agent -sim-spec n.json -sim-nodes=20 -sim-dc dc1,dc2 -sim-class a -sim-cpu 2000 \
             -sim-memory 1024 -sim-batch-runtime 2s -min-heartbeat-ttl 1s -heartbeat-grace=500ms",
        )) else {
            panic!("not an agent invocation");
        };
        assert!(!c.dev);
        assert_eq!(c.sim.spec, Some(PathBuf::from("n.json")));
        assert_eq!(c.sim.count, 20);
        assert_eq!(c.sim.datacenters, ["dc1", "dc2"]);
        assert_eq!(c.sim.classes, ["a"]);
        assert_eq!((c.sim.cpu_mhz, c.sim.memory_mb), (2000, 1024));
        assert_eq!(c.sim.options.batch_runtime, Duration::from_secs(2));
        assert_eq!(c.heartbeat.min_ttl, Duration::from_secs(1));
        assert_eq!(c.heartbeat.grace, Duration::from_millis(500));
        assert_eq!(c.scheduler_plugin, None);
        for line in [
            "agent -scheduler-plugin /p.wasm",
            "agent --scheduler-plugin /p.wasm",
            "agent -scheduler-plugin=/p.wasm",
        ] {
            let Ok(Invocation::Agent(c)) = parse(&args(line)) else {
                panic!("{line}: not an agent invocation");
            };
            assert_eq!(c.scheduler_plugin, Some(PathBuf::from("/p.wasm")), "{line}");
        }
        assert_eq!(
            parse(&args("agent -scheduler-plugin")),
            Err("flag -scheduler-plugin needs a value".to_string())
        );
    }

    #[test]
    fn defaults_and_errors() {
        assert_eq!(parse(&args("agent")), Ok(Invocation::Agent(Box::default())));
        assert_eq!(
            parse(&args("agent -http-port")),
            Err("flag -http-port needs a value".to_string())
        );
        assert!(parse(&args("agent -bogus 1")).is_err());
        assert!(parse(&args("agent -sim-nodes many")).is_err());
        assert!(parse(&args("agent -heartbeat-grace 5")).is_err());
        assert_eq!(parse(&args("version")), Ok(Invocation::Version));
        assert_eq!(
            parse(&args("job plan -diff=false x.nomad")),
            Ok(Invocation::Job(args("plan -diff=false x.nomad")))
        );
    }
}
