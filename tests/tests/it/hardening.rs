//! Issue 17 (hardening): each test replays, through real clients against a real server, a
//! sequence that broke authorization or metadata before the fix. Test names carry the
//! issue's item number.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, ComparisonOperator, Condition, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType, Put, PutRequest,
    ScalarAttributeType as St, TransactWriteItem, WriteRequest,
};
use keyfall_proto::v1 as pb;
use keyfall_tests::{error_type, new_streamed_table, new_table, signed_channel, TestServer};
use serde_json::json;

const ACCOUNT: &str = "000000000000";

fn table_arn(name: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}")
}

/// A server whose `--iam-config` holds `users`.
async fn start_with_users(users: serde_json::Value) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.json");
    std::fs::write(&path, json!({ "users": users }).to_string()).unwrap();
    let server = TestServer::start_with(move |c| c.iam_config = Some(path)).await;
    // The server reads the file once it runs: keep it for the whole test.
    std::mem::forget(dir);
    server
}

fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => format!("ok: {v:?}"),
        Err(e) => e.code().unwrap_or("<none>").to_string(),
    }
}

fn key(pk: &str, sk: i64) -> HashMap<String, Av> {
    [
        ("pk".to_string(), Av::S(pk.into())),
        ("sk".to_string(), Av::N(sk.to_string())),
    ]
    .into()
}

#[tokio::test]
async fn item01_leading_keys_come_from_the_parsed_key_condition() {
    let users = json!([{
        "name": "alice", "access_key_id": "AKIAALICE", "secret_access_key": "alice-secret",
        "policies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": ["dynamodb:Query", "dynamodb:Scan", "dynamodb:GetItem"],
            "Resource": [table_arn("Scores"), format!("{}/index/*", table_arn("Scores"))],
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}
        }]}]
    }]);
    let server = start_with_users(users).await;
    let root = server.dynamodb();
    new_table(&root, "Scores", ("pk", St::S), Some(("sk", St::N)))
        .send()
        .await
        .unwrap();
    for pk in ["alice", "bob"] {
        for sk in 1..=3 {
            root.put_item()
                .table_name("Scores")
                .set_item(Some(key(pk, sk)))
                .send()
                .await
                .unwrap();
        }
    }
    let alice = server.dynamodb_as("AKIAALICE", "alice-secret");
    // Every way of writing the same key condition binds the same partition.
    let conditions = [
        "pk = :u AND sk >= :g",
        "pk = :u\nAND sk >= :g",
        "pk = :u AND(sk >= :g)",
        "(pk = :u) AND sk >= :g",
        "pk = :u and sk >= :g",
        "(pk = :u)AND(sk >= :g)",
        ":u = pk AND sk >= :g",
        "sk >= :g AND pk = :u",
        "(pk = :u) AND (sk >= :g)",
    ];
    for cond in conditions {
        // Each form is a valid key condition: the engine runs it for the root user.
        let as_root = root
            .query()
            .table_name("Scores")
            .key_condition_expression(cond)
            .expression_attribute_values(":u", Av::S("bob".into()))
            .expression_attribute_values(":g", Av::N("0".into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{cond:?} as root: {e:?}"));
        assert_eq!(as_root.count, 3, "{cond:?}");
        let query = |who: &str| {
            alice
                .query()
                .table_name("Scores")
                .key_condition_expression(cond)
                .expression_attribute_values(":u", Av::S(who.into()))
                .expression_attribute_values(":g", Av::N("0".into()))
                .send()
        };
        assert_eq!(
            code(query("bob").await),
            "AccessDeniedException",
            "{cond:?} must not read bob's partition"
        );
        let own = query("alice")
            .await
            .unwrap_or_else(|e| panic!("{cond:?}: {e:?}"));
        assert_eq!(own.count, 3, "{cond:?} reads alice's own partition");
    }
    // Names through placeholders, and the legacy KeyConditions, bind it too.
    let r = alice
        .query()
        .table_name("Scores")
        .key_condition_expression("#k = :u")
        .expression_attribute_names("#k", "pk")
        .expression_attribute_values(":u", Av::S("bob".into()))
        .send()
        .await;
    assert_eq!(code(r), "AccessDeniedException");
    let legacy = |who: &str| {
        alice
            .query()
            .table_name("Scores")
            .key_conditions(
                "pk",
                Condition::builder()
                    .comparison_operator(ComparisonOperator::Eq)
                    .attribute_value_list(Av::S(who.into()))
                    .build()
                    .unwrap(),
            )
            .send()
    };
    assert_eq!(code(legacy("bob").await), "AccessDeniedException");
    assert_eq!(legacy("alice").await.unwrap().count, 3);
    // A key condition that binds no single partition is denied, not guessed at.
    let r = alice
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :u OR pk = :v")
        .expression_attribute_values(":u", Av::S("alice".into()))
        .expression_attribute_values(":v", Av::S("bob".into()))
        .send()
        .await;
    assert_eq!(code(r), "AccessDeniedException");
    // Hostile: alice's own partition in the key condition, bob's in ExclusiveStartKey, or
    // both KeyConditionExpression and KeyConditions. The engine runs what was authorized
    // or refuses: bob's items never come back.
    let r = alice
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :u")
        .expression_attribute_values(":u", Av::S("alice".into()))
        .set_exclusive_start_key(Some(key("bob", 0)))
        .send()
        .await;
    assert_eq!(code(r), "ValidationException");
    let r = alice
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :u")
        .expression_attribute_values(":u", Av::S("alice".into()))
        .key_conditions(
            "pk",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(Av::S("bob".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(r), "ValidationException");
    // A Scan reads every partition: a partition-restricted caller cannot run one.
    assert_eq!(
        code(alice.scan().table_name("Scores").send().await),
        "AccessDeniedException"
    );
    // The root user still gets the engine's own answer for the malformed query.
    let r = root
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :u OR pk = :v")
        .expression_attribute_values(":u", Av::S("alice".into()))
        .expression_attribute_values(":v", Av::S("bob".into()))
        .send()
        .await;
    assert_eq!(code(r), "ValidationException");
}

/// A user allowed to follow any stream, created through the Admin API.
async fn stream_reader(
    admin: &mut pb::admin_client::AdminClient<keyfall_tests::GrpcChannel>,
    name: &str,
) -> (String, String) {
    admin
        .create_user(pb::CreateUserRequest {
            user_name: name.into(),
            tags: Default::default(),
        })
        .await
        .unwrap();
    admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: name.into(),
            policy_name: "feed".into(),
            policy_document: json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "dynamodb:GetRecords", "Resource": "*"
            }]})
            .to_string(),
        })
        .await
        .unwrap();
    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: name.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();
    (key.access_key_id, key.secret_access_key)
}

