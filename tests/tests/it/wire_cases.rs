//! Issue 18: DynamoDB's answers in the corners real clients reach, as data. Each line of
//! `wire_cases/*.jsonl` is one request and the answer DynamoDB gives (its source in
//! `source`: the API Reference, a test suite recorded against DynamoDB, or DynamoDB Local
//! where it agrees), replayed in order, signed, over raw HTTP against a real server:
//!
//! ```json
//! {"case": "...", "action": "Scan", "request": {...}, "status": 400,
//!  "type": "com.amazon.coral.validate#ValidationException", "message": "exact text",
//!  "source": "..."}
//! ```
//!
//! `message_contains` checks part of a message (where DynamoDB's text carries ids or times);
//! `message_member` (default `message`) is the member's spelling; `answer` is an object
//! whose members must appear in a successful answer as given; `absent` lists members a
//! successful answer must not have; `empty_body: true` wants no body at all;
//! `items_unordered: true` compares `Items` as a multiset (a Scan's order is the store's). Actions of the
//! Streams API are spelled `Streams.<Action>`; `{{StreamArn:<table>}}` in a request stands
//! for the table's latest stream ARN, `{{repeat:<text>:<n>}}` for the text n times (large
//! values without large files).

use std::path::PathBuf;

use keyfall_tests::{raw_request, TestServer};
use serde_json::{json, Value};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    case: String,
    action: String,
    request: Value,
    status: u16,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    message_contains: Option<String>,
    #[serde(default)]
    message_member: Option<String>,
    #[serde(default)]
    answer: Option<Value>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    empty_body: bool,
    /// `Items` are compared as a multiset (a Scan's order is the storage's own).
    #[serde(default)]
    items_unordered: bool,
    #[allow(dead_code)]
    source: String,
}

fn case_files() -> Vec<(String, Vec<Case>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/wire_cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("wire_cases folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read cases");
            let cases = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
                .map(|(n, l)| {
                    serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1))
                })
                .collect();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), cases)
        })
        .collect()
}

/// Replaces `{{StreamArn:<table>}}` (a whole string) with the table's latest stream ARN.
async fn resolve(server: &TestServer, v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("{{repeat:") => {
            let spec = s
                .strip_prefix("{{repeat:")
                .and_then(|r| r.strip_suffix("}}"))
                .and_then(|r| r.rsplit_once(':'))
                .expect("{{repeat:<text>:<n>}}");
            Value::String(spec.0.repeat(spec.1.parse().expect("a count")))
        }
        Value::String(s) => match s
            .strip_prefix("{{StreamArn:")
            .and_then(|r| r.strip_suffix("}}"))
        {
            Some(table) => {
                let (_, d, _) = raw_request(
                    server.http_addr,
                    "DynamoDB_20120810.DescribeTable",
                    &json!({"TableName": table}).to_string(),
                )
                .await;
                d["Table"]["LatestStreamArn"].clone()
            }
            None => v.clone(),
        },
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                out.push(Box::pin(resolve(server, x)).await);
            }
            Value::Array(out)
        }
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, x) in o {
                out.insert(k.clone(), Box::pin(resolve(server, x)).await);
            }
            Value::Object(out)
        }
        _ => v.clone(),
    }
}

/// `want`'s members all appear in `got` with the same values (objects compared member by
/// member, recursively; anything else exactly).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| contains(gv, wv))),
        _ => got == want,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_answers_recorded_as_cases() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (file, cases) in case_files() {
        // A fresh server a file: each file sets up what its cases need.
        let server = TestServer::start().await;
        for c in cases {
            total += 1;
            let target = match c.action.strip_prefix("Streams.") {
                Some(a) => format!("DynamoDBStreams_20120810.{a}"),
                None => format!("DynamoDB_20120810.{}", c.action),
            };
            let request = resolve(&server, &c.request).await;
            let body = match &request {
                // A string request is sent as is (malformed JSON and the like).
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let (status, got, _) = raw_request(server.http_addr, &target, &body).await;
            let mut wrong = Vec::new();
            if status != c.status {
                wrong.push(format!("status {status}, want {}", c.status));
            }
            let got_type = got["__type"].as_str();
            if got_type != c.error_type.as_deref() {
                wrong.push(format!("__type {got_type:?}, want {:?}", c.error_type));
            }
            let member = c.message_member.as_deref().unwrap_or("message");
            let message = got[member].as_str();
            if let Some(m) = &c.message {
                if message != Some(m.as_str()) {
                    wrong.push(format!("{member} {message:?}, want {m:?}"));
                }
            }
            if let Some(m) = &c.message_contains {
                if !message.is_some_and(|t| t.contains(m.as_str())) {
                    wrong.push(format!("{member} {message:?}, want it to contain {m:?}"));
                }
            }
            if let Some(a) = &c.answer {
                let sorted = |v: &Value| {
                    let mut v = v.clone();
                    if let Some(items) = v.get_mut("Items").and_then(Value::as_array_mut) {
                        items.sort_by_key(|i| i.to_string());
                    }
                    v
                };
                let (got, a) = match c.items_unordered {
                    true => (sorted(&got), sorted(a)),
                    false => (got.clone(), a.clone()),
                };
                if !contains(&got, &a) {
                    wrong.push(format!("answer lacks {a}"));
                }
            }
            for member in &c.absent {
                if got.get(member).is_some() {
                    wrong.push(format!("answer has {member}"));
                }
            }
            if c.empty_body && !got.is_null() {
                wrong.push("answer has a body".to_string());
            }
            if !wrong.is_empty() {
                failures.push(format!(
                    "{file}: {}: {}\n    got {got}",
                    c.case,
                    wrong.join("; ")
                ));
            }
        }
        server.stop().await;
    }
    assert!(total >= 1, "no cases found");
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ from DynamoDB:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
