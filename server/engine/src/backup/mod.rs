//! On-demand backups: `CreateBackup`, `DescribeBackup`, `ListBackups`, `DeleteBackup`,
//! `RestoreTableFromBackup`.
//!
//! A backup is a storage snapshot of the table, taken under the schema lock (so its
//! definition is the one its items were written under) and written out by a background
//! thread: the request returns as soon as the cut is made, writers never wait for it, and
//! it consumes no capacity. Index entries are not copied: a restore rebuilds them from the
//! items, so a restored index always agrees with its table. Items already expired by TTL at
//! the cut are left out, as no read could see them.
//!
//! Each backup has a record in the `_backups` keyspace (its status, its table's definition)
//! and a directory `<backup dir>/<backup id>/` in the format of [`file`].

pub mod file;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::catalog::{BillingMode, TableMeta};
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::storage::{KeyRange, Op};
use crate::types::{
    KeySchemaElement, OnDemandThroughput, Projection, ProvisionedThroughput, SseDescription,
    StreamSpecification, TimeToLiveDescription,
};
use keyfall_types::backup::*;
use keyfall_types::command::{required, table_name, validate_name};

/// Backup records: backup id → JSON [`BackupRecord`]. Ids start with the creation time in
/// milliseconds, so key order is creation order.
pub const BACKUPS_KEYSPACE: &str = "_backups";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupStatus {
    Creating,
    Available,
}

/// A backup as the engine keeps it (and as its manifest records it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub status: BackupStatus,
    /// `USER` or `SYSTEM`.
    pub kind: String,
    pub created_at: f64,
    #[serde(default)]
    pub expires_at: Option<f64>,
    pub table_arn: String,
    /// The table's definition at the cut.
    pub table: TableMeta,
    /// The table's counters at the cut (approximate, as DescribeTable's).
    pub table_items: i64,
    pub table_bytes: i64,
    /// The items' total size once written.
    #[serde(default)]
    pub size_bytes: Option<i64>,
}

pub fn backup_not_found(arn: &str) -> Error {
    Error::Other {
        name: "BackupNotFoundException",
        message: format!("Backup not found: {arn}"),
    }
}

pub fn table_not_found(name: &str) -> Error {
    Error::Other {
        name: "TableNotFoundException",
        message: format!("Table not found: {name}"),
    }
}

pub fn backup_in_use(message: String) -> Error {
    Error::Other {
        name: "BackupInUseException",
        message,
    }
}

/// A `TableArn`-typed member names a table by name or by this server's ARN for it.
pub(crate) fn table_ref<'a>(engine: &Engine, v: &'a Option<String>) -> Result<&'a str> {
    match v.as_deref() {
        Some(arn) if arn.starts_with("arn:") => match engine.table_in_arn(arn) {
            Some(name) => {
                validate_name(name, "tableName")?;
                Ok(name)
            }
            None => Err(Error::validation("Invalid TableArn")),
        },
        _ => table_name(v),
    }
}

/// The id part of a backup ARN (`.../table/<name>/backup/<id>`), checked for shape.
fn backup_id(arn: &str) -> Result<&str> {
    let invalid = || Error::validation("Invalid Backup ARN");
    if arn.len() < 37 || arn.len() > 1024 {
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{arn}' at 'backupArn' failed to satisfy constraint: Member must have length {}",
            if arn.len() < 37 { "greater than or equal to 37" } else { "less than or equal to 1024" }
        )));
    }
    let (_, id) = arn.rsplit_once("/backup/").ok_or_else(invalid)?;
    if !arn.starts_with("arn:") || id.is_empty() || id.contains('/') {
        return Err(invalid());
    }
    Ok(id)
}

impl BackupRecord {
    pub fn details(&self) -> BackupDetails {
        BackupDetails {
            backup_arn: self.arn.clone(),
            backup_name: self.name.clone(),
            backup_size_bytes: Some(self.size_bytes.unwrap_or(self.table_bytes)),
            backup_status: match self.status {
                BackupStatus::Creating => "CREATING",
                BackupStatus::Available => "AVAILABLE",
            }
            .into(),
            backup_type: self.kind.clone(),
            backup_creation_date_time: self.created_at,
            backup_expiry_date_time: self.expires_at,
        }
    }

