//! Encryption at rest: envelope encryption of tables whose `SSESpecification` enables it.
//!
//! Each such table has its own 256-bit data key, stored only wrapped (encrypted) by a
//! master key in its definition (`TableMeta::sse_key`). A [`KeyProvider`] wraps and
//! unwraps data keys; [`MasterKeys`] is the default one (a key file or an environment
//! variable), and a KMS-like provider implements the same trait. Values are sealed with
//! AES-256-GCM (`ring`), a fresh 96-bit random nonce each, and the storage key as
//! associated data, so a ciphertext moved to another item does not open
//! (`storage::encrypted` does it below the engine). Rotating the master key re-wraps the
//! data keys ([`Engine::rewrap_keys`]); nothing is re-encrypted.
//!
//! What stays in clear: storage keys, which order the table (the partition key's hash and
//! bytes, the sort key's encoding), and the table's definition.

use std::sync::Arc;

use base64::Engine as _;
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The first byte of a sealed value; no plaintext value stored by the engine starts
/// with it (items, index entries, stream and log records all start with a small version).
pub const SEALED: u8 = 0xE5;
const TAG_LEN: usize = 16;

/// AES-256-GCM under one key.
pub struct Cipher {
    key: LessSafeKey,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(AES-256-GCM)")
    }
}

impl Cipher {
    pub fn new(key: &[u8]) -> Result<Cipher> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| Error::Internal("an encryption key must be 32 bytes".into()))?;
        Ok(Cipher {
            key: LessSafeKey::new(unbound),
        })
    }

    /// `SEALED ‖ nonce ‖ ciphertext ‖ tag`, authenticated with `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEALED);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(1 + NONCE_LEN);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| Error::Internal("encryption failed".into()))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The plaintext of a sealed value; an error when it was altered, or sealed for other
    /// associated data (another item) or under another key.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        let fail = || {
            Error::Internal(
                "an encrypted value does not authenticate (altered, moved, or another key)".into(),
            )
        };
        let rest = match sealed.split_first() {
            Some((&SEALED, rest)) => rest,
            _ => return Err(fail()),
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(fail());
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| fail())?;
        let n = plain.len();
        body.truncate(n);
        Ok(body)
    }
}

/// A data key wrapped by a master key: which one, and the sealed key (base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub key_id: String,
    pub wrapped: String,
}

/// Wraps and unwraps data keys. `context` (a table id) is bound to the wrapping, so a
/// wrapped key copied into another table's definition does not unwrap.
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// The id of the master key new data keys are wrapped with.
    fn key_id(&self) -> String;
    fn wrap(&self, data_key: &[u8], context: &str) -> Result<WrappedKey>;
    fn unwrap(&self, wrapped: &WrappedKey, context: &str) -> Result<Vec<u8>>;
}

/// The default provider: master keys given as 32 bytes (a key file holds them raw, or as
/// base64 text), the first current, the others previous ones still able to unwrap.
#[derive(Debug)]
pub struct MasterKeys {
    keys: Vec<(String, Cipher)>,
}

/// A key's id: the first 8 bytes of its SHA-256, hex (never the key itself).
fn key_id_of(key: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key);
    digest
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 32 key bytes from a key file's or variable's content: raw, or base64 text.
pub fn parse_master_key(content: &[u8]) -> Result<Vec<u8>> {
    if content.len() == 32 {
        return Ok(content.to_vec());
    }
    let text = std::str::from_utf8(content).map(str::trim).unwrap_or("");
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(key) if key.len() == 32 => Ok(key),
        _ => Err(Error::validation(
            "a master key must be 32 bytes, raw or in base64",
        )),
    }
}

impl MasterKeys {
    /// `current` first, then the previous keys (for rotation).
    pub fn new(current: &[u8], previous: &[Vec<u8>]) -> Result<MasterKeys> {
        let keys = std::iter::once(current)
            .chain(previous.iter().map(Vec::as_slice))
            .map(|k| Ok((key_id_of(k), Cipher::new(k)?)))
            .collect::<Result<_>>()?;
        Ok(MasterKeys { keys })
    }

    /// A new random master key (32 bytes).
    pub fn generate() -> Vec<u8> {
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        key
    }
}

impl KeyProvider for MasterKeys {
    fn key_id(&self) -> String {
        self.keys
            .first()
            .map(|(id, _)| id.clone())
            .unwrap_or_default()
    }

    fn wrap(&self, data_key: &[u8], context: &str) -> Result<WrappedKey> {
        let (id, cipher) = self
            .keys
            .first()
            .ok_or_else(|| Error::Internal("no master key".into()))?;
        Ok(WrappedKey {
            key_id: id.clone(),
            wrapped: base64::engine::general_purpose::STANDARD
                .encode(cipher.seal(context.as_bytes(), data_key)?),
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, context: &str) -> Result<Vec<u8>> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == wrapped.key_id)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "the master key {} is not configured (give it as a previous master key to rotate away from it)",
                    wrapped.key_id
                ))
            })?;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&wrapped.wrapped)
            .map_err(|_| Error::Internal("a wrapped data key is not base64".into()))?;
        cipher.open(context.as_bytes(), &sealed)
    }
}

/// A new data key, wrapped for `context`.
pub fn new_data_key(provider: &dyn KeyProvider, context: &str) -> Result<WrappedKey> {
    let key = MasterKeys::generate();
    provider.wrap(&key, context)
}

