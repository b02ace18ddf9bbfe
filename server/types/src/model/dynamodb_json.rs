//! DynamoDB JSON for attribute values: `{"S": "x"}`, `{"N": "1.5"}`, `{"B": "<base64>"}`...
//!
//! Some malformed values are ValidationExceptions in DynamoDB (an empty value, two types,
//! `NULL: false`, a bad number) while others are SerializationExceptions (a JSON type
//! mismatch). serde has one error type, so the validation kind is recorded in a
//! thread-local that `decode_request` inspects after a failed decode.

use std::cell::RefCell;
use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::model::{AttributeValue, Item, Number};

thread_local! {
    static VALIDATION_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Clears the recorded validation error before a decode.
pub fn reset_validation_error() {
    VALIDATION_ERROR.with(|v| v.borrow_mut().take());
}

/// Takes the validation error recorded during the last decode, if any.
pub fn take_validation_error() -> Option<String> {
    VALIDATION_ERROR.with(|v| v.borrow_mut().take())
}

fn validation<E: de::Error>(msg: String) -> E {
    VALIDATION_ERROR.with(|v| {
        let mut v = v.borrow_mut();
        if v.is_none() {
            *v = Some(msg.clone());
        }
    });
    E::custom(msg)
}

fn b64(s: &str) -> Result<Bytes, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map(Bytes::from)
        .map_err(|_| format!("Base64 encoded value {s:?} could not be decoded"))
}

fn b64_encode(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Seq<'a, T>(&'a [T], fn(&T) -> String);
        impl<T> Serialize for Seq<'_, T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for x in self.0 {
                    seq.serialize_element(&(self.1)(x))?;
                }
                seq.end()
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(v) => m.serialize_entry("S", v)?,
            AttributeValue::N(n) => m.serialize_entry("N", &n.to_string())?,
            AttributeValue::B(b) => m.serialize_entry("B", &b64_encode(b))?,
            AttributeValue::Ss(v) => m.serialize_entry("SS", v)?,
            AttributeValue::Ns(v) => m.serialize_entry("NS", &Seq(v, |n| n.to_string()))?,
            AttributeValue::Bs(v) => m.serialize_entry("BS", &Seq(v, |b| b64_encode(b)))?,
            AttributeValue::M(v) => m.serialize_entry("M", v)?,
            AttributeValue::L(v) => m.serialize_entry("L", v)?,
            AttributeValue::Null => m.serialize_entry("NULL", &true)?,
            AttributeValue::Bool(b) => m.serialize_entry("BOOL", b)?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ValueVisitor)
    }
}

struct ValueVisitor;

fn number<E: de::Error>(s: &str) -> Result<Number, E> {
    Number::parse(s).map_err(|e| validation(e.to_string()))
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AttributeValue object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let mut found: Option<AttributeValue> = None;
        let mut count = 0;
        while let Some(tag) = map.next_key::<String>()? {
            let v = match tag.as_str() {
                "S" => AttributeValue::S(map.next_value()?),
                "N" => AttributeValue::N(number(&map.next_value::<String>()?)?),
                "B" => {
                    AttributeValue::B(b64(&map.next_value::<String>()?).map_err(de::Error::custom)?)
                }
                "SS" => AttributeValue::Ss(map.next_value()?),
                "NS" => AttributeValue::Ns(
                    map.next_value::<Vec<String>>()?
                        .iter()
                        .map(|s| number(s))
                        .collect::<Result<_, _>>()?,
                ),
                "BS" => AttributeValue::Bs(
                    map.next_value::<Vec<String>>()?
                        .iter()
                        .map(|s| b64(s).map_err(de::Error::custom))
                        .collect::<Result<_, _>>()?,
                ),
                "M" => AttributeValue::M(map.next_value::<Item>()?),
                "L" => AttributeValue::L(map.next_value()?),
                "NULL" => {
                    if !map.next_value::<bool>()? {
                        return Err(validation(
                            "One or more parameter values were invalid: Null attribute value types must have the value of true".into(),
                        ));
                    }
                    AttributeValue::Null
                }
                "BOOL" => AttributeValue::Bool(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
            };
            count += 1;
            found = Some(v);
        }
        match (count, found) {
            (1, Some(v)) => Ok(v),
            (0, _) | (_, None) => Err(validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into(),
            )),
            _ => Err(validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        let json = r#"{"a":{"S":"x"},"b":{"N":"1.50"},"c":{"B":"AQI="},"d":{"SS":["x","y"]},"e":{"NS":["1","2"]},"f":{"BS":["AQ=="]},"g":{"M":{"h":{"NULL":true}}},"i":{"L":[{"BOOL":false}]}}"#;
        let item: Item = serde_json::from_str(json).unwrap();
        let back = serde_json::to_string(&item).unwrap();
        assert_eq!(back, json.replace("1.50", "1.5"));
    }

    #[test]
    fn malformed_values_are_validation_errors() {
        let cases = [
            (r#"{"S":"a","N":"1"}"#, "more than one datatypes"),
            (r#"{}"#, "Supplied AttributeValue is empty"),
            (
                r#"{"NULL":false}"#,
                "Null attribute value types must have the value of true",
            ),
            (
                r#"{"N":"abc"}"#,
                "A value provided cannot be converted into a number",
            ),
        ];
        for (json, want) in cases {
            reset_validation_error();
            assert!(serde_json::from_str::<AttributeValue>(json).is_err());
            let got = take_validation_error().unwrap_or_default();
            assert!(got.contains(want), "{json}: {got}");
        }
        reset_validation_error();
        assert!(serde_json::from_str::<AttributeValue>(r#"{"S":5}"#).is_err());
        assert_eq!(
            take_validation_error(),
            None,
            "a JSON type mismatch is a SerializationException"
        );
    }
}
