//! The one narrow interface between the engine and the bytes on disk: named, ordered
//! keyspaces; atomic batches across keyspaces; point reads and range scans; snapshots.
//!
//! fjall implements it today (`fjall_store`). Nothing above this module names a fjall
//! type, so a distributed engine can implement the same trait later.

pub mod encrypted;
mod fjall_store;

use std::ops::Bound;

pub use fjall_store::{FjallStore, StoreOptions};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the data directory is locked by another process")]
    Locked,
    #[error("keyspace {0} does not exist")]
    NoKeyspace(String),
    #[error("storage failure: {0}")]
    Engine(String),
}

/// How an acknowledged write is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Journal flushed to the OS before the acknowledgement: survives a process crash
    /// (`kill -9`), not a power cut.
    #[default]
    Process,
    /// Every acknowledgement waits for an fsync; concurrent writers share fsyncs.
    Fsync,
}

/// A committed batch's place in the order of durability: waiting for a ticket makes every
/// batch committed before it durable too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyncTicket(pub u64);

/// One write of an atomic batch.
#[derive(Debug, Clone)]
pub enum Op {
    Put {
        keyspace: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        keyspace: String,
        key: Vec<u8>,
    },
}

pub type KvPair = (Vec<u8>, Vec<u8>);
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<KvPair, StorageError>> + Send + 'a>;

/// Key range of a scan.
#[derive(Debug, Clone)]
pub struct KeyRange {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    pub fn all() -> Self {
        KeyRange {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        let after_start = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let before_end = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        after_start && before_end
    }

    /// A range no key falls in.
    pub fn empty() -> Self {
        KeyRange {
            start: Bound::Excluded(Vec::new()),
            end: Bound::Excluded(Vec::new()),
        }
    }
}

/// A consistent read view across keyspaces.
pub trait Snapshot: Send + Sync {
    fn get(&self, keyspace: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    fn range(
        &self,
        keyspace: &str,
        range: KeyRange,
        reverse: bool,
    ) -> Result<KvIter<'_>, StorageError>;
}

/// Figures of the storage engine for `/metrics`. Every figure is as of the call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageStats {
    /// Journal files (write-ahead log segments) on disk, and their bytes.
    pub journal_files: u64,
    pub journal_bytes: u64,
    /// Bytes in the memtables of all keyspaces (the write buffer).
    pub write_buffer_bytes: u64,
    /// Memtables waiting to be flushed to disk.
    pub pending_flushes: u64,
    pub active_compactions: u64,
    pub compactions_completed: u64,
    pub compaction_seconds: f64,
    /// Bytes of the whole store on disk.
    pub disk_bytes: u64,
    pub block_cache_bytes: u64,
    pub block_cache_capacity_bytes: u64,
}

/// All calls block: call them from `spawn_blocking` or a storage thread, never from an
/// async worker.
pub trait Storage: Snapshot {
    /// Creates the keyspace if needed.
    fn open_keyspace(&self, name: &str) -> Result<(), StorageError>;
    /// Drops a keyspace and its data.
    fn drop_keyspace(&self, name: &str) -> Result<(), StorageError>;
    fn keyspace_names(&self) -> Vec<String>;
    /// Applies all ops atomically; returns once the batch is as durable as configured.
    fn apply(&self, ops: Vec<Op>) -> Result<(), StorageError> {
        match self.apply_unsynced(ops)? {
            Some(ticket) => self.wait_durable(ticket),
            None => Ok(()),
        }
    }
    /// Applies all ops atomically (visible to readers, and surviving a process crash);
    /// returns the ticket to wait for when the configured durability needs more (fsync).
    fn apply_unsynced(&self, ops: Vec<Op>) -> Result<Option<SyncTicket>, StorageError>;
    /// Returns once every batch up to `ticket` is on disk; concurrent waiters share fsyncs.
    fn wait_durable(&self, ticket: SyncTicket) -> Result<(), StorageError>;
    fn snapshot(&self) -> Box<dyn Snapshot + '_>;
    /// Cheap counters of the engine (no I/O beyond a directory walk for sizes).
    fn stats(&self) -> StorageStats;
}

impl From<StorageError> for crate::error::Error {
    fn from(e: StorageError) -> Self {
        match e {
            // The table was deleted while the request was in flight.
            StorageError::NoKeyspace(_) => {
                crate::error::Error::ResourceNotFound("Requested resource not found".into())
            }
            other => crate::error::Error::Internal(other.to_string()),
        }
    }
}
