//! Contributor Insights: Update/Describe/ListContributorInsights through the AWS SDK, with
//! DynamoDB's statuses, rule names and errors; the most accessed and most throttled keys in
//! DescribeContributorInsights's `TopContributors` (Keyfall's own member) on both APIs and
//! in `/metrics`.

use aws_sdk_dynamodb::types::{
    ContributorInsightsAction, ContributorInsightsStatus, GlobalSecondaryIndex, KeyType,
    Projection, ProjectionType, ScalarAttributeType,
};
use keyfall_server::engine::throughput::CapacityLimits;
use keyfall_tests::{attribute, json_error_name, key_element, new_table, raw_request, TestServer};
use serde_json::{json, Value};

const DESCRIBE: &str = "DynamoDB_20120810.DescribeContributorInsights";

async fn describe(server: &TestServer, index: Option<&str>) -> Value {
    let mut body = json!({"TableName": "Hot"});
    if let Some(i) = index {
        body["IndexName"] = json!(i);
    }
    let (status, out, _) = raw_request(server.http_addr, DESCRIBE, &body.to_string()).await;
    assert_eq!(status, 200, "{out}");
    out
}

/// The count `TopContributors` gives a rule's key, if it lists it.
fn count(described: &Value, rule: &str, pk: &str, sk: Option<&str>) -> Option<i64> {
    described["TopContributors"]
        .as_array()?
        .iter()
        .find(|c| {
            c["Rule"] == rule
                && c["PartitionKey"] == pk
                && c.get("SortKey").and_then(Value::as_str) == sk
        })
        .and_then(|c| c["Count"].as_i64())
}

/// UpdateContributorInsights on `Hot` (or its GSI `index`): the status it answers.
async fn update(
    db: &aws_sdk_dynamodb::Client,
    index: Option<&str>,
    action: ContributorInsightsAction,
) -> Option<ContributorInsightsStatus> {
    let answer = db
        .update_contributor_insights()
        .table_name("Hot")
        .set_index_name(index.map(str::to_string))
        .contributor_insights_action(action)
        .send()
        .await
        .unwrap();
    answer.contributor_insights_status().cloned()
}

