//! `keyfall sql`: PartiQL from the command line. With a statement it runs it once (every
//! page with `--all`); without one it is a shell: line editing and history (rustyline) on
//! a terminal, statements read from standard input otherwise, so scripts and tests drive
//! the same loop.
//!
//! In the shell a statement ends with `;` (it may span lines). Commands: `\d TABLE`
//! describes a table, `\dt` lists tables, `\n` shows the next page of the last SELECT,
//! `\o table|json|dynamodb` sets the output, `\q` quits. `?` parameters come from `--param`
//! when running one statement.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use keyfall::proto::v1 as pb;
use keyfall::value::json as vjson;
use keyfall::{AttributeValue, Client, Item};
use serde_json::Value as Json;

use crate::{argument_text, transport_or_service, JsonFormat};

#[derive(Args)]
/// Run a PartiQL statement, or start an interactive PartiQL shell.
pub struct SqlArgs {
    /// The statement; without it, a shell.
    statement: Option<String>,
    /// A value for the next `?`, in order (plain JSON, or DynamoDB JSON with
    /// `--json-format dynamodb`; `@FILE` reads it from a file).
    #[arg(long = "param", value_name = "JSON")]
    params: Vec<String>,
    #[arg(long, value_enum, default_value_t = JsonFormat::Plain)]
    json_format: JsonFormat,
    /// How results are shown.
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Items read per page (before the WHERE filters them).
    #[arg(long)]
    limit: Option<u32>,
    /// Follow NextToken: every page.
    #[arg(long)]
    all: bool,
    /// Strongly consistent reads.
    #[arg(long)]
    consistent: bool,
}

/// How a result is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns, one row an item.
    Table,
    /// One plain JSON document per item.
    Json,
    /// One DynamoDB JSON document per item.
    Dynamodb,
}

pub async fn run(client: &Client, args: SqlArgs) -> anyhow::Result<()> {
    let mut shell = Shell {
        client,
        output: args.output,
        limit: args.limit,
        consistent: args.consistent,
        last: None,
        // One statement with --all pages on its own; without, the token is the user's.
        hints: args.statement.is_none(),
    };
    let stdout = std::io::stdout();
    if let Some(statement) = &args.statement {
        let mut params = Vec::new();
        for p in &args.params {
            let json: Json = serde_json::from_str(&argument_text(p)?)
                .with_context(|| format!("--param {p} is not JSON"))?;
            params.push(value_of(args.json_format, &json)?);
        }
        let mut out = stdout.lock();
        shell.statement(statement, params, &mut out).await?;
        while args.all && shell.last.as_ref().is_some_and(|l| l.next_token.is_some()) {
            shell.next_page(&mut out).await?;
        }
        return Ok(());
    }
    if std::io::stdin().is_terminal() {
        interactive(&mut shell).await
    } else {
        let mut out = stdout.lock();
        let mut pending = String::new();
        for line in std::io::stdin().lock().lines() {
            let line = line.context("cannot read standard input")?;
            if let Step::Quit = shell.line(&mut pending, &line, &mut out).await {
                break;
            }
        }
        Ok(())
    }
}

/// A value from the command line.
fn value_of(format: JsonFormat, json: &Json) -> anyhow::Result<AttributeValue> {
    Ok(match format {
        JsonFormat::Plain => vjson::attribute_value_from_plain_json(json),
        JsonFormat::Dynamodb => vjson::attribute_value_from_json(json)?,
    })
}

/// The statement a `\n` continues.
struct Last {
    request: pb::ExecuteStatementRequest,
    next_token: Option<String>,
}

/// The shell's state: what it shows and where the last SELECT stopped.
pub struct Shell<'c> {
    client: &'c Client,
    output: Output,
    limit: Option<u32>,
    consistent: bool,
    last: Option<Last>,
    /// Say when a page has more (in the shell; a single statement prints its token on
    /// standard error instead).
    hints: bool,
}

/// What the loop does after a line.
pub enum Step {
    Continue,
    Quit,
}

