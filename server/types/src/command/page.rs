//! Query and Scan as commands.

use super::items::{check_mixing, given, legacy_projection};
use super::options::{parse_limit, ReturnCapacity, Select};
use super::{table_name, Access, Decode, Demand, Invalid};
use crate::error::{Error, Result};
use crate::expr::key_condition::{key_condition_of, legacy_conditions};
use crate::expr::{self, Condition, ExpressionInput, Projection};
use crate::model::Item;
use crate::types::{QueryInput, ScanInput};

/// DynamoDB's upper bound on TotalSegments.
const MAX_SEGMENTS: i64 = 1_000_000;

/// What shapes a page, shared by Query and Scan.
#[derive(Debug, Clone)]
pub struct Page {
    pub table: String,
    pub index: Option<String>,
    /// FilterExpression, or QueryFilter/ScanFilter as the same tree.
    pub filter: Option<Condition>,
    /// ProjectionExpression, or AttributesToGet as the same tree.
    pub projection: Option<Projection>,
    pub select: Select,
    pub limit: Option<usize>,
    pub consistent: bool,
    pub capacity: ReturnCapacity,
    pub exclusive_start_key: Option<Item>,
    /// The filter may constrain key attributes too: a PartiQL WHERE states conditions on
    /// the sort key beyond the one the key condition takes (a Query's FilterExpression
    /// may not name key attributes).
    pub filter_names_keys: bool,
}

/// Query, decoded.
#[derive(Debug, Clone)]
pub struct Query {
    pub page: Page,
    /// KeyConditionExpression, or KeyConditions as the same tree.
    pub key_condition: Condition,
    pub forward: bool,
}

/// Scan, decoded.
#[derive(Debug, Clone)]
pub struct Scan {
    pub page: Page,
    pub segment: Option<Segment>,
}

/// A parallel Scan's share: `segment` of `total`, validated (`segment < total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub segment: u64,
    pub total: u64,
}

/// The page of a Query or Scan `$i` whose expressions were `$parsed`; `$legacy` names its
/// legacy filter member (`query_filter` or `scan_filter`), in error paths too.
macro_rules! page {
    ($i:ident, $parsed:ident, $legacy:ident) => {{
        let filter = match ($parsed.filter, $i.$legacy.as_ref()) {
            (Some(f), _) => Some(f),
            (None, Some(legacy)) => Some(legacy_conditions(
                legacy,
                $i.conditional_operator.as_deref(),
                &stringify!($legacy).replace("_f", "F"),
            )?),
            (None, None) => None,
        };
        let projection = legacy_projection($parsed.projection, $i.attributes_to_get.as_deref())?;
        Page {
            table: table_name(&$i.table_name)?.to_string(),
            index: $i.index_name.clone(),
            limit: parse_limit($i.limit)?,
            select: Select::parse(
                $i.select.as_deref(),
                projection.is_some(),
                $i.index_name.is_some(),
            )?,
            filter,
            projection,
            consistent: $i.consistent_read.unwrap_or(false),
            capacity: ReturnCapacity::parse($i.return_consumed_capacity.as_deref())?,
            exclusive_start_key: $i.exclusive_start_key.clone(),
            filter_names_keys: false,
        }
    }};
}

impl Decode for QueryInput {
    type Command = Query;

