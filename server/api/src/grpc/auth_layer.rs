//! SigV4 on gRPC: a tower layer in front of every service verifies the request's signature
//! over the raw HTTP/2 body (the form is documented in `proto/README.md`) and hands the
//! handlers a [`Caller`] in the request extensions. Failures answer UNAUTHENTICATED with
//! the AWS error name in `x-amzn-errortype`.

use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Limited};
use tonic::body::Body;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

use super::status::ERROR_TYPE_KEY;
use super::MAX_MESSAGE_BYTES;
use keyfall_auth::sigv4::SignedRequest;
use keyfall_auth::{Auth, AuthError, Caller};

#[derive(Clone)]
pub struct AuthLayer {
    pub auth: Arc<Auth>,
    pub secure: bool,
    /// `keyfall-server` or `keyfall-dax`, on each request's span.
    pub component: &'static str,
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

/// The caller this layer attached to a request. Its absence means the layer did not run,
/// which must not turn into "allowed".
pub fn caller_of<T>(r: &tonic::Request<T>) -> Result<Caller, Status> {
    r.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("request was not authenticated"))
}

/// The gRPC status of an auth failure (its code from the shared error table).
pub fn auth_status(e: &AuthError) -> Status {
    let code = grpc_code(e.type_name());
    let mut status = Status::new(code, e.to_string());
    status
        .metadata_mut()
        .insert(ERROR_TYPE_KEY, MetadataValue::from_static(e.type_name()));
    status
}

/// The gRPC code of an error name, from the shared error table (`Internal` for a name the
/// table lacks, which a test rules out for every name the server sends).
pub fn grpc_code(name: &str) -> Code {
    keyfall_proto::errors::info(name).map_or(Code::Internal, |e| e.grpc_code)
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

impl<S> tower::Service<http::Request<Body>> for AuthService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        // One span per call, child of the caller's `traceparent` when it sent one.
        let path = req.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", path));
        let span = tracing::info_span!(
            target: crate::telemetry::REQUEST_SPANS,
            "rpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            db.system = "dynamodb",
            keyfall.component = layer.component,
            // Set by keyfall-dax on cached reads.
            keyfall.cache_hit = tracing::field::Empty,
            // Recorded by the engine (`engine::observe`) when the request ran.
            aws.dynamodb.table_names = tracing::field::Empty,
            aws.dynamodb.consumed_capacity_units = tracing::field::Empty,
            aws.dynamodb.count = tracing::field::Empty,
            aws.dynamodb.scanned_count = tracing::field::Empty,
        );
        crate::telemetry::extract_parent(&span, req.headers());
        let fut = async move {
            use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
            let ext = req.extensions();
            let peer = ext
                .get::<TcpConnectInfo>()
                .or_else(|| {
                    ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                        .map(|i| i.get_ref())
                })
                .and_then(|i| i.remote_addr())
                .map(|a| a.ip());
            // Health checks and reflection are public, as for any gRPC service: probes
            // and grpcurl carry no AWS credentials.
            let path = req.uri().path();
            let public = path.starts_with("/grpc.health.v1.Health/")
                || path.starts_with("/grpc.reflection.");
            if !layer.auth.enforcing() || public {
                let mut req = req;
                req.extensions_mut()
                    .insert(Caller::unauthenticated(peer, layer.secure));
                return inner.call(req).await;
            }
            // A missing, malformed or unknown credential is refused before the body is read.
            if let Err(e) = layer.auth.authenticate_headers(req.headers()) {
                return Ok(auth_status(&e).into_http());
            }
            let (mut parts, body) = req.into_parts();
            // The signature covers the body, so it is read whole before the handler runs.
            let bytes = match Limited::new(body, MAX_MESSAGE_BYTES + 5).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => {
                    let status = Status::invalid_argument(format!("cannot read request: {e}"));
                    return Ok(status.into_http());
                }
            };
            let signed = SignedRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers: &parts.headers,
                authority: parts.uri.authority().map(|a| a.as_str()),
                body: &bytes,
            };
            match layer.auth.authenticate(&signed, peer, layer.secure) {
                Ok(caller) => {
                    parts.extensions.insert(caller);
                    let body = Body::new(http_body_util::Full::new(bytes));
                    inner.call(http::Request::from_parts(parts, body)).await
                }
                Err(e) => Ok(auth_status(&e).into_http()),
            }
        };
        Box::pin(tracing::Instrument::instrument(fut, span))
    }
}
