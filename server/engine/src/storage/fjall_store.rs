//! `Storage` on fjall 3: one fjall `Database` per data directory, one fjall keyspace per
//! named keyspace, `Database::batch` for atomic multi-keyspace writes.

use std::collections::HashMap;
use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use parking_lot::{Condvar, Mutex, RwLock};

use super::{Durability, KeyRange, KvIter, Op, Snapshot, Storage, StorageError, SyncTicket};

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub durability: Durability,
    /// Upper bound on all memtables together, so many tables cannot exhaust memory.
    pub max_write_buffer_bytes: u64,
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Process,
            max_write_buffer_bytes: 256 << 20,
            cache_bytes: 256 << 20,
        }
    }
}

pub struct FjallStore {
    db: Database,
    keyspaces: RwLock<HashMap<String, Keyspace>>,
    durability: Durability,
    group: GroupCommit,
}

/// Small memtables per keyspace: with many tables, the global limit does the rest.
fn keyspace_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default().max_memtable_size(16 << 20)
}

fn err(e: fjall::Error) -> StorageError {
    match e {
        fjall::Error::Locked => StorageError::Locked,
        other => StorageError::Engine(other.to_string()),
    }
}

impl FjallStore {
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Self, StorageError> {
        // fjall marks the global write-buffer limit `#[deprecated = "todo"]` (its API may
        // still change) but it is the documented way to bound all memtables together; it
        // panics below 1 MiB, hence the clamp.
        #[allow(deprecated)]
        let builder = Database::builder(path)
            .max_write_buffer_size(Some(opts.max_write_buffer_bytes.max(1 << 20)))
            .cache_size(opts.cache_bytes);
        let db = builder.open().map_err(err)?;
        let mut keyspaces = HashMap::new();
        for name in db.list_keyspace_names() {
            let name: String = String::from_utf8_lossy(name.as_bytes()).into_owned();
            let ks = db.keyspace(&name, keyspace_options).map_err(err)?;
            keyspaces.insert(name, ks);
        }
        Ok(FjallStore {
            db,
            keyspaces: RwLock::new(keyspaces),
            durability: opts.durability,
            group: GroupCommit::default(),
        })
    }

    fn handle(&self, name: &str) -> Result<Keyspace, StorageError> {
        self.keyspaces
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| StorageError::NoKeyspace(name.to_string()))
    }
}

fn kv_iter<'a>(iter: fjall::Iter, reverse: bool) -> KvIter<'a> {
    let map = |g: fjall::Guard| {
        g.into_inner()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .map_err(err)
    };
    if reverse {
        Box::new(iter.rev().map(map))
    } else {
        Box::new(iter.map(map))
    }
}

impl Snapshot for FjallStore {
    fn get(&self, keyspace: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let ks = self.handle(keyspace)?;
        Ok(ks.get(key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn range(
        &self,
        keyspace: &str,
        range: KeyRange,
        reverse: bool,
    ) -> Result<KvIter<'_>, StorageError> {
        let ks = self.handle(keyspace)?;
        Ok(kv_iter(
            ks.range::<Vec<u8>, _>((range.start, range.end)),
            reverse,
        ))
    }
}

struct FjallSnapshot<'a> {
    store: &'a FjallStore,
    snap: fjall::Snapshot,
}

impl Snapshot for FjallSnapshot<'_> {
    fn get(&self, keyspace: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let ks = self.store.handle(keyspace)?;
        Ok(self.snap.get(&ks, key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn range(
        &self,
        keyspace: &str,
        range: KeyRange,
        reverse: bool,
    ) -> Result<KvIter<'_>, StorageError> {
        let ks = self.store.handle(keyspace)?;
        Ok(kv_iter(
            self.snap.range::<Vec<u8>, _>(&ks, (range.start, range.end)),
            reverse,
        ))
    }
}

impl Storage for FjallStore {
    fn stats(&self) -> super::StorageStats {
        let db = &self.db;
        super::StorageStats {
            journal_files: db.journal_count() as u64,
            journal_bytes: db.journal_disk_space().unwrap_or(0),
            write_buffer_bytes: db.write_buffer_size(),
            pending_flushes: db.outstanding_flushes() as u64,
            active_compactions: db.active_compactions() as u64,
            compactions_completed: db.compactions_completed() as u64,
            compaction_seconds: db.time_compacting().as_secs_f64(),
            disk_bytes: db.disk_space().unwrap_or(0),
            block_cache_bytes: db.cache_size(),
            block_cache_capacity_bytes: db.cache_capacity(),
        }
    }

    fn open_keyspace(&self, name: &str) -> Result<(), StorageError> {
        let mut map = self.keyspaces.write();
        if !map.contains_key(name) {
            let ks = self.db.keyspace(name, keyspace_options).map_err(err)?;
            map.insert(name.to_string(), ks);
        }
        Ok(())
    }

    fn drop_keyspace(&self, name: &str) -> Result<(), StorageError> {
        let ks = self.keyspaces.write().remove(name);
        if let Some(ks) = ks {
            self.db.delete_keyspace(ks).map_err(err)?;
        }
        Ok(())
    }

    fn keyspace_names(&self) -> Vec<String> {
        self.keyspaces.read().keys().cloned().collect()
    }

    fn apply_unsynced(&self, ops: Vec<Op>) -> Result<Option<SyncTicket>, StorageError> {
        let mut batch = self.db.batch();
        {
            let map = self.keyspaces.read();
            let lookup = |name: &str| {
                map.get(name)
                    .ok_or_else(|| StorageError::NoKeyspace(name.to_string()))
            };
            for op in ops {
                match op {
                    Op::Put {
                        keyspace,
                        key,
                        value,
                    } => batch.insert(lookup(&keyspace)?, key, value),
                    Op::Delete { keyspace, key } => batch.remove(lookup(&keyspace)?, key),
                }
            }
        }
        // fjall flushes the journal buffer to the OS on commit (survives kill -9).
        batch.commit().map_err(err)?;
        Ok(match self.durability {
            Durability::Fsync => Some(self.group.written()),
            Durability::Process => None,
        })
    }

    fn wait_durable(&self, ticket: SyncTicket) -> Result<(), StorageError> {
        self.group.wait_durable(&self.db, ticket)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(FjallSnapshot {
            store: self,
            snap: self.db.snapshot(),
        })
    }
}

/// Group commit: writers that committed while an fsync was running share the next one.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<GroupState>,
    synced: Condvar,
}

#[derive(Default)]
struct GroupState {
    /// Tickets handed to writers whose batch is in the journal.
    written: u64,
    /// Every ticket up to this one is on disk.
    durable: u64,
    syncing: bool,
}

impl GroupCommit {
    /// The ticket of a batch just committed to the journal.
    fn written(&self) -> SyncTicket {
        let mut s = self.state.lock();
        s.written += 1;
        SyncTicket(s.written)
    }

