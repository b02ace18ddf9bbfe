//! The statements DynamoDB runs, as parsed: before parameters are bound and before the
//! table's key schema decides how each runs.

use crate::expr::{Comparator, DocumentPath};
use crate::model::AttributeValue;

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    /// `EXISTS(SELECT ...)`: a transaction's condition check.
    Exists(Select),
}

impl Statement {
    /// The table the statement names.
    pub fn table(&self) -> &str {
        match self {
            Statement::Select(s) | Statement::Exists(s) => &s.table,
            Statement::Insert(i) => &i.table,
            Statement::Update(u) => &u.table,
            Statement::Delete(d) => &d.table,
        }
    }

    /// The table and index the statement reads or writes (writes name no index).
    pub fn source(&self) -> (&str, Option<&str>) {
        match self {
            Statement::Select(s) | Statement::Exists(s) => (&s.table, s.index.as_deref()),
            other => (other.table(), None),
        }
    }

    /// A read (`SELECT`) rather than a write (`EXISTS` is a transaction's condition
    /// check, one of its writes, as DynamoDB counts it).
    pub fn is_read(&self) -> bool {
        matches!(self, Statement::Select(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `None` for `*`.
    pub projection: Option<Vec<DocumentPath>>,
    pub table: String,
    pub index: Option<String>,
    pub filter: Option<Expr>,
    /// `ORDER BY` attributes, each `true` when descending.
    pub order: Vec<(DocumentPath, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: String,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: String,
    pub actions: Vec<Action>,
    pub filter: Expr,
    pub returning: Option<Returning>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Set(DocumentPath, Expr),
    Remove(DocumentPath),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: String,
    pub filter: Expr,
    pub returning: Option<Returning>,
}

/// `RETURNING (ALL | MODIFIED) (OLD | NEW) *`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returning {
    AllOld,
    ModifiedOld,
    AllNew,
    ModifiedNew,
}

impl Returning {
    /// As written, for messages.
    pub fn text(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL OLD *",
            Returning::ModifiedOld => "MODIFIED OLD *",
            Returning::AllNew => "ALL NEW *",
            Returning::ModifiedNew => "MODIFIED NEW *",
        }
    }
}

/// What `IS [NOT] ...` tests: `NULL`, `MISSING`, or a type (`BOOLEAN`, `NUMERIC`,
/// `STRING`, `BLOB`, `STRUCT`/`TUPLE`, `LIST`) as its DynamoDB type tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    Null,
    Missing,
    Type(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Plus,
    Minus,
}

/// An expression of a WHERE clause, a SET value or an inserted value.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Value(AttributeValue),
    /// The `n`th `?` (from 0).
    Param(usize),
    Path(DocumentPath),
    /// `{'k': v, ...}`, `[v, ...]`, `<<v, ...>>` with members not yet values.
    Map(Vec<(String, Expr)>),
    List(Vec<Expr>),
    Bag(Vec<Expr>),
    Missing,
    /// A function call, the name lowercased.
    Call(String, Vec<Expr>),
    Compare(Comparator, Box<Expr>, Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    Is {
        expr: Box<Expr>,
        what: Absence,
        negated: bool,
    },
}
