//! DynamoDB's expression language: condition, filter and key-condition expressions, update
//! expressions, projection expressions, and the legacy conditional parameters converted to
//! the same tree ([`legacy`]).
//!
//! [`parse`] reads every expression of one request once, substitutes `#names` and `:values`,
//! and applies DynamoDB's request-wide rules. The result is evaluated with
//! [`Condition::evaluate`], [`Update::apply`] and [`Projection::apply`] / [`project`]. Every
//! error is an [`ExprError`] whose `Display` is DynamoDB's ValidationException message,
//! verified against DynamoDB Local (see `tests/`).
//!
//! Layout: `lexer` → `parser` (raw tree, syntax errors) → `validate` (DynamoDB's semantic
//! checks, in its order; substitution) → `ast` (the resolved tree) → `eval` / `update` /
//! `project`.

mod ast;
mod error;
pub(crate) mod eval;
pub mod key_condition;
pub mod legacy;
mod lexer;
mod parser;
mod project;
pub mod reserved;
mod update;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::model::AttributeValue;

pub use ast::{
    Comparator, Condition, DocumentPath, Operand, PathElement, Printer, Projection, SetValue,
    Update, UpdateAction, UpdateOperand, UpdateStyle,
};
pub use error::{ExprError, ExprKind};
pub use eval::resolve;
pub use project::project;

use parser::Parser;
use validate::Ctx;

/// Longest expression string DynamoDB accepts, in bytes.
pub const MAX_EXPRESSION_SIZE: usize = 4096;
/// Longest `#name` / `:value` placeholder, in bytes (including the `#`/`:`).
pub const MAX_PLACEHOLDER_SIZE: usize = 255;
/// Most operators one expression may contain.
pub const MAX_OPERATORS: usize = 300;
/// Most elements in one document path.
pub const MAX_PATH_DEPTH: usize = 32;
/// Deepest nesting of maps and lists in an expression attribute value.
const MAX_VALUE_DEPTH: usize = 32;

/// The expression parameters of one request, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpressionInput<'a> {
    /// ConditionExpression
    pub condition: Option<&'a str>,
    /// UpdateExpression
    pub update: Option<&'a str>,
    /// ProjectionExpression
    pub projection: Option<&'a str>,
    /// FilterExpression
    pub filter: Option<&'a str>,
    /// KeyConditionExpression (parsed as a condition; Query's key analysis is the engine's)
    pub key_condition: Option<&'a str>,
    /// ExpressionAttributeNames
    pub names: Option<&'a HashMap<String, String>>,
    /// ExpressionAttributeValues
    pub values: Option<&'a HashMap<String, AttributeValue>>,
}

/// The parsed expressions of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expressions {
    pub condition: Option<Condition>,
    pub update: Option<Update>,
    pub projection: Option<Projection>,
    pub filter: Option<Condition>,
    pub key_condition: Option<Condition>,
}

/// Parses every expression of one request once, substitutes #names and :values, and applies
/// DynamoDB's request-wide rules (unused names/values across all expressions of the request,
/// undefined placeholders, empty-map ExpressionAttributeNames/Values errors, size limits).
///
/// Order of the checks, as DynamoDB makes them: the two maps (emptiness, keys, values), then
/// each expression in full (UpdateExpression, ConditionExpression, FilterExpression,
/// ProjectionExpression, KeyConditionExpression), then unused names, then unused values.
pub fn parse(input: &ExpressionInput) -> Result<Expressions, ExprError> {
    let any_expression = input.condition.is_some()
        || input.update.is_some()
        || input.projection.is_some()
        || input.filter.is_some()
        || input.key_condition.is_some();
    if input.names.is_some() && !any_expression {
        return Err(ExprError::plain(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    check_maps(input.names, input.values)?;

    let mut used_names = HashSet::new();
    let mut used_values = HashSet::new();
    let mut out = Expressions::default();
    macro_rules! ctx {
        ($kind:expr) => {
            &mut Ctx {
                kind: $kind,
                names: input.names,
                values: input.values,
                used_names: &mut used_names,
                used_values: &mut used_values,
            }
        };
    }
    if let Some(src) = input.update {
        out.update = Some(parse_update(src, ctx!(ExprKind::Update))?);
    }
    if let Some(src) = input.condition {
        out.condition = Some(parse_condition(src, ctx!(ExprKind::Condition))?);
    }
    if let Some(src) = input.filter {
        out.filter = Some(parse_condition(src, ctx!(ExprKind::Filter))?);
    }
    if let Some(src) = input.projection {
        out.projection = Some(parse_projection(src, ctx!(ExprKind::Projection))?);
    }
    if let Some(src) = input.key_condition {
        out.key_condition = Some(parse_condition(src, ctx!(ExprKind::KeyCondition))?);
    }
    if let Some(names) = input.names {
        let unused = sorted_keys(names.keys().filter(|k| !used_names.contains(*k)));
        if !unused.is_empty() {
            return Err(ExprError::plain(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                unused.join(", ")
            )));
        }
    }
    if let Some(values) = input.values {
        let unused = sorted_keys(values.keys().filter(|k| !used_values.contains(*k)));
        if !unused.is_empty() {
            return Err(ExprError::plain(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                unused.join(", ")
            )));
        }
    }
    Ok(out)
}

fn sorted_keys<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut v: Vec<&str> = keys.map(String::as_str).collect();
    v.sort_unstable();
    v
}

