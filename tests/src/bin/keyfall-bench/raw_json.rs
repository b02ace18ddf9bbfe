//! A lean DynamoDB JSON client, so a JSON-API comparison measures the servers rather than
//! the AWS SDK: request bodies are built as text, signed with SigV4 (aws-sigv4, as the SDK
//! does), and sent over one pooled hyper HTTP/1.1 client. Responses are checked for status
//! and parsed only as far as the workload needs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

#[derive(Clone)]
pub struct RawJson {
    client: Client<HttpConnector, Full<Bytes>>,
    host: String,
    uri: http::Uri,
    key: String,
    secret: String,
}

impl RawJson {
    pub fn new(endpoint: &str, key: &str, secret: &str) -> anyhow::Result<RawJson> {
        let uri: http::Uri = endpoint.parse()?;
        let host = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| anyhow::anyhow!("endpoint {endpoint} has no host"))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(connector);
        Ok(RawJson {
            client,
            host,
            uri,
            key: key.to_string(),
            secret: secret.to_string(),
        })
    }

    /// Sends `DynamoDB_20120810.<operation>` with `body`; the response body on 200.
    pub async fn call(&self, operation: &str, body: String) -> anyhow::Result<Bytes> {
        let target = format!("DynamoDB_20120810.{operation}");
        let headers =
            keyfall_tests::sign_json_request(&self.host, &target, &body, &self.key, &self.secret);
        let mut request = http::Request::builder()
            .method("POST")
            .uri(self.uri.clone());
        for (name, value) in &headers {
            if name != "host" {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        anyhow::ensure!(
            status == http::StatusCode::OK,
            "{operation}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(bytes)
    }
}
