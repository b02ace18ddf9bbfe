//! Issue 18, the HTTP layer: compressed requests and responses, oversized bodies, CORS,
//! the `Server` header, health, non-JSON requests. Each case is a row: what is sent (byte
//! for byte, signed over the bytes sent) and what must come back, checked on a real server
//! and on keyfall-dax in front of it (both serve the JSON API through the same layer).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::SystemTime;

use keyfall_tests::{
    http_exchange, json_error_name, new_table, sign_headers, Framing, RawResponse, TestProxy,
    TestServer, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY,
};
use serde_json::{json, Value};

const DYNAMODB: &str = "DynamoDB_20120810.";
const MAX_BODY: usize = 16 * 1024 * 1024;

/// How a case's body is packed before it is sent (and signed).
#[derive(Clone, Copy)]
enum Pack {
    Plain,
    Gzip,
    /// zlib, as HTTP's `deflate` says.
    Zlib,
    /// Raw DEFLATE, which some clients send as `deflate`.
    RawDeflate,
    /// Bytes that are not what the coding says.
    Garbage,
}

fn pack(body: &[u8], how: Pack) -> Vec<u8> {
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    let level = flate2::Compression::default();
    match how {
        Pack::Plain => body.to_vec(),
        Pack::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), level);
            e.write_all(body).expect("gzip");
            e.finish().expect("gzip")
        }
        Pack::Zlib => {
            let mut e = ZlibEncoder::new(Vec::new(), level);
            e.write_all(body).expect("zlib");
            e.finish().expect("zlib")
        }
        Pack::RawDeflate => {
            let mut e = DeflateEncoder::new(Vec::new(), level);
            e.write_all(body).expect("deflate");
            e.finish().expect("deflate")
        }
        Pack::Garbage => b"\x1f\x8b\x08 this is not a gzip stream".to_vec(),
    }
}

/// Sends a signed JSON call with extra headers (signed too) and a packed body.
async fn call(
    addr: SocketAddr,
    action: &str,
    body: &[u8],
    extra: &[(&str, &str)],
    framing: Framing,
) -> RawResponse {
    let mut headers = vec![
        ("host".to_string(), addr.to_string()),
        ("x-amz-target".to_string(), format!("{DYNAMODB}{action}")),
    ];
    if !extra.iter().any(|(k, _)| *k == "content-type") {
        headers.push((
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ));
    }
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let signed = sign_headers(
        headers,
        body,
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
        SystemTime::now(),
    );
    http_exchange(addr, "POST", &signed, body, framing).await
}

fn error_type(resp: &RawResponse) -> String {
    json_error_name(&resp.json())
}

/// The body as JSON after undoing its `Content-Encoding`, checking `x-amz-crc32` over the
/// bytes as sent (DynamoDB's rule for compressed answers).
fn decoded(resp: &RawResponse) -> Value {
    let crc = crc32fast::hash(&resp.body);
    assert_eq!(
        resp.header("x-amz-crc32"),
        Some(crc.to_string().as_str()),
        "x-amz-crc32 must be over the bytes sent"
    );
    let mut plain = Vec::new();
    match resp.header("content-encoding") {
        None => plain = resp.body.clone(),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&resp.body[..])
                .read_to_end(&mut plain)
                .expect("gunzip");
        }
        Some("deflate") => {
            flate2::read::ZlibDecoder::new(&resp.body[..])
                .read_to_end(&mut plain)
                .expect("inflate");
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    serde_json::from_slice(&plain).expect("a JSON answer")
}

/// One row: an action and body, how they are packed and labelled, what comes back.
struct RequestCase {
    name: &'static str,
    action: &'static str,
    body: Value,
    pack: Pack,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    /// The error's name, or None for success.
    error: Option<&'static str>,
    /// Part of the message, when there is one to check.
    message: Option<&'static str>,
}

