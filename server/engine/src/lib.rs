//! The engine: DynamoDB semantics over the storage interface. Both API adapters call the
//! same methods; nothing here knows about JSON or protobuf.
//!
//! Every method blocks (it calls storage): adapters run them through [`Engine::run`],
//! which moves the work to the engine's own threads (`pool`).
//!
//! This crate holds the engine and the storage interface below it (`storage`, with fjall
//! behind it). It names no wire format, no auth and no network type: the API layer above
//! (keyfall-server's handlers) decodes, authorizes and calls in.

/// The data model, expressions and errors live in `keyfall-types`; the engine names them
/// as `crate::model`, `crate::expr` and `crate::error`.
pub use keyfall_types::{error, expr, model};
pub mod storage;

mod admission;
mod autoscaling;
pub mod backup;
mod batch;
pub mod capacity;
pub mod catalog;
pub mod changes;
mod collections;
pub mod commit;
mod contributor_insights;
pub mod encryption;
pub mod export;
pub mod import;
mod indexes;
pub mod insights;
mod items;
mod kinesis;
mod observe;
mod paging;
mod partiql;
pub mod pitr;
mod pool;
mod query;
mod records;
pub mod restore;
pub use query::{bound_partition, key_condition_of};
pub mod stream_api;
pub mod streams;
pub mod subscription;
mod tables;
#[cfg(test)]
mod tests;
pub mod throughput;
mod transactions;
mod ttl;
/// The actions' inputs and outputs (in `keyfall-types`, shared with keyfall-dax).
pub use keyfall_types::types;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::storage::Storage;
use catalog::Catalog;
use keyfall_types::command::Access;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub region: String,
    pub account_id: String,
    /// DynamoDB's 10 GB item-collection limit for tables with LSIs (configurable for tests).
    pub item_collection_limit_bytes: u64,
    /// How long stream records are kept before trimming.
    pub stream_retention: std::time::Duration,
    /// How long a new table is CREATING (item calls on it are ResourceNotFound meanwhile).
    pub table_activation_delay: std::time::Duration,
    /// Threads running engine work (storage calls); at least one.
    pub threads: usize,
    /// Throughput is enforced (`--capacity on`); off, as DynamoDB Local, capacity is only
    /// counted.
    pub capacity: bool,
    /// The numbers it is enforced with, and DescribeLimits's quotas.
    pub limits: throughput::CapacityLimits,
    /// Where backups and point-in-time-recovery bases are written (empty: backups are
    /// refused).
    pub backup_dir: std::path::PathBuf,
    /// A PITR table takes a new base once its log since the last holds this many changes
    /// and as many as the table has items.
    pub pitr_base_every: u64,
    /// The export root: one folder per S3 bucket (empty: exports and imports are refused).
    pub export_dir: std::path::PathBuf,
    /// The shortest window of an incremental export (DynamoDB: 15 minutes).
    pub incremental_export_min_window: std::time::Duration,
    /// Wraps tables' data keys (encryption at rest); `None`: encrypted tables are refused.
    pub keys: Option<Arc<dyn encryption::KeyProvider>>,
}

/// One engine thread per core: engine work is CPU-bound while the data is cached, and
/// waits for fsync are kept off these threads.
pub fn default_engine_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            item_collection_limit_bytes: 10 << 30,
            stream_retention: std::time::Duration::from_secs(24 * 3600),
            table_activation_delay: std::time::Duration::ZERO,
            threads: default_engine_threads(),
            capacity: true,
            limits: throughput::CapacityLimits::default(),
            backup_dir: std::path::PathBuf::new(),
            pitr_base_every: 1_000_000,
            export_dir: std::path::PathBuf::new(),
            incremental_export_min_window: std::time::Duration::from_secs(15 * 60),
            keys: None,
        }
    }
}

/// Striped item locks: a conditional write holds its item's stripe across read, check and
/// write, which makes check-and-write atomic per item (and `ADD` lossless) without a
/// global lock.
const LOCK_STRIPES: usize = 1024;

