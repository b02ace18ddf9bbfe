//! Primary keys and their storage encoding.
//!
//! A stored key is `hash(pk) ‖ len(pk) ‖ pk ‖ sk`, chosen so that:
//! - all items of one partition are contiguous and ordered by sort key, as DynamoDB orders
//!   them (numbers by value, strings and binaries bytewise), so a Query is one range read;
//! - partitions are spread by an 8-byte hash prefix, so Scan order is hash order and a
//!   parallel-scan segment is a contiguous hash range.
//!
//! The hash is XXH3-64, whose output is fixed by its specification: changing it would
//! reorder every stored table, so it must never change.

use bytes::Bytes;

use super::number::Number;
use super::value::{AttributeValue, Item};

/// The three types a key attribute may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    pub fn tag(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }

    pub fn from_tag(tag: &str) -> Option<ScalarType> {
        match tag {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }

    pub fn matches(self, v: &AttributeValue) -> bool {
        matches!(
            (self, v),
            (ScalarType::S, AttributeValue::S(_))
                | (ScalarType::N, AttributeValue::N(_))
                | (ScalarType::B, AttributeValue::B(_))
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyAttribute {
    pub name: String,
    pub ty: ScalarType,
}

/// The primary key of a table or index: a partition key and an optional sort key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeySchema {
    pub hash: KeyAttribute,
    pub range: Option<KeyAttribute>,
}

pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// Why a key is unusable; messages are DynamoDB's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("The provided key element does not match the schema")]
    SchemaMismatch,
    #[error("One or more parameter values were invalid: Missing the key {0} in the item")]
    MissingInItem(String),
    #[error("One or more parameter values were invalid: Type mismatch for key {name} expected: {expected} actual: {actual}")]
    TypeMismatch {
        name: String,
        expected: &'static str,
        actual: &'static str,
    },
    #[error("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {ty} value. Key: {name}")]
    Empty { name: String, ty: &'static str },
    #[error("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")]
    PartitionKeyTooLong,
    #[error("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes")]
    SortKeyTooLong,
}

impl KeySchema {
    pub fn key_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.name.as_str()).chain(self.range.as_ref().map(|r| r.name.as_str()))
    }

    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.key_names().any(|n| n == name)
    }

    /// Validates a `Key` parameter: exactly the key attributes, with the right types.
    pub fn validate_key(&self, key: &Item) -> Result<(), KeyError> {
        let expected = 1 + usize::from(self.range.is_some());
        if key.len() != expected {
            return Err(KeyError::SchemaMismatch);
        }
        for attr in self.attributes() {
            let v = key.get(&attr.name).ok_or(KeyError::SchemaMismatch)?;
            if !attr.ty.matches(v) {
                return Err(KeyError::SchemaMismatch);
            }
            check_key_value(attr, v)?;
        }
        Ok(())
    }

    /// Validates the key attributes of a whole item (PutItem).
    pub fn validate_item(&self, item: &Item) -> Result<(), KeyError> {
        for attr in self.attributes() {
            let v = item
                .get(&attr.name)
                .ok_or_else(|| KeyError::MissingInItem(attr.name.clone()))?;
            if !attr.ty.matches(v) {
                return Err(KeyError::TypeMismatch {
                    name: attr.name.clone(),
                    expected: attr.ty.tag(),
                    actual: v.value_type().tag(),
                });
            }
            check_key_value(attr, v)?;
        }
        Ok(())
    }

    fn attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.hash).chain(self.range.as_ref())
    }

    /// The key attributes of `item` (which must have passed validation).
    pub fn extract_key(&self, item: &Item) -> Item {
        self.attributes()
            .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }

    /// The storage key of an item or key map that has passed validation.
    pub fn encode(&self, item: &Item) -> Result<Vec<u8>, KeyError> {
        let pk = item.get(&self.hash.name).ok_or(KeyError::SchemaMismatch)?;
        let mut out = partition_prefix(pk)?;
        if let Some(range) = &self.range {
            let sk = item.get(&range.name).ok_or(KeyError::SchemaMismatch)?;
            encode_sort_value(sk, &mut out)?;
        }
        Ok(out)
    }
}

fn check_key_value(attr: &KeyAttribute, v: &AttributeValue) -> Result<(), KeyError> {
    let (len, ty) = match v {
        AttributeValue::S(s) => (s.len(), "string"),
        AttributeValue::B(b) => (b.len(), "binary"),
        _ => return Ok(()),
    };
    if len == 0 {
        return Err(KeyError::Empty {
            name: attr.name.clone(),
            ty,
        });
    }
    Ok(())
}

