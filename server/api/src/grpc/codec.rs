//! Each action's protobuf request as its DynamoDB input ([`FromProto`]) and its DynamoDB
//! output as the protobuf response ([`IntoProto`]), named by type so the server's gRPC
//! methods are generated from the action table (`crate::actions`) instead of written out.
//! The conversions themselves are `convert`'s.

use keyfall_proto::v1 as pb;
use keyfall_types::backup::*;
use keyfall_types::error::Result;
use keyfall_types::streams::*;
use keyfall_types::types::*;

use super::convert::{self, *};
use super::member::Member;

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
    CreateTableRequest => CreateTableInput: |r| Member::from_proto(r);
    UpdateTableRequest => UpdateTableInput: |r| convert::update_table(r);
    DescribeTableRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    DeleteTableRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    DescribeTimeToLiveRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    DescribeKinesisStreamingDestinationRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    UpdateContributorInsightsRequest => UpdateContributorInsightsInput: |r| Member::from_proto(r);
    DescribeContributorInsightsRequest => DescribeContributorInsightsInput:
        |r| Member::from_proto(r);
    ListContributorInsightsRequest => ListContributorInsightsInput: |r| Member::from_proto(r);
    ListTablesRequest => ListTablesInput: |r| Member::from_proto(r);
    UpdateTimeToLiveRequest => UpdateTimeToLiveInput: |r| Member::from_proto(r);
    PutItemRequest => PutItemInput: |r| convert::put_item(r);
    GetItemRequest => GetItemInput: |r| convert::get_item(r);
    UpdateItemRequest => UpdateItemInput: |r| convert::update_item(r);
    DeleteItemRequest => DeleteItemInput: |r| convert::delete_item(r);
    QueryRequest => QueryInput: |r| convert::query(r);
    ScanRequest => ScanInput: |r| convert::scan(r);
    BatchGetItemRequest => BatchGetItemInput: |r| Member::from_proto(r);
    BatchWriteItemRequest => BatchWriteItemInput: |r| Member::from_proto(r);
    TransactWriteItemsRequest => TransactWriteItemsInput: |r| Member::from_proto(r);
    TransactGetItemsRequest => TransactGetItemsInput: |r| Member::from_proto(r);
    ExecuteStatementRequest => ExecuteStatementInput: |r| Member::from_proto(r);
    BatchExecuteStatementRequest => BatchExecuteStatementInput: |r| Member::from_proto(r);
    ExecuteTransactionRequest => ExecuteTransactionInput: |r| Member::from_proto(r);
    TagResourceRequest => TagResourceInput: |r| Member::from_proto(r);
    CreateBackupRequest => CreateBackupInput: |r| Member::from_proto(r);
    DescribeBackupRequest => BackupArnInput: |r| Member::from_proto(r);
    DeleteBackupRequest => BackupArnInput: |r| Member::from_proto(r);
    ListBackupsRequest => ListBackupsInput: |r| Member::from_proto(r);
    RestoreTableFromBackupRequest => RestoreTableFromBackupInput: |r| Member::from_proto(r);
    RestoreTableToPointInTimeRequest => RestoreTableToPointInTimeInput:
        |r| Member::from_proto(r);
    UpdateContinuousBackupsRequest => UpdateContinuousBackupsInput: |r| Member::from_proto(r);
    DescribeContinuousBackupsRequest => TableNameInput: |r| Ok(table_name(r.table_name));
    DescribeLimitsRequest => (): |_r| Ok(());
    ExportTableToPointInTimeRequest => ExportTableToPointInTimeInput: |r| {
        if r.filter_specification.is_some() {
            return Err(keyfall_types::error::Error::validation(
                "FilterSpecification is not supported: exports hold whole tables",
            ));
        }
        Member::from_proto(r)
    };
    DescribeExportRequest => ExportArnInput: |r| Member::from_proto(r);
    ListExportsRequest => ListExportsInput: |r| Member::from_proto(r);
    ImportTableRequest => ImportTableInput: |r| Member::from_proto(r);
    DescribeImportRequest => ImportArnInput: |r| Member::from_proto(r);
    ListImportsRequest => ListImportsInput: |r| Member::from_proto(r);
    DescribeEndpointsRequest => (): |_r| Ok(());
    UntagResourceRequest => UntagResourceInput: |r| Member::from_proto(r);
    ListTagsOfResourceRequest => ListTagsOfResourceInput: |r| Member::from_proto(r);
}

/// The DynamoDB output a protobuf response stands for: what keyfall-dax reads the answer
/// of a row it serves back into, to encode it as the server's JSON API would.
pub trait Answered {
    type Output;
}