fn placeholder_ok(key: &str, prefix: u8) -> bool {
    match key.as_bytes() {
        [first, rest @ ..] => {
            *first == prefix
                && !rest.is_empty()
                && rest.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        [] => false,
    }
}

fn check_maps(
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> Result<(), ExprError> {
    if let Some(names) = names {
        if names.is_empty() {
            return Err(ExprError::plain(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        for k in sorted_keys(names.keys()) {
            if k.len() > MAX_PLACEHOLDER_SIZE {
                return Err(ExprError::plain(format!(
                    "ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is too long; size of key: {}",
                    k.len()
                )));
            }
            if !placeholder_ok(k, b'#') {
                return Err(ExprError::plain(format!(
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{k}\""
                )));
            }
        }
    }
    if let Some(values) = values {
        if values.is_empty() {
            return Err(ExprError::plain(
                "ExpressionAttributeValues must not be empty",
            ));
        }
        let keys = sorted_keys(values.keys());
        for k in &keys {
            if k.len() > MAX_PLACEHOLDER_SIZE {
                return Err(ExprError::plain(
                    "ExpressionAttributeValues contains invalid key: The expression attribute map contains a key that is too long;",
                ));
            }
            if !placeholder_ok(k, b':') {
                return Err(ExprError::plain(format!(
                    "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
                )));
            }
        }
        for k in keys {
            if let Some(Err(msg)) = values.get(k).map(|v| check_value(v, 1)) {
                return Err(ExprError::plain(format!(
                    "ExpressionAttributeValues contains invalid value: {msg} for key {k}"
                )));
            }
        }
    }
    if let Some(names) = names {
        for k in sorted_keys(names.keys()) {
            let v = names.get(k).map_or("", String::as_str);
            if v.is_empty() {
                return Err(ExprError::plain(format!("ExpressionAttributeNames contains invalid value: Empty attribute name for key {k}")));
            }
            if v.len() > 65535 {
                return Err(ExprError::plain(format!(
                    "ExpressionAttributeNames contains invalid value: Attribute name is too large, must be less than 65536 bytes for key {k}"
                )));
            }
        }
    }
    Ok(())
}

/// The rules every stored value obeys, with the wording DynamoDB uses for expression values.
pub(crate) fn check_value(v: &AttributeValue, depth: usize) -> Result<(), String> {
    fn dups<T: PartialEq>(v: &[T]) -> bool {
        v.iter()
            .enumerate()
            .any(|(i, x)| v.iter().take(i).any(|y| y == x))
    }
    const EMPTY: &str = "One or more parameter values were invalid: An {} set  may not be empty";
    match v {
        AttributeValue::Ss(x) if x.is_empty() => Err(EMPTY.replace("{}", "string")),
        AttributeValue::Ns(x) if x.is_empty() => Err(EMPTY.replace("{}", "number")),
        AttributeValue::Bs(x) if x.is_empty() => Err(EMPTY.replace("{}", "binary")),
        AttributeValue::Ss(x) if dups(x) => {
            Err(format!("One or more parameter values were invalid: Input collection [{}] contains duplicates", x.join(", ")))
        }
        AttributeValue::Ns(x) if dups(x) => Err("Input collection contains duplicates".into()),
        AttributeValue::Bs(x) if dups(x) => {
            Err("One or more parameter values were invalid: Input collection of type BS contains duplicates.".into())
        }
        AttributeValue::M(_) | AttributeValue::L(_) if depth > MAX_VALUE_DEPTH => {
            Err("Nesting Levels have exceeded supported limits".into())
        }
        AttributeValue::M(m) => m.values().try_for_each(|x| check_value(x, depth + 1)),
        AttributeValue::L(l) => l.iter().try_for_each(|x| check_value(x, depth + 1)),
        _ => Ok(()),
    }
}

/// The checks every expression string gets before it is parsed.
fn check_source(src: &str, kind: ExprKind) -> Result<(), ExprError> {
    if src.is_empty() {
        return Err(ExprError::invalid(kind, "The expression can not be empty;"));
    }
    if src.len() > MAX_EXPRESSION_SIZE {
        let detail = match kind {
            ExprKind::Update | ExprKind::Projection => {
                "Expression size has exceeded the maximum allowed size;".to_string()
            }
            _ => format!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                src.len()
            ),
        };
        return Err(ExprError::invalid(kind, detail));
    }
    Ok(())
}

fn too_many_operators(p: &Parser, kind: ExprKind) -> Result<(), ExprError> {
    if p.operators > MAX_OPERATORS {
        return Err(ExprError::invalid(
            kind,
            format!(
                "The expression contains too many operators; operator count: {}",
                MAX_OPERATORS + 1
            ),
        ));
    }
    Ok(())
}

fn parse_condition(src: &str, ctx: &mut Ctx) -> Result<Condition, ExprError> {
    check_source(src, ctx.kind)?;
    let mut p = Parser::new(src);
    let raw = p
        .parse_condition()
        .map_err(|f| ExprError::invalid(ctx.kind, p.message(&f)))?;
    too_many_operators(&p, ctx.kind)?;
    validate::condition(&raw, ctx)
}

fn parse_update(src: &str, ctx: &mut Ctx) -> Result<Update, ExprError> {
    check_source(src, ctx.kind)?;
    let mut p = Parser::new(src);
    let raw = p
        .parse_update()
        .map_err(|f| ExprError::invalid(ctx.kind, p.message(&f)))?;
    too_many_operators(&p, ctx.kind)?;
    validate::update(&raw, ctx)
}

fn parse_projection(src: &str, ctx: &mut Ctx) -> Result<Projection, ExprError> {
    check_source(src, ctx.kind)?;
    let mut p = Parser::new(src);
    let raw = p
        .parse_projection()
        .map_err(|f| ExprError::invalid(ctx.kind, p.message(&f)))?;
    validate::projection(&raw, ctx)
}

/// Adds `p`'s top-level attribute name to `out` once.
fn push_top(out: &mut Vec<String>, p: &DocumentPath) {
    if let Some(top) = p.top() {
        if !out.iter().any(|n| n == top) {
            out.push(top.to_string());
        }
    }
}

// The top-level attribute names a parsed tree reads or writes (nested path elements and
// function names left out), for `dynamodb:Attributes`. Computed from the same tree the
// engine evaluates, so a policy sees exactly what will be touched.

impl Expressions {
    /// What every parsed expression of a request touches.
    pub fn top_level_names(&self, out: &mut Vec<String>) {
        for c in [&self.condition, &self.filter, &self.key_condition]
            .into_iter()
            .flatten()
        {
            c.top_level_names(out);
        }
        if let Some(p) = &self.projection {
            p.top_level_names(out);
        }
        if let Some(u) = &self.update {
            u.top_level_names(out);
        }
    }
}

impl Condition {
    pub fn top_level_names(&self, out: &mut Vec<String>) {
        self.for_each_path(&mut |p| push_top(out, p));
    }
}

impl Projection {
    pub fn top_level_names(&self, out: &mut Vec<String>) {
        self.paths.iter().for_each(|p| push_top(out, p));
    }
}

impl Update {
    pub fn top_level_names(&self, out: &mut Vec<String>) {
        let mut push = |p: &DocumentPath| push_top(out, p);
        for action in &self.actions {
            push(action.path());
            if let UpdateAction::Set(_, v) = action {
                match v {
                    SetValue::Operand(o) => update_operand_paths(o, &mut push),
                    SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
                        update_operand_paths(a, &mut push);
                        update_operand_paths(b, &mut push);
                    }
                }
            }
        }
    }
}

fn update_operand_paths(o: &UpdateOperand, push: &mut dyn FnMut(&DocumentPath)) {
    match o {
        UpdateOperand::Path(p) => push(p),
        UpdateOperand::Value(_) => {}
        UpdateOperand::IfNotExists(p, v) => {
            push(p);
            update_operand_paths(v, push);
        }
        UpdateOperand::ListAppend(a, b) => {
            update_operand_paths(a, push);
            update_operand_paths(b, push);
        }
    }
}
