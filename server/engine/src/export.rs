//! Exports to S3, into a local directory: `ExportTableToPointInTime`, `DescribeExport`,
//! `ListExports`.
//!
//! Keyfall has no S3: a bucket is a folder of the export root (`--export-dir`), and an
//! export writes DynamoDB's exact layout there, so it can be uploaded to S3 and imported
//! into DynamoDB (and an export from DynamoDB, copied in, imports into Keyfall):
//!
//! ```text
//! <bucket>/<prefix>/AWSDynamoDB/<export id>/_started
//!                                          /manifest-summary.json  (+ .md5)
//!                                          /manifest-files.json    (+ .md5)
//!                                          /data/<26 base32>.json.gz | .ion.gz
//! ```
//! (incremental exports put their data files in the shared `<prefix>/AWSDynamoDB/data/`).
//!
//! An export reads point-in-time recovery's history, as DynamoDB's does: the table at the
//! export time (a base and the log replayed into a scratch keyspace, `x-<id>`), or for an
//! incremental export each item's last change in the window with its image before it. It
//! runs on a background thread; one interrupted by a stop starts over when the server opens.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use md5::Digest;
use serde::{Deserialize, Serialize};

use super::backup;
use super::pitr::Logged;
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::model::{codec, item_size, Item};
use crate::storage::{KeyRange, Op};
use keyfall_types::backup::*;
use keyfall_types::command::required;
use keyfall_types::transfer::{self, ChangeRecord, Format};

/// Export records: export id → JSON [`ExportRecord`].
pub const EXPORTS_KEYSPACE: &str = "_exports";
/// How long a ClientToken names its export (DynamoDB: 8 hours).
const TOKEN_LIFETIME_SECONDS: f64 = 8.0 * 3600.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub id: String,
    pub table_name: String,
    pub description: ExportDescription,
}

pub(crate) fn enum_error(value: &str, member: &str, set: &str) -> Error {
    Error::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{set}]"
    ))
}

fn invalid_time(message: impl Into<String>) -> Error {
    Error::Other {
        name: "InvalidExportTimeException",
        message: message.into(),
    }
}

/// An S3 bucket name (DynamoDB's pattern), which is a folder name here.
pub(crate) fn check_bucket(bucket: &str, member: &str) -> Result<()> {
    let ok = bucket.len() <= 255
        && bucket.len() >= 2
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && bucket
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && bucket
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{bucket}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$"
        )));
    }
    Ok(())
}

/// An S3 key prefix as a relative path: no `.` or `..` segment may leave the bucket.
pub(crate) fn check_prefix(prefix: &str, member: &str) -> Result<()> {
    if prefix.is_empty() || prefix.len() > 1024 {
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{prefix}' at '{member}' failed to satisfy constraint: Member must have length between 1 and 1024"
        )));
    }
    if prefix.split('/').any(|s| s == "." || s == "..") || prefix.contains('\0') {
        return Err(Error::validation(format!(
            "Invalid Request: {member} may not contain '.' or '..' segments: S3 keys are paths of the export directory here"
        )));
    }
    Ok(())
}

/// `<prefix>/` (or nothing), as S3 keys start.
pub(crate) fn key_prefix(prefix: Option<&str>) -> String {
    match prefix.map(|p| p.trim_end_matches('/')) {
        Some(p) if !p.is_empty() => format!("{p}/"),
        _ => String::new(),
    }
}

/// ISO 8601 with milliseconds, as DynamoDB's manifests write times.
fn iso_millis(t: f64) -> String {
    let nanos = (t * 1e6).round() as i128 * 1000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// 26 characters of lowercase base32 (a random 128 bits), as DynamoDB names data files.
fn data_file_name() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut bits: u128 = u128::from_be_bytes(bytes);
    let mut out = String::with_capacity(26);
    for _ in 0..26 {
        let i = (bits >> 123) as usize & 31;
        out.push(ALPHABET.get(i).map_or('a', |&c| c as char));
        bits <<= 5;
    }
    out
}

fn md5_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

