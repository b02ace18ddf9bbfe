//! The legacy (pre-expression) parameters, converted to the same tree the expressions produce
//! so that the engine has one evaluation path: `Expected` + `ConditionalOperator`,
//! `KeyConditions` / `QueryFilter` / `ScanFilter`, `AttributeUpdates`, `AttributesToGet`.
//! Messages are DynamoDB's (checked against DynamoDB Local). Attribute names here are plain
//! top-level names: `a.b` names the attribute called `a.b`.

use std::collections::HashMap;

use crate::model::{AttributeValue, ValueType};

use super::ast::*;
use super::error::ExprError;
use super::eval::compare_scalars;

/// One entry of `Expected`, as the request carries it.
pub use crate::types::ExpectedAttributeValue as ExpectedAttribute;

/// One entry of `KeyConditions`, `QueryFilter` or `ScanFilter`.
pub use crate::types::Condition as LegacyCondition;

/// One entry of `AttributeUpdates` (`Action`: `PUT`, the default, `ADD` or `DELETE`).
pub use crate::types::AttributeValueUpdate as AttributeUpdate;

fn invalid(msg: impl AsRef<str>) -> ExprError {
    ExprError::plain(format!(
        "One or more parameter values were invalid: {}",
        msg.as_ref()
    ))
}

/// Value rules (non-empty sets without duplicates, nesting) with the legacy wording.
fn check_value(v: &AttributeValue) -> Result<(), ExprError> {
    super::check_value(v, 1).map_err(ExprError::plain)
}

fn sorted<T>(m: &HashMap<String, T>) -> Vec<(&String, &T)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Joins conditions into a balanced tree (shallow, whatever the number of entries).
fn combine(mut conds: Vec<Condition>, or: bool) -> Condition {
    while conds.len() > 1 {
        let mut next = Vec::with_capacity(conds.len().div_ceil(2));
        let mut it = conds.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) if or => Condition::Or(Box::new(a), Box::new(b)),
                Some(b) => Condition::And(Box::new(a), Box::new(b)),
                None => a,
            });
        }
        conds = next;
    }
    conds.pop().unwrap_or(Condition::True)
}

/// `true` for OR; checks ConditionalOperator against the number of entries.
fn check_conditional_operator(op: Option<&str>, entries: usize) -> Result<bool, ExprError> {
    let Some(op) = op else { return Ok(false) };
    if entries == 0 {
        return Err(ExprError::plain(
            "ConditionalOperator cannot be used without Filter or Expected",
        ));
    }
    if entries == 1 {
        return Err(ExprError::plain(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements",
        ));
    }
    match op {
        "AND" => Ok(false),
        "OR" => Ok(true),
        other => Err(ExprError::plain(format!(
            "1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"
        ))),
    }
}

/// One `ComparisonOperator` with its arguments, validated as DynamoDB does.
fn comparison(attr: &str, op: &str, args: &[AttributeValue]) -> Result<Condition, ExprError> {
    for v in args {
        check_value(v)?;
    }
    let path = DocumentPath::attr(attr);
    let count_ok = match op {
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" | "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => {
            args.len() == 1
        }
        "NULL" | "NOT_NULL" => args.is_empty(),
        "IN" => !args.is_empty(),
        "BETWEEN" => args.len() == 2,
        _ => {
            return Err(ExprError::plain(
                "Comparison type does not exist in DynamoDB",
            ))
        }
    };
    if !count_ok {
        return Err(invalid(format!(
            "Invalid number of argument(s) for the {op} ComparisonOperator"
        )));
    }
    let type_ok = |t: ValueType| match op {
        "LE" | "LT" | "GE" | "GT" | "IN" | "BETWEEN" => {
            matches!(t, ValueType::N | ValueType::S | ValueType::B)
        }
        "CONTAINS" | "NOT_CONTAINS" => !matches!(
            t,
            ValueType::Ss | ValueType::Ns | ValueType::Bs | ValueType::L | ValueType::M
        ),
        "BEGINS_WITH" => matches!(t, ValueType::S | ValueType::B),
        _ => true,
    };
    if let Some(first) = args.first() {
        let t = first.value_type();
        if !type_ok(t) {
            return Err(invalid(format!(
                "ComparisonOperator {op} is not valid for {} AttributeValue type",
                t.tag()
            )));
        }
        if args.iter().any(|v| v.value_type() != t) {
            return Err(invalid(
                "AttributeValues inside AttributeValueList must be of same type",
            ));
        }
    }
    let value = |i: usize| Operand::Value(args.get(i).cloned().unwrap_or(AttributeValue::Null));
    let p = || Operand::Path(path.clone());
    Ok(match op {
        "EQ" => Condition::Compare(Comparator::Eq, p(), value(0)),
        "NE" => Condition::Compare(Comparator::Ne, p(), value(0)),
        "LE" => Condition::Compare(Comparator::Le, p(), value(0)),
        "LT" => Condition::Compare(Comparator::Lt, p(), value(0)),
        "GE" => Condition::Compare(Comparator::Ge, p(), value(0)),
        "GT" => Condition::Compare(Comparator::Gt, p(), value(0)),
        "NULL" => Condition::AttributeNotExists(path),
        "NOT_NULL" => Condition::AttributeExists(path),
        "CONTAINS" => Condition::Contains(p(), value(0)),
        // Unlike NOT contains(), NOT_CONTAINS is false for a missing attribute.
        "NOT_CONTAINS" => Condition::And(
            Box::new(Condition::AttributeExists(path.clone())),
            Box::new(Condition::Not(Box::new(Condition::Contains(p(), value(0))))),
        ),
        "BEGINS_WITH" => Condition::BeginsWith(p(), value(0)),
        "IN" => Condition::In(p(), args.iter().cloned().map(Operand::Value).collect()),
        _ => {
            let (lo, hi) = (value(0), value(1));
            if let (Operand::Value(x), Operand::Value(y)) = (&lo, &hi) {
                if compare_scalars(x, y) == Some(std::cmp::Ordering::Greater) {
                    return Err(ExprError::plain(
                        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
                    ));
                }
            }
            Condition::Between(p(), lo, hi)
        }
    })
}

