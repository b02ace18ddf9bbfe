//! Attribute values to Rust values.
//!
//! The deserializer owns the attribute value, so it works for any `'de` and hands out owned
//! strings and bytes. Sets are presented as sequences, numbers as whatever numeric type the
//! target asks for (parsed from the exact text), and `NULL` as `None` or `()`.

use std::collections::hash_map;
use std::str::FromStr;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use super::decimal::{self, NotInteger, NUMBER_TOKEN};
use super::{type_tag, AttributeValue, Failure, Item, ValueError};
use crate::proto::v1::attribute_value::Value;
use crate::proto::v1::MapValue;

pub(super) fn from_attribute_value<T: DeserializeOwned>(
    value: AttributeValue,
) -> Result<T, ValueError> {
    Ok(T::deserialize(ValueDeserializer::new(value.value))?)
}

pub(super) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, ValueError> {
    let map = Value::M(MapValue { values: item });
    Ok(T::deserialize(ValueDeserializer::new(Some(map)))?)
}

/// Deserializes one attribute value; `None` is an `AttributeValue` with no member set, which is
/// invalid and reported as soon as anything reads it.
struct ValueDeserializer {
    value: Option<Value>,
}

impl ValueDeserializer {
    fn new(value: Option<Value>) -> Self {
        ValueDeserializer { value }
    }

    fn into_value(self) -> Result<Value, Failure> {
        self.value
            .ok_or_else(|| Failure::new("the attribute value has no type set"))
    }

    /// The text of an `N`, for the typed number methods.
    fn number_text(self) -> Result<String, Failure> {
        match self.into_value()? {
            Value::N(text) => Ok(text),
            other => Err(unexpected("a number", &other)),
        }
    }

    fn integer<T: FromStr>(self, type_name: &str) -> Result<T, Failure> {
        parse_integer(&self.number_text()?, type_name)
    }
}

fn unexpected(expected: &str, found: &Value) -> Failure {
    Failure::new(format!("expected {expected}, found {}", type_tag(found)))
}

/// An integer of type `T` from number text however it is spelled (`120`, `1.2E+2`).
fn parse_integer<T: FromStr>(text: &str, type_name: &str) -> Result<T, Failure> {
    if let Ok(value) = text.parse::<T>() {
        return Ok(value);
    }
    let does_not_fit = || Failure::new(format!("number {text} does not fit in {type_name}"));
    match decimal::integer_text(text) {
        Ok(plain) => plain.parse::<T>().map_err(|_| does_not_fit()),
        Err(NotInteger::TooLarge) => Err(does_not_fit()),
        Err(NotInteger::Fractional) => Err(Failure::new(format!(
            "number {text} is not an integer, so it does not fit in {type_name}"
        ))),
        Err(NotInteger::NotANumber) => Err(not_a_number(text)),
    }
}

fn not_a_number(text: &str) -> Failure {
    Failure::new(format!("{text:?} is not a number"))
}

/// Parses float text, refusing values beyond the type's range rather than making them infinite.
fn parse_float<T: FromStr>(
    text: &str,
    type_name: &str,
    is_finite: impl Fn(&T) -> bool,
) -> Result<T, Failure> {
    match text.parse::<T>() {
        Ok(value) if is_finite(&value) => Ok(value),
        Ok(_) => Err(Failure::new(format!(
            "number {text} does not fit in {type_name}"
        ))),
        Err(_) => Err(not_a_number(text)),
    }
}

/// A number for a visitor that takes whatever comes (`deserialize_any`): the narrowest of
/// `u64`, `i64`, `u128`, `i128` that holds an integral value, else `f64`.
fn visit_number<'de, V: Visitor<'de>>(text: &str, visitor: V) -> Result<V::Value, Failure> {
    match decimal::integer_text(text) {
        Ok(plain) => {
            if let Ok(v) = plain.parse::<u64>() {
                return visitor.visit_u64(v);
            }
            if let Ok(v) = plain.parse::<i64>() {
                return visitor.visit_i64(v);
            }
            if let Ok(v) = plain.parse::<u128>() {
                return visitor.visit_u128(v);
            }
            if let Ok(v) = plain.parse::<i128>() {
                return visitor.visit_i128(v);
            }
        }
        Err(NotInteger::NotANumber) => return Err(not_a_number(text)),
        Err(NotInteger::Fractional | NotInteger::TooLarge) => {}
    }
    visitor.visit_f64(parse_float(text, "f64", |v: &f64| v.is_finite())?)
}

