//! `keyfall-server`: parse the configuration, then run the library until a signal.

use std::process::ExitCode;

use clap::Parser;
use keyfall_api::listen::{Shell, EXIT_CONFIG};
use keyfall_server::{Listeners, ServerError};

fn main() -> ExitCode {
    let config = match keyfall_server::Cli::parse().resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keyfall-server: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let shell = Shell {
        name: "keyfall-server",
        log_format: config.log_format,
        log_filter: "info,fjall=warn,lsm_tree=warn",
        http: config.http_listen,
        grpc: config.grpc_listen,
        banner: format!(
            "data dir {}, DynamoDB JSON API on http://{}, gRPC on {}",
            config.data_dir.display(),
            config.http_listen,
            config.grpc_listen
        ),
    };
    keyfall_api::listen::main(
        shell,
        config,
        |config, http, grpc, shutdown| {
            keyfall_server::run(config, Listeners { http, grpc }, shutdown)
        },
        |e| {
            matches!(
                e,
                ServerError::DataDirLocked(_)
                    | ServerError::Storage { .. }
                    | ServerError::Config(_)
            )
        },
    )
}
