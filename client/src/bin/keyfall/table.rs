//! `keyfall table ...`: create, describe, list and delete tables.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Subcommand;
use keyfall::proto::v1 as pb;
use keyfall::Client;
use serde_json::{json, Map, Value as Json};

use crate::{call_error, Lines};

#[derive(Subcommand)]
pub enum TableCommand {
    /// Creates an on-demand (PAY_PER_REQUEST) table, waits until it is ACTIVE and prints
    /// its description.
    Create {
        /// The new table's name.
        name: String,
        /// The partition key: `NAME:TYPE`, TYPE one of S, N, B.
        #[arg(long, value_name = "NAME:TYPE", value_parser = parse_key)]
        pk: KeyAttribute,
        /// The sort key: `NAME:TYPE`.
        #[arg(long, value_name = "NAME:TYPE", value_parser = parse_key)]
        sk: Option<KeyAttribute>,
        /// A global secondary index projecting all attributes:
        /// `INDEX:PK:TYPE` or `INDEX:PK:TYPE:SK:TYPE`. Repeatable.
        #[arg(long = "gsi", value_name = "INDEX:PK:TYPE[:SK:TYPE]", value_parser = parse_gsi)]
        gsis: Vec<IndexSpec>,
        /// Enables the table's stream with this view type.
        #[arg(
            long,
            value_name = "VIEW_TYPE",
            ignore_case = true,
            value_parser = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
        )]
        stream: Option<String>,
        /// Enables time to live on this attribute (epoch seconds, type N).
        #[arg(long, value_name = "ATTRIBUTE")]
        ttl: Option<String>,
    },
    /// Prints the table's description as JSON (`{"Table": {...}}`).
    Describe {
        /// The table's name.
        name: String,
    },
    /// Prints the table names, one per line.
    List,
    /// Deletes the table and all its items.
    Delete {
        /// The table's name.
        name: String,
    },
}

#[derive(Clone, Debug)]
pub struct KeyAttribute {
    name: String,
    kind: String,
}

#[derive(Clone, Debug)]
pub struct IndexSpec {
    name: String,
    pk: KeyAttribute,
    sk: Option<KeyAttribute>,
}

fn scalar_type(text: &str) -> Result<String, String> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "S" | "N" | "B" => Ok(upper),
        _ => Err(format!("key type {text:?} is not S, N or B")),
    }
}

fn parse_key(text: &str) -> Result<KeyAttribute, String> {
    let (name, kind) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not NAME:TYPE (e.g. pk:S)"))?;
    if name.is_empty() {
        return Err(format!("{text:?} has no attribute name"));
    }
    Ok(KeyAttribute {
        name: name.to_string(),
        kind: scalar_type(kind)?,
    })
}

fn parse_gsi(text: &str) -> Result<IndexSpec, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let key = |name: &str, kind: &str| -> Result<KeyAttribute, String> {
        if name.is_empty() {
            return Err(format!("{text:?} has an empty attribute name"));
        }
        Ok(KeyAttribute {
            name: name.to_string(),
            kind: scalar_type(kind)?,
        })
    };
    let (name, pk, sk) = match parts.as_slice() {
        [name, pk, pk_type] => (name, key(pk, pk_type)?, None),
        [name, pk, pk_type, sk, sk_type] => (name, key(pk, pk_type)?, Some(key(sk, sk_type)?)),
        _ => {
            return Err(format!(
                "{text:?} is not INDEX:PK:TYPE or INDEX:PK:TYPE:SK:TYPE"
            ))
        }
    };
    if name.is_empty() {
        return Err(format!("{text:?} has no index name"));
    }
    Ok(IndexSpec {
        name: name.to_string(),
        pk,
        sk,
    })
}

fn key_schema(pk: &KeyAttribute, sk: Option<&KeyAttribute>) -> Vec<pb::KeySchemaElement> {
    std::iter::once((pk, "HASH"))
        .chain(sk.map(|sk| (sk, "RANGE")))
        .map(|(attribute, key_type)| pb::KeySchemaElement {
            attribute_name: attribute.name.clone(),
            key_type: key_type.to_string(),
        })
        .collect()
}

