//! Shared helpers for the integration tests: a real keyfall-server on port 0 with its own
//! data directory, and real clients pointed at it.

use std::net::SocketAddr;

pub mod auth_bench;
pub mod torture;

use aws_sdk_dynamodb::config::{Credentials, Region};
use keyfall_server::{Config, Listeners};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Root credentials every test server runs with.
pub const ROOT_ACCESS_KEY_ID: &str = "AKIAKEYFALLTESTROOT0";
pub const ROOT_SECRET_ACCESS_KEY: &str = "keyfall-test-root-secret";

/// A gRPC channel that signs every request.
pub type GrpcChannel = keyfall::signing::SigV4<tonic::transport::Channel>;

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

    /// Starts a server on an existing data directory with settings changed.
    pub async fn start_with_dir(
        data_dir: tempfile::TempDir,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        Self::launch(data_dir, configure).await
    }

    /// Starts a server on an existing data directory (to test restarts).
    pub async fn start_in(data_dir: tempfile::TempDir) -> TestServer {
        Self::launch(data_dir, |_| {}).await
    }

    async fn launch(
        data_dir: tempfile::TempDir,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::launch_at(data_dir, any, any, configure).await
    }

    /// Stops the server and starts it again on the same data and the same ports.
    pub async fn restart(self) -> TestServer {
        let (http, grpc) = (self.http_addr, self.grpc_addr);
        let dir = self.stop().await;
        Self::launch_at(dir, http, grpc, |_| {}).await
    }

    async fn launch_at(
        data_dir: tempfile::TempDir,
        http_addr: SocketAddr,
        grpc_addr: SocketAddr,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let http = TcpListener::bind(http_addr).await.expect("bind http");
        let grpc = TcpListener::bind(grpc_addr).await.expect("bind grpc");
        let http_addr = http.local_addr().expect("addr");
        let grpc_addr = grpc.local_addr().expect("addr");
        let mut config = Config {
            data_dir: data_dir.path().to_path_buf(),
            http_listen: http_addr,
            grpc_listen: grpc_addr,
            root_access_key_id: Some(ROOT_ACCESS_KEY_ID.into()),
            root_secret_access_key: Some(ROOT_SECRET_ACCESS_KEY.into()),
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

    /// The official AWS SDK, pointed at this server over plain HTTP, as the root user.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        dynamodb_client(&self.endpoint())
    }

    /// The official AWS SDK signing with the given key pair.
    pub fn dynamodb_as(&self, access_key_id: &str, secret: &str) -> aws_sdk_dynamodb::Client {
        dynamodb_client_as(&self.endpoint(), access_key_id, secret)
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
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            None,
            None,
            "tests",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    dynamodb_client_as(endpoint, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
}

pub fn dynamodb_client_as(
    endpoint: &str,
    access_key_id: &str,
    secret: &str,
) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key_id, secret, None, None, "tests"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Sends a raw DynamoDB JSON request signed as the root user and returns (status, body,
/// headers): for wire-level checks the SDK would hide.
pub async fn raw_request(
    addr: SocketAddr,
    target: &str,
    body: &str,
) -> (u16, serde_json::Value, Vec<(String, String)>) {
    let headers = sign_json_request(
        &addr.to_string(),
        target,
        body,
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
    );
    raw_request_with_headers(addr, &headers, body).await
}

/// Sends `body` with exactly these headers (plus length and connection).
pub async fn raw_request_with_headers(
    addr: SocketAddr,
    headers: &[(String, String)],
    body: &str,
) -> (u16, serde_json::Value, Vec<(String, String)>) {
    let resp = http_exchange(addr, "POST", headers, body.as_bytes(), Framing::Length).await;
    let json = resp.json();
    (resp.status, json, resp.headers)
}

/// The error name of a JSON error answer (`__type` without its namespace), or "".
pub fn json_error_name(v: &serde_json::Value) -> String {
    v["__type"]
        .as_str()
        .unwrap_or("")
        .rsplit('#')
        .next()
        .unwrap_or("")
        .to_string()
}

/// A StreamSpecification that enables a stream of this view type.
pub fn stream_on(
    view: aws_sdk_dynamodb::types::StreamViewType,
) -> aws_sdk_dynamodb::types::StreamSpecification {
    aws_sdk_dynamodb::types::StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .expect("stream specification")
}

impl TestServer {
    /// A signed gRPC channel to this server, as the root user.
    pub async fn channel(&self) -> GrpcChannel {
        signed_channel(
            &format!("http://{}", self.grpc_addr),
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
        )
        .await
    }

    /// The typed client of this server, as the root user.
    pub fn client(&self) -> keyfall::Client {
        root_client(self.grpc_addr)
    }

    /// The generated gRPC client, connected to this server as the root user.
    pub async fn grpc(&self) -> keyfall_proto::v1::dynamo_db_client::DynamoDbClient<GrpcChannel> {
        keyfall_proto::v1::dynamo_db_client::DynamoDbClient::new(self.channel().await)
    }
}

/// The typed client of a gRPC address, signing as the test root user.
pub fn root_client(grpc_addr: SocketAddr) -> keyfall::Client {
    keyfall::Client::builder()
        .endpoint(format!("http://{grpc_addr}"))
        .credentials(keyfall::Credentials::new(
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
        ))
        .build()
        .expect("client")
}

/// A gRPC channel to `endpoint` (`http://host:port`) signing with the given key pair.
pub async fn signed_channel(endpoint: &str, access_key_id: &str, secret: &str) -> GrpcChannel {
    let channel = tonic::transport::Channel::from_shared(endpoint.to_string())
        .expect("endpoint")
        .connect()
        .await
        .expect("grpc connect");
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .trim_end_matches('/');
    let layer = keyfall::SigV4Layer::new(
        keyfall::Credentials::new(access_key_id, secret),
        "us-east-1",
        authority,
    );
    tower::Layer::layer(&layer, channel)
}

/// Signs a raw DynamoDB JSON request as the SDKs do, returning the headers to send.
pub fn sign_json_request(
    host: &str,
    target: &str,
    body: &str,
    access_key_id: &str,
    secret: &str,
) -> Vec<(String, String)> {
    sign_json_request_at(
        host,
        target,
        body,
        access_key_id,
        secret,
        std::time::SystemTime::now(),
    )
}

/// [`sign_json_request`] at a given time.
pub fn sign_json_request_at(
    host: &str,
    target: &str,
    body: &str,
    access_key_id: &str,
    secret: &str,
    time: std::time::SystemTime,
) -> Vec<(String, String)> {
    let headers = vec![
        ("host".to_string(), host.to_string()),
        ("x-amz-target".to_string(), target.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
    ];
    sign_headers(headers, body.as_bytes(), access_key_id, secret, time)
}

/// Signs a `POST /` with these headers (`host` among them) and exactly these body bytes, as
/// the SDKs do; returns the headers plus the signature's.
pub fn sign_headers(
    headers: Vec<(String, String)>,
    body: &[u8],
    access_key_id: &str,
    secret: &str,
    time: std::time::SystemTime,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        Credentials::new(access_key_id, secret, None, None, "tests").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("dynamodb")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let host = headers
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let uri = format!("http://{host}/");
    let signable = SignableRequest::new(
        "POST",
        uri.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder().body(()).expect("request");
    instructions.apply_to_request_http1x(&mut req);
    let mut out = headers;
    out.extend(
        req.headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())),
    );
    out
}

/// An HTTP answer as it came off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How [`http_exchange`] frames the body.
pub enum Framing {
    /// `Content-Length: <len>`.
    Length,
    /// `Transfer-Encoding: chunked`, in chunks of this many bytes.
    Chunked(usize),
    /// Neither header (for bodiless requests).
    None,
}

/// One HTTP/1.1 exchange on a fresh connection, byte for byte: `method /`, these headers,
/// this body framed as asked. Reads the answer (content-length or chunked, or to the close)
/// without decoding any content coding. For wire checks a client library would hide.
pub async fn http_exchange(
    addr: SocketAddr,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    framing: Framing,
) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} / HTTP/1.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match framing {
        Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        Framing::Chunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
        Framing::None => {}
    }
    head.push_str("Connection: close\r\n\r\n");
    // The server may answer (413) and close before the body is all sent: write errors
    // after the head are expected then, and the answer is still read.
    let _ = stream.write_all(head.as_bytes()).await;
    match framing {
        Framing::Chunked(size) => {
            for chunk in body.chunks(size.max(1)) {
                let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                frame.extend_from_slice(chunk);
                frame.extend_from_slice(b"\r\n");
                if stream.write_all(&frame).await.is_err() {
                    break;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        }
        _ => {
            let _ = stream.write_all(body).await;
        }
    }
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> RawResponse {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let rest = &buf[split + 4..];
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut rest = rest;
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..eol])
                    .split(';')
                    .next()
                    .unwrap_or("0")
                    .trim(),
                16,
            )
            .expect("chunk size");
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        out
    } else {
        rest.to_vec()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

/// The DynamoDB error name a gRPC status carries.
pub fn error_type(status: &tonic::Status) -> Option<&str> {
    status
        .metadata()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
}

/// A key schema element for the AWS SDK.
pub fn key_element(
    name: &str,
    kt: aws_sdk_dynamodb::types::KeyType,
) -> aws_sdk_dynamodb::types::KeySchemaElement {
    aws_sdk_dynamodb::types::KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kt)
        .build()
        .expect("key schema")
}

/// An attribute definition for the AWS SDK.
pub fn attribute(
    name: &str,
    ty: aws_sdk_dynamodb::types::ScalarAttributeType,
) -> aws_sdk_dynamodb::types::AttributeDefinition {
    aws_sdk_dynamodb::types::AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .expect("definition")
}

/// A PAY_PER_REQUEST table keyed by `hash` (and `range`); callers may add indexes or a
/// stream before `.send()`.
pub fn new_table(
    db: &aws_sdk_dynamodb::Client,
    name: &str,
    hash: (&str, aws_sdk_dynamodb::types::ScalarAttributeType),
    range: Option<(&str, aws_sdk_dynamodb::types::ScalarAttributeType)>,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    use aws_sdk_dynamodb::types::{BillingMode, KeyType};
    let mut req = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for ((attr, ty), kt) in
        std::iter::once((hash, KeyType::Hash)).chain(range.map(|r| (r, KeyType::Range)))
    {
        req = req
            .key_schema(key_element(attr, kt))
            .attribute_definitions(attribute(attr, ty));
    }
    req
}

/// A PAY_PER_REQUEST table keyed by the string attribute `hash`, with a NEW_IMAGE stream.
pub async fn new_streamed_table(db: &aws_sdk_dynamodb::Client, name: &str, hash: &str) {
    use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamViewType};
    new_table(db, name, (hash, ScalarAttributeType::S), None)
        .stream_specification(stream_on(StreamViewType::NewImage))
        .send()
        .await
        .expect("create table");
}

