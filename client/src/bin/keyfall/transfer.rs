//! `keyfall export` and `keyfall import`: whole tables to and from JSON lines or CSV.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use keyfall::proto::v1 as pb;
use keyfall::proto::v1::attribute_value::Value;
use keyfall::value::json as vjson;
use keyfall::{AttributeValue, Client, Item};
use prost::Message;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::table;

/// The file formats of `export` and `import`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// One `{"Item": {...}}` per line, the item in DynamoDB JSON (as DynamoDB's export to
    /// S3 writes it).
    Jsonl,
    /// A header row of attribute names, then one row per item.
    Csv,
    /// Amazon Ion, one `$ion_1_0 {Item:{...}}` per line, as DynamoDB's ION exports write
    /// it (numbers as decimals, sets annotated `$dynamodb_SS`...).
    Ion,
}

/// How an import's input is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// By the file's extension: `.gz` gzip, `.zst` zstd, else none.
    Auto,
    Gzip,
    Zstd,
    None,
}

/// A client item as the model's (through DynamoDB JSON, which both speak exactly).
fn to_model(item: &Item) -> anyhow::Result<keyfall_types::model::Item> {
    Ok(serde_json::from_value(vjson::item_to_json(item))?)
}

fn from_model(item: &keyfall_types::model::Item) -> anyhow::Result<Item> {
    Ok(vjson::item_from_json(&serde_json::to_value(item)?)?)
}

/// Write every item of a table to a file (JSON lines or CSV).
///
/// `jsonl` (the default) loses nothing. `csv` has one column per top-level attribute name
/// found in the table (the key attributes first, then the rest sorted); strings, numbers
/// and booleans are written as text, binary values as base64, NULL and missing attributes
/// as an empty cell, and sets, maps and lists as their plain JSON text. To know every
/// column before the first row, a CSV export scans the table once into a temporary file
/// (as large as a JSON lines export) and then writes the CSV from it.
///
/// The table is read with a parallel scan of `--segments` segments; items are not in key
/// order. A file given with `--output` appears only once the export is complete.
#[derive(Args)]
pub struct ExportArgs {
    /// The table to read.
    table: String,
    /// The file format.
    #[arg(long, value_enum, default_value_t = FileFormat::Jsonl)]
    format: FileFormat,
    /// The file to write, or `-` for standard output.
    #[arg(long, short, default_value = "-", value_name = "FILE")]
    output: String,
    /// Compresses the output with gzip (as DynamoDB's export data files are).
    #[arg(long)]
    gzip: bool,
    /// Parallel scan segments read at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    segments: u32,
    /// Strongly consistent reads.
    #[arg(long)]
    consistent: bool,
    /// No progress bar (it is only drawn when standard error is a terminal anyway).
    #[arg(long)]
    no_progress: bool,
}

/// Write the items of a file (JSON lines or CSV) to a table.
///
/// Items are written with BatchWriteItem, 25 a request, `--concurrency` requests in
/// flight, resending unprocessed items with backoff.
///
/// `jsonl`: one item per line, `{"Item": {...}}` in DynamoDB JSON as `keyfall export` and
/// DynamoDB's export to S3 write it, or a bare DynamoDB JSON item; blank lines are skipped.
///
/// `csv`: the first row names the attributes. Every cell becomes a string (S), except in
/// the columns named by `--number-columns` (N) and in the table's key columns, which take
/// the key's type (a B key is base64). An empty cell leaves the attribute out. CSV cannot
/// say "set", "map" or "list": such values exported as JSON text come back as strings.
///
/// A line that cannot be read (bad JSON, unknown type tag, missing key attribute, not a
/// number) stops the import: the lines before it are written, the count is printed, and
/// `keyfall` exits with status 1 and `error: line N: <reason>`. Lines with the same key in
/// one batch are merged (the later wins); across batches written concurrently, which of
/// two items with the same key is kept is not defined.
#[derive(Args)]
pub struct ImportArgs {
    /// The table to write to (it must exist).
    table: String,
    /// The file format.
    #[arg(long, value_enum, default_value_t = FileFormat::Jsonl)]
    format: FileFormat,
    /// The file to read, or `-` for standard input (a DynamoDB export's data file reads as
    /// it is: `--format jsonl` or `--format ion`).
    #[arg(long, short, default_value = "-", value_name = "FILE")]
    input: String,
    /// The input's compression.
    #[arg(long, value_enum, default_value_t = Compression::Auto)]
    compression: Compression,
    /// CSV: columns holding numbers (imported as N), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    number_columns: Vec<String>,
    /// BatchWriteItem requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// No progress bar (it is only drawn when standard error is a terminal anyway).
    #[arg(long)]
    no_progress: bool,
}