fn request_cases() -> Vec<RequestCase> {
    let put = |pk: &str| json!({"TableName": "wire", "Item": {"pk": {"S": pk}, "n": {"N": "1"}}});
    vec![
        RequestCase {
            name: "gzip request body",
            action: "PutItem",
            body: put("gz"),
            pack: Pack::Gzip,
            headers: &[("content-encoding", "gzip")],
            status: 200,
            error: None,
            message: None,
        },
        RequestCase {
            name: "x-gzip is gzip",
            action: "PutItem",
            body: put("xgz"),
            pack: Pack::Gzip,
            headers: &[("content-encoding", "x-gzip")],
            status: 200,
            error: None,
            message: None,
        },
        RequestCase {
            name: "deflate (zlib) request body",
            action: "PutItem",
            body: put("zl"),
            pack: Pack::Zlib,
            headers: &[("content-encoding", "deflate")],
            status: 200,
            error: None,
            message: None,
        },
        RequestCase {
            name: "deflate (raw) request body",
            action: "PutItem",
            body: put("rd"),
            pack: Pack::RawDeflate,
            headers: &[("content-encoding", "deflate")],
            status: 200,
            error: None,
            message: None,
        },
        RequestCase {
            name: "identity is no coding",
            action: "PutItem",
            body: put("id"),
            pack: Pack::Plain,
            headers: &[("content-encoding", "identity")],
            status: 200,
            error: None,
            message: None,
        },
        RequestCase {
            name: "broken gzip",
            action: "PutItem",
            body: put("bad"),
            pack: Pack::Garbage,
            headers: &[("content-encoding", "gzip")],
            status: 400,
            error: Some("SerializationException"),
            message: Some("not valid gzip data"),
        },
        RequestCase {
            name: "unknown coding",
            action: "PutItem",
            body: put("br"),
            pack: Pack::Plain,
            headers: &[("content-encoding", "br")],
            status: 400,
            error: Some("SerializationException"),
            message: Some("Unsupported Content-Encoding: br"),
        },
        RequestCase {
            name: "compressed but not labelled",
            action: "PutItem",
            body: put("nolabel"),
            pack: Pack::Gzip,
            headers: &[],
            status: 400,
            error: Some("SerializationException"),
            message: None,
        },
        RequestCase {
            name: "content type with a charset",
            action: "ListTables",
            body: json!({}),
            pack: Pack::Plain,
            headers: &[("content-type", "application/x-amz-json-1.0; charset=utf-8")],
            status: 200,
            error: None,
            message: None,
        },
    ]
}

async fn check_request_cases(addr: SocketAddr, whom: &str) {
    for case in request_cases() {
        let body = pack(case.body.to_string().as_bytes(), case.pack);
        let resp = call(addr, case.action, &body, case.headers, Framing::Length).await;
        let what = format!("{whom}: {}", case.name);
        assert_eq!(resp.status, case.status, "{what}: {resp:?}");
        match case.error {
            None => assert_eq!(error_type(&resp), "", "{what}"),
            Some(e) => assert_eq!(error_type(&resp), e, "{what}: {resp:?}"),
        }
        if let Some(m) = case.message {
            let got = resp.json();
            let text = got["message"].as_str().or(got["Message"].as_str());
            assert!(text.unwrap_or("").contains(m), "{what}: {got}");
        }
        if case.status == 200 && case.action == "PutItem" {
            let pk = case.body["Item"]["pk"]["S"].as_str().unwrap_or("");
            let get =
                json!({"TableName": "wire", "Key": {"pk": {"S": pk}}, "ConsistentRead": true});
            let resp = call(
                addr,
                "GetItem",
                get.to_string().as_bytes(),
                &[],
                Framing::Length,
            )
            .await;
            assert_eq!(
                decoded(&resp)["Item"]["n"],
                json!({"N": "1"}),
                "{what}: stored"
            );
        }
    }
}

/// 413 for a body past 16 MB, by its declared length, as it streams in chunked, and once
/// inflated; the server answers before reading it all and stays up.
async fn check_oversized(addr: SocketAddr, whom: &str) {
    let big = vec![b' '; MAX_BODY + 1];
    let resp = call(addr, "ListTables", &big, &[], Framing::Length).await;
    assert_eq!(resp.status, 413, "{whom}: declared length");
    let resp = call(addr, "ListTables", &big, &[], Framing::Chunked(1 << 20)).await;
    assert_eq!(resp.status, 413, "{whom}: chunked");
    let mut bomb = b"{\"TableName\":\"".to_vec();
    bomb.extend(std::iter::repeat_n(b'a', MAX_BODY));
    bomb.extend_from_slice(b"\"}");
    let packed = pack(&bomb, Pack::Gzip);
    assert!(packed.len() < MAX_BODY / 100);
    let resp = call(
        addr,
        "ListTables",
        &packed,
        &[("content-encoding", "gzip")],
        Framing::Length,
    )
    .await;
    assert_eq!(resp.status, 413, "{whom}: inflated past the limit");
    // Chunked under the limit is fine.
    let resp = call(addr, "ListTables", b"{}", &[], Framing::Chunked(1)).await;
    assert_eq!(resp.status, 200, "{whom}: small chunked body: {resp:?}");
}

