//! Key schemas of the tables the proxy serves, learned from the server (DescribeTable) on
//! first use and forgotten when the proxy sees the table change. They give the cache its
//! item keys and the authorizer its `dynamodb:LeadingKeys`.

use std::collections::HashMap;
use std::sync::Arc;

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

    /// The table's schema, fetched once. None when the table does not exist (the request
    /// then goes upstream and fails there with the server's error).
    pub async fn schema(&self, table: &str) -> Option<Arc<TableSchema>> {
        if let Some(s) = self.tables.read().get(table) {
            return Some(s.clone());
        }
        let t = self
            .upstream
            .clone()
            .describe_table(pb::DescribeTableRequest {
                table_name: table.to_string(),
            })
            .await
            .ok()?
            .into_inner()
            .table?;
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
        let name: Arc<str> = Arc::from(table);
        let schema = Arc::new(TableSchema {
            table: name.clone(),
            key: key_names(&t.key_schema)?,
            indexes,
            stream_arn: t.latest_stream_arn,
        });
        self.tables.write().insert(name, schema.clone());
        Some(schema)
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