pub async fn run(client: &Client, command: TableCommand) -> anyhow::Result<()> {
    let mut grpc = client.grpc();
    let mut out = Lines::new();
    match command {
        TableCommand::Create {
            name,
            pk,
            sk,
            gsis,
            stream,
            ttl,
        } => {
            let mut definitions: Vec<pb::AttributeDefinition> = Vec::new();
            let keys = std::iter::once(&pk).chain(sk.as_ref()).chain(
                gsis.iter()
                    .flat_map(|g| std::iter::once(&g.pk).chain(g.sk.as_ref())),
            );
            for key in keys {
                match definitions.iter().find(|d| d.attribute_name == key.name) {
                    Some(d) if d.attribute_type != key.kind => bail!(
                        "attribute {:?} is declared as both {} and {}",
                        key.name,
                        d.attribute_type,
                        key.kind
                    ),
                    Some(_) => {}
                    None => definitions.push(pb::AttributeDefinition {
                        attribute_name: key.name.clone(),
                        attribute_type: key.kind.clone(),
                    }),
                }
            }
            let request = pb::CreateTableRequest {
                table_name: name.clone(),
                attribute_definitions: definitions,
                key_schema: key_schema(&pk, sk.as_ref()),
                global_secondary_indexes: gsis
                    .iter()
                    .map(|g| pb::GlobalSecondaryIndex {
                        index_name: g.name.clone(),
                        key_schema: key_schema(&g.pk, g.sk.as_ref()),
                        projection: Some(pb::Projection {
                            projection_type: Some("ALL".into()),
                            non_key_attributes: vec![],
                        }),
                        ..Default::default()
                    })
                    .collect(),
                billing_mode: Some("PAY_PER_REQUEST".into()),
                stream_specification: stream.map(|view| pb::StreamSpecification {
                    stream_enabled: true,
                    stream_view_type: Some(view.to_ascii_uppercase()),
                }),
                ..Default::default()
            };
            grpc.create_table(request).await.map_err(call_error)?;
            let mut description = wait_until_active(client, &name).await?;
            if let Some(attribute) = ttl {
                grpc.update_time_to_live(pb::UpdateTimeToLiveRequest {
                    table_name: name.clone(),
                    time_to_live_specification: Some(pb::TimeToLiveSpecification {
                        enabled: true,
                        attribute_name: attribute,
                    }),
                })
                .await
                .map_err(call_error)
                .context("the table was created, but enabling time to live failed")?;
                description = describe(client, &name).await?;
            }
            out.write_pretty(&json!({ "TableDescription": description_json(&description) }))?;
        }
        TableCommand::Describe { name } => {
            let description = describe(client, &name).await?;
            out.write_pretty(&json!({ "Table": description_json(&description) }))?;
        }
        TableCommand::List => {
            for name in list(client).await? {
                out.write_text(&name)?;
            }
        }
        TableCommand::Delete { name } => {
            grpc.delete_table(pb::DeleteTableRequest { table_name: name })
                .await
                .map_err(call_error)?;
        }
    }
    out.finish()
}

/// Every table's name, following ListTables' pages.
pub async fn list(client: &Client) -> anyhow::Result<Vec<String>> {
    let (mut names, mut start) = (Vec::new(), None);
    loop {
        let page = client
            .grpc()
            .list_tables(pb::ListTablesRequest {
                exclusive_start_table_name: start,
                limit: None,
            })
            .await
            .map_err(call_error)?
            .into_inner();
        let more = !page.table_names.is_empty();
        names.extend(page.table_names);
        match page.last_evaluated_table_name {
            Some(last) if more => start = Some(last),
            _ => return Ok(names),
        }
    }
}

/// DescribeTable's description of the table.
pub async fn describe(client: &Client, name: &str) -> anyhow::Result<pb::TableDescription> {
    client
        .grpc()
        .describe_table(pb::DescribeTableRequest {
            table_name: name.to_string(),
        })
        .await
        .map_err(call_error)?
        .into_inner()
        .table
        .with_context(|| format!("the server sent no description of {name}"))
}

