//! The proxy's `/metrics` (OpenMetrics text, as the server's): the request series both
//! binaries export (`keyfall_requests`, `keyfall_request_duration_seconds`, from
//! `keyfall_api::metrics`), and the proxy's own cache, upstream and feed figures.

use std::sync::Arc;

use keyfall_api::metrics::RequestMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

const ITEM: CacheLabels = CacheLabels { cache: "item" };
const QUERY: CacheLabels = CacheLabels { cache: "query" };

pub struct Metrics {
    registry: Registry,
    pub requests: Arc<RequestMetrics>,
    pub item_hits: Counter,
    pub item_misses: Counter,
    pub item_evictions: Counter,
    pub query_hits: Counter,
    pub query_misses: Counter,
    pub query_evictions: Counter,
    pub upstream_reads: Counter,
    pub write_throughs: Counter,
    pub pass_throughs: Counter,
    pub feed_events: Counter,
    pub feed_reconnects: Counter,
    /// Change-feed tasks running now.
    pub feed_tasks: Gauge,
    entries: Family<CacheLabels, Gauge>,
    bytes: Family<CacheLabels, Gauge>,
}

/// Sizes read from the caches when rendering.
pub struct Sizes {
    pub item_entries: u64,
    pub item_bytes: u64,
    pub query_entries: u64,
    pub query_bytes: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("keyfall");
        let requests = Arc::new(RequestMetrics::default());
        requests.register(&mut registry);
        let dax = registry.sub_registry_with_prefix("dax");
        let per_cache = |dax: &mut Registry, name: &str, help: &str| {
            let family = Family::<CacheLabels, Counter>::default();
            dax.register(name, help, family.clone());
            let item = family.get_or_create(&ITEM).clone();
            let query = family.get_or_create(&QUERY).clone();
            (item, query)
        };
        let (item_hits, query_hits) = per_cache(dax, "cache_hits", "Answers served from a cache");
        let (item_misses, query_misses) = per_cache(
            dax,
            "cache_misses",
            "Cacheable reads the cache did not hold",
        );
        let (item_evictions, query_evictions) =
            per_cache(dax, "cache_evictions", "Entries evicted for size");
        let counter = |dax: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            dax.register(name, help, c.clone());
            c
        };
        let upstream_reads = counter(dax, "upstream_reads", "Reads sent to the server on a miss");
        let write_throughs = counter(dax, "write_throughs", "Writes applied to the cache");
        let pass_throughs = counter(dax, "pass_throughs", "Requests forwarded uncached");
        let feed_events = counter(dax, "feed_events", "Change records applied from feeds");
        let feed_reconnects = counter(dax, "feed_reconnects", "Feeds opened again");
        let feed_tasks = Gauge::default();
        dax.register(
            "feed_tasks",
            "Change-feed tasks running",
            feed_tasks.clone(),
        );
        let entries = Family::<CacheLabels, Gauge>::default();
        dax.register("cache_entries", "Entries per cache", entries.clone());
        let bytes = Family::<CacheLabels, Gauge>::default();
        dax.register("cache_bytes", "Weighted bytes per cache", bytes.clone());
        Metrics {
            registry,
            requests,
            item_hits,
            item_misses,
            item_evictions,
            query_hits,
            query_misses,
            query_evictions,
            upstream_reads,
            write_throughs,
            pass_throughs,
            feed_events,
            feed_reconnects,
            feed_tasks,
            entries,
            bytes,
        }
    }
}

impl Metrics {
    /// The OpenMetrics text, with the caches' sizes as of now.
    pub fn render(&self, sizes: &Sizes) -> String {
        let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.entries.get_or_create(&ITEM).set(i(sizes.item_entries));
        self.entries
            .get_or_create(&QUERY)
            .set(i(sizes.query_entries));
        self.bytes.get_or_create(&ITEM).set(i(sizes.item_bytes));
        self.bytes.get_or_create(&QUERY).set(i(sizes.query_bytes));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

pub fn inc(c: &Counter) {
    c.inc();
}
