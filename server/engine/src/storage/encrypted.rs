//! A [`Storage`] that seals the values of registered keyspaces (those of encrypted tables:
//! the table, its indexes, its stream, its point-in-time-recovery log) on the way down and
//! opens them on the way up, with the storage key as associated data. Everything above it
//! sees plaintext; nothing below it does.
//!
//! Values of unregistered keyspaces pass through untouched. In a registered keyspace every
//! value must be sealed (a keyspace is registered before its first write, and a table's
//! encryption never changes), so a value put there in clear behind the server's back is an
//! error rather than data.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::{KeyRange, KvIter, Op, Snapshot, Storage, StorageError, StorageStats, SyncTicket};
use crate::encryption::{Cipher, SEALED};

/// The cipher of each registered keyspace.
#[derive(Debug, Default)]
pub struct Ciphers {
    by_keyspace: RwLock<HashMap<String, Arc<Cipher>>>,
}

impl Ciphers {
    pub fn register(&self, keyspace: &str, cipher: Arc<Cipher>) {
        self.by_keyspace
            .write()
            .insert(keyspace.to_string(), cipher);
    }

    pub fn unregister(&self, keyspace: &str) {
        self.by_keyspace.write().remove(keyspace);
    }

    fn get(&self, keyspace: &str) -> Option<Arc<Cipher>> {
        self.by_keyspace.read().get(keyspace).cloned()
    }
}

fn open(
    cipher: Option<&Cipher>,
    keyspace: &str,
    key: &[u8],
    value: Vec<u8>,
) -> Result<Vec<u8>, StorageError> {
    match cipher {
        None => Ok(value),
        Some(c) if value.first() == Some(&SEALED) => c
            .open(key, &value)
            .map_err(|e| StorageError::Engine(format!("{keyspace}: {e}"))),
        Some(_) => Err(StorageError::Engine(format!(
            "{keyspace}: a value of an encrypted table is not encrypted"
        ))),
    }
}

fn range_opened<'a>(ciphers: &Ciphers, keyspace: &str, iter: KvIter<'a>) -> KvIter<'a> {
    match ciphers.get(keyspace) {
        None => iter,
        Some(cipher) => {
            let keyspace = keyspace.to_string();
            Box::new(iter.map(move |kv| {
                let (k, v) = kv?;
                let v = open(Some(&cipher), &keyspace, &k, v)?;
                Ok((k, v))
            }))
        }
    }
}

pub struct EncryptedStore {
    inner: Arc<dyn Storage>,
    ciphers: Arc<Ciphers>,
}

impl EncryptedStore {
    pub fn new(inner: Arc<dyn Storage>, ciphers: Arc<Ciphers>) -> EncryptedStore {
        EncryptedStore { inner, ciphers }
    }
}

/// A read through `inner` with the values of registered keyspaces opened: the one read
/// path of the store and of its snapshots.
fn get_opened(
    inner: &dyn Snapshot,
    ciphers: &Ciphers,
    keyspace: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    let cipher = ciphers.get(keyspace);
    inner
        .get(keyspace, key)?
        .map(|v| open(cipher.as_deref(), keyspace, key, v))
        .transpose()
}

impl Snapshot for EncryptedStore {
    fn get(&self, keyspace: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        get_opened(self.inner.as_ref(), &self.ciphers, keyspace, key)
    }

    fn range(
        &self,
        keyspace: &str,
        range: KeyRange,
        reverse: bool,
    ) -> Result<KvIter<'_>, StorageError> {
        let iter = self.inner.range(keyspace, range, reverse)?;
        Ok(range_opened(&self.ciphers, keyspace, iter))
    }
}

struct EncryptedSnapshot<'a> {
    inner: Box<dyn Snapshot + 'a>,
    ciphers: &'a Ciphers,
}

impl Snapshot for EncryptedSnapshot<'_> {
    fn get(&self, keyspace: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        get_opened(self.inner.as_ref(), self.ciphers, keyspace, key)
    }

    fn range(
        &self,
        keyspace: &str,
        range: KeyRange,
        reverse: bool,
    ) -> Result<KvIter<'_>, StorageError> {
        let iter = self.inner.range(keyspace, range, reverse)?;
        Ok(range_opened(self.ciphers, keyspace, iter))
    }
}

impl Storage for EncryptedStore {
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
        let ops = ops
            .into_iter()
            .map(|op| match op {
                Op::Put {
                    keyspace,
                    key,
                    value,
                } => match self.ciphers.get(&keyspace) {
                    Some(cipher) => {
                        let value = cipher
                            .seal(&key, &value)
                            .map_err(|e| StorageError::Engine(e.to_string()))?;
                        Ok(Op::Put {
                            keyspace,
                            key,
                            value,
                        })
                    }
                    None => Ok(Op::Put {
                        keyspace,
                        key,
                        value,
                    }),
                },
                delete => Ok(delete),
            })
            .collect::<Result<Vec<Op>, StorageError>>()?;
        self.inner.apply_unsynced(ops)
    }

    fn wait_durable(&self, ticket: SyncTicket) -> Result<(), StorageError> {
        self.inner.wait_durable(ticket)
    }

    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(EncryptedSnapshot {
            inner: self.inner.snapshot(),
            ciphers: &self.ciphers,
        })
    }

    fn stats(&self) -> StorageStats {
        self.inner.stats()
    }
}
