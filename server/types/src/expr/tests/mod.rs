//! Tests of the expression module.
//! - `table.rs` replays `cases.jsonl`: every case there was sent to DynamoDB Local by
//!   `oracle.py` (which also lists the cases in readable form), and its answer recorded.
//! - `unit.rs`: behaviour the oracle cannot show directly (returned paths, nested projections,
//!   printing, limits on hostile input).
//! - `props.rs`: property tests (no panics, printing round-trips, projections).

mod props;
mod table;
mod unit;

use std::collections::HashMap;

use bytes::Bytes;

use crate::model::{AttributeValue, Item, Number};

pub(crate) fn n(s: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(s).expect("test number"))
}

pub(crate) fn s(x: &str) -> AttributeValue {
    AttributeValue::S(x.to_string())
}

pub(crate) fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub(crate) fn values(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn b64(s: &str) -> Bytes {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHA.iter().position(|&a| a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Bytes::from(out)
}

/// DynamoDB JSON (binaries in base64) to a value.
pub(crate) fn from_json(v: &serde_json::Value) -> AttributeValue {
    let (tag, x) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("typed value");
    let strs = || {
        x.as_array()
            .expect("array")
            .iter()
            .map(|e| e.as_str().expect("str").to_string())
    };
    match tag.as_str() {
        "S" => AttributeValue::S(x.as_str().expect("S").to_string()),
        "N" => n(x.as_str().expect("N")),
        "B" => AttributeValue::B(b64(x.as_str().expect("B"))),
        "SS" => AttributeValue::Ss(strs().collect()),
        "NS" => AttributeValue::Ns(strs().map(|e| Number::parse(&e).expect("NS")).collect()),
        "BS" => AttributeValue::Bs(strs().map(|e| b64(&e)).collect()),
        "L" => AttributeValue::L(x.as_array().expect("L").iter().map(from_json).collect()),
        "M" => AttributeValue::M(item_from_json(x)),
        "NULL" => AttributeValue::Null,
        "BOOL" => AttributeValue::Bool(x.as_bool().expect("BOOL")),
        other => panic!("unknown type {other}"),
    }
}

/// An item from DynamoDB JSON; `null` (no item) is the empty map.
pub(crate) fn item_from_json(v: &serde_json::Value) -> Item {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        .unwrap_or_default()
}

pub(crate) fn same_item(a: &Item, b: &Item) -> bool {
    AttributeValue::M(a.clone()).dynamo_eq(&AttributeValue::M(b.clone()))
}
