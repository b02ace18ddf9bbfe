//! Items and attribute values to and from JSON, in two shapes.
//!
//! **DynamoDB JSON** is the typed form of DynamoDB's JSON API, of `aws dynamodb` and of
//! DynamoDB's exports to S3: every value is an object with one type tag,
//!
//! ```json
//! {"id": {"S": "o-1"}, "total": {"N": "12.50"}, "blob": {"B": "AQID"},
//!  "tags": {"SS": ["a", "b"]}, "sizes": {"NS": ["1", "2"]}, "chunks": {"BS": ["AQ=="]},
//!  "address": {"M": {"city": {"S": "Oslo"}}}, "lines": {"L": [{"N": "1"}]},
//!  "gone": {"NULL": true}, "paid": {"BOOL": false}}
//! ```
//!
//! It converts both ways without loss: [`item_from_json`], [`item_to_json`],
//! [`attribute_value_from_json`], [`attribute_value_to_json`]. Binary values are standard
//! base64 with padding, as in DynamoDB's JSON API.
//!
//! **Plain JSON** is what people type: `{"id": "o-1", "total": 12.50, "paid": false}`.
//! Reading it ([`item_from_plain_json`], [`attribute_value_from_plain_json`]) maps strings
//! to `S`, numbers to `N`, booleans to `BOOL`, `null` to `NULL`, arrays to `L` and objects
//! to `M`; so it never produces sets or binary values. Numbers keep all their digits: this
//! crate builds `serde_json` with `arbitrary_precision`, so `12.50` stays `12.50` and
//! 40-digit numbers are not rounded (only an exponent is respelled, `1E5` as `1e+5`). Writing it
//! ([`item_to_plain_json`], [`attribute_value_to_plain_json`]) is lossy where DynamoDB
//! has more types than JSON: sets become arrays, and binary values base64 strings.
//!
//! Objects are written with their keys in sorted order, so the same item always gives the
//! same text.
//!
//! This module needs the `json` feature (on by default, through `cli`).
//!
//! ```
//! use keyfall::value::json::{item_from_plain_json, item_to_json};
//!
//! let plain: serde_json::Value = serde_json::from_str(r#"{"pk": "a", "n": 1.50}"#).unwrap();
//! let item = item_from_plain_json(&plain).unwrap();
//! assert_eq!(
//!     item_to_json(&item).to_string(),
//!     r#"{"n":{"N":"1.50"},"pk":{"S":"a"}}"#
//! );
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{Map, Number, Value as Json};

use super::{AttributeValue, Failure, Item, ValueError};
use crate::proto::v1::attribute_value::Value;
use crate::proto::v1::{BinarySet, ListValue, MapValue, NumberSet, StringSet};

/// The type tags of DynamoDB JSON, in DynamoDB's spelling.
const TAGS: [&str; 10] = ["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"];

// ---------------------------------------------------------------------------
// DynamoDB JSON
// ---------------------------------------------------------------------------

/// Reads an item in DynamoDB JSON: an object of attribute names to typed values.
///
/// Errors name the attribute path and the problem, e.g.
/// `address.zip: unknown type tag "Z"`, `blob: B: invalid base64: ...`, `an item must be a
/// JSON object, found an array`.
pub fn item_from_json(json: &Json) -> Result<Item, ValueError> {
    let Json::Object(object) = json else {
        return Err(ValueError::Message(format!(
            "an item must be a JSON object, found {}",
            json_kind(json)
        )));
    };
    typed_map(object).map_err(ValueError::from)
}

/// An item as DynamoDB JSON, keys sorted.
pub fn item_to_json(item: &Item) -> Json {
    Json::Object(sorted_object(item, attribute_value_to_json))
}

/// Reads one typed value such as `{"S": "x"}` or `{"L": [{"N": "1"}]}`.
///
/// The object must have exactly one of the tags `S`, `N`, `B`, `SS`, `NS`, `BS`, `M`, `L`,
/// `NULL`, `BOOL`. `N` (and the elements of `NS`) may be a JSON string, as DynamoDB writes
/// it, or a JSON number; the text is not otherwise checked here (the server does). `B`
/// and the elements of `BS` are standard base64.
pub fn attribute_value_from_json(json: &Json) -> Result<AttributeValue, ValueError> {
    typed_value(json).map_err(ValueError::from)
}

