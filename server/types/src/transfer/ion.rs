//! DynamoDB items in Amazon Ion text, as DynamoDB's exports write them and its imports read
//! them: S a string, N a decimal (`103.`, `6d2`), B a blob (`{{base64}}`), BOOL, NULL
//! (`null`), L a list, M a struct, and the sets as lists annotated `$dynamodb_SS`,
//! `$dynamodb_NS`, `$dynamodb_BS`. Writing is ours (the exact text DynamoDB writes);
//! reading goes through `ion-rs`.

use base64::Engine as _;
use bytes::Bytes;

use super::LineError;
use crate::model::{AttributeValue, Item, Number};

/// A number as an Ion decimal: `sign × digits × 10^e`, written `digits.` when `e` is 0,
/// `digitsdE` when positive, with a point when negative.
fn write_number(n: &Number, out: &mut Vec<u8>) {
    let (digits, exp) = n.parts();
    if digits.is_empty() {
        out.extend_from_slice(b"0.");
        return;
    }
    if n.is_negative() {
        out.push(b'-');
    }
    let e = exp - digits.len() as i32;
    if e >= 0 {
        out.extend_from_slice(digits.as_bytes());
        if e == 0 {
            out.push(b'.');
        } else {
            out.extend_from_slice(format!("d{e}").as_bytes());
        }
    } else {
        let point = digits.len() as i32 + e;
        if point > 0 {
            let (int, frac) = digits.split_at(point as usize);
            out.extend_from_slice(int.as_bytes());
            out.push(b'.');
            out.extend_from_slice(frac.as_bytes());
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(digits.as_bytes());
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// A field name: bare when it is an Ion identifier (and not a keyword), else quoted.
fn write_field(name: &str, out: &mut Vec<u8>) {
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !matches!(name, "null" | "true" | "false" | "nan");
    if identifier {
        out.extend_from_slice(name.as_bytes());
        return;
    }
    out.push(b'\'');
    for c in name.chars() {
        match c {
            '\'' => out.extend_from_slice(b"\\'"),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'\'');
}

fn write_blob(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{{");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(b)
            .as_bytes(),
    );
    out.extend_from_slice(b"}}");
}

fn write_list<T>(items: &[T], out: &mut Vec<u8>, mut each: impl FnMut(&T, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(v, out);
    }
    out.push(b']');
}

pub fn write_value(v: &AttributeValue, out: &mut Vec<u8>) {
    match v {
        AttributeValue::S(s) => write_string(s, out),
        AttributeValue::N(n) => write_number(n, out),
        AttributeValue::B(b) => write_blob(b, out),
        AttributeValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        AttributeValue::Null => out.extend_from_slice(b"null"),
        AttributeValue::Ss(s) => {
            out.extend_from_slice(b"$dynamodb_SS::");
            write_list(s, out, |s, out| write_string(s, out));
        }
        AttributeValue::Ns(s) => {
            out.extend_from_slice(b"$dynamodb_NS::");
            write_list(s, out, write_number);
        }
        AttributeValue::Bs(s) => {
            out.extend_from_slice(b"$dynamodb_BS::");
            write_list(s, out, |b, out| write_blob(b, out));
        }
        AttributeValue::L(l) => write_list(l, out, write_value),
        AttributeValue::M(m) => write_item(m, out),
    }
}

pub fn write_item(item: &Item, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in item.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(k, out);
        out.push(b':');
        write_value(v, out);
    }
    out.push(b'}');
}

fn item_error(message: impl Into<String>) -> LineError {
    LineError::Item(message.into())
}

fn number(text: &str) -> Result<Number, LineError> {
    // Ion writes decimal exponents with `d`; DynamoDB's syntax takes `E`.
    let text = text.replace(['d', 'D'], "E");
    Number::parse(&text).map_err(|e| item_error(e.to_string()))
}

fn value_of(e: &ion_rs::Element, depth: usize) -> Result<AttributeValue, LineError> {
    use ion_rs::IonType;
    if depth > 32 {
        return Err(item_error("the item is nested more than 32 levels deep"));
    }
    let annotation = e
        .annotations()
        .iter()
        .next()
        .and_then(|a| a.text().map(str::to_string));
    if e.is_null() {
        return Ok(AttributeValue::Null);
    }
    let elements = |e: &ion_rs::Element| -> Result<Vec<ion_rs::Element>, LineError> {
        e.as_sequence()
            .map(|s| s.elements().cloned().collect())
            .ok_or_else(|| item_error("a set must be a list"))
    };
    if let Some(set) = annotation.as_deref() {
        let members = elements(e)?;
        return match set {
            "$dynamodb_SS" => members
                .iter()
                .map(|m| {
                    m.as_string()
                        .map(str::to_string)
                        .ok_or_else(|| item_error("a string set holds a non-string"))
                })
                .collect::<Result<_, _>>()
                .map(AttributeValue::Ss),
            "$dynamodb_NS" => members
                .iter()
                .map(|m| match (m.as_decimal(), m.as_int()) {
                    (Some(d), _) => number(&d.to_string()),
                    (_, Some(i)) => number(&i.to_string()),
                    _ => Err(item_error("a number set holds a non-number")),
                })
                .collect::<Result<_, _>>()
                .map(AttributeValue::Ns),
            "$dynamodb_BS" => members
                .iter()
                .map(|m| {
                    m.as_blob()
                        .map(Bytes::copy_from_slice)
                        .ok_or_else(|| item_error("a binary set holds a non-blob"))
                })
                .collect::<Result<_, _>>()
                .map(AttributeValue::Bs),
            other => Err(item_error(format!("unknown annotation {other}"))),
        };
    }
    match e.ion_type() {
        IonType::String | IonType::Symbol => Ok(AttributeValue::S(
            e.as_text().unwrap_or_default().to_string(),
        )),
        IonType::Decimal => number(&e.as_decimal().map(|d| d.to_string()).unwrap_or_default())
            .map(AttributeValue::N),
        IonType::Int => {
            number(&e.as_int().map(|i| i.to_string()).unwrap_or_default()).map(AttributeValue::N)
        }
        IonType::Bool => Ok(AttributeValue::Bool(e.as_bool().unwrap_or_default())),
        IonType::Blob | IonType::Clob => Ok(AttributeValue::B(Bytes::copy_from_slice(
            e.as_lob().unwrap_or_default(),
        ))),
        IonType::List | IonType::SExp => elements(e)?
            .iter()
            .map(|m| value_of(m, depth + 1))
            .collect::<Result<_, _>>()
            .map(AttributeValue::L),
        IonType::Struct => item_of(e, depth + 1).map(AttributeValue::M),
        other => Err(item_error(format!("an Ion {other:?} has no DynamoDB type"))),
    }
}

fn item_of(e: &ion_rs::Element, depth: usize) -> Result<Item, LineError> {
    let s = e
        .as_struct()
        .ok_or_else(|| item_error("an item must be a struct"))?;
    let mut item = Item::new();
    for (name, value) in s.fields() {
        let name = name
            .text()
            .ok_or_else(|| item_error("a field name has no text"))?;
        item.insert(name.to_string(), value_of(value, depth)?);
    }
    Ok(item)
}

/// The items of an Ion document: each top-level value a struct `{Item:{...}}` (or a list
/// of them). The document is parsed whole: an Ion value may span lines.
pub fn parse_items(text: &[u8]) -> Result<Vec<Result<Item, LineError>>, LineError> {
    // Ion text is UTF-8; `ion-rs` panics on some invalid UTF-8 (found by the fuzz target),
    // and a third-party parser's panic must not take an import down: both are parse errors.
    std::str::from_utf8(text)
        .map_err(|e| LineError::Parse(format!("Ion text must be UTF-8: {e}")))?;
    let values = std::panic::catch_unwind(|| ion_rs::Element::read_all(text))
        .map_err(|_| LineError::Parse("the Ion parser failed on this input".into()))?
        .map_err(|e| LineError::Parse(e.to_string()))?;
    let mut out = Vec::new();
    for v in values.iter() {
        let wrapped: Vec<ion_rs::Element> = match v.as_sequence() {
            Some(list) => list.elements().cloned().collect(),
            None => vec![v.clone()],
        };
        for w in wrapped {
            let item = w
                .as_struct()
                .and_then(|s| s.get("Item"))
                .ok_or_else(|| LineError::Parse("Expected 'Item' top level container".into()))
                .and_then(|i| item_of(i, 0));
            out.push(item);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        let mut out = Vec::new();
        write_number(&Number::parse(s).unwrap(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_are_written_as_dynamodb_writes_them() {
        for (number, ion) in [
            ("103", "103."),
            ("600", "6d2"),
            ("2000", "2d3"),
            ("1.5", "1.5"),
            ("-0.025", "-0.025"),
            ("0", "0."),
            ("12.3400", "12.34"),
        ] {
            assert_eq!(n(number), ion, "{number}");
        }
    }

    #[test]
    fn every_type_round_trips_through_ion() {
        let item: Item = serde_json::from_str(
            r#"{"s":{"S":"a \"q\"\n"},"n":{"N":"-12.5"},"b":{"B":"AQI="},"t":{"BOOL":true},
               "z":{"NULL":true},"ss":{"SS":["x","y"]},"ns":{"NS":["1","600"]},
               "bs":{"BS":["AQ=="]},"l":{"L":[{"N":"1"},{"S":"x"}]},
               "m":{"M":{"odd name":{"S":"v"},"null":{"N":"3"}}}}"#,
        )
        .unwrap();
        let mut text = Vec::new();
        text.extend_from_slice(b"$ion_1_0 {Item:");
        write_item(&item, &mut text);
        text.extend_from_slice(b"}\n");
        let back = parse_items(&text).unwrap();
        assert_eq!(back, vec![Ok(item)]);
    }

    #[test]
    fn dynamodbs_documented_export_line_reads() {
        let line = br#"$ion_1_0 {Item:{Authors:$dynamodb_SS::["Author1","Author2"],Dimensions:"8.5 x 11.0 x 1.5",Id:103.,InPublication:false,PageCount:6d2,Price:2d3}}"#;
        let items = parse_items(line).unwrap();
        let item = items[0].as_ref().unwrap();
        assert_eq!(
            item["PageCount"],
            AttributeValue::N(Number::parse("600").unwrap())
        );
        assert_eq!(
            item["Authors"],
            AttributeValue::Ss(vec!["Author1".into(), "Author2".into()])
        );
        assert!(matches!(parse_items(b"{Item:"), Err(LineError::Parse(_))));
        assert!(matches!(
            parse_items(b"{Other:{}}").unwrap()[0],
            Err(LineError::Parse(_))
        ));
    }
}
