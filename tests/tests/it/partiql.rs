//! PartiQL at the boundary through aws-sdk-dynamodb: paging with Limit and NextToken (Scans,
//! Queries, an IN's partitions), capacity, a failed condition's old item, idempotent
//! transactions, and authorization per statement (`dynamodb:PartiQL*`, FullTableScan,
//! LeadingKeys). The dialect's corners are the recorded cases of `wire_cases/partiql.jsonl`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, ParameterizedStatement, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{error_code, new_table, TestProxy, TestServer};
use serde_json::json;

type Item = HashMap<String, Av>;

const ACCOUNT: &str = "000000000000";

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

async fn run(db: &Client, statement: &str, params: &[Av]) -> Vec<Item> {
    db.execute_statement()
        .statement(statement)
        .set_parameters((!params.is_empty()).then(|| params.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e:?}"))
        .items
        .unwrap_or_default()
}

/// Every page of a SELECT, following NextToken, with `limit` per page.
async fn pages(db: &Client, statement: &str, limit: i32) -> (Vec<Item>, usize) {
    let (mut items, mut count, mut token) = (Vec::new(), 0, None);
    loop {
        let page = db
            .execute_statement()
            .statement(statement)
            .limit(limit)
            .set_next_token(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
        count += 1;
        assert!(page.items().len() <= limit as usize);
        items.extend(page.items.unwrap_or_default());
        token = page.next_token;
        if token.is_none() {
            return (items, count);
        }
        assert!(count < 100, "{statement}: no end of pages");
    }
}

fn sk(i: &Item) -> i64 {
    match i.get("sk") {
        Some(Av::N(n)) => n.parse().unwrap(),
        other => panic!("sk {other:?}"),
    }
}

fn pk(i: &Item) -> &str {
    match i.get("pk") {
        Some(Av::S(s)) => s,
        other => panic!("pk {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selects_page_with_limit_and_next_token() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "Pages").await;
    for (p, n) in [("p", 25), ("q", 10)] {
        for i in 0..n {
            run(
                &db,
                "INSERT INTO Pages VALUE {'pk': ?, 'sk': ?, 'odd': ?}",
                &[Av::S(p.into()), Av::N(i.to_string()), Av::Bool(i % 2 == 1)],
            )
            .await;
        }
    }
    // A Query's pages, in sort key order, then backwards.
    let (items, count) = pages(&db, "SELECT * FROM Pages WHERE pk = 'p'", 10).await;
    assert_eq!(
        items.iter().map(sk).collect::<Vec<_>>(),
        (0..25).collect::<Vec<_>>()
    );
    assert_eq!(count, 3);
    let (items, _) = pages(
        &db,
        "SELECT * FROM Pages WHERE pk = 'p' ORDER BY sk DESC",
        7,
    )
    .await;
    assert_eq!(
        items.iter().map(sk).collect::<Vec<_>>(),
        (0..25).rev().collect::<Vec<_>>()
    );
    // Limit counts items read, not items kept: a filtered page may come back short.
    let (items, _) = pages(&db, "SELECT sk FROM Pages WHERE pk = 'p' AND odd = true", 4).await;
    assert_eq!(items.len(), 12);
    assert!(items.iter().all(|i| i.len() == 1));
    // A Scan's pages: every item once.
    let (items, count) = pages(&db, "SELECT * FROM Pages", 8).await;
    assert_eq!(items.len(), 35);
    assert!(count >= 5);
    let mut keys: Vec<_> = items.iter().map(|i| (pk(i).to_string(), sk(i))).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 35);
    // An IN's partitions, one after the other, pages crossing between them.
    let (items, _) = pages(
        &db,
        "SELECT * FROM Pages WHERE pk IN ['q', 'p'] AND sk < 12",
        5,
    )
    .await;
    let order: Vec<_> = items.iter().map(|i| (pk(i).to_string(), sk(i))).collect();
    let want: Vec<_> = (0..10)
        .map(|i| ("q".to_string(), i))
        .chain((0..12).map(|i| ("p".to_string(), i)))
        .collect();
    assert_eq!(order, want);
    // A token is checked, not trusted.
    let e = db
        .execute_statement()
        .statement("SELECT * FROM Pages")
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&e),
        ("ValidationException".into(), "Invalid NextToken".into())
    );
    // ... and good only for the statement and parameters that made it.
    let first = db
        .execute_statement()
        .statement("SELECT * FROM Pages WHERE pk = ?")
        .parameters(Av::S("p".into()))
        .limit(2)
        .send()
        .await
        .unwrap();
    let token = first.next_token.unwrap();
    let e = db
        .execute_statement()
        .statement("SELECT * FROM Pages WHERE pk = ?")
        .parameters(Av::S("q".into()))
        .next_token(token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&e),
        (
            "ValidationException".into(),
            "NextToken does not match request".into()
        )
    );
    // Capacity: a whole-key read is a GetItem's half unit; a Query's is its pages'.
    let got = db
        .execute_statement()
        .statement("SELECT * FROM Pages WHERE pk = 'p' AND sk = 3")
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let c = got.consumed_capacity.unwrap();
    assert_eq!(
        (c.table_name(), c.capacity_units()),
        (Some("Pages"), Some(0.5))
    );
    let got = db
        .execute_statement()
        .statement("SELECT * FROM Pages WHERE pk = 'p'")
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(got.consumed_capacity.unwrap().capacity_units(), Some(1.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_conditions_and_transactions() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "Acct").await;
    run(
        &db,
        "INSERT INTO Acct VALUE {'pk': 'a', 'sk': 1, 'bal': 10}",
        &[],
    )
    .await;
    // A failed condition can return the item it failed on.
    let e = db
        .execute_statement()
        .statement("UPDATE Acct SET bal = bal - 20 WHERE pk = 'a' AND sk = 1 AND bal >= 20")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    let service = e.into_service_error();
    assert!(
        service.is_conditional_check_failed_exception(),
        "{service:?}"
    );
    let old = match service {
        aws_sdk_dynamodb::operation::execute_statement::ExecuteStatementError::ConditionalCheckFailedException(c) => c.item,
        other => panic!("{other:?}"),
    };
    assert_eq!(old.unwrap().get("bal"), Some(&Av::N("10".into())));
    // RETURNING ALL OLD * gives the item before the update.
    let items = run(
        &db,
        "UPDATE Acct SET bal = bal + 5 WHERE pk = 'a' AND sk = 1 RETURNING ALL OLD *",
        &[],
    )
    .await;
    assert_eq!(items[0].get("bal"), Some(&Av::N("10".into())));
    // A transfer as a transaction, made idempotent by its token.
    let transfer = |token: &str, amount: &str| {
        db.execute_transaction()
            .client_request_token(token)
            .transact_statements(
                ParameterizedStatement::builder()
                    .statement(
                        "UPDATE Acct SET bal = bal - ? WHERE pk = 'a' AND sk = 1 AND bal >= ?",
                    )
                    .parameters(Av::N(amount.into()))
                    .parameters(Av::N(amount.into()))
                    .build()
                    .unwrap(),
            )
            .transact_statements(
                ParameterizedStatement::builder()
                    .statement("INSERT INTO Acct VALUE {'pk': 'b', 'sk': 1, 'bal': ?}")
                    .parameters(Av::N(amount.into()))
                    .build()
                    .unwrap(),
            )
            .send()
    };
    transfer("t-1", "5").await.unwrap();
    transfer("t-1", "5").await.unwrap();
    let e = transfer("t-1", "6").await.unwrap_err();
    assert_eq!(error_code(&e).0, "IdempotentParameterMismatchException");
    let got = run(&db, "SELECT bal FROM Acct WHERE pk = 'a' AND sk = 1", &[]).await;
    assert_eq!(got[0].get("bal"), Some(&Av::N("10".into())), "applied once");
    // The same transfer with a new token: INSERT finds b, and nothing is applied.
    let e = transfer("t-2", "5").await.unwrap_err();
    let service = e.into_service_error();
    let reasons = match service {
        aws_sdk_dynamodb::operation::execute_transaction::ExecuteTransactionError::TransactionCanceledException(t) => t.cancellation_reasons.unwrap_or_default(),
        other => panic!("{other:?}"),
    };
    let codes: Vec<_> = reasons
        .iter()
        .map(|r| r.code().unwrap_or_default())
        .collect();
    assert_eq!(codes, ["None", "DuplicateItem"]);
    let got = run(&db, "SELECT bal FROM Acct WHERE pk = 'a' AND sk = 1", &[]).await;
    assert_eq!(got[0].get("bal"), Some(&Av::N("10".into())));
    // A batch: each statement answers for itself.
    let batch = db
        .batch_execute_statement()
        .statements(
            aws_sdk_dynamodb::types::BatchStatementRequest::builder()
                .statement("DELETE FROM Acct WHERE pk = 'b' AND sk = 1 RETURNING ALL OLD *")
                .build()
                .unwrap(),
        )
        .statements(
            aws_sdk_dynamodb::types::BatchStatementRequest::builder()
                .statement("UPDATE Acct SET bal = 0 WHERE pk = 'zz' AND sk = 1")
                .build()
                .unwrap(),
        )
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let r = batch.responses();
    assert_eq!(
        r[0].item().and_then(|i| i.get("bal")),
        Some(&Av::N("5".into()))
    );
    assert_eq!(
        r[1].error().and_then(|e| e.code()).map(|c| c.as_str()),
        Some("ConditionalCheckFailed")
    );
    assert_eq!(batch.consumed_capacity()[0].table_name(), Some("Acct"));
    server.stop().await;
}

fn iam_config() -> serde_json::Value {
    let table = format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Owned");
    json!({"users": [
        {"name": "proxy", "access_key_id": "AKIAPROXY", "secret_access_key": "proxy-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["keyfall:ExportPrincipals", "keyfall:FollowChanges", "dynamodb:*"], "Resource": "*"}]}]},
        {"name": "keyreader", "access_key_id": "AKIAKEYREADER", "secret_access_key": "kr-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:PartiQLSelect", "Resource": [table.clone(), format!("{table}/index/*")]},
            {"Effect": "Deny", "Action": "dynamodb:PartiQLSelect", "Resource": "*",
             "Condition": {"Bool": {"dynamodb:FullTableScan": "true"}}}
         ]}]},
        {"name": "alice", "access_key_id": "AKIAALICE", "secret_access_key": "alice-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": ["dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate",
                       "dynamodb:PartiQLDelete"],
            "Resource": table,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}
         }]}]}
    ]})
}

