//! Round trips through the forward direction (`convert`) and the wire encoding.

use std::fmt::Debug;

use serde::de::DeserializeOwned;

use super::super::convert;
use super::super::status::{error_type_of, to_status};
use super::*;
use crate::json::JsonError;
use keyfall_types::types::*;

// ---------------------------------------------------------------- helpers

/// Encodes and decodes `m`, as a trip over the network would.
fn wire<M: Message + Default>(m: &M) -> M {
    M::decode(m.encode_to_vec().as_slice()).expect("decodes")
}

fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// JSON body → input → protobuf → wire → input again, which must equal the first.
fn round_trip<I, P, const N: usize>(
    bodies: [String; N],
    back: fn(I) -> P,
    forward: fn(P) -> Result<I>,
) where
    I: DeserializeOwned + PartialEq + Debug + Clone,
    P: Message + Default,
{
    for body in &bodies {
        let input: I = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        // The input types ignore unknown members: make sure none of the body's was a typo.
        let debug = format!("{input:?}");
        let members: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(body).expect("object");
        for k in members.keys() {
            let field = format!("{}: Some(", snake(k));
            assert!(
                debug.contains(&field),
                "member {k} was not decoded: {debug}"
            );
        }
        let again = forward(wire(&back(input.clone()))).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(again, input, "{body}");
    }
}

fn item(json: &str) -> Item {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Every kind of value, nested, with numbers DynamoDB normalizes.
const KEY: &str = r#"{"pk": {"S": "user#1"}, "sk": {"N": "1.50"}}"#;
const RICH: &str = r#"{
    "pk": {"S": "user#1"}, "sk": {"N": "1.50"},
    "b": {"B": "AAEC/w=="}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "-0.50", "1e3"]},
    "bs": {"BS": ["AA==", "AQ=="]}, "nul": {"NULL": true}, "t": {"BOOL": false},
    "m": {"M": {"inner": {"L": [{"N": "007"}, {"M": {"deep": {"SS": ["x"]}}}, {"L": []}]},
                "empty": {"M": {}}, "s": {"S": ""}}}
}"#;

fn with(template: &str) -> String {
    template.replace("$KEY", KEY).replace("$RICH", RICH)
}

// ---------------------------------------------------------------- requests

#[test]
fn get_item_round_trips() {
    round_trip(
        [
            with(r#"{"TableName": "t", "Key": $KEY}"#),
            with(
                r##"{"TableName": "t", "Key": $KEY, "ConsistentRead": false,
               "ProjectionExpression": "#a, m.inner[1]", "ExpressionAttributeNames": {"#a": "a"},
               "ReturnConsumedCapacity": "INDEXES"}"##,
            ),
            with(
                r#"{"TableName": "t", "Key": $KEY, "AttributesToGet": ["a", "b"], "ConsistentRead": true}"#,
            ),
            // Invalid requests travel too: the engine answers them.
            r#"{"ReturnConsumedCapacity": "bogus"}"#.into(),
        ],
        get_item,
        convert::get_item,
    );
}

#[test]
fn put_item_round_trips() {
    round_trip(
        [
            with(r#"{"TableName": "t", "Item": $RICH}"#),
            with(
                r##"{"TableName": "t", "Item": $RICH, "ConditionExpression": "attribute_not_exists(#p) OR v < :v",
               "ExpressionAttributeNames": {"#p": "pk"},
               "ExpressionAttributeValues": {":v": {"N": "10.0"}, ":m": {"M": {"x": {"NS": ["1"]}}}},
               "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL",
               "ReturnItemCollectionMetrics": "SIZE",
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}"##,
            ),
            with(
                r#"{"TableName": "t", "Item": $KEY, "ConditionalOperator": "OR", "Expected": {
                "a": {"Exists": false},
                "b": {"Value": {"S": "x"}, "Exists": true},
                "c": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "2.50"}]},
                "d": {"ComparisonOperator": "NULL"},
                "e": {"Value": {"L": [{"NULL": true}]}}}}"#,
            ),
        ],
        put_item,
        convert::put_item,
    );
}

