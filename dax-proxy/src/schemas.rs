//! Key schemas of the tables the proxy caches, learned from the server (DescribeTable) on
//! first use and forgotten when the proxy sees the table change.

use std::collections::HashMap;
use std::sync::Arc;

use keyfall_proto::v1 as pb;
use parking_lot::RwLock;

use crate::keys::KeyNames;
use crate::Upstream;

pub struct Schemas {
    upstream: Upstream,
    names: RwLock<HashMap<Arc<str>, KeyNames>>,
}

impl Schemas {
    pub fn new(upstream: Upstream) -> Schemas {
        Schemas {
            upstream,
            names: RwLock::new(HashMap::new()),
        }
    }

    /// None when the table does not exist (the request then goes upstream and fails there).
    pub async fn names(&self, table: &Arc<str>) -> Option<KeyNames> {
        if let Some(n) = self.names.read().get(table) {
            return Some(n.clone());
        }
        let out = self
            .upstream
            .clone()
            .describe_table(pb::DescribeTableRequest {
                table_name: table.to_string(),
            })
            .await
            .ok()?
            .into_inner();
        let schema = out.table?.key_schema;
        let find = |kind: &str| {
            schema
                .iter()
                .find(|k| k.key_type == kind)
                .map(|k| k.attribute_name.clone())
        };
        let names = KeyNames {
            partition: find("HASH")?,
            sort: find("RANGE"),
        };
        self.names.write().insert(table.clone(), names.clone());
        Some(names)
    }

    pub fn forget(&self, table: &str) {
        self.names.write().remove(table);
    }
}
