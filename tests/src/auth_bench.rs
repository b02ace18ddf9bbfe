//! The per-request cost of authentication and authorization, measured in-process on the
//! same code paths the server runs: SigV4 verification of a signed GetItem, the request's
//! condition keys, and evaluation of a five-statement policy with conditions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyfall_server::auth::checks::{Authorize, Schemas};
use keyfall_server::auth::sigv4::SignedRequest;
use keyfall_server::auth::{Auth, AuthSettings, IamConfig, RootCredentials, RootSource};
use keyfall_server::command::Decode;
use keyfall_server::engine::types::GetItemInput;
use keyfall_server::storage::{FjallStore, StoreOptions};

/// Table `bench` keyed by `pk`.
struct BenchSchemas;

impl Schemas for BenchSchemas {
    fn key_names(&self, _: &str, _: Option<&str>) -> Option<(String, Option<String>)> {
        Some(("pk".into(), None))
    }
    fn table_arn(&self, table: &str) -> String {
        format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
    }
    fn stream_arn_of_iterator(&self, _: &str) -> Option<String> {
        None
    }
    fn stream_arn(&self, _: &str) -> Option<String> {
        None
    }
}

pub struct AuthCosts {
    pub verify: Duration,
    pub checks: Duration,
    pub evaluate: Duration,
}

fn per_op(iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

pub fn measure(iterations: u32) -> anyhow::Result<AuthCosts> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(FjallStore::open(dir.path(), StoreOptions::default())?);
    let table = "arn:aws:dynamodb:us-east-1:000000000000:table/bench";
    let iam: IamConfig = serde_json::from_value(serde_json::json!({"users": [{
        "name": "bench", "access_key_id": "AKIABENCH", "secret_access_key": "bench-secret",
        "tags": {"team": "perf"},
        "policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
            {"Effect": "Deny", "Action": ["dynamodb:Put*", "dynamodb:Update*"], "Resource": table,
             "Condition": {"ForAnyValue:StringLike": {"dynamodb:Attributes": ["secret*"]}}},
            {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": format!("{table}/index/*"),
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": "perf"}}},
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": table,
             "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}", "shared"]},
                           "StringEqualsIfExists": {"dynamodb:Select": ["SPECIFIC_ATTRIBUTES", "ALL_ATTRIBUTES"]},
                           "IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}},
            {"Effect": "Allow", "Action": "dynamodb:Describe*", "Resource": "*"}
        ]}]
    }]}))?;
    let root = RootCredentials {
        access_key_id: "AKIAROOT".into(),
        secret_access_key: "root".into(),
        source: RootSource::Configured,
    };
    let settings = AuthSettings {
        enforce: true,
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        max_skew: Duration::from_secs(900),
    };
    let records = keyfall_server::user_records::UserRecords::open(store)?;
    let auth = Auth::open(settings, records, &root, Some(&iam))?;

    let body = r#"{"TableName":"bench","Key":{"pk":{"S":"bench"}},"ProjectionExpression":"pk, v"}"#;
    let signed = crate::sign_json_request(
        "127.0.0.1:8000",
        "DynamoDB_20120810.GetItem",
        body,
        "AKIABENCH",
        "bench-secret",
    );
    let mut headers = http::HeaderMap::new();
    for (k, v) in &signed {
        headers.insert(
            http::HeaderName::from_bytes(k.as_bytes())?,
            http::HeaderValue::from_str(v)?,
        );
    }
    let request = SignedRequest::post(&headers, body.as_bytes());
    let ip = Some(std::net::IpAddr::from([127, 0, 0, 1]));
    let caller = auth.authenticate(&request, ip, false)?;
    let input: GetItemInput = serde_json::from_str(body)?;
    // What authorization reads: the decoded command.
    let command = input
        .decode()
        .map_err(|invalid| anyhow::anyhow!("{}", invalid.error))?;
    let checks = command.checks("dynamodb:GetItem", &BenchSchemas);
    auth.authorize(&caller, &checks)?;

    let verify = per_op(iterations, || {
        let _ = std::hint::black_box(auth.authenticate(&request, ip, false));
    });
    let checks_cost = per_op(iterations, || {
        std::hint::black_box(command.checks("dynamodb:GetItem", &BenchSchemas));
    });
    let evaluate = per_op(iterations, || {
        let _ = std::hint::black_box(auth.authorize(&caller, &checks));
    });
    Ok(AuthCosts {
        verify,
        checks: checks_cost,
        evaluate,
    })
}
