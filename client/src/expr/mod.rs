//! Typed condition, filter, key-condition, update and projection expressions.
//!
//! DynamoDB requests carry expressions as strings whose attribute names and values are
//! placeholders (`#n0`, `:v0`) defined in the request's `expression_attribute_names` and
//! `expression_attribute_values`. Writing those strings by hand invites typos, reserved-word
//! clashes and unused or missing placeholders, all of which the server only reports at run
//! time. Here expressions are built from typed attribute paths ([`Attr`]) instead, and
//! [`Expressions`] turns them into strings plus the two maps:
//!
//! * every attribute name is a placeholder, so reserved words (`status`, `name`, ...) and
//!   names with dots or spaces need no special care;
//! * every value is converted with [`crate::value::to_attribute_value`]; a value that fails
//!   to convert does not panic the builder but fails [`Expressions`]'s compile step;
//! * mistakes DynamoDB would reject that the builders can see (two updates of overlapping
//!   paths, an empty `IN`, `size` in an update) are reported before the request is sent,
//!   with DynamoDB's wording, as [`Error::Validation`](crate::Error::Validation).
//!
//! ```
//! use keyfall::expr::{attr, Expressions, KeyCondition, Projection};
//!
//! let pk = attr::<String>("pk");
//! let sk = attr::<String>("sk");
//! let total = attr::<u64>("total");
//! let status = attr::<String>("status");
//!
//! // One allocator per request: placeholders are shared by all of its expressions.
//! let mut ex = Expressions::new();
//! let key = ex.key_condition(
//!     &KeyCondition::partition(&pk, "CUSTOMER#1").sort_begins_with(&sk, "ORDER#"),
//! )?;
//! let filter = ex.filter(&(total.ge(100) & status.ne("CANCELLED")))?;
//! let projection = ex.projection(&Projection::new().with(&sk).with(&total).with(&status));
//! assert_eq!(key, "#n0 = :v0 AND begins_with(#n1, :v1)");
//! assert_eq!(filter, "#n2 >= :v2 AND #n3 <> :v3");
//! assert_eq!(projection, "#n1, #n2, #n3");
//!
//! let (names, values) = ex.into_parts();
//! assert_eq!(names["#n3"], "status");
//! assert_eq!(values[":v0"], keyfall::value::string("CUSTOMER#1"));
//! # Ok::<(), keyfall::Error>(())
//! ```
//!
//! An empty map from [`Expressions::into_parts`] means "send none": DynamoDB rejects an
//! empty `ExpressionAttributeValues` (e.g. for `attribute_exists(...)` alone), and every
//! placeholder in the maps is used by a compiled expression, so only compile the
//! expressions the request sends.

mod condition;
mod key;
mod operand;
mod path;
mod projection;
mod update;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use condition::{AttributeType, Condition};
pub use key::KeyCondition;
pub use operand::{attr, marker, Attr, Container, IntoOperand, IntoValue, Operand, Size};
pub use path::{Path, PathSegment};
pub use projection::Projection;
pub use update::{SetValue, Update};

use condition::Cond;
use key::SortCond;
use operand::{Op, Val};
use update::{Action, SetExpr};

use crate::value::AttributeValue;
use crate::Error;

/// The placeholders of one request.
///
/// Compile each of the request's expressions with the same `Expressions`, then put
/// [`Expressions::into_parts`] in the request. An attribute name used in several places,
/// even in different expressions, gets one `#n` placeholder; every value gets its own `:v`
/// placeholder (values are not compared, so equal values are sent twice). Placeholders are
/// numbered in the order they are written, so the output is deterministic.
///
/// A compile step that fails leaves the allocator as it was, so no placeholder of a
/// rejected expression reaches the request.
#[derive(Debug, Clone, Default)]
pub struct Expressions {
    names: Vec<String>,
    name_ids: HashMap<String, usize>,
    values: Vec<AttributeValue>,
}

impl Expressions {
    /// An allocator with no placeholders yet.
    pub fn new() -> Self {
        Expressions::default()
    }

