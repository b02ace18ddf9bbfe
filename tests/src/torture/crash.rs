//! Crash cycles: a real `keyfall-server` under concurrent writers, killed with SIGKILL at a
//! random moment, restarted, and checked against a ledger of what it acknowledged.
//!
//! Each writer owns one partition of the `ledger` table (puts, updates that move items
//! between GSI partitions and LSI positions, deletes, BatchWriteItem) and one counter of
//! `counters` (conditional increments), and all of them move money between the ten
//! accounts of `bank` with TransactWriteItems. After every restart:
//! - every item is in a state the ledger allows: its last acknowledged state, or the state
//!   of a write still unanswered when the server died (never anything else, so nothing
//!   acknowledged is lost and nothing unwritten appears);
//! - each counter holds its last acknowledged value, or one more if an increment was in
//!   flight, and its stream holds every value from 1 to it, once each, in order;
//! - the bank's total is unchanged (no transaction half-applied);
//! - the GSI and the LSI hold exactly the base table's items (entry for entry), and
//!   DescribeTable's ItemCount is the scan's count.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, Projection, ProjectionType, PutRequest, ScalarAttributeType,
    StreamSpecification, StreamViewType, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{harness, Failure, Server};

/// What a crash run does.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    pub server_bin: PathBuf,
    /// Kill-restart-verify cycles.
    pub cycles: usize,
    /// Concurrent writers.
    pub writers: usize,
    /// How long the writers run before the kill: uniformly in this range.
    pub run_for: (Duration, Duration),
    /// Run the server with `--durability fsync`.
    pub fsync: bool,
    pub seed: u64,
    /// Where the data dir goes (a temporary dir when `None`).
    pub data_dir: Option<PathBuf>,
    /// The checker's self-test: before the last verification, lose one acknowledged item
    /// and one transfer's credit behind the ledger's back; the run must then fail.
    pub sabotage: bool,
}

/// What a run checked.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CrashReport {
    pub cycles: usize,
    /// Writes the server acknowledged (puts, updates, deletes, batch items, increments,
    /// transfers).
    pub acknowledged: u64,
    /// Writes whose answer never came (in flight at a kill), resolved by the checks.
    pub unanswered: u64,
    /// Item states checked against the ledger, over all restarts.
    pub items_checked: u64,
    /// Index entries compared with their base items.
    pub index_entries_checked: u64,
    /// Stream records checked for order and uniqueness.
    pub stream_records_checked: u64,
    pub transfers_acknowledged: u64,
    pub elapsed_secs: f64,
}

const ACCOUNTS: usize = 10;
const OPENING_BALANCE: i64 = 1000;
const GROUPS: u32 = 4;

/// An item of the ledger table as the harness sees it: absent, or its `v` and `g`.
type State = Option<(i64, String)>;

/// What one writer knows of its partition and counter.
#[derive(Default)]
struct Book {
    /// Per item id: the last acknowledged state, and the states of writes sent since
    /// without an answer.
    items: BTreeMap<String, (State, Vec<State>)>,
    counter: u64,
    counter_pending: bool,
}

#[derive(Default)]
struct Tally {
    acknowledged: AtomicU64,
    unanswered: AtomicU64,
    transfers: AtomicU64,
}

/// An error that proves the write did not happen (the server refused it), as opposed to
/// one that leaves it unknown (the connection died, a timeout, a server error).
fn refused<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    match e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default().to_string();
            let refusal = matches!(
                code.as_str(),
                "ConditionalCheckFailedException"
                    | "TransactionCanceledException"
                    | "TransactionConflictException"
                    | "ValidationException"
                    | "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
            );
            refusal.then_some(code)
        }
        _ => None,
    }
}

fn n(v: impl ToString) -> Av {
    Av::N(v.to_string())
}

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

pub(crate) fn key_element(name: &str, kt: KeyType) -> Result<KeySchemaElement, Failure> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kt)
        .build()
        .map_err(harness("key schema"))
}

pub(crate) fn attribute(
    name: &str,
    t: ScalarAttributeType,
) -> Result<AttributeDefinition, Failure> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .map_err(harness("attribute"))
}

