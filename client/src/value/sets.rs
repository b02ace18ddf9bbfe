//! DynamoDB's set types (`SS`, `NS`, `BS`), chosen per field.
//!
//! Rust has no single "set" shape serde can see (a `Vec` and a `BTreeSet` both serialize as a
//! sequence), and a sequence is stored as a list (`L`) by default. Mark a field to store it as a
//! set instead:
//!
//! ```
//! use std::collections::BTreeSet;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Post {
//!     #[serde(with = "keyfall::value::sets::string", default, skip_serializing_if = "BTreeSet::is_empty")]
//!     tags: BTreeSet<String>,
//!     #[serde(with = "keyfall::value::sets::number", default, skip_serializing_if = "Vec::is_empty")]
//!     scores: Vec<i64>,
//!     #[serde(with = "keyfall::value::sets::binary", default, skip_serializing_if = "Vec::is_empty")]
//!     blobs: Vec<serde_bytes::ByteBuf>,
//! }
//! ```
//!
//! DynamoDB rejects empty sets, and serializing one is an error here too: that is why the
//! example adds `skip_serializing_if = "….is_empty"` (leave the attribute out instead) and
//! `default` (read a missing attribute back as an empty collection). `Option<collection>` also
//! works, `None` leaving the attribute out. Duplicate elements are an error as well, as in
//! DynamoDB.
//!
//! Any collection that serializes as a sequence can be written (`Vec`, `BTreeSet`, `HashSet`,
//! ...), and any that deserializes from one can be read. Elements must be strings (or unit enum
//! variants) for [`string`], numbers (any integer, float or [`Decimal`](super::Decimal)) for
//! [`number`], and bytes (`serde_bytes::ByteBuf`, `bytes::Bytes`, or a `Vec<u8>`) for [`binary`].
//!
//! Other serializers (JSON, say) see the plain sequence, so the same types serialize there as
//! usual.

use crate::proto::v1::attribute_value::Value;

/// Private newtype-struct names by which the `with`-modules tell our serializer which set type
/// the sequence inside should become; other serializers see an ordinary newtype.
const STRING_SET_TOKEN: &str = "\u{0}keyfall::StringSet";
const NUMBER_SET_TOKEN: &str = "\u{0}keyfall::NumberSet";
const BINARY_SET_TOKEN: &str = "\u{0}keyfall::BinarySet";

/// Which of DynamoDB's set types a sequence is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetKind {
    String,
    Number,
    Binary,
}

impl SetKind {
    /// The set kind a newtype-struct name asks for, if it is one of ours.
    pub(super) fn from_token(name: &str) -> Option<SetKind> {
        match name {
            STRING_SET_TOKEN => Some(SetKind::String),
            NUMBER_SET_TOKEN => Some(SetKind::Number),
            BINARY_SET_TOKEN => Some(SetKind::Binary),
            _ => None,
        }
    }

    /// DynamoDB's type tag, for error messages.
    pub(super) fn tag(self) -> &'static str {
        match self {
            SetKind::String => "SS",
            SetKind::Number => "NS",
            SetKind::Binary => "BS",
        }
    }

    /// What each element must be, for error messages.
    pub(super) fn element(self) -> &'static str {
        match self {
            SetKind::String => "a string",
            SetKind::Number => "a number",
            SetKind::Binary => "bytes",
        }
    }

    #[cfg(test)]
    fn token(self) -> &'static str {
        match self {
            SetKind::String => STRING_SET_TOKEN,
            SetKind::Number => NUMBER_SET_TOKEN,
            SetKind::Binary => BINARY_SET_TOKEN,
        }
    }
}