/// A keyfall-dax proxy in front of a test server, on port 0.
pub struct TestProxy {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl TestProxy {
    pub async fn start(
        server: &TestServer,
        configure: impl FnOnce(&mut keyfall_dax::Config),
    ) -> TestProxy {
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let (http_addr, grpc_addr) = (
            http.local_addr().expect("addr"),
            grpc.local_addr().expect("addr"),
        );
        let mut config = keyfall_dax::Config {
            upstream: format!("http://{}", server.grpc_addr),
            grpc_listen: grpc_addr,
            http_listen: http_addr,
            auth: keyfall_api::flags::AuthMode::Off,
            access_key_id: Some(ROOT_ACCESS_KEY_ID.into()),
            secret_access_key: Some(ROOT_SECRET_ACCESS_KEY.into()),
            ..keyfall_dax::Config::default()
        };
        configure(&mut config);
        let (shutdown, rx) = watch::channel(false);
        tokio::spawn(async move {
            if let Err(e) =
                keyfall_dax::run(config, keyfall_dax::Listeners { http, grpc }, rx).await
            {
                panic!("proxy failed: {e}");
            }
        });
        TestProxy {
            grpc_addr,
            http_addr,
            shutdown,
        }
    }

    /// A gRPC client of the proxy (unsigned: the test proxy runs with auth off).
    pub async fn grpc(
        &self,
    ) -> keyfall_proto::v1::dynamo_db_client::DynamoDbClient<tonic::transport::Channel> {
        keyfall_proto::v1::dynamo_db_client::DynamoDbClient::connect(format!(
            "http://{}",
            self.grpc_addr
        ))
        .await
        .expect("proxy connect")
    }