    fn wait_durable(
        &self,
        db: &Database,
        SyncTicket(ticket): SyncTicket,
    ) -> Result<(), StorageError> {
        let mut s = self.state.lock();
        loop {
            if s.durable >= ticket {
                return Ok(());
            }
            if s.syncing {
                self.synced.wait(&mut s);
                continue;
            }
            // Become the leader: everything written so far is covered by this fsync.
            s.syncing = true;
            let target = s.written;
            drop(s);
            let result = db.persist(PersistMode::SyncData);
            s = self.state.lock();
            s.syncing = false;
            if result.is_ok() {
                s.durable = target;
            }
            self.synced.notify_all();
            result.map_err(err)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Op;

    fn put(ks: &str, k: &[u8], v: &[u8]) -> Op {
        Op::Put {
            keyspace: ks.into(),
            key: k.to_vec(),
            value: v.to_vec(),
        }
    }

    #[test]
    fn batches_ranges_and_keyspace_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path(), StoreOptions::default()).unwrap();
        store.open_keyspace("a").unwrap();
        store.open_keyspace("b").unwrap();
        store
            .apply(vec![
                put("a", b"1", b"x"),
                put("a", b"2", b"y"),
                put("b", b"1", b"z"),
            ])
            .unwrap();
        assert_eq!(store.get("a", b"2").unwrap(), Some(b"y".to_vec()));
        let keys: Vec<Vec<u8>> = store
            .range("a", KeyRange::all(), true)
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(keys, vec![b"2".to_vec(), b"1".to_vec()]);
        store
            .apply(vec![Op::Delete {
                keyspace: "a".into(),
                key: b"1".to_vec(),
            }])
            .unwrap();
        assert_eq!(store.get("a", b"1").unwrap(), None);
        store.drop_keyspace("b").unwrap();
        assert!(matches!(
            store.get("b", b"1"),
            Err(StorageError::NoKeyspace(_))
        ));
        assert!(matches!(
            store.apply(vec![put("b", b"1", b"z")]),
            Err(StorageError::NoKeyspace(_))
        ));
        drop(store);
        let store = FjallStore::open(dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(store.get("a", b"2").unwrap(), Some(b"y".to_vec()));
        assert!(!store.keyspace_names().contains(&"b".to_string()));
    }

    #[test]
    fn second_open_of_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _store = FjallStore::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(matches!(
            FjallStore::open(dir.path(), StoreOptions::default()),
            Err(StorageError::Locked)
        ));
    }

    #[test]
    fn fsync_mode_with_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            durability: Durability::Fsync,
            ..StoreOptions::default()
        };
        let store = std::sync::Arc::new(FjallStore::open(dir.path(), opts).unwrap());
        store.open_keyspace("a").unwrap();
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..20u32 {
                        let key = format!("{t}-{i}");
                        store.apply(vec![put("a", key.as_bytes(), b"v")]).unwrap();
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(
            store.range("a", KeyRange::all(), false).unwrap().count(),
            160
        );
    }
}
