//! The catalog: every table's definition, persisted in the `_catalog` keyspace (one JSON
//! record per table) and cached in memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use keyfall_types::command::Access;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::throughput::{CapacityLimits, Cause};

use crate::error::{Error, Result};
use crate::model::{AttributeValue, Item, KeySchema, ScalarType};
use crate::storage::{KeyRange, Op, Snapshot, Storage};

pub const CATALOG_KEYSPACE: &str = "_catalog";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub fn name(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub name: String,
    pub key_schema: KeySchema,
    pub projection_type: String,
    pub non_key_attributes: Option<Vec<String>>,
    pub read_capacity: i64,
    pub write_capacity: i64,
    /// Storage keyspace of the index entries.
    #[serde(default)]
    pub keyspace: String,
    /// A GSI added by UpdateTable is CREATING (backfilling) until every existing item is in it.
    #[serde(default)]
    pub creating: bool,
    #[serde(default)]
    pub global: bool,
    /// An on-demand GSI's `OnDemandThroughput` maxima.
    #[serde(default)]
    pub on_demand_max_read: Option<i64>,
    #[serde(default)]
    pub on_demand_max_write: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamMeta {
    pub view_type: String,
    pub label: String,
    /// Storage keyspace of the stream's records, keyed by sequence number.
    #[serde(default)]
    pub keyspace: String,
    #[serde(default)]
    pub created_at: f64,
}

/// How long a disabled stream stays readable (DynamoDB: 24 hours).
pub const CLOSED_STREAM_LIFETIME_SECONDS: f64 = 24.0 * 3600.0;

/// A stream UpdateTable disabled: its shard is closed (no more records) and stays readable,
/// with its records kept in its keyspace, for [`CLOSED_STREAM_LIFETIME_SECONDS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedStream {
    pub stream: StreamMeta,
    pub closed_at: f64,
}

/// A table's definition. Serialized into the catalog, so fields are only ever added
/// (with `#[serde(default)]`), never renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    pub id: String,
    pub keyspace: String,
    pub key_schema: KeySchema,
    pub attribute_definitions: Vec<(String, ScalarType)>,
    pub billing_mode: BillingMode,
    pub read_capacity: i64,
    pub write_capacity: i64,
    pub created_at: f64,
    #[serde(default)]
    pub pay_per_request_since: Option<f64>,
    #[serde(default)]
    pub last_increase_at: Option<f64>,
    #[serde(default)]
    pub last_decrease_at: Option<f64>,
    #[serde(default)]
    pub local_indexes: Vec<IndexMeta>,
    #[serde(default)]
    pub global_indexes: Vec<IndexMeta>,
    #[serde(default)]
    pub stream: Option<StreamMeta>,
    /// Streams disabled in the last day, oldest first.
    #[serde(default)]
    pub closed_streams: Vec<ClosedStream>,
    #[serde(default)]
    pub sse_enabled: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub table_class: Option<String>,
    #[serde(default)]
    pub deletion_protection: bool,
    /// The TTL attribute when Time To Live is enabled.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// An on-demand table's `OnDemandThroughput` maxima.
    #[serde(default)]
    pub on_demand_max_read: Option<i64>,
    #[serde(default)]
    pub on_demand_max_write: Option<i64>,
    /// Decreases of provisioned throughput on the UTC day `decrease_day` (days since the
    /// epoch): DynamoDB limits them per day.
    #[serde(default)]
    pub decreases_today: i64,
    #[serde(default)]
    pub decrease_day: i64,
    /// Contributor Insights settings of the table and its GSIs.
    #[serde(default)]
    pub insights: Vec<super::insights::InsightsSetting>,
    /// When the table switched to on-demand in the last day (epoch seconds, oldest first):
    /// DynamoDB limits the switches.
    #[serde(default)]
    pub on_demand_switches: Vec<f64>,
    /// Point-in-time recovery, while enabled.
    #[serde(default)]
    pub pitr: Option<super::pitr::PitrMeta>,
    /// A restored table's origin while its items are being loaded: until then it is
    /// CREATING (item calls do not find it, DeleteTable refuses it).
    #[serde(default)]
    pub restore: Option<super::restore::RestoreMeta>,
    /// The import filling a table created by ImportTable (its id): CREATING until done.
    #[serde(default)]
    pub import: Option<String>,
    /// The table's data key, wrapped by a master key, when it is encrypted at rest.
    #[serde(default)]
    pub sse_key: Option<super::encryption::WrappedKey>,
}