    fn summary(&self) -> BackupSummary {
        let d = self.details();
        BackupSummary {
            table_name: Some(self.table.name.clone()),
            table_id: Some(self.table.id.clone()),
            table_arn: Some(self.table_arn.clone()),
            backup_arn: Some(d.backup_arn),
            backup_name: Some(d.backup_name),
            backup_creation_date_time: Some(d.backup_creation_date_time),
            backup_expiry_date_time: d.backup_expiry_date_time,
            backup_status: Some(d.backup_status),
            backup_type: Some(d.backup_type),
            backup_size_bytes: d.backup_size_bytes,
        }
    }

    fn description(&self) -> BackupDescription {
        let m = &self.table;
        let on_demand = m.billing_mode == BillingMode::PayPerRequest;
        let throughput = |r: i64, w: i64| ProvisionedThroughput {
            read_capacity_units: Some(r),
            write_capacity_units: Some(w),
        };
        let maxima = |r: Option<i64>, w: Option<i64>| {
            on_demand.then(|| OnDemandThroughput {
                max_read_request_units: Some(r.unwrap_or(-1)),
                max_write_request_units: Some(w.unwrap_or(-1)),
            })
        };
        let features = SourceTableFeatureDetails {
            local_secondary_indexes: (!m.local_indexes.is_empty()).then(|| {
                m.local_indexes
                    .iter()
                    .map(|i| LocalSecondaryIndexInfo {
                        index_name: Some(i.name.clone()),
                        key_schema: Some(key_schema_elements(&i.key_schema)),
                        projection: Some(projection(i)),
                    })
                    .collect()
            }),
            global_secondary_indexes: (!m.global_indexes.is_empty()).then(|| {
                m.global_indexes
                    .iter()
                    .map(|i| GlobalSecondaryIndexInfo {
                        index_name: Some(i.name.clone()),
                        key_schema: Some(key_schema_elements(&i.key_schema)),
                        projection: Some(projection(i)),
                        provisioned_throughput: Some(throughput(i.read_capacity, i.write_capacity)),
                        on_demand_throughput: maxima(i.on_demand_max_read, i.on_demand_max_write),
                    })
                    .collect()
            }),
            stream_description: m.stream.as_ref().map(|s| StreamSpecification {
                stream_enabled: true,
                stream_view_type: Some(s.view_type.clone()),
            }),
            time_to_live_description: m.ttl_attribute.as_ref().map(|a| TimeToLiveDescription {
                time_to_live_status: "ENABLED".into(),
                attribute_name: Some(a.clone()),
            }),
            sse_description: m.sse_key.as_ref().map(|_| SseDescription {
                status: "ENABLED".into(),
                sse_type: "KMS".into(),
                kms_master_key_arn: None,
            }),
        };
        BackupDescription {
            backup_details: Some(self.details()),
            source_table_details: Some(SourceTableDetails {
                table_name: m.name.clone(),
                table_id: m.id.clone(),
                table_arn: Some(self.table_arn.clone()),
                table_size_bytes: Some(self.table_bytes),
                key_schema: key_schema_elements(&m.key_schema),
                table_creation_date_time: m.created_at,
                provisioned_throughput: throughput(m.read_capacity, m.write_capacity),
                on_demand_throughput: maxima(m.on_demand_max_read, m.on_demand_max_write),
                item_count: Some(self.table_items),
                billing_mode: Some(m.billing_mode.name().into()),
            }),
            source_table_feature_details: Some(features),
        }
    }
}

pub(crate) fn key_schema_elements(ks: &crate::model::KeySchema) -> Vec<KeySchemaElement> {
    let mut v = vec![KeySchemaElement {
        attribute_name: ks.hash.name.clone(),
        key_type: "HASH".into(),
    }];
    if let Some(r) = &ks.range {
        v.push(KeySchemaElement {
            attribute_name: r.name.clone(),
            key_type: "RANGE".into(),
        });
    }
    v
}

