//! keyfall-dax against the server it fronts, in the same run: cache-hit GetItem through the
//! proxy vs GetItem on the server vs an empty Echo on the server, at concurrency 1 and N;
//! a Zipfian read load with 5% writes; coherence lag after direct writes; the byte budget.

use std::time::{Duration, Instant};

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_client::DiagnosticsClient;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use keyfall_tests::{TestProxy, TestServer, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY};
use rand::Rng;
use rand_distr::Distribution;

use super::{measure, Report};

fn s(v: String) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::S(v)),
    }
}

fn key(i: usize) -> std::collections::HashMap<String, pb::AttributeValue> {
    [("pk".to_string(), s(format!("k{i:08}")))].into()
}

fn print(reports: &[Report], reference: &Report) {
    println!(
        "  {:<34} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "operation", "ops/s", "p50", "p99", "vs Echo ops", "vs Echo p50"
    );
    for r in reports {
        println!(
            "  {:<34} {:>10.0} {:>10.2?} {:>10.2?} {:>12.2} {:>12.2}",
            r.name,
            r.ops_per_sec(),
            r.percentile(0.5),
            r.percentile(0.99),
            r.ops_per_sec() / reference.ops_per_sec(),
            r.percentile(0.5).as_secs_f64() / reference.percentile(0.5).as_secs_f64()
        );
    }
}

pub async fn run(
    server: &TestServer,
    items: usize,
    value_bytes: usize,
    concurrency: usize,
    secs: f64,
) -> anyhow::Result<()> {
    let table = format!("dax-bench-{}", std::process::id());
    let db = server.dynamodb();
    keyfall_tests::new_table(
        &db,
        &table,
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .stream_specification(
        aws_sdk_dynamodb::types::StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
            .build()?,
    )
    .send()
    .await?;
    let channel = server.channel().await;
    let mut direct = DynamoDbClient::new(channel.clone());
    let payload = "v".repeat(value_bytes);
    for chunk in (0..items).collect::<Vec<_>>().chunks(25) {
        let requests = chunk
            .iter()
            .map(|&i| pb::WriteRequest {
                put_request: Some(pb::PutRequest {
                    item: [
                        ("pk".to_string(), s(format!("k{i:08}"))),
                        ("v".to_string(), s(payload.clone())),
                    ]
                    .into(),
                }),
                delete_request: None,
            })
            .collect();
        direct
            .batch_write_item(pb::BatchWriteItemRequest {
                request_items: [(table.clone(), pb::WriteRequestList { values: requests })].into(),
                ..Default::default()
            })
            .await?;
    }
    let proxy = TestProxy::start(server, |c| {
        c.auth = keyfall_api::flags::AuthMode::Enforce;
    })
    .await;
    let via_proxy = proxy
        .grpc_as(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
        .await;
    // Fill the cache.
    for i in 0..items {
        via_proxy
            .clone()
            .get_item(pb::GetItemRequest {
                table_name: table.clone(),
                key: key(i),
                ..Default::default()
            })
            .await?;
    }
    println!("keyfall-dax ({items} items of {value_bytes} bytes, all cached; gRPC, signed):");
    for c in [1, concurrency] {
        let echo = DiagnosticsClient::new(channel.clone());
        let reference = measure("server Echo (reference)", c, secs, move |_, _| {
            let mut echo = echo.clone();
            async move {
                echo.echo(pb::EchoRequest {
                    payload: vec![0; 16],
                })
                .await?;
                Ok(())
            }
        })
        .await?;
        let get = |name: &'static str, client: DynamoDbClient<keyfall_tests::GrpcChannel>| {
            let t = table.clone();
            measure(name, c, secs, move |w, i| {
                let mut g = client.clone();
                let req = pb::GetItemRequest {
                    table_name: t.clone(),
                    key: key((w * 7919 + i * 104_729) % items),
                    ..Default::default()
                };
                async move {
                    g.get_item(req).await?;
                    Ok(())
                }
            })
        };
        let server_get = get("server GetItem", direct.clone()).await?;
        let dax_get = get("dax GetItem (cache hit)", via_proxy.clone()).await?;
        let json_get = |name: &'static str, sdk: aws_sdk_dynamodb::Client| {
            let t = table.clone();
            measure(name, c, secs, move |w, i| {
                let req = sdk.get_item().table_name(&t).key(
                    "pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!(
                        "k{:08}",
                        (w * 7919 + i * 104_729) % items
                    )),
                );
                async move {
                    req.send().await?;
                    Ok(())
                }
            })
        };
        let server_json = json_get("server GetItem (JSON, aws-sdk)", server.dynamodb()).await?;
        let dax_json = json_get(
            "dax GetItem (JSON, aws-sdk, hit)",
            proxy.dynamodb_as(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY),
        )
        .await?;
        println!(" concurrency {c}:");
        print(&[server_get, dax_get, server_json, dax_json], &reference);
    }
    // The Zipfian load starts from a cold cache, on a proxy of its own.
    let cold = TestProxy::start(server, |c| {
        c.auth = keyfall_api::flags::AuthMode::Enforce;
    })
    .await;
    let cold_client = cold
        .grpc_as(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
        .await;
    zipf(
        &cold,
        &cold_client,
        &table,
        items,
        payload.len(),
        concurrency,
        secs,
    )
    .await?;
    coherence_lag(&proxy, &mut direct, &via_proxy, &table).await?;
    budget(server, &table, items, value_bytes).await?;
    Ok(())
}

