//! The table facts authorization reads ([`Schemas`]: key names, ARNs), answered by the
//! engine's catalog. Implemented here, where the API meets the engine, so neither
//! `keyfall-auth` nor `keyfall-engine` names the other (hence the wrapper).

use crate::auth::checks::Schemas;
use crate::engine::Engine;

/// The engine, as authorization sees it.
pub struct EngineSchemas<'a>(pub &'a Engine);

impl Schemas for EngineSchemas<'_> {
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)> {
        self.0.key_names(table, index)
    }

    fn table_arn(&self, table: &str) -> String {
        self.0.table_arn(table)
    }

    fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String> {
        self.0.stream_arn_of_iterator(iterator)
    }

    fn stream_arn(&self, table: &str) -> Option<String> {
        let t = self.0.table_by_name(table)?;
        let label = &t.meta.stream.as_ref()?.label;
        Some(format!("{}/stream/{label}", self.0.table_arn(table)))
    }
}
