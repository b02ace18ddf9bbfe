//! TransactWriteItems and TransactGetItems through the official AWS SDK.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, ConditionCheck, Get, Put, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TransactGetItem, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{new_table, TestServer};

async fn accounts(db: &Client) {
    new_table(db, "accounts", ("id", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
}

fn key(id: &str) -> HashMap<String, Av> {
    [("id".to_string(), Av::S(id.into()))].into()
}

fn debit(id: &str, amount: i64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name("accounts")
                .set_key(Some(key(id)))
                .update_expression("SET balance = balance - :a")
                .condition_expression("balance >= :a")
                .expression_attribute_values(":a", Av::N(amount.to_string()))
                .build()
                .unwrap(),
        )
        .build()
}

fn credit(id: &str, amount: i64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name("accounts")
                .set_key(Some(key(id)))
                .update_expression("SET balance = balance + :a")
                .expression_attribute_values(":a", Av::N(amount.to_string()))
                .build()
                .unwrap(),
        )
        .build()
}

async fn balances(db: &Client, n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for i in 0..n {
        let item = db
            .get_item()
            .table_name("accounts")
            .set_key(Some(key(&format!("acct{i}"))))
            .send()
            .await
            .unwrap();
        match item.item.unwrap().get("balance") {
            Some(Av::N(b)) => out.push(b.parse().unwrap()),
            other => panic!("{other:?}"),
        }
    }
    out
}

#[tokio::test]
async fn concurrent_transfers_preserve_the_total() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    accounts(&db).await;
    let n = 8;
    for i in 0..n {
        let mut item = key(&format!("acct{i}"));
        item.insert("balance".into(), Av::N("100".into()));
        db.put_item()
            .table_name("accounts")
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let mut clients = Vec::new();
    for c in 0..16usize {
        let db = db.clone();
        clients.push(tokio::spawn(async move {
            let (mut done, mut cancelled) = (0, 0);
            for t in 0..40usize {
                let from = (c * 7 + t * 3) % n;
                let to = (from + 1 + (c + t) % (n - 1)) % n;
                let amount = ((c * 13 + t * 17) % 60 + 1) as i64;
                let res = db
                    .transact_write_items()
                    .transact_items(debit(&format!("acct{from}"), amount))
                    .transact_items(credit(&format!("acct{to}"), amount))
                    .send()
                    .await;
                match res {
                    Ok(_) => done += 1,
                    Err(e) => {
                        assert_eq!(e.code(), Some("TransactionCanceledException"), "{e:?}");
                        cancelled += 1;
                    }
                }
            }
            (done, cancelled)
        }));
    }
    let (mut done, mut cancelled) = (0, 0);
    for c in clients {
        let (d, x) = c.await.unwrap();
        done += d;
        cancelled += x;
    }
    let b = balances(&db, n).await;
    assert_eq!(
        b.iter().sum::<i64>(),
        100 * n as i64,
        "money is neither created nor lost: {b:?}"
    );
    assert!(b.iter().all(|v| *v >= 0), "no balance goes negative: {b:?}");
    assert!(done > 0 && done + cancelled == 16 * 40);
}

#[tokio::test]
async fn cancellation_reasons_and_nothing_applied() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    accounts(&db).await;
    let mut item = key("a");
    item.insert("balance".into(), Av::N("5".into()));
    db.put_item()
        .table_name("accounts")
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let err = db
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("accounts")
                        .set_item(Some(key("new")))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name("accounts")
                        .set_key(Some(key("a")))
                        .condition_expression("balance > :x")
                        .expression_attribute_values(":x", Av::N("100".into()))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]")
    );
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            let reasons = e.cancellation_reasons();
            assert_eq!(reasons.len(), 2);
            assert_eq!(reasons[0].code(), Some("None"));
            assert_eq!(reasons[1].code(), Some("ConditionalCheckFailed"));
            assert_eq!(
                reasons[1].item().and_then(|i| i.get("balance")),
                Some(&Av::N("5".into()))
            );
        }
        other => panic!("{other:?}"),
    }
    let none = db
        .get_item()
        .table_name("accounts")
        .set_key(Some(key("new")))
        .send()
        .await
        .unwrap();
    assert!(
        none.item.is_none(),
        "a cancelled transaction applies nothing"
    );

    let err = db
        .transact_write_items()
        .transact_items(credit("a", 1))
        .transact_items(debit("a", 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Transaction request cannot include multiple operations on one item")
    );

    // An item-level validation problem cancels with a ValidationError reason for its action.
    let err = db
        .transact_write_items()
        .transact_items(credit("a", 1))
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("accounts")
                        .item("id", Av::N("7".into()))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            let codes: Vec<_> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or_default())
                .collect();
            assert_eq!(codes, ["None", "ValidationError"]);
            assert!(e.cancellation_reasons()[1]
                .message()
                .unwrap_or_default()
                .contains("Type mismatch for key id"));
        }
        other => panic!("{other:?}"),
    }

    let got = db
        .transact_get_items()
        .transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name("accounts")
                        .set_key(Some(key("a")))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name("accounts")
                        .set_key(Some(key("missing")))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let responses = got.responses();
    assert_eq!(responses.len(), 2);
    assert_eq!(
        responses[0].item().and_then(|i| i.get("balance")),
        Some(&Av::N("5".into()))
    );
    assert!(responses[1].item().is_none());
}

#[tokio::test]
async fn client_request_tokens_are_idempotent_across_a_restart() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    accounts(&db).await;
    let mut item = key("a");
    item.insert("balance".into(), Av::N("0".into()));
    db.put_item()
        .table_name("accounts")
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let send = |db: Client, amount: i64| async move {
        db.transact_write_items()
            .transact_items(credit("a", amount))
            .client_request_token("token-1")
            .send()
            .await
    };
    send(db.clone(), 10).await.unwrap();
    send(db.clone(), 10).await.unwrap();
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let db = server.dynamodb();
    send(db.clone(), 10)
        .await
        .expect("the same request with the same token succeeds again");
    assert_eq!(balances_of(&db, "a").await, 10, "applied once");
    let err = send(db.clone(), 20).await.unwrap_err();
    assert_eq!(err.code(), Some("IdempotentParameterMismatchException"));
}

async fn balances_of(db: &Client, id: &str) -> i64 {
    let item = db
        .get_item()
        .table_name("accounts")
        .set_key(Some(key(id)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    match item.get("balance") {
        Some(Av::N(b)) => b.parse().unwrap(),
        other => panic!("{other:?}"),
    }
}
