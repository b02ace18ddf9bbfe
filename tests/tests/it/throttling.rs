//! Throughput beyond provisioned buckets: partition (hot key) limits, on-demand ceilings and
//! maxima, batches and transactions refused item by item, and UpdateTable's quotas and
//! decrease limits, each answered with DynamoDB's error, message and throttling reasons.
//! The servers here run with small `[limits]` so a test reaches them in a few requests.

use keyfall_server::engine::throughput::CapacityLimits;
use keyfall_tests::{json_error_name, raw_request, TestServer};
use serde_json::{json, Value};

const PUT: &str = "DynamoDB_20120810.PutItem";
const GET: &str = "DynamoDB_20120810.GetItem";
const CREATE: &str = "DynamoDB_20120810.CreateTable";
const UPDATE: &str = "DynamoDB_20120810.UpdateTable";
const DESCRIBE: &str = "DynamoDB_20120810.DescribeTable";
const BATCH_WRITE: &str = "DynamoDB_20120810.BatchWriteItem";
const BATCH_GET: &str = "DynamoDB_20120810.BatchGetItem";
const TRANSACT_WRITE: &str = "DynamoDB_20120810.TransactWriteItems";
const TRANSACT_GET: &str = "DynamoDB_20120810.TransactGetItems";
const SCALING: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";

/// A server whose partitions serve 20 units a second, with otherwise DynamoDB's limits.
async fn small_partitions() -> TestServer {
    TestServer::start_with(|c| {
        c.limits = CapacityLimits {
            partition_read: 20.0,
            partition_write: 20.0,
            ..CapacityLimits::default()
        }
    })
    .await
}

async fn call(server: &TestServer, target: &str, body: Value) -> (u16, Value) {
    let (status, out, _) = raw_request(server.http_addr, target, &body.to_string()).await;
    (status, out)
}

async fn ok(server: &TestServer, target: &str, body: Value) -> Value {
    let (status, out) = call(server, target, body).await;
    assert_eq!(status, 200, "{target}: {out}");
    out
}

/// A table keyed by `pk` (and `sk`), provisioned at `rcu`/`wcu`, or on demand.
async fn table(server: &TestServer, name: &str, throughput: Option<(i64, i64)>) {
    let mut body = json!({
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
    });
    match throughput {
        Some((r, w)) => {
            body["ProvisionedThroughput"] = json!({"ReadCapacityUnits": r, "WriteCapacityUnits": w})
        }
        None => body["BillingMode"] = json!("PAY_PER_REQUEST"),
    }
    ok(server, CREATE, body).await;
}

fn item(pk: &str, sk: usize) -> Value {
    json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}})
}

/// An item of about `kb` kilobytes (as many write units).
fn big_item(pk: &str, sk: usize, kb: usize) -> Value {
    let mut i = item(pk, sk);
    i["blob"] = json!({"S": "x".repeat(kb * 1024 - 64)});
    i
}

/// Puts items into partition `pk` until one is refused (at most `most`); the refusal.
async fn put_until_refused(server: &TestServer, table: &str, pk: &str, most: usize) -> Value {
    for n in 0..most {
        let body = json!({"TableName": table, "Item": item(pk, n)});
        let (status, out) = call(server, PUT, body).await;
        if status != 200 {
            assert_eq!(status, 400, "{out}");
            return out;
        }
    }
    panic!("{most} writes into partition {pk} of {table} and none refused");
}

fn arn(table: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
}

/// A `ThrottlingException` naming `reason` on table `table`, in DynamoDB's lower-camel
/// `throttlingReasons` member.
fn assert_throttling(out: &Value, reason: &str, table: &str) {
    assert_eq!(json_error_name(out), "ThrottlingException", "{out}");
    assert_eq!(
        out["throttlingReasons"],
        json!([{"reason": reason, "resource": arn(table)}])
    );
}

