//! Auto scaling through Application Auto Scaling's API, served beside DynamoDB's: boto3's
//! `application-autoscaling` client registers a target and a target tracking policy; a
//! write load above the target scales the table out within its maximum, and once the load
//! stops, fifteen periods below the target scale it back in to its minimum, each change
//! recorded as a scaling activity. The server's period is 300 ms instead of a minute.

use std::time::{Duration, Instant};

use keyfall_tests::{raw_request, TestServer};
use serde_json::json;

const SCRIPT: &str = r#"
import json, sys
import boto3
from botocore.exceptions import ClientError

aas = boto3.client(
    "application-autoscaling", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
)
out = {}
dim = "dynamodb:table:WriteCapacityUnits"
out["arn"] = aas.register_scalable_target(
    ServiceNamespace="dynamodb", ResourceId="table/Scaled", ScalableDimension=dim,
    MinCapacity=5, MaxCapacity=50)["ScalableTargetARN"]
policy = aas.put_scaling_policy(
    PolicyName="DynamoDBWriteCapacityUtilization:table/Scaled", ServiceNamespace="dynamodb",
    ResourceId="table/Scaled", ScalableDimension=dim, PolicyType="TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration={
        "TargetValue": 50.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBWriteCapacityUtilization"},
    })
out["policy_arn"] = policy["PolicyARN"]
out["alarms"] = [a["AlarmName"] for a in policy["Alarms"]]
targets = aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
out["targets"] = [[t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]] for t in targets]
policies = aas.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId="table/Scaled")["ScalingPolicies"]
out["policies"] = [[p["PolicyName"], p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]] for p in policies]
errors = {}
def error_of(name, call):
    try:
        call()
        errors[name] = None
    except ClientError as e:
        errors[name] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
error_of("policy_without_target", lambda: aas.put_scaling_policy(
    PolicyName="p", ServiceNamespace="dynamodb", ResourceId="table/Scaled",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", PolicyType="TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}))
error_of("deregister_unknown", lambda: aas.deregister_scalable_target(
    ServiceNamespace="dynamodb", ResourceId="table/Nope", ScalableDimension=dim))
error_of("bad_dimension", lambda: aas.register_scalable_target(
    ServiceNamespace="dynamodb", ResourceId="table/Scaled",
    ScalableDimension="dynamodb:index:WriteCapacityUnits", MinCapacity=1, MaxCapacity=2))
out["errors"] = errors
print(json.dumps(out))
"#;

async fn write_capacity(server: &TestServer) -> i64 {
    let db = server.dynamodb();
    let t = db
        .describe_table()
        .table_name("Scaled")
        .send()
        .await
        .unwrap();
    t.table()
        .and_then(|t| t.provisioned_throughput())
        .and_then(|p| p.write_capacity_units())
        .unwrap_or_default()
}

