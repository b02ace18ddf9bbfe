//! Key schemas of the tables the proxy serves, learned from the server (DescribeTable and
//! DescribeTimeToLive) on first use, forgotten when the proxy sees the table change and
//! learned again every [`REFRESH`] (a TTL enabled directly on the server is noticed within
//! that bound). They give the cache its item keys and TTL rule, and the authorizer its
//! `dynamodb:LeadingKeys`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyfall_proto::v1 as pb;
use parking_lot::RwLock;

use crate::keys::{self, ItemKey, KeyNames, ProtoItem};
use crate::Upstream;

pub struct TableSchema {
    /// The table's name, shared by the cache keys of its items (no allocation per read).
    pub table: Arc<str>,
    pub key: KeyNames,
    pub indexes: HashMap<String, KeyNames>,
    pub stream_arn: Option<String>,
    /// The TTL attribute while TTL is enabled: an item whose value for it is a number of
    /// epoch seconds not after now is invisible, as on the server (`TableMeta::is_expired`).
    pub ttl_attribute: Option<String>,
    fetched: Instant,
}

/// How long a learned schema (and TTL setting) is used before it is asked again.
pub const REFRESH: Duration = Duration::from_secs(5);

impl TableSchema {
    /// Whether `item` has expired under the table's TTL (server semantics).
    pub fn is_expired(&self, item: &ProtoItem) -> bool {
        let Some(attr) = &self.ttl_attribute else {
            return false;
        };
        match item.get(attr).and_then(|v| v.value.as_ref()) {
            Some(pb::attribute_value::Value::N(n)) => n.parse::<f64>().is_ok_and(|t| {
                t <= std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            }),
            _ => false,
        }
    }
}

/// Why a schema could not be learned.
pub enum Unknown {
    /// The server says the table does not exist.
    NoSuchTable,
    /// Anything else (unreachable, refused...).
    Unavailable,
}

pub struct Schemas {
    upstream: Upstream,
    tables: RwLock<HashMap<Arc<str>, Arc<TableSchema>>>,
}

fn key_names(schema: &[pb::KeySchemaElement]) -> Option<KeyNames> {
    let find = |kind: &str| {
        schema
            .iter()
            .find(|k| k.key_type == kind)
            .map(|k| k.attribute_name.clone())
    };
    Some(KeyNames {
        partition: find("HASH")?,
        sort: find("RANGE"),
    })
}

impl Schemas {
    pub fn new(upstream: Upstream) -> Schemas {
        Schemas {
            upstream,
            tables: RwLock::new(HashMap::new()),
        }
    }

    /// The table's schema, fetched once and refreshed every [`REFRESH`]. None when the
    /// table does not exist or cannot be described (the request then goes upstream and
    /// fails there with the server's error).
    pub async fn schema(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.lookup(table).await.ok()
    }

    /// [`Schemas::schema`], telling a missing table from a failure.
    pub async fn lookup(&self, table: &str) -> Result<Arc<TableSchema>, Unknown> {
        let known = self.tables.read().get(table).cloned();
        if let Some(s) = &known {
            if s.fetched.elapsed() < REFRESH {
                return Ok(s.clone());
            }
        }
        match self.fetch(table).await {
            Ok(schema) => {
                self.tables
                    .write()
                    .insert(schema.table.clone(), schema.clone());
                Ok(schema)
            }
            Err(Unknown::NoSuchTable) => {
                self.tables.write().remove(table);
                Err(Unknown::NoSuchTable)
            }
            // A refresh that fails keeps the last schema (its TTL setting included).
            Err(Unknown::Unavailable) => known.ok_or(Unknown::Unavailable),
        }
    }

    async fn fetch(&self, table: &str) -> Result<Arc<TableSchema>, Unknown> {
        let failed = |s: tonic::Status| match s.code() {
            tonic::Code::NotFound => Unknown::NoSuchTable,
            _ => Unknown::Unavailable,
        };
        let mut up = self.upstream.clone();
        let t = up
            .describe_table(pb::DescribeTableRequest {
                table_name: table.to_string(),
            })
            .await
            .map_err(failed)?
            .into_inner()
            .table
            .ok_or(Unknown::Unavailable)?;
        let ttl = up
            .describe_time_to_live(pb::DescribeTimeToLiveRequest {
                table_name: table.to_string(),
            })
            .await
            .map_err(failed)?
            .into_inner()
            .time_to_live_description
            .filter(|d| d.time_to_live_status.as_deref() == Some("ENABLED"))
            .and_then(|d| d.attribute_name);
        let mut indexes = HashMap::new();
        for (name, schema) in t
            .local_secondary_indexes
            .iter()
            .map(|i| (&i.index_name, &i.key_schema))
            .chain(
                t.global_secondary_indexes
                    .iter()
                    .map(|i| (&i.index_name, &i.key_schema)),
            )
        {
            if let (Some(name), Some(names)) = (name, key_names(schema)) {
                indexes.insert(name.clone(), names);
            }
        }
        Ok(Arc::new(TableSchema {
            table: Arc::from(table),
            key: key_names(&t.key_schema).ok_or(Unknown::Unavailable)?,
            indexes,
            stream_arn: t.latest_stream_arn,
            ttl_attribute: ttl,
            fetched: Instant::now(),
        }))
    }

    /// The cache key of `item` (a full item or just its key) in `table`; it borrows the
    /// schema's table name and key names.
    pub async fn item_key(&self, table: &str, item: &ProtoItem) -> Option<ItemKey> {
        let schema = self.schema(table).await?;
        keys::item_key(&schema.table, &schema.key, item)
    }

    /// A schema already fetched, without waiting.
    pub fn cached(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.tables.read().get(table).cloned()
    }

    pub fn forget(&self, table: &str) {
        self.tables.write().remove(table);
    }
}