    /// The `ConditionExpression` of a write. Fails on a value that did not convert, on an
    /// empty `IN` list, and on update functions (`if_not_exists`, `list_append`) used as
    /// operands.
    pub fn condition(&mut self, condition: &Condition) -> Result<String, Error> {
        self.compile(Kind::Condition, |w| w.cond(&condition.cond))
    }

    /// The `FilterExpression` of a query or scan: the same language as
    /// [`Expressions::condition`], with errors naming the filter.
    pub fn filter(&mut self, filter: &Condition) -> Result<String, Error> {
        self.compile(Kind::Filter, |w| w.cond(&filter.cond))
    }

    /// The `UpdateExpression`. Fails on a value that did not convert, on two actions whose
    /// paths overlap or conflict, and on functions not allowed where they are used.
    pub fn update(&mut self, update: &Update) -> Result<String, Error> {
        self.compile(Kind::Update, |w| w.update(update))
    }

    /// The `KeyConditionExpression` of a query. Fails on a value that did not convert.
    pub fn key_condition(&mut self, key: &KeyCondition) -> Result<String, Error> {
        self.compile(Kind::KeyCondition, |w| w.key_condition(key))
    }

    /// The `ProjectionExpression`; empty for an empty projection (which must not be sent).
    /// Cannot fail: a projection holds no values.
    pub fn projection(&mut self, projection: &Projection) -> String {
        let mut w = Writer {
            ex: self,
            out: String::new(),
            kind: Kind::Projection,
        };
        for (i, path) in projection.effective_paths().enumerate() {
            if i > 0 {
                w.out.push_str(", ");
            }
            w.path(path);
        }
        w.out
    }

    /// The request's `expression_attribute_names` and `expression_attribute_values`.
    pub fn into_parts(self) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
        let names = self
            .names
            .into_iter()
            .enumerate()
            .map(|(i, name)| (format!("#n{i}"), name))
            .collect();
        let values = self
            .values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!(":v{i}"), v))
            .collect();
        (names, values)
    }

    /// Runs one compile step, undoing its placeholders if it fails.
    fn compile(
        &mut self,
        kind: Kind,
        write: impl FnOnce(&mut Writer<'_>) -> Result<(), Error>,
    ) -> Result<String, Error> {
        let (names_before, values_before) = (self.names.len(), self.values.len());
        let mut w = Writer {
            ex: self,
            out: String::new(),
            kind,
        };
        match write(&mut w) {
            Ok(()) => Ok(w.out),
            Err(e) => {
                for name in self.names.drain(names_before..) {
                    self.name_ids.remove(&name);
                }
                self.values.truncate(values_before);
                Err(e)
            }
        }
    }

    fn name(&mut self, name: &str) -> usize {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len();
        self.names.push(name.to_string());
        self.name_ids.insert(name.to_string(), id);
        id
    }

    fn value(&mut self, value: AttributeValue) -> usize {
        self.values.push(value);
        self.values.len() - 1
    }
}

/// Which request parameter is being written, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Condition,
    Filter,
    Update,
    KeyCondition,
    Projection,
}

impl Kind {
    fn parameter(self) -> &'static str {
        match self {
            Kind::Condition => "ConditionExpression",
            Kind::Filter => "FilterExpression",
            Kind::Update => "UpdateExpression",
            Kind::KeyCondition => "KeyConditionExpression",
            Kind::Projection => "ProjectionExpression",
        }
    }
}

/// Where an operand stands, which decides the functions allowed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Condition,
    /// Directly on the right of `SET path =` (or of its `+`/`-`): `list_append` allowed.
    UpdateTop,
    /// Inside an update function.
    UpdateNested,
}

struct Writer<'a> {
    ex: &'a mut Expressions,
    out: String,
    kind: Kind,
}

type WResult = Result<(), Error>;