macro_rules! integer_methods {
    ($($method:ident => $visit:ident($ty:ty),)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
                visitor.$visit(self.integer::<$ty>(stringify!($ty))?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = Failure;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.into_value()? {
            Value::S(text) => visitor.visit_string(text),
            Value::N(text) => visit_number(&text, visitor),
            Value::B(bytes) => visitor.visit_byte_buf(bytes),
            Value::Null(_) => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::M(map) => visit_map(map, visitor),
            other => visit_seq(other, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.into_value()? {
            Value::Bool(b) => visitor.visit_bool(b),
            other => Err(unexpected("a boolean", &other)),
        }
    }

    integer_methods! {
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let text = self.number_text()?;
        visitor.visit_f32(parse_float(&text, "f32", |v: &f32| v.is_finite())?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        let text = self.number_text()?;
        visitor.visit_f64(parse_float(&text, "f64", |v: &f64| v.is_finite())?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_string(visitor)
    }

    /// Also accepts `N`, so a `String` field can hold a number's exact text.
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.into_value()? {
            Value::S(text) | Value::N(text) => visitor.visit_string(text),
            other => Err(unexpected("a string", &other)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_byte_buf(visitor)
    }

    /// Anything but `B` goes to the visitor as it is: byte-buffer visitors also take a list of
    /// numbers or a string.
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.value {
            Some(Value::B(bytes)) => visitor.visit_byte_buf(bytes),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.value {
            Some(Value::Null(_)) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.into_value()? {
            Value::Null(_) => visitor.visit_unit(),
            other => Err(unexpected("NULL", &other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_unit(visitor)
    }

    /// [`Decimal`](super::Decimal) asks with its token and gets the exact text; other newtypes
    /// are transparent.
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        if name != NUMBER_TOKEN {
            return visitor.visit_newtype_struct(self);
        }
        match self.into_value()? {
            Value::N(text) | Value::S(text) => visitor.visit_string(text),
            other => Err(unexpected("a number", &other)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.into_value()? {
            other @ (Value::L(_) | Value::Ss(_) | Value::Ns(_) | Value::Bs(_) | Value::B(_)) => {
                visit_seq(other, visitor)
            }
            other => Err(unexpected("a list or set", &other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.into_value()? {
            Value::M(map) => visit_map(map, visitor),
            other => Err(unexpected("a map", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.deserialize_map(visitor)
    }

    /// `S` is a unit variant; `M` with one entry is `{variant: content}`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        match self.into_value()? {
            Value::S(name) => visitor.visit_enum(VariantReader {
                name,
                content: None,
            }),
            Value::M(map) if map.values.len() == 1 => match map.values.into_iter().next() {
                Some((name, content)) => visitor.visit_enum(VariantReader {
                    name,
                    content: Some(ValueDeserializer::new(content.value)),
                }),
                None => Err(Failure::new("expected an enum, found an empty M")),
            },
            Value::M(map) => Err(Failure::new(format!(
                "expected an enum (S, or M with exactly one entry), found M with {} entries",
                map.values.len()
            ))),
            other => Err(unexpected(
                "an enum (S, or M with exactly one entry)",
                &other,
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_unit()
    }
}

fn visit_map<'de, V: Visitor<'de>>(map: MapValue, visitor: V) -> Result<V::Value, Failure> {
    visitor.visit_map(MapReader {
        entries: map.values.into_iter(),
        current: None,
    })
}

/// Lists, sets and binary (as a sequence of its bytes, for a plain `Vec<u8>`), as sequences.
/// The caller has checked `value` is one of them.
fn visit_seq<'de, V: Visitor<'de>>(value: Value, visitor: V) -> Result<V::Value, Failure> {
    fn items<T>(values: Vec<T>, to_value: fn(T) -> Value) -> Vec<Option<Value>> {
        values.into_iter().map(|v| Some(to_value(v))).collect()
    }
    let items = match value {
        Value::L(list) => list.values.into_iter().map(|item| item.value).collect(),
        Value::Ss(set) => items(set.values, Value::S),
        Value::Ns(set) => items(set.values, Value::N),
        Value::Bs(set) => items(set.values, Value::B),
        Value::B(bytes) => items(bytes, |byte| Value::N(byte.to_string())),
        other => return Err(unexpected("a list or set", &other)),
    };
    let total = items.len();
    let mut reader = SeqReader {
        items: items.into_iter(),
        index: 0,
    };
    let value = visitor.visit_seq(&mut reader)?;
    // A tuple reads only its own length; more elements would be silently lost.
    if reader.items.len() > 0 {
        return Err(de::Error::invalid_length(total, &"fewer elements"));
    }
    Ok(value)
}

struct SeqReader {
    items: std::vec::IntoIter<Option<Value>>,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for SeqReader {
    type Error = Failure;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Failure> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(ValueDeserializer::new(item))
            .map(Some)
            .map_err(|e| e.at_index(index))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapReader {
    entries: hash_map::IntoIter<String, AttributeValue>,
    /// The entry whose key was just handed out, kept for its value and for error paths.
    current: Option<(String, Option<Value>)>,
}

impl<'de> de::MapAccess<'de> for MapReader {
    type Error = Failure;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Failure> {
        let Some((name, value)) = self.entries.next() else {
            return Ok(None);
        };
        let key = seed
            .deserialize(KeyDeserializer(&name))
            .map_err(|e| e.at_field(&name))?;
        self.current = Some((name, value.value));
        Ok(Some(key))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Failure> {
        let (name, value) = self
            .current
            .take()
            .ok_or_else(|| Failure::new("a map value was read before its key"))?;
        seed.deserialize(ValueDeserializer::new(value))
            .map_err(|e| e.at_field(&name))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A map key: a string, or an integer written as text (`HashMap<u32, _>`).
struct KeyDeserializer<'a>(&'a str);

macro_rules! key_integer_methods {
    ($($method:ident => $visit:ident($ty:ty),)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
                let value = self.0.parse::<$ty>().map_err(|_| {
                    Failure::new(format!("map key {:?} is not a {}", self.0, stringify!($ty)))
                })?;
                visitor.$visit(value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'_> {
    type Error = Failure;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_str(self.0)
    }

    key_integer_methods! {
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants as keys (`HashMap<Color, _>`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        bool f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

/// An enum read from `S` (unit variant; `content` is `None`) or one-entry `M`.
struct VariantReader {
    name: String,
    content: Option<ValueDeserializer>,
}

impl VariantReader {
    /// The content of a variant that must have some, with errors placed under its name.
    fn content(
        content: Option<ValueDeserializer>,
        name: &str,
        what: &str,
    ) -> Result<ValueDeserializer, Failure> {
        content.ok_or_else(|| {
            Failure::new(format!(
                "variant {name} is a {what} variant, so it must be M {{\"{name}\": …}}, found S"
            ))
        })
    }
}

impl<'de> de::EnumAccess<'de> for VariantReader {
    type Error = Failure;
    type Variant = VariantReader;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, VariantReader), Failure> {
        let variant = seed.deserialize(KeyDeserializer(&self.name))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for VariantReader {
    type Error = Failure;

    /// `{variant: NULL}` is accepted too, as some writers spell unit variants that way.
    fn unit_variant(self) -> Result<(), Failure> {
        match self
            .content
            .map(ValueDeserializer::into_value)
            .transpose()?
        {
            None | Some(Value::Null(_)) => Ok(()),
            Some(other) => Err(Failure::new(format!(
                "variant {} is a unit variant, but its content is {}",
                self.name,
                type_tag(&other)
            ))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Failure> {
        let content = Self::content(self.content, &self.name, "newtype")?;
        seed.deserialize(content)
            .map_err(|e| e.at_field(&self.name))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Failure> {
        let content = Self::content(self.content, &self.name, "tuple")?;
        de::Deserializer::deserialize_seq(content, visitor).map_err(|e| e.at_field(&self.name))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        let content = Self::content(self.content, &self.name, "struct")?;
        de::Deserializer::deserialize_map(content, visitor).map_err(|e| e.at_field(&self.name))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::fmt::Debug;

    use serde::Deserialize;
    use serde_bytes::ByteBuf;

    use super::super::build::*;
    use super::super::{from_attribute_value, from_item, sets, Decimal};
    use super::*;

    fn read<T: DeserializeOwned>(value: AttributeValue) -> T {
        from_attribute_value(value).unwrap()
    }

    fn error<T: DeserializeOwned + Debug>(value: AttributeValue) -> String {
        match from_attribute_value::<T>(value) {
            Err(ValueError::Message(message)) => message,
            Ok(value) => panic!("expected an error, got {value:?}"),
        }
    }

    #[test]
    fn typed_numbers_parse_the_text() {
        assert_eq!(read::<u8>(n("255")), 255);
        assert_eq!(read::<i8>(n("-128")), -128);
        assert_eq!(read::<u16>(n("1.2E+2")), 120);
        assert_eq!(read::<i32>(n("-120.000")), -120);
        assert_eq!(read::<u64>(n("18446744073709551615")), u64::MAX);
        assert_eq!(read::<i64>(n("-9223372036854775808")), i64::MIN);
        assert_eq!(
            read::<u128>(n("340282366920938463463374607431768211455")),
            u128::MAX
        );
        assert_eq!(
            read::<i128>(n("-170141183460469231731687303715884105728")),
            i128::MIN
        );
        assert_eq!(read::<f64>(n("0.1")), 0.1);
        assert_eq!(read::<f64>(n("1E+300")), 1e300);
        assert_eq!(read::<f64>(n("5")), 5.0);
        assert_eq!(read::<f32>(n("0.1")), 0.1f32);
    }

    #[test]
    fn number_errors_name_the_number_and_type() {
        let cases: Vec<(String, &str)> = vec![
            (error::<u8>(n("300")), "number 300 does not fit in u8"),
            (error::<u8>(n("-1")), "number -1 does not fit in u8"),
            (error::<i8>(n("-129")), "number -129 does not fit in i8"),
            (
                error::<u64>(n("1.5")),
                "number 1.5 is not an integer, so it does not fit in u64",
            ),
            (
                error::<i128>(n("1E+100")),
                "number 1E+100 does not fit in i128",
            ),
            (error::<f32>(n("1E+39")), "number 1E+39 does not fit in f32"),
            (
                error::<f64>(n("1E+400")),
                "number 1E+400 does not fit in f64",
            ),
            (error::<u32>(n("abc")), "\"abc\" is not a number"),
            (error::<u32>(s("5")), "expected a number, found S"),
            (error::<f64>(boolean(true)), "expected a number, found BOOL"),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn untyped_numbers_take_the_narrowest_fitting_type() {
        use serde_json::{json, Value as Json};
        let cases: Vec<(&str, Json)> = vec![
            ("5", json!(5u64)),
            ("-5", json!(-5i64)),
            ("1.2E+2", json!(120u64)),
            ("0.5", json!(0.5)),
            ("1E+300", json!(1e300)),
        ];
        for (text, expected) in cases {
            assert_eq!(read::<Json>(n(text)), expected, "{text}");
        }
        // Beyond 64 bits: serde_json keeps them exact through visit_u128/visit_i128.
        let big: Json = read(n("340282366920938463463374607431768211455"));
        assert_eq!(big.to_string(), "340282366920938463463374607431768211455");
        let small: Json = read(n("-170141183460469231731687303715884105728"));
        assert_eq!(
            small.to_string(),
            "-170141183460469231731687303715884105728"
        );
    }

    #[test]
    fn any_value_reads_into_json() {
        let value = m([
            ("s", s("x")),
            ("n", n("1")),
            ("bool", boolean(false)),
            ("null", null()),
            ("l", l([n("1"), s("y")])),
            ("ss", ss(&["a"])),
            ("ns", ns(&["2"])),
        ]);
        let expected = serde_json::json!({
            "s": "x", "n": 1, "bool": false, "null": null, "l": [1, "y"],
            "ss": ["a"], "ns": [2],
        });
        assert_eq!(read::<serde_json::Value>(value), expected);
        // JSON has no bytes: B is offered as bytes, which serde_json refuses.
        assert!(error::<serde_json::Value>(b(&[1])).contains("byte array"));
    }

    #[test]
    fn strings_and_chars() {
        assert_eq!(read::<String>(s("text")), "text");
        assert_eq!(read::<char>(s("é")), 'é');
        // A String can hold a number's exact text.
        assert_eq!(read::<String>(n("1.50")), "1.50");
        assert_eq!(error::<String>(l([])), "expected a string, found L");
        assert!(error::<char>(s("ab")).contains("expected a character"));
    }

    #[test]
    fn bytes_read_from_binary_and_leniently_from_lists() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Blobs {
            #[serde(with = "serde_bytes")]
            marked: Vec<u8>,
            buf: ByteBuf,
            shared: bytes::Bytes,
            plain: Vec<u8>,
            plain_from_binary: Vec<u8>,
        }
        let value = m([
            ("marked", b(&[1])),
            ("buf", b(&[2])),
            ("shared", b(&[3])),
            ("plain", l([n("4"), n("5")])),
            ("plain_from_binary", b(&[6, 7])),
        ]);
        let expected = Blobs {
            marked: vec![1],
            buf: ByteBuf::from(vec![2]),
            shared: bytes::Bytes::from_static(&[3]),
            plain: vec![4, 5],
            plain_from_binary: vec![6, 7],
        };
        assert_eq!(read::<Blobs>(value), expected);
        assert_eq!(read::<ByteBuf>(l([n("8")])), ByteBuf::from(vec![8]));
        assert_eq!(
            error::<Vec<u8>>(l([n("256")])),
            "[0]: number 256 does not fit in u8"
        );
    }

    #[test]
    fn options_and_unit() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Optional {
            missing: Option<u8>,
            null: Option<u8>,
            present: Option<u8>,
        }
        let value = m([("null", null()), ("present", n("1"))]);
        let expected = Optional {
            missing: None,
            null: None,
            present: Some(1),
        };
        assert_eq!(read::<Optional>(value), expected);
        read::<()>(null());
        assert_eq!(error::<()>(n("1")), "expected NULL, found N");
        assert_eq!(read::<Option<Option<u8>>>(null()), None);
    }

    #[test]
    fn sets_read_as_sequences_without_the_with_modules() {
        assert_eq!(read::<Vec<String>>(ss(&["a", "b"])), ["a", "b"]);
        assert_eq!(
            read::<BTreeSet<i64>>(ns(&["3", "-1"])),
            BTreeSet::from([-1, 3])
        );
        assert_eq!(read::<Vec<f64>>(ns(&["0.5"])), [0.5]);
        assert_eq!(
            read::<Vec<Decimal>>(ns(&["1.25"])),
            [Decimal::from_str("1.25").unwrap()]
        );
        assert_eq!(read::<Vec<ByteBuf>>(bs(&[&[1]])), [ByteBuf::from(vec![1])]);
        assert_eq!(read::<Vec<Vec<u8>>>(bs(&[&[1, 2]])), [vec![1, 2]]);
        assert_eq!(
            read::<(u8, String)>(l([n("1"), s("x")])),
            (1, "x".to_owned())
        );
        assert_eq!(error::<Vec<u8>>(s("x")), "expected a list or set, found S");
        assert_eq!(
            error::<(u8,)>(l([n("1"), n("2")])),
            "invalid length 2, expected fewer elements"
        );
    }

    #[test]
    fn with_modules_read_sets_and_lists() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Sets {
            #[serde(with = "sets::string")]
            tags: BTreeSet<String>,
            #[serde(with = "sets::number", default)]
            scores: Vec<i64>,
            #[serde(with = "sets::binary")]
            blobs: Vec<ByteBuf>,
            #[serde(with = "sets::string", default)]
            maybe: Option<BTreeSet<String>>,
        }
        let value = m([("tags", l([s("a")])), ("blobs", bs(&[&[1]]))]);
        let expected = Sets {
            tags: ["a".to_owned()].into(),
            scores: vec![],
            blobs: vec![ByteBuf::from(vec![1])],
            maybe: None,
        };
        assert_eq!(read::<Sets>(value), expected);
    }

    #[test]
    fn maps_with_string_integer_and_enum_keys() {
        #[derive(Deserialize, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        enum Color {
            Red,
            Blue,
        }
        let value = m([("1", s("a")), ("20", s("b"))]);
        assert_eq!(
            read::<BTreeMap<u32, String>>(value),
            BTreeMap::from([(1, "a".into()), (20, "b".into())])
        );
        let value = m([("Red", n("1"))]);
        assert_eq!(
            read::<HashMap<Color, u8>>(value),
            HashMap::from([(Color::Red, 1)])
        );
        assert_eq!(
            error::<HashMap<u8, u8>>(m([("x", n("1"))])),
            "x: map key \"x\" is not a u8"
        );
        assert!(error::<HashMap<Color, u8>>(m([("Green", n("1"))]))
            .starts_with("Green: unknown variant `Green`"));
        assert_eq!(
            error::<HashMap<String, u8>>(l([])),
            "expected a map, found L"
        );
    }

    #[derive(Deserialize, Debug, PartialEq)]
    enum Shape {
        Empty,
        Circle(f64),
        Point(i32, i32),
        Rect { width: u32, height: u32 },
    }

    #[test]
    fn enums_from_strings_and_single_entry_maps() {
        let cases: Vec<(AttributeValue, Shape)> = vec![
            (s("Empty"), Shape::Empty),
            (m([("Empty", null())]), Shape::Empty),
            (m([("Circle", n("1.5"))]), Shape::Circle(1.5)),
            (m([("Point", l([n("1"), n("-2")]))]), Shape::Point(1, -2)),
            (
                m([("Rect", m([("width", n("3")), ("height", n("4"))]))]),
                Shape::Rect {
                    width: 3,
                    height: 4,
                },
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(read::<Shape>(value), expected);
        }
        let errors: Vec<(String, &str)> = vec![
            (
                error::<Shape>(s("Circle")),
                "variant Circle is a newtype variant, so it must be M {\"Circle\": …}, found S",
            ),
            (
                error::<Shape>(m([("Circle", s("x"))])),
                "Circle: expected a number, found S",
            ),
            (
                error::<Shape>(m([("Empty", n("1"))])),
                "variant Empty is a unit variant, but its content is N",
            ),
            (
                error::<Shape>(m([("a", null()), ("b", null())])),
                "expected an enum (S, or M with exactly one entry), found M with 2 entries",
            ),
            (
                error::<Shape>(n("1")),
                "expected an enum (S, or M with exactly one entry), found N",
            ),
        ];
        for (got, expected) in errors {
            assert_eq!(got, expected);
        }
        assert!(error::<Shape>(s("Hexagon")).starts_with("unknown variant `Hexagon`"));
    }

    #[test]
    fn unknown_attributes_are_ignored() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Small {
            id: u8,
        }
        let value = m([
            ("id", n("1")),
            ("extra", m([("deep", l([bs(&[&[1]])]))])),
            ("other", ss(&["x"])),
        ]);
        assert_eq!(read::<Small>(value), Small { id: 1 });
    }

    #[test]
    fn errors_carry_the_attribute_path() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Order {
            total: u32,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Customer {
            orders: Vec<Order>,
        }
        let order = |total| m([("total", total)]);
        let customer = item([("orders", l([order(n("1")), order(n("2")), order(s("x"))]))]);
        assert_eq!(
            from_item::<Customer>(customer).unwrap_err(),
            ValueError::Message("orders[2].total: expected a number, found S".into())
        );
        let missing = item([("orders", l([m([])]))]);
        assert_eq!(
            from_item::<Customer>(missing).unwrap_err(),
            ValueError::Message("orders[0]: missing field `total`".into())
        );
        assert_eq!(
            from_attribute_value::<u8>(AttributeValue { value: None }),
            Err(ValueError::Message(
                "the attribute value has no type set".into()
            ))
        );
    }

    #[test]
    fn decimals_read_exactly_from_numbers_and_strings() {
        let text = "12345678901234567890.123456789012345678";
        let expected = Decimal::from_str(text).unwrap();
        assert_eq!(read::<Decimal>(n(text)), expected);
        assert_eq!(read::<Decimal>(s(text)), expected);
        assert_eq!(
            error::<Decimal>(boolean(true)),
            "expected a number, found BOOL"
        );
        assert_eq!(error::<Decimal>(s("abc")), "\"abc\" is not a number");
    }
}
