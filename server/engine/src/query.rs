//! Query and Scan: one range read of storage per page, streamed (never a whole table or
//! partition in memory), stopped by `Limit` or by 1 MB of data read, as DynamoDB pages.

use std::cmp::Ordering;
use std::ops::Bound;

use super::admission::Subject;
use super::capacity;
use super::catalog::{IndexMeta, Table};
use super::indexes;
use super::throughput::partition_of;
use super::types::QueryOutput;
use super::Engine;
use crate::error::{Error, Result};
pub use crate::expr::key_condition::{bound_partition, key_condition_of};
use crate::expr::key_condition::{flatten_and, key_condition_attr, KeyOp};
use crate::expr::{Comparator, Condition};
use crate::model::key::{encode_sort_prefix, encode_sort_value, partition_prefix};
use crate::model::{codec, item_size, AttributeValue, Item, KeySchema, ScalarType};
use crate::storage::KeyRange;
use keyfall_types::command::{Access, Page, Query, Scan, Select};

/// DynamoDB stops a page once it has read this much data.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// The key range a Query reads, from its (validated) key condition; `None` when no key
/// can match.
fn key_range(schema: &KeySchema, cond: &Condition) -> Result<Option<KeyRange>> {
    let mut parts = Vec::new();
    flatten_and(cond, &mut parts);
    let mut pk: Option<&AttributeValue> = None;
    let mut sk: Option<(&Condition, String)> = None;
    for part in parts {
        let (attr, op) = key_condition_attr(part)?;
        if attr == schema.hash.name {
            if pk.is_some() {
                return Err(Error::validation(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            match op {
                KeyOp::Compare(Comparator::Eq, v) => pk = Some(v),
                _ => return Err(Error::validation("Query key condition not supported")),
            }
        } else if schema.range.as_ref().is_some_and(|r| r.name == attr) {
            if sk.is_some() {
                return Err(Error::validation(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            sk = Some((part, attr.to_string()));
        } else {
            let missing = schema.range.as_ref().map_or(&schema.hash.name, |r| &r.name);
            return Err(Error::validation(format!(
                "Query condition missed key schema element: {missing}"
            )));
        }
    }
    let pk = pk.ok_or_else(|| {
        Error::validation(format!(
            "Query condition missed key schema element: {}",
            schema.hash.name
        ))
    })?;
    let type_mismatch = || {
        Error::validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
    };
    if !schema.hash.ty.matches(pk) {
        return Err(type_mismatch());
    }
    let prefix = partition_prefix(pk)?;
    let partition_end = prefix_successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
    let Some((sk_cond, _)) = sk else {
        return Ok(Some(KeyRange {
            start: Bound::Included(prefix),
            end: partition_end,
        }));
    };
    let range = schema
        .range
        .as_ref()
        .ok_or_else(|| Error::validation("Query key condition not supported"))?;
    let with = |v: &AttributeValue| -> Result<Vec<u8>> {
        if !range.ty.matches(v) {
            return Err(type_mismatch());
        }
        let mut k = prefix.clone();
        encode_sort_value(v, &mut k)?;
        Ok(k)
    };
    let (_, op) = key_condition_attr(sk_cond)?;
    // Sort key encodings are prefix-free, and index entries append the base key after the
    // sort key: every condition is therefore a range of key prefixes.
    let end_after = |k: &[u8]| prefix_successor(k).map_or(partition_end.clone(), Bound::Excluded);
    let start_after = |k: &[u8]| prefix_successor(k).map(Bound::Included);
    let start_of_partition = Bound::Included(prefix.clone());
    let range = match op {
        KeyOp::Compare(Comparator::Eq, v) => {
            let k = with(v)?;
            KeyRange {
                end: end_after(&k),
                start: Bound::Included(k),
            }
        }
        KeyOp::Compare(Comparator::Lt, v) => KeyRange {
            start: start_of_partition,
            end: Bound::Excluded(with(v)?),
        },
        KeyOp::Compare(Comparator::Le, v) => KeyRange {
            start: start_of_partition,
            end: end_after(&with(v)?),
        },
        KeyOp::Compare(Comparator::Gt, v) => match start_after(&with(v)?) {
            Some(start) => KeyRange {
                start,
                end: partition_end,
            },
            None => return Ok(None),
        },
        KeyOp::Compare(Comparator::Ge, v) => KeyRange {
            start: Bound::Included(with(v)?),
            end: partition_end,
        },
        KeyOp::Compare(Comparator::Ne, _) => {
            return Err(Error::validation(
                "Invalid operator used in KeyConditionExpression: <>",
            ))
        }
        KeyOp::Between(lo, hi) => KeyRange {
            start: Bound::Included(with(lo)?),
            end: end_after(&with(hi)?),
        },
        KeyOp::BeginsWith(v) => {
            let raw: &[u8] = match v {
                AttributeValue::S(s) if range.ty == ScalarType::S => s.as_bytes(),
                AttributeValue::B(b) if range.ty == ScalarType::B => b,
                _ => return Err(type_mismatch()),
            };
            let mut k = prefix.clone();
            encode_sort_prefix(raw, &mut k);
            KeyRange {
                end: end_after(&k),
                start: Bound::Included(k),
            }
        }
    };
    Ok(Some(range))
}

/// The smallest byte string greater than every string starting with `p`, if any.
fn prefix_successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut out = p.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// The tighter of two bounds on one side of a range: the later of two starts (`starts`) or
/// the earlier of two ends; at the same key, the excluding one.
fn tighter(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>, starts: bool) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.cmp(y) {
                Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
                Ordering::Equal => b,
                order if (order == Ordering::Greater) == starts => a,
                _ => b,
            }
        }
    }
}

/// Validates ExclusiveStartKey against the table's key schema; returns its storage key.
fn exclusive_start(schema: &KeySchema, esk: &Item) -> Result<Vec<u8>> {
    let expected = 1 + usize::from(schema.range.is_some());
    if esk.len() != expected {
        return Err(Error::validation(
            "Exclusive Start Key must have same size as table's key schema",
        ));
    }
    schema
        .validate_key(esk)
        .map_err(|_| Error::validation("The provided starting key is invalid: The provided key element does not match the schema"))?;
    Ok(schema.encode(esk)?)
}

/// Where a Query or Scan reads: the table itself or one of its secondary indexes.
struct Source<'a> {
    table: &'a Table,
    index: Option<&'a IndexMeta>,
}

impl Source<'_> {
    /// The GSI whose throughput the read takes; an LSI's reads are its table's.
    fn charged(&self) -> Option<&str> {
        self.index.filter(|i| i.global).map(|i| i.name.as_str())
    }

    fn keyspace(&self) -> &str {
        self.index
            .map_or(&self.table.meta.keyspace, |i| &i.keyspace)
    }

    /// The key schema key conditions and filters are checked against.
    fn schema(&self) -> &KeySchema {
        self.index
            .map_or(&self.table.meta.key_schema, |i| &i.key_schema)
    }

    /// LastEvaluatedKey: the table's key, plus the index's key when reading an index.
    fn last_key(&self, item: &Item) -> Item {
        let mut key = self.table.meta.key_schema.extract_key(item);
        if let Some(index) = self.index {
            key.extend(index.key_schema.extract_key(item));
        }
        key
    }

    /// The storage key an ExclusiveStartKey names.
    fn start_key(&self, esk: &Item) -> Result<Vec<u8>> {
        let table_schema = &self.table.meta.key_schema;
        let Some(index) = self.index else {
            return exclusive_start(table_schema, esk);
        };
        let invalid = || {
            Error::validation("The provided starting key is invalid: The provided key element does not match the schema")
        };
        let base = table_schema.extract_key(esk);
        table_schema.validate_key(&base).map_err(|_| invalid())?;
        let base_key = table_schema.encode(&base)?;
        indexes::entry_key(index, &base_key, esk).ok_or_else(invalid)
    }

    /// Whether items must be read from the base table: ALL_ATTRIBUTES on an LSI that does
    /// not project everything (DynamoDB fetches from the table too).
    fn fetch_base(&self, select: Select) -> bool {
        self.index.is_some_and(|i| {
            !i.global && i.projection_type != "ALL" && select == Select::AllAttributes
        })
    }
}

impl Engine {
    /// Resolves IndexName and checks what DynamoDB allows on it.
    fn source<'a>(
        &self,
        table: &'a Table,
        index: Option<&str>,
        consistent: bool,
        select: Select,
    ) -> Result<Source<'a>> {
        let Some(name) = index else {
            return Ok(Source { table, index: None });
        };
        let index = table.meta.index(name).ok_or_else(|| {
            Error::validation(format!(
                "The table does not have the specified index: {name}"
            ))
        })?;
        if index.creating {
            return Err(Error::validation(format!(
                "Cannot read from backfilling global secondary index: {name}"
            )));
        }
        if index.global && consistent {
            return Err(Error::validation(
                "Consistent reads are not supported on global secondary indexes",
            ));
        }
        if index.global && select == Select::AllAttributes && index.projection_type != "ALL" {
            return Err(Error::validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {name} because its projection type is not ALL"
            )));
        }
        Ok(Source {
            table,
            index: Some(index),
        })
    }

    pub fn query(&self, cmd: Query) -> Result<QueryOutput> {
        let page = &cmd.page;
        let table = self.item_table_named(&page.table)?;
        let source = self.source(&table, page.index.as_deref(), page.consistent, page.select)?;
        let schema = source.schema();
        if let Some(f) = page.filter.as_ref().filter(|_| !page.filter_names_keys) {
            let mut attrs = Vec::new();
            f.for_each_path(&mut |p| attrs.extend(p.top()));
            if let Some(key_attr) = attrs.into_iter().find(|a| schema.is_key_attribute(a)) {
                return Err(Error::validation(format!(
                    "Filter Expression can only contain non-primary key attributes: Primary key attribute: {key_attr}"
                )));
            }
        }
        let Some(mut range) = key_range(schema, &cmd.key_condition)? else {
            return self.read_page(&source, KeyRange::empty(), false, page, None);
        };
        if let Some(esk) = &page.exclusive_start_key {
            let start = source.start_key(esk)?;
            let pk = schema.hash.name.as_str();
            let same_partition = match (&range.start, esk.get(pk)) {
                (Bound::Included(s) | Bound::Excluded(s), Some(v)) => {
                    partition_prefix(v).is_ok_and(|p| s.starts_with(&p))
                }
                _ => false,
            };
            if !same_partition {
                return Err(Error::validation(
                    "The provided starting key does not match the range key predicate",
                ));
            }
            if cmd.forward {
                range.start = tighter(range.start, Bound::Excluded(start), true);
            } else {
                range.end = tighter(range.end, Bound::Excluded(start), false);
            }
        }
        // Every key of the range starts with the partition's hash: the partition it reads.
        let partition = match &range.start {
            Bound::Included(s) | Bound::Excluded(s) => partition_of(s),
            Bound::Unbounded => None,
        };
        let pk = bound_partition(&cmd.key_condition, &schema.hash.name);
        let subject = pk.map_or(Subject::Nothing, Subject::Partition);
        self.check_partition(&table, source.charged(), Access::Read, partition, subject)?;
        if let Some(pk) = pk {
            table
                .insights
                .record_values(source.charged(), pk, None, false);
        }
        self.read_page(&source, range, !cmd.forward, page, partition)
    }

    pub fn scan(&self, cmd: Scan) -> Result<QueryOutput> {
        let page = &cmd.page;
        let table = self.item_table_named(&page.table)?;
        let mut range = match cmd.segment {
            None => KeyRange::all(),
            Some(s) => segment_range(s.segment, s.total),
        };
        let source = self.source(&table, page.index.as_deref(), page.consistent, page.select)?;
        if let Some(esk) = &page.exclusive_start_key {
            let start = source.start_key(esk)?;
            // A key from another segment would read that segment's items (or skip this
            // one's): refused, as DynamoDB refuses it.
            if let Some(s) = cmd.segment {
                if !range.contains(&start) {
                    return Err(Error::validation(format!(
                        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: {} Segment: {}",
                        s.total, s.segment
                    )));
                }
            }
            range.start = tighter(range.start, Bound::Excluded(start), true);
        }
        self.read_page(&source, range, false, page, None)
    }

    /// Reads one page: up to `limit` items evaluated or 1 MB read, whichever comes first.
    fn read_page(
        &self,
        source: &Source<'_>,
        range: KeyRange,
        reverse: bool,
        spec: &Page,
        partition: Option<u64>,
    ) -> Result<QueryOutput> {
        let table = source.table;
        let fetch_base = source.fetch_base(spec.select);
        let mut items = Vec::new();
        let (mut count, mut scanned, mut bytes) = (0i64, 0usize, 0usize);
        let mut last_key = None;
        let empty_range = match (&range.start, &range.end) {
            (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) => {
                s > e
                    || (s == e
                        && (matches!(range.start, Bound::Excluded(_))
                            || matches!(range.end, Bound::Excluded(_))))
            }
            _ => false,
        };
        if !empty_range {
            let mut iter = self.store.range(source.keyspace(), range, reverse)?;
            let page_full = |scanned: usize, bytes: usize| {
                spec.limit.is_some_and(|l| scanned >= l) || bytes >= MAX_PAGE_BYTES
            };
            loop {
                if page_full(scanned, bytes) {
                    // Stopped early: the client continues after the last item evaluated.
                    break;
                }
                let Some(kv) = iter.next() else {
                    last_key = None;
                    break;
                };
                let (_, value) = kv?;
                let mut item =
                    codec::decode_item(&value).map_err(|e| Error::Internal(e.to_string()))?;
                if table.meta.is_expired(&item) {
                    // Expired items are invisible even before the sweeper deletes them.
                    continue;
                }
                scanned += 1;
                bytes += item_size(&item);
                if page_full(scanned, bytes) {
                    // The page ends here (checked at the top of the loop): only its last
                    // item's key is needed, not every item's.
                    last_key = Some(source.last_key(&item));
                }
                if fetch_base {
                    let base_key = table.meta.key_schema.encode(&item)?;
                    if let Some(base) = self.read_stored(&table.meta.keyspace, &base_key)? {
                        item = base;
                    }
                }
                let keep = match &spec.filter {
                    Some(f) => f.evaluate(&item)?,
                    None => true,
                };
                if keep {
                    count += 1;
                    if spec.select != Select::Count {
                        items.push(match &spec.projection {
                            Some(p) => p.apply(&item),
                            None => item,
                        });
                    }
                }
            }
        }
        let units = capacity::read_units(bytes, spec.consistent);
        let units = match source.index {
            None => capacity::Usage::table(units),
            Some(index) => {
                let mut usage = capacity::Usage::default();
                let bucket = if index.global {
                    &mut usage.global
                } else {
                    &mut usage.local
                };
                bucket.insert(index.name.clone(), units);
                usage
            }
        };
        super::observe::read(table, source.charged(), partition, units.total());
        super::observe::counted(count, scanned as i64);
        Ok(QueryOutput {
            items: (spec.select != Select::Count).then_some(items),
            count,
            scanned_count: scanned as i64,
            last_evaluated_key: last_key,
            consumed_capacity: capacity::consumed(&table.meta.name, spec.capacity, &units),
        })
    }
}

