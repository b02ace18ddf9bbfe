//! Restores, from a backup or to a point in time: the target's definition (the source's,
//! with the request's overrides, planned as CreateTable plans one), and the loader that
//! fills it on a background thread.
//!
//! The target is created at once with its `restore` set, which keeps it CREATING: item
//! calls do not find it and DeleteTable refuses it. The loader writes the items, then
//! builds every index from the loaded items in one pass (so indexes agree with the table
//! whatever the source), counts them, and clears `restore`, which makes the table ACTIVE.
//! Every step is idempotent (the same items land under the same keys), so a restore
//! interrupted by a crash starts over when the server opens again
//! ([`Engine::resume_restores`]); one that fails removes its target.

use serde::{Deserialize, Serialize};

use super::backup::{self, file};
use super::catalog::{BillingMode, IndexMeta, TableMeta};
use super::{indexes, Engine};
use crate::error::{Error, Result};
use crate::model::{codec, item_size};
use crate::storage::{KeyRange, Op};
use crate::types::{
    AttributeDefinition, CreateTableInput, GlobalSecondaryIndex, LocalSecondaryIndex,
    OnDemandThroughput, ProvisionedThroughput, SseSpecification, TableDescription,
};

/// Items written to storage a batch at a time.
const CHUNK: usize = 512;

/// Where a restored table's items come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RestoreSource {
    /// An on-demand backup, by id.
    Backup { id: String },
    /// A point-in-time-recovery base of the source table, then its log up to `until`.
    PointInTime {
        /// The source table's id.
        table_id: String,
        /// The base's directory.
        base: std::path::PathBuf,
        /// The source's log keyspace and the last position to replay (the base's
        /// position is the first excluded).
        log_keyspace: String,
        until: u64,
    },
}

/// A table being restored (`TableMeta::restore`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreMeta {
    pub source: RestoreSource,
    pub source_backup_arn: Option<String>,
    pub source_table_arn: Option<String>,
    pub restore_time: f64,
}

/// The overrides of a restore request (both restore actions name them alike).
macro_rules! overrides_of {
    ($input:expr) => {
        $crate::restore::Overrides {
            billing_mode: $input.billing_mode_override,
            global_indexes: $input.global_secondary_index_override,
            local_indexes: $input.local_secondary_index_override,
            provisioned_throughput: $input.provisioned_throughput_override,
            on_demand_throughput: $input.on_demand_throughput_override,
            sse: $input.sse_specification_override,
        }
    };
}
pub(crate) use overrides_of;

/// What a restore request may change of the source's definition.
pub struct Overrides {
    pub billing_mode: Option<String>,
    pub global_indexes: Option<Vec<GlobalSecondaryIndex>>,
    pub local_indexes: Option<Vec<LocalSecondaryIndex>>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub on_demand_throughput: Option<OnDemandThroughput>,
    pub sse: Option<SseSpecification>,
}

fn not_in_source(name: &str) -> Error {
    Error::validation(format!(
        "Invalid Request: Index {name} does not match a secondary index that existed in the source table and cannot be created during the restore operation"
    ))
}

fn throughput(r: i64, w: i64) -> ProvisionedThroughput {
    ProvisionedThroughput {
        read_capacity_units: Some(r),
        write_capacity_units: Some(w),
    }
}

fn maxima(r: Option<i64>, w: Option<i64>) -> Option<OnDemandThroughput> {
    (r.is_some() || w.is_some()).then_some(OnDemandThroughput {
        max_read_request_units: r,
        max_write_request_units: w,
    })
}