fn denied<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, E>,
    action: &str,
) {
    let e = r.expect_err(&format!("expected AccessDeniedException for {action}"));
    assert_eq!(e.code(), Some("AccessDeniedException"), "{e:?}");
    assert!(e.message().unwrap_or_default().contains(action), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_authorized_as_what_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.json");
    std::fs::write(&path, iam_config().to_string()).unwrap();
    let server = TestServer::start_with(move |c| c.iam_config = Some(path)).await;
    let root = server.dynamodb();
    table(&root, "Owned").await;
    run(
        &root,
        "INSERT INTO Owned VALUE {'pk': 'alice', 'sk': 1}",
        &[],
    )
    .await;
    run(&root, "INSERT INTO Owned VALUE {'pk': 'bob', 'sk': 1}", &[]).await;

    // Reads by key are allowed; a SELECT that would scan is denied by FullTableScan.
    let reader = server.dynamodb_as("AKIAKEYREADER", "kr-secret");
    let got = run(&reader, "SELECT * FROM Owned WHERE pk = 'bob'", &[]).await;
    assert_eq!(got.len(), 1);
    let scan = |db: &Client, s: &'static str| db.execute_statement().statement(s).send();
    denied(
        scan(&reader, "SELECT * FROM Owned").await,
        "dynamodb:PartiQLSelect",
    );
    denied(
        scan(&reader, "SELECT * FROM Owned WHERE pk = 'bob' OR sk = 1").await,
        "dynamodb:PartiQLSelect",
    );
    // Equalities on the partition key joined by OR are Queries, not a scan.
    let got = run(
        &reader,
        "SELECT * FROM Owned WHERE pk = 'bob' OR pk = 'alice'",
        &[],
    )
    .await;
    assert_eq!(got.len(), 2);
    // Writes need their own actions.
    denied(
        scan(&reader, "INSERT INTO Owned VALUE {'pk': 'bob', 'sk': 2}").await,
        "dynamodb:PartiQLInsert",
    );
    // A statement that does not parse is refused for what it is, not for access.
    let e = scan(&reader, "SELEC * FROM Owned").await.unwrap_err();
    assert_eq!(error_code(&e).0, "ValidationException");

    // LeadingKeys: alice reads and writes her partition only, whatever the statement.
    let alice = server.dynamodb_as("AKIAALICE", "alice-secret");
    run(
        &alice,
        "INSERT INTO Owned VALUE {'pk': 'alice', 'sk': 2}",
        &[],
    )
    .await;
    run(
        &alice,
        "UPDATE Owned SET v = 1 WHERE pk = 'alice' AND sk = 2",
        &[],
    )
    .await;
    assert_eq!(
        run(&alice, "SELECT * FROM Owned WHERE pk = 'alice'", &[])
            .await
            .len(),
        2
    );
    for s in [
        "INSERT INTO Owned VALUE {'pk': 'bob', 'sk': 3}",
        "UPDATE Owned SET v = 1 WHERE pk = 'bob' AND sk = 1",
        "DELETE FROM Owned WHERE pk = 'bob' AND sk = 1",
        "SELECT * FROM Owned WHERE pk IN ['alice', 'bob']",
        "SELECT * FROM Owned WHERE sk = 1",
    ] {
        denied(scan(&alice, s).await, "dynamodb:PartiQL");
    }
    // Parameters are bound before authorization: a `?` hides nothing.
    denied(
        alice
            .execute_statement()
            .statement("DELETE FROM Owned WHERE pk = ? AND sk = 1")
            .parameters(Av::S("bob".into()))
            .send()
            .await,
        "dynamodb:PartiQLDelete",
    );
    // A transaction is allowed only if every statement is.
    let stmt = |s: &str| {
        ParameterizedStatement::builder()
            .statement(s)
            .build()
            .unwrap()
    };
    denied(
        alice
            .execute_transaction()
            .transact_statements(stmt("UPDATE Owned SET v = 2 WHERE pk = 'alice' AND sk = 2"))
            .transact_statements(stmt("DELETE FROM Owned WHERE pk = 'bob' AND sk = 1"))
            .send()
            .await,
        "dynamodb:PartiQLDelete",
    );
    let bob = run(&root, "SELECT * FROM Owned WHERE pk = 'bob'", &[]).await;
    assert_eq!(bob.len(), 1, "nothing of a refused request ran");
    server.stop().await;
}

/// keyfall-dax passes statements upstream with its own credentials: it must authorize each
/// statement as the server would, or its callers would borrow its rights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_authorizes_each_statement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.json");
    std::fs::write(&path, iam_config().to_string()).unwrap();
    let server = TestServer::start_with(move |c| c.iam_config = Some(path)).await;
    let root = server.dynamodb();
    table(&root, "Owned").await;
    let proxy = TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.access_key_id = Some("AKIAPROXY".into());
        c.secret_access_key = Some("proxy-secret".into());
    })
    .await;
    let alice = proxy.dynamodb_as("AKIAALICE", "alice-secret");
    run(
        &alice,
        "INSERT INTO Owned VALUE {'pk': 'alice', 'sk': 1}",
        &[],
    )
    .await;
    let got = run(
        &alice,
        "SELECT * FROM Owned WHERE pk = 'alice' AND sk = 1",
        &[],
    )
    .await;
    assert_eq!(got.len(), 1);
    denied(
        alice
            .execute_statement()
            .statement("INSERT INTO Owned VALUE {'pk': 'bob', 'sk': 1}")
            .send()
            .await,
        "dynamodb:PartiQLInsert",
    );
    let stmt = |s: &str| {
        ParameterizedStatement::builder()
            .statement(s)
            .build()
            .unwrap()
    };
    denied(
        alice
            .execute_transaction()
            .transact_statements(stmt("INSERT INTO Owned VALUE {'pk': 'bob', 'sk': 2}"))
            .send()
            .await,
        "dynamodb:PartiQLInsert",
    );
    denied(
        alice
            .batch_execute_statement()
            .statements(
                aws_sdk_dynamodb::types::BatchStatementRequest::builder()
                    .statement("DELETE FROM Owned WHERE pk = 'bob' AND sk = 1")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "dynamodb:PartiQLDelete",
    );
    // Over gRPC too.
    let mut grpc = proxy.grpc_as("AKIAALICE", "alice-secret").await;
    let status = grpc
        .execute_statement(keyfall_proto::v1::ExecuteStatementRequest {
            statement: "INSERT INTO Owned VALUE {'pk': 'bob', 'sk': 3}".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        keyfall_tests::error_type(&status),
        Some("AccessDeniedException")
    );
    let bob = run(&root, "SELECT * FROM Owned WHERE pk = 'bob'", &[]).await;
    assert!(bob.is_empty(), "nothing bob's was written: {bob:?}");
    server.stop().await;
}

/// `keyfall sql`: one statement with parameters and every page, and the shell driven
/// through standard input (the loop a terminal session runs, rustyline aside).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_command_and_shell() {
    use std::io::Write;
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "Cli").await;
    for i in 0..3 {
        keyfall_tests::cli_output(
            &server,
            &[
                "sql",
                "INSERT INTO Cli VALUE {'pk': 'a', 'sk': ?, 'tag': ?}",
                "--param",
                &i.to_string(),
                "--param",
                &format!("\"t{i}\""),
            ],
        );
    }
    let out = keyfall_tests::cli_output(
        &server,
        &[
            "sql",
            "SELECT sk, tag FROM Cli WHERE pk = 'a'",
            "-o",
            "json",
            "--limit",
            "1",
            "--all",
        ],
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            r#"{"sk":0,"tag":"t0"}"#,
            r#"{"sk":1,"tag":"t1"}"#,
            r#"{"sk":2,"tag":"t2"}"#
        ]
    );
    let out = keyfall_tests::cli_output(
        &server,
        &["sql", "SELECT * FROM Cli WHERE pk = 'a' AND sk = 1"],
    );
    assert!(out.contains("| pk | sk | tag |"), "{out}");
    assert!(out.contains("| a  | 1  | t1  |"), "{out}");

    let mut child = std::process::Command::new(keyfall_tests::keyfall_cli())
        .args([
            "--endpoint",
            &format!("http://{}", server.grpc_addr),
            "sql",
            "--limit",
            "2",
        ])
        .env("AWS_ACCESS_KEY_ID", keyfall_tests::ROOT_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            keyfall_tests::ROOT_SECRET_ACCESS_KEY,
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let script = "\\dt\n\\o json\nSELECT tag\n  FROM Cli WHERE pk = 'a';\n\\n\n\\n\nSELEC 1;\n\\d Cli\nUPDATE Cli SET tag = 'x' WHERE pk = 'a' AND sk = 0 RETURNING MODIFIED NEW *;\n\\q\nSELECT * FROM Cli;\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Cli");
    // Two pages of two items at most, then the end.
    let tags: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("{\"tag\""))
        .collect();
    assert_eq!(
        tags,
        [
            r#"{"tag":"t0"}"#,
            r#"{"tag":"t1"}"#,
            r#"{"tag":"t2"}"#,
            r#"{"tag":"x"}"#
        ]
    );
    assert!(out.contains("(more: \\n for the next page)"), "{out}");
    assert!(out.contains("(no more pages)"), "{out}");
    assert!(
        out.contains("error: ValidationException: Statement wasn't well formed, can't be processed: Expected data manipulation"),
        "{out}"
    );
    assert!(out.contains("\"TableName\": \"Cli\""), "{out}");
    // Nothing after \q ran: its SELECT * would have printed whole items.
    assert!(!out.contains("\"pk\":\"a\""), "{out}");
    server.stop().await;
}
