//! `keyfall-dax`: parse the configuration, bind the listeners, run until a signal.

use std::process::ExitCode;

use clap::Parser;
use keyfall_dax::{Cli, Listeners, ProxyError};
use tokio::sync::watch;

const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let config = match Cli::parse().resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keyfall-dax: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keyfall-dax: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let telemetry = keyfall_api::telemetry::Telemetry::init(
            "keyfall-dax",
            keyfall_api::flags::LogFormat::Text,
            "info",
        );
        let code = serve(config).await;
        telemetry.shutdown();
        code
    })
}

async fn serve(config: keyfall_dax::Config) -> ExitCode {
    {
        let listeners =
            match keyfall_api::listen::bind_pair(config.http_listen, config.grpc_listen).await {
                Ok((http, grpc)) => Listeners { http, grpc },
                Err(e) => {
                    eprintln!("keyfall-dax: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
        println!(
            "keyfall-dax: gRPC on {}, DynamoDB JSON API and /metrics on http://{}, upstream {}",
            config.grpc_listen, config.http_listen, config.upstream
        );
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        });
        match keyfall_dax::run(config, listeners, rx).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ ProxyError::Config(_)) => {
                eprintln!("keyfall-dax: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
            Err(e) => {
                eprintln!("keyfall-dax: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
