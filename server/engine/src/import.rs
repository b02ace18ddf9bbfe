//! Imports from S3, out of a local directory: `ImportTable`, `DescribeImport`,
//! `ListImports`.
//!
//! The objects are the files of the bucket's folder (under `--export-dir`) whose key
//! (their path in the folder) starts with `S3KeyPrefix`, read in key order: DynamoDB JSON,
//! Ion or CSV, gzip, zstd or uncompressed. The new table is created at once, CREATING
//! (`TableMeta::import`), filled on a background thread, then indexed and made ACTIVE.
//! Lines are counted as DynamoDB counts them: an invalid item (a missing or mistyped key, a
//! bad value, over 400 KB) is an error and the import goes on; a line that does not parse
//! is an error and the rest of its object is skipped; any error ends the import FAILED
//! (`ItemValidationError`), with the valid items imported. An import interrupted by a stop
//! starts over when the server opens.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::export::{check_bucket, check_prefix, enum_error};
use super::{indexes, now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::model::{codec, item_size, Item, ScalarType};
use crate::storage::Op;
use crate::types::CreateTableInput;
use keyfall_types::backup::*;
use keyfall_types::command::required;
use keyfall_types::transfer::{self, LineError};

/// Import records: import id → JSON [`ImportRecord`].
pub const IMPORTS_KEYSPACE: &str = "_imports";
/// DynamoDB's item size limit.
const MAX_ITEM_BYTES: usize = 400 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: String,
    pub table_name: String,
    pub description: ImportTableDescription,
}

/// What an import has counted so far.
#[derive(Debug, Default)]
struct Counts {
    processed: i64,
    imported: i64,
    errors: i64,
    bytes: i64,
}

/// An Ion object is parsed whole (a value may span lines): objects beyond this size are
/// refused rather than read into memory. DynamoDB JSON and CSV stream, whatever their size.
const MAX_ION_OBJECT: u64 = 1 << 30;

/// An object's content, decompressed as it is read.
fn open_object(path: &Path, compression: &str) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    let file = std::io::BufReader::with_capacity(1 << 16, file);
    Ok(match compression {
        "GZIP" => Box::new(flate2::read::MultiGzDecoder::new(file)),
        "ZSTD" => Box::new(ruzstd::decoding::StreamingDecoder::new(file).map_err(|e| {
            Error::validation(format!("{}: cannot decompress: {e}", path.display()))
        })?),
        _ => Box::new(file),
    })
}

/// Counts the (decompressed) bytes read: ProcessedSizeBytes.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Hands each item of an object to `each`, reading it as it streams (Ion: whole, up to
/// [`MAX_ION_OBJECT`]). A read failure (a damaged compressed stream) is a parse error that
/// ends the object.
fn read_items(
    input: &mut dyn Read,
    format: transfer::Format,
    csv: &CsvOptions,
    key_types: &HashMap<String, ScalarType>,
    each: &mut dyn FnMut(std::result::Result<Item, LineError>) -> Result<()>,
) -> Result<()> {
    match format {
        transfer::Format::DynamoDbJson => {
            let mut lines = std::io::BufReader::new(input);
            let mut line = Vec::new();
            loop {
                line.clear();
                match std::io::BufRead::read_until(&mut lines, b'\n', &mut line) {
                    Ok(0) => return Ok(()),
                    Ok(_) if line.iter().all(u8::is_ascii_whitespace) => continue,
                    Ok(_) => {
                        let parsed = transfer::parse_json_line(&line);
                        let stop = matches!(parsed, Err(LineError::Parse(_)));
                        each(parsed)?;
                        if stop {
                            return Ok(());
                        }
                    }
                    Err(e) => return each(Err(LineError::Parse(e.to_string()))),
                }
            }
        }
        transfer::Format::Ion => {
            let mut text = Vec::new();
            let read = input.take(MAX_ION_OBJECT + 1).read_to_end(&mut text);
            if let Err(e) = read {
                return each(Err(LineError::Parse(e.to_string())));
            }
            if text.len() as u64 > MAX_ION_OBJECT {
                return each(Err(LineError::Parse(
                    "an Ion object over 1 GiB: split it into smaller objects".into(),
                )));
            }
            match transfer::ion::parse_items(&text) {
                Ok(items) => items.into_iter().try_for_each(each),
                Err(e) => each(Err(e)),
            }
        }
        transfer::Format::Csv => {
            let delimiter = csv
                .delimiter
                .as_deref()
                .and_then(|d| d.bytes().next())
                .unwrap_or(b',');
            transfer::csv_rows::for_each(
                input,
                delimiter,
                csv.header_list.as_deref(),
                key_types,
                each,
            )
        }
    }
}

