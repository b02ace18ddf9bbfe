//! Cache keys. Item keys are canonical (a number key `1.0` and `1` are one item), because
//! a write-through must land on the entry a later read looks up. Query-cache keys only need
//! to be injective: two encodings of one request merely miss, never collide.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use keyfall_proto::v1 as pb;
use keyfall_types::model::Number;
use pb::attribute_value::Value;
use prost::Message;

pub type ProtoItem = HashMap<String, pb::AttributeValue>;

/// The key attribute names of a table: partition key, then sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNames {
    pub partition: String,
    pub sort: Option<String>,
}

/// A table's item, identified canonically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey {
    pub table: Arc<str>,
    key: Vec<u8>,
    /// The projection a cached answer was made with; empty for the whole item.
    projection: Arc<str>,
}

/// The projection of whole-item entries, shared (`Arc::from("")` allocates each time).
fn whole_item() -> Arc<str> {
    static WHOLE: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));
    WHOLE.clone()
}

impl ItemKey {
    /// The item's canonical key bytes (without the projection): what identifies the item.
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    pub fn whole(&self) -> ItemKey {
        ItemKey {
            projection: whole_item(),
            ..self.clone()
        }
    }

    pub fn with_projection(self, projection: Arc<str>) -> ItemKey {
        ItemKey { projection, ..self }
    }

    pub fn is_whole(&self) -> bool {
        self.projection.is_empty()
    }

    /// Bytes the key holds, for the cache's weigher.
    pub fn weight(&self) -> usize {
        self.table.len() + self.key.len() + self.projection.len() + 48
    }
}

