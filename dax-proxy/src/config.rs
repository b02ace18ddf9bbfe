//! Proxy configuration: flags over `KEYFALL_*` environment variables over the TOML file over
//! defaults, as for the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

pub use keyfall_api::flags::ConfigError;
use keyfall_api::flags::{deserialize_duration, load_toml, parse_duration, AuthMode};

/// How the caches stay fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Coherence {
    /// Follow the server's change feed of every cached table that has a stream: writes from
    /// anywhere update or invalidate entries within milliseconds.
    Feed,
    /// Entries live until their TTL, exactly as DAX behaves.
    Ttl,
}

/// Which entry goes first when a cache is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Eviction {
    /// Least recently used, as DAX.
    Lru,
    /// moka's TinyLFU: admission by frequency, better hit ratios on skewed loads.
    Tinylfu,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The server's gRPC endpoint, e.g. `http://127.0.0.1:50051`.
    pub upstream: String,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub auth: AuthMode,
    pub region: String,
    /// Credentials the proxy signs upstream calls with (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub item_cache_bytes: u64,
    pub query_cache_bytes: u64,
    pub item_ttl: Duration,
    pub query_ttl: Duration,
    pub eviction: Eviction,
    pub coherence: Coherence,
    /// How often the server's principals are re-read.
    pub auth_refresh: Duration,
    pub auth_clock_skew: Duration,
    /// Audit log destination (None: off).
    pub audit_log: Option<keyfall_auth::audit::AuditTarget>,
    /// Also audit item reads and writes (cache hits included).
    pub audit_data_plane: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            upstream: "http://127.0.0.1:50051".into(),
            grpc_listen: SocketAddr::from(([127, 0, 0, 1], 50052)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8111)),
            auth: AuthMode::Enforce,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            item_cache_bytes: 256 << 20,
            query_cache_bytes: 64 << 20,
            item_ttl: Duration::from_secs(300),
            query_ttl: Duration::from_secs(300),
            eviction: Eviction::Lru,
            coherence: Coherence::Feed,
            auth_refresh: Duration::from_secs(5),
            auth_clock_skew: Duration::from_secs(15 * 60),
            audit_log: None,
            audit_data_plane: false,
        }
    }
}

