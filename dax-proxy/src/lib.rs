//! keyfall-dax: a DAX-like write-through cache in front of keyfall-server, kept coherent by
//! the server's change feed. See ARCHITECTURE.md (`dax-proxy/`).
//!
//! A read flows service -> caches (item or page) -> on a miss, one upstream call per key
//! (single-flight). A write flows service -> upstream -> on success, the caches.

mod audit;
mod auth;
pub mod cache;
mod cached_reads;
pub mod coherence;
pub mod config;
mod http_api;
pub mod keys;
pub mod metrics;
mod schemas;
mod service;
mod streams_service;
mod trace;

use std::sync::Arc;

use keyfall::signing::SigV4;
use keyfall_api::flags::AuthMode;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::Channel;

pub use config::{Cli, Config};

/// The signed, traced connection to the server.
pub type UpstreamChannel = trace::Traced<SigV4<Channel>>;
pub type Upstream = DynamoDbClient<UpstreamChannel>;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    Config(String),
    #[error("cannot reach the server at {upstream}: {message}")]
    Upstream { upstream: String, message: String },
    #[error("proxy failed: {0}")]
    Serve(String),
}

pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
}

/// Everything a request handler needs.
pub struct Proxy {
    pub upstream: Upstream,
    pub channel: UpstreamChannel,
    pub caches: cache::Caches,
    pub schemas: schemas::Schemas,
    pub coherence: coherence::Feeds,
    pub auth: Arc<keyfall_auth::Auth>,
}

impl Proxy {
    /// Drops everything known about a table (created, deleted or recreated).
    pub fn forget_table(&self, table: &str) {
        let t: Arc<str> = Arc::from(table);
        self.schemas.forget(table);
        self.coherence.forget(table);
        self.caches.forget_table(&t);
    }
}

/// Serves until `shutdown` turns true.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ProxyError> {
    if config.auth == AuthMode::Off {
        tracing::warn!("--auth off: every caller acts with the proxy's credentials");
    }
    let (Some(key), Some(secret)) = (
        config.access_key_id.clone(),
        config.secret_access_key.clone(),
    ) else {
        return Err(ProxyError::Config(
            "no upstream credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or access_key_id/secret_access_key in the config file)".into(),
        ));
    };
    let endpoint = Channel::from_shared(config.upstream.clone())
        .map_err(|e| ProxyError::Config(format!("invalid --upstream {}: {e}", config.upstream)))?;
    let channel = endpoint.connect_lazy();
    let authority = config
        .upstream
        .split_once("://")
        .map_or(config.upstream.as_str(), |(_, rest)| rest)
        .trim_end_matches('/')
        .to_string();
    let signer = keyfall::SigV4Layer::new(
        keyfall::Credentials::new(key, secret),
        &config.region,
        authority,
    );
    let channel: UpstreamChannel = trace::Traced {
        inner: tower::Layer::layer(&signer, channel),
    };
    let upstream = DynamoDbClient::new(channel.clone())
        .max_decoding_message_size(20 << 20)
        .max_encoding_message_size(20 << 20);
    let auth = auth::open(&config, &channel).await?;
    tokio::spawn(auth::refresh(
        auth.clone(),
        channel.clone(),
        config.auth_refresh,
        shutdown.clone(),
    ));
    let metrics = Arc::new(metrics::Metrics::default());
    let proxy = Arc::new(Proxy {
        upstream: upstream.clone(),
        channel,
        caches: cache::Caches::new(&config, metrics),
        schemas: schemas::Schemas::new(upstream),
        coherence: coherence::Feeds::new(config.coherence, shutdown.clone()),
        auth: auth.clone(),
    });
    proxy.coherence.attach(Arc::downgrade(&proxy));
    tracing::info!(upstream = %config.upstream, grpc = ?listeners.grpc.local_addr().ok(), http = ?listeners.http.local_addr().ok(), "keyfall-dax listening");

    let audit = match &config.audit_log {
        Some(target) => Some(Arc::new(
            keyfall_auth::audit::Audit::open(target, config.audit_data_plane)
                .map_err(|e| ProxyError::Config(format!("audit log: {e}")))?,
        )),
        None => None,
    };
    let dax = Arc::new(service::DaxService {
        proxy: proxy.clone(),
    });
    let grpc = {
        let mut shutdown = shutdown.clone();
        let audit = audit.clone();
        let incoming =
            tonic::transport::server::TcpIncoming::from(listeners.grpc).with_nodelay(Some(true));
        let metrics = proxy.caches.metrics.requests.clone();
        let service = cached_reads::DynamoDbService::new(dax.clone(), 20 << 20);
        let streams = keyfall_proto::v1::dynamo_db_streams_server::DynamoDbStreamsServer::new(
            streams_service::StreamsService { dax: dax.clone() },
        );
        async move {
            tonic::transport::Server::builder()
                // The server's request series, recorded as the server records them.
                .layer(keyfall_api::metrics::RequestMetricsLayer { metrics })
                .layer(keyfall_api::grpc::AuthLayer {
                    auth,
                    secure: false,
                    component: "keyfall-dax",
                })
                .layer(audit::AuditLayer { audit })
                .add_service(service)
                .add_service(streams)
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                })
                .await
                .map_err(|e| ProxyError::Serve(e.to_string()))
        }
    };
    let http = {
        let mut shutdown = shutdown.clone();
        let app = http_api::router(http_api::HttpState {
            proxy: proxy.clone(),
            service: dax.clone(),
            audit: audit.clone(),
        })
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
        async move {
            axum::serve(listeners.http, app)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                })
                .await
                .map_err(|e| ProxyError::Serve(e.to_string()))
        }
    };
    let (g, h) = tokio::join!(grpc, http);
    g?;
    h?;
    Ok(())
}