// ---------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------

/// Tries of one request that fails with a retryable error (throttling, lost connection).
const MAX_ATTEMPTS: u32 = 8;

fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(50).saturating_mul(1 << attempt.min(10));
    let capped = base.min(Duration::from_secs(5));
    // Full jitter between half and all of it.
    capped.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// Runs `call` until it succeeds, fails with an error that is not worth retrying, or has
/// been tried [`MAX_ATTEMPTS`] times. Only for idempotent requests.
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, keyfall::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) => {
                let error = keyfall::Error::from_status(status);
                attempt += 1;
                if !error.is_retryable() || attempt >= MAX_ATTEMPTS {
                    return Err(error);
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
}

fn progress_bar(hidden: bool, length: Option<u64>, verb: &str) -> ProgressBar {
    let target = if hidden {
        ProgressDrawTarget::hidden()
    } else {
        // Hidden by indicatif itself when standard error is not a terminal.
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(length, target);
    let template = match length {
        Some(_) => format!(
            "{{spinner}} [{{bar:30}}] {{human_pos}}/{{human_len}} items {verb} \
             ({{rate}}, {{elapsed}}, eta {{eta}}) {{msg}}"
        ),
        None => {
            format!("{{spinner}} {{human_pos}} items {verb} ({{rate}}, {{elapsed}}) {{msg}}")
        }
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(
            style
                .with_key(
                    "rate",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
        );
    }
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_millis(120));
    }
    bar
}

fn type_tag(value: &AttributeValue) -> &'static str {
    match &value.value {
        Some(Value::S(_)) => "S",
        Some(Value::N(_)) => "N",
        Some(Value::B(_)) => "B",
        Some(Value::Ss(_)) => "SS",
        Some(Value::Ns(_)) => "NS",
        Some(Value::Bs(_)) => "BS",
        Some(Value::M(_)) => "M",
        Some(Value::L(_)) => "L",
        Some(Value::Null(_)) => "NULL",
        Some(Value::Bool(_)) => "BOOL",
        None => "no type",
    }
}

