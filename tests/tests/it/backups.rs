//! On-demand backups and point-in-time recovery through the AWS SDK: what a restored table
//! holds (item for item, indexes too), the actions' answers and errors as DynamoDB gives
//! them, and authorization on the backup a request names.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, BackupStatus, BackupTypeFilter, BillingMode, GlobalSecondaryIndex,
    KeyType, LocalSecondaryIndex, PointInTimeRecoverySpecification, PointInTimeRecoveryStatus,
    Projection, ProjectionType, ScalarAttributeType, StreamViewType, TableStatus,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{
    attribute, contents, error_code as code, key_element, mark, new_table, put_all, stream_on,
    TestServer,
};

type Item = HashMap<String, Av>;

/// A table keyed by `pk` (S) and `sk` (N), with a GSI on `city`/`age` (keys only), an LSI
/// on `age` (with `name`), a stream and tags, none of which a restore brings back but the
/// indexes.
async fn people(db: &Client, name: &str) {
    new_table(
        db,
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .attribute_definitions(attribute("city", ScalarAttributeType::S))
    .attribute_definitions(attribute("age", ScalarAttributeType::N))
    .global_secondary_indexes(
        GlobalSecondaryIndex::builder()
            .index_name("byCity")
            .key_schema(key_element("city", KeyType::Hash))
            .key_schema(key_element("age", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .local_secondary_indexes(
        LocalSecondaryIndex::builder()
            .index_name("byAge")
            .key_schema(key_element("pk", KeyType::Hash))
            .key_schema(key_element("age", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .non_key_attributes("name")
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .stream_specification(stream_on(StreamViewType::NewAndOldImages))
    .tags(
        aws_sdk_dynamodb::types::Tag::builder()
            .key("team")
            .value("a")
            .build()
            .unwrap(),
    )
    .send()
    .await
    .expect("create table");
}

fn person(pk: &str, sk: i64, version: &str) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), Av::S(pk.into())),
        ("sk".to_string(), Av::N(sk.to_string())),
        ("name".to_string(), Av::S(format!("{pk}-{sk}-{version}"))),
        ("age".to_string(), Av::N((sk % 90).to_string())),
    ]);
    // Every third item is outside the GSI (sparse).
    if sk % 3 != 0 {
        item.insert("city".into(), Av::S(format!("city{}", sk % 4)));
    }
    item
}

async fn backup(db: &Client, table: &str, name: &str) -> String {
    let out = db
        .create_backup()
        .table_name(table)
        .backup_name(name)
        .send()
        .await
        .expect("create backup");
    let details = out.backup_details().expect("details");
    out.backup_details()
        .map(|d| d.backup_arn().to_string())
        .filter(|_| details.backup_name() == name)
        .expect("arn")
}

#[tokio::test]
async fn a_restored_table_is_the_table_at_its_backup_with_its_indexes() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    people(&db, "people").await;
    let items: Vec<Item> = (0..120)
        .map(|i| person(&format!("p{}", i % 7), i, "v1"))
        .collect();
    put_all(&db, "people", &items).await;
    let expected = contents(&db, "people", None).await;
    let expected_gsi = contents(&db, "people", Some("byCity")).await;
    let expected_lsi = contents(&db, "people", Some("byAge")).await;

    let out = db
        .create_backup()
        .table_name("people")
        .backup_name("nightly")
        .send()
        .await
        .expect("create backup");
    let details = out.backup_details().expect("details");
    let arn = details.backup_arn().to_string();
    let prefix = "arn:aws:dynamodb:us-east-1:000000000000:table/people/backup/";
    let id = arn.strip_prefix(prefix).expect("DynamoDB's backup ARN");
    assert_eq!(
        id.len(),
        23,
        "{id}: 14 digits of milliseconds, '-', 8 hex digits"
    );
    assert_eq!(
        details.backup_type(),
        &aws_sdk_dynamodb::types::BackupType::User
    );
    let millis: f64 = id[..14].parse().unwrap();
    let created = details.backup_creation_date_time().as_secs_f64();
    assert!(
        (created * 1000.0 - millis).abs() < 1.0,
        "the id starts with the creation time"
    );

    // Changes after the backup are not in what it restores.
    put_all(&db, "people", &[person("late", 1, "v1")]).await;
    db.delete_item()
        .table_name("people")
        .key("pk", Av::S("p0".into()))
        .key("sk", Av::N("0".into()))
        .send()
        .await
        .unwrap();
    keyfall_tests::wait_backup_available(&db, &arn).await;

    let restored = db
        .restore_table_from_backup()
        .target_table_name("people2")
        .backup_arn(&arn)
        .send()
        .await
        .expect("restore");
    let desc = restored.table_description().expect("description");
    assert_eq!(desc.table_status(), Some(&TableStatus::Creating));
    let summary = desc
        .restore_summary()
        .expect("RestoreSummary while restoring");
    assert_eq!(summary.source_backup_arn(), Some(arn.as_str()));
    assert!(summary.restore_in_progress());
    keyfall_tests::wait_table_active(&db, "people2").await;

    assert_eq!(contents(&db, "people2", None).await, expected);
    assert_eq!(contents(&db, "people2", Some("byCity")).await, expected_gsi);
    assert_eq!(contents(&db, "people2", Some("byAge")).await, expected_lsi);
    let table = db
        .describe_table()
        .table_name("people2")
        .send()
        .await
        .unwrap();
    let table = table.table().unwrap();
    assert_eq!(table.item_count(), Some(expected.len() as i64));
    assert!(
        table.restore_summary().is_none(),
        "shown only while restoring"
    );
    assert!(
        table.stream_specification().is_none(),
        "streams are not restored"
    );
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.item_count(), Some(expected_gsi.len() as i64));
    let tags = db
        .list_tags_of_resource()
        .resource_arn(table.table_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty(), "tags are not restored");
    // The restored table serves queries on its indexes.
    let q = db
        .query()
        .table_name("people2")
        .index_name("byCity")
        .key_condition_expression("city = :c")
        .expression_attribute_values(":c", Av::S("city1".into()))
        .send()
        .await
        .unwrap();
    let want = expected_gsi
        .values()
        .filter(|i| i.get("city") == Some(&Av::S("city1".into())));
    assert_eq!(q.count() as usize, want.count());
    assert!(q.count() > 0);

    // The backup outlives its table, and restores again.
    db.delete_table().table_name("people").send().await.unwrap();
    let d = db.describe_backup().backup_arn(&arn).send().await.unwrap();
    let source = d
        .backup_description()
        .unwrap()
        .source_table_details()
        .unwrap();
    assert_eq!(source.table_name(), "people");
    assert_eq!(source.item_count(), Some(expected.len() as i64));
    let features = d
        .backup_description()
        .unwrap()
        .source_table_feature_details()
        .unwrap();
    assert_eq!(features.global_secondary_indexes().len(), 1);
    assert_eq!(features.local_secondary_indexes().len(), 1);
    assert!(features.stream_description().is_some());
}