/// The CreateTable request that makes the target: the source's keys and indexes (those
/// the overrides keep), its billing, throughput and encryption unless overridden; no
/// stream, TTL, tags, table class or deletion protection, as DynamoDB restores.
fn target_request(source: &TableMeta, target: &str, o: &Overrides) -> Result<CreateTableInput> {
    let billing = match o.billing_mode.as_deref() {
        None => source.billing_mode,
        Some("PROVISIONED") => BillingMode::Provisioned,
        Some("PAY_PER_REQUEST") => BillingMode::PayPerRequest,
        Some(other) => {
            return Err(Error::validation(format!(
                "1 validation error detected: Value '{other}' at 'billingModeOverride' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
            )))
        }
    };
    let switched = billing != source.billing_mode;
    let table_throughput = match (billing, &o.provisioned_throughput) {
        (BillingMode::PayPerRequest, Some(_)) if o.billing_mode.is_some() => {
            return Err(Error::validation(
                "Invalid Request: Cannot override ProvisionedThroughput if BillingMode is overridden to PAY_PER_REQUEST",
            ))
        }
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(Error::validation(
                "Cannot override ProvisionedThroughput unless BillingMode is PROVISIONED",
            ))
        }
        (BillingMode::PayPerRequest, None) => None,
        (BillingMode::Provisioned, Some(t)) => Some(t.clone()),
        (BillingMode::Provisioned, None) if switched => {
            return Err(Error::validation(
                "Must override ProvisionedThroughput if BillingMode is overridden to PROVISIONED",
            ))
        }
        (BillingMode::Provisioned, None) => {
            Some(throughput(source.read_capacity, source.write_capacity))
        }
    };
    if o.on_demand_throughput.is_some() && billing != BillingMode::PayPerRequest {
        return Err(Error::validation(
            "Cannot override MaxReadRequestUnits for OnDemandThroughput unless BillingModeOverride is PAY_PER_REQUEST",
        ));
    }
    let source_index = |name: &str, global: bool| {
        let list = if global {
            &source.global_indexes
        } else {
            &source.local_indexes
        };
        list.iter().find(|i| i.name == name).cloned()
    };
    let gsi_of = |i: &IndexMeta| GlobalSecondaryIndex {
        index_name: i.name.clone(),
        key_schema: backup::key_schema_elements(&i.key_schema),
        projection: backup::projection(i),
        provisioned_throughput: match (billing, switched) {
            (BillingMode::Provisioned, false) => {
                Some(throughput(i.read_capacity, i.write_capacity))
            }
            (BillingMode::Provisioned, true) => table_throughput.clone(),
            (BillingMode::PayPerRequest, _) => None,
        },
        on_demand_throughput: (billing == BillingMode::PayPerRequest && !switched)
            .then(|| maxima(i.on_demand_max_read, i.on_demand_max_write))
            .flatten(),
    };
    let global: Vec<GlobalSecondaryIndex> = match &o.global_indexes {
        None => source.global_indexes.iter().map(gsi_of).collect(),
        Some(kept) => kept
            .iter()
            .map(|g| {
                let s = source_index(&g.index_name, true)
                    .ok_or_else(|| not_in_source(&g.index_name))?;
                let mut out = gsi_of(&s);
                // The request may give the kept index its own throughput.
                if g.provisioned_throughput.is_some() {
                    out.provisioned_throughput = g.provisioned_throughput.clone();
                }
                if g.on_demand_throughput.is_some() {
                    out.on_demand_throughput = g.on_demand_throughput.clone();
                }
                if billing == BillingMode::Provisioned && out.provisioned_throughput.is_none() {
                    return Err(Error::validation(format!(
                        "Must specify provisioned throughput for index {}",
                        g.index_name
                    )));
                }
                Ok(out)
            })
            .collect::<Result<_>>()?,
    };
    let local: Vec<LocalSecondaryIndex> = match &o.local_indexes {
        None => source
            .local_indexes
            .iter()
            .map(|i| LocalSecondaryIndex {
                index_name: i.name.clone(),
                key_schema: backup::key_schema_elements(&i.key_schema),
                projection: backup::projection(i),
            })
            .collect(),
        Some(kept) => kept
            .iter()
            .map(|l| {
                let s = source_index(&l.index_name, false)
                    .ok_or_else(|| not_in_source(&l.index_name))?;
                Ok(LocalSecondaryIndex {
                    index_name: s.name.clone(),
                    key_schema: backup::key_schema_elements(&s.key_schema),
                    projection: backup::projection(&s),
                })
            })
            .collect::<Result<_>>()?,
    };
    // Only the attributes the kept keys use are defined (CreateTable refuses others).
    let used: std::collections::HashSet<&str> = std::iter::once(&source.key_schema)
        .map(|k| k.key_names().collect::<Vec<_>>())
        .chain(global.iter().map(|g| {
            g.key_schema
                .iter()
                .map(|k| k.attribute_name.as_str())
                .collect()
        }))
        .chain(local.iter().map(|l| {
            l.key_schema
                .iter()
                .map(|k| k.attribute_name.as_str())
                .collect()
        }))
        .flatten()
        .collect();
    let attribute_definitions = source
        .attribute_definitions
        .iter()
        .filter(|(n, _)| used.contains(n.as_str()))
        .map(|(n, t)| AttributeDefinition {
            attribute_name: n.clone(),
            attribute_type: t.tag().into(),
        })
        .collect();
    let on_demand = match billing {
        BillingMode::PayPerRequest => o.on_demand_throughput.clone().or_else(|| {
            (!switched)
                .then(|| maxima(source.on_demand_max_read, source.on_demand_max_write))
                .flatten()
        }),
        BillingMode::Provisioned => None,
    };
    Ok(CreateTableInput {
        table_name: Some(target.to_string()),
        key_schema: Some(backup::key_schema_elements(&source.key_schema)),
        attribute_definitions: Some(attribute_definitions),
        billing_mode: Some(billing.name().into()),
        provisioned_throughput: table_throughput,
        local_secondary_indexes: (!local.is_empty()).then_some(local),
        global_secondary_indexes: (!global.is_empty()).then_some(global),
        stream_specification: None,
        sse_specification: o.sse.clone().or_else(|| {
            source.sse_key.is_some().then_some(SseSpecification {
                enabled: Some(true),
                sse_type: None,
                kms_master_key_id: None,
            })
        }),
        tags: None,
        table_class: None,
        deletion_protection_enabled: None,
        on_demand_throughput: on_demand,
    })
}