/// A gzip data file being written, with the MD5 of what reaches the disk.
struct DataFile {
    key: String,
    path: PathBuf,
    gz: flate2::write::GzEncoder<Hashing>,
    items: u64,
    line: Vec<u8>,
}

struct Hashing {
    file: std::io::BufWriter<std::fs::File>,
    md5: md5::Md5,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.md5.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("export file {}: {e}", path.display()))
}

impl DataFile {
    fn create(bucket_dir: &Path, key: String) -> Result<DataFile> {
        let path = bucket_dir.join(&key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        let file = std::fs::File::create(&path).map_err(|e| io_error(&path, e))?;
        let hashing = Hashing {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            md5: md5::Md5::new(),
        };
        Ok(DataFile {
            key,
            gz: flate2::write::GzEncoder::new(hashing, flate2::Compression::fast()),
            path,
            items: 0,
            line: Vec::with_capacity(4096),
        })
    }

    fn write_line(&mut self) -> Result<()> {
        self.gz
            .write_all(&self.line)
            .map_err(|e| io_error(&self.path, e))?;
        self.line.clear();
        self.items += 1;
        Ok(())
    }

    /// Finishes the file; its `manifest-files.json` line.
    fn finish(self) -> Result<String> {
        let mut hashing = self.gz.finish().map_err(|e| io_error(&self.path, e))?;
        hashing.flush().map_err(|e| io_error(&self.path, e))?;
        let md5 = hashing.md5.finalize();
        let file = hashing
            .file
            .into_inner()
            .map_err(|e| io_error(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&self.path, e))?;
        let hex: String = md5::Md5::digest(md5)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let line = serde_json::json!({
            "itemCount": self.items,
            "md5Checksum": base64::engine::general_purpose::STANDARD.encode(md5),
            "etag": format!("{hex}-1"),
            "dataFileS3Key": self.key,
        });
        Ok(line.to_string())
    }
}

/// What an export wrote.
struct Written {
    items: u64,
    bytes: u64,
    files: Vec<String>,
}

impl Engine {
    /// The folder of S3 buckets, for `what` (exports, imports).
    pub(crate) fn bucket_root(&self, what: &str) -> Result<&Path> {
        super::configured_dir(&self.config.export_dir, what, "export")
    }

    fn export_record(&self, id: &str) -> Result<Option<ExportRecord>> {
        crate::records::get(self.store.as_ref(), EXPORTS_KEYSPACE, id)
    }

    fn put_export_record(&self, record: &ExportRecord) -> Result<()> {
        crate::records::put(self.store.as_ref(), EXPORTS_KEYSPACE, &record.id, record)
    }

    fn export_records(&self) -> Result<Vec<ExportRecord>> {
        crate::records::all(self.store.as_ref(), EXPORTS_KEYSPACE)
    }

