//! The shell both binaries share (mini-redis style): start the runtime and telemetry, bind
//! the two listeners, run the library's `run` until SIGINT or SIGTERM, and turn the outcome
//! into an exit code (2 for what the operator must fix, 1 for other failures).

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::flags::LogFormat;
use crate::telemetry::Telemetry;

/// Exit code for a configuration or startup problem the operator must fix.
pub const EXIT_CONFIG: u8 = 2;

/// What a binary needs from its resolved configuration to start.
pub struct Shell {
    /// The binary's name, prefixed to what it prints.
    pub name: &'static str,
    pub log_format: LogFormat,
    /// The default log filter (`RUST_LOG` overrides it).
    pub log_filter: &'static str,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    /// The line printed once both listeners are bound.
    pub banner: String,
}

/// Runs a binary: `run(config, http, grpc, shutdown)` is its library entry point;
/// `config_error` tells which of its errors the operator must fix.
pub fn main<C, E, Fut>(
    shell: Shell,
    config: C,
    run: impl FnOnce(C, TcpListener, TcpListener, watch::Receiver<bool>) -> Fut,
    config_error: impl FnOnce(&E) -> bool,
) -> ExitCode
where
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let name = shell.name;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let telemetry = Telemetry::init(name, shell.log_format, shell.log_filter);
        let code = match bind_pair(shell.http, shell.grpc).await {
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
            Ok((http, grpc)) => {
                println!("{name}: {}", shell.banner);
                let (tx, rx) = watch::channel(false);
                tokio::spawn(async move {
                    wait_for_signal().await;
                    tracing::info!("shutting down");
                    let _ = tx.send(true);
                });
                match run(config, http, grpc, rx).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("{name}: {e}");
                        if config_error(&e) {
                            ExitCode::from(EXIT_CONFIG)
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                }
            }
        };
        telemetry.shutdown();
        code
    })
}

/// Binds the HTTP and gRPC listeners of a binary (server or proxy); the error names the
/// address that could not be bound.
pub async fn bind_pair(
    http: SocketAddr,
    grpc: SocketAddr,
) -> Result<(TcpListener, TcpListener), String> {
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    tokio::try_join!(bind(http), bind(grpc))
}

/// SIGINT, or SIGTERM where there is one (what `docker stop` and systemd send).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