pub(crate) fn table_already_exists(name: &str) -> Error {
    Error::Other {
        name: "TableAlreadyExistsException",
        message: format!("Table already exists: {name}"),
    }
}

impl Engine {
    /// Creates `target` from `source`'s definition and the overrides, CREATING until the
    /// loader (started here) has filled it; answers its description.
    pub(crate) fn start_restore(
        &self,
        target: &str,
        source: &TableMeta,
        overrides: &Overrides,
        restore: RestoreMeta,
    ) -> Result<TableDescription> {
        if let Some(existing) = self.catalog.get(target) {
            return Err(match &existing.meta.restore {
                Some(r) => Error::Other {
                    name: "TableInUseException",
                    message: format!(
                        "Table: {target} is already being restored from backup: {}",
                        r.source_backup_arn.as_deref().unwrap_or_default()
                    ),
                },
                None => table_already_exists(target),
            });
        }
        let request = target_request(source, target, overrides)?;
        let mut meta = self.plan_table(&request)?;
        meta.restore = Some(restore.clone());
        if let RestoreSource::Backup { id } = &restore.source {
            if !self.backups.start_restoring(id, target) {
                return Err(backup::backup_in_use(format!(
                    "Backup is being used to restore another table: {}",
                    restore.source_backup_arn.as_deref().unwrap_or_default()
                )));
            }
        }
        let created = self
            .catalog
            .create(self.store.as_ref(), meta)
            .map_err(|e| match e {
                Error::ResourceInUse(_) => table_already_exists(target),
                other => other,
            });
        let table = match created {
            Ok(t) => t,
            Err(e) => {
                self.release_source(&restore);
                return Err(e);
            }
        };
        self.spawn_restore(table.meta.name.clone(), table.meta.id.clone())?;
        Ok(self.describe(&table))
    }