/// Approximate size counters, as DynamoDB's ItemCount/TableSizeBytes are approximate.
/// Kept in memory, recounted from storage when the server opens.
#[derive(Debug, Default)]
pub struct TableStats {
    pub items: AtomicI64,
    pub bytes: AtomicI64,
    /// Capacity units consumed by requests since start, in thousandths.
    pub read_milli_units: std::sync::atomic::AtomicU64,
    pub write_milli_units: std::sync::atomic::AtomicU64,
    /// Requests refused for want of throughput (CloudWatch's ReadThrottleEvents and
    /// WriteThrottleEvents), by access (read, write) and by [`Cause`].
    pub throttles: [[std::sync::atomic::AtomicU64; 4]; 2],
}

impl TableStats {
    pub fn add(&self, items: i64, bytes: i64) {
        self.items.fetch_add(items, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Sets the counters outright (a restore counts what it loaded).
    pub fn set(&self, items: i64, bytes: i64) {
        self.items.store(items, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
    }

    /// One request refused for want of `access` throughput, by `cause`.
    pub fn throttled(&self, access: Access, cause: Cause) {
        self.throttle_counter(access, cause)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Requests refused for want of `access` throughput by `cause`, since start.
    pub fn throttles(&self, access: Access, cause: Cause) -> u64 {
        self.throttle_counter(access, cause).load(Ordering::Relaxed)
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "access is 0 or 1 and a cause's index is below Cause::ALL.len(), 4"
    )]
    fn throttle_counter(&self, access: Access, cause: Cause) -> &std::sync::atomic::AtomicU64 {
        &self.throttles[access as usize][cause.index()]
    }

    /// (read, write) units consumed since start.
    pub fn consumed(&self) -> (f64, f64) {
        let units =
            |milli: &std::sync::atomic::AtomicU64| milli.load(Ordering::Relaxed) as f64 / 1000.0;
        (
            units(&self.read_milli_units),
            units(&self.write_milli_units),
        )
    }

    pub fn consume(&self, read: f64, write: f64) {
        let milli = |units: f64| (units * 1000.0).round() as u64;
        self.read_milli_units
            .fetch_add(milli(read), Ordering::Relaxed);
        self.write_milli_units
            .fetch_add(milli(write), Ordering::Relaxed);
    }
}

#[derive(Debug)]
pub struct Table {
    pub meta: TableMeta,
    pub stats: Arc<TableStats>,
    /// The stream's sequence counter and subscribers' wake-up, shared across definitions.
    pub stream: Arc<super::streams::StreamState>,
    /// Item-collection sizes (tables with LSIs), shared across definitions.
    pub collections: Arc<super::collections::CollectionSizes>,
    /// The internal change feed, shared across definitions of this table (by id).
    pub changes: Arc<super::changes::ChangeHub>,
    /// Per-index counters, by index name.
    pub index_stats: BTreeMap<String, Arc<TableStats>>,
    /// Provisioned throughput's buckets, shared across definitions of this table (by id).
    pub throughput: Arc<super::throughput::Throughput>,
    /// Contributor Insights' sketches, shared across definitions of this table (by id).
    pub insights: Arc<super::insights::Insights>,
    /// The point-in-time-recovery log's clock, shared across definitions (by id).
    pub pitr: Arc<super::pitr::PitrState>,
}

impl Table {
    fn new(meta: TableMeta, previous: Option<&Table>, limits: Option<&CapacityLimits>) -> Table {
        let index_stats = meta
            .indexes()
            .map(|i| {
                let stats = previous
                    .and_then(|p| p.index_stats.get(&i.name).cloned())
                    .unwrap_or_default();
                (i.name.clone(), stats)
            })
            .collect();
        // A re-enabled stream is a new stream with its own sequence.
        let same_stream = |p: &&Table| {
            p.meta.stream.as_ref().map(|s| &s.keyspace) == meta.stream.as_ref().map(|s| &s.keyspace)
        };
        let throughput: Arc<super::throughput::Throughput> = previous
            .filter(|p| p.meta.id == meta.id)
            .map(|p| p.throughput.clone())
            .unwrap_or_default();
        throughput.provision(&meta, limits);
        let insights: Arc<super::insights::Insights> = previous
            .filter(|p| p.meta.id == meta.id)
            .map(|p| p.insights.clone())
            .unwrap_or_default();
        insights.configure(&meta);
        let pitr = previous
            .filter(|p| p.meta.id == meta.id)
            .map(|p| p.pitr.clone())
            .unwrap_or_default();
        Table {
            throughput,
            insights,
            pitr,
            stats: previous.map(|p| p.stats.clone()).unwrap_or_default(),
            stream: previous
                .filter(same_stream)
                .map(|p| p.stream.clone())
                .unwrap_or_default(),
            collections: previous.map(|p| p.collections.clone()).unwrap_or_default(),
            changes: previous
                .filter(|p| p.meta.id == meta.id)
                .map(|p| p.changes.clone())
                .unwrap_or_default(),
            meta,
            index_stats,
        }
    }

    pub fn index_stats(&self, name: &str) -> Option<&TableStats> {
        self.index_stats.get(name).map(|s| s.as_ref())
    }

    /// Counts a request refused by `cause` on the table (`None`) or its GSI `index`.
    pub fn throttled(&self, index: Option<&str>, access: Access, cause: Cause) {
        match index {
            None => self.stats.throttled(access, cause),
            Some(i) => {
                if let Some(stats) = self.index_stats(i) {
                    stats.throttled(access, cause);
                }
            }
        }
    }
}

impl TableMeta {
    /// The current stream, or else the one disabled last.
    pub fn latest_stream(&self) -> Option<&StreamMeta> {
        self.stream
            .as_ref()
            .or_else(|| self.closed_streams.last().map(|c| &c.stream))
    }

    /// The stream with this label, current or closed, and when it closed.
    pub fn stream_labelled(&self, label: &str) -> Option<(&StreamMeta, Option<f64>)> {
        match &self.stream {
            Some(s) if s.label == label => Some((s, None)),
            _ => self
                .closed_streams
                .iter()
                .find(|c| c.stream.label == label)
                .map(|c| (&c.stream, Some(c.closed_at))),
        }
    }

    /// Whether the item's TTL (epoch seconds, a Number) has passed. Expired items are
    /// invisible to every read and condition from that moment, before the sweeper deletes
    /// them (better than DynamoDB, which may return them for days).
    pub fn is_expired(&self, item: &Item) -> bool {
        let Some(attr) = &self.ttl_attribute else {
            return false;
        };
        match item.get(attr) {
            Some(AttributeValue::N(n)) => n
                .to_string()
                .parse::<f64>()
                .is_ok_and(|t| t <= super::now_epoch_seconds()),
            _ => false,
        }
    }

    /// The item as reads see it: `None` once expired.
    pub fn visible(&self, item: Option<Item>) -> Option<Item> {
        item.filter(|i| !self.is_expired(i))
    }

    /// Local then global secondary indexes.
    pub fn indexes(&self) -> impl Iterator<Item = &IndexMeta> {
        self.local_indexes.iter().chain(&self.global_indexes)
    }

    pub fn index(&self, name: &str) -> Option<&IndexMeta> {
        self.indexes().find(|i| i.name == name)
    }
}

/// What encrypts tables at rest: the key provider, and the ciphers the store seals the
/// registered keyspaces with. The catalog registers a table's keyspaces before it
/// publishes the definition that names them.
#[derive(Debug, Clone, Default)]
pub struct Encryption {
    pub ciphers: Arc<super::storage::encrypted::Ciphers>,
    pub keys: Option<Arc<dyn super::encryption::KeyProvider>>,
}

impl Encryption {
    /// The cipher of a table's data key.
    pub fn cipher(&self, meta: &TableMeta) -> Result<Option<Arc<super::encryption::Cipher>>> {
        let Some(wrapped) = &meta.sse_key else {
            return Ok(None);
        };
        let keys = self.keys.as_ref().ok_or_else(|| {
            Error::Internal(format!(
                "table {} is encrypted and no master key is configured",
                meta.name
            ))
        })?;
        super::encryption::cipher_of(keys.as_ref(), wrapped, &meta.id)
            .map(Some)
            .map_err(|e| Error::Internal(format!("table {}: {e}", meta.name)))
    }

    fn register(&self, meta: &TableMeta) -> Result<()> {
        if let Some(cipher) = self.cipher(meta)? {
            for keyspace in keyspaces_of(meta) {
                self.ciphers.register(keyspace, cipher.clone());
            }
        }
        Ok(())
    }

    fn unregister(&self, meta: &TableMeta) {
        for keyspace in keyspaces_of(meta) {
            self.ciphers.unregister(keyspace);
        }
    }
}

pub struct Catalog {
    pub encryption: Encryption,
    tables: RwLock<BTreeMap<String, Arc<Table>>>,
    /// What throughput is enforced with (`None`: `--capacity off`).
    limits: Option<CapacityLimits>,
}

impl Catalog {
    /// Loads the catalog. Counters start at zero: `recount` fills them in.
    pub fn load(
        store: &dyn Storage,
        limits: Option<CapacityLimits>,
        encryption: Encryption,
    ) -> Result<Catalog> {
        for system in [CATALOG_KEYSPACE, BOOKKEEPING[0], BOOKKEEPING[1]] {
            store.open_keyspace(system)?;
        }
        let mut tables = BTreeMap::new();
        for kv in store.range(CATALOG_KEYSPACE, KeyRange::all(), false)? {
            let (_, v) = kv?;
            let meta: TableMeta = serde_json::from_slice(&v)
                .map_err(|e| Error::Internal(format!("catalog record is corrupt: {e}")))?;
            for keyspace in keyspaces_of(&meta) {
                store.open_keyspace(keyspace)?;
            }
            encryption.register(&meta)?;
            let table = Table::new(meta, None, limits.as_ref());
            if let Some(stream) = &table.meta.stream {
                table.stream.recover(store, &stream.keyspace)?;
            }
            tables.insert(table.meta.name.clone(), Arc::new(table));
        }
        drop_orphans(store, &tables)?;
        Ok(Catalog {
            encryption,
            tables: RwLock::new(tables),
            limits,
        })
    }

    pub fn all(&self) -> Vec<Arc<Table>> {
        self.tables.read().values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Option<Arc<Table>> {
        self.tables.read().get(name).cloned()
    }

    pub fn names_after(&self, start: Option<&str>, limit: usize) -> (Vec<String>, bool) {
        let tables = self.tables.read();
        let mut iter = tables
            .keys()
            .filter(|n| start.is_none_or(|s| n.as_str() > s))
            .cloned();
        let names: Vec<String> = iter.by_ref().take(limit).collect();
        let more = iter.next().is_some();
        (names, more)
    }

    /// The one way an existing table's definition changes. Under the catalog's write lock
    /// the current definition is read, checked to be the table the caller meant (`id`: a
    /// table deleted and re-created under the same name is another table), changed by `f`,
    /// persisted and published; counters carry over. So a change never brings back a
    /// deleted table, and never undoes a change made since the caller last looked: each
    /// one starts from the definition it replaces.
    pub fn update<R>(
        &self,
        store: &dyn Storage,
        name: &str,
        id: &str,
        f: impl FnOnce(&mut TableMeta) -> Result<R>,
    ) -> Result<(Arc<Table>, R)> {
        let mut tables = self.tables.write();
        let current = tables
            .get(name)
            .filter(|t| t.meta.id == id)
            .cloned()
            .ok_or_else(|| table_not_found(name))?;
        let mut meta = current.meta.clone();
        let out = f(&mut meta)?;
        if meta.name != current.meta.name || meta.id != current.meta.id {
            return Err(Error::Internal("a table's name and id never change".into()));
        }
        self.encryption.register(&meta)?;
        persist(store, &meta)?;
        let table = Arc::new(Table::new(meta, Some(&current), self.limits.as_ref()));
        tables.insert(table.meta.name.clone(), table.clone());
        Ok((table, out))
    }

    /// Creates a table unless the name is taken; the check and insert are one step.
    pub fn create(&self, store: &dyn Storage, meta: TableMeta) -> Result<Arc<Table>> {
        let in_use = || Error::ResourceInUse(format!("Table already exists: {}", meta.name));
        if self.tables.read().contains_key(&meta.name) {
            return Err(in_use());
        }
        // Created before the lock is taken, so lookups never wait on it.
        for keyspace in keyspaces_of(&meta) {
            store.open_keyspace(keyspace)?;
        }
        let mut tables = self.tables.write();
        if tables.contains_key(&meta.name) {
            return Err(in_use());
        }
        self.encryption.register(&meta)?;
        persist(store, &meta)?;
        let table = Arc::new(Table::new(meta, None, self.limits.as_ref()));
        tables.insert(table.meta.name.clone(), table.clone());
        Ok(table)
    }

    pub fn remove(&self, store: &dyn Storage, name: &str) -> Result<Arc<Table>> {
        let table = {
            let mut tables = self.tables.write();
            let table = tables.remove(name).ok_or_else(|| table_not_found(name))?;
            store.apply(vec![Op::Delete {
                keyspace: CATALOG_KEYSPACE.into(),
                key: name.as_bytes().to_vec(),
            }])?;
            table
        };
        for keyspace in keyspaces_of(&table.meta) {
            store.drop_keyspace(keyspace)?;
        }
        self.encryption.unregister(&table.meta);
        Ok(table)
    }
}

pub fn table_not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!(
        "Requested resource not found: Table: {name} not found"
    ))
}

/// Adds each table's items as of `snapshot` to its counters. Run on a snapshot taken before
/// any write was served, so that writes (which add their own deltas) are counted once.
pub fn recount(snapshot: &dyn Snapshot, tables: &[Arc<Table>]) {
    // A table being restored is counted by its restore when it finishes.
    for table in tables
        .iter()
        .filter(|t| t.meta.restore.is_none() && t.meta.import.is_none())
    {
        count_into(snapshot, &table.meta.keyspace, &table.stats);
        for index in table.meta.indexes() {
            if let Some(stats) = table.index_stats(&index.name) {
                count_into(snapshot, &index.keyspace, stats);
            }
        }
    }
}

fn count_into(snapshot: &dyn Snapshot, keyspace: &str, stats: &TableStats) {
    let Ok(iter) = snapshot.range(keyspace, KeyRange::all(), false) else {
        return;
    };
    let (mut items, mut bytes) = (0i64, 0i64);
    for (_, v) in iter.flatten() {
        items += 1;
        bytes += crate::model::codec::decode_item(&v)
            .map(|i| crate::model::item_size(&i) as i64)
            .unwrap_or(0);
    }
    stats.add(items, bytes);
}

/// Opens every keyspace a definition names (a no-op for those already open) and writes
/// its catalog record: the definition is published only once its data has a home.
fn persist(store: &dyn Storage, meta: &TableMeta) -> Result<()> {
    for keyspace in keyspaces_of(meta) {
        store.open_keyspace(keyspace)?;
    }
    let record = serde_json::to_vec(meta).map_err(|e| Error::Internal(e.to_string()))?;
    store.apply(vec![Op::Put {
        keyspace: CATALOG_KEYSPACE.into(),
        key: meta.name.as_bytes().to_vec(),
        value: record,
    }])?;
    Ok(())
}

/// Keyspaces keyed by the name of a table's keyspace: the stream high-water marks and the
/// backfill progress. Opened with the catalog; entries of vanished keyspaces are dropped.
const BOOKKEEPING: [&str; 2] = [
    super::streams::STREAM_MARKS_KEYSPACE,
    super::tables::BACKFILL_KEYSPACE,
];

/// The storage keyspaces a table definition owns.
fn keyspaces_of(meta: &TableMeta) -> impl Iterator<Item = &str> {
    std::iter::once(meta.keyspace.as_str())
        .chain(meta.indexes().map(|i| i.keyspace.as_str()))
        .chain(meta.stream.as_ref().map(|s| s.keyspace.as_str()))
        .chain(meta.pitr.as_ref().map(|p| p.keyspace.as_str()))
        .chain(
            meta.closed_streams
                .iter()
                .map(|c| c.stream.keyspace.as_str()),
        )
}

/// Drops table, index and stream keyspaces that no definition references, with their
/// bookkeeping entries. DeleteTable removes the definition first and the data after, and
/// CreateTable/UpdateTable open keyspaces before publishing: a crash in between leaves data
/// nothing can reach, reclaimed here when the server next opens.
fn drop_orphans(store: &dyn Storage, tables: &BTreeMap<String, Arc<Table>>) -> Result<()> {
    let referenced: std::collections::HashSet<&str> = tables
        .values()
        .flat_map(|t| keyspaces_of(&t.meta))
        .collect();
    let owned_by_a_table =
        |name: &str| ["t-", "i-", "s-", "p-"].iter().any(|p| name.starts_with(p));
    for name in store.keyspace_names() {
        if owned_by_a_table(&name) && !referenced.contains(name.as_str()) {
            tracing::warn!(keyspace = %name, "dropping a keyspace no table references (left by an interrupted table change)");
            store.drop_keyspace(&name)?;
        }
    }
    for marks in BOOKKEEPING {
        let mut stale = Vec::new();
        for kv in store.range(marks, KeyRange::all(), false)? {
            let (k, _) = kv?;
            if !std::str::from_utf8(&k).is_ok_and(|n| referenced.contains(n)) {
                stale.push(Op::Delete {
                    keyspace: marks.into(),
                    key: k,
                });
            }
        }
        if !stale.is_empty() {
            store.apply(stale)?;
        }
    }
    Ok(())
}