#[tokio::test]
async fn item03_push_feed_ends_when_the_key_or_the_policy_goes() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_streamed_table(&db, "feed", "id").await;
    let mut admin = pb::admin_client::AdminClient::new(server.channel().await);
    let endpoint = format!("http://{}", server.grpc_addr);
    for (user, revoke_key) in [("carol", true), ("dave", false)] {
        let (key_id, secret) = stream_reader(&mut admin, user).await;
        let mut feed = pb::dynamo_db_streams_client::DynamoDbStreamsClient::new(
            signed_channel(&endpoint, &key_id, &secret).await,
        );
        let mut sub = feed
            .subscribe_changes(pb::SubscribeChangesRequest {
                table_name: "feed".into(),
                starting_position: Some("LATEST".into()),
                sequence_number: None,
                internal: None,
            })
            .await
            .unwrap()
            .into_inner();
        let put = |id: String| {
            db.put_item()
                .table_name("feed")
                .item("id", Av::S(id))
                .send()
        };
        put(format!("{user}-before")).await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), sub.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            first.record.is_some(),
            "{user} receives records while allowed"
        );
        if revoke_key {
            admin
                .delete_access_key(pb::DeleteAccessKeyRequest {
                    user_name: user.into(),
                    access_key_id: key_id.clone(),
                })
                .await
                .unwrap();
        } else {
            admin
                .delete_user_policy(pb::DeleteUserPolicyRequest {
                    user_name: user.into(),
                    policy_name: "feed".into(),
                })
                .await
                .unwrap();
        }
        put(format!("{user}-after")).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), sub.message())
            .await
            .expect("the feed must end, not hang");
        match next {
            Err(status) => assert_eq!(
                error_type(&status),
                Some("AccessDeniedException"),
                "{user}: {status:?}"
            ),
            Ok(Some(msg)) => panic!("{user} still receives item images after revocation: {msg:?}"),
            Ok(None) => panic!("{user}: the feed ended without saying why"),
        }
    }
}

