//! Issue 17 (hardening), the keyfall-dax items: each test replays an attack or a sequence
//! against a real server behind a real proxy.
//!
//! - item 2: the proxy authorizes exactly what the server executes (decoded with the
//!   server's types, unknown members refused, re-encoded), and shard iterators are
//!   unforgeable and bound to their stream.
//! - item 13: the proxy hides items whose TTL has passed, as the server does.
//! - item 14: made-up table names do not start feed tasks.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamSpecification};
use keyfall_tests::{
    error_type, json_error_name, new_table, raw_request, raw_request_with_headers,
    sign_json_request, signed_channel, TestProxy, TestServer,
};
use serde_json::{json, Value};

const ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table";
const STREAMS: &str = "DynamoDBStreams_20120810.";
const DYNAMODB: &str = "DynamoDB_20120810.";

/// A table keyed by `pk` (string), with a NEW_IMAGE stream.
async fn table(server: &TestServer, name: &str) {
    keyfall_tests::new_streamed_table(&server.dynamodb(), name, "pk").await;
}

/// A server whose `proxy` user may do anything (and read principals), and whose `mallory`
/// may tag, read the tags of and read the stream of table `Mine` only.
async fn server_with_mallory() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.json");
    let iam = json!({"users": [
        {"name": "proxy", "access_key_id": "AKIAPROXY", "secret_access_key": "proxy-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["keyfall:ExportPrincipals", "keyfall:FollowChanges", "dynamodb:*"], "Resource": "*"}]}]},
        {"name": "mallory", "access_key_id": "AKIAMALLORY", "secret_access_key": "mallory-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow",
             "Action": ["dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource",
                        "dynamodb:DescribeTable", "dynamodb:GetItem"],
             "Resource": format!("{ARN}/Mine")},
            {"Effect": "Allow",
             "Action": ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
             "Resource": format!("{ARN}/Mine/stream/*")}]}]}
    ]});
    std::fs::write(&path, iam.to_string()).unwrap();
    let server = TestServer::start_with(move |c| c.iam_config = Some(path)).await;
    std::mem::forget(dir);
    table(&server, "Mine").await;
    table(&server, "Payroll").await;
    server
}

async fn enforcing_proxy(server: &TestServer) -> TestProxy {
    TestProxy::start(server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some("AKIAPROXY".into());
        c.secret_access_key = Some("proxy-secret".into());
    })
    .await
}

/// A JSON request signed as `mallory`.
async fn as_mallory(addr: SocketAddr, target: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let headers = sign_json_request(
        &addr.to_string(),
        target,
        &body,
        "AKIAMALLORY",
        "mallory-secret",
    );
    let (status, json, _) = raw_request_with_headers(addr, &headers, &body).await;
    (status, json)
}

