//! `keyfall-bench ycsb`: the YCSB core workloads A-F against any endpoint, over gRPC (the
//! generated `keyfall.v1.DynamoDB` client) or the DynamoDB JSON API (aws-sdk-dynamodb, so it
//! also drives DynamoDB Local, dynalite or DynamoDB itself), or through keyfall-dax.
//!
//! # Data model
//!
//! YCSB's `usertable` holds records named `user<N>` with `fieldcount` fields of
//! `fieldlength` bytes. Here a record is one item:
//!
//! - `pk` (S, partition key): the record's bucket, `b<N mod B>` with `B = ceil(records /
//!   1000)` buckets fixed by `--records` (so a `--no-load` run must pass the `--records` the
//!   load used);
//! - `sk` (S, sort key): `user<N>` with `N` zero-padded to 12 digits;
//! - `field0`..`field<F-1>` (S): the record's `--field-bytes` value bytes split evenly over
//!   `--fields` attributes (YCSB's default is 10 fields of 100 bytes: `--fields 10
//!   --field-bytes 1000`), random alphanumerics.
//!
//! The composite key exists for workload E: YCSB's scan reads the records that follow a
//! start key in key order, which DynamoDB only keeps within a partition. So a scan is a
//! `Query` on the start key's bucket, `pk = :b AND sk >= :start`, `Limit` = the scan length,
//! and returns the records that follow it in that bucket. Every workload uses the same
//! table, so one load serves them all.
//!
//! # Operations
//!
//! | YCSB | DynamoDB |
//! | --- | --- |
//! | READ (all fields) | `GetItem` of the record |
//! | UPDATE (one field, YCSB's `writeallfields=false`) | `UpdateItem SET field<k> = :v` |
//! | INSERT (a new record) | `PutItem` of the whole record, at the next unused `N` |
//! | SCAN (1..=`--max-scan-length` records, uniform) | `Query pk = :b AND sk >= :start`, `Limit` = length |
//! | READ-MODIFY-WRITE | `GetItem`, then `UpdateItem` of one field; timed as one operation |
//!
//! # Key choice
//!
//! - `zipfian`: YCSB's scrambled Zipfian: a rank drawn from Zipf(records, 0.99) and hashed
//!   (FNV-1a 64) onto the loaded records, so the hot records are scattered over the key
//!   space rather than adjacent (and over buckets).
//! - `uniform`: every record written so far (loaded or inserted) equally likely.
//! - `latest`: YCSB's skewed-latest: Zipf over the records written so far, counted back from
//!   the newest, so recent inserts are the hottest.
//!
//! A run measures the floor of the API it uses first (see `floor.rs`), then loads
//! `--records` records with `BatchWriteItem` of 25 (unless `--no-load`), then runs each
//! `--workload` for `--seconds` with `--concurrency` closed-loop workers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_dynamodb::types::{AttributeValue as Av, PutRequest, TableStatus, WriteRequest};
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_client::DiagnosticsClient;
use keyfall_proto::v1::dynamo_db_client::DynamoDbClient;
use keyfall_tests::{
    dynamodb_client_as, signed_channel, GrpcChannel, TestProxy, TestServer, ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
};
use rand::Rng;
use rand_distr::Distribution as _;
use serde::Serialize;

use crate::floor;
use crate::report::{print_table, run_workers, Progress, Ratios, Report};

/// Records per bucket (`pk` value): the most a workload E scan can return from one start.
const RECORDS_PER_BUCKET: usize = 1000;
/// YCSB's Zipfian constant.
const ZIPFIAN_CONSTANT: f64 = 0.99;
/// Items per BatchWriteItem in the load phase (DynamoDB's maximum).
const LOAD_BATCH: usize = 25;