/// One value as DynamoDB JSON. An [`AttributeValue`] with no value at all (which no server
/// sends) becomes `{}`.
pub fn attribute_value_to_json(value: &AttributeValue) -> Json {
    let Some(value) = &value.value else {
        return Json::Object(Map::new());
    };
    let (tag, inner) = match value {
        Value::S(text) => ("S", Json::String(text.clone())),
        Value::N(text) => ("N", Json::String(text.clone())),
        Value::B(bytes) => ("B", Json::String(BASE64.encode(bytes))),
        Value::Ss(set) => ("SS", string_array(&set.values)),
        Value::Ns(set) => ("NS", string_array(&set.values)),
        Value::Bs(set) => (
            "BS",
            Json::Array(
                set.values
                    .iter()
                    .map(|b| Json::String(BASE64.encode(b)))
                    .collect(),
            ),
        ),
        Value::M(map) => (
            "M",
            Json::Object(sorted_object(&map.values, attribute_value_to_json)),
        ),
        Value::L(list) => (
            "L",
            Json::Array(list.values.iter().map(attribute_value_to_json).collect()),
        ),
        Value::Null(null) => ("NULL", Json::Bool(*null)),
        Value::Bool(b) => ("BOOL", Json::Bool(*b)),
    };
    let mut object = Map::new();
    object.insert(tag.to_string(), inner);
    Json::Object(object)
}

fn typed_map(object: &Map<String, Json>) -> Result<Item, Failure> {
    object
        .iter()
        .map(|(name, json)| {
            typed_value(json)
                .map(|value| (name.clone(), value))
                .map_err(|failure| failure.at_field(name))
        })
        .collect()
}

fn typed_value(json: &Json) -> Result<AttributeValue, Failure> {
    let Json::Object(object) = json else {
        return Err(Failure::new(format!(
            "expected a typed value such as {{\"S\": \"text\"}}, found {}",
            json_kind(json)
        )));
    };
    let mut entries = object.iter();
    let (tag, inner) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        (None, _) => return Err(Failure::new(
            "a typed value needs one type tag (S, N, B, SS, NS, BS, M, L, NULL, BOOL), found none",
        )),
        (Some(_), Some(_)) => {
            let tags: Vec<&str> = object.keys().map(String::as_str).collect();
            return Err(Failure::new(format!(
                "a typed value has exactly one type tag, found {}",
                tags.join(", ")
            )));
        }
    };
    let value = match tag.as_str() {
        "S" => Value::S(json_string(inner, tag)?),
        "N" => Value::N(number_text(inner, tag)?),
        "B" => Value::B(json_binary(inner, tag)?),
        "SS" => Value::Ss(StringSet {
            values: json_array(inner, tag, |json, _| json_string(json, "SS element"))?,
        }),
        "NS" => Value::Ns(NumberSet {
            values: json_array(inner, tag, |json, _| number_text(json, "NS element"))?,
        }),
        "BS" => Value::Bs(BinarySet {
            values: json_array(inner, tag, |json, _| json_binary(json, "BS element"))?,
        }),
        "M" => match inner {
            Json::Object(object) => Value::M(MapValue {
                values: typed_map(object)?,
            }),
            other => return Err(wrong_kind("M", "an object", other)),
        },
        "L" => Value::L(ListValue {
            values: json_array(inner, tag, |json, _| typed_value(json))?,
        }),
        "NULL" => Value::Null(json_bool(inner, tag)?),
        "BOOL" => Value::Bool(json_bool(inner, tag)?),
        other => {
            return Err(Failure::new(format!(
                "unknown type tag {other:?} (expected one of {})",
                TAGS.join(", ")
            )))
        }
    };
    Ok(AttributeValue { value: Some(value) })
}

fn json_string(json: &Json, what: &str) -> Result<String, Failure> {
    match json {
        Json::String(text) => Ok(text.clone()),
        other => Err(wrong_kind(what, "a string", other)),
    }
}

fn number_text(json: &Json, what: &str) -> Result<String, Failure> {
    match json {
        Json::String(text) => Ok(text.clone()),
        Json::Number(number) => Ok(number.to_string()),
        other => Err(wrong_kind(what, "a number as a string", other)),
    }
}

