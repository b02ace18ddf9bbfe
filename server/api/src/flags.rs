//! Values the flags of both binaries (keyfall-server, keyfall-dax) take, parsed once the
//! same way for the command line, `KEYFALL_*` variables and TOML.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What resolving a binary's flags, environment and TOML file can fail with.
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

/// Reads a binary's TOML file (`--config`): its settings under their flags' snake_case
/// names, unknown keys refused.
pub fn load_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })
}

/// A duration in a TOML file, written as the flags take it (`500ms`, `5s`, `2m`).
pub fn deserialize_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// Whether provisioned throughput is enforced (`--capacity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum CapacityMode {
    /// Throttle requests beyond a table's provisioned throughput, as DynamoDB does.
    #[default]
    On,
    /// Count capacity but never throttle, as DynamoDB Local does.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Verify SigV4 on every request and authorize it by the caller's policies.
    #[default]
    Enforce,
    /// Accept any request (a warning is logged at start).
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `<number><unit>` with unit `ms`, `s` or `m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 500ms, 5s or 1m"))?;
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "s" | "" => Ok(std::time::Duration::from_secs(n)),
        "m" => Ok(std::time::Duration::from_secs(n * 60)),
        _ => Err(format!(
            "invalid duration {s:?}: expected e.g. 500ms, 5s or 1m"
        )),
    }
    .and_then(|d| {
        if d.is_zero() {
            Err("duration must be positive".to_string())
        } else {
            Ok(d)
        }
    })
}
