//! `keyfall-bench`: throughput and latency of the item path, reported against a reference
//! measured in the same run (an empty gRPC `Echo`), because absolute numbers on shared
//! machines are noise.
//!
//! By default it starts an in-process server on a temporary directory; `--http`/`--grpc`
//! point it at a running one instead.
//!
//! `keyfall-bench ycsb --workload a|b|c|d|e|f ...` runs the YCSB core workloads instead,
//! against the in-process server, any endpoint speaking gRPC or the DynamoDB JSON API, or
//! keyfall-dax, with floors (empty gRPC and HTTP servers inside the bench) measured in the
//! same run, HDR-histogram percentiles and an optional JSON result file: see `ycsb.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use clap::{Parser, Subcommand};
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_client::DiagnosticsClient;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use keyfall_tests::{
    dynamodb_client_as, signed_channel, GrpcChannel, TestServer, ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
};

#[derive(Parser, Debug)]
#[command(
    name = "keyfall-bench",
    about = "Keyfall item-path benchmark",
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// DynamoDB JSON endpoint of a running server (default: start one in-process).
    #[arg(long, env = "KEYFALL_BENCH_HTTP")]
    http: Option<String>,
    /// gRPC endpoint of a running server.
    #[arg(long, env = "KEYFALL_BENCH_GRPC")]
    grpc: Option<String>,
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Distinct items written and read.
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    /// Bytes of payload per item.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Also measure Query (100-item pages) and full Scan on tables of these sizes,
    /// e.g. `--query-table-items 10000,1000000`.
    #[arg(long, value_delimiter = ',')]
    query_table_items: Vec<usize>,
    /// Also measure 2-item transfer transactions (TransactWriteItems) at concurrency 16.
    #[arg(long)]
    transactions: bool,
    /// Also measure stream end-to-end lag: write to SubscribeChanges delivery.
    #[arg(long)]
    stream_lag: bool,
    /// Also measure the per-request cost of SigV4 verification and policy evaluation.
    #[arg(long)]
    auth_overhead: bool,
    /// Also measure keyfall-dax: cache hits vs the server, a Zipfian load, coherence lag.
    #[arg(long)]
    dax: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// YCSB core workloads A-F over gRPC or the DynamoDB JSON API, against the in-process
    /// server, any endpoint, or keyfall-dax; ratios against empty-server floors.
    Ycsb(ycsb::YcsbArgs),
    /// Throughput enforcement under load: a provisioned table offered twice its rate, a
    /// new table's burst, a hot partition key.
    Capacity(capacity::CapacityArgs),
    /// Backups and point-in-time recovery: write throughput while a backup is taken,
    /// restore speed, PITR's write cost and disk per million writes.
    Backup(backup::BackupArgs),
}

mod backup;
mod capacity;
mod dax;
mod floor;
mod lean_grpc;
mod raw_json;
mod report;
mod ycsb;

use report::Report;

/// Runs `op(worker, i)` from `concurrency` workers for `seconds`; latencies in an HDR
/// histogram.
async fn measure<F, Fut>(
    name: &'static str,
    concurrency: usize,
    seconds: f64,
    op: F,
) -> anyhow::Result<Report>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let run = report::run_workers(name, 1, concurrency, seconds, move |w, i| {
        let done = op(w, i);
        async move { done.await.map(|()| (0, false)) }
    })
    .await?;
    run.reports(&[name])
        .pop()
        .context("one operation kind measured")
}

fn item_key(w: usize, i: usize, items: usize) -> String {
    format!("item-{}", (w * 7919 + i) % items)
}

/// How the in-process server enforces throughput (`ycsb --capacity`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum BenchCapacity {
    Unbounded,
    Dynamodb,
    Off,
}

