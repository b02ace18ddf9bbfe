//! The stored form of an item: a compact, versioned binary encoding (not JSON).
//!
//! Layout: a version byte, then the item as a map. A map is a varint count followed by
//! `name, value` pairs; a value is a type byte and its payload (varint-length strings and
//! bytes, numbers as their canonical decimal text, varint-counted sets and lists).
//! Decoding validates everything, so a damaged record is an error, never a panic.

use bytes::Bytes;

use super::number::Number;
use super::value::{AttributeValue, Item};
use crate::streams::{Identity, StreamRecord, StreamRecordBody};

const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
#[error("stored item is corrupt: {0}")]
pub struct CodecError(&'static str);

pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    put_map(&mut out, item);
    out
}

pub fn decode_item(buf: &[u8]) -> Result<Item, CodecError> {
    let mut r = Reader { buf, pos: 0 };
    if r.byte()? != VERSION {
        return Err(CodecError("unknown version"));
    }
    let item = r.map(0)?;
    if r.pos != buf.len() {
        return Err(CodecError("trailing bytes"));
    }
    Ok(item)
}

const T_S: u8 = 1;
const T_N: u8 = 2;
const T_B: u8 = 3;
const T_SS: u8 = 4;
const T_NS: u8 = 5;
const T_BS: u8 = 6;
const T_M: u8 = 7;
const T_L: u8 = 8;
const T_NULL: u8 = 9;
const T_FALSE: u8 = 10;
const T_TRUE: u8 = 11;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_map(out: &mut Vec<u8>, m: &Item) {
    put_varint(out, m.len() as u64);
    for (k, v) in m {
        put_bytes(out, k.as_bytes());
        put_value(out, v);
    }
}

