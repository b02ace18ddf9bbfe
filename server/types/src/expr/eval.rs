//! Evaluating conditions against an item. Evaluation never fails: a missing attribute or a
//! comparison between different types is simply false, as in DynamoDB.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::model::{AttributeValue, Item, Number};

use super::ast::*;
use super::error::ExprError;

/// The value at `path` in `item`, if the whole path exists.
pub fn resolve<'a>(item: &'a Item, path: &DocumentPath) -> Option<&'a AttributeValue> {
    let mut elems = path.0.iter();
    let mut cur = match elems.next()? {
        PathElement::Attr(a) => item.get(a)?,
        PathElement::Index(_) => return None,
    };
    for e in elems {
        cur = match (e, cur) {
            (PathElement::Attr(a), AttributeValue::M(m)) => m.get(a)?,
            (PathElement::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Order of two values of the same scalar type (N, S, B); `None` for anything else.
/// Strings compare by UTF-8 bytes and binaries as unsigned bytes, as in DynamoDB.
pub(crate) fn compare_scalars(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.as_ref().cmp(y.as_ref())),
        _ => None,
    }
}

/// `size()` of a value: string length (in UTF-16 units, as DynamoDB counts), bytes of a
/// binary, elements of a set, list or map. Other types have no size.
pub(crate) fn size_of(v: &AttributeValue) -> Option<usize> {
    Some(match v {
        AttributeValue::S(s) => s.encode_utf16().count(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(x) => x.len(),
        AttributeValue::Ns(x) => x.len(),
        AttributeValue::Bs(x) => x.len(),
        AttributeValue::L(x) => x.len(),
        AttributeValue::M(x) => x.len(),
        AttributeValue::N(_) | AttributeValue::Null | AttributeValue::Bool(_) => return None,
    })
}

fn operand<'a>(item: &'a Item, op: &'a Operand) -> Option<Cow<'a, AttributeValue>> {
    match op {
        Operand::Path(p) => resolve(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(inner) => {
            let v = operand(item, inner)?;
            let n = size_of(&v)?;
            Number::parse(&n.to_string())
                .ok()
                .map(|n| Cow::Owned(AttributeValue::N(n)))
        }
    }
}

fn equal(item: &Item, a: &Operand, b: &Operand) -> bool {
    match (operand(item, a), operand(item, b)) {
        (Some(x), Some(y)) => x.dynamo_eq(&y),
        _ => false,
    }
}

pub(crate) fn contains(haystack: &AttributeValue, needle: &AttributeValue) -> bool {
    match (haystack, needle) {
        (AttributeValue::S(h), AttributeValue::S(n)) => h.contains(n.as_str()),
        (AttributeValue::B(h), AttributeValue::B(n)) => {
            n.is_empty() || h.windows(n.len()).any(|w| w == n.as_ref())
        }
        (AttributeValue::Ss(h), AttributeValue::S(n)) => h.contains(n),
        (AttributeValue::Ns(h), AttributeValue::N(n)) => h.contains(n),
        (AttributeValue::Bs(h), AttributeValue::B(n)) => h.contains(n),
        (AttributeValue::L(h), n) => h.iter().any(|x| x.dynamo_eq(n)),
        _ => false,
    }
}

pub(crate) fn begins_with(v: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (v, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
        _ => false,
    }
}

impl Condition {
    /// Evaluates the condition against `item` (pass an empty map for a missing item).
    pub fn evaluate(&self, item: &Item) -> Result<bool, ExprError> {
        Ok(self.eval(item))
    }

    fn eval(&self, item: &Item) -> bool {
        // NOT chains are counted in a loop, not followed by recursion.
        let mut negate = false;
        let mut c = self;
        while let Condition::Not(inner) = c {
            negate = !negate;
            c = inner;
        }
        let r = match c {
            Condition::And(a, b) => a.eval(item) && b.eval(item),
            Condition::Or(a, b) => a.eval(item) || b.eval(item),
            leaf => leaf.eval_leaf(item),
        };
        r != negate
    }

    #[inline(never)]
    fn eval_leaf(&self, item: &Item) -> bool {
        match self {
            Condition::True => true,
            Condition::Compare(Comparator::Eq, a, b) => equal(item, a, b),
            Condition::Compare(Comparator::Ne, a, b) => !equal(item, a, b),
            Condition::Compare(cmp, a, b) => {
                let (Some(x), Some(y)) = (operand(item, a), operand(item, b)) else {
                    return false;
                };
                match compare_scalars(&x, &y) {
                    Some(o) => match cmp {
                        Comparator::Lt => o == Ordering::Less,
                        Comparator::Le => o != Ordering::Greater,
                        Comparator::Gt => o == Ordering::Greater,
                        Comparator::Ge => o != Ordering::Less,
                        Comparator::Eq | Comparator::Ne => false,
                    },
                    None => false,
                }
            }
            Condition::Between(a, lo, hi) => {
                let (Some(x), Some(l), Some(h)) =
                    (operand(item, a), operand(item, lo), operand(item, hi))
                else {
                    return false;
                };
                matches!(
                    compare_scalars(&x, &l),
                    Some(Ordering::Greater | Ordering::Equal)
                ) && matches!(
                    compare_scalars(&x, &h),
                    Some(Ordering::Less | Ordering::Equal)
                )
            }
            Condition::In(a, list) => match operand(item, a) {
                Some(x) => list
                    .iter()
                    .any(|o| operand(item, o).is_some_and(|y| x.dynamo_eq(&y))),
                None => false,
            },
            Condition::AttributeExists(p) => resolve(item, p).is_some(),
            Condition::AttributeNotExists(p) => resolve(item, p).is_none(),
            Condition::AttributeType(a, t) => match (operand(item, a), operand(item, t)) {
                (Some(v), Some(t)) => {
                    matches!(&*t, AttributeValue::S(tag) if v.value_type().tag() == tag)
                }
                _ => false,
            },
            Condition::BeginsWith(a, b) => match (operand(item, a), operand(item, b)) {
                (Some(x), Some(y)) => begins_with(&x, &y),
                _ => false,
            },
            Condition::Contains(a, b) => match (operand(item, a), operand(item, b)) {
                (Some(x), Some(y)) => contains(&x, &y),
                _ => false,
            },
            Condition::And(..) | Condition::Or(..) | Condition::Not(_) => self.eval(item),
        }
    }
}