/// Sends only the request head of a POST with a large declared body and returns the
/// status line's code, read before any body byte is sent.
async fn head_only(addr: std::net::SocketAddr, headers: &[(String, String)], length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("the server answers before the body is sent")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// What the JSON API at `addr` must refuse from the request head alone: an unknown access
/// key, no credentials at all, and a declared body over DynamoDB's 16 MB request limit.
async fn refused_before_the_body(addr: std::net::SocketAddr) {
    let target = "DynamoDB_20120810.ListTables";
    let signed = |key: &str, secret: &str| {
        keyfall_tests::sign_json_request(&addr.to_string(), target, "{}", key, secret)
    };
    let unknown = signed("AKIANOBODY", "x");
    assert_eq!(
        head_only(addr, &unknown, 10 << 20).await,
        400,
        "unknown key"
    );
    let bare = vec![
        ("Host".to_string(), addr.to_string()),
        ("X-Amz-Target".to_string(), target.to_string()),
    ];
    assert_eq!(
        head_only(addr, &bare, 10 << 20).await,
        400,
        "no credentials"
    );
    let root = signed(
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    );
    assert_eq!(
        head_only(addr, &root, 17 << 20).await,
        413,
        "oversized body"
    );
}

#[tokio::test]
async fn item04_bad_credentials_and_oversized_bodies_are_refused_before_the_body() {
    let server = TestServer::start().await;
    refused_before_the_body(server.http_addr).await;
    // The same over gRPC: an unknown key is refused without the message being read.
    let mut grpc = pb::dynamo_db_client::DynamoDbClient::new(
        signed_channel(&format!("http://{}", server.grpc_addr), "AKIANOBODY", "x").await,
    );
    let status = grpc
        .list_tables(pb::ListTablesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("UnrecognizedClientException"));
}

#[tokio::test]
async fn item05_tagging_never_resurrects_a_deleted_table_or_undoes_a_change() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    for round in 0..20 {
        let name = format!("Race{round}");
        new_table(&db, &name, ("pk", St::S), None)
            .send()
            .await
            .unwrap();
        let tagger = {
            let db = db.clone();
            let arn = table_arn(&name);
            tokio::spawn(async move {
                for i in 0..20 {
                    let _ = db
                        .tag_resource()
                        .resource_arn(&arn)
                        .tags(
                            aws_sdk_dynamodb::types::Tag::builder()
                                .key(format!("k{i}"))
                                .value("v")
                                .build()
                                .unwrap(),
                        )
                        .send()
                        .await;
                }
            })
        };
        let ttl = db
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires")
                    .build()
                    .unwrap(),
            )
            .send()
            .await;
        assert!(ttl.is_ok(), "{ttl:?}");
        db.delete_table().table_name(&name).send().await.unwrap();
        tagger.await.unwrap();
        // Deleted stays deleted: no definition without its data.
        let described = db.describe_table().table_name(&name).send().await;
        assert_eq!(
            code(described),
            "ResourceNotFoundException",
            "round {round}"
        );
        let put = db
            .put_item()
            .table_name(&name)
            .item("pk", Av::S("x".into()))
            .send()
            .await;
        assert_eq!(code(put), "ResourceNotFoundException", "round {round}");
    }
    // Tag changes and definition changes both survive each other.
    new_table(&db, "Both", ("pk", St::S), None)
        .send()
        .await
        .unwrap();
    let arn = table_arn("Both");
    let tagging = {
        let db = db.clone();
        let arn = arn.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                db.tag_resource()
                    .resource_arn(&arn)
                    .tags(
                        aws_sdk_dynamodb::types::Tag::builder()
                            .key(format!("k{i}"))
                            .value("v")
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    db.update_time_to_live()
        .table_name("Both")
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    tagging.await.unwrap();
    let ttl = db
        .describe_time_to_live()
        .table_name("Both")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires"),
        "a racing TagResource must not undo UpdateTimeToLive"
    );
    let tags = db
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 30);
}

fn gsi(name: &str, hash: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(hash)
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
        .unwrap()
}

