//! The one commit path every write goes through ([`Engine::commit_changes`]): an item's
//! change, its index entries and its stream record are one atomic storage batch, then the
//! counters move and the change feeds hear of it. A table's commits that emit records take
//! the stream's mutex from sequence assignment to apply, so records become visible in
//! sequence order, with no gaps a reader could step over.

use super::catalog::Table;
use super::indexes;
use super::streams::{seq_key, seq_string, Identity, StreamRecord, StreamRecordBody};
use super::{now_epoch_seconds, Engine};
use crate::error::Result;
use crate::model::{codec, item_size, Item};
use crate::storage::Op;

/// Who made a change: a client, or the TTL sweeper (which DynamoDB marks as a service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Client,
    TimeToLive,
}

/// One change of one item, as every write path hands it to [`Engine::commit_changes`].
pub struct Change<'a> {
    pub table: &'a Table,
    pub key: &'a [u8],
    pub old: Option<&'a Item>,
    pub new: Option<&'a Item>,
}

fn record(
    table: &Table,
    change: &Change<'_>,
    origin: Origin,
    region: &str,
) -> Option<StreamRecord> {
    let stream = table.meta.stream.as_ref()?;
    let (event, key_source) = match (change.old, change.new) {
        (None, None) => return None,
        // A write that changes nothing emits no record, as in DynamoDB.
        (Some(o), Some(n)) if o == n => return None,
        (None, Some(n)) => ("INSERT", n),
        (Some(_), Some(n)) => ("MODIFY", n),
        (Some(o), None) => ("REMOVE", o),
    };
    let keys = table.meta.key_schema.extract_key(key_source);
    let (new_image, old_image) = match stream.view_type.as_str() {
        "NEW_IMAGE" => (change.new.cloned(), None),
        "OLD_IMAGE" => (None, change.old.cloned()),
        "NEW_AND_OLD_IMAGES" => (change.new.cloned(), change.old.cloned()),
        _ => (None, None),
    };
    let size = item_size(&keys)
        + new_image.as_ref().map_or(0, item_size)
        + old_image.as_ref().map_or(0, item_size);
    Some(StreamRecord {
        event_id: uuid::Uuid::new_v4().to_string(),
        event_name: event.into(),
        event_version: "1.1".into(),
        event_source: "aws:dynamodb".into(),
        aws_region: region.to_string(),
        dynamodb: StreamRecordBody {
            approximate_creation_date_time: now_epoch_seconds().floor(),
            keys,
            new_image,
            old_image,
            sequence_number: String::new(),
            size_bytes: size as i64,
            stream_view_type: stream.view_type.clone(),
        },
        user_identity: (origin == Origin::TimeToLive).then(|| Identity {
            principal_id: "dynamodb.amazonaws.com".into(),
            kind: "Service".into(),
        }),
    })
}

impl Engine {
    /// Commits item changes with their index entries and stream records, plus `extra` ops,
    /// as one atomic storage batch; then updates counters and wakes stream subscribers.
    /// Callers hold the items' locks.
    pub(crate) fn commit_changes(
        &self,
        changes: &[Change<'_>],
        extra: Vec<Op>,
        origin: Origin,
    ) -> Result<()> {
        let collections = self.check_collections(changes)?;
        let mut ops = extra;
        let mut records: Vec<(&Table, StreamRecord)> = Vec::new();
        // The stored form of each new item of a PITR table, for its log record: the base
        // write's bytes, not a second encoding.
        let mut stored = Vec::with_capacity(changes.len());
        for c in changes {
            super::observe::write(c.table, c.key, c.old, c.new);
            let change = indexes::change_ops(c.table, c.key, c.old, c.new);
            stored.push(match (change.first(), &c.table.meta.pitr) {
                (Some(Op::Put { value, .. }), Some(_)) => Some(value.clone()),
                _ => None,
            });
            ops.extend(change);
            if let Some(r) = record(c.table, c, origin, &self.config.region) {
                records.push((c.table, r));
            }
        }
        // Point-in-time recovery's log: its clocks are held until the batch is applied, so
        // log order is commit order (a base's cut holds exactly the records up to its last).
        let _pitr_clocks =
            super::pitr::log_changes(self.store.as_ref(), changes, stored, &mut ops)?;
        if records.is_empty() {
            self.apply_ops(ops)?;
        } else {
            // Lock each stream once, in keyspace order (no deadlock between transactions).
            let mut streams: Vec<&Table> = records.iter().map(|(t, _)| *t).collect();
            streams.sort_by(|a, b| a.meta.keyspace.cmp(&b.meta.keyspace));
            streams.dedup_by(|a, b| a.meta.keyspace == b.meta.keyspace);
            let mut guards: Vec<(&Table, parking_lot::MutexGuard<'_, u64>, u64)> = streams
                .iter()
                .map(|t| (*t, t.stream.last.lock(), 0))
                .collect();
            for (table, mut rec) in records {
                let Some((_, guard, added)) = guards
                    .iter_mut()
                    .find(|(t, _, _)| t.meta.keyspace == table.meta.keyspace)
                else {
                    continue;
                };
                let seq = **guard + *added + 1;
                *added += 1;
                rec.dynamodb.sequence_number = seq_string(seq);
                let Some(stream) = &table.meta.stream else {
                    continue;
                };
                let value = codec::encode_record(&rec);
                ops.push(Op::Put {
                    keyspace: stream.keyspace.clone(),
                    key: seq_key(seq),
                    value,
                });
            }
            self.apply_ops(ops)?;
            for (table, guard, added) in &mut guards {
                **guard += *added;
                table.stream.changed.notify_waiters();
            }
        }
        collections.into_iter().for_each(|g| g.commit());
        for c in changes {
            indexes::account(c.table, c.key, c.old, c.new);
            // Still under the items' locks: one item's events go out in commit order.
            c.table.changes.publish(c);
        }
        Ok(())
    }
}
