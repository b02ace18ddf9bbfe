//! PartiQL's ExecuteStatement: the statement planned on the key schema of the table or
//! index it names (`keyfall_types::partiql::plan`, the same function authorization
//! plans it with), then run as the single-item action, Query or Scan it stands for.

use std::collections::BTreeMap;

use keyfall_types::command::{
    PartAction, TransactGetItems, TransactGetPart, TransactPart, TransactWrite, TransactWriteItems,
};
use keyfall_types::partiql::multi::in_statement;
use keyfall_types::partiql::{
    self, BatchExecuteStatement, ExecuteStatement, ExecuteTransaction, KeyNames, Plan, Statement,
};

use crate::error::{Error, Result};
use crate::types::{
    BatchExecuteStatementOutput, BatchStatementError, BatchStatementResponse, ConsumedCapacity,
    ExecuteStatementOutput, ExecuteTransactionOutput, ItemResponse,
};
use crate::Engine;

/// The key attribute names of a table, or of one of its indexes (`None`: no such index).
fn key_names_of(table: &crate::catalog::Table, index: Option<&str>) -> Option<KeyNames> {
    let schema = match index {
        None => &table.meta.key_schema,
        Some(i) => &table.meta.index(i)?.key_schema,
    };
    Some((
        schema.hash.name.clone(),
        schema.range.as_ref().map(|r| r.name.clone()),
    ))
}

/// DynamoDB's answer to an INSERT whose key exists.
fn duplicate_item() -> Error {
    Error::Other {
        name: "DuplicateItemException",
        message: "Duplicate primary key exists in table".into(),
    }
}

impl Engine {
    /// The key attribute names of a table, or of one of its indexes: `None` when either
    /// does not exist.
    pub fn key_names(&self, table: &str, index: Option<&str>) -> Option<KeyNames> {
        key_names_of(&*self.table_by_name(table)?, index)
    }