/// The in-process server the benchmarks run against.
async fn start_server(capacity: BenchCapacity) -> TestServer {
    use keyfall_server::config::CapacityMode;
    use keyfall_server::engine::throughput::CapacityLimits;
    TestServer::start_with(|c| match capacity {
        BenchCapacity::Off => c.capacity = CapacityMode::Off,
        BenchCapacity::Dynamodb => c.limits = CapacityLimits::default(),
        BenchCapacity::Unbounded => c.limits = CapacityLimits::unbounded(),
    })
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Some(Command::Ycsb(ycsb)) => return ycsb::run(ycsb).await,
        Some(Command::Capacity(capacity)) => return capacity::run(capacity).await,
        Some(Command::Backup(backup)) => return backup::run(backup).await,
        None => {}
    }
    let server = match (&args.http, &args.grpc) {
        (Some(_), Some(_)) => None,
        _ => Some(start_server(BenchCapacity::Unbounded).await),
    };
    let http = args
        .http
        .clone()
        .or_else(|| server.as_ref().map(TestServer::endpoint))
        .context("no http endpoint")?;
    let grpc = args
        .grpc
        .clone()
        .or_else(|| server.as_ref().map(|s| format!("http://{}", s.grpc_addr)))
        .context("no grpc endpoint")?;
    let table = format!("bench-{}", std::process::id());
    // Against an external server, the usual AWS variables name the credentials.
    let env = |name: &str, default: &str| match &server {
        Some(_) => default.to_string(),
        None => std::env::var(name).unwrap_or_else(|_| default.to_string()),
    };
    let key = env("AWS_ACCESS_KEY_ID", ROOT_ACCESS_KEY_ID);
    let secret = env("AWS_SECRET_ACCESS_KEY", ROOT_SECRET_ACCESS_KEY);
    let channel = signed_channel(&grpc, &key, &secret).await;
    let sdk = dynamodb_client_as(&http, &key, &secret);

    sdk.create_table()
        .table_name(&table)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await?;
    let payload = "v".repeat(args.value_bytes);
    let (c, secs, items) = (args.concurrency, args.seconds, args.items);
    println!(
        "keyfall-bench: concurrency {c}, {secs}s per run, {items} items of {} bytes",
        args.value_bytes
    );

    let mut reports = Vec::new();
    let echo = DiagnosticsClient::new(channel.clone());
    reports.push(
        measure("grpc Echo (reference)", c, secs, move |_, _| {
            let mut echo = echo.clone();
            async move {
                echo.echo(pb::EchoRequest {
                    payload: vec![0; 16],
                })
                .await?;
                Ok(())
            }
        })
        .await?,
    );
    let grpc_client = DynamoDbClient::new(channel.clone());
    {
        let (t, p) = (table.clone(), payload.clone());
        let g = grpc_client.clone();
        reports.push(
            measure("grpc PutItem", c, secs, move |w, i| {
                let mut g = g.clone();
                let item = [
                    (
                        "pk".to_string(),
                        pb::AttributeValue {
                            value: Some(pb::attribute_value::Value::S(item_key(w, i, items))),
                        },
                    ),
                    (
                        "v".to_string(),
                        pb::AttributeValue {
                            value: Some(pb::attribute_value::Value::S(p.clone())),
                        },
                    ),
                ]
                .into();
                let t = t.clone();
                async move {
                    g.put_item(pb::PutItemRequest {
                        table_name: t,
                        item,
                        ..Default::default()
                    })
                    .await?;
                    Ok(())
                }
            })
            .await?,
        );
        let t = table.clone();
        let g = grpc_client.clone();
        reports.push(
            measure("grpc GetItem", c, secs, move |w, i| {
                let mut g = g.clone();
                let key = [(
                    "pk".to_string(),
                    pb::AttributeValue {
                        value: Some(pb::attribute_value::Value::S(item_key(w, i, items))),
                    },
                )]
                .into();
                let t = t.clone();
                async move {
                    g.get_item(pb::GetItemRequest {
                        table_name: t,
                        key,
                        ..Default::default()
                    })
                    .await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    {
        let (t, p, s) = (table.clone(), payload.clone(), sdk.clone());
        reports.push(
            measure("json PutItem (aws-sdk)", c, secs, move |w, i| {
                let req = s
                    .put_item()
                    .table_name(&t)
                    .item("pk", Av::S(item_key(w, i, items)))
                    .item("v", Av::S(p.clone()));
                async move {
                    req.send().await?;
                    Ok(())
                }
            })
            .await?,
        );
        let (t, s) = (table.clone(), sdk.clone());
        reports.push(
            measure("json GetItem (aws-sdk)", c, secs, move |w, i| {
                let req = s
                    .get_item()
                    .table_name(&t)
                    .key("pk", Av::S(item_key(w, i, items)));
                async move {
                    req.send().await?;
                    Ok(())
                }
            })
            .await?,
        );
    }

    let reference = reports[0].ops_per_sec();
    println!(
        "{:<26} {:>12} {:>10} {:>10} {:>14}",
        "operation", "ops/s", "p50", "p99", "vs Echo ops/s"
    );
    for r in &reports {
        println!(
            "{:<26} {:>12.0} {:>10.2?} {:>10.2?} {:>14.2}",
            r.name,
            r.ops_per_sec(),
            r.percentile(0.5),
            r.percentile(0.99),
            r.ops_per_sec() / reference
        );
    }
    if args.auth_overhead {
        let costs =
            tokio::task::spawn_blocking(|| keyfall_tests::auth_bench::measure(20_000)).await??;
        let echo_p50 = reports[0].percentile(0.5);
        let total = costs.verify + costs.checks + costs.evaluate;
        println!("auth per request (in-process, one core):");
        for (name, d) in [
            ("SigV4 verify (GetItem)", costs.verify),
            ("condition keys", costs.checks),
            ("5-statement policy", costs.evaluate),
            ("total", total),
        ] {
            println!(
                "  {name:<24} {:>8.2} µs  {:>6.1}% of an Echo round trip (p50 {echo_p50:.2?})",
                d.as_secs_f64() * 1e6,
                100.0 * d.as_secs_f64() / echo_p50.as_secs_f64()
            );
        }
    }
    for &n in &args.query_table_items {
        query_and_scan(&channel, n, args.value_bytes, c, secs).await?;
    }
    if args.transactions {
        transactions(&channel, secs, reference).await?;
    }
    if args.stream_lag {
        stream_lag(&channel, secs).await?;
    }
    if args.dax {
        match &server {
            Some(server) => dax::run(server, items, args.value_bytes, c, secs).await?,
            None => println!("keyfall-dax: skipped (needs the in-process server)"),
        }
    }
    if let Some(server) = server {
        server.stop().await;
    }
    Ok(())
}

/// Loads `n` items (partitions of 1,000 items each) over gRPC, then measures a 100-item
/// Query page (one partition, random start) and a full Scan.
async fn query_and_scan(
    channel: &GrpcChannel,
    n: usize,
    value_bytes: usize,
    concurrency: usize,
    secs: f64,
) -> anyhow::Result<()> {
    let table = format!("bench-q{n}-{}", std::process::id());
    let mut g = DynamoDbClient::new(channel.clone());
    let s = |v: String| pb::AttributeValue {
        value: Some(pb::attribute_value::Value::S(v)),
    };
    let num = |v: usize| pb::AttributeValue {
        value: Some(pb::attribute_value::Value::N(v.to_string())),
    };
    g.create_table(pb::CreateTableRequest {
        table_name: table.clone(),
        key_schema: vec![
            pb::KeySchemaElement {
                attribute_name: "pk".into(),
                key_type: "HASH".into(),
            },
            pb::KeySchemaElement {
                attribute_name: "sk".into(),
                key_type: "RANGE".into(),
            },
        ],
        attribute_definitions: vec![
            pb::AttributeDefinition {
                attribute_name: "pk".into(),
                attribute_type: "S".into(),
            },
            pb::AttributeDefinition {
                attribute_name: "sk".into(),
                attribute_type: "N".into(),
            },
        ],
        billing_mode: Some("PAY_PER_REQUEST".into()),
        ..Default::default()
    })
    .await?;
    let per_partition = 1000;
    let partitions = n.div_ceil(per_partition);
    let payload = "v".repeat(value_bytes);
    let load_start = Instant::now();
    let batches: Vec<Vec<usize>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[usize]>::to_vec)
        .collect();
    let batches = Arc::new(tokio::sync::Mutex::new(batches.into_iter()));
    let mut loaders = Vec::new();
    for _ in 0..concurrency {
        let (batches, mut g, table, payload) =
            (batches.clone(), g.clone(), table.clone(), payload.clone());
        loaders.push(tokio::spawn(async move {
            loop {
                let Some(batch) = batches.lock().await.next() else {
                    return anyhow::Ok(());
                };
                let values = batch
                    .iter()
                    .map(|&i| pb::WriteRequest {
                        put_request: Some(pb::PutRequest {
                            item: [
                                ("pk".to_string(), s(format!("p{}", i / per_partition))),
                                ("sk".to_string(), num(i % per_partition)),
                                ("v".to_string(), s(payload.clone())),
                            ]
                            .into(),
                        }),
                        delete_request: None,
                    })
                    .collect();
                g.batch_write_item(pb::BatchWriteItemRequest {
                    request_items: [(table.clone(), pb::WriteRequestList { values })].into(),
                    ..Default::default()
                })
                .await?;
            }
        }));
    }
    for l in loaders {
        l.await??;
    }
    println!(
        "\ntable of {n} items ({partitions} partitions) loaded in {:.1?}",
        load_start.elapsed()
    );

    let (t, gq) = (table.clone(), g.clone());
    let query = measure("grpc Query 100-item page", 1, secs, move |w, i| {
        let mut g = gq.clone();
        let partition = (w * 7919 + i * 104_729) % partitions;
        let from = (i * 31) % (per_partition - 100);
        let req = pb::QueryRequest {
            table_name: t.clone(),
            key_condition_expression: Some("pk = :p AND sk >= :from".into()),
            expression_attribute_values: [
                (":p".to_string(), s(format!("p{partition}"))),
                (":from".to_string(), num(from)),
            ]
            .into(),
            limit: Some(100),
            ..Default::default()
        };
        async move {
            let page = g.query(req).await?.into_inner();
            anyhow::ensure!(page.items.len() == 100, "short page: {}", page.items.len());
            Ok(())
        }
    })
    .await?;
    println!(
        "{:<26} {:>12.0} {:>10.2?} {:>10.2?}   (sequential: latency is the figure)",
        query.name,
        query.ops_per_sec(),
        query.percentile(0.5),
        query.percentile(0.99)
    );

    let scan_start = Instant::now();
    let (mut items, mut bytes, mut start) = (0usize, 0usize, HashMap::new());
    loop {
        let page = g
            .scan(pb::ScanRequest {
                table_name: table.clone(),
                exclusive_start_key: start,
                ..Default::default()
            })
            .await?
            .into_inner();
        items += page.items.len();
        bytes += page
            .items
            .iter()
            .map(prost::Message::encoded_len)
            .sum::<usize>();
        start = page.last_evaluated_key;
        if start.is_empty() {
            break;
        }
    }
    let elapsed = scan_start.elapsed();
    anyhow::ensure!(items == n, "scan returned {items} of {n} items");
    println!(
        "full Scan: {items} items, {:.1} MB in {:.2?}: {:.1} MB/s, {:.0} items/s",
        bytes as f64 / 1e6,
        elapsed,
        bytes as f64 / 1e6 / elapsed.as_secs_f64(),
        items as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn s_value(v: String) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::S(v)),
    }
}

fn n_value(v: impl ToString) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::N(v.to_string())),
    }
}