#[tokio::test]
async fn backups_are_listed_paged_described_and_deleted_as_dynamodb_does() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "aaa", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    new_table(&db, "bbb", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let a1 = backup(&db, "aaa", "a-1").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let a2 = backup(&db, "aaa", "a-2").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b1 = backup(&db, "bbb", "b-1").await;
    for arn in [&a1, &a2, &b1] {
        keyfall_tests::wait_backup_available(&db, arn).await;
    }

    let all = db.list_backups().send().await.unwrap();
    let arns: Vec<&str> = all
        .backup_summaries()
        .iter()
        .filter_map(|s| s.backup_arn())
        .collect();
    assert_eq!(
        arns,
        [a1.as_str(), a2.as_str(), b1.as_str()],
        "creation order"
    );
    assert!(all.last_evaluated_backup_arn().is_none());
    let of_a = db.list_backups().table_name("aaa").send().await.unwrap();
    assert_eq!(of_a.backup_summaries().len(), 2);
    let page = db.list_backups().limit(2).send().await.unwrap();
    assert_eq!(page.backup_summaries().len(), 2);
    assert_eq!(page.last_evaluated_backup_arn(), Some(a2.as_str()));
    let next = db
        .list_backups()
        .limit(2)
        .exclusive_start_backup_arn(&a2)
        .send()
        .await
        .unwrap();
    assert_eq!(next.backup_summaries().len(), 1);
    assert_eq!(next.backup_summaries()[0].backup_arn(), Some(b1.as_str()));
    assert!(next.last_evaluated_backup_arn().is_none());
    // The lower bound is inclusive, the upper exclusive.
    let created = |arn: &str| {
        let all = all
            .backup_summaries()
            .iter()
            .find(|s| s.backup_arn() == Some(arn))
            .cloned();
        all.and_then(|s| s.backup_creation_date_time().copied())
            .unwrap()
    };
    let window = db
        .list_backups()
        .time_range_lower_bound(created(&a2))
        .time_range_upper_bound(created(&b1))
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = window
        .backup_summaries()
        .iter()
        .filter_map(|s| s.backup_arn())
        .collect();
    assert_eq!(arns, [a2.as_str()]);
    let system = db
        .list_backups()
        .backup_type(BackupTypeFilter::System)
        .send()
        .await
        .unwrap();
    assert!(system.backup_summaries().is_empty());
    let e = db.list_backups().limit(101).send().await.unwrap_err();
    assert_eq!(code(e.as_service_error().unwrap()).0, "ValidationException");

    let deleted = db.delete_backup().backup_arn(&a1).send().await.unwrap();
    let status = deleted
        .backup_description()
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_status();
    assert_eq!(status, &BackupStatus::Deleted);
    let e = db
        .describe_backup()
        .backup_arn(&a1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "BackupNotFoundException".into(),
            format!("Backup not found: {a1}")
        )
    );
    let e = db.delete_backup().backup_arn(&a1).send().await.unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "BackupNotFoundException"
    );
    assert_eq!(
        db.list_backups()
            .send()
            .await
            .unwrap()
            .backup_summaries()
            .len(),
        2
    );
}

