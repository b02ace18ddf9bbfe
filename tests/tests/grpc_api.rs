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
    client: &mut keyfall_proto::v1::dynamo_db_client::DynamoDbClient<tonic::transport::Channel>,
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
        .query(pb::QueryRequest {
            table_name: "users".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(err.message().contains("Query"), "{}", err.message());
}

#[tokio::test]
async fn echo_answers() {
    let server = TestServer::start().await;
    let mut echo = keyfall_proto::v1::diagnostics_client::DiagnosticsClient::connect(format!(
        "http://{}",
        server.grpc_addr
    ))
    .await
    .unwrap();
    let out = echo
        .echo(pb::EchoRequest {
            payload: b"ping".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.payload, b"ping");
}