fn json_binary(json: &Json, what: &str) -> Result<Vec<u8>, Failure> {
    let text = match json {
        Json::String(text) => text,
        other => return Err(wrong_kind(what, "a base64 string", other)),
    };
    BASE64
        .decode(text)
        .map_err(|e| Failure::new(format!("{what}: invalid base64: {e}")))
}

fn json_bool(json: &Json, what: &str) -> Result<bool, Failure> {
    match json {
        Json::Bool(b) => Ok(*b),
        other => Err(wrong_kind(what, "true or false", other)),
    }
}

fn json_array<T>(
    json: &Json,
    what: &str,
    element: impl Fn(&Json, usize) -> Result<T, Failure>,
) -> Result<Vec<T>, Failure> {
    let Json::Array(values) = json else {
        return Err(wrong_kind(what, "an array", json));
    };
    values
        .iter()
        .enumerate()
        .map(|(index, json)| element(json, index).map_err(|f| f.at_index(index)))
        .collect()
}

fn wrong_kind(what: &str, expected: &str, found: &Json) -> Failure {
    Failure::new(format!(
        "{what}: expected {expected}, found {}",
        json_kind(found)
    ))
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn string_array(values: &[String]) -> Json {
    Json::Array(values.iter().cloned().map(Json::String).collect())
}

/// A JSON object of the map's entries, inserted in key order so that the output is sorted
/// whatever map type `serde_json` was built with.
fn sorted_object(
    values: &std::collections::HashMap<String, AttributeValue>,
    convert: fn(&AttributeValue) -> Json,
) -> Map<String, Json> {
    let mut names: Vec<&String> = values.keys().collect();
    names.sort();
    let mut object = Map::new();
    for name in names {
        if let Some(value) = values.get(name) {
            object.insert(name.clone(), convert(value));
        }
    }
    object
}

// ---------------------------------------------------------------------------
// Plain JSON
// ---------------------------------------------------------------------------

/// Reads an item written as plain JSON: a JSON object whose values map to attribute values
/// as [`attribute_value_from_plain_json`] does. Only a non-object fails.
pub fn item_from_plain_json(json: &Json) -> Result<Item, ValueError> {
    match json {
        Json::Object(object) => Ok(object
            .iter()
            .map(|(name, json)| (name.clone(), attribute_value_from_plain_json(json)))
            .collect()),
        other => Err(ValueError::Message(format!(
            "an item must be a JSON object, found {}",
            json_kind(other)
        ))),
    }
}

/// An item as plain JSON, keys sorted; see [`attribute_value_to_plain_json`].
pub fn item_to_plain_json(item: &Item) -> Json {
    Json::Object(sorted_object(item, attribute_value_to_plain_json))
}

/// A plain JSON value as an attribute value: string → `S`, number → `N` with the number's
/// digits as written, boolean → `BOOL`, `null` → `NULL`, array → `L`, object → `M`.
pub fn attribute_value_from_plain_json(json: &Json) -> AttributeValue {
    let value = match json {
        Json::Null => Value::Null(true),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(number) => Value::N(number.to_string()),
        Json::String(text) => Value::S(text.clone()),
        Json::Array(values) => Value::L(ListValue {
            values: values.iter().map(attribute_value_from_plain_json).collect(),
        }),
        Json::Object(object) => Value::M(MapValue {
            values: object
                .iter()
                .map(|(name, json)| (name.clone(), attribute_value_from_plain_json(json)))
                .collect(),
        }),
    };
    AttributeValue { value: Some(value) }
}

/// An attribute value as plain JSON: `S` → string, `N` → number (its exact text), `B` →
/// base64 string, `SS`/`NS`/`BS` → arrays of those, `M` → object, `L` → array, `NULL` →
/// `null`, `BOOL` → boolean. An `N` whose text is not valid JSON number syntax (DynamoDB
/// accepts `.5` and `+1`, JSON does not) is written in its normalized decimal form, or as
/// a string if even that fails. An empty [`AttributeValue`] becomes `null`.
pub fn attribute_value_to_plain_json(value: &AttributeValue) -> Json {
    let Some(value) = &value.value else {
        return Json::Null;
    };
    match value {
        Value::S(text) => Json::String(text.clone()),
        Value::N(text) => plain_number(text),
        Value::B(bytes) => Json::String(BASE64.encode(bytes)),
        Value::Ss(set) => string_array(&set.values),
        Value::Ns(set) => Json::Array(set.values.iter().map(|n| plain_number(n)).collect()),
        Value::Bs(set) => Json::Array(
            set.values
                .iter()
                .map(|b| Json::String(BASE64.encode(b)))
                .collect(),
        ),
        Value::M(map) => Json::Object(sorted_object(&map.values, attribute_value_to_plain_json)),
        Value::L(list) => Json::Array(
            list.values
                .iter()
                .map(attribute_value_to_plain_json)
                .collect(),
        ),
        Value::Null(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
    }
}

/// A JSON number with exactly this text where JSON allows it.
fn plain_number(text: &str) -> Json {
    let parse = |text: &str| serde_json::from_str::<Number>(text).ok().map(Json::Number);
    if let Some(json) = parse(text) {
        return json;
    }
    text.parse::<bigdecimal::BigDecimal>()
        .ok()
        .and_then(|decimal| parse(&decimal.to_string()))
        .unwrap_or_else(|| Json::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::build::*;
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Json {
        serde_json::from_str(text).expect("test JSON")
    }

    /// One item with every type, as typed JSON text (keys sorted, as written) and plain
    /// JSON text.
    fn every_type() -> (Item, &'static str, &'static str) {
        let item = item([
            ("s", s("text")),
            ("n", n("12.50")),
            ("big", n("123456789012345678901234567890.123456789")),
            ("b", b(&[0, 1, 2, 255])),
            ("ss", ss(&["a", "b"])),
            ("ns", ns(&["1", "2.5"])),
            ("bs", bs(&[b"x", b"yz"])),
            (
                "m",
                m([("inner", s("v")), ("deep", m([("x", n("-1e+5"))]))]),
            ),
            ("l", l([s("a"), n("1"), boolean(true), null(), l([])])),
            ("nil", null()),
            ("t", boolean(true)),
            ("f", boolean(false)),
            ("empty", s("")),
        ]);
        let typed = concat!(
            r#"{"b":{"B":"AAEC/w=="},"big":{"N":"123456789012345678901234567890.123456789"},"#,
            r#""bs":{"BS":["eA==","eXo="]},"empty":{"S":""},"f":{"BOOL":false},"#,
            r#""l":{"L":[{"S":"a"},{"N":"1"},{"BOOL":true},{"NULL":true},{"L":[]}]},"#,
            r#""m":{"M":{"deep":{"M":{"x":{"N":"-1e+5"}}},"inner":{"S":"v"}}},"#,
            r#""n":{"N":"12.50"},"nil":{"NULL":true},"ns":{"NS":["1","2.5"]},"#,
            r#""s":{"S":"text"},"ss":{"SS":["a","b"]},"t":{"BOOL":true}}"#
        );
        let plain = concat!(
            r#"{"b":"AAEC/w==","big":123456789012345678901234567890.123456789,"#,
            r#""bs":["eA==","eXo="],"empty":"","f":false,"#,
            r#""l":["a",1,true,null,[]],"m":{"deep":{"x":-1e+5},"inner":"v"},"#,
            r#""n":12.50,"nil":null,"ns":[1,2.5],"s":"text","ss":["a","b"],"t":true}"#
        );
        (item, typed, plain)
    }

    #[test]
    fn typed_json_round_trips_every_type_with_sorted_keys() {
        let (item, typed, _) = every_type();
        assert_eq!(item_to_json(&item).to_string(), typed);
        assert_eq!(item_from_json(&parse(typed)), Ok(item));
    }

    #[test]
    fn plain_json_writes_every_type() {
        let (item, _, plain) = every_type();
        assert_eq!(item_to_plain_json(&item).to_string(), plain);
    }

    #[test]
    fn plain_json_reads_scalars_lists_and_maps() {
        let cases: Vec<(&str, AttributeValue)> = vec![
            (r#""x""#, s("x")),
            (r#""""#, s("")),
            ("1.50", n("1.50")),
            ("-0", n("-0")),
            // serde_json keeps a number's digits but spells exponents one way.
            ("1E+400", n("1e+400")),
            ("2e5", n("2e+5")),
            (
                "12345678901234567890123456789012345678",
                n("12345678901234567890123456789012345678"),
            ),
            ("true", boolean(true)),
            ("false", boolean(false)),
            ("null", null()),
            (r#"[1,"a",[]]"#, l([n("1"), s("a"), l([])])),
            (r#"{"a":{"b":null}}"#, m([("a", m([("b", null())]))])),
        ];
        for (text, expected) in cases {
            assert_eq!(
                attribute_value_from_plain_json(&parse(text)),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn plain_items_round_trip_through_plain_json() {
        let text = r#"{"a":[1,2.50,{"k":"v"}],"id":"x","n":1e+3,"no":null,"yes":true}"#;
        let item = item_from_plain_json(&parse(text)).expect("item");
        assert_eq!(item["n"], n("1e+3"));
        assert_eq!(item_to_plain_json(&item).to_string(), text);
    }

    #[test]
    fn numbers_that_json_cannot_spell_are_normalized() {
        let cases = [
            (".5", json!(0.5)),
            ("+1", json!(1)),
            ("5.", json!(5)),
            ("not a number", json!("not a number")),
        ];
        for (text, expected) in cases {
            assert_eq!(attribute_value_to_plain_json(&n(text)), expected, "{text}");
        }
    }

    #[test]
    fn typed_json_accepts_numbers_as_json_numbers() {
        assert_eq!(
            attribute_value_from_json(&parse(r#"{"N": 1.50}"#)),
            Ok(n("1.50"))
        );
        assert_eq!(
            attribute_value_from_json(&parse(r#"{"NS": ["1", 2]}"#)),
            Ok(ns(&["1", "2"]))
        );
    }

    #[test]
    fn empty_attribute_values_have_a_stable_rendering() {
        let empty = AttributeValue { value: None };
        assert_eq!(attribute_value_to_json(&empty), json!({}));
        assert_eq!(attribute_value_to_plain_json(&empty), Json::Null);
    }

    #[test]
    fn typed_json_errors_name_the_path_and_the_problem() {
        let cases = [
            (r#"[1]"#, "an item must be a JSON object, found an array"),
            (r#""x""#, "an item must be a JSON object, found a string"),
            (
                r#"{"a":{"X":"1"}}"#,
                r#"a: unknown type tag "X" (expected one of S, N, B, SS, NS, BS, M, L, NULL, BOOL)"#,
            ),
            (r#"{"a":{"S":"x","N":"1"}}"#, "a: a typed value has exactly one type tag, found N, S"),
            (
                r#"{"a":{}}"#,
                "a: a typed value needs one type tag (S, N, B, SS, NS, BS, M, L, NULL, BOOL), found none",
            ),
            (r#"{"a":"x"}"#, r#"a: expected a typed value such as {"S": "text"}, found a string"#),
            (
                r#"{"a":{"B":"not base64!"}}"#,
                "a: B: invalid base64: Invalid symbol 32, offset 3.",
            ),
            (r#"{"a":{"S":1}}"#, "a: S: expected a string, found a number"),
            (r#"{"a":{"N":true}}"#, "a: N: expected a number as a string, found a boolean"),
            (r#"{"a":{"BOOL":"true"}}"#, "a: BOOL: expected true or false, found a string"),
            (r#"{"a":{"NULL":null}}"#, "a: NULL: expected true or false, found null"),
            (r#"{"a":{"SS":"x"}}"#, "a: SS: expected an array, found a string"),
            (r#"{"a":{"SS":["x",1]}}"#, "a[1]: SS element: expected a string, found a number"),
            (r#"{"a":{"BS":["AA==","%"]}}"#, "a[1]: BS element: invalid base64: Invalid symbol 37, offset 0."),
            (r#"{"a":{"M":[]}}"#, "a: M: expected an object, found an array"),
            (
                r#"{"a":{"M":{"b":{"L":[{"S":"ok"},{"Q":1}]}}}}"#,
                r#"a.b[1]: unknown type tag "Q" (expected one of S, N, B, SS, NS, BS, M, L, NULL, BOOL)"#,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                item_from_json(&parse(text)),
                Err(ValueError::Message(expected.into())),
                "{text}"
            );
        }
    }

    #[test]
    fn plain_json_items_must_be_objects() {
        for (text, kind) in [("[]", "an array"), ("1", "a number"), ("null", "null")] {
            assert_eq!(
                item_from_plain_json(&parse(text)),
                Err(ValueError::Message(format!(
                    "an item must be a JSON object, found {kind}"
                ))),
            );
        }
    }
}