/// Answers over the threshold come compressed when asked, with the CRC over the bytes sent;
/// small ones and unasked ones come plain.
async fn check_response_compression(addr: SocketAddr, whom: &str) {
    let query = json!({"TableName": "wire", "ConsistentRead": true});
    let body = query.to_string();
    // (name, request headers, the coding the answer must come in)
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: &[Row] = &[
        ("not asked", &[], None),
        ("gzip asked", &[("accept-encoding", "gzip")], Some("gzip")),
        (
            "deflate asked",
            &[("accept-encoding", "deflate")],
            Some("deflate"),
        ),
        (
            "both, gzip chosen",
            &[("accept-encoding", "deflate, gzip")],
            Some("gzip"),
        ),
        ("gzip refused", &[("accept-encoding", "gzip;q=0")], None),
        ("identity only", &[("accept-encoding", "identity")], None),
    ];
    let mut items = None;
    for (name, headers, want) in cases {
        let resp = call(addr, "Scan", body.as_bytes(), headers, Framing::Length).await;
        assert_eq!(resp.status, 200, "{whom}: {name}: {resp:?}");
        assert_eq!(resp.header("content-encoding"), *want, "{whom}: {name}");
        let answer = decoded(&resp);
        let count = answer["Count"].as_u64().unwrap_or(0);
        assert!(count >= 40, "{whom}: {name}: {answer}");
        // Every coding gives the same answer.
        match &items {
            None => items = Some(answer["Items"].clone()),
            Some(first) => assert_eq!(&answer["Items"], first, "{whom}: {name}"),
        }
    }
    // A small answer is not worth compressing.
    let resp = call(
        addr,
        "ListTables",
        b"{}",
        &[("accept-encoding", "gzip")],
        Framing::Length,
    )
    .await;
    assert_eq!(
        resp.header("content-encoding"),
        None,
        "{whom}: small answer"
    );
    decoded(&resp);
}

/// Requests that are not JSON calls, and the headers every answer carries.
async fn check_front_door(addr: SocketAddr, whom: &str, health: &str) {
    let host = ("host".to_string(), addr.to_string());
    // CORS preflight: what the browser asks for is allowed, cached for two days.
    let preflight = vec![
        host.clone(),
        ("origin".to_string(), "https://console.example".to_string()),
        (
            "access-control-request-method".to_string(),
            "POST".to_string(),
        ),
        (
            "access-control-request-headers".to_string(),
            "authorization,content-type,x-amz-date,x-amz-target".to_string(),
        ),
    ];
    let resp = http_exchange(addr, "OPTIONS", &preflight, b"", Framing::None).await;
    assert_eq!(resp.status, 200, "{whom}: preflight");
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
    assert_eq!(resp.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        resp.header("access-control-allow-headers"),
        Some("authorization,content-type,x-amz-date,x-amz-target")
    );
    assert_eq!(resp.header("access-control-max-age"), Some("172800"));
    assert!(resp.body.is_empty());

    // A normal answer, and an error answer, carry CORS and Server headers.
    for (action, status) in [("ListTables", 200), ("NoSuchAction", 400)] {
        let resp = call(
            addr,
            action,
            b"{}",
            &[("origin", "https://x.example")],
            Framing::Length,
        )
        .await;
        assert_eq!(resp.status, status, "{whom}: {action}");
        assert_eq!(
            resp.header("access-control-allow-origin"),
            Some("*"),
            "{whom}"
        );
        let exposed = resp.header("access-control-expose-headers").unwrap_or("");
        assert!(exposed.contains("x-amzn-RequestId"), "{whom}: {exposed}");
        assert_eq!(resp.header("server"), Some("Server"), "{whom}");
    }
    let unknown = call(addr, "NoSuchAction", b"{}", &[], Framing::Length).await;
    assert_eq!(
        unknown.json(),
        json!({"__type": "com.amazon.coral.service#UnknownOperationException"}),
        "{whom}"
    );

    // Health.
    let resp = http_exchange(addr, "GET", std::slice::from_ref(&host), b"", Framing::None).await;
    assert_eq!(resp.status, 200, "{whom}: health");
    assert_eq!(String::from_utf8_lossy(&resp.body), health, "{whom}");
    assert_eq!(resp.header("server"), Some("Server"));

    // Other methods, and POSTs that are not JSON: 404 with DynamoDB's XML body.
    let text_plain = vec![
        host.clone(),
        ("content-type".to_string(), "text/plain".to_string()),
        ("x-amz-target".to_string(), format!("{DYNAMODB}ListTables")),
    ];
    type Row<'a> = (&'a str, &'a [(String, String)], &'a [u8], Framing);
    let rows: Vec<Row> = vec![
        ("PUT", std::slice::from_ref(&host), b"{}", Framing::Length),
        ("DELETE", std::slice::from_ref(&host), b"", Framing::None),
        ("POST", &text_plain, b"{}", Framing::Length),
    ];
    for (method, headers, body, framing) in rows {
        let resp = http_exchange(addr, method, headers, body, framing).await;
        assert_eq!(resp.status, 404, "{whom}: {method}");
        assert_eq!(
            resp.body, b"<UnknownOperationException/>\n",
            "{whom}: {method}"
        );
        assert_eq!(
            resp.header("x-amz-crc32"),
            Some(
                crc32fast::hash(b"<UnknownOperationException/>\n")
                    .to_string()
                    .as_str()
            )
        );
    }

    // Malformed JSON: DynamoDB's SerializationException, no message.
    let resp = call(addr, "ListTables", b"{\"Limit\": ", &[], Framing::Length).await;
    assert_eq!(resp.status, 400, "{whom}");
    assert_eq!(
        resp.json(),
        json!({"__type": "com.amazon.coral.service#SerializationException"}),
        "{whom}"
    );

    // Headers past hyper's limit: a clean 431 answer, and the server stays up.
    let long = vec![host.clone(), ("x-long".to_string(), "a".repeat(512 * 1024))];
    let resp = http_exchange(addr, "POST", &long, b"{}", Framing::Length).await;
    assert_eq!(resp.status, 431, "{whom}: long headers");
    let resp = call(addr, "ListTables", b"{}", &[], Framing::Length).await;
    assert_eq!(resp.status, 200, "{whom}: still up");
}

