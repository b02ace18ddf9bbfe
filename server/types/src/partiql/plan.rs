//! How a bound statement runs, decided from the key schema of the table (or index) it
//! names: a SELECT whose WHERE fixes the partition key with `=` (or `IN`) is a Query (a
//! GetItem when it fixes the whole key and nothing else), any other SELECT a Scan with the
//! WHERE as its filter; writes are the single-item actions on the key their WHERE states.
//!
//! The engine runs the plan and authorization reads the same plan (computed by this one
//! function from the same statement and schema), so what IAM is asked about, including
//! `dynamodb:FullTableScan`, is what runs.

use super::ast::{Returning, Select, Statement};
use super::bind::{and_all, condition, conjuncts, equality, update_action, value};
use super::error::invalid;
use super::ExecuteStatement;
use crate::command::{
    DeleteItem, GetItem, Page, PutItem, Query, ReturnValues, Scan, Select as SelectMode,
    UpdateItem, WriteReturns,
};
use crate::error::{Error, Result};
use crate::expr::key_condition::KeyOp;
use crate::expr::{Comparator, Condition, DocumentPath, Operand, Update};
use crate::model::{AttributeValue, Item};

/// DynamoDB's bound on the partition key values of one `IN`.
pub const MAX_IN_PARTITIONS: usize = 50;

/// The key attribute names of a table or index: partition, then sort.
pub type KeyNames = (String, Option<String>);

/// What a statement runs as.
#[derive(Debug, Clone)]
pub enum Plan {
    Get(GetItem),
    /// One Query per partition the WHERE names (one, or an `IN`'s), read in order from
    /// `first`, the query a NextToken resumes.
    Query {
        queries: Vec<Query>,
        first: usize,
    },
    Scan(Scan),
    Put(PutItem),
    Update(UpdateItem),
    Delete(DeleteItem),
    /// `EXISTS(SELECT ...)` in a transaction: the key's item must match the rest.
    Check {
        table: String,
        key: Item,
        condition: Condition,
    },
}

impl Plan {
    /// A read of every partition: IAM's `dynamodb:FullTableScan`.
    pub fn is_full_scan(&self) -> bool {
        matches!(self, Plan::Scan(_))
    }
}

fn key_eq(name: &str, v: &AttributeValue) -> Condition {
    Condition::Compare(
        Comparator::Eq,
        Operand::Path(DocumentPath::attr(name)),
        Operand::Value(v.clone()),
    )
}

/// The key a write's WHERE states: an `=` on every key attribute, at its top level.
/// Returns the key and the other conjuncts' condition.
fn full_key(filter: &super::ast::Expr, (pk, sk): &KeyNames) -> Result<(Item, Option<Condition>)> {
    let mut key = Item::new();
    let mut rest = Vec::new();
    for part in conjuncts(filter) {
        match equality(part) {
            Some((name, v)) if name == pk || Some(name) == sk.as_deref() => {
                match key.get(name) {
                    None => {
                        key.insert(name.to_string(), v.clone());
                    }
                    Some(same) if same == v => {}
                    Some(_) => {
                        return Err(invalid(format!(
                            "Multiple conditions on same key {name}. Only single item Update/Insert/Delete are supported"
                        )))
                    }
                }
            }
            _ => rest.push(condition(part)?),
        }
    }
    if !key.contains_key(pk) || sk.as_ref().is_some_and(|s| !key.contains_key(s)) {
        return Err(invalid(
            "Where clause does not contain a mandatory equality on all key attributes",
        ));
    }
    Ok((key, and_all(rest)))
}

fn write_returns(cmd: &ExecuteStatement, values: ReturnValues) -> WriteReturns {
    WriteReturns {
        values,
        item_on_failure: cmd.item_on_failure,
        capacity: cmd.capacity,
        collection_metrics: false,
    }
}

