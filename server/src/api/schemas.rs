//! The table facts authorization reads ([`Schemas`]: key names, ARNs), answered by the
//! engine's catalog. Implemented here, where the API meets the engine, so neither
//! `keyfall-auth` nor the engine names the other.

use crate::auth::checks::Schemas;
use crate::engine::Engine;

impl Schemas for Engine {
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)> {
        let t = self.table_by_name(table)?;
        let schema = match index {
            None => &t.meta.key_schema,
            Some(i) => &t.meta.index(i)?.key_schema,
        };
        Some((
            schema.hash.name.clone(),
            schema.range.as_ref().map(|r| r.name.clone()),
        ))
    }

    fn table_arn(&self, table: &str) -> String {
        Engine::table_arn(self, table)
    }

    fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String> {
        Engine::stream_arn_of_iterator(self, iterator)
    }

    fn stream_arn(&self, table: &str) -> Option<String> {
        let t = self.table_by_name(table)?;
        let label = &t.meta.stream.as_ref()?.label;
        Some(format!("{}/stream/{label}", Engine::table_arn(self, table)))
    }
}
