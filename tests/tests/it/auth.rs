//! Authentication and authorization end to end: requests signed by the real AWS SDK and by
//! our gRPC signer, users and policies from an `--iam-config` file, and AWS's fine-grained
//! access control examples as acceptance cases.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, ConditionCheck, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType, Select,
    TransactWriteItem,
};
use keyfall_proto::v1 as pb;
use keyfall_tests::{
    error_type, json_error_name, new_table, raw_request_with_headers, sign_json_request,
    signed_channel, TestServer,
};
use serde_json::json;

const ACCOUNT: &str = "000000000000";

/// Users of the acceptance cases, each with one policy.
fn iam_config() -> serde_json::Value {
    let table = format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Scores");
    json!({"users": [
        {"name": "alice", "access_key_id": "AKIAALICE", "secret_access_key": "alice-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [{
            "Sid": "OwnItemsOnly",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                       "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem",
                       "dynamodb:ConditionCheckItem"],
            "Resource": table,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}
         }]}]},
        {"name": "reader", "access_key_id": "AKIAREADER", "secret_access_key": "reader-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": table,
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "name", "score"]},
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
            }
         }]}]},
        {"name": "editor", "access_key_id": "AKIAEDITOR", "secret_access_key": "editor-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:UpdateItem", "dynamodb:PutItem"], "Resource": table,
             "Condition": {"ForAllValues:StringNotLike": {"dynamodb:Attributes": ["salary", "secret*"]}}},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
            {"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Delete?tem"], "Resource": "*"}
         ]}]},
        {"name": "tlsonly", "access_key_id": "AKIATLSONLY", "secret_access_key": "tlsonly-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
         }]}]},
        {"name": "indexer", "access_key_id": "AKIAINDEXER", "secret_access_key": "indexer-secret",
         "policies": [{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": format!("{table}/index/ByScore"),
            "Condition": {"StringEquals": {"dynamodb:Select": "ALL_PROJECTED_ATTRIBUTES"}}
         }]}]}
    ]})
}

async fn start() -> TestServer {
    start_with(false).await
}

async fn start_with(tls: bool) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iam.json");
    std::fs::write(&path, iam_config().to_string()).unwrap();
    let server = TestServer::start_with(move |c| {
        c.iam_config = Some(path);
        c.tls_self_signed = tls;
    })
    .await;
    // The server reads the file once it runs: keep it for the whole test.
    std::mem::forget(dir);
    if tls {
        return server;
    }
    let db = server.dynamodb();
    new_table(
        &db,
        "Scores",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .attribute_definitions(
        AttributeDefinition::builder()
            .attribute_name("score")
            .attribute_type(ScalarAttributeType::N)
            .build()
            .unwrap(),
    )
    .global_secondary_indexes(
        GlobalSecondaryIndex::builder()
            .index_name("ByScore")
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("score")
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
    .send()
    .await
    .unwrap();
    server
}

fn item(pk: &str, sk: &str, extra: &[(&str, Av)]) -> HashMap<String, Av> {
    let mut m: HashMap<String, Av> = [
        ("pk".to_string(), Av::S(pk.into())),
        ("sk".to_string(), Av::N(sk.into())),
    ]
    .into();
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    m
}

fn denied<E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<impl std::fmt::Debug, E>) -> String {
    let e = r.expect_err("expected AccessDeniedException");
    assert_eq!(e.code(), Some("AccessDeniedException"), "{e:?}");
    e.message().unwrap_or_default().to_string()
}

#[tokio::test]
async fn bad_signatures_and_unknown_keys_are_refused_with_aws_names() {
    let server = start().await;
    let addr = server.http_addr;
    // No Authorization header at all.
    let headers = vec![
        ("Host".to_string(), addr.to_string()),
        (
            "X-Amz-Target".to_string(),
            "DynamoDB_20120810.ListTables".to_string(),
        ),
        (
            "Content-Type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
    ];
    let (status, body, _) = raw_request_with_headers(addr, &headers, "{}").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    );
    assert_eq!(body["message"], "Request is missing Authentication Token");

    // A body changed after signing.
    let signed = sign_json_request(
        &addr.to_string(),
        "DynamoDB_20120810.ListTables",
        "{}",
        keyfall_tests::ROOT_ACCESS_KEY_ID,
        keyfall_tests::ROOT_SECRET_ACCESS_KEY,
    );
    let (status, body, _) = raw_request_with_headers(addr, &signed, r#"{"Limit":1}"#).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#InvalidSignatureException"
    );
    let (status, _, _) = raw_request_with_headers(addr, &signed, "{}").await;
    assert_eq!(status, 200, "the untampered request passes");

    let unknown = server.dynamodb_as("AKIANOBODY", "x");
    let e = unknown.list_tables().send().await.unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        e.message(),
        Some("The security token included in the request is invalid.")
    );
    let wrong_secret = server.dynamodb_as("AKIAALICE", "not-alice-secret");
    let e = wrong_secret.list_tables().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
}