/// The hash range of parallel-scan segment `seg` of `total`: segments are disjoint and
/// cover the whole table because stored keys start with the partition hash.
fn segment_range(seg: u64, total: u64) -> KeyRange {
    let bound = |i: u64| -> u64 { ((u128::from(i) << 64) / u128::from(total)) as u64 };
    let start = Bound::Included(bound(seg).to_be_bytes().to_vec());
    let end = if seg + 1 == total {
        Bound::Unbounded
    } else {
        Bound::Excluded(bound(seg + 1).to_be_bytes().to_vec())
    };
    KeyRange { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_disjoint_and_cover_the_hash_space() {
        for total in [1u64, 2, 3, 7, 1000, 1_000_000] {
            let mut prev_end: Option<Bound<Vec<u8>>> = None;
            for seg in [0, total / 2, total - 1] {
                let r = segment_range(seg, total);
                if seg == 0 {
                    assert_eq!(r.start, Bound::Included(vec![0; 8]));
                }
                if seg == total - 1 {
                    assert_eq!(r.end, Bound::Unbounded);
                }
                if let (Some(Bound::Excluded(e)), Bound::Included(s)) = (&prev_end, &r.start) {
                    assert!(e <= s);
                }
                prev_end = Some(r.end);
            }
            // Adjacent segments meet exactly.
            if total > 1 {
                let a = segment_range(0, total);
                let b = segment_range(1, total);
                match (a.end, b.start) {
                    (Bound::Excluded(e), Bound::Included(s)) => assert_eq!(e, s),
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn prefix_successor_cases() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }
}