/// `Expected` (+ `ConditionalOperator`) as a condition on the existing item.
pub fn expected_to_condition(
    expected: &HashMap<String, ExpectedAttribute>,
    conditional_operator: Option<&str>,
) -> Result<Condition, ExprError> {
    let or = check_conditional_operator(conditional_operator, expected.len())?;
    let mut conds = Vec::with_capacity(expected.len());
    for (attr, e) in sorted(expected) {
        conds.push(expected_one(attr, e)?);
    }
    Ok(combine(conds, or))
}

fn expected_one(attr: &str, e: &ExpectedAttribute) -> Result<Condition, ExprError> {
    if let Some(op) = &e.comparison_operator {
        if e.exists.is_some() {
            return Err(invalid(format!(
                "Exists and ComparisonOperator cannot be used together for Attribute: {attr}"
            )));
        }
        if e.value.is_some() && e.attribute_value_list.is_some() {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {attr}"
            )));
        }
        if e.value.is_none() && e.attribute_value_list.is_none() && op != "NULL" && op != "NOT_NULL"
        {
            return Err(invalid(format!("Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {attr}")));
        }
        let args: Vec<AttributeValue> = match (&e.value, &e.attribute_value_list) {
            (Some(v), _) => vec![v.clone()],
            (None, Some(l)) => l.clone(),
            (None, None) => Vec::new(),
        };
        return comparison(attr, op, &args);
    }
    if e.attribute_value_list.is_some() {
        if e.value.is_some() {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {attr}"
            )));
        }
        return Err(invalid(format!(
            "AttributeValueList can only be used with a ComparisonOperator for Attribute: {attr}"
        )));
    }
    match (e.exists, &e.value) {
        (Some(false), Some(_)) => Err(invalid(format!(
            "Value cannot be used when Exists is false for Attribute: {attr}"
        ))),
        (Some(false), None) => Ok(Condition::AttributeNotExists(DocumentPath::attr(attr))),
        (Some(true), None) => Err(invalid(format!(
            "Value must be provided when Exists is true for Attribute: {attr}"
        ))),
        (None, None) => Err(invalid(format!(
            "Value must be provided when Exists is null for Attribute: {attr}"
        ))),
        (_, Some(v)) => {
            check_value(v)?;
            Ok(Condition::Compare(
                Comparator::Eq,
                Operand::Path(DocumentPath::attr(attr)),
                Operand::Value(v.clone()),
            ))
        }
    }
}

/// The legacy comparison operators, in the order DynamoDB lists them in its enum error.
const COMPARISON_OPERATORS: [&str; 13] = [
    "IN",
    "NULL",
    "BETWEEN",
    "LT",
    "NOT_CONTAINS",
    "EQ",
    "GT",
    "NOT_NULL",
    "NE",
    "LE",
    "BEGINS_WITH",
    "GE",
    "CONTAINS",
];

/// Checks the `ComparisonOperator` names of a legacy condition map (`member` is its name in
/// DynamoDB's paths: `keyConditions`, `queryFilter`, `scanFilter`, `expected`) as DynamoDB's
/// schema validation does: names are case-sensitive, and every failing one is listed.
pub fn check_operator_names<'a>(
    operators: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    member: &str,
) -> Result<(), ExprError> {
    let mut bad: Vec<(&str, &str)> = operators
        .into_iter()
        .filter_map(|(attr, op)| op.map(|op| (attr, op)))
        .filter(|(_, op)| !COMPARISON_OPERATORS.contains(op))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort_unstable();
    let errors = bad.iter().map(|(attr, op)| {
        format!(
            "Value '{op}' at '{member}.{attr}.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            COMPARISON_OPERATORS.join(", ")
        )
    });
    Err(ExprError::plain(crate::error::validation_errors(errors)))
}

