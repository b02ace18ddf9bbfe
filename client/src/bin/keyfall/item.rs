//! `keyfall item ...`: single-item reads and writes, queries and scans.

use anyhow::bail;
use clap::{Args, Subcommand};
use keyfall::proto::v1 as pb;
use keyfall::{Client, Item};

use crate::{call_error, json_argument, JsonFormat, Lines, Placeholders};

#[derive(Subcommand)]
pub enum ItemCommand {
    /// Writes an item, replacing any item with the same key.
    Put {
        /// The table's name.
        table: String,
        /// The item: JSON text, `@FILE` or `@-`.
        item: String,
        /// Only write if this condition holds for the current item.
        #[arg(long)]
        condition: Option<String>,
        #[command(flatten)]
        placeholders: Placeholders,
        #[command(flatten)]
        input: Input,
    },
    /// Prints the item with this key (exit status 1 if there is none).
    Get {
        /// The table's name.
        table: String,
        /// The key: JSON text, `@FILE` or `@-`.
        key: String,
        /// Strongly consistent read.
        #[arg(long)]
        consistent: bool,
        /// Only these attributes (a projection expression).
        #[arg(long)]
        projection: Option<String>,
        /// Expression attribute names, as a JSON object: `{"#n": "name"}`.
        #[arg(long)]
        names: Option<String>,
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        output: Output,
    },
    /// Deletes the item with this key (nothing happens if there is none).
    Delete {
        /// The table's name.
        table: String,
        /// The key: JSON text, `@FILE` or `@-`.
        key: String,
        /// Only delete if this condition holds for the current item.
        #[arg(long)]
        condition: Option<String>,
        #[command(flatten)]
        placeholders: Placeholders,
        #[command(flatten)]
        input: Input,
    },
    /// Prints the items of one partition, one JSON document per line, following every page.
    Query {
        /// The table's name.
        table: String,
        /// E.g. `pk = :p AND begins_with(sk, :prefix)`.
        #[arg(long)]
        key_condition: String,
        #[command(flatten)]
        reads: ReadArgs,
        /// Newest (highest sort key) first.
        #[arg(long)]
        descending: bool,
    },
    /// Prints every item of the table (or index), one JSON document per line.
    Scan {
        /// The table's name.
        table: String,
        #[command(flatten)]
        reads: ReadArgs,
    },
}

/// The input format of item, key and `--values` arguments.
#[derive(Args, Debug)]
pub struct Input {
    /// How items, keys and `--values` are written.
    #[arg(long, value_enum, default_value_t = JsonFormat::Plain)]
    json_format: JsonFormat,
}

/// The output format of items.
#[derive(Args, Debug)]
pub struct Output {
    /// How items are printed.
    #[arg(long, value_enum, default_value_t = JsonFormat::Plain)]
    output: JsonFormat,
}

/// Options shared by query and scan.
#[derive(Args, Debug)]
pub struct ReadArgs {
    /// Only print items for which this holds.
    #[arg(long)]
    filter: Option<String>,
    /// Only these attributes (a projection expression).
    #[arg(long)]
    projection: Option<String>,
    /// Read a secondary index instead of the table.
    #[arg(long)]
    index: Option<String>,
    /// Print at most this many items.
    #[arg(long)]
    limit: Option<usize>,
    /// Strongly consistent reads.
    #[arg(long)]
    consistent: bool,
    #[command(flatten)]
    placeholders: Placeholders,
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    output: Output,
}

fn key_argument(text: &str, format: JsonFormat) -> anyhow::Result<Item> {
    let key = format.item(&json_argument(text, "the key")?)?;
    if key.is_empty() {
        bail!("the key is empty: give the table's key attributes, e.g. {{\"pk\": \"a\"}}");
    }
    Ok(key)
}