    /// Plans a statement on the schema of what it names, with DynamoDB's errors for a
    /// missing table or index.
    pub fn plan_statement(&self, cmd: &ExecuteStatement) -> Result<Plan> {
        let (table, index) = cmd.statement.source();
        let table = self
            .item_table_named(table)
            .map_err(|_| Error::ResourceNotFound("Requested resource not found".into()))?;
        let Some(keys) = key_names_of(&table, index) else {
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
                let count = queries.len();
                for (i, mut query) in queries.into_iter().enumerate().skip(first) {
                    query.page.limit = remaining;
                    let page = self.query(query)?;
                    out.consumed_capacity = add(out.consumed_capacity, page.consumed_capacity);
                    out.items
                        .extend(page.items.unwrap_or_default().into_iter().map(row));
                    if let Some(key) = page.last_evaluated_key {
                        out.next_token = Some(cmd.next_token(i, Some(key.clone())));
                        out.last_evaluated_key = Some(key);
                        break;
                    }
                    if let Some(r) = &mut remaining {
                        *r = r.saturating_sub(usize::try_from(page.scanned_count).unwrap_or(0));
                        if *r == 0 {
                            // Out of Limit between partitions: the next page starts with the
                            // next one, if there is one.
                            if i + 1 < count {
                                out.next_token = Some(cmd.next_token(i + 1, None));
                            }
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
                    out.next_token = Some(cmd.next_token(0, Some(key.clone())));
                    out.last_evaluated_key = Some(key);
                }
            }
            Plan::Put(put) => {
                let done = self.put_item(put).map_err(|e| match e {
                    // INSERT's own condition: the key must be new.
                    Error::ConditionalCheckFailed { .. } => duplicate_item(),
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

impl Engine {
    /// A batch's statements, each run on its own as ExecuteStatement runs it; a statement's
    /// failure is its answer, the others still run. Reads must name one item by its key.
    pub fn batch_execute_statement(
        &self,
        cmd: BatchExecuteStatement,
    ) -> Result<BatchExecuteStatementOutput> {
        // Plans first: two statements on one item refuse the whole batch.
        let mut planned = Vec::with_capacity(cmd.statements.len());
        let mut items = std::collections::HashSet::new();
        for statement in cmd.statements {
            let plan = statement.and_then(|mut s| {
                s.capacity = cmd.capacity;
                let plan = self.plan_statement(&s)?;
                if s.statement.is_read() && !matches!(plan, Plan::Get(_)) {
                    return Err(Error::validation(
                        "Select statements within BatchExecuteStatement must specify the primary key in the where clause.",
                    ));
                }
                Ok((s, plan))
            });
            if let Ok((_, plan)) = &plan {
                if let Some(subject) = self.plan_subject(plan) {
                    if !items.insert(subject) {
                        return Err(Error::validation(
                            "Provided list of item keys contains duplicates",
                        ));
                    }
                }
            }
            planned.push(plan);
        }
        let mut out = BatchExecuteStatementOutput::default();
        let mut consumed: BTreeMap<String, ConsumedCapacity> = BTreeMap::new();
        for plan in planned {
            let response = match plan {
                Err(e) => BatchStatementResponse {
                    error: Some(statement_error(e)),
                    ..Default::default()
                },
                Ok((s, _)) => {
                    let table = s.statement.table().to_string();
                    match self.execute_statement(s) {
                        Ok(done) => {
                            if let Some(c) = done.consumed_capacity {
                                let merged = add(consumed.remove(&c.table_name), Some(c));
                                if let Some(c) = merged {
                                    consumed.insert(c.table_name.clone(), c);
                                }
                            }
                            BatchStatementResponse {
                                table_name: Some(table),
                                item: done.items.into_iter().next(),
                                error: None,
                            }
                        }
                        Err(e) => BatchStatementResponse {
                            table_name: Some(table),
                            error: Some(statement_error(e)),
                            item: None,
                        },
                    }
                }
            };
            out.responses.push(response);
        }
        if cmd.capacity != keyfall_types::command::ReturnCapacity::None && !consumed.is_empty() {
            out.consumed_capacity = Some(consumed.into_values().collect());
        }
        Ok(out)
    }

    /// A transaction of statements: all SELECTs (by whole key, as TransactGetItems reads)
    /// or all writes (INSERT, UPDATE, DELETE, EXISTS as TransactWriteItems' Put, Update,
    /// Delete and ConditionCheck), run by the transaction engine.
    pub fn execute_transaction(&self, cmd: ExecuteTransaction) -> Result<ExecuteTransactionOutput> {
        let reads = cmd.is_read();
        let mut plans = Vec::with_capacity(cmd.statements.len());
        for (i, s) in cmd.statements.iter().enumerate() {
            if let Statement::Select(sel) = &s.statement {
                if sel.index.is_some() {
                    return Err(in_statement(
                        i,
                        Error::validation(
                            "Reads on indices are not supported within transactions.",
                        ),
                    ));
                }
            }
            let plan = self.plan_statement(s).map_err(|e| in_statement(i, e))?;
            if reads && !matches!(plan, Plan::Get(_)) {
                return Err(in_statement(
                    i,
                    Error::validation(
                        "Select statements within ExecuteTransaction must specify the primary key in the where clause.",
                    ),
                ));
            }
            plans.push(plan);
        }
        if reads {
            let paths: Vec<_> = cmd
                .statements
                .iter()
                .map(|s| match &s.statement {
                    Statement::Select(sel) => sel.projection.clone(),
                    _ => None,
                })
                .collect();
            let parts = plans
                .into_iter()
                .filter_map(|p| match p {
                    Plan::Get(g) => Some(TransactGetPart {
                        table: Ok(g.table),
                        key: Ok(g.key),
                        projection: Ok(None),
                    }),
                    _ => None,
                })
                .collect();
            let got = self.transact_get_items(TransactGetItems {
                parts,
                capacity: cmd.capacity,
            })?;
            let responses = got
                .responses
                .into_iter()
                .zip(paths)
                .map(|(r, paths)| ItemResponse {
                    item: r.item.map(|i| partiql::row(i, paths.as_deref())),
                })
                .collect();
            return Ok(ExecuteTransactionOutput {
                responses: Some(responses),
                consumed_capacity: got.consumed_capacity,
            });
        }
        let inserts: Vec<bool> = cmd
            .statements
            .iter()
            .map(|s| matches!(s.statement, Statement::Insert(_)))
            .collect();
        let parts = plans
            .into_iter()
            .zip(&cmd.statements)
            .map(|(plan, s)| {
                let named = |action, table, subject, update, condition| TransactPart::Named {
                    action,
                    table,
                    write: Ok(TransactWrite {
                        subject,
                        update,
                        condition,
                        item_on_failure: s.item_on_failure,
                    }),
                };
                match plan {
                    Plan::Put(p) => named(PartAction::Put, p.table, p.item, None, p.condition),
                    Plan::Update(u) => {
                        named(PartAction::Update, u.table, u.key, u.update, u.condition)
                    }
                    Plan::Delete(d) => {
                        named(PartAction::Delete, d.table, d.key, None, d.condition)
                    }
                    Plan::Check {
                        table,
                        key,
                        condition,
                    } => named(PartAction::ConditionCheck, table, key, None, Some(condition)),
                    _ => TransactPart::Malformed(Error::validation(
                        "ExecuteTransaction API does not support both read and write operations in the same request.",
                    )),
                }
            })
            .collect();
        let done = self
            .transact_write_items(TransactWriteItems {
                parts,
                capacity: cmd.capacity,
                collection_metrics: false,
                token: cmd.token,
                fingerprint: cmd.fingerprint,
            })
            .map_err(|e| match e {
                // An INSERT's failed condition is its key existing.
                Error::TransactionCanceled { mut reasons } => {
                    for (r, insert) in reasons.iter_mut().zip(&inserts) {
                        if *insert && r.code == "ConditionalCheckFailed" {
                            r.code = "DuplicateItem".into();
                            r.message = Some("Duplicate primary key exists in table".into());
                        }
                    }
                    Error::TransactionCanceled { reasons }
                }
                other => other,
            })?;
        Ok(ExecuteTransactionOutput {
            responses: None,
            consumed_capacity: done.consumed_capacity,
        })
    }
}

impl Engine {
    /// The item a planned single-item statement is about: its table and key.
    fn plan_subject(&self, plan: &Plan) -> Option<(String, String)> {
        let (table, key) = match plan {
            Plan::Get(g) => (&g.table, g.key.clone()),
            Plan::Update(u) => (&u.table, u.key.clone()),
            Plan::Delete(d) => (&d.table, d.key.clone()),
            Plan::Put(p) => {
                let (pk, sk) = self.key_names(&p.table, None)?;
                let key = p
                    .item
                    .iter()
                    .filter(|(k, _)| **k == pk || Some(*k) == sk.as_ref())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (&p.table, key)
            }
            _ => return None,
        };
        Some((table.clone(), format!("{key:?}")))
    }
}

/// A batch statement's failure, as its `Error` answers it.
fn statement_error(e: Error) -> BatchStatementError {
    let code = match &e {
        Error::ConditionalCheckFailed { .. } => "ConditionalCheckFailed",
        Error::Other {
            name: "DuplicateItemException",
            ..
        } => "DuplicateItem",
        Error::ResourceNotFound(_) => "ResourceNotFound",
        Error::Validation(_) => "ValidationError",
        Error::ItemCollectionSizeLimitExceeded(_) => "ItemCollectionSizeLimitExceeded",
        Error::Throttled { name, .. } => match *name {
            "ProvisionedThroughputExceededException" => "ProvisionedThroughputExceeded",
            "RequestLimitExceeded" => "RequestLimitExceeded",
            _ => "ThrottlingError",
        },
        Error::Other {
            name: "TransactionConflictException",
            ..
        } => "TransactionConflict",
        _ => "InternalServerError",
    };
    let item = match &e {
        Error::ConditionalCheckFailed { item } => item.clone(),
        _ => None,
    };
    BatchStatementError {
        code: code.into(),
        message: Some(e.to_string()),
        item,
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