async fn wait_until_active(client: &Client, name: &str) -> anyhow::Result<pb::TableDescription> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(20);
    loop {
        let description = describe(client, name).await?;
        if description.table_status.as_deref() == Some("ACTIVE") {
            return Ok(description);
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!(
                "table {name} is still {} after 5 minutes",
                description.table_status.as_deref().unwrap_or("not ACTIVE")
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// The description in the shape of DynamoDB's JSON API (`aws dynamodb describe-table`),
/// leaving out absent members.
pub fn description_json(table: &pb::TableDescription) -> Json {
    let mut out = Map::new();
    put(
        &mut out,
        "TableName",
        table.table_name.as_ref().map(|v| json!(v)),
    );
    put(
        &mut out,
        "TableStatus",
        table.table_status.as_ref().map(|v| json!(v)),
    );
    put(
        &mut out,
        "TableArn",
        table.table_arn.as_ref().map(|v| json!(v)),
    );
    put(
        &mut out,
        "TableId",
        table.table_id.as_ref().map(|v| json!(v)),
    );
    put(
        &mut out,
        "CreationDateTime",
        table.creation_date_time.map(|v| json!(v)),
    );
    out.insert("KeySchema".into(), key_schema_json(&table.key_schema));
    out.insert(
        "AttributeDefinitions".into(),
        Json::Array(
            table
                .attribute_definitions
                .iter()
                .map(|d| json!({"AttributeName": d.attribute_name, "AttributeType": d.attribute_type}))
                .collect(),
        ),
    );
    put(&mut out, "ItemCount", table.item_count.map(|v| json!(v)));
    put(
        &mut out,
        "TableSizeBytes",
        table.table_size_bytes.map(|v| json!(v)),
    );
    if let Some(billing) = &table.billing_mode_summary {
        let mut summary = Map::new();
        put(
            &mut summary,
            "BillingMode",
            billing.billing_mode.as_ref().map(|v| json!(v)),
        );
        out.insert("BillingModeSummary".into(), Json::Object(summary));
    }
    if let Some(throughput) = &table.provisioned_throughput {
        let mut t = Map::new();
        put(
            &mut t,
            "ReadCapacityUnits",
            throughput.read_capacity_units.map(|v| json!(v)),
        );
        put(
            &mut t,
            "WriteCapacityUnits",
            throughput.write_capacity_units.map(|v| json!(v)),
        );
        out.insert("ProvisionedThroughput".into(), Json::Object(t));
    }
    if !table.global_secondary_indexes.is_empty() {
        let indexes = table.global_secondary_indexes.iter().map(|index| {
            let mut i = Map::new();
            put(
                &mut i,
                "IndexName",
                index.index_name.as_ref().map(|v| json!(v)),
            );
            i.insert("KeySchema".into(), key_schema_json(&index.key_schema));
            put(
                &mut i,
                "Projection",
                index.projection.as_ref().map(projection_json),
            );
            put(
                &mut i,
                "IndexStatus",
                index.index_status.as_ref().map(|v| json!(v)),
            );
            put(&mut i, "Backfilling", index.backfilling.map(|v| json!(v)));
            put(&mut i, "ItemCount", index.item_count.map(|v| json!(v)));
            put(
                &mut i,
                "IndexSizeBytes",
                index.index_size_bytes.map(|v| json!(v)),
            );
            put(
                &mut i,
                "IndexArn",
                index.index_arn.as_ref().map(|v| json!(v)),
            );
            Json::Object(i)
        });
        out.insert(
            "GlobalSecondaryIndexes".into(),
            Json::Array(indexes.collect()),
        );
    }
    if !table.local_secondary_indexes.is_empty() {
        let indexes = table.local_secondary_indexes.iter().map(|index| {
            let mut i = Map::new();
            put(
                &mut i,
                "IndexName",
                index.index_name.as_ref().map(|v| json!(v)),
            );
            i.insert("KeySchema".into(), key_schema_json(&index.key_schema));
            put(
                &mut i,
                "Projection",
                index.projection.as_ref().map(projection_json),
            );
            put(&mut i, "ItemCount", index.item_count.map(|v| json!(v)));
            put(
                &mut i,
                "IndexSizeBytes",
                index.index_size_bytes.map(|v| json!(v)),
            );
            put(
                &mut i,
                "IndexArn",
                index.index_arn.as_ref().map(|v| json!(v)),
            );
            Json::Object(i)
        });
        out.insert(
            "LocalSecondaryIndexes".into(),
            Json::Array(indexes.collect()),
        );
    }
    if let Some(stream) = &table.stream_specification {
        let mut s = Map::new();
        s.insert("StreamEnabled".into(), json!(stream.stream_enabled));
        put(
            &mut s,
            "StreamViewType",
            stream.stream_view_type.as_ref().map(|v| json!(v)),
        );
        out.insert("StreamSpecification".into(), Json::Object(s));
    }
    put(
        &mut out,
        "LatestStreamArn",
        table.latest_stream_arn.as_ref().map(|v| json!(v)),
    );
    put(
        &mut out,
        "LatestStreamLabel",
        table.latest_stream_label.as_ref().map(|v| json!(v)),
    );
    if let Some(class) = table
        .table_class_summary
        .as_ref()
        .and_then(|c| c.table_class.as_ref())
    {
        out.insert("TableClassSummary".into(), json!({ "TableClass": class }));
    }
    put(
        &mut out,
        "DeletionProtectionEnabled",
        table.deletion_protection_enabled.map(|v| json!(v)),
    );
    Json::Object(out)
}

fn put(object: &mut Map<String, Json>, name: &str, value: Option<Json>) {
    if let Some(value) = value {
        object.insert(name.to_string(), value);
    }
}

fn key_schema_json(schema: &[pb::KeySchemaElement]) -> Json {
    Json::Array(
        schema
            .iter()
            .map(|k| json!({"AttributeName": k.attribute_name, "KeyType": k.key_type}))
            .collect(),
    )
}

fn projection_json(projection: &pb::Projection) -> Json {
    let mut p = Map::new();
    put(
        &mut p,
        "ProjectionType",
        projection.projection_type.as_ref().map(|v| json!(v)),
    );
    if !projection.non_key_attributes.is_empty() {
        p.insert(
            "NonKeyAttributes".into(),
            json!(projection.non_key_attributes),
        );
    }
    Json::Object(p)
}