#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct YcsbArgs {
    /// YCSB core workload(s) to run, in order, after one load: e.g. `a`, or `a,c,e`.
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub workload: Vec<Workload>,
    /// Key distribution (default: YCSB's for the workload: `latest` for D, else `zipfian`).
    #[arg(long, value_enum)]
    pub distribution: Option<KeyDistribution>,
    /// Records loaded (YCSB's recordcount). Also fixes the bucket layout, so runs with
    /// `--no-load` on an existing table must pass the value it was loaded with.
    #[arg(long, default_value_t = 10_000)]
    pub records: usize,
    /// Value bytes per record (YCSB: fieldcount × fieldlength), split over `--fields`.
    #[arg(long, visible_alias = "record-bytes", default_value_t = 1000)]
    pub field_bytes: usize,
    /// Attributes `field0`.. the value bytes are split over (YCSB's fieldcount).
    #[arg(long, default_value_t = 10)]
    pub fields: usize,
    /// Concurrent closed-loop workers (YCSB's threadcount), also for the load and floors.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds each workload runs.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Seconds each floor runs (default: `--seconds`).
    #[arg(long)]
    pub floor_seconds: Option<f64>,
    /// The API the workload uses: `grpc` (keyfall.v1) or `json` (DynamoDB JSON, aws-sdk).
    #[arg(long, value_enum, default_value_t = Api::Grpc)]
    pub api: Api,
    /// Endpoint of a running server speaking `--api` (e.g. `http://127.0.0.1:8001` for
    /// DynamoDB Local with `--api json`). Default: start a Keyfall server in-process.
    /// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when set.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Run the workload through an in-process keyfall-dax in front of the in-process server
    /// (table creation and load go to the server directly; every record is then read once
    /// through the proxy, so reads are cache hits). For a running proxy, pass its address
    /// as `--endpoint`.
    #[arg(long, conflicts_with = "endpoint")]
    pub dax: bool,
    /// Load the records before the workloads (the default).
    #[arg(long, overrides_with = "no_load")]
    #[serde(skip)]
    pub load: bool,
    /// Skip the load: the table exists and holds `--records` records from an earlier run.
    #[arg(long, overrides_with = "load")]
    pub no_load: bool,
    /// Table name; created (PAY_PER_REQUEST) unless it exists.
    #[arg(long, default_value = "usertable")]
    pub table: String,
    /// Longest workload E scan (YCSB's maxscanlength); lengths are uniform in 1..=this.
    #[arg(long, default_value_t = 100)]
    pub max_scan_length: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The JSON API's client for the workload's reads and writes and for the floor: `sdk`
    /// (aws-sdk-dynamodb, what applications use) or `raw` (signed requests built as text on
    /// a pooled hyper client, so the server rather than the SDK is what is measured).
    #[arg(long, value_enum, default_value_t = JsonClient::Sdk)]
    pub json_client: JsonClient,
    /// The gRPC API's client for reads: `generated` (keyfall-proto's DynamoDbClient, which
    /// decodes every answer into maps) or `lean` (the same request on the same signed
    /// channel, the answer's attributes counted rather than decoded; see `lean_grpc.rs`).
    #[arg(long, value_enum, default_value_t = GrpcClient::Generated)]
    pub grpc_client: GrpcClient,
    /// Runs of each workload, each after its own floor measurement, with the median of
    /// the per-run ratios reported: a shared host's speed drifts between minutes, so a
    /// floor measured just before each run is the fair reference for that run.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// Throughput enforcement of the in-process server: `unbounded` (admitted and charged
    /// like any request, with limits no run reaches: what admission costs is measured),
    /// `dynamodb` (DynamoDB's limits: a run beyond them is throttled and backs off) or
    /// `off` (`--capacity off`, as DynamoDB Local).
    #[arg(long, value_enum, default_value_t = crate::BenchCapacity::Unbounded)]
    pub capacity: crate::BenchCapacity,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrpcClient {
    Generated,
    Lean,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonClient {
    Sdk,
    Raw,
}

/// Runs `op(i)` for every `i` in `0..count`, `concurrency` at a time, and returns how long
/// it took; every worker finishes its current call, then the first error is returned.
async fn for_each_index<F, Fut>(count: usize, concurrency: usize, op: F) -> anyhow::Result<Duration>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let (op, next) = (Arc::new(op), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                op(i).await?;
            }
        }));
    }
    let mut failure = None;
    for w in workers {
        if let Err(e) = w.await.map_err(anyhow::Error::from).and_then(|r| r) {
            failure.get_or_insert(e);
        }
    }
    failure.map_or(Ok(start.elapsed()), Err)
}

/// Reads every loaded record once, `concurrency` at a time.
async fn warm(
    target: &Target,
    keys: &Arc<Keyspace>,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let (target, keys) = (target.clone(), keys.clone());
    for_each_index(keys.records, concurrency, move |n| {
        let (target, key) = (target.clone(), keys.key(n));
        async move { target.read(&key).await.map(|_| ()) }
    })
    .await
}

/// The YCSB core workloads (`workloads/workload[a-f]` in YCSB).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Update heavy (session store recording recent actions): 50% READ, 50% UPDATE.
    A,
    /// Read mostly (photo tagging): 95% READ, 5% UPDATE.
    B,
    /// Read only (user profile cache): 100% READ.
    C,
    /// Read latest (user status updates): 95% READ of recent records, 5% INSERT.
    D,
    /// Short ranges (threaded conversations): 95% SCAN of up to 100 records, 5% INSERT.
    E,
    /// Read-modify-write (user database): 50% READ, 50% READ-MODIFY-WRITE.
    F,
    /// Not YCSB: 100% INSERT (PutItem of new records), the write half of the comparison
    /// with other DynamoDB-compatible servers.
    P,
    /// Not YCSB: 100% SCAN of exactly `--max-scan-length` records (a full page whenever
    /// the bucket has them after the start key), for Query latency by table size.
    Q,
}