/// 95% GetItem with Zipf(1.0)-distributed keys, 5% PutItem, all through the proxy.
async fn zipf(
    proxy: &TestProxy,
    client: &DynamoDbClient<keyfall_tests::GrpcChannel>,
    table: &str,
    items: usize,
    value_bytes: usize,
    concurrency: usize,
    secs: f64,
) -> anyhow::Result<()> {
    const HITS: &str = "keyfall_dax_cache_hits_total{cache=\"item\"}";
    const MISSES: &str = "keyfall_dax_cache_misses_total{cache=\"item\"}";
    let (h0, m0) = (proxy.metric(HITS).await, proxy.metric(MISSES).await);
    let zipf = rand_distr::Zipf::new(items as f64, 1.0)?;
    let (client, t, payload) = (client.clone(), table.to_string(), "w".repeat(value_bytes));
    let r = measure(
        "dax Zipf(1.0) 95% get / 5% put",
        concurrency,
        secs,
        move |_, _| {
            let mut g = client.clone();
            let mut rng = rand::rng();
            let k = (zipf.sample(&mut rng) as usize).saturating_sub(1) % items;
            let write = rng.random_ratio(1, 20);
            let t = t.clone();
            let payload = payload.clone();
            async move {
                if write {
                    g.put_item(pb::PutItemRequest {
                        table_name: t,
                        item: [
                            ("pk".to_string(), s(format!("k{k:08}"))),
                            ("v".to_string(), s(payload)),
                        ]
                        .into(),
                        ..Default::default()
                    })
                    .await?;
                } else {
                    g.get_item(pb::GetItemRequest {
                        table_name: t,
                        key: key(k),
                        ..Default::default()
                    })
                    .await?;
                }
                Ok(())
            }
        },
    )
    .await?;
    let (h, m) = (
        proxy.metric(HITS).await - h0,
        proxy.metric(MISSES).await - m0,
    );
    println!(
        " Zipfian load from a cold cache: {:.0} ops/s, p50 {:.2?}, p99 {:.2?}, item-cache hit ratio {:.3} ({h} hits, {m} misses)",
        r.ops_per_sec(),
        r.percentile(0.5),
        r.percentile(0.99),
        h as f64 / (h + m).max(1) as f64
    );
    Ok(())
}

/// Time from a write straight to the server until the proxy serves the new value.
async fn coherence_lag(
    _proxy: &TestProxy,
    direct: &mut DynamoDbClient<keyfall_tests::GrpcChannel>,
    via_proxy: &DynamoDbClient<keyfall_tests::GrpcChannel>,
    table: &str,
) -> anyhow::Result<()> {
    let mut lags = Vec::new();
    for round in 0..200 {
        let value = format!("round-{round}");
        let mut p = via_proxy.clone();
        let get = pb::GetItemRequest {
            table_name: table.to_string(),
            key: key(0),
            ..Default::default()
        };
        p.get_item(get.clone()).await?;
        direct
            .put_item(pb::PutItemRequest {
                table_name: table.to_string(),
                item: [
                    ("pk".to_string(), s("k00000000".into())),
                    ("v".to_string(), s(value.clone())),
                ]
                .into(),
                ..Default::default()
            })
            .await?;
        let written = Instant::now();
        loop {
            let item = p.get_item(get.clone()).await?.into_inner().item;
            if item.get("v") == Some(&s(value.clone())) {
                break;
            }
            anyhow::ensure!(
                written.elapsed() < Duration::from_secs(5),
                "no coherence within 5s"
            );
        }
        lags.push(written.elapsed());
    }
    lags.sort();
    println!(
        " coherence lag (direct write to server -> proxy serves it, 200 rounds): p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        lags[lags.len() / 2],
        lags[lags.len() * 99 / 100],
        lags[lags.len() - 1]
    );
    Ok(())
}

/// A proxy with a small item budget reads more than its budget.
async fn budget(
    server: &TestServer,
    table: &str,
    items: usize,
    value_bytes: usize,
) -> anyhow::Result<()> {
    let budget_kib = 256;
    let proxy = TestProxy::start(server, |c| {
        c.auth = keyfall_api::flags::AuthMode::Enforce;
        c.item_cache_bytes = budget_kib << 10;
    })
    .await;
    let mut client = proxy
        .grpc_as(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
        .await;
    for i in 0..items {
        client
            .get_item(pb::GetItemRequest {
                table_name: table.to_string(),
                key: key(i),
                ..Default::default()
            })
            .await?;
    }
    let bytes = proxy
        .metric("keyfall_dax_cache_bytes{cache=\"item\"}")
        .await;
    let evictions = proxy
        .metric("keyfall_dax_cache_evictions_total{cache=\"item\"}")
        .await;
    println!(
        " byte budget: read {} KiB of item values through a {budget_kib} KiB item cache: {} KiB held, {evictions} evictions",
        items * value_bytes / 1024,
        bytes / 1024
    );
    Ok(())
}
