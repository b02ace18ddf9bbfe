//! Table actions through the official AWS SDK over the DynamoDB JSON API.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    BillingMode, KeyType, ProvisionedThroughput, ScalarAttributeType, Tag,
};
use keyfall_tests::{attribute as attr, key_element as key, raw_request, TestServer};

#[tokio::test]
async fn create_describe_list_update_delete() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    let created = db
        .create_table()
        .table_name("Music")
        .key_schema(key("Artist", KeyType::Hash))
        .key_schema(key("SongTitle", KeyType::Range))
        .attribute_definitions(attr("Artist", ScalarAttributeType::S))
        .attribute_definitions(attr("SongTitle", ScalarAttributeType::S))
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("team").value("audio").build().unwrap())
        .send()
        .await
        .unwrap();
    let desc = created.table_description.unwrap();
    assert_eq!(
        desc.table_arn(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/Music")
    );
    // CreateTable answers CREATING, as DynamoDB does; with no activation delay the table is
    // ACTIVE by the next call.
    assert_eq!(desc.table_status().map(|s| s.as_str()), Some("CREATING"));
    let now = db
        .describe_table()
        .table_name("Music")
        .send()
        .await
        .unwrap();
    assert_eq!(
        now.table.unwrap().table_status().map(|s| s.as_str()),
        Some("ACTIVE")
    );
    assert!(desc.table_id().is_some() && desc.creation_date_time().is_some());

    let err = db
        .create_table()
        .table_name("Music")
        .key_schema(key("Artist", KeyType::Hash))
        .attribute_definitions(attr("Artist", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceInUseException"));

    for name in ["Books", "Albums"] {
        db.create_table()
            .table_name(name)
            .key_schema(key("id", KeyType::Hash))
            .attribute_definitions(attr("id", ScalarAttributeType::N))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
    }
    let page = db.list_tables().limit(2).send().await.unwrap();
    assert_eq!(page.table_names(), ["Albums", "Books"]);
    assert_eq!(page.last_evaluated_table_name(), Some("Books"));
    let page = db
        .list_tables()
        .exclusive_start_table_name("Books")
        .send()
        .await
        .unwrap();
    assert_eq!(page.table_names(), ["Music"]);
    assert_eq!(page.last_evaluated_table_name(), None);

    let updated = db
        .update_table()
        .table_name("Music")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let summary = updated
        .table_description
        .unwrap()
        .billing_mode_summary
        .unwrap();
    assert_eq!(summary.billing_mode(), Some(&BillingMode::PayPerRequest));

    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Music";
    db.tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    db.untag_resource()
        .resource_arn(arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = db
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("env", "prod")]);

    let deleted = db.delete_table().table_name("Music").send().await.unwrap();
    assert_eq!(
        deleted
            .table_description
            .unwrap()
            .table_status()
            .map(|s| s.as_str()),
        Some("DELETING")
    );
    let err = db
        .describe_table()
        .table_name("Music")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn create_table_validation_errors() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    let cases: Vec<(aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder, &str)> = vec![
        (
            db.create_table()
                .table_name("ab")
                .key_schema(key("id", KeyType::Hash))
                .attribute_definitions(attr("id", ScalarAttributeType::S))
                .billing_mode(BillingMode::PayPerRequest),
            "TableName must be at least 3 characters long and at most 255 characters long",
        ),
        (
            db.create_table()
                .table_name("no-throughput")
                .key_schema(key("id", KeyType::Hash))
                .attribute_definitions(attr("id", ScalarAttributeType::S)),
            "ReadCapacityUnits and WriteCapacityUnits must both be specified",
        ),
        (
            db.create_table()
                .table_name("extra-def")
                .key_schema(key("id", KeyType::Hash))
                .attribute_definitions(attr("id", ScalarAttributeType::S))
                .attribute_definitions(attr("other", ScalarAttributeType::S))
                .billing_mode(BillingMode::PayPerRequest),
            "Some AttributeDefinitions are not used. AttributeDefinitions: [id, other], keys used: [id]",
        ),
        (
            db.create_table()
                .table_name("undefined-key")
                .key_schema(key("id", KeyType::Hash))
                .key_schema(key("sk", KeyType::Range))
                .attribute_definitions(attr("id", ScalarAttributeType::S))
                .billing_mode(BillingMode::PayPerRequest),
            "Some index key attributes are not defined in AttributeDefinitions",
        ),
        (
            db.create_table()
                .table_name("ppr-with-throughput")
                .key_schema(key("id", KeyType::Hash))
                .attribute_definitions(attr("id", ScalarAttributeType::S))
                .billing_mode(BillingMode::PayPerRequest)
                .provisioned_throughput(ProvisionedThroughput::builder().read_capacity_units(1).write_capacity_units(1).build().unwrap()),
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
    ];
    for (req, want) in cases {
        let err = req.send().await.unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "{want}");
        assert!(
            err.message().unwrap_or_default().contains(want),
            "{:?} should contain {want}",
            err.message()
        );
    }
    assert!(db
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .is_empty());
}

#[tokio::test]
async fn wire_level_errors_and_headers() {
    let server = TestServer::start().await;
    let (status, body, headers) = raw_request(
        server.http_addr,
        "DynamoDB_20120810.ListTables",
        "{not json",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#SerializationException"
    );
    let crc = headers
        .iter()
        .find(|(k, _)| k == "x-amz-crc32")
        .map(|(_, v)| v.clone());
    assert!(crc.is_some(), "x-amz-crc32 header present");
    assert!(headers.iter().any(|(k, _)| k == "x-amzn-requestid"));

    let (status, body, _) =
        raw_request(server.http_addr, "DynamoDB_20120810.NoSuchAction", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );

    let (status, body, _) = raw_request(
        server.http_addr,
        "DynamoDB_20120810.DescribeTable",
        r#"{"TableName": 5}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#SerializationException"
    );

    let (status, body, _) =
        raw_request(server.http_addr, "DynamoDB_20120810.DescribeTable", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.validate#ValidationException"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Value null at 'tableName'"));

    let (status, body, _) =
        raw_request(server.http_addr, "DynamoDB_20120810.DescribeLimits", "{}").await;
    assert_eq!(status, 200);
    assert_eq!(body["TableMaxReadCapacityUnits"], 40000);
}

#[tokio::test]
async fn tables_survive_a_restart() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    db.create_table()
        .table_name("durable")
        .key_schema(key("id", KeyType::Hash))
        .attribute_definitions(attr("id", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let desc = server
        .dynamodb()
        .describe_table()
        .table_name("durable")
        .send()
        .await
        .unwrap();
    assert_eq!(desc.table.unwrap().table_name(), Some("durable"));
}

/// With `--table-activation-delay`, a new table is CREATING for that long: item calls on it
/// are ResourceNotFoundException (as in DynamoDB), and the SDK's waiter sees it turn ACTIVE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_table_is_creating_until_the_activation_delay_passes() {
    use aws_sdk_dynamodb::client::Waiters;
    let server = TestServer::start_with(|c| {
        c.table_activation_delay = std::time::Duration::from_millis(1500);
    })
    .await;
    let db = server.dynamodb();
    let created = keyfall_tests::new_table(&db, "Slow", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let status = |d: Option<&aws_sdk_dynamodb::types::TableDescription>| {
        d.and_then(|d| d.table_status())
            .map(|s| s.as_str().to_string())
    };
    assert_eq!(
        status(created.table_description()).as_deref(),
        Some("CREATING")
    );
    let described = db.describe_table().table_name("Slow").send().await.unwrap();
    assert_eq!(status(described.table()).as_deref(), Some("CREATING"));
    let err = db
        .put_item()
        .table_name("Slow")
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    db.wait_until_table_exists()
        .table_name("Slow")
        .wait(std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let described = db.describe_table().table_name("Slow").send().await.unwrap();
    assert_eq!(status(described.table()).as_deref(), Some("ACTIVE"));
    db.put_item()
        .table_name("Slow")
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
}

/// The action added as issue 19's walk-through (one table row, its conversion, one engine
/// method): a table has no Kinesis destination, as DynamoDB answers for a table without
/// one, on the server and through keyfall-dax; a missing table is ResourceNotFound.
#[tokio::test]
async fn describe_kinesis_streaming_destination_lists_no_destinations() {
    use keyfall_tests::{new_table, TestProxy, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY};
    let server = TestServer::start().await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    new_table(
        &server.dynamodb(),
        "Music",
        ("Artist", ScalarAttributeType::S),
        None,
    )
    .send()
    .await
    .unwrap();
    let clients = [
        ("server", server.dynamodb()),
        (
            "proxy",
            proxy.dynamodb_as(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
        ),
    ];
    for (via, db) in clients {
        let out = db
            .describe_kinesis_streaming_destination()
            .table_name("Music")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{via}: {e:?}"));
        assert_eq!(out.table_name(), Some("Music"), "{via}");
        assert!(out.kinesis_data_stream_destinations().is_empty(), "{via}");
        let err = db
            .describe_kinesis_streaming_destination()
            .table_name("Nope")
            .send()
            .await
            .expect_err("no such table");
        assert_eq!(err.code(), Some("ResourceNotFoundException"), "{via}");
    }
    // Enabling one stays unbuilt, and says so.
    let err = server
        .dynamodb()
        .enable_kinesis_streaming_destination()
        .table_name("Music")
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/s")
        .send()
        .await
        .expect_err("unbuilt");
    assert_eq!(err.code(), Some("UnknownOperationException"));
}