pub(crate) fn projection(i: &super::catalog::IndexMeta) -> Projection {
    Projection {
        projection_type: Some(i.projection_type.clone()),
        non_key_attributes: i.non_key_attributes.clone(),
    }
}

impl Engine {
    /// The table a table ARN of this server names (`None`: another region, account or
    /// resource, an index or a stream).
    pub(crate) fn table_in_arn<'a>(&self, arn: &'a str) -> Option<&'a str> {
        arn.strip_prefix(&self.table_arn(""))
            .filter(|name| !name.is_empty() && !name.contains('/'))
    }

    /// Where backups live; refused when the server has none configured.
    pub(crate) fn backup_dir(&self) -> Result<&std::path::Path> {
        super::configured_dir(&self.config.backup_dir, "Backups", "backup")
    }

    /// How the backup or base of an encrypted table seals its items: with the table's data
    /// key, whose wrapping the manifest records.
    pub(crate) fn sealing(&self, meta: &TableMeta) -> Result<Option<file::Sealing>> {
        let (Some(cipher), Some(key)) = (self.catalog.encryption.cipher(meta)?, &meta.sse_key)
        else {
            return Ok(None);
        };
        Ok(Some(file::Sealing {
            cipher,
            about: file::DataEncryption {
                key: key.clone(),
                context: meta.id.clone(),
            },
        }))
    }

    /// The cipher that opens a data file's items, when they are sealed.
    pub(crate) fn data_cipher(
        &self,
        data: &file::DataSummary,
    ) -> Result<Option<std::sync::Arc<crate::encryption::Cipher>>> {
        let Some(e) = &data.encryption else {
            return Ok(None);
        };
        let keys = self.config.keys.as_ref().ok_or_else(|| {
            Error::Internal(
                "an encrypted backup cannot be read: no master key is configured".into(),
            )
        })?;
        crate::encryption::cipher_of(keys.as_ref(), &e.key, &e.context).map(Some)
    }

    fn backup_path(&self, id: &str) -> Result<PathBuf> {
        Ok(self.backup_dir()?.join(id))
    }

    pub(crate) fn backup_record(&self, id: &str) -> Result<Option<BackupRecord>> {
        crate::records::get(self.store.as_ref(), BACKUPS_KEYSPACE, id)
    }

    pub(crate) fn put_backup_record(&self, record: &BackupRecord) -> Result<()> {
        crate::records::put(self.store.as_ref(), BACKUPS_KEYSPACE, &record.id, record)
    }

    /// The backup an ARN names; the whole ARN must match, so naming another table's
    /// backup by id under a table a policy allows finds nothing.
    pub(crate) fn backup_by_arn(&self, arn: &Option<String>) -> Result<BackupRecord> {
        let arn = required(arn, "backupArn")?;
        let id = backup_id(arn)?;
        match self.backup_record(id)? {
            Some(r) if r.arn == *arn => Ok(r),
            _ => Err(backup_not_found(arn)),
        }
    }

    pub fn create_backup(&self, input: CreateBackupInput) -> Result<CreateBackupOutput> {
        let name = table_ref(self, &input.table_name)?;
        let backup_name = required(&input.backup_name, "backupName")?;
        validate_name(backup_name, "backupName")?;
        let table = self
            .catalog
            .get(name)
            .filter(|t| !self.is_creating(&t.meta))
            .ok_or_else(|| table_not_found(name))?;
        let created_at = (now_epoch_seconds() * 1000.0).floor() / 1000.0;
        let id = crate::records::new_id(created_at);
        let dir = self.backup_path(&id)?;
        let record = BackupRecord {
            arn: format!("{}/backup/{id}", self.table_arn(name)),
            id,
            name: backup_name.clone(),
            status: BackupStatus::Creating,
            kind: "USER".into(),
            created_at,
            expires_at: None,
            table_arn: self.table_arn(name),
            table: table.meta.clone(),
            table_items: 0,
            table_bytes: 0,
            size_bytes: None,
        };
        let record = self.start_backup(record, dir, &table.meta.id)?;
        Ok(CreateBackupOutput {
            backup_details: record.details(),
        })
    }

    /// Takes the cut of `record`'s table on a background thread and returns once it is
    /// taken (the record then holds the definition the cut's items were written under);
    /// the thread writes the items to `dir` and marks the backup AVAILABLE.
    fn start_backup(
        &self,
        record: BackupRecord,
        dir: PathBuf,
        table_id: &str,
    ) -> Result<BackupRecord> {
        let engine = self
            .me
            .upgrade()
            .ok_or_else(|| Error::Internal("engine is shutting down".into()))?;
        let (taken, wait) = std::sync::mpsc::channel();
        let id = table_id.to_string();
        self.backups.started(table_id);
        let spawned = std::thread::Builder::new()
            .name("keyfall-backup".into())
            .spawn(move || {
                super::background_priority();
                let result = engine.write_backup(record, &dir, &taken);
                engine.backups.finished(&id);
                if let Err((id, e)) = result {
                    tracing::error!(backup = %id, error = %e, "backup failed; it is removed");
                    let _ = engine.forget_backup(&id);
                    let _ = taken.send(Err(e));
                }
            });
        if let Err(e) = spawned {
            self.backups.finished(table_id);
            return Err(Error::Internal(format!(
                "cannot start the backup thread: {e}"
            )));
        }
        wait.recv()
            .map_err(|_| Error::Internal("the backup thread stopped early".into()))?
    }

    fn write_backup(
        &self,
        mut record: BackupRecord,
        dir: &std::path::Path,
        taken: &std::sync::mpsc::Sender<Result<BackupRecord>>,
    ) -> std::result::Result<(), (String, Error)> {
        let id = record.id.clone();
        let fail = |e: Error| (id.clone(), e);
        // The cut: no definition change (an index added, the table dropped) between reading
        // the definition and taking the snapshot.
        let (snapshot, meta) = {
            let _schema = self.schema_lock.read();
            let table = self
                .catalog
                .get(&record.table.name)
                .filter(|t| t.meta.id == record.table.id)
                .ok_or_else(|| fail(table_not_found(&record.table.name)))?;
            let snapshot = self.store.snapshot();
            record.table = table.meta.clone();
            record.table_items = table
                .stats
                .items
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(0);
            record.table_bytes = table
                .stats
                .bytes
                .load(std::sync::atomic::Ordering::Relaxed)
                .max(0);
            self.put_backup_record(&record).map_err(fail)?;
            (snapshot, table.meta.clone())
        };
        let _ = taken.send(Ok(record.clone()));
        let sealing = self.sealing(&meta).map_err(fail)?;
        let summary = write_items(snapshot.as_ref(), &meta, dir, sealing).map_err(fail)?;
        drop(snapshot);
        record.status = BackupStatus::Available;
        record.size_bytes = Some(summary.item_bytes as i64);
        file::write_manifest(
            dir,
            &file::Manifest {
                format: file::FORMAT.into(),
                version: file::FORMAT_VERSION,
                content: record.clone(),
                data: summary,
            },
        )
        .map_err(fail)?;
        // Deleted while it was being written: nothing to mark.
        if self.backup_record(&id).map_err(fail)?.is_none() {
            let _ = std::fs::remove_dir_all(dir);
            return Ok(());
        }
        self.put_backup_record(&record).map_err(fail)
    }

    /// Removes a backup's record and its directory.
    fn forget_backup(&self, id: &str) -> Result<()> {
        self.store.apply(vec![Op::Delete {
            keyspace: BACKUPS_KEYSPACE.into(),
            key: id.as_bytes().to_vec(),
        }])?;
        if let Ok(dir) = self.backup_path(id) {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Internal(format!("removing {}: {e}", dir.display()))),
            }
        }
        Ok(())
    }

    /// Backups still CREATING when the server stopped lost their cut with the process:
    /// they are removed (their directories too) when it opens again.
    pub(crate) fn drop_interrupted_backups(&self) -> Result<()> {
        let records: Vec<BackupRecord> =
            crate::records::all(self.store.as_ref(), BACKUPS_KEYSPACE)?;
        let interrupted = records
            .into_iter()
            .filter(|r| r.status == BackupStatus::Creating)
            .map(|r| r.id);
        for id in interrupted {
            tracing::warn!(backup = %id, "removing a backup interrupted by a restart");
            self.forget_backup(&id)?;
        }
        Ok(())
    }

    pub fn describe_backup(&self, input: BackupArnInput) -> Result<BackupDescriptionOutput> {
        let record = self.backup_by_arn(&input.backup_arn)?;
        Ok(BackupDescriptionOutput {
            backup_description: record.description(),
        })
    }

    pub fn delete_backup(&self, input: BackupArnInput) -> Result<BackupDescriptionOutput> {
        let record = self.backup_by_arn(&input.backup_arn)?;
        if record.kind == "SYSTEM" {
            return Err(Error::validation(format!(
                "Invalid Request: User is not allowed to delete the system backup with arn {}. It will automatically expire on {}",
                record.arn,
                super::tables::http_date(record.expires_at.unwrap_or(record.created_at))
            )));
        }
        if self.backups.restoring_from(&record.id) {
            return Err(backup_in_use(format!(
                "Backup is being used to restore table: {}",
                record.arn
            )));
        }
        if record.status == BackupStatus::Creating {
            return Err(backup_in_use(format!(
                "Backup is being created: {}",
                record.arn
            )));
        }
        self.forget_backup(&record.id)?;
        let mut description = record.description();
        if let Some(d) = &mut description.backup_details {
            d.backup_status = "DELETED".into();
        }
        Ok(BackupDescriptionOutput {
            backup_description: description,
        })
    }

    pub fn list_backups(&self, input: ListBackupsInput) -> Result<ListBackupsOutput> {
        let limit = match input.limit {
            None => 100,
            Some(n) if !(1..=100).contains(&n) => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {}",
                    if n < 1 { "greater than or equal to 1" } else { "less than or equal to 100" }
                )))
            }
            Some(n) => n as usize,
        };
        let kinds: &[&str] = match input.backup_type.as_deref() {
            None | Some("USER") => &["USER"],
            Some("SYSTEM") => &["SYSTEM"],
            Some("AWS_BACKUP") => &["AWS_BACKUP"],
            Some("ALL") => &["USER", "SYSTEM", "AWS_BACKUP"],
            Some(other) => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'backupType' failed to satisfy constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]"
                )))
            }
        };
        if let (Some(lo), Some(hi)) = (input.time_range_lower_bound, input.time_range_upper_bound) {
            if lo > hi {
                return Err(Error::validation(
                    "One or more parameter values were invalid: Time range lower bound must be less than or equal to upper bound",
                ));
            }
        }
        let table = match &input.table_name {
            Some(_) => Some(table_ref(self, &input.table_name)?),
            None => None,
        };
        let start = match &input.exclusive_start_backup_arn {
            Some(arn) => std::ops::Bound::Excluded(backup_id(arn)?.as_bytes().to_vec()),
            None => std::ops::Bound::Unbounded,
        };
        let range = KeyRange {
            start,
            end: std::ops::Bound::Unbounded,
        };
        let mut summaries = Vec::new();
        let mut more = false;
        for kv in self.store.range(BACKUPS_KEYSPACE, range, false)? {
            let (_, v) = kv?;
            let Ok(r) = serde_json::from_slice::<BackupRecord>(&v) else {
                continue;
            };
            // Compared in whole milliseconds, the precision of creation times: a bound
            // sent back as a client parsed it may differ from the stored time by a rounding.
            let millis = |t: f64| (t * 1000.0).round() as i64;
            let created = millis(r.created_at);
            let wanted = table.is_none_or(|t| r.table.name == t)
                && kinds.contains(&r.kind.as_str())
                && input
                    .time_range_lower_bound
                    .is_none_or(|lo| created >= millis(lo))
                && input
                    .time_range_upper_bound
                    .is_none_or(|hi| created < millis(hi));
            if !wanted {
                continue;
            }
            if summaries.len() == limit {
                more = true;
                break;
            }
            summaries.push(r.summary());
        }
        let last = more
            .then(|| {
                summaries
                    .last()
                    .and_then(|s: &BackupSummary| s.backup_arn.clone())
            })
            .flatten();
        Ok(ListBackupsOutput {
            backup_summaries: summaries,
            last_evaluated_backup_arn: last,
        })
    }

    pub fn restore_table_from_backup(
        &self,
        input: RestoreTableFromBackupInput,
    ) -> Result<RestoreOutput> {
        let target = table_name_of(&input.target_table_name, "targetTableName")?;
        let record = self.backup_by_arn(&input.backup_arn)?;
        if record.status == BackupStatus::Creating {
            return Err(backup_in_use(format!(
                "Backup is being created: {}",
                record.arn
            )));
        }
        if self.backups.restoring_from(&record.id) {
            return Err(backup_in_use(format!(
                "Backup is being used to restore another table: {}",
                record.arn
            )));
        }
        let overrides = super::restore::overrides_of!(input);
        let restore = super::restore::RestoreMeta {
            source: super::restore::RestoreSource::Backup {
                id: record.id.clone(),
            },
            source_backup_arn: Some(record.arn.clone()),
            source_table_arn: Some(record.table_arn.clone()),
            restore_time: record.created_at,
        };
        let description = self.start_restore(target, &record.table, &overrides, restore)?;
        Ok(RestoreOutput {
            table_description: description,
        })
    }
}

