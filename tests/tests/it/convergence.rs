//! Clients that back off on throttling converge to a table's provisioned rate: offered
//! twice what the table is provisioned for, the typed client and boto3's standard retry
//! mode surface no error to the caller, and what gets written is bounded by the table's
//! throughput (the bucket guarantees the upper bound however fast the machine is).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
};
use keyfall::{Client, Entity};
use keyfall_tests::TestServer;
use serde::{Deserialize, Serialize};

/// Provisioned write units of the table once its burst is spent.
const WCU: u64 = 10;
/// Seconds the load is offered.
const SECONDS: u64 = 6;
/// Workers, each offering `2 × WCU / WORKERS` writes a second.
const WORKERS: u64 = 4;

#[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[keyfall(table = "Paced", pk = "W#{worker}", sk = "N#{n}")]
struct Write {
    worker: u64,
    n: u64,
}

fn throughput(wcu: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(100)
        .write_capacity_units(wcu)
        .build()
        .unwrap()
}

/// A table keyed by `pk`/`sk` whose burst is spent: created at 1 WCU (300 units of burst),
/// drained by one 300 KB write, then provisioned at [`WCU`]: its bucket holds what the
/// refill brought since, a few units.
async fn drained_table(server: &TestServer) {
    let db = server.dynamodb();
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let def = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    db.create_table()
        .table_name("Paced")
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(def("pk"))
        .attribute_definitions(def("sk"))
        .provisioned_throughput(throughput(1))
        .send()
        .await
        .unwrap();
    let blob = aws_sdk_dynamodb::types::AttributeValue::S("x".repeat(300 * 1024 - 100));
    db.put_item()
        .table_name("Paced")
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("drain".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("drain".into()),
        )
        .item("blob", blob)
        .send()
        .await
        .unwrap();
    db.update_table()
        .table_name("Paced")
        .provisioned_throughput(throughput(WCU as i64))
        .send()
        .await
        .unwrap();
}

/// Writes done in the window may not exceed what the bucket allows: `WCU` a second plus
/// the little it held, plus one write in flight per worker.
fn assert_converged(written: u64, label: &str) {
    eprintln!(
        "{label}: {written} writes in {SECONDS} s offered at {} a second to a {WCU} WCU table",
        2 * WCU
    );
    let most = WCU * SECONDS + 20 + WORKERS;
    assert!(
        written <= most,
        "{label}: {written} writes, more than the table allows ({most})"
    );
    assert!(
        written >= WCU * SECONDS / 2,
        "{label}: {written} writes, far below the provisioned {WCU} a second"
    );
}

#[tokio::test]
async fn the_typed_client_at_twice_the_provisioned_rate_surfaces_no_throttling() {
    let server = TestServer::start().await;
    drained_table(&server).await;
    let client: Client = server.client();
    let written = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let window = Duration::from_secs(SECONDS);
    let interval = Duration::from_millis(1000 * WORKERS / (2 * WCU));
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let (client, written) = (client.clone(), written.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            let mut next = Instant::now();
            while next.duration_since(start) < window {
                tokio::time::sleep_until(next.into()).await;
                // The client retries throttling with backoff: the caller sees none of it.
                client.put(Write { worker, n }).await?;
                if start.elapsed() <= window {
                    written.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
                next += interval;
            }
            Ok::<_, keyfall::Error>(())
        }));
    }
    for w in workers {
        w.await.unwrap().expect("no error reaches the caller");
    }
    assert_converged(written.load(Ordering::Relaxed) as u64, "keyfall client");
}

/// The same load from boto3 in its standard retry mode, against the JSON API.
#[tokio::test]
async fn boto3_standard_retries_at_twice_the_provisioned_rate_surface_no_throttling() {
    let server = TestServer::start().await;
    drained_table(&server).await;
    let script = r#"
import json, sys, threading, time
import boto3
from botocore.config import Config

endpoint, key, secret = sys.argv[1:4]
seconds, workers, wcu = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
client = boto3.client(
    "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id=key, aws_secret_access_key=secret,
    config=Config(retries={"mode": "standard", "max_attempts": 20}),
)
interval = workers / (2.0 * wcu)
start = time.monotonic()
written, errors = [0], []
lock = threading.Lock()

def work(worker):
    n, next_at = 0, start
    while next_at - start < seconds:
        time.sleep(max(0.0, next_at - time.monotonic()))
        try:
            client.put_item(TableName="Paced", Item={"pk": {"S": "B#%d" % worker}, "sk": {"S": str(n)}})
        except Exception as e:
            with lock:
                errors.append(repr(e))
            return
        with lock:
            if time.monotonic() - start <= seconds:
                written[0] += 1
        n += 1
        next_at += interval

threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"written": written[0], "errors": errors}))
"#;
    let args = [SECONDS, WORKERS, WCU].map(|n| n.to_string());
    let result = keyfall_tests::boto3(&server, script, &args).await;
    assert_eq!(
        result["errors"],
        serde_json::json!([]),
        "errors surfaced to boto3's caller"
    );
    assert_converged(result["written"].as_u64().unwrap_or(0), "boto3");
}
