//! DynamoDB Streams: each stream's records, read, trimmed and recovered. Records are
//! written by the commit path (`commit`), in the same atomic batch as their change.
//!
//! Each stream has one shard whose records are stored in the stream's keyspace under a
//! big-endian sequence number. A table's commits that emit records take the stream's
//! mutex from sequence assignment to apply, so records become visible in sequence order,
//! with no gaps a reader could step over: a subscriber that has read up to N never
//! misses a record it has not seen.

use std::sync::Arc;

use parking_lot::Mutex;

use super::catalog::{ClosedStream, StreamMeta, Table, CLOSED_STREAM_LIFETIME_SECONDS};
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::model::codec;
use crate::storage::{KeyRange, Op, Storage};

/// Each stream's high-water mark (its keyspace name → the last sequence number trimmed,
/// u64 big endian), written in the batch that trims: a stream trimmed to empty resumes its
/// sequence after a restart instead of reusing numbers a consumer has already seen.
pub const STREAM_MARKS_KEYSPACE: &str = "_stream_marks";

/// Per-stream state shared by every definition of the table.
#[derive(Debug, Default)]
pub struct StreamState {
    /// The last sequence number committed; held while a commit assigns and applies.
    pub(crate) last: Mutex<u64>,
    /// Wakes push-feed subscribers after each commit.
    pub changed: tokio::sync::Notify,
}

impl StreamState {
    /// Restores the counter: the last stored record, or the high-water mark left by
    /// trimming, whichever is later.
    pub fn recover(&self, store: &dyn Storage, keyspace: &str) -> Result<()> {
        let mut last = 0;
        if let Some(kv) = store.range(keyspace, KeyRange::all(), true)?.next() {
            let (k, _) = kv?;
            last = seq_from_key(&k).unwrap_or(0);
        }
        if let Some(mark) = store.get(STREAM_MARKS_KEYSPACE, keyspace.as_bytes())? {
            last = last.max(seq_from_key(&mark).unwrap_or(0));
        }
        *self.last.lock() = last;
        Ok(())
    }

    pub fn last(&self) -> u64 {
        *self.last.lock()
    }
}

pub fn seq_key(seq: u64) -> Vec<u8> {
    seq.to_be_bytes().to_vec()
}

pub fn seq_from_key(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.try_into().ok()?))
}

/// DynamoDB's rendering of sequence numbers: 21 digits.
pub fn seq_string(seq: u64) -> String {
    format!("{seq:021}")
}

pub use keyfall_types::streams::{Identity, StreamRecord, StreamRecordBody};

impl Engine {
    /// Records of `table`'s current stream after sequence number `after`, at most `limit`.
    pub fn stream_records(
        &self,
        table: &Table,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, StreamRecord)>> {
        match &table.meta.stream {
            Some(stream) => self.stream_records_in(stream, after, limit),
            None => Ok(Vec::new()),
        }
    }

    /// Records of a stream (current or closed) after `after`, at most `limit`.
    pub fn stream_records_in(
        &self,
        stream: &StreamMeta,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, StreamRecord)>> {
        let range = KeyRange {
            start: std::ops::Bound::Excluded(seq_key(after)),
            end: std::ops::Bound::Unbounded,
        };
        let mut out = Vec::new();
        for kv in self
            .store
            .range(&stream.keyspace, range, false)?
            .take(limit)
        {
            let (k, v) = kv?;
            let seq = seq_from_key(&k).ok_or_else(|| Error::Internal("bad stream key".into()))?;
            let rec = codec::decode_record(&v).map_err(|e| Error::Internal(e.to_string()))?;
            out.push((seq, rec));
        }
        Ok(out)
    }

    /// The first retained sequence number of the stream (0 when empty).
    pub fn stream_first(&self, table: &Table) -> Result<u64> {
        match &table.meta.stream {
            Some(stream) => self.stream_end_in(stream, false),
            None => Ok(0),
        }
    }

    /// A stream's first (`last == false`) or last retained sequence number; when it holds
    /// none, 0 for the first and the trimming high-water mark (or 0) for the last.
    pub fn stream_end_in(&self, stream: &StreamMeta, last: bool) -> Result<u64> {
        match self
            .store
            .range(&stream.keyspace, KeyRange::all(), last)?
            .next()
        {
            Some(kv) => Ok(seq_from_key(&kv?.0).unwrap_or(0)),
            None if last => Ok(self
                .store
                .get(STREAM_MARKS_KEYSPACE, stream.keyspace.as_bytes())?
                .and_then(|m| seq_from_key(&m))
                .unwrap_or(0)),
            None => Ok(0),
        }
    }

    /// Drops records older than the retention period, and disabled streams a day after
    /// they closed.
    pub fn trim_streams(&self) -> Result<usize> {
        let now = now_epoch_seconds();
        let cutoff = now - self.config.stream_retention.as_secs_f64();
        let mut trimmed = 0;
        for table in self.catalog.all() {
            let expired = |c: &ClosedStream| c.closed_at + CLOSED_STREAM_LIFETIME_SECONDS < now;
            if table.meta.closed_streams.iter().any(expired) {
                let _schema = self.schema_lock.write();
                let (_, gone) = self.catalog.update(
                    self.store.as_ref(),
                    &table.meta.name,
                    &table.meta.id,
                    |meta| {
                        let (gone, kept) = std::mem::take(&mut meta.closed_streams)
                            .into_iter()
                            .partition(expired);
                        meta.closed_streams = kept;
                        Ok(gone)
                    },
                )?;
                for c in gone {
                    self.store.drop_keyspace(&c.stream.keyspace)?;
                }
            }
        }
        for table in self.catalog.all() {
            let streams = table
                .meta
                .stream
                .iter()
                .chain(table.meta.closed_streams.iter().map(|c| &c.stream));
            for stream in streams {
                let mut ops = Vec::new();
                let mut mark = None;
                for kv in self
                    .store
                    .range(&stream.keyspace, KeyRange::all(), false)?
                    .take(1000)
                {
                    let (k, v) = kv?;
                    let old = codec::decode_record(&v)
                        .map(|r| r.dynamodb.approximate_creation_date_time < cutoff)
                        .unwrap_or(true);
                    if !old {
                        break;
                    }
                    mark = seq_from_key(&k).or(mark);
                    ops.push(Op::Delete {
                        keyspace: stream.keyspace.clone(),
                        key: k,
                    });
                }
                trimmed += ops.len();
                if let Some(mark) = mark {
                    ops.push(Op::Put {
                        keyspace: STREAM_MARKS_KEYSPACE.into(),
                        key: stream.keyspace.as_bytes().to_vec(),
                        value: seq_key(mark),
                    });
                    self.store.apply(ops)?;
                }
            }
        }
        Ok(trimmed)
    }

    pub fn table_by_name(&self, name: &str) -> Option<Arc<Table>> {
        self.catalog.get(name)
    }
}