/// Raw bytes of a partition key value: the hash input and the stored form.
fn partition_bytes(v: &AttributeValue) -> Result<Vec<u8>, KeyError> {
    let mut raw = Vec::new();
    match v {
        AttributeValue::S(s) => raw.extend_from_slice(s.as_bytes()),
        AttributeValue::B(b) => raw.extend_from_slice(b),
        AttributeValue::N(n) => encode_number(n, &mut raw),
        _ => return Err(KeyError::SchemaMismatch),
    }
    Ok(raw)
}

/// `hash(pk) ‖ len(pk) ‖ pk`: every stored key of the partition starts with it.
pub fn partition_prefix(pk: &AttributeValue) -> Result<Vec<u8>, KeyError> {
    let raw = partition_bytes(pk)?;
    if raw.len() > MAX_PARTITION_KEY_BYTES {
        return Err(KeyError::PartitionKeyTooLong);
    }
    let mut out = Vec::with_capacity(10 + raw.len() + 16);
    out.extend_from_slice(&partition_hash(&raw).to_be_bytes());
    out.extend_from_slice(&(raw.len() as u16).to_be_bytes());
    out.extend_from_slice(&raw);
    Ok(out)
}

pub fn partition_hash(raw: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(raw)
}

/// Appends the order-preserving, self-delimiting encoding of a sort key value.
///
/// Self-delimiting so that index entries can append the base table's key after it and
/// so that every sort-key condition is a contiguous range: strings and binaries escape
/// `0x00` as `0x00 0xFF` and end with `0x00 0x01`; numbers end with their terminator.
pub fn encode_sort_value(v: &AttributeValue, out: &mut Vec<u8>) -> Result<(), KeyError> {
    match v {
        AttributeValue::S(s) if s.len() > MAX_SORT_KEY_BYTES => Err(KeyError::SortKeyTooLong),
        AttributeValue::B(b) if b.len() > MAX_SORT_KEY_BYTES => Err(KeyError::SortKeyTooLong),
        AttributeValue::S(s) => {
            escape_bytes(s.as_bytes(), out);
            out.extend_from_slice(&[0x00, 0x01]);
            Ok(())
        }
        AttributeValue::B(b) => {
            escape_bytes(b, out);
            out.extend_from_slice(&[0x00, 0x01]);
            Ok(())
        }
        AttributeValue::N(n) => {
            encode_number(n, out);
            Ok(())
        }
        _ => Err(KeyError::SchemaMismatch),
    }
}

/// The encoding of every S or B sort key that starts with `prefix` starts with this.
pub fn encode_sort_prefix(prefix: &[u8], out: &mut Vec<u8>) {
    escape_bytes(prefix, out);
}

fn escape_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

const NEGATIVE: u8 = 0x40;
const ZERO: u8 = 0x80;
const POSITIVE: u8 = 0xC0;

/// Order-preserving number encoding: a sign byte, the biased exponent (complemented for
/// negatives), then one byte per digit (`digit + 1`, complemented for negatives) and a
/// terminator that sorts below (above, for negatives) every digit, so `0.12 < 0.123`.
pub fn encode_number(n: &Number, out: &mut Vec<u8>) {
    if n.is_zero() {
        out.push(ZERO);
        return;
    }
    let (digits, exp) = n.parts();
    // exp is within [MIN_EXP, MAX_EXP] = [-129, 126], so exp + 129 fits a byte.
    let biased = (exp - super::number::MIN_EXP) as u8;
    if n.is_negative() {
        out.push(NEGATIVE);
        out.push(!biased);
        out.extend(digits.bytes().map(|d| !(d - b'0' + 1)));
        out.push(0xFF);
    } else {
        out.push(POSITIVE);
        out.push(biased);
        out.extend(digits.bytes().map(|d| d - b'0' + 1));
        out.push(0x00);
    }
}

