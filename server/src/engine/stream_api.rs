//! The DynamoDB Streams API: ListStreams, DescribeStream, GetShardIterator, GetRecords.
//!
//! Each stream has a single shard that never closes (DynamoDB splits shards as tables
//! grow; a stable shard set is allowed by the Streams contract). Shard iterators are
//! opaque, self-contained tokens that expire after 15 minutes, authenticated by an HMAC keyed
//! by a secret the server generates once and keeps in its storage (`_secrets`), so an
//! iterator cannot be forged or pointed at another stream.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::catalog::Table;
use super::streams::{seq_string, StreamRecord};
use super::types::KeySchemaElement;
use super::{now_epoch_seconds, required, Engine};
use crate::error::{Error, Result};

const ITERATOR_LIFETIME_SECONDS: f64 = 15.0 * 60.0;
const MAX_GET_RECORDS: usize = 1000;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ListStreamsInput {
    pub table_name: Option<String>,
    pub limit: Option<i64>,
    pub exclusive_start_stream_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    pub stream_arn: String,
    pub table_name: String,
    pub stream_label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    pub streams: Vec<StreamSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_stream_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeStreamInput {
    pub stream_arn: Option<String>,
    pub limit: Option<i64>,
    pub exclusive_start_shard_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_sequence_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending_sequence_number: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    pub shard_id: String,
    pub sequence_number_range: SequenceNumberRange,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    pub stream_arn: String,
    pub stream_label: String,
    pub stream_status: String,
    pub stream_view_type: String,
    pub creation_request_date_time: f64,
    pub table_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub shards: Vec<Shard>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GetShardIteratorInput {
    pub stream_arn: Option<String>,
    pub shard_id: Option<String>,
    pub shard_iterator_type: Option<String>,
    pub sequence_number: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GetRecordsInput {
    pub shard_iterator: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    pub records: Vec<StreamRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
}

/// What a shard iterator stands for: read after `after` in the table's current stream.
struct Position {
    table: String,
    label: String,
    after: u64,
    expires: f64,
}

type IteratorMac = hmac::Hmac<sha2::Sha256>;

/// The MAC of an iterator's content under the server's secret.
fn iterator_mac(key: &[u8], content: &[u8]) -> Option<IteratorMac> {
    use hmac::{KeyInit, Mac};
    let mut mac = <IteratorMac as KeyInit>::new_from_slice(key).ok()?;
    mac.update(content);
    Some(mac)
}

/// `base64(content) "." base64(HMAC-SHA256(secret, content))`: the content says which
/// stream and where, the MAC makes it unforgeable and binds it to that stream.
fn encode_iterator(key: &[u8], p: &Position) -> Result<String> {
    use hmac::Mac;
    let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = format!("v2|{}|{}|{}|{}", p.table, p.label, p.after, p.expires);
    let mac = iterator_mac(key, raw.as_bytes())
        .ok_or_else(|| Error::Internal("shard iterator key".into()))?
        .finalize()
        .into_bytes();
    Ok(format!("{}.{}", b64.encode(raw), b64.encode(mac)))
}

/// The content of an iterator, NOT verified: what it claims to read. Only for authorizing
/// a request the server will verify before reading anything (keyfall-dax, which has no
/// secret, authorizes on this; the server then refuses a forged iterator).
fn parse_iterator(s: &str) -> Option<(Position, Vec<u8>, Vec<u8>)> {
    let b64 = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (content, mac) = s.split_once('.')?;
    let raw = b64.decode(content).ok()?;
    let mac = b64.decode(mac).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let mut parts = text.split('|');
    if parts.next()? != "v2" {
        return None;
    }
    let table = parts.next()?.to_string();
    let label = parts.next()?.to_string();
    let after = parts.next()?.parse().ok()?;
    let expires = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let pos = Position {
        table,
        label,
        after,
        expires,
    };
    Some((pos, raw, mac))
}

/// An iterator this server issued (its MAC verifies), or None.
fn decode_iterator(key: &[u8], s: &str) -> Option<Position> {
    use hmac::Mac;
    let (pos, raw, mac) = parse_iterator(s)?;
    iterator_mac(key, &raw)?.verify_slice(&mac).ok()?;
    Some(pos)
}

/// The ARN of the stream an iterator claims to read, without verifying it (see
/// [`parse_iterator`]); `table_arn` gives the table's ARN.
pub fn claimed_stream_arn_of_iterator(
    iterator: &str,
    table_arn: impl FnOnce(&str) -> String,
) -> Option<String> {
    let (p, _, _) = parse_iterator(iterator)?;
    Some(format!("{}/stream/{}", table_arn(&p.table), p.label))
}

fn parse_seq(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| Error::validation(format!("Invalid SequenceNumber: {s}")))
}

impl Engine {
    fn stream_arn(&self, table: &Table) -> Option<String> {
        table
            .meta
            .stream
            .as_ref()
            .map(|s| format!("{}/stream/{}", self.table_arn(&table.meta.name), s.label))
    }

    fn shard_id(table: &Table) -> String {
        let stream = table.meta.stream.as_ref();
        let created = stream.map_or(0, |s| (s.created_at * 1000.0) as u64);
        let suffix: String = stream.map_or(String::new(), |s| {
            s.keyspace.chars().skip(2).take(8).collect()
        });
        format!("shardId-{created:020}-{suffix}")
    }

    /// The table whose current stream `arn` names.
    fn table_of_stream(&self, arn: &str) -> Result<std::sync::Arc<Table>> {
        let not_found = || {
            Error::ResourceNotFound(format!(
                "Requested resource not found: Stream: {arn} not found"
            ))
        };
        let prefix = format!(
            "arn:aws:dynamodb:{}:{}:table/",
            self.config.region, self.config.account_id
        );
        let rest = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
        let (name, label) = rest.split_once("/stream/").ok_or_else(not_found)?;
        let table = self.table_by_name(name).ok_or_else(not_found)?;
        match &table.meta.stream {
            Some(s) if s.label == label => Ok(table),
            _ => Err(not_found()),
        }
    }

    pub fn list_streams(&self, input: ListStreamsInput) -> Result<ListStreamsOutput> {
        let limit = match input.limit {
            None => 100,
            Some(l) if (1..=100).contains(&l) => l as usize,
            Some(_) => return Err(Error::validation("Limit must be between 1 and 100")),
        };
        let mut streams: Vec<StreamSummary> = self
            .catalog
            .all()
            .iter()
            .filter(|t| input.table_name.as_ref().is_none_or(|n| *n == t.meta.name))
            .filter_map(|t| {
                Some(StreamSummary {
                    stream_arn: self.stream_arn(t)?,
                    table_name: t.meta.name.clone(),
                    stream_label: t.meta.stream.as_ref()?.label.clone(),
                })
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
        let table = self.table_of_stream(arn)?;
        let stream = table
            .meta
            .stream
            .as_ref()
            .ok_or_else(Error::table_not_found)?;
        let first = self.stream_first(&table)?.max(1);
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
        Ok(StreamDescription {
            stream_arn: arn.clone(),
            stream_label: stream.label.clone(),
            stream_status: "ENABLED".into(),
            stream_view_type: stream.view_type.clone(),
            creation_request_date_time: stream.created_at,
            table_name: table.meta.name.clone(),
            key_schema,
            shards: vec![Shard {
                shard_id: Self::shard_id(&table),
                sequence_number_range: SequenceNumberRange {
                    starting_sequence_number: Some(seq_string(first)),
                    ending_sequence_number: None,
                },
                parent_shard_id: None,
            }],
        })
    }

    pub fn get_shard_iterator(&self, input: GetShardIteratorInput) -> Result<String> {
        let arn = required(&input.stream_arn, "streamArn")?;
        let shard = required(&input.shard_id, "shardId")?;
        let kind = required(&input.shard_iterator_type, "shardIteratorType")?;
        let table = self.table_of_stream(arn)?;
        if *shard != Self::shard_id(&table) {
            return Err(Error::ResourceNotFound(format!(
                "Requested resource not found: Shard does not exist: {shard}"
            )));
        }
        let seq = || {
            input
                .sequence_number
                .as_deref()
                .ok_or_else(|| Error::validation(format!("SequenceNumber is required for {kind}")))
                .and_then(parse_seq)
        };
        let after = match kind.as_str() {
            "TRIM_HORIZON" => self.stream_first(&table)?.saturating_sub(1),
            "LATEST" => table.stream.last(),
            "AT_SEQUENCE_NUMBER" => seq()?.saturating_sub(1),
            "AFTER_SEQUENCE_NUMBER" => seq()?,
            other => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
                )))
            }
        };
        let label = table
            .meta
            .stream
            .as_ref()
            .map(|s| s.label.clone())
            .unwrap_or_default();
        encode_iterator(
            self.iterator_key(),
            &Position {
                table: table.meta.name.clone(),
                label,
                after,
                expires: now_epoch_seconds() + ITERATOR_LIFETIME_SECONDS,
            },
        )
    }

    pub fn get_records(&self, input: GetRecordsInput) -> Result<GetRecordsOutput> {
        let iterator = required(&input.shard_iterator, "shardIterator")?;
        let limit = match input.limit {
            None => MAX_GET_RECORDS,
            Some(l) if (1..=MAX_GET_RECORDS as i64).contains(&l) => l as usize,
            Some(_) => return Err(Error::validation("Limit must be between 1 and 1000")),
        };
        let pos = decode_iterator(self.iterator_key(), iterator)
            .ok_or_else(|| Error::validation("Invalid ShardIterator"))?;
        if pos.expires < now_epoch_seconds() {
            return Err(Error::ExpiredIterator(
                "Iterator expired. The iterator was created more than 15 minutes ago".into(),
            ));
        }
        let table = self
            .table_by_name(&pos.table)
            .filter(|t| t.meta.stream.as_ref().is_some_and(|s| s.label == pos.label))
            .ok_or_else(|| {
                Error::ResourceNotFound("Requested resource not found: Stream not found".into())
            })?;
        let first = self.stream_first(&table)?;
        if first > 0 && pos.after + 1 < first {
            return Err(Error::TrimmedDataAccess(
                "The operation attempted to read past the oldest stream record in a shard".into(),
            ));
        }
        let records = self.stream_records(&table, pos.after, limit)?;
        let after = records.last().map_or(pos.after, |(s, _)| *s);
        let next = Position {
            after,
            expires: now_epoch_seconds() + ITERATOR_LIFETIME_SECONDS,
            ..pos
        };
        Ok(GetRecordsOutput {
            records: records.into_iter().map(|(_, r)| r).collect(),
            next_shard_iterator: Some(encode_iterator(self.iterator_key(), &next)?),
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
