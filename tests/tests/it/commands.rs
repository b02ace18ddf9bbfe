//! Issue 19: a request decodes into the command the engine runs, and authorization reads
//! that command. A request that does not decode is still authorized on its table before
//! anyone learns whether the table exists.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValue as Av, AttributeValueUpdate, ExpectedAttributeValue,
    ScalarAttributeType as St,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{new_table, user_with_policy, TestProxy, TestServer};

fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => format!("ok: {v:?}"),
        Err(e) => e.code().unwrap_or("<none>").to_string(),
    }
}

/// A PutItem whose ConditionExpression does not parse.
async fn malformed_put(db: &Client, table: &str) -> String {
    code(
        db.put_item()
            .table_name(table)
            .item("pk", Av::S("a".into()))
            .condition_expression("a = = b")
            .send()
            .await,
    )
}

/// A server with tables `Open` and `Closed`, and a user allowed every action on `Open*`
/// only.
async fn open_and_closed(user: &str) -> (TestServer, keyfall_proto::v1::AccessKey) {
    let server = TestServer::start().await;
    for t in ["Open", "Closed"] {
        new_table(&server.dynamodb(), t, ("pk", St::S), None)
            .send()
            .await
            .unwrap();
    }
    let key = user_with_policy(
        &server,
        user,
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*",
            "Resource": "arn:aws:dynamodb:*:*:table/Open*"}]}"#,
    )
    .await;
    (server, key)
}

#[tokio::test]
async fn a_malformed_request_tells_table_existence_only_to_callers_allowed_on_the_table() {
    let (server, key) = open_and_closed("carol").await;
    let root = server.dynamodb();
    // keyfall-dax authorizing its callers, as its own user upstream.
    let proxy_key = user_with_policy(
        &server,
        "proxy",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
            "Action": ["keyfall:ExportPrincipals", "keyfall:FollowChanges", "dynamodb:*"]}]}"#,
    )
    .await;
    let proxy = TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some(proxy_key.access_key_id.clone());
        c.secret_access_key = Some(proxy_key.secret_access_key.clone());
    })
    .await;
    let carol_direct = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let carol_proxied = proxy.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    // As DynamoDB answers: a missing table before a malformed member.
    assert_eq!(
        malformed_put(&root, "Missing").await,
        "ResourceNotFoundException"
    );
    assert_eq!(malformed_put(&root, "Open").await, "ValidationException");
    for carol in [&carol_direct, &carol_proxied] {
        assert_eq!(
            malformed_put(carol, "OpenMissing").await,
            "ResourceNotFoundException"
        );
        assert_eq!(malformed_put(carol, "Open").await, "ValidationException");
        // Not allowed on the table: the request's own error, the same whether or not the
        // table exists.
        assert_eq!(malformed_put(carol, "Closed").await, "ValidationException");
        assert_eq!(
            malformed_put(carol, "ClosedMissing").await,
            "ValidationException"
        );
        // A well-formed request there is refused.
        let r = carol
            .put_item()
            .table_name("Closed")
            .item("pk", Av::S("a".into()))
            .send()
            .await;
        assert_eq!(code(r), "AccessDeniedException");
    }
}

#[tokio::test]
async fn legacy_members_are_authorized_as_the_trees_they_become() {
    let server = TestServer::start().await;
    let root = server.dynamodb();
    new_table(&root, "Notes", ("pk", St::S), None)
        .send()
        .await
        .unwrap();
    let key = user_with_policy(
        &server,
        "dora",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*",
            "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "body"]}}}]}"#,
    )
    .await;
    let dora = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let update = |attr: &str| {
        dora.update_item()
            .table_name("Notes")
            .key("pk", Av::S("n1".into()))
            .attribute_updates(
                attr,
                AttributeValueUpdate::builder()
                    .action(AttributeAction::Put)
                    .value(Av::S("x".into()))
                    .build(),
            )
    };
    assert!(update("body").send().await.is_ok());
    assert_eq!(code(update("owner").send().await), "AccessDeniedException");
    // Expected names an attribute the policy does not allow: the condition it becomes
    // reads it.
    let r = update("body")
        .expected(
            "owner",
            ExpectedAttributeValue::builder().exists(false).build(),
        )
        .send()
        .await;
    assert_eq!(code(r), "AccessDeniedException");
    // AttributesToGet is the projection it becomes.
    let get = |attr: &str| {
        dora.get_item()
            .table_name("Notes")
            .key("pk", Av::S("n1".into()))
            .attributes_to_get(attr)
            .send()
    };
    assert!(get("body").await.is_ok());
    assert_eq!(code(get("owner").await), "AccessDeniedException");
}

/// A transaction with an allowed Put and a hostile part on a table the caller may not
/// touch (which exists or not): the hostile part is authorized as its table's, or, when it
/// is refused before any table is read, answers the same whether or not the table exists.
#[tokio::test]
async fn a_hostile_transaction_part_tells_nothing_of_a_table_it_may_not_touch() {
    use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};
    let (server, key) = open_and_closed("erin").await;
    let root = server.dynamodb();
    let erin = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let put = || {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("Open")
                    .item("pk", Av::S("a".into()))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let pk = || std::collections::HashMap::from([("pk".to_string(), Av::S("b".into()))]);
    let send = |part: TransactWriteItem| {
        erin.transact_write_items()
            .transact_items(put())
            .transact_items(part)
            .send()
    };
    for table in ["Closed", "ClosedMissing"] {
        // A condition that does not parse, on the forbidden table: refused on that table.
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(pk()))
            .condition_expression("a = = b")
            .build()
            .unwrap();
        let part = TransactWriteItem::builder().condition_check(check).build();
        assert_eq!(code(send(part).await), "AccessDeniedException", "{table}");
        // A part naming two actions is refused before any table is read: the same answer
        // for both tables, and the items of the allowed Put are not written.
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(pk()))
            .build()
            .unwrap();
        let both = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(pk()))
                    .build()
                    .unwrap(),
            )
            .delete(delete)
            .build();
        assert_eq!(code(send(both).await), "ValidationException", "{table}");
    }
    let stored = root
        .get_item()
        .table_name("Open")
        .key("pk", Av::S("a".into()))
        .send()
        .await
        .unwrap();
    assert!(stored.item.is_none(), "a refused transaction wrote nothing");
}
