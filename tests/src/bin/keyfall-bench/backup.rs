//! `keyfall-bench backup`: what backups and point-in-time recovery cost the table they
//! protect, on an in-process server (throughput unbounded):
//!
//! - **Writes during a backup**: a table of `--items` items (~200 bytes each) takes
//!   PutItems from `--concurrency` closed-loop writers over gRPC; throughput is measured for
//!   `--seconds` before the backup, while CreateBackup's copy is written (until the backup
//!   is AVAILABLE), and for `--seconds` after. The ratio is the throughput during the
//!   backup over the mean of before and after, all in one run.
//! - **Restore**: the backup restored into a new table, items and seconds until ACTIVE.
//! - **PITR's write cost and disk**: `--pitr-writes` PutItems (overwrites of 10,000 keys)
//!   to a table with point-in-time recovery and, on a second fresh server, to one without;
//!   throughput ratio, and the data directories' growth difference per million writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use keyfall_tests::{
    signed_channel, GrpcChannel, TestServer, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY,
};
use serde::Serialize;

#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct BackupArgs {
    /// Items in the table backed up.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: u64,
    /// Closed-loop writers.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds measured before and after the backup.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Writes of the point-in-time-recovery comparison (0: skipped).
    #[arg(long, default_value_t = 200_000)]
    pub pitr_writes: u64,
    /// Seconds of each PutItem and GetItem round on a table encrypted at rest and on one
    /// without, alternating, two rounds each (0: skipped).
    #[arg(long, default_value_t = 5.0)]
    pub encryption_seconds: f64,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

fn s(v: String) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::S(v)),
    }
}

fn put(table: &str, n: u64) -> pb::PutItemRequest {
    pb::PutItemRequest {
        table_name: table.into(),
        item: [
            ("pk".to_string(), s(format!("item-{n:09}"))),
            ("v".to_string(), s("x".repeat(180))),
        ]
        .into(),
        ..Default::default()
    }
}

async fn create(db: &aws_sdk_dynamodb::Client, name: &str) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::ScalarAttributeType;
    keyfall_tests::new_table(db, name, ("pk", ScalarAttributeType::S), None)
        .send()
        .await?;
    Ok(())
}

/// Loads `items` items with BatchWriteItem from 8 tasks.
async fn load(channel: &GrpcChannel, table: &str, items: u64) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (next, mut client) = (next.clone(), DynamoDbClient::new(channel.clone()));
        let table = table.to_string();
        tasks.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(25, Ordering::Relaxed);
                if first >= items {
                    return anyhow::Ok(());
                }
                let writes: Vec<pb::WriteRequest> = (first..(first + 25).min(items))
                    .map(|n| pb::WriteRequest {
                        put_request: Some(pb::PutRequest {
                            item: put(&table, n).item,
                        }),
                        ..Default::default()
                    })
                    .collect();
                let mut pending = writes;
                while !pending.is_empty() {
                    let out = client
                        .batch_write_item(pb::BatchWriteItemRequest {
                            request_items: [(
                                table.clone(),
                                pb::WriteRequestList { values: pending },
                            )]
                            .into(),
                            ..Default::default()
                        })
                        .await?
                        .into_inner();
                    pending = out
                        .unprocessed_items
                        .get(&table)
                        .map(|l| l.values.clone())
                        .unwrap_or_default();
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed())
}

/// Writers running until stopped, counting acknowledged PutItems.
struct Writers {
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Writers {
    fn start(channel: &GrpcChannel, table: &str, concurrency: usize, keys: u64) -> Writers {
        Self::start_as(channel, table, concurrency, keys, false)
    }

    /// Workers doing PutItems, or GetItems (`read`) of the keys `load` wrote.
    fn start_as(
        channel: &GrpcChannel,
        table: &str,
        concurrency: usize,
        keys: u64,
        read: bool,
    ) -> Writers {
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..concurrency as u64)
            .map(|w| {
                let (count, stop) = (count.clone(), stop.clone());
                let mut client = DynamoDbClient::new(channel.clone());
                let table = table.to_string();
                tokio::spawn(async move {
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) {
                        let n = (i * 7919) % keys;
                        if read {
                            let key = put(&table, n)
                                .item
                                .into_iter()
                                .filter(|(k, _)| k == "pk")
                                .collect();
                            client
                                .get_item(pb::GetItemRequest {
                                    table_name: table.clone(),
                                    key,
                                    ..Default::default()
                                })
                                .await?;
                        } else {
                            client.put_item(put(&table, n)).await?;
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                        i += concurrency as u64;
                    }
                    Ok(())
                })
            })
            .collect();
        Writers { count, stop, tasks }
    }