impl Workload {
    /// Operation mix, in percent.
    fn mix(self) -> &'static [(Op, u32)] {
        match self {
            Workload::A => &[(Op::Read, 50), (Op::Update, 50)],
            Workload::B => &[(Op::Read, 95), (Op::Update, 5)],
            Workload::C => &[(Op::Read, 100)],
            Workload::D => &[(Op::Read, 95), (Op::Insert, 5)],
            Workload::E => &[(Op::Scan, 95), (Op::Insert, 5)],
            Workload::F => &[(Op::Read, 50), (Op::ReadModifyWrite, 50)],
            Workload::P => &[(Op::Insert, 100)],
            Workload::Q => &[(Op::FullScan, 100)],
        }
    }

    fn default_distribution(self) -> KeyDistribution {
        match self {
            Workload::D => KeyDistribution::Latest,
            _ => KeyDistribution::Zipfian,
        }
    }

    fn letter(self) -> char {
        match self {
            Workload::A => 'a',
            Workload::B => 'b',
            Workload::C => 'c',
            Workload::D => 'd',
            Workload::E => 'e',
            Workload::F => 'f',
            Workload::P => 'p',
            Workload::Q => 'q',
        }
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyDistribution {
    /// YCSB's scrambled Zipfian (constant 0.99) over the loaded records.
    Zipfian,
    /// Every record written so far equally likely.
    Uniform,
    /// Zipfian counted back from the newest record (YCSB's skewed-latest).
    Latest,
}

impl KeyDistribution {
    fn name(self) -> &'static str {
        match self {
            KeyDistribution::Zipfian => "zipfian",
            KeyDistribution::Uniform => "uniform",
            KeyDistribution::Latest => "latest",
        }
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// keyfall.v1 gRPC, SigV4-signed.
    Grpc,
    /// The DynamoDB JSON API through aws-sdk-dynamodb.
    Json,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Grpc => "grpc",
            Api::Json => "json",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Update,
    Insert,
    Scan,
    /// A scan of exactly the longest length.
    FullScan,
    ReadModifyWrite,
}

impl Op {
    /// YCSB's name for the operation.
    fn name(self) -> &'static str {
        match self {
            Op::Read => "READ",
            Op::Update => "UPDATE",
            Op::Insert => "INSERT",
            Op::Scan | Op::FullScan => "SCAN",
            Op::ReadModifyWrite => "READ-MODIFY-WRITE",
        }
    }
}

/// A record's primary key.
struct Key {
    pk: String,
    sk: String,
}

/// Which records exist: the loaded ones, then those inserted by workloads D and E.
struct Keyspace {
    records: usize,
    buckets: usize,
    /// The next record number to insert.
    next: AtomicUsize,
    /// Inserts acknowledged so far: records below `records + acked` are (nearly always)
    /// readable; inserts complete out of order, so a read of a very recent one may miss.
    acked: AtomicUsize,
}

impl Keyspace {
    fn new(records: usize) -> Keyspace {
        Keyspace {
            records,
            buckets: records.div_ceil(RECORDS_PER_BUCKET).max(1),
            next: AtomicUsize::new(records),
            acked: AtomicUsize::new(0),
        }
    }

    fn key(&self, n: usize) -> Key {
        Key {
            pk: format!("b{}", n % self.buckets),
            sk: format!("user{n:012}"),
        }
    }

    fn written(&self) -> usize {
        self.records + self.acked.load(Ordering::Relaxed)
    }
}

/// FNV-1a 64 of a number's bytes, as YCSB's `Utils.FNVhash64` scrambles Zipfian ranks.
fn fnv1a64(v: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Picks record numbers for reads, updates and scan starts.
enum Chooser {
    Zipfian(rand_distr::Zipf<f64>),
    Uniform,
    Latest,
}

impl Chooser {
    fn new(d: KeyDistribution, keys: &Keyspace) -> anyhow::Result<Chooser> {
        Ok(match d {
            KeyDistribution::Zipfian => Chooser::Zipfian(
                rand_distr::Zipf::new(keys.records as f64, ZIPFIAN_CONSTANT)
                    .context("zipfian over the records")?,
            ),
            KeyDistribution::Uniform => Chooser::Uniform,
            KeyDistribution::Latest => Chooser::Latest,
        })
    }

    fn next(&self, keys: &Keyspace, rng: &mut impl Rng) -> usize {
        match self {
            Chooser::Zipfian(zipf) => {
                // Ranks are 1..=records; rank 1 is the hottest.
                let rank = zipf.sample(rng) as u64 - 1;
                (fnv1a64(rank) % keys.records as u64) as usize
            }
            Chooser::Uniform => rng.random_range(0..keys.written()),
            Chooser::Latest => {
                let n = keys.written();
                // A Zipf over a growing count: built per draw (a few float operations).
                match rand_distr::Zipf::new(n as f64, ZIPFIAN_CONSTANT) {
                    Ok(zipf) => n - (zipf.sample(rng) as usize).clamp(1, n),
                    Err(_) => n - 1,
                }
            }
        }
    }
}

/// Field values: slices of a random alphanumeric pool (cheap to make, and not all alike,
/// so storage compression sees realistic data).
struct Values {
    pool: String,
    lens: Vec<usize>,
}

impl Values {
    fn new(total: usize, fields: usize) -> Values {
        let lens: Vec<usize> = (0..fields)
            .map(|f| total / fields + usize::from(f < total % fields))
            .collect();
        let longest = lens.iter().copied().max().unwrap_or(0);
        let pool = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take((2 * longest).max(1 << 16))
            .map(char::from)
            .collect();
        Values { pool, lens }
    }

    fn field(&self, f: usize, rng: &mut impl Rng) -> String {
        let len = self.lens[f];
        let start = rng.random_range(0..=self.pool.len() - len);
        self.pool[start..start + len].to_string()
    }

    fn record(&self, rng: &mut impl Rng) -> Vec<String> {
        (0..self.lens.len()).map(|f| self.field(f, rng)).collect()
    }
}

fn field_name(f: usize) -> String {
    format!("field{f}")
}

// One per run (workers share it behind an Arc): its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Client {
    Grpc {
        db: DynamoDbClient<GrpcChannel>,
        channel: GrpcChannel,
    },
    Json(aws_sdk_dynamodb::Client),
}

