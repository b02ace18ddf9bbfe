//! `keyfall-server`: parse the configuration, bind the listeners, run until a signal.

use std::process::ExitCode;

use clap::Parser;
use keyfall_server::{Cli, Listeners, ServerError};
use tokio::sync::watch;

/// Exit code for a configuration or startup problem the operator must fix.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let config = match Cli::parse().resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keyfall-server: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keyfall-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let telemetry = keyfall_server::telemetry::Telemetry::init(
            "keyfall-server",
            config.log_format,
            "info,fjall=warn,lsm_tree=warn",
        );
        let code = serve(config).await;
        telemetry.shutdown();
        code
    })
}

async fn serve(config: keyfall_server::Config) -> ExitCode {
    {
        let listeners =
            match keyfall_server::server::bind_pair(config.http_listen, config.grpc_listen).await {
                Ok((http, grpc)) => Listeners { http, grpc },
                Err(e) => {
                    eprintln!("keyfall-server: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
        println!(
            "keyfall-server: data dir {}, DynamoDB JSON API on http://{}, gRPC on {}",
            config.data_dir.display(),
            config.http_listen,
            config.grpc_listen
        );
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            let _ = tx.send(true);
        });
        match keyfall_server::run(config, listeners, rx).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(
                e @ (ServerError::DataDirLocked(_)
                | ServerError::Storage { .. }
                | ServerError::Config(_)),
            ) => {
                eprintln!("keyfall-server: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
            Err(e) => {
                eprintln!("keyfall-server: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

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