/// A required table-name member other than `TableName`, checked as DynamoDB checks it.
pub(crate) fn table_name_of<'a>(v: &'a Option<String>, member: &str) -> Result<&'a str> {
    let name = required(v, member)?;
    validate_name(name, member)?;
    Ok(name)
}

/// Writes the items of `meta`'s table as of `snapshot` to `dir`; items already expired
/// are left out.
pub(crate) fn write_items(
    snapshot: &dyn crate::storage::Snapshot,
    meta: &TableMeta,
    dir: &std::path::Path,
    sealing: Option<file::Sealing>,
) -> Result<file::DataSummary> {
    let mut writer = file::ItemWriter::create(dir, sealing)?;
    for kv in snapshot.range(&meta.keyspace, KeyRange::all(), false)? {
        let (_, value) = kv?;
        let item =
            crate::model::codec::decode_item(&value).map_err(|e| Error::Internal(e.to_string()))?;
        if meta.is_expired(&item) {
            continue;
        }
        writer.item(&value, crate::model::item_size(&item) as u64)?;
    }
    writer.finish()
}

/// What is running: the tables with a backup being written, and the backups being restored.
#[derive(Default)]
pub struct Running {
    inner: parking_lot::Mutex<RunningState>,
}

#[derive(Default)]
struct RunningState {
    /// Table id → backups of it being written.
    backing_up: std::collections::HashMap<String, usize>,
    /// Backup id → the table being restored from it.
    restoring: std::collections::HashMap<String, String>,
}

impl Running {
    fn started(&self, table_id: &str) {
        *self
            .inner
            .lock()
            .backing_up
            .entry(table_id.to_string())
            .or_default() += 1;
    }

    fn finished(&self, table_id: &str) {
        let mut s = self.inner.lock();
        if let Some(n) = s.backing_up.get_mut(table_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.backing_up.remove(table_id);
            }
        }
    }

    /// Whether a backup of the table is being written.
    pub fn backing_up(&self, table_id: &str) -> bool {
        self.inner.lock().backing_up.contains_key(table_id)
    }

    pub fn restoring_from(&self, backup_id: &str) -> bool {
        self.inner.lock().restoring.contains_key(backup_id)
    }

    /// Marks a backup as being restored into `table`; false when it already is.
    pub fn start_restoring(&self, backup_id: &str, table: &str) -> bool {
        let mut s = self.inner.lock();
        if s.restoring.contains_key(backup_id) {
            return false;
        }
        s.restoring.insert(backup_id.to_string(), table.to_string());
        true
    }

    pub fn stop_restoring(&self, backup_id: &str) {
        self.inner.lock().restoring.remove(backup_id);
    }
}
