//! keyfall-dax in front of a real server: write-through, negative caching, pass-through,
//! TTL, single-flight, coherence from the server's change feed, the byte budget.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamSpecification, StreamViewType};
use keyfall_proto::v1 as pb;
use keyfall_tests::{error_type, new_table, TestProxy, TestServer};

fn s(v: &str) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::S(v.into())),
    }
}

fn n(v: &str) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::N(v.into())),
    }
}

fn key(pk: &str) -> HashMap<String, pb::AttributeValue> {
    [("pk".to_string(), s(pk))].into()
}

fn item(pk: &str, v: &str) -> HashMap<String, pb::AttributeValue> {
    [("pk".to_string(), s(pk)), ("v".to_string(), s(v))].into()
}

/// A table keyed by `pk`, with a stream when `followed` (so the proxy can stay coherent).
async fn table(server: &TestServer, name: &str, followed: bool) {
    let mut req = new_table(
        &server.dynamodb(),
        name,
        ("pk", ScalarAttributeType::S),
        None,
    );
    if followed {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap();
}

const ITEM_HITS: &str = "keyfall_dax_cache_hits_total{cache=\"item\"}";
const QUERY_HITS: &str = "keyfall_dax_cache_hits_total{cache=\"query\"}";
const UPSTREAM_READS: &str = "keyfall_dax_upstream_reads_total";

type Client = pb::dynamo_db_client::DynamoDbClient<tonic::transport::Channel>;

async fn get(c: &mut Client, table: &str, pk: &str, consistent: bool) -> Option<String> {
    let out = c
        .get_item(pb::GetItemRequest {
            table_name: table.into(),
            key: key(pk),
            consistent_read: Some(consistent),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    match out.item.get("v").and_then(|v| v.value.clone()) {
        Some(pb::attribute_value::Value::S(v)) => Some(v),
        _ => None,
    }
}

async fn put(c: &mut Client, table: &str, pk: &str, v: &str) {
    c.put_item(pb::PutItemRequest {
        table_name: table.into(),
        item: item(pk, v),
        ..Default::default()
    })
    .await
    .unwrap();
}

/// Polls until `f` holds, returning how long it took.
async fn within<F, Fut>(limit: Duration, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn writes_go_through_and_reads_hit() {
    let server = TestServer::start().await;
    table(&server, "tbl", true).await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let mut c = proxy.grpc().await;
    put(&mut c, "tbl", "a", "1").await;
    assert_eq!(get(&mut c, "tbl", "a", false).await.as_deref(), Some("1"));
    assert_eq!(get(&mut c, "tbl", "a", false).await.as_deref(), Some("1"));
    assert_eq!(
        proxy.metric(ITEM_HITS).await,
        2,
        "the write filled the cache"
    );
    assert_eq!(proxy.metric(UPSTREAM_READS).await, 0);
    // UpdateItem asks the server for the new item even when the client asks for nothing.
    let out = c
        .update_item(pb::UpdateItemRequest {
            table_name: "tbl".into(),
            key: key("a"),
            update_expression: Some("SET v = :v, n = :n".into()),
            expression_attribute_values: [
                (":v".to_string(), s("2")),
                (":n".to_string(), n("1.50")),
            ]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        out.attributes.is_empty(),
        "the client asked for no attributes"
    );
    let got = c
        .get_item(pb::GetItemRequest {
            table_name: "tbl".into(),
            key: key("a"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .item;
    assert_eq!(got.get("v"), Some(&s("2")));
    assert_eq!(
        got.get("n"),
        Some(&n("1.5")),
        "numbers as the server stores them"
    );
    assert_eq!(proxy.metric(UPSTREAM_READS).await, 0);
    // A delete caches the absence.
    c.delete_item(pb::DeleteItemRequest {
        table_name: "tbl".into(),
        key: key("a"),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(get(&mut c, "tbl", "a", false).await, None);
    assert_eq!(proxy.metric(UPSTREAM_READS).await, 0);
}

#[tokio::test]
async fn misses_are_single_flight_and_negative_results_cached() {
    let server = TestServer::start().await;
    table(&server, "tbl", true).await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let c = proxy.grpc().await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let mut c = c.clone();
        tasks.push(tokio::spawn(async move {
            get(&mut c, "tbl", "nobody", false).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), None);
    }
    assert_eq!(
        proxy.metric(UPSTREAM_READS).await,
        1,
        "32 concurrent misses, one upstream read"
    );
    let mut c = c.clone();
    assert_eq!(get(&mut c, "tbl", "nobody", false).await, None);
    assert_eq!(
        proxy.metric(UPSTREAM_READS).await,
        1,
        "the absence is cached"
    );
}

#[tokio::test]
async fn direct_writes_reach_the_cache_through_the_change_feed() {
    let server = TestServer::start().await;
    table(&server, "tbl", true).await;
    let a = TestProxy::start(&server, |_| {}).await;
    let b = TestProxy::start(&server, |_| {}).await;
    let (mut ca, mut cb) = (a.grpc().await, b.grpc().await);
    let mut direct = server.grpc().await;
    direct
        .put_item(pb::PutItemRequest {
            table_name: "tbl".into(),
            item: item("k", "old"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        get(&mut ca, "tbl", "k", false).await.as_deref(),
        Some("old")
    );
    assert_eq!(
        get(&mut cb, "tbl", "k", false).await.as_deref(),
        Some("old")
    );
    // A write straight to the server...
    direct
        .put_item(pb::PutItemRequest {
            table_name: "tbl".into(),
            item: item("k", "direct"),
            ..Default::default()
        })
        .await
        .unwrap();
    let lag = within(Duration::from_secs(2), || {
        let mut ca = ca.clone();
        async move { get(&mut ca, "tbl", "k", false).await.as_deref() == Some("direct") }
    })
    .await;
    println!("coherence lag after a direct write: {lag:?}");
    // ... and one through the other proxy.
    put(&mut cb, "tbl", "k", "via-b").await;
    within(Duration::from_secs(2), || {
        let mut ca = ca.clone();
        async move { get(&mut ca, "tbl", "k", false).await.as_deref() == Some("via-b") }
    })
    .await;
    // A removal is seen too.
    direct
        .delete_item(pb::DeleteItemRequest {
            table_name: "tbl".into(),
            key: key("k"),
            ..Default::default()
        })
        .await
        .unwrap();
    within(Duration::from_secs(2), || {
        let mut ca = ca.clone();
        async move { get(&mut ca, "tbl", "k", false).await.is_none() }
    })
    .await;
    assert!(a.metric("keyfall_dax_feed_events_total").await >= 3);
}

#[tokio::test]
async fn a_broken_feed_flushes_the_table_and_resumes() {
    let server = TestServer::start().await;
    table(&server, "tbl", true).await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let mut c = proxy.grpc().await;
    put(&mut c, "tbl", "k", "before").await;
    assert_eq!(
        get(&mut c, "tbl", "k", false).await.as_deref(),
        Some("before")
    );
    // The server goes away (the feed breaks) and comes back; meanwhile the item changed.
    let server = server.restart().await;
    let mut direct = server.grpc().await;
    direct
        .put_item(pb::PutItemRequest {
            table_name: "tbl".into(),
            item: item("k", "after"),
            ..Default::default()
        })
        .await
        .unwrap();
    within(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            match c
                .get_item(pb::GetItemRequest {
                    table_name: "tbl".into(),
                    key: key("k"),
                    ..Default::default()
                })
                .await
            {
                Ok(r) => r.into_inner().item.get("v") == Some(&s("after")),
                Err(_) => false,
            }
        }
    })
    .await;
    assert!(proxy.metric("keyfall_dax_feed_reconnects_total").await >= 1);
    // Live again: a later direct write is followed as before.
    direct
        .put_item(pb::PutItemRequest {
            table_name: "tbl".into(),
            item: item("k", "later"),
            ..Default::default()
        })
        .await
        .unwrap();
    within(Duration::from_secs(3), || {
        let mut c = c.clone();
        async move { get(&mut c, "tbl", "k", false).await.as_deref() == Some("later") }
    })
    .await;
}

#[tokio::test]
async fn ttl_mode_behaves_like_dax_and_consistent_reads_pass_through() {
    let server = TestServer::start().await;
    table(&server, "tbl", false).await;
    let proxy = TestProxy::start(&server, |c| {
        c.coherence = keyfall_dax::config::Coherence::Ttl;
        c.item_ttl = Duration::from_millis(300);
    })
    .await;
    let mut c = proxy.grpc().await;
    let mut direct = server.grpc().await;
    assert_eq!(get(&mut c, "tbl", "x", false).await, None);
    direct
        .put_item(pb::PutItemRequest {
            table_name: "tbl".into(),
            item: item("x", "1"),
            ..Default::default()
        })
        .await
        .unwrap();
    // Stale until the TTL (DAX's behaviour) ...
    assert_eq!(get(&mut c, "tbl", "x", false).await, None);
    // ... except for strongly consistent reads, which always go to the server.
    assert_eq!(get(&mut c, "tbl", "x", true).await.as_deref(), Some("1"));
    within(Duration::from_secs(3), || {
        let mut c = c.clone();
        async move { get(&mut c, "tbl", "x", false).await.as_deref() == Some("1") }
    })
    .await;
}

#[tokio::test]
async fn query_pages_are_cached_and_invalidated_by_writes() {
    let server = TestServer::start().await;
    table(&server, "tbl", true).await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let mut c = proxy.grpc().await;
    put(&mut c, "tbl", "q", "1").await;
    let query = || pb::QueryRequest {
        table_name: "tbl".into(),
        key_condition_expression: Some("pk = :p".into()),
        expression_attribute_values: [(":p".to_string(), s("q"))].into(),
        ..Default::default()
    };
    let mut direct = server.grpc().await;
    let from_server = direct.query(query()).await.unwrap().into_inner();
    assert_eq!(from_server.count, 1);
    // A hit is the cached page's bytes, sent as they are: the same answer as the server's.
    for _ in 0..3 {
        let out = c.query(query()).await.unwrap().into_inner();
        assert_eq!(out, from_server);
    }
    assert_eq!(proxy.metric(QUERY_HITS).await, 2);
    let reads = proxy.metric(UPSTREAM_READS).await;
    assert_eq!(reads, 1);
    let scan = || pb::ScanRequest {
        table_name: "tbl".into(),
        ..Default::default()
    };
    let from_server = direct.scan(scan()).await.unwrap().into_inner();
    for _ in 0..2 {
        assert_eq!(c.scan(scan()).await.unwrap().into_inner(), from_server);
    }
    assert_eq!(
        proxy.metric(QUERY_HITS).await,
        3,
        "a Scan page is cached too"
    );
    c.delete_item(pb::DeleteItemRequest {
        table_name: "tbl".into(),
        key: key("q"),
        ..Default::default()
    })
    .await
    .unwrap();
    let out = c.query(query()).await.unwrap().into_inner();
    assert_eq!(out.count, 0, "the write made the cached page unreachable");
}

#[tokio::test]
async fn errors_pass_through_with_their_names() {
    let server = TestServer::start().await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let mut c = proxy.grpc().await;
    let status = c
        .get_item(pb::GetItemRequest {
            table_name: "missing".into(),
            key: key("a"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("ResourceNotFoundException"));
    let status = c
        .put_item(pb::PutItemRequest {
            table_name: "missing".into(),
            item: item("a", "1"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn the_item_cache_stays_within_its_byte_budget() {
    let server = TestServer::start().await;
    table(&server, "tbl", true).await;
    let proxy = TestProxy::start(&server, |c| c.item_cache_bytes = 256 * 1024).await;
    let mut c = proxy.grpc().await;
    let big = "x".repeat(4000);
    for i in 0..200 {
        put(&mut c, "tbl", &format!("k{i}"), &big).await;
    }
    let bytes = proxy
        .metric("keyfall_dax_cache_bytes{cache=\"item\"}")
        .await;
    assert!(bytes <= 256 * 1024, "{bytes} bytes cached");
    assert!(bytes > 0);
    assert!(
        proxy
            .metric("keyfall_dax_cache_evictions_total{cache=\"item\"}")
            .await
            > 0
    );
}

/// A server whose `proxy` user may read principals and do anything to items, and whose
/// `alice` may only touch her own partition of `Scores`.
async fn server_with_users() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.json");
    let iam = serde_json::json!({"users": [
        {"name": "proxy", "access_key_id": "AKIAPROXY", "secret_access_key": "proxy-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["keyfall:ExportPrincipals", "keyfall:FollowChanges", "dynamodb:*"], "Resource": "*"}]}]},
        {"name": "alice", "access_key_id": "AKIAALICE", "secret_access_key": "alice-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Resource": "arn:aws:dynamodb:us-east-1:000000000000:table/Scores",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}}]}]}
    ]});
    std::fs::write(&path, iam.to_string()).unwrap();
    let server = TestServer::start_with(move |c| c.iam_config = Some(path)).await;
    std::mem::forget(dir);
    table(&server, "Scores", true).await;
    server
}

/// The JSON API authorizes the request it decoded, once (the service is told so and does
/// not convert it back): a fresh proxy that has not learned the table's key schema yet
/// still lets alice query her own partition, and still refuses bob's, cached or not.
#[tokio::test]
async fn json_callers_are_authorized_once_on_the_decoded_request() {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let server = server_with_users().await;
    let proxy = TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some("AKIAPROXY".into());
        c.secret_access_key = Some("proxy-secret".into());
    })
    .await;
    let alice = proxy.dynamodb_as("AKIAALICE", "alice-secret");
    // Before anything taught the proxy the schema of Scores.
    let page = alice
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :u")
        .expression_attribute_values(":u", Av::S("alice".into()))
        .send()
        .await
        .expect("alice queries her own partition");
    assert_eq!(page.count, 0);
    alice
        .put_item()
        .table_name("Scores")
        .item("pk", Av::S("alice".into()))
        .item("v", Av::S("mine".into()))
        .send()
        .await
        .expect("alice writes her own item");
    server
        .dynamodb()
        .put_item()
        .table_name("Scores")
        .item("pk", Av::S("bob".into()))
        .item("v", Av::S("his".into()))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let got = alice
            .get_item()
            .table_name("Scores")
            .key("pk", Av::S("alice".into()))
            .send()
            .await
            .unwrap();
        assert_eq!(got.item.unwrap()["v"], Av::S("mine".into()));
        let err = alice
            .get_item()
            .table_name("Scores")
            .key("pk", Av::S("bob".into()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err),
            Some("AccessDeniedException"),
            "{err:?}"
        );
        let err = alice
            .query()
            .table_name("Scores")
            .key_condition_expression("pk = :u")
            .expression_attribute_values(":u", Av::S("bob".into()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err),
            Some("AccessDeniedException"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn callers_are_authorized_as_by_the_server_cache_hit_or_not() {
    let server = server_with_users().await;
    let proxy = TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some("AKIAPROXY".into());
        c.secret_access_key = Some("proxy-secret".into());
        c.auth_refresh = Duration::from_millis(100);
    })
    .await;
    // Unsigned callers are refused before anything else.
    let status = proxy
        .grpc()
        .await
        .get_item(pb::GetItemRequest {
            table_name: "Scores".into(),
            key: key("alice"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(
        error_type(&status),
        Some("MissingAuthenticationTokenException")
    );

    let mut alice = proxy.grpc_as("AKIAALICE", "alice-secret").await;
    let mut root = proxy
        .grpc_as(
            keyfall_tests::ROOT_ACCESS_KEY_ID,
            keyfall_tests::ROOT_SECRET_ACCESS_KEY,
        )
        .await;
    alice
        .put_item(pb::PutItemRequest {
            table_name: "Scores".into(),
            item: item("alice", "mine"),
            ..Default::default()
        })
        .await
        .unwrap();
    for _ in 0..2 {
        let got = alice
            .get_item(pb::GetItemRequest {
                table_name: "Scores".into(),
                key: key("alice"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.item.get("v"), Some(&s("mine")));
    }
    // Bob's item is in the cache (root wrote it through the proxy): alice is still refused.
    root.put_item(pb::PutItemRequest {
        table_name: "Scores".into(),
        item: item("bob", "his"),
        ..Default::default()
    })
    .await
    .unwrap();
    let status = alice
        .get_item(pb::GetItemRequest {
            table_name: "Scores".into(),
            key: key("bob"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    keyfall_tests::assert_access_denied(&status, "alice", "dynamodb:GetItem");
    let status = alice
        .scan(pb::ScanRequest {
            table_name: "Scores".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("AccessDeniedException"));

    // A user created on the server at runtime reaches the proxy at its next refresh.
    let k = keyfall_tests::user_with_policy(
        &server,
        "carol",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}"#,
    )
    .await;
    let mut carol = proxy.grpc_as(&k.access_key_id, &k.secret_access_key).await;
    within(Duration::from_secs(3), || {
        let mut carol = carol.clone();
        async move {
            carol
                .get_item(pb::GetItemRequest {
                    table_name: "Scores".into(),
                    key: key("bob"),
                    ..Default::default()
                })
                .await
                .is_ok()
        }
    })
    .await;
    let status = carol
        .put_item(pb::PutItemRequest {
            table_name: "Scores".into(),
            item: item("carol", "x"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("AccessDeniedException"));
}

#[tokio::test]
async fn a_proxy_that_cannot_read_principals_does_not_start() {
    let server = server_with_users().await;
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = keyfall_dax::Config {
        upstream: format!("http://{}", server.grpc_addr),
        access_key_id: Some("AKIAALICE".into()),
        secret_access_key: Some("alice-secret".into()),
        ..keyfall_dax::Config::default()
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let err = keyfall_dax::run(config, keyfall_dax::Listeners { http, grpc }, rx)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("keyfall:ExportPrincipals"),
        "{err}"
    );
}

#[tokio::test]
async fn the_json_api_serves_the_aws_sdk_from_the_same_cache() {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    use aws_sdk_dynamodb::types::{
        AttributeValue as Av, ReturnValuesOnConditionCheckFailure, Select,
    };
    let server = server_with_users().await;
    let proxy = TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some("AKIAPROXY".into());
        c.secret_access_key = Some("proxy-secret".into());
    })
    .await;
    let root = proxy.dynamodb_as(
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    );
    // Uncached actions are forwarded to the server.
    let tables = root.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["Scores"]);
    root.put_item()
        .table_name("Scores")
        .item("pk", Av::S("p".into()))
        .item("v", Av::S("1".into()))
        .item("n", Av::N("2.50".into()))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let got = root
            .get_item()
            .table_name("Scores")
            .key("pk", Av::S("p".into()))
            .send()
            .await
            .unwrap();
        let item = got.item.unwrap();
        assert_eq!(item.get("n"), Some(&Av::N("2.5".into())));
    }
    assert_eq!(
        proxy.metric(ITEM_HITS).await,
        2,
        "written through, then served from the cache"
    );
    // gRPC and JSON share the cache.
    let mut grpc = proxy
        .grpc_as(
            keyfall_tests::ROOT_ACCESS_KEY_ID,
            keyfall_tests::ROOT_SECRET_ACCESS_KEY,
        )
        .await;
    let got = grpc
        .get_item(pb::GetItemRequest {
            table_name: "Scores".into(),
            key: key("p"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.item.get("v"), Some(&s("1")));
    assert_eq!(proxy.metric(ITEM_HITS).await, 3);
    // Errors keep their names and members.
    let e = root
        .put_item()
        .table_name("Scores")
        .item("pk", Av::S("p".into()))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ConditionalCheckFailedException"));
    match e.into_service_error() {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
            assert_eq!(c.item().and_then(|i| i.get("v")), Some(&Av::S("1".into())));
        }
        other => panic!("{other:?}"),
    }
    let e = root
        .get_item()
        .table_name("Nope")
        .key("pk", Av::S("p".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    let count = root
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", Av::S("p".into()))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!(count.count, 1);
    assert!(count.items.is_none());
    // Authorization as on the server, hit or miss.
    let alice = proxy.dynamodb_as("AKIAALICE", "alice-secret");
    let e = alice
        .get_item()
        .table_name("Scores")
        .key("pk", Av::S("p".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
    let e = alice.list_tables().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
    let e = proxy
        .dynamodb_as("AKIAALICE", "wrong")
        .list_tables()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
}

/// Cache hits are answered from stored encodings (gRPC GetItem sends them as they are,
/// BatchGetItem and the JSON API decode them): every path must give the server's item.
#[tokio::test]
async fn cached_items_read_back_as_the_server_has_them_on_every_path() {
    use pb::attribute_value::Value;
    let server = TestServer::start().await;
    table(&server, "rich", true).await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let mut c = proxy.grpc().await;
    let v = |value| pb::AttributeValue { value: Some(value) };
    let rich: HashMap<String, pb::AttributeValue> = [
        ("pk".to_string(), s("r")),
        ("n".to_string(), n("-12.5E3")),
        ("b".to_string(), v(Value::B(vec![0, 159, 255]))),
        ("t".to_string(), v(Value::Bool(true))),
        ("nul".to_string(), v(Value::Null(true))),
        (
            "ss".to_string(),
            v(Value::Ss(pb::StringSet {
                values: vec!["x".into(), "ünï".into()],
            })),
        ),
        (
            "m".to_string(),
            v(Value::M(pb::MapValue {
                values: [(
                    "deep".to_string(),
                    v(Value::L(pb::ListValue {
                        values: vec![n("1"), s("")],
                    })),
                )]
                .into(),
            })),
        ),
    ]
    .into();
    c.put_item(pb::PutItemRequest {
        table_name: "rich".into(),
        item: rich.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let read = pb::GetItemRequest {
        table_name: "rich".into(),
        key: key("r"),
        ..Default::default()
    };
    let direct = server.channel().await;
    let truth = pb::dynamo_db_client::DynamoDbClient::new(direct)
        .get_item(pb::GetItemRequest {
            consistent_read: Some(true),
            ..read.clone()
        })
        .await
        .unwrap()
        .into_inner()
        .item;
    assert_eq!(truth.len(), rich.len());
    let hits = proxy.metric(ITEM_HITS).await;
    for _ in 0..2 {
        let got = c.get_item(read.clone()).await.unwrap().into_inner();
        assert_eq!(got.item, truth);
        assert!(got.consumed_capacity.is_none());
    }
    let batch = c
        .batch_get_item(pb::BatchGetItemRequest {
            request_items: [(
                "rich".to_string(),
                pb::KeysAndAttributes {
                    keys: vec![
                        pb::MapValue { values: key("r") },
                        pb::MapValue {
                            values: key("absent"),
                        },
                    ],
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.responses["rich"].values.len(), 1);
    assert_eq!(batch.responses["rich"].values[0].values, truth);
    // The absent key is now a negative entry: a hit answered with no item.
    let absent = c
        .get_item(pb::GetItemRequest {
            key: key("absent"),
            ..read.clone()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(absent.item.is_empty());
    let json = proxy
        .dynamodb_as(
            keyfall_tests::ROOT_ACCESS_KEY_ID,
            keyfall_tests::ROOT_SECRET_ACCESS_KEY,
        )
        .get_item()
        .table_name("rich")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("r".into()))
        .send()
        .await
        .unwrap();
    let json_item = json.item().unwrap();
    assert_eq!(json_item.len(), truth.len());
    assert_eq!(
        json_item["n"],
        aws_sdk_dynamodb::types::AttributeValue::N("-12500".into()) // normalized, as DynamoDB does
    );
    assert_eq!(
        json_item["b"],
        aws_sdk_dynamodb::types::AttributeValue::B(vec![0, 159, 255].into())
    );
    assert!(
        proxy.metric(ITEM_HITS).await >= hits + 5,
        "two gRPC reads, one batch key, the negative entry and the JSON read were hits"
    );
}

/// A cached page answers only callers allowed to read it: alice, limited to her own
/// partition, sends the very Query that filled the cache for bob's partition and is refused
/// on both APIs, cache hit or not, while her own partition's page is served.
#[tokio::test]
async fn a_cached_page_is_authorized_for_each_caller() {
    let server = server_with_users().await;
    let proxy = TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some("AKIAPROXY".into());
        c.secret_access_key = Some("proxy-secret".into());
    })
    .await;
    let mut root = proxy
        .grpc_as(
            keyfall_tests::ROOT_ACCESS_KEY_ID,
            keyfall_tests::ROOT_SECRET_ACCESS_KEY,
        )
        .await;
    let query = |pk: &str| pb::QueryRequest {
        table_name: "Scores".into(),
        key_condition_expression: Some("pk = :p".into()),
        expression_attribute_values: [(":p".to_string(), s(pk))].into(),
        ..Default::default()
    };
    for pk in ["alice", "bob"] {
        root.put_item(pb::PutItemRequest {
            table_name: "Scores".into(),
            item: item(pk, "v"),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    // Filled by root: the next identical requests are hits.
    for pk in ["alice", "bob"] {
        let page = root.query(query(pk)).await.unwrap().into_inner();
        assert_eq!(page.count, 1);
    }
    let hits = proxy.metric(QUERY_HITS).await;
    let mut alice = proxy.grpc_as("AKIAALICE", "alice-secret").await;
    let status = alice.query(query("bob")).await.unwrap_err();
    keyfall_tests::assert_access_denied(&status, "alice", "dynamodb:Query");
    let own = alice.query(query("alice")).await.unwrap().into_inner();
    assert_eq!(own.count, 1);
    assert_eq!(
        proxy.metric(QUERY_HITS).await,
        hits + 1,
        "only alice's own page was served from the cache"
    );
    // The same over the JSON API.
    let db = proxy.dynamodb_as("AKIAALICE", "alice-secret");
    let err = db
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S("bob".into()),
        )
        .send()
        .await
        .expect_err("bob's partition");
    assert_eq!(
        aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&err),
        Some("AccessDeniedException")
    );
}