impl Shell<'_> {
    /// One line of input: a command, or part of a statement (run once it ends with `;`).
    /// Errors are printed, and the shell goes on.
    pub async fn line(&mut self, pending: &mut String, line: &str, out: &mut impl Write) -> Step {
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('\\') {
            return match self.command(trimmed, out).await {
                Ok(step) => step,
                Err(e) => {
                    let _ = writeln!(out, "error: {e:#}");
                    Step::Continue
                }
            };
        }
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(line);
        if !trimmed.ends_with(';') {
            return Step::Continue;
        }
        let statement = std::mem::take(pending);
        let statement = statement.trim().trim_end_matches(';').trim();
        if !statement.is_empty() {
            if let Err(e) = self.statement(statement, Vec::new(), out).await {
                let _ = writeln!(out, "error: {e:#}");
            }
        }
        Step::Continue
    }

    async fn command(&mut self, command: &str, out: &mut impl Write) -> anyhow::Result<Step> {
        let mut words = command.split_whitespace();
        match (words.next(), words.next()) {
            (Some("\\q" | "\\quit"), _) => return Ok(Step::Quit),
            (Some("\\n" | "\\next"), _) => self.next_page(out).await?,
            (Some("\\dt"), _) => {
                for name in crate::table::list(self.client).await? {
                    writeln!(out, "{name}")?;
                }
            }
            (Some("\\d"), Some(table)) => {
                let description = crate::table::describe(self.client, table).await?;
                let json = crate::table::description_json(&description);
                writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
            }
            (Some("\\o"), Some(format)) => {
                self.output = Output::from_str(format, true).map_err(|_| {
                    anyhow::anyhow!("unknown output {format:?}: table, json or dynamodb")
                })?;
            }
            _ => writeln!(
                out,
                "commands: \\d TABLE, \\dt, \\n (next page), \\o table|json|dynamodb, \\q"
            )?,
        }
        Ok(Step::Continue)
    }

    /// Runs a statement and shows its first page.
    pub async fn statement(
        &mut self,
        statement: &str,
        parameters: Vec<AttributeValue>,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let request = pb::ExecuteStatementRequest {
            statement: statement.to_string(),
            parameters,
            consistent_read: self.consistent.then_some(true),
            limit: self.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)),
            ..Default::default()
        };
        self.last = None;
        self.page(request, out).await
    }

    /// The next page of the last SELECT.
    async fn next_page(&mut self, out: &mut impl Write) -> anyhow::Result<()> {
        let Some(Last {
            mut request,
            next_token: Some(token),
        }) = self.last.take()
        else {
            writeln!(out, "(no more pages)")?;
            return Ok(());
        };
        request.next_token = Some(token);
        self.page(request, out).await
    }

    async fn page(
        &mut self,
        request: pb::ExecuteStatementRequest,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let response = self
            .client
            .grpc()
            .execute_statement(request.clone())
            .await
            .map_err(|s| transport_or_service(keyfall::Error::from_status(s)))?
            .into_inner();
        let items: Vec<Item> = response.items.into_iter().map(|m| m.values).collect();
        write_items(self.output, &items, out)?;
        match (&response.next_token, self.hints) {
            (Some(_), true) => writeln!(out, "(more: \\n for the next page)")?,
            (Some(token), false) => eprintln!("next token: {token}"),
            (None, _) => {}
        }
        self.last = Some(Last {
            request,
            next_token: response.next_token,
        });
        Ok(())
    }
}

/// Items as the output asks: a table with a column per attribute (in order of first
/// appearance), or JSON lines.
pub fn write_items(output: Output, items: &[Item], out: &mut impl Write) -> anyhow::Result<()> {
    match output {
        Output::Json | Output::Dynamodb => {
            for item in items {
                let json = match output {
                    Output::Json => vjson::item_to_plain_json(item),
                    _ => vjson::item_to_json(item),
                };
                writeln!(out, "{json}")?;
            }
        }
        Output::Table => {
            if items.is_empty() {
                writeln!(out, "(no items)")?;
                return Ok(());
            }
            let mut columns: Vec<&String> = Vec::new();
            for item in items {
                let mut names: Vec<&String> = item.keys().collect();
                names.sort();
                for n in names {
                    if !columns.contains(&n) {
                        columns.push(n);
                    }
                }
            }
            let mut table = comfy_table::Table::new();
            table.load_style(comfy_table::presets::ASCII_MARKDOWN);
            table.set_header(columns.iter().map(|c| c.as_str()));
            for item in items {
                table.add_row(columns.iter().map(|c| match item.get(*c) {
                    None => String::new(),
                    Some(v) => match vjson::attribute_value_to_plain_json(v) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    },
                }));
            }
            writeln!(out, "{table}")?;
            writeln!(
                out,
                "({} item{})",
                items.len(),
                if items.len() == 1 { "" } else { "s" }
            )?;
        }
    }
    Ok(())
}

/// The terminal shell: rustyline's editing and history (`~/.keyfall_history`).
async fn interactive(shell: &mut Shell<'_>) -> anyhow::Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().context("cannot open the terminal")?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".keyfall_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut pending = String::new();
    println!("keyfall sql: end statements with ;  \\? for help, \\q to quit");
    loop {
        let prompt = if pending.is_empty() {
            "keyfall> "
        } else {
            "     ... "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let mut out = std::io::stdout().lock();
                if let Step::Quit = shell.line(&mut pending, &line, &mut out).await {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read the terminal"),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}