    fn release_source(&self, restore: &RestoreMeta) {
        if let RestoreSource::Backup { id } = &restore.source {
            self.backups.stop_restoring(id);
        }
    }

    fn spawn_restore(&self, name: String, id: String) -> Result<()> {
        let engine = self
            .me
            .upgrade()
            .ok_or_else(|| Error::Internal("engine is shutting down".into()))?;
        std::thread::Builder::new()
            .name("keyfall-restore".into())
            .spawn(move || {
                super::background_priority();
                let restore = engine
                    .catalog
                    .get(&name)
                    .filter(|t| t.meta.id == id)
                    .and_then(|t| t.meta.restore.clone());
                let Some(restore) = restore else { return };
                if let Err(e) = engine.load(&name, &id, &restore) {
                    tracing::error!(table = %name, error = %e, "restore failed; the table is removed");
                    let _schema = engine.schema_lock.write();
                    if engine.restoring_table(&name, &id).is_some() {
                        let _ = engine.catalog.remove(engine.store.as_ref(), &name);
                    }
                }
                engine.release_source(&restore);
            })
            .map_err(|e| Error::Internal(format!("cannot start the restore thread: {e}")))?;
        Ok(())
    }

    /// Restarts every restore a stop interrupted.
    pub(crate) fn resume_restores(&self) -> Result<()> {
        for table in self.catalog.all() {
            if let Some(r) = &table.meta.restore {
                tracing::info!(table = %table.meta.name, "resuming a restore");
                if let RestoreSource::Backup { id } = &r.source {
                    self.backups.start_restoring(id, &table.meta.name);
                }
                self.spawn_restore(table.meta.name.clone(), table.meta.id.clone())?;
            }
        }
        Ok(())
    }

    /// The table still being restored under this identity.
    fn restoring_table(
        &self,
        name: &str,
        id: &str,
    ) -> Option<std::sync::Arc<super::catalog::Table>> {
        self.catalog
            .get(name)
            .filter(|t| t.meta.id == id && t.meta.restore.is_some())
    }

    /// Writes a chunk of a background fill, if its table is still there (`live`).
    pub(crate) fn apply_chunk(
        &self,
        ops: &mut Vec<Op>,
        live: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        live()?;
        self.store.apply(std::mem::take(ops))?;
        Ok(())
    }

    /// Writes into `keyspace` the items of the backup-format directory `base`, then the
    /// log's changes after position `after` up to `until` (`log`), in order; `live` is
    /// asked before each chunk is written and stops the work with its error.
    pub(crate) fn materialize(
        &self,
        keyspace: &str,
        schema: &crate::model::KeySchema,
        base: &std::path::Path,
        log: Option<(&str, u64, u64)>,
        live: &dyn Fn() -> Result<()>,
    ) -> Result<()> {
        let mut ops: Vec<Op> = Vec::with_capacity(CHUNK);
        let flush = |ops: &mut Vec<Op>| self.apply_chunk(ops, live);
        let manifest: file::Manifest<serde_json::Value> = file::read_manifest(base)?;
        let cipher = self.data_cipher(&manifest.data)?;
        for value in file::ItemReader::open(base, &manifest.data, cipher)? {
            let value = value?;
            let item = codec::decode_item(&value).map_err(|e| Error::Internal(e.to_string()))?;
            ops.push(Op::Put {
                keyspace: keyspace.to_string(),
                key: schema.encode(&item)?,
                value,
            });
            if ops.len() >= CHUNK {
                flush(&mut ops)?;
            }
        }
        if let Some((log_keyspace, after, until)) = log {
            for change in super::pitr::replay(self.store.as_ref(), log_keyspace, after, until)? {
                ops.push(match change? {
                    (key, super::pitr::Logged::Put(value)) => Op::Put {
                        keyspace: keyspace.to_string(),
                        key,
                        value,
                    },
                    (key, super::pitr::Logged::Delete(_)) => Op::Delete {
                        keyspace: keyspace.to_string(),
                        key,
                    },
                });
                if ops.len() >= CHUNK {
                    flush(&mut ops)?;
                }
            }
        }
        flush(&mut ops)
    }