/// A table behind one API: the six operations the workloads and the load need.
#[derive(Clone)]
struct Target {
    client: Client,
    table: Arc<str>,
    /// With `--json-client raw`: serves read, update and insert.
    raw: Option<crate::raw_json::RawJson>,
    /// With `--grpc-client lean`: reads through `lean_grpc`.
    lean_reads: bool,
}

/// `{"TableName":...,"Key":{...}`, left open for the rest of the request.
fn raw_key(table: &str, k: &Key) -> crate::raw_json::Body {
    let mut body = crate::raw_json::Body::new(table);
    body.raw(r#","Key":{"#)
        .s("pk", &k.pk)
        .raw(",")
        .s("sk", &k.sk)
        .raw("}");
    body
}

fn pb_s(v: String) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::S(v)),
    }
}

fn pb_key(k: &Key) -> HashMap<String, pb::AttributeValue> {
    [
        ("pk".to_string(), pb_s(k.pk.clone())),
        ("sk".to_string(), pb_s(k.sk.clone())),
    ]
    .into()
}

fn pb_item(k: &Key, fields: Vec<String>) -> HashMap<String, pb::AttributeValue> {
    let mut item = pb_key(k);
    item.extend(
        fields
            .into_iter()
            .enumerate()
            .map(|(f, v)| (field_name(f), pb_s(v))),
    );
    item
}

fn av_key(k: &Key) -> HashMap<String, Av> {
    [
        ("pk".to_string(), Av::S(k.pk.clone())),
        ("sk".to_string(), Av::S(k.sk.clone())),
    ]
    .into()
}

fn av_item(k: &Key, fields: Vec<String>) -> HashMap<String, Av> {
    let mut item = av_key(k);
    item.extend(
        fields
            .into_iter()
            .enumerate()
            .map(|(f, v)| (field_name(f), Av::S(v))),
    );
    item
}

const SCAN_CONDITION: &str = "pk = :b AND sk >= :start";

impl Target {
    async fn connect(api: Api, endpoint: &str, key: &str, secret: &str, table: &str) -> Target {
        let client = match api {
            Api::Grpc => {
                let channel = signed_channel(endpoint, key, secret).await;
                Client::Grpc {
                    db: DynamoDbClient::new(channel.clone()),
                    channel,
                }
            }
            Api::Json => Client::Json(dynamodb_client_as(endpoint, key, secret)),
        };
        Target {
            client,
            table: table.into(),
            raw: None,
            lean_reads: false,
        }
    }

    /// Creates the table unless it exists, then waits until it is ACTIVE. Returns whether
    /// it was created.
    async fn create_table(&self) -> anyhow::Result<bool> {
        let created = match &self.client {
            Client::Grpc { db, .. } => {
                let attr = |name: &str, key_type: &str| {
                    (
                        pb::KeySchemaElement {
                            attribute_name: name.into(),
                            key_type: key_type.into(),
                        },
                        pb::AttributeDefinition {
                            attribute_name: name.into(),
                            attribute_type: "S".into(),
                        },
                    )
                };
                let (pk, pk_def) = attr("pk", "HASH");
                let (sk, sk_def) = attr("sk", "RANGE");
                let res = db
                    .clone()
                    .create_table(pb::CreateTableRequest {
                        table_name: self.table.to_string(),
                        key_schema: vec![pk, sk],
                        attribute_definitions: vec![pk_def, sk_def],
                        billing_mode: Some("PAY_PER_REQUEST".into()),
                        ..Default::default()
                    })
                    .await;
                match res {
                    Ok(_) => true,
                    Err(s) if keyfall_tests::error_type(&s) == Some("ResourceInUseException") => {
                        false
                    }
                    Err(s) => return Err(s).context("CreateTable"),
                }
            }
            Client::Json(sdk) => {
                let res = keyfall_tests::new_table(
                    sdk,
                    &self.table,
                    ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
                    Some(("sk", aws_sdk_dynamodb::types::ScalarAttributeType::S)),
                )
                .send()
                .await;
                match res {
                    Ok(_) => true,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_in_use_exception()) =>
                    {
                        false
                    }
                    Err(e) => return Err(e).context("CreateTable"),
                }
            }
        };
        let since = Instant::now();
        while !self.active().await? {
            anyhow::ensure!(
                since.elapsed() < Duration::from_secs(120),
                "table {} not ACTIVE after 120 s",
                self.table
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(created)
    }

    async fn active(&self) -> anyhow::Result<bool> {
        Ok(match &self.client {
            Client::Grpc { db, .. } => {
                let table = db
                    .clone()
                    .describe_table(pb::DescribeTableRequest {
                        table_name: self.table.to_string(),
                    })
                    .await
                    .context("DescribeTable")?
                    .into_inner()
                    .table;
                table.and_then(|t| t.table_status).as_deref() == Some("ACTIVE")
            }
            Client::Json(sdk) => {
                let out = sdk
                    .describe_table()
                    .table_name(self.table.as_ref())
                    .send()
                    .await
                    .context("DescribeTable")?;
                out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active)
            }
        })
    }