async fn create_simple_table(
    g: &mut DynamoDbClient<GrpcChannel>,
    name: &str,
    stream: bool,
) -> anyhow::Result<()> {
    g.create_table(pb::CreateTableRequest {
        table_name: name.to_string(),
        key_schema: vec![pb::KeySchemaElement {
            attribute_name: "pk".into(),
            key_type: "HASH".into(),
        }],
        attribute_definitions: vec![pb::AttributeDefinition {
            attribute_name: "pk".into(),
            attribute_type: "S".into(),
        }],
        billing_mode: Some("PAY_PER_REQUEST".into()),
        stream_specification: stream.then(|| pb::StreamSpecification {
            stream_enabled: true,
            stream_view_type: Some("NEW_IMAGE".into()),
        }),
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// 2-item transfers (conditional debit + credit) at concurrency 16.
async fn transactions(channel: &GrpcChannel, secs: f64, echo_ops: f64) -> anyhow::Result<()> {
    const ACCOUNTS: usize = 1000;
    let table = format!("bench-bank-{}", std::process::id());
    let mut g = DynamoDbClient::new(channel.clone());
    create_simple_table(&mut g, &table, false).await?;
    for i in 0..ACCOUNTS {
        g.put_item(pb::PutItemRequest {
            table_name: table.clone(),
            item: [
                ("pk".to_string(), s_value(format!("acct{i}"))),
                ("balance".to_string(), n_value(1_000_000)),
            ]
            .into(),
            ..Default::default()
        })
        .await?;
    }
    let update = |table: &str, id: usize, expr: &str, cond: Option<&str>| pb::TransactWriteItem {
        update: Some(pb::Update {
            table_name: table.to_string(),
            key: [("pk".to_string(), s_value(format!("acct{id}")))].into(),
            update_expression: expr.to_string(),
            condition_expression: cond.map(str::to_string),
            expression_attribute_values: [(":a".to_string(), n_value(1))].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let t = table.clone();
    let report = measure("grpc 2-item transfer txn", 16, secs, move |w, i| {
        let mut g = g.clone();
        let from = (w * 7919 + i * 31) % ACCOUNTS;
        let to = (from + 1 + (i % (ACCOUNTS - 1))) % ACCOUNTS;
        let req = pb::TransactWriteItemsRequest {
            transact_items: vec![
                update(
                    &t,
                    from,
                    "SET balance = balance - :a",
                    Some("balance >= :a"),
                ),
                update(&t, to, "SET balance = balance + :a", None),
            ],
            ..Default::default()
        };
        async move {
            g.transact_write_items(req).await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "\n{:<26} {:>12.0} {:>10.2?} {:>10.2?} {:>14.2}",
        report.name,
        report.ops_per_sec(),
        report.percentile(0.5),
        report.percentile(0.99),
        report.ops_per_sec() / echo_ops
    );
    Ok(())
}

/// End-to-end lag from a PutItem's send to its record's delivery on SubscribeChanges.
async fn stream_lag(channel: &GrpcChannel, secs: f64) -> anyhow::Result<()> {
    let table = format!("bench-feed-{}", std::process::id());
    let mut g = DynamoDbClient::new(channel.clone());
    create_simple_table(&mut g, &table, true).await?;
    let mut feed = pb::dynamo_db_streams_client::DynamoDbStreamsClient::new(channel.clone());
    let mut sub = feed
        .subscribe_changes(pb::SubscribeChangesRequest {
            table_name: table.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let origin = Instant::now();
    let deadline = Duration::from_secs_f64(secs);
    let writer = {
        let (mut g, table) = (g.clone(), table.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while origin.elapsed() < deadline {
                let sent = origin.elapsed().as_micros() as u64;
                g.put_item(pb::PutItemRequest {
                    table_name: table.clone(),
                    item: [
                        ("pk".to_string(), s_value(format!("k{i}"))),
                        ("t".to_string(), n_value(sent)),
                    ]
                    .into(),
                    ..Default::default()
                })
                .await?;
                i += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            anyhow::Ok(i)
        })
    };
    let mut lags = report::histogram();
    loop {
        let msg = match tokio::time::timeout(Duration::from_millis(500), sub.message()).await {
            Ok(msg) => msg?,
            // Quiet for 500 ms: done once the writer is.
            Err(_) if writer.is_finished() => break,
            Err(_) => continue,
        };
        let Some(msg) = msg else { break };
        let sent = msg
            .record
            .and_then(|r| r.dynamodb)
            .and_then(|d| d.new_image.get("t").cloned())
            .and_then(|v| match v.value {
                Some(pb::attribute_value::Value::N(n)) => n.parse::<u64>().ok(),
                _ => None,
            });
        if let Some(sent) = sent {
            let lag_us = (origin.elapsed().as_micros() as u64).saturating_sub(sent);
            report::record(&mut lags, Duration::from_micros(lag_us));
        }
    }
    let written = writer.await??;
    let pct = |p: f64| {
        if lags.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_nanos(lags.value_at_quantile(p))
        }
    };
    println!(
        "stream lag (PutItem send -> SubscribeChanges delivery): {} of {} records, p50 {:.2?}, p99 {:.2?}",
        lags.len(),
        written,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}
