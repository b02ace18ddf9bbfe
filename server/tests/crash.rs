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
        ProjectionType,
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    create_table(&db, "fill").await;
    let items = 30_000;
    load(&db, "fill", items).await;
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

/// Writes `items` items (`id` = `i<n>`, `g` = `g<n % 10>`) with BatchWriteItem, sending again
/// what a fast load of a new on-demand table gets back unprocessed or throttled, as
/// DynamoDB's would be.
async fn load(db: &aws_sdk_dynamodb::Client, table: &str, items: i32) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    for chunk in 0..items / 25 {
        let mut pending: Vec<WriteRequest> = (0..25)
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
        while !pending.is_empty() {
            match db
                .batch_write_item()
                .request_items(table, pending.clone())
                .send()
                .await
            {
                Ok(out) => {
                    pending = out
                        .unprocessed_items()
                        .and_then(|u| u.get(table))
                        .cloned()
                        .unwrap_or_default()
                }
                Err(e) => assert!(format!("{e:?}").contains("Throttl"), "{e:?}"),
            }
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Every item of a table: id → its `v` attribute.
async fn contents(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let id = item
                .get("id")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let v = item
                .get("v")
                .and_then(|v| v.as_n().ok())
                .cloned()
                .unwrap_or_default();
            out.insert(id, v);
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

async fn wait_active(db: &aws_sdk_dynamodb::Client, table: &str) {
    for _ in 0..1200 {
        let d = db.describe_table().table_name(table).send().await;
        if d.ok()
            .and_then(|d| d.table().and_then(|t| t.table_status().cloned()))
            == Some(aws_sdk_dynamodb::types::TableStatus::Active)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{table} never became ACTIVE");
}

fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Point-in-time recovery across `kill -9`: restored to a second noted before the crash,
/// the table is exactly what it was then; restored to the latest time after the restart,
/// it holds every write acknowledged before the kill (and no acknowledged delete's item).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_in_time_recovery_keeps_every_acknowledged_write_across_kill_9() {
    use aws_sdk_dynamodb::primitives::DateTime;
    use aws_sdk_dynamodb::types::PointInTimeRecoverySpecification;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    create_table(&db, "pitr").await;
    db.update_continuous_backups()
        .table_name("pitr")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for i in 0..50 {
        db.put_item()
            .table_name("pitr")
            .item("id", AttributeValue::S(format!("a{i}")))
            .item("v", AttributeValue::N("1".into()))
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let noted = epoch_now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let then = contents(&db, "pitr").await;

    // Writers overwrite and delete the noted items and add new ones until the kill.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let db = db.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let (id, delete) = match i % 3 {
                    0 => (format!("a{}", (w * 13 + i) % 50), i % 2 == 0),
                    _ => (format!("w{w}-{i}"), false),
                };
                let done = if delete {
                    db.delete_item()
                        .table_name("pitr")
                        .key("id", AttributeValue::S(id.clone()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                } else {
                    db.put_item()
                        .table_name("pitr")
                        .item("id", AttributeValue::S(id.clone()))
                        .item("v", AttributeValue::N((i + 2).to_string()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                };
                match done {
                    Ok(()) => acked
                        .lock()
                        .unwrap()
                        .push((id, (!delete).then(|| (i + 2).to_string()))),
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().expect("kill -9");
    child.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "writers made progress ({} acks)",
        acked.len()
    );

    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    db.restore_table_to_point_in_time()
        .source_table_name("pitr")
        .target_table_name("then")
        .restore_date_time(DateTime::from_secs_f64(noted))
        .send()
        .await
        .unwrap();
    db.restore_table_to_point_in_time()
        .source_table_name("pitr")
        .target_table_name("latest")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap();
    wait_active(&db, "then").await;
    wait_active(&db, "latest").await;
    assert_eq!(
        contents(&db, "then").await,
        then,
        "the table as it was at the noted second"
    );
    let latest = contents(&db, "latest").await;
    let source = contents(&db, "pitr").await;
    assert_eq!(
        latest, source,
        "the latest restorable time is the table now"
    );
    // Each `w` key is written once: its acknowledged value is there.
    for (id, v) in &acked {
        if let (true, Some(v)) = (id.starts_with('w'), v) {
            assert_eq!(latest.get(id), Some(v), "acknowledged {id} lost");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A restore interrupted by `kill -9` starts over when the server comes back, and the
/// restored table ends ACTIVE with every item of the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_restore_finishes_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    create_table(&db, "big").await;
    let items = 30_000;
    load(&db, "big", items).await;
    let arn = db
        .create_backup()
        .table_name("big")
        .backup_name("before")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_string();
    for _ in 0..600 {
        let d = db.describe_backup().backup_arn(&arn).send().await.unwrap();
        let status = d
            .backup_description()
            .and_then(|b| b.backup_details())
            .map(|d| d.backup_status().clone());
        if status == Some(aws_sdk_dynamodb::types::BackupStatus::Available) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = db
        .restore_table_from_backup()
        .target_table_name("copy")
        .backup_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.table_description().and_then(|t| t.table_status()),
        Some(&aws_sdk_dynamodb::types::TableStatus::Creating)
    );
    child.kill().expect("kill -9");
    child.wait().unwrap();

    let port = free_port();
    let mut child = spawn_server(dir.path(), port);
    wait_ready(port).await;
    let db = client(dir.path(), port);
    wait_active(&db, "copy").await;
    let copy = contents(&db, "copy").await;
    assert_eq!(
        copy.len(),
        items as usize,
        "every item of the backup is restored"
    );
    assert_eq!(copy, contents(&db, "big").await);
    child.kill().unwrap();
    child.wait().unwrap();
}