    pub fn export_table_to_point_in_time(
        &self,
        input: ExportTableToPointInTimeInput,
    ) -> Result<ExportDescriptionOutput> {
        let arn = required(&input.table_arn, "tableArn")?;
        if !arn.starts_with("arn:") {
            return Err(Error::validation(
                "One or more parameter values were invalid: tableArn is not a valid ARN",
            ));
        }
        let name = match self.table_in_arn(arn) {
            Some(name) => name,
            // This server's ARN of an index, a stream or nothing.
            None if arn.starts_with(&self.table_arn("")) => {
                return Err(Error::validation("Invalid Request: Table ARN is invalid."))
            }
            None => return Err(backup::table_not_found(arn)),
        };
        let bucket = required(&input.s3_bucket, "s3Bucket")?;
        check_bucket(bucket, "s3Bucket")?;
        if let Some(p) = &input.s3_prefix {
            check_prefix(p, "s3Prefix")?;
        }
        let format = match input.export_format.as_deref() {
            None | Some("DYNAMODB_JSON") => Format::DynamoDbJson,
            Some("ION") => Format::Ion,
            Some(other) => return Err(enum_error(other, "exportFormat", "DYNAMODB_JSON, ION")),
        };
        match input.s3_sse_algorithm.as_deref() {
            None | Some("AES256") | Some("KMS") => {}
            Some(other) => return Err(enum_error(other, "s3SseAlgorithm", "AES256, KMS")),
        }
        if input.s3_sse_kms_key_id.is_some() && input.s3_sse_algorithm.as_deref() != Some("KMS") {
            return Err(Error::validation(
                "Invalid Request: KMS Key Id is not supported for this encryption type",
            ));
        }
        let incremental = match (input.export_type.as_deref(), &input.incremental_export_specification) {
            (None, Some(_)) => {
                return Err(Error::validation(
                    "Invalid Request: Export Type expected to be Incremental Export when incremental export specification is provided",
                ))
            }
            (Some("FULL_EXPORT"), Some(_)) => {
                return Err(Error::validation(
                    "Invalid Request: When Export Type is Full Export , Incremental Export Specification should not be provided",
                ))
            }
            (Some("INCREMENTAL_EXPORT"), None) => {
                return Err(Error::validation(
                    "Invalid Request: Incremental Export Specification expected when export type is set as Incremental Export",
                ))
            }
            (None | Some("FULL_EXPORT"), None) => None,
            (Some("INCREMENTAL_EXPORT"), Some(spec)) => Some(spec.clone()),
            (Some(other), _) => {
                return Err(enum_error(other, "exportType", "FULL_EXPORT, INCREMENTAL_EXPORT"))
            }
        };
        let table = self
            .catalog
            .get(name)
            .filter(|t| !self.is_creating(&t.meta))
            .ok_or_else(|| backup::table_not_found(arn))?;
        let Some(pitr) = table.meta.pitr.clone() else {
            return Err(Error::Other {
                name: "PointInTimeRecoveryUnavailableException",
                message: format!("Point in time recovery is not enabled for table '{name}'"),
            });
        };
        let now = now_epoch_seconds();
        let earliest = self.restorable_from(&table)?.unwrap_or(pitr.enabled_at);
        let mut incremental_spec = None;
        let export_time = match &incremental {
            None => {
                let at = input.export_time.unwrap_or(now);
                if at > now || at < earliest.floor() {
                    return Err(invalid_time("Export Time is invalid"));
                }
                Some(at)
            }
            Some(spec) => {
                let from = *required(
                    &spec.export_from_time,
                    "incrementalExportSpecification.exportFromTime",
                )
                .map_err(|_| {
                    Error::validation(
                        "Invalid Request: ExportFromTime must be provided in IncrementalExportSpecification",
                    )
                })?;
                let to = spec.export_to_time.unwrap_or(now);
                let view = match spec.export_view_type.as_deref() {
                    None | Some("NEW_AND_OLD_IMAGES") => "NEW_AND_OLD_IMAGES",
                    Some("NEW_IMAGE") => "NEW_IMAGE",
                    Some(other) => {
                        return Err(enum_error(
                            other,
                            "incrementalExportSpecification.exportViewType",
                            "NEW_IMAGE, NEW_AND_OLD_IMAGES",
                        ))
                    }
                };
                if from < earliest.floor() || to <= from {
                    return Err(invalid_time(format!(
                        "Incremental export period from time cannot be less than the table creation time : {}",
                        iso_millis(earliest)
                    )));
                }
                if to > now {
                    return Err(invalid_time(format!(
                        "Incremental export period to time cannot be greater than the current time : {}",
                        iso_millis(now)
                    )));
                }
                let window = self.config.incremental_export_min_window.as_secs_f64();
                if to - from < window {
                    return Err(invalid_time(
                        "Difference between export period from time and export period to time is less than 15 minutes",
                    ));
                }
                if to - from > 24.0 * 3600.0 {
                    return Err(invalid_time(
                        "Difference between export period from time and export period to time is more than 24 hours",
                    ));
                }
                incremental_spec = Some(IncrementalExportSpecification {
                    export_from_time: Some(from),
                    export_to_time: Some(to),
                    export_view_type: Some(view.into()),
                });
                None
            }
        };
        // Refused before anything is recorded when the server has no export directory.
        self.bucket_root("Exports")?;
        let description = ExportDescription {
            export_arn: None,
            export_status: Some("IN_PROGRESS".into()),
            start_time: Some((now * 1000.0).floor() / 1000.0),
            table_arn: Some(arn.clone()),
            table_id: Some(table.meta.id.clone()),
            export_time: export_time.map(|t| (t * 1000.0).floor() / 1000.0),
            client_token: input.client_token.clone(),
            s3_bucket: Some(bucket.clone()),
            s3_bucket_owner: input.s3_bucket_owner.clone(),
            s3_prefix: input.s3_prefix.clone(),
            s3_sse_algorithm: Some(
                input
                    .s3_sse_algorithm
                    .clone()
                    .unwrap_or_else(|| "AES256".into()),
            ),
            s3_sse_kms_key_id: input.s3_sse_kms_key_id.clone(),
            export_format: Some(format.name().into()),
            export_type: Some(
                if incremental.is_some() {
                    "INCREMENTAL_EXPORT"
                } else {
                    "FULL_EXPORT"
                }
                .into(),
            ),
            incremental_export_specification: incremental_spec,
            ..ExportDescription::default()
        };
        // The same ClientToken within 8 hours: the same export, or a conflict.
        if let Some(token) = &input.client_token {
            let same = |d: &ExportDescription| {
                let strip = |d: &ExportDescription| ExportDescription {
                    table_arn: d.table_arn.clone(),
                    s3_bucket: d.s3_bucket.clone(),
                    s3_bucket_owner: d.s3_bucket_owner.clone(),
                    s3_prefix: d.s3_prefix.clone(),
                    s3_sse_algorithm: d.s3_sse_algorithm.clone(),
                    s3_sse_kms_key_id: d.s3_sse_kms_key_id.clone(),
                    export_format: d.export_format.clone(),
                    export_type: d.export_type.clone(),
                    export_time: input.export_time.and(d.export_time),
                    ..ExportDescription::default()
                };
                strip(d) == strip(&description)
            };
            for r in self.export_records()? {
                let fresh = r
                    .description
                    .start_time
                    .is_some_and(|t| now - t < TOKEN_LIFETIME_SECONDS);
                if fresh && r.description.client_token.as_deref() == Some(token) {
                    if same(&r.description) {
                        return Ok(ExportDescriptionOutput {
                            export_description: r.description,
                        });
                    }
                    return Err(Error::Other {
                        name: "ExportConflictException",
                        message: "Export conflict: Duplicate request detected with conflicting parameters".into(),
                    });
                }
            }
        }
        let start = description.start_time.unwrap_or(now);
        let id = crate::records::new_id(start);
        let mut description = description;
        description.export_arn = Some(format!("{arn}/export/{id}"));
        let record = ExportRecord {
            id: id.clone(),
            table_name: name.to_string(),
            description: description.clone(),
        };
        self.put_export_record(&record)?;
        self.spawn_export(id)?;
        Ok(ExportDescriptionOutput {
            export_description: description,
        })
    }