async fn fill(server: &TestServer) {
    let db = server.dynamodb();
    new_table(
        &db,
        "wire",
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .send()
    .await
    .expect("create");
    for i in 0..40 {
        db.put_item()
            .table_name("wire")
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("item-{i:03}")),
            )
            .item("n", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
            .item(
                "text",
                aws_sdk_dynamodb::types::AttributeValue::S("some repeated text ".repeat(8)),
            )
            .send()
            .await
            .expect("put");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_layer_cases_on_the_server() {
    let server = TestServer::start().await;
    fill(&server).await;
    let addr = server.http_addr;
    check_request_cases(addr, "server").await;
    check_response_compression(addr, "server").await;
    check_oversized(addr, "server").await;
    check_front_door(addr, "server", "healthy: dynamodb.us-east-1.amazonaws.com ").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_layer_cases_on_the_proxy() {
    let server = TestServer::start().await;
    fill(&server).await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let addr = proxy.http_addr;
    check_request_cases(addr, "proxy").await;
    check_response_compression(addr, "proxy").await;
    check_oversized(addr, "proxy").await;
    check_front_door(addr, "proxy", "healthy: keyfall-dax").await;
}

/// TagResource and UntagResource answer with an empty body (the SDK accepts it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_and_untag_answer_an_empty_body() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(
        &db,
        "tagged",
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .send()
    .await
    .expect("create");
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tagged";
    let tag = json!({"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "core"}]});
    let resp = call(
        server.http_addr,
        "TagResource",
        tag.to_string().as_bytes(),
        &[],
        Framing::Length,
    )
    .await;
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.body.is_empty(), "{resp:?}");
    assert_eq!(resp.header("x-amz-crc32"), Some("0"));
    let untag = json!({"ResourceArn": arn, "TagKeys": ["team"]});
    let resp = call(
        server.http_addr,
        "UntagResource",
        untag.to_string().as_bytes(),
        &[],
        Framing::Length,
    )
    .await;
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.body.is_empty(), "{resp:?}");
    // Through the SDK.
    db.tag_resource()
        .resource_arn(arn)
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("k")
                .value("v")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag via the SDK");
    db.untag_resource()
        .resource_arn(arn)
        .tag_keys("k")
        .send()
        .await
        .expect("untag via the SDK");
}
