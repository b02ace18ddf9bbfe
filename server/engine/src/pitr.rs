//! Point-in-time recovery: `UpdateContinuousBackups`, `DescribeContinuousBackups`,
//! `RestoreTableToPointInTime`, and what makes them work, independent of the table's
//! DynamoDB Stream:
//!
//! - **The log** (keyspace `p-<table id>`): every committed change of the table, keyed by
//!   its commit time in microseconds (u64 big endian, strictly increasing per table: the
//!   clock never repeats or goes back), valued [`encode_entry`] (the storage key and the
//!   new stored item, or none for a delete). It is written in the change's own atomic
//!   batch ([`log_changes`], called by `commit_changes`), with the table's log clock held
//!   from assigning the key to applying the batch, so log order is commit order.
//! - **Bases**: full copies of the table in the backup format (`backup::file`), under
//!   `<backup dir>/pitr/<table id>/<position>/`, each taken from a storage snapshot; its
//!   position is the last log key in that snapshot, so it holds exactly the changes up to
//!   it. The first is taken when PITR is enabled; then a new one whenever the log since
//!   the newest base holds as many changes as the table has items (and at least
//!   `pitr_base_every`), which keeps both a restore's work and the bases' disk bounded.
//! - **Restore to T**: the newest base taken at or before T, then the log after its
//!   position up to T, applied in order.
//! - **Trimming** ([`Engine::maintain_pitr`]): bases wholly before the recovery window go,
//!   except the newest of them, and log records up to that base's position.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::backup::{self, file};
use super::catalog::Table;
use super::commit::Change;
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::model::codec;
use crate::storage::{KeyRange, Op, Storage};
use crate::types::TableNameInput;
use keyfall_types::backup::*;
use keyfall_types::command::required;

/// A table's PITR setting (`TableMeta::pitr`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PitrMeta {
    /// The log's keyspace.
    pub keyspace: String,
    pub recovery_period_days: i64,
    pub enabled_at: f64,
}

/// A table's PITR state in memory, shared across its definitions.
#[derive(Debug, Default)]
pub struct PitrState {
    /// The last log key handed out; 0 until read from the log.
    clock: Mutex<u64>,
    /// Changes logged since the newest base's cut (approximate after a restart).
    since_base: AtomicU64,
    /// A base being written.
    pending: Mutex<Option<Pending>>,
    /// `since_base` was recounted (and interrupted bases dropped) after the server opened.
    counted: AtomicBool,
    /// The complete bases, oldest first, as last read from disk; `None`: read them again
    /// (a base was written or removed since).
    bases: Mutex<Option<Vec<(PathBuf, BaseInfo)>>>,
}

/// A base being written: its directory, and its cut's time once taken (`f64::MAX` before).
#[derive(Debug, Clone)]
struct Pending {
    dir: PathBuf,
    taken_at: f64,
}

/// What a base's manifest records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseInfo {
    pub table_id: String,
    pub table_name: String,
    /// The last log key the base holds (0: none).
    pub position: u64,
    /// When its cut was taken (epoch seconds), never before its position.
    pub taken_at: f64,
}

const DEFAULT_PERIOD_DAYS: i64 = 35;

fn now_micros() -> u64 {
    (now_epoch_seconds() * 1e6) as u64
}

/// What a log record says became of an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Logged {
    /// The new stored item (`model::codec`).
    Put(Vec<u8>),
    /// Deleted; the item's key attributes (`model::codec`), for exports that name them.
    Delete(Vec<u8>),
}

/// A log value: version 1, the storage key's length (u32 LE) and bytes, then 0 and the new
/// stored item, or 1 and the deleted item's key attributes.
pub fn encode_entry(key: &[u8], change: &Logged) -> Vec<u8> {
    let (kind, bytes) = match change {
        Logged::Put(b) => (0u8, b),
        Logged::Delete(b) => (1u8, b),
    };
    let mut out = Vec::with_capacity(6 + key.len() + bytes.len());
    out.push(1);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.push(kind);
    out.extend_from_slice(bytes);
    out
}

