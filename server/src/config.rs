//! Server configuration: command-line flags over `KEYFALL_*` environment variables over the
//! TOML file given by `--config` over built-in defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

use crate::storage::Durability;

use keyfall_api::flags::{deserialize_duration, load_toml};
pub use keyfall_api::flags::{parse_duration, AuthMode, CapacityMode, ConfigError, LogFormat};

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
    /// Root credentials; generated into the data dir when not configured.
    pub root_access_key_id: Option<String>,
    pub root_secret_access_key: Option<String>,
    /// How far a request's `X-Amz-Date` may be from the server clock.
    pub auth_clock_skew: std::time::Duration,
    /// TLS on both listeners: a PEM certificate chain and its key, or a generated
    /// self-signed certificate (development).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_self_signed: bool,
    /// Audit log destination (None: off).
    pub audit_log: Option<crate::audit::AuditTarget>,
    /// Also audit item reads and writes.
    pub audit_data_plane: bool,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Upper bound on all memtables together, in MiB.
    pub write_buffer_mib: u64,
    pub cache_mib: u64,
    /// How often the TTL sweeper runs.
    pub ttl_sweep_interval: std::time::Duration,
    /// Item-collection limit for tables with LSIs (DynamoDB: 10 GB).
    pub item_collection_limit_mib: u64,
    /// How long stream records are kept (DynamoDB: 24 hours).
    pub stream_retention: std::time::Duration,
    /// How long a new table stays CREATING before it turns ACTIVE.
    pub table_activation_delay: std::time::Duration,
    /// Threads running engine work (default: one per core).
    pub engine_threads: usize,
    /// Whether throughput is enforced.
    pub capacity: CapacityMode,
    /// What it is enforced with, and DescribeLimits's quotas (TOML `[limits]`).
    pub limits: crate::engine::throughput::CapacityLimits,
    /// How often the auto scaler looks at consumed capacity (DynamoDB: a minute).
    pub autoscaling_period: std::time::Duration,
    /// Where backups and point-in-time-recovery bases live (default: `backups` in the
    /// data dir).
    pub backup_dir: Option<PathBuf>,
    /// Changes a PITR table's log holds before a new base (at least as many as the table
    /// has items).
    pub pitr_base_every: u64,
    /// The export root: one folder per S3 bucket that exports write to and imports read
    /// from (default: `s3` in the data dir).
    pub export_dir: Option<PathBuf>,
    /// The shortest window of an incremental export (DynamoDB: 15 minutes).
    pub incremental_export_min_window: std::time::Duration,
    /// The master key wrapping encrypted tables' data keys, base64 (else the file, else
    /// `master.key` generated in the data dir).
    pub master_key: Option<String>,
    pub master_key_file: Option<PathBuf>,
    /// Previous master keys, still able to unwrap (rotation re-wraps under the current).
    pub previous_master_key_files: Vec<PathBuf>,
}

