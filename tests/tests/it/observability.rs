//! Operations: `/metrics` parses and moves with traffic, the gRPC health service and
//! server reflection answer without credentials.

use aws_sdk_dynamodb::types::{AttributeValue as Av, ScalarAttributeType};
use keyfall_tests::{new_table, raw_request, TestProxy, TestServer};

pub(crate) async fn scrape(server: &TestServer) -> String {
    scrape_at(server.http_addr).await
}

/// `/metrics` of a server or proxy HTTP port: OpenMetrics, status 200.
async fn scrape_at(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("application/openmetrics-text"),
        "{head}"
    );
    body.to_string()
}

/// The value of one series, after checking every line of the exposition is well formed.
pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, v) = line.rsplit_once(' ').expect("series and value");
        let v: f64 = v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        assert!(
            name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()),
            "bad series {line:?}"
        );
        if name == series {
            return Some(v);
        }
    }
    None
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_outcome() {
    let server = TestServer::start().await;
    let db = server.dynamodb();
    new_table(&db, "metered", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    for i in 0..3 {
        db.put_item()
            .table_name("metered")
            .item("pk", Av::S(format!("k{i}")))
            .send()
            .await
            .unwrap();
    }
    let _ = db
        .get_item()
        .table_name("nope")
        .key("pk", Av::S("x".into()))
        .send()
        .await
        .unwrap_err();
    let mut grpc = server.grpc().await;
    grpc.list_tables(keyfall_proto::v1::ListTablesRequest::default())
        .await
        .unwrap();
    let text = scrape(&server).await;
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
    let get = |s: &str| value(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        get(r#"keyfall_requests_total{api="json",operation="PutItem",outcome="success"}"#),
        3.0
    );
    assert_eq!(
        get(
            r#"keyfall_requests_total{api="json",operation="GetItem",outcome="ResourceNotFoundException"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"keyfall_requests_total{api="grpc",operation="ListTables",outcome="success"}"#),
        1.0
    );
    assert_eq!(
        get(r#"keyfall_request_duration_seconds_count{api="json",operation="PutItem"}"#),
        3.0
    );
    assert_eq!(get(r#"keyfall_table_items{table="metered"}"#), 3.0);
    assert!(get(r#"keyfall_table_size_bytes{table="metered"}"#) > 0.0);
    // Three small puts: one write unit each, whether or not capacity was asked for.
    assert_eq!(
        get(r#"keyfall_consumed_write_capacity_units_total{table="metered"}"#),
        3.0
    );
    assert_eq!(
        get(r#"keyfall_consumed_read_capacity_units_total{table="metered"}"#),
        0.0
    );
    // An eventually consistent Scan of three small items: half a read unit.
    db.scan().table_name("metered").send().await.unwrap();
    let text = scrape(&server).await;
    let get = |s: &str| value(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        get(r#"keyfall_consumed_read_capacity_units_total{table="metered"}"#),
        0.5
    );
    // Storage engine figures are there (values depend on fjall's timing).
    for series in [
        "keyfall_storage_journal_files",
        "keyfall_storage_write_buffer_bytes",
        "keyfall_storage_pending_flushes",
        "keyfall_storage_compactions_total",
        "keyfall_storage_disk_bytes",
        "keyfall_storage_block_cache_capacity_bytes",
    ] {
        get(series);
    }
    assert!(get("keyfall_storage_journal_files") >= 1.0);
    assert!(get("keyfall_storage_block_cache_capacity_bytes") > 0.0);
}

/// One pipeline, one set of series: the Admin service is counted like every other gRPC
/// call, keyfall-dax exports the server's request series for both its APIs, and no caller
/// can mint label values with made-up operation names.
#[tokio::test]
async fn admin_calls_and_the_proxy_record_the_same_request_series() {
    let server = TestServer::start().await;
    let mut admin = keyfall_proto::v1::admin_client::AdminClient::new(server.channel().await);
    admin
        .list_users(keyfall_proto::v1::ListUsersRequest::default())
        .await
        .unwrap();
    let (status, _, _) = raw_request(server.http_addr, "DynamoDB_20120810.Bogus4711", "{}").await;
    assert_eq!(status, 400);
    let text = scrape(&server).await;
    let get = |s: &str| value(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        get(r#"keyfall_requests_total{api="grpc",operation="ListUsers",outcome="success"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"keyfall_requests_total{api="json",operation="unknown",outcome="UnknownOperationException"}"#
        ),
        1.0
    );
    assert!(!text.contains("Bogus4711"), "{text}");

    let db = server.dynamodb();
    new_table(&db, "proxied", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    let proxy = TestProxy::start(&server, |_| {}).await;
    let through = keyfall_tests::dynamodb_client(&format!("http://{}", proxy.http_addr));
    through
        .put_item()
        .table_name("proxied")
        .item("pk", Av::S("a".into()))
        .send()
        .await
        .unwrap();
    let mut grpc = proxy.grpc().await;
    for _ in 0..2 {
        grpc.get_item(keyfall_proto::v1::GetItemRequest {
            table_name: "proxied".into(),
            key: [(
                "pk".to_string(),
                keyfall_proto::v1::AttributeValue {
                    value: Some(keyfall_proto::v1::attribute_value::Value::S("a".into())),
                },
            )]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let _ = grpc
        .describe_table(keyfall_proto::v1::DescribeTableRequest {
            table_name: "absent".into(),
        })
        .await
        .unwrap_err();
    let text = scrape_at(proxy.http_addr).await;
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let get = |s: &str| value(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        get(r#"keyfall_requests_total{api="json",operation="PutItem",outcome="success"}"#),
        1.0
    );
    assert_eq!(
        get(r#"keyfall_requests_total{api="grpc",operation="GetItem",outcome="success"}"#),
        2.0
    );
    assert_eq!(
        get(
            r#"keyfall_requests_total{api="grpc",operation="DescribeTable",outcome="ResourceNotFoundException"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"keyfall_request_duration_seconds_count{api="grpc",operation="GetItem"}"#),
        2.0
    );
    // The proxy's own figures are in the same exposition.
    assert!(get(r#"keyfall_dax_cache_hits_total{cache="item"}"#) >= 1.0);
}

#[tokio::test]
async fn health_and_reflection_answer_without_credentials() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let server = TestServer::start().await;
    let endpoint = format!("http://{}", server.grpc_addr);
    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "keyfall.v1.DynamoDB".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "keyfall.v1.DynamoDB",
        "keyfall.v1.DynamoDBStreams",
        "keyfall.v1.Admin",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }

    // The HTTP port answers a plain GET, as DynamoDB-compatible servers do.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.http_addr)
        .await
        .unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    assert!(
        buf.starts_with("HTTP/1.1 200") && buf.contains("healthy"),
        "{buf}"
    );
}

#[tokio::test]
async fn the_audit_log_records_control_plane_calls_without_secrets() {
    use keyfall_proto::v1 as pb;
    let dir = tempfile::tempdir().unwrap();
    let audit_dir = dir.path().to_path_buf();
    let server = TestServer::start_with(move |c| {
        c.audit_log = Some(keyfall_server::audit::AuditTarget::Dir(audit_dir));
    })
    .await;
    let db = server.dynamodb();
    new_table(&db, "audited", ("pk", ScalarAttributeType::S), None)
        .send()
        .await
        .unwrap();
    db.put_item()
        .table_name("audited")
        .item("pk", Av::S("secret-item-value".into()))
        .send()
        .await
        .unwrap();
    let _ = db
        .describe_table()
        .table_name("missing")
        .send()
        .await
        .unwrap_err();
    let mut admin = pb::admin_client::AdminClient::new(server.channel().await);
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "dave".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "dave".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();

    // The writer thread flushes asynchronously: wait for the last line.
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("audit.log"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect();
        if text.contains("keyfall:CreateAccessKey") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let find = |action: &str| {
        lines
            .iter()
            .find(|l| l["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {text}"))
    };
    let create = find("dynamodb:CreateTable");
    assert_eq!(create["outcome"], "success");
    assert_eq!(create["principal"], "arn:aws:iam::000000000000:root");
    assert_eq!(create["source_ip"], "127.0.0.1");
    assert_eq!(
        create["resources"][0],
        "arn:aws:dynamodb:us-east-1:000000000000:table/audited"
    );
    assert!(create["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(
        find("dynamodb:DescribeTable")["outcome"],
        "ResourceNotFoundException"
    );
    assert_eq!(
        find("keyfall:CreateAccessKey")["resources"][0],
        "arn:aws:iam::000000000000:user/dave"
    );
    // Data-plane calls are not audited by default; values and secrets never are.
    assert!(!text.contains("dynamodb:PutItem"), "{text}");
    assert!(!text.contains("secret-item-value"));
    assert!(!text.contains(&key.secret_access_key));
}

/// The proxy writes its own audit lines, naming the end user, for every call it answers:
/// cache hits included (they never reach the server).
#[tokio::test]
async fn the_proxy_audits_calls_it_answers_from_cache() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let audit_dir = dir.path().to_path_buf();
    let proxy = keyfall_tests::TestProxy::start(&server, move |c| {
        c.audit_log = Some(keyfall_server::audit::AuditTarget::Dir(audit_dir));
        c.audit_data_plane = true;
        c.auth = keyfall_server::config::AuthMode::Enforce;
    })
    .await;
    let client = proxy.client();
    let key = || keyfall::expr::KeyCondition::partition(keyfall::expr::attr::<String>("pk"), "a");
    new_table(
        &server.dynamodb(),
        "proxied",
        ("pk", ScalarAttributeType::S),
        None,
    )
    .send()
    .await
    .unwrap();
    for _ in 0..2 {
        // The second Query is answered from the proxy's page cache.
        client.query_items("proxied", key()).await.unwrap();
    }
    let _ = client.query_items("nowhere", key()).await.unwrap_err();
    // A JSON call with an unknown key is audited too, as anonymous.
    let _ = proxy
        .dynamodb_as("AKIANOSUCHKEY0000000", "wrong")
        .list_tables()
        .send()
        .await
        .unwrap_err();

    let mut lines: Vec<serde_json::Value> = Vec::new();
    for _ in 0..200 {
        let text: String = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect();
        lines = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if lines.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let queries: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["action"] == "dynamodb:Query")
        .collect();
    assert_eq!(queries.len(), 3, "{lines:?}");
    for line in &queries[..2] {
        assert_eq!(line["outcome"], "success");
        assert_eq!(line["api"], "grpc");
        assert!(
            line["principal"].as_str().unwrap().ends_with(":root"),
            "{line}"
        );
        assert!(
            line["resources"][0]
                .as_str()
                .unwrap()
                .ends_with(":table/proxied"),
            "{line}"
        );
    }
    assert_eq!(queries[2]["outcome"], "ResourceNotFoundException");
    let rejected = lines
        .iter()
        .find(|l| l["action"] == "dynamodb:ListTables")
        .expect("the rejected JSON call is audited");
    assert_eq!(rejected["principal"], "anonymous");
    assert_eq!(rejected["outcome"], "UnrecognizedClientException");
}