    /// Writes whole records with BatchWriteItem, resending unprocessed items.
    async fn put_batch(&self, records: Vec<(Key, Vec<String>)>) -> anyhow::Result<()> {
        let mut attempt = 0u32;
        match &self.client {
            Client::Grpc { db, .. } => {
                let mut pending: Vec<pb::WriteRequest> = records
                    .into_iter()
                    .map(|(k, fields)| pb::WriteRequest {
                        put_request: Some(pb::PutRequest {
                            item: pb_item(&k, fields),
                        }),
                        delete_request: None,
                    })
                    .collect();
                while !pending.is_empty() {
                    backoff(&mut attempt).await?;
                    let mut out = db
                        .clone()
                        .batch_write_item(pb::BatchWriteItemRequest {
                            request_items: [(
                                self.table.to_string(),
                                pb::WriteRequestList { values: pending },
                            )]
                            .into(),
                            ..Default::default()
                        })
                        .await
                        .context("BatchWriteItem")?
                        .into_inner();
                    pending = out
                        .unprocessed_items
                        .remove(self.table.as_ref())
                        .map(|l| l.values)
                        .unwrap_or_default();
                }
            }
            Client::Json(sdk) => {
                let mut pending = records
                    .into_iter()
                    .map(|(k, fields)| {
                        Ok(WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(av_item(&k, fields)))
                                    .build()?,
                            )
                            .build())
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                while !pending.is_empty() {
                    backoff(&mut attempt).await?;
                    let out = sdk
                        .batch_write_item()
                        .request_items(self.table.as_ref(), pending)
                        .send()
                        .await
                        .context("BatchWriteItem")?;
                    pending = out
                        .unprocessed_items()
                        .and_then(|u| u.get(self.table.as_ref()))
                        .cloned()
                        .unwrap_or_default();
                }
            }
        }
        Ok(())
    }

    /// GetItem of the whole record; whether it exists.
    async fn read(&self, k: &Key) -> anyhow::Result<bool> {
        if let Some(raw) = &self.raw {
            let body = raw_key(&self.table, k).finish();
            let out = raw.call("GetItem", body).await?;
            return crate::raw_json::has_item(&out);
        }
        match &self.client {
            Client::Grpc { db, channel } => {
                let request = pb::GetItemRequest {
                    table_name: self.table.to_string(),
                    key: pb_key(k),
                    ..Default::default()
                };
                if self.lean_reads {
                    let attributes = crate::lean_grpc::get_item(channel.clone(), request).await?;
                    return Ok(attributes > 0);
                }
                let out = db.clone().get_item(request).await.context("GetItem")?;
                Ok(!out.into_inner().item.is_empty())
            }
            Client::Json(sdk) => {
                let out = sdk
                    .get_item()
                    .table_name(self.table.as_ref())
                    .set_key(Some(av_key(k)))
                    .send()
                    .await
                    .context("GetItem")?;
                Ok(out.item().is_some_and(|i| !i.is_empty()))
            }
        }
    }

