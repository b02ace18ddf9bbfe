//! Encryption at rest through the AWS SDK: an SSE table's items, index entries, stream
//! records, PITR log and backups never reach the disk in clear (a table without SSE, next
//! to it, shows the same check can see them); DescribeTable reports the master key; the
//! master key rotates by re-wrapping data keys; a wrong key does not open the data.

use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, GlobalSecondaryIndex, KeyType, Projection, ProjectionType,
    ScalarAttributeType, SseSpecification, SseStatus, SseType, StreamViewType,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{attribute, key_element, new_table, stream_on, TestServer};

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            out.push(path.display().to_string());
        }
    }
    out
}

async fn table(db: &Client, name: &str, sse: bool) {
    let mut req = new_table(db, name, ("pk", ScalarAttributeType::S), None)
        .attribute_definitions(attribute("city", ScalarAttributeType::S))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byCity")
                .key_schema(key_element("city", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .stream_specification(stream_on(StreamViewType::NewAndOldImages));
    if sse {
        req = req.sse_specification(SseSpecification::builder().enabled(true).build());
    }
    req.send().await.unwrap();
    keyfall_tests::enable_pitr(db, name).await;
}

/// Writes items holding `secret` in a value (and its first four characters in an index
/// key) and returns them as the index reads them.
async fn write_secrets(db: &Client, name: &str, secret: &str) -> Vec<String> {
    for i in 0..20 {
        db.put_item()
            .table_name(name)
            .item("pk", Av::S(format!("k{i}")))
            .item("city", Av::S(format!("{}-city", &secret[..4])))
            .item("note", Av::S(format!("{secret}-{i}")))
            .send()
            .await
            .unwrap();
    }
    let got = db
        .query()
        .table_name(name)
        .index_name("byCity")
        .key_condition_expression("city = :c")
        .expression_attribute_values(":c", Av::S(format!("{}-city", &secret[..4])))
        .send()
        .await
        .unwrap();
    got.items()
        .iter()
        .filter_map(|i| i.get("note").and_then(|n| n.as_s().ok()).cloned())
        .collect()
}

#[tokio::test]
async fn an_encrypted_tables_data_never_reaches_the_disk_in_clear() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "sealed", true).await;
    table(&db, "open", false).await;
    let d = db
        .describe_table()
        .table_name("sealed")
        .send()
        .await
        .unwrap();
    let sse = d.table().unwrap().sse_description().unwrap();
    assert_eq!(sse.status(), Some(&SseStatus::Enabled));
    assert_eq!(sse.sse_type(), Some(&SseType::Kms));
    let arn = sse.kms_master_key_arn().unwrap();
    assert!(
        arn.starts_with("arn:aws:kms:us-east-1:000000000000:key/"),
        "{arn}"
    );
    assert!(db
        .describe_table()
        .table_name("open")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .sse_description()
        .is_none());

    let (hidden, visible) = ("Zq7HiddenSecretX9vK", "Wm3VisibleSecretP2rT");
    assert_eq!(
        write_secrets(&db, "sealed", hidden).await.len(),
        20,
        "readable through the API"
    );
    assert_eq!(write_secrets(&db, "open", visible).await.len(), 20);
    // A backup of each, and a restore of the encrypted one (encrypted too).
    for t in ["sealed", "open"] {
        let arn = db
            .create_backup()
            .table_name(t)
            .backup_name(format!("{t}-b"))
            .send()
            .await
            .unwrap()
            .backup_details()
            .unwrap()
            .backup_arn()
            .to_string();
        for _ in 0..200 {
            let d = db.describe_backup().backup_arn(&arn).send().await.unwrap();
            if d.backup_description()
                .unwrap()
                .backup_details()
                .unwrap()
                .backup_status()
                .as_str()
                == "AVAILABLE"
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if t == "sealed" {
            db.restore_table_from_backup()
                .target_table_name("sealed-copy")
                .backup_arn(&arn)
                .send()
                .await
                .unwrap();
        }
    }
    for _ in 0..200 {
        let d = db
            .describe_table()
            .table_name("sealed-copy")
            .send()
            .await
            .unwrap();
        if d.table().unwrap().table_status().unwrap().as_str() == "ACTIVE" {
            assert!(
                d.table().unwrap().sse_description().is_some(),
                "a restore keeps the encryption"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // An export reads the table through scratch keyspaces: sealed too. (The export's own
    // files are in clear, as documented, and sit in the export root, `s3/`.)
    std::fs::create_dir_all(server.data_dir.path().join("s3/bkt")).unwrap();
    let export = db
        .export_table_to_point_in_time()
        .table_arn("arn:aws:dynamodb:us-east-1:000000000000:table/sealed")
        .s3_bucket("bkt")
        .send()
        .await
        .unwrap();
    let export_arn = export
        .export_description()
        .unwrap()
        .export_arn()
        .unwrap()
        .to_string();
    for _ in 0..200 {
        let d = db
            .describe_export()
            .export_arn(&export_arn)
            .send()
            .await
            .unwrap();
        if d.export_description()
            .unwrap()
            .export_status()
            .unwrap()
            .as_str()
            != "IN_PROGRESS"
        {
            assert_eq!(d.export_description().unwrap().item_count(), Some(20));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let copy = db
        .get_item()
        .table_name("sealed-copy")
        .key("pk", Av::S("k3".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(copy.item().unwrap()["note"], Av::S(format!("{hidden}-3")));

    let dir = server.stop().await;
    assert!(
        !files_containing(dir.path(), visible.as_bytes()).is_empty(),
        "the check finds a table's values in clear"
    );
    let outside_exports: Vec<String> = files_containing(dir.path(), hidden.as_bytes())
        .into_iter()
        .filter(|f| !f.contains("/s3/"))
        .collect();
    assert_eq!(
        outside_exports,
        Vec::<String>::new(),
        "an encrypted table's values appear nowhere on disk"
    );
    // What is documented to stay in clear: the key attributes that order the table and
    // its indexes (here the GSI's partition key, in the index entries' storage keys).
    assert!(!files_containing(dir.path(), b"Zq7H-city").is_empty());
}

#[tokio::test]
async fn the_master_key_rotates_by_rewrapping_and_a_wrong_key_opens_nothing() {
    let keys = tempfile::tempdir().unwrap();
    let (old, new) = (keys.path().join("old.key"), keys.path().join("new.key"));
    use base64::Engine as _;
    std::fs::write(
        &old,
        base64::engine::general_purpose::STANDARD.encode([1u8; 32]),
    )
    .unwrap();
    std::fs::write(&new, [2u8; 32]).unwrap();
    let old_key = old.clone();
    let server = TestServer::start_with(move |c| c.master_key_file = Some(old_key)).await;
    let db = server.dynamodb();
    table(&db, "sealed", true).await;
    write_secrets(&db, "sealed", "rotate").await;
    let before = db
        .describe_table()
        .table_name("sealed")
        .send()
        .await
        .unwrap();
    let old_arn = before
        .table()
        .unwrap()
        .sse_description()
        .unwrap()
        .kms_master_key_arn()
        .unwrap()
        .to_string();
    let e = db
        .update_table()
        .table_name("sealed")
        .sse_specification(SseSpecification::builder().enabled(false).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().unwrap().code(),
        Some("ValidationException")
    );
    let dir = server.stop().await;

    // The new key current, the old one previous: the data keys are re-wrapped.
    let mut config = keyfall_server::config::Config {
        data_dir: dir.path().to_path_buf(),
        master_key_file: Some(new.clone()),
        previous_master_key_files: vec![old.clone()],
        ..Default::default()
    };
    drop(keyfall_server::server::open_engine(&config).expect("opens with the previous key"));
    // Now the new key alone opens it, and the old one alone no longer does.
    config.previous_master_key_files.clear();
    drop(keyfall_server::server::open_engine(&config).expect("opens with the new key alone"));
    config.master_key_file = Some(old.clone());
    let e = keyfall_server::server::open_engine(&config)
        .err()
        .expect("the old key alone is refused");
    assert!(e.to_string().contains("not configured"), "{e}");

    let new_key = new.clone();
    let server = TestServer::start_with_dir(dir, move |c| c.master_key_file = Some(new_key)).await;
    let db = server.dynamodb();
    let after = db
        .describe_table()
        .table_name("sealed")
        .send()
        .await
        .unwrap();
    let new_arn = after
        .table()
        .unwrap()
        .sse_description()
        .unwrap()
        .kms_master_key_arn()
        .unwrap()
        .to_string();
    assert_ne!(old_arn, new_arn, "reported under the new master key");
    let item = db
        .get_item()
        .table_name("sealed")
        .key("pk", Av::S("k1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(item.item().unwrap()["note"], Av::S("rotate-1".into()));
}
