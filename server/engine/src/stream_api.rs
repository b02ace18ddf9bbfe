//! The DynamoDB Streams API: ListStreams, DescribeStream, GetShardIterator, GetRecords.
//!
//! Each stream has a single shard that never closes (DynamoDB splits shards as tables
//! grow; a stable shard set is allowed by the Streams contract). Shard iterators are
//! opaque, self-contained tokens that expire after 15 minutes, authenticated by an HMAC keyed
//! by a secret the server generates once and keeps in its storage (`_secrets`), so an
//! iterator cannot be forged or pointed at another stream.

use super::catalog::{StreamMeta, Table};
use super::streams::seq_string;
use super::types::KeySchemaElement;
use super::{now_epoch_seconds, required, Engine};
use crate::error::{Error, Result};

const ITERATOR_LIFETIME_SECONDS: f64 = 15.0 * 60.0;
const MAX_GET_RECORDS: usize = 1000;

/// The actions' inputs and outputs live in `keyfall-types` (keyfall-dax uses them without
/// the engine).
pub use keyfall_types::shard_iterator::claimed_stream_arn_of_iterator;
use keyfall_types::shard_iterator::{decode_iterator, encode_iterator, Position};
pub use keyfall_types::streams::*;

fn parse_seq(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| Error::validation(format!("Invalid SequenceNumber: {s}")))
}

/// A stream an ARN names: the table's current one or one disabled in the last day.
struct NamedStream {
    table: std::sync::Arc<Table>,
    stream: StreamMeta,
    closed_at: Option<f64>,
}

/// A shard id: 28 to 65 characters of `[a-zA-Z0-9-]` (DynamoDB's constraint).
fn check_shard_id(id: &str, member: &str) -> Result<()> {
    let constraint = if id.len() < 28 {
        "Member must have length greater than or equal to 28"
    } else if id.len() > 65 {
        "Member must have length less than or equal to 65"
    } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+"
    } else {
        return Ok(());
    };
    Err(Error::validation(format!(
        "1 validation error detected: Value '{id}' at '{member}' failed to satisfy constraint: {constraint}"
    )))
}

/// A `Limit` of 1 to `max`, in DynamoDB's constraint form.
fn check_limit(limit: Option<i64>, max: i64) -> Result<Option<usize>> {
    match limit {
        None => Ok(None),
        Some(l) if (1..=max).contains(&l) => Ok(Some(l as usize)),
        Some(l) => {
            let bound = if l < 1 {
                "greater than or equal to 1".to_string()
            } else {
                format!("less than or equal to {max}")
            };
            Err(Error::validation(format!(
                "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value {bound}"
            )))
        }
    }
}

impl Engine {
    fn stream_arn_of(&self, table: &Table, stream: &StreamMeta) -> String {
        format!(
            "{}/stream/{}",
            self.table_arn(&table.meta.name),
            stream.label
        )
    }

    fn shard_id(stream: &StreamMeta) -> String {
        let created = (stream.created_at * 1000.0) as u64;
        let suffix: String = stream.keyspace.chars().skip(2).take(8).collect();
        format!("shardId-{created:020}-{suffix}")
    }

    /// The stream `arn` names. An ARN that is not a stream ARN at all is a
    /// ValidationException; a stream ARN no stream answers to is ResourceNotFound, as
    /// DynamoDB decides.
    fn stream_named(&self, arn: &str) -> Result<NamedStream> {
        let not_found = || {
            Error::ResourceNotFound(format!(
                "Requested resource not found: Stream: {arn} not found"
            ))
        };
        let invalid = || Error::validation(format!("Invalid StreamArn: {arn}"));
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [scheme, partition, service, region, account, resource] = parts[..] else {
            return Err(invalid());
        };
        let Some((table, label)) = resource
            .strip_prefix("table/")
            .and_then(|r| r.split_once("/stream/"))
        else {
            return Err(invalid());
        };
        if scheme != "arn"
            || partition.is_empty()
            || service != "dynamodb"
            || table.is_empty()
            || label.is_empty()
            || arn.len() < 37
            || arn.len() > 1024
        {
            return Err(invalid());
        }
        if region != self.config.region || account != self.config.account_id {
            return Err(not_found());
        }
        let table = self.table_by_name(table).ok_or_else(not_found)?;
        let (stream, closed_at) = table
            .meta
            .stream_labelled(label)
            .map(|(s, c)| (s.clone(), c))
            .ok_or_else(not_found)?;
        Ok(NamedStream {
            table,
            stream,
            closed_at,
        })
    }