#[tokio::test]
async fn leading_keys_limit_a_user_to_their_own_partition() {
    let server = start().await;
    let alice = server.dynamodb_as("AKIAALICE", "alice-secret");
    alice
        .put_item()
        .table_name("Scores")
        .set_item(Some(item("alice", "1", &[("score", Av::N("10".into()))])))
        .send()
        .await
        .unwrap();
    let msg = denied(
        alice
            .put_item()
            .table_name("Scores")
            .set_item(Some(item("bob", "1", &[])))
            .send()
            .await,
    );
    assert_eq!(
        msg,
        format!("User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Scores because no identity-based policy allows the dynamodb:PutItem action")
    );
    let got = alice
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", Av::S("alice".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.count, 1);
    denied(
        alice
            .query()
            .table_name("Scores")
            .key_condition_expression("#k = :p AND sk > :s")
            .expression_attribute_names("#k", "pk")
            .expression_attribute_values(":p", Av::S("bob".into()))
            .expression_attribute_values(":s", Av::N("0".into()))
            .send()
            .await,
    );
    // Scan is not granted at all; a batch touching another partition is refused whole.
    denied(alice.scan().table_name("Scores").send().await);
    let put = |pk: &str| {
        aws_sdk_dynamodb::types::WriteRequest::builder()
            .put_request(
                aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(item(pk, "2", &[])))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    denied(
        alice
            .batch_write_item()
            .request_items("Scores", vec![put("alice"), put("bob")])
            .send()
            .await,
    );
    let root = server.dynamodb();
    let bob = root
        .get_item()
        .table_name("Scores")
        .set_key(Some(item("bob", "2", &[])))
        .send()
        .await
        .unwrap();
    assert!(
        bob.item.is_none(),
        "nothing of the refused batch was written"
    );

    // In a transaction, each part is its own action: a condition check on another
    // partition refuses the whole transaction.
    let msg = denied(
        alice
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name("Scores")
                            .set_item(Some(item("alice", "3", &[])))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name("Scores")
                            .set_key(Some(item("bob", "1", &[])))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await,
    );
    assert!(msg.contains("dynamodb:ConditionCheckItem"), "{msg}");
}

#[tokio::test]
async fn attribute_allow_lists_need_specific_attributes() {
    let server = start().await;
    server
        .dynamodb()
        .put_item()
        .table_name("Scores")
        .set_item(Some(item(
            "p",
            "1",
            &[("name", Av::S("n".into())), ("secret", Av::S("s".into()))],
        )))
        .send()
        .await
        .unwrap();
    let reader = server.dynamodb_as("AKIAREADER", "reader-secret");
    let got = reader
        .get_item()
        .table_name("Scores")
        .set_key(Some(item("p", "1", &[])))
        .projection_expression("#n, score")
        .expression_attribute_names("#n", "name")
        .send()
        .await
        .unwrap();
    assert_eq!(got.item.unwrap().get("name"), Some(&Av::S("n".into())));
    // All attributes: Select is ALL_ATTRIBUTES.
    denied(
        reader
            .get_item()
            .table_name("Scores")
            .set_key(Some(item("p", "1", &[])))
            .send()
            .await,
    );
    // A projection naming an attribute outside the list.
    denied(
        reader
            .get_item()
            .table_name("Scores")
            .set_key(Some(item("p", "1", &[])))
            .projection_expression("secret")
            .send()
            .await,
    );
    reader
        .query()
        .table_name("Scores")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", Av::S("p".into()))
        .select(Select::SpecificAttributes)
        .projection_expression("score")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn protected_attributes_and_explicit_deny() {
    let server = start().await;
    let editor = server.dynamodb_as("AKIAEDITOR", "editor-secret");
    editor
        .update_item()
        .table_name("Scores")
        .set_key(Some(item("e", "1", &[])))
        .update_expression("SET #n = :v")
        .expression_attribute_names("#n", "name")
        .expression_attribute_values(":v", Av::S("x".into()))
        .send()
        .await
        .unwrap();
    for protected in ["salary", "secretCode"] {
        denied(
            editor
                .update_item()
                .table_name("Scores")
                .set_key(Some(item("e", "1", &[])))
                .update_expression("SET #n = :v")
                .expression_attribute_names("#n", protected)
                .expression_attribute_values(":v", Av::S("x".into()))
                .send()
                .await,
        );
        denied(
            editor
                .put_item()
                .table_name("Scores")
                .set_item(Some(item("e", "2", &[(protected, Av::N("1".into()))])))
                .send()
                .await,
        );
    }
    // The Deny wins over the wildcard Allow of `dynamodb:Delete?tem`.
    let root = server.dynamodb();
    let msg = denied(
        editor
            .delete_item()
            .table_name("Scores")
            .set_key(Some(item("e", "1", &[])))
            .send()
            .await,
    );
    assert!(
        msg.ends_with("with an explicit deny in an identity-based policy"),
        "{msg}"
    );
    assert!(root
        .get_item()
        .table_name("Scores")
        .set_key(Some(item("e", "1", &[])))
        .send()
        .await
        .unwrap()
        .item
        .is_some());
}

#[tokio::test]
async fn index_queries_limited_to_projected_attributes() {
    let server = start().await;
    let indexer = server.dynamodb_as("AKIAINDEXER", "indexer-secret");
    let q = || {
        indexer
            .query()
            .table_name("Scores")
            .index_name("ByScore")
            .key_condition_expression("score = :s")
            .expression_attribute_values(":s", Av::N("10".into()))
    };
    q().send().await.unwrap();
    q().select(Select::AllProjectedAttributes)
        .send()
        .await
        .unwrap();
    denied(q().select(Select::AllAttributes).send().await);
    denied(
        indexer
            .query()
            .table_name("Scores")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", Av::S("p".into()))
            .send()
            .await,
    );
}

#[tokio::test]
async fn grpc_requests_are_signed_and_authorized() {
    let server = start().await;
    let endpoint = format!("http://{}", server.grpc_addr);
    // Unsigned: refused before any handler runs.
    let mut plain = pb::dynamo_db_client::DynamoDbClient::connect(endpoint.clone())
        .await
        .unwrap();
    let status = plain
        .list_tables(pb::ListTablesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(
        error_type(&status),
        Some("MissingAuthenticationTokenException")
    );

    let mut wrong = pb::dynamo_db_client::DynamoDbClient::new(
        signed_channel(&endpoint, "AKIAALICE", "nope").await,
    );
    let status = wrong
        .list_tables(pb::ListTablesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(error_type(&status), Some("InvalidSignatureException"));

    let mut alice = pb::dynamo_db_client::DynamoDbClient::new(
        signed_channel(&endpoint, "AKIAALICE", "alice-secret").await,
    );
    let key = |pk: &str| -> HashMap<String, pb::AttributeValue> {
        [
            (
                "pk".to_string(),
                pb::AttributeValue {
                    value: Some(pb::attribute_value::Value::S(pk.into())),
                },
            ),
            (
                "sk".to_string(),
                pb::AttributeValue {
                    value: Some(pb::attribute_value::Value::N("1".into())),
                },
            ),
        ]
        .into()
    };
    alice
        .put_item(pb::PutItemRequest {
            table_name: "Scores".into(),
            item: key("alice"),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = alice
        .put_item(pb::PutItemRequest {
            table_name: "Scores".into(),
            item: key("bob"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    keyfall_tests::assert_access_denied(&status, "alice", "dynamodb:PutItem");
}

#[tokio::test]
async fn auth_off_accepts_unsigned_requests() {
    let server = TestServer::start_with(|c| c.auth = keyfall_server::config::AuthMode::Off).await;
    let headers = vec![
        ("Host".to_string(), server.http_addr.to_string()),
        (
            "X-Amz-Target".to_string(),
            "DynamoDB_20120810.ListTables".to_string(),
        ),
    ];
    let (status, body, _) = raw_request_with_headers(server.http_addr, &headers, "{}").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["TableNames"], json!([]));
}

#[tokio::test]
async fn admin_api_manages_users_keys_and_policies_durably() {
    use pb::admin_client::AdminClient;
    let server = start().await;
    let endpoint = format!("http://{}", server.grpc_addr);
    let mut admin = AdminClient::new(server.channel().await);
    let user = admin
        .create_user(pb::CreateUserRequest {
            user_name: "carol".into(),
            tags: [("team".to_string(), "blue".to_string())].into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.arn, format!("arn:aws:iam::{ACCOUNT}:user/carol"));
    let status = admin
        .create_user(pb::CreateUserRequest {
            user_name: "carol".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("EntityAlreadyExists"));
    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "carol".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();
    let carol = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    // No policy yet: implicit deny.
    denied(carol.list_tables().send().await);
    let status = admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: "carol".into(),
            policy_name: "bad".into(),
            policy_document: r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*"}]}"#.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error_type(&status), Some("MalformedPolicyDocument"));
    assert!(
        status.message().contains("Resource"),
        "{}",
        status.message()
    );
    // A principal-tag variable: carol may list tables while her team tag is "blue".
    admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: "carol".into(),
            policy_name: "list".into(),
            policy_document: r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]}"#.into(),
        })
        .await
        .unwrap();
    carol.list_tables().send().await.unwrap();

    // Admin calls are authorized too: alice may not create users.
    let mut as_alice =
        AdminClient::new(signed_channel(&endpoint, "AKIAALICE", "alice-secret").await);
    let status = as_alice
        .create_user(pb::CreateUserRequest {
            user_name: "mallory".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status.message().contains("keyfall:CreateUser"),
        "{}",
        status.message()
    );

    // Users, keys and policies survive a restart.
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let carol = server.dynamodb_as(&key.access_key_id, &key.secret_access_key);
    carol.list_tables().send().await.unwrap();
    let mut admin = AdminClient::new(server.channel().await);
    let names = admin
        .list_user_policies(pb::ListUserPoliciesRequest {
            user_name: "carol".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .policy_names;
    assert_eq!(names, ["list"]);
    admin
        .delete_access_key(pb::DeleteAccessKeyRequest {
            user_name: "carol".into(),
            access_key_id: key.access_key_id.clone(),
        })
        .await
        .unwrap();
    let e = carol.list_tables().send().await.unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
}

#[tokio::test]
async fn tls_end_to_end_on_both_apis() {
    use aws_smithy_http_client::tls;
    let plain = start().await;
    // Over plain HTTP, aws:SecureTransport is false: the TLS-only policy does not allow.
    denied(
        plain
            .dynamodb_as("AKIATLSONLY", "tlsonly-secret")
            .list_tables()
            .send()
            .await,
    );

    let server = start_with(true).await;
    // The listeners are bound before the server writes its certificate: wait for it.
    let cert = server.data_dir.path().join("self-signed-cert.pem");
    let mut pem = Vec::new();
    for _ in 0..500 {
        pem = std::fs::read(&cert).unwrap_or_default();
        if pem.ends_with(b"-----END CERTIFICATE-----\n") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(
            tls::TlsContext::builder()
                .with_trust_store(tls::TrustStore::empty().with_pem_certificate(pem.clone()))
                .build()
                .unwrap(),
        )
        .build_https();
    let sdk = |key: &str, secret: &str| {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .endpoint_url(format!("https://localhost:{}", server.http_addr.port()))
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                key, secret, None, None, "tests",
            ))
            .http_client(http.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    };
    let tables = sdk("AKIATLSONLY", "tlsonly-secret")
        .list_tables()
        .send()
        .await
        .unwrap();
    assert!(tables.table_names().is_empty());
    let e = sdk("AKIATLSONLY", "wrong")
        .list_tables()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));

    // gRPC over TLS, signed by our client.
    let endpoint = format!("https://localhost:{}", server.grpc_addr.port());
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(&pem))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    let layer = keyfall::SigV4Layer::new(
        keyfall::Credentials::new("AKIATLSONLY", "tlsonly-secret"),
        "us-east-1",
        format!("localhost:{}", server.grpc_addr.port()),
    );
    let mut client =
        pb::dynamo_db_client::DynamoDbClient::new(tower::Layer::layer(&layer, channel));
    client
        .list_tables(pb::ListTablesRequest::default())
        .await
        .unwrap();
}

/// The JSON API over gRPC (`keyfall.v1.JsonApi`, what keyfall-dax forwards by) grants
/// nothing the JSON API does not: a call is authorized as its gRPC caller, as a POST.
#[tokio::test]
async fn the_json_api_over_grpc_is_authorized_as_its_caller() {
    use pb::json_api_client::JsonApiClient;
    let server = TestServer::start().await;
    let key = keyfall_tests::user_with_policy(
        &server,
        "lister",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}]}"#,
    )
    .await;
    let endpoint = format!("http://{}", server.grpc_addr);
    let mut calls = JsonApiClient::new(
        signed_channel(&endpoint, &key.access_key_id, &key.secret_access_key).await,
    );
    let call = |target: &str, body: &str| pb::JsonCall {
        target: target.into(),
        body: body.as_bytes().to_vec(),
    };
    let listed = calls
        .call(call("DynamoDB_20120810.ListTables", "{}"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&listed.body).unwrap();
    assert!(v["TableNames"].is_array(), "{v}");
    let refused = calls
        .call(call(
            "DynamoDB_20120810.CreateTable",
            r#"{"TableName":"t","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}"#,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refused.status, 400);
    let v: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(json_error_name(&v), "AccessDeniedException", "{v}");
    // Unsigned, it is refused before it runs, as every gRPC call.
    let mut anonymous = JsonApiClient::connect(endpoint).await.unwrap();
    let status = anonymous
        .call(call("DynamoDB_20120810.ListTables", "{}"))
        .await
        .unwrap_err();
    assert_eq!(
        error_type(&status),
        Some("MissingAuthenticationTokenException")
    );
}