/// The cipher of a wrapped data key.
pub fn cipher_of(
    provider: &dyn KeyProvider,
    wrapped: &WrappedKey,
    context: &str,
) -> Result<Arc<Cipher>> {
    Ok(Arc::new(Cipher::new(&provider.unwrap(wrapped, context)?)?))
}

impl crate::Engine {
    /// Re-wraps every data key not wrapped by the current master key (after a rotation:
    /// the new key current, the old one given as previous): tables' keys in the catalog,
    /// backups' and point-in-time-recovery bases' in their records and manifests. The
    /// data is not touched. Returns how many keys it re-wrapped.
    pub(crate) fn rewrap_keys(&self) -> Result<usize> {
        let Some(keys) = self.config.keys.clone() else {
            return Ok(0);
        };
        let current = keys.key_id();
        let rewrap = |w: &WrappedKey, context: &str| -> Result<Option<WrappedKey>> {
            if w.key_id == current {
                return Ok(None);
            }
            let key = keys.unwrap(w, context)?;
            keys.wrap(&key, context).map(Some)
        };
        let mut done = 0;
        for table in self.catalog.all() {
            let Some(w) = &table.meta.sse_key else {
                continue;
            };
            if let Some(new) = rewrap(w, &table.meta.id)? {
                let _schema = self.schema_lock.write();
                self.catalog.update(
                    self.store.as_ref(),
                    &table.meta.name,
                    &table.meta.id,
                    |m| {
                        m.sse_key = Some(new.clone());
                        Ok(())
                    },
                )?;
                done += 1;
            }
        }
        for kv in self.store.range(
            super::backup::BACKUPS_KEYSPACE,
            crate::storage::KeyRange::all(),
            false,
        )? {
            let (_, v) = kv?;
            let Ok(mut record) = serde_json::from_slice::<super::backup::BackupRecord>(&v) else {
                continue;
            };
            let Some(w) = record.table.sse_key.clone() else {
                continue;
            };
            if let Some(new) = rewrap(&w, &record.table.id)? {
                record.table.sse_key = Some(new);
                self.put_backup_record(&record)?;
                done += 1;
            }
        }
        // Manifests on disk: backups and bases.
        let Ok(root) = self.backup_dir() else {
            return Ok(done);
        };
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            dirs.push(entry.path());
        }
        for table in std::fs::read_dir(root.join("pitr"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for base in std::fs::read_dir(table.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                dirs.push(base.path());
            }
        }
        for dir in dirs {
            let path = dir.join(super::backup::file::MANIFEST_FILE);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(mut manifest) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let Some(e) = manifest.pointer("/data/encryption").cloned() else {
                continue;
            };
            let Ok(about) = serde_json::from_value::<super::backup::file::DataEncryption>(e) else {
                continue;
            };
            let Some(new) = rewrap(&about.key, &about.context)? else {
                continue;
            };
            let new_json =
                serde_json::to_value(&new).map_err(|e| Error::Internal(e.to_string()))?;
            if let Some(slot) = manifest.pointer_mut("/data/encryption/key") {
                *slot = new_json.clone();
            }
            if let Some(slot) = manifest.pointer_mut("/backup/table/sse_key") {
                *slot = new_json;
            }
            let text =
                serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
            let tmp = dir.join("manifest.json.rewrap");
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
            done += 1;
        }
        if done > 0 {
            tracing::info!(keys = done, master_key = %current, "data keys re-wrapped under the current master key");
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_key_and_associated_data() {
        let c = Cipher::new(&[7u8; 32]).unwrap();
        let sealed = c.seal(b"item-1", b"secret").unwrap();
        assert_eq!(sealed[0], SEALED);
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(c.open(b"item-1", &sealed).unwrap(), b"secret");
        assert!(c.open(b"item-2", &sealed).is_err(), "moved to another item");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(c.open(b"item-1", &altered).is_err());
        assert!(Cipher::new(&[8u8; 32])
            .unwrap()
            .open(b"item-1", &sealed)
            .is_err());
        assert_ne!(
            c.seal(b"item-1", b"secret").unwrap(),
            sealed,
            "fresh nonces"
        );
    }

    #[test]
    fn data_keys_unwrap_with_a_previous_master_key_and_only_for_their_table() {
        let old = MasterKeys::new(&[1u8; 32], &[]).unwrap();
        let wrapped = new_data_key(&old, "table-a").unwrap();
        assert!(old.unwrap(&wrapped, "table-b").is_err());
        let rotated = MasterKeys::new(&[2u8; 32], &[vec![1u8; 32]]).unwrap();
        let key = rotated.unwrap(&wrapped, "table-a").unwrap();
        let rewrapped = rotated.wrap(&key, "table-a").unwrap();
        assert_eq!(rewrapped.key_id, rotated.key_id());
        assert_ne!(rewrapped.key_id, wrapped.key_id);
        let only_new = MasterKeys::new(&[2u8; 32], &[]).unwrap();
        assert_eq!(only_new.unwrap(&rewrapped, "table-a").unwrap(), key);
        assert!(only_new
            .unwrap(&wrapped, "table-a")
            .unwrap_err()
            .to_string()
            .contains("not configured"));
        assert_eq!(
            parse_master_key(
                base64::engine::general_purpose::STANDARD
                    .encode([3u8; 32])
                    .as_bytes()
            )
            .unwrap(),
            vec![3u8; 32]
        );
        assert!(parse_master_key(b"short").is_err());
    }
}