#[tokio::test]
async fn contributor_insights_names_the_hot_and_the_throttled_keys() {
    // Partitions that take 20 write units a second: the hot key is soon throttled.
    let server = TestServer::start_with(|c| {
        c.limits = CapacityLimits {
            partition_write: 20.0,
            ..CapacityLimits::default()
        }
    })
    .await;
    let db = server.dynamodb();
    new_table(
        &db,
        "Hot",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .attribute_definitions(attribute("g", ScalarAttributeType::S))
    .global_secondary_indexes(
        GlobalSecondaryIndex::builder()
            .index_name("byG")
            .key_schema(key_element("g", KeyType::Hash))
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
    .unwrap();

    // Never enabled: DISABLED, and nothing else.
    let before = db
        .describe_contributor_insights()
        .table_name("Hot")
        .send()
        .await
        .unwrap();
    assert_eq!(
        before.contributor_insights_status(),
        Some(&ContributorInsightsStatus::Disabled)
    );
    assert!(before.contributor_insights_rule_list().is_empty());
    assert!(before.last_update_date_time().is_none());

    let enabled = update(&db, None, ContributorInsightsAction::Enable).await;
    assert_eq!(enabled, Some(ContributorInsightsStatus::Enabling));
    let described = db
        .describe_contributor_insights()
        .table_name("Hot")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.contributor_insights_status(),
        Some(&ContributorInsightsStatus::Enabled)
    );
    assert_eq!(
        described.contributor_insights_mode().map(|m| m.as_str()),
        Some("ACCESSED_AND_THROTTLED_KEYS")
    );
    let rules = described.contributor_insights_rule_list();
    assert_eq!(rules.len(), 4, "{rules:?}");
    for (rule, name) in ["PKC", "SKC", "PKT", "SKT"].iter().zip(rules) {
        assert!(
            name.starts_with(&format!("DynamoDBContributorInsights-{rule}-Hot-")),
            "{name}"
        );
    }

    // Traffic: the hot partition until it is throttled, a cold one, reads of one item.
    let put = |pk: &str, sk: usize| {
        json!({"TableName": "Hot", "Item": {"pk": {"S": pk}, "sk": {"N": sk.to_string()}, "g": {"S": "x"}}})
            .to_string()
    };
    let mut written = 0;
    loop {
        let (status, out, _) = raw_request(
            server.http_addr,
            "DynamoDB_20120810.PutItem",
            &put("hot", written),
        )
        .await;
        if status != 200 {
            assert_eq!(json_error_name(&out), "ThrottlingException", "{out}");
            break;
        }
        written += 1;
        assert!(written < 400, "the hot partition was never throttled");
    }
    for sk in 0..3 {
        let (status, _, _) = raw_request(
            server.http_addr,
            "DynamoDB_20120810.PutItem",
            &put("cold", sk),
        )
        .await;
        assert_eq!(status, 200);
    }
    // A key written to break /metrics' text, or to forge a series in it.
    let (status, _, _) = raw_request(
        server.http_addr,
        "DynamoDB_20120810.PutItem",
        &put("evil\"} 1\nkeyfall_forged 9\n\\", 0),
    )
    .await;
    assert_eq!(status, 200);
    let get =
        json!({"TableName": "Hot", "Key": {"pk": {"S": "hot"}, "sk": {"N": "0"}}}).to_string();
    for _ in 0..5 {
        let (status, _, _) = raw_request(server.http_addr, "DynamoDB_20120810.GetItem", &get).await;
        assert_eq!(status, 200);
    }

    let top = describe(&server, None).await;
    let written = written as i64;
    assert_eq!(count(&top, "PKC", "hot", None), Some(written + 5), "{top}");
    assert_eq!(count(&top, "PKC", "cold", None), Some(3));
    assert_eq!(count(&top, "SKC", "hot", Some("0")), Some(6));
    assert_eq!(count(&top, "PKT", "hot", None), Some(1));
    assert_eq!(
        count(&top, "SKT", "hot", Some(&written.to_string())),
        Some(1)
    );
    assert_eq!(count(&top, "PKT", "cold", None), None);
    // The first rule's first key is the most accessed partition.
    assert_eq!(top["TopContributors"][0]["PartitionKey"], "hot");

    // And from the CLI.
    let endpoint = format!("http://{}", server.grpc_addr);
    let cli = tokio::task::spawn_blocking(move || {
        std::process::Command::new(keyfall_tests::keyfall_cli())
            .args(["--endpoint", &endpoint, "insights", "Hot"])
            .env("AWS_ACCESS_KEY_ID", keyfall_tests::ROOT_ACCESS_KEY_ID)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                keyfall_tests::ROOT_SECRET_ACCESS_KEY,
            )
            .output()
    })
    .await
    .unwrap()
    .expect("run keyfall insights");
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(
        text.contains("Contributor Insights on Hot: ENABLED"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{:>10}  hot\n", written + 5)),
        "the hot partition's count: {text}"
    );

    // The same over gRPC.
    let mut grpc = server.grpc().await;
    let answer = grpc
        .describe_contributor_insights(keyfall_proto::v1::DescribeContributorInsightsRequest {
            table_name: "Hot".into(),
            index_name: None,
        })
        .await
        .unwrap()
        .into_inner();
    let hot = answer
        .top_contributors
        .iter()
        .find(|c| c.rule == "PKC" && c.partition_key == "hot")
        .map(|c| c.count);
    assert_eq!(hot, Some(written + 5));

    // And in /metrics.
    let text = crate::observability::scrape(&server).await;
    let series = "keyfall_contributor_insights_requests{table=\"Hot\",index=\"\",rule=\"PKT\",partition_key=\"hot\",sort_key=\"\"}";
    assert_eq!(crate::observability::value(&text, series), Some(1.0));
    assert!(
        !text.lines().any(|l| l.starts_with("keyfall_forged")),
        "a key forged a series"
    );
    let escaped = "partition_key=\"evil\\\"} 1\\nkeyfall_forged 9\\n\\\\\"";
    assert!(text.contains(escaped), "the key is escaped in its label");

    // A GSI has rules of its own; an unknown index is not found.
    update(&db, Some("byG"), ContributorInsightsAction::Enable).await;
    let index = describe(&server, Some("byG")).await;
    let rules = index["ContributorInsightsRuleList"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        rules.len(),
        2,
        "a GSI without a sort key has no SK rules: {index}"
    );
    assert!(rules[0]
        .as_str()
        .is_some_and(|r| r.starts_with("DynamoDBContributorInsights-PKC-Hot-byG-")));
    let missing = db
        .describe_contributor_insights()
        .table_name("Hot")
        .index_name("nope")
        .send()
        .await
        .expect_err("no such index");
    let missing = missing.into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
    assert_eq!(
        missing.meta().message(),
        Some("Requested resource not found: Index: nope not found for table: Hot")
    );

    // ListContributorInsights pages through what is enabled.
    let first = db
        .list_contributor_insights()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.contributor_insights_summaries().len(), 1);
    let next = first.next_token().expect("a second page").to_string();
    let second = db
        .list_contributor_insights()
        .next_token(next)
        .send()
        .await
        .unwrap();
    assert_eq!(second.contributor_insights_summaries().len(), 1);
    assert!(second.next_token().is_none());

    // Disabled: DISABLING, then DISABLED, its mode and date kept, and no longer listed.
    let disabled = update(&db, None, ContributorInsightsAction::Disable).await;
    assert_eq!(disabled, Some(ContributorInsightsStatus::Disabling));
    let after = describe(&server, None).await;
    assert_eq!(after["ContributorInsightsStatus"], "DISABLED");
    assert!(after.get("ContributorInsightsRuleList").is_none());
    assert!(after.get("TopContributors").is_none());
    assert!(after["LastUpdateDateTime"].is_number());
    let listed = db.list_contributor_insights().send().await.unwrap();
    let summaries = listed.contributor_insights_summaries();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].index_name(), Some("byG"));
}
