//! Condition and filter expressions.

use std::fmt;
use std::ops::{BitAnd, BitOr, Not};

use super::operand::{Attr, Container, IntoOperand, Op, Size};
use super::path::Path;

/// DynamoDB's attribute type names, for [`Attr::is_type`] (`attribute_type(path, :t)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
    /// String set.
    Ss,
    /// Number set.
    Ns,
    /// Binary set.
    Bs,
    /// Map.
    M,
    /// List.
    L,
    /// Null.
    Null,
    /// Boolean.
    Bool,
}

impl AttributeType {
    /// The name DynamoDB uses on the wire (`"SS"`, `"NULL"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
            AttributeType::Ss => "SS",
            AttributeType::Ns => "NS",
            AttributeType::Bs => "BS",
            AttributeType::M => "M",
            AttributeType::L => "L",
            AttributeType::Null => "NULL",
            AttributeType::Bool => "BOOL",
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Compare(Cmp, Op, Op),
    Between(Op, Op, Op),
    In(Op, Vec<Op>),
    Exists(Path),
    NotExists(Path),
    Type(Path, AttributeType),
    BeginsWith(Op, Op),
    Contains(Op, Op),
    /// At least two terms, none of them an `And` (flattened on construction).
    And(Vec<Cond>),
    /// At least two terms, none of them an `Or`.
    Or(Vec<Cond>),
    /// Never directly around another `Not` (double negation cancels on construction).
    Not(Box<Cond>),
}

/// A condition on an item: a `ConditionExpression` for a write, or a `FilterExpression` for
/// a query or scan.
///
/// Built from [`Attr`] methods and combined with [`Condition::and`] / `&`,
/// [`Condition::or`] / `|` and [`Condition::not`] / `!`. The tree keeps the grouping it was
/// built with: parentheses are written wherever the expression's own precedence
/// (`NOT` over `AND` over `OR`) would otherwise regroup it.
///
/// ```
/// use keyfall::expr::{attr, Condition, Expressions};
///
/// let status = attr::<String>("status");
/// let total = attr::<u64>("total");
/// let cond = (status.eq("OPEN") | status.eq("HELD")) & total.between(10, 99) & !attr::<u64>("deleted_at").exists();
///
/// let mut ex = Expressions::new();
/// assert_eq!(
///     ex.condition(&cond)?,
///     "(#n0 = :v0 OR #n0 = :v1) AND #n1 BETWEEN :v2 AND :v3 AND NOT attribute_exists(#n2)"
/// );
/// let (names, values) = ex.into_parts();
/// assert_eq!(names["#n0"], "status");
/// assert_eq!(values.len(), 4);
/// # Ok::<(), keyfall::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Condition {
    pub(crate) cond: Cond,
}

impl Condition {
    fn from(cond: Cond) -> Self {
        Condition { cond }
    }

    /// Both conditions (`a AND b`).
    pub fn and(self, other: Condition) -> Condition {
        let mut terms = Vec::new();
        for c in [self.cond, other.cond] {
            match c {
                Cond::And(inner) => terms.extend(inner),
                c => terms.push(c),
            }
        }
        Condition::from(Cond::And(terms))
    }

    /// Either condition (`a OR b`).
    pub fn or(self, other: Condition) -> Condition {
        let mut terms = Vec::new();
        for c in [self.cond, other.cond] {
            match c {
                Cond::Or(inner) => terms.extend(inner),
                c => terms.push(c),
            }
        }
        Condition::from(Cond::Or(terms))
    }

    /// The opposite condition (`NOT c`). Also available as the `!` operator; this inherent
    /// form needs no `use std::ops::Not`.
    #[allow(clippy::should_implement_trait)] // it is implemented too, below
    pub fn not(self) -> Condition {
        match self.cond {
            Cond::Not(inner) => Condition::from(*inner),
            c => Condition::from(Cond::Not(Box::new(c))),
        }
    }

    /// All of the conditions (`a AND b AND ...`), for conditions collected at run time.
    /// `None` when there are none, since DynamoDB has no "true" expression: leave the
    /// condition out of the request instead.
    pub fn all(conditions: impl IntoIterator<Item = Condition>) -> Option<Condition> {
        conditions.into_iter().reduce(Condition::and)
    }

    /// Any of the conditions (`a OR b OR ...`); `None` when there are none.
    pub fn any(conditions: impl IntoIterator<Item = Condition>) -> Option<Condition> {
        conditions.into_iter().reduce(Condition::or)
    }
}

impl BitAnd for Condition {
    type Output = Condition;

    /// [`Condition::and`].
    fn bitand(self, other: Condition) -> Condition {
        self.and(other)
    }
}

impl BitOr for Condition {
    type Output = Condition;

    /// [`Condition::or`].
    fn bitor(self, other: Condition) -> Condition {
        self.or(other)
    }
}

impl Not for Condition {
    type Output = Condition;

    /// [`Condition::not`].
    fn not(self) -> Condition {
        Condition::not(self)
    }
}

/// The comparisons shared by attributes and `size(...)`.
fn compare(cmp: Cmp, left: Op, right: Op) -> Condition {
    Condition::from(Cond::Compare(cmp, left, right))
}

fn in_list(left: Op, list: Vec<Op>) -> Condition {
    Condition::from(Cond::In(left, list))
}