fn put_value(out: &mut Vec<u8>, v: &AttributeValue) {
    match v {
        AttributeValue::S(s) => {
            out.push(T_S);
            put_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => {
            out.push(T_N);
            put_bytes(out, n.to_string().as_bytes());
        }
        AttributeValue::B(b) => {
            out.push(T_B);
            put_bytes(out, b);
        }
        AttributeValue::Ss(v) => {
            out.push(T_SS);
            put_varint(out, v.len() as u64);
            v.iter().for_each(|s| put_bytes(out, s.as_bytes()));
        }
        AttributeValue::Ns(v) => {
            out.push(T_NS);
            put_varint(out, v.len() as u64);
            v.iter()
                .for_each(|n| put_bytes(out, n.to_string().as_bytes()));
        }
        AttributeValue::Bs(v) => {
            out.push(T_BS);
            put_varint(out, v.len() as u64);
            v.iter().for_each(|b| put_bytes(out, b));
        }
        AttributeValue::M(m) => {
            out.push(T_M);
            put_map(out, m);
        }
        AttributeValue::L(l) => {
            out.push(T_L);
            put_varint(out, l.len() as u64);
            l.iter().for_each(|v| put_value(out, v));
        }
        AttributeValue::Null => out.push(T_NULL),
        AttributeValue::Bool(false) => out.push(T_FALSE),
        AttributeValue::Bool(true) => out.push(T_TRUE),
    }
}

/// Deeper than any valid item (32 levels), so recursion is bounded on damaged input.
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<usize, CodecError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return usize::try_from(v).map_err(|_| CodecError("length overflow"));
            }
        }
        Err(CodecError("varint too long"))
    }

    fn bytes(&mut self) -> Result<&[u8], CodecError> {
        let len = self.varint()?;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(CodecError("length overflow"))?;
        let b = self.buf.get(self.pos..end).ok_or(CodecError("truncated"))?;
        self.pos = end;
        Ok(b)
    }

    fn string(&mut self) -> Result<String, CodecError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| CodecError("invalid utf-8"))
    }

    fn number(&mut self) -> Result<Number, CodecError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| Number::parse(s).ok())
            .ok_or(CodecError("invalid number"))
    }

    /// A count of elements, each at least one byte: bounds pre-allocation by the input size.
    fn count(&mut self) -> Result<usize, CodecError> {
        let n = self.varint()?;
        if n > self.buf.len() - self.pos {
            return Err(CodecError("count exceeds input"));
        }
        Ok(n)
    }

    fn map(&mut self, depth: usize) -> Result<Item, CodecError> {
        let n = self.count()?;
        let mut m = Item::new();
        for _ in 0..n {
            let k = self.string()?;
            let v = self.value(depth + 1)?;
            m.insert(k, v);
        }
        Ok(m)
    }

    fn value(&mut self, depth: usize) -> Result<AttributeValue, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError("nesting too deep"));
        }
        Ok(match self.byte()? {
            T_S => AttributeValue::S(self.string()?),
            T_N => AttributeValue::N(self.number()?),
            T_B => AttributeValue::B(Bytes::copy_from_slice(self.bytes()?)),
            T_SS => {
                let n = self.count()?;
                AttributeValue::Ss((0..n).map(|_| self.string()).collect::<Result<_, _>>()?)
            }
            T_NS => {
                let n = self.count()?;
                AttributeValue::Ns((0..n).map(|_| self.number()).collect::<Result<_, _>>()?)
            }
            T_BS => {
                let n = self.count()?;
                AttributeValue::Bs(
                    (0..n)
                        .map(|_| self.bytes().map(Bytes::copy_from_slice))
                        .collect::<Result<_, _>>()?,
                )
            }
            T_M => AttributeValue::M(self.map(depth)?),
            T_L => {
                let n = self.count()?;
                AttributeValue::L(
                    (0..n)
                        .map(|_| self.value(depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            }
            T_NULL => AttributeValue::Null,
            T_FALSE => AttributeValue::Bool(false),
            T_TRUE => AttributeValue::Bool(true),
            _ => return Err(CodecError("unknown type byte")),
        })
    }
}

// ---------------------------------------------------------------- stream records

/// The first byte of a stream record in this encoding; records written before it are
/// DynamoDB Streams JSON and start with `{`.
const RECORD_MARK: u8 = 0xF5;
const RECORD_VERSION: u8 = 1;

/// A stream record's stored form: the mark, a version byte, then its fields in declaration
/// order (strings and items as above, the creation time as the bits of an f64, the size as
/// 8 bytes, optional parts behind a presence byte). Independent of any wire format.
pub fn encode_record(r: &StreamRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&[RECORD_MARK, RECORD_VERSION]);
    for s in [
        &r.event_id,
        &r.event_name,
        &r.event_version,
        &r.event_source,
        &r.aws_region,
    ] {
        put_bytes(&mut out, s.as_bytes());
    }
    let d = &r.dynamodb;
    out.extend_from_slice(&d.approximate_creation_date_time.to_bits().to_le_bytes());
    put_map(&mut out, &d.keys);
    for image in [&d.new_image, &d.old_image] {
        put_optional(&mut out, image.as_ref(), put_map);
    }
    put_bytes(&mut out, d.sequence_number.as_bytes());
    out.extend_from_slice(&d.size_bytes.to_le_bytes());
    put_bytes(&mut out, d.stream_view_type.as_bytes());
    put_optional(&mut out, r.user_identity.as_ref(), |out, i| {
        put_bytes(out, i.principal_id.as_bytes());
        put_bytes(out, i.kind.as_bytes());
    });
    out
}

fn put_optional<T>(out: &mut Vec<u8>, v: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        Some(v) => {
            out.push(1);
            put(out, v);
        }
        None => out.push(0),
    }
}

