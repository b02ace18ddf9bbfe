//! Wiring: open storage and the engine, serve both APIs, shut down in order.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::json::{self, JsonApi};
use crate::auth::{load_iam_config, root_credentials, Auth, AuthSettings, RootSource};
use crate::config::{AuthMode, CapacityMode, Config};
use crate::engine::{Engine, EngineConfig};
use crate::storage::{FjallStore, StorageError, StoreOptions};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data directory {0} is in use by another keyfall-server process")]
    DataDirLocked(String),
    #[error("cannot open data directory {dir}: {message}")]
    Storage { dir: String, message: String },
    #[error("cannot start: {0}")]
    Startup(String),
    /// A setting or file the operator must fix (IAM config, credentials).
    #[error("{0}")]
    Config(String),
    #[error("server failed: {0}")]
    Serve(String),
}

pub use keyfall_api::listen::bind_pair;

/// The listeners the server serves on; bound by the caller (port 0 in tests).
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
}

/// Opens the engine on `config.data_dir`.
pub fn open_engine(config: &Config) -> Result<Arc<Engine>, ServerError> {
    let dir = config.data_dir.display().to_string();
    std::fs::create_dir_all(&config.data_dir).map_err(|e| ServerError::Storage {
        dir: dir.clone(),
        message: e.to_string(),
    })?;
    let opts = StoreOptions {
        durability: config.durability,
        max_write_buffer_bytes: config.write_buffer_mib << 20,
        cache_bytes: config.cache_mib << 20,
    };
    let store = FjallStore::open(&config.data_dir, opts).map_err(|e| match e {
        StorageError::Locked => ServerError::DataDirLocked(dir.clone()),
        other => ServerError::Storage {
            dir: dir.clone(),
            message: other.to_string(),
        },
    })?;
    let engine_config = EngineConfig {
        item_collection_limit_bytes: config.item_collection_limit_mib << 20,
        stream_retention: config.stream_retention,
        table_activation_delay: config.table_activation_delay,
        region: config.region.clone(),
        account_id: config.account_id.clone(),
        threads: config.engine_threads,
        capacity: config.capacity == CapacityMode::On,
        limits: config.limits,
        backup_dir: config.backup_dir(),
        pitr_base_every: config.pitr_base_every,
        export_dir: config.export_dir(),
        incremental_export_min_window: config.incremental_export_min_window,
        keys: Some(crate::master_key::key_provider(config)?),
    };
    Engine::open(Arc::new(store), engine_config).map_err(|e| ServerError::Storage {
        dir,
        message: e.to_string(),
    })
}

/// Loads the IAM config, resolves the root credentials (printing them when just generated)
/// and opens the user directory on the engine's storage.
pub fn open_auth(config: &Config, engine: &Engine) -> Result<Arc<Auth>, ServerError> {
    let iam = config
        .iam_config
        .as_deref()
        .map(load_iam_config)
        .transpose()
        .map_err(|e| ServerError::Config(e.to_string()))?;
    let configured = config
        .root_access_key_id
        .clone()
        .zip(config.root_secret_access_key.clone());
    let root = root_credentials(&config.data_dir, configured)
        .map_err(|e| ServerError::Config(format!("root credentials: {e}")))?;
    match &root.source {
        RootSource::Generated(path) => println!(
            "keyfall-server: generated root credentials (kept in {}):\n  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION={3} AWS_DEFAULT_REGION={3}",
            path.display(),
            root.access_key_id,
            root.secret_access_key,
            config.region
        ),
        RootSource::Stored(path) => println!(
            "keyfall-server: root access key {} (secret in {})",
            root.access_key_id,
            path.display()
        ),
        RootSource::Configured => {}
    }
    let settings = AuthSettings {
        enforce: config.auth == AuthMode::Enforce,
        region: config.region.clone(),
        account_id: config.account_id.clone(),
        max_skew: config.auth_clock_skew,
    };
    let records = crate::user_records::UserRecords::open(engine.store())
        .map_err(|e| ServerError::Config(e.to_string()))?;
    Auth::open(settings, records, &root, iam.as_ref())
        .map(Arc::new)
        .map_err(|e| ServerError::Config(e.to_string()))
}