impl Config {
    /// The export root in effect.
    pub fn export_dir(&self) -> PathBuf {
        self.export_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("s3"))
    }

    /// The backup directory in effect.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }
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
            auth: AuthMode::Enforce,
            iam_config: None,
            root_access_key_id: None,
            root_secret_access_key: None,
            auth_clock_skew: std::time::Duration::from_secs(15 * 60),
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            audit_log: None,
            audit_data_plane: false,
            log_format: LogFormat::Text,
            write_buffer_mib: 256,
            cache_mib: 256,
            ttl_sweep_interval: std::time::Duration::from_secs(5),
            item_collection_limit_mib: 10 * 1024,
            stream_retention: std::time::Duration::from_secs(24 * 3600),
            table_activation_delay: std::time::Duration::ZERO,
            engine_threads: crate::engine::default_engine_threads(),
            capacity: CapacityMode::On,
            limits: crate::engine::throughput::CapacityLimits::default(),
            autoscaling_period: std::time::Duration::from_secs(60),
            backup_dir: None,
            pitr_base_every: 1_000_000,
            export_dir: None,
            incremental_export_min_window: std::time::Duration::from_secs(15 * 60),
            master_key: None,
            master_key_file: None,
            previous_master_key_files: Vec::new(),
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
    /// Root access key id (default: generated once and kept in the data dir).
    #[arg(long, env = "KEYFALL_ROOT_ACCESS_KEY_ID")]
    pub root_access_key_id: Option<String>,
    /// Root secret access key.
    #[arg(long, env = "KEYFALL_ROOT_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub root_secret_access_key: Option<String>,
    /// Largest accepted difference between a request's X-Amz-Date and the server clock,
    /// e.g. `5m` (default 15m).
    #[arg(long, env = "KEYFALL_AUTH_CLOCK_SKEW", value_parser = parse_duration)]
    pub auth_clock_skew: Option<std::time::Duration>,
    /// PEM certificate chain: serve both APIs over TLS.
    #[arg(long, env = "KEYFALL_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "KEYFALL_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a generated self-signed certificate for localhost (development).
    #[arg(long, env = "KEYFALL_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,
    /// Audit log: `stdout`, or a directory for daily-rotated `audit.log.*` files.
    #[arg(long, env = "KEYFALL_AUDIT_LOG")]
    pub audit_log: Option<crate::audit::AuditTarget>,
    /// Also audit data-plane calls (item reads and writes).
    #[arg(long, env = "KEYFALL_AUDIT_DATA_PLANE")]
    pub audit_data_plane: bool,
    /// Log line format (level by RUST_LOG).
    #[arg(long, env = "KEYFALL_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// How often expired TTL items are swept, e.g. `500ms`, `1s`, `2m` (default 5s).
    #[arg(long, env = "KEYFALL_TTL_SWEEP_INTERVAL", value_parser = parse_duration)]
    pub ttl_sweep_interval: Option<std::time::Duration>,
    /// How long stream records are kept, e.g. `30s`, `2h` (default 24h, DynamoDB's).
    #[arg(long, env = "KEYFALL_STREAM_RETENTION", value_parser = parse_duration)]
    pub stream_retention: Option<std::time::Duration>,
    /// How long a new table answers CREATING before it turns ACTIVE, e.g. `2s` (default 0s:
    /// CreateTable answers CREATING, as DynamoDB does, and the table is ACTIVE at once).
    /// While CREATING, item calls on it answer ResourceNotFoundException, as in DynamoDB.
    #[arg(long, env = "KEYFALL_TABLE_ACTIVATION_DELAY", value_parser = parse_duration)]
    pub table_activation_delay: Option<std::time::Duration>,
    /// Threads running engine work, i.e. storage reads and writes (default: one per core).
    #[arg(long, env = "KEYFALL_ENGINE_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub engine_threads: Option<u16>,
    /// `on`: throttle beyond a table's provisioned throughput, as DynamoDB does (default);
    /// `off`: count capacity only, as DynamoDB Local does.
    #[arg(long, env = "KEYFALL_CAPACITY")]
    pub capacity: Option<CapacityMode>,
    /// How often the auto scaler compares consumed with provisioned capacity, e.g. `10s`
    /// (default 1m, DynamoDB's period: scale out after two periods above the target, in
    /// after fifteen below).
    #[arg(long, env = "KEYFALL_AUTOSCALING_PERIOD", value_parser = parse_duration)]
    pub autoscaling_period: Option<std::time::Duration>,
    /// Directory of on-demand backups and point-in-time-recovery bases (default: `backups`
    /// in the data dir).
    #[arg(long, env = "KEYFALL_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// A PITR table takes a new base (a full copy its restores start from) once its change
    /// log since the last one holds this many changes and as many as the table has items
    /// (default 1000000).
    #[arg(long, env = "KEYFALL_PITR_BASE_EVERY", value_parser = clap::value_parser!(u64).range(1..))]
    pub pitr_base_every: Option<u64>,
    /// The folder of S3 buckets: `ExportTableToPointInTime` writes to, and `ImportTable`
    /// reads from, `<dir>/<bucket>/<prefix>...` (default: `s3` in the data dir).
    #[arg(long, env = "KEYFALL_EXPORT_DIR")]
    pub export_dir: Option<PathBuf>,
    /// The shortest window an incremental export may cover, e.g. `1s` (default 15m,
    /// DynamoDB's).
    #[arg(long, env = "KEYFALL_INCREMENTAL_EXPORT_MIN_WINDOW", value_parser = parse_duration)]
    pub incremental_export_min_window: Option<std::time::Duration>,
    /// The master key that wraps encrypted tables' data keys, 32 bytes in base64 (prefer
    /// the environment or a file: a flag is visible to other local users).
    #[arg(long, env = "KEYFALL_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// A file holding the master key (32 raw bytes or base64); default: `master.key` in the
    /// data dir, generated on first start.
    #[arg(long, env = "KEYFALL_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// A previous master key's file (repeatable, or comma-separated in the environment):
    /// data keys it wrapped are re-wrapped under the current key at start.
    #[arg(
        long = "previous-master-key-file",
        env = "KEYFALL_PREVIOUS_MASTER_KEY_FILES",
        value_delimiter = ','
    )]
    pub previous_master_key_files: Vec<PathBuf>,
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
    root_access_key_id: Option<String>,
    root_secret_access_key: Option<String>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    auth_clock_skew: Option<std::time::Duration>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    audit_log: Option<String>,
    audit_data_plane: Option<bool>,
    log_format: Option<LogFormat>,
    write_buffer_mib: Option<u64>,
    cache_mib: Option<u64>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    ttl_sweep_interval: Option<std::time::Duration>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    stream_retention: Option<std::time::Duration>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    table_activation_delay: Option<std::time::Duration>,
    item_collection_limit_mib: Option<u64>,
    engine_threads: Option<u16>,
    capacity: Option<CapacityMode>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    autoscaling_period: Option<std::time::Duration>,
    backup_dir: Option<PathBuf>,
    pitr_base_every: Option<u64>,
    export_dir: Option<PathBuf>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    incremental_export_min_window: Option<std::time::Duration>,
    master_key: Option<String>,
    master_key_file: Option<PathBuf>,
    #[serde(default)]
    previous_master_key_files: Vec<PathBuf>,
    #[serde(default)]
    limits: LimitsFile,
}

