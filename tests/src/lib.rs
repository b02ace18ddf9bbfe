//! Shared helpers for the integration tests: a real keyfall-server on port 0 with its own
//! data directory, and real clients pointed at it.

use std::net::SocketAddr;

use aws_sdk_dynamodb::config::{Credentials, Region};
use keyfall_server::{Config, Listeners};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), keyfall_server::ServerError>>>,
    pub data_dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_in(tempfile::tempdir().expect("tempdir")).await
    }

    /// Starts a server with settings changed from the defaults.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        Self::launch(tempfile::tempdir().expect("tempdir"), configure).await
    }

    /// Starts a server on an existing data directory (to test restarts).
    pub async fn start_in(data_dir: tempfile::TempDir) -> TestServer {
        Self::launch(data_dir, |_| {}).await
    }

    async fn launch(
        data_dir: tempfile::TempDir,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let http_addr = http.local_addr().expect("addr");
        let grpc_addr = grpc.local_addr().expect("addr");
        let mut config = Config {
            data_dir: data_dir.path().to_path_buf(),
            http_listen: http_addr,
            grpc_listen: grpc_addr,
            ..Config::default()
        };
        configure(&mut config);
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(keyfall_server::run(config, Listeners { http, grpc }, rx));
        let server = TestServer {
            http_addr,
            grpc_addr,
            shutdown,
            task: Some(task),
            data_dir,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(self.http_addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("server did not start");
    }

    /// Shuts down cleanly and hands back the data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server run");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.data_dir, dir)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The official AWS SDK, pointed at this server over plain HTTP.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        dynamodb_client(&self.endpoint())
    }

    pub fn streams(&self) -> aws_sdk_dynamodbstreams::Client {
        streams_client(&self.endpoint())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// The official DynamoDB Streams SDK, pointed at a server over plain HTTP.
pub fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "keyfall", "keyfall", None, None, "tests",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("keyfall", "keyfall", None, None, "tests"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Sends a raw DynamoDB JSON request and returns (status, body): for wire-level checks the
/// SDK would hide.
pub async fn raw_request(
    addr: SocketAddr,
    target: &str,
    body: &str,
) -> (u16, serde_json::Value, Vec<(String, String)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("http response");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, json, headers)
}

impl TestServer {
    /// The generated gRPC client, connected to this server.
    pub async fn grpc(
        &self,
    ) -> keyfall_proto::v1::dynamo_db_client::DynamoDbClient<tonic::transport::Channel> {
        keyfall_proto::v1::dynamo_db_client::DynamoDbClient::connect(format!(
            "http://{}",
            self.grpc_addr
        ))
        .await
        .expect("grpc connect")
    }
}

/// The DynamoDB error name a gRPC status carries.
pub fn error_type(status: &tonic::Status) -> Option<&str> {
    status
        .metadata()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
}

/// A PAY_PER_REQUEST table keyed by `hash` (and `range`); callers may add indexes or a
/// stream before `.send()`.
pub fn new_table(
    db: &aws_sdk_dynamodb::Client,
    name: &str,
    hash: (&str, aws_sdk_dynamodb::types::ScalarAttributeType),
    range: Option<(&str, aws_sdk_dynamodb::types::ScalarAttributeType)>,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType};
    let mut req = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for ((attr, ty), kt) in
        std::iter::once((hash, KeyType::Hash)).chain(range.map(|r| (r, KeyType::Range)))
    {
        req = req
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr)
                    .key_type(kt)
                    .build()
                    .expect("key schema"),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(ty)
                    .build()
                    .expect("definition"),
            );
    }
    req
}
