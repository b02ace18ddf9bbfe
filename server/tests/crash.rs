//! Every acknowledged write survives `kill -9`: writers run against the real binary, the
//! process is killed mid-way, and after a restart every acknowledged item must be there.
// Test code: the workspace lints deny these in library code only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_server(dir: &Path, http: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keyfall-server"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--http-listen")
        .arg(format!("127.0.0.1:{http}"))
        .arg("--grpc-listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keyfall-server")
}

async fn wait_ready(port: u16) {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server did not start");
}

/// A client signing with the root credentials the server generated into `dir` on its
/// first start (the listener is bound before they are written: wait for them).
fn client(dir: &Path, port: u16) -> aws_sdk_dynamodb::Client {
    let path = dir.join("root-credentials.json");
    let mut text = Vec::new();
    for _ in 0..1000 {
        match std::fs::read(&path) {
            Ok(t) if !t.is_empty() => {
                text = t;
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let creds: serde_json::Value = serde_json::from_slice(&text).expect("credentials json");
    let key = creds["access_key_id"].as_str().expect("key id");
    let secret = creds["secret_access_key"].as_str().expect("secret");
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// An on-demand table keyed by the string `id`.
async fn create_table(db: &aws_sdk_dynamodb::Client, name: &str) {
    db.create_table()
        .table_name(name)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    create_table(&db, "crash").await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let db = db.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("w{w}-{i}");
                let put = db
                    .put_item()
                    .table_name("crash")
                    .item("id", AttributeValue::S(id.clone()))
                    .item("n", AttributeValue::N(i.to_string()))
                    .send()
                    .await;
                match put {
                    Ok(_) => acked.lock().unwrap().push((id, i)),
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().expect("kill -9"); // SIGKILL on unix
    child.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "writers made progress before the kill ({} acks)",
        acked.len()
    );

    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    for (id, n) in &acked {
        let got = db
            .get_item()
            .table_name("crash")
            .key("id", AttributeValue::S(id.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let item = got
            .item
            .unwrap_or_else(|| panic!("acknowledged item {id} lost"));
        assert_eq!(item.get("n"), Some(&AttributeValue::N(n.to_string())));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Transfers between accounts are all-or-nothing across a crash: after `kill -9` mid-way
/// through concurrent transactions the total is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_atomic_across_kill_9() {
    use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    create_table(&db, "bank").await;
    let accounts = 6;
    for i in 0..accounts {
        db.put_item()
            .table_name("bank")
            .item("id", AttributeValue::S(format!("a{i}")))
            .item("balance", AttributeValue::N("1000".into()))
            .send()
            .await
            .unwrap();
    }
    let update = |id: String, expr: &str, amount: i64| {
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name("bank")
                    .key("id", AttributeValue::S(id))
                    .update_expression(expr)
                    .expression_attribute_values(":a", AttributeValue::N(amount.to_string()))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let mut workers = Vec::new();
    for w in 0..6usize {
        let db = db.clone();
        workers.push(tokio::spawn(async move {
            let mut committed = 0;
            for t in 0usize.. {
                let from = (w + t) % accounts;
                let to = (from + 1 + t % (accounts - 1)) % accounts;
                let res = db
                    .transact_write_items()
                    .transact_items(update(format!("a{from}"), "SET balance = balance - :a", 7))
                    .transact_items(update(format!("a{to}"), "SET balance = balance + :a", 7))
                    .send()
                    .await;
                match res {
                    Ok(_) => committed += 1,
                    Err(_) => break,
                }
            }
            committed
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().expect("kill -9");
    child.wait().unwrap();
    let mut committed = 0;
    for w in workers {
        committed += w.await.unwrap();
    }
    assert!(
        committed > 20,
        "transfers ran before the kill ({committed})"
    );

    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    let mut total = 0i64;
    for i in 0..accounts {
        let item = db
            .get_item()
            .table_name("bank")
            .key("id", AttributeValue::S(format!("a{i}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        match item.get("balance") {
            Some(AttributeValue::N(b)) => total += b.parse::<i64>().unwrap(),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        total,
        1000 * accounts as i64,
        "no transfer was half-applied"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Issue 17, item 6: a GSI backfill interrupted by `kill -9` resumes when the server comes
/// back, and the index ends ACTIVE with every item in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item06_interrupted_index_backfill_resumes_after_kill_9() {
    use aws_sdk_dynamodb::types::{
        CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, IndexStatus, Projection,
        ProjectionType, PutRequest, WriteRequest,
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    create_table(&db, "fill").await;
    let items = 30_000;
    for chunk in 0..items / 25 {
        {
            let writes = (0..25)
                .map(|i| {
                    let n = chunk * 25 + i;
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .item("id", AttributeValue::S(format!("i{n}")))
                                .item("g", AttributeValue::S(format!("g{}", n % 10)))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            // A fast load of a new on-demand table is partly throttled, as DynamoDB's is:
            // what comes back unprocessed (or throttled whole) is sent again.
            let mut pending: Vec<WriteRequest> = writes;
            while !pending.is_empty() {
                match db
                    .batch_write_item()
                    .request_items("fill", pending.clone())
                    .send()
                    .await
                {
                    Ok(out) => {
                        pending = out
                            .unprocessed_items()
                            .and_then(|u| u.get("fill"))
                            .cloned()
                            .unwrap_or_default()
                    }
                    Err(e) => assert!(format!("{e:?}").contains("Throttl"), "{e:?}"),
                }
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
    db.update_table()
        .table_name("fill")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("g")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name("ByG")
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name("g")
                                .key_type(KeyType::Hash)
                                .build()
                                .unwrap(),
                        )
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::KeysOnly)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let status = |db: aws_sdk_dynamodb::Client| async move {
        db.describe_table()
            .table_name("fill")
            .send()
            .await
            .unwrap()
            .table()
            .and_then(|t| t.global_secondary_indexes().first().cloned())
            .and_then(|i| i.index_status().cloned())
    };
    assert_eq!(
        status(db.clone()).await,
        Some(IndexStatus::Creating),
        "the kill interrupts a backfill in progress"
    );
    child.kill().expect("kill -9");
    child.wait().unwrap();

    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    let mut active = false;
    for _ in 0..600 {
        if status(db.clone()).await == Some(IndexStatus::Active) {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        active,
        "the backfill resumed and finished after the restart"
    );
    let mut total = 0;
    for g in 0..10 {
        let mut start = None;
        loop {
            let page = db
                .query()
                .table_name("fill")
                .index_name("ByG")
                .key_condition_expression("g = :g")
                .expression_attribute_values(":g", AttributeValue::S(format!("g{g}")))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            total += page.count;
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    assert_eq!(total, items, "every item is in the resumed index");
    child.kill().unwrap();
    child.wait().unwrap();
}
