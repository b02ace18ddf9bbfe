//! The server's DynamoDB JSON API, for the JSON actions the proxy does not cache: the
//! request body is forwarded as is, re-signed with the proxy's credentials.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

pub struct UpstreamHttp {
    endpoint: http::Uri,
    identity: Identity,
    region: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// What the server answered.
pub struct Answer {
    pub status: http::StatusCode,
    pub body: Bytes,
}

impl UpstreamHttp {
    pub fn new(endpoint: &str, key: &str, secret: &str, region: &str) -> Result<Self, String> {
        let endpoint: http::Uri = endpoint
            .parse()
            .map_err(|e| format!("invalid upstream HTTP endpoint {endpoint}: {e}"))?;
        let identity =
            aws_credential_types::Credentials::new(key, secret, None, None, "keyfall-dax").into();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Ok(UpstreamHttp {
            endpoint,
            identity,
            region: region.to_string(),
            client,
        })
    }

    pub async fn forward(&self, target: &str, body: Bytes) -> Result<Answer, String> {
        let host = self
            .endpoint
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or("the upstream HTTP endpoint has no host")?;
        let uri = format!("http://{host}/");
        let headers = [
            ("host", host.as_str()),
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.0"),
        ];
        let params = SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable = SignableRequest::new(
            "POST",
            uri.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        let mut builder = http::Request::post(&uri);
        for (k, v) in headers {
            builder = builder.header(k, v);
        }
        let mut req = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        instructions.apply_to_request_http1x(&mut req);
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer { status, body })
    }
}
