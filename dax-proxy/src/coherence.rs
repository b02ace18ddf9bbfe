//! Coherence: the proxy follows the server's internal change feed
//! (`SubscribeChanges` with `internal`) of every table it caches, so a write from
//! anywhere (another proxy, a direct client, a transaction, TTL) updates or drops the
//! cached item and the table's pages within milliseconds. Every table has that feed,
//! whatever its StreamSpecification (it is not a DynamoDB Stream).
//!
//! A table is cached only while its feed is live (or when coherence is `ttl`, DAX's
//! behaviour). The subscription is established before the first read is cached, so no
//! write can fall between them. When a feed breaks (the connection, a subscriber that fell
//! behind), the table is flushed and reads pass through until a new subscription is live
//! again; when the table is deleted or re-created (its id changes), everything known about
//! it is forgotten. Fills and write-throughs never overwrite a newer change the feed
//! delivered meanwhile (`Caches::fill`).
//!
//! Feeds are bounded: only tables the server describes get one (a made-up name starts
//! nothing), at most [`MAX_FEEDS`] at once (reads of further tables pass through), and a
//! feed whose table is gone (ResourceNotFound on resubscribing) ends and is forgotten.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use keyfall_proto::v1 as pb;
use parking_lot::Mutex;
use tokio::sync::OnceCell;

use crate::cache::EncodedItem;
use crate::config::Coherence;
use crate::metrics::inc;
use crate::Proxy;

/// What the proxy knows of one table's feed.
#[derive(Default)]
struct TableFeed {
    started: OnceCell<()>,
    live: AtomicBool,
    /// The id of the table the feed follows (a re-created table has another).
    table_id: Mutex<Option<String>>,
}

pub struct Feeds {
    mode: Coherence,
    tables: Mutex<HashMap<Arc<str>, Arc<TableFeed>>>,
    proxy: OnceCell<Weak<Proxy>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

const RETRY: Duration = Duration::from_millis(200);

/// At most this many tables are followed at once.
pub const MAX_FEEDS: usize = 1024;

/// Counts a running feed task in `keyfall_dax_feed_tasks` while it lives.
struct TaskGauge(Arc<crate::metrics::Metrics>);

impl TaskGauge {
    fn new(metrics: Arc<crate::metrics::Metrics>) -> TaskGauge {
        metrics.feed_tasks.inc();
        TaskGauge(metrics)
    }
}

impl Drop for TaskGauge {
    fn drop(&mut self) {
        self.0.feed_tasks.dec();
    }
}

impl Feeds {
    pub fn new(mode: Coherence, shutdown: tokio::sync::watch::Receiver<bool>) -> Feeds {
        Feeds {
            mode,
            tables: Mutex::new(HashMap::new()),
            proxy: OnceCell::new(),
            shutdown,
        }
    }

    pub fn attach(&self, proxy: Weak<Proxy>) {
        let _ = self.proxy.set(proxy);
    }

    /// The table's feed state; None when [`MAX_FEEDS`] tables are followed already.
    fn table(&self, table: &str) -> Option<Arc<TableFeed>> {
        let mut tables = self.tables.lock();
        match tables.get(table) {
            Some(feed) => Some(feed.clone()),
            None if tables.len() >= MAX_FEEDS => None,
            None => Some(tables.entry(Arc::from(table)).or_default().clone()),
        }
    }

    /// Forgets `table`'s feed if it is still `feed` (not a newer one).
    fn forget_feed(&self, table: &str, feed: &Arc<TableFeed>) {
        let mut tables = self.tables.lock();
        if tables.get(table).is_some_and(|f| Arc::ptr_eq(f, feed)) {
            tables.remove(table);
        }
    }

    /// Whether reads of `table` may be served from and stored in the caches now. The
    /// first call subscribes to the table's feed and waits until it is live.
    pub async fn cacheable(&self, table: &str) -> bool {
        if self.mode == Coherence::Ttl {
            return true;
        }
        let Some(proxy) = self.proxy.get().and_then(Weak::upgrade) else {
            return false;
        };
        if !self.tables.lock().contains_key(table) {
            // Only a table the server knows gets a feed: a made-up name starts nothing.
            if proxy.schemas.schema(table).await.is_none() {
                return false;
            }
        }
        let Some(feed) = self.table(table) else {
            return false;
        };
        feed.started
            .get_or_init(|| async {
                let table: Arc<str> = Arc::from(table);
                match subscribe(&proxy, &table).await {
                    Ok(stream) => {
                        feed.live.store(true, Ordering::SeqCst);
                        tokio::spawn(follow(
                            Arc::downgrade(&proxy),
                            table.clone(),
                            feed.clone(),
                            Some(stream),
                            self.shutdown.clone(),
                        ));
                    }
                    Err(status) if status.code() == tonic::Code::NotFound => {
                        // Gone since it was described: not followed, not cached.
                        self.forget_feed(&table, &feed);
                    }
                    Err(status) => {
                        // Not live: reads pass through; the follower retries.
                        tracing::warn!(%table, error = %status, "cannot follow the table's changes");
                        tokio::spawn(follow(
                            Arc::downgrade(&proxy),
                            table.clone(),
                            feed.clone(),
                            None,
                            self.shutdown.clone(),
                        ));
                    }
                }
            })
            .await;
        feed.live.load(Ordering::SeqCst)
    }

