//! The engine's hand-off to its threads, against a real fjall store.

use std::sync::Arc;

use parking_lot::Mutex;

use super::types::{GetItemInput, PutItemInput};
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

/// The command a JSON request decodes into.
fn command<T: serde::de::DeserializeOwned + keyfall_types::command::Decode>(
    v: serde_json::Value,
) -> T::Command {
    json::<T>(v).decode().unwrap()
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
            let put = command::<PutItemInput>(serde_json::json!({
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
        let get = command::<GetItemInput>(
            serde_json::json!({"TableName": "things", "Key": {"pk": {"S": format!("k{i}")}}}),
        );
        let out = engine.run(move |e| e.get_item(get)).await.unwrap();
        assert!(out.item.is_some(), "k{i} was written");
    }
}

fn open_plain(dir: &std::path::Path) -> (Arc<FjallStore>, Arc<Engine>) {
    let store = Arc::new(FjallStore::open(dir, StoreOptions::default()).unwrap());
    let engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    (store, engine)
}

fn create_things(engine: &Engine) {
    engine
        .create_table(json(serde_json::json!({
            "TableName": "things",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        })))
        .unwrap();
}

/// Issue 17, item 5: a definition change made from a stale read of a table that was
/// deleted (and re-created) since is refused; it never republishes the old table.
#[test]
fn item05_catalog_changes_are_bound_to_the_table_they_read() {
    let dir = tempfile::tempdir().unwrap();
    let (store, engine) = open_plain(dir.path());
    create_things(&engine);
    let stale = engine.table_by_name("things").unwrap();
    engine
        .delete_table(json(serde_json::json!({"TableName": "things"})))
        .unwrap();
    let r = engine
        .catalog
        .update(store.as_ref(), "things", &stale.meta.id, |m| {
            m.tags.insert("k".into(), "v".into());
            Ok(())
        });
    assert!(
        matches!(r, Err(crate::error::Error::ResourceNotFound(_))),
        "{r:?}"
    );
    assert!(engine.table_by_name("things").is_none(), "not resurrected");
    create_things(&engine);
    let r = engine
        .catalog
        .update(store.as_ref(), "things", &stale.meta.id, |_| Ok(()));
    assert!(r.is_err(), "the re-created table is another table");
}

/// Issue 17, item 8: idempotency tokens are forgotten after DynamoDB's 10 minutes.
#[test]
fn item08_tokens_expire_after_ten_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, engine) = open_plain(dir.path());
    let record = |age: f64| {
        let mut v = 42u64.to_be_bytes().to_vec();
        v.extend_from_slice(&(super::now_epoch_seconds() - age).to_be_bytes());
        v
    };
    store
        .apply(vec![
            Op::Put {
                keyspace: super::transactions::TOKENS_KEYSPACE.into(),
                key: b"old".to_vec(),
                value: record(601.0),
            },
            Op::Put {
                keyspace: super::transactions::TOKENS_KEYSPACE.into(),
                key: b"fresh".to_vec(),
                value: record(5.0),
            },
        ])
        .unwrap();
    assert_eq!(engine.expire_tokens().unwrap(), 1);
    let ks = super::transactions::TOKENS_KEYSPACE;
    assert!(store.get(ks, b"old").unwrap().is_none());
    assert!(store.get(ks, b"fresh").unwrap().is_some());
}

/// Issue 17, item 10: data a crash left behind between DeleteTable's two steps (or before
/// CreateTable published) is reclaimed when the server opens.
#[test]
fn item10_orphaned_keyspaces_are_dropped_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, engine) = open_plain(dir.path());
        create_things(&engine);
        for orphan in ["t-orphan", "i-orphan", "s-orphan"] {
            store.open_keyspace(orphan).unwrap();
            store
                .apply(vec![Op::Put {
                    keyspace: orphan.into(),
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                }])
                .unwrap();
        }
        drop(engine);
    }
    let (store, engine) = open_plain(dir.path());
    let names = store.keyspace_names();
    for orphan in ["t-orphan", "i-orphan", "s-orphan"] {
        assert!(
            !names.iter().any(|n| n == orphan),
            "{orphan} dropped: {names:?}"
        );
    }
    let table = engine.table_by_name("things").unwrap();
    assert!(names.contains(&table.meta.keyspace), "live data kept");
}
