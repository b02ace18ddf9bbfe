//! Key-condition expressions for Query.

use std::borrow::Borrow;

use super::condition::Cmp;
use super::operand::{Attr, IntoValue, Val};
use super::path::Path;

#[derive(Debug, Clone)]
pub(crate) enum SortCond {
    Compare(Cmp, Path, Val),
    Between(Path, Val, Val),
    BeginsWith(Path, Val),
}

/// Which items a Query reads: a `KeyConditionExpression`.
///
/// A key condition is always one partition key value, optionally narrowed by one condition
/// on the sort key, so it is built in that shape rather than from a general
/// [`Condition`](super::Condition): start with [`KeyCondition::partition`], then add at
/// most one `sort_*` condition (a later one replaces an earlier one). Only values, never
/// other attributes, may appear on the right, as DynamoDB requires.
///
/// ```
/// use keyfall::expr::{attr, Expressions, KeyCondition};
///
/// let key = KeyCondition::partition(attr::<String>("pk"), "CUSTOMER#1")
///     .sort_begins_with(attr::<String>("sk"), "ORDER#");
/// let mut ex = Expressions::new();
/// assert_eq!(ex.key_condition(&key)?, "#n0 = :v0 AND begins_with(#n1, :v1)");
/// # Ok::<(), keyfall::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyCondition {
    pub(crate) partition: (Path, Val),
    pub(crate) sort: Option<SortCond>,
}

impl KeyCondition {
    /// The items whose partition key `key` equals `value`.
    pub fn partition<T, M>(key: impl Borrow<Attr<T>>, value: impl IntoValue<T, M>) -> Self {
        KeyCondition {
            partition: (key.borrow().path().clone(), value.into_attribute_value()),
            sort: None,
        }
    }

    fn sort(mut self, cond: SortCond) -> Self {
        self.sort = Some(cond);
        self
    }

    fn compare<T, M>(
        self,
        cmp: Cmp,
        key: impl Borrow<Attr<T>>,
        value: impl IntoValue<T, M>,
    ) -> Self {
        let path = key.borrow().path().clone();
        self.sort(SortCond::Compare(cmp, path, value.into_attribute_value()))
    }

    /// ... whose sort key `key` equals `value` (one item at most).
    pub fn sort_eq<T, M>(self, key: impl Borrow<Attr<T>>, value: impl IntoValue<T, M>) -> Self {
        self.compare(Cmp::Eq, key, value)
    }

    /// ... whose sort key is less than `value`.
    pub fn sort_lt<T, M>(self, key: impl Borrow<Attr<T>>, value: impl IntoValue<T, M>) -> Self {
        self.compare(Cmp::Lt, key, value)
    }

    /// ... whose sort key is at most `value`.
    pub fn sort_le<T, M>(self, key: impl Borrow<Attr<T>>, value: impl IntoValue<T, M>) -> Self {
        self.compare(Cmp::Le, key, value)
    }

    /// ... whose sort key is greater than `value`.
    pub fn sort_gt<T, M>(self, key: impl Borrow<Attr<T>>, value: impl IntoValue<T, M>) -> Self {
        self.compare(Cmp::Gt, key, value)
    }

    /// ... whose sort key is at least `value`.
    pub fn sort_ge<T, M>(self, key: impl Borrow<Attr<T>>, value: impl IntoValue<T, M>) -> Self {
        self.compare(Cmp::Ge, key, value)
    }

    /// ... whose sort key is between `low` and `high`, both included.
    pub fn sort_between<T, M1, M2>(
        self,
        key: impl Borrow<Attr<T>>,
        low: impl IntoValue<T, M1>,
        high: impl IntoValue<T, M2>,
    ) -> Self {
        let path = key.borrow().path().clone();
        self.sort(SortCond::Between(
            path,
            low.into_attribute_value(),
            high.into_attribute_value(),
        ))
    }

    /// ... whose sort key starts with `prefix` (string and binary sort keys).
    pub fn sort_begins_with<T, M>(
        self,
        key: impl Borrow<Attr<T>>,
        prefix: impl IntoValue<T, M>,
    ) -> Self {
        let path = key.borrow().path().clone();
        self.sort(SortCond::BeginsWith(path, prefix.into_attribute_value()))
    }
}