/// The `with`-module bodies; each public module below only picks its token.
macro_rules! set_module {
    ($(#[$doc:meta])* $name:ident, $token:ident) => {
        $(#[$doc])*
        pub mod $name {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            /// Serializes the collection as this set type (through Keyfall's serializer) or as
            /// a plain sequence (through any other).
            pub fn serialize<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
            where
                T: Serialize + ?Sized,
                S: Serializer,
            {
                serializer.serialize_newtype_struct(super::$token, value)
            }

            /// Reads the collection back; sets are presented as sequences, so this is just the
            /// collection's own `Deserialize` (which also accepts a list).
            pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
            where
                T: Deserialize<'de>,
                D: Deserializer<'de>,
            {
                T::deserialize(deserializer)
            }
        }
    };
}

set_module!(
    /// Store a collection of strings as a string set (`SS`):
    /// `#[serde(with = "keyfall::value::sets::string")]`.
    string,
    STRING_SET_TOKEN
);
set_module!(
    /// Store a collection of numbers as a number set (`NS`):
    /// `#[serde(with = "keyfall::value::sets::number")]`.
    number,
    NUMBER_SET_TOKEN
);
set_module!(
    /// Store a collection of byte strings as a binary set (`BS`):
    /// `#[serde(with = "keyfall::value::sets::binary")]`.
    binary,
    BINARY_SET_TOKEN
);

/// The set value for elements already serialized one by one, or why they cannot form one.
///
/// Returns the index of the offending element with the message, so the caller can put it in
/// the error's path.
pub(super) fn build_set(
    kind: SetKind,
    elements: Vec<Value>,
) -> Result<Value, (Option<usize>, String)> {
    use crate::proto::v1::{BinarySet, NumberSet, StringSet};

    if elements.is_empty() {
        return Err((
            None,
            format!(
                "DynamoDB rejects empty sets ({}); leave the attribute out with \
                 #[serde(default, skip_serializing_if = \"…::is_empty\")]",
                kind.tag()
            ),
        ));
    }
    let set = match kind {
        SetKind::String => Value::Ss(StringSet {
            values: collect(kind, elements, |value| match value {
                Value::S(text) => Ok(text),
                other => Err(other),
            })?,
        }),
        SetKind::Number => Value::Ns(NumberSet {
            values: collect(kind, elements, |value| match value {
                Value::N(text) => Ok(text),
                other => Err(other),
            })?,
        }),
        SetKind::Binary => Value::Bs(BinarySet {
            values: collect(kind, elements, element_bytes)?,
        }),
    };
    Ok(set)
}

/// Each element's payload, checking kinds and duplicates (DynamoDB rejects both).
fn collect<T: Eq + std::hash::Hash + Clone>(
    kind: SetKind,
    elements: Vec<Value>,
    payload: impl Fn(Value) -> Result<T, Value>,
) -> Result<Vec<T>, (Option<usize>, String)> {
    let mut seen = std::collections::HashSet::with_capacity(elements.len());
    let mut values = Vec::with_capacity(elements.len());
    for (index, element) in elements.into_iter().enumerate() {
        let value = payload(element).map_err(|other| {
            let message = format!(
                "{} elements must be {}, got {}",
                kind.tag(),
                kind.element(),
                super::type_tag(&other)
            );
            (Some(index), message)
        })?;
        if !seen.insert(value.clone()) {
            let message = format!(
                "{} cannot hold the same element twice (DynamoDB rejects duplicates)",
                kind.tag()
            );
            return Err((Some(index), message));
        }
        values.push(value);
    }
    Ok(values)
}

/// Bytes from `B`, or from a list of small numbers (a plain `Vec<u8>`, which serde sees as a
/// sequence of integers).
fn element_bytes(value: Value) -> Result<Vec<u8>, Value> {
    match value {
        Value::B(bytes) => Ok(bytes),
        Value::L(list) => {
            let bytes: Option<Vec<u8>> = list
                .values
                .iter()
                .map(|item| match &item.value {
                    Some(Value::N(text)) => text.parse::<u8>().ok(),
                    _ => None,
                })
                .collect();
            bytes.ok_or(Value::L(list))
        }
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognised_and_distinct() {
        for kind in [SetKind::String, SetKind::Number, SetKind::Binary] {
            assert_eq!(SetKind::from_token(kind.token()), Some(kind));
            assert!(kind.token().starts_with('\u{0}'));
        }
        assert_eq!(SetKind::from_token("StringSet"), None);
    }

    #[test]
    fn with_modules_are_plain_sequences_in_json() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Post {
            #[serde(with = "string")]
            tags: std::collections::BTreeSet<String>,
            #[serde(with = "number")]
            scores: Vec<i64>,
            #[serde(with = "binary")]
            blobs: Vec<serde_bytes::ByteBuf>,
        }
        let post = Post {
            tags: ["a".to_owned(), "b".to_owned()].into(),
            scores: vec![3, 1],
            blobs: vec![serde_bytes::ByteBuf::from(vec![1u8, 2])],
        };
        let json = serde_json::to_string(&post).unwrap();
        assert_eq!(json, r#"{"tags":["a","b"],"scores":[3,1],"blobs":[[1,2]]}"#);
        assert_eq!(serde_json::from_str::<Post>(&json).unwrap(), post);
    }

    #[test]
    fn build_set_checks_emptiness_kinds_and_duplicates() {
        let s = |t: &str| Value::S(t.to_owned());
        let n = |t: &str| Value::N(t.to_owned());
        // Expected errors are the offending index and the message's start.
        type Expected = Result<Value, (Option<usize>, &'static str)>;
        let cases: Vec<(SetKind, Vec<Value>, Expected)> = vec![
            (
                SetKind::String,
                vec![s("a"), s("b")],
                Ok(Value::Ss(crate::proto::v1::StringSet {
                    values: vec!["a".into(), "b".into()],
                })),
            ),
            (
                SetKind::Number,
                vec![n("1"), n("2.5")],
                Ok(Value::Ns(crate::proto::v1::NumberSet {
                    values: vec!["1".into(), "2.5".into()],
                })),
            ),
            (
                SetKind::String,
                vec![],
                Err((None, "DynamoDB rejects empty sets (SS)")),
            ),
            (
                SetKind::Number,
                vec![n("1"), s("x")],
                Err((Some(1), "NS elements must be a number, got S")),
            ),
            (
                SetKind::String,
                vec![s("a"), s("a")],
                Err((Some(1), "SS cannot hold the same element twice")),
            ),
            (
                SetKind::Binary,
                vec![n("1")],
                Err((Some(0), "BS elements must be bytes, got N")),
            ),
        ];
        for (kind, elements, expected) in cases {
            let got = build_set(kind, elements);
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected),
                (Err((index, message)), Err((expected_index, prefix))) => {
                    assert_eq!(index, expected_index);
                    assert!(message.starts_with(prefix), "{message}");
                }
                (got, expected) => panic!("{kind:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
