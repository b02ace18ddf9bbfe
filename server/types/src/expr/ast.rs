//! The resolved expression tree: placeholders substituted, names split into document paths,
//! everything validated. The engine evaluates only this, whichever parameter style
//! (expressions or the legacy conditional parameters) a request used.

use std::fmt;

use crate::model::AttributeValue;

pub use super::parser::Comparator;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElement {
    Attr(String),
    Index(usize),
}

/// A document path: `a.b[3].c` is `[Attr(a), Attr(b), Index(3), Attr(c)]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentPath(pub Vec<PathElement>);

impl DocumentPath {
    /// A top-level attribute.
    pub fn attr(name: impl Into<String>) -> Self {
        DocumentPath(vec![PathElement::Attr(name.into())])
    }

    /// The top-level attribute the path starts in.
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathElement::Attr(a)) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for DocumentPath {
    /// DynamoDB's rendering in messages: `[a, b, [3], c]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match e {
                PathElement::Attr(a) => f.write_str(a)?,
                PathElement::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}

/// A value-producing operand of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(DocumentPath),
    Value(AttributeValue),
    /// `size(operand)`
    Size(Box<Operand>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Always true (an empty legacy `Expected`).
    True,
    Compare(Comparator, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    AttributeExists(DocumentPath),
    AttributeNotExists(DocumentPath),
    AttributeType(Operand, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Visits every document path the condition reads (for `dynamodb:Attributes`, and for
    /// the key attributes a filter may not name).
    pub fn for_each_path<'a>(&'a self, visit: &mut dyn FnMut(&'a DocumentPath)) {
        match self {
            Condition::True => {}
            Condition::Compare(_, a, b)
            | Condition::AttributeType(a, b)
            | Condition::BeginsWith(a, b)
            | Condition::Contains(a, b) => {
                a.for_each_path(visit);
                b.for_each_path(visit);
            }
            Condition::Between(a, b, c) => {
                a.for_each_path(visit);
                b.for_each_path(visit);
                c.for_each_path(visit);
            }
            Condition::In(a, list) => {
                a.for_each_path(visit);
                list.iter().for_each(|o| o.for_each_path(visit));
            }
            Condition::AttributeExists(p) | Condition::AttributeNotExists(p) => visit(p),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.for_each_path(visit);
                b.for_each_path(visit);
            }
            Condition::Not(a) => a.for_each_path(visit),
        }
    }
}

impl Operand {
    fn for_each_path<'a>(&'a self, visit: &mut dyn FnMut(&'a DocumentPath)) {
        match self {
            Operand::Path(p) => visit(p),
            Operand::Value(_) => {}
            Operand::Size(inner) => inner.for_each_path(visit),
        }
    }
}

/// A value in an update expression's SET clause.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOperand {
    Path(DocumentPath),
    Value(AttributeValue),
    IfNotExists(DocumentPath, Box<UpdateOperand>),
    ListAppend(Box<UpdateOperand>, Box<UpdateOperand>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Operand(UpdateOperand),
    Plus(UpdateOperand, UpdateOperand),
    Minus(UpdateOperand, UpdateOperand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    Set(DocumentPath, SetValue),
    Remove(DocumentPath),
    Add(DocumentPath, AttributeValue),
    Delete(DocumentPath, AttributeValue),
}

impl UpdateAction {
    pub fn path(&self) -> &DocumentPath {
        match self {
            UpdateAction::Set(p, _)
            | UpdateAction::Remove(p)
            | UpdateAction::Add(p, _)
            | UpdateAction::Delete(p, _) => p,
        }
    }
}

/// Whose rules `Update::apply` follows where UpdateExpression and AttributeUpdates differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateStyle {
    #[default]
    Expression,
    /// AttributeUpdates: ADD appends to lists, type errors read "Type mismatch for attribute to update".
    Legacy,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub actions: Vec<UpdateAction>,
    pub style: UpdateStyle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub paths: Vec<DocumentPath>,
}

/// Renders conditions back to expression text, with every attribute name and value as a
/// placeholder (so reserved words and odd names survive): `parse` of the output gives the
/// same tree back.
#[derive(Debug, Default)]
pub struct Printer {
    pub names: std::collections::HashMap<String, String>,
    pub values: std::collections::HashMap<String, AttributeValue>,
    by_name: std::collections::HashMap<String, String>,
}

impl Printer {
    fn name(&mut self, n: &str) -> String {
        if let Some(k) = self.by_name.get(n) {
            return k.clone();
        }
        let k = format!("#n{}", self.by_name.len());
        self.by_name.insert(n.to_string(), k.clone());
        self.names.insert(k.clone(), n.to_string());
        k
    }

    fn value(&mut self, v: &AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v.clone());
        k
    }

    pub fn path(&mut self, p: &DocumentPath) -> String {
        let mut out = String::new();
        for (i, e) in p.0.iter().enumerate() {
            match e {
                PathElement::Attr(a) => {
                    if i > 0 {
                        out.push('.');
                    }
                    let k = self.name(a);
                    out.push_str(&k);
                }
                PathElement::Index(n) => out.push_str(&format!("[{n}]")),
            }
        }
        out
    }

    pub fn operand(&mut self, o: &Operand) -> String {
        match o {
            Operand::Path(p) => self.path(p),
            Operand::Value(v) => self.value(v),
            Operand::Size(inner) => format!("size({})", self.operand(inner)),
        }
    }

    /// The expression text of `c`; `None` for [`Condition::True`], which has no syntax.
    pub fn condition(&mut self, c: &Condition) -> Option<String> {
        Some(match c {
            Condition::True => return None,
            Condition::Compare(cmp, a, b) => {
                format!("{} {} {}", self.operand(a), cmp.symbol(), self.operand(b))
            }
            Condition::Between(a, lo, hi) => {
                format!(
                    "{} BETWEEN {} AND {}",
                    self.operand(a),
                    self.operand(lo),
                    self.operand(hi)
                )
            }
            Condition::In(a, list) => {
                let a = self.operand(a);
                let list: Vec<String> = list.iter().map(|o| self.operand(o)).collect();
                format!("{a} IN ({})", list.join(", "))
            }
            Condition::AttributeExists(p) => format!("attribute_exists({})", self.path(p)),
            Condition::AttributeNotExists(p) => format!("attribute_not_exists({})", self.path(p)),
            Condition::AttributeType(a, t) => {
                format!("attribute_type({}, {})", self.operand(a), self.operand(t))
            }
            Condition::BeginsWith(a, b) => {
                format!("begins_with({}, {})", self.operand(a), self.operand(b))
            }
            Condition::Contains(a, b) => {
                format!("contains({}, {})", self.operand(a), self.operand(b))
            }
            Condition::And(a, b) => {
                format!("({}) AND ({})", self.condition(a)?, self.condition(b)?)
            }
            Condition::Or(a, b) => format!("({}) OR ({})", self.condition(a)?, self.condition(b)?),
            Condition::Not(a) => format!("NOT ({})", self.condition(a)?),
        })
    }
}
