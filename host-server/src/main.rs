//! The `caravan` binary: parses the command line and runs the agent or a
//! `job` command.

use caravan_server::cli::{self, Invocation};

/// mimalloc instead of glibc's malloc: the server's work is many small,
/// short-lived allocations (JSON decoding, job trees, plans), where glibc
/// spent about half of a `/plan` request's CPU (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: caravan_server::mialloc::MiMalloc = caravan_server::mialloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match cli::parse(&args) {
        Ok(Invocation::Agent(config)) => config,
        Ok(Invocation::Job(args)) => std::process::exit(caravan_server::job_cli::main(&args)),
        Ok(Invocation::Version) => {
            println!("Caravan v{} (Nomad v0.6.3 API)", env!("CARGO_PKG_VERSION"));
            return;
        }
        Ok(Invocation::Help) => {
            println!("{}", cli::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("caravan: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(caravan_server::agent::run(*config)) {
        eprintln!("caravan: {e}");
        std::process::exit(1);
    }
}