    /// UpdateItem of one field.
    async fn update(&self, k: &Key, field: usize, value: String) -> anyhow::Result<()> {
        let expr = format!("SET {} = :v", field_name(field));
        if let Some(raw) = &self.raw {
            let body = raw_key(&self.table, k)
                .raw(r#","UpdateExpression":"#)
                .string(&expr)
                .raw(r#","ExpressionAttributeValues":{"#)
                .s(":v", &value)
                .raw("}")
                .finish();
            raw.call("UpdateItem", body).await?;
            return Ok(());
        }
        match &self.client {
            Client::Grpc { db, .. } => {
                db.clone()
                    .update_item(pb::UpdateItemRequest {
                        table_name: self.table.to_string(),
                        key: pb_key(k),
                        update_expression: Some(expr),
                        expression_attribute_values: [(":v".to_string(), pb_s(value))].into(),
                        ..Default::default()
                    })
                    .await
                    .context("UpdateItem")?;
            }
            Client::Json(sdk) => {
                sdk.update_item()
                    .table_name(self.table.as_ref())
                    .set_key(Some(av_key(k)))
                    .update_expression(expr)
                    .expression_attribute_values(":v", Av::S(value))
                    .send()
                    .await
                    .context("UpdateItem")?;
            }
        }
        Ok(())
    }

    /// PutItem of a whole record.
    async fn insert(&self, k: &Key, fields: Vec<String>) -> anyhow::Result<()> {
        if let Some(raw) = &self.raw {
            let mut body = crate::raw_json::Body::new(&self.table);
            body.raw(r#","Item":{"#)
                .s("pk", &k.pk)
                .raw(",")
                .s("sk", &k.sk);
            for (i, v) in fields.iter().enumerate() {
                body.raw(",").s(&field_name(i), v);
            }
            raw.call("PutItem", body.raw("}").finish()).await?;
            return Ok(());
        }
        match &self.client {
            Client::Grpc { db, .. } => {
                db.clone()
                    .put_item(pb::PutItemRequest {
                        table_name: self.table.to_string(),
                        item: pb_item(k, fields),
                        ..Default::default()
                    })
                    .await
                    .context("PutItem")?;
            }
            Client::Json(sdk) => {
                sdk.put_item()
                    .table_name(self.table.as_ref())
                    .set_item(Some(av_item(k, fields)))
                    .send()
                    .await
                    .context("PutItem")?;
            }
        }
        Ok(())
    }

    /// Up to `len` records from `start` on, in key order within its bucket; how many.
    async fn scan(&self, start: &Key, len: usize) -> anyhow::Result<usize> {
        let limit = i32::try_from(len).unwrap_or(i32::MAX);
        match &self.client {
            Client::Grpc { db, .. } => {
                let out = db
                    .clone()
                    .query(pb::QueryRequest {
                        table_name: self.table.to_string(),
                        key_condition_expression: Some(SCAN_CONDITION.into()),
                        expression_attribute_values: [
                            (":b".to_string(), pb_s(start.pk.clone())),
                            (":start".to_string(), pb_s(start.sk.clone())),
                        ]
                        .into(),
                        limit: Some(limit),
                        ..Default::default()
                    })
                    .await
                    .context("Query")?;
                Ok(out.into_inner().items.len())
            }
            Client::Json(sdk) => {
                let out = sdk
                    .query()
                    .table_name(self.table.as_ref())
                    .key_condition_expression(SCAN_CONDITION)
                    .expression_attribute_values(":b", Av::S(start.pk.clone()))
                    .expression_attribute_values(":start", Av::S(start.sk.clone()))
                    .limit(limit)
                    .send()
                    .await
                    .context("Query")?;
                Ok(out.items().len())
            }
        }
    }
}

/// Before each BatchWriteItem attempt: nothing the first time, then an exponential wait
/// (unprocessed items mean the server is shedding load); gives up after 12 attempts.
async fn backoff(attempt: &mut u32) -> anyhow::Result<()> {
    if *attempt > 0 {
        anyhow::ensure!(*attempt < 12, "BatchWriteItem: items still unprocessed");
        let ms = 10u64 << (*attempt).min(8);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    *attempt += 1;
    Ok(())
}

/// One operation, chosen (with its key and values) before it is sent.
enum Plan {
    Read(Key),
    Update(Key, usize, String),
    Insert(usize, Vec<String>),
    Scan(Key, usize),
    ReadModifyWrite(Key, usize, String),
}

struct Workers {
    target: Target,
    keys: Arc<Keyspace>,
    values: Arc<Values>,
    chooser: Chooser,
    mix: &'static [(Op, u32)],
    max_scan: usize,
}

impl Workers {
    /// The next operation: its kind (index into the mix) and what it does.
    fn plan(&self, rng: &mut impl Rng) -> (usize, Plan) {
        let mut roll = rng.random_range(0..100u32);
        let mut kind = self.mix.len() - 1;
        for (k, &(_, percent)) in self.mix.iter().enumerate() {
            if roll < percent {
                kind = k;
                break;
            }
            roll -= percent;
        }
        let fields = self.values.lens.len();
        let mut key = || self.keys.key(self.chooser.next(&self.keys, rng));
        let plan = match self.mix[kind].0 {
            Op::Read => Plan::Read(key()),
            Op::Scan => {
                let start = key();
                Plan::Scan(start, rng.random_range(1..=self.max_scan))
            }
            Op::FullScan => Plan::Scan(key(), self.max_scan),
            Op::Update | Op::ReadModifyWrite => {
                let k = key();
                let field = rng.random_range(0..fields);
                let value = self.values.field(field, rng);
                if self.mix[kind].0 == Op::Update {
                    Plan::Update(k, field, value)
                } else {
                    Plan::ReadModifyWrite(k, field, value)
                }
            }
            Op::Insert => Plan::Insert(
                self.keys.next.fetch_add(1, Ordering::Relaxed),
                self.values.record(rng),
            ),
        };
        (kind, plan)
    }

    /// Does `plan`; whether it found nothing.
    async fn execute(&self, plan: Plan) -> anyhow::Result<bool> {
        Ok(match plan {
            Plan::Read(k) => !self.target.read(&k).await?,
            Plan::Update(k, field, value) => {
                self.target.update(&k, field, value).await?;
                false
            }
            Plan::Insert(n, fields) => {
                self.target.insert(&self.keys.key(n), fields).await?;
                self.keys.acked.fetch_add(1, Ordering::Relaxed);
                false
            }
            Plan::Scan(start, len) => self.target.scan(&start, len).await? == 0,
            Plan::ReadModifyWrite(k, field, value) => {
                let found = self.target.read(&k).await?;
                self.target.update(&k, field, value).await?;
                !found
            }
        })
    }
}

/// Loads records `0..records` with BatchWriteItem from `concurrency` workers.
async fn load(
    target: &Target,
    keys: &Arc<Keyspace>,
    values: &Arc<Values>,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let records = keys.records;
    let progress = Progress::counted("load", records as u64);
    let (target, keys, values, counted) = (
        target.clone(),
        keys.clone(),
        values.clone(),
        progress.clone(),
    );
    let took = for_each_index(records.div_ceil(LOAD_BATCH), concurrency, move |b| {
        let batch: Vec<(Key, Vec<String>)> = {
            let mut rng = rand::rng();
            (b * LOAD_BATCH..((b + 1) * LOAD_BATCH).min(records))
                .map(|n| (keys.key(n), values.record(&mut rng)))
                .collect()
        };
        let (target, progress) = (target.clone(), counted.clone());
        async move {
            let n = batch.len() as u64;
            target.put_batch(batch).await?;
            progress.inc(n);
            Ok(())
        }
    })
    .await;
    progress.finish();
    took.context("load")
}

/// `git rev-parse HEAD` and whether tracked files differ from it, where git works.
fn git_commit() -> (Option<String>, Option<bool>) {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"]);
    let dirty = commit
        .as_ref()
        .and_then(|_| run(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    (commit, dirty)
}

fn machine() -> serde_json::Value {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cpu_model = read("/proc/cpuinfo").and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    serde_json::json!({
        "hostname": read("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu_model": cpu_model,
    })
}

fn floor_json(r: &Report, role: &str, api: Api) -> serde_json::Value {
    let mut v = r.json();
    v["role"] = role.into();
    v["api"] = api.name().into();
    v
}

pub async fn run(args: YcsbArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.records > 0, "--records must be at least 1");
    anyhow::ensure!(args.fields > 0, "--fields must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(args.seconds > 0.0, "--seconds must be positive");
    anyhow::ensure!(
        args.max_scan_length > 0,
        "--max-scan-length must be at least 1"
    );
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (api, c, secs) = (args.api, args.concurrency, args.seconds);
    let floor_secs = args.floor_seconds.unwrap_or(secs);

    let server = match &args.endpoint {
        None => Some(crate::start_server(args.capacity).await),
        Some(_) => None,
    };
    let proxy = match (&server, args.dax) {
        (Some(server), true) => Some(
            TestProxy::start(server, |c| {
                c.auth = keyfall_server::config::AuthMode::Enforce;
            })
            .await,
        ),
        _ => None,
    };
    // Against an external server, the usual AWS variables name the credentials.
    let env = |name: &str, default: &str| match &server {
        Some(_) => default.to_string(),
        None => std::env::var(name).unwrap_or_else(|_| default.to_string()),
    };
    let key = env("AWS_ACCESS_KEY_ID", ROOT_ACCESS_KEY_ID);
    let secret = env("AWS_SECRET_ACCESS_KEY", ROOT_SECRET_ACCESS_KEY);
    let server_endpoint = |s: &TestServer| match api {
        Api::Grpc => format!("http://{}", s.grpc_addr),
        Api::Json => s.endpoint(),
    };
    let (endpoint, what) = match (&args.endpoint, &proxy, &server) {
        (Some(e), _, _) => (e.clone(), "external endpoint"),
        (None, Some(p), _) => (
            format!(
                "http://{}",
                match api {
                    Api::Grpc => p.grpc_addr,
                    Api::Json => p.http_addr,
                }
            ),
            "in-process keyfall-dax in front of an in-process keyfall",
        ),
        (None, None, Some(s)) => (server_endpoint(s), "in-process keyfall"),
        (None, None, None) => anyhow::bail!("no endpoint"),
    };
    let mut target = Target::connect(api, &endpoint, &key, &secret, &args.table).await;
    if api == Api::Json && args.json_client == JsonClient::Raw {
        target.raw = Some(crate::raw_json::RawJson::new(&endpoint, &key, &secret)?);
    }
    target.lean_reads = api == Api::Grpc && args.grpc_client == GrpcClient::Lean;
    // Table creation and load skip the proxy.
    let control = match (&server, &proxy) {
        (Some(s), Some(_)) => {
            Target::connect(api, &server_endpoint(s), &key, &secret, &args.table).await
        }
        _ => target.clone(),
    };
    let keys = Arc::new(Keyspace::new(args.records));
    let values = Arc::new(Values::new(args.field_bytes, args.fields));
    println!(
        "keyfall-bench ycsb: {} API -> {what} ({endpoint}); table {}, {} records of {} bytes in {} fields, {} buckets; concurrency {c}, {secs}s per workload",
        api.name(),
        args.table,
        args.records,
        args.field_bytes,
        args.fields,
        keys.buckets
    );

    // Floors, before anything is written.
    let measure_floor = || async {
        match api {
            Api::Grpc => floor::grpc(&key, &secret, c, floor_secs).await,
            Api::Json => floor::json(&key, &secret, c, floor_secs, args.json_client).await,
        }
    };
    let floor = measure_floor().await?;
    let mut references = Vec::new();
    if let Client::Grpc { channel, .. } = &target.client {
        // The target's own empty call, where it has one (Keyfall's Diagnostics service).
        let probe = DiagnosticsClient::new(channel.clone())
            .echo(pb::EchoRequest::default())
            .await;
        if probe.is_ok() {
            references
                .push(floor::echo_load("target: grpc Echo", channel.clone(), c, floor_secs).await?);
        }
    }
    println!(
        "\nfloor ({} API, concurrency {c}, {floor_secs}s):",
        api.name()
    );
    let floor_rows: Vec<&Report> = std::iter::once(&floor).chain(&references).collect();
    print_table(&floor_rows, None);

    let created = control.create_table().await?;
    let load_json = if args.no_load {
        println!(
            "\nload skipped: table {} {}",
            args.table,
            if created {
                "was just created and is empty"
            } else {
                "exists"
            }
        );
        serde_json::Value::Null
    } else {
        let took = load(&control, &keys, &values, c).await?;
        let rate = args.records as f64 / took.as_secs_f64();
        println!(
            "\nloaded {} records in {took:.2?} ({rate:.0} records/s, BatchWriteItem of {LOAD_BATCH})",
            args.records
        );
        serde_json::json!({
            "records": args.records,
            "seconds": took.as_secs_f64(),
            "records_per_sec": rate,
        })
    };

    if proxy.is_some() {
        // keyfall-dax's figures are for cache hits: read every record through it once.
        let took = warm(&target, &keys, c).await?;
        println!(
            "\nwarmed keyfall-dax's cache: {} reads in {took:.2?}",
            keys.records
        );
    }

    let mut workloads_json = Vec::new();
    for &w in &args.workload {
        let distribution = args.distribution.unwrap_or(w.default_distribution());
        let mix = w.mix();
        let workers = Arc::new(Workers {
            target: target.clone(),
            keys: keys.clone(),
            values: values.clone(),
            chooser: Chooser::new(distribution, &keys)?,
            mix,
            max_scan: args.max_scan_length,
        });
        let label = format!("workload {}", w.letter());
        let mix_text = mix
            .iter()
            .map(|(op, p)| format!("{p}% {}", op.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let names: Vec<&'static str> = mix.iter().map(|(op, _)| op.name()).collect();
        let mut rounds_json = Vec::new();
        let mut round_ratios = Vec::new();
        for round in 1..=args.rounds {
            let round_floor = match round {
                1 => None,
                _ => Some(measure_floor().await?),
            };
            let floor = round_floor.as_ref().unwrap_or(&floor);
            let workers = workers.clone();
            let run = run_workers(&label, mix.len(), c, secs, move |_, _| {
                let (kind, plan) = workers.plan(&mut rand::rng());
                let workers = workers.clone();
                async move { Ok((kind, workers.execute(plan).await?)) }
            })
            .await?;
            let reports = run.reports(&names);
            let total = Report::merged("TOTAL", &reports);
            let of_rounds = match args.rounds {
                1 => String::new(),
                n => format!(" (round {round} of {n})"),
            };
            println!(
                "\nworkload {}{of_rounds} ({mix_text}; {} keys), {} API, concurrency {c}, {secs}s; ratios against {}:",
                w.letter(),
                distribution.name(),
                api.name(),
                floor.name
            );
            if round_floor.is_some() {
                print_table(&[floor], None);
            }
            let rows: Vec<&Report> = reports.iter().chain([&total]).collect();
            print_table(&rows, Some(floor));
            round_ratios.push(total.vs(floor));
            let operations: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut v = r.json();
                    v["vs_floor"] = r.vs(floor).json();
                    v
                })
                .collect();
            let (ops, total_json) = operations.split_at(operations.len() - 1);
            rounds_json.push(serde_json::json!({
                "floor": floor_json(floor, "floor", api),
                "operations": ops,
                "total": total_json.first(),
            }));
        }
        let median = Ratios::median(&round_ratios);
        if args.rounds > 1 {
            println!(
                "\nworkload {}: median over {} rounds of TOTAL against each round's floor: ops/s÷floor {:.3}, p50÷floor {:.2}, p99÷floor {:.2}",
                w.letter(),
                args.rounds,
                median.ops_per_sec,
                median.p50,
                median.p99
            );
        }
        // The first round's figures stay where a single run puts them.
        let first = rounds_json.first().cloned().unwrap_or_default();
        workloads_json.push(serde_json::json!({
            "workload": w.letter().to_string(),
            "distribution": distribution.name(),
            "mix": mix.iter().map(|(op, p)| (op.name().to_string(), serde_json::json!(p))).collect::<serde_json::Map<_, _>>(),
            "operations": first["operations"],
            "total": first["total"],
            "rounds": rounds_json,
            "median_total_vs_floor": median.json(),
        }));
    }

    if let Some(path) = &args.json {
        let (commit, dirty) = git_commit();
        let mut floors = vec![floor_json(&floor, "floor", api)];
        floors.extend(references.iter().map(|r| floor_json(r, "reference", api)));
        let doc = serde_json::json!({
            "tool": "keyfall-bench ycsb",
            "version": env!("CARGO_PKG_VERSION"),
            "started_unix": started,
            "git_commit": commit,
            "git_dirty": dirty,
            "machine": machine(),
            "target": {
                "api": api.name(),
                "endpoint": endpoint,
                "kind": what,
                "buckets": keys.buckets,
            },
            "args": &args,
            "floors": floors,
            "load": load_json,
            "workloads": workloads_json,
        });
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", path.display());
    }
    drop(proxy);
    if let Some(server) = server {
        server.stop().await;
    }
    Ok(())
}
