//! Values the flags of both binaries (keyfall-server, keyfall-dax) take, parsed once the
//! same way for the command line, `KEYFALL_*` variables and TOML.

use serde::Deserialize;

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
