//! The same engine through the gRPC API (`keyfall.v1`).

use std::collections::HashMap;

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::attribute_value::Value;
use keyfall_tests::{error_type, TestServer};
use tonic::Code;

fn s(v: &str) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(Value::S(v.into())),
    }
}

fn n(v: &str) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(Value::N(v.into())),
    }
}

async fn create_table(
    client: &mut keyfall_proto::v1::dynamo_db_client::DynamoDbClient<keyfall_tests::GrpcChannel>,
) {
    client
        .create_table(pb::CreateTableRequest {
            table_name: "users".into(),
            key_schema: vec![pb::KeySchemaElement {
                attribute_name: "id".into(),
                key_type: "HASH".into(),
            }],
            attribute_definitions: vec![pb::AttributeDefinition {
                attribute_name: "id".into(),
                attribute_type: "S".into(),
            }],
            billing_mode: Some("PAY_PER_REQUEST".into()),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn tables_and_items_over_grpc() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    create_table(&mut client).await;
    let desc = client
        .describe_table(pb::DescribeTableRequest {
            table_name: "users".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .table
        .unwrap();
    assert_eq!(
        desc.table_arn.as_deref(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/users")
    );

    let item: HashMap<_, _> = [
        ("id".to_string(), s("u1")),
        ("age".to_string(), n("041.50")),
    ]
    .into();
    client
        .put_item(pb::PutItemRequest {
            table_name: "users".into(),
            item,
            ..Default::default()
        })
        .await
        .unwrap();
    let got = client
        .get_item(pb::GetItemRequest {
            table_name: "users".into(),
            key: [("id".to_string(), s("u1"))].into(),
            consistent_read: Some(true),
            return_consumed_capacity: Some("TOTAL".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.item.get("age"),
        Some(&n("41.5")),
        "numbers come back canonical"
    );
    assert_eq!(got.consumed_capacity.unwrap().capacity_units, Some(1.0));

    let deleted = client
        .delete_item(pb::DeleteItemRequest {
            table_name: "users".into(),
            key: [("id".to_string(), s("u1"))].into(),
            return_values: Some("ALL_OLD".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.attributes.get("id"), Some(&s("u1")));
}

#[tokio::test]
async fn errors_carry_the_dynamodb_error_type() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let err = client
        .describe_table(pb::DescribeTableRequest {
            table_name: "missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(error_type(&err), Some("ResourceNotFoundException"));

    create_table(&mut client).await;
    let err = client
        .create_table(pb::CreateTableRequest {
            table_name: "users".into(),
            key_schema: vec![pb::KeySchemaElement {
                attribute_name: "id".into(),
                key_type: "HASH".into(),
            }],
            attribute_definitions: vec![pb::AttributeDefinition {
                attribute_name: "id".into(),
                attribute_type: "S".into(),
            }],
            billing_mode: Some("PAY_PER_REQUEST".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(error_type(&err), Some("ResourceInUseException"));

    let err = client
        .put_item(pb::PutItemRequest {
            table_name: "users".into(),
            item: [("id".to_string(), n("1"))].into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(error_type(&err), Some("ValidationException"));
    assert!(
        err.message()
            .contains("Type mismatch for key id expected: S actual: N"),
        "{}",
        err.message()
    );

    let err = client
        .put_item(pb::PutItemRequest {
            table_name: "users".into(),
            item: [
                ("id".to_string(), s("a")),
                ("x".to_string(), pb::AttributeValue { value: None }),
            ]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&err), Some("ValidationException"));

    let err = client
        .create_global_table(pb::CreateGlobalTableRequest {
            global_table_name: "users".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(
        err.message().contains("CreateGlobalTable"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn echo_answers() {
    let server = TestServer::start().await;
    let mut echo =
        keyfall_proto::v1::diagnostics_client::DiagnosticsClient::new(server.channel().await);
    let out = echo
        .echo(pb::EchoRequest {
            payload: b"ping".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.payload, b"ping");
}

#[tokio::test]
async fn query_scan_and_batches_over_grpc() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    client
        .create_table(pb::CreateTableRequest {
            table_name: "events".into(),
            key_schema: vec![
                pb::KeySchemaElement {
                    attribute_name: "pk".into(),
                    key_type: "HASH".into(),
                },
                pb::KeySchemaElement {
                    attribute_name: "sk".into(),
                    key_type: "RANGE".into(),
                },
            ],
            attribute_definitions: vec![
                pb::AttributeDefinition {
                    attribute_name: "pk".into(),
                    attribute_type: "S".into(),
                },
                pb::AttributeDefinition {
                    attribute_name: "sk".into(),
                    attribute_type: "N".into(),
                },
            ],
            billing_mode: Some("PAY_PER_REQUEST".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let writes = (0..20)
        .map(|i| pb::WriteRequest {
            put_request: Some(pb::PutRequest {
                item: [
                    ("pk".to_string(), s("e")),
                    ("sk".to_string(), n(&i.to_string())),
                ]
                .into(),
            }),
            delete_request: None,
        })
        .collect();
    client
        .batch_write_item(pb::BatchWriteItemRequest {
            request_items: [(
                "events".to_string(),
                pb::WriteRequestList { values: writes },
            )]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let page = client
        .query(pb::QueryRequest {
            table_name: "events".into(),
            key_condition_expression: Some("pk = :p AND sk >= :from".into()),
            expression_attribute_values: [
                (":p".to_string(), s("e")),
                (":from".to_string(), n("15")),
            ]
            .into(),
            scan_index_forward: Some(false),
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let sks: Vec<_> = page.items.iter().map(|m| m.values["sk"].clone()).collect();
    assert_eq!(sks, vec![n("19"), n("18"), n("17")]);
    assert_eq!(page.last_evaluated_key.get("sk"), Some(&n("17")));

    let scan = client
        .scan(pb::ScanRequest {
            table_name: "events".into(),
            select: Some("COUNT".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((scan.count, scan.scanned_count), (20, 20));

    let got = client
        .batch_get_item(pb::BatchGetItemRequest {
            request_items: [(
                "events".to_string(),
                pb::KeysAndAttributes {
                    keys: vec![pb::MapValue {
                        values: [("pk".to_string(), s("e")), ("sk".to_string(), n("3"))].into(),
                    }],
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.responses["events"].values.len(), 1);
}
