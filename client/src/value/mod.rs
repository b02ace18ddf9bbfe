//! Rust values to and from DynamoDB attribute values, through serde.
//!
//! Numbers keep their exact decimal text (all integer widths, floats, and [`Decimal`]);
//! `Vec<u8>` marked `#[serde(with = "serde_bytes")]` or [`bytes::Bytes`] become `B`; sets are
//! chosen per field with [`sets`]; a `None` field is left out of the item rather than
//! stored as `NULL`.
//!
//! Reading is lenient where DynamoDB's types overlap with Rust's: a set can be read into any
//! sequence, a `B` into a plain `Vec<u8>`, an `N` into a `String`, and an integer field
//! accepts any integral number text (`1E+2`, `5.0`).

mod de;
mod decimal;
#[cfg(feature = "json")]
pub mod json;
mod ser;
pub mod sets;

pub use crate::proto::v1::AttributeValue;
pub use bigdecimal::BigDecimal;
pub use decimal::Decimal;

use std::collections::HashMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::proto::v1::attribute_value::Value;

/// An item or a key: attribute names to values.
pub type Item = HashMap<String, AttributeValue>;

/// Why a value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The reason, prefixed with the attribute path where it is known
    /// (`orders[2].total: expected a number, found S`).
    #[error("{0}")]
    Message(String),
}

impl serde::ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::Message(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError::Message(msg.to_string())
    }
}

/// The value as one attribute value.
///
/// A top-level `None` (or unit) becomes `NULL`; inside a map or struct a `None` is left out.
pub fn to_attribute_value<T: Serialize + ?Sized>(value: &T) -> Result<AttributeValue, ValueError> {
    ser::to_attribute_value(value)
}

/// The value, which must serialize as a map or struct, as an item.
pub fn to_item<T: Serialize + ?Sized>(value: &T) -> Result<Item, ValueError> {
    ser::to_item(value)
}

/// The Rust value an attribute value holds.
pub fn from_attribute_value<T: DeserializeOwned>(value: AttributeValue) -> Result<T, ValueError> {
    de::from_attribute_value(value)
}

/// The Rust value (usually a struct) an item holds; attributes the type does not name are
/// ignored, and missing `Option` fields are `None`.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, ValueError> {
    de::from_item(item)
}

/// A string attribute value.
pub fn string(text: impl Into<String>) -> AttributeValue {
    AttributeValue {
        value: Some(Value::S(text.into())),
    }
}

/// DynamoDB's name for the type of `value`, for error messages.
fn type_tag(value: &Value) -> &'static str {
    match value {
        Value::S(_) => "S",
        Value::N(_) => "N",
        Value::B(_) => "B",
        Value::Ss(_) => "SS",
        Value::Ns(_) => "NS",
        Value::Bs(_) => "BS",
        Value::M(_) => "M",
        Value::L(_) => "L",
        Value::Null(_) => "NULL",
        Value::Bool(_) => "BOOL",
    }
}

/// The error type while a conversion runs.
///
/// It is separate from [`ValueError`] so that the attribute path can be collected as the
/// error travels out through the nested maps and lists, and rendered only once at the top.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Innermost segment first: each enclosing level appends its own as the error leaves it.
    path: Vec<PathSegment>,
}

#[derive(Debug)]
enum PathSegment {
    Field(String),
    Index(usize),
}

