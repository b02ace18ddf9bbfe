//! The two caches, as DAX has them: items (GetItem/BatchGetItem) and query pages
//! (Query/Scan), independent of each other, bounded by bytes, with a TTL each.
//!
//! Query pages are invalidated by generation: each table has a counter that every write
//! and change event of the table bumps, and it is part of every page's key, so a write
//! makes all of the table's pages unreachable at once (they age out by TTL or eviction).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
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

/// A cached item kept as the `GetItemResponse` that returns it, framed as a gRPC message:
/// a gRPC GetItem hit sends these bytes as they are (`get_item_path`), where a decoded map
/// would be deep-copied and re-encoded on every hit. Other readers decode it.
#[derive(Debug, Clone)]
pub struct EncodedItem(Bytes);

impl EncodedItem {
    pub fn new(item: ProtoItem) -> EncodedItem {
        let response = pb::GetItemResponse {
            item,
            consumed_capacity: None,
        };
        EncodedItem(crate::get_item_path::frame(&response))
    }

    /// The framed gRPC message: the body of a GetItem answer.
    pub fn framed(&self) -> Bytes {
        self.0.clone()
    }

    /// The encoded `GetItemResponse`.
    pub fn response(&self) -> Bytes {
        self.0.slice(crate::get_item_path::FRAME_HEADER..)
    }

    pub fn item(&self) -> Result<ProtoItem, tonic::Status> {
        use prost::Message;
        pb::GetItemResponse::decode(self.response())
            .map(|r| r.item)
            .map_err(|e| tonic::Status::internal(format!("a cached item does not decode: {e}")))
    }

    fn weight(&self) -> usize {
        self.0.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub table: Arc<str>,
    pub generation: u64,
    pub request: Arc<[u8]>,
}

#[derive(Debug, Clone)]
pub enum Page {
    Query(Arc<pb::QueryResponse>),
    Scan(Arc<pb::ScanResponse>),
}

impl Page {
    /// The page's items.
    pub fn items(&self) -> impl Iterator<Item = &ProtoItem> {
        let list = match self {
            Page::Query(r) => &r.items,
            Page::Scan(r) => &r.items,
        };
        list.iter().map(|m| &m.values)
    }

    fn weight(&self) -> usize {
        use prost::Message;
        match self {
            Page::Query(r) => r.encoded_len(),
            Page::Scan(r) => r.encoded_len(),
        }
    }
}

pub struct Caches {
    pub items: Cache<ItemKey, CachedItem>,
    pub pages: Cache<PageKey, Page>,
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
                    m.item_evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .support_invalidation_closures()
            .build();
        let m = metrics.clone();
        let pages = Cache::builder()
            .max_capacity(config.query_cache_bytes)
            .weigher(|k: &PageKey, v: &Page| {
                clamp(k.request.len() + k.table.len() + v.weight() + 64)
            })
            .time_to_live(config.query_ttl)
            .eviction_policy(policy(config.eviction))
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    m.query_evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Caches {
            items,
            pages,
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

    /// Records an item's new state: the whole-item entry takes it, projected copies go.
    pub async fn set_item(&self, key: &ItemKey, item: CachedItem) {
        self.drop_projections(key).await;
        self.items.insert(key.whole(), item).await;
        self.invalidate_pages(&key.table);
    }

    /// Forgets an item whose new state is unknown.
    pub async fn forget_item(&self, key: &ItemKey) {
        self.drop_projections(key).await;
        self.items.invalidate(&key.whole()).await;
        self.invalidate_pages(&key.table);
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
        let t = table.clone();
        if let Err(e) = self.items.invalidate_entries_if(move |k, _| k.table == t) {
            tracing::warn!(error = %e, "cannot invalidate a table's items: flushing all");
            self.items.invalidate_all();
        }
        self.invalidate_pages(table);
    }
}
