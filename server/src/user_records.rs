//! The user directory's records ([`keyfall_auth::UserStore`]) kept in the server's storage,
//! one record per user name in the `_iam` system keyspace. The adapter lives here, in the
//! wiring, so `keyfall-auth` names no storage type and the proxy links none.

use std::sync::Arc;

use keyfall_auth::{UserStore, IAM_KEYSPACE};

use crate::storage::{KeyRange, Op, Storage, StorageError};

pub struct UserRecords {
    store: Arc<dyn Storage>,
}

impl UserRecords {
    /// Opens (creating if needed) the `_iam` keyspace of `store`.
    pub fn open(store: Arc<dyn Storage>) -> Result<Arc<UserRecords>, StorageError> {
        store.open_keyspace(IAM_KEYSPACE)?;
        Ok(Arc::new(UserRecords { store }))
    }
}

fn words(e: StorageError) -> String {
    e.to_string()
}

impl UserStore for UserRecords {
    fn records(&self) -> Result<Vec<Vec<u8>>, String> {
        self.store
            .range(IAM_KEYSPACE, KeyRange::all(), false)
            .map_err(words)?
            .map(|kv| kv.map(|(_, v)| v).map_err(words))
            .collect()
    }

    fn record(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        self.store.get(IAM_KEYSPACE, name.as_bytes()).map_err(words)
    }

    fn put(&self, name: &str, record: Vec<u8>) -> Result<(), String> {
        self.store
            .apply(vec![Op::Put {
                keyspace: IAM_KEYSPACE.into(),
                key: name.as_bytes().to_vec(),
                value: record,
            }])
            .map_err(words)
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        self.store
            .apply(vec![Op::Delete {
                keyspace: IAM_KEYSPACE.into(),
                key: name.as_bytes().to_vec(),
            }])
            .map_err(words)
    }
}