#[test]
fn update_item_round_trips() {
    round_trip(
        [
            with(
                r##"{"TableName": "t", "Key": $KEY, "UpdateExpression": "SET #a = :a ADD n :one REMOVE x",
               "ConditionExpression": "attribute_exists(pk)",
               "ExpressionAttributeNames": {"#a": "a"},
               "ExpressionAttributeValues": {":a": {"M": {"l": {"L": [{"S": "v"}]}}}, ":one": {"N": "1"}},
               "ReturnValues": "UPDATED_NEW", "ReturnConsumedCapacity": "INDEXES",
               "ReturnItemCollectionMetrics": "NONE",
               "ReturnValuesOnConditionCheckFailure": "NONE"}"##,
            ),
            with(
                r#"{"TableName": "t", "Key": $KEY, "ConditionalOperator": "AND",
               "AttributeUpdates": {
                   "a": {"Value": {"S": "x"}, "Action": "PUT"},
                   "n": {"Value": {"N": "-1.50"}, "Action": "ADD"},
                   "s": {"Value": {"SS": ["gone"]}, "Action": "DELETE"},
                   "d": {"Action": "DELETE"},
                   "p": {"Value": {"BOOL": true}}},
               "Expected": {"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "x"}, {"S": "y"}]}}}"#,
            ),
        ],
        update_item,
        convert::update_item,
    );
}

#[test]
fn delete_item_round_trips() {
    round_trip(
        [
            with(r#"{"TableName": "t", "Key": $KEY}"#),
            with(
                r##"{"TableName": "t", "Key": $KEY, "ConditionExpression": "#v = :v",
               "ExpressionAttributeNames": {"#v": "v"}, "ExpressionAttributeValues": {":v": {"B": "AQ=="}},
               "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL",
               "ReturnItemCollectionMetrics": "SIZE", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}"##,
            ),
            with(
                r#"{"TableName": "t", "Key": $KEY, "ConditionalOperator": "AND",
               "Expected": {"v": {"Value": {"N": "3"}}, "w": {"Exists": false}}}"#,
            ),
        ],
        delete_item,
        convert::delete_item,
    );
}

#[test]
fn query_round_trips() {
    round_trip(
        [
        with(
            r##"{"TableName": "t", "IndexName": "gsi", "Select": "ALL_PROJECTED_ATTRIBUTES",
               "Limit": 25, "ConsistentRead": false, "ScanIndexForward": false,
               "ExclusiveStartKey": $KEY, "ReturnConsumedCapacity": "INDEXES",
               "ProjectionExpression": "#a, b", "FilterExpression": "size(m) > :z",
               "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
               "ExpressionAttributeNames": {"#a": "a"},
               "ExpressionAttributeValues": {":pk": {"S": "user#1"}, ":p": {"S": "2024"}, ":z": {"N": "0.0"}}}"##,
        ),
        r#"{"TableName": "t", "Select": "SPECIFIC_ATTRIBUTES", "AttributesToGet": ["a"],
            "ConditionalOperator": "OR",
            "KeyConditions": {
                "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "user#1"}]},
                "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1.50"}, {"N": "1e2"}]}},
            "QueryFilter": {
                "a": {"ComparisonOperator": "NOT_NULL"},
                "b": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"B": "AAE="}]}}}"#
            .into(),
        r#"{"TableName": "t", "Select": "COUNT", "Limit": 0}"#.into(),
        ],
        query,
        convert::query,
    );
}