/// `keyfall-dax` flags; each also reads a `KEYFALL_*` environment variable.
#[derive(Debug, Parser, Default)]
#[command(
    name = "keyfall-dax",
    version,
    about = "Keyfall write-through cache proxy"
)]
pub struct Cli {
    /// The server's gRPC endpoint (default http://127.0.0.1:50051).
    #[arg(long, env = "KEYFALL_UPSTREAM")]
    pub upstream: Option<String>,
    /// Accepted and ignored: the JSON actions the proxy forwards now travel on the
    /// `--upstream` gRPC connection (`keyfall.v1.JsonApi`).
    #[arg(long, env = "KEYFALL_UPSTREAM_HTTP", hide = true)]
    pub upstream_http: Option<String>,
    /// gRPC listen address (default 127.0.0.1:50052).
    #[arg(long, env = "KEYFALL_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// HTTP listen address: `/metrics` (default 127.0.0.1:8111, DAX's port).
    #[arg(long, env = "KEYFALL_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// TOML configuration file.
    #[arg(long, env = "KEYFALL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Request authentication.
    #[arg(long, env = "KEYFALL_AUTH")]
    pub auth: Option<AuthMode>,
    /// Region upstream requests are signed for (default us-east-1).
    #[arg(long, env = "KEYFALL_REGION")]
    pub region: Option<String>,
    /// Item cache budget in MiB (default 256).
    #[arg(long, env = "KEYFALL_ITEM_CACHE_MIB")]
    pub item_cache_mib: Option<u64>,
    /// Query cache budget in MiB (default 64).
    #[arg(long, env = "KEYFALL_QUERY_CACHE_MIB")]
    pub query_cache_mib: Option<u64>,
    /// Item cache TTL, e.g. `5m`, `30s` (default 5m).
    #[arg(long, env = "KEYFALL_ITEM_TTL", value_parser = parse_duration)]
    pub item_ttl: Option<Duration>,
    /// Query cache TTL (default 5m).
    #[arg(long, env = "KEYFALL_QUERY_TTL", value_parser = parse_duration)]
    pub query_ttl: Option<Duration>,
    /// Eviction policy of both caches (default lru, as DAX).
    #[arg(long, env = "KEYFALL_EVICTION")]
    pub eviction: Option<Eviction>,
    /// `feed` (follow the server's change feed) or `ttl` (DAX's behaviour).
    #[arg(long, env = "KEYFALL_COHERENCE")]
    pub coherence: Option<Coherence>,
    /// How often the server's users, keys and policies are re-read (default 5s).
    #[arg(long, env = "KEYFALL_AUTH_REFRESH", value_parser = parse_duration)]
    pub auth_refresh: Option<Duration>,
    /// Audit log: `stdout`, or a directory for daily-rotated `audit.log.*` files.
    #[arg(long, env = "KEYFALL_AUDIT_LOG")]
    pub audit_log: Option<keyfall_auth::audit::AuditTarget>,
    /// Also audit data-plane calls (item reads and writes, cache hits included).
    #[arg(long, env = "KEYFALL_AUDIT_DATA_PLANE")]
    pub audit_data_plane: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    upstream: Option<String>,
    /// Accepted and ignored (see `Cli::upstream_http`).
    #[allow(dead_code)]
    upstream_http: Option<String>,
    grpc_listen: Option<SocketAddr>,
    http_listen: Option<SocketAddr>,
    auth: Option<AuthMode>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    item_cache_mib: Option<u64>,
    query_cache_mib: Option<u64>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    item_ttl: Option<Duration>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    query_ttl: Option<Duration>,
    eviction: Option<Eviction>,
    coherence: Option<Coherence>,
    #[serde(default, deserialize_with = "deserialize_duration")]
    auth_refresh: Option<Duration>,
    audit_log: Option<String>,
    audit_data_plane: Option<bool>,
}

impl Cli {
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(p) => load_toml(p)?,
            None => FileConfig::default(),
        };
        let d = Config::default();
        let mib = |v: Option<u64>, default: u64| v.map_or(default, |m| m << 20);
        Ok(Config {
            upstream: self.upstream.or(file.upstream).unwrap_or(d.upstream),
            grpc_listen: self
                .grpc_listen
                .or(file.grpc_listen)
                .unwrap_or(d.grpc_listen),
            http_listen: self
                .http_listen
                .or(file.http_listen)
                .unwrap_or(d.http_listen),
            auth: self.auth.or(file.auth).unwrap_or(d.auth),
            region: self.region.or(file.region).unwrap_or(d.region),
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID")
                .ok()
                .or(file.access_key_id),
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY")
                .ok()
                .or(file.secret_access_key),
            item_cache_bytes: mib(
                self.item_cache_mib.or(file.item_cache_mib),
                d.item_cache_bytes,
            ),
            query_cache_bytes: mib(
                self.query_cache_mib.or(file.query_cache_mib),
                d.query_cache_bytes,
            ),
            item_ttl: self.item_ttl.or(file.item_ttl).unwrap_or(d.item_ttl),
            query_ttl: self.query_ttl.or(file.query_ttl).unwrap_or(d.query_ttl),
            eviction: self.eviction.or(file.eviction).unwrap_or(d.eviction),
            coherence: self.coherence.or(file.coherence).unwrap_or(d.coherence),
            auth_refresh: self
                .auth_refresh
                .or(file.auth_refresh)
                .unwrap_or(d.auth_refresh),
            auth_clock_skew: d.auth_clock_skew,
            audit_log: match self.audit_log {
                Some(t) => Some(t),
                None => file
                    .audit_log
                    .map(|s| s.parse().map_err(ConfigError::Invalid))
                    .transpose()?,
            },
            audit_data_plane: self.audit_data_plane || file.audit_data_plane.unwrap_or(false),
        })
    }
}
