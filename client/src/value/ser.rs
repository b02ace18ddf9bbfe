//! Rust values to attribute values.
//!
//! The serializer produces a [`Slot`] rather than a value so that `None` can be told apart from
//! `NULL`: maps and structs leave an absent value out, where DynamoDB users expect a missing
//! attribute, while lists (which cannot have holes) store it as `NULL`.

use std::collections::HashMap;

use serde::ser::{self, Serialize};

use super::decimal::{self, JSON_NUMBER_TOKEN, NUMBER_TOKEN};
use super::sets::{self, SetKind};
use super::{type_tag, AttributeValue, Failure, Item, ValueError};
use crate::proto::v1::attribute_value::Value;
use crate::proto::v1::{ListValue, MapValue};

/// What serializing one value produced; `None` is an absent value (a `None` option).
type Slot = Option<Value>;

pub(super) fn to_attribute_value<T: Serialize + ?Sized>(
    value: &T,
) -> Result<AttributeValue, ValueError> {
    let slot = value.serialize(ValueSerializer)?;
    Ok(attribute(slot.unwrap_or(Value::Null(true))))
}

pub(super) fn to_item<T: Serialize + ?Sized>(value: &T) -> Result<Item, ValueError> {
    match value.serialize(ValueSerializer)? {
        Some(Value::M(map)) => Ok(map.values),
        other => {
            let got = other.as_ref().map_or("nothing (None)", type_tag);
            Err(ValueError::Message(format!(
                "an item must serialize as a map or struct, got {got}"
            )))
        }
    }
}

fn attribute(value: Value) -> AttributeValue {
    AttributeValue { value: Some(value) }
}

/// Serializes into a [`Slot`].
struct ValueSerializer;

impl ValueSerializer {
    fn number(text: String) -> Result<Slot, Failure> {
        Ok(Some(Value::N(text)))
    }

    fn float(text: Option<String>, shown: impl std::fmt::Display) -> Result<Slot, Failure> {
        match text {
            Some(text) => Self::number(text),
            None => Err(Failure::new(format!(
                "{shown} cannot be stored: DynamoDB numbers are finite"
            ))),
        }
    }
}

impl ser::Serializer for ValueSerializer {
    type Ok = Slot;
    type Error = Failure;
    type SerializeSeq = ListBuilder;
    type SerializeTuple = ListBuilder;
    type SerializeTupleStruct = ListBuilder;
    type SerializeTupleVariant = VariantBuilder<ListBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = VariantBuilder<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Slot, Failure> {
        Ok(Some(Value::Bool(v)))
    }

    fn serialize_i8(self, v: i8) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_i16(self, v: i16) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_i32(self, v: i32) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_i64(self, v: i64) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_i128(self, v: i128) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_u8(self, v: u8) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_u16(self, v: u16) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_u32(self, v: u32) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_u64(self, v: u64) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_u128(self, v: u128) -> Result<Slot, Failure> {
        Self::number(v.to_string())
    }

    fn serialize_f32(self, v: f32) -> Result<Slot, Failure> {
        Self::float(decimal::f32_text(v), v)
    }

    fn serialize_f64(self, v: f64) -> Result<Slot, Failure> {
        Self::float(decimal::f64_text(v), v)
    }

    fn serialize_char(self, v: char) -> Result<Slot, Failure> {
        Ok(Some(Value::S(v.to_string())))
    }