async fn tags_of(server: &TestServer, table: &str) -> Value {
    let (status, out, _) = raw_request(
        server.http_addr,
        &format!("{DYNAMODB}ListTagsOfResource"),
        &json!({"ResourceArn": format!("{ARN}/{table}")}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    out["Tags"].clone()
}

#[tokio::test]
async fn item02_decoy_table_name_cannot_tag_other_table() {
    let server = server_with_mallory().await;
    let proxy = enforcing_proxy(&server).await;
    let payroll = format!("{ARN}/Payroll");
    let tag = json!([{"Key": "owner", "Value": "mallory"}]);

    // The attack: a decoy TableName she may use beside the ARN of a table she may not.
    let decoy = json!({"TableName": "Mine", "ResourceArn": payroll, "Tags": tag});
    let (status, out) =
        as_mallory(proxy.http_addr, &format!("{DYNAMODB}TagResource"), &decoy).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(json_error_name(&out), "SerializationException", "{out}");
    let decoy = json!({"TableName": "Mine", "ResourceArn": payroll, "TagKeys": ["team"]});
    let (status, out) =
        as_mallory(proxy.http_addr, &format!("{DYNAMODB}UntagResource"), &decoy).await;
    assert_eq!(status, 400, "{out}");
    let decoy = json!({"TableName": "Mine", "ResourceArn": payroll});
    let (status, out) = as_mallory(
        proxy.http_addr,
        &format!("{DYNAMODB}ListTagsOfResource"),
        &decoy,
    )
    .await;
    assert_eq!(status, 400, "{out}");
    assert!(out.get("Tags").is_none(), "Payroll's tags leaked: {out}");
    assert_eq!(tags_of(&server, "Payroll").await, json!([]));

    // Without a decoy she is refused on the resource the server would act on.
    let plain = json!({"ResourceArn": payroll, "Tags": tag});
    let (status, out) =
        as_mallory(proxy.http_addr, &format!("{DYNAMODB}TagResource"), &plain).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(json_error_name(&out), "AccessDeniedException", "{out}");
    assert!(
        out["message"]
            .as_str()
            .or(out["Message"].as_str())
            .unwrap_or("")
            .contains("table/Payroll"),
        "{out}"
    );
    assert_eq!(tags_of(&server, "Payroll").await, json!([]));

    // Her own table works, through the proxy, with what she sent.
    let mine = json!({"ResourceArn": format!("{ARN}/Mine"), "Tags": tag});
    let (status, out) = as_mallory(proxy.http_addr, &format!("{DYNAMODB}TagResource"), &mine).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(tags_of(&server, "Mine").await, tag);

    // The server refuses unknown members the same way.
    let (status, out, _) = raw_request(
        server.http_addr,
        &format!("{DYNAMODB}DescribeTable"),
        &json!({"TableName": "Mine", "ResourceArn": payroll}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(json_error_name(&out), "SerializationException", "{out}");

    // An action the proxy cannot decode is refused, not forwarded.
    let (status, out) = as_mallory(
        proxy.http_addr,
        &format!("{DYNAMODB}MadeUpAction"),
        &json!({"ResourceArn": payroll}),
    )
    .await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(json_error_name(&out), "UnknownOperationException", "{out}");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn item02_forged_shard_iterator_refused() {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let server = server_with_mallory().await;
    let proxy = enforcing_proxy(&server).await;
    let root = server.dynamodb();
    for (table, v) in [("Payroll", "salary-secret"), ("Mine", "mine")] {
        root.put_item()
            .table_name(table)
            .item("pk", Av::S("k".into()))
            .item("v", Av::S(v.into()))
            .send()
            .await
            .unwrap();
    }
    let label = |t: &str| {
        let root = root.clone();
        let t = t.to_string();
        async move {
            root.describe_table()
                .table_name(t)
                .send()
                .await
                .unwrap()
                .table
                .unwrap()
                .latest_stream_label
                .unwrap()
        }
    };
    let (mine_label, payroll_label) = (label("Mine").await, label("Payroll").await);
    let mine_stream = format!("{ARN}/Mine/stream/{mine_label}");

    // Her own stream works through the proxy.
    let (status, out) = as_mallory(
        proxy.http_addr,
        &format!("{STREAMS}DescribeStream"),
        &json!({"StreamArn": mine_stream}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let shard = out["StreamDescription"]["Shards"][0]["ShardId"].clone();
    let (status, out) = as_mallory(
        proxy.http_addr,
        &format!("{STREAMS}GetShardIterator"),
        &json!({"StreamArn": mine_stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let mine_iterator = out["ShardIterator"].as_str().unwrap().to_string();
    let (status, out) = as_mallory(
        proxy.http_addr,
        &format!("{STREAMS}GetRecords"),
        &json!({"ShardIterator": mine_iterator}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert!(out.to_string().contains("\"mine\""), "{out}");

    let far = 4_000_000_000u64;
    // Forgeries of an iterator over Payroll's stream: the old unauthenticated layout, and
    // her own iterator with the table renamed (MAC kept).
    let old_layout = b64(format!("v1|Payroll|{payroll_label}|0|{far}").as_bytes());
    let renamed = {
        let (content, mac) = mine_iterator
            .split_once('.')
            .unwrap_or((&mine_iterator, ""));
        let text = String::from_utf8(unb64(content)).unwrap();
        let text = text
            .replacen("|Mine|", "|Payroll|", 1)
            .replacen(&mine_label, &payroll_label, 1);
        format!("{}.{mac}", b64(text.as_bytes()))
    };
    let stretched = {
        // Her own stream, with a later expiry than the server gave.
        let (content, mac) = mine_iterator
            .split_once('.')
            .unwrap_or((&mine_iterator, ""));
        let text = String::from_utf8(unb64(content)).unwrap();
        let mut parts: Vec<String> = text.split('|').map(str::to_string).collect();
        if let Some(last) = parts.last_mut() {
            *last = far.to_string();
        }
        format!("{}.{mac}", b64(parts.join("|").as_bytes()))
    };
    for forged in [&old_layout, &renamed, &stretched] {
        for body in [
            // With a decoy naming her own stream, and without.
            json!({"ShardIterator": forged, "StreamArn": mine_stream}),
            json!({"ShardIterator": forged}),
        ] {
            let (status, out) =
                as_mallory(proxy.http_addr, &format!("{STREAMS}GetRecords"), &body).await;
            assert_eq!(status, 400, "{body} -> {out}");
            assert!(
                !out.to_string().contains("salary-secret"),
                "Payroll's stream leaked: {out}"
            );
            let name = json_error_name(&out);
            assert!(
                [
                    "SerializationException",
                    "ValidationException",
                    "AccessDeniedException"
                ]
                .contains(&name.as_str()),
                "{body} -> {out}"
            );
        }
    }
    // A forgery is refused as DynamoDB refuses it, even for root on the server itself.
    for forged in [&old_layout, &renamed, &stretched] {
        let (status, out, _) = raw_request(
            server.http_addr,
            &format!("{STREAMS}GetRecords"),
            &json!({"ShardIterator": forged}).to_string(),
        )
        .await;
        assert_eq!(status, 400, "{out}");
        assert_eq!(json_error_name(&out), "ValidationException", "{out}");
        assert_eq!(
            out["message"].as_str().or(out["Message"].as_str()),
            Some("Invalid ShardIterator"),
            "{out}"
        );
    }
    // Her iterator renamed to Payroll is authorized on Payroll's stream (and refused).
    let (status, out) = as_mallory(
        proxy.http_addr,
        &format!("{STREAMS}GetRecords"),
        &json!({"ShardIterator": renamed}),
    )
    .await;
    assert_eq!(
        (status, json_error_name(&out).as_str()),
        (400, "AccessDeniedException"),
        "{out}"
    );
    assert!(out.to_string().contains("table/Payroll/stream/"), "{out}");

    // The same over the proxy's gRPC streams service: her own stream reads, Payroll's is
    // refused whether named or claimed by a forged iterator.
    let channel = signed_channel(
        &format!("http://{}", proxy.grpc_addr),
        "AKIAMALLORY",
        "mallory-secret",
    )
    .await;
    let mut streams =
        keyfall_proto::v1::dynamo_db_streams_client::DynamoDbStreamsClient::new(channel);
    let records = streams
        .get_records(keyfall_proto::v1::GetRecordsRequest {
            shard_iterator: mine_iterator.clone(),
            ..Default::default()
        })
        .await
        .expect("her own stream over gRPC");
    assert!(!records.get_ref().records.is_empty());
    let payroll_stream = format!("{ARN}/Payroll/stream/{payroll_label}");
    let denied = streams
        .describe_stream(keyfall_proto::v1::DescribeStreamRequest {
            stream_arn: payroll_stream,
            ..Default::default()
        })
        .await
        .expect_err("Payroll's stream over gRPC");
    assert_eq!(
        error_type(&denied),
        Some("AccessDeniedException"),
        "{denied:?}"
    );
    for forged in [&old_layout, &renamed, &stretched] {
        let refused = streams
            .get_records(keyfall_proto::v1::GetRecordsRequest {
                shard_iterator: forged.clone(),
                ..Default::default()
            })
            .await
            .expect_err("a forged iterator over gRPC");
        assert!(
            matches!(
                error_type(&refused),
                Some("AccessDeniedException" | "ValidationException")
            ),
            "{refused:?}"
        );
        assert!(!format!("{refused:?}").contains("salary-secret"));
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn item13_expired_ttl_item_not_served_from_cache() {
    use aws_sdk_dynamodb::types::{
        AttributeValue as Av, KeysAndAttributes, TimeToLiveSpecification,
    };
    // No sweeper during the test: only the read-time rule hides expired items.
    let server = TestServer::start_with(|c| c.ttl_sweep_interval = Duration::from_secs(3600)).await;
    table(&server, "Sessions").await;
    server
        .dynamodb()
        .update_time_to_live()
        .table_name("Sessions")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("exp")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let proxy = TestProxy::start(&server, |_| {}).await;
    let c = proxy.dynamodb_as(
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    );
    let put = |pk: &'static str, exp: u64| {
        let c = c.clone();
        async move {
            c.put_item()
                .table_name("Sessions")
                .item("pk", Av::S(pk.into()))
                .item("exp", Av::N(exp.to_string()))
                .send()
                .await
                .unwrap();
        }
    };
    let get = |pk: &'static str| {
        let c = c.clone();
        async move {
            c.get_item()
                .table_name("Sessions")
                .key("pk", Av::S(pk.into()))
                .send()
                .await
                .unwrap()
                .item
        }
    };
    let batch = |pk: &'static str| {
        let c = c.clone();
        async move {
            let out = c
                .batch_get_item()
                .request_items(
                    "Sessions",
                    KeysAndAttributes::builder()
                        .keys([("pk".to_string(), Av::S(pk.into()))].into())
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            out.responses
                .and_then(|r| r.get("Sessions").map(Vec::len))
                .unwrap_or(0)
        }
    };
    let query = |pk: &'static str| {
        let c = c.clone();
        async move {
            c.query()
                .table_name("Sessions")
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", Av::S(pk.into()))
                .send()
                .await
                .unwrap()
                .count
        }
    };
    // Written through already expired: the server hides it, so must the proxy.
    put("old", now_secs() - 60).await;
    assert_eq!(get("old").await, None);
    assert_eq!(batch("old").await, 0);
    assert_eq!(query("old").await, 0);

    // Cached while visible (item, batch and page), then its TTL passes.
    let exp = now_secs() + 2;
    put("soon", exp).await;
    for _ in 0..2 {
        assert!(get("soon").await.is_some());
        assert_eq!(batch("soon").await, 1);
        assert_eq!(query("soon").await, 1);
    }
    assert!(
        proxy
            .metric("keyfall_dax_cache_hits_total{cache=\"item\"}")
            .await
            >= 2,
        "the item is served from the cache while visible"
    );
    while now_secs() <= exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server hides it now...
    let direct = server
        .dynamodb()
        .get_item()
        .table_name("Sessions")
        .key("pk", Av::S("soon".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.item, None);
    // ...and so does every cached read of the proxy.
    assert_eq!(
        get("soon").await,
        None,
        "expired item served from the item cache"
    );
    assert_eq!(
        batch("soon").await,
        0,
        "expired item served by BatchGetItem"
    );
    assert_eq!(
        query("soon").await,
        0,
        "expired item served from a cached page"
    );
}

#[tokio::test]
async fn item14_unknown_tables_start_bounded_feeds() {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    const TASKS: &str = "keyfall_dax_feed_tasks";
    let server = TestServer::start().await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let c = proxy.dynamodb_as(
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    );
    // Reads of made-up tables fail as on the server and start nothing.
    for i in 0..40 {
        let name = format!("madeup-{i}");
        let err = c
            .get_item()
            .table_name(&name)
            .key("pk", Av::S("x".into()))
            .send()
            .await
            .unwrap_err();
        let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err).map(str::to_string);
        assert_eq!(
            code.as_deref(),
            Some("ResourceNotFoundException"),
            "{err:?}"
        );
        let _ = c
            .query()
            .table_name(&name)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", Av::S("x".into()))
            .send()
            .await
            .unwrap_err();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        proxy.metric(TASKS).await,
        0,
        "made-up tables started feed tasks"
    );

    // A real table gets one feed; once the table is deleted (behind the proxy's back), the
    // feed ends instead of retrying forever.
    table(&server, "Real").await;
    assert_eq!(
        c.get_item()
            .table_name("Real")
            .key("pk", Av::S("x".into()))
            .send()
            .await
            .unwrap()
            .item,
        None
    );
    assert_eq!(proxy.metric(TASKS).await, 1);
    server
        .dynamodb()
        .delete_table()
        .table_name("Real")
        .send()
        .await
        .unwrap();
    let start = std::time::Instant::now();
    while proxy.metric(TASKS).await != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the feed of a deleted table keeps running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Reading it now fails as on the server and starts nothing again.
    assert!(c
        .get_item()
        .table_name("Real")
        .key("pk", Av::S("x".into()))
        .send()
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.metric(TASKS).await, 0);
}

/// GetItem of `pk` through `db`, as the value of its `v` attribute.
async fn v_of(db: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> Option<String> {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let out = db
        .get_item()
        .table_name(table)
        .key("pk", Av::S(pk.into()))
        .send()
        .await
        .unwrap();
    match out.item?.get("v")? {
        Av::S(s) => Some(s.clone()),
        _ => None,
    }
}

async fn put_v(db: &aws_sdk_dynamodb::Client, table: &str, pk: &str, v: &str) {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    db.put_item()
        .table_name(table)
        .item("pk", Av::S(pk.into()))
        .item("v", Av::S(v.into()))
        .send()
        .await
        .unwrap();
}

/// Reads `pk` through the proxy until it answers `want` (the feed delivered the change),
/// failing after 5 s: a stale answer that never ends is the defect.
async fn converges(
    proxy: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    want: Option<&str>,
) -> Result<(), Option<String>> {
    let mut last = None;
    for _ in 0..100 {
        last = v_of(proxy, table, pk).await;
        if last.as_deref() == want {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(last)
}

fn through(proxy: &TestProxy) -> aws_sdk_dynamodb::Client {
    proxy.dynamodb_as(
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    )
}

/// Issue 17, item 12: coherence does not depend on the table's DynamoDB Stream: a table
/// without one, a table whose stream is disabled and a table deleted and re-created are
/// all followed, and a direct write to the server reaches the proxy's readers.
#[tokio::test]
async fn item12_coherence_without_a_stream_after_disabling_it_and_across_re_creation() {
    let server = TestServer::start().await;
    let direct = server.dynamodb();
    let proxy = TestProxy::start(&server, |_| {}).await;
    let cached = through(&proxy);

    // No stream at all.
    new_table(&direct, "Plain", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    put_v(&direct, "Plain", "k", "one").await;
    assert_eq!(v_of(&cached, "Plain", "k").await.as_deref(), Some("one"));
    let hits = proxy
        .metric("keyfall_dax_cache_hits_total{cache=\"item\"}")
        .await;
    assert_eq!(v_of(&cached, "Plain", "k").await.as_deref(), Some("one"));
    assert!(
        proxy
            .metric("keyfall_dax_cache_hits_total{cache=\"item\"}")
            .await
            > hits,
        "a table without a stream is cached"
    );
    put_v(&direct, "Plain", "k", "two").await;
    assert_eq!(converges(&cached, "Plain", "k", Some("two")).await, Ok(()));

    // A stream disabled while the table is cached.
    table(&server, "Streamed").await;
    put_v(&direct, "Streamed", "k", "one").await;
    assert_eq!(v_of(&cached, "Streamed", "k").await.as_deref(), Some("one"));
    direct
        .update_table()
        .table_name("Streamed")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    put_v(&direct, "Streamed", "k", "two").await;
    assert_eq!(
        converges(&cached, "Streamed", "k", Some("two")).await,
        Ok(())
    );

    // Deleted and re-created under the same name, directly on the server.
    direct
        .delete_table()
        .table_name("Plain")
        .send()
        .await
        .unwrap();
    new_table(&direct, "Plain", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        converges(&cached, "Plain", "k", None).await,
        Ok(()),
        "the re-created table is empty: the old item is not served"
    );
    put_v(&direct, "Plain", "k", "three").await;
    assert_eq!(
        converges(&cached, "Plain", "k", Some("three")).await,
        Ok(())
    );
}

/// Issue 17, item 11: reads that miss while the item changes never leave an older value
/// in the cache after a newer one: once the writes stop, every reader converges to the
/// last write and stays there.
#[tokio::test]
async fn item11_racing_misses_and_writes_converge_to_the_last_write() {
    let server = TestServer::start().await;
    let direct = server.dynamodb();
    let proxy = TestProxy::start(&server, |_| {}).await;
    let cached = through(&proxy);
    new_table(&direct, "Race", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    for round in 0..30 {
        let pk = format!("k{round}");
        put_v(&direct, "Race", &pk, "0").await;
        let writer = {
            let direct = direct.clone();
            let pk = pk.clone();
            tokio::spawn(async move {
                for i in 1..=10 {
                    put_v(&direct, "Race", &pk, &i.to_string()).await;
                }
            })
        };
        let mut readers = Vec::new();
        for _ in 0..3 {
            let cached = cached.clone();
            let pk = pk.clone();
            readers.push(tokio::spawn(async move {
                for _ in 0..10 {
                    v_of(&cached, "Race", &pk).await;
                }
            }));
        }
        writer.await.unwrap();
        for r in readers {
            r.await.unwrap();
        }
        assert_eq!(
            converges(&cached, "Race", &pk, Some("10")).await,
            Ok(()),
            "round {round}"
        );
        // ...and stays there: no late fill brings an older value back.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(v_of(&cached, "Race", &pk).await.as_deref(), Some("10"));
    }
}
