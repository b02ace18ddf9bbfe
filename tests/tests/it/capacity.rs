//! Provisioned throughput, enforced as DynamoDB enforces it: token buckets per table and
//! per GSI with 300 seconds of burst, a GSI short of write capacity throttling the writes
//! that would update it, `ProvisionedThroughputExceededException` with
//! DynamoDB's message and `ThrottlingReasons`, on both APIs and through keyfall-dax;
//! `--capacity off` never throttles, nor does an on-demand table under its limits.

use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType,
};
use keyfall_proto::v1 as pb;
use keyfall_tests::{
    attribute, error_type, key_element, new_table, raw_request, TestProxy, TestServer,
};
use serde_json::json;

const PUT: &str = "DynamoDB_20120810.PutItem";
const QUERY: &str = "DynamoDB_20120810.Query";
const GET: &str = "DynamoDB_20120810.GetItem";
const TABLE_EXCEEDED: &str = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";

fn throughput(read: i64, write: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .unwrap()
}

/// A table keyed by `pk`, provisioned at 1 RCU and 1 WCU, with a GSI on `g` at 1 RCU and
/// 1000 WCU.
async fn slow_table(server: &TestServer, name: &str) {
    provisioned_table(server, name, 1, 1000).await;
}

/// A table keyed by `pk` at 1 RCU and `table_wcu`, with a GSI `byG` on `g` at 1 RCU and
/// `index_wcu`.
async fn provisioned_table(server: &TestServer, name: &str, table_wcu: i64, index_wcu: i64) {
    server
        .dynamodb()
        .create_table()
        .table_name(name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("g", ScalarAttributeType::S))
        .provisioned_throughput(throughput(1, table_wcu))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byG")
                .key_schema(key_element("g", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .provisioned_throughput(throughput(1, index_wcu))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Puts small items (one write unit each) until one is refused or `most` are in; returns
/// how many went in and the refusal's status and body.
async fn put_until_refused(
    addr: std::net::SocketAddr,
    table: &str,
    most: usize,
) -> (usize, Option<(u16, serde_json::Value)>) {
    for n in 0..most {
        let body =
            json!({"TableName": table, "Item": {"pk": {"S": format!("k{n}")}, "g": {"S": "x"}}});
        let (status, out, _) = raw_request(addr, PUT, &body.to_string()).await;
        if status != 200 {
            return (n, Some((status, out)));
        }
    }
    (most, None)
}

/// DynamoDB's answer to a request refused for want of throughput: its `__type` and its one
/// `ThrottlingReasons` entry.
fn assert_throttled(body: &serde_json::Value, reason: &str, resource: String) {
    assert_eq!(
        body["__type"],
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    );
    assert_eq!(
        body["ThrottlingReasons"],
        json!([{"reason": reason, "resource": resource}])
    );
}

/// DynamoDB's answer to a write refused on table `Slow`: status, message and reason.
fn assert_table_write_throttled((status, body): (u16, serde_json::Value)) {
    assert_eq!(status, 400);
    assert_eq!(body["message"], TABLE_EXCEEDED);
    assert_throttled(
        &body,
        "TableWriteProvisionedThroughputExceeded",
        arn("Slow"),
    );
}

fn arn(table: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
}

#[tokio::test]
async fn writes_beyond_the_burst_are_throttled_with_dynamodbs_error() {
    let server = TestServer::start().await;
    slow_table(&server, "Slow").await;
    // 1 WCU keeps 300 units of burst; the loop takes well under a minute, so the refill
    // adds only a few more.
    let (written, refused) = put_until_refused(server.http_addr, "Slow", 400).await;
    assert!(
        (300..360).contains(&written),
        "{written} writes before a refusal"
    );
    assert_table_write_throttled(refused.expect("a refusal"));
    // What `/metrics` says of it: CloudWatch's figures, per table and GSI.
    let text = crate::observability::scrape(&server).await;
    let series = |name: &str, index: &str| {
        crate::observability::value(
            &text,
            &format!("{name}{{table=\"Slow\",index=\"{index}\"}}"),
        )
    };
    assert_eq!(
        series("keyfall_provisioned_write_capacity_units", ""),
        Some(1.0)
    );
    assert_eq!(
        series("keyfall_provisioned_read_capacity_units", "byG"),
        Some(1.0)
    );
    // What the GSI consumed: each write put its entry there too.
    let index_writes = series("keyfall_index_consumed_write_capacity_units_total", "byG");
    assert!(
        index_writes.is_some_and(|units| units >= written as f64),
        "{index_writes:?}"
    );
    // Throttle events by reason: the limit type of DynamoDB's throttling reasons.
    let throttles = |name: &str, reason: &str| {
        crate::observability::value(
            &text,
            &format!("{name}{{table=\"Slow\",index=\"\",reason=\"{reason}\"}}"),
        )
    };
    let provisioned = "ProvisionedThroughputExceeded";
    assert_eq!(
        throttles("keyfall_write_throttle_events_total", provisioned),
        Some(1.0)
    );
    assert_eq!(
        throttles(
            "keyfall_write_throttle_events_total",
            "KeyRangeThroughputExceeded"
        ),
        Some(0.0)
    );
    assert_eq!(
        throttles("keyfall_read_throttle_events_total", provisioned),
        Some(0.0)
    );
    // Reads have their own bucket.
    let got = server
        .dynamodb()
        .get_item()
        .table_name("Slow")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("k0".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(got.item.is_some());

    // The same refusal over gRPC, with the reasons in the error details.
    let mut grpc = server.grpc().await;
    let status = grpc
        .put_item(pb::PutItemRequest {
            table_name: "Slow".into(),
            item: [(
                "pk".to_string(),
                pb::AttributeValue {
                    value: Some(pb::attribute_value::Value::S("grpc".into())),
                },
            )]
            .into(),
            ..Default::default()
        })
        .await
        .expect_err("throttled");
    assert_eq!(
        error_type(&status),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(status.message(), TABLE_EXCEEDED);
    let client_error = keyfall::Error::from_status(status);
    assert!(client_error.is_retryable(), "{client_error:?}");

    // And through keyfall-dax, unchanged: name, message and reasons.
    let proxy = TestProxy::start(&server, |_| {}).await;
    let (_, refused) = put_until_refused(proxy.http_addr, "Slow", 5).await;
    assert_table_write_throttled(refused.expect("a refusal through the proxy"));
}

#[tokio::test]
async fn a_gsi_short_of_write_capacity_throttles_the_writes_that_update_it() {
    let server = TestServer::start().await;
    provisioned_table(&server, "Busy", 1000, 1).await;
    // Every item has `g`, so every write adds an index entry: the index's 300 units of
    // burst run out long before the table's.
    let (written, refused) = put_until_refused(server.http_addr, "Busy", 400).await;
    assert!(
        (300..360).contains(&written),
        "{written} writes before a refusal"
    );
    let (status, body) = refused.expect("a refusal");
    assert_eq!(status, 400);
    let index = format!("{}/index/byG", arn("Busy"));
    assert_throttled(&body, "IndexWriteProvisionedThroughputExceeded", index);
    // The refused write changed nothing.
    let get = json!({"TableName": "Busy", "Key": {"pk": {"S": format!("k{written}")}}});
    let (_, got, _) = raw_request(server.http_addr, GET, &get.to_string()).await;
    assert_eq!(got, json!({}), "a refused write is not applied");
    // A write that leaves the index alone is not the index's to refuse.
    let plain = json!({"TableName": "Busy", "Item": {"pk": {"S": "no-index"}}});
    let (status, body, _) = raw_request(server.http_addr, PUT, &plain.to_string()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_gsi_has_its_own_read_throughput() {
    let server = TestServer::start().await;
    slow_table(&server, "Indexed").await;
    let (written, _) = put_until_refused(server.http_addr, "Indexed", 3).await;
    assert_eq!(written, 3);
    let query = json!({
        "TableName": "Indexed", "IndexName": "byG",
        "KeyConditionExpression": "g = :g",
        "ExpressionAttributeValues": {":g": {"S": "x"}}
    })
    .to_string();
    // An eventually consistent page under 4 KB costs half a unit: 300 units of burst are
    // about 600 pages.
    let mut refused = None;
    for n in 0..900 {
        let (status, body, _) = raw_request(server.http_addr, QUERY, &query).await;
        if status != 200 {
            refused = Some((n, body));
            break;
        }
    }
    let (n, body) = refused.expect("the index's reads are throttled");
    assert!((600..760).contains(&n), "{n} queries before a refusal");
    let index = format!("{}/index/byG", arn("Indexed"));
    assert_throttled(&body, "IndexReadProvisionedThroughputExceeded", index);
    // The table's own reads are not the index's.
    let base = json!({
        "TableName": "Indexed",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "k0"}}
    })
    .to_string();
    let (status, _, _) = raw_request(server.http_addr, QUERY, &base).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn capacity_off_never_throttles_nor_does_an_on_demand_table_under_its_limits() {
    let off = TestServer::start_with(|c| {
        c.capacity = keyfall_server::config::CapacityMode::Off;
    })
    .await;
    slow_table(&off, "Slow").await;
    let (written, refused) = put_until_refused(off.http_addr, "Slow", 400).await;
    assert_eq!((written, refused), (400, None), "--capacity off");

    let on = TestServer::start().await;
    new_table(
        &on.dynamodb(),
        "OnDemand",
        ("pk", ScalarAttributeType::S),
        None,
    )
    .billing_mode(BillingMode::PayPerRequest)
    .send()
    .await
    .unwrap();
    let (written, refused) = put_until_refused(on.http_addr, "OnDemand", 400).await;
    assert_eq!((written, refused), (400, None), "an on-demand table");
}

/// keyfall-dax answers cache hits itself: like DAX, they take nothing of the table's
/// throughput. The same reads sent to the server are throttled.
#[tokio::test]
async fn cache_hits_through_the_proxy_take_no_throughput() {
    let server = TestServer::start().await;
    // 1 RCU: 300 units of burst, and each eventually consistent read of a 10 KB item
    // costs 1.5.
    provisioned_table(&server, "Cached", 1, 1).await;
    let item = json!({"TableName": "Cached", "Item": {"pk": {"S": "k"}, "blob": {"S": "x".repeat(10_000)}}});
    let (status, _, _) = raw_request(server.http_addr, PUT, &item.to_string()).await;
    assert_eq!(status, 200);
    let get = json!({"TableName": "Cached", "Key": {"pk": {"S": "k"}}}).to_string();
    let proxy = TestProxy::start(&server, |_| {}).await;
    for n in 0..400 {
        let (status, out, _) = raw_request(proxy.http_addr, GET, &get).await;
        assert_eq!(status, 200, "read {n} through the proxy: {out}");
    }
    let text = crate::observability::scrape(&server).await;
    let read = crate::observability::value(
        &text,
        "keyfall_consumed_read_capacity_units_total{table=\"Cached\"}",
    );
    assert!(
        read.is_some_and(|units| units <= 3.0),
        "the server served {read:?} units"
    );
    // Straight to the server, the same reads run out of throughput.
    let mut refused = None;
    for n in 0..400 {
        let (status, out, _) = raw_request(server.http_addr, GET, &get).await;
        if status != 200 {
            refused = Some((n, out));
            break;
        }
    }
    let (n, out) = refused.expect("400 reads of 1.5 units exceed a 300-unit burst");
    assert!(n >= 190, "{n} reads before a refusal");
    assert_eq!(
        out["__type"],
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    );
}
