//! `keyfall`: the Keyfall command line. Tables, items, bulk import and export, and user
//! administration, over the signed gRPC API.
//!
//! Connection (global options, also accepted after the subcommand):
//! `--endpoint URL` (env `KEYFALL_ENDPOINT`, default `http://127.0.0.1:50051`), `--region`
//! (env `AWS_REGION`, then `AWS_DEFAULT_REGION`, default `us-east-1`). Requests are signed
//! with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`); without
//! them table and item requests go unsigned (for a server run with `--auth off`).
//!
//! ```text
//! keyfall table create <name> --pk NAME:S|N|B [--sk NAME:TYPE]
//!                      [--gsi INDEX:PK:TYPE[:SK:TYPE]]... [--stream VIEW_TYPE] [--ttl ATTR]
//! keyfall table describe <name>
//! keyfall table list
//! keyfall table delete <name>
//!
//! keyfall item put    <table> <item-json> [--condition EXPR] [--values JSON] [--names JSON]
//! keyfall item get    <table> <key-json> [--consistent] [--projection EXPR] [--names JSON]
//! keyfall item delete <table> <key-json> [--condition EXPR] [--values JSON] [--names JSON]
//! keyfall item query  <table> --key-condition EXPR [--values JSON] [--names JSON]
//!                     [--filter EXPR] [--projection EXPR] [--index NAME] [--limit N]
//!                     [--descending] [--consistent]
//! keyfall item scan   <table> [--filter EXPR] [--values JSON] [--names JSON]
//!                     [--projection EXPR] [--index NAME] [--limit N] [--consistent]
//!
//! keyfall export <table> [--format jsonl|csv] [--output FILE|-] [--segments N]
//! keyfall import <table> [--format jsonl|csv] [--input FILE|-] [--number-columns A,B]
//!                        [--concurrency N]
//!
//! keyfall sql [STATEMENT] [--param JSON]... [--output table|json|dynamodb] [--limit N]
//!             [--all] [--consistent]
//!
//! keyfall cost [--metrics-url URL] [--sample DURATION] [--prices FILE] [--json]
//!
//! keyfall admin create-user|delete-user|list-users|create-access-key|delete-access-key|
//!               list-access-keys|put-user-policy|get-user-policy|delete-user-policy|
//!               list-user-policies ...
//! ```
//!
//! Item commands read items, keys and `--values` as plain JSON (`{"pk": "a", "n": 1}`:
//! strings are `S`, numbers `N`, arrays `L`, objects `M`), or as DynamoDB JSON
//! (`{"pk": {"S": "a"}}`) with `--json-format dynamodb`. Any JSON argument may be `@FILE`
//! (or `@-` for standard input). They print one JSON document per line, plain unless
//! `--output dynamodb`; `query` and `scan` follow every page up to `--limit` items.
//!
//! `export` writes DynamoDB JSON lines shaped like DynamoDB's export to S3
//! (`{"Item":{...}}`), or CSV; `import` reads the same (and bare typed items per line).
//! Both show a progress bar on standard error when it is a terminal. See `export --help`
//! and `import --help` for the CSV rules.
//!
//! Errors print `error: <DynamoDB error name>: <message>` on standard error and exit with
//! status 1; usage errors exit with status 2.

mod admin;
mod autoscaling;
mod backup;
mod cost;
mod insights;
mod item;
mod sql;
mod table;
mod transfer;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use keyfall::value::json as vjson;
use keyfall::{Client, Credentials, Item};
use serde_json::Value as Json;

#[derive(Parser)]
#[command(name = "keyfall", version, about = "Keyfall command-line client")]
struct Cli {
    /// The server's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "KEYFALL_ENDPOINT",
        default_value = keyfall::DEFAULT_ENDPOINT
    )]
    endpoint: String,
    /// Region the requests are signed for (else AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long, global = true, env = "AWS_REGION")]
    region: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, describe, list and delete tables.
    Table {
        #[command(subcommand)]
        command: table::TableCommand,
    },
    /// Put, get, delete, query and scan items.
    Item {
        #[command(subcommand)]
        command: item::ItemCommand,
    },
    /// On-demand backups: create, list, describe, delete, restore.
    Backup {
        #[command(subcommand)]
        command: backup::BackupCommand,
    },
    /// Point-in-time recovery: enable, disable, status, restore to a second.
    Pitr {
        #[command(subcommand)]
        command: backup::PitrCommand,
    },
    Export(transfer::ExportArgs),
    Import(transfer::ImportArgs),
    Cost(cost::CostArgs),
    /// A table's Contributor Insights: its most accessed and most throttled keys.
    Insights(insights::InsightsArgs),
    /// Auto scaling of a table's or GSI's provisioned throughput (Application Auto
    /// Scaling's API on the server's HTTP port).
    Autoscaling(autoscaling::AutoscalingArgs),
    Sql(sql::SqlArgs),
    /// Users, access keys and inline policies.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Background tasks (other scan segments, batches) have nothing left to do.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // `keyfall item scan t | head`: the reader left, which is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let region = cli
        .region
        .clone()
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_string());
    match cli.command {
        Command::Admin { command } => admin::run(&cli.endpoint, region, command).await,
        Command::Table { command } => table::run(&connect(&cli.endpoint, &region)?, command).await,
        Command::Item { command } => item::run(&connect(&cli.endpoint, &region)?, command).await,
        Command::Backup { command } => {
            backup::backup(&connect(&cli.endpoint, &region)?, command).await
        }
        Command::Pitr { command } => backup::pitr(&connect(&cli.endpoint, &region)?, command).await,
        Command::Export(args) => transfer::export(&connect(&cli.endpoint, &region)?, args).await,
        Command::Import(args) => transfer::import(&connect(&cli.endpoint, &region)?, args).await,
        Command::Cost(args) => cost::run(args).await,
        Command::Insights(args) => insights::run(&connect(&cli.endpoint, &region)?, args).await,
        Command::Autoscaling(args) => autoscaling::run(&region, args).await,
        Command::Sql(args) => sql::run(&connect(&cli.endpoint, &region)?, args).await,
    }
}

