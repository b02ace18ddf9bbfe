//! Query, Scan and the batch operations through the official AWS SDK.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, KeysAndAttributes, PutRequest, ScalarAttributeType, Select, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use keyfall_tests::{new_table, TestServer};

async fn table(db: &Client, name: &str, sk_type: ScalarAttributeType) {
    new_table(
        db,
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", sk_type)),
    )
    .send()
    .await
    .unwrap();
}

fn item(pk: &str, sk: Av) -> HashMap<String, Av> {
    [("pk".to_string(), Av::S(pk.into())), ("sk".to_string(), sk)].into()
}

async fn put_all(db: &Client, name: &str, items: Vec<HashMap<String, Av>>) {
    for chunk in items.chunks(25) {
        let writes = chunk
            .iter()
            .map(|i| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(i.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let out = db
            .batch_write_item()
            .request_items(name, writes)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
}

/// Pages through a query with `limit` and returns every item, in order.
async fn query_all(
    db: &Client,
    name: &str,
    pk: &str,
    limit: i32,
    forward: bool,
) -> Vec<HashMap<String, Av>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = db
            .query()
            .table_name(name)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", Av::S(pk.into()))
            .limit(limit)
            .scan_index_forward(forward)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        out.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

#[tokio::test]
async fn numeric_sort_keys_are_ordered_by_value_and_pages_neither_lose_nor_repeat() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "nums", ScalarAttributeType::N).await;
    let numbers = [
        "-1E+125",
        "-99999999999999999999999999999999999999",
        "-1000",
        "-10.5",
        "-10.25",
        "-1",
        "-0.001",
        "-1E-130",
        "0",
        "1E-130",
        "0.000001",
        "0.5",
        "1",
        "1.5",
        "2",
        "9.99",
        "10",
        "10.01",
        "100",
        "123456789012345678901234567890",
        "1E+100",
        "9.9999999999999999999999999999999999999E+125",
    ];
    let mut items: Vec<_> = numbers
        .iter()
        .map(|n| item("p", Av::N(n.to_string())))
        .collect();
    items.extend((0..150).map(|i| item("p", Av::N(format!("{}.{}7", i * 3 - 200, i % 7)))));
    items.push(item("other", Av::N("5".into())));
    put_all(&db, "nums", items).await;

    let forward = query_all(&db, "nums", "p", 7, true).await;
    let keys: Vec<String> = forward
        .iter()
        .map(|i| match i.get("sk") {
            Some(Av::N(n)) => n.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(keys.len(), numbers.len() + 150, "no item lost or repeated");
    assert_eq!(
        keys.iter().collect::<HashSet<_>>().len(),
        keys.len(),
        "no repeats"
    );
    let as_f64: Vec<f64> = keys.iter().map(|k| k.parse::<f64>().unwrap()).collect();
    assert!(
        as_f64.windows(2).all(|w| w[0] <= w[1]),
        "ascending by value: {keys:?}"
    );
    assert_eq!(
        keys.first().map(String::as_str),
        Some(format!("-1{}", "0".repeat(125)).as_str())
    );

    let backward = query_all(&db, "nums", "p", 11, false).await;
    let mut reversed = forward.clone();
    reversed.reverse();
    assert_eq!(backward, reversed);

    let range = db
        .query()
        .table_name("nums")
        .key_condition_expression("pk = :p AND sk BETWEEN :lo AND :hi")
        .expression_attribute_values(":p", Av::S("p".into()))
        .expression_attribute_values(":lo", Av::N("-1".into()))
        .expression_attribute_values(":hi", Av::N("1.5".into()))
        .send()
        .await
        .unwrap();
    let got: Vec<&Av> = range.items().iter().filter_map(|i| i.get("sk")).collect();
    let want: Vec<Av> = [
        "-1", "-0.001", "-1E-130", "0", "1E-130", "0.000001", "0.5", "1", "1.5",
    ]
    .iter()
    .map(|n| {
        let canonical = match *n {
            "-1E-130" => format!("-0.{}1", "0".repeat(129)),
            "1E-130" => format!("0.{}1", "0".repeat(129)),
            other => other.to_string(),
        };
        Av::N(canonical)
    })
    .collect();
    // Items generated by the formula also fall in the range: check the fixed ones are all there in order.
    let fixed: Vec<&Av> = got.iter().copied().filter(|v| want.contains(v)).collect();
    assert_eq!(fixed, want.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn binary_and_string_sort_keys_are_bytewise() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "bins", ScalarAttributeType::B).await;
    let values: Vec<Vec<u8>> = vec![
        vec![0],
        vec![0, 0],
        vec![0, 1],
        vec![1],
        vec![0x7F],
        vec![0x80],
        vec![0xFF],
        vec![0xFF, 0],
    ];
    put_all(
        &db,
        "bins",
        values
            .iter()
            .rev()
            .map(|b| item("p", Av::B(b.clone().into())))
            .collect(),
    )
    .await;
    let got: Vec<Vec<u8>> = query_all(&db, "bins", "p", 3, true)
        .await
        .iter()
        .map(|i| match i.get("sk") {
            Some(Av::B(b)) => b.clone().into_inner(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, values);

    table(&db, "strs", ScalarAttributeType::S).await;
    let strings = ["A", "Z", "a", "ab", "abc", "b", "é", "日本"];
    put_all(
        &db,
        "strs",
        strings
            .iter()
            .map(|s| item("p", Av::S(s.to_string())))
            .collect(),
    )
    .await;
    let page = db
        .query()
        .table_name("strs")
        .key_condition_expression("pk = :p AND begins_with(sk, :a)")
        .expression_attribute_values(":p", Av::S("p".into()))
        .expression_attribute_values(":a", Av::S("a".into()))
        .send()
        .await
        .unwrap();
    let got: Vec<&Av> = page.items().iter().filter_map(|i| i.get("sk")).collect();
    assert_eq!(
        got,
        vec![
            &Av::S("a".into()),
            &Av::S("ab".into()),
            &Av::S("abc".into())
        ]
    );
    // Each comparison is exact on prefix-related strings ("a" < "ab" < "abc").
    let cases: [(&str, &[&str]); 5] = [
        ("sk = :a", &["a"]),
        ("sk > :a", &["ab", "abc", "b", "é", "日本"]),
        ("sk <= :ab", &["A", "Z", "a", "ab"]),
        ("sk < :a", &["A", "Z"]),
        ("sk BETWEEN :a AND :ab", &["a", "ab"]),
    ];
    for (cond, want) in cases {
        let page = db
            .query()
            .table_name("strs")
            .key_condition_expression(format!("pk = :p AND {cond}"))
            .set_expression_attribute_values(Some(
                [
                    (":p".to_string(), Av::S("p".into())),
                    (":a".to_string(), Av::S("a".into())),
                    (":ab".to_string(), Av::S("ab".into())),
                ]
                .into_iter()
                .filter(|(k, _)| k == ":p" || cond.split_whitespace().any(|t| t == k))
                .collect(),
            ))
            .send()
            .await
            .unwrap();
        let got: Vec<&str> = page
            .items()
            .iter()
            .filter_map(|i| match i.get("sk") {
                Some(Av::S(s)) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(got, want, "{cond}");
    }
}

#[tokio::test]
async fn pages_stop_at_one_megabyte() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "big", ScalarAttributeType::N).await;
    let blob = "x".repeat(100 * 1024);
    for i in 0..25 {
        let mut it = item("p", Av::N(i.to_string()));
        it.insert("blob".into(), Av::S(blob.clone()));
        db.put_item()
            .table_name("big")
            .set_item(Some(it))
            .send()
            .await
            .unwrap();
    }
    let first = db
        .query()
        .table_name("big")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", Av::S("p".into()))
        .send()
        .await
        .unwrap();
    let n = first.items().len();
    assert!(
        (10..=11).contains(&n),
        "a 1 MB page holds about ten 100 KB items, got {n}"
    );
    assert!(first.last_evaluated_key.is_some());
    assert_eq!(query_all(&db, "big", "p", 1000, true).await.len(), 25);
}

#[tokio::test]
async fn scan_filters_counts_and_parallel_segments() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "scan", ScalarAttributeType::N).await;
    let items: Vec<_> = (0..200)
        .map(|i| {
            let mut it = item(&format!("p{}", i % 37), Av::N(i.to_string()));
            it.insert("even".into(), Av::Bool(i % 2 == 0));
            it
        })
        .collect();
    put_all(&db, "scan", items).await;

    let counted = db
        .scan()
        .table_name("scan")
        .filter_expression("even = :t")
        .expression_attribute_values(":t", Av::Bool(true))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!((counted.count, counted.scanned_count), (100, 200));
    assert!(counted.items.is_none());

    let mut seen = HashSet::new();
    for segment in 0..4 {
        let mut start = None;
        loop {
            let page = db
                .scan()
                .table_name("scan")
                .segment(segment)
                .total_segments(4)
                .limit(13)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for it in page.items() {
                let key = format!("{:?}{:?}", it.get("pk"), it.get("sk"));
                assert!(
                    seen.insert(key),
                    "segments are disjoint and pages do not repeat"
                );
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    assert_eq!(seen.len(), 200, "segments cover the table");

    let err = db
        .scan()
        .table_name("scan")
        .segment(4)
        .total_segments(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
}

#[tokio::test]
async fn query_validation() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "qval", ScalarAttributeType::N).await;
    // (KeyConditionExpression, its values, expected message)
    type Case<'a> = (&'a str, Vec<(&'a str, Av)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "sk = :s",
            vec![(":s", Av::N("1".into()))],
            "Query condition missed key schema element",
        ),
        (
            "pk = :p OR sk = :s",
            vec![(":p", Av::S("a".into())), (":s", Av::N("1".into()))],
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "pk = :p AND sk <> :s",
            vec![(":p", Av::S("a".into())), (":s", Av::N("1".into()))],
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            "pk = :p AND sk > :s AND sk < :s",
            vec![(":p", Av::S("a".into())), (":s", Av::N("1".into()))],
            "only contain one condition per key",
        ),
        (
            "pk = :p",
            vec![(":p", Av::N("1".into()))],
            "Condition parameter type does not match schema type",
        ),
        (
            "pk > :p",
            vec![(":p", Av::S("a".into()))],
            "Query key condition not supported",
        ),
    ];
    for (kce, values, want) in cases {
        let mut q = db.query().table_name("qval").key_condition_expression(kce);
        for (k, v) in values {
            q = q.expression_attribute_values(k, v);
        }
        let err = q.send().await.unwrap_err();
        assert!(
            err.message().unwrap_or_default().contains(want),
            "{kce}: {:?}",
            err.message()
        );
    }
    let err = db
        .query()
        .table_name("qval")
        .key_condition_expression("pk = :p")
        .filter_expression("sk > :s")
        .expression_attribute_values(":p", Av::S("a".into()))
        .expression_attribute_values(":s", Av::N("1".into()))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .message()
        .unwrap()
        .contains("Filter Expression can only contain non-primary key attributes"));
}

#[tokio::test]
async fn batch_get_and_write_across_tables() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    table(&db, "batch1", ScalarAttributeType::N).await;
    table(&db, "batch2", ScalarAttributeType::N).await;
    put_all(
        &db,
        "batch1",
        (0..60).map(|i| item("a", Av::N(i.to_string()))).collect(),
    )
    .await;
    put_all(
        &db,
        "batch2",
        (0..40).map(|i| item("b", Av::N(i.to_string()))).collect(),
    )
    .await;
    let keys = |pk: &str, n: usize| {
        let mut k = KeysAndAttributes::builder();
        for i in 0..n {
            k = k.keys(item(pk, Av::N(i.to_string())));
        }
        k
    };
    let got = db
        .batch_get_item()
        .request_items(
            "batch1",
            keys("a", 60).projection_expression("sk").build().unwrap(),
        )
        .request_items(
            "batch2",
            keys("b", 40).consistent_read(true).build().unwrap(),
        )
        .send()
        .await
        .unwrap();
    let responses = got.responses.unwrap();
    assert_eq!(responses["batch1"].len(), 60);
    assert_eq!(responses["batch2"].len(), 40);
    assert!(responses["batch1"]
        .iter()
        .all(|i| i.len() == 1 && i.contains_key("sk")));

    let err = db
        .batch_get_item()
        .request_items("batch1", keys("a", 60).build().unwrap())
        .request_items("batch2", keys("b", 41).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Too many items requested for the BatchGetItem call")
    );

    let dup = item("a", Av::N("1".into()));
    let err = db
        .batch_get_item()
        .request_items(
            "batch1",
            KeysAndAttributes::builder()
                .keys(dup.clone())
                .keys(dup.clone())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Provided list of item keys contains duplicates")
    );

    // A batch with one invalid request writes nothing.
    let good = WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(item("new", Av::N("1".into()))))
                .build()
                .unwrap(),
        )
        .build();
    let bad = WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some([("pk".to_string(), Av::S("x".into()))].into()))
                .build()
                .unwrap(),
        )
        .build();
    let err = db
        .batch_write_item()
        .request_items("batch1", vec![good, bad])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let missing = db
        .get_item()
        .table_name("batch1")
        .set_key(Some(item("new", Av::N("1".into()))))
        .send()
        .await
        .unwrap();
    assert!(
        missing.item.is_none(),
        "validation happens before any write"
    );
}