    /// Writes a second over the window that ends when `done` resolves.
    async fn rate_until(
        &self,
        done: impl std::future::Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<(f64, f64)> {
        let (start, before) = (Instant::now(), self.count.load(Ordering::Relaxed));
        done.await?;
        let seconds = start.elapsed().as_secs_f64();
        let writes = self.count.load(Ordering::Relaxed) - before;
        Ok((writes as f64 / seconds, seconds))
    }

    async fn finish(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await??;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
struct Figures {
    items: u64,
    load_seconds: f64,
    writes_per_second_before: f64,
    writes_per_second_during_backup: f64,
    writes_per_second_after: f64,
    backup_seconds: f64,
    backup_bytes_on_disk: u64,
    /// During over the mean of before and after.
    ratio_during_backup: f64,
    restore_seconds: f64,
    restored_items_per_second: f64,
    pitr: Option<PitrFigures>,
    encryption: Option<EncryptionFigures>,
}

#[derive(Debug, Serialize)]
struct EncryptionFigures {
    seconds_per_round: f64,
    put_per_second_plain: Vec<f64>,
    put_per_second_encrypted: Vec<f64>,
    get_per_second_plain: Vec<f64>,
    get_per_second_encrypted: Vec<f64>,
    /// Encrypted over plain, the sums of the rounds.
    put_ratio: f64,
    get_ratio: f64,
}

/// PutItem then GetItem rounds on a plain and an encrypted table of 10,000 items,
/// alternating, in one server.
async fn encryption_run(seconds: f64, concurrency: usize) -> anyhow::Result<EncryptionFigures> {
    let server = crate::start_server(crate::BenchCapacity::Unbounded).await;
    let db = server.dynamodb();
    let channel = channel(&server).await;
    create(&db, "plain").await?;
    keyfall_tests::new_table(
        &db,
        "sealed",
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .sse_specification(
        aws_sdk_dynamodb::types::SseSpecification::builder()
            .enabled(true)
            .build(),
    )
    .send()
    .await?;
    load(&channel, "plain", 10_000).await?;
    load(&channel, "sealed", 10_000).await?;
    let mut f = EncryptionFigures {
        seconds_per_round: seconds,
        put_per_second_plain: Vec::new(),
        put_per_second_encrypted: Vec::new(),
        get_per_second_plain: Vec::new(),
        get_per_second_encrypted: Vec::new(),
        put_ratio: 0.0,
        get_ratio: 0.0,
    };
    for _ in 0..2 {
        for (table, read) in [
            ("plain", false),
            ("sealed", false),
            ("plain", true),
            ("sealed", true),
        ] {
            let workers = Writers::start_as(&channel, table, concurrency, 10_000, read);
            let (rate, _) = workers
                .rate_until(async {
                    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                    Ok(())
                })
                .await?;
            workers.finish().await?;
            match (table, read) {
                ("plain", false) => f.put_per_second_plain.push(rate),
                ("sealed", false) => f.put_per_second_encrypted.push(rate),
                ("plain", true) => f.get_per_second_plain.push(rate),
                _ => f.get_per_second_encrypted.push(rate),
            }
        }
    }
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    f.put_ratio = sum(&f.put_per_second_encrypted) / sum(&f.put_per_second_plain);
    f.get_ratio = sum(&f.get_per_second_encrypted) / sum(&f.get_per_second_plain);
    Ok(f)
}

#[derive(Debug, Serialize)]
struct PitrFigures {
    writes: u64,
    writes_per_second_without: f64,
    writes_per_second_with: f64,
    ratio: f64,
    data_dir_bytes_without: u64,
    data_dir_bytes_with: u64,
    log_bytes_per_million_writes: f64,
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn wait_backup(db: &aws_sdk_dynamodb::Client, arn: &str) -> anyhow::Result<()> {
    loop {
        let d = db.describe_backup().backup_arn(arn).send().await?;
        let status = d
            .backup_description()
            .and_then(|b| b.backup_details())
            .map(|d| d.backup_status().as_str().to_string());
        if status.as_deref() == Some("AVAILABLE") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_active(db: &aws_sdk_dynamodb::Client, table: &str) -> anyhow::Result<()> {
    loop {
        let d = db.describe_table().table_name(table).send().await?;
        if d.table().and_then(|t| t.table_status()).map(|s| s.as_str()) == Some("ACTIVE") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `writes` PutItems over 10,000 keys on a fresh server, PITR on or off; writes a second
/// and the data directory's size after a clean stop.
async fn pitr_run(writes: u64, concurrency: usize, pitr: bool) -> anyhow::Result<(f64, u64)> {
    let server = crate::start_server(crate::BenchCapacity::Unbounded).await;
    let db = server.dynamodb();
    let channel = channel(&server).await;
    create(&db, "logged").await?;
    if pitr {
        db.update_continuous_backups()
            .table_name("logged")
            .point_in_time_recovery_specification(
                aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    let writers = Writers::start(&channel, "logged", concurrency, 10_000);
    let count = writers.count.clone();
    let (rate, _) = writers
        .rate_until(async {
            while count.load(Ordering::Relaxed) < writes {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(())
        })
        .await?;
    writers.finish().await?;
    let dir = server.stop().await;
    Ok((rate, dir_bytes(dir.path())))
}

async fn channel(server: &TestServer) -> GrpcChannel {
    let endpoint = format!("http://{}", server.grpc_addr);
    signed_channel(&endpoint, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY).await
}

pub async fn run(args: BackupArgs) -> anyhow::Result<()> {
    let server = crate::start_server(crate::BenchCapacity::Unbounded).await;
    let db = server.dynamodb();
    let channel = channel(&server).await;
    create(&db, "protected").await?;
    eprintln!("loading {} items", args.items);
    let load_seconds = load(&channel, "protected", args.items).await?.as_secs_f64();
    let writers = Writers::start(&channel, "protected", args.concurrency, args.items.max(1));
    let window = || tokio::time::sleep(Duration::from_secs_f64(args.seconds));
    let (before, _) = writers
        .rate_until(async {
            window().await;
            Ok(())
        })
        .await?;
    let arn = db
        .create_backup()
        .table_name("protected")
        .backup_name("bench")
        .send()
        .await?
        .backup_details()
        .context("backup details")?
        .backup_arn()
        .to_string();
    let (during, backup_seconds) = writers.rate_until(wait_backup(&db, &arn)).await?;
    let (after, _) = writers
        .rate_until(async {
            window().await;
            Ok(())
        })
        .await?;
    writers.finish().await?;
    let backup_bytes_on_disk = dir_bytes(&server.data_dir.path().join("backups"));

    let start = Instant::now();
    db.restore_table_from_backup()
        .target_table_name("restored")
        .backup_arn(&arn)
        .send()
        .await?;
    wait_active(&db, "restored").await?;
    let restore_seconds = start.elapsed().as_secs_f64();
    drop(server);

    let pitr = if args.pitr_writes > 0 {
        eprintln!(
            "point-in-time recovery: {} writes with and without",
            args.pitr_writes
        );
        let (without, bytes_without) = pitr_run(args.pitr_writes, args.concurrency, false).await?;
        let (with, bytes_with) = pitr_run(args.pitr_writes, args.concurrency, true).await?;
        Some(PitrFigures {
            writes: args.pitr_writes,
            writes_per_second_without: without,
            writes_per_second_with: with,
            ratio: with / without,
            data_dir_bytes_without: bytes_without,
            data_dir_bytes_with: bytes_with,
            log_bytes_per_million_writes: (bytes_with as f64 - bytes_without as f64)
                / args.pitr_writes as f64
                * 1e6,
        })
    } else {
        None
    };
    let encryption = if args.encryption_seconds > 0.0 {
        eprintln!("encryption at rest: PutItem and GetItem, plain and encrypted tables");
        Some(encryption_run(args.encryption_seconds, args.concurrency).await?)
    } else {
        None
    };
    let figures = Figures {
        items: args.items,
        load_seconds,
        writes_per_second_before: before,
        writes_per_second_during_backup: during,
        writes_per_second_after: after,
        backup_seconds,
        backup_bytes_on_disk,
        ratio_during_backup: during / ((before + after) / 2.0),
        restore_seconds,
        restored_items_per_second: args.items as f64 / restore_seconds,
        pitr,
        encryption,
    };
    println!("{}", serde_json::to_string_pretty(&figures)?);
    if let Some(path) = &args.json {
        let out = serde_json::json!({"args": args, "figures": figures});
        std::fs::write(path, serde_json::to_vec_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
