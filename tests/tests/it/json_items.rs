//! Item actions and expressions through the official AWS SDK over the DynamoDB JSON API.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValue as Av, AttributeValueUpdate, ExpectedAttributeValue,
    ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{new_table, TestServer};

async fn table(db: &Client, name: &str) {
    new_table(
        db,
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .send()
    .await
    .unwrap();
}

fn key(pk: &str, sk: &str) -> HashMap<String, Av> {
    [
        ("pk".to_string(), Av::S(pk.into())),
        ("sk".to_string(), Av::N(sk.into())),
    ]
    .into()
}

fn n(v: &str) -> Av {
    Av::N(v.into())
}

#[tokio::test]
async fn put_get_delete_with_every_type() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "items").await;
    let mut item = key("a", "1.50");
    item.insert("s".into(), Av::S("text".into()));
    item.insert("b".into(), Av::B(vec![0, 1, 2].into()));
    item.insert("ss".into(), Av::Ss(vec!["x".into(), "y".into()]));
    item.insert("ns".into(), Av::Ns(vec!["1".into(), "-0.5".into()]));
    item.insert("bs".into(), Av::Bs(vec![vec![9].into()]));
    item.insert(
        "m".into(),
        Av::M(
            [(
                "deep".to_string(),
                Av::L(vec![Av::Null(true), Av::Bool(false)]),
            )]
            .into(),
        ),
    );
    item.insert("big".into(), n("12345678901234567890123456789012345678"));
    db.put_item()
        .table_name("items")
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap();

    let got = db
        .get_item()
        .table_name("items")
        .set_key(Some(key("a", "1.5")))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let got = got.item.unwrap();
    assert_eq!(
        got.get("sk"),
        Some(&n("1.5")),
        "number keys are canonical: 1.50 and 1.5 are one key"
    );
    for attr in ["s", "b", "ss", "bs", "m", "big"] {
        assert_eq!(got.get(attr), item.get(attr), "{attr}");
    }

    let projected = db
        .get_item()
        .table_name("items")
        .set_key(Some(key("a", "1.5")))
        .projection_expression("m.deep[1], #s")
        .expression_attribute_names("#s", "s")
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(projected.len(), 2);
    assert_eq!(
        projected.get("m"),
        Some(&Av::M(
            [("deep".to_string(), Av::L(vec![Av::Bool(false)]))].into()
        ))
    );

    let deleted = db
        .delete_item()
        .table_name("items")
        .set_key(Some(key("a", "1.5")))
        .return_values(ReturnValue::AllOld)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.attributes.unwrap().get("s"),
        Some(&Av::S("text".into()))
    );
    assert_eq!(deleted.consumed_capacity.unwrap().capacity_units, Some(1.0));
    let gone = db
        .get_item()
        .table_name("items")
        .set_key(Some(key("a", "1.5")))
        .send()
        .await
        .unwrap();
    assert!(gone.item.is_none());
}