/// Every file under `dir`, as (key relative to `dir`, path), in key order.
fn objects(dir: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(root, &path, out),
                Ok(t) if t.is_file() => {
                    if let Ok(rel) = path.strip_prefix(root) {
                        let key = rel
                            .to_string_lossy()
                            .replace(std::path::MAIN_SEPARATOR, "/");
                        out.push((key, path));
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

impl Engine {
    fn import_record(&self, id: &str) -> Result<Option<ImportRecord>> {
        crate::records::get(self.store.as_ref(), IMPORTS_KEYSPACE, id)
    }

    fn put_import_record(&self, record: &ImportRecord) -> Result<()> {
        crate::records::put(self.store.as_ref(), IMPORTS_KEYSPACE, &record.id, record)
    }

    fn import_records(&self) -> Result<Vec<ImportRecord>> {
        crate::records::all(self.store.as_ref(), IMPORTS_KEYSPACE)
    }

    pub fn import_table(&self, input: ImportTableInput) -> Result<ImportDescriptionOutput> {
        let token = required(&input.client_token, "clientToken")?;
        let source = required(&input.s3_bucket_source, "s3BucketSource")?;
        let bucket = required(&source.s3_bucket, "s3BucketSource.s3Bucket")?;
        check_bucket(bucket, "s3BucketSource.s3Bucket")?;
        if let Some(p) = &source.s3_key_prefix {
            check_prefix(p, "s3BucketSource.s3KeyPrefix")?;
        }
        let format = match required(&input.input_format, "inputFormat")?.as_str() {
            "DYNAMODB_JSON" => transfer::Format::DynamoDbJson,
            "ION" => transfer::Format::Ion,
            "CSV" => transfer::Format::Csv,
            other => return Err(enum_error(other, "inputFormat", "DYNAMODB_JSON, ION, CSV")),
        };
        let compression = input
            .input_compression_type
            .clone()
            .unwrap_or_else(|| "NONE".into());
        if !matches!(compression.as_str(), "GZIP" | "ZSTD" | "NONE") {
            return Err(enum_error(
                &compression,
                "inputCompressionType",
                "ZSTD, NONE, GZIP",
            ));
        }
        if input
            .input_format_options
            .as_ref()
            .is_some_and(|o| o.csv.is_some())
            && format != transfer::Format::Csv
        {
            return Err(Error::validation(format!(
                "Invalid Request: Unsupported InputFormatOptions for the given input format: {}.",
                format.name()
            )));
        }
        if let Some(csv) = input
            .input_format_options
            .as_ref()
            .and_then(|o| o.csv.as_ref())
        {
            if let Some(d) = &csv.delimiter {
                if d.chars().count() != 1 || !",;:| \t".contains(d.as_str()) {
                    return Err(Error::validation(format!(
                        "1 validation error detected: Value '{d}' at 'inputFormatOptions.csv.delimiter' failed to satisfy constraint: Member must satisfy regular expression pattern: [,;:|\\t ]"
                    )));
                }
            }
        }
        let params = required(&input.table_creation_parameters, "tableCreationParameters")?;
        let name = required(&params.table_name, "tableCreationParameters.tableName")?;
        // The same token: the same import (a changed table name is a conflict).
        for r in self.import_records()? {
            if r.description.client_token.as_deref() == Some(token.as_str())
                && r.description.import_status.as_deref() == Some("IN_PROGRESS")
            {
                if r.table_name != *name {
                    return Err(Error::Other {
                        name: "ImportConflictException",
                        message: "Import conflict: Duplicate request detected with conflicting parameters".into(),
                    });
                }
                return Ok(ImportDescriptionOutput {
                    import_table_description: r.description,
                });
            }
        }
        let request = CreateTableInput {
            table_name: params.table_name.clone(),
            key_schema: params.key_schema.clone(),
            attribute_definitions: params.attribute_definitions.clone(),
            billing_mode: params.billing_mode.clone(),
            provisioned_throughput: params.provisioned_throughput.clone(),
            global_secondary_indexes: params.global_secondary_indexes.clone(),
            sse_specification: params.sse_specification.clone(),
            on_demand_throughput: params.on_demand_throughput.clone(),
            ..CreateTableInput::default()
        };
        let mut meta = self.plan_table(&request)?;
        if self.catalog.get(name).is_some() {
            return Err(Error::ResourceInUse(format!(
                "Table already exists: {name}"
            )));
        }
        let now = now_epoch_seconds();
        let id = crate::records::new_id(now);
        let table_arn = self.table_arn(name);
        let mut source = source.clone();
        source.s3_bucket_owner = source
            .s3_bucket_owner
            .or_else(|| Some(self.config.account_id.clone()));
        let mut description = ImportTableDescription {
            import_arn: Some(format!("{table_arn}/import/{id}")),
            import_status: Some("IN_PROGRESS".into()),
            table_arn: Some(table_arn),
            table_id: Some(meta.id.clone()),
            client_token: Some(token.clone()),
            s3_bucket_source: Some(source),
            cloud_watch_log_group_arn: Some(format!(
                "arn:aws:logs:{}:{}:log-group:/aws-dynamodb/imports:*",
                self.config.region, self.config.account_id
            )),
            input_format: Some(format.name().into()),
            input_format_options: input.input_format_options.clone(),
            input_compression_type: Some(compression),
            table_creation_parameters: Some(params.clone()),
            start_time: Some((now * 1000.0).floor() / 1000.0),
            ..ImportTableDescription::default()
        };
        let bucket_dir = self.bucket_root("Imports")?.join(bucket);
        if !bucket_dir.is_dir() {
            // As DynamoDB: the import fails and no table is created.
            description.import_status = Some("FAILED".into());
            description.end_time = Some(now);
            description.failure_code = Some("S3NoSuchBucket".into());
            description.failure_message = Some(format!(
                "The specified bucket does not exist (Service: Amazon S3; Status Code: 404; Error Code: NoSuchBucket; Bucket: {bucket})"
            ));
        } else {
            meta.import = Some(id.clone());
            self.catalog
                .create(self.store.as_ref(), meta)
                .map_err(|e| match e {
                    Error::ResourceInUse(_) => {
                        Error::ResourceInUse(format!("Table already exists: {name}"))
                    }
                    other => other,
                })?;
        }
        let record = ImportRecord {
            id: id.clone(),
            table_name: name.clone(),
            description: description.clone(),
        };
        self.put_import_record(&record)?;
        if description.import_status.as_deref() == Some("IN_PROGRESS") {
            self.spawn_import(id)?;
        }
        Ok(ImportDescriptionOutput {
            import_table_description: description,
        })
    }

    fn spawn_import(&self, id: String) -> Result<()> {
        let engine = self
            .me
            .upgrade()
            .ok_or_else(|| Error::Internal("engine is shutting down".into()))?;
        std::thread::Builder::new()
            .name("keyfall-import".into())
            .spawn(move || {
                super::background_priority();
                let Ok(Some(mut record)) = engine.import_record(&id) else {
                    return;
                };
                let outcome = engine.run_import(&record);
                let d = &mut record.description;
                d.end_time = Some(now_epoch_seconds());
                match outcome {
                    Ok(counts) => {
                        d.processed_item_count = counts.processed;
                        d.imported_item_count = counts.imported;
                        d.error_count = counts.errors;
                        d.processed_size_bytes = Some(counts.bytes);
                        if counts.errors > 0 {
                            d.import_status = Some("FAILED".into());
                            d.failure_code = Some("ItemValidationError".into());
                            d.failure_message = Some("Some of the items failed validation checks and were not imported. Please check CloudWatch error logs for more details.".into());
                        } else {
                            d.import_status = Some("COMPLETED".into());
                        }
                    }
                    Err(e) => {
                        tracing::warn!(import = %id, error = %e, "import failed");
                        d.import_status = Some("FAILED".into());
                        d.failure_code = Some("InternalServerError".into());
                        d.failure_message = Some(e.to_string());
                    }
                }
                if let Err(e) = engine.put_import_record(&record) {
                    tracing::error!(import = %id, error = %e, "cannot record the import's end");
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the import thread: {e}")))?;
        Ok(())
    }

    /// Imports still IN_PROGRESS when the server stopped start over.
    pub(crate) fn resume_imports(&self) -> Result<()> {
        for r in self.import_records()? {
            if r.description.import_status.as_deref() == Some("IN_PROGRESS") {
                tracing::info!(import = %r.id, "resuming an import");
                self.spawn_import(r.id)?;
            }
        }
        Ok(())
    }

    fn run_import(&self, record: &ImportRecord) -> Result<Counts> {
        let gone = || Error::Internal("the imported table was deleted".into());
        let table = self
            .catalog
            .get(&record.table_name)
            .filter(|t| t.meta.import.as_deref() == Some(record.id.as_str()))
            .ok_or_else(gone)?;
        let meta = table.meta.clone();
        let (name, id) = (meta.name.clone(), meta.id.clone());
        let live = || {
            self.catalog
                .get(&name)
                .filter(|t| t.meta.id == id && t.meta.import.is_some())
                .map(|_| ())
                .ok_or_else(gone)
        };
        let d = &record.description;
        let source = d.s3_bucket_source.clone().unwrap_or_default();
        let bucket_dir = self
            .bucket_root("Imports")?
            .join(source.s3_bucket.clone().unwrap_or_default());
        let prefix = source.s3_key_prefix.clone().unwrap_or_default();
        let bucket = source.s3_bucket.clone().unwrap_or_default();
        let compression = d.input_compression_type.clone().unwrap_or_default();
        let format = match d.input_format.as_deref() {
            Some("ION") => transfer::Format::Ion,
            Some("CSV") => transfer::Format::Csv,
            _ => transfer::Format::DynamoDbJson,
        };
        let csv = d
            .input_format_options
            .as_ref()
            .and_then(|o| o.csv.clone())
            .unwrap_or_default();
        let key_types: HashMap<String, ScalarType> =
            meta.attribute_definitions.iter().cloned().collect();
        let mut counts = Counts::default();
        let mut ops: Vec<Op> = Vec::with_capacity(512);
        let flush = |ops: &mut Vec<Op>| self.apply_chunk(ops, &live);
        for (key, path) in objects(&bucket_dir) {
            if !key.starts_with(&prefix) {
                continue;
            }
            let input = match open_object(&path, &compression) {
                Ok(input) => input,
                Err(e) => {
                    report(&record.id, &bucket, &key, 0, &e.to_string(), counts.errors);
                    counts.processed += 1;
                    counts.errors += 1;
                    continue;
                }
            };
            let mut input = Counted {
                inner: input,
                bytes: 0,
            };
            let mut index = 0usize;
            let mut each = |item: std::result::Result<Item, LineError>| -> Result<()> {
                counts.processed += 1;
                index += 1;
                let checked = item.and_then(|i| {
                    let key = meta
                        .key_schema
                        .encode(&i)
                        .map_err(|e| LineError::Item(e.to_string()))?;
                    Ok((check_item(&table, i)?, key))
                });
                let (item, storage_key) = match checked {
                    Ok(ok) => ok,
                    Err(LineError::Item(m) | LineError::Parse(m)) => {
                        report(&record.id, &bucket, &key, index - 1, &m, counts.errors);
                        counts.errors += 1;
                        return Ok(());
                    }
                };
                counts.imported += 1;
                ops.push(Op::Put {
                    keyspace: meta.keyspace.clone(),
                    key: storage_key,
                    value: codec::encode_item(&item),
                });
                if ops.len() >= 512 {
                    flush(&mut ops)?;
                }
                Ok(())
            };
            read_items(&mut input, format, &csv, &key_types, &mut each)?;
            counts.bytes += input.bytes as i64;
        }
        flush(&mut ops)?;
        self.index_and_activate(&name, &id, &meta, &live)?;
        Ok(counts)
    }

    fn import_by_arn(&self, arn: &Option<String>) -> Result<ImportRecord> {
        let arn = required(arn, "importArn")?;
        let id = arn
            .rsplit_once("/import/")
            .map(|(_, id)| id)
            .filter(|id| !id.is_empty() && !id.contains('/') && arn.starts_with("arn:"))
            .ok_or_else(|| Error::validation("Invalid Import ARN"))?;
        match self.import_record(id)? {
            Some(r) if r.description.import_arn.as_deref() == Some(arn) => Ok(r),
            _ => Err(Error::Other {
                name: "ImportNotFoundException",
                message: format!("Import not found: {arn}"),
            }),
        }
    }

    pub fn describe_import(&self, input: ImportArnInput) -> Result<ImportDescriptionOutput> {
        Ok(ImportDescriptionOutput {
            import_table_description: self.import_by_arn(&input.import_arn)?.description,
        })
    }

    pub fn list_imports(&self, input: ListImportsInput) -> Result<ListImportsOutput> {
        let limit = super::export::page_limit(input.page_size, "pageSize")?;
        let mut records = self.import_records()?;
        records.reverse();
        if let Some(arn) = &input.table_arn {
            records.retain(|r| r.description.table_arn.as_ref() == Some(arn));
        }
        // botocore wants tokens of hex digits, at least 112 of them: the last id's bytes.
        let token_of = |id: &str| -> String {
            let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
            format!("{hex:0>112}")
        };
        let start = match &input.next_token {
            None => 0,
            Some(token) => records
                .iter()
                .position(|r| token_of(&r.id) == *token)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    Error::validation(format!(
                        "Invalid Request: Provided nextToken is invalid: {token}"
                    ))
                })?,
        };
        let page: Vec<&ImportRecord> = records.iter().skip(start).take(limit).collect();
        let next_token = (start + page.len() < records.len())
            .then(|| page.last().map(|r| token_of(&r.id)))
            .flatten();
        Ok(ListImportsOutput {
            import_summary_list: page
                .iter()
                .map(|r| {
                    let d = &r.description;
                    ImportSummary {
                        import_arn: d.import_arn.clone(),
                        import_status: d.import_status.clone(),
                        table_arn: d.table_arn.clone(),
                        s3_bucket_source: d.s3_bucket_source.clone(),
                        cloud_watch_log_group_arn: d.cloud_watch_log_group_arn.clone(),
                        input_format: d.input_format.clone(),
                        start_time: d.start_time,
                        end_time: d.end_time,
                    }
                })
                .collect(),
            next_token,
        })
    }
}

/// How many of an import's errors are logged, one line each: DynamoDB writes them to
/// CloudWatch (`itemS3Pointer`: bucket, key, item index; the messages); Keyfall's log is
/// its CloudWatch. The counts are complete either way.
const LOGGED_ERRORS: i64 = 1000;

fn report(import: &str, bucket: &str, key: &str, index: usize, message: &str, logged: i64) {
    if logged < LOGGED_ERRORS {
        tracing::warn!(
            import,
            bucket,
            key,
            item_index = index,
            error = message,
            "import item not imported"
        );
    }
}

/// An imported item as a write would check it: its keys, its values, its size, its index
/// keys.
fn check_item(table: &super::catalog::Table, item: Item) -> std::result::Result<Item, LineError> {
    let meta = &table.meta;
    let invalid = |m: String| LineError::Item(m);
    meta.key_schema
        .validate_item(&item)
        .map_err(|e| invalid(e.to_string()))?;
    for v in item.values() {
        v.validate().map_err(|e| invalid(e.to_string()))?;
    }
    if item_size(&item) > MAX_ITEM_BYTES {
        return Err(invalid(
            "Item size has exceeded the maximum allowed size".into(),
        ));
    }
    indexes::validate_item(table, &item).map_err(|e| invalid(e.to_string()))?;
    Ok(item)
}
