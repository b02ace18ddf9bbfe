//! Time To Live: UpdateTimeToLive, DescribeTimeToLive and the background sweeper.
//!
//! Expired items are already invisible to reads (`TableMeta::visible`); the sweeper
//! reclaims their space. It walks each TTL table in bounded chunks, resuming where the
//! previous tick stopped, and deletes each expired item (and its index entries) under the
//! item's lock after re-reading it, so it never races a concurrent write.
//!
//! Deliberately relaxed from DynamoDB: TTL may be toggled again at once (DynamoDB refuses
//! a second change within an hour).

use std::collections::HashMap;
use std::ops::Bound;

use parking_lot::Mutex;

use super::commit::{Change, Origin};
use super::types::{
    TableNameInput, TimeToLiveDescription, TimeToLiveSpecification, UpdateTimeToLiveInput,
};
use super::{required, Engine};
use crate::error::{Error, Result};
use crate::model::codec;
use crate::storage::KeyRange;

/// Items examined per table per sweeper tick.
const SWEEP_CHUNK: usize = 1000;

/// Where the sweeper stopped in each table (by keyspace).
#[derive(Default)]
pub struct SweepCursors(Mutex<HashMap<String, Vec<u8>>>);

impl Engine {
    pub fn update_time_to_live(
        &self,
        input: UpdateTimeToLiveInput,
    ) -> Result<TimeToLiveSpecification> {
        let _schema = self.schema_lock.write();
        let table = self.table(&input.table_name)?;
        let spec = required(&input.time_to_live_specification, "timeToLiveSpecification")?;
        if spec.attribute_name.is_empty() || spec.attribute_name.len() > 255 {
            return Err(Error::validation(
                "1 validation error detected: Value at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255",
            ));
        }
        self.catalog.update(
            self.store.as_ref(),
            &table.meta.name,
            &table.meta.id,
            |meta| {
                match (&meta.ttl_attribute, spec.enabled) {
                    (Some(current), _) if *current != spec.attribute_name => {
                        Err(Error::validation(format!(
                            "TimeToLive is active on a different AttributeName: current AttributeName is {current}"
                        )))
                    }
                    (Some(_), true) => Err(Error::validation("TimeToLive is already enabled")),
                    (None, false) => Err(Error::validation("TimeToLive is already disabled")),
                    (Some(current), false) if *current != spec.attribute_name => {
                        Err(Error::validation(format!(
                            "TimeToLive is active on a different AttributeName: current AttributeName is {current}"
                        )))
                    }
                    (_, enabled) => {
                        meta.ttl_attribute = enabled.then(|| spec.attribute_name.clone());
                        Ok(())
                    }
                }
            },
        )?;
        Ok(spec.clone())
    }

    pub fn describe_time_to_live(&self, input: TableNameInput) -> Result<TimeToLiveDescription> {
        let table = self.table(&input.table_name)?;
        Ok(match &table.meta.ttl_attribute {
            Some(attr) => TimeToLiveDescription {
                time_to_live_status: "ENABLED".into(),
                attribute_name: Some(attr.clone()),
            },
            None => TimeToLiveDescription {
                time_to_live_status: "DISABLED".into(),
                attribute_name: None,
            },
        })
    }

    /// One sweeper tick: examines up to `SWEEP_CHUNK` items of each TTL table and deletes
    /// the expired ones. Returns how many it deleted.
    pub fn sweep_expired(&self) -> Result<usize> {
        let mut deleted = 0;
        for table in self
            .catalog
            .all()
            .into_iter()
            .filter(|t| t.meta.ttl_attribute.is_some())
        {
            let keyspace = table.meta.keyspace.clone();
            let start = self.sweep_cursors.0.lock().get(&keyspace).cloned();
            let range = KeyRange {
                start: start.map_or(Bound::Unbounded, Bound::Excluded),
                end: Bound::Unbounded,
            };
            let mut expired = Vec::new();
            let mut last = None;
            let mut examined = 0;
            for kv in self.store.range(&keyspace, range, false)?.take(SWEEP_CHUNK) {
                let (key, value) = kv?;
                examined += 1;
                if codec::decode_item(&value).is_ok_and(|item| table.meta.is_expired(&item)) {
                    expired.push(key.clone());
                }
                last = Some(key);
            }
            // A short chunk reached the end: the next tick starts over.
            let mut cursors = self.sweep_cursors.0.lock();
            match last.filter(|_| examined == SWEEP_CHUNK) {
                Some(k) => cursors.insert(keyspace.clone(), k),
                None => cursors.remove(&keyspace),
            };
            drop(cursors);
            for key in expired {
                let _schema = self.schema_lock.read();
                let Some(current) = self
                    .catalog
                    .get(&table.meta.name)
                    .filter(|t| t.meta.id == table.meta.id)
                else {
                    break;
                };
                let _item = self.lock_item(&keyspace, &key);
                let Some(item) = self.read_stored(&keyspace, &key)? else {
                    continue;
                };
                if current.meta.is_expired(&item) {
                    self.commit_changes(
                        &[Change {
                            table: &current,
                            key: &key,
                            old: Some(&item),
                            new: None,
                        }],
                        Vec::new(),
                        Origin::TimeToLive,
                    )?;
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }
}