#[test]
fn scan_round_trips() {
    round_trip(
        [
            with(
                r##"{"TableName": "t", "IndexName": "lsi", "Limit": 1000000, "Select": "ALL_ATTRIBUTES",
               "ExclusiveStartKey": $KEY, "ReturnConsumedCapacity": "TOTAL",
               "TotalSegments": 4, "Segment": 3, "ProjectionExpression": "#a",
               "FilterExpression": "#a IN (:x, :y)", "ExpressionAttributeNames": {"#a": "a"},
               "ExpressionAttributeValues": {":x": {"NULL": true}, ":y": {"NS": ["1", "2"]}},
               "ConsistentRead": true}"##,
            ),
            r#"{"TableName": "t", "AttributesToGet": ["a", "b"], "ConditionalOperator": "AND",
            "ScanFilter": {
                "a": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "-12.000"}]},
                "b": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "x"}]}}}"#
                .into(),
            r#"{"TableName": "t", "Segment": -1, "TotalSegments": 0}"#.into(),
        ],
        scan,
        convert::scan,
    );
}

#[test]
fn batch_get_round_trips() {
    round_trip(
        [
            with(
                r##"{"RequestItems": {
                "t1": {"Keys": [$KEY, {"pk": {"S": "user#2"}, "sk": {"N": "2"}}],
                       "ConsistentRead": true, "ProjectionExpression": "#a, b",
                       "ExpressionAttributeNames": {"#a": "a"}},
                "t2": {"Keys": [{"id": {"B": "AAE="}}], "AttributesToGet": ["x", "y"]}},
               "ReturnConsumedCapacity": "TOTAL"}"##,
            ),
            r#"{"RequestItems": {"t": {"Keys": []}}}"#.into(),
        ],
        batch_get,
        convert::batch_get,
    );
}

#[test]
fn batch_write_round_trips() {
    round_trip(
        [
            with(
                r#"{"RequestItems": {
                "t1": [{"PutRequest": {"Item": $RICH}}, {"DeleteRequest": {"Key": $KEY}}],
                "t2": [{"PutRequest": {"Item": {"id": {"N": "1.50"}, "l": {"L": [{"M": {}}]}}}}]},
               "ReturnConsumedCapacity": "INDEXES", "ReturnItemCollectionMetrics": "SIZE"}"#,
            ),
            // Neither or both requests: the engine rejects these, so they must reach it intact.
            with(
                r#"{"RequestItems": {"t": [{}, {"PutRequest": {"Item": $KEY}, "DeleteRequest": {"Key": $KEY}}]}}"#,
            ),
        ],
        batch_write,
        convert::batch_write,
    );
}