#[tokio::test]
async fn a_hot_partition_key_is_throttled_while_other_keys_are_not() {
    let server = small_partitions().await;
    // A table with far more throughput than the hot key may take.
    table(&server, "Wide", Some((10_000, 10_000))).await;
    let refused = put_until_refused(&server, "Wide", "hot", 400).await;
    assert_throttling(&refused, "TableWriteKeyRangeThroughputExceeded", "Wide");
    assert_eq!(refused["message"], SCALING);
    // Every other partition key still writes, and the hot one still reads.
    for n in 0..10 {
        let body = json!({"TableName": "Wide", "Item": item(&format!("cold{n}"), 0)});
        ok(&server, PUT, body).await;
    }
    let key = json!({"TableName": "Wide", "Key": item("hot", 0)});
    let got = ok(&server, GET, key).await;
    assert_eq!(got["Item"]["pk"]["S"], "hot");
    // The same refusal over gRPC, with the name in x-amzn-errortype.
    let mut grpc = server.grpc().await;
    let err = loop {
        use keyfall_proto::v1::{attribute_value::Value as V, AttributeValue, PutItemRequest};
        let value = |v: V| AttributeValue { value: Some(v) };
        let put = PutItemRequest {
            table_name: "Wide".into(),
            item: [
                ("pk".to_string(), value(V::S("hot".into()))),
                ("sk".to_string(), value(V::N("1".into()))),
            ]
            .into(),
            ..Default::default()
        };
        if let Err(e) = grpc.put_item(put).await {
            break e;
        }
    };
    assert_eq!(keyfall_tests::error_type(&err), Some("ThrottlingException"));
    // keyfall-dax relays it unchanged: name, message and reasons.
    let proxy = keyfall_tests::TestProxy::start(&server, |_| {}).await;
    let body = json!({"TableName": "Wide", "Item": item("hot", 2)}).to_string();
    let (status, out, _) = raw_request(proxy.http_addr, PUT, &body).await;
    assert_eq!(status, 400, "{out}");
    assert_throttling(&out, "TableWriteKeyRangeThroughputExceeded", "Wide");
    assert_eq!(out["message"], SCALING);
    // And in /metrics, by reason.
    let text = crate::observability::scrape(&server).await;
    let series = "keyfall_write_throttle_events_total{table=\"Wide\",index=\"\",reason=\"KeyRangeThroughputExceeded\"}";
    assert!(crate::observability::value(&text, series).is_some_and(|v| v >= 2.0));
}