impl Writer<'_> {
    /// DynamoDB's `Invalid <Parameter>: <detail>` ValidationException.
    fn invalid(&self, detail: impl std::fmt::Display) -> Error {
        Error::Validation {
            message: format!("Invalid {}: {detail}", self.kind.parameter()),
        }
    }

    fn path(&mut self, path: &Path) {
        for (i, segment) in path.segments().iter().enumerate() {
            match segment {
                PathSegment::Name(name) => {
                    let id = self.ex.name(name);
                    if i > 0 {
                        self.out.push('.');
                    }
                    self.out.push_str(&format!("#n{id}"));
                }
                PathSegment::Index(index) => self.out.push_str(&format!("[{index}]")),
            }
        }
    }

    fn value(&mut self, value: &Val) -> WResult {
        let value = value.as_ref().map_err(|e| Error::Value(e.clone()))?;
        let id = self.ex.value(value.clone());
        self.out.push_str(&format!(":v{id}"));
        Ok(())
    }

    fn op(&mut self, op: &Op, place: Place) -> WResult {
        match (op, place) {
            (Op::Path(p), _) => self.path(p),
            (Op::Value(v), _) => self.value(v)?,
            (Op::Size(p), Place::Condition) => {
                self.out.push_str("size(");
                self.path(p);
                self.out.push(')');
            }
            (Op::Size(_), _) => {
                return Err(self.invalid(
                    "The function is not allowed in an update expression; function: size",
                ))
            }
            (Op::IfNotExists(..), Place::Condition) => {
                return Err(self.invalid(
                    "The function is not allowed in a condition expression; function: if_not_exists",
                ))
            }
            (Op::ListAppend(..), Place::Condition) => {
                return Err(self.invalid(
                    "The function is not allowed in a condition expression; function: list_append",
                ))
            }
            (Op::IfNotExists(p, default), _) => {
                self.out.push_str("if_not_exists(");
                self.path(p);
                self.out.push_str(", ");
                self.op(default, Place::UpdateNested)?;
                self.out.push(')');
            }
            (Op::ListAppend(first, second), Place::UpdateTop) => {
                self.out.push_str("list_append(");
                self.op(first, Place::UpdateNested)?;
                self.out.push_str(", ");
                self.op(second, Place::UpdateNested)?;
                self.out.push(')');
            }
            (Op::ListAppend(..), _) => {
                return Err(self.invalid(
                    "The function is not allowed to be used this way in an expression; function: list_append",
                ))
            }
        }
        Ok(())
    }

    fn ops(&mut self, ops: &[&Op], separator: &str) -> WResult {
        for (i, op) in ops.iter().enumerate() {
            if i > 0 {
                self.out.push_str(separator);
            }
            self.op(op, Place::Condition)?;
        }
        Ok(())
    }

    fn call(&mut self, function: &str, args: &[&Op]) -> WResult {
        self.out.push_str(function);
        self.out.push('(');
        self.ops(args, ", ")?;
        self.out.push(')');
        Ok(())
    }

    fn cond(&mut self, cond: &Cond) -> WResult {
        match cond {
            Cond::Compare(cmp, left, right) => {
                self.ops(&[left, right], &format!(" {} ", cmp.symbol()))?
            }
            Cond::Between(x, low, high) => {
                self.op(x, Place::Condition)?;
                self.out.push_str(" BETWEEN ");
                self.ops(&[low, high], " AND ")?;
            }
            Cond::In(x, list) => {
                if list.is_empty() {
                    return Err(self.invalid("The IN operator needs at least one operand"));
                }
                self.op(x, Place::Condition)?;
                self.out.push_str(" IN (");
                self.ops(&list.iter().collect::<Vec<_>>(), ", ")?;
                self.out.push(')');
            }
            Cond::Exists(p) => self.call("attribute_exists", &[&Op::Path(p.clone())])?,
            Cond::NotExists(p) => self.call("attribute_not_exists", &[&Op::Path(p.clone())])?,
            Cond::Type(p, t) => {
                let tag = Op::Value(Ok(crate::value::string(t.as_str())));
                self.call("attribute_type", &[&Op::Path(p.clone()), &tag])?
            }
            Cond::BeginsWith(x, prefix) => self.call("begins_with", &[x, prefix])?,
            Cond::Contains(x, operand) => self.call("contains", &[x, operand])?,
            Cond::And(terms) => self.terms(terms, " AND ")?,
            Cond::Or(terms) => self.terms(terms, " OR ")?,
            Cond::Not(inner) => {
                self.out.push_str("NOT ");
                self.grouped(inner)?;
            }
        }
        Ok(())
    }

    fn terms(&mut self, terms: &[Cond], separator: &str) -> WResult {
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                self.out.push_str(separator);
            }
            self.grouped(term)?;
        }
        Ok(())
    }

    /// A condition inside AND, OR or NOT: parenthesized when it is itself an AND or OR, so
    /// that the tree's grouping survives the expression's precedence (and mixed AND/OR
    /// reads unambiguously). Never doubles parentheses, which DynamoDB rejects.
    fn grouped(&mut self, cond: &Cond) -> WResult {
        if matches!(cond, Cond::And(_) | Cond::Or(_)) {
            self.out.push('(');
            self.cond(cond)?;
            self.out.push(')');
            Ok(())
        } else {
            self.cond(cond)
        }
    }

    fn update(&mut self, update: &Update) -> WResult {
        let mut actions: Vec<&Action> = update.actions.iter().collect();
        actions.sort_by_key(|a| a.clause());
        self.check_overlaps(&actions)?;
        let mut previous = None;
        for action in actions {
            let clause = action.clause();
            if previous == Some(clause) {
                self.out.push_str(", ");
            } else {
                if previous.is_some() {
                    self.out.push(' ');
                }
                self.out.push_str(clause.keyword());
                self.out.push(' ');
                previous = Some(clause);
            }
            self.path(action.path());
            match action {
                Action::Set(_, value) => {
                    self.out.push_str(" = ");
                    match value {
                        SetExpr::Operand(op) => self.op(op, Place::UpdateTop)?,
                        SetExpr::Plus(l, r) | SetExpr::Minus(l, r) => {
                            self.op(l, Place::UpdateTop)?;
                            self.out.push_str(if matches!(value, SetExpr::Plus(..)) {
                                " + "
                            } else {
                                " - "
                            });
                            self.op(r, Place::UpdateTop)?;
                        }
                    }
                }
                Action::Remove(_) => {}
                Action::Add(_, v) | Action::Delete(_, v) => {
                    self.out.push(' ');
                    self.value(v)?;
                }
            }
        }
        Ok(())
    }

    /// DynamoDB's rule for the paths one update writes: none may lead into another
    /// ("overlap"), nor index a list where another names a map key ("conflict").
    fn check_overlaps(&self, actions: &[&Action]) -> WResult {
        for (j, later) in actions.iter().enumerate() {
            let later = later.path();
            for earlier in actions.iter().take(j).map(|a| a.path()) {
                let mut verdict = Some("overlap");
                for pair in earlier.segments().iter().zip(later.segments()) {
                    match pair {
                        (PathSegment::Name(a), PathSegment::Name(b)) if a == b => {}
                        (PathSegment::Index(a), PathSegment::Index(b)) if a == b => {}
                        (PathSegment::Name(_), PathSegment::Name(_))
                        | (PathSegment::Index(_), PathSegment::Index(_)) => {
                            verdict = None;
                            break;
                        }
                        _ => {
                            verdict = Some("conflict");
                            break;
                        }
                    }
                }
                if let Some(verdict) = verdict {
                    return Err(self.invalid(format!(
                        "Two document paths {verdict} with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                        earlier.message_form(),
                        later.message_form()
                    )));
                }
            }
        }
        Ok(())
    }

    fn key_condition(&mut self, key: &KeyCondition) -> WResult {
        let (path, value) = &key.partition;
        self.path(path);
        self.out.push_str(" = ");
        self.value(value)?;
        let Some(sort) = &key.sort else {
            return Ok(());
        };
        self.out.push_str(" AND ");
        match sort {
            SortCond::Compare(cmp, path, value) => {
                self.path(path);
                self.out.push_str(&format!(" {} ", cmp.symbol()));
                self.value(value)?;
            }
            SortCond::Between(path, low, high) => {
                self.path(path);
                self.out.push_str(" BETWEEN ");
                self.value(low)?;
                self.out.push_str(" AND ");
                self.value(high)?;
            }
            SortCond::BeginsWith(path, prefix) => {
                self.out.push_str("begins_with(");
                self.path(path);
                self.out.push_str(", ");
                self.value(prefix)?;
                self.out.push(')');
            }
        }
        Ok(())
    }
}