    /// The typed client pointed at the proxy (signed as root, which the proxy passes on).
    pub fn client(&self) -> keyfall::Client {
        root_client(self.grpc_addr)
    }

    /// A gRPC client of the proxy signing with the given key pair.
    pub async fn grpc_as(
        &self,
        access_key_id: &str,
        secret: &str,
    ) -> keyfall_proto::v1::dynamo_db_client::DynamoDbClient<GrpcChannel> {
        keyfall_proto::v1::dynamo_db_client::DynamoDbClient::new(
            signed_channel(&format!("http://{}", self.grpc_addr), access_key_id, secret).await,
        )
    }

    /// The official AWS SDK pointed at the proxy's JSON API.
    pub fn dynamodb_as(&self, access_key_id: &str, secret: &str) -> aws_sdk_dynamodb::Client {
        dynamodb_client_as(&format!("http://{}", self.http_addr), access_key_id, secret)
    }

    /// One value of the proxy's `/metrics`, by its exact series name.
    pub async fn metric(&self, series: &str) -> u64 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.http_addr)
            .await
            .expect("connect");
        let req = format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.http_addr
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.expect("read");
        buf.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no metric {series} in {buf}"))
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Asserts a gRPC call was refused by policy (PERMISSION_DENIED, AccessDeniedException),
/// naming the user and the action as AWS does.
pub fn assert_access_denied(status: &tonic::Status, user: &str, action: &str) {
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(error_type(status), Some("AccessDeniedException"));
    let want = format!("user/{user} is not authorized to perform: {action}");
    assert!(status.message().contains(&want), "{}", status.message());
}

/// Creates an IAM user with one access key and one inline policy (a JSON document) through
/// the server's Admin API, as root; returns the key.
pub async fn user_with_policy(
    server: &TestServer,
    name: &str,
    policy_document: &str,
) -> keyfall_proto::v1::AccessKey {
    use keyfall_proto::v1 as pb;
    let mut admin = pb::admin_client::AdminClient::new(server.channel().await);
    admin
        .create_user(pb::CreateUserRequest {
            user_name: name.into(),
            ..Default::default()
        })
        .await
        .expect("create user");
    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: name.into(),
        })
        .await
        .expect("create access key")
        .into_inner()
        .access_key
        .expect("an access key");
    admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: name.into(),
            policy_name: "policy".into(),
            policy_document: policy_document.into(),
        })
        .await
        .expect("put user policy");
    key
}