#[tokio::test]
async fn backup_and_restore_errors_name_the_problem() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "ttt", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let e = db
        .create_backup()
        .table_name("nope")
        .backup_name("x11")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "TableNotFoundException".into(),
            "Table not found: nope".into()
        )
    );
    let e = db
        .create_backup()
        .table_name("ttt")
        .backup_name("a b")
        .send()
        .await
        .unwrap_err();
    let (name, message) = code(e.as_service_error().unwrap());
    assert_eq!(name, "ValidationException");
    assert!(message.contains("'backupName'"), "{message}");
    let e = db
        .describe_backup()
        .backup_arn("arn:aws:dynamodb:us-east-1:000000000000:table/ttt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        ("ValidationException".into(), "Invalid Backup ARN".into())
    );
    let arn = backup(&db, "ttt", "bk1").await;
    keyfall_tests::wait_backup_available(&db, &arn).await;
    // Another table's name in an ARN with this backup's id finds nothing.
    let spoofed = arn.replace("table/ttt/", "table/other/");
    let e = db
        .describe_backup()
        .backup_arn(&spoofed)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "BackupNotFoundException"
    );
    let e = db
        .restore_table_from_backup()
        .target_table_name("ttt")
        .backup_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "TableAlreadyExistsException".into(),
            "Table already exists: ttt".into()
        )
    );
    let e = db
        .restore_table_from_backup()
        .target_table_name("tt2")
        .backup_arn(&arn)
        .global_secondary_index_override(
            GlobalSecondaryIndex::builder()
                .index_name("ghost")
                .key_schema(key_element("pk", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    let (name, message) = code(e.as_service_error().unwrap());
    assert_eq!(name, "ValidationException");
    assert!(
        message.contains("Index ghost does not match a secondary index"),
        "{message}"
    );
    let e = db
        .restore_table_from_backup()
        .target_table_name("tt2")
        .backup_arn(&arn)
        .provisioned_throughput_override(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.as_service_error().unwrap()).0, "ValidationException");
    // Overridden to provisioned, the restored table is provisioned.
    db.restore_table_from_backup()
        .target_table_name("tt3")
        .backup_arn(&arn)
        .billing_mode_override(BillingMode::Provisioned)
        .provisioned_throughput_override(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(7)
                .write_capacity_units(3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    keyfall_tests::wait_table_active(&db, "tt3").await;
    let t3 = db.describe_table().table_name("tt3").send().await.unwrap();
    let pt = t3.table().unwrap().provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(7), Some(3))
    );
}

async fn enable_pitr(db: &Client, table: &str) {
    let out = db
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable PITR");
    let d = out.continuous_backups_description().unwrap();
    let pitr = d.point_in_time_recovery_description().unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
    assert_eq!(pitr.recovery_period_in_days(), Some(35));
}

async fn restore_to(db: &Client, source: &str, target: &str, at: Option<f64>) {
    let req = db
        .restore_table_to_point_in_time()
        .source_table_name(source)
        .target_table_name(target);
    let req = match at {
        Some(t) => req.restore_date_time(DateTime::from_secs_f64(t)),
        None => req.use_latest_restorable_time(true),
    };
    let out = req.send().await.expect("restore to a point in time");
    let summary = out
        .table_description()
        .and_then(|d| d.restore_summary())
        .unwrap();
    assert!(summary.source_backup_arn().is_none());
    assert!(summary
        .source_table_arn()
        .unwrap()
        .ends_with(&format!("table/{source}")));
    keyfall_tests::wait_table_active(db, target).await;
}

/// Overwrites, deletes and adds items: the changes a restore to an earlier time must undo.
async fn churn(db: &Client, table: &str, round: usize) {
    for i in 0..40i64 {
        match i % 4 {
            0 => {
                db.delete_item()
                    .table_name(table)
                    .key("pk", Av::S(format!("p{}", i % 7)))
                    .key("sk", Av::N(i.to_string()))
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                put_all(
                    db,
                    table,
                    &[person(&format!("p{}", i % 7), i, &format!("r{round}"))],
                )
                .await
            }
        }
    }
    put_all(db, table, &[person("new", round as i64, "new")]).await;
}

#[tokio::test]
async fn a_point_in_time_restore_is_the_table_at_that_second_item_for_item() {
    // Small bases and a fast maintenance tick: restores cross several bases and logs.
    let server = TestServer::start_with(|c| {
        c.pitr_base_every = 25;
        c.ttl_sweep_interval = Duration::from_millis(100);
    })
    .await;
    let db = server.dynamodb();
    people(&db, "people").await;
    put_all(
        &db,
        "people",
        &(0..40)
            .map(|i| person(&format!("p{}", i % 7), i, "v0"))
            .collect::<Vec<_>>(),
    )
    .await;
    enable_pitr(&db, "people").await;
    let mut marks = Vec::new();
    for round in 0..3 {
        churn(&db, "people", round).await;
        let at = mark().await;
        marks.push((
            at,
            contents(&db, "people", None).await,
            contents(&db, "people", Some("byCity")).await,
        ));
        // Let maintenance take a base between rounds.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    churn(&db, "people", 9).await;
    let bases = std::fs::read_dir(server.data_dir.path().join("backups/pitr"))
        .unwrap()
        .flatten()
        .flat_map(|t| std::fs::read_dir(t.path()).unwrap().flatten())
        .count();
    assert!(bases >= 2, "several bases were taken ({bases})");

    let d = db
        .describe_continuous_backups()
        .table_name("people")
        .send()
        .await
        .unwrap();
    let pitr = d
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap()
        .clone();
    let earliest = pitr.earliest_restorable_date_time().unwrap().as_secs_f64();
    let latest = pitr.latest_restorable_date_time().unwrap().as_secs_f64();
    assert!(earliest <= marks[0].0 && marks[0].0 <= latest);

    for (i, (at, items, gsi)) in marks.iter().enumerate() {
        let target = format!("at{i}");
        restore_to(&db, "people", &target, Some(*at)).await;
        assert_eq!(
            &contents(&db, &target, None).await,
            items,
            "table at mark {i}"
        );
        assert_eq!(
            &contents(&db, &target, Some("byCity")).await,
            gsi,
            "GSI at mark {i}"
        );
    }
    let current = contents(&db, "people", None).await;
    restore_to(&db, "people", "latest", None).await;
    assert_eq!(contents(&db, "latest", None).await, current);
    let restored = db
        .describe_continuous_backups()
        .table_name("latest")
        .send()
        .await
        .unwrap();
    let status = restored
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap()
        .point_in_time_recovery_status();
    assert_eq!(
        status,
        Some(&PointInTimeRecoveryStatus::Disabled),
        "PITR is not restored"
    );
}

#[tokio::test]
async fn point_in_time_recovery_survives_a_restart() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    people(&db, "people").await;
    enable_pitr(&db, "people").await;
    put_all(
        &db,
        "people",
        &(0..30).map(|i| person("p", i, "v1")).collect::<Vec<_>>(),
    )
    .await;
    let at = mark().await;
    let then = contents(&db, "people", None).await;
    churn(&db, "people", 1).await;
    let server = server.restart().await;
    let db = server.dynamodb();
    churn(&db, "people", 2).await;
    restore_to(&db, "people", "then", Some(at)).await;
    assert_eq!(contents(&db, "then", None).await, then);
}

#[tokio::test]
async fn point_in_time_errors_are_dynamodbs() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "ttt", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let d = db
        .describe_continuous_backups()
        .table_name("ttt")
        .send()
        .await
        .unwrap();
    let d = d.continuous_backups_description().unwrap();
    assert_eq!(d.continuous_backups_status().as_str(), "ENABLED");
    let pitr = d.point_in_time_recovery_description().unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Disabled)
    );
    assert!(pitr.earliest_restorable_date_time().is_none());

    let e = db
        .restore_table_to_point_in_time()
        .source_table_name("ttt")
        .target_table_name("tt2")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "PointInTimeRecoveryUnavailableException".into(),
            "Point in time recovery is not enabled for table 'ttt'".into()
        )
    );
    let e = db
        .describe_continuous_backups()
        .table_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()),
        (
            "TableNotFoundException".into(),
            "Table not found: nope".into()
        )
    );
    let spec = |enabled, days: Option<i32>| {
        PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(enabled)
            .set_recovery_period_in_days(days)
            .build()
            .unwrap()
    };
    let e = db
        .update_continuous_backups()
        .table_name("ttt")
        .point_in_time_recovery_specification(spec(true, Some(36)))
        .send()
        .await
        .unwrap_err();
    let (name, message) = code(e.as_service_error().unwrap());
    assert_eq!(name, "ValidationException");
    assert!(message.contains("less than or equal to 35"), "{message}");
    let e = db
        .update_continuous_backups()
        .table_name("ttt")
        .point_in_time_recovery_specification(spec(false, Some(7)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).1,
        "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery."
    );
    let out = db
        .update_continuous_backups()
        .table_name("ttt")
        .point_in_time_recovery_specification(spec(true, Some(7)))
        .send()
        .await
        .unwrap();
    let pitr = out
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    assert_eq!(pitr.recovery_period_in_days(), Some(7));
    let earliest = pitr.earliest_restorable_date_time().unwrap().as_secs_f64();
    let e = db
        .restore_table_to_point_in_time()
        .source_table_name("ttt")
        .target_table_name("tt2")
        .restore_date_time(DateTime::from_secs_f64(earliest - 3600.0))
        .send()
        .await
        .unwrap_err();
    let (name, message) = code(e.as_service_error().unwrap());
    assert_eq!(name, "InvalidRestoreTimeException");
    assert!(message.starts_with("RestoreDateTime '"), "{message}");
    assert!(
        message.contains("must be within EarliestRestorableDateTime"),
        "{message}"
    );
    let e = db
        .restore_table_to_point_in_time()
        .source_table_name("ttt")
        .target_table_name("tt2")
        .restore_date_time(DateTime::from_secs_f64(keyfall_tests::now_seconds()))
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert!(code(e.as_service_error().unwrap())
        .1
        .starts_with("Invalid Request: Both RestoreDateTime"));
    let e = db
        .restore_table_to_point_in_time()
        .source_table_name("ttt")
        .target_table_name("ttt")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "TableAlreadyExistsException"
    );
    // Disabled, the log and bases go, and restores are refused again.
    db.update_continuous_backups()
        .table_name("ttt")
        .point_in_time_recovery_specification(spec(false, None))
        .send()
        .await
        .unwrap();
    let e = db
        .restore_table_to_point_in_time()
        .source_table_name("ttt")
        .target_table_name("tt2")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "PointInTimeRecoveryUnavailableException"
    );
}