/// A storage key and what became of its item.
pub type LoggedChange = (Vec<u8>, Logged);

pub(crate) fn decode_entry(v: &[u8]) -> Result<LoggedChange> {
    let bad = || Error::Internal("a point-in-time-recovery log record is damaged".into());
    let (&version, rest) = v.split_first().ok_or_else(bad)?;
    if version != 1 || rest.len() < 4 {
        return Err(bad());
    }
    let (len, rest) = rest.split_at(4);
    let len = u32::from_le_bytes(len.try_into().map_err(|_| bad())?) as usize;
    if rest.len() <= len {
        return Err(bad());
    }
    let (key, rest) = rest.split_at(len);
    let (&kind, item) = rest.split_first().ok_or_else(bad)?;
    let change = match kind {
        0 => Logged::Put(item.to_vec()),
        1 => Logged::Delete(item.to_vec()),
        _ => return Err(bad()),
    };
    Ok((key.to_vec(), change))
}

/// Adds the log records of the PITR tables among `changes` to `ops` (`stored`: each new
/// item's stored bytes, as the base write holds them); returns the tables' clocks, held
/// until the caller has applied `ops`.
pub(crate) fn log_changes<'a>(
    store: &dyn Storage,
    changes: &'a [Change<'a>],
    stored: Vec<Option<Vec<u8>>>,
    ops: &mut Vec<Op>,
) -> Result<Vec<parking_lot::MutexGuard<'a, u64>>> {
    let mut tables: Vec<&'a Table> = changes
        .iter()
        .filter(|c| c.table.meta.pitr.is_some())
        .map(|c| c.table)
        .collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    // Each clock once, in keyspace order (no deadlock between transactions).
    tables.sort_by(|a, b| a.meta.keyspace.cmp(&b.meta.keyspace));
    tables.dedup_by(|a, b| a.meta.keyspace == b.meta.keyspace);
    let mut clocks = Vec::with_capacity(tables.len());
    for t in &tables {
        let mut clock = t.pitr.clock.lock();
        if *clock == 0 {
            *clock = last_log_key(store, t)?;
        }
        clocks.push(clock);
    }
    for (c, stored) in changes.iter().zip(stored) {
        let Some(pitr) = &c.table.meta.pitr else {
            continue;
        };
        let Some(i) = tables
            .iter()
            .position(|t| t.meta.keyspace == c.table.meta.keyspace)
        else {
            continue;
        };
        let Some(clock) = clocks.get_mut(i) else {
            continue;
        };
        let key = now_micros().max(**clock + 1);
        **clock = key;
        let change = match (stored, c.new, c.old) {
            (Some(bytes), _, _) => Logged::Put(bytes),
            (None, Some(new), _) => Logged::Put(codec::encode_item(new)),
            (None, None, old) => {
                let keys = old
                    .map(|o| c.table.meta.key_schema.extract_key(o))
                    .unwrap_or_default();
                Logged::Delete(codec::encode_item(&keys))
            }
        };
        ops.push(Op::Put {
            keyspace: pitr.keyspace.clone(),
            key: key.to_be_bytes().to_vec(),
            value: encode_entry(c.key, &change),
        });
        c.table.pitr.since_base.fetch_add(1, Ordering::Relaxed);
    }
    Ok(clocks)
}

fn last_log_key(store: &dyn crate::storage::Snapshot, t: &Table) -> Result<u64> {
    let Some(pitr) = &t.meta.pitr else {
        return Ok(0);
    };
    let last = store
        .range(&pitr.keyspace, KeyRange::all(), true)?
        .next()
        .transpose()?;
    Ok(last.map_or(0, |(k, _)| key_position(&k)))
}