    fn serialize_str(self, v: &str) -> Result<Slot, Failure> {
        Ok(Some(Value::S(v.to_owned())))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Slot, Failure> {
        Ok(Some(Value::B(v.to_vec())))
    }

    fn serialize_none(self) -> Result<Slot, Failure> {
        Ok(None)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Slot, Failure> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Slot, Failure> {
        Ok(Some(Value::Null(true)))
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Slot, Failure> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Slot, Failure> {
        self.serialize_str(variant)
    }

    /// Our private names (sets, [`Decimal`](super::Decimal)) change how the content is stored;
    /// any other newtype is transparent.
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Slot, Failure> {
        if name == NUMBER_TOKEN {
            return value.serialize(self).and_then(number_from_text).map(Some);
        }
        match SetKind::from_token(name) {
            Some(kind) => value.serialize(self).and_then(|slot| set_from(kind, slot)),
            None => value.serialize(self),
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Slot, Failure> {
        let content = value.serialize(self).map_err(|e| e.at_field(variant))?;
        Ok(Some(single_entry(
            variant,
            content.unwrap_or(Value::Null(true)),
        )))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<ListBuilder, Failure> {
        Ok(ListBuilder {
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<ListBuilder, Failure> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<ListBuilder, Failure> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<ListBuilder>, Failure> {
        Ok(VariantBuilder {
            variant,
            content: self.serialize_seq(Some(len))?,
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Failure> {
        Ok(MapBuilder {
            entries: HashMap::with_capacity(len.unwrap_or(0)),
            pending_key: None,
        })
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<StructBuilder, Failure> {
        if name == JSON_NUMBER_TOKEN {
            return Ok(StructBuilder::JsonNumber(None));
        }
        self.serialize_map(Some(len)).map(StructBuilder::Fields)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<MapBuilder>, Failure> {
        Ok(VariantBuilder {
            variant,
            content: self.serialize_map(Some(len))?,
        })
    }
}

/// The `N` for a number's text, which our number tokens wrap as a string.
fn number_from_text(slot: Slot) -> Result<Value, Failure> {
    match slot {
        Some(Value::S(text)) => Ok(Value::N(text)),
        other => Err(Failure::new(format!(
            "a number's text must be a string, got {}",
            other.as_ref().map_or("nothing", type_tag)
        ))),
    }
}

/// The set for a collection marked with one of the [`sets`] modules.
fn set_from(kind: SetKind, slot: Slot) -> Result<Slot, Failure> {
    let elements = match slot {
        // `Option<collection>`: `None` is left out like any other absent value.
        None => return Ok(None),
        Some(Value::L(list)) => list.values.into_iter().map(|item| item.value),
        Some(other) => {
            return Err(Failure::new(format!(
                "{} needs a collection that serializes as a sequence, got {}",
                kind.tag(),
                type_tag(&other)
            )))
        }
    };
    // List items are always set (absent becomes NULL), so nothing is dropped here.
    let elements: Vec<Value> = elements.flatten().collect();
    match sets::build_set(kind, elements) {
        Ok(set) => Ok(Some(set)),
        Err((Some(index), message)) => Err(Failure::new(message).at_index(index)),
        Err((None, message)) => Err(Failure::new(message)),
    }
}

/// `M` with one entry: serde's externally tagged enum representation.
fn single_entry(key: &str, value: Value) -> Value {
    Value::M(MapValue {
        values: HashMap::from([(key.to_owned(), attribute(value))]),
    })
}

/// A map key's text: strings, and integers as their decimal text (JSON's convention too).
fn key_text(slot: Slot) -> Result<String, Failure> {
    match slot {
        Some(Value::S(text)) => Ok(text),
        Some(Value::N(text)) if decimal::integer_text(&text).as_deref() == Ok(text.as_str()) => {
            Ok(text)
        }
        Some(Value::N(text)) => Err(Failure::new(format!(
            "map keys must be strings or integers, got the number {text}"
        ))),
        other => Err(Failure::new(format!(
            "map keys must be strings or integers, got {}",
            other.as_ref().map_or("None", type_tag)
        ))),
    }
}

struct ListBuilder {
    items: Vec<AttributeValue>,
}

impl ListBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        let index = self.items.len();
        let slot = value
            .serialize(ValueSerializer)
            .map_err(|e| e.at_index(index))?;
        // A list cannot have holes, so an absent value is stored as NULL.
        self.items
            .push(attribute(slot.unwrap_or(Value::Null(true))));
        Ok(())
    }

    fn finish(self) -> Value {
        Value::L(ListValue { values: self.items })
    }
}

impl ser::SerializeSeq for ListBuilder {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.push(value)
    }

    fn end(self) -> Result<Slot, Failure> {
        Ok(Some(self.finish()))
    }
}

impl ser::SerializeTuple for ListBuilder {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.push(value)
    }

    fn end(self) -> Result<Slot, Failure> {
        Ok(Some(self.finish()))
    }
}

impl ser::SerializeTupleStruct for ListBuilder {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.push(value)
    }

    fn end(self) -> Result<Slot, Failure> {
        Ok(Some(self.finish()))
    }
}

struct MapBuilder {
    entries: HashMap<String, AttributeValue>,
    /// `SerializeMap` receives keys and values in separate calls.
    pending_key: Option<String>,
}

impl MapBuilder {
    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Failure> {
        let slot = value
            .serialize(ValueSerializer)
            .map_err(|e| e.at_field(&key))?;
        // An absent value leaves the attribute out, rather than storing NULL.
        if let Some(value) = slot {
            self.entries.insert(key, attribute(value));
        }
        Ok(())
    }

    fn finish(self) -> Value {
        Value::M(MapValue {
            values: self.entries,
        })
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Failure> {
        self.pending_key = Some(key_text(key.serialize(ValueSerializer)?)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| Failure::new("a map value was serialized before its key"))?;
        self.insert(key, value)
    }

    fn end(self) -> Result<Slot, Failure> {
        Ok(Some(self.finish()))
    }
}

/// A struct is a map of its fields, except serde_json's exact-number struct, which is a number.
enum StructBuilder {
    Fields(MapBuilder),
    JsonNumber(Option<Value>),
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        match self {
            StructBuilder::Fields(map) => map.insert(key.to_owned(), value),
            StructBuilder::JsonNumber(number) => {
                *number = Some(number_from_text(value.serialize(ValueSerializer)?)?);
                Ok(())
            }
        }
    }

    fn end(self) -> Result<Slot, Failure> {
        match self {
            StructBuilder::Fields(map) => Ok(Some(map.finish())),
            StructBuilder::JsonNumber(Some(number)) => Ok(Some(number)),
            StructBuilder::JsonNumber(None) => Err(Failure::new("a JSON number without its text")),
        }
    }
}

/// Tuple and struct variants: the content wrapped as `{variant: content}`.
struct VariantBuilder<B> {
    variant: &'static str,
    content: B,
}

impl ser::SerializeTupleVariant for VariantBuilder<ListBuilder> {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        self.content
            .push(value)
            .map_err(|e| e.at_field(self.variant))
    }

    fn end(self) -> Result<Slot, Failure> {
        Ok(Some(single_entry(self.variant, self.content.finish())))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
    type Ok = Slot;
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        self.content
            .insert(key.to_owned(), value)
            .map_err(|e| e.at_field(self.variant))
    }

    fn end(self) -> Result<Slot, Failure> {
        Ok(Some(single_entry(self.variant, self.content.finish())))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

    use serde::Serialize;
    use serde_bytes::ByteBuf;

    use super::super::build::*;
    use super::super::{sets, to_attribute_value, to_item, Decimal};
    use super::*;

    fn shape<T: Serialize + ?Sized>(value: &T) -> AttributeValue {
        to_attribute_value(value).unwrap()
    }

    fn error<T: Serialize + ?Sized>(value: &T) -> String {
        match to_attribute_value(value) {
            Err(ValueError::Message(message)) => message,
            Ok(value) => panic!("expected an error, got {value:?}"),
        }
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Meters(f64);

    #[derive(Serialize)]
    struct Pair(u8, String);

    #[test]
    fn scalars() {
        let cases: Vec<(AttributeValue, AttributeValue)> = vec![
            (shape(&true), boolean(true)),
            (shape(&-5i8), n("-5")),
            (shape(&300i16), n("300")),
            (shape(&-70000i32), n("-70000")),
            (shape(&i64::MIN), n("-9223372036854775808")),
            (
                shape(&i128::MIN),
                n("-170141183460469231731687303715884105728"),
            ),
            (shape(&255u8), n("255")),
            (shape(&u16::MAX), n("65535")),
            (shape(&u32::MAX), n("4294967295")),
            (shape(&u64::MAX), n("18446744073709551615")),
            (
                shape(&u128::MAX),
                n("340282366920938463463374607431768211455"),
            ),
            (shape(&0.1f64), n("0.1")),
            (shape(&1e300f64), n("1E+300")),
            (shape(&-2.5f64), n("-2.5")),
            (shape(&0.1f32), n("0.1")),
            (shape(&'é'), s("é")),
            (shape("text"), s("text")),
            (shape(&String::new()), s("")),
            (shape(serde_bytes::Bytes::new(b"\x00\xff")), b(b"\x00\xff")),
            (shape(&bytes::Bytes::from_static(b"abc")), b(b"abc")),
            (shape(&()), null()),
            (shape(&Unit), null()),
            (shape(&None::<u8>), null()),
            (shape(&Some(5u8)), n("5")),
            (shape(&Some(Some("x"))), s("x")),
            (shape(&Meters(1.5)), n("1.5")),
            (
                shape(
                    &"12345678901234567890.123456789012345678"
                        .parse::<Decimal>()
                        .unwrap(),
                ),
                n("12345678901234567890.123456789012345678"),
            ),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn sequences_are_lists_and_none_inside_is_null() {
        let cases: Vec<(AttributeValue, AttributeValue)> = vec![
            (shape(&vec![1u32, 2]), l([n("1"), n("2")])),
            (shape(&Vec::<String>::new()), l([])),
            (shape(&vec![Some(1u8), None]), l([n("1"), null()])),
            (shape(&(1u8, "a", true)), l([n("1"), s("a"), boolean(true)])),
            (shape(&Pair(7, "x".into())), l([n("7"), s("x")])),
            // A plain Vec<u8> is a sequence to serde; only serde_bytes/Bytes make it B.
            (shape(&vec![1u8, 2]), l([n("1"), n("2")])),
            (shape(&BTreeSet::from(["b", "a"])), l([s("a"), s("b")])),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn maps_leave_none_out_and_render_integer_keys() {
        #[derive(Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
        enum Color {
            Red,
        }
        let cases: Vec<(AttributeValue, AttributeValue)> = vec![
            (
                shape(&HashMap::from([("a", Some(1u8)), ("b", None)])),
                m([("a", n("1"))]),
            ),
            (
                shape(&BTreeMap::from([(1u32, "x"), (20, "y")])),
                m([("1", s("x")), ("20", s("y"))]),
            ),
            (
                shape(&BTreeMap::from([(-1i64, true)])),
                m([("-1", boolean(true))]),
            ),
            (shape(&BTreeMap::from([('c', 1u8)])), m([("c", n("1"))])),
            (
                shape(&BTreeMap::from([(Color::Red, 1u8)])),
                m([("Red", n("1"))]),
            ),
            (shape(&HashMap::<String, u8>::new()), m([])),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn structs_leave_none_out() {
        #[derive(Serialize)]
        struct Inner {
            present: Option<u8>,
            absent: Option<u8>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            nested_none: Option<Option<u8>>,
            list: Vec<Option<u8>>,
        }
        let value = Inner {
            present: Some(1),
            absent: None,
            skipped: None,
            nested_none: Some(None),
            list: vec![None],
        };
        assert_eq!(
            to_item(&value).unwrap(),
            item([("present", n("1")), ("list", l([null()]))])
        );
    }

    #[derive(Serialize)]
    enum Shape {
        Empty,
        Circle(f64),
        Point(i32, i32),
        Rect { width: u32, height: u32 },
        Maybe(Option<u8>),
    }

    #[test]
    fn enums_are_externally_tagged_by_default() {
        let cases: Vec<(AttributeValue, AttributeValue)> = vec![
            (shape(&Shape::Empty), s("Empty")),
            (shape(&Shape::Circle(1.5)), m([("Circle", n("1.5"))])),
            (
                shape(&Shape::Point(1, -2)),
                m([("Point", l([n("1"), n("-2")]))]),
            ),
            (
                shape(&Shape::Rect {
                    width: 3,
                    height: 4,
                }),
                m([("Rect", m([("width", n("3")), ("height", n("4"))]))]),
            ),
            // The single entry cannot be left out, so an absent content is NULL.
            (shape(&Shape::Maybe(None)), m([("Maybe", null())])),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn other_enum_representations_work_through_serde() {
        #[derive(Serialize)]
        #[serde(tag = "kind")]
        enum Internal {
            Circle { radius: f64 },
            Unit,
        }
        #[derive(Serialize)]
        #[serde(tag = "t", content = "c")]
        enum Adjacent {
            Value(u8),
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Untagged {
            Number(u8),
            Text(String),
        }
        let cases: Vec<(AttributeValue, AttributeValue)> = vec![
            (
                shape(&Internal::Circle { radius: 2.0 }),
                m([("kind", s("Circle")), ("radius", n("2"))]),
            ),
            (shape(&Internal::Unit), m([("kind", s("Unit"))])),
            (
                shape(&Adjacent::Value(1)),
                m([("t", s("Value")), ("c", n("1"))]),
            ),
            (shape(&Untagged::Number(1)), n("1")),
            (shape(&Untagged::Text("x".into())), s("x")),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn sets_chosen_per_field() {
        #[derive(Serialize)]
        struct Sets {
            #[serde(with = "sets::string")]
            tags: BTreeSet<String>,
            #[serde(with = "sets::number")]
            scores: Vec<i64>,
            #[serde(with = "sets::number")]
            ratios: Vec<f64>,
            #[serde(with = "sets::number")]
            exact: BTreeSet<Decimal>,
            #[serde(with = "sets::binary")]
            blobs: Vec<ByteBuf>,
            #[serde(with = "sets::binary")]
            chunks: Vec<bytes::Bytes>,
            #[serde(with = "sets::binary")]
            plain: Vec<Vec<u8>>,
            #[serde(with = "sets::string")]
            maybe: Option<HashSet<String>>,
            #[serde(with = "sets::string")]
            missing: Option<HashSet<String>>,
            #[serde(with = "sets::string", skip_serializing_if = "Vec::is_empty")]
            empty: Vec<String>,
        }
        let value = Sets {
            tags: ["b".to_owned(), "a".to_owned()].into(),
            scores: vec![3, -1],
            ratios: vec![0.5],
            exact: [Decimal::from(7u64)].into(),
            blobs: vec![ByteBuf::from(vec![1u8]), ByteBuf::from(vec![2u8, 3])],
            chunks: vec![bytes::Bytes::from_static(b"x")],
            plain: vec![vec![9u8]],
            maybe: Some(["only".to_owned()].into()),
            missing: None,
            empty: vec![],
        };
        assert_eq!(
            to_item(&value).unwrap(),
            item([
                ("tags", ss(&["a", "b"])),
                ("scores", ns(&["3", "-1"])),
                ("ratios", ns(&["0.5"])),
                ("exact", ns(&["7"])),
                ("blobs", bs(&[&[1], &[2, 3]])),
                ("chunks", bs(&[b"x"])),
                ("plain", bs(&[&[9]])),
                ("maybe", ss(&["only"])),
            ])
        );
    }

    #[test]
    fn serde_json_values_keep_exact_numbers() {
        let json: serde_json::Value =
            serde_json::from_str(r#"{"a": 12345678901234567890.123456789012345678, "b": [1, null, "x"], "c": {"d": false}}"#)
                .unwrap();
        assert_eq!(
            shape(&json),
            m([
                ("a", n("12345678901234567890.123456789012345678")),
                ("b", l([n("1"), null(), s("x")])),
                ("c", m([("d", boolean(false))])),
            ])
        );
    }

    #[test]
    fn errors() {
        #[derive(Serialize)]
        struct Order {
            total: f64,
        }
        #[derive(Serialize)]
        struct Orders {
            orders: Vec<Order>,
        }
        #[derive(Serialize)]
        struct StringSet<T: Serialize>(#[serde(with = "sets::string")] T);
        #[derive(Serialize)]
        struct NumberSet<T: Serialize>(#[serde(with = "sets::number")] T);
        #[derive(Serialize)]
        struct Tagged {
            #[serde(with = "sets::string")]
            tags: Vec<String>,
        }
        let nan_orders = Orders {
            orders: vec![Order { total: 1.0 }, Order { total: f64::NAN }],
        };
        let cases: Vec<(String, &str)> = vec![
            (error(&f64::NAN), "NaN cannot be stored: DynamoDB numbers are finite"),
            (error(&f64::INFINITY), "inf cannot be stored: DynamoDB numbers are finite"),
            (error(&f32::NEG_INFINITY), "-inf cannot be stored: DynamoDB numbers are finite"),
            (error(&nan_orders), "orders[1].total: NaN cannot be stored: DynamoDB numbers are finite"),
            (error(&BTreeMap::from([(true, 1u8)])), "map keys must be strings or integers, got BOOL"),
            (error(&BTreeMap::from([((1u8, 2u8), 1u8)])), "map keys must be strings or integers, got L"),
            (
                error(&StringSet(Vec::<String>::new())),
                "DynamoDB rejects empty sets (SS); leave the attribute out with \
                 #[serde(default, skip_serializing_if = \"…::is_empty\")]",
            ),
            (error(&Tagged { tags: vec![] }), "tags: DynamoDB rejects empty sets (SS); leave the attribute out with #[serde(default, skip_serializing_if = \"…::is_empty\")]"),
            (error(&StringSet(vec!["a", "a"])), "[1]: SS cannot hold the same element twice (DynamoDB rejects duplicates)"),
            (error(&NumberSet(vec!["1"])), "[0]: NS elements must be a number, got S"),
            (error(&NumberSet(vec![f64::NAN])), "[0]: NaN cannot be stored: DynamoDB numbers are finite"),
            (error(&StringSet("abc")), "SS needs a collection that serializes as a sequence, got S"),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn float_keys_are_refused() {
        let mut map = HashMap::new();
        map.insert(ordered(1.5), 1u8);
        assert_eq!(
            error(&map),
            "map keys must be strings or integers, got the number 1.5"
        );
    }

    /// A float map key (floats are not `Hash`, so wrap the bits).
    #[derive(PartialEq, Eq, Hash)]
    struct FloatKey(u64);

    impl Serialize for FloatKey {
        fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_f64(f64::from_bits(self.0))
        }
    }

    fn ordered(value: f64) -> FloatKey {
        FloatKey(value.to_bits())
    }

    #[test]
    fn items_must_be_maps() {
        #[derive(Serialize)]
        struct Named {
            id: u8,
        }
        assert_eq!(to_item(&Named { id: 1 }).unwrap(), item([("id", n("1"))]));
        assert_eq!(
            to_item(&HashMap::from([("k", "v")])).unwrap(),
            item([("k", s("v"))])
        );
        let cases: Vec<(Result<Item, ValueError>, &str)> = vec![
            (to_item(&5u8), "N"),
            (to_item("text"), "S"),
            (to_item(&vec![1u8]), "L"),
            (to_item(&()), "NULL"),
            (to_item(&None::<Named>), "nothing (None)"),
            (to_item(&Shape::Empty), "S"),
        ];
        for (got, tag) in cases {
            let expected = format!("an item must serialize as a map or struct, got {tag}");
            assert_eq!(got, Err(ValueError::Message(expected)));
        }
    }
}