fn connect(endpoint: &str, region: &str) -> anyhow::Result<Client> {
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        bail!("the endpoint {endpoint:?} must start with http:// or https://");
    }
    let mut builder = Client::builder().endpoint(endpoint).region(region);
    if let Some(credentials) = Credentials::from_env() {
        builder = builder.credentials(credentials);
    }
    Ok(builder.build()?)
}

/// A failed gRPC call as the client's error, whose text is `<ErrorName>: <message>`, or
/// for a failure below DynamoDB's protocol, `transport error: <what> : <root cause>`.
fn call_error(status: tonic::Status) -> anyhow::Error {
    transport_or_service(keyfall::Error::from_status(status))
}

fn transport_or_service(error: keyfall::Error) -> anyhow::Error {
    match error {
        keyfall::Error::Transport { source } => {
            // tonic's own text repeats the whole chain; the innermost cause says it best
            // ("Connection refused (os error 111)").
            let mut root: &dyn std::error::Error = &*source;
            while let Some(next) = root.source() {
                root = next;
            }
            let root = root.to_string();
            let message = source.message();
            if root == message || root.is_empty() {
                anyhow::anyhow!("transport error: {message}")
            } else {
                anyhow::anyhow!("transport error: {message}: {root}")
            }
        }
        other => other.into(),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// How items, keys and `--values` are written on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum JsonFormat {
    /// `{"pk": "a", "n": 1}`: strings are S, numbers N, booleans BOOL, null NULL, arrays
    /// L, objects M.
    #[default]
    Plain,
    /// DynamoDB's typed JSON: `{"pk": {"S": "a"}, "n": {"N": "1"}}`.
    Dynamodb,
}

impl JsonFormat {
    fn item(self, json: &Json) -> anyhow::Result<Item> {
        Ok(match self {
            JsonFormat::Plain => vjson::item_from_plain_json(json)?,
            JsonFormat::Dynamodb => vjson::item_from_json(json)?,
        })
    }

    fn render(self, item: &Item) -> Json {
        match self {
            JsonFormat::Plain => vjson::item_to_plain_json(item),
            JsonFormat::Dynamodb => vjson::item_to_json(item),
        }
    }
}

/// The text of an argument that may be `@FILE` or `@-` (standard input).
fn argument_text(text: &str) -> anyhow::Result<String> {
    match text.strip_prefix('@') {
        Some("-") => {
            let mut buffer = String::new();
            std::io::stdin()
                .read_to_string(&mut buffer)
                .context("cannot read standard input")?;
            Ok(buffer)
        }
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(text.to_string()),
    }
}

/// A JSON argument (text, `@FILE` or `@-`), `what` naming it in errors.
fn json_argument(text: &str, what: &str) -> anyhow::Result<Json> {
    let text = argument_text(text)?;
    serde_json::from_str(&text).with_context(|| format!("{what} is not valid JSON"))
}

/// `--values`, `--names` and the expressions that use them.
#[derive(Args, Debug, Default)]
struct Placeholders {
    /// Expression attribute values, as a JSON object: `{":p": "x"}` (in the
    /// `--json-format`).
    #[arg(long)]
    values: Option<String>,
    /// Expression attribute names, as a JSON object: `{"#n": "name"}`.
    #[arg(long)]
    names: Option<String>,
}

impl Placeholders {
    fn values(&self, format: JsonFormat) -> anyhow::Result<Item> {
        match &self.values {
            None => Ok(Item::new()),
            Some(text) => format
                .item(&json_argument(text, "--values")?)
                .context("--values"),
        }
    }

    fn names(&self) -> anyhow::Result<HashMap<String, String>> {
        let Some(text) = &self.names else {
            return Ok(HashMap::new());
        };
        let Json::Object(object) = json_argument(text, "--names")? else {
            bail!("--names must be a JSON object such as {{\"#n\": \"name\"}}");
        };
        object
            .into_iter()
            .map(|(placeholder, name)| match name {
                Json::String(name) => Ok((placeholder, name)),
                other => bail!("--names: {placeholder} must name an attribute, found {other}"),
            })
            .collect()
    }
}

/// Standard output, buffered, one JSON document per line.
struct Lines {
    out: std::io::BufWriter<std::io::Stdout>,
}

impl Lines {
    fn new() -> Self {
        Lines {
            out: std::io::BufWriter::new(std::io::stdout()),
        }
    }

    fn write(&mut self, json: &Json) -> anyhow::Result<()> {
        writeln!(self.out, "{json}")?;
        Ok(())
    }

    fn write_pretty(&mut self, json: &Json) -> anyhow::Result<()> {
        writeln!(self.out, "{json:#}")?;
        Ok(())
    }

    fn write_text(&mut self, text: &str) -> anyhow::Result<()> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