pub struct Engine {
    store: Arc<dyn Storage>,
    catalog: Catalog,
    config: EngineConfig,
    item_locks: Box<[Mutex<()>; LOCK_STRIPES]>,
    /// Item writes hold it shared from reading the table definition to committing; index
    /// and table definition changes hold it exclusively, so no write commits with a
    /// definition older than the one a backfill or a drop relies on.
    schema_lock: RwLock<()>,
    sweep_cursors: ttl::SweepCursors,
    /// What the auto scaler has observed, and its activities.
    scaler: autoscaling::Scaler,
    /// Backups being written and restored.
    backups: backup::Running,
    pool: pool::WorkerPool,
    /// The engine itself, for background work (index backfills) started by a request.
    me: std::sync::Weak<Engine>,
    /// The HMAC key of shard iterators (`stream_api`), generated once, kept in storage.
    iterator_key: Vec<u8>,
}

/// Server secrets kept in storage: key name → bytes.
const SECRETS_KEYSPACE: &str = "_secrets";
const ITERATOR_KEY: &[u8] = b"shard-iterator-hmac";

/// The shard-iterator key stored in `store`, generated on first use (two v4 UUIDs from the
/// OS's random source: 244 random bits).
fn load_iterator_key(store: &dyn Storage) -> Result<Vec<u8>> {
    store.open_keyspace(SECRETS_KEYSPACE)?;
    if let Some(key) = store.get(SECRETS_KEYSPACE, ITERATOR_KEY)? {
        if key.len() == 32 {
            return Ok(key);
        }
    }
    let key: Vec<u8> = (0..2)
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .collect();
    store.apply(vec![crate::storage::Op::Put {
        keyspace: SECRETS_KEYSPACE.into(),
        key: ITERATOR_KEY.to_vec(),
        value: key.clone(),
    }])?;
    Ok(key)
}

impl Engine {
    pub fn open(store: Arc<dyn Storage>, config: EngineConfig) -> Result<Arc<Engine>> {
        // Encrypted tables' values are sealed and opened below everything else.
        let encryption = catalog::Encryption {
            ciphers: Arc::default(),
            keys: config.keys.clone(),
        };
        let store: Arc<dyn Storage> = Arc::new(storage::encrypted::EncryptedStore::new(
            store,
            encryption.ciphers.clone(),
        ));
        let catalog = Catalog::load(
            store.as_ref(),
            config.capacity.then_some(config.limits),
            encryption,
        )?;
        store.open_keyspace(transactions::TOKENS_KEYSPACE)?;
        store.open_keyspace(autoscaling::KEYSPACE)?;
        store.open_keyspace(backup::BACKUPS_KEYSPACE)?;
        store.open_keyspace(export::EXPORTS_KEYSPACE)?;
        store.open_keyspace(import::IMPORTS_KEYSPACE)?;
        Self::start_recount(store.clone(), catalog.all())?;
        let iterator_key = load_iterator_key(store.as_ref())?;
        let pool = pool::WorkerPool::start(config.threads)?;
        let engine = Arc::new_cyclic(|me| Engine {
            pool,
            store,
            catalog,
            config,
            item_locks: Box::new(std::array::from_fn(|_| Mutex::new(()))),
            schema_lock: RwLock::new(()),
            sweep_cursors: ttl::SweepCursors::default(),
            scaler: autoscaling::Scaler::default(),
            backups: backup::Running::default(),
            me: me.clone(),
            iterator_key,
        });
        engine.rewrap_keys()?;
        engine.resume_backfills()?;
        engine.drop_interrupted_backups()?;
        engine.drop_orphan_bases()?;
        engine.resume_restores()?;
        engine.resume_exports()?;
        engine.resume_imports()?;
        Ok(engine)
    }

    /// The HMAC key of shard iterators.
    pub(crate) fn iterator_key(&self) -> &[u8] {
        &self.iterator_key
    }