/// Writes `writes` to `table` with BatchWriteItem, as an application does: what comes back
/// unprocessed, or throttled whole, is sent again after a short pause (a table's or a
/// partition's throughput may refuse part of a fast load, as DynamoDB's does).
pub async fn batch_write_all(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    writes: Vec<aws_sdk_dynamodb::types::WriteRequest>,
) {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let mut pending = writes;
    let mut pause = std::time::Duration::from_millis(20);
    while !pending.is_empty() {
        let sent = db
            .batch_write_item()
            .request_items(table, pending.clone())
            .send()
            .await;
        match sent {
            Ok(out) => {
                pending = out
                    .unprocessed_items()
                    .and_then(|u| u.get(table))
                    .cloned()
                    .unwrap_or_default();
            }
            Err(e) => {
                let code = e.code().unwrap_or_default().to_string();
                assert!(
                    code.contains("Throttl") || code.contains("ProvisionedThroughput"),
                    "BatchWriteItem failed: {e:?}"
                );
            }
        }
        if !pending.is_empty() {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(1));
        }
    }
}

/// The `keyfall` binary. Cargo names binaries (`CARGO_BIN_EXE_*`) only to the tests of
/// their own package, and `keyfall` is the client's: `cargo test --workspace` builds it
/// for the client's own tests, next to this test's `deps/` (`target/<profile>/keyfall`),
/// so it is taken from there. When it is missing, or older than the client's sources
/// (tests run for this package alone after a change to the CLI), it is brought up to date
/// with `cargo build -p keyfall --bin keyfall` first.
pub fn keyfall_cli() -> &'static std::path::Path {
    static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| workspace_binary("keyfall", "keyfall", &["client/src"]))
}

/// The `keyfall-server` binary, found and kept up to date as [`keyfall_cli`] is.
pub fn keyfall_server_bin() -> &'static std::path::Path {
    static BINARY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| workspace_binary("keyfall-server", "keyfall-server", &["server", "proto"]))
}

