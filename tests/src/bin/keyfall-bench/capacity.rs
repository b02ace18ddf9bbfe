//! `keyfall-bench capacity`: what throughput enforcement does under load, on an in-process
//! server with DynamoDB's limits. Load is offered open-loop (a fixed rate of single-item
//! PutItems over gRPC, each sent once, never retried), so what is served and what is
//! throttled are both visible:
//!
//! - `steady`: a table provisioned at `--wcu` N with its burst spent, offered 2N writes a
//!   second for `--seconds`: it should serve N a second.
//! - `burst`: a new table at N/10 WCU, whose 300 seconds of burst are full, offered 11 times
//!   its rate: the units served beyond its rate before it settles, against 300 × its rate.
//! - `hot-key`: a table at 10,000 WCU, offered 2,000 writes a second on one partition key
//!   and 2,000 more spread over 1,000 others: the hot key is held to its partition's 1,000
//!   while the others are not throttled.
//!
//! Items are ~900 bytes, one write unit each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use keyfall_tests::{signed_channel, GrpcChannel, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY};
use serde::Serialize;

#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct CapacityArgs {
    /// Scenarios to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::Steady, Scenario::Burst, Scenario::HotKey])]
    pub scenario: Vec<Scenario>,
    /// Provisioned write units of the `steady` table (the `burst` table gets a tenth).
    #[arg(long, default_value_t = 1000)]
    pub wcu: u64,
    /// Seconds the `steady` and `hot-key` loads are offered.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Requests in flight at most (beyond it, the offered load is not sent: counted).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Steady,
    Burst,
    HotKey,
}

/// What one offered stream of writes got.
#[derive(Debug, Default, Serialize)]
struct Served {
    offered: u64,
    served: u64,
    throttled: u64,
    /// Not sent: `--concurrency` requests were already in flight.
    skipped: u64,
    /// Served in each second of the run.
    per_second: Vec<u64>,
}

#[derive(Default)]
struct Counters {
    served: AtomicU64,
    throttled: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
}

pub async fn run(args: CapacityArgs) -> anyhow::Result<()> {
    let server = crate::start_server(crate::BenchCapacity::Dynamodb).await;
    let endpoint = format!("http://{}", server.grpc_addr);
    let channel = signed_channel(&endpoint, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY).await;
    let db = server.dynamodb();
    let mut results = serde_json::Map::new();
    for scenario in &args.scenario {
        let result = match scenario {
            Scenario::Steady => steady(&args, &db, &channel).await?,
            Scenario::Burst => burst(&args, &db, &channel).await?,
            Scenario::HotKey => hot_key(&args, &db, &channel).await?,
        };
        println!("{}", serde_json::to_string_pretty(&result)?);
        let name = serde_json::to_value(scenario)?;
        results.insert(name.as_str().unwrap_or_default().to_string(), result);
    }
    if let Some(path) = &args.json {
        let out = serde_json::json!({"args": args, "scenarios": results});
        std::fs::write(path, serde_json::to_vec_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A table keyed by `pk` (S) and `sk` (N) provisioned at `wcu` write units.
async fn table(db: &aws_sdk_dynamodb::Client, name: &str, wcu: i64) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let key = |n: &str, k| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
    };
    let def = |n: &str, t| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t)
            .build()
    };
    db.create_table()
        .table_name(name)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(def("pk", ScalarAttributeType::S)?)
        .attribute_definitions(def("sk", ScalarAttributeType::N)?)
        .provisioned_throughput(throughput(wcu)?)
        .send()
        .await?;
    Ok(())
}

fn throughput(wcu: i64) -> anyhow::Result<aws_sdk_dynamodb::types::ProvisionedThroughput> {
    Ok(aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
        .read_capacity_units(10)
        .write_capacity_units(wcu)
        .build()?)
}

/// A write of about 900 bytes: one write unit.
fn put(table: &str, pk: String, sk: u64) -> pb::PutItemRequest {
    let value = |v: pb::attribute_value::Value| pb::AttributeValue { value: Some(v) };
    pb::PutItemRequest {
        table_name: table.into(),
        item: [
            ("pk".to_string(), value(pb::attribute_value::Value::S(pk))),
            (
                "sk".to_string(),
                value(pb::attribute_value::Value::N(sk.to_string())),
            ),
            (
                "v".to_string(),
                value(pb::attribute_value::Value::S("x".repeat(860))),
            ),
        ]
        .into(),
        ..Default::default()
    }
}

