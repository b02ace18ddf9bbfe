//! `keyfall-bench`: throughput and latency of the item path, reported against a reference
//! measured in the same run (an empty gRPC `Echo`), because absolute numbers on shared
//! machines are noise.
//!
//! By default it starts an in-process server on a temporary directory; `--http`/`--grpc`
//! point it at a running one instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use clap::Parser;
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_client::DiagnosticsClient;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use keyfall_tests::{dynamodb_client, TestServer};
use tonic::transport::Channel;

#[derive(Parser, Debug)]
#[command(name = "keyfall-bench", about = "Keyfall item-path benchmark")]
struct Args {
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
}

struct Report {
    name: &'static str,
    ops: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Report {
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let idx = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(idx).copied().unwrap_or_default()
    }
}

/// Runs `op(worker, i)` from `concurrency` workers for `seconds`.
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
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                op(w, i).await?;
                lat.push(t.elapsed());
                i += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Report {
        name,
        ops: latencies.len(),
        elapsed,
        latencies,
    })
}

fn item_key(w: usize, i: usize, items: usize) -> String {
    format!("item-{}", (w * 7919 + i) % items)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = match (&args.http, &args.grpc) {
        (Some(_), Some(_)) => None,
        _ => Some(TestServer::start().await),
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
    let sdk = dynamodb_client(&http);
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
    let channel = Channel::from_shared(grpc.clone())?.connect().await?;
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
    if let Some(server) = server {
        server.stop().await;
    }
    Ok(())
}
