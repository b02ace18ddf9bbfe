//! Issue 18, the Streams API through the DynamoDB Streams SDK: a disabled stream's shard
//! closes (EndingSequenceNumber, DISABLED) and stays readable to its end, where
//! GetRecords stops handing out iterators; re-enabling makes a new stream; writes that
//! change nothing leave no record.

use aws_sdk_dynamodb::types::{
    AttributeValue as Av, StreamSpecification, StreamViewType, TableDescription,
};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use keyfall_tests::{new_table, stream_on, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_stream_closes_and_stays_readable() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    let streams = server.streams();
    new_table(
        &db,
        "closing",
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .stream_specification(stream_on(StreamViewType::NewAndOldImages))
    .send()
    .await
    .expect("create");
    let describe = || async {
        db.describe_table()
            .table_name("closing")
            .send()
            .await
            .expect("describe")
            .table
            .expect("table")
    };
    let set_stream = |spec: StreamSpecification| async {
        db.update_table()
            .table_name("closing")
            .stream_specification(spec)
            .send()
            .await
            .expect("update stream")
    };
    let put = |pk: &str, v: &str| {
        db.put_item()
            .table_name("closing")
            .item("pk", Av::S(pk.into()))
            .item("v", Av::S(v.into()))
    };
    put("a", "1").send().await.expect("put a");
    put("b", "1").send().await.expect("put b");
    // Writes that change nothing: an identical put, a delete of a missing item, an update
    // that sets what is there.
    put("a", "1").send().await.expect("identical put");
    db.delete_item()
        .table_name("closing")
        .key("pk", Av::S("missing".into()))
        .send()
        .await
        .expect("delete missing");
    db.update_item()
        .table_name("closing")
        .key("pk", Av::S("b".into()))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", Av::S("1".into()))
        .send()
        .await
        .expect("no-op update");
    put("a", "2").send().await.expect("modify a");

    let arn = describe().await.latest_stream_arn.expect("a stream");

    let off = StreamSpecification::builder().stream_enabled(false).build();
    set_stream(off.expect("spec")).await;
    // Written after the close: in no stream.
    put("c", "1").send().await.expect("put c");

    let table: TableDescription = describe().await;
    assert!(table.stream_specification.is_none(), "{table:?}");
    assert_eq!(table.latest_stream_arn.as_deref(), Some(arn.as_str()));

    let described = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("describe stream")
        .stream_description
        .expect("description");
    assert_eq!(
        described.stream_status.as_ref().map(|s| s.as_str()),
        Some("DISABLED")
    );
    let shards = described.shards.unwrap_or_default();
    assert_eq!(shards.len(), 1);
    let shard = &shards[0];
    let range = shard.sequence_number_range.as_ref().expect("range");
    assert!(
        range.ending_sequence_number.is_some(),
        "a closed shard ends: {shard:?}"
    );
    assert!(described.last_evaluated_shard_id.is_none());

    // Read the closed shard to its end: three records, then no next iterator.
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard.shard_id.clone().expect("id"))
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator;
    let mut events = Vec::new();
    let mut rounds = 0;
    while let Some(it) = iterator {
        rounds += 1;
        assert!(rounds < 10, "a closed shard must end");
        let page = streams
            .get_records()
            .shard_iterator(it)
            .limit(2)
            .send()
            .await
            .expect("records");
        for r in page.records.unwrap_or_default() {
            let key = r
                .dynamodb
                .as_ref()
                .and_then(|d| d.keys.as_ref())
                .and_then(|k| k.get("pk"))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            events.push(format!(
                "{}:{key}",
                r.event_name
                    .map(|e| e.as_str().to_string())
                    .unwrap_or_default()
            ));
        }
        iterator = page.next_shard_iterator;
    }
    assert_eq!(events, ["INSERT:a", "INSERT:b", "MODIFY:a"]);

    // The closed stream is still listed; re-enabling makes a new one beside it.
    set_stream(stream_on(StreamViewType::KeysOnly)).await;
    let table = describe().await;
    let new_arn = table.latest_stream_arn.clone().expect("new stream");
    assert_ne!(new_arn, arn);
    assert_ne!(
        table.latest_stream_label,
        Some(arn.rsplit('/').next().unwrap_or("").into())
    );
    let listed: Vec<String> = streams
        .list_streams()
        .table_name("closing")
        .send()
        .await
        .expect("list")
        .streams
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.stream_arn)
        .collect();
    assert!(
        listed.contains(&arn) && listed.contains(&new_arn),
        "{listed:?}"
    );
    let status = |arn: String| {
        let streams = streams.clone();
        async move {
            streams
                .describe_stream()
                .stream_arn(arn)
                .send()
                .await
                .expect("describe")
                .stream_description
                .and_then(|d| d.stream_status)
                .map(|s| s.as_str().to_string())
        }
    };
    assert_eq!(status(arn).await.as_deref(), Some("DISABLED"));
    assert_eq!(status(new_arn).await.as_deref(), Some("ENABLED"));
}