    /// Forgets a table's feed state (the table was deleted or recreated).
    pub fn forget(&self, table: &str) {
        self.tables.lock().remove(table);
    }
}

type Feed = tonic::Streaming<pb::ChangeRecord>;

async fn subscribe(proxy: &Proxy, table: &Arc<str>) -> Result<Feed, tonic::Status> {
    let mut client =
        pb::dynamo_db_streams_client::DynamoDbStreamsClient::new(proxy.channel.clone());
    Ok(client
        .subscribe_changes(pb::SubscribeChangesRequest {
            table_name: table.to_string(),
            starting_position: Some("LATEST".into()),
            sequence_number: None,
            internal: Some(true),
        })
        .await?
        .into_inner())
}

/// Applies a table's changes while the feed lasts; after a break, flushes the table and
/// resubscribes until live again (reads pass through meanwhile).
async fn follow(
    proxy: Weak<Proxy>,
    table: Arc<str>,
    feed: Arc<TableFeed>,
    mut stream: Option<Feed>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let _running = match proxy.upgrade() {
        Some(p) => TaskGauge::new(p.caches.metrics.clone()),
        None => return,
    };
    loop {
        let Some(live) = stream.as_mut() else {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(RETRY) => {}
            }
            let Some(p) = proxy.upgrade() else { return };
            match subscribe(&p, &table).await {
                Ok(s) => {
                    p.caches.forget_table(&table);
                    feed.live.store(true, Ordering::SeqCst);
                    stream = Some(s);
                }
                Err(status) if status.code() == tonic::Code::NotFound => {
                    // The table is gone: stop following it. A later read of a table of
                    // that name (re-created) starts a new feed.
                    p.coherence.forget_feed(&table, &feed);
                    p.schemas.forget(&table);
                    p.caches.forget_table(&table);
                    return;
                }
                Err(_) => {}
            }
            continue;
        };
        let next = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            next = live.message() => next,
        };
        let Some(p) = proxy.upgrade() else { return };
        match next {
            Ok(Some(change)) => {
                // The first change names the table followed; another id means the table
                // was deleted and re-created: nothing known about the old one holds.
                let recreated = {
                    let mut id = feed.table_id.lock();
                    match id.as_deref() {
                        Some(known) => known != change.table_id,
                        None => {
                            *id = Some(change.table_id.clone());
                            false
                        }
                    }
                };
                if recreated {
                    feed.live.store(false, Ordering::SeqCst);
                    p.coherence.forget_feed(&table, &feed);
                    p.schemas.forget(&table);
                    p.caches.forget_table(&table);
                    return;
                }
                apply(&p, &table, change).await
            }
            Err(status) if status.code() == tonic::Code::NotFound => {
                // The table was deleted (or re-created): forget it all; a later read
                // of the name starts over with the new table's schema and feed.
                feed.live.store(false, Ordering::SeqCst);
                p.coherence.forget_feed(&table, &feed);
                p.schemas.forget(&table);
                p.caches.forget_table(&table);
                return;
            }
            Ok(None) | Err(_) => {
                // A gap: nothing cached for the table can be proven fresh any more.
                feed.live.store(false, Ordering::SeqCst);
                p.caches.forget_table(&table);
                inc(&p.caches.metrics.feed_reconnects);
                stream = None;
            }
        }
    }
}

/// One change: the new image replaces the cached item, a removal caches its absence,
/// anything else drops the entry.
async fn apply(proxy: &Proxy, table: &Arc<str>, change: pb::ChangeRecord) {
    inc(&proxy.caches.metrics.feed_events);
    let Some(record) = change.record else { return };
    let Some(d) = record.dynamodb else { return };
    let Some(key) = proxy.schemas.item_key(table, &d.keys).await else {
        proxy.caches.forget_table(table);
        return;
    };
    match record.event_name.as_deref() {
        Some("REMOVE") => proxy.caches.set_item(&key, None).await,
        _ if !d.new_image.is_empty() => {
            proxy
                .caches
                .set_item(&key, Some(EncodedItem::new(d.new_image)))
                .await
        }
        _ => proxy.caches.forget_item(&key).await,
    }
}
