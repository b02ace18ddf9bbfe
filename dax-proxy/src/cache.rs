//! The two caches, as DAX has them: items (GetItem/BatchGetItem) and query pages
//! (Query/Scan), independent of each other, bounded by bytes, with a TTL each.
//!
//! Query pages are invalidated by generation: each table has a counter that every write
//! and change event of the table bumps, and it is part of every page's key, so a write
//! makes all of the table's pages unreachable at once (they age out by TTL or eviction).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use keyfall_proto::v1 as pb;
use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use parking_lot::Mutex;

use crate::config::{Config, Eviction};
use crate::keys::{ItemKey, ProtoItem};
use crate::metrics::Metrics;

/// A cached read: the item, or its absence (negative caching).
pub type CachedItem = Option<EncodedItem>;

/// A cached answer: its response message framed as a unary gRPC answer's body, so a gRPC
/// hit sends these bytes as they are (`cached_reads`), where a decoded message would be
/// deep-copied and re-encoded on every hit. Other readers decode it.
#[derive(Debug, Clone)]
pub struct Framed(Bytes);

impl Framed {
    pub fn new(message: &impl prost::Message) -> Framed {
        Framed(crate::cached_reads::frame(message))
    }

    /// The framed gRPC message: the body of the answer.
    pub fn framed(&self) -> Bytes {
        self.0.clone()
    }

    /// The answer as the response message `M`.
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, tonic::Status> {
        M::decode(self.0.slice(crate::cached_reads::FRAME_HEADER..))
            .map_err(|e| tonic::Status::internal(format!("a cached answer does not decode: {e}")))
    }

    fn weight(&self) -> usize {
        self.0.len()
    }
}

/// A cached item: the `GetItemResponse` that returns it.
#[derive(Debug, Clone)]
pub struct EncodedItem(Framed);

impl EncodedItem {
    pub fn new(item: ProtoItem) -> EncodedItem {
        let response = pb::GetItemResponse {
            item,
            consumed_capacity: None,
        };
        EncodedItem(Framed::new(&response))
    }

    /// The framed gRPC message: the body of a GetItem answer.
    pub fn framed(&self) -> Bytes {
        self.0.framed()
    }

    pub fn item(&self) -> Result<ProtoItem, tonic::Status> {
        self.0.decode::<pb::GetItemResponse>().map(|r| r.item)
    }

