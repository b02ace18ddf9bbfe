//! Backups, point-in-time recovery, exports and imports: typed calls over DynamoDB's
//! actions, with times as `SystemTime` and restores that can wait for the new table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proto::v1 as pb;
use crate::{Client, Error, Idempotency};

/// An on-demand backup, as DescribeBackup and ListBackups tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub arn: String,
    pub name: String,
    /// The table it was taken of.
    pub table: String,
    /// `CREATING` or `AVAILABLE` (`DELETED` in DeleteBackup's answer).
    pub status: String,
    /// `USER` or `SYSTEM`.
    pub kind: String,
    pub created: SystemTime,
    pub size_bytes: Option<i64>,
}

/// A table's point-in-time recovery.
#[derive(Debug, Clone, PartialEq)]
pub struct PointInTimeRecovery {
    pub enabled: bool,
    pub recovery_period_days: Option<i32>,
    /// The window a restore may name, when enabled.
    pub earliest: Option<SystemTime>,
    pub latest: Option<SystemTime>,
}

fn time(seconds: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(seconds.max(0.0))
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn from_details(table: String, d: pb::BackupDetails) -> Backup {
    Backup {
        arn: d.backup_arn,
        name: d.backup_name,
        table,
        status: d.backup_status,
        kind: d.backup_type,
        created: time(d.backup_creation_date_time),
        size_bytes: d.backup_size_bytes,
    }
}

fn from_description(d: Option<pb::BackupDescription>) -> Result<Backup, Error> {
    let d = d.unwrap_or_default();
    let table = d
        .source_table_details
        .map(|s| s.table_name)
        .unwrap_or_default();
    let details = d
        .backup_details
        .ok_or_else(|| Error::Unexpected("a backup description without its details".into()))?;
    Ok(from_details(table, details))
}

fn from_pitr(d: Option<pb::ContinuousBackupsDescription>) -> PointInTimeRecovery {
    let p = d
        .and_then(|d| d.point_in_time_recovery_description)
        .unwrap_or_default();
    PointInTimeRecovery {
        enabled: p.point_in_time_recovery_status.as_deref() == Some("ENABLED"),
        recovery_period_days: p.recovery_period_in_days,
        earliest: p.earliest_restorable_date_time.map(time),
        latest: p.latest_restorable_date_time.map(time),
    }
}

impl Client {
    /// Backs up `table` as `name`; the backup is CREATING until written (see
    /// [`Client::describe_backup`]), but already holds the table as of this call.
    pub async fn create_backup(&self, table: &str, name: &str) -> Result<Backup, Error> {
        let request = pb::CreateBackupRequest {
            table_name: table.to_string(),
            backup_name: name.to_string(),
        };
        let out = self
            .call(
                "CreateBackup",
                Some(table),
                Idempotency::Unsafe,
                request,
                |mut c, r| async move { c.create_backup(r).await },
            )
            .await?;
        let details = out
            .backup_details
            .ok_or_else(|| Error::Unexpected("CreateBackup answered no details".into()))?;
        Ok(from_details(table.to_string(), details))
    }

    pub async fn describe_backup(&self, arn: &str) -> Result<Backup, Error> {
        let request = pb::DescribeBackupRequest {
            backup_arn: arn.to_string(),
        };
        let out = self
            .call(
                "DescribeBackup",
                None,
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.describe_backup(r).await },
            )
            .await?;
        from_description(out.backup_description)
    }

    /// Every backup (of `table`, when named), oldest first, all pages.
    pub async fn list_backups(&self, table: Option<&str>) -> Result<Vec<Backup>, Error> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let request = pb::ListBackupsRequest {
                table_name: table.map(str::to_string),
                exclusive_start_backup_arn: start,
                backup_type: Some("ALL".into()),
                ..Default::default()
            };
            let page = self
                .call(
                    "ListBackups",
                    table,
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.list_backups(r).await },
                )
                .await?;
            out.extend(page.backup_summaries.into_iter().map(|s| Backup {
                arn: s.backup_arn.unwrap_or_default(),
                name: s.backup_name.unwrap_or_default(),
                table: s.table_name.unwrap_or_default(),
                status: s.backup_status.unwrap_or_default(),
                kind: s.backup_type.unwrap_or_default(),
                created: time(s.backup_creation_date_time.unwrap_or_default()),
                size_bytes: s.backup_size_bytes,
            }));
            match page.last_evaluated_backup_arn {
                Some(next) => start = Some(next),
                None => return Ok(out),
            }
        }
    }

    pub async fn delete_backup(&self, arn: &str) -> Result<Backup, Error> {
        let request = pb::DeleteBackupRequest {
            backup_arn: arn.to_string(),
        };
        let out = self
            .call(
                "DeleteBackup",
                None,
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.delete_backup(r).await },
            )
            .await?;
        from_description(out.backup_description)
    }

    /// Restores a backup into the new table `target` (CREATING until filled: see
    /// [`Client::wait_until_active`]).
    pub async fn restore_table_from_backup(&self, arn: &str, target: &str) -> Result<(), Error> {
        let request = pb::RestoreTableFromBackupRequest {
            target_table_name: target.to_string(),
            backup_arn: arn.to_string(),
            ..Default::default()
        };
        self.call(
            "RestoreTableFromBackup",
            Some(target),
            Idempotency::Unsafe,
            request,
            |mut c, r| async move { c.restore_table_from_backup(r).await },
        )
        .await?;
        Ok(())
    }

    /// Turns point-in-time recovery on (keeping `days`, 1 to 35, default 35) or off.
    pub async fn set_point_in_time_recovery(
        &self,
        table: &str,
        enabled: bool,
        days: Option<i32>,
    ) -> Result<PointInTimeRecovery, Error> {
        let request = pb::UpdateContinuousBackupsRequest {
            table_name: table.to_string(),
            point_in_time_recovery_specification: Some(pb::PointInTimeRecoverySpecification {
                point_in_time_recovery_enabled: enabled,
                recovery_period_in_days: days,
            }),
        };
        let out = self
            .call(
                "UpdateContinuousBackups",
                Some(table),
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.update_continuous_backups(r).await },
            )
            .await?;
        Ok(from_pitr(out.continuous_backups_description))
    }

    pub async fn point_in_time_recovery(&self, table: &str) -> Result<PointInTimeRecovery, Error> {
        let request = pb::DescribeContinuousBackupsRequest {
            table_name: table.to_string(),
        };
        let out = self
            .call(
                "DescribeContinuousBackups",
                Some(table),
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.describe_continuous_backups(r).await },
            )
            .await?;
        Ok(from_pitr(out.continuous_backups_description))
    }

    /// Restores `source` as it was at `at` (or its latest restorable time) into the new
    /// table `target`.
    pub async fn restore_table_to_point_in_time(
        &self,
        source: &str,
        target: &str,
        at: Option<SystemTime>,
    ) -> Result<(), Error> {
        let request = pb::RestoreTableToPointInTimeRequest {
            source_table_name: Some(source.to_string()),
            target_table_name: target.to_string(),
            use_latest_restorable_time: at.is_none().then_some(true),
            restore_date_time: at.map(seconds),
            ..Default::default()
        };
        self.call(
            "RestoreTableToPointInTime",
            Some(target),
            Idempotency::Unsafe,
            request,
            |mut c, r| async move { c.restore_table_to_point_in_time(r).await },
        )
        .await?;
        Ok(())
    }

    /// Waits until `table` is ACTIVE (a restore filled it), polling DescribeTable, for at
    /// most `timeout`.
    pub async fn wait_until_active(&self, table: &str, timeout: Duration) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let request = pb::DescribeTableRequest {
                table_name: table.to_string(),
            };
            let out = self
                .call(
                    "DescribeTable",
                    Some(table),
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.describe_table(r).await },
                )
                .await?;
            let status = out.table.and_then(|t| t.table_status);
            if status.as_deref() == Some("ACTIVE") {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(format!(
                    "{table} is still {} after {timeout:?}",
                    status.unwrap_or_default()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An export to S3 (a folder of the server's export directory), as DescribeExport tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub arn: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub item_count: Option<i64>,
    /// The key of `manifest-summary.json` in the bucket.
    pub manifest: Option<String>,
    /// `FailureCode: FailureMessage` of a failed export.
    pub failure: Option<String>,
}

fn from_export(d: Option<pb::ExportDescription>) -> Export {
    let d = d.unwrap_or_default();
    Export {
        arn: d.export_arn.unwrap_or_default(),
        status: d.export_status.unwrap_or_default(),
        item_count: d.item_count,
        manifest: d.export_manifest,
        failure: d
            .failure_code
            .map(|c| format!("{c}: {}", d.failure_message.unwrap_or_default())),
    }
}

/// An import from S3, as DescribeImport tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub arn: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`...
    pub status: String,
    pub processed: i64,
    pub imported: i64,
    pub errors: i64,
    pub failure: Option<String>,
}

fn from_import(d: Option<pb::ImportTableDescription>) -> Import {
    let d = d.unwrap_or_default();
    Import {
        arn: d.import_arn.unwrap_or_default(),
        status: d.import_status.unwrap_or_default(),
        processed: d.processed_item_count,
        imported: d.imported_item_count,
        errors: d.error_count,
        failure: d
            .failure_code
            .map(|c| format!("{c}: {}", d.failure_message.unwrap_or_default())),
    }
}

impl Client {
    /// Exports the table (its ARN) as it was at `at` (default now; point-in-time recovery
    /// must be on) to `bucket`/`prefix`, in `format` (`DYNAMODB_JSON` or `ION`).
    pub async fn export_table(
        &self,
        table_arn: &str,
        bucket: &str,
        prefix: Option<&str>,
        format: &str,
        at: Option<SystemTime>,
    ) -> Result<Export, Error> {
        let request = pb::ExportTableToPointInTimeRequest {
            table_arn: table_arn.to_string(),
            s3_bucket: bucket.to_string(),
            s3_prefix: prefix.map(str::to_string),
            export_format: Some(format.to_string()),
            export_time: at.map(seconds),
            client_token: Some(uuid::Uuid::new_v4().to_string()),
            ..Default::default()
        };
        let out = self
            .call(
                "ExportTableToPointInTime",
                None,
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.export_table_to_point_in_time(r).await },
            )
            .await?;
        Ok(from_export(out.export_description))
    }

    pub async fn describe_export(&self, arn: &str) -> Result<Export, Error> {
        let request = pb::DescribeExportRequest {
            export_arn: arn.to_string(),
        };
        let out = self
            .call(
                "DescribeExport",
                None,
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.describe_export(r).await },
            )
            .await?;
        Ok(from_export(out.export_description))
    }

    /// Starts an import into a new table; the request says from where, in which format,
    /// and the table to create. A ClientToken is added when it has none, so a resend is
    /// the same import.
    pub async fn import_table(&self, mut request: pb::ImportTableRequest) -> Result<Import, Error> {
        if request.client_token.is_none() {
            request.client_token = Some(uuid::Uuid::new_v4().to_string());
        }
        let table = request
            .table_creation_parameters
            .as_ref()
            .map(|t| t.table_name.clone());
        let out = self
            .call(
                "ImportTable",
                table.as_deref(),
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.import_table(r).await },
            )
            .await?;
        Ok(from_import(out.import_table_description))
    }

    pub async fn describe_import(&self, arn: &str) -> Result<Import, Error> {
        let request = pb::DescribeImportRequest {
            import_arn: arn.to_string(),
        };
        let out = self
            .call(
                "DescribeImport",
                None,
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.describe_import(r).await },
            )
            .await?;
        Ok(from_import(out.import_table_description))
    }
}