async fn create_tables(db: &Client) -> Result<(), Failure> {
    let all = || {
        Projection::builder()
            .projection_type(ProjectionType::All)
            .build()
    };
    db.create_table()
        .table_name("ledger")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("p", KeyType::Hash)?)
        .key_schema(key_element("id", KeyType::Range)?)
        .attribute_definitions(attribute("p", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("id", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("g", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("v", ScalarAttributeType::N)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byG")
                .key_schema(key_element("g", KeyType::Hash)?)
                .key_schema(key_element("id", KeyType::Range)?)
                .projection(all())
                .build()
                .map_err(harness("gsi"))?,
        )
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("byV")
                .key_schema(key_element("p", KeyType::Hash)?)
                .key_schema(key_element("v", KeyType::Range)?)
                .projection(all())
                .build()
                .map_err(harness("lsi"))?,
        )
        .send()
        .await
        .map_err(harness("create ledger"))?;
    db.create_table()
        .table_name("counters")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("c", KeyType::Hash)?)
        .attribute_definitions(attribute("c", ScalarAttributeType::S)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(harness("stream"))?,
        )
        .send()
        .await
        .map_err(harness("create counters"))?;
    db.create_table()
        .table_name("bank")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("a", KeyType::Hash)?)
        .attribute_definitions(attribute("a", ScalarAttributeType::S)?)
        .send()
        .await
        .map_err(harness("create bank"))?;
    for a in 0..ACCOUNTS {
        db.put_item()
            .table_name("bank")
            .item("a", s(format!("acct{a}")))
            .item("bal", n(OPENING_BALANCE))
            .send()
            .await
            .map_err(harness("open an account"))?;
    }
    Ok(())
}

/// The book, even if a writer panicked holding it (its entries are still the ledger).
fn lock(b: &Mutex<Book>) -> std::sync::MutexGuard<'_, Book> {
    b.lock().unwrap_or_else(|e| e.into_inner())
}