#[tokio::test]
async fn a_policy_on_one_tables_backups_grants_nothing_on_anothers() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "mine", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    new_table(&db, "theirs", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let theirs = backup(&db, "theirs", "secret").await;
    keyfall_tests::wait_backup_available(&db, &theirs).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["dynamodb:DescribeBackup","dynamodb:RestoreTableFromBackup","dynamodb:CreateBackup"],
         "Resource":["arn:aws:dynamodb:*:*:table/mine","arn:aws:dynamodb:*:*:table/mine/backup/*"]},
        {"Effect":"Allow","Action":["dynamodb:*"],"Resource":"arn:aws:dynamodb:*:*:table/copy"}]}"#;
    let key = keyfall_tests::user_with_policy(&server, "alice", policy).await;
    let alice = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let e = alice
        .describe_backup()
        .backup_arn(&theirs)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException"
    );
    let e = alice
        .restore_table_from_backup()
        .target_table_name("copy")
        .backup_arn(&theirs)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException"
    );
    // Their backup's id under my table's name is an ARN alice may use, and finds nothing.
    let spoofed = theirs.replace("table/theirs/", "table/mine/");
    let e = alice
        .restore_table_from_backup()
        .target_table_name("copy")
        .backup_arn(&spoofed)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "BackupNotFoundException"
    );
    // Her own table's backup restores into a table she may write.
    let mine = alice
        .create_backup()
        .table_name("mine")
        .backup_name("ok1")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_string();
    keyfall_tests::wait_backup_available(&db, &mine).await;
    alice
        .restore_table_from_backup()
        .target_table_name("copy")
        .backup_arn(&mine)
        .send()
        .await
        .expect("restore allowed");
    // Not into one she may not.
    let e = alice
        .restore_table_from_backup()
        .target_table_name("elsewhere")
        .backup_arn(&mine)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException"
    );
}