    fn demands(c: &Query, demand: &mut dyn FnMut(Demand<'_>)) {
        demand(Demand {
            table: &c.page.table,
            index: c.page.index.as_deref(),
            access: Access::Read,
            key: None,
        });
    }

    fn decode(self) -> Result<Query, Invalid> {
        query(&self).map_err(|e| Invalid::new(e, self.table_name, None))
    }
}

fn query(i: &QueryInput) -> Result<Query> {
    table_name(&i.table_name)?;
    // KeyConditions goes with any expression but KeyConditionExpression (DynamoDB allows
    // KeyConditions with ProjectionExpression or FilterExpression).
    check_mixing(
        given![i; attributes_to_get: "AttributesToGet", query_filter: "QueryFilter",
            conditional_operator: "ConditionalOperator"],
        given![i; projection_expression: "ProjectionExpression",
            filter_expression: "FilterExpression",
            key_condition_expression: "KeyConditionExpression",
            expression_attribute_names: "ExpressionAttributeNames",
            expression_attribute_values: "ExpressionAttributeValues"],
    )?;
    check_mixing(
        given![i; key_conditions: "KeyConditions"],
        given![i; key_condition_expression: "KeyConditionExpression"],
    )?;
    let parsed = expr::parse(&ExpressionInput {
        projection: i.projection_expression.as_deref(),
        filter: i.filter_expression.as_deref(),
        key_condition: i.key_condition_expression.as_deref(),
        names: i.expression_attribute_names.as_ref(),
        values: i.expression_attribute_values.as_ref(),
        ..ExpressionInput::default()
    })?;
    let key_condition = key_condition_of(parsed.key_condition, i.key_conditions.as_ref())?;
    let page = page!(i, parsed, query_filter);
    Ok(Query {
        page,
        key_condition,
        forward: i.scan_index_forward.unwrap_or(true),
    })
}

impl Decode for ScanInput {
    type Command = Scan;

    fn demands(c: &Scan, demand: &mut dyn FnMut(Demand<'_>)) {
        demand(Demand {
            table: &c.page.table,
            index: c.page.index.as_deref(),
            access: Access::Read,
            key: None,
        });
    }

    fn decode(self) -> Result<Scan, Invalid> {
        scan(&self).map_err(|e| Invalid::new(e, self.table_name, None))
    }
}

fn segment(segment: Option<i64>, total: Option<i64>) -> Result<Option<Segment>> {
    let (seg, total) = match (segment, total) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(Error::validation(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
        )),
        (None, Some(_)) => return Err(Error::validation(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
        )),
        (Some(seg), Some(total)) => (seg, total),
    };
    if !(1..=MAX_SEGMENTS).contains(&total) {
        let bound = if total < 1 {
            "greater than or equal to 1"
        } else {
            "less than or equal to 1000000"
        };
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint: Member must have value {bound}"
        )));
    }
    if !(0..MAX_SEGMENTS).contains(&seg) {
        let bound = if seg < 0 {
            "greater than or equal to 0".to_string()
        } else {
            format!("less than or equal to {}", MAX_SEGMENTS - 1)
        };
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{seg}' at 'segment' failed to satisfy constraint: Member must have value {bound}"
        )));
    }
    if seg >= total {
        return Err(Error::validation(format!(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {seg} is not less than TotalSegments: {total}"
        )));
    }
    // Both are in range and non-negative here.
    Ok(Some(Segment {
        segment: seg.unsigned_abs(),
        total: total.unsigned_abs(),
    }))
}

fn scan(i: &ScanInput) -> Result<Scan> {
    table_name(&i.table_name)?;
    let segment = segment(i.segment, i.total_segments)?;
    check_mixing(
        given![i; attributes_to_get: "AttributesToGet", scan_filter: "ScanFilter",
            conditional_operator: "ConditionalOperator"],
        given![i; projection_expression: "ProjectionExpression",
            filter_expression: "FilterExpression",
            expression_attribute_names: "ExpressionAttributeNames",
            expression_attribute_values: "ExpressionAttributeValues"],
    )?;
    if i.expression_attribute_values.is_some() && i.filter_expression.is_none() {
        return Err(Error::validation(
            "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null",
        ));
    }
    let parsed = expr::parse(&ExpressionInput {
        projection: i.projection_expression.as_deref(),
        filter: i.filter_expression.as_deref(),
        names: i.expression_attribute_names.as_ref(),
        values: i.expression_attribute_values.as_ref(),
        ..ExpressionInput::default()
    })?;
    let page = page!(i, parsed, scan_filter);
    Ok(Scan { page, segment })
}