#[tokio::test]
async fn an_on_demand_table_serves_its_initial_throughput_and_its_maximum() {
    let server = TestServer::start_with(|c| {
        c.limits = CapacityLimits {
            on_demand_initial_write: 30.0,
            ..CapacityLimits::default()
        }
    })
    .await;
    table(&server, "Fresh", None).await;
    // Across many partition keys, a new table takes its initial throughput, then waits.
    let mut refused = None;
    for n in 0..400 {
        let body = json!({"TableName": "Fresh", "Item": item(&format!("k{n}"), 0)});
        let (status, out) = call(&server, PUT, body).await;
        if status != 200 {
            refused = Some(out);
            break;
        }
    }
    let refused = refused.expect("a new on-demand table throttles beyond its initial throughput");
    assert_throttling(&refused, "TableWriteKeyRangeThroughputExceeded", "Fresh");

    // OnDemandThroughput caps a table: DescribeTable reports it (-1: no maximum).
    let create = json!({
        "TableName": "Capped",
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "OnDemandThroughput": {"MaxWriteRequestUnits": 5}
    });
    ok(&server, CREATE, create).await;
    let described = ok(&server, DESCRIBE, json!({"TableName": "Capped"})).await;
    assert_eq!(
        described["Table"]["OnDemandThroughput"],
        json!({"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 5})
    );
    let mut refused = None;
    for n in 0..100 {
        let body = json!({"TableName": "Capped", "Item": {"pk": {"S": format!("k{n}")}}});
        let (status, out) = call(&server, PUT, body).await;
        if status != 200 {
            refused = Some((n, out));
            break;
        }
    }
    let (n, refused) = refused.expect("the maximum throttles");
    assert!(
        n >= 5,
        "{n} writes before the maximum of 5 a second refused one"
    );
    assert_throttling(
        &refused,
        "TableWriteMaxOnDemandThroughputExceeded",
        "Capped",
    );
    // -1 removes it.
    let update = json!({"TableName": "Capped",
        "OnDemandThroughput": {"MaxWriteRequestUnits": -1}});
    ok(&server, UPDATE, update).await;
    let described = ok(&server, DESCRIBE, json!({"TableName": "Capped"})).await;
    assert_eq!(
        described["Table"]["OnDemandThroughput"]["MaxWriteRequestUnits"],
        -1
    );
    for n in 0..20 {
        let body = json!({"TableName": "Capped", "Item": {"pk": {"S": format!("m{n}")}}});
        ok(&server, PUT, body).await;
    }
    // A provisioned table takes no OnDemandThroughput.
    let provisioned = json!({
        "TableName": "Prov",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        "OnDemandThroughput": {"MaxWriteRequestUnits": 5}
    });
    let (status, out) = call(&server, CREATE, provisioned).await;
    assert_eq!(
        (status, json_error_name(&out).as_str()),
        (400, "ValidationException")
    );
}

#[tokio::test]
async fn batches_return_what_was_throttled_unprocessed() {
    let server = small_partitions().await;
    table(&server, "Batches", Some((10_000, 10_000))).await;
    // 25 writes of 4 KB into one partition are admitted together, and overdraw it by 80
    // units: four seconds to refill.
    let puts = |pk: &str, from: usize| -> Vec<Value> {
        (from..from + 25)
            .map(|n| json!({"PutRequest": {"Item": big_item(pk, n, 4)}}))
            .collect()
    };
    let first = ok(
        &server,
        BATCH_WRITE,
        json!({"RequestItems": {"Batches": puts("hot", 0)}}),
    )
    .await;
    assert_eq!(first["UnprocessedItems"], json!({}));
    // Now nothing of the hot partition is written: the batch is refused whole...
    let (status, out) = call(
        &server,
        BATCH_WRITE,
        json!({"RequestItems": {"Batches": puts("hot", 25)}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_throttling(&out, "TableWriteKeyRangeThroughputExceeded", "Batches");
    // ...and with writes elsewhere, the hot ones come back unprocessed.
    let mut mixed = puts("hot", 50);
    mixed.truncate(3);
    mixed.extend(puts("cool", 0).into_iter().take(5));
    let out = ok(
        &server,
        BATCH_WRITE,
        json!({"RequestItems": {"Batches": mixed}}),
    )
    .await;
    let unprocessed = out["UnprocessedItems"]["Batches"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(unprocessed.len(), 3, "{out}");
    assert!(unprocessed
        .iter()
        .all(|r| r["PutRequest"]["Item"]["pk"]["S"] == "hot"));

    // Reads: a 200 KB item costs 50 read units of the partition's 20.
    ok(
        &server,
        PUT,
        json!({"TableName": "Batches", "Item": big_item("reads", 0, 200)}),
    )
    .await;
    ok(
        &server,
        PUT,
        json!({"TableName": "Batches", "Item": item("other", 0)}),
    )
    .await;
    let get =
        |pk: &str| json!({"TableName": "Batches", "Key": item(pk, 0), "ConsistentRead": true});
    // One read overdraws it by 30 units: a second and a half to refill.
    ok(&server, GET, get("reads")).await;
    let keys = json!({"RequestItems": {"Batches": {"Keys": [item("reads", 0), item("other", 0)]}}});
    let out = ok(&server, BATCH_GET, keys).await;
    assert_eq!(
        out["Responses"]["Batches"].as_array().map(Vec::len),
        Some(1),
        "{out}"
    );
    assert_eq!(
        out["UnprocessedKeys"]["Batches"]["Keys"],
        json!([item("reads", 0)])
    );
}

#[tokio::test]
async fn a_throttled_item_cancels_its_transaction_with_its_reason() {
    let server = small_partitions().await;
    table(&server, "Txn", Some((10_000, 10_000))).await;
    // One 390 KB write overdraws its partition's 20 units by 370.
    ok(
        &server,
        PUT,
        json!({"TableName": "Txn", "Item": big_item("hot", 0, 390)}),
    )
    .await;
    let put = |pk: &str| json!({"Put": {"TableName": "Txn", "Item": item(pk, 1)}});
    let (status, out) = call(
        &server,
        TRANSACT_WRITE,
        json!({"TransactItems": [put("cold"), put("hot")]}),
    )
    .await;
    assert_eq!(
        (status, json_error_name(&out).as_str()),
        (400, "TransactionCanceledException")
    );
    let reasons = &out["CancellationReasons"];
    assert_eq!(reasons[0]["Code"], "None");
    assert_eq!(reasons[1]["Code"], "ThrottlingError");
    assert_eq!(reasons[1]["Message"], SCALING);
    // Nothing was written.
    let got = ok(
        &server,
        GET,
        json!({"TableName": "Txn", "Key": item("cold", 1)}),
    )
    .await;
    assert!(got.get("Item").is_none(), "{got}");

    // A provisioned table out of write capacity: ProvisionedThroughputExceeded.
    table(&server, "Slow", Some((1, 1))).await;
    // 390 units of a 300-unit burst: over a minute to refill.
    ok(
        &server,
        PUT,
        json!({"TableName": "Slow", "Item": big_item("a", 0, 390)}),
    )
    .await;
    let slow = json!({"TransactItems": [{"Put": {"TableName": "Slow", "Item": item("b", 0)}}]});
    let (_, out) = call(&server, TRANSACT_WRITE, slow).await;
    assert_eq!(
        out["CancellationReasons"][0]["Code"],
        "ProvisionedThroughputExceeded"
    );

    // Reads too: one strongly consistent read of it (98 units) overdraws the partition's
    // 20 read units by 78: four seconds to refill.
    let get = json!({"TableName": "Txn", "Key": item("hot", 0), "ConsistentRead": true});
    ok(&server, GET, get).await;
    let get = |pk: &str, sk: usize| json!({"Get": {"TableName": "Txn", "Key": item(pk, sk)}});
    let (_, out) = call(
        &server,
        TRANSACT_GET,
        json!({"TransactItems": [get("hot", 0), get("cold", 0)]}),
    )
    .await;
    assert_eq!(
        json_error_name(&out),
        "TransactionCanceledException",
        "{out}"
    );
    assert_eq!(out["CancellationReasons"][0]["Code"], "ThrottlingError");
    assert_eq!(out["CancellationReasons"][1]["Code"], "None");
}

#[tokio::test]
async fn update_table_keeps_to_the_quotas_and_the_daily_decreases() {
    let server = TestServer::start_with(|c| {
        c.limits = CapacityLimits {
            table_max_read: 500,
            table_max_write: 400,
            ..CapacityLimits::default()
        }
    })
    .await;
    let limits = ok(&server, "DynamoDB_20120810.DescribeLimits", json!({})).await;
    assert_eq!(limits["TableMaxReadCapacityUnits"], 500);
    assert_eq!(limits["TableMaxWriteCapacityUnits"], 400);
    assert_eq!(limits["AccountMaxReadCapacityUnits"], 80_000);
    let create = json!({
        "TableName": "Quota",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 401}
    });
    let (status, out) = call(&server, CREATE, create.clone()).await;
    assert_eq!(
        (status, json_error_name(&out).as_str()),
        (400, "LimitExceededException")
    );
    assert_eq!(
        out["message"],
        "The requested WriteCapacityUnits, 401, is above the per table maximum for the account in us-east-1. Per table maximum: 400. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
    );
    let mut create = create;
    create["ProvisionedThroughput"]["WriteCapacityUnits"] = json!(100);
    ok(&server, CREATE, create).await;
    // Four decreases at any time; the fifth within the hour is refused.
    let set = |r: i64| json!({"TableName": "Quota", "ProvisionedThroughput": {"ReadCapacityUnits": r, "WriteCapacityUnits": 100}});
    for r in [9, 8, 7, 6] {
        ok(&server, UPDATE, set(r)).await;
    }
    let (status, out) = call(&server, UPDATE, set(5)).await;
    assert_eq!(
        (status, json_error_name(&out).as_str()),
        (400, "LimitExceededException")
    );
    let message = out["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: 4. Last decrease at "),
        "{message}"
    );
    // Four switches to on demand a day; back to provisioned at any time.
    let mode = |m: &str| {
        let mut body = json!({"TableName": "Quota", "BillingMode": m});
        if m == "PROVISIONED" {
            body["ProvisionedThroughput"] =
                json!({"ReadCapacityUnits": 6, "WriteCapacityUnits": 100});
        }
        body
    };
    for _ in 0..4 {
        ok(&server, UPDATE, mode("PAY_PER_REQUEST")).await;
        ok(&server, UPDATE, mode("PROVISIONED")).await;
    }
    let (status, out) = call(&server, UPDATE, mode("PAY_PER_REQUEST")).await;
    assert_eq!(
        (status, json_error_name(&out).as_str()),
        (400, "LimitExceededException")
    );
    assert!(
        out["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Subscriber limit exceeded: Update to PayPerRequest mode are limited to 4 times in 1 day(s).")),
        "{out}"
    );
    // Increases are not limited, and the table says how many decreases it had today.
    ok(&server, UPDATE, set(50)).await;
    let described = ok(&server, DESCRIBE, json!({"TableName": "Quota"})).await;
    let throughput = &described["Table"]["ProvisionedThroughput"];
    assert_eq!(throughput["NumberOfDecreasesToday"], 4);
    assert_eq!(throughput["ReadCapacityUnits"], 50);
}
