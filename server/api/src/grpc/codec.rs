//! Each action's protobuf request as its DynamoDB input ([`FromProto`]) and its DynamoDB
//! output as the protobuf response ([`IntoProto`]), named by type so the server's gRPC
//! methods are generated from the action table (`crate::actions`) instead of written out.
//! The conversions themselves are `convert`'s.

use keyfall_proto::v1 as pb;
use keyfall_types::error::Result;
use keyfall_types::streams::*;
use keyfall_types::types::*;

use super::convert::{self, *};

/// A protobuf request decoded into the input the engine runs.
pub trait FromProto<P>: Sized {
    fn from_proto(p: P) -> Result<Self>;
}

/// The DynamoDB input type a protobuf request stands for: what the JSON API decodes the
/// same action's body into (keyfall-dax names it by the request type of a table row).
pub trait Decoded {
    type Input;
}

/// An output encoded as the protobuf response.
pub trait IntoProto<P> {
    fn into_proto(self) -> P;
}

macro_rules! from_proto {
    ($($req:ident => $input:ty: |$r:ident| $body:expr;)*) => {$(
        impl FromProto<pb::$req> for $input {
            fn from_proto($r: pb::$req) -> Result<Self> {
                $body
            }
        }
        impl Decoded for pb::$req {
            type Input = $input;
        }
    )*};
}

from_proto! {
    CreateTableRequest => CreateTableInput: |r| Ok(convert::create_table(r));
    UpdateTableRequest => UpdateTableInput: |r| convert::update_table(r);
    DescribeTableRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    DeleteTableRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    DescribeTimeToLiveRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    ListTablesRequest => ListTablesInput: |r| Ok(ListTablesInput {
        exclusive_start_table_name: r.exclusive_start_table_name,
        limit: r.limit.map(i64::from),
    });
    UpdateTimeToLiveRequest => UpdateTimeToLiveInput: |r| Ok(UpdateTimeToLiveInput {
        table_name: (!r.table_name.is_empty()).then_some(r.table_name),
        time_to_live_specification: r.time_to_live_specification.map(|s| {
            TimeToLiveSpecification {
                enabled: s.enabled,
                attribute_name: s.attribute_name,
            }
        }),
    });
    PutItemRequest => PutItemInput: |r| convert::put_item(r);
    GetItemRequest => GetItemInput: |r| convert::get_item(r);
    UpdateItemRequest => UpdateItemInput: |r| convert::update_item(r);
    DeleteItemRequest => DeleteItemInput: |r| convert::delete_item(r);
    QueryRequest => QueryInput: |r| convert::query(r);
    ScanRequest => ScanInput: |r| convert::scan(r);
    BatchGetItemRequest => BatchGetItemInput: |r| batch_get(r);
    BatchWriteItemRequest => BatchWriteItemInput: |r| batch_write(r);
    TransactWriteItemsRequest => TransactWriteItemsInput: |r| transact_write(r);
    TransactGetItemsRequest => TransactGetItemsInput: |r| transact_get(r);
    TagResourceRequest => TagResourceInput: |r| Ok(convert::tag_resource(r));
    UntagResourceRequest => UntagResourceInput: |r| Ok(convert::untag_resource(r));
    ListTagsOfResourceRequest => ListTagsOfResourceInput: |r| Ok(list_tags(r));
}

macro_rules! into_proto {
    ($($output:ty => $resp:ident: |$o:ident| $body:expr;)*) => {$(
        impl IntoProto<pb::$resp> for $output {
            fn into_proto(self) -> pb::$resp {
                let $o = self;
                $body
            }
        }
    )*};
}

/// The shape of the two page answers.
macro_rules! page_response {
    ($resp:ident, $o:expr) => {{
        let p = page_output($o);
        pb::$resp {
            items: p.items,
            count: p.count,
            scanned_count: p.scanned_count,
            last_evaluated_key: p.last_evaluated_key,
            consumed_capacity: p.consumed_capacity,
        }
    }};
}