    /// Recounts ItemCount/TableSizeBytes in the background, so start-up does not wait for
    /// a scan of every table; returns once the snapshot it counts is taken.
    fn start_recount(store: Arc<dyn Storage>, tables: Vec<Arc<catalog::Table>>) -> Result<()> {
        let (taken, wait) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("keyfall-recount".into())
            .spawn(move || {
                let snapshot = store.snapshot();
                let _ = taken.send(());
                catalog::recount(snapshot.as_ref(), &tables);
            })
            .map_err(|e| Error::Internal(format!("cannot start the recount thread: {e}")))?;
        wait.recv()
            .map_err(|_| Error::Internal("the recount thread stopped early".into()))
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Runs blocking engine work on the engine's threads; answers once the writes it made
    /// are as durable as configured.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T> + Send + 'static,
    {
        let engine = self.clone();
        // The request's span follows it onto the engine thread, which records what the
        // request did on it (`observe`).
        let span = tracing::Span::current();
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.pool.submit(Box::new(move || {
            let _entered = span.enter();
            let out = observe::request(&span, || pool::deferring_syncs(|| f(&engine)));
            let _ = answer.send(out);
        }))?;
        let (out, pending) = answered
            .await
            .map_err(|_| Error::Internal("engine task failed".into()))?;
        if let Some(ticket) = pending {
            // Waiting for an fsync is not work: the blocking pool waits, the engine's
            // threads go on (and the next writers share the fsync).
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || store.wait_durable(ticket))
                .await
                .map_err(|e| Error::Internal(format!("fsync wait failed: {e}")))??;
        }
        out
    }

    /// Commits `ops`; the wait for an fsync is left to the running request when there is
    /// one (see `pool`).
    fn apply_ops(&self, ops: Vec<crate::storage::Op>) -> Result<()> {
        if let Some(ticket) = self.store.apply_unsynced(ops)? {
            if let Some(ticket) = pool::defer_sync(ticket) {
                self.store.wait_durable(ticket)?;
            }
        }
        Ok(())
    }

    fn lock_stripe(&self, keyspace: &str, key: &[u8]) -> usize {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(keyspace.as_bytes());
        h.update(key);
        (h.digest() % LOCK_STRIPES as u64) as usize
    }

    /// Locks taken together must be taken in ascending stripe order.
    #[allow(
        clippy::indexing_slicing,
        reason = "stripe % LOCK_STRIPES < LOCK_STRIPES, the array's length"
    )]
    fn lock_stripe_index(&self, stripe: usize) -> parking_lot::MutexGuard<'_, ()> {
        self.item_locks[stripe % LOCK_STRIPES].lock()
    }

    fn lock_item(&self, keyspace: &str, key: &[u8]) -> parking_lot::MutexGuard<'_, ()> {
        self.lock_stripe_index(self.lock_stripe(keyspace, key))
    }

    /// Every table's item count, size and consumed capacity, for metrics.
    pub fn table_figures(&self) -> Vec<TableFigures> {
        use std::sync::atomic::Ordering;
        self.catalog
            .all()
            .iter()
            .map(|t| {
                let (read_units, write_units) = t.stats.consumed();
                TableFigures {
                    name: t.meta.name.clone(),
                    items: t.stats.items.load(Ordering::Relaxed),
                    bytes: t.stats.bytes.load(Ordering::Relaxed),
                    read_units,
                    write_units,
                    capacity: capacity_figures(t),
                    contributors: contributor_figures(t),
                }
            })
            .collect()
    }

    /// Figures of the storage engine (journal, memtables, compactions), for metrics.
    pub fn storage_stats(&self) -> crate::storage::StorageStats {
        self.store.stats()
    }

    /// The storage the engine runs on, shared with the auth directory's system keyspace.
    pub fn store(&self) -> Arc<dyn Storage> {
        self.store.clone()
    }

    pub fn table_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            self.config.region, self.config.account_id, name
        )
    }
}

