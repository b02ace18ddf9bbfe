//! JSON policy document → compiled [`Policy`]: field validation with errors that point at the
//! statement and field, and compilation of everything evaluation needs.

use serde_json::{Map, Value};

use super::condition::Condition;
use super::error::PolicyError;
use super::statement::{Effect, Statement};
use super::variables::GlobTemplate;
use super::wildcard::Glob;
use super::Policy;

const STATEMENT_FIELDS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

pub(crate) fn parse_document(doc: &Value) -> Result<Policy, PolicyError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| PolicyError::document("policy document must be a JSON object"))?;
    if let Some(field) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
    {
        return Err(PolicyError::document(format!(
            "unknown top-level field {field:?}"
        )));
    }
    // Policy variables are only substituted under the 2012-10-17 language version.
    let substitute = match obj.get("Version") {
        None => false,
        Some(Value::String(v)) if v == "2012-10-17" => true,
        Some(Value::String(v)) if v == "2008-10-17" => false,
        Some(other) => {
            return Err(PolicyError::document(format!(
                "Version must be \"2012-10-17\" or \"2008-10-17\", got {other}"
            )))
        }
    };
    if let Some(id) = obj.get("Id").filter(|id| !id.is_string()) {
        return Err(PolicyError::document(format!(
            "Id must be a string, got {id}"
        )));
    }
    let raw_statements: Vec<&Value> = match obj.get("Statement") {
        None => return Err(PolicyError::document("missing \"Statement\"")),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(other) => {
            return Err(PolicyError::document(format!(
                "Statement must be an object or an array of objects, got {other}"
            )))
        }
    };
    let statements = raw_statements
        .into_iter()
        .enumerate()
        .map(|(index, raw)| parse_statement(index, raw, substitute))
        .collect::<Result<_, _>>()?;
    Ok(Policy { statements })
}

fn parse_statement(index: usize, raw: &Value, substitute: bool) -> Result<Statement, PolicyError> {
    let obj = raw.as_object().ok_or_else(|| {
        PolicyError::statement(index, None, format!("must be a JSON object, got {raw}"))
    })?;
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(other) => {
            return Err(PolicyError::statement(
                index,
                None,
                format!("Sid must be a string, got {other}"),
            ))
        }
    };
    let fail = |message: String| PolicyError::statement(index, sid.as_deref(), message);

    for field in obj.keys() {
        if matches!(field.as_str(), "Principal" | "NotPrincipal") {
            return Err(fail(format!(
                "{field:?} is not allowed in an identity policy (it belongs in resource-based policies)"
            )));
        }
        if !STATEMENT_FIELDS.contains(&field.as_str()) {
            return Err(fail(format!("unknown field {field:?}")));
        }
    }

    let effect = match obj.get("Effect") {
        None => return Err(fail("missing \"Effect\"".into())),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(fail(format!(
                "Effect must be \"Allow\" or \"Deny\", got {other}"
            )))
        }
    };

    let (field, value, not_action) = exactly_one(obj, "Action", "NotAction").map_err(&fail)?;
    let actions = string_list(field, value)
        .and_then(|patterns| {
            patterns
                .into_iter()
                .map(|p| compile_action(field, p))
                .collect()
        })
        .map_err(&fail)?;

    let (field, value, not_resource) =
        exactly_one(obj, "Resource", "NotResource").map_err(&fail)?;
    let resources = string_list(field, value)
        .and_then(|patterns| {
            patterns
                .into_iter()
                .map(|p| compile_resource(field, p, substitute))
                .collect()
        })
        .map_err(&fail)?;

    let conditions = match obj.get("Condition") {
        None => Box::default(),
        Some(block) => parse_condition_block(block, substitute).map_err(&fail)?,
    };

    Ok(Statement {
        effect,
        actions,
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

/// Returns (field name, value, whether it is the `Not` form).
fn exactly_one<'a>(
    obj: &'a Map<String, Value>,
    positive: &'static str,
    negative: &'static str,
) -> Result<(&'static str, &'a Value, bool), String> {
    match (obj.get(positive), obj.get(negative)) {
        (Some(v), None) => Ok((positive, v, false)),
        (None, Some(v)) => Ok((negative, v, true)),
        (Some(_), Some(_)) => Err(format!("both {positive:?} and {negative:?} given")),
        (None, None) => Err(format!("missing {positive:?} or {negative:?}")),
    }
}

/// A string or a non-empty array of strings.
fn string_list<'a>(field: &str, value: &'a Value) -> Result<Vec<&'a str>, String> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if items.is_empty() => Err(format!("{field} must not be empty")),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| format!("{field} entries must be strings, got {item}"))
            })
            .collect(),
        other => Err(format!(
            "{field} must be a string or an array of strings, got {other}"
        )),
    }
}

/// Actions are `service:action` patterns (or `*`), never contain policy variables, and are
/// lower-cased here because matching is case-insensitive.
fn compile_action(field: &str, pattern: &str) -> Result<Glob, String> {
    let has_service = pattern
        .split_once(':')
        .is_some_and(|(service, _)| !service.is_empty());
    if pattern != "*" && !has_service {
        return Err(format!(
            "{field} {pattern:?} has no service prefix (expected \"service:action\" or \"*\")"
        ));
    }
    Ok(Glob::compile(&pattern.to_ascii_lowercase()))
}

fn compile_resource(field: &str, pattern: &str, substitute: bool) -> Result<GlobTemplate, String> {
    if pattern != "*" && !pattern.starts_with("arn:") {
        return Err(format!("{field} {pattern:?} must be \"*\" or an ARN"));
    }
    GlobTemplate::compile(pattern, substitute).map_err(|e| format!("{field} {pattern:?} {e}"))
}

/// `{"Operator": {"key": value-or-array, ...}, ...}`; every (operator, key) pair becomes one
/// [`Condition`] and all are AND-ed.
fn parse_condition_block(block: &Value, substitute: bool) -> Result<Box<[Condition]>, String> {
    let operators = block.as_object().ok_or_else(|| {
        format!("Condition must be an object mapping operators to {{key: values}}, got {block}")
    })?;
    let mut conditions = Vec::new();
    for (op_name, keys) in operators {
        let keys = keys.as_object().ok_or_else(|| {
            format!("Condition operator {op_name:?} must map condition keys to values, got {keys}")
        })?;
        for (key, raw) in keys {
            if !key
                .split_once(':')
                .is_some_and(|(service, name)| !service.is_empty() && !name.is_empty())
            {
                return Err(format!(
                    "Condition {op_name} key {key:?} has no service prefix (expected \"service:key\")"
                ));
            }
            let values = condition_values(op_name, key, raw)?;
            conditions.push(Condition::compile(op_name, key, &values, substitute)?);
        }
    }
    Ok(conditions.into_boxed_slice())
}

/// Condition values may be strings, numbers or booleans (or a non-empty array of them); numbers keep
/// their literal text (serde_json's `arbitrary_precision`), so `1.50` stays `1.50`.
fn condition_values(op_name: &str, key: &str, raw: &Value) -> Result<Vec<String>, String> {
    let scalar = |v: &Value| {
        match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "Condition {op_name} value for key {key:?} must be a string, number or boolean, got {other}"
        )),
    }
    };
    match raw {
        Value::Array(items) if items.is_empty() => {
            Err(format!("Condition {op_name} key {key:?} has no values"))
        }
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}
