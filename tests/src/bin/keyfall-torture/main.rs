//! `keyfall-torture`: Keyfall's reliability harness (RELIABILITY.md).
//!
//! ```text
//! keyfall-torture crash [--cycles 100] [--writers 8] [--min-ms 200] [--max-ms 3000]
//!                       [--fsync] [--seed N] [--server-bin PATH] [--data-dir DIR] [--json]
//!                       [--self-test]
//! keyfall-torture linear [--keys 3] [--clients 8] [--ops 500] [--seed N] [--server-bin PATH]
//!                        [--json]
//! ```
//!
//! `crash` runs kill-restart-verify cycles against a real `keyfall-server` (by default the
//! one next to this binary: `cargo build --release -p keyfall-server -p keyfall-tests`)
//! and prints what it checked; a violation prints what the ledger and the store disagree
//! on and exits with status 1. `linear` records histories of reads, writes and
//! compare-and-set through the JSON API and gRPC and checks them for linearizability.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use keyfall_tests::torture::{self, crash, linear};

#[derive(Parser)]
#[command(name = "keyfall-torture", about = "Keyfall's reliability harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Kill -9 under load, restart, verify every acknowledged write.
    Crash {
        #[arg(long, default_value_t = 100)]
        cycles: usize,
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// Shortest run before a kill, in milliseconds.
        #[arg(long, default_value_t = 200)]
        min_ms: u64,
        /// Longest run before a kill, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        max_ms: u64,
        /// Run the server with --durability fsync.
        #[arg(long)]
        fsync: bool,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        server_bin: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Lose a write behind the checker's back before the last check: the run must fail.
        #[arg(long)]
        self_test: bool,
    },
    /// Concurrent reads, writes and compare-and-set, checked for linearizability.
    Linear {
        #[arg(long, default_value_t = 3)]
        keys: usize,
        /// Clients (even ones on the JSON API, odd ones on gRPC).
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Calls per client.
        #[arg(long, default_value_t = 500)]
        ops: usize,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        server_bin: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Prints a run's report (as JSON, or for people), or its failure with the seed that
/// replays it.
fn finish<R: serde::Serialize + std::fmt::Debug>(
    outcome: Result<R, torture::Failure>,
    seed: u64,
    json: bool,
) -> ExitCode {
    match outcome {
        Ok(report) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{report:#?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e} (seed {seed})");
            ExitCode::FAILURE
        }
    }
}

/// The server binary asked for, else the one next to this binary.
fn find_server(asked: Option<PathBuf>) -> Result<PathBuf, ExitCode> {
    asked.or_else(torture::sibling_server_bin).ok_or_else(|| {
        eprintln!("error: no keyfall-server next to this binary: pass --server-bin");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Crash {
            cycles,
            writers,
            min_ms,
            max_ms,
            fsync,
            seed,
            server_bin,
            data_dir,
            json,
            self_test,
        } => {
            let server_bin = match find_server(server_bin) {
                Ok(bin) => bin,
                Err(code) => return code,
            };
            let seed = seed.unwrap_or_else(rand::random);
            let config = crash::CrashConfig {
                server_bin,
                cycles,
                writers,
                run_for: (
                    Duration::from_millis(min_ms),
                    Duration::from_millis(max_ms.max(min_ms)),
                ),
                fsync,
                seed,
                data_dir,
                sabotage: self_test,
            };
            eprintln!("crash cycles: {cycles}, {writers} writers, seed {seed}, fsync {fsync}");
            finish(runtime.block_on(crash::run(&config)), seed, json)
        }
        Command::Linear {
            keys,
            clients,
            ops,
            seed,
            server_bin,
            json,
        } => {
            let server_bin = match find_server(server_bin) {
                Ok(bin) => bin,
                Err(code) => return code,
            };
            let seed = seed.unwrap_or_else(rand::random);
            let config = linear::LinearConfig {
                server_bin,
                keys,
                clients,
                ops_per_client: ops,
                seed,
            };
            eprintln!("linearizability: {keys} keys, {clients} clients x {ops} calls, seed {seed}");
            finish(runtime.block_on(linear::run(&config)), seed, json)
        }
    }
}