/// The table's key attributes (hash first) with their types.
fn key_attributes(description: &pb::TableDescription) -> Vec<(String, String)> {
    let mut schema = description.key_schema.clone();
    schema.sort_by_key(|k| k.key_type != "HASH");
    schema
        .into_iter()
        .map(|k| {
            let kind = description
                .attribute_definitions
                .iter()
                .find(|d| d.attribute_name == k.attribute_name)
                .map(|d| d.attribute_type.clone())
                .unwrap_or_default();
            (k.attribute_name, kind)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------

/// Where an export goes: standard output, or a temporary file beside the target that
/// replaces it once the export is complete.
enum Sink {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(std::io::BufWriter<tempfile::NamedTempFile>, String),
}

impl Sink {
    fn open(output: &str) -> anyhow::Result<Sink> {
        if output == "-" {
            return Ok(Sink::Stdout(std::io::BufWriter::new(std::io::stdout())));
        }
        let dir = match Path::new(output).parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        Ok(Sink::File(
            std::io::BufWriter::new(file),
            output.to_string(),
        ))
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(mut out) => Ok(out.flush()?),
            Sink::File(out, path) => {
                let file = out.into_inner().map_err(|e| e.into_error())?;
                file.persist(&path)
                    .with_context(|| format!("cannot write {path}"))?;
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::File(out, _) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::File(out, _) => out.flush(),
        }
    }
}

/// Scans the table with `segments` parallel segments; pages arrive on the channel.
fn scan_pages(
    client: &Client,
    table: &str,
    segments: u32,
    consistent: bool,
) -> (
    mpsc::Receiver<anyhow::Result<Vec<pb::MapValue>>>,
    JoinSet<()>,
) {
    let (tx, rx) = mpsc::channel(segments as usize * 2);
    let mut tasks = JoinSet::new();
    for segment in 0..segments {
        let tx = tx.clone();
        let grpc = client.grpc();
        let mut request = pb::ScanRequest {
            table_name: table.to_string(),
            consistent_read: consistent.then_some(true),
            ..Default::default()
        };
        if segments > 1 {
            request.segment = Some(segment as i32);
            request.total_segments = Some(segments as i32);
        }
        tasks.spawn(async move {
            loop {
                let page = retrying(|| {
                    let mut grpc = grpc.clone();
                    let request = request.clone();
                    async move { grpc.scan(request).await }
                })
                .await;
                let page = match page {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(crate::transport_or_service(e))).await;
                        return;
                    }
                };
                let done = page.last_evaluated_key.is_empty();
                if tx.send(Ok(page.items)).await.is_err() {
                    return;
                }
                if done {
                    return;
                }
                request.exclusive_start_key = page.last_evaluated_key;
            }
        });
    }
    (rx, tasks)
}

pub async fn export(client: &Client, args: ExportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let description = table::describe(client, &args.table).await?;
    let estimate = description
        .item_count
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n > 0);
    let sink = Sink::open(&args.output)?;
    let bar = progress_bar(args.no_progress, estimate, "exported");
    let outcome = if args.gzip {
        let gz = flate2::write::GzEncoder::new(sink, flate2::Compression::default());
        export_to(client, &args, &description, Output(Box::new(gz)), &bar).await
    } else {
        export_to(client, &args, &description, Output(Box::new(sink)), &bar).await
    };
    bar.finish_and_clear();
    eprintln!(
        "exported {} from {} in {:.1}s",
        items(outcome?),
        args.table,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What an export writes to, finished once the last item is in: the sink, or gzip
/// around it.
trait Finish: Write + Send {
    fn finish_output(self: Box<Self>) -> anyhow::Result<()>;
}

impl Finish for Sink {
    fn finish_output(self: Box<Self>) -> anyhow::Result<()> {
        self.finish()
    }
}

impl Finish for flate2::write::GzEncoder<Sink> {
    fn finish_output(self: Box<Self>) -> anyhow::Result<()> {
        self.finish()?.finish()
    }
}

struct Output(Box<dyn Finish>);

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Output {
    fn finish(self) -> anyhow::Result<()> {
        self.0.finish_output()
    }
}

/// Scans the table into the output; the number of items written.
async fn export_to(
    client: &Client,
    args: &ExportArgs,
    description: &pb::TableDescription,
    mut sink: Output,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    // Dropping the tasks (on an error) stops the other segments.
    let (mut pages, _tasks) = scan_pages(client, &args.table, args.segments, args.consistent);
    let mut count = 0u64;
    match args.format {
        FileFormat::Jsonl => {
            while let Some(page) = pages.recv().await {
                for item in page? {
                    let line = json!({ "Item": vjson::item_to_json(&item.values) });
                    writeln!(sink, "{line}")?;
                    count += 1;
                }
                advance(bar, count);
            }
        }
        FileFormat::Ion => {
            let mut line = Vec::new();
            while let Some(page) = pages.recv().await {
                for item in page? {
                    line.clear();
                    keyfall_types::transfer::item_line(
                        keyfall_types::transfer::Format::Ion,
                        &to_model(&item.values)?,
                        &mut line,
                    )?;
                    sink.write_all(&line)?;
                    count += 1;
                }
                advance(bar, count);
            }
        }
        FileFormat::Csv => {
            bar.set_message("(reading)");
            let mut spool = std::io::BufWriter::new(
                tempfile::tempfile().context("cannot create a temporary file")?,
            );
            let mut names = BTreeSet::new();
            while let Some(page) = pages.recv().await {
                for item in page? {
                    names.extend(item.values.keys().cloned());
                    writeln!(spool, "{}", vjson::item_to_json(&item.values))?;
                    count += 1;
                }
                advance(bar, count);
            }
            let mut spool = spool.into_inner().map_err(|e| e.into_error())?;
            spool.rewind()?;
            bar.set_message("(writing CSV)");
            write_csv(&mut sink, spool, names, &key_attributes(description), bar)?;
        }
    }
    sink.finish()?;
    Ok(count)
}

/// "1 item", "2 items".
fn items(count: u64) -> String {
    match count {
        1 => "1 item".to_string(),
        n => format!("{n} items"),
    }
}

fn advance(bar: &ProgressBar, count: u64) {
    if bar.length().is_some_and(|length| count > length) {
        bar.set_length(count);
    }
    bar.set_position(count);
}

fn write_csv(
    sink: &mut impl Write,
    spool: File,
    mut names: BTreeSet<String>,
    keys: &[(String, String)],
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let mut header: Vec<String> = keys
        .iter()
        .filter(|(name, _)| names.remove(name))
        .map(|(name, _)| name.clone())
        .collect();
    header.extend(names);
    let mut csv = csv::Writer::from_writer(sink);
    csv.write_record(&header)?;
    for (index, line) in BufReader::new(spool).lines().enumerate() {
        let item = vjson::item_from_json(&serde_json::from_str(&line?)?)?;
        csv.write_record(
            header
                .iter()
                .map(|name| item.get(name).map(csv_cell).unwrap_or_default()),
        )?;
        if index % 1024 == 0 {
            bar.tick();
        }
    }
    csv.flush()?;
    Ok(())
}

fn csv_cell(value: &AttributeValue) -> String {
    match &value.value {
        Some(Value::S(text)) | Some(Value::N(text)) => text.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Null(_)) | None => String::new(),
        // Binary as base64; sets, maps and lists as plain JSON.
        Some(Value::B(_)) => match vjson::attribute_value_to_plain_json(value) {
            Json::String(text) => text,
            other => other.to_string(),
        },
        Some(_) => vjson::attribute_value_to_plain_json(value).to_string(),
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One input record: its line number and the item, or why it is not one.
type Record = (u64, anyhow::Result<Item>);

pub async fn import(client: &Client, args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let description = table::describe(client, &args.table).await?;
    let keys = key_attributes(&description);

    let (input, size): (Box<dyn Read>, Option<u64>) = if args.input == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file =
            File::open(&args.input).with_context(|| format!("cannot open {}", args.input))?;
        let size = file.metadata().ok().map(|m| m.len()).filter(|&n| n > 0);
        (Box::new(file), size)
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    let counted = Counting {
        inner: input,
        read: bytes_read.clone(),
    };
    let compression = match args.compression {
        Compression::Auto if args.input.ends_with(".gz") => Compression::Gzip,
        Compression::Auto if args.input.ends_with(".zst") => Compression::Zstd,
        Compression::Auto => Compression::None,
        other => other,
    };
    let input: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(counted)
                .map_err(|e| anyhow!("{}: not zstd: {e}", args.input))?,
        ),
        _ => Box::new(counted),
    };
    let records: Box<dyn Iterator<Item = Record>> = match args.format {
        FileFormat::Jsonl => {
            if !args.number_columns.is_empty() {
                bail!("--number-columns only applies to --format csv");
            }
            Box::new(jsonl_records(BufReader::with_capacity(1 << 16, input)))
        }
        FileFormat::Csv => csv_records(input, &keys, &args.number_columns)?,
        FileFormat::Ion => Box::new(ion_records(input)?),
    };

    let bar = progress_bar(args.no_progress, None, "imported");
    let mut writer = BatchWriter {
        client: client.clone(),
        table: args.table.clone(),
        concurrency: usize::from(args.concurrency),
        tasks: JoinSet::new(),
        written: 0,
        error: None,
        bar: bar.clone(),
    };
    let mut batch = Batch::default();
    let mut failure: Option<anyhow::Error> = None;
    for (line, record) in records {
        let checked = record.and_then(|item| {
            check_key(&item, &keys)?;
            check_numbers(&item)?;
            Ok(item)
        });
        let item = match checked {
            Ok(item) => item,
            Err(e) => {
                failure = Some(e.context(format!("line {line}")));
                break;
            }
        };
        batch.add(line, item, &keys);
        if batch.items.len() == 25 {
            writer.submit(std::mem::take(&mut batch)).await;
            if writer.error.is_some() {
                break;
            }
            if let Some(size) = size {
                let read = bytes_read.load(Ordering::Relaxed);
                bar.set_message(format!("{}% of the input read", read * 100 / size));
            }
        }
    }
    if !batch.items.is_empty() && writer.error.is_none() {
        writer.submit(batch).await;
    }
    writer.finish().await;
    bar.finish_and_clear();
    let written = writer.written;
    let seconds = started.elapsed().as_secs_f64();
    match writer.error.or(failure) {
        None => {
            eprintln!(
                "imported {} into {} in {seconds:.1}s",
                items(written),
                args.table
            );
            Ok(())
        }
        Some(error) => {
            eprintln!(
                "stopped: {} imported into {} before the error",
                items(written),
                args.table
            );
            Err(error)
        }
    }
}

fn jsonl_records(input: impl BufRead) -> impl Iterator<Item = Record> {
    input
        .lines()
        .enumerate()
        .map(|(index, line)| (index as u64 + 1, line))
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(number, line)| {
            (
                number,
                line.map_err(anyhow::Error::from)
                    .and_then(|l| jsonl_item(&l)),
            )
        })
}

