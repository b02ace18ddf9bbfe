//! The ten DynamoDB attribute types as the engine sees them, independent of any wire format.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::number::Number;

/// An item, or any map: attribute name to value. Ordered so that encodings are deterministic.
pub type Item = BTreeMap<String, AttributeValue>;

/// Deepest nesting DynamoDB accepts for maps and lists.
pub const MAX_NESTING_DEPTH: usize = 32;

/// Its serde impls are DynamoDB JSON (`api::json::value`); storage uses `model::codec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Bytes),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Bytes>),
    M(Item),
    L(Vec<AttributeValue>),
    Null,
    Bool(bool),
}

/// The type tags DynamoDB uses on the wire and in `attribute_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    S,
    N,
    B,
    Ss,
    Ns,
    Bs,
    M,
    L,
    Null,
    Bool,
}

impl ValueType {
    pub fn tag(self) -> &'static str {
        match self {
            ValueType::S => "S",
            ValueType::N => "N",
            ValueType::B => "B",
            ValueType::Ss => "SS",
            ValueType::Ns => "NS",
            ValueType::Bs => "BS",
            ValueType::M => "M",
            ValueType::L => "L",
            ValueType::Null => "NULL",
            ValueType::Bool => "BOOL",
        }
    }

    pub fn from_tag(tag: &str) -> Option<ValueType> {
        Some(match tag {
            "S" => ValueType::S,
            "N" => ValueType::N,
            "B" => ValueType::B,
            "SS" => ValueType::Ss,
            "NS" => ValueType::Ns,
            "BS" => ValueType::Bs,
            "M" => ValueType::M,
            "L" => ValueType::L,
            "NULL" => ValueType::Null,
            "BOOL" => ValueType::Bool,
            _ => return None,
        })
    }
}

impl AttributeValue {
    pub fn value_type(&self) -> ValueType {
        match self {
            AttributeValue::S(_) => ValueType::S,
            AttributeValue::N(_) => ValueType::N,
            AttributeValue::B(_) => ValueType::B,
            AttributeValue::Ss(_) => ValueType::Ss,
            AttributeValue::Ns(_) => ValueType::Ns,
            AttributeValue::Bs(_) => ValueType::Bs,
            AttributeValue::M(_) => ValueType::M,
            AttributeValue::L(_) => ValueType::L,
            AttributeValue::Null => ValueType::Null,
            AttributeValue::Bool(_) => ValueType::Bool,
        }
    }

    /// Bytes DynamoDB counts for the value (not its name), per the Developer Guide's
    /// item-size rules: 3 bytes of overhead per map/list plus 1 per element.
    pub fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.size(),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
            AttributeValue::Ns(v) => v.iter().map(Number::size).sum(),
            AttributeValue::Bs(v) => v.iter().map(Bytes::len).sum(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttributeValue::Null | AttributeValue::Bool(_) => 1,
        }
    }

    /// Equality as the expression language defines it: sets compare as sets.
    pub fn dynamo_eq(&self, other: &AttributeValue) -> bool {
        fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.len() == b.len() && a.iter().all(|x| b.contains(x))
        }
        match (self, other) {
            (AttributeValue::Ss(a), AttributeValue::Ss(b)) => same_set(a, b),
            (AttributeValue::Ns(a), AttributeValue::Ns(b)) => same_set(a, b),
            (AttributeValue::Bs(a), AttributeValue::Bs(b)) => same_set(a, b),
            (AttributeValue::M(a), AttributeValue::M(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.dynamo_eq(w)))
            }
            (AttributeValue::L(a), AttributeValue::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.dynamo_eq(y))
            }
            _ => self == other,
        }
    }
}

/// Bytes DynamoDB counts for a whole item: every attribute name plus its value.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// Why a value is not storable; messages are DynamoDB's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("One or more parameter values were invalid: An {0} set  may not be empty")]
    EmptySet(&'static str),
    #[error(
        "One or more parameter values were invalid: Input collection {0} contains duplicates."
    )]
    DuplicateInSet(String),
    #[error("Nesting Levels have exceeded supported limits")]
    TooDeep,
}