    fn spawn_export(&self, id: String) -> Result<()> {
        let engine = self
            .me
            .upgrade()
            .ok_or_else(|| Error::Internal("engine is shutting down".into()))?;
        std::thread::Builder::new()
            .name("keyfall-export".into())
            .spawn(move || {
                super::background_priority();
                let outcome = engine.run_export(&id);
                let _ = engine.drop_scratch(&id);
                let Ok(Some(mut record)) = engine.export_record(&id) else {
                    return;
                };
                let d = &mut record.description;
                d.end_time = Some(now_epoch_seconds());
                match outcome {
                    Ok((written, manifest)) => {
                        d.export_status = Some("COMPLETED".into());
                        d.item_count = Some(written.items as i64);
                        d.billed_size_bytes = Some(written.bytes as i64);
                        d.export_manifest = Some(manifest);
                    }
                    Err((code, message)) => {
                        tracing::warn!(export = %id, %code, %message, "export failed");
                        d.export_status = Some("FAILED".into());
                        d.failure_code = Some(code);
                        d.failure_message = Some(message);
                    }
                }
                if let Err(e) = engine.put_export_record(&record) {
                    tracing::error!(export = %id, error = %e, "cannot record the export's end");
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the export thread: {e}")))?;
        Ok(())
    }

    /// Exports still IN_PROGRESS when the server stopped start over.
    pub(crate) fn resume_exports(&self) -> Result<()> {
        for name in self.store.keyspace_names() {
            if name.starts_with("x-") {
                self.store.drop_keyspace(&name)?;
            }
        }
        for r in self.export_records()? {
            if r.description.export_status.as_deref() == Some("IN_PROGRESS") {
                tracing::info!(export = %r.id, "resuming an export");
                self.spawn_export(r.id)?;
            }
        }
        Ok(())
    }

    fn scratch(id: &str, what: &str) -> String {
        format!("x-{}-{what}", id.replace('-', ""))
    }

    /// A scratch keyspace of export `id` holding `meta`'s items: sealed with the table's
    /// key when the table is encrypted, so its items never reach the disk in clear.
    fn open_scratch(
        &self,
        id: &str,
        what: &str,
        meta: &super::catalog::TableMeta,
    ) -> Result<String> {
        let name = Self::scratch(id, what);
        if let Some(cipher) = self.catalog.encryption.cipher(meta)? {
            self.catalog.encryption.ciphers.register(&name, cipher);
        }
        self.store.open_keyspace(&name)?;
        Ok(name)
    }

    fn drop_scratch(&self, id: &str) -> Result<()> {
        for what in ["items", "old", "changes"] {
            let name = Self::scratch(id, what);
            if self.store.keyspace_names().contains(&name) {
                self.store.drop_keyspace(&name)?;
            }
            self.catalog.encryption.ciphers.unregister(&name);
        }
        Ok(())
    }

    /// Writes the export; its item count and size, and its manifest's key. A failure is
    /// DynamoDB's FailureCode and FailureMessage.
    fn run_export(&self, id: &str) -> std::result::Result<(Written, String), (String, String)> {
        let internal = |e: Error| ("InternalServerError".to_string(), e.to_string());
        let record = self
            .export_record(id)
            .map_err(internal)?
            .ok_or_else(|| internal(Error::Internal("the export's record is gone".into())))?;
        let d = &record.description;
        let bucket = d.s3_bucket.clone().unwrap_or_default();
        let bucket_dir = self.bucket_root("Exports").map_err(internal)?.join(&bucket);
        if !bucket_dir.is_dir() {
            return Err((
                "S3NoSuchBucket".into(),
                format!("The specified bucket does not exist (Service: Amazon S3; Status Code: 404; Error Code: NoSuchBucket; Bucket: {bucket})"),
            ));
        }
        let prefix = key_prefix(d.s3_prefix.as_deref());
        let export_key = format!("{prefix}AWSDynamoDB/{id}/");
        let export_dir = bucket_dir.join(&export_key);
        let _ = std::fs::remove_dir_all(&export_dir);
        std::fs::create_dir_all(&export_dir).map_err(|e| internal(io_error(&export_dir, e)))?;
        std::fs::write(export_dir.join("_started"), b"")
            .map_err(|e| internal(io_error(&export_dir, e)))?;
        let format = if d.export_format.as_deref() == Some("ION") {
            Format::Ion
        } else {
            Format::DynamoDbJson
        };
        let written = match &d.incremental_export_specification {
            None => self.write_full(&record, &bucket_dir, &export_key, format),
            Some(spec) => self.write_incremental(&record, spec, &bucket_dir, &prefix, format),
        }
        .map_err(internal)?;
        let manifest_files_key = format!("{export_key}manifest-files.json");
        let mut files = written.files.join("\n");
        if !files.is_empty() {
            files.push('\n');
        }
        let summary = match &d.incremental_export_specification {
            None => serde_json::json!({
                "version": "2020-06-30",
                "exportArn": d.export_arn,
                "startTime": d.start_time.map(iso_millis),
                "endTime": iso_millis(now_epoch_seconds()),
                "tableArn": d.table_arn,
                "tableId": d.table_id,
                "exportTime": d.export_time.map(iso_millis),
                "s3Bucket": d.s3_bucket,
                "s3Prefix": d.s3_prefix,
                "s3SseAlgorithm": d.s3_sse_algorithm,
                "s3SseKmsKeyId": d.s3_sse_kms_key_id,
                "manifestFilesS3Key": manifest_files_key,
                "billedSizeBytes": written.bytes,
                "itemCount": written.items,
                "outputFormat": format.name(),
            }),
            Some(spec) => serde_json::json!({
                "version": "2023-08-01",
                "exportArn": d.export_arn,
                "startTime": d.start_time.map(iso_millis),
                "endTime": iso_millis(now_epoch_seconds()),
                "tableArn": d.table_arn,
                "tableId": d.table_id,
                "exportFromTime": spec.export_from_time.map(iso_millis),
                "exportToTime": spec.export_to_time.map(iso_millis),
                "s3Bucket": d.s3_bucket,
                "s3Prefix": d.s3_prefix,
                "s3SseAlgorithm": d.s3_sse_algorithm,
                "s3SseKmsKeyId": d.s3_sse_kms_key_id,
                "manifestFilesS3Key": manifest_files_key,
                "billedSizeBytes": written.bytes,
                "itemCount": written.items,
                "outputFormat": format.name(),
                "outputView": spec.export_view_type,
                "exportType": "INCREMENTAL_EXPORT",
            }),
        };
        let summary = summary.to_string();
        let write = |name: &str, bytes: &[u8]| {
            let path = export_dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| internal(io_error(&path, e)))
        };
        write("manifest-files.json", files.as_bytes())?;
        write(
            "manifest-files.md5",
            md5_base64(files.as_bytes()).as_bytes(),
        )?;
        write("manifest-summary.json", summary.as_bytes())?;
        write(
            "manifest-summary.md5",
            md5_base64(summary.as_bytes()).as_bytes(),
        )?;
        Ok((written, format!("{export_key}manifest-summary.json")))
    }

    /// The table an export reads (the same table: by id) and its PITR setting.
    fn export_source(
        &self,
        record: &ExportRecord,
    ) -> Result<(std::sync::Arc<super::catalog::Table>, super::pitr::PitrMeta)> {
        let table = self
            .catalog
            .get(&record.table_name)
            .filter(|t| Some(&t.meta.id) == record.description.table_id.as_ref())
            .ok_or_else(|| backup::table_not_found(&record.table_name))?;
        let pitr = table
            .meta
            .pitr
            .clone()
            .ok_or_else(|| Error::Internal("point-in-time recovery was disabled".into()))?;
        Ok((table, pitr))
    }

    /// Materializes the table at `at` into the scratch keyspace `what` of export `id`.
    fn table_at(&self, record: &ExportRecord, at: f64, what: &str) -> Result<String> {
        let (table, pitr) = self.export_source(record)?;
        let base = self.base_for(&table, at)?;
        let (base, after) = self.finished_base(&base, &table.meta.id, at)?;
        let keyspace = self.open_scratch(&record.id, what, &table.meta)?;
        let log = Some((pitr.keyspace.as_str(), after, (at * 1e6) as u64));
        self.materialize(&keyspace, &table.meta.key_schema, &base, log, &|| Ok(()))?;
        Ok(keyspace)
    }

    fn write_full(
        &self,
        record: &ExportRecord,
        bucket_dir: &Path,
        export_key: &str,
        format: Format,
    ) -> Result<Written> {
        let at = record
            .description
            .export_time
            .unwrap_or_else(now_epoch_seconds);
        let keyspace = self.table_at(record, at, "items")?;
        let ttl = self
            .catalog
            .get(&record.table_name)
            .and_then(|t| t.meta.ttl_attribute.clone());
        let key = format!(
            "{export_key}data/{}.{}",
            data_file_name(),
            format.extension()
        );
        let mut file = DataFile::create(bucket_dir, key)?;
        let mut bytes = 0u64;
        for kv in self.store.range(&keyspace, KeyRange::all(), false)? {
            let (_, value) = kv?;
            let item = codec::decode_item(&value).map_err(|e| Error::Internal(e.to_string()))?;
            if expired_at(&item, ttl.as_deref(), at) {
                continue;
            }
            bytes += item_size(&item) as u64;
            transfer::item_line(format, &item, &mut file.line)?;
            file.write_line()?;
        }
        let items = file.items;
        let line = file.finish()?;
        Ok(Written {
            items,
            bytes,
            files: vec![line],
        })
    }

    fn write_incremental(
        &self,
        record: &ExportRecord,
        spec: &IncrementalExportSpecification,
        bucket_dir: &Path,
        prefix: &str,
        format: Format,
    ) -> Result<Written> {
        let from = spec.export_from_time.unwrap_or_default();
        let to = spec.export_to_time.unwrap_or_else(now_epoch_seconds);
        let with_old = spec.export_view_type.as_deref() != Some("NEW_IMAGE");
        let (table, pitr) = self.export_source(record)?;
        let (from_micros, to_micros) = ((from * 1e6) as u64, (to * 1e6) as u64);
        // The table just before the window (it starts inclusive).
        let old = if with_old {
            Some(self.table_at(record, (from_micros.saturating_sub(1)) as f64 / 1e6, "old")?)
        } else {
            None
        };
        // Each item's last change in the window, keyed by storage key.
        let changes = self.open_scratch(&record.id, "changes", &table.meta)?;
        let mut ops = Vec::new();
        let range = KeyRange {
            start: std::ops::Bound::Included(from_micros.to_be_bytes().to_vec()),
            end: std::ops::Bound::Excluded(to_micros.to_be_bytes().to_vec()),
        };
        for kv in self.store.range(&pitr.keyspace, range, false)? {
            let (when, entry) = kv?;
            let (key, _) = super::pitr::decode_entry(&entry)?;
            let mut value = when;
            value.extend_from_slice(&entry);
            ops.push(Op::Put {
                keyspace: changes.clone(),
                key,
                value,
            });
            if ops.len() >= 512 {
                self.store.apply(std::mem::take(&mut ops))?;
            }
        }
        if !ops.is_empty() {
            self.store.apply(ops)?;
        }
        let key = format!(
            "{prefix}AWSDynamoDB/data/{}.{}",
            data_file_name(),
            format.extension()
        );
        let mut file = DataFile::create(bucket_dir, key)?;
        let mut bytes = 0u64;
        let decode = |b: &[u8]| codec::decode_item(b).map_err(|e| Error::Internal(e.to_string()));
        for kv in self.store.range(&changes, KeyRange::all(), false)? {
            let (key, value) = kv?;
            let (when, entry) = value.split_at_checked(8).unwrap_or((&[], &[]));
            let micros = when.try_into().map(u64::from_be_bytes).unwrap_or(0);
            let (_, change) = super::pitr::decode_entry(entry)?;
            let old_image = match &old {
                Some(ks) => self.store.get(ks, &key)?.map(|b| decode(&b)).transpose()?,
                None => None,
            };
            let (new_image, deleted_keys) = match change {
                Logged::Put(b) => (Some(decode(&b)?), None),
                Logged::Delete(b) => (None, Some(decode(&b)?)),
            };
            if new_image.is_none() && old_image.is_none() && with_old {
                continue; // created and deleted within the window
            }
            let keys: Item = match (&new_image, &old_image, deleted_keys) {
                (Some(n), _, _) => table.meta.key_schema.extract_key(n),
                (None, Some(o), _) => table.meta.key_schema.extract_key(o),
                (None, None, Some(k)) => k,
                (None, None, None) => continue,
            };
            bytes += new_image.as_ref().map_or(0, |i| item_size(i) as u64);
            let line = ChangeRecord {
                micros,
                keys: &keys,
                new_image: new_image.as_ref(),
                old_image: old_image.as_ref(),
            };
            transfer::change_line(format, &line, &mut file.line)?;
            file.write_line()?;
        }
        let items = file.items;
        let line = file.finish()?;
        Ok(Written {
            items,
            bytes,
            files: vec![line],
        })
    }

    /// The export an ARN names; the whole ARN must match.
    fn export_by_arn(&self, arn: &Option<String>) -> Result<ExportRecord> {
        let arn = required(arn, "exportArn")?;
        let id = arn
            .rsplit_once("/export/")
            .map(|(_, id)| id)
            .filter(|id| !id.is_empty() && !id.contains('/') && arn.starts_with("arn:"))
            .ok_or_else(|| Error::validation("Invalid Export ARN"))?;
        match self.export_record(id)? {
            Some(r) if r.description.export_arn.as_deref() == Some(arn) => Ok(r),
            _ => Err(Error::Other {
                name: "ExportNotFoundException",
                message: format!("Export not found: Export not found: {arn}"),
            }),
        }
    }

    pub fn describe_export(&self, input: ExportArnInput) -> Result<ExportDescriptionOutput> {
        Ok(ExportDescriptionOutput {
            export_description: self.export_by_arn(&input.export_arn)?.description,
        })
    }

    pub fn list_exports(&self, input: ListExportsInput) -> Result<ListExportsOutput> {
        let limit = page_limit(input.max_results, "maxResults")?;
        let mut records = self.export_records()?;
        // Newest first.
        records.reverse();
        if let Some(arn) = &input.table_arn {
            records.retain(|r| {
                r.description.table_arn.as_ref() == Some(arn)
                    && self
                        .catalog
                        .get(&r.table_name)
                        .is_some_and(|t| Some(&t.meta.id) == r.description.table_id.as_ref())
            });
        }
        let start = match &input.next_token {
            None => 0,
            Some(token) => records
                .iter()
                .position(|r| &r.id == token)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    Error::validation(format!(
                        "Invalid Request: Provided nextToken is invalid: {token}"
                    ))
                })?,
        };
        let page: Vec<&ExportRecord> = records.iter().skip(start).take(limit).collect();
        let next_token = (start + page.len() < records.len())
            .then(|| page.last().map(|r| r.id.clone()))
            .flatten();
        Ok(ListExportsOutput {
            export_summaries: page
                .iter()
                .map(|r| ExportSummary {
                    export_arn: r.description.export_arn.clone(),
                    export_status: r.description.export_status.clone(),
                    export_type: r.description.export_type.clone(),
                })
                .collect(),
            next_token,
        })
    }
}

/// ListExports' and ListImports' page size: 1 to 25, 10 by default.
pub(crate) fn page_limit(value: Option<i64>, member: &str) -> Result<usize> {
    match value {
        None => Ok(10),
        Some(n) if (1..=25).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::validation(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have value {}",
            if n < 1 { "greater than or equal to 1" } else { "less than or equal to 25" }
        ))),
    }
}