/// One writer until `stop`: a random mix of the ledger's writes, its counter's increments
/// and transfers, recording every acknowledgement and every unanswered write.
async fn writer(
    db: Client,
    me: usize,
    book: Arc<Mutex<Book>>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    seed: u64,
    violations: Arc<Mutex<Vec<String>>>,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let p = format!("w{me}");
    while !stop.load(Ordering::Relaxed) {
        let seq: i64 = rng.random_range(0..i64::MAX / 2);
        let group = format!("g{}", rng.random_range(0..GROUPS));
        // An existing item of mine, with no write of it unanswered.
        let existing = {
            let b = lock(&book);
            let settled: Vec<String> = b
                .items
                .iter()
                .filter(|(_, (acked, pending))| acked.is_some() && pending.is_empty())
                .map(|(id, _)| id.clone())
                .collect();
            (!settled.is_empty()).then(|| settled[rng.random_range(0..settled.len())].clone())
        };
        let choice = rng.random_range(0..100);
        // Records a write of `id` to `state` before it is sent, and its outcome after.
        macro_rules! record {
            ($id:expr, $state:expr, $send:expr) => {{
                let (id, state): (String, State) = ($id, $state);
                lock(&book)
                    .items
                    .entry(id.clone())
                    .or_default()
                    .1
                    .push(state.clone());
                let result = $send.await;
                let mut b = lock(&book);
                let entry = b.items.entry(id).or_default();
                match &result {
                    Ok(_) => {
                        entry.0 = state;
                        entry.1.clear();
                        tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if refused(e).is_some() => {
                        entry.1.pop();
                    }
                    Err(_) => {
                        tally.unanswered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                result.is_ok()
            }};
        }
        let ok = match (choice, existing) {
            (0..=29, _) | (30..=54, None) => {
                let id = format!("{seq:019}");
                record!(
                    id.clone(),
                    Some((seq, group.clone())),
                    db.put_item()
                        .table_name("ledger")
                        .item("p", s(&p))
                        .item("id", s(id))
                        .item("v", n(seq))
                        .item("g", s(group))
                        .send()
                )
            }
            (30..=44, Some(id)) => record!(
                id.clone(),
                Some((seq, group.clone())),
                db.update_item()
                    .table_name("ledger")
                    .key("p", s(&p))
                    .key("id", s(id))
                    .update_expression("SET v = :v, g = :g")
                    .expression_attribute_values(":v", n(seq))
                    .expression_attribute_values(":g", s(group))
                    .send()
            ),
            (45..=54, Some(id)) => record!(
                id.clone(),
                None,
                db.delete_item()
                    .table_name("ledger")
                    .key("p", s(&p))
                    .key("id", s(id))
                    .send()
            ),
            (55..=64, _) => {
                // A batch of new items: each processed one is acknowledged, unprocessed
                // ones were not written, and on a failed call all are unanswered.
                let items: Vec<(String, i64, String)> = (0..5)
                    .map(|k| {
                        let v = seq + k;
                        (format!("{v:019}"), v, format!("g{}", v % i64::from(GROUPS)))
                    })
                    .collect();
                {
                    let mut b = lock(&book);
                    for (id, v, g) in &items {
                        b.items
                            .entry(id.clone())
                            .or_default()
                            .1
                            .push(Some((*v, g.clone())));
                    }
                }
                let mut request = db.batch_write_item();
                let mut writes = Vec::new();
                for (id, v, g) in &items {
                    let put = PutRequest::builder()
                        .item("p", s(&p))
                        .item("id", s(id))
                        .item("v", n(v))
                        .item("g", s(g))
                        .build();
                    match put {
                        Ok(put) => writes.push(WriteRequest::builder().put_request(put).build()),
                        Err(_) => return,
                    }
                }
                request = request.request_items("ledger", writes);
                let result = request.send().await;
                let mut b = lock(&book);
                match result {
                    Ok(out) => {
                        let unprocessed: BTreeSet<String> = out
                            .unprocessed_items()
                            .map(|m| m.values().flatten().collect::<Vec<_>>())
                            .unwrap_or_default()
                            .into_iter()
                            .filter_map(|w| {
                                match w.put_request().and_then(|p| p.item().get("id")) {
                                    Some(Av::S(id)) => Some(id.clone()),
                                    _ => None,
                                }
                            })
                            .collect();
                        for (id, v, g) in items {
                            let entry = b.items.entry(id.clone()).or_default();
                            if unprocessed.contains(&id) {
                                entry.1.pop();
                            } else {
                                entry.0 = Some((v, g));
                                entry.1.clear();
                                tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        true
                    }
                    Err(e) if refused(&e).is_some() => {
                        for (id, _, _) in items {
                            b.items.entry(id).or_default().1.pop();
                        }
                        true
                    }
                    Err(_) => {
                        tally.unanswered.fetch_add(5, Ordering::Relaxed);
                        false
                    }
                }
            }
            (65..=84, _) => {
                let expected = {
                    let mut b = lock(&book);
                    b.counter_pending = true;
                    b.counter
                };
                let mut update = db
                    .update_item()
                    .table_name("counters")
                    .key("c", s(&p))
                    .update_expression("SET n = if_not_exists(n, :zero) + :one")
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":one", n(1));
                update = if expected == 0 {
                    update.condition_expression("attribute_not_exists(n)")
                } else {
                    update
                        .condition_expression("n = :expected")
                        .expression_attribute_values(":expected", n(expected))
                };
                let result = update.send().await;
                let mut b = lock(&book);
                match result {
                    Ok(_) => {
                        b.counter = expected + 1;
                        b.counter_pending = false;
                        tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(e) if refused(&e).is_some() => {
                        // The ledger said `expected`, the server disagreed: an
                        // acknowledged increment was lost, or one appeared.
                        violations
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!(
                                "counter {p}: the increment from {expected} was refused ({:?})",
                                refused(&e)
                            ));
                        b.counter_pending = false;
                        false
                    }
                    Err(_) => {
                        tally.unanswered.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                }
            }
            _ => {
                let from = rng.random_range(0..ACCOUNTS);
                let to = (from + rng.random_range(1..ACCOUNTS)) % ACCOUNTS;
                let amount = rng.random_range(1..50);
                let debit = Update::builder()
                    .table_name("bank")
                    .key("a", s(format!("acct{from}")))
                    .update_expression("SET bal = bal - :m")
                    .condition_expression("bal >= :m")
                    .expression_attribute_values(":m", n(amount))
                    .build();
                let credit = Update::builder()
                    .table_name("bank")
                    .key("a", s(format!("acct{to}")))
                    .update_expression("SET bal = bal + :m")
                    .expression_attribute_values(":m", n(amount))
                    .build();
                let (Ok(debit), Ok(credit)) = (debit, credit) else {
                    return;
                };
                let result = db
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().update(debit).build())
                    .transact_items(TransactWriteItem::builder().update(credit).build())
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        tally.transfers.fetch_add(1, Ordering::Relaxed);
                        tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(e) if refused(&e).is_some() => true,
                    Err(_) => {
                        tally.unanswered.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                }
            }
        };
        if !ok && stop.load(Ordering::Relaxed) {
            return;
        }
        if !ok {
            // The server is going away, or busy: do not spin.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Every item of a table (or index), read consistently when `consistent`.
async fn scan_all(
    db: &Client,
    table: &str,
    index: Option<&str>,
    consistent: bool,
) -> Result<Vec<HashMap<String, Av>>, Failure> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name(table)
            .set_index_name(index.map(str::to_string))
            .consistent_read(consistent)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(harness("scan"))?;
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

fn text(item: &HashMap<String, Av>, name: &str) -> Option<String> {
    match item.get(name) {
        Some(Av::S(v)) => Some(v.clone()),
        Some(Av::N(v)) => Some(v.clone()),
        _ => None,
    }
}

/// The stream records of `counters`, in commit order: each counter's successive values.
async fn counter_stream(port: u16) -> Result<BTreeMap<String, Vec<u64>>, Failure> {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "torture", "torture", None, None, "t",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(config);
    let arn = streams
        .list_streams()
        .table_name("counters")
        .send()
        .await
        .map_err(harness("list streams"))?
        .streams
        .unwrap_or_default()
        .into_iter()
        .find_map(|s| s.stream_arn)
        .ok_or_else(|| Failure::Harness("counters has no stream".into()))?;
    let mut shards = Vec::new();
    let mut start = None;
    loop {
        let d = streams
            .describe_stream()
            .stream_arn(&arn)
            .set_exclusive_start_shard_id(start)
            .send()
            .await
            .map_err(harness("describe stream"))?
            .stream_description
            .ok_or_else(|| Failure::Harness("no stream description".into()))?;
        start = d.last_evaluated_shard_id.clone();
        shards.extend(d.shards.unwrap_or_default());
        if start.is_none() {
            break;
        }
    }
    // Parents before children: a child shard's records follow its parent's.
    let mut ordered = Vec::new();
    let mut remaining = shards;
    while !remaining.is_empty() {
        let known: BTreeSet<String> = ordered
            .iter()
            .filter_map(|s: &aws_sdk_dynamodbstreams::types::Shard| s.shard_id.clone())
            .collect();
        let all: BTreeSet<String> = remaining
            .iter()
            .filter_map(|s| s.shard_id.clone())
            .collect();
        let (ready, rest): (Vec<_>, Vec<_>) = remaining.into_iter().partition(|s| {
            s.parent_shard_id
                .as_ref()
                .is_none_or(|p| known.contains(p) || !all.contains(p))
        });
        if ready.is_empty() {
            return Err(Failure::Harness("stream shards form a cycle".into()));
        }
        ordered.extend(ready);
        remaining = rest;
    }
    let mut values: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for shard in ordered {
        let Some(id) = shard.shard_id else { continue };
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(id)
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(harness("shard iterator"))?
            .shard_iterator;
        while let Some(it) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .map_err(harness("get records"))?;
            let records = page.records.unwrap_or_default();
            let empty = records.is_empty();
            for r in records {
                let Some(image) = r.dynamodb.and_then(|d| d.new_image) else {
                    continue;
                };
                let c = match image.get("c") {
                    Some(aws_sdk_dynamodbstreams::types::AttributeValue::S(c)) => c.clone(),
                    _ => continue,
                };
                let v = match image.get("n") {
                    Some(aws_sdk_dynamodbstreams::types::AttributeValue::N(v)) => {
                        v.parse().unwrap_or(0)
                    }
                    _ => continue,
                };
                values.entry(c).or_default().push(v);
            }
            // An open shard answers an iterator even at its end: stop when it is drained.
            iterator = if empty {
                None
            } else {
                page.next_shard_iterator
            };
        }
    }
    Ok(values)
}

/// Checks the restarted server against the ledger; then makes what it found the ledger's
/// acknowledged state (the unanswered writes are decided now).
async fn verify(
    db: &Client,
    port: u16,
    books: &[Arc<Mutex<Book>>],
    report: &mut CrashReport,
) -> Result<(), Failure> {
    let mut violations = Vec::new();
    // The ledger table, each writer's partition against its book.
    let base = scan_all(db, "ledger", None, true).await?;
    let mut stored: BTreeMap<(String, String), (i64, String)> = BTreeMap::new();
    for item in &base {
        let (Some(p), Some(id), Some(v), Some(g)) = (
            text(item, "p"),
            text(item, "id"),
            text(item, "v").and_then(|v| v.parse().ok()),
            text(item, "g"),
        ) else {
            violations.push(format!("malformed item {item:?}"));
            continue;
        };
        stored.insert((p, id), (v, g));
    }
    for (w, book) in books.iter().enumerate() {
        let p = format!("w{w}");
        let mut b = book.lock().unwrap_or_else(|e| e.into_inner());
        for (id, (acked, pending)) in b.items.iter_mut() {
            let actual: State = stored.get(&(p.clone(), id.clone())).cloned();
            if actual != *acked && !pending.contains(&actual) {
                violations.push(format!(
                    "{p}/{id}: stored {actual:?}, acknowledged {acked:?}, unanswered {pending:?}"
                ));
            }
            *acked = actual;
            pending.clear();
            report.items_checked += 1;
        }
        for (sp, id) in stored.keys() {
            if *sp == p && !b.items.contains_key(id) {
                violations.push(format!("{p}/{id}: stored but never written"));
            }
        }
    }
    // The indexes hold exactly the base table's items.
    let base_entries: BTreeSet<(String, String, String, String)> = stored
        .iter()
        .map(|((p, id), (v, g))| (p.clone(), id.clone(), v.to_string(), g.clone()))
        .collect();
    for (index, consistent) in [("byG", false), ("byV", true)] {
        let entries: BTreeSet<(String, String, String, String)> =
            scan_all(db, "ledger", Some(index), consistent)
                .await?
                .iter()
                .filter_map(|i| Some((text(i, "p")?, text(i, "id")?, text(i, "v")?, text(i, "g")?)))
                .collect();
        report.index_entries_checked += entries.len() as u64;
        if entries != base_entries {
            let missing: Vec<_> = base_entries.difference(&entries).take(3).collect();
            let extra: Vec<_> = entries.difference(&base_entries).take(3).collect();
            violations.push(format!(
                "index {index}: {} entries for {} items; missing {missing:?}, extra {extra:?}",
                entries.len(),
                base_entries.len()
            ));
        }
    }
    let count = db
        .describe_table()
        .table_name("ledger")
        .send()
        .await
        .map_err(harness("describe ledger"))?
        .table
        .and_then(|t| t.item_count)
        .unwrap_or(-1);
    if count != base.len() as i64 {
        violations.push(format!("ItemCount {count}, scan {}", base.len()));
    }
    // Counters: the acknowledged value (or one more), and a stream of 1..=n.
    let counters: BTreeMap<String, u64> = scan_all(db, "counters", None, true)
        .await?
        .iter()
        .filter_map(|i| Some((text(i, "c")?, text(i, "n")?.parse().ok()?)))
        .collect();
    let stream = counter_stream(port).await?;
    for (w, book) in books.iter().enumerate() {
        let c = format!("w{w}");
        let mut b = book.lock().unwrap_or_else(|e| e.into_inner());
        let actual = counters.get(&c).copied().unwrap_or(0);
        if actual != b.counter && !(b.counter_pending && actual == b.counter + 1) {
            violations.push(format!(
                "counter {c}: stored {actual}, acknowledged {} (in flight: {})",
                b.counter, b.counter_pending
            ));
        }
        b.counter = actual;
        b.counter_pending = false;
        let seen = stream.get(&c).cloned().unwrap_or_default();
        report.stream_records_checked += seen.len() as u64;
        let want: Vec<u64> = (1..=actual).collect();
        if seen != want {
            violations.push(format!(
                "counter {c}: stream holds {} records ending {:?}, want 1..={actual}",
                seen.len(),
                seen.iter().rev().take(3).collect::<Vec<_>>()
            ));
        }
    }
    // The bank's total.
    let total: i64 = scan_all(db, "bank", None, true)
        .await?
        .iter()
        .filter_map(|i| text(i, "bal")?.parse::<i64>().ok())
        .sum();
    let expected = OPENING_BALANCE * ACCOUNTS as i64;
    if total != expected {
        violations.push(format!("bank total {total}, want {expected}"));
    }
    match violations.is_empty() {
        true => Ok(()),
        false => Err(Failure::Violation(violations.join("\n"))),
    }
}

/// Deletes an acknowledged item and takes money out of the bank, as a lost write and a
/// half-applied transfer would.
async fn sabotage(db: &Client, books: &[Arc<Mutex<Book>>]) -> Result<(), Failure> {
    let victim = books.iter().enumerate().find_map(|(w, b)| {
        lock(b)
            .items
            .iter()
            .find(|(_, (acked, pending))| acked.is_some() && pending.is_empty())
            .map(|(id, _)| (format!("w{w}"), id.clone()))
    });
    if let Some((p, id)) = victim {
        db.delete_item()
            .table_name("ledger")
            .key("p", s(p))
            .key("id", s(id))
            .send()
            .await
            .map_err(harness("sabotage"))?;
    }
    db.update_item()
        .table_name("bank")
        .key("a", s("acct0"))
        .update_expression("SET bal = bal - :one")
        .expression_attribute_values(":one", n(1))
        .send()
        .await
        .map_err(harness("sabotage"))?;
    Ok(())
}

/// Runs the crash cycles; the first violation ends the run.
pub async fn run(config: &CrashConfig) -> Result<CrashReport, Failure> {
    let started = Instant::now();
    let temp;
    let data_dir = match &config.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().map_err(harness("a temporary data dir"))?;
            temp.path().to_path_buf()
        }
    };
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut report = CrashReport::default();
    let books: Vec<Arc<Mutex<Book>>> = (0..config.writers)
        .map(|_| Arc::new(Mutex::new(Book::default())))
        .collect();
    let tally = Arc::new(Tally::default());
    let violations = Arc::new(Mutex::new(Vec::new()));
    let mut server = Server::start(&config.server_bin, &data_dir, config.fsync).await?;
    create_tables(&server.client()).await?;
    for cycle in 0..config.cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let db = server.client();
        let tasks: Vec<_> = books
            .iter()
            .enumerate()
            .map(|(w, book)| {
                tokio::spawn(writer(
                    db.clone(),
                    w,
                    book.clone(),
                    tally.clone(),
                    stop.clone(),
                    rng.random(),
                    violations.clone(),
                ))
            })
            .collect();
        let (lo, hi) = config.run_for;
        let run_for = lo + (hi.saturating_sub(lo)).mul_f64(rng.random_range(0.0..1.0));
        tokio::time::sleep(run_for).await;
        // SIGKILL with writes in flight, then let every writer see its call fail.
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.map_err(harness("a writer"))?;
        }
        let live = std::mem::take(&mut *violations.lock().unwrap_or_else(|e| e.into_inner()));
        if !live.is_empty() {
            return Err(Failure::Violation(format!(
                "cycle {cycle}, while running:\n{}",
                live.join("\n")
            )));
        }
        server = Server::start(&config.server_bin, &data_dir, config.fsync).await?;
        if config.sabotage && cycle + 1 == config.cycles {
            sabotage(&server.client(), &books).await?;
        }
        verify(&server.client(), server.http_port, &books, &mut report)
            .await
            .map_err(|e| match e {
                Failure::Violation(m) => {
                    Failure::Violation(format!("cycle {cycle}, after the restart:\n{m}"))
                }
                other => other,
            })?;
        report.cycles = cycle + 1;
    }
    server.kill();
    report.acknowledged = tally.acknowledged.load(Ordering::Relaxed);
    report.unanswered = tally.unanswered.load(Ordering::Relaxed);
    report.transfers_acknowledged = tally.transfers.load(Ordering::Relaxed);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}
