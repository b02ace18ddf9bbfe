//! The connection: endpoint, signing, trace propagation, timeouts and retries, shared by
//! every operation.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tower::util::BoxCloneSyncService;
use tracing::Instrument;

use crate::proto::v1::dynamo_db_client::DynamoDbClient;
use crate::proto::v1::dynamo_db_streams_client::DynamoDbStreamsClient;
use crate::retry::{Idempotency, RetryPolicy};
use crate::signing::{Credentials, SigV4Layer};
use crate::trace::TraceContext;
use crate::Error;

/// The service stack under the generated clients: trace context, then SigV4, then the
/// HTTP/2 channel.
pub type Transport = BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    TransportError,
>;

/// A failure below gRPC (connecting, signing). A concrete type rather than a boxed
/// `dyn Error`, so futures of the generated client over [`Transport`] are provably `Send`.
#[derive(Debug)]
pub struct TransportError(tower::BoxError);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// The endpoint a client uses when `KEYFALL_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:50051";

/// A connection to a Keyfall server or `keyfall-dax` proxy. Cheap to clone; clones share
/// the HTTP/2 connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    retry: RetryPolicy,
    endpoint: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Settings of a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: String,
    credentials: Option<Credentials>,
    region: String,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    retry: RetryPolicy,
    tls: Option<ClientTlsConfig>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            credentials: None,
            region: "us-east-1".to_string(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Some(Duration::from_secs(30)),
            retry: RetryPolicy::default(),
            tls: None,
        }
    }
}

impl ClientBuilder {
    /// `http://host:port` or `https://host:port`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The key pair every request is signed with. Without credentials requests go
    /// unsigned, which only a server run with `--auth off` accepts.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The region requests are signed for (`us-east-1` unless set).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of each attempt (`None`: no deadline, e.g. for long change feeds).
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// TLS settings for an `https://` endpoint, e.g. a CA certificate to trust:
    /// `ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))`. `https://`
    /// endpoints without this use the platform's web PKI roots.
    pub fn tls(mut self, tls: ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Reads `KEYFALL_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` and `AWS_REGION` (or `AWS_DEFAULT_REGION`) over the current
    /// settings.
    pub fn with_env(mut self) -> Self {
        if let Ok(endpoint) = std::env::var("KEYFALL_ENDPOINT") {
            self.endpoint = endpoint;
        }
        if let Some(credentials) = Credentials::from_env() {
            self.credentials = Some(credentials);
        }
        if let Ok(region) =
            std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        {
            self.region = region;
        }
        self
    }

    /// Makes the client. It connects on first use, and again after a lost connection.
    pub fn build(self) -> Result<Client, Error> {
        let config = |e: &dyn std::fmt::Display| Error::Config(format!("{}: {e}", self.endpoint));
        let mut endpoint = Endpoint::from_shared(self.endpoint.clone()).map_err(|e| config(&e))?;
        endpoint = endpoint
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30));
        if let Some(timeout) = self.request_timeout {
            endpoint = endpoint.timeout(timeout);
        }
        if let Some(tls) = self.tls.clone() {
            endpoint = endpoint.tls_config(tls).map_err(|e| config(&e))?;
        } else if self.endpoint.starts_with("https://") {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_enabled_roots())
                .map_err(|e| config(&e))?;
        }
        let authority = endpoint
            .uri()
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| config(&"the endpoint has no host"))?;
        let channel: Channel = endpoint.connect_lazy();
        let transport = match self.credentials {
            Some(credentials) => {
                let signed = tower::Layer::layer(
                    &SigV4Layer::new(credentials, self.region.clone(), authority),
                    channel,
                );
                BoxCloneSyncService::new(TraceContext::new(tower::ServiceExt::map_err(
                    signed,
                    TransportError,
                )))
            }
            None => BoxCloneSyncService::new(TraceContext::new(tower::ServiceExt::map_err(
                channel,
                |e| TransportError(e.into()),
            ))),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                retry: self.retry,
                endpoint: self.endpoint,
            }),
        })
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `KEYFALL_ENDPOINT` (default
    /// `http://127.0.0.1:50051`) and the standard `AWS_*` credential and region variables.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::default().with_env().build()
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The generated gRPC client over this connection (signed, traced), for calls the typed
    /// layer does not cover.
    pub fn grpc(&self) -> DynamoDbClient<Transport> {
        DynamoDbClient::new(self.inner.transport.clone())
    }

    /// The generated DynamoDB Streams client (with Keyfall's push `SubscribeChanges`).
    pub fn streams_grpc(&self) -> DynamoDbStreamsClient<Transport> {
        DynamoDbStreamsClient::new(self.inner.transport.clone())
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Runs one DynamoDB call with retries, in a client span named after the operation
    /// that carries the OpenTelemetry database attributes.
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        operation: &'static str,
        table: Option<&str>,
        idempotency: Idempotency,
        request: Req,
        send: F,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        F: Fn(DynamoDbClient<Transport>, Req) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let span = tracing::info_span!(
            "dynamodb",
            otel.name = %format_args!("DynamoDB.{operation}"),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = "keyfall.v1.DynamoDB",
            rpc.method = operation,
            db.system = "dynamodb",
            db.operation.name = operation,
            aws.dynamodb.table_names = table.unwrap_or(""),
            keyfall.attempts = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let policy = &self.inner.retry;
        async {
            let started = Instant::now();
            let mut attempt = 0u32;
            loop {
                let outcome = send(self.grpc(), request.clone()).await;
                match outcome {
                    Ok(response) => {
                        tracing::Span::current().record("keyfall.attempts", attempt + 1);
                        return Ok(response.into_inner());
                    }
                    Err(status) => {
                        let error = Error::from_status(status);
                        match policy.backoff(attempt, started.elapsed(), &error, idempotency) {
                            Some(delay) => {
                                tracing::debug!(%error, attempt, ?delay, "retrying");
                                tokio::time::sleep(delay).await;
                                attempt += 1;
                            }
                            None => {
                                let span = tracing::Span::current();
                                span.record("keyfall.attempts", attempt + 1);
                                span.record("otel.status_code", "ERROR");
                                span.record(
                                    "error.type",
                                    error.error_type().unwrap_or("transport"),
                                );
                                return Err(error);
                            }
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }
}
