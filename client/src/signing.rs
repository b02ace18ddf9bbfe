//! SigV4 signing of gRPC requests, as a tower layer under a tonic client.
//!
//! The canonical form (documented in `proto/README.md`) is plain SigV4 with service
//! `dynamodb`: method `POST`, the gRPC path (`/keyfall.v1.DynamoDB/GetItem`), an empty query,
//! signed headers `content-type`, `host` (the HTTP/2 `:authority`) and `x-amz-date`, and
//! the hex SHA-256 of the HTTP/2 request body exactly as sent (gRPC length-prefixed frames).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::BodyExt;
use tonic::body::Body;

/// An access key pair (and optional session token).
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

impl Credentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, as every AWS
    /// tool reads them.
    pub fn from_env() -> Option<Self> {
        Some(Credentials {
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID").ok()?,
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY").ok()?,
            session_token: std::env::var("AWS_SESSION_TOKEN").ok(),
        })
    }
}

/// Signs every request of the service it wraps.
#[derive(Clone)]
pub struct SigV4Layer {
    signer: Arc<Signer>,
}

struct Signer {
    identity: Identity,
    region: String,
    /// The `:authority` the channel sends, which the server reads as `host`.
    authority: String,
}

impl SigV4Layer {
    /// `authority` is the endpoint's `host:port` as the channel dials it.
    pub fn new(
        credentials: Credentials,
        region: impl Into<String>,
        authority: impl Into<String>,
    ) -> Self {
        let identity = AwsCredentials::new(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
            None,
            "keyfall",
        )
        .into();
        SigV4Layer {
            signer: Arc::new(Signer {
                identity,
                region: region.into(),
                authority: authority.into(),
            }),
        }
    }
}

impl<S> tower::Layer<S> for SigV4Layer {
    type Service = SigV4<S>;

    fn layer(&self, inner: S) -> SigV4<S> {
        SigV4 {
            inner,
            signer: self.signer.clone(),
        }
    }
}

#[derive(Clone)]
pub struct SigV4<S> {
    inner: S,
    signer: Arc<Signer>,
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read the request body: {0}")]
    Body(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl Signer {
    fn sign(&self, req: &mut http::Request<Body>, body: &[u8]) -> Result<(), SigningError> {
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let uri = format!("http://{}{}", self.authority, path);
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/grpc")
            .to_string();
        let headers = [("content-type", content_type.as_str())];
        let signable =
            SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(body))
                .map_err(|e| SigningError::Sign(e.to_string()))?;
        let params = SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| SigningError::Sign(e.to_string()))?
            .into();
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| SigningError::Sign(e.to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }
}

impl<S> tower::Service<http::Request<Body>> for SigV4<S>
where
    S: tower::Service<http::Request<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tower::BoxError>,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<S::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // The clone is not ready; swap so the ready service handles this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let signer = self.signer.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| SigningError::Body(e.to_string()))?
                .to_bytes();
            let mut req = http::Request::from_parts(parts, Body::empty());
            signer.sign(&mut req, &bytes)?;
            let (parts, _) = req.into_parts();
            let req = http::Request::from_parts(parts, Body::new(http_body_util::Full::new(bytes)));
            inner.call(req).await.map_err(Into::into)
        })
    }
}