/// Through keyfall-dax, over gRPC and JSON: the actions pass through, authorized with the
/// server's own checks (the restore's target table included).
#[tokio::test]
async fn backups_pass_through_the_proxy_authorized_per_table() {
    use keyfall_proto::v1 as pb;
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "mine", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    new_table(&db, "theirs", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"dynamodb:*","Resource":["arn:aws:dynamodb:*:*:table/mine","arn:aws:dynamodb:*:*:table/mine/*"]}]}"#;
    let key = keyfall_tests::user_with_policy(&server, "bob", policy).await;
    let direct = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let e = direct
        .describe_table()
        .table_name("theirs")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException",
        "describe"
    );
    let e = direct
        .create_backup()
        .table_name("theirs")
        .backup_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException",
        "server"
    );
    let proxy = keyfall_tests::TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
    })
    .await;
    let via_json = proxy.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    let arn = via_json
        .create_backup()
        .table_name("mine")
        .backup_name("through-the-proxy")
        .send()
        .await
        .expect("allowed on its table")
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_string();
    keyfall_tests::wait_backup_available(&db, &arn).await;
    let e = via_json
        .create_backup()
        .table_name("theirs")
        .backup_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(e.as_service_error().unwrap()).0,
        "AccessDeniedException"
    );
    let mut grpc = proxy
        .grpc_as(&key.access_key_id, &key.secret_access_key)
        .await;
    let denied = grpc
        .restore_table_from_backup(pb::RestoreTableFromBackupRequest {
            target_table_name: "theirs2".into(),
            backup_arn: arn.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        keyfall_tests::error_type(&denied),
        Some("AccessDeniedException"),
        "the target table is checked too"
    );
    let denied = grpc
        .update_continuous_backups(pb::UpdateContinuousBackupsRequest {
            table_name: "theirs".into(),
            point_in_time_recovery_specification: Some(pb::PointInTimeRecoverySpecification {
                point_in_time_recovery_enabled: true,
                recovery_period_in_days: None,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        keyfall_tests::error_type(&denied),
        Some("AccessDeniedException")
    );
    let d = grpc
        .describe_backup(pb::DescribeBackupRequest {
            backup_arn: arn.clone(),
        })
        .await
        .expect("allowed on its table's backup")
        .into_inner();
    let details = d.backup_description.unwrap().backup_details.unwrap();
    assert_eq!(details.backup_status, "AVAILABLE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_backs_up_restores_and_recovers_to_a_second() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    people(&db, "people").await;
    let s = &server;
    tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(s, &["pitr", "enable", "people", "--days", "3"])
    });
    put_all(
        &db,
        "people",
        &(0..20).map(|i| person("p", i, "v1")).collect::<Vec<_>>(),
    )
    .await;
    let at = mark().await;
    let then = contents(&db, "people", None).await;
    let created: serde_json::Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(s, &["backup", "create", "people", "from-cli"])
    }))
    .unwrap();
    let arn = created["BackupArn"].as_str().unwrap().to_string();
    churn(&db, "people", 1).await;
    keyfall_tests::wait_backup_available(&db, &arn).await;
    let listed = tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(s, &["backup", "list", "--table", "people"])
    });
    assert!(listed.contains(&arn), "{listed}");
    tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(s, &["backup", "restore", &arn, "fromBackup", "--wait"])
    });
    assert_eq!(contents(&db, "fromBackup", None).await, then);
    let status: serde_json::Value = serde_json::from_str(&tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(s, &["pitr", "status", "people"])
    }))
    .unwrap();
    assert_eq!(status["PointInTimeRecoveryStatus"], "ENABLED");
    assert_eq!(status["RecoveryPeriodInDays"], 3);
    let at = format!("{at}");
    tokio::task::block_in_place(|| {
        keyfall_tests::cli_output(
            s,
            &[
                "pitr", "restore", "people", "fromPitr", "--at", &at, "--wait",
            ],
        )
    });
    assert_eq!(contents(&db, "fromPitr", None).await, then);
}