/// Polls until the table's write capacity is `units` (at most 20 s); whether it got there.
async fn reaches(server: &TestServer, units: i64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if write_capacity(server).await == units {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn target_tracking_scales_a_table_out_under_load_and_back_in_after() {
    let server =
        TestServer::start_with(|c| c.autoscaling_period = Duration::from_millis(300)).await;
    let create = json!({
        "TableName": "Scaled",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    });
    let (status, out, _) = raw_request(
        server.http_addr,
        "DynamoDB_20120810.CreateTable",
        &create.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{out}");

    let got = keyfall_tests::boto3(&server, SCRIPT, &[]).await;
    assert!(got["arn"].as_str().is_some_and(|a| a
        .starts_with("arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/")));
    assert!(got["policy_arn"].as_str().is_some_and(|a| a.ends_with(
        ":resource/dynamodb/table/Scaled:policyName/DynamoDBWriteCapacityUtilization:table/Scaled"
    )));
    assert_eq!(got["alarms"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        got["targets"],
        json!([["table/Scaled", "dynamodb:table:WriteCapacityUnits", 5, 50]])
    );
    assert_eq!(
        got["policies"],
        json!([["DynamoDBWriteCapacityUtilization:table/Scaled", 50.0]])
    );
    let errors = &got["errors"];
    assert_eq!(
        errors["policy_without_target"][0],
        "ObjectNotFoundException"
    );
    assert_eq!(
        errors["policy_without_target"][1],
        "No scalable target registered for service namespace: dynamodb, resource ID: table/Scaled, scalable dimension: dynamodb:table:ReadCapacityUnits"
    );
    assert_eq!(errors["deregister_unknown"][0], "ObjectNotFoundException");
    assert_eq!(errors["bad_dimension"][0], "ValidationException");

    // 30 writes a second against 5 WCU (its burst absorbs them): far above 50%, so after
    // two periods the table scales out, to its maximum of 50.
    let load = {
        let addr = server.http_addr;
        tokio::spawn(async move {
            for n in 0.. {
                let put = json!({"TableName": "Scaled", "Item": {"pk": {"S": format!("k{n}")}}});
                raw_request(addr, "DynamoDB_20120810.PutItem", &put.to_string()).await;
                tokio::time::sleep(Duration::from_millis(33)).await;
            }
        })
    };
    assert!(reaches(&server, 50).await, "scaled out to 50");
    load.abort();
    // Idle for fifteen periods: back to its minimum.
    assert!(reaches(&server, 5).await, "scaled in to 5");

    let activities = json!({"ServiceNamespace": "dynamodb", "ResourceId": "table/Scaled"});
    let (status, out, _) = raw_request(
        server.http_addr,
        "AnyScaleFrontendService.DescribeScalingActivities",
        &activities.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let done: Vec<(&str, &str)> = out["ScalingActivities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["Description"].as_str()?, a["StatusCode"].as_str()?)))
        .collect();
    // Newest first: back to 5 last; out to 50 (perhaps through a step on the way) before.
    assert!(
        done.iter().all(|(_, status)| *status == "Successful"),
        "{done:?}"
    );
    assert_eq!(
        done.first().map(|d| d.0),
        Some("Setting write capacity units to 5.")
    );
    assert!(
        done.iter()
            .any(|d| d.0 == "Setting write capacity units to 50."),
        "{done:?}"
    );
}

/// `keyfall autoscaling` enables, shows and disables target tracking through the same API.
#[tokio::test]
async fn the_cli_enables_shows_and_disables_auto_scaling() {
    let server = TestServer::start().await;
    let create = json!({
        "TableName": "ByCli",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    });
    let (status, _, _) = raw_request(
        server.http_addr,
        "DynamoDB_20120810.CreateTable",
        &create.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let endpoint = server.endpoint();
    let cli = |args: &'static [&'static str]| {
        let endpoint = endpoint.clone();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(keyfall_tests::keyfall_cli())
                .arg("autoscaling")
                .args(args)
                .env("KEYFALL_HTTP_ENDPOINT", endpoint)
                .env("AWS_ACCESS_KEY_ID", keyfall_tests::ROOT_ACCESS_KEY_ID)
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    keyfall_tests::ROOT_SECRET_ACCESS_KEY,
                )
                .output()
                .expect("run keyfall autoscaling");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };
    let enabled = cli(&[
        "enable", "ByCli", "--write", "--min", "2", "--max", "20", "--target", "60",
    ])
    .await
    .unwrap();
    assert!(enabled.contains("PolicyARN"), "{enabled}");
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&["show", "ByCli"]).await.unwrap()).expect("JSON");
    assert_eq!(shown["ScalableTargets"][0]["ResourceId"], "table/ByCli");
    assert_eq!(shown["ScalableTargets"][0]["MaxCapacity"], 20);
    assert_eq!(
        shown["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        60.0
    );
    cli(&["disable", "ByCli", "--write"]).await.unwrap();
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&["show", "ByCli"]).await.unwrap()).expect("JSON");
    assert_eq!(shown["ScalableTargets"], json!([]));
    assert_eq!(shown["ScalingPolicies"], json!([]));
}

/// A user allowed every DynamoDB action, but no Application Auto Scaling action, cannot
/// register a scalable target: the check reads the same decoded request that would run.
#[tokio::test]
async fn dynamodb_permissions_do_not_grant_auto_scaling() {
    let server = TestServer::start().await;
    let key = keyfall_tests::user_with_policy(
        &server,
        "tables-only",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}"#,
    )
    .await;
    let body = json!({"ServiceNamespace": "dynamodb", "ResourceId": "table/Any",
        "ScalableDimension": "dynamodb:table:WriteCapacityUnits", "MinCapacity": 1, "MaxCapacity": 2})
    .to_string();
    let headers = keyfall_tests::sign_json_request(
        &server.http_addr.to_string(),
        "AnyScaleFrontendService.RegisterScalableTarget",
        &body,
        &key.access_key_id,
        &key.secret_access_key,
    );
    let (status, out, _) =
        keyfall_tests::raw_request_with_headers(server.http_addr, &headers, &body).await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(
        keyfall_tests::json_error_name(&out),
        "AccessDeniedException"
    );
    assert!(
        out["Message"]
            .as_str()
            .is_some_and(|m| m.contains("application-autoscaling:RegisterScalableTarget")),
        "{out}"
    );
}
