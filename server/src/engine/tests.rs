//! The engine's hand-off to its threads, against a real fjall store.

use std::sync::Arc;

use parking_lot::Mutex;

use super::{Engine, EngineConfig};
use crate::storage::{
    Durability, FjallStore, KeyRange, KvIter, Op, Snapshot, Storage, StorageError, StorageStats,
    StoreOptions, SyncTicket,
};

/// A fjall store that notes which thread waits for which fsync.
struct Noting {
    inner: FjallStore,
    waits: Mutex<Vec<(SyncTicket, String)>>,
    applied: Mutex<Vec<SyncTicket>>,
}

impl Snapshot for Noting {
    fn get(&self, keyspace: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(keyspace, key)
    }
    fn range(&self, ks: &str, range: KeyRange, reverse: bool) -> Result<KvIter<'_>, StorageError> {
        self.inner.range(ks, range, reverse)
    }
}

impl Storage for Noting {
    fn open_keyspace(&self, name: &str) -> Result<(), StorageError> {
        self.inner.open_keyspace(name)
    }
    fn drop_keyspace(&self, name: &str) -> Result<(), StorageError> {
        self.inner.drop_keyspace(name)
    }
    fn keyspace_names(&self) -> Vec<String> {
        self.inner.keyspace_names()
    }
    fn apply_unsynced(&self, ops: Vec<Op>) -> Result<Option<SyncTicket>, StorageError> {
        let ticket = self.inner.apply_unsynced(ops)?;
        self.applied.lock().extend(ticket);
        Ok(ticket)
    }
    fn wait_durable(&self, ticket: SyncTicket) -> Result<(), StorageError> {
        let thread = std::thread::current().name().unwrap_or("").to_string();
        self.waits.lock().push((ticket, thread));
        self.inner.wait_durable(ticket)
    }
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        self.inner.snapshot()
    }
    fn stats(&self) -> StorageStats {
        self.inner.stats()
    }
}

fn json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_waits_leave_the_engine_threads_and_precede_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        durability: Durability::Fsync,
        ..StoreOptions::default()
    };
    let store = Arc::new(Noting {
        inner: FjallStore::open(dir.path(), opts).unwrap(),
        waits: Mutex::default(),
        applied: Mutex::default(),
    });
    let config = EngineConfig {
        threads: 1,
        ..EngineConfig::default()
    };
    let engine = Engine::open(store.clone(), config).unwrap();
    engine
        .run(|e| {
            e.create_table(json(serde_json::json!({
                "TableName": "things",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST"
            })))
        })
        .await
        .unwrap();
    // (Table definitions wait for their fsync where they are written: they are rare.)
    store.waits.lock().clear();
    store.applied.lock().clear();
    // One engine thread, 32 writers at once: they all commit, then share fsyncs.
    let mut writes = Vec::new();
    for i in 0..32 {
        let engine = engine.clone();
        writes.push(tokio::spawn(async move {
            let put = json(serde_json::json!({
                "TableName": "things", "Item": {"pk": {"S": format!("k{i}")}}
            }));
            engine.run(move |e| e.put_item(put)).await.unwrap();
        }));
    }
    for w in writes {
        w.await.unwrap();
    }
    let applied = store.applied.lock().clone();
    let waits = store.waits.lock().clone();
    assert!(applied.len() >= 32, "every put committed: {applied:?}");
    let highest = applied.iter().max().copied().unwrap();
    assert!(
        waits.iter().any(|(t, _)| *t >= highest),
        "the last write was waited for before its answer: {waits:?}"
    );
    assert!(
        waits
            .iter()
            .all(|(_, thread)| !thread.starts_with("keyfall-engine")),
        "no engine thread waits for an fsync: {waits:?}"
    );
    // Every item is there and answers after its wait.
    for i in 0..32 {
        let get =
            json(serde_json::json!({"TableName": "things", "Key": {"pk": {"S": format!("k{i}")}}}));
        let out = engine.run(move |e| e.get_item(get)).await.unwrap();
        assert!(out.item.is_some(), "k{i} was written");
    }
}