/// Whether an item's TTL (epoch seconds) had passed at `at`.
fn expired_at(item: &Item, ttl: Option<&str>, at: f64) -> bool {
    let Some(attr) = ttl else { return false };
    match item.get(attr) {
        Some(crate::model::AttributeValue::N(n)) => {
            n.to_string().parse::<f64>().is_ok_and(|t| t <= at)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_s3s_and_stay_inside_the_bucket() {
        assert_eq!(data_file_name().len(), 26);
        assert!(data_file_name()
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)));
        assert_eq!(iso_millis(1693467621.041), "2023-08-31T07:40:21.041Z");
        assert_eq!(key_prefix(Some("foo/")), "foo/");
        assert_eq!(key_prefix(Some("foo")), "foo/");
        assert_eq!(key_prefix(None), "");
        assert!(check_bucket("my-bucket.1", "s3Bucket").is_ok());
        for bad in ["..", "a/b", "-a", "a", "a b"] {
            assert!(check_bucket(bad, "s3Bucket").is_err(), "{bad}");
        }
        for bad in ["../x", "a/../b", "./a", ""] {
            assert!(check_prefix(bad, "s3Prefix").is_err(), "{bad}");
        }
        assert!(check_prefix("exports/2026/", "s3Prefix").is_ok());
    }
}
