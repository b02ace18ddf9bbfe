//! `keyfall-dax`: parse the configuration, then run the library until a signal.

use std::process::ExitCode;

use clap::Parser;
use keyfall_api::flags::LogFormat;
use keyfall_api::listen::{Shell, EXIT_CONFIG};
use keyfall_dax::{Listeners, ProxyError};

fn main() -> ExitCode {
    let config = match keyfall_dax::Cli::parse().resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keyfall-dax: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let shell = Shell {
        name: "keyfall-dax",
        log_format: LogFormat::Text,
        log_filter: "info",
        http: config.http_listen,
        grpc: config.grpc_listen,
        banner: format!(
            "gRPC on {}, DynamoDB JSON API and /metrics on http://{}, upstream {}",
            config.grpc_listen, config.http_listen, config.upstream
        ),
    };
    keyfall_api::listen::main(
        shell,
        config,
        |config, http, grpc, shutdown| keyfall_dax::run(config, Listeners { http, grpc }, shutdown),
        |e| matches!(e, ProxyError::Config(_)),
    )
}