#[test]
fn transact_write_round_trips() {
    round_trip(
        [
            with(
                r##"{"TransactItems": [
                {"ConditionCheck": {"TableName": "t", "Key": $KEY, "ConditionExpression": "#v > :v",
                    "ExpressionAttributeNames": {"#v": "v"}, "ExpressionAttributeValues": {":v": {"N": "1.50"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                {"Put": {"TableName": "t", "Item": $RICH, "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "NONE"}},
                {"Put": {"TableName": "t", "Item": $KEY}},
                {"Delete": {"TableName": "t", "Key": $KEY, "ConditionExpression": "a = :a",
                    "ExpressionAttributeValues": {":a": {"SS": ["x"]}}}},
                {"Delete": {"TableName": "t", "Key": $KEY}},
                {"Update": {"TableName": "t", "Key": $KEY, "UpdateExpression": "SET #a = :a",
                    "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeNames": {"#a": "a"},
                    "ExpressionAttributeValues": {":a": {"L": [{"N": "1"}, {"BOOL": true}]}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}],
               "ReturnConsumedCapacity": "TOTAL", "ReturnItemCollectionMetrics": "SIZE",
               "ClientRequestToken": "token-1"}"##,
            ),
            // Invalid shapes the engine must see as they are: nothing, or two actions in one.
            with(
                r#"{"TransactItems": [{}, {"Put": {"TableName": "t", "Item": $KEY},
                                      "Delete": {"TableName": "t", "Key": $KEY}}]}"#,
            ),
        ],
        transact_write,
        convert::transact_write,
    );
}

#[test]
fn transact_get_round_trips() {
    round_trip(
        [
            with(
                r##"{"TransactItems": [
                {"Get": {"TableName": "t1", "Key": $KEY, "ProjectionExpression": "#a, m.inner",
                         "ExpressionAttributeNames": {"#a": "a"}}},
                {"Get": {"TableName": "t2", "Key": {"id": {"S": "x"}}}},
                {}],
               "ReturnConsumedCapacity": "INDEXES"}"##,
            ),
            r#"{"TransactItems": []}"#.into(),
        ],
        transact_get,
        convert::transact_get,
    );
}

/// The corners proto3 cannot carry, pinned so that a change is a decision.
#[test]
fn lossy_corners() {
    let i: GetItemInput = serde_json::from_str(
        r#"{"TableName": "", "AttributesToGet": [], "ExpressionAttributeNames": {}, "Key": {}}"#,
    )
    .expect("decodes");
    let back = convert::get_item(get_item(i)).expect("converts");
    assert_eq!(back, GetItemInput::default());

    let i: QueryInput = serde_json::from_str(r#"{"Limit": 99999999999}"#).expect("decodes");
    assert_eq!(
        convert::query(query(i)).expect("converts").limit,
        Some(i64::from(i32::MAX))
    );
    let i: ScanInput = serde_json::from_str(r#"{"Limit": -99999999999}"#).expect("decodes");
    assert_eq!(
        convert::scan(scan(i)).expect("converts").limit,
        Some(i64::from(i32::MIN))
    );

    let back = convert::batch_get(batch_get(BatchGetItemInput::default())).expect("converts");
    assert_eq!(back.request_items, Some(HashMap::new()));
    let back = convert::transact_write(transact_write(TransactWriteItemsInput::default()))
        .expect("converts");
    assert_eq!(back.transact_items, Some(Vec::new()));

    // Members a transactional action's message does not have.
    let i: TransactWriteItemsInput = serde_json::from_str(
        r#"{"TransactItems": [{"ConditionCheck": {"TableName": "t", "Key": {"k": {"S": "a"}},
            "Item": {"k": {"S": "a"}}, "UpdateExpression": "SET a = b", "ConditionExpression": "c"}}]}"#,
    )
    .expect("decodes");
    let back = convert::transact_write(transact_write(i)).expect("converts");
    let check = back.transact_items.expect("items")[0]
        .condition_check
        .clone()
        .expect("check");
    assert_eq!((check.item, check.update_expression), (None, None));
}

// ---------------------------------------------------------------- responses

fn capacity(units: f64) -> Capacity {
    Capacity {
        capacity_units: units,
        read_capacity_units: Some(units / 2.0),
        write_capacity_units: None,
    }
}

fn consumed(table: &str, indexes: bool) -> ConsumedCapacity {
    let breakdown = |names: &[&str]| {
        Some(
            names
                .iter()
                .map(|n| (n.to_string(), capacity(1.5)))
                .collect(),
        )
    };
    ConsumedCapacity {
        table_name: table.into(),
        capacity_units: 4.5,
        read_capacity_units: Some(3.0),
        write_capacity_units: Some(1.5),
        table: indexes.then(|| capacity(2.0)),
        local_secondary_indexes: if indexes { breakdown(&["lsi"]) } else { None },
        global_secondary_indexes: if indexes {
            breakdown(&["g1", "g2"])
        } else {
            None
        },
    }
}

