//! Prometheus metrics of the server, served as OpenMetrics text at `/metrics` on the HTTP
//! port: requests by API, operation and outcome (throttled requests are those whose
//! outcome is a throttling error), their latency, per-table item counts, sizes and consumed
//! capacity, provisioned throughput and throttle events per table and GSI, and the storage
//! engine's journal, memtable, compaction and cache figures (all read from the engine at
//! scrape time).

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use keyfall_api::metrics::RequestMetrics;

use crate::engine::Engine;
use keyfall_types::command::Access;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

/// A table (`index` empty) or one of its GSIs, as CloudWatch's `TableName` and
/// `GlobalSecondaryIndexName` dimensions.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IndexLabels {
    table: String,
    index: String,
}

/// A table's or GSI's throttles for one reason: the limit type of DynamoDB's throttling
/// reasons (`ProvisionedThroughputExceeded`, `KeyRangeThroughputExceeded`,
/// `MaxOnDemandThroughputExceeded`, `AccountLimitExceeded`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    table: String,
    index: String,
    reason: &'static str,
}

/// One of a Contributor Insights rule's top keys (`sort_key` empty for the partition-key
/// rules `PKC` and `PKT`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContributorLabels {
    table: String,
    index: String,
    rule: &'static str,
    partition_key: Escaped,
    sort_key: Escaped,
}

/// A label value written with OpenMetrics' escapes (`\\`, `\"`, `\n`). prometheus-client
/// writes label values as they are, which is safe for table and index names (their
/// characters are `[A-Za-z0-9_.-]`) but not for key values, which are anyone's data: one
/// quote or line break would break the scrape or forge series.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Escaped(String);

impl prometheus_client::encoding::EncodeLabelValue for Escaped {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Provisioned throughput and throttles, per table and GSI: CloudWatch's
/// ProvisionedRead/WriteCapacityUnits and Read/WriteThrottleEvents, in Prometheus style.
#[derive(Default)]
struct Throughput {
    provisioned_read: Family<IndexLabels, Gauge>,
    provisioned_write: Family<IndexLabels, Gauge>,
    read_throttles: Family<ThrottleLabels, Counter>,
    write_throttles: Family<ThrottleLabels, Counter>,
    contributors: Family<ContributorLabels, Gauge>,
    /// Units consumed per GSI (the table's series count them in its total).
    index_read_units: Family<IndexLabels, Counter<f64, AtomicU64>>,
    index_write_units: Family<IndexLabels, Counter<f64, AtomicU64>>,
}

impl Throughput {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "provisioned_read_capacity_units",
            "Provisioned read capacity units per second, per provisioned table and GSI",
            self.provisioned_read.clone(),
        );
        registry.register(
            "provisioned_write_capacity_units",
            "Provisioned write capacity units per second, per provisioned table and GSI",
            self.provisioned_write.clone(),
        );
        registry.register(
            "read_throttle_events",
            "Reads refused for want of throughput, per table, GSI and reason",
            self.read_throttles.clone(),
        );
        registry.register(
            "write_throttle_events",
            "Writes refused for want of throughput, per table, GSI and reason",
            self.write_throttles.clone(),
        );
        registry.register(
            "index_consumed_read_capacity_units",
            "Read capacity units consumed by requests, per GSI",
            self.index_read_units.clone(),
        );
        registry.register(
            "index_consumed_write_capacity_units",
            "Write capacity units consumed by requests, per GSI",
            self.index_write_units.clone(),
        );
        registry.register(
            "contributor_insights_requests",
            "Requests on each of the top keys of a Contributor Insights rule over the last minutes, where enabled",
            self.contributors.clone(),
        );
    }

    /// Sets the series of one table from its figures (the families were cleared).
    fn set(&self, table: &str, figures: &[crate::engine::CapacityFigures]) {
        for f in figures {
            let labels = IndexLabels {
                table: table.to_string(),
                index: f.index.clone(),
            };
            if let Some((read, write)) = f.provisioned {
                self.provisioned_read.get_or_create(&labels).set(read);
                self.provisioned_write.get_or_create(&labels).set(write);
            }
            if !f.index.is_empty() {
                let (read, write) = f.consumed;
                advance_f64(&self.index_read_units.get_or_create(&labels), read);
                advance_f64(&self.index_write_units.get_or_create(&labels), write);
            }
            for &(access, cause, count) in &f.throttles {
                let family = match access {
                    Access::Read => &self.read_throttles,
                    Access::Write => &self.write_throttles,
                };
                let labels = ThrottleLabels {
                    table: table.to_string(),
                    index: f.index.clone(),
                    reason: cause.reason(),
                };
                advance(&family.get_or_create(&labels), count);
            }
        }
    }

    /// Sets the top keys of one table's Contributor Insights rules.
    fn set_contributors(&self, table: &str, figures: &[crate::engine::ContributorFigure]) {
        for f in figures {
            let labels = ContributorLabels {
                table: table.to_string(),
                index: f.index.clone(),
                rule: f.rule,
                partition_key: Escaped(f.partition_key.clone()),
                sort_key: Escaped(f.sort_key.clone()),
            };
            self.contributors
                .get_or_create(&labels)
                .set(i64::try_from(f.count).unwrap_or(i64::MAX));
        }
    }

    fn clear(&self) {
        self.contributors.clear();
        self.index_read_units.clear();
        self.index_write_units.clear();
        self.provisioned_read.clear();
        self.provisioned_write.clear();
        self.read_throttles.clear();
        self.write_throttles.clear();
    }
}