/// The TOML file's `[limits]`: DescribeLimits's quotas and the throughput of partitions
/// and of new on-demand tables; DynamoDB's numbers where absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    account_max_read_capacity_units: Option<i64>,
    account_max_write_capacity_units: Option<i64>,
    table_max_read_capacity_units: Option<i64>,
    table_max_write_capacity_units: Option<i64>,
    partition_read_units: Option<f64>,
    partition_write_units: Option<f64>,
    on_demand_initial_read_units: Option<f64>,
    on_demand_initial_write_units: Option<f64>,
}

impl LimitsFile {
    fn resolve(self) -> Result<crate::engine::throughput::CapacityLimits, ConfigError> {
        let d = crate::engine::throughput::CapacityLimits::default();
        let l = crate::engine::throughput::CapacityLimits {
            account_max_read: self
                .account_max_read_capacity_units
                .unwrap_or(d.account_max_read),
            account_max_write: self
                .account_max_write_capacity_units
                .unwrap_or(d.account_max_write),
            table_max_read: self
                .table_max_read_capacity_units
                .unwrap_or(d.table_max_read),
            table_max_write: self
                .table_max_write_capacity_units
                .unwrap_or(d.table_max_write),
            partition_read: self.partition_read_units.unwrap_or(d.partition_read),
            partition_write: self.partition_write_units.unwrap_or(d.partition_write),
            on_demand_initial_read: self
                .on_demand_initial_read_units
                .unwrap_or(d.on_demand_initial_read),
            on_demand_initial_write: self
                .on_demand_initial_write_units
                .unwrap_or(d.on_demand_initial_write),
        };
        let positive = [
            l.account_max_read as f64,
            l.account_max_write as f64,
            l.table_max_read as f64,
            l.table_max_write as f64,
            l.partition_read,
            l.partition_write,
            l.on_demand_initial_read,
            l.on_demand_initial_write,
        ];
        if positive.iter().any(|v| !(v.is_finite() && *v >= 1.0)) {
            return Err(ConfigError::Invalid(
                "every [limits] value must be at least 1".into(),
            ));
        }
        Ok(l)
    }
}