/// Serves until `shutdown` turns true, then stops accepting, drains in-flight requests and
/// closes storage (last, once no request can reach it).
pub async fn run(
    config: Config,
    listeners: Listeners,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServerError> {
    if config.auth == AuthMode::Off {
        tracing::warn!("--auth off: every request is accepted without authentication");
    }
    let (engine, auth) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let engine = open_engine(&config)?;
            let auth = open_auth(&config, &engine)?;
            Ok::<_, ServerError>((engine, auth))
        })
        .await
        .map_err(|e| ServerError::Startup(e.to_string()))??
    };
    let http_addr = listeners
        .http
        .local_addr()
        .map_err(|e| ServerError::Startup(e.to_string()))?;
    let grpc_addr = listeners
        .grpc
        .local_addr()
        .map_err(|e| ServerError::Startup(e.to_string()))?;
    tracing::info!(data_dir = %config.data_dir.display(), %http_addr, %grpc_addr, "keyfall-server listening");

    let tls = crate::tls::load(&config)?;
    let secure = tls.is_some();
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let audit = match &config.audit_log {
        Some(target) => Some(Arc::new(
            crate::audit::Audit::open(target, config.audit_data_plane)
                .map_err(|e| ServerError::Config(format!("audit log {target:?}: {e}")))?,
        )),
        None => None,
    };
    let api = JsonApi {
        engine: engine.clone(),
        metrics: metrics.clone(),
        pipeline: crate::api::pipeline::Pipeline {
            engine: engine.clone(),
            auth: auth.clone(),
            audit: audit.clone(),
        },
        auth: auth.clone(),
        secure,
        advertised_address: http_addr.to_string(),
    };
    let app = json::router(api).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let http_shutdown = {
        let mut shutdown = shutdown.clone();
        async move {
            let _ = shutdown.wait_for(|s| *s).await;
        }
    };
    let http = async {
        match &tls {
            Some(m) => {
                let listener =
                    crate::tls::TlsListener::new(listeners.http, crate::tls::server_config(m)?)
                        .map_err(|e| ServerError::Startup(e.to_string()))?;
                // Tapping gives the listener axum's `SocketAddr` connect info.
                let listener = axum::serve::ListenerExt::tap_io(listener, |_| {});
                axum::serve(listener, app)
                    .with_graceful_shutdown(http_shutdown)
                    .await
            }
            None => {
                // Responses must not wait on Nagle's algorithm.
                let listener = axum::serve::ListenerExt::tap_io(listeners.http, |tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(http_shutdown)
                    .await
            }
        }
        .map_err(|e| ServerError::Serve(e.to_string()))
    };
    let grpc = crate::api::grpc::serve(
        engine.clone(),
        auth.clone(),
        metrics,
        audit,
        tls.clone(),
        listeners.grpc,
        shutdown.clone(),
    );
    let sweeper = every(
        engine.clone(),
        config.ttl_sweep_interval,
        shutdown.clone(),
        "ttl sweep",
        sweep,
    );
    let scaler = every(
        engine.clone(),
        config.autoscaling_period,
        shutdown.clone(),
        "auto scaling",
        Engine::autoscale,
    );
    let (h, g, (), ()) = tokio::join!(http, grpc, sweeper, scaler);
    h?;
    g?;
    let _ = shutdown.wait_for(|s| *s).await;
    drop(engine);
    tracing::info!("keyfall-server stopped");
    Ok(())
}

/// Runs `work` on the engine's threads every `period` until shutdown, logging what it did
/// (a count of changes) as `what`.
async fn every(
    engine: Arc<Engine>,
    period: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
    what: &'static str,
    work: fn(&Engine) -> crate::error::Result<usize>,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        match engine.run(work).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(changes = n, "{what}"),
            Err(e) => tracing::warn!(error = %e, "{what} failed"),
        }
    }
}

/// TTL sweeps, stream trimming, expired idempotency tokens, and point-in-time recovery's
/// trimming and bases.
fn sweep(e: &Engine) -> crate::error::Result<usize> {
    Ok(e.sweep_expired()? + e.trim_streams()? + e.expire_tokens()? + e.maintain_pitr()?)
}