/// Ion documents hold values that may span lines: the whole input is parsed, and each
/// `{Item:{...}}` is a record (numbered from 1).
fn ion_records(mut input: impl Read) -> anyhow::Result<impl Iterator<Item = Record>> {
    let mut text = Vec::new();
    input
        .read_to_end(&mut text)
        .context("cannot read the input")?;
    let items = keyfall_types::transfer::ion::parse_items(&text)
        .map_err(|e| anyhow!("invalid Ion: {e:?}"))?;
    Ok(items.into_iter().enumerate().map(|(i, item)| {
        let item = item
            .map_err(|e| anyhow!("{e:?}"))
            .and_then(|i| from_model(&i));
        (i as u64 + 1, item)
    }))
}

/// `{"Item": {...}}` or a bare typed item.
fn jsonl_item(line: &str) -> anyhow::Result<Item> {
    let json: Json = serde_json::from_str(line).context("invalid JSON")?;
    if let Json::Object(object) = &json {
        if let (1, Some(inner)) = (object.len(), object.get("Item")) {
            let wrapped = vjson::item_from_json(inner);
            // A bare item whose one attribute is named "Item" is not a wrapper.
            return wrapped
                .or_else(|e| vjson::item_from_json(&json).map_err(|_| e))
                .map_err(Into::into);
        }
    }
    Ok(vjson::item_from_json(&json)?)
}