fn key_position(k: &[u8]) -> u64 {
    k.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// The log's changes after position `after`, up to and including `until`, in order.
pub fn replay<'a>(
    store: &'a dyn Storage,
    keyspace: &str,
    after: u64,
    until: u64,
) -> Result<impl Iterator<Item = Result<LoggedChange>> + 'a> {
    let range = KeyRange {
        start: std::ops::Bound::Excluded(after.to_be_bytes().to_vec()),
        end: std::ops::Bound::Included(until.to_be_bytes().to_vec()),
    };
    Ok(store
        .range(keyspace, range, false)?
        .map(|kv| decode_entry(&kv?.1)))
}

fn pitr_unavailable(name: &str) -> Error {
    Error::Other {
        name: "PointInTimeRecoveryUnavailableException",
        message: format!("Point in time recovery is not enabled for table '{name}'"),
    }
}

fn iso(t: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.floor() as i64)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

impl Engine {
    fn pitr_root(&self) -> Result<PathBuf> {
        Ok(self.backup_dir()?.join("pitr"))
    }

    fn bases_dir(&self, table_id: &str) -> Result<PathBuf> {
        Ok(self.pitr_root()?.join(table_id))
    }

    /// A table's complete bases, oldest first (read from disk once, then kept until a base
    /// is written or removed).
    fn bases(&self, table: &Table) -> Result<Vec<(PathBuf, BaseInfo)>> {
        let mut cached = table.pitr.bases.lock();
        if let Some(bases) = cached.as_ref() {
            return Ok(bases.clone());
        }
        let bases = self.read_bases(&table.meta.id)?;
        *cached = Some(bases.clone());
        Ok(bases)
    }