#[tokio::test]
async fn conditions_and_return_values() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "cond").await;
    let mut item = key("a", "1");
    item.insert("n".into(), n("5"));
    db.put_item()
        .table_name("cond")
        .set_item(Some(item.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap();
    let err = db
        .put_item()
        .table_name("cond")
        .set_item(Some(item.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConditionalCheckFailedException"));
    let service_err = err.into_service_error();
    let returned = match service_err {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => {
            e.item
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        returned.unwrap().get("n"),
        Some(&n("5")),
        "the item comes back with ALL_OLD"
    );

    let out = db
        .update_item()
        .table_name("cond")
        .set_key(Some(key("a", "1")))
        .update_expression(
            "SET n = n + :inc, tags = list_append(if_not_exists(tags, :empty), :t) REMOVE gone",
        )
        .condition_expression("n BETWEEN :lo AND :hi")
        .expression_attribute_values(":inc", n("2.5"))
        .expression_attribute_values(":empty", Av::L(vec![]))
        .expression_attribute_values(":t", Av::L(vec![Av::S("new".into())]))
        .expression_attribute_values(":lo", n("1"))
        .expression_attribute_values(":hi", n("10"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes.unwrap();
    assert_eq!(attrs.get("n"), Some(&n("7.5")));
    assert_eq!(attrs.get("tags"), Some(&Av::L(vec![Av::S("new".into())])));
    assert!(
        !attrs.contains_key("pk"),
        "UPDATED_NEW returns only updated attributes"
    );

    let err = db
        .update_item()
        .table_name("cond")
        .set_key(Some(key("a", "1")))
        .update_expression("SET pk = :v")
        .expression_attribute_values(":v", Av::S("b".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(err
        .message()
        .unwrap()
        .contains("Cannot update attribute pk. This attribute is part of the key"));

    let err = db
        .update_item()
        .table_name("cond")
        .set_key(Some(key("a", "1")))
        .update_expression("SET a = :one")
        .expression_attribute_values(":one", n("1"))
        .expression_attribute_values(":two", n("2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Value provided in ExpressionAttributeValues unused in expressions: keys: {:two}")
    );

    let err = db
        .put_item()
        .table_name("cond")
        .set_item(Some(item.clone()))
        .condition_expression("n = = :x")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .starts_with("Invalid ConditionExpression: Syntax error; token: \"=\""),
        "{:?}",
        err.message()
    );
}

#[tokio::test]
async fn legacy_parameters() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "legacy").await;
    let out = db
        .update_item()
        .table_name("legacy")
        .set_key(Some(key("a", "1")))
        .attribute_updates(
            "count",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Add)
                .value(n("3"))
                .build(),
        )
        .attribute_updates(
            "name",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Put)
                .value(Av::S("x".into()))
                .build(),
        )
        .expected(
            "count",
            ExpectedAttributeValue::builder().exists(false).build(),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes.unwrap().get("count"), Some(&n("3")));
    let err = db
        .update_item()
        .table_name("legacy")
        .set_key(Some(key("a", "1")))
        .attribute_updates(
            "count",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Add)
                .value(n("3"))
                .build(),
        )
        .expected(
            "count",
            ExpectedAttributeValue::builder().exists(false).build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConditionalCheckFailedException"));
    let got = db
        .get_item()
        .table_name("legacy")
        .set_key(Some(key("a", "1")))
        .attributes_to_get("count")
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(got, HashMap::from([("count".to_string(), n("3"))]));
    let err = db
        .get_item()
        .table_name("legacy")
        .set_key(Some(key("a", "1")))
        .attributes_to_get("count")
        .projection_expression("count")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .message()
        .unwrap()
        .contains("Can not use both expression and non-expression parameters"));
}

#[tokio::test]
async fn limits_and_validation() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "limits").await;
    let cases: Vec<(HashMap<String, Av>, &str)> = vec![
        (
            [
                ("pk".to_string(), Av::S("a".into())),
                ("sk".to_string(), Av::S("x".into())),
            ]
            .into(),
            "Type mismatch for key sk expected: N actual: S",
        ),
        (
            [("pk".to_string(), Av::S("a".into()))].into(),
            "Missing the key sk in the item",
        ),
        (
            [
                ("pk".to_string(), Av::S(String::new())),
                ("sk".to_string(), n("1")),
            ]
            .into(),
            "The AttributeValue for a key attribute cannot contain an empty string value",
        ),
        (
            {
                let mut k = key("a", "1");
                k.insert("x".into(), Av::Ss(vec![]));
                k
            },
            "may not be empty",
        ),
        (
            {
                let mut k = key("a", "1");
                k.insert("x".into(), Av::Ns(vec!["1".into(), "1.0".into()]));
                k
            },
            "contains duplicates",
        ),
        (
            {
                let mut k = key("a", "1");
                k.insert("x".into(), n("1E+126"));
                k
            },
            "Number overflow",
        ),
        (
            {
                let mut k = key("a", "1");
                k.insert("x".into(), n("1E-131"));
                k
            },
            "Number underflow",
        ),
        (
            {
                let mut k = key("a", "1");
                k.insert("x".into(), n("1234567890123456789012345678901234567890"));
                k
            },
            "more than 38 significant digits in a Number",
        ),
        (
            {
                let mut k = key("a", "1");
                k.insert("x".into(), Av::S("q".repeat(400 * 1024)));
                k
            },
            "Item size has exceeded the maximum allowed size",
        ),
        (
            [
                ("pk".to_string(), Av::S("p".repeat(2049))),
                ("sk".to_string(), n("1")),
            ]
            .into(),
            "Size of hashkey has exceeded the maximum size limit",
        ),
    ];
    for (item, want) in cases {
        let err = db
            .put_item()
            .table_name("limits")
            .set_item(Some(item))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationException"), "{want}");
        assert!(
            err.message().unwrap_or_default().contains(want),
            "{:?} should contain {want}",
            err.message()
        );
    }
    // Exactly at the limit is accepted: 400 KB counting names ("pk", "sk", "x").
    let mut item = key("a", "1");
    let overhead = 2 + 1 + 2 + 2 + 1;
    item.insert("x".into(), Av::S("q".repeat(400 * 1024 - overhead)));
    let out = db
        .put_item()
        .table_name("limits")
        .set_item(Some(item))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(out.consumed_capacity.unwrap().capacity_units, Some(400.0));
    let err = db
        .put_item()
        .table_name("missing-table")
        .set_item(Some(key("a", "1")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn concurrent_adds_never_lose_updates_and_conditions_are_atomic() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "counters").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                db.update_item()
                    .table_name("counters")
                    .set_key(Some(key("c", "0")))
                    .update_expression("ADD hits :one")
                    .expression_attribute_values(":one", n("1"))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let item = db
        .get_item()
        .table_name("counters")
        .set_key(Some(key("c", "0")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item.get("hits"), Some(&n("400")));

    // 16 racers try to create the same item; exactly one may win.
    let mut racers = Vec::new();
    for i in 0..16 {
        let db = db.clone();
        racers.push(tokio::spawn(async move {
            let mut item = key("race", "1");
            item.insert("winner".into(), n(&i.to_string()));
            db.put_item()
                .table_name("counters")
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .is_ok()
        }));
    }
    let mut wins = 0;
    for r in racers {
        wins += usize::from(r.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn items_survive_a_restart_and_counts_are_reported() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "persist").await;
    for i in 0..20 {
        db.put_item()
            .table_name("persist")
            .set_item(Some(key("p", &i.to_string())))
            .send()
            .await
            .unwrap();
    }
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let db = server.dynamodb();
    let got = db
        .get_item()
        .table_name("persist")
        .set_key(Some(key("p", "7")))
        .send()
        .await
        .unwrap();
    assert!(got.item.is_some());
    // Counts are recounted in the background after a restart (DynamoDB's are approximate too).
    let mut desc = None;
    for _ in 0..200 {
        let d = db
            .describe_table()
            .table_name("persist")
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        if d.item_count() == Some(20) {
            desc = Some(d);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let desc = desc.expect("ItemCount reaches 20 after the restart");
    assert!(desc.table_size_bytes().unwrap_or(0) > 0);
}