    /// A closed stream's last sequence number (its shard's EndingSequenceNumber).
    fn stream_ending(&self, s: &NamedStream) -> Result<Option<u64>> {
        match s.closed_at {
            None => Ok(None),
            Some(_) => Ok(Some(self.stream_end_in(&s.stream, true)?)),
        }
    }

    pub fn list_streams(&self, input: ListStreamsInput) -> Result<ListStreamsOutput> {
        let limit = check_limit(input.limit, 100)?.unwrap_or(100);
        if let Some(start) = &input.exclusive_start_stream_arn {
            if self
                .stream_named(start)
                .is_err_and(|e| matches!(e, Error::Validation(_)))
            {
                return Err(Error::validation(format!("Invalid StreamArn: {start}")));
            }
        }
        let mut streams: Vec<StreamSummary> = self
            .catalog
            .all()
            .iter()
            .filter(|t| input.table_name.as_ref().is_none_or(|n| *n == t.meta.name))
            .flat_map(|t| {
                t.meta
                    .closed_streams
                    .iter()
                    .map(|c| &c.stream)
                    .chain(t.meta.stream.iter())
                    .map(|s| StreamSummary {
                        stream_arn: self.stream_arn_of(t, s),
                        table_name: t.meta.name.clone(),
                        stream_label: s.label.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if let Some(start) = &input.exclusive_start_stream_arn {
            streams.retain(|s| s.stream_arn > *start);
        }
        let more = streams.len() > limit;
        streams.truncate(limit);
        let last = if more {
            streams.last().map(|s| s.stream_arn.clone())
        } else {
            None
        };
        Ok(ListStreamsOutput {
            streams,
            last_evaluated_stream_arn: last,
        })
    }

    pub fn describe_stream(&self, input: DescribeStreamInput) -> Result<StreamDescription> {
        let arn = required(&input.stream_arn, "streamArn")?;
        let limit = check_limit(input.limit, 100)?;
        if let Some(start) = &input.exclusive_start_shard_id {
            check_shard_id(start, "exclusiveStartShardId")?;
        }
        let filter = match &input.shard_filter {
            None => None,
            Some(f) => {
                match f.kind.as_deref() {
                    Some("CHILD_SHARDS") => {}
                    other => {
                        return Err(Error::validation(format!(
                            "1 validation error detected: Value '{}' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [CHILD_SHARDS]",
                            other.unwrap_or("null")
                        )))
                    }
                }
                let parent = f.shard_id.as_deref().ok_or_else(|| {
                    Error::validation(
                        "One or more parameter values were invalid: ShardFilter of type CHILD_SHARDS requires a ShardId",
                    )
                })?;
                check_shard_id(parent, "shardFilter.shardId")?;
                Some(parent)
            }
        };
        let named = self.stream_named(arn)?;
        let table = &named.table;
        let first = self.stream_end_in(&named.stream, false)?.max(1);
        let ending = self.stream_ending(&named)?.map(|e| e.max(first));
        let mut key_schema = vec![KeySchemaElement {
            attribute_name: table.meta.key_schema.hash.name.clone(),
            key_type: "HASH".into(),
        }];
        if let Some(r) = &table.meta.key_schema.range {
            key_schema.push(KeySchemaElement {
                attribute_name: r.name.clone(),
                key_type: "RANGE".into(),
            });
        }
        let shard_id = Self::shard_id(&named.stream);
        // One shard that never splits: nothing follows it, and it has no children.
        let mut shards = vec![Shard {
            shard_id: shard_id.clone(),
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: Some(seq_string(first)),
                ending_sequence_number: ending.map(seq_string),
            },
            parent_shard_id: None,
        }];
        if input.exclusive_start_shard_id.is_some() || filter.is_some() {
            shards.clear();
        }
        let more = limit.is_some_and(|l| shards.len() > l);
        if let Some(l) = limit {
            shards.truncate(l);
        }
        Ok(StreamDescription {
            stream_arn: arn.clone(),
            stream_label: named.stream.label.clone(),
            stream_status: if named.closed_at.is_some() {
                "DISABLED"
            } else {
                "ENABLED"
            }
            .into(),
            stream_view_type: named.stream.view_type.clone(),
            creation_request_date_time: named.stream.created_at,
            table_name: table.meta.name.clone(),
            key_schema,
            last_evaluated_shard_id: more.then(|| shard_id.clone()),
            shards,
        })
    }

    pub fn get_shard_iterator(&self, input: GetShardIteratorInput) -> Result<String> {
        let arn = required(&input.stream_arn, "streamArn")?;
        let shard = required(&input.shard_id, "shardId")?;
        let kind = required(&input.shard_iterator_type, "shardIteratorType")?;
        check_shard_id(shard, "shardId")?;
        let wants_seq = matches!(
            kind.as_str(),
            "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER"
        );
        if let Some(n) = &input.sequence_number {
            if !(21..=40).contains(&n.len()) {
                let bound = if n.len() < 21 {
                    "greater than or equal to 21"
                } else {
                    "less than or equal to 40"
                };
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{n}' at 'sequenceNumber' failed to satisfy constraint: Member must have length {bound}"
                )));
            }
            if !wants_seq {
                return Err(Error::validation(
                    "One or more parameter values were invalid: SequenceNumber should not be passed for this iterator type",
                ));
            }
        }
        let named = self.stream_named(arn)?;
        if *shard != Self::shard_id(&named.stream) {
            return Err(Error::ResourceNotFound(format!(
                "Requested resource not found: Shard does not exist: {shard}"
            )));
        }
        let seq = || {
            input
                .sequence_number
                .as_deref()
                .ok_or_else(|| {
                    Error::validation(
                        "One or more parameter values were invalid: Invalid SequenceNumber",
                    )
                })
                .and_then(parse_seq)
        };
        let latest = match self.stream_ending(&named)? {
            Some(end) => end,
            None => named.table.stream.last(),
        };
        let after = match kind.as_str() {
            "TRIM_HORIZON" => self.stream_end_in(&named.stream, false)?.saturating_sub(1),
            "LATEST" => latest,
            "AT_SEQUENCE_NUMBER" => seq()?.saturating_sub(1),
            "AFTER_SEQUENCE_NUMBER" => seq()?,
            other => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
                )))
            }
        };
        encode_iterator(
            self.iterator_key(),
            &Position {
                table: named.table.meta.name.clone(),
                label: named.stream.label.clone(),
                after,
                expires: now_epoch_seconds() + ITERATOR_LIFETIME_SECONDS,
            },
        )
    }

    pub fn get_records(&self, input: GetRecordsInput) -> Result<GetRecordsOutput> {
        let iterator = required(&input.shard_iterator, "shardIterator")?;
        let limit = check_limit(input.limit, MAX_GET_RECORDS as i64)?.unwrap_or(MAX_GET_RECORDS);
        let pos = decode_iterator(self.iterator_key(), iterator)
            .ok_or_else(|| Error::validation("Invalid ShardIterator"))?;
        if pos.expires < now_epoch_seconds() {
            return Err(Error::ExpiredIterator(
                "Iterator expired. The iterator was created more than 15 minutes ago".into(),
            ));
        }
        let not_found =
            || Error::ResourceNotFound("Requested resource not found: Stream not found".into());
        let table = self.table_by_name(&pos.table).ok_or_else(not_found)?;
        let (stream, closed_at) = table
            .meta
            .stream_labelled(&pos.label)
            .map(|(s, c)| (s.clone(), c))
            .ok_or_else(not_found)?;
        let named = NamedStream {
            table,
            stream,
            closed_at,
        };
        let first = self.stream_end_in(&named.stream, false)?;
        if first > 0 && pos.after + 1 < first {
            return Err(Error::TrimmedDataAccess(
                "The operation attempted to read past the oldest stream record in a shard".into(),
            ));
        }
        let records = self.stream_records_in(&named.stream, pos.after, limit)?;
        let after = records.last().map_or(pos.after, |(s, _)| *s);
        // A closed shard read to its end has no next iterator: that is how a reader
        // learns the shard is done.
        let done = self.stream_ending(&named)?.is_some_and(|end| after >= end);
        let next = Position {
            after,
            expires: now_epoch_seconds() + ITERATOR_LIFETIME_SECONDS,
            ..pos
        };
        Ok(GetRecordsOutput {
            records: records.into_iter().map(|(_, r)| r).collect(),
            next_shard_iterator: if done {
                None
            } else {
                Some(encode_iterator(self.iterator_key(), &next)?)
            },
        })
    }
}

impl Engine {
    /// The ARN of the stream a shard iterator reads, for authorization before GetRecords;
    /// None for an iterator this server did not issue (forged, altered or foreign).
    pub fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String> {
        let p = decode_iterator(self.iterator_key(), iterator)?;
        Some(format!("{}/stream/{}", self.table_arn(&p.table), p.label))
    }
}