/// A workspace binary next to this test's `deps/`, rebuilt first when missing or older
/// than any file under `sources` (paths from the workspace root).
fn workspace_binary(package: &str, bin: &str, sources: &[&str]) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let binary = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let newest = sources
        .iter()
        .filter_map(|s| newest_change(&root.join(s)))
        .max();
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    if built.is_none_or(|b| newest > Some(b)) {
        let target_dir = profile_dir.parent().expect("target directory");
        let release = profile_dir.file_name().and_then(|n| n.to_str()) == Some("release");
        let out = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", package, "--bin", bin])
            .args(release.then_some("--release"))
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .output()
            .expect("cargo build runs");
        assert!(
            out.status.success(),
            "cargo build -p {package} --bin {bin}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
}

/// When a file under `dir` last changed.
fn newest_change(dir: &std::path::Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let changed = if path.is_dir() {
            newest_change(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(changed);
    }
    newest
}

/// Runs a Python `script` (boto3 against `server`: its endpoint and the root credentials
/// come first in `sys.argv[1:4]`, then `args`) off the async runtime, and returns the JSON
/// it prints. CI installs python3 with boto3 (`.ci/run`).
pub async fn boto3(
    server: &TestServer,
    script: &'static str,
    args: &[String],
) -> serde_json::Value {
    let mut argv = vec![
        "-c".to_string(),
        script.to_string(),
        server.endpoint(),
        ROOT_ACCESS_KEY_ID.to_string(),
        ROOT_SECRET_ACCESS_KEY.to_string(),
    ];
    argv.extend_from_slice(args);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(&argv).output()
    })
    .await
    .expect("the script's thread")
    .expect("python3 runs (CI installs it with boto3)");
    assert!(
        out.status.success(),
        "the boto3 script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// Turns point-in-time recovery on for `table`.
pub async fn enable_pitr(db: &aws_sdk_dynamodb::Client, table: &str) {
    db.update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .expect("specification"),
        )
        .send()
        .await
        .expect("enable point-in-time recovery");
}

/// Waits (at most 30 s) until `table` is ACTIVE, e.g. filled by a restore or an import.
pub async fn wait_table_active(db: &aws_sdk_dynamodb::Client, table: &str) {
    for _ in 0..600 {
        let d = db.describe_table().table_name(table).send().await;
        if d.ok()
            .and_then(|d| d.table().and_then(|t| t.table_status().cloned()))
            == Some(aws_sdk_dynamodb::types::TableStatus::Active)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("table {table} never became ACTIVE");
}

/// Waits (at most 30 s) until the backup is AVAILABLE.
pub async fn wait_backup_available(db: &aws_sdk_dynamodb::Client, arn: &str) {
    for _ in 0..600 {
        let d = db
            .describe_backup()
            .backup_arn(arn)
            .send()
            .await
            .expect("describe backup");
        let status = d
            .backup_description()
            .and_then(|b| b.backup_details())
            .map(|d| d.backup_status().clone());
        if status == Some(aws_sdk_dynamodb::types::BackupStatus::Available) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("backup {arn} never became AVAILABLE");
}

/// Runs the `keyfall` CLI against `server`'s gRPC port as root; its standard output. Call
/// it from a multi-threaded test inside `block_in_place`.
pub fn cli_output(server: &TestServer, args: &[&str]) -> String {
    let out = std::process::Command::new(keyfall_cli())
        .arg("--endpoint")
        .arg(format!("http://{}", server.grpc_addr))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ROOT_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", ROOT_SECRET_ACCESS_KEY)
        .output()
        .expect("run keyfall");
    assert!(
        out.status.success(),
        "keyfall {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Puts each item, in order.
pub async fn put_all(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) {
    for item in items {
        db.put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .send()
            .await
            .expect("put");
    }
}

/// Every item of a table (or index), keyed by the text of its `pk` and `sk`, in key order:
/// two tables compare item for item.
pub async fn contents(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    index: Option<&str>,
) -> std::collections::BTreeMap<
    String,
    std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
> {
    let mut out = std::collections::BTreeMap::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name(table)
            .set_index_name(index.map(str::to_string))
            .consistent_read(index.is_none())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let key = format!("{:?}/{:?}", item.get("pk"), item.get("sk"));
            out.insert(key, item.clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// Now, in epoch seconds.
pub fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A time every write acknowledged before the call is at or before, and every write made
/// after it is after (20 ms on each side).
pub async fn mark() -> f64 {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let t = now_seconds();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    t
}

/// A service error's name and message.
pub fn error_code<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}