/// The provisioned throughput and throttle counts of a table and each of its GSIs.
fn capacity_figures(t: &catalog::Table) -> Vec<CapacityFigures> {
    let provisioned = t.meta.billing_mode == catalog::BillingMode::Provisioned;
    let figures = |index: &str, stats: &catalog::TableStats, rcu: i64, wcu: i64| CapacityFigures {
        index: index.to_string(),
        provisioned: provisioned.then_some((rcu, wcu)),
        consumed: stats.consumed(),
        throttles: [Access::Read, Access::Write]
            .into_iter()
            .flat_map(|access| {
                throughput::Cause::ALL
                    .into_iter()
                    .map(move |cause| (access, cause, stats.throttles(access, cause)))
            })
            .collect(),
    };
    let table = figures("", &t.stats, t.meta.read_capacity, t.meta.write_capacity);
    let indexes = t.meta.global_indexes.iter().filter_map(|i| {
        let stats = t.index_stats(&i.name)?;
        Some(figures(&i.name, stats, i.read_capacity, i.write_capacity))
    });
    std::iter::once(table).chain(indexes).collect()
}

/// A table's (`index` empty) or a GSI's throughput figures for `/metrics`.
#[derive(Debug, Clone)]
pub struct CapacityFigures {
    pub index: String,
    /// Provisioned (read, write) units per second; `None` on demand.
    pub provisioned: Option<(i64, i64)>,
    /// (read, write) units consumed since start: a table's include its indexes'.
    pub consumed: (f64, f64),
    /// Requests refused since start, by access and cause.
    pub throttles: Vec<(Access, throughput::Cause, u64)>,
}

/// One table's figures for `/metrics`.
#[derive(Debug, Clone)]
pub struct TableFigures {
    pub name: String,
    pub items: i64,
    pub bytes: i64,
    /// Capacity units consumed by requests since the server started.
    pub read_units: f64,
    pub write_units: f64,
    /// The table's, then each GSI's.
    pub capacity: Vec<CapacityFigures>,
    /// Contributor Insights' top keys, where enabled.
    pub contributors: Vec<ContributorFigure>,
}

/// One of the top keys of a Contributor Insights rule (`index` empty: the table's).
#[derive(Debug, Clone)]
pub struct ContributorFigure {
    pub index: String,
    pub rule: &'static str,
    pub partition_key: String,
    pub sort_key: String,
    /// Requests over the last [`insights::WINDOW_MINUTES`] minutes.
    pub count: u64,
}

fn contributor_figures(t: &catalog::Table) -> Vec<ContributorFigure> {
    if !t.insights.is_enabled() {
        return Vec::new();
    }
    let resources =
        std::iter::once(None).chain(t.meta.global_indexes.iter().map(|i| Some(i.name.as_str())));
    resources
        .flat_map(|index| {
            t.insights.top(index).into_iter().map(
                move |(rule, (partition_key, sort_key), count)| ContributorFigure {
                    index: index.unwrap_or_default().to_string(),
                    rule: rule.name(),
                    partition_key,
                    sort_key: sort_key.unwrap_or_default(),
                    count,
                },
            )
        })
        .collect()
}

/// Lowers the calling thread to the lowest CPU priority (nice 19): bulk background work
/// (writing a backup, loading a restore, exports, imports) then takes the CPU requests do
/// not use, so it slows them as little as the machine allows, and still progresses.
pub(crate) fn background_priority() {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::debug!(error = ?e, "cannot lower a background thread's priority");
    }
}

/// A directory the configuration gives (empty: none): `what` is refused without it.
pub(crate) fn configured_dir<'a>(
    dir: &'a std::path::Path,
    what: &str,
    kind: &str,
) -> Result<&'a std::path::Path> {
    if dir.as_os_str().is_empty() {
        return Err(Error::validation(format!(
            "{what} are not available: this server has no {kind} directory"
        )));
    }
    Ok(dir)
}

pub(crate) fn now_epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// DynamoDB's message for a required member that is absent.
pub(crate) use keyfall_types::command::required;

impl Engine {
    /// The answer to a request that did not decode: a missing table first, as DynamoDB
    /// reports it, else the decoding error.
    pub fn refused(&self, invalid: keyfall_types::command::Invalid) -> error::Error {
        match invalid.table.map(|t| self.item_table_named(&t)) {
            Some(Err(missing)) => missing,
            _ => invalid.error,
        }
    }
}
