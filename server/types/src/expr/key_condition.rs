//! A Query's key condition, analysed: which key attribute each part constrains and how,
//! and the one partition it binds. The engine turns it into a key range; authorization
//! reads `dynamodb:LeadingKeys` from the same analysis, so the two cannot disagree.

use std::collections::HashMap;

use super::{legacy, Comparator, Condition, Operand, PathElement};
use crate::error::{Error, Result};
use crate::model::AttributeValue;
use crate::types::Condition as LegacyConditionInput;

/// `KeyConditions`, `QueryFilter` or `ScanFilter` (`member` names it in error paths), with
/// its operator names checked, as a condition.
pub fn legacy_conditions(
    conds: &HashMap<String, LegacyConditionInput>,
    op: Option<&str>,
    member: &str,
) -> Result<Condition> {
    legacy::check_operator_names(
        conds
            .iter()
            .map(|(k, c)| (k.as_str(), Some(c.comparison_operator.as_str()))),
        member,
    )?;
    legacy::conditions_to_condition(conds, op).map_err(Error::from)
}

/// A Query's key condition: the parsed KeyConditionExpression, else the legacy
/// `KeyConditions` converted to the same tree.
pub fn key_condition_of(
    parsed: Option<Condition>,
    legacy: Option<&HashMap<String, LegacyConditionInput>>,
) -> Result<Condition> {
    match (parsed, legacy) {
        (Some(c), _) => Ok(c),
        (None, Some(kc)) => legacy_conditions(kc, None, "keyConditions"),
        (None, None) => Err(Error::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        )),
    }
}

/// The one partition a key condition binds: the value of its single equality on `pk`,
/// found exactly as the engine's key range finds it. `None` when any part is not a key condition
/// the engine accepts, or when `pk` is not bound by exactly one `=`: such a Query is
/// refused by the engine, and authorization must not guess what it would read.
pub fn bound_partition<'a>(cond: &'a Condition, pk: &str) -> Option<&'a AttributeValue> {
    let mut parts = Vec::new();
    flatten_and(cond, &mut parts);
    let mut found = None;
    for part in parts {
        let (attr, op) = key_condition_attr(part).ok()?;
        if attr != pk {
            continue;
        }
        match (op, found) {
            (KeyOp::Compare(Comparator::Eq, v), None) => found = Some(v),
            _ => return None,
        }
    }
    found
}

/// How one part of a key condition constrains its attribute.
pub enum KeyOp<'a> {
    Compare(Comparator, &'a AttributeValue),
    Between(&'a AttributeValue, &'a AttributeValue),
    BeginsWith(&'a AttributeValue),
}

/// The parts of a conjunction, in order.
pub fn flatten_and<'a>(c: &'a Condition, out: &mut Vec<&'a Condition>) {
    match c {
        Condition::And(a, b) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        other => out.push(other),
    }
}

fn top_attr(op: &Operand) -> Option<&str> {
    match op {
        Operand::Path(p) if p.0.len() == 1 => match p.0.first() {
            Some(PathElement::Attr(a)) => Some(a),
            _ => None,
        },
        _ => None,
    }
}

fn flip(c: Comparator) -> Comparator {
    match c {
        Comparator::Lt => Comparator::Gt,
        Comparator::Le => Comparator::Ge,
        Comparator::Gt => Comparator::Lt,
        Comparator::Ge => Comparator::Le,
        other => other,
    }
}

/// One condition of a key condition: the key attribute it constrains and how.
pub fn key_condition_attr(c: &Condition) -> Result<(&str, KeyOp<'_>)> {
    let invalid = |op: &str| {
        Error::validation(format!(
            "Invalid operator used in KeyConditionExpression: {op}"
        ))
    };
    let unsupported = || Error::validation("Query key condition not supported");
    match c {
        Condition::Compare(op, a, b) => match (a, b) {
            (path, Operand::Value(v)) => Ok((
                top_attr(path).ok_or_else(unsupported)?,
                KeyOp::Compare(*op, v),
            )),
            (Operand::Value(v), path) => Ok((
                top_attr(path).ok_or_else(unsupported)?,
                KeyOp::Compare(flip(*op), v),
            )),
            _ => Err(unsupported()),
        },
        Condition::Between(path, Operand::Value(lo), Operand::Value(hi)) => Ok((
            top_attr(path).ok_or_else(unsupported)?,
            KeyOp::Between(lo, hi),
        )),
        Condition::BeginsWith(path, Operand::Value(v)) => Ok((
            top_attr(path).ok_or_else(unsupported)?,
            KeyOp::BeginsWith(v),
        )),
        Condition::Or(..) => Err(invalid("OR")),
        Condition::Not(..) => Err(invalid("NOT")),
        Condition::In(..) => Err(invalid("IN")),
        Condition::AttributeExists(_) => Err(invalid("attribute_exists")),
        Condition::AttributeNotExists(_) => Err(invalid("attribute_not_exists")),
        Condition::AttributeType(..) => Err(invalid("attribute_type")),
        Condition::Contains(..) => Err(invalid("contains")),
        _ => Err(unsupported()),
    }
}
