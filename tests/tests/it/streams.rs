//! DynamoDB Streams through the official Streams SDK, and the gRPC push feed.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeValue as Av, Put, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodbstreams::types::{OperationType, ShardIteratorType};
use keyfall_proto::v1 as pb;
use keyfall_tests::{new_table, TestServer};

async fn streamed_table(db: &aws_sdk_dynamodb::Client, name: &str, view: StreamViewType) {
    new_table(db, name, ("id", ScalarAttributeType::S), None)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Every record of the table's stream from TRIM_HORIZON, through the Streams SDK.
async fn read_all(server: &TestServer, table: &str) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let streams = server.streams();
    let listed = streams
        .list_streams()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let arn = listed.streams()[0].stream_arn().unwrap().to_string();
    let desc = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let shard = desc.stream_description().unwrap().shards()[0]
        .shard_id()
        .unwrap()
        .to_string();
    let mut it = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let mut out = Vec::new();
    loop {
        let page = streams
            .get_records()
            .shard_iterator(&it)
            .limit(3)
            .send()
            .await
            .unwrap();
        if page.records().is_empty() {
            return out;
        }
        out.extend(page.records().iter().cloned());
        it = page.next_shard_iterator.unwrap();
    }
}

#[tokio::test]
async fn every_change_emits_one_record_in_order() {
    let server =
        TestServer::start_with(|c| c.ttl_sweep_interval = Duration::from_millis(100)).await;
    let db = server.dynamodb();
    streamed_table(&db, "events", StreamViewType::NewAndOldImages).await;
    let item = |id: &str, v: &str| -> HashMap<String, Av> {
        [
            ("id".to_string(), Av::S(id.into())),
            ("v".to_string(), Av::N(v.into())),
        ]
        .into()
    };
    db.put_item()
        .table_name("events")
        .set_item(Some(item("a", "1")))
        .send()
        .await
        .unwrap();
    db.put_item()
        .table_name("events")
        .set_item(Some(item("a", "1")))
        .send()
        .await
        .unwrap(); // no change: no record
    db.update_item()
        .table_name("events")
        .key("id", Av::S("a".into()))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", Av::N("2".into()))
        .send()
        .await
        .unwrap();
    db.delete_item()
        .table_name("events")
        .key("id", Av::S("a".into()))
        .send()
        .await
        .unwrap();
    db.transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("events")
                        .set_item(Some(item("t", "1")))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // A TTL deletion is a REMOVE by the service.
    db.update_time_to_live()
        .table_name("events")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("v")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for _ in 0..100 {
        records = read_all(&server, "events").await;
        if records.len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds: Vec<OperationType> = records
        .iter()
        .filter_map(|r| r.event_name.clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            OperationType::Insert,
            OperationType::Modify,
            OperationType::Remove,
            OperationType::Insert,
            OperationType::Remove
        ]
    );
    let seqs: Vec<u128> = records
        .iter()
        .map(|r| {
            r.dynamodb()
                .unwrap()
                .sequence_number()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "ascending sequence numbers: {seqs:?}"
    );
    let modify = records[1].dynamodb().unwrap();
    assert_eq!(
        modify.old_image().unwrap().get("v"),
        Some(&aws_sdk_dynamodbstreams::types::AttributeValue::N(
            "1".into()
        ))
    );
    assert_eq!(
        modify.new_image().unwrap().get("v"),
        Some(&aws_sdk_dynamodbstreams::types::AttributeValue::N(
            "2".into()
        ))
    );
    let ttl_remove = &records[4];
    let identity = ttl_remove.user_identity().unwrap();
    assert_eq!(
        (identity.principal_id(), identity.r#type()),
        (Some("dynamodb.amazonaws.com"), Some("Service"))
    );
    assert!(records[0].user_identity().is_none());
}

#[tokio::test]
async fn keys_only_streams_carry_no_images() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    streamed_table(&db, "keysonly", StreamViewType::KeysOnly).await;
    db.put_item()
        .table_name("keysonly")
        .item("id", Av::S("k".into()))
        .item("x", Av::S("y".into()))
        .send()
        .await
        .unwrap();
    let records = read_all(&server, "keysonly").await;
    assert_eq!(records.len(), 1);
    let body = records[0].dynamodb().unwrap();
    assert!(body.new_image().is_none() && body.old_image().is_none());
    assert_eq!(body.keys().unwrap().len(), 1);
}

#[tokio::test]
async fn push_feed_delivers_in_order_and_resumes_without_gaps() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    streamed_table(&db, "feed", StreamViewType::NewImage).await;
    let mut feed = pb::dynamo_db_streams_client::DynamoDbStreamsClient::new(server.channel().await);
    let mut sub = feed
        .subscribe_changes(pb::SubscribeChangesRequest {
            table_name: "feed".into(),
            starting_position: Some("TRIM_HORIZON".into()),
            sequence_number: None,
            internal: None,
        })
        .await
        .unwrap()
        .into_inner();
    let total = 60;
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            for w in 0..4 {
                let db = db.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..total / 4 {
                        db.put_item()
                            .table_name("feed")
                            .item("id", Av::S(format!("w{w}-{i}")))
                            .send()
                            .await
                            .unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 25 {
        let msg = tokio::time::timeout(Duration::from_secs(10), sub.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(msg.sequence_number.parse::<u64>().unwrap());
    }
    drop(sub); // disconnect mid-way
    let last = *seen.last().unwrap();
    writer.await.unwrap();
    let mut sub = feed
        .subscribe_changes(pb::SubscribeChangesRequest {
            table_name: "feed".into(),
            starting_position: Some("AFTER_SEQUENCE_NUMBER".into()),
            sequence_number: Some(last.to_string()),
            internal: None,
        })
        .await
        .unwrap()
        .into_inner();
    while seen.len() < total {
        let msg = tokio::time::timeout(Duration::from_secs(10), sub.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(msg
            .record
            .unwrap()
            .dynamodb
            .unwrap()
            .new_image
            .contains_key("id"));
        seen.push(msg.sequence_number.parse::<u64>().unwrap());
    }
    let expected: Vec<u64> = (1..=total as u64).collect();
    assert_eq!(
        seen, expected,
        "every record exactly once, in order, across the reconnect"
    );

    // LATEST sees only what comes after the subscription.
    let mut latest = feed
        .subscribe_changes(pb::SubscribeChangesRequest {
            table_name: "feed".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    db.put_item()
        .table_name("feed")
        .item("id", Av::S("after".into()))
        .send()
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), latest.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        msg.sequence_number.parse::<u64>().unwrap(),
        total as u64 + 1
    );
}
