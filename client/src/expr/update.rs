//! Update expressions.

use std::fmt;
use std::marker::PhantomData;

use super::operand::{Attr, IntoOperand, IntoValue, Op, Operand, Val};
use super::path::Path;
use crate::proto::v1::attribute_value::Value;
use crate::proto::v1::{BinarySet, NumberSet, StringSet};
use crate::value::{AttributeValue, ValueError};

/// The right-hand side of `SET path = ...`.
#[derive(Debug, Clone)]
pub(crate) enum SetExpr {
    Operand(Op),
    Plus(Op, Op),
    Minus(Op, Op),
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Set(Path, SetExpr),
    Remove(Path),
    Add(Path, Val),
    Delete(Path, Val),
}

impl Action {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }

    pub(crate) fn clause(&self) -> Clause {
        match self {
            Action::Set(..) => Clause::Set,
            Action::Remove(_) => Clause::Remove,
            Action::Add(..) => Clause::Add,
            Action::Delete(..) => Clause::Delete,
        }
    }
}

/// The clauses of an update expression, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Clause {
    Set,
    Remove,
    Add,
    Delete,
}

impl Clause {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Clause::Set => "SET",
            Clause::Remove => "REMOVE",
            Clause::Add => "ADD",
            Clause::Delete => "DELETE",
        }
    }
}

/// What to change in an item: an `UpdateExpression`.
///
/// Each [`Attr`] update method makes a one-action update; [`Update::and`] and
/// [`Update::all`] combine them. The compiled expression groups the actions into DynamoDB's
/// clauses, `SET ... REMOVE ... ADD ... DELETE ...`, keeping the order the actions were
/// given in within each clause. Two actions on the same or overlapping paths (`a` and
/// `a.b`) are rejected when the expression is compiled, as DynamoDB would reject them.
///
/// ```
/// use keyfall::expr::{attr, Expressions, Update};
///
/// let status = attr::<String>("status");
/// let views = attr::<u64>("views");
/// let note = attr::<String>("note");
/// let update = status.set("SHIPPED").and(views.increment(1)).and(note.remove());
///
/// let mut ex = Expressions::new();
/// assert_eq!(ex.update(&update)?, "SET #n0 = :v0, #n1 = #n1 + :v1 REMOVE #n2");
/// # Ok::<(), keyfall::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Update {
    /// Never empty.
    pub(crate) actions: Vec<Action>,
}

impl Update {
    fn one(action: Action) -> Update {
        Update {
            actions: vec![action],
        }
    }

    /// This update's actions followed by `other`'s.
    pub fn and(mut self, other: Update) -> Update {
        self.actions.extend(other.actions);
        self
    }

    /// All the updates as one, for updates collected at run time. `None` when there are
    /// none, since DynamoDB rejects an empty update expression: send no update instead.
    pub fn all(updates: impl IntoIterator<Item = Update>) -> Option<Update> {
        updates.into_iter().reduce(Update::and)
    }
}

/// The value a [`Attr::set_to`] writes: an operand (value, attribute, `if_not_exists`,
/// `list_append`), or the sum or difference of two operands.
pub struct SetValue<T> {
    pub(crate) expr: SetExpr,
    _type: PhantomData<fn() -> T>,
}

impl<T> SetValue<T> {
    fn new(expr: SetExpr) -> Self {
        SetValue {
            expr,
            _type: PhantomData,
        }
    }
}

impl<T> Clone for SetValue<T> {
    fn clone(&self) -> Self {
        SetValue::new(self.expr.clone())
    }
}

impl<T> fmt::Debug for SetValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SetValue").field(&self.expr).finish()
    }
}

impl<T> From<Operand<T>> for SetValue<T> {
    fn from(operand: Operand<T>) -> Self {
        SetValue::new(SetExpr::Operand(operand.op))
    }
}

impl<T> Operand<T> {
    /// `self + n`, for [`Attr::set_to`]; e.g. `views.if_not_exists(0).plus(1)`.
    pub fn plus<M>(self, n: impl IntoOperand<T, M>) -> SetValue<T> {
        SetValue::new(SetExpr::Plus(self.op, n.into_operand().op))
    }

    /// `self - n`, for [`Attr::set_to`].
    pub fn minus<M>(self, n: impl IntoOperand<T, M>) -> SetValue<T> {
        SetValue::new(SetExpr::Minus(self.op, n.into_operand().op))
    }
}