/// Plans `cmd` given the key names of the table (or index) it names: `None` when that
/// table or index does not exist.
pub fn plan(cmd: &ExecuteStatement, keys: Option<KeyNames>) -> Result<Plan> {
    let not_found = || Error::ResourceNotFound("Requested resource not found".into());
    match &cmd.statement {
        Statement::Select(s) => select(cmd, s, keys.ok_or_else(not_found)?),
        Statement::Exists(s) => {
            let keys = keys.ok_or_else(not_found)?;
            if s.index.is_some() {
                return Err(invalid(
                    "Operations on indices are not supported in transactions",
                ));
            }
            let filter = s
                .filter
                .as_ref()
                .ok_or_else(|| invalid("EXISTS needs a WHERE clause naming an item's key"))?;
            let (key, condition) = full_key(filter, &keys)?;
            let Some(condition) = condition else {
                return Err(invalid(
                    "EXISTS() must contain a single item read with additional condition",
                ));
            };
            // EXISTS holds of an item that is there and matches.
            let exists = Condition::AttributeExists(DocumentPath::attr(&keys.0));
            Ok(Plan::Check {
                table: s.table.clone(),
                key,
                condition: Condition::And(Box::new(exists), Box::new(condition)),
            })
        }
        Statement::Insert(i) => {
            let (pk, sk) = keys.ok_or_else(not_found)?;
            let AttributeValue::M(item) = value(&i.value)? else {
                return Err(invalid("INSERT takes one item: VALUE {...}"));
            };
            for k in std::iter::once(&pk).chain(sk.as_ref()) {
                if !item.contains_key(k) {
                    return Err(invalid(format!(
                        "One or more parameter values were invalid: Missing the key {k} in the item"
                    )));
                }
            }
            Ok(Plan::Put(PutItem {
                table: i.table.clone(),
                item,
                condition: Some(Condition::AttributeNotExists(DocumentPath::attr(pk))),
                returns: write_returns(cmd, ReturnValues::None),
            }))
        }
        Statement::Update(u) => {
            let keys = keys.ok_or_else(not_found)?;
            let (key, rest) = full_key(&u.filter, &keys)?;
            // An UPDATE changes an item that exists; it never creates one.
            let exists = Condition::AttributeExists(DocumentPath::attr(&keys.0));
            let condition = and_all(std::iter::once(exists).chain(rest).collect());
            let actions = u
                .actions
                .iter()
                .map(update_action)
                .collect::<Result<Vec<_>>>()?;
            let values = match u.returning {
                None => ReturnValues::None,
                Some(Returning::AllOld) => ReturnValues::AllOld,
                Some(Returning::ModifiedOld) => ReturnValues::UpdatedOld,
                Some(Returning::AllNew) => ReturnValues::AllNew,
                Some(Returning::ModifiedNew) => ReturnValues::UpdatedNew,
            };
            Ok(Plan::Update(UpdateItem {
                table: u.table.clone(),
                key,
                update: Some(Update {
                    actions,
                    ..Update::default()
                }),
                condition,
                returns: write_returns(cmd, values),
            }))
        }
        Statement::Delete(d) => {
            let keys = keys.ok_or_else(not_found)?;
            let (key, condition) = full_key(&d.filter, &keys)?;
            let values = match d.returning {
                None => ReturnValues::None,
                Some(Returning::AllOld) => ReturnValues::AllOld,
                Some(other) => {
                        return Err(invalid(format!(
                        "Invalid returning clause: RETURNING {}. Only RETURNING ALL OLD * is allowed in DELETE statements.",
                        other.text()
                    )))
                }
            };
            Ok(Plan::Delete(DeleteItem {
                table: d.table.clone(),
                key,
                condition,
                returns: write_returns(cmd, values),
            }))
        }
    }
}