pub async fn run(client: &Client, command: ItemCommand) -> anyhow::Result<()> {
    let mut grpc = client.grpc();
    let mut out = Lines::new();
    match command {
        ItemCommand::Put {
            table,
            item,
            condition,
            placeholders,
            input,
        } => {
            let item = input.json_format.item(&json_argument(&item, "the item")?)?;
            grpc.put_item(pb::PutItemRequest {
                table_name: table,
                item,
                condition_expression: condition,
                expression_attribute_names: placeholders.names()?,
                expression_attribute_values: placeholders.values(input.json_format)?,
                ..Default::default()
            })
            .await
            .map_err(call_error)?;
        }
        ItemCommand::Get {
            table,
            key,
            consistent,
            projection,
            names,
            input,
            output,
        } => {
            let names = Placeholders {
                values: None,
                names,
            }
            .names()?;
            let item = grpc
                .get_item(pb::GetItemRequest {
                    table_name: table,
                    key: key_argument(&key, input.json_format)?,
                    consistent_read: consistent.then_some(true),
                    projection_expression: projection,
                    expression_attribute_names: names,
                    ..Default::default()
                })
                .await
                .map_err(call_error)?
                .into_inner()
                .item;
            if item.is_empty() {
                bail!("no item with that key");
            }
            out.write(&output.output.render(&item))?;
        }
        ItemCommand::Delete {
            table,
            key,
            condition,
            placeholders,
            input,
        } => {
            grpc.delete_item(pb::DeleteItemRequest {
                table_name: table,
                key: key_argument(&key, input.json_format)?,
                condition_expression: condition,
                expression_attribute_names: placeholders.names()?,
                expression_attribute_values: placeholders.values(input.json_format)?,
                ..Default::default()
            })
            .await
            .map_err(call_error)?;
        }
        ItemCommand::Query {
            table,
            key_condition,
            reads,
            descending,
        } => {
            let mut request = pb::QueryRequest {
                table_name: table,
                index_name: reads.index.clone(),
                key_condition_expression: Some(key_condition),
                filter_expression: reads.filter.clone(),
                projection_expression: reads.projection.clone(),
                expression_attribute_names: reads.placeholders.names()?,
                expression_attribute_values: reads.placeholders.values(reads.input.json_format)?,
                consistent_read: reads.consistent.then_some(true),
                scan_index_forward: descending.then_some(false),
                ..Default::default()
            };
            let mut remaining = reads.limit;
            while remaining != Some(0) {
                request.limit = remaining.map(page_limit);
                let page = grpc
                    .query(request.clone())
                    .await
                    .map_err(call_error)?
                    .into_inner();
                print_page(&mut out, page.items, &mut remaining, reads.output.output)?;
                if page.last_evaluated_key.is_empty() {
                    break;
                }
                request.exclusive_start_key = page.last_evaluated_key;
            }
        }
        ItemCommand::Scan { table, reads } => {
            let mut request = pb::ScanRequest {
                table_name: table,
                index_name: reads.index.clone(),
                filter_expression: reads.filter.clone(),
                projection_expression: reads.projection.clone(),
                expression_attribute_names: reads.placeholders.names()?,
                expression_attribute_values: reads.placeholders.values(reads.input.json_format)?,
                consistent_read: reads.consistent.then_some(true),
                ..Default::default()
            };
            let mut remaining = reads.limit;
            while remaining != Some(0) {
                request.limit = remaining.map(page_limit);
                let page = grpc
                    .scan(request.clone())
                    .await
                    .map_err(call_error)?
                    .into_inner();
                print_page(&mut out, page.items, &mut remaining, reads.output.output)?;
                if page.last_evaluated_key.is_empty() {
                    break;
                }
                request.exclusive_start_key = page.last_evaluated_key;
            }
        }
    }
    out.finish()
}

/// The request `Limit` for a page when `remaining` items are still wanted. (DynamoDB counts
/// items evaluated, before the filter, so a filtered page may hold fewer.)
fn page_limit(remaining: usize) -> i32 {
    i32::try_from(remaining).unwrap_or(i32::MAX)
}

fn print_page(
    out: &mut Lines,
    items: Vec<pb::MapValue>,
    remaining: &mut Option<usize>,
    format: JsonFormat,
) -> anyhow::Result<()> {
    for item in items {
        if *remaining == Some(0) {
            break;
        }
        out.write(&format.render(&item.values))?;
        if let Some(n) = remaining.as_mut() {
            *n -= 1;
        }
    }
    Ok(())
}