impl<T> Attr<T> {
    /// `path = value`; `value` may also be another attribute or a `size(...)`.
    pub fn eq<M>(&self, value: impl IntoOperand<T, M>) -> Condition {
        compare(Cmp::Eq, self.op(), value.into_operand().op)
    }

    /// `path <> value`. True when the attribute is missing, as in DynamoDB.
    pub fn ne<M>(&self, value: impl IntoOperand<T, M>) -> Condition {
        compare(Cmp::Ne, self.op(), value.into_operand().op)
    }

    /// `path < value`.
    pub fn lt<M>(&self, value: impl IntoOperand<T, M>) -> Condition {
        compare(Cmp::Lt, self.op(), value.into_operand().op)
    }

    /// `path <= value`.
    pub fn le<M>(&self, value: impl IntoOperand<T, M>) -> Condition {
        compare(Cmp::Le, self.op(), value.into_operand().op)
    }

    /// `path > value`.
    pub fn gt<M>(&self, value: impl IntoOperand<T, M>) -> Condition {
        compare(Cmp::Gt, self.op(), value.into_operand().op)
    }

    /// `path >= value`.
    pub fn ge<M>(&self, value: impl IntoOperand<T, M>) -> Condition {
        compare(Cmp::Ge, self.op(), value.into_operand().op)
    }

    /// `path BETWEEN low AND high`, both bounds included.
    pub fn between<M1, M2>(
        &self,
        low: impl IntoOperand<T, M1>,
        high: impl IntoOperand<T, M2>,
    ) -> Condition {
        Condition::from(Cond::Between(
            self.op(),
            low.into_operand().op,
            high.into_operand().op,
        ))
    }

    /// `path IN (v1, v2, ...)`. An empty list is reported when the expression is compiled,
    /// since DynamoDB has no empty `IN`.
    pub fn in_list<M, I>(&self, values: I) -> Condition
    where
        I: IntoIterator,
        I::Item: IntoOperand<T, M>,
    {
        in_list(
            self.op(),
            values.into_iter().map(|v| v.into_operand().op).collect(),
        )
    }

    /// `attribute_exists(path)`.
    pub fn exists(&self) -> Condition {
        Condition::from(Cond::Exists(self.path().clone()))
    }

    /// `attribute_not_exists(path)`, e.g. on the partition key to create an item only
    /// when it is new.
    pub fn not_exists(&self) -> Condition {
        Condition::from(Cond::NotExists(self.path().clone()))
    }

    /// `attribute_type(path, :type)`.
    pub fn is_type(&self, attribute_type: AttributeType) -> Condition {
        Condition::from(Cond::Type(self.path().clone(), attribute_type))
    }

    /// `begins_with(path, prefix)`, for strings and binaries.
    pub fn begins_with<M>(&self, prefix: impl IntoOperand<T, M>) -> Condition {
        Condition::from(Cond::BeginsWith(self.op(), prefix.into_operand().op))
    }

    /// `contains(path, operand)`: a substring of a string attribute, or an element of a set
    /// or list attribute (hence the operand is of the [`Container::Element`] type).
    pub fn contains<M>(&self, operand: impl IntoOperand<T::Element, M>) -> Condition
    where
        T: Container,
    {
        Condition::from(Cond::Contains(self.op(), operand.into_operand().op))
    }
}

impl Size {
    /// `size(path) = n`.
    pub fn eq<M>(&self, n: impl IntoOperand<u64, M>) -> Condition {
        compare(Cmp::Eq, self.op(), n.into_operand().op)
    }

    /// `size(path) <> n`.
    pub fn ne<M>(&self, n: impl IntoOperand<u64, M>) -> Condition {
        compare(Cmp::Ne, self.op(), n.into_operand().op)
    }

    /// `size(path) < n`.
    pub fn lt<M>(&self, n: impl IntoOperand<u64, M>) -> Condition {
        compare(Cmp::Lt, self.op(), n.into_operand().op)
    }

    /// `size(path) <= n`.
    pub fn le<M>(&self, n: impl IntoOperand<u64, M>) -> Condition {
        compare(Cmp::Le, self.op(), n.into_operand().op)
    }

    /// `size(path) > n`.
    pub fn gt<M>(&self, n: impl IntoOperand<u64, M>) -> Condition {
        compare(Cmp::Gt, self.op(), n.into_operand().op)
    }

    /// `size(path) >= n`.
    pub fn ge<M>(&self, n: impl IntoOperand<u64, M>) -> Condition {
        compare(Cmp::Ge, self.op(), n.into_operand().op)
    }

    /// `size(path) BETWEEN low AND high`.
    pub fn between<M1, M2>(
        &self,
        low: impl IntoOperand<u64, M1>,
        high: impl IntoOperand<u64, M2>,
    ) -> Condition {
        Condition::from(Cond::Between(
            self.op(),
            low.into_operand().op,
            high.into_operand().op,
        ))
    }

    /// `size(path) IN (n1, n2, ...)`.
    pub fn in_list<M, I>(&self, values: I) -> Condition
    where
        I: IntoIterator,
        I::Item: IntoOperand<u64, M>,
    {
        in_list(
            self.op(),
            values.into_iter().map(|v| v.into_operand().op).collect(),
        )
    }
}
