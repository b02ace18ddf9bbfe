//! The audit log, Keyfall's CloudTrail: one JSON line per control-plane call (and per
//! data-plane call when asked) with time, request id, principal, source address, action,
//! resources and outcome. Item values and secrets never appear: a line is built from the
//! caller and the names of the resources, nothing else.
//!
//! Lines go through a bounded channel to a writer thread, so auditing never blocks a
//! request; when the writer falls behind, lines are dropped and counted.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use serde::Serialize;

use crate::Caller;

/// Where audit lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    Stdout,
    /// A directory: files `audit.log.<date>`, rotated daily, 30 kept.
    Dir(PathBuf),
}

impl std::str::FromStr for AuditTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" => Err("empty audit target".into()),
            "stdout" | "-" => Ok(AuditTarget::Stdout),
            dir => Ok(AuditTarget::Dir(PathBuf::from(dir))),
        }
    }
}

/// Actions that read or write items: audited only with `--audit-data-plane`.
const DATA_PLANE: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
    "GetRecords",
    "GetShardIterator",
    "SubscribeChanges",
];

pub struct Audit {
    tx: SyncSender<String>,
    data_plane: bool,
    dropped: AtomicU64,
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    request_id: &'a str,
    principal: &'a str,
    source_ip: Option<String>,
    api: &'a str,
    action: &'a str,
    resources: &'a [String],
    outcome: &'a str,
}

impl Audit {
    pub fn open(target: &AuditTarget, data_plane: bool) -> std::io::Result<Audit> {
        let mut out: Box<dyn Write + Send> = match target {
            AuditTarget::Stdout => Box::new(std::io::stdout()),
            AuditTarget::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                Box::new(
                    tracing_appender::rolling::Builder::new()
                        .rotation(tracing_appender::rolling::Rotation::DAILY)
                        .filename_prefix("audit.log")
                        .max_log_files(30)
                        .build(dir)
                        .map_err(std::io::Error::other)?,
                )
            }
        };
        let (tx, rx) = sync_channel::<String>(65_536);
        std::thread::Builder::new()
            .name("keyfall-audit".into())
            .spawn(move || {
                while let Ok(line) = rx.recv() {
                    let _ = out.write_all(line.as_bytes());
                    // Batch what is already queued, then make it visible.
                    while let Ok(more) = rx.try_recv() {
                        let _ = out.write_all(more.as_bytes());
                    }
                    let _ = out.flush();
                }
            })?;
        Ok(Audit {
            tx,
            data_plane,
            dropped: AtomicU64::new(0),
        })
    }

    /// Whether `action` (`dynamodb:CreateTable`, `keyfall:CreateUser`...) is audited.
    pub fn wants(&self, action: &str) -> bool {
        let bare = action.rsplit(':').next().unwrap_or(action);
        self.data_plane || !DATA_PLANE.contains(&bare)
    }

    /// Records one answered call; `outcome` is None for success.
    pub fn record(
        &self,
        request_id: &str,
        caller: &Caller,
        api: &str,
        action: &str,
        resources: &[String],
        outcome: Option<&str>,
    ) {
        let principal = caller
            .principal
            .as_ref()
            .map_or("anonymous", |p| p.arn.as_str());
        let line = Line {
            time: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            request_id,
            principal,
            source_ip: caller.source_ip.map(|ip| ip.to_string()),
            api,
            action,
            resources,
            outcome: outcome.unwrap_or("success"),
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        match self.tx.try_send(text) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "audit writer behind: lines dropped");
                }
            }
        }
    }
}