/// Reads a stored stream record, in this encoding or as the JSON records were first kept.
pub fn decode_record(buf: &[u8]) -> Result<StreamRecord, CodecError> {
    if buf.first() == Some(&b'{') {
        return serde_json::from_slice(buf).map_err(|_| CodecError("invalid JSON record"));
    }
    let mut r = Reader { buf, pos: 0 };
    if r.byte()? != RECORD_MARK || r.byte()? != RECORD_VERSION {
        return Err(CodecError("unknown record version"));
    }
    let (event_id, event_name, event_version) = (r.string()?, r.string()?, r.string()?);
    let (event_source, aws_region) = (r.string()?, r.string()?);
    let time = f64::from_bits(u64::from_le_bytes(r.array()?));
    let keys = r.map(0)?;
    let new_image = r.optional(|r| r.map(0))?;
    let old_image = r.optional(|r| r.map(0))?;
    let sequence_number = r.string()?;
    let size_bytes = i64::from_le_bytes(r.array()?);
    let stream_view_type = r.string()?;
    let user_identity = r.optional(|r| {
        Ok(Identity {
            principal_id: r.string()?,
            kind: r.string()?,
        })
    })?;
    if r.pos != buf.len() {
        return Err(CodecError("trailing bytes"));
    }
    Ok(StreamRecord {
        event_id,
        event_name,
        event_version,
        event_source,
        aws_region,
        dynamodb: StreamRecordBody {
            approximate_creation_date_time: time,
            keys,
            new_image,
            old_image,
            sequence_number,
            size_bytes,
            stream_view_type,
        },
        user_identity,
    })
}

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let end = self.pos + N;
        let b = self.buf.get(self.pos..end).ok_or(CodecError("truncated"))?;
        self.pos = end;
        b.try_into().map_err(|_| CodecError("truncated"))
    }

    fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, CodecError>,
    ) -> Result<Option<T>, CodecError> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(CodecError("bad presence byte")),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_value() -> impl Strategy<Value = AttributeValue> {
        let num = (-1_000_000i64..1_000_000, -20i32..20).prop_map(|(m, e)| {
            Number::parse(&format!("{m}e{e}")).unwrap_or_else(|_| Number::zero())
        });
        let leaf = prop_oneof![
            ".{0,12}".prop_map(AttributeValue::S),
            num.clone().prop_map(AttributeValue::N),
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(|b| AttributeValue::B(b.into())),
            proptest::collection::btree_set(".{0,6}", 1..4)
                .prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
            Just(AttributeValue::Null),
            any::<bool>().prop_map(AttributeValue::Bool),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(AttributeValue::L),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..6)
                    .prop_map(AttributeValue::M),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trips(item in proptest::collection::btree_map("[a-z]{1,8}", arb_value(), 0..8)) {
            let enc = encode_item(&item);
            prop_assert_eq!(decode_item(&enc).unwrap(), item);
        }

        #[test]
        fn records_round_trip_and_old_json_records_still_read(
            keys in proptest::collection::btree_map("[a-z]{1,8}", arb_value(), 1..3),
            image in proptest::option::of(proptest::collection::btree_map("[a-z]{1,8}", arb_value(), 0..6)),
            time in 0u32..2_000_000_000,
            size in 0i64..400_000,
            who in proptest::option::of("[a-z.]{1,20}"),
        ) {
            let record = StreamRecord {
                event_id: "e1".into(),
                event_name: "MODIFY".into(),
                event_version: "1.1".into(),
                event_source: "aws:dynamodb".into(),
                aws_region: "us-east-1".into(),
                dynamodb: StreamRecordBody {
                    // Whole seconds: the old JSON form does not round-trip every f64.
                    approximate_creation_date_time: f64::from(time),
                    keys,
                    new_image: image.clone(),
                    old_image: image,
                    sequence_number: "000000000000000000042".into(),
                    size_bytes: size,
                    stream_view_type: "NEW_AND_OLD_IMAGES".into(),
                },
                user_identity: who.map(|w| Identity { principal_id: w, kind: "Service".into() }),
            };
            let enc = encode_record(&record);
            prop_assert_eq!(&decode_record(&enc).unwrap(), &record);
            let cut = enc.len() - 1;
            prop_assert!(decode_record(&enc[..cut]).is_err());
            // What the engine stored before this encoding: the DynamoDB Streams JSON.
            let json = serde_json::to_vec(&record).unwrap();
            prop_assert_eq!(decode_record(&json).unwrap(), record);
        }

        #[test]
        fn damaged_records_are_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let mut marked = vec![RECORD_MARK, RECORD_VERSION];
            marked.extend_from_slice(&bytes);
            let _ = decode_record(&marked);
            let _ = decode_record(&bytes);
        }

        #[test]
        fn damaged_input_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_item(&bytes);
        }

        #[test]
        fn truncation_is_detected(item in proptest::collection::btree_map("[a-z]{1,8}", arb_value(), 1..8), cut in 1usize..1000) {
            let enc = encode_item(&item);
            let cut = cut % enc.len();
            prop_assert!(decode_item(&enc[..cut]).is_err());
        }
    }
}