/// `KeyConditions`, `QueryFilter` or `ScanFilter` (+ `ConditionalOperator`) as a condition.
pub fn conditions_to_condition(
    conds: &HashMap<String, LegacyCondition>,
    conditional_operator: Option<&str>,
) -> Result<Condition, ExprError> {
    let or = check_conditional_operator(conditional_operator, conds.len())?;
    let mut out = Vec::with_capacity(conds.len());
    for (attr, c) in sorted(conds) {
        let args = c.attribute_value_list.as_deref().unwrap_or(&[]);
        out.push(comparison(attr, &c.comparison_operator, args)?);
    }
    Ok(combine(out, or))
}

fn legacy_type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::S => "STRING",
        ValueType::N => "NUMBER",
        ValueType::B => "BINARY",
        ValueType::Bool => "BOOLEAN",
        ValueType::Null => "NULL",
        ValueType::L => "LIST",
        ValueType::M => "MAP",
        ValueType::Ss => "STRING_SET",
        ValueType::Ns => "NUMBER_SET",
        ValueType::Bs => "BINARY_SET",
    }
}

/// `AttributeUpdates` as an update. Applying it follows the legacy rules ([`UpdateStyle::Legacy`]):
/// ADD on a missing attribute creates it, ADD on a list appends.
pub fn attribute_updates_to_update(
    updates: &HashMap<String, AttributeUpdate>,
) -> Result<Update, ExprError> {
    let mut actions = Vec::with_capacity(updates.len());
    for (attr, u) in sorted(updates) {
        let action = u.action.as_deref().unwrap_or("PUT");
        if !matches!(action, "PUT" | "ADD" | "DELETE") {
            return Err(ExprError::plain(
                "Member must satisfy enum value set: [ADD, DELETE, PUT]",
            ));
        }
        let path = DocumentPath::attr(attr.clone());
        let Some(v) = &u.value else {
            if action != "DELETE" {
                return Err(invalid(
                    "Only DELETE action is allowed when no attribute value is specified",
                ));
            }
            actions.push(UpdateAction::Remove(path));
            continue;
        };
        check_value(v)?;
        let t = v.value_type();
        actions.push(match action {
            "PUT" => UpdateAction::Set(path, SetValue::Operand(UpdateOperand::Value(v.clone()))),
            "ADD" => {
                if !matches!(
                    t,
                    ValueType::N | ValueType::Ss | ValueType::Ns | ValueType::Bs | ValueType::L
                ) {
                    return Err(invalid(format!(
                        "ADD action is not supported for the type {}",
                        legacy_type_name(t)
                    )));
                }
                UpdateAction::Add(path, v.clone())
            }
            _ => {
                if !matches!(t, ValueType::Ss | ValueType::Ns | ValueType::Bs) {
                    return Err(invalid(format!(
                        "DELETE action with value is not supported for the type {}",
                        legacy_type_name(t)
                    )));
                }
                UpdateAction::Delete(path, v.clone())
            }
        });
    }
    Ok(Update {
        actions,
        style: UpdateStyle::Legacy,
    })
}

/// `AttributesToGet` as a projection of top-level attributes.
pub fn attributes_to_get(names: &[String]) -> Result<Projection, ExprError> {
    if names.is_empty() {
        return Err(ExprError::plain(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if names.iter().take(i).any(|m| m == n) {
            // DynamoDB's words (DynamoDB Local says "Cannot have two attributes with the
            // same name").
            return Err(ExprError::plain(format!(
                "One or more parameter values were invalid: Duplicate value in attribute name: {n}"
            )));
        }
    }
    Ok(Projection {
        paths: names
            .iter()
            .map(|n| DocumentPath::attr(n.clone()))
            .collect(),
    })
}

/// DynamoDB's "Can not use both expression and non-expression parameters in the same request:
/// Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
/// check, given which parameters are present. DynamoDB lists them in this order:
/// Query `{AttributesToGet, QueryFilter, ConditionalOperator, KeyConditions}` /
/// `{ProjectionExpression, FilterExpression, KeyConditionExpression}`; Scan
/// `{AttributesToGet, ScanFilter, ConditionalOperator}` / `{ProjectionExpression,
/// FilterExpression}`; UpdateItem `{AttributeUpdates, Expected}` / `{UpdateExpression,
/// ConditionExpression}`.
pub fn check_no_mixing(legacy: &[&str], expression: &[&str]) -> Result<(), ExprError> {
    if legacy.is_empty() || expression.is_empty() {
        return Ok(());
    }
    Err(ExprError::plain(format!(
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        legacy.join(", "),
        expression.join(", ")
    )))
}