impl Cli {
    /// Merges flags/env (already combined by clap) over the file over the defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => load_toml(path)?,
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
            root_access_key_id: self.root_access_key_id.or(file.root_access_key_id),
            root_secret_access_key: self.root_secret_access_key.or(file.root_secret_access_key),
            auth_clock_skew: self
                .auth_clock_skew
                .or(file.auth_clock_skew)
                .unwrap_or(d.auth_clock_skew),
            tls_cert: self.tls_cert.or(file.tls_cert),
            tls_key: self.tls_key.or(file.tls_key),
            tls_self_signed: self.tls_self_signed || file.tls_self_signed.unwrap_or(false),
            audit_log: match self.audit_log {
                Some(t) => Some(t),
                None => file
                    .audit_log
                    .map(|s| s.parse().map_err(ConfigError::Invalid))
                    .transpose()?,
            },
            audit_data_plane: self.audit_data_plane || file.audit_data_plane.unwrap_or(false),
            log_format: self.log_format.or(file.log_format).unwrap_or(d.log_format),
            write_buffer_mib: file.write_buffer_mib.unwrap_or(d.write_buffer_mib),
            cache_mib: file.cache_mib.unwrap_or(d.cache_mib),
            item_collection_limit_mib: file
                .item_collection_limit_mib
                .unwrap_or(d.item_collection_limit_mib),
            ttl_sweep_interval: self
                .ttl_sweep_interval
                .or(file.ttl_sweep_interval)
                .unwrap_or(d.ttl_sweep_interval),
            stream_retention: self
                .stream_retention
                .or(file.stream_retention)
                .unwrap_or(d.stream_retention),
            table_activation_delay: self
                .table_activation_delay
                .or(file.table_activation_delay)
                .unwrap_or(d.table_activation_delay),
            engine_threads: self
                .engine_threads
                .or(file.engine_threads)
                .map_or(d.engine_threads, usize::from),
            capacity: self.capacity.or(file.capacity).unwrap_or(d.capacity),
            limits: file.limits.resolve()?,
            autoscaling_period: self
                .autoscaling_period
                .or(file.autoscaling_period)
                .unwrap_or(d.autoscaling_period),
            backup_dir: self.backup_dir.or(file.backup_dir),
            pitr_base_every: self
                .pitr_base_every
                .or(file.pitr_base_every)
                .unwrap_or(d.pitr_base_every)
                .max(1),
            export_dir: self.export_dir.or(file.export_dir),
            incremental_export_min_window: self
                .incremental_export_min_window
                .or(file.incremental_export_min_window)
                .unwrap_or(d.incremental_export_min_window),
            master_key: self.master_key.or(file.master_key),
            master_key_file: self.master_key_file.or(file.master_key_file),
            previous_master_key_files: if self.previous_master_key_files.is_empty() {
                file.previous_master_key_files
            } else {
                self.previous_master_key_files
            },
        };
        if config.engine_threads == 0 {
            return Err(ConfigError::Invalid(
                "engine_threads must be at least 1".into(),
            ));
        }
        if config.account_id.len() != 12 || !config.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid(format!(
                "account_id must be 12 digits, got {:?}",
                config.account_id
            )));
        }
        if config.root_access_key_id.is_some() != config.root_secret_access_key.is_some() {
            return Err(ConfigError::Invalid(
                "root_access_key_id and root_secret_access_key must be given together".into(),
            ));
        }
        if config.autoscaling_period.is_zero() {
            return Err(ConfigError::Invalid(
                "autoscaling_period must be longer than 0s".into(),
            ));
        }
        if config.region.is_empty() {
            return Err(ConfigError::Invalid("region must not be empty".into()));
        }
        Ok(config)
    }
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
    fn durations() {
        let cases = [
            ("500ms", Some(500)),
            ("2s", Some(2000)),
            ("1m", Some(60_000)),
            ("7", Some(7000)),
            ("0s", None),
            ("1h", None),
            ("x", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_duration(input).ok().map(|d| d.as_millis() as u64),
                want,
                "{input}"
            );
        }
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