    /// Fills the target: the items, then the indexes, then the counters; then ACTIVE.
    fn load(&self, name: &str, id: &str, restore: &RestoreMeta) -> Result<()> {
        let gone = || Error::Internal("the restored table was deleted".into());
        let table = self.restoring_table(name, id).ok_or_else(gone)?;
        let meta = table.meta.clone();
        let live = || self.restoring_table(name, id).map(|_| ()).ok_or_else(gone);
        match &restore.source {
            RestoreSource::Backup { id } => {
                let base = self.backup_dir()?.join(id);
                self.materialize(&meta.keyspace, &meta.key_schema, &base, None, &live)?;
            }
            RestoreSource::PointInTime {
                base,
                table_id,
                log_keyspace,
                until,
            } => {
                let (base, after) = self.finished_base(base, table_id, restore.restore_time)?;
                let log = Some((log_keyspace.as_str(), after, *until));
                self.materialize(&meta.keyspace, &meta.key_schema, &base, log, &live)?;
            }
        }
        let items = self.index_and_activate(name, id, &meta, &live)?;
        tracing::info!(table = %name, items, "restore finished");
        Ok(())
    }

    /// The last steps of a table filled in the background (a restore, an import): every
    /// index built from the loaded items, the counters set, and the table made ACTIVE
    /// (its `restore` and `import` cleared). Returns the item count.
    pub(crate) fn index_and_activate(
        &self,
        name: &str,
        id: &str,
        meta: &TableMeta,
        live: &dyn Fn() -> Result<()>,
    ) -> Result<i64> {
        let flush = |ops: &mut Vec<Op>| self.apply_chunk(ops, live);
        let mut counts: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
        let (mut items, mut bytes) = (0i64, 0i64);
        let mut index_ops: Vec<Op> = Vec::with_capacity(CHUNK);
        for kv in self.store.range(&meta.keyspace, KeyRange::all(), false)? {
            let (key, value) = kv?;
            let item = codec::decode_item(&value).map_err(|e| Error::Internal(e.to_string()))?;
            items += 1;
            bytes += item_size(&item) as i64;
            for index in meta.indexes() {
                let Some(entry) = indexes::entry_key(index, &key, &item) else {
                    continue;
                };
                let projected = indexes::project(index, &meta.key_schema, &item);
                let count = counts.entry(index.name.as_str()).or_default();
                count.0 += 1;
                count.1 += item_size(&projected) as i64;
                index_ops.push(Op::Put {
                    keyspace: index.keyspace.clone(),
                    key: entry,
                    value: codec::encode_item(&projected),
                });
            }
            if index_ops.len() >= CHUNK {
                flush(&mut index_ops)?;
            }
        }
        flush(&mut index_ops)?;
        let _schema = self.schema_lock.write();
        live()?;
        let table = self
            .catalog
            .get(name)
            .filter(|t| t.meta.id == id)
            .ok_or_else(|| Error::Internal("the table being filled was deleted".into()))?;
        table.stats.set(items, bytes);
        for index in meta.indexes() {
            if let Some(stats) = table.index_stats(&index.name) {
                let (n, b) = counts.get(index.name.as_str()).copied().unwrap_or_default();
                stats.set(n, b);
            }
        }
        self.catalog.update(self.store.as_ref(), name, id, |m| {
            m.restore = None;
            m.import = None;
            Ok(())
        })?;
        Ok(items)
    }
}
