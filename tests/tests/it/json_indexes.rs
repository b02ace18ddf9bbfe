//! Local and global secondary indexes through the official AWS SDK.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
    ScalarAttributeType, Select,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::TestServer;

fn ks(name: &str, kt: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kt)
        .build()
        .unwrap()
}

fn def(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

async fn indexed_table(db: &Client) {
    db.create_table()
        .table_name("people")
        .key_schema(ks("pk", KeyType::Hash))
        .key_schema(ks("sk", KeyType::Range))
        .attribute_definitions(def("pk", ScalarAttributeType::S))
        .attribute_definitions(def("sk", ScalarAttributeType::N))
        .attribute_definitions(def("city", ScalarAttributeType::S))
        .attribute_definitions(def("age", ScalarAttributeType::N))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byCity")
                .key_schema(ks("city", KeyType::Hash))
                .key_schema(ks("age", KeyType::Range))
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
                .key_schema(ks("pk", KeyType::Hash))
                .key_schema(ks("age", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("name")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn person(
    pk: &str,
    sk: i64,
    name: &str,
    city: Option<&str>,
    age: Option<i64>,
) -> HashMap<String, Av> {
    let mut m: HashMap<String, Av> = [
        ("pk".to_string(), Av::S(pk.into())),
        ("sk".to_string(), Av::N(sk.to_string())),
        ("name".to_string(), Av::S(name.into())),
        ("bio".to_string(), Av::S("long text".into())),
    ]
    .into();
    if let Some(c) = city {
        m.insert("city".into(), Av::S(c.into()));
    }
    if let Some(a) = age {
        m.insert("age".into(), Av::N(a.to_string()));
    }
    m
}

async fn city_query(db: &Client, city: &str) -> Vec<HashMap<String, Av>> {
    db.query()
        .table_name("people")
        .index_name("byCity")
        .key_condition_expression("city = :c")
        .expression_attribute_values(":c", Av::S(city.into()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test]
async fn indexes_follow_every_write() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    indexed_table(&db).await;
    for (i, (city, age)) in [
        (Some("Paris"), Some(30)),
        (Some("Paris"), Some(25)),
        (Some("Oslo"), Some(41)),
        (None, Some(19)),
        (Some("Paris"), None),
    ]
    .into_iter()
    .enumerate()
    {
        let p = person("fam", i as i64, &format!("n{i}"), city, age);
        db.put_item()
            .table_name("people")
            .set_item(Some(p))
            .send()
            .await
            .unwrap();
    }
    // Sparse: items without both GSI key attributes are not in it; order by the index sort key.
    let paris = city_query(&db, "Paris").await;
    let ages: Vec<&Av> = paris.iter().filter_map(|i| i.get("age")).collect();
    assert_eq!(ages, vec![&Av::N("25".into()), &Av::N("30".into())]);
    assert!(
        paris.iter().all(|i| i.len() == 4),
        "KEYS_ONLY holds table and index keys: {paris:?}"
    );

    // An item moves when its index key changes, and leaves when the key is removed.
    db.update_item()
        .table_name("people")
        .key("pk", Av::S("fam".into()))
        .key("sk", Av::N("0".into()))
        .update_expression("SET city = :c")
        .expression_attribute_values(":c", Av::S("Oslo".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(city_query(&db, "Paris").await.len(), 1);
    assert_eq!(city_query(&db, "Oslo").await.len(), 2);
    db.delete_item()
        .table_name("people")
        .key("pk", Av::S("fam".into()))
        .key("sk", Av::N("2".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(city_query(&db, "Oslo").await.len(), 1);

    // LSI with INCLUDE projection; ALL_ATTRIBUTES reads through to the table.
    let by_age = db
        .query()
        .table_name("people")
        .index_name("byAge")
        .key_condition_expression("pk = :p AND age >= :a")
        .expression_attribute_values(":p", Av::S("fam".into()))
        .expression_attribute_values(":a", Av::N("20".into()))
        .send()
        .await
        .unwrap();
    let items = by_age.items.unwrap();
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .all(|i| i.contains_key("name") && !i.contains_key("bio")));
    let full = db
        .query()
        .table_name("people")
        .index_name("byAge")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", Av::S("fam".into()))
        .select(Select::AllAttributes)
        .send()
        .await
        .unwrap();
    assert!(full.items().iter().all(|i| i.contains_key("bio")));

    // Index key types are checked on every write.
    let err = db
        .put_item()
        .table_name("people")
        .set_item(Some({
            let mut p = person("fam", 9, "bad", None, None);
            p.insert("city".into(), Av::N("1".into()));
            p
        }))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .contains("Type mismatch for Index Key city"),
        "{:?}",
        err.message()
    );

    let err = db
        .query()
        .table_name("people")
        .index_name("byCity")
        .key_condition_expression("city = :c")
        .expression_attribute_values(":c", Av::S("Oslo".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Consistent reads are not supported on global secondary indexes")
    );

    let desc = db
        .describe_table()
        .table_name("people")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let gsi = &desc.global_secondary_indexes()[0];
    assert_eq!(gsi.index_status(), Some(&IndexStatus::Active));
    assert_eq!(gsi.item_count(), Some(2));
    assert_eq!(desc.local_secondary_indexes()[0].item_count(), Some(3));
}

#[tokio::test]
async fn gsi_created_on_a_populated_table_is_backfilled_under_concurrent_writes() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    db.create_table()
        .table_name("orders")
        .key_schema(ks("id", KeyType::Hash))
        .attribute_definitions(def("id", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let n = 1500;
    let item = |i: usize, status: &str| -> HashMap<String, Av> {
        [
            ("id".to_string(), Av::S(format!("o{i}"))),
            ("status".to_string(), Av::S(status.into())),
        ]
        .into()
    };
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let writes = chunk
            .iter()
            .map(|&i| {
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .set_item(Some(item(i, "new")))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        db.batch_write_item()
            .request_items("orders", writes)
            .send()
            .await
            .unwrap();
    }
    // Writers keep changing statuses while the index is created.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (db, stop) = (db.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = ["paid", "shipped", "new"][i % 3];
                db.put_item()
                    .table_name("orders")
                    .set_item(Some(item((i * 7) % n, status)))
                    .send()
                    .await
                    .unwrap();
                i += 4;
            }
        }));
    }
    db.update_table()
        .table_name("orders")
        .attribute_definitions(def("status", ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(
                    CreateGlobalSecondaryIndexAction::builder()
                        .index_name("byStatus")
                        .key_schema(ks("status", KeyType::Hash))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
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
    let mut active = false;
    for _ in 0..600 {
        let desc = db
            .describe_table()
            .table_name("orders")
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        if desc.global_secondary_indexes()[0].index_status() == Some(&IndexStatus::Active) {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(active, "backfill finishes");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    // The index holds exactly the table's items, with their latest status.
    let mut table: BTreeMap<String, String> = BTreeMap::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name("orders")
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for it in page.items() {
            if let (Some(Av::S(id)), Some(Av::S(s))) = (it.get("id"), it.get("status")) {
                table.insert(id.clone(), s.clone());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let mut index: BTreeMap<String, String> = BTreeMap::new();
    for status in ["new", "paid", "shipped"] {
        let mut start = None;
        loop {
            let page = db
                .query()
                .table_name("orders")
                .index_name("byStatus")
                .key_condition_expression("#s = :s")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", Av::S(status.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for it in page.items() {
                if let Some(Av::S(id)) = it.get("id") {
                    assert!(
                        index.insert(id.clone(), status.to_string()).is_none(),
                        "{id} indexed twice"
                    );
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    assert_eq!(table.len(), n);
    assert_eq!(index, table);

    // Deleting the index removes it.
    db.update_table()
        .table_name("orders")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("byStatus")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = db
        .query()
        .table_name("orders")
        .index_name("byStatus")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", Av::S("new".into()))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .message()
        .unwrap()
        .contains("does not have the specified index"));
    let desc = db
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert!(desc.global_secondary_indexes().is_empty());
    assert!(desc
        .attribute_definitions()
        .iter()
        .all(|d| d.attribute_name() != "status"));
}

#[tokio::test]
async fn item_collections_of_lsi_tables_are_limited() {
    // A 1 MiB limit stands in for DynamoDB's 10 GB.
    let server = TestServer::start_with(|c| c.item_collection_limit_mib = 1).await;
    let db = server.dynamodb();
    indexed_table(&db).await;
    let blob = "x".repeat(100 * 1024);
    let put = |pk: &str, sk: i64| {
        let mut item = person(pk, sk, "n", None, Some(sk));
        item.insert("bio".into(), Av::S(blob.clone()));
        db.put_item()
            .table_name("people")
            .set_item(Some(item))
            .return_item_collection_metrics(
                aws_sdk_dynamodb::types::ReturnItemCollectionMetrics::Size,
            )
            .send()
    };
    let first = put("big", 0).await.unwrap();
    let metrics = first.item_collection_metrics.unwrap();
    assert_eq!(
        metrics.item_collection_key().unwrap().get("pk"),
        Some(&Av::S("big".into()))
    );
    assert_eq!(metrics.size_estimate_range_gb(), [0.0, 1.0]);
    let mut stored = 1;
    let err = loop {
        match put("big", stored).await {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 20, "the limit is enforced");
    };
    assert_eq!(err.code(), Some("ItemCollectionSizeLimitExceededException"));
    assert!(
        (9..=10).contains(&stored),
        "about 1 MiB of 100 KB items: {stored}"
    );
    put("other", 0)
        .await
        .expect("other partitions are not affected");
    db.delete_item()
        .table_name("people")
        .key("pk", Av::S("big".into()))
        .key("sk", Av::N("0".into()))
        .send()
        .await
        .unwrap();
    put("big", 100)
        .await
        .expect("deleting frees room in the collection");
}