/// DynamoDB's order for key values of one type: numbers by value, S and B bytewise.
pub fn compare_key_values(a: &AttributeValue, b: &AttributeValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Convenience for tests and callers building keys.
pub fn binary(b: &[u8]) -> AttributeValue {
    AttributeValue::B(Bytes::copy_from_slice(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc_sort(v: &AttributeValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_sort_value(v, &mut out).unwrap();
        out
    }

    fn number() -> impl Strategy<Value = Number> {
        (any::<bool>(), "[0-9]{1,38}", -129i32..=88).prop_filter_map(
            "in range",
            |(neg, digits, exp)| {
                let s = format!("{}0.{}e{}", if neg { "-" } else { "" }, digits, exp);
                Number::parse(&s).ok()
            },
        )
    }

    proptest! {
        #[test]
        fn number_encoding_preserves_order(a in number(), b in number()) {
            let ea = enc_sort(&AttributeValue::N(a.clone()));
            let eb = enc_sort(&AttributeValue::N(b.clone()));
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
        }

        #[test]
        fn string_encoding_preserves_order(a in ".{1,40}", b in ".{1,40}") {
            let ea = enc_sort(&AttributeValue::S(a.clone()));
            let eb = enc_sort(&AttributeValue::S(b.clone()));
            prop_assert_eq!(ea.cmp(&eb), a.as_bytes().cmp(b.as_bytes()));
        }

        #[test]
        fn encodings_are_prefix_free_so_suffixes_keep_order(
            a in proptest::collection::vec(any::<u8>(), 1..12),
            b in proptest::collection::vec(any::<u8>(), 1..12),
            sa in proptest::collection::vec(any::<u8>(), 0..8),
            sb in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            // An index entry is `sort key ‖ base key`: the suffix must never change the order
            // of distinct sort keys.
            let mut ea = enc_sort(&binary(&a));
            let mut eb = enc_sort(&binary(&b));
            if a != b {
                ea.extend_from_slice(&sa);
                eb.extend_from_slice(&sb);
                prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
            }
        }

        #[test]
        fn prefix_encoding_matches_every_extension(p in proptest::collection::vec(any::<u8>(), 1..8), rest in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut full = p.clone();
            full.extend_from_slice(&rest);
            let mut prefix = Vec::new();
            encode_sort_prefix(&p, &mut prefix);
            prop_assert!(enc_sort(&binary(&full)).starts_with(&prefix));
        }

        #[test]
        fn binary_encoding_preserves_order(a in proptest::collection::vec(any::<u8>(), 1..40), b in proptest::collection::vec(any::<u8>(), 1..40)) {
            prop_assert_eq!(enc_sort(&binary(&a)).cmp(&enc_sort(&binary(&b))), a.cmp(&b));
        }

        #[test]
        fn full_keys_group_partitions_and_order_sort_keys(pk in "[a-z]{1,8}", a in number(), b in number()) {
            let schema = KeySchema {
                hash: KeyAttribute { name: "pk".into(), ty: ScalarType::S },
                range: Some(KeyAttribute { name: "sk".into(), ty: ScalarType::N }),
            };
            let item = |n: &Number| Item::from([
                ("pk".to_string(), AttributeValue::S(pk.clone())),
                ("sk".to_string(), AttributeValue::N(n.clone())),
            ]);
            let ka = schema.encode(&item(&a)).unwrap();
            let kb = schema.encode(&item(&b)).unwrap();
            let prefix = partition_prefix(&AttributeValue::S(pk.clone())).unwrap();
            prop_assert!(ka.starts_with(&prefix) && kb.starts_with(&prefix));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        }
    }

    #[test]
    fn number_order_examples() {
        let sorted = [
            "-1E+125", "-100", "-1.5", "-1", "-0.001", "0", "1E-130", "0.1", "0.12", "0.123", "1",
            "10", "1E+125",
        ];
        let enc: Vec<Vec<u8>> = sorted
            .iter()
            .map(|s| enc_sort(&AttributeValue::N(Number::parse(s).unwrap())))
            .collect();
        for w in enc.windows(2) {
            assert!(w[0] < w[1]);
        }
    }

    #[test]
    fn key_validation_messages() {
        let schema = KeySchema {
            hash: KeyAttribute {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range: None,
        };
        let cases: Vec<(Item, &str)> = vec![
            (Item::new(), "Missing the key pk in the item"),
            (
                Item::from([("pk".into(), AttributeValue::Bool(true))]),
                "Type mismatch for key pk expected: S actual: BOOL",
            ),
            (
                Item::from([("pk".into(), AttributeValue::S(String::new()))]),
                "cannot contain an empty string value. Key: pk",
            ),
        ];
        for (item, want) in cases {
            let err = schema.validate_item(&item).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let long = Item::from([("pk".into(), AttributeValue::S("x".repeat(2049)))]);
        assert_eq!(schema.encode(&long), Err(KeyError::PartitionKeyTooLong));
    }
}