impl AttributeValue {
    /// Checks the rules every stored value obeys: sets non-empty and without duplicates,
    /// nesting no deeper than 32 levels.
    pub fn validate(&self) -> Result<(), ValueError> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<(), ValueError> {
        fn check_set<T: Eq + std::hash::Hash + std::fmt::Debug>(
            v: &[T],
            kind: &'static str,
            show: impl Fn(&T) -> String,
        ) -> Result<(), ValueError> {
            if v.is_empty() {
                return Err(ValueError::EmptySet(kind));
            }
            let mut seen = std::collections::HashSet::with_capacity(v.len());
            if v.iter().any(|x| !seen.insert(x)) {
                let shown: Vec<String> = v.iter().map(show).collect();
                return Err(ValueError::DuplicateInSet(format!(
                    "[{}]",
                    shown.join(", ")
                )));
            }
            Ok(())
        }
        match self {
            AttributeValue::Ss(v) => check_set(v, "string", |s| s.clone()),
            AttributeValue::Ns(v) => check_set(v, "number", |n| n.to_string()),
            AttributeValue::Bs(v) => check_set(v, "binary", |b| format!("{b:?}")),
            AttributeValue::M(m) => {
                if depth > MAX_NESTING_DEPTH {
                    return Err(ValueError::TooDeep);
                }
                m.values().try_for_each(|v| v.validate_at(depth + 1))
            }
            AttributeValue::L(l) => {
                if depth > MAX_NESTING_DEPTH {
                    return Err(ValueError::TooDeep);
                }
                l.iter().try_for_each(|v| v.validate_at(depth + 1))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn sizes_follow_the_developer_guide() {
        let cases: Vec<(AttributeValue, usize)> = vec![
            (AttributeValue::S("hello".into()), 5),
            (AttributeValue::N(n("12345")), 4),
            (AttributeValue::B(Bytes::from_static(b"abc")), 3),
            (AttributeValue::Bool(true), 1),
            (AttributeValue::Null, 1),
            (
                AttributeValue::L(vec![AttributeValue::Null, AttributeValue::S("ab".into())]),
                3 + 2 + 3,
            ),
            (
                AttributeValue::M([("ab".to_string(), AttributeValue::S("x".into()))].into()),
                3 + 2 + 1 + 1,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(v.size(), want, "{v:?}");
        }
    }

    #[test]
    fn validation_cases() {
        let ok = [
            AttributeValue::Ss(vec!["a".into(), "b".into()]),
            AttributeValue::Ns(vec![n("1"), n("2")]),
            AttributeValue::S(String::new()),
        ];
        for v in ok {
            assert_eq!(v.validate(), Ok(()), "{v:?}");
        }
        let bad = [
            (
                AttributeValue::Ss(vec![]),
                "An string set  may not be empty",
            ),
            (
                AttributeValue::Ns(vec![n("1"), n("1.0")]),
                "contains duplicates",
            ),
            (
                AttributeValue::Ss(vec!["a".into(), "a".into()]),
                "Input collection [a, a] contains duplicates.",
            ),
        ];
        for (v, want) in bad {
            let err = v.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{v:?}: {err}");
        }
    }

    #[test]
    fn nesting_limit_is_32() {
        let mut v = AttributeValue::Null;
        for _ in 0..32 {
            v = AttributeValue::L(vec![v]);
        }
        assert_eq!(v.validate(), Ok(()));
        let v = AttributeValue::L(vec![v]);
        assert_eq!(v.validate(), Err(ValueError::TooDeep));
    }

    #[test]
    fn sets_compare_as_sets() {
        let a = AttributeValue::Ss(vec!["x".into(), "y".into()]);
        let b = AttributeValue::Ss(vec!["y".into(), "x".into()]);
        assert!(a.dynamo_eq(&b));
        assert!(!a.dynamo_eq(&AttributeValue::Ss(vec!["x".into()])));
    }
}