macro_rules! into_proto {
    ($($output:ty => $resp:ident: |$o:ident| $body:expr;)*) => {$(
        impl IntoProto<pb::$resp> for $output {
            fn into_proto(self) -> pb::$resp {
                let $o = self;
                $body
            }
        }
        impl Answered for pb::$resp {
            type Output = $output;
        }
    )*};
}

into_proto! {
    TableDescription => CreateTableResponse: |d| pb::CreateTableResponse {
        table_description: Some(Member::into_proto(d)),
    };
    TableDescription => UpdateTableResponse: |d| pb::UpdateTableResponse {
        table_description: Some(Member::into_proto(d)),
    };
    TableDescription => DeleteTableResponse: |d| pb::DeleteTableResponse {
        table_description: Some(Member::into_proto(d)),
    };
    TableDescription => DescribeTableResponse: |d| pb::DescribeTableResponse {
        table: Some(Member::into_proto(d)),
    };
    ListTablesOutput => ListTablesResponse: |o| Member::into_proto(o);
    TimeToLiveSpecification => UpdateTimeToLiveResponse: |s| pb::UpdateTimeToLiveResponse {
        time_to_live_specification: Some(Member::into_proto(s)),
    };
    TimeToLiveDescription => DescribeTimeToLiveResponse: |d| pb::DescribeTimeToLiveResponse {
        time_to_live_description: Some(Member::into_proto(d)),
    };
    DescribeKinesisStreamingDestinationOutput => DescribeKinesisStreamingDestinationResponse:
        |o| Member::into_proto(o);
    UpdateContributorInsightsOutput => UpdateContributorInsightsResponse: |o| Member::into_proto(o);
    DescribeContributorInsightsOutput => DescribeContributorInsightsResponse:
        |o| Member::into_proto(o);
    ListContributorInsightsOutput => ListContributorInsightsResponse: |o| Member::into_proto(o);
    WriteItemOutput => PutItemResponse: |o| convert::put_item_response(o);
    WriteItemOutput => UpdateItemResponse: |o| convert::update_item_response(o);
    WriteItemOutput => DeleteItemResponse: |o| convert::delete_item_response(o);
    GetItemOutput => GetItemResponse: |o| convert::get_item_response(o);
    QueryOutput => QueryResponse: |o| Member::into_proto(o);
    QueryOutput => ScanResponse: |o| Member::into_proto(o);
    BatchGetItemOutput => BatchGetItemResponse: |o| Member::into_proto(o);
    BatchWriteItemOutput => BatchWriteItemResponse: |o| Member::into_proto(o);
    TransactWriteItemsOutput => TransactWriteItemsResponse: |o| Member::into_proto(o);
    TransactGetItemsOutput => TransactGetItemsResponse: |o| Member::into_proto(o);
    ExecuteStatementOutput => ExecuteStatementResponse: |o| Member::into_proto(o);
    BatchExecuteStatementOutput => BatchExecuteStatementResponse: |o| Member::into_proto(o);
    ExecuteTransactionOutput => ExecuteTransactionResponse: |o| Member::into_proto(o);
    () => TagResourceResponse: |_o| pb::TagResourceResponse {};
    CreateBackupOutput => CreateBackupResponse: |o| Member::into_proto(o);
    BackupDescriptionOutput => DescribeBackupResponse: |o| Member::into_proto(o);
    BackupDescriptionOutput => DeleteBackupResponse: |o| Member::into_proto(o);
    ListBackupsOutput => ListBackupsResponse: |o| Member::into_proto(o);
    RestoreOutput => RestoreTableFromBackupResponse: |o| Member::into_proto(o);
    RestoreOutput => RestoreTableToPointInTimeResponse: |o| Member::into_proto(o);
    ContinuousBackupsOutput => UpdateContinuousBackupsResponse: |o| Member::into_proto(o);
    ContinuousBackupsOutput => DescribeContinuousBackupsResponse: |o| Member::into_proto(o);
    ExportDescriptionOutput => ExportTableToPointInTimeResponse: |o| Member::into_proto(o);
    ExportDescriptionOutput => DescribeExportResponse: |o| Member::into_proto(o);
    ListExportsOutput => ListExportsResponse: |o| Member::into_proto(o);
    ImportDescriptionOutput => ImportTableResponse: |o| Member::into_proto(o);
    ImportDescriptionOutput => DescribeImportResponse: |o| Member::into_proto(o);
    ListImportsOutput => ListImportsResponse: |o| Member::into_proto(o);
    () => UntagResourceResponse: |_o| pb::UntagResourceResponse {};
    ListTagsOfResourceOutput => ListTagsOfResourceResponse: |o| Member::into_proto(o);
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