#[tokio::test]
async fn item07_index_keys_over_the_limits_are_refused_in_every_write_path() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "Idx", ("pk", St::S), Some(("sk", St::S)))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("g")
                .attribute_type(St::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("l")
                .attribute_type(St::B)
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(gsi("ByG", "g"))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("ByL")
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("pk")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("l")
                        .key_type(KeyType::Range)
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
        .send()
        .await
        .unwrap();
    let item = |extra: (&str, Av)| -> HashMap<String, Av> {
        [
            ("pk".to_string(), Av::S("p".into())),
            ("sk".to_string(), Av::S("s".into())),
            (extra.0.to_string(), extra.1),
        ]
        .into()
    };
    let long_gsi = item(("g", Av::S("x".repeat(3000))));
    let long_lsi = item((
        "l",
        Av::B(aws_sdk_dynamodb::primitives::Blob::new(vec![7u8; 1500])),
    ));
    for (bad, index, max) in [(&long_gsi, "ByG", 2048), (&long_lsi, "ByL", 1024)] {
        let put = db
            .put_item()
            .table_name("Idx")
            .set_item(Some(bad.clone()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(put.code(), Some("ValidationException"), "PutItem {index}");
        let msg = put.message().unwrap_or_default().to_string();
        assert!(
            msg.contains(&format!("Max Size: {max} bytes IndexName: {index}")),
            "{msg}"
        );
        let batch = db
            .batch_write_item()
            .request_items(
                "Idx",
                vec![WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(bad.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()],
            )
            .send()
            .await;
        assert_eq!(code(batch), "ValidationException", "BatchWriteItem {index}");
        let tx = db
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name("Idx")
                            .set_item(Some(bad.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await;
        let tx_code = code(tx);
        assert!(
            tx_code == "ValidationException" || tx_code == "TransactionCanceledException",
            "TransactWriteItems {index}: {tx_code}"
        );
        // UpdateItem that would set the long key.
        let (attr, value) = bad.iter().find(|(k, _)| *k == "g" || *k == "l").unwrap();
        let update = db
            .update_item()
            .table_name("Idx")
            .key("pk", Av::S("p".into()))
            .key("sk", Av::S("s".into()))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":v", value.clone())
            .send()
            .await;
        assert_eq!(code(update), "ValidationException", "UpdateItem {index}");
    }
    // Nothing was written: the base table is empty, so no item is missing from an index.
    let scan = db.scan().table_name("Idx").send().await.unwrap();
    assert_eq!(scan.count, 0);
    // Keys at the limit are fine.
    let at_limit = item(("g", Av::S("x".repeat(2048))));
    db.put_item()
        .table_name("Idx")
        .set_item(Some(at_limit))
        .send()
        .await
        .unwrap();
    let q = db
        .query()
        .table_name("Idx")
        .index_name("ByG")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", Av::S("x".repeat(2048)))
        .send()
        .await
        .unwrap();
    assert_eq!(q.count, 1);
}

#[tokio::test]
async fn item08_one_client_request_token_commits_one_transaction() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "Txn", ("pk", St::S), None)
        .send()
        .await
        .unwrap();
    let tx = |token: String, pk: String| {
        db.transact_write_items()
            .client_request_token(token)
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name("Txn")
                            .item("pk", Av::S(pk))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
    };
    for round in 0..40 {
        let token = format!("token-{round}");
        let (a, b) = tokio::join!(
            tx(token.clone(), format!("a{round}")),
            tx(token.clone(), format!("b{round}"))
        );
        let codes = [code(a), code(b)];
        let committed = codes.iter().filter(|c| c.starts_with("ok")).count();
        assert_eq!(committed, 1, "round {round}: {codes:?}");
        assert!(
            codes
                .iter()
                .any(|c| c == "IdempotentParameterMismatchException"
                    || c == "TransactionInProgressException"),
            "round {round}: {codes:?}"
        );
    }
    let scan = db.scan().table_name("Txn").send().await.unwrap();
    assert_eq!(scan.count, 40, "exactly one item per token");
}

#[tokio::test]
async fn item09_stream_sequence_numbers_survive_trimming_and_restart() {
    let server = TestServer::start_with(|c| {
        c.stream_retention = Duration::from_secs(3);
        c.ttl_sweep_interval = Duration::from_millis(100);
    })
    .await;
    let db = server.dynamodb();
    new_streamed_table(&db, "seq", "id").await;
    for i in 0..3 {
        db.put_item()
            .table_name("seq")
            .item("id", Av::S(format!("i{i}")))
            .send()
            .await
            .unwrap();
    }
    let streams = server.streams();
    let records = |streams: aws_sdk_dynamodbstreams::Client| async move {
        let arn = streams
            .list_streams()
            .table_name("seq")
            .send()
            .await
            .unwrap()
            .streams()[0]
            .stream_arn()
            .unwrap()
            .to_string();
        let shard = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap()
            .stream_description()
            .and_then(|d| d.shards().first().cloned())
            .and_then(|s| s.shard_id().map(str::to_string))
            .unwrap();
        let it = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard)
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        let out = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .unwrap();
        out.records()
            .iter()
            .filter_map(|r| r.dynamodb()?.sequence_number()?.parse::<u128>().ok())
            .collect::<Vec<_>>()
    };
    let before = records(streams.clone()).await;
    assert_eq!(before.len(), 3);
    let last = *before.last().unwrap();
    // Wait for the sweeper to trim the stream to empty.
    let mut trimmed = false;
    for _ in 0..200 {
        if records(streams.clone()).await.is_empty() {
            trimmed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(trimmed, "the stream was trimmed to empty");
    let server = server.restart().await;
    let db = server.dynamodb();
    db.put_item()
        .table_name("seq")
        .item("id", Av::S("after".into()))
        .send()
        .await
        .unwrap();
    let after = records(server.streams()).await;
    assert_eq!(after.len(), 1);
    assert!(
        after[0] > last,
        "sequence numbers never repeat: {} after {last}",
        after[0]
    );
}

#[tokio::test]
async fn item10_reads_racing_delete_table_answer_resource_not_found() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    for round in 0..10 {
        let name = format!("Gone{round}");
        new_table(&db, &name, ("pk", St::S), None)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("g")
                    .attribute_type(St::S)
                    .build()
                    .unwrap(),
            )
            .global_secondary_indexes(gsi("ByG", "g"))
            .send()
            .await
            .unwrap();
        for i in 0..50 {
            db.put_item()
                .table_name(&name)
                .item("pk", Av::S(format!("p{i}")))
                .item("g", Av::S("x".into()))
                .send()
                .await
                .unwrap();
        }
        let mut readers = Vec::new();
        for r in 0..4 {
            let db = db.clone();
            let name = name.clone();
            readers.push(tokio::spawn(async move {
                let mut codes = Vec::new();
                for _ in 0..30 {
                    let c = match r % 3 {
                        0 => code(db.scan().table_name(&name).send().await),
                        1 => code(
                            db.query()
                                .table_name(&name)
                                .index_name("ByG")
                                .key_condition_expression("g = :g")
                                .expression_attribute_values(":g", Av::S("x".into()))
                                .send()
                                .await,
                        ),
                        _ => code(
                            db.get_item()
                                .table_name(&name)
                                .key("pk", Av::S("p1".into()))
                                .send()
                                .await,
                        ),
                    };
                    codes.push(c);
                }
                codes
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        db.delete_table().table_name(&name).send().await.unwrap();
        for r in readers {
            for c in r.await.unwrap() {
                assert!(
                    c.starts_with("ok") || c == "ResourceNotFoundException",
                    "round {round}: a read racing DeleteTable answered {c}"
                );
            }
        }
    }
}

#[tokio::test]
async fn item03_proxy_refuses_requests_once_its_copy_of_the_users_expires() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "Cached", ("pk", St::S), None)
        .send()
        .await
        .unwrap();
    let proxy = keyfall_tests::TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
        c.auth_refresh = Duration::from_millis(100);
    })
    .await;
    let through = proxy.dynamodb_as(
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    );
    let get = || {
        through
            .get_item()
            .table_name("Cached")
            .key("pk", Av::S("k".into()))
            .send()
    };
    get().await.unwrap();
    // The server goes away: the proxy can no longer learn of revoked keys or policies.
    drop(server.stop().await);
    let mut refused = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Err(e) = get().await {
            if e.code() == Some("ServiceUnavailable") {
                refused = Some(e);
                break;
            }
        }
    }
    assert!(
        refused.is_some(),
        "after 6 missed refreshes the proxy refuses instead of trusting a stale copy"
    );
}

#[tokio::test]
async fn item04_the_proxy_also_refuses_before_the_body() {
    let server = TestServer::start().await;
    let proxy = keyfall_tests::TestProxy::start(&server, |c| {
        c.auth = keyfall_server::config::AuthMode::Enforce;
    })
    .await;
    refused_before_the_body(proxy.http_addr).await;
}