pub struct Metrics {
    registry: Registry,
    /// Requests and latency, the same series keyfall-dax exports.
    pub requests: Arc<RequestMetrics>,
    table_items: Family<TableLabels, Gauge>,
    table_bytes: Family<TableLabels, Gauge>,
    read_units: Family<TableLabels, Counter<f64, AtomicU64>>,
    write_units: Family<TableLabels, Counter<f64, AtomicU64>>,
    throughput: Throughput,
    storage: StorageGauges,
}

/// The storage engine's figures, set at each scrape.
#[derive(Default)]
struct StorageGauges {
    journal_files: Gauge,
    journal_bytes: Gauge,
    write_buffer_bytes: Gauge,
    pending_flushes: Gauge,
    active_compactions: Gauge,
    compactions: Counter,
    compaction_seconds: Counter<f64, AtomicU64>,
    disk_bytes: Gauge,
    cache_bytes: Gauge,
    cache_capacity_bytes: Gauge,
}

impl StorageGauges {
    fn register(&self, registry: &mut Registry) {
        let storage = registry.sub_registry_with_prefix("storage");
        storage.register(
            "journal_files",
            "Write-ahead journal files on disk",
            self.journal_files.clone(),
        );
        storage.register(
            "journal_bytes",
            "Bytes of the write-ahead journal",
            self.journal_bytes.clone(),
        );
        storage.register(
            "write_buffer_bytes",
            "Bytes in memtables, all keyspaces together",
            self.write_buffer_bytes.clone(),
        );
        storage.register(
            "pending_flushes",
            "Memtables waiting to be flushed",
            self.pending_flushes.clone(),
        );
        storage.register(
            "active_compactions",
            "Compactions running now",
            self.active_compactions.clone(),
        );
        storage.register(
            "compactions",
            "Compactions completed",
            self.compactions.clone(),
        );
        storage.register(
            "compaction_seconds",
            "Time spent compacting",
            self.compaction_seconds.clone(),
        );
        storage.register(
            "disk_bytes",
            "Bytes of the store on disk",
            self.disk_bytes.clone(),
        );
        storage.register(
            "block_cache_bytes",
            "Bytes in the block cache",
            self.cache_bytes.clone(),
        );
        storage.register(
            "block_cache_capacity_bytes",
            "Capacity of the block cache",
            self.cache_capacity_bytes.clone(),
        );
    }

    fn set(&self, stats: &crate::storage::StorageStats) {
        let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.journal_files.set(i(stats.journal_files));
        self.journal_bytes.set(i(stats.journal_bytes));
        self.write_buffer_bytes.set(i(stats.write_buffer_bytes));
        self.pending_flushes.set(i(stats.pending_flushes));
        self.active_compactions.set(i(stats.active_compactions));
        advance(&self.compactions, stats.compactions_completed);
        advance_f64(&self.compaction_seconds, stats.compaction_seconds);
        self.disk_bytes.set(i(stats.disk_bytes));
        self.cache_bytes.set(i(stats.block_cache_bytes));
        self.cache_capacity_bytes
            .set(i(stats.block_cache_capacity_bytes));
    }
}

/// Moves a counter up to a total read elsewhere (never down).
fn advance(counter: &Counter, total: u64) {
    let current = counter.get();
    if total > current {
        counter.inc_by(total - current);
    }
}

fn advance_f64(counter: &Counter<f64, AtomicU64>, total: f64) {
    let current = counter.get();
    if total > current {
        counter.inc_by(total - current);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("keyfall");
        let requests = Arc::new(RequestMetrics::default());
        let table_items = Family::<TableLabels, Gauge>::default();
        let table_bytes = Family::<TableLabels, Gauge>::default();
        let read_units = Family::<TableLabels, Counter<f64, AtomicU64>>::default();
        let write_units = Family::<TableLabels, Counter<f64, AtomicU64>>::default();
        let storage = StorageGauges::default();
        storage.register(&mut registry);
        let throughput = Throughput::default();
        throughput.register(&mut registry);
        registry.register(
            "consumed_read_capacity_units",
            "Read capacity units consumed by requests, per table (indexes included)",
            read_units.clone(),
        );
        registry.register(
            "consumed_write_capacity_units",
            "Write capacity units consumed by requests, per table",
            write_units.clone(),
        );
        requests.register(&mut registry);
        registry.register("table_items", "Items per table", table_items.clone());
        registry.register(
            "table_size_bytes",
            "Bytes of item data per table",
            table_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            table_items,
            table_bytes,
            read_units,
            write_units,
            throughput,
            storage,
        }
    }

    /// The OpenMetrics text, with table figures as of now.
    pub fn render(&self, engine: &Engine) -> String {
        self.table_items.clear();
        self.table_bytes.clear();
        let figures = engine.table_figures();
        // Counters of dropped tables go; a table re-created under a name starts again.
        for family in [&self.read_units, &self.write_units] {
            family.clear();
        }
        self.throughput.clear();
        for table in figures {
            let labels = TableLabels { table: table.name };
            self.table_items.get_or_create(&labels).set(table.items);
            self.table_bytes.get_or_create(&labels).set(table.bytes);
            advance_f64(&self.read_units.get_or_create(&labels), table.read_units);
            advance_f64(&self.write_units.get_or_create(&labels), table.write_units);
            self.throughput.set(&labels.table, &table.capacity);
            self.throughput
                .set_contributors(&labels.table, &table.contributors);
        }
        self.storage.set(&engine.storage_stats());
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Shared handle.
pub type SharedMetrics = Arc<Metrics>;