    fn read_bases(&self, table_id: &str) -> Result<Vec<(PathBuf, BaseInfo)>> {
        let dir = self.bases_dir(table_id)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::Internal(format!("{}: {e}", dir.display()))),
        };
        let mut bases = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.join(file::MANIFEST_FILE).exists() {
                continue;
            }
            match file::read_manifest::<BaseInfo>(&path) {
                Ok(m) => bases.push((path, m.content)),
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable point-in-time-recovery base skipped")
                }
            }
        }
        bases.sort_by_key(|(_, b)| b.position);
        Ok(bases)
    }

    /// The earliest second a table can be restored to (its oldest base's cut, or the one
    /// being written), and the start of its recovery window.
    pub(crate) fn restorable_from(&self, table: &Table) -> Result<Option<f64>> {
        let Some(pitr) = &table.meta.pitr else {
            return Ok(None);
        };
        let oldest = match self.bases(table)?.first() {
            Some((_, b)) => Some(b.taken_at),
            None => table.pitr.pending.lock().as_ref().map(|p| p.taken_at),
        };
        let window = now_epoch_seconds() - pitr.recovery_period_days as f64 * 86400.0;
        Ok(oldest.map(|o| o.max(window)))
    }

    fn continuous_backups(&self, table: &Table) -> Result<ContinuousBackupsOutput> {
        let description = match &table.meta.pitr {
            None => PointInTimeRecoveryDescription {
                point_in_time_recovery_status: Some("DISABLED".into()),
                ..PointInTimeRecoveryDescription::default()
            },
            Some(p) => {
                let now = now_epoch_seconds();
                PointInTimeRecoveryDescription {
                    point_in_time_recovery_status: Some("ENABLED".into()),
                    recovery_period_in_days: Some(p.recovery_period_days),
                    earliest_restorable_date_time: Some(
                        self.restorable_from(table)?
                            .unwrap_or(p.enabled_at)
                            .min(now),
                    ),
                    latest_restorable_date_time: Some(now),
                }
            }
        };
        Ok(ContinuousBackupsOutput {
            continuous_backups_description: ContinuousBackupsDescription {
                continuous_backups_status: "ENABLED".into(),
                point_in_time_recovery_description: Some(description),
            },
        })
    }

    fn pitr_table(&self, name: &str) -> Result<std::sync::Arc<Table>> {
        self.catalog
            .get(name)
            .filter(|t| !self.is_creating(&t.meta))
            .ok_or_else(|| backup::table_not_found(name))
    }

    pub fn describe_continuous_backups(
        &self,
        input: TableNameInput,
    ) -> Result<ContinuousBackupsOutput> {
        let name = backup::table_ref(self, &input.table_name)?;
        let table = self.pitr_table(name)?;
        self.continuous_backups(&table)
    }

    pub fn update_continuous_backups(
        &self,
        input: UpdateContinuousBackupsInput,
    ) -> Result<ContinuousBackupsOutput> {
        let name = backup::table_ref(self, &input.table_name)?;
        let spec = required(
            &input.point_in_time_recovery_specification,
            "pointInTimeRecoverySpecification",
        )?;
        let enabled = *required(
            &spec.point_in_time_recovery_enabled,
            "pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled",
        )?;
        if let Some(days) = spec.recovery_period_in_days {
            if !(1..=35).contains(&days) {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{days}' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy constraint: Member must have value {}",
                    if days < 1 { "greater than or equal to 1" } else { "less than or equal to 35" }
                )));
            }
            if !enabled {
                return Err(Error::validation(
                    "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery.",
                ));
            }
        }
        self.backup_dir()?;
        let table = self.pitr_table(name)?;
        let id = table.meta.id.clone();
        let days = spec.recovery_period_in_days.unwrap_or(DEFAULT_PERIOD_DAYS);
        let table = {
            // Exclusive: no write commits with the definition from before the change, so
            // every write after it is logged (enable) or none is (disable).
            let _schema = self.schema_lock.write();
            let before = table.meta.pitr.clone();
            let (table, ()) = self.catalog.update(self.store.as_ref(), name, &id, |m| {
                m.pitr = match (enabled, &m.pitr) {
                    (false, _) => None,
                    (true, Some(p)) => Some(PitrMeta {
                        recovery_period_days: days,
                        ..p.clone()
                    }),
                    (true, None) => Some(PitrMeta {
                        keyspace: format!("p-{}", id.replace('-', "")),
                        recovery_period_days: days,
                        enabled_at: now_epoch_seconds(),
                    }),
                };
                Ok(())
            })?;
            if let (Some(old), None) = (&before, &table.meta.pitr) {
                self.store.drop_keyspace(&old.keyspace)?;
                *table.pitr.clock.lock() = 0;
                table.pitr.since_base.store(0, Ordering::Relaxed);
                *table.pitr.bases.lock() = None;
                let _ = std::fs::remove_dir_all(self.bases_dir(&id)?);
            }
            table
        };
        if table.meta.pitr.is_some() && self.bases(&table)?.is_empty() {
            self.start_base(&table)?;
        }
        let table = self.pitr_table(name)?;
        self.continuous_backups(&table)
    }

    /// Takes a base's cut of `table` on a background thread and returns once it is
    /// taken; the thread writes it out.
    fn start_base(&self, table: &Table) -> Result<()> {
        let dir = {
            let mut pending = table.pitr.pending.lock();
            if pending.is_some() {
                return Ok(());
            }
            // Named for when it starts; renamed for its position once written.
            let dir = self
                .bases_dir(&table.meta.id)?
                .join(format!("partial-{}", uuid::Uuid::new_v4().simple()));
            *pending = Some(Pending {
                dir: dir.clone(),
                taken_at: f64::MAX,
            });
            dir
        };
        let engine = self
            .me
            .upgrade()
            .ok_or_else(|| Error::Internal("engine is shutting down".into()))?;
        let (name, id) = (table.meta.name.clone(), table.meta.id.clone());
        let (taken, wait) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("keyfall-pitr-base".into())
            .spawn(move || {
                super::background_priority();
                let result = engine.write_base(&name, &id, &dir, &taken);
                if let Some(t) = engine.catalog.get(&name).filter(|t| t.meta.id == id) {
                    *t.pitr.pending.lock() = None;
                }
                if let Err(e) = result {
                    tracing::error!(table = %name, error = %e, "point-in-time-recovery base failed");
                    let _ = std::fs::remove_dir_all(&dir);
                    let _ = taken.send(None);
                }
            });
        if let Err(e) = spawned {
            *table.pitr.pending.lock() = None;
            return Err(Error::Internal(format!(
                "cannot start the base thread: {e}"
            )));
        }
        if let Ok(Some(taken_at)) = wait.recv() {
            if let Some(p) = table.pitr.pending.lock().as_mut() {
                p.taken_at = taken_at;
            }
        }
        Ok(())
    }

    fn write_base(
        &self,
        name: &str,
        id: &str,
        dir: &Path,
        taken: &std::sync::mpsc::Sender<Option<f64>>,
    ) -> Result<()> {
        let (snapshot, table, position, taken_at) = {
            let _schema = self.schema_lock.read();
            let table = self
                .catalog
                .get(name)
                .filter(|t| t.meta.id == id && t.meta.pitr.is_some())
                .ok_or_else(|| backup::table_not_found(name))?;
            let snapshot = self.store.snapshot();
            table.pitr.since_base.store(0, Ordering::Relaxed);
            let position = last_log_key(snapshot.as_ref(), &table)?;
            let taken_at = now_epoch_seconds().max(position as f64 / 1e6);
            (snapshot, table, position, taken_at)
        };
        let _ = taken.send(Some(taken_at));
        let sealing = self.sealing(&table.meta)?;
        let summary = backup::write_items(snapshot.as_ref(), &table.meta, dir, sealing)?;
        drop(snapshot);
        file::write_manifest(
            dir,
            &file::Manifest {
                format: file::FORMAT.into(),
                version: file::FORMAT_VERSION,
                content: BaseInfo {
                    table_id: id.to_string(),
                    table_name: name.to_string(),
                    position,
                    taken_at,
                },
                data: summary,
            },
        )?;
        let named = dir.with_file_name(format!("{position:020}"));
        std::fs::rename(dir, &named)
            .map_err(|e| Error::Internal(format!("{}: {e}", dir.display())))?;
        match self
            .catalog
            .get(name)
            .filter(|t| t.meta.id == id && t.meta.pitr.is_some())
        {
            Some(t) => *t.pitr.bases.lock() = None,
            // PITR disabled, or the table deleted, while it was written.
            None => {
                let _ = std::fs::remove_dir_all(&named);
            }
        }
        Ok(())
    }

    /// The base a restore or export of `table` at `at` starts from: the newest complete
    /// one taken at or before it, or the first base while it is being written (whoever
    /// reads it waits for it: [`Engine::finished_base`]).
    pub(crate) fn base_for(&self, table: &Table, at: f64) -> Result<PathBuf> {
        let bases = self.bases(table)?;
        if let Some((dir, _)) = bases.iter().rev().find(|(_, b)| b.taken_at <= at) {
            return Ok(dir.clone());
        }
        match table.pitr.pending.lock().clone() {
            Some(p) if p.taken_at <= at => Ok(p.dir),
            _ => Err(pitr_unavailable(&table.meta.name)),
        }
    }

    /// Directories of bases interrupted by a stop (never completed, not being written).
    fn drop_partial_bases(&self, table: &Table) -> Result<usize> {
        let pending = table.pitr.pending.lock().as_ref().map(|p| p.dir.clone());
        let Ok(entries) = std::fs::read_dir(self.bases_dir(&table.meta.id)?) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.join(file::MANIFEST_FILE).exists() && Some(&path) != pending.as_ref() {
                let _ = std::fs::remove_dir_all(&path);
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub fn restore_table_to_point_in_time(
        &self,
        input: RestoreTableToPointInTimeInput,
    ) -> Result<RestoreOutput> {
        let source_name = match (&input.source_table_arn, &input.source_table_name) {
            (Some(_), Some(_)) => {
                return Err(Error::validation(
                    "Must provide exactly one of: sourceTableArn, sourceTableName",
                ))
            }
            (Some(arn), None) => self
                .table_in_arn(arn)
                .ok_or_else(|| Error::validation("sourceTableArn is not a valid ARN"))?,
            (None, Some(name)) => name.as_str(),
            (None, None) => {
                return Err(Error::validation(
                    "The parameter 'TableName' is required but was not present in the request",
                ))
            }
        };
        keyfall_types::command::validate_name(source_name, "sourceTableName")?;
        let target = backup::table_name_of(&input.target_table_name, "targetTableName")?;
        let latest = input.use_latest_restorable_time == Some(true);
        let requested = match (latest, input.restore_date_time) {
            (true, Some(_)) => {
                return Err(Error::validation(
                    "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for point-in-time restore request. Please specify either RestoreDateTime time or UseLatestRestorableTime",
                ))
            }
            (false, None) => {
                return Err(Error::validation(
                    "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both",
                ))
            }
            (_, t) => t,
        };
        let table = self.pitr_table(source_name)?;
        let Some(pitr) = table.meta.pitr.clone() else {
            return Err(pitr_unavailable(source_name));
        };
        let now = now_epoch_seconds();
        let earliest = self
            .restorable_from(&table)?
            .unwrap_or(pitr.enabled_at)
            .min(now);
        let at = requested.unwrap_or(now);
        if at < earliest.floor() || at > now {
            return Err(Error::Other {
                name: "InvalidRestoreTimeException",
                message: format!(
                    "RestoreDateTime '{}' must be within EarliestRestorableDateTime '{}' and LatestRestorableDateTime '{}'",
                    iso(at),
                    iso(earliest),
                    iso(now)
                ),
            });
        }
        if self.catalog.get(target).is_some() {
            return Err(super::restore::table_already_exists(target));
        }
        let until = (at * 1e6) as u64;
        let base = self.base_for(&table, at)?;
        let restore = super::restore::RestoreMeta {
            source: super::restore::RestoreSource::PointInTime {
                table_id: table.meta.id.clone(),
                base,
                log_keyspace: pitr.keyspace.clone(),
                until,
            },
            source_backup_arn: None,
            source_table_arn: Some(self.table_arn(source_name)),
            restore_time: at,
        };
        let overrides = super::restore::overrides_of!(input);
        let description = self.start_restore(target, &table.meta, &overrides, restore)?;
        Ok(RestoreOutput {
            table_description: description,
        })
    }

    /// The base a point-in-time restore to `at` reads, once complete: the base being
    /// written when the restore was asked for is renamed for its position when written.
    pub(crate) fn finished_base(
        &self,
        dir: &Path,
        table_id: &str,
        at: f64,
    ) -> Result<(PathBuf, u64)> {
        let pending = || {
            self.catalog.all().iter().any(|t| {
                t.meta.id == table_id
                    && t.pitr.pending.lock().as_ref().is_some_and(|p| p.dir == dir)
            })
        };
        while !dir.join(file::MANIFEST_FILE).exists() && pending() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if dir.join(file::MANIFEST_FILE).exists() {
            let m: file::Manifest<BaseInfo> = file::read_manifest(dir)?;
            return Ok((dir.to_path_buf(), m.content.position));
        }
        self.read_bases(table_id)?
            .into_iter()
            .rev()
            .find(|(_, b)| b.taken_at <= at)
            .map(|(path, b)| (path, b.position))
            .ok_or_else(|| {
                Error::Internal(
                    "the point-in-time-recovery base this restore needed is gone".into(),
                )
            })
    }

    /// Trims each PITR table's log and bases to its recovery period, takes a new base when
    /// the log since the newest one has grown as large as the table, and removes the bases
    /// of tables whose PITR is off. Returns how many log records and bases it removed.
    pub fn maintain_pitr(&self) -> Result<usize> {
        const MAX_DELETES: usize = 4096;
        if self.backup_dir().is_err() {
            return Ok(0);
        }
        let mut removed = 0;
        let tables = self.catalog.all();
        for table in tables.iter().filter(|t| t.meta.pitr.is_some()) {
            let Some(pitr) = &table.meta.pitr else {
                continue;
            };
            let first_look = !table.pitr.counted.swap(true, Ordering::Relaxed);
            if first_look {
                removed += self.drop_partial_bases(table)?;
            }
            let bases = self.bases(table)?;
            let window = now_epoch_seconds() - pitr.recovery_period_days as f64 * 86400.0;
            // The newest base at or before the window's start is kept; older ones go.
            let keep = bases
                .iter()
                .rposition(|(_, b)| b.taken_at <= window)
                .unwrap_or(0);
            for (dir, _) in bases.iter().take(keep) {
                let _ = std::fs::remove_dir_all(dir);
                removed += 1;
            }
            if keep > 0 {
                *table.pitr.bases.lock() = None;
            }
            if let Some((_, base)) = bases.get(keep) {
                let range = KeyRange {
                    start: std::ops::Bound::Unbounded,
                    end: std::ops::Bound::Included(base.position.to_be_bytes().to_vec()),
                };
                let old: Vec<Op> = self
                    .store
                    .range(&pitr.keyspace, range, false)?
                    .take(MAX_DELETES)
                    .map(|kv| {
                        kv.map(|(key, _)| Op::Delete {
                            keyspace: pitr.keyspace.clone(),
                            key,
                        })
                    })
                    .collect::<std::result::Result<_, _>>()?;
                removed += old.len();
                if !old.is_empty() {
                    self.store.apply(old)?;
                }
            }
            let newest = bases.last().map(|(_, b)| b.position);
            if first_look {
                if let Some(position) = newest {
                    let range = KeyRange {
                        start: std::ops::Bound::Excluded(position.to_be_bytes().to_vec()),
                        end: std::ops::Bound::Unbounded,
                    };
                    let n = self.store.range(&pitr.keyspace, range, false)?.count();
                    table.pitr.since_base.store(n as u64, Ordering::Relaxed);
                }
            }
            let items = table.stats.items.load(Ordering::Relaxed).max(0) as u64;
            let due = table.pitr.since_base.load(Ordering::Relaxed)
                >= items.max(self.config.pitr_base_every);
            if newest.is_none() || due {
                self.start_base(table)?;
            }
        }
        Ok(removed)
    }

    /// Removes the bases of a table that no longer has PITR: disabling removes them at
    /// once; these are a deleted table's, or left by a stop in between.
    pub(crate) fn drop_orphan_bases(&self) -> Result<usize> {
        let Ok(root) = self.pitr_root() else {
            return Ok(0);
        };
        let tables = self.catalog.all();
        let mut removed = 0;
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let id = entry.file_name().to_string_lossy().to_string();
            if !tables
                .iter()
                .any(|t| t.meta.id == id && t.meta.pitr.is_some())
            {
                let _ = std::fs::remove_dir_all(entry.path());
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_round_trip_puts_and_deletes() {
        let put = encode_entry(b"key", &Logged::Put(b"item".to_vec()));
        assert_eq!(
            decode_entry(&put).unwrap(),
            (b"key".to_vec(), Logged::Put(b"item".to_vec()))
        );
        let delete = encode_entry(b"k2", &Logged::Delete(b"keys".to_vec()));
        assert_eq!(
            decode_entry(&delete).unwrap(),
            (b"k2".to_vec(), Logged::Delete(b"keys".to_vec()))
        );
        let damaged: [&[u8]; 4] = [
            b"",
            &[2, 0, 0, 0, 0],
            &[1, 9, 0, 0, 0, 1],
            &[1, 1, 0, 0, 0, 7, 5],
        ];
        for d in damaged {
            assert!(decode_entry(d).is_err(), "{d:?}");
        }
    }
}