fn metrics() -> ItemCollectionMetrics {
    ItemCollectionMetrics {
        item_collection_key: item(r#"{"pk": {"S": "user#1"}}"#),
        size_estimate_range_gb: vec![0.0, 1.0],
    }
}

#[test]
fn get_item_output_round_trips() {
    let outputs = [
        GetItemOutput::default(),
        GetItemOutput {
            item: Some(item(RICH)),
            consumed_capacity: Some(consumed("t", true)),
        },
        GetItemOutput {
            item: None,
            consumed_capacity: Some(consumed("t", false)),
        },
    ];
    for out in outputs {
        // As `DynamoDbService::get_item` answers.
        let p = pb::GetItemResponse {
            item: out
                .item
                .as_ref()
                .map(convert::item_to_proto)
                .unwrap_or_default(),
            consumed_capacity: out
                .consumed_capacity
                .as_ref()
                .map(|c| Member::into_proto(c.clone())),
        };
        assert_eq!(get_item_output(wire(&p)).expect("converts"), out);
    }
}

#[test]
fn write_outputs_round_trip() {
    let outputs = [
        WriteItemOutput::default(),
        WriteItemOutput {
            attributes: Some(item(RICH)),
            consumed_capacity: Some(consumed("t", true)),
            item_collection_metrics: Some(metrics()),
        },
        WriteItemOutput {
            attributes: Some(item(r#"{"n": {"N": "1.50"}}"#)),
            consumed_capacity: Some(consumed("t", false)),
            item_collection_metrics: None,
        },
    ];
    for out in outputs {
        let put = convert::put_item_response(out.clone());
        let update = convert::update_item_response(out.clone());
        let delete = convert::delete_item_response(out.clone());
        assert_eq!(put_item_output(wire(&put)).expect("converts"), out);
        assert_eq!(update_item_output(wire(&update)).expect("converts"), out);
        assert_eq!(delete_item_output(wire(&delete)).expect("converts"), out);
    }
}

#[test]
fn page_outputs_round_trip() {
    let outputs = [
        QueryOutput {
            items: Some(vec![item(RICH), item(KEY)]),
            count: 2,
            scanned_count: 7,
            last_evaluated_key: Some(item(KEY)),
            consumed_capacity: Some(consumed("t", true)),
        },
        QueryOutput {
            items: Some(Vec::new()),
            count: 0,
            scanned_count: 3,
            ..Default::default()
        },
        // Select COUNT.
        QueryOutput {
            items: None,
            count: 5,
            scanned_count: 5,
            last_evaluated_key: None,
            consumed_capacity: Some(consumed("t", false)),
        },
    ];
    for out in outputs {
        let q = convert::query_response(out.clone());
        let s = convert::scan_response(out.clone());
        // An empty page reads as one without `Items` (see `convert_back`'s doc).
        let out = QueryOutput {
            items: out.items.clone().filter(|items| !items.is_empty()),
            ..out
        };
        assert_eq!(query_output(wire(&q)).expect("converts"), out);
        assert_eq!(scan_output(wire(&s)).expect("converts"), out);
    }
}

#[test]
fn batch_outputs_round_trip() {
    let keys: KeysAndAttributes = serde_json::from_str(&with(
        r##"{"Keys": [$KEY], "ConsistentRead": true, "ProjectionExpression": "#a",
            "ExpressionAttributeNames": {"#a": "a"}, "AttributesToGet": ["b"]}"##,
    ))
    .expect("decodes");
    let gets = [
        BatchGetItemOutput::default(),
        BatchGetItemOutput {
            responses: [
                ("t1".to_string(), vec![item(RICH), item(KEY)]),
                ("t2".to_string(), Vec::new()),
            ]
            .into(),
            unprocessed_keys: [("t3".to_string(), keys)].into(),
            consumed_capacity: Some(vec![consumed("t1", true), consumed("t2", false)]),
        },
    ];
    for out in gets {
        let p = convert::batch_get_response(out.clone());
        assert_eq!(batch_get_output(wire(&p)).expect("converts"), out);
    }

    let requests: Vec<WriteRequest> = serde_json::from_str(&with(
        r#"[{"PutRequest": {"Item": $RICH}}, {"DeleteRequest": {"Key": $KEY}}]"#,
    ))
    .expect("decodes");
    let writes = [
        BatchWriteItemOutput::default(),
        BatchWriteItemOutput {
            unprocessed_items: [("t1".to_string(), requests)].into(),
            consumed_capacity: Some(vec![consumed("t1", true)]),
            item_collection_metrics: Some(
                [
                    ("t1".to_string(), vec![metrics(), metrics()]),
                    ("t2".to_string(), vec![metrics()]),
                ]
                .into(),
            ),
        },
    ];
    for out in writes {
        let p = convert::batch_write_response(out.clone());
        assert_eq!(batch_write_output(wire(&p)).expect("converts"), out);
    }
}

#[test]
fn transact_outputs_round_trip() {
    let writes = [
        TransactWriteItemsOutput::default(),
        TransactWriteItemsOutput {
            consumed_capacity: Some(vec![consumed("t1", true), consumed("t2", false)]),
            item_collection_metrics: Some([("t1".to_string(), vec![metrics()])].into()),
        },
    ];
    for out in writes {
        let p = convert::transact_write_response(out.clone());
        assert_eq!(transact_write_output(wire(&p)).expect("converts"), out);
    }
    let gets = [
        TransactGetItemsOutput::default(),
        TransactGetItemsOutput {
            responses: vec![
                ItemResponse {
                    item: Some(item(RICH)),
                },
                ItemResponse { item: None },
                ItemResponse {
                    item: Some(item(KEY)),
                },
            ],
            consumed_capacity: Some(vec![consumed("t", true)]),
        },
    ];
    for out in gets {
        let p = convert::transact_get_response(out.clone());
        assert_eq!(transact_get_output(wire(&p)).expect("converts"), out);
    }
}

#[test]
fn bad_values_in_responses_are_errors() {
    let bad = pb::AttributeValue {
        value: Some(pb::attribute_value::Value::N("one".into())),
    };
    let r = pb::GetItemResponse {
        item: [("n".to_string(), bad)].into(),
        consumed_capacity: None,
    };
    let err = get_item_output(r).expect_err("bad number");
    assert_eq!(err.type_name(), "ValidationException");
}

// ---------------------------------------------------------------- errors

/// Every variant, with and without structured members. A function, since `Error` is not
/// `Clone`.
fn all_errors() -> Vec<Error> {
    vec![
        Error::Validation("1 validation error detected: Value 'x' at 'limit'".into()),
        Error::ResourceNotFound("Requested resource not found".into()),
        Error::ResourceInUse("Table already exists: t".into()),
        Error::ConditionalCheckFailed { item: None },
        Error::ConditionalCheckFailed {
            item: Some(item(RICH)),
        },
        Error::LimitExceeded("Too many tables".into()),
        Error::Throttled {
            name: "ProvisionedThroughputExceededException",
            message: "The level of configured provisioned throughput for the table was exceeded."
                .into(),
            reasons: vec![ThrottlingReason {
                reason: "TableWriteProvisionedThroughputExceeded".into(),
                resource: "arn:aws:dynamodb:us-east-1:000000000000:table/t".into(),
            }],
        },
        Error::TransactionCanceled {
            reasons: vec![
                CancellationReason {
                    code: "None".into(),
                    message: None,
                    item: None,
                },
                CancellationReason {
                    code: "ConditionalCheckFailed".into(),
                    message: Some("The conditional request failed".into()),
                    item: Some(item(RICH)),
                },
                CancellationReason {
                    code: "ValidationError".into(),
                    message: Some("bad ünïcode message".into()),
                    item: None,
                },
            ],
        },
        Error::TransactionCanceled { reasons: vec![] },
        Error::IdempotentParameterMismatch("token reused".into()),
        Error::ItemCollectionSizeLimitExceeded("Item collection size limit exceeded".into()),
        Error::ExpiredIterator("Iterator expired".into()),
        Error::TrimmedDataAccess("trimmed".into()),
        Error::Unimplemented("Scan"),
        Error::Unimplemented("UpdateTable with ReplicaUpdates"),
        Error::Unimplemented("SomeFutureAction"),
        Error::Internal("disk on fire".into()),
        Error::Internal(String::new()),
    ]
}

/// The status as the client side sees it after the trip through HTTP/2 trailers.
fn over_the_wire(s: &Status) -> Status {
    let mut headers = http::HeaderMap::new();
    s.add_header(&mut headers).expect("encodes");
    Status::from_header_map(&headers).expect("decodes")
}

fn body(e: Error) -> serde_json::Value {
    serde_json::from_slice(&JsonError::Engine(e).body()).expect("json")
}

#[test]
fn errors_round_trip() {
    for (e, original) in all_errors().into_iter().zip(all_errors()) {
        let back = status_to_error(&over_the_wire(&to_status(e)));
        assert_eq!(back.type_name(), original.type_name(), "{original:?}");
        assert_eq!(back.to_string(), original.to_string(), "{original:?}");
        match (&back, &original) {
            (
                Error::ConditionalCheckFailed { item: a },
                Error::ConditionalCheckFailed { item: b },
            ) => assert_eq!(a, b),
            (
                Error::TransactionCanceled { reasons: a },
                Error::TransactionCanceled { reasons: b },
            ) => assert_eq!(a, b),
            _ => {}
        }
        assert_eq!(body(back), body(original));
    }
}

#[test]
fn foreign_statuses() {
    let e = status_to_error(&Status::unavailable("connection refused"));
    assert!(
        matches!(&e, Error::Internal(m) if m == "connection refused"),
        "{e:?}"
    );

    let mut auth = Status::permission_denied("User is not authorized");
    auth.metadata_mut().insert(
        ERROR_TYPE_KEY,
        tonic::metadata::MetadataValue::from_static("AccessDeniedException"),
    );
    let e = status_to_error(&auth);
    assert!(
        matches!(&e, Error::Internal(m) if m == "AccessDeniedException: User is not authorized"),
        "{e:?}"
    );

    let typed = |code: Code, name: &'static str| {
        let mut s = Status::new(code, "msg");
        s.metadata_mut().insert(
            ERROR_TYPE_KEY,
            tonic::metadata::MetadataValue::from_static(name),
        );
        status_to_error(&s)
    };
    let e = typed(Code::Unknown, "NotDynamoDbsException");
    assert!(
        matches!(&e, Error::Internal(m) if m == "NotDynamoDbsException: msg"),
        "{e:?}"
    );

    // Undecodable details lose the structured members, not the error.
    let mut s = Status::new(Code::FailedPrecondition, "The conditional request failed");
    s.metadata_mut().insert(
        ERROR_TYPE_KEY,
        tonic::metadata::MetadataValue::from_static("ConditionalCheckFailedException"),
    );
    s.metadata_mut().insert_bin(
        ERROR_DETAILS_KEY,
        tonic::metadata::BinaryMetadataValue::from_bytes(&[0xff, 0xff, 0xff]),
    );
    let e = status_to_error(&s);
    assert!(
        matches!(e, Error::ConditionalCheckFailed { item: None }),
        "{e:?}"
    );
}

/// Every error of the shared table other than authentication's comes back from a status
/// with its name, message and HTTP status unchanged: what keyfall-dax relays is what the
/// server said (throttling no longer turns into LimitExceeded).
#[test]
fn every_error_name_of_the_shared_table_round_trips() {
    for row in keyfall_proto::errors::ERRORS {
        if matches!(
            row.grpc_code,
            Code::Unauthenticated | Code::PermissionDenied
        ) {
            continue;
        }
        let mut s = Status::new(row.grpc_code, "the message");
        s.metadata_mut().insert(
            ERROR_TYPE_KEY,
            tonic::metadata::MetadataValue::from_static(row.name),
        );
        let e = status_to_error(&s);
        assert_eq!(e.type_name(), row.name);
        let again = to_status(e);
        assert_eq!(again.code(), row.grpc_code, "{}", row.name);
        assert_eq!(error_type_of(&again), row.name);
        if !matches!(
            row.name,
            "ConditionalCheckFailedException" | "TransactionCanceledException"
        ) {
            assert!(again.message().contains("the message"), "{}", row.name);
        }
    }
}