impl Failure {
    fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            path: Vec::new(),
        }
    }

    fn at_field(mut self, name: &str) -> Self {
        self.path.push(PathSegment::Field(name.to_owned()));
        self
    }

    fn at_index(mut self, index: usize) -> Self {
        self.path.push(PathSegment::Index(index));
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.path.iter().rev().enumerate() {
            match segment {
                PathSegment::Field(name) if position == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        if !self.path.is_empty() {
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl serde::ser::Error for Failure {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Failure::new(msg.to_string())
    }
}

impl serde::de::Error for Failure {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Failure::new(msg.to_string())
    }
}

impl From<Failure> for ValueError {
    fn from(failure: Failure) -> Self {
        ValueError::Message(failure.to_string())
    }
}

/// Shorthands for expected attribute values in the tests of this module and its children.
#[cfg(test)]
mod build {
    use super::{AttributeValue, Item, Value};
    use crate::proto::v1::{BinarySet, ListValue, MapValue, NumberSet, StringSet};

    fn attr(value: Value) -> AttributeValue {
        AttributeValue { value: Some(value) }
    }

    pub fn s(text: &str) -> AttributeValue {
        attr(Value::S(text.into()))
    }

    pub fn n(text: &str) -> AttributeValue {
        attr(Value::N(text.into()))
    }

    pub fn b(bytes: &[u8]) -> AttributeValue {
        attr(Value::B(bytes.to_vec()))
    }

    pub fn boolean(value: bool) -> AttributeValue {
        attr(Value::Bool(value))
    }

    pub fn null() -> AttributeValue {
        attr(Value::Null(true))
    }

    pub fn ss(values: &[&str]) -> AttributeValue {
        attr(Value::Ss(StringSet {
            values: values.iter().map(|v| v.to_string()).collect(),
        }))
    }

    pub fn ns(values: &[&str]) -> AttributeValue {
        attr(Value::Ns(NumberSet {
            values: values.iter().map(|v| v.to_string()).collect(),
        }))
    }

    pub fn bs(values: &[&[u8]]) -> AttributeValue {
        attr(Value::Bs(BinarySet {
            values: values.iter().map(|v| v.to_vec()).collect(),
        }))
    }

    pub fn l<const N: usize>(values: [AttributeValue; N]) -> AttributeValue {
        attr(Value::L(ListValue {
            values: values.into(),
        }))
    }

    pub fn item<const N: usize>(entries: [(&str, AttributeValue); N]) -> Item {
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    pub fn m<const N: usize>(entries: [(&str, AttributeValue); N]) -> AttributeValue {
        attr(Value::M(MapValue {
            values: item(entries),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_paths_render_outermost_first() {
        let cases: Vec<(Failure, &str)> = vec![
            (Failure::new("bad"), "bad"),
            (Failure::new("bad").at_field("a"), "a: bad"),
            (
                Failure::new("expected a number, found S")
                    .at_field("total")
                    .at_index(2)
                    .at_field("orders"),
                "orders[2].total: expected a number, found S",
            ),
            (Failure::new("bad").at_field("x").at_index(0), "[0].x: bad"),
        ];
        for (failure, expected) in cases {
            assert_eq!(
                ValueError::from(failure),
                ValueError::Message(expected.into())
            );
        }
    }
}

#[cfg(test)]
mod round_trip_tests {
    use std::collections::{BTreeSet, HashMap};
    use std::fmt::Debug;

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};
    use serde_bytes::ByteBuf;

    use super::build::*;
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Address {
        city: String,
        zip: Option<String>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Line {
        sku: String,
        quantity: u16,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Status {
        Active,
        Suspended(String),
        Moved(String, u8),
        Closed { year: u16 },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "kind")]
    enum Payment {
        Card { last4: String },
        Cash,
    }

    /// One field of every kind the conversion handles.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Everything {
        i8: i8,
        i16: i16,
        i32: i32,
        i64: i64,
        i128: i128,
        u8: u8,
        u16: u16,
        u32: u32,
        u64: u64,
        u128: u128,
        f32: f32,
        small: f64,
        huge: f64,
        decimal: Decimal,
        text: String,
        letter: char,
        flag: bool,
        some: Option<String>,
        none: Option<String>,
        #[serde(with = "serde_bytes")]
        raw: Vec<u8>,
        shared: bytes::Bytes,
        address: Address,
        lines: Vec<Line>,
        counts: HashMap<String, u32>,
        #[serde(with = "sets::string")]
        tags: BTreeSet<String>,
        #[serde(with = "sets::number")]
        scores: Vec<i64>,
        #[serde(with = "sets::binary")]
        blobs: Vec<ByteBuf>,
        #[serde(
            with = "sets::string",
            default,
            skip_serializing_if = "BTreeSet::is_empty"
        )]
        no_tags: BTreeSet<String>,
        statuses: Vec<Status>,
        payment: Payment,
        cash: Payment,
        nothing: (),
    }

    fn everything() -> Everything {
        Everything {
            i8: i8::MIN,
            i16: i16::MAX,
            i32: -7,
            i64: i64::MAX,
            i128: i128::MIN,
            u8: u8::MAX,
            u16: 0,
            u32: u32::MAX,
            u64: u64::MAX,
            u128: u128::MAX,
            f32: 0.1,
            small: 0.1,
            huge: 1e300,
            decimal: "12345678901234567890.123456789012345678".parse().unwrap(),
            text: "héllo".into(),
            letter: 'x',
            flag: true,
            some: Some("here".into()),
            none: None,
            raw: vec![0, 1, 255],
            shared: bytes::Bytes::from_static(b"shared"),
            address: Address {
                city: "Oslo".into(),
                zip: None,
            },
            lines: vec![
                Line {
                    sku: "a".into(),
                    quantity: 1,
                },
                Line {
                    sku: "b".into(),
                    quantity: 2,
                },
            ],
            counts: HashMap::from([("x".into(), 1), ("y".into(), 2)]),
            tags: ["red".into(), "blue".into()].into(),
            scores: vec![10, -3],
            blobs: vec![ByteBuf::from(vec![1]), ByteBuf::from(vec![2, 2])],
            no_tags: BTreeSet::new(),
            statuses: vec![
                Status::Active,
                Status::Suspended("fraud".into()),
                Status::Moved("Bergen".into(), 3),
                Status::Closed { year: 2024 },
            ],
            payment: Payment::Card {
                last4: "4242".into(),
            },
            cash: Payment::Cash,
            nothing: (),
        }
    }

    fn everything_item() -> Item {
        item([
            ("i8", n("-128")),
            ("i16", n("32767")),
            ("i32", n("-7")),
            ("i64", n("9223372036854775807")),
            ("i128", n("-170141183460469231731687303715884105728")),
            ("u8", n("255")),
            ("u16", n("0")),
            ("u32", n("4294967295")),
            ("u64", n("18446744073709551615")),
            ("u128", n("340282366920938463463374607431768211455")),
            ("f32", n("0.1")),
            ("small", n("0.1")),
            ("huge", n("1E+300")),
            ("decimal", n("12345678901234567890.123456789012345678")),
            ("text", s("héllo")),
            ("letter", s("x")),
            ("flag", boolean(true)),
            ("some", s("here")),
            ("raw", b(&[0, 1, 255])),
            ("shared", b(b"shared")),
            ("address", m([("city", s("Oslo"))])),
            (
                "lines",
                l([
                    m([("sku", s("a")), ("quantity", n("1"))]),
                    m([("sku", s("b")), ("quantity", n("2"))]),
                ]),
            ),
            ("counts", m([("x", n("1")), ("y", n("2"))])),
            ("tags", ss(&["blue", "red"])),
            ("scores", ns(&["10", "-3"])),
            ("blobs", bs(&[&[1], &[2, 2]])),
            (
                "statuses",
                l([
                    s("Active"),
                    m([("Suspended", s("fraud"))]),
                    m([("Moved", l([s("Bergen"), n("3")]))]),
                    m([("Closed", m([("year", n("2024"))]))]),
                ]),
            ),
            ("payment", m([("kind", s("Card")), ("last4", s("4242"))])),
            ("cash", m([("kind", s("Cash"))])),
            ("nothing", null()),
        ])
    }

    #[test]
    fn every_field_kind_has_its_exact_shape() {
        let got = to_item(&everything()).unwrap();
        let expected = everything_item();
        // Field by field first, so a mismatch names the attribute.
        for (name, value) in &expected {
            assert_eq!(got.get(name), Some(value), "{name}");
        }
        assert_eq!(got, expected);
        assert!(
            !got.contains_key("none"),
            "None is left out, not stored as NULL"
        );
    }

    #[test]
    fn every_field_kind_round_trips() {
        let back: Everything = from_item(to_item(&everything()).unwrap()).unwrap();
        assert_eq!(back, everything());
    }

    #[test]
    fn attribute_values_round_trip() {
        fn check<T: Serialize + serde::de::DeserializeOwned + PartialEq + Debug>(value: T) {
            let attribute = to_attribute_value(&value).unwrap();
            assert_eq!(from_attribute_value::<T>(attribute).unwrap(), value);
        }
        check(None::<u8>);
        check(Some(3u8));
        check(vec![Some(1u8), None]);
        check(Status::Closed { year: 1 });
        check(Payment::Cash);
        check((1u8, "two".to_owned(), 3.5f64));
        check(vec![1u8, 2, 3]);
        check(HashMap::from([(7u64, "seven".to_owned())]));
        check(serde_json::json!({"a": [1, -2, 0.5, "x", null, true], "b": {}}));
        check(Decimal::from(u128::MAX));
    }

    #[test]
    fn buffered_representations_round_trip() {
        // Untagged, adjacently tagged and flattened types make serde buffer the value through
        // `deserialize_any`, which must hand out every type faithfully.
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(untagged)]
        enum Untagged {
            Number(u64),
            Float(f64),
            Text(String),
            Pair { a: bool, b: Option<String> },
        }
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(tag = "t", content = "c")]
        enum Adjacent {
            Bytes(ByteBuf),
            List(Vec<i64>),
            Unit,
        }
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Base {
            id: String,
        }
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Flattened {
            #[serde(flatten)]
            base: Base,
            #[serde(with = "sets::string")]
            tags: BTreeSet<String>,
            price: Decimal,
            #[serde(flatten)]
            rest: HashMap<String, serde_json::Value>,
        }
        fn check<T: Serialize + serde::de::DeserializeOwned + PartialEq + Debug>(value: T) {
            let attribute = to_attribute_value(&value).unwrap();
            assert_eq!(from_attribute_value::<T>(attribute).unwrap(), value);
        }
        check(Untagged::Number(7));
        check(Untagged::Float(-0.5));
        check(Untagged::Text("x".into()));
        check(Untagged::Pair { a: true, b: None });
        check(Adjacent::Bytes(ByteBuf::from(vec![1, 2])));
        check(Adjacent::List(vec![-1, 2]));
        check(Adjacent::Unit);
        check(Flattened {
            base: Base { id: "1".into() },
            tags: ["a".into()].into(),
            price: "19.99".parse().unwrap(),
            rest: HashMap::from([("extra".into(), serde_json::json!([1, "two"]))]),
        });
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Generated {
        wide: i128,
        unsigned: u64,
        float: f64,
        single: f32,
        text: String,
        texts: Vec<String>,
        maybe: Option<i32>,
        #[serde(
            with = "sets::string",
            default,
            skip_serializing_if = "BTreeSet::is_empty"
        )]
        set: BTreeSet<String>,
        #[serde(with = "serde_bytes")]
        raw: Vec<u8>,
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO
    }

    fn finite_f32() -> impl Strategy<Value = f32> {
        prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO
    }

    prop_compose! {
        fn generated()(
            wide in any::<i128>(),
            unsigned in any::<u64>(),
            float in finite_f64(),
            single in finite_f32(),
            text in ".*",
            texts in prop::collection::vec(".*", 0..5),
            maybe in any::<Option<i32>>(),
            set in prop::collection::btree_set(".*", 0..5),
            raw in prop::collection::vec(any::<u8>(), 0..16),
        ) -> Generated {
            Generated { wide, unsigned, float, single, text, texts, maybe, set, raw }
        }
    }

    proptest! {
        #[test]
        fn generated_structs_round_trip(value in generated()) {
            let item = to_item(&value).unwrap();
            prop_assert_eq!(item.contains_key("maybe"), value.maybe.is_some());
            prop_assert_eq!(item.contains_key("set"), !value.set.is_empty());
            let back: Generated = from_item(item).unwrap();
            prop_assert_eq!(back, value);
        }

        #[test]
        fn floats_keep_their_exact_bits(value in finite_f64()) {
            let back: f64 = from_attribute_value(to_attribute_value(&value).unwrap()).unwrap();
            // DynamoDB has no negative zero; every other value keeps its bits.
            if value != 0.0 {
                prop_assert_eq!(back.to_bits(), value.to_bits());
            }
        }

        #[test]
        fn decimals_keep_38_digits(digits in "[1-9][0-9]{0,37}", point in 0usize..38, negative in any::<bool>()) {
            let point = point.min(digits.len());
            let (int, frac) = digits.split_at(digits.len() - point);
            let int = if int.is_empty() { "0" } else { int };
            let sign = if negative { "-" } else { "" };
            let text = if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") };
            let decimal: Decimal = text.parse().unwrap();
            let attribute = to_attribute_value(&decimal).unwrap();
            prop_assert_eq!(&attribute, &n(&text));
            let back: Decimal = from_attribute_value(attribute).unwrap();
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn integers_in_untyped_values_stay_exact(value in any::<i64>()) {
            let json: serde_json::Value = from_attribute_value(to_attribute_value(&value).unwrap()).unwrap();
            prop_assert_eq!(json.to_string(), value.to_string());
        }
    }
}
