//! The JSON records of background jobs (backups, exports, imports), one per id in a system
//! keyspace, and their ids: one reader and writer for the three.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::storage::{KeyRange, Op, Storage};

pub(crate) fn get<T: DeserializeOwned>(
    store: &dyn Storage,
    keyspace: &str,
    id: &str,
) -> Result<Option<T>> {
    let Some(bytes) = store.get(keyspace, id.as_bytes())? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Internal(format!("{keyspace} record {id}: {e}")))
}

pub(crate) fn put<T: Serialize>(
    store: &dyn Storage,
    keyspace: &str,
    id: &str,
    record: &T,
) -> Result<()> {
    let value = serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?;
    store.apply(vec![Op::Put {
        keyspace: keyspace.into(),
        key: id.as_bytes().to_vec(),
        value,
    }])?;
    Ok(())
}

/// Every readable record, in id order (ids start with their creation time: oldest first).
pub(crate) fn all<T: DeserializeOwned>(store: &dyn Storage, keyspace: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for kv in store.range(keyspace, KeyRange::all(), false)? {
        let (id, v) = kv?;
        match serde_json::from_slice::<T>(&v) {
            Ok(r) => out.push(r),
            Err(e) => {
                tracing::warn!(keyspace, id = %String::from_utf8_lossy(&id), error = %e, "unreadable record skipped")
            }
        }
    }
    Ok(out)
}

/// A job's id as DynamoDB makes them: its creation time in milliseconds (14 digits) and 8
/// random hex digits.
pub(crate) fn new_id(created_at: f64) -> String {
    let millis = (created_at * 1000.0) as u64;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{millis:014}-{}", random.get(..8).unwrap_or("00000000"))
}
