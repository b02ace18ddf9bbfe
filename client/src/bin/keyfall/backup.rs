//! `keyfall backup ...` (on-demand backups) and `keyfall pitr ...` (point-in-time recovery).

use std::time::{Duration, SystemTime};

use clap::Subcommand;
use keyfall::{Backup, Client, PointInTimeRecovery};
use serde_json::json;

use crate::transport_or_service;

/// How long `--wait` waits for a restored table.
const RESTORE_WAIT: Duration = Duration::from_secs(24 * 3600);

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Backs a table up; prints the backup (it is AVAILABLE once written).
    Create {
        table: String,
        /// The backup's name (3 to 255 of `[a-zA-Z0-9_.-]`).
        name: String,
    },
    /// Lists backups (of one table), oldest first, as JSON lines.
    List {
        #[arg(long)]
        table: Option<String>,
    },
    /// Prints one backup.
    Describe { arn: String },
    /// Deletes a backup.
    Delete { arn: String },
    /// Restores a backup into a new table.
    Restore {
        arn: String,
        /// The new table.
        target: String,
        /// Waits until the restored table is ACTIVE.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Subcommand)]
pub enum PitrCommand {
    /// Turns point-in-time recovery on.
    Enable {
        table: String,
        /// Days of history kept, 1 to 35 (default 35).
        #[arg(long)]
        days: Option<i32>,
    },
    /// Turns it off (its history is dropped).
    Disable { table: String },
    /// Prints whether it is on and the window a restore may name.
    Status { table: String },
    /// Restores a table as it was at a time into a new table.
    Restore {
        source: String,
        target: String,
        /// The time: RFC 3339 (`2026-12-07T20:15:00Z`) or epoch seconds; default the latest
        /// restorable time.
        #[arg(long, value_parser = parse_time)]
        at: Option<SystemTime>,
        /// Waits until the restored table is ACTIVE.
        #[arg(long)]
        wait: bool,
    },
}

fn parse_time(s: &str) -> Result<SystemTime, String> {
    if let Ok(seconds) = s.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds));
        }
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s:?} is neither RFC 3339 nor epoch seconds: {e}"))?;
    Ok(SystemTime::from(t))
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn backup_json(b: &Backup) -> serde_json::Value {
    json!({
        "BackupArn": b.arn, "BackupName": b.name, "TableName": b.table,
        "BackupStatus": b.status, "BackupType": b.kind,
        "BackupCreationDateTime": rfc3339(b.created), "BackupSizeBytes": b.size_bytes,
    })
}

fn pitr_json(p: &PointInTimeRecovery) -> serde_json::Value {
    json!({
        "PointInTimeRecoveryStatus": if p.enabled { "ENABLED" } else { "DISABLED" },
        "RecoveryPeriodInDays": p.recovery_period_days,
        "EarliestRestorableDateTime": p.earliest.map(rfc3339),
        "LatestRestorableDateTime": p.latest.map(rfc3339),
    })
}

fn print(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn restored(client: &Client, target: &str, wait: bool) -> anyhow::Result<()> {
    if wait {
        client
            .wait_until_active(target, RESTORE_WAIT)
            .await
            .map_err(transport_or_service)?;
        eprintln!("{target} is ACTIVE");
    } else {
        eprintln!("restoring into {target} (CREATING until filled; --wait waits)");
    }
    Ok(())
}

pub async fn backup(client: &Client, command: BackupCommand) -> anyhow::Result<()> {
    let e = transport_or_service;
    match command {
        BackupCommand::Create { table, name } => print(&backup_json(
            &client.create_backup(&table, &name).await.map_err(e)?,
        )),
        BackupCommand::List { table } => {
            for b in client.list_backups(table.as_deref()).await.map_err(e)? {
                println!("{}", backup_json(&b));
            }
            Ok(())
        }
        BackupCommand::Describe { arn } => print(&backup_json(
            &client.describe_backup(&arn).await.map_err(e)?,
        )),
        BackupCommand::Delete { arn } => {
            print(&backup_json(&client.delete_backup(&arn).await.map_err(e)?))
        }
        BackupCommand::Restore { arn, target, wait } => {
            client
                .restore_table_from_backup(&arn, &target)
                .await
                .map_err(e)?;
            restored(client, &target, wait).await
        }
    }
}

pub async fn pitr(client: &Client, command: PitrCommand) -> anyhow::Result<()> {
    let e = transport_or_service;
    match command {
        PitrCommand::Enable { table, days } => print(&pitr_json(
            &client
                .set_point_in_time_recovery(&table, true, days)
                .await
                .map_err(e)?,
        )),
        PitrCommand::Disable { table } => print(&pitr_json(
            &client
                .set_point_in_time_recovery(&table, false, None)
                .await
                .map_err(e)?,
        )),
        PitrCommand::Status { table } => print(&pitr_json(
            &client.point_in_time_recovery(&table).await.map_err(e)?,
        )),
        PitrCommand::Restore {
            source,
            target,
            at,
            wait,
        } => {
            client
                .restore_table_to_point_in_time(&source, &target, at)
                .await
                .map_err(e)?;
            restored(client, &target, wait).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_epoch_seconds() {
        let epoch = parse_time("1796673919.5").unwrap();
        assert_eq!(rfc3339(epoch), "2026-12-07T20:05:19.5Z");
        assert_eq!(parse_time("2026-12-07T20:05:19.5Z").unwrap(), epoch);
        assert!(parse_time("yesterday")
            .unwrap_err()
            .contains("neither RFC 3339"));
        assert!(parse_time("-5").is_err());
    }
}