/// ADD and DELETE need a set (or, for ADD, a number), but a Rust `HashSet` or `Vec`
/// serializes as a list. A list is never a valid operand there, so a non-empty list of
/// strings, numbers or binaries is read as the set of its elements.
fn as_set(value: Val) -> Val {
    let value = value?;
    let Some(Value::L(list)) = &value.value else {
        return Ok(value);
    };
    let items: Vec<&Value> = list
        .values
        .iter()
        .filter_map(|v| v.value.as_ref())
        .collect();
    if list.values.is_empty() {
        return Err(ValueError::Message(
            "ADD and DELETE need a non-empty set, got an empty collection".into(),
        ));
    }
    if items.len() != list.values.len() {
        return Ok(value);
    }
    fn distinct<X: PartialEq>(items: impl Iterator<Item = X>) -> Vec<X> {
        let mut out: Vec<X> = Vec::new();
        for x in items {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }
    let strings: Option<Vec<&String>> = items
        .iter()
        .map(|v| match v {
            Value::S(s) => Some(s),
            _ => None,
        })
        .collect();
    let numbers: Option<Vec<&String>> = items
        .iter()
        .map(|v| match v {
            Value::N(n) => Some(n),
            _ => None,
        })
        .collect();
    let binaries: Option<Vec<&Vec<u8>>> = items
        .iter()
        .map(|v| match v {
            Value::B(b) => Some(b),
            _ => None,
        })
        .collect();
    let set = if let Some(s) = strings {
        Value::Ss(StringSet {
            values: distinct(s.into_iter().cloned()),
        })
    } else if let Some(n) = numbers {
        Value::Ns(NumberSet {
            values: distinct(n.into_iter().cloned()),
        })
    } else if let Some(b) = binaries {
        Value::Bs(BinarySet {
            values: distinct(b.into_iter().cloned()),
        })
    } else {
        return Ok(value);
    };
    Ok(AttributeValue { value: Some(set) })
}

impl<T> Attr<T> {
    /// `SET path = value`; `value` may also be another attribute (copying it) or an
    /// [`Operand`] such as [`Attr::if_not_exists`].
    pub fn set<M>(&self, value: impl IntoOperand<T, M>) -> Update {
        self.set_to(value.into_operand())
    }

    /// `SET path = <value>` for computed values: [`Attr::plus`], [`Attr::minus`],
    /// [`Operand::plus`], or any [`Operand`].
    pub fn set_to(&self, value: impl Into<SetValue<T>>) -> Update {
        Update::one(Action::Set(self.path().clone(), value.into().expr))
    }

    /// `SET path = if_not_exists(path, value)`: writes `value` only when the attribute is
    /// missing, e.g. a `created_at` that later writes must not move.
    pub fn set_if_not_exists<M>(&self, value: impl IntoOperand<T, M>) -> Update {
        self.set(self.if_not_exists(value))
    }

    /// `SET path = path + n`. Fails on the server when the attribute is missing; use
    /// [`Attr::add`] to count up from zero instead.
    pub fn increment<M>(&self, n: impl IntoOperand<T, M>) -> Update {
        self.set_to(self.plus(n))
    }

    /// `SET path = path - n`.
    pub fn decrement<M>(&self, n: impl IntoOperand<T, M>) -> Update {
        self.set_to(self.minus(n))
    }

    /// `SET path = list_append(path, list)`: `list`'s elements after the current ones.
    pub fn append<M>(&self, list: impl IntoOperand<T, M>) -> Update {
        self.set(Operand::list_append(self, list))
    }

    /// `SET path = list_append(list, path)`: `list`'s elements before the current ones.
    pub fn prepend<M>(&self, list: impl IntoOperand<T, M>) -> Update {
        self.set(Operand::list_append(list, self))
    }

    /// `REMOVE path`: deletes the attribute, or the list element for an indexed path.
    pub fn remove(&self) -> Update {
        Update::one(Action::Remove(self.path().clone()))
    }

    /// `ADD path value`: adds a number to a number attribute (a missing one counts as 0), or
    /// the elements of a set to a set attribute (a missing one counts as empty). A list of
    /// strings, numbers or binaries (what a `HashSet` or `Vec` serializes as) is sent as the
    /// corresponding set.
    pub fn add<M>(&self, value: impl IntoValue<T, M>) -> Update {
        Update::one(Action::Add(
            self.path().clone(),
            as_set(value.into_attribute_value()),
        ))
    }

    /// `DELETE path set`: removes the set's elements from a set attribute; lists are sent
    /// as sets as for [`Attr::add`].
    pub fn delete<M>(&self, set: impl IntoValue<T, M>) -> Update {
        Update::one(Action::Delete(
            self.path().clone(),
            as_set(set.into_attribute_value()),
        ))
    }

    /// `path + n`, for [`Attr::set_to`] (e.g. `total.set_to(subtotal.plus(&shipping))`).
    pub fn plus<M>(&self, n: impl IntoOperand<T, M>) -> SetValue<T> {
        SetValue::new(SetExpr::Plus(self.op(), n.into_operand().op))
    }

    /// `path - n`, for [`Attr::set_to`].
    pub fn minus<M>(&self, n: impl IntoOperand<T, M>) -> SetValue<T> {
        SetValue::new(SetExpr::Minus(self.op(), n.into_operand().op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::ListValue;

    fn av(v: Value) -> AttributeValue {
        AttributeValue { value: Some(v) }
    }

    fn list(items: Vec<Value>) -> Val {
        Ok(av(Value::L(ListValue {
            values: items.into_iter().map(av).collect(),
        })))
    }

    #[test]
    fn lists_become_sets_for_add_and_delete() {
        let s = |x: &str| Value::S(x.into());
        let n = |x: &str| Value::N(x.into());
        let b = |x: &[u8]| Value::B(x.to_vec());
        let cases: Vec<(Val, Val)> = vec![
            (
                list(vec![s("a"), s("b"), s("a")]),
                Ok(av(Value::Ss(StringSet {
                    values: vec!["a".into(), "b".into()],
                }))),
            ),
            (
                list(vec![n("1"), n("2")]),
                Ok(av(Value::Ns(NumberSet {
                    values: vec!["1".into(), "2".into()],
                }))),
            ),
            (
                list(vec![b(b"x")]),
                Ok(av(Value::Bs(BinarySet {
                    values: vec![b"x".to_vec()],
                }))),
            ),
            // Mixed lists and non-lists are left for the server to judge.
            (list(vec![s("a"), n("1")]), list(vec![s("a"), n("1")])),
            (Ok(av(n("5"))), Ok(av(n("5")))),
            (
                list(vec![]),
                Err(ValueError::Message(
                    "ADD and DELETE need a non-empty set, got an empty collection".into(),
                )),
            ),
            (
                Err(ValueError::Message("boom".into())),
                Err(ValueError::Message("boom".into())),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(as_set(input.clone()), want, "{input:?}");
        }
    }
}