fn csv_records(
    input: impl Read + 'static,
    keys: &[(String, String)],
    number_columns: &[String],
) -> anyhow::Result<Box<dyn Iterator<Item = Record>>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .context("line 1: cannot read the CSV header")?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() {
        bail!("line 1: the CSV header is empty");
    }
    for column in number_columns {
        if !header.contains(column) {
            bail!("--number-columns: the CSV header has no column {column:?}");
        }
    }
    let types: Vec<String> = header
        .iter()
        .map(|name| match keys.iter().find(|(key, _)| key == name) {
            Some((_, kind)) => kind.clone(),
            None if number_columns.contains(name) => "N".to_string(),
            None => "S".to_string(),
        })
        .collect();
    let records = reader.into_records().map(move |record| {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return (line, Err(anyhow!(e)));
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut item = Item::new();
        for ((name, kind), cell) in header.iter().zip(&types).zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            match csv_value(kind, cell) {
                Ok(value) => {
                    item.insert(name.clone(), value);
                }
                Err(e) => return (line, Err(e.context(format!("column {name:?}")))),
            }
        }
        (line, Ok(item))
    });
    Ok(Box::new(records))
}

fn csv_value(kind: &str, cell: &str) -> anyhow::Result<AttributeValue> {
    let value = match kind {
        "N" => {
            cell.trim()
                .parse::<keyfall::value::BigDecimal>()
                .map_err(|_| anyhow!("{cell:?} is not a number"))?;
            Value::N(cell.trim().to_string())
        }
        "B" => Value::B(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, cell)
                .map_err(|e| anyhow!("{cell:?} is not base64: {e}"))?,
        ),
        _ => Value::S(cell.to_string()),
    };
    Ok(AttributeValue { value: Some(value) })
}