/// Offers `rate` writes a second for `seconds`, the `n`th made by `request(n)`, each sent
/// once; what was served, throttled and skipped.
async fn offer(
    channel: &GrpcChannel,
    concurrency: usize,
    rate: f64,
    seconds: f64,
    request: impl Fn(u64) -> pb::PutItemRequest,
) -> anyhow::Result<Served> {
    let counters = Arc::new(Counters::default());
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut per_second = Vec::new();
    let mut served_before = 0;
    let mut next_second = start + Duration::from_secs(1);
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut sent = 0u64;
    loop {
        let now = tick.tick().await.into_std();
        if now >= next_second {
            let served = counters.served.load(Ordering::Relaxed);
            per_second.push(served - served_before);
            served_before = served;
            next_second += Duration::from_secs(1);
        }
        if now >= end {
            break;
        }
        let due = (now.duration_since(start).as_secs_f64() * rate) as u64;
        while sent < due {
            let n = sent;
            sent += 1;
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let mut client = DynamoDbClient::new(channel.clone());
            let req = request(n);
            let counters = counters.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let counter = match client.put_item(req).await {
                    Ok(_) => &counters.served,
                    Err(status) if is_throttle(&status) => &counters.throttled,
                    Err(_) => &counters.failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
    // Let what is in flight land.
    let _all = permits
        .acquire_many(u32::try_from(concurrency).unwrap_or(u32::MAX))
        .await?;
    let failed = counters.failed.load(Ordering::Relaxed);
    anyhow::ensure!(
        failed == 0,
        "{failed} writes failed other than by throttling"
    );
    Ok(Served {
        offered: sent,
        served: counters.served.load(Ordering::Relaxed),
        throttled: counters.throttled.load(Ordering::Relaxed),
        skipped: counters.skipped.load(Ordering::Relaxed),
        per_second,
    })
}

fn is_throttle(status: &tonic::Status) -> bool {
    let name = keyfall_tests::error_type(status).unwrap_or_default();
    matches!(
        name,
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
    )
}

/// A table at `wcu` whose burst is spent: created at 1 WCU, drained by a 300 KB write,
/// then provisioned at `wcu` (a bucket keeps what it holds when its rate changes).
async fn spent_table(db: &aws_sdk_dynamodb::Client, name: &str, wcu: i64) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    table(db, name, 1).await?;
    db.put_item()
        .table_name(name)
        .item("pk", Av::S("drain".into()))
        .item("sk", Av::N("0".into()))
        .item("v", Av::S("x".repeat(300 * 1024 - 100)))
        .send()
        .await?;
    db.update_table()
        .table_name(name)
        .provisioned_throughput(throughput(wcu)?)
        .send()
        .await?;
    Ok(())
}

async fn steady(
    args: &CapacityArgs,
    db: &aws_sdk_dynamodb::Client,
    channel: &GrpcChannel,
) -> anyhow::Result<serde_json::Value> {
    let n = args.wcu as f64;
    spent_table(db, "steady", args.wcu as i64).await?;
    // Writes spread over many partition keys: only the table's throughput binds.
    let served = offer(channel, args.concurrency, 2.0 * n, args.seconds, |i| {
        put("steady", format!("k{}", i % 10_000), i)
    })
    .await?;
    let rate = served.served as f64 / args.seconds;
    Ok(serde_json::json!({
        "scenario": "steady",
        "provisioned_wcu": args.wcu,
        "offered_per_second": 2.0 * n,
        "served_per_second": rate,
        "served_per_provisioned": rate / n,
        "result": served,
    }))
}

async fn burst(
    args: &CapacityArgs,
    db: &aws_sdk_dynamodb::Client,
    channel: &GrpcChannel,
) -> anyhow::Result<serde_json::Value> {
    let n = (args.wcu / 10).max(1) as f64;
    table(db, "burst", n as i64).await?;
    // 11 times the rate: 10 times the rate beyond it, so 300 s of burst last about 30 s.
    let seconds = 45.0;
    let served = offer(channel, args.concurrency, 11.0 * n, seconds, |i| {
        put("burst", format!("k{}", i % 10_000), i)
    })
    .await?;
    let absorbed = served.served as f64 - n * seconds;
    Ok(serde_json::json!({
        "scenario": "burst",
        "provisioned_wcu": n,
        "offered_per_second": 11.0 * n,
        "seconds": seconds,
        "absorbed_units": absorbed,
        "absorbed_per_300_seconds_of_rate": absorbed / (300.0 * n),
        "result": served,
    }))
}

async fn hot_key(
    args: &CapacityArgs,
    db: &aws_sdk_dynamodb::Client,
    channel: &GrpcChannel,
) -> anyhow::Result<serde_json::Value> {
    table(db, "hot", 10_000).await?;
    let seconds = args.seconds.min(20.0);
    let (hot, cold) = tokio::join!(
        offer(channel, args.concurrency, 2000.0, seconds, |i| put(
            "hot",
            "hot".into(),
            i
        )),
        offer(channel, args.concurrency, 2000.0, seconds, |i| put(
            "hot",
            format!("cold{}", i % 1000),
            i
        )),
    );
    let (hot, cold) = (hot?, cold?);
    Ok(serde_json::json!({
        "scenario": "hot-key",
        "table_wcu": 10_000,
        "offered_per_second": {"hot_key": 2000, "other_keys": 2000},
        "hot_key_served_per_second": hot.served as f64 / seconds,
        "hot_key_throttled": hot.throttled,
        "other_keys_served_per_second": cold.served as f64 / seconds,
        "other_keys_throttled": cold.throttled,
        "hot_key": hot,
        "other_keys": cold,
    }))
}