into_proto! {
    TableDescription => CreateTableResponse: |d| pb::CreateTableResponse {
        table_description: Some(table_description(&d)),
    };
    TableDescription => UpdateTableResponse: |d| pb::UpdateTableResponse {
        table_description: Some(table_description(&d)),
    };
    TableDescription => DeleteTableResponse: |d| pb::DeleteTableResponse {
        table_description: Some(table_description(&d)),
    };
    TableDescription => DescribeTableResponse: |d| pb::DescribeTableResponse {
        table: Some(table_description(&d)),
    };
    ListTablesOutput => ListTablesResponse: |o| pb::ListTablesResponse {
        table_names: o.table_names,
        last_evaluated_table_name: o.last_evaluated_table_name,
    };
    TimeToLiveSpecification => UpdateTimeToLiveResponse: |s| pb::UpdateTimeToLiveResponse {
        time_to_live_specification: Some(pb::TimeToLiveSpecification {
            enabled: s.enabled,
            attribute_name: s.attribute_name,
        }),
    };
    TimeToLiveDescription => DescribeTimeToLiveResponse: |d| pb::DescribeTimeToLiveResponse {
        time_to_live_description: Some(pb::TimeToLiveDescription {
            time_to_live_status: Some(d.time_to_live_status),
            attribute_name: d.attribute_name,
        }),
    };
    WriteItemOutput => PutItemResponse: |o| convert::put_item_response(o);
    WriteItemOutput => UpdateItemResponse: |o| convert::update_item_response(o);
    WriteItemOutput => DeleteItemResponse: |o| convert::delete_item_response(o);
    GetItemOutput => GetItemResponse: |o| convert::get_item_response(o);
    QueryOutput => QueryResponse: |o| page_response!(QueryResponse, o);
    QueryOutput => ScanResponse: |o| page_response!(ScanResponse, o);
    BatchGetItemOutput => BatchGetItemResponse: |o| convert::batch_get_response(o);
    BatchWriteItemOutput => BatchWriteItemResponse: |o| batch_write_output(&o);
    TransactWriteItemsOutput => TransactWriteItemsResponse: |o| transact_write_output(&o);
    TransactGetItemsOutput => TransactGetItemsResponse: |o| transact_get_output(&o);
    () => TagResourceResponse: |_o| pb::TagResourceResponse {};
    () => UntagResourceResponse: |_o| pb::UntagResourceResponse {};
    ListTagsOfResourceOutput => ListTagsOfResourceResponse: |o| tags_output(o);
}

/// An empty protobuf string as an absent member, as the JSON API sees a missing one.
fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

from_proto! {
    ListStreamsRequest => ListStreamsInput: |r| Ok(ListStreamsInput {
        table_name: r.table_name,
        limit: r.limit.map(i64::from),
        exclusive_start_stream_arn: r.exclusive_start_stream_arn,
    });
    DescribeStreamRequest => DescribeStreamInput: |r| Ok(DescribeStreamInput {
        stream_arn: opt(r.stream_arn),
        limit: r.limit.map(i64::from),
        exclusive_start_shard_id: r.exclusive_start_shard_id,
        shard_filter: r.shard_filter.map(|f| ShardFilter {
            kind: f.r#type,
            shard_id: f.shard_id,
        }),
    });
    GetShardIteratorRequest => GetShardIteratorInput: |r| Ok(GetShardIteratorInput {
        stream_arn: opt(r.stream_arn),
        shard_id: opt(r.shard_id),
        shard_iterator_type: opt(r.shard_iterator_type),
        sequence_number: r.sequence_number,
    });
    GetRecordsRequest => GetRecordsInput: |r| Ok(GetRecordsInput {
        shard_iterator: opt(r.shard_iterator),
        limit: r.limit.map(i64::from),
    });
}

into_proto! {
    ListStreamsOutput => ListStreamsResponse: |o| pb::ListStreamsResponse {
        streams: o
            .streams
            .into_iter()
            .map(|s| pb::Stream {
                stream_arn: Some(s.stream_arn),
                table_name: Some(s.table_name),
                stream_label: Some(s.stream_label),
            })
            .collect(),
        last_evaluated_stream_arn: o.last_evaluated_stream_arn,
    };
    StreamDescription => DescribeStreamResponse: |d| pb::DescribeStreamResponse {
        stream_description: Some(pb::StreamDescription {
            stream_arn: Some(d.stream_arn),
            stream_label: Some(d.stream_label),
            stream_status: Some(d.stream_status),
            stream_view_type: Some(d.stream_view_type),
            creation_request_date_time: Some(d.creation_request_date_time),
            table_name: Some(d.table_name),
            key_schema: d
                .key_schema
                .into_iter()
                .map(|k| pb::KeySchemaElement {
                    attribute_name: k.attribute_name,
                    key_type: k.key_type,
                })
                .collect(),
            shards: d
                .shards
                .into_iter()
                .map(|s| pb::Shard {
                    shard_id: Some(s.shard_id),
                    sequence_number_range: Some(pb::SequenceNumberRange {
                        starting_sequence_number: s.sequence_number_range.starting_sequence_number,
                        ending_sequence_number: s.sequence_number_range.ending_sequence_number,
                    }),
                    parent_shard_id: s.parent_shard_id,
                })
                .collect(),
            last_evaluated_shard_id: d.last_evaluated_shard_id,
        }),
    };
    String => GetShardIteratorResponse: |it| pb::GetShardIteratorResponse {
        shard_iterator: Some(it),
    };
    GetRecordsOutput => GetRecordsResponse: |o| pb::GetRecordsResponse {
        records: o.records.iter().map(record_to_proto).collect(),
        next_shard_iterator: o.next_shard_iterator,
    };
}