/// Every `N` and `NS` element of the item is a number, so that a bad one is reported
/// with its line rather than as a refused batch.
fn check_numbers(item: &Item) -> anyhow::Result<()> {
    fn number(text: &str) -> anyhow::Result<()> {
        text.parse::<keyfall::value::BigDecimal>()
            .map(|_| ())
            .map_err(|_| anyhow!("{text:?} is not a number"))
    }
    fn check(value: &AttributeValue) -> anyhow::Result<()> {
        match &value.value {
            Some(Value::N(text)) => number(text),
            Some(Value::Ns(set)) => set.values.iter().try_for_each(|text| number(text)),
            Some(Value::M(map)) => map
                .values
                .iter()
                .try_for_each(|(name, v)| check(v).with_context(|| name.clone())),
            Some(Value::L(list)) => list
                .values
                .iter()
                .enumerate()
                .try_for_each(|(index, v)| check(v).with_context(|| format!("[{index}]"))),
            _ => Ok(()),
        }
    }
    item.iter()
        .try_for_each(|(name, v)| check(v).with_context(|| name.clone()))
}

fn check_key(item: &Item, keys: &[(String, String)]) -> anyhow::Result<()> {
    for (name, kind) in keys {
        match item.get(name) {
            None => bail!("the item has no key attribute {name:?}"),
            Some(value) if !kind.is_empty() && type_tag(value) != kind => bail!(
                "key attribute {name:?} must be {kind}, found {}",
                type_tag(value)
            ),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Up to 25 items, at most one per key.
#[derive(Default)]
struct Batch {
    items: Vec<(u64, Item)>,
    by_key: HashMap<Vec<u8>, usize>,
}

impl Batch {
    fn add(&mut self, line: u64, item: Item, keys: &[(String, String)]) {
        let mut key = Vec::new();
        for (name, _) in keys {
            if let Some(value) = item.get(name) {
                value.encode_length_delimited(&mut key).ok();
            }
        }
        match self.by_key.get(&key).and_then(|&i| self.items.get_mut(i)) {
            // BatchWriteItem refuses two writes of one key: the later line wins.
            Some(slot) => *slot = (line, item),
            None => {
                self.by_key.insert(key, self.items.len());
                self.items.push((line, item));
            }
        }
    }
}

struct BatchWriter {
    client: Client,
    table: String,
    concurrency: usize,
    tasks: JoinSet<BatchOutcome>,
    written: u64,
    /// The first failed batch's error; nothing more is sent after it.
    error: Option<anyhow::Error>,
    bar: ProgressBar,
}

/// What became of one batch: how many of its items were written, and the error that
/// stopped the rest.
struct BatchOutcome {
    written: u64,
    error: Option<anyhow::Error>,
}

type Grpc = keyfall::proto::v1::dynamo_db_client::DynamoDbClient<keyfall::Transport>;

impl BatchWriter {
    /// Sends the batch once fewer than `concurrency` are in flight.
    async fn submit(&mut self, batch: Batch) {
        while self.tasks.len() >= self.concurrency {
            self.join_one().await;
        }
        if self.error.is_some() || batch.items.is_empty() {
            return;
        }
        let grpc = self.client.grpc();
        let table = self.table.clone();
        self.tasks.spawn(write_batch(grpc, table, batch.items));
    }

    async fn join_one(&mut self) {
        let Some(outcome) = self.tasks.join_next().await else {
            return;
        };
        let outcome = outcome.unwrap_or_else(|e| BatchOutcome {
            written: 0,
            error: Some(e.into()),
        });
        self.written += outcome.written;
        self.bar.set_position(self.written);
        if let Some(error) = outcome.error {
            self.error.get_or_insert(error);
        }
    }

    async fn finish(&mut self) {
        while !self.tasks.is_empty() {
            self.join_one().await;
        }
    }
}

/// Writes the items with BatchWriteItem, resending unprocessed ones with backoff. When
/// the service refuses the batch as invalid, writes its items one at a time, in line
/// order, to find (and report) the line it refuses.
async fn write_batch(grpc: Grpc, table: String, items: Vec<(u64, Item)>) -> BatchOutcome {
    let lines = match (items.first(), items.last()) {
        (Some(first), Some(last)) if first.0 != last.0 => format!("lines {}-{}", first.0, last.0),
        (Some(first), _) => format!("line {}", first.0),
        _ => String::new(),
    };
    let total = items.len() as u64;
    let mut pending: Vec<pb::WriteRequest> = items
        .iter()
        .map(|(_, item)| pb::WriteRequest {
            put_request: Some(pb::PutRequest { item: item.clone() }),
            delete_request: None,
        })
        .collect();
    let mut first_attempt = true;
    let mut attempts_without_progress = 0;
    loop {
        let request = pb::BatchWriteItemRequest {
            request_items: HashMap::from([(
                table.clone(),
                pb::WriteRequestList {
                    values: std::mem::take(&mut pending),
                },
            )]),
            ..Default::default()
        };
        let sent = request
            .request_items
            .get(&table)
            .map_or(0, |list| list.values.len());
        let response = retrying(|| {
            let mut grpc = grpc.clone();
            let request = request.clone();
            async move { grpc.batch_write_item(request).await }
        })
        .await;
        let mut response = match response {
            Ok(response) => response,
            Err(keyfall::Error::Validation { .. }) if first_attempt => {
                return write_one_by_one(grpc, table, items).await;
            }
            Err(e) => {
                return BatchOutcome {
                    written: total - sent as u64,
                    error: Some(crate::transport_or_service(e).context(format!("writing {lines}"))),
                }
            }
        };
        first_attempt = false;
        pending = response
            .unprocessed_items
            .remove(&table)
            .map(|list| list.values)
            .unwrap_or_default();
        if pending.is_empty() {
            return BatchOutcome {
                written: total,
                error: None,
            };
        }
        if pending.len() < sent {
            attempts_without_progress = 0;
        } else {
            attempts_without_progress += 1;
            if attempts_without_progress >= MAX_ATTEMPTS * 2 {
                return BatchOutcome {
                    written: total - pending.len() as u64,
                    error: Some(anyhow!(
                        "writing {lines}: {} items still unprocessed after {attempts_without_progress} attempts",
                        pending.len()
                    )),
                };
            }
        }
        tokio::time::sleep(backoff(attempts_without_progress)).await;
    }
}

async fn write_one_by_one(grpc: Grpc, table: String, items: Vec<(u64, Item)>) -> BatchOutcome {
    let mut written = 0;
    for (line, item) in items {
        let request = pb::PutItemRequest {
            table_name: table.clone(),
            item,
            ..Default::default()
        };
        let outcome = retrying(|| {
            let mut grpc = grpc.clone();
            let request = request.clone();
            async move { grpc.put_item(request).await }
        })
        .await;
        if let Err(e) = outcome {
            return BatchOutcome {
                written,
                error: Some(crate::transport_or_service(e).context(format!("line {line}"))),
            };
        }
        written += 1;
    }
    BatchOutcome {
        written,
        error: None,
    }
}
