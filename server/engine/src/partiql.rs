//! PartiQL's ExecuteStatement: the statement planned on the key schema of the table or
//! index it names (`keyfall_types::partiql::plan`, the same function authorization
//! plans it with), then run as the single-item action, Query or Scan it stands for.

use keyfall_types::partiql::{self, ExecuteStatement, KeyNames, NextToken, Plan, Statement};

use crate::error::{Error, Result};
use crate::types::{ConsumedCapacity, ExecuteStatementOutput};
use crate::Engine;

impl Engine {
    /// The key attribute names of a table, or of one of its indexes: `None` when either
    /// does not exist.
    pub fn key_names(&self, table: &str, index: Option<&str>) -> Option<KeyNames> {
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

    /// Plans a statement on the schema of what it names, with DynamoDB's errors for a
    /// missing table or index.
    pub fn plan_statement(&self, cmd: &ExecuteStatement) -> Result<Plan> {
        let (table, index) = match &cmd.statement {
            Statement::Select(s) | Statement::Exists(s) => (s.table.as_str(), s.index.as_deref()),
            other => (other.table(), None),
        };
        if self.item_table_named(table).is_err() {
            return Err(Error::ResourceNotFound(
                "Requested resource not found".into(),
            ));
        }
        let Some(keys) = self.key_names(table, index) else {
            return Err(Error::validation(
                "The table does not have the specified index",
            ));
        };
        partiql::plan(cmd, Some(keys))
    }

    pub fn execute_statement(&self, cmd: ExecuteStatement) -> Result<ExecuteStatementOutput> {
        let plan = self.plan_statement(&cmd)?;
        let paths = match &cmd.statement {
            Statement::Select(s) => s.projection.clone(),
            _ => None,
        };
        let row = |item| partiql::row(item, paths.as_deref());
        let mut out = ExecuteStatementOutput::default();
        match plan {
            Plan::Get(get) => {
                let got = self.get_item(get)?;
                out.items = got.item.map(row).into_iter().collect();
                out.consumed_capacity = got.consumed_capacity;
            }
            Plan::Query { queries, first } => {
                let mut remaining = cmd.limit;
                for (i, mut query) in queries.into_iter().enumerate().skip(first) {
                    query.page.limit = remaining;
                    let page = self.query(query)?;
                    out.consumed_capacity = add(out.consumed_capacity, page.consumed_capacity);
                    out.items
                        .extend(page.items.unwrap_or_default().into_iter().map(row));
                    if let Some(key) = page.last_evaluated_key {
                        out.next_token = Some(
                            NextToken {
                                query: i,
                                key: Some(key.clone()),
                            }
                            .encode(),
                        );
                        out.last_evaluated_key = Some(key);
                        break;
                    }
                    if let Some(r) = &mut remaining {
                        *r = r.saturating_sub(usize::try_from(page.scanned_count).unwrap_or(0));
                        if *r == 0 {
                            // Out of Limit between partitions: the next page starts with the
                            // next one.
                            out.next_token = Some(
                                NextToken {
                                    query: i + 1,
                                    key: None,
                                }
                                .encode(),
                            );
                            break;
                        }
                    }
                }
            }
            Plan::Scan(scan) => {
                let page = self.scan(scan)?;
                out.consumed_capacity = page.consumed_capacity;
                out.items = page
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .map(row)
                    .collect();
                if let Some(key) = page.last_evaluated_key {
                    out.next_token = Some(
                        NextToken {
                            query: 0,
                            key: Some(key.clone()),
                        }
                        .encode(),
                    );
                    out.last_evaluated_key = Some(key);
                }
            }
            Plan::Put(put) => {
                let done = self.put_item(put).map_err(|e| match e {
                    // INSERT's own condition: the key must be new.
                    Error::ConditionalCheckFailed { .. } => Error::Other {
                        name: "DuplicateItemException",
                        message: "Duplicate primary key exists in table".into(),
                    },
                    other => other,
                })?;
                out.consumed_capacity = done.consumed_capacity;
            }
            Plan::Update(update) => {
                let done = self.update_item(update)?;
                out.items = done.attributes.into_iter().collect();
                out.consumed_capacity = done.consumed_capacity;
            }
            Plan::Delete(delete) => {
                let done = self.delete_item(delete)?;
                out.items = done.attributes.into_iter().collect();
                out.consumed_capacity = done.consumed_capacity;
            }
            Plan::Check { .. } => {
                return Err(Error::validation(
                    "EXISTS can only be used in ExecuteTransaction write requests.",
                ))
            }
        }
        Ok(out)
    }
}

/// Two answers' consumed capacity as one.
fn add(a: Option<ConsumedCapacity>, b: Option<ConsumedCapacity>) -> Option<ConsumedCapacity> {
    let (mut a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (a, b) => return a.or(b),
    };
    let sum = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
    };
    a.capacity_units += b.capacity_units;
    a.read_capacity_units = sum(a.read_capacity_units, b.read_capacity_units);
    a.write_capacity_units = sum(a.write_capacity_units, b.write_capacity_units);
    let cap = |x: &mut crate::types::Capacity, y: &crate::types::Capacity| {
        x.capacity_units += y.capacity_units;
        x.read_capacity_units = sum(x.read_capacity_units, y.read_capacity_units);
        x.write_capacity_units = sum(x.write_capacity_units, y.write_capacity_units);
    };
    match (&mut a.table, &b.table) {
        (Some(x), Some(y)) => cap(x, y),
        (None, Some(y)) => a.table = Some(y.clone()),
        _ => {}
    }
    for (mine, theirs) in [
        (&mut a.global_secondary_indexes, &b.global_secondary_indexes),
        (&mut a.local_secondary_indexes, &b.local_secondary_indexes),
    ] {
        for (name, y) in theirs.iter().flatten() {
            let m = mine.get_or_insert_with(Default::default);
            match m.get_mut(name) {
                Some(x) => cap(x, y),
                None => {
                    m.insert(name.clone(), y.clone());
                }
            }
        }
    }
    Some(a)
}