fn select(cmd: &ExecuteStatement, s: &Select, (pk, sk): KeyNames) -> Result<Plan> {
    // Whole items are read and the selected paths taken from them afterwards
    // (`partiql::row`): PartiQL names its columns unlike a ProjectionExpression's nesting.
    let page = |filter: Option<Condition>| Page {
        table: s.table.clone(),
        index: s.index.clone(),
        filter,
        select: if s.index.is_some() {
            SelectMode::AllProjected
        } else {
            SelectMode::AllAttributes
        },
        projection: None,
        limit: cmd.limit,
        consistent: cmd.consistent,
        capacity: cmd.capacity,
        exclusive_start_key: None,
        filter_names_keys: true,
    };
    let Some(filter) = &s.filter else {
        if !s.order.is_empty() {
            return Err(invalid(
                "Must have WHERE clause in the statement when using ORDER BY clause.",
            ));
        }
        return Ok(Plan::Scan(scan(cmd, page(None))));
    };
    let parts = conjuncts(filter);
    // The partition: the first `pk = v` or `pk IN [...]` conjunct.
    let mut partitions: Option<(usize, Vec<AttributeValue>)> = None;
    for (i, part) in parts.iter().enumerate() {
        if let Some((name, v)) = equality(part) {
            if name == pk {
                partitions = Some((i, vec![v.clone()]));
                break;
            }
        }
        if let Some(values) = in_partitions(part, &pk).or_else(|| or_partitions(part, &pk)) {
            partitions = Some((i, values));
            break;
        }
    }
    if let Some((_, values)) = &partitions {
        for (i, v) in values.iter().enumerate() {
            if values.iter().skip(i + 1).any(|w| w == v) {
                return Err(invalid(
                    "Overlapping conditions with range keys are not supported in where clause",
                ));
            }
        }
    }
    let Some((pk_part, values)) = partitions else {
        if !s.order.is_empty() {
            return Err(invalid(
                "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.",
            ));
        }
        return Ok(Plan::Scan(scan(cmd, page(Some(condition(filter)?)))));
    };
    if values.len() > MAX_IN_PARTITIONS {
        return Err(invalid(
            "Too many decomposed read operations for a given query.",
        ));
    }
    // The sort key's condition: the first conjunct a key condition can state.
    let mut sk_part = None;
    if let Some(sk) = &sk {
        for (i, part) in parts.iter().enumerate() {
            if i == pk_part {
                continue;
            }
            let c = condition(part)?;
            if sort_key_condition(&c, sk) {
                sk_part = Some((i, c));
                break;
            }
        }
    }
    let mut rest = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i != pk_part && sk_part.as_ref().is_none_or(|(j, _)| *j != i) {
            rest.push(condition(part)?);
        }
    }
    // ORDER BY: key attributes only; the sort key's direction orders each partition, the
    // partition key's orders an IN's partitions (which then must name it).
    let mut forward = true;
    let mut partitions_desc = None;
    for (path, desc) in &s.order {
        let name = path.top().filter(|_| path.0.len() == 1).unwrap_or_default();
        if name == pk {
            partitions_desc = Some(*desc);
        } else if Some(name) == sk.as_deref() {
            forward = !desc;
        } else {
            return Err(invalid(format!(
                "Attribute {} in ORDER BY clause must be part of the primary key",
                super::bind::path_text(path)
            )));
        }
    }
    let mut values = values;
    match partitions_desc {
        None if values.len() > 1 && !s.order.is_empty() => {
            return Err(invalid(
                "Must have hash key in ORDER BY clause when more than one hash key condition specified in WHERE clause.",
            ))
        }
        Some(desc) => {
            values.sort_by(|a, b| {
                let order = crate::expr::eval::compare_scalars(a, b)
                    .unwrap_or(std::cmp::Ordering::Equal);
                if desc {
                    order.reverse()
                } else {
                    order
                }
            });
        }
        None => {}
    }
    let sk_condition = sk_part.map(|(_, c)| c);
    let sk_value = match &sk_condition {
        Some(c) => match crate::expr::key_condition::key_condition_attr(c) {
            Ok((_, KeyOp::Compare(Comparator::Eq, v))) => Some(v.clone()),
            _ => None,
        },
        None => None,
    };
    // The whole key and nothing else: one item, read as GetItem reads it.
    let one_item = values.len() == 1
        && s.index.is_none()
        && rest.is_empty()
        && s.order.is_empty()
        && cmd.next.is_none()
        && (sk.is_none() || sk_value.is_some());
    if let (true, Some(value)) = (one_item, values.first()) {
        let mut key = Item::new();
        key.insert(pk.clone(), value.clone());
        if let (Some(sk), Some(v)) = (&sk, sk_value) {
            key.insert(sk.clone(), v);
        }
        return Ok(Plan::Get(GetItem {
            table: s.table.clone(),
            key,
            projection: None,
            consistent: cmd.consistent,
            capacity: cmd.capacity,
        }));
    }
    let filter = and_all(rest);
    let mut queries = values
        .iter()
        .map(|v| {
            let key_condition = match &sk_condition {
                Some(c) => Condition::And(Box::new(key_eq(&pk, v)), Box::new(c.clone())),
                None => key_eq(&pk, v),
            };
            Query {
                page: page(filter.clone()),
                key_condition,
                forward,
            }
        })
        .collect::<Vec<_>>();
    let first = match &cmd.next {
        Some(next) => {
            let q = queries
                .get_mut(next.query)
                .ok_or_else(|| invalid("Invalid NextToken"))?;
            q.page.exclusive_start_key = next.key.clone();
            next.query
        }
        None => 0,
    };
    Ok(Plan::Query { queries, first })
}

fn scan(cmd: &ExecuteStatement, mut page: Page) -> Scan {
    page.exclusive_start_key = cmd.next.as_ref().and_then(|n| n.key.clone());
    Scan {
        page,
        segment: None,
    }
}

/// `pk IN [v, ...]` with values only: the partitions it names.
fn in_partitions(part: &super::ast::Expr, pk: &str) -> Option<Vec<AttributeValue>> {
    let super::ast::Expr::In(a, list) = part else {
        return None;
    };
    let super::ast::Expr::Path(p) = a.as_ref() else {
        return None;
    };
    if p.0.len() != 1 || p.top() != Some(pk) {
        return None;
    }
    list.iter()
        .map(|e| match e {
            super::ast::Expr::Value(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// `pk = v OR pk = w ...` with nothing else: the partitions it names, each read as its own
/// Query as DynamoDB decomposes it.
fn or_partitions(part: &super::ast::Expr, pk: &str) -> Option<Vec<AttributeValue>> {
    fn walk(e: &super::ast::Expr, pk: &str, out: &mut Vec<AttributeValue>) -> bool {
        match e {
            super::ast::Expr::Or(a, b) => walk(a, pk, out) && walk(b, pk, out),
            other => match equality(other) {
                Some((name, v)) if name == pk => {
                    out.push(v.clone());
                    true
                }
                _ => false,
            },
        }
    }
    let mut out = Vec::new();
    (matches!(part, super::ast::Expr::Or(..)) && walk(part, pk, &mut out)).then_some(out)
}

/// A condition a Query's key condition can state on the sort key `sk`.
fn sort_key_condition(c: &Condition, sk: &str) -> bool {
    crate::expr::key_condition::key_condition_attr(c).is_ok_and(|(attr, _)| attr == sk)
}