    fn weight(&self) -> usize {
        self.0.weight()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub table: Arc<str>,
    pub generation: u64,
    pub request: Arc<[u8]>,
}

/// A cached Query or Scan page: its `QueryResponse` or `ScanResponse`, which have the same
/// fields, so either decodes the bytes of the other.
pub type EncodedPage = Framed;

/// Orders what the proxy learns from a read or a write-through against what the change
/// feed tells it, so an older answer never replaces a newer change (issue 17, item 11).
///
/// A logical clock ticks at every change the proxy applies (a feed event, a write-through)
/// and at every table flush; each item key hashes to a slot holding the last tick that
/// touched it (several keys may share a slot: that only makes a fill skip caching). A read
/// or write notes the clock before it goes upstream; its answer is cached only if its
/// key's slot did not move since, and checked again after it was stored (a change applied
/// in between removes it). Removing is always safe: the next read fetches again.
pub struct Stamps {
    clock: AtomicU64,
    slots: Box<[AtomicU64]>,
    flushed: Mutex<HashMap<Arc<str>, u64>>,
}

const STAMP_SLOTS: usize = 1 << 16;

impl Stamps {
    fn new() -> Stamps {
        Stamps {
            clock: AtomicU64::new(0),
            slots: (0..STAMP_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            flushed: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, key: &ItemKey) -> Option<&AtomicU64> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.table.hash(&mut h);
        key.key_bytes().hash(&mut h);
        let len = self.slots.len() as u64;
        self.slots.get(usize::try_from(h.finish() % len).ok()?)
    }

    /// The clock now: note it before going upstream.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::Acquire)
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Marks a change of `key`; returns its tick.
    fn touch(&self, key: &ItemKey) -> u64 {
        let t = self.tick();
        if let Some(slot) = self.slot(key) {
            slot.fetch_max(t, Ordering::AcqRel);
        }
        t
    }

    fn flush(&self, table: &Arc<str>) {
        let t = self.tick();
        self.flushed.lock().insert(table.clone(), t);
    }

    /// Whether a change of `key` (or a flush of its table) was applied after `since`.
    pub fn changed_since(&self, key: &ItemKey, since: u64) -> bool {
        let slot = self
            .slot(key)
            .map_or(u64::MAX, |s| s.load(Ordering::Acquire));
        slot > since
            || self
                .flushed
                .lock()
                .get(&key.table)
                .is_some_and(|&f| f > since)
    }
}

pub struct Caches {
    pub items: Cache<ItemKey, CachedItem>,
    pub pages: Cache<PageKey, EncodedPage>,
    pub stamps: Arc<Stamps>,
    generations: Mutex<HashMap<Arc<str>, u64>>,
    /// Projections seen per table, so a change can drop every projected copy of an item.
    projections: Mutex<HashMap<Arc<str>, HashSet<Arc<str>>>>,
    pub metrics: Arc<Metrics>,
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn policy(e: Eviction) -> EvictionPolicy {
    match e {
        Eviction::Lru => EvictionPolicy::lru(),
        Eviction::Tinylfu => EvictionPolicy::tiny_lfu(),
    }
}

impl Caches {
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Caches {
        let m = metrics.clone();
        let items = Cache::builder()
            .max_capacity(config.item_cache_bytes)
            .weigher(|k: &ItemKey, v: &CachedItem| {
                clamp(k.weight() + v.as_ref().map_or(0, EncodedItem::weight))
            })
            .time_to_live(config.item_ttl)
            .eviction_policy(policy(config.eviction))
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    m.item_evictions.inc();
                }
            })
            .support_invalidation_closures()
            .build();
        let m = metrics.clone();
        let pages = Cache::builder()
            .max_capacity(config.query_cache_bytes)
            .weigher(|k: &PageKey, v: &EncodedPage| {
                clamp(k.request.len() + k.table.len() + v.weight() + 64)
            })
            .time_to_live(config.query_ttl)
            .eviction_policy(policy(config.eviction))
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    m.query_evictions.inc();
                }
            })
            .build();
        Caches {
            items,
            pages,
            stamps: Arc::new(Stamps::new()),
            generations: Mutex::new(HashMap::new()),
            projections: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    pub fn generation(&self, table: &Arc<str>) -> u64 {
        *self.generations.lock().get(table).unwrap_or(&0)
    }

    /// Makes every cached page of `table` unreachable.
    pub fn invalidate_pages(&self, table: &Arc<str>) {
        *self.generations.lock().entry(table.clone()).or_insert(0) += 1;
    }

    pub fn remember_projection(&self, table: &Arc<str>, projection: &Arc<str>) {
        if projection.is_empty() {
            return;
        }
        let mut p = self.projections.lock();
        let set = p.entry(table.clone()).or_default();
        if !set.contains(projection) {
            set.insert(projection.clone());
        }
    }

    /// Records an item's new state from the change feed (authoritative, in commit order
    /// per item): the whole-item entry takes it, projected copies go.
    pub async fn set_item(&self, key: &ItemKey, item: CachedItem) {
        self.stamps.touch(key);
        self.drop_projections(key).await;
        self.items.insert(key.whole(), item).await;
        self.invalidate_pages(&key.table);
    }

    /// Forgets an item whose new state is unknown.
    pub async fn forget_item(&self, key: &ItemKey) {
        self.stamps.touch(key);
        self.drop_projections(key).await;
        self.items.invalidate(&key.whole()).await;
        self.invalidate_pages(&key.table);
    }

    /// A write this proxy made, answered after `since`: `Some(state)` is the item's state
    /// the write left (`None` inside: absent), `None` an unknown state. Cached unless the
    /// feed applied a change of the item since (that change is the write's own or a later
    /// one: what is cached is at least as new).
    pub async fn write_through(&self, key: &ItemKey, state: Option<CachedItem>, since: u64) {
        let Some(item) = state else {
            return self.forget_item(key).await;
        };
        self.invalidate_pages(&key.table);
        if self.stamps.changed_since(key, since) {
            return;
        }
        let t = self.stamps.touch(key);
        self.drop_projections(key).await;
        let whole = key.whole();
        self.items.insert(whole.clone(), item).await;
        if self.stamps.changed_since(key, t) {
            self.items.invalidate(&whole).await;
        }
    }

    /// A read answered after `since`, stored in the cache: removed again if a change of its
    /// item was applied meanwhile (the answer may predate it).
    pub async fn recheck(&self, key: &ItemKey, since: u64) {
        if self.stamps.changed_since(key, since) {
            self.items.invalidate(key).await;
        }
    }

    /// Stores a read answered after `since` unless a change of its item was applied
    /// meanwhile.
    pub async fn fill(&self, key: ItemKey, item: CachedItem, since: u64) {
        if self.stamps.changed_since(&key, since) {
            return;
        }
        self.items.insert(key.clone(), item).await;
        self.recheck(&key, since).await;
    }

    async fn drop_projections(&self, key: &ItemKey) {
        let projections: Vec<Arc<str>> = self
            .projections
            .lock()
            .get(&key.table)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for p in projections {
            self.items.invalidate(&key.clone().with_projection(p)).await;
        }
    }

    /// Forgets everything cached about a table (a feed gap, a table deleted).
    pub fn forget_table(&self, table: &Arc<str>) {
        self.stamps.flush(table);
        let t = table.clone();
        if let Err(e) = self.items.invalidate_entries_if(move |k, _| k.table == t) {
            tracing::warn!(error = %e, "cannot invalidate a table's items: flushing all");
            self.items.invalidate_all();
        }
        self.invalidate_pages(table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{item_key, KeyNames};

    fn key(pk: &str) -> ItemKey {
        let names = KeyNames {
            partition: "pk".into(),
            sort: None,
        };
        let item: ProtoItem = [(
            "pk".to_string(),
            pb::AttributeValue {
                value: Some(pb::attribute_value::Value::S(pk.into())),
            },
        )]
        .into();
        item_key(&Arc::from("T"), &names, &item).unwrap()
    }

    fn encoded(v: &str) -> CachedItem {
        let item: ProtoItem = [(
            "v".to_string(),
            pb::AttributeValue {
                value: Some(pb::attribute_value::Value::S(v.into())),
            },
        )]
        .into();
        Some(EncodedItem::new(item))
    }

    fn caches() -> Caches {
        Caches::new(&Config::default(), Arc::new(Metrics::default()))
    }

    async fn value(c: &Caches, k: &ItemKey) -> Option<String> {
        let cached = c.items.get(k).await?;
        let item = cached?.item().unwrap();
        match item.get("v")?.value.as_ref()? {
            pb::attribute_value::Value::S(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Issue 17, item 11: a read that went upstream before a change the feed applied
    /// (its answer may be the older item) never replaces that change.
    #[tokio::test]
    async fn item11_an_older_read_never_replaces_a_newer_change() {
        let c = caches();
        let k = key("a");
        let since = c.stamps.now(); // the read goes upstream, answers "old"...
        c.set_item(&k, encoded("new")).await; // ...while the feed applies "new"
        c.fill(k.clone(), encoded("old"), since).await;
        assert_eq!(value(&c, &k).await.as_deref(), Some("new"));
        // A read after the change is cached.
        let since = c.stamps.now();
        c.fill(key("b"), encoded("b1"), since).await;
        assert_eq!(value(&c, &key("b")).await.as_deref(), Some("b1"));
        // A fill stored just before a change lands is removed by its re-check.
        let since = c.stamps.now();
        c.items.insert(k.clone(), encoded("stale")).await;
        c.stamps.touch(&k);
        c.recheck(&k, since).await;
        assert!(c.items.get(&k).await.is_none());
    }

    /// A write-through answered after the feed applied a later change keeps the change.
    #[tokio::test]
    async fn item11_a_write_through_never_replaces_a_later_change() {
        let c = caches();
        let k = key("a");
        let since = c.stamps.now(); // our PutItem "mine" goes upstream...
        c.set_item(&k, encoded("theirs")).await; // ...a later write's event arrives first
        c.write_through(&k, Some(encoded("mine")), since).await;
        assert_eq!(value(&c, &k).await.as_deref(), Some("theirs"));
        // Without a change in between, the write-through is cached.
        let since = c.stamps.now();
        c.write_through(&k, Some(encoded("mine")), since).await;
        assert_eq!(value(&c, &k).await.as_deref(), Some("mine"));
        // A flush of the table (a feed gap) outranks anything read before it.
        let since = c.stamps.now();
        c.forget_table(&Arc::from("T"));
        c.fill(k.clone(), encoded("before-gap"), since).await;
        assert!(c.items.get(&k).await.is_none());
    }
}
