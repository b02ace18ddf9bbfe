//! Server configuration: command-line flags over `KEYFALL_*` environment variables over the
//! TOML file given by `--config` over built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

use crate::storage::Durability;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Verify SigV4 on every request (not built yet: behaves as `off`, with a warning).
    Enforce,
    /// Accept any request.
    #[default]
    Off,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub region: String,
    pub account_id: String,
    pub durability: Durability,
    pub auth: AuthMode,
    pub iam_config: Option<PathBuf>,
    /// Upper bound on all memtables together, in MiB.
    pub write_buffer_mib: u64,
    pub cache_mib: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./keyfall-data"),
            grpc_listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            durability: Durability::Process,
            auth: AuthMode::Off,
            iam_config: None,
            write_buffer_mib: 256,
            cache_mib: 256,
        }
    }
}

/// `keyfall-server` flags; each also reads a `KEYFALL_*` environment variable.
#[derive(Debug, Parser, Default)]
#[command(
    name = "keyfall-server",
    version,
    about = "Keyfall: a DynamoDB-compatible database"
)]
pub struct Cli {
    /// Directory holding the data (default ./keyfall-data).
    #[arg(long, env = "KEYFALL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// gRPC listen address (default 127.0.0.1:50051).
    #[arg(long, env = "KEYFALL_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// DynamoDB JSON API listen address (default 127.0.0.1:8000).
    #[arg(long, env = "KEYFALL_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// TOML configuration file.
    #[arg(long, env = "KEYFALL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Region used in ARNs (default us-east-1).
    #[arg(long, env = "KEYFALL_REGION")]
    pub region: Option<String>,
    /// Account id used in ARNs (default 000000000000).
    #[arg(long, env = "KEYFALL_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// `process` (survives kill -9) or `fsync` (every acknowledgement waits for an fsync).
    #[arg(long, env = "KEYFALL_DURABILITY", value_parser = parse_durability)]
    pub durability: Option<Durability>,
    /// Request authentication.
    #[arg(long, env = "KEYFALL_AUTH")]
    pub auth: Option<AuthMode>,
    /// IAM users and policies (JSON).
    #[arg(long, env = "KEYFALL_IAM_CONFIG")]
    pub iam_config: Option<PathBuf>,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    match s {
        "process" => Ok(Durability::Process),
        "fsync" => Ok(Durability::Fsync),
        other => Err(format!(
            "unknown durability {other:?}: expected process or fsync"
        )),
    }
}

/// The TOML file: the same settings, snake_case keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    grpc_listen: Option<SocketAddr>,
    http_listen: Option<SocketAddr>,
    region: Option<String>,
    account_id: Option<String>,
    durability: Option<Durability>,
    auth: Option<AuthMode>,
    iam_config: Option<PathBuf>,
    write_buffer_mib: Option<u64>,
    cache_mib: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl Cli {
    /// Merges flags/env (already combined by clap) over the file over the defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let d = Config::default();
        let config = Config {
            data_dir: self.data_dir.or(file.data_dir).unwrap_or(d.data_dir),
            grpc_listen: self
                .grpc_listen
                .or(file.grpc_listen)
                .unwrap_or(d.grpc_listen),
            http_listen: self
                .http_listen
                .or(file.http_listen)
                .unwrap_or(d.http_listen),
            region: self.region.or(file.region).unwrap_or(d.region),
            account_id: self.account_id.or(file.account_id).unwrap_or(d.account_id),
            durability: self.durability.or(file.durability).unwrap_or(d.durability),
            auth: self.auth.or(file.auth).unwrap_or(d.auth),
            iam_config: self.iam_config.or(file.iam_config),
            write_buffer_mib: file.write_buffer_mib.unwrap_or(d.write_buffer_mib),
            cache_mib: file.cache_mib.unwrap_or(d.cache_mib),
        };
        if config.account_id.len() != 12 || !config.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid(format!(
                "account_id must be 12 digits, got {:?}",
                config.account_id
            )));
        }
        if config.region.is_empty() {
            return Err(ConfigError::Invalid("region must not be empty".into()));
        }
        Ok(config)
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(
            &path,
            "data_dir = \"/from/file\"\nregion = \"eu-west-1\"\ndurability = \"fsync\"\n",
        )
        .unwrap();
        let cli = Cli {
            config: Some(path.clone()),
            data_dir: Some("/from/flag".into()),
            ..Cli::default()
        };
        let c = cli.resolve().unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.durability, Durability::Fsync);
        assert_eq!(c.http_listen, Config::default().http_listen);
    }

    #[test]
    fn bad_files_are_rejected_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "no_such_setting = 1\n").unwrap();
        let err = Cli {
            config: Some(path),
            ..Cli::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(err.contains("no_such_setting"), "{err}");
        let err = Cli {
            account_id: Some("12".into()),
            ..Cli::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(err.contains("12 digits"), "{err}");
    }
}