/// Appends a key attribute's canonical form; None for a non-key type (the server will
/// reject the request, so it is never cached).
fn push_scalar(out: &mut Vec<u8>, v: &pb::AttributeValue) -> Option<()> {
    match v.value.as_ref()? {
        Value::S(s) => {
            out.push(b'S');
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::N(n) => {
            let canonical = Number::parse(n).ok()?.to_string();
            out.push(b'N');
            out.extend_from_slice(&(canonical.len() as u32).to_be_bytes());
            out.extend_from_slice(canonical.as_bytes());
        }
        Value::B(b) => {
            out.push(b'B');
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        _ => return None,
    }
    Some(())
}

/// The canonical key of `item` (a full item or just its key) in `table`. None when the
/// item lacks a key attribute or has extra attributes where only a key is expected.
pub fn item_key(table: &Arc<str>, names: &KeyNames, item: &ProtoItem) -> Option<ItemKey> {
    let mut key = Vec::with_capacity(32);
    push_scalar(&mut key, item.get(&names.partition)?)?;
    if let Some(sort) = &names.sort {
        push_scalar(&mut key, item.get(sort)?)?;
    }
    Some(ItemKey {
        table: table.clone(),
        key,
        projection: whole_item(),
    })
}

/// A request's key must be exactly the key attributes; anything else goes upstream, which
/// answers with DynamoDB's validation error.
pub fn exact_key(table: &Arc<str>, names: &KeyNames, key: &ProtoItem) -> Option<ItemKey> {
    let expected = 1 + usize::from(names.sort.is_some());
    if key.len() != expected {
        return None;
    }
    item_key(table, names, key)
}

/// The projection part of a read: ProjectionExpression with its names, or AttributesToGet.
pub fn projection_spec(
    projection: &Option<String>,
    names: &HashMap<String, String>,
    attributes_to_get: &[String],
) -> String {
    if projection.is_none() && attributes_to_get.is_empty() {
        return String::new();
    }
    let mut names: Vec<_> = names.iter().collect();
    names.sort();
    format!("{projection:?}|{names:?}|{attributes_to_get:?}")
}

/// Sorted, length-prefixed encoding of a protobuf map's entries.
fn push_map<V: Message>(out: &mut Vec<u8>, m: &HashMap<String, V>) {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for (k, v) in entries {
        let v = v.encode_to_vec();
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(&v);
    }
}

fn push_string_map(out: &mut Vec<u8>, m: &HashMap<String, String>) {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort();
    out.extend_from_slice(format!("{entries:?}").as_bytes());
    out.push(0);
}

/// A Query's cache key: every parameter, maps in sorted order.
pub fn query_key(r: &pb::QueryRequest) -> Vec<u8> {
    let mut plain = r.clone();
    plain.key_conditions.clear();
    plain.query_filter.clear();
    plain.exclusive_start_key.clear();
    plain.expression_attribute_names.clear();
    plain.expression_attribute_values.clear();
    plain.return_consumed_capacity = None;
    let mut out = b"Q".to_vec();
    let head = plain.encode_to_vec();
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&head);
    push_map(&mut out, &r.key_conditions);
    push_map(&mut out, &r.query_filter);
    push_map(&mut out, &r.exclusive_start_key);
    push_string_map(&mut out, &r.expression_attribute_names);
    push_map(&mut out, &r.expression_attribute_values);
    out
}

/// A Scan's cache key.
pub fn scan_key(r: &pb::ScanRequest) -> Vec<u8> {
    let mut plain = r.clone();
    plain.scan_filter.clear();
    plain.exclusive_start_key.clear();
    plain.expression_attribute_names.clear();
    plain.expression_attribute_values.clear();
    plain.return_consumed_capacity = None;
    let mut out = b"S".to_vec();
    let head = plain.encode_to_vec();
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&head);
    push_map(&mut out, &r.scan_filter);
    push_map(&mut out, &r.exclusive_start_key);
    push_string_map(&mut out, &r.expression_attribute_names);
    push_map(&mut out, &r.expression_attribute_values);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &str) -> pb::AttributeValue {
        pb::AttributeValue {
            value: Some(Value::N(v.into())),
        }
    }
    fn s(v: &str) -> pb::AttributeValue {
        pb::AttributeValue {
            value: Some(Value::S(v.into())),
        }
    }

    #[test]
    fn item_keys_are_canonical_and_exact() {
        let t: Arc<str> = Arc::from("T");
        let names = KeyNames {
            partition: "pk".into(),
            sort: Some("sk".into()),
        };
        let key =
            |pk, sk: &str| -> ProtoItem { [("pk".into(), s(pk)), ("sk".into(), n(sk))].into() };
        let cases = [
            (key("a", "1"), key("a", "1.0"), true),
            (key("a", "10"), key("a", "1E1"), true),
            (key("a", "1"), key("a", "2"), false),
            (key("a", "1"), key("b", "1"), false),
        ];
        for (a, b, same) in cases {
            assert_eq!(
                exact_key(&t, &names, &a) == exact_key(&t, &names, &b),
                same,
                "{a:?} {b:?}"
            );
        }
        let mut item = key("a", "1");
        item.insert("extra".into(), s("x"));
        assert!(
            exact_key(&t, &names, &item).is_none(),
            "a key with extra attributes"
        );
        assert_eq!(
            item_key(&t, &names, &item),
            exact_key(&t, &names, &key("a", "1"))
        );
        let bad: ProtoItem = [("pk".into(), s("a")), ("sk".into(), s("1"))].into();
        assert!(
            exact_key(&t, &names, &bad).is_some(),
            "types are checked upstream"
        );
        assert!(item_key(&t, &names, &[("pk".into(), s("a"))].into()).is_none());
    }

    #[test]
    fn query_keys_ignore_map_order_and_capacity_flags() {
        let mut a = pb::QueryRequest {
            table_name: "T".into(),
            key_condition_expression: Some("pk = :p".into()),
            ..Default::default()
        };
        for i in 0..20 {
            a.expression_attribute_values
                .insert(format!(":v{i}"), n(&i.to_string()));
        }
        let mut b = a.clone();
        // Rebuilt in another insertion order: another HashMap iteration order.
        let mut entries: Vec<_> = a.expression_attribute_values.clone().into_iter().collect();
        entries.sort_by(|x, y| y.0.cmp(&x.0));
        b.expression_attribute_values = HashMap::with_capacity(1);
        b.expression_attribute_values.extend(entries);
        b.return_consumed_capacity = Some("TOTAL".into());
        assert_eq!(query_key(&a), query_key(&b));
        b.limit = Some(1);
        assert_ne!(query_key(&a), query_key(&b));
    }
}
