//! The one action table: every DynamoDB action, written down once. The action list, the
//! "not built yet" answers, the server's JSON dispatch, its unbuilt gRPC methods and the
//! proxy's pass-through are all generated from [`dynamodb_actions!`], so adding an action
//! is one row here plus the engine method and its conversion.
//!
//! A row: `grpc_method, "ActionName", RequestMessage, ResponseMessage, resource, class,
//! proxy, built, json_answer;`
//! - `resource`: what IAM authorizes it on: `table` (`TableName`), `opttable` (an optional
//!   `TableName`, else the account), `arn` (`ResourceArn`), `backup` (`BackupArn`),
//!   `stream`, `account` (`*`), `statements` (the tables and indexes PartiQL statements
//!   name).
//! - `class`: `read`, `write` (items) or `control` (tables, backups, settings).
//! - `proxy`: `cached` (keyfall-dax serves it from its cache), `forgets` (forwarded, then the
//!   proxy forgets what it knew of the table), `passed` (forwarded as is).
//! - `built`: `built` or `unbuilt` (both APIs answer `UnknownOperationException` naming it).
//! - `json_answer`: how the JSON API wraps the engine's output: `plain` (as is), `empty`
//!   (an empty body, as DynamoDB answers), `{Member}` (`{"Member": output}`), `custom`
//!   (the adapter answers it by hand).

/// Calls `$callback! { rows }` with every row of the table (see the module's doc). The
/// callback must be a `macro_rules!` macro in scope where this is invoked.
#[macro_export]
macro_rules! dynamodb_actions {
    ($callback:ident) => {
        $callback! {
            batch_execute_statement, "BatchExecuteStatement", BatchExecuteStatementRequest, BatchExecuteStatementResponse, statements, write, passed, built, plain;
            batch_get_item, "BatchGetItem", BatchGetItemRequest, BatchGetItemResponse, table, read, cached, built, plain;
            batch_write_item, "BatchWriteItem", BatchWriteItemRequest, BatchWriteItemResponse, table, write, cached, built, plain;
            create_backup, "CreateBackup", CreateBackupRequest, CreateBackupResponse, table, control, passed, built, plain;
            create_global_table, "CreateGlobalTable", CreateGlobalTableRequest, CreateGlobalTableResponse, account, control, passed, unbuilt, plain;
            create_table, "CreateTable", CreateTableRequest, CreateTableResponse, table, control, forgets, built, {TableDescription};
            delete_backup, "DeleteBackup", DeleteBackupRequest, DeleteBackupResponse, backup, control, passed, built, plain;
            delete_item, "DeleteItem", DeleteItemRequest, DeleteItemResponse, table, write, cached, built, plain;
            delete_resource_policy, "DeleteResourcePolicy", DeleteResourcePolicyRequest, DeleteResourcePolicyResponse, arn, control, passed, unbuilt, plain;
            delete_table, "DeleteTable", DeleteTableRequest, DeleteTableResponse, table, control, forgets, built, {TableDescription};
            describe_backup, "DescribeBackup", DescribeBackupRequest, DescribeBackupResponse, backup, control, passed, built, plain;
            describe_continuous_backups, "DescribeContinuousBackups", DescribeContinuousBackupsRequest, DescribeContinuousBackupsResponse, table, control, passed, built, plain;
            describe_contributor_insights, "DescribeContributorInsights", DescribeContributorInsightsRequest, DescribeContributorInsightsResponse, table, control, passed, built, plain;
            describe_endpoints, "DescribeEndpoints", DescribeEndpointsRequest, DescribeEndpointsResponse, account, control, passed, built, custom;
            describe_export, "DescribeExport", DescribeExportRequest, DescribeExportResponse, arn, control, passed, built, plain;
            describe_global_table, "DescribeGlobalTable", DescribeGlobalTableRequest, DescribeGlobalTableResponse, account, control, passed, unbuilt, plain;
            describe_global_table_settings, "DescribeGlobalTableSettings", DescribeGlobalTableSettingsRequest, DescribeGlobalTableSettingsResponse, account, control, passed, unbuilt, plain;
            describe_import, "DescribeImport", DescribeImportRequest, DescribeImportResponse, arn, control, passed, built, plain;
            describe_kinesis_streaming_destination, "DescribeKinesisStreamingDestination", DescribeKinesisStreamingDestinationRequest, DescribeKinesisStreamingDestinationResponse, table, control, passed, built, plain;
            describe_limits, "DescribeLimits", DescribeLimitsRequest, DescribeLimitsResponse, account, control, passed, built, custom;
            describe_table, "DescribeTable", DescribeTableRequest, DescribeTableResponse, table, control, passed, built, {Table};
            describe_table_replica_auto_scaling, "DescribeTableReplicaAutoScaling", DescribeTableReplicaAutoScalingRequest, DescribeTableReplicaAutoScalingResponse, table, control, passed, unbuilt, plain;
            describe_time_to_live, "DescribeTimeToLive", DescribeTimeToLiveRequest, DescribeTimeToLiveResponse, table, control, passed, built, {TimeToLiveDescription};
            disable_kinesis_streaming_destination, "DisableKinesisStreamingDestination", DisableKinesisStreamingDestinationRequest, DisableKinesisStreamingDestinationResponse, table, control, passed, unbuilt, plain;
            enable_kinesis_streaming_destination, "EnableKinesisStreamingDestination", EnableKinesisStreamingDestinationRequest, EnableKinesisStreamingDestinationResponse, table, control, passed, unbuilt, plain;
            execute_statement, "ExecuteStatement", ExecuteStatementRequest, ExecuteStatementResponse, statements, write, passed, built, plain;
            execute_transaction, "ExecuteTransaction", ExecuteTransactionRequest, ExecuteTransactionResponse, statements, write, passed, built, plain;
            export_table_to_point_in_time, "ExportTableToPointInTime", ExportTableToPointInTimeRequest, ExportTableToPointInTimeResponse, arn, control, passed, built, plain;
            get_item, "GetItem", GetItemRequest, GetItemResponse, table, read, cached, built, plain;
            get_resource_policy, "GetResourcePolicy", GetResourcePolicyRequest, GetResourcePolicyResponse, arn, control, passed, unbuilt, plain;
            import_table, "ImportTable", ImportTableRequest, ImportTableResponse, table, control, passed, built, plain;
            list_backups, "ListBackups", ListBackupsRequest, ListBackupsResponse, account, control, passed, built, plain;
            list_contributor_insights, "ListContributorInsights", ListContributorInsightsRequest, ListContributorInsightsResponse, opttable, control, passed, built, plain;
            list_exports, "ListExports", ListExportsRequest, ListExportsResponse, account, control, passed, built, plain;
            list_global_tables, "ListGlobalTables", ListGlobalTablesRequest, ListGlobalTablesResponse, account, control, passed, unbuilt, plain;
            list_imports, "ListImports", ListImportsRequest, ListImportsResponse, account, control, passed, built, plain;
            list_tables, "ListTables", ListTablesRequest, ListTablesResponse, account, control, passed, built, plain;
            list_tags_of_resource, "ListTagsOfResource", ListTagsOfResourceRequest, ListTagsOfResourceResponse, arn, control, passed, built, plain;
            put_item, "PutItem", PutItemRequest, PutItemResponse, table, write, cached, built, plain;
            put_resource_policy, "PutResourcePolicy", PutResourcePolicyRequest, PutResourcePolicyResponse, arn, control, passed, unbuilt, plain;
            query, "Query", QueryRequest, QueryResponse, table, read, cached, built, plain;
            restore_table_from_backup, "RestoreTableFromBackup", RestoreTableFromBackupRequest, RestoreTableFromBackupResponse, backup, control, passed, built, plain;
            restore_table_to_point_in_time, "RestoreTableToPointInTime", RestoreTableToPointInTimeRequest, RestoreTableToPointInTimeResponse, table, control, passed, built, plain;
            scan, "Scan", ScanRequest, ScanResponse, table, read, cached, built, plain;
            tag_resource, "TagResource", TagResourceRequest, TagResourceResponse, arn, control, passed, built, empty;
            transact_get_items, "TransactGetItems", TransactGetItemsRequest, TransactGetItemsResponse, table, read, cached, built, plain;
            transact_write_items, "TransactWriteItems", TransactWriteItemsRequest, TransactWriteItemsResponse, table, write, cached, built, plain;
            untag_resource, "UntagResource", UntagResourceRequest, UntagResourceResponse, arn, control, passed, built, empty;
            update_continuous_backups, "UpdateContinuousBackups", UpdateContinuousBackupsRequest, UpdateContinuousBackupsResponse, table, control, passed, built, plain;
            update_contributor_insights, "UpdateContributorInsights", UpdateContributorInsightsRequest, UpdateContributorInsightsResponse, table, control, passed, built, plain;
            update_global_table, "UpdateGlobalTable", UpdateGlobalTableRequest, UpdateGlobalTableResponse, account, control, passed, unbuilt, plain;
            update_global_table_settings, "UpdateGlobalTableSettings", UpdateGlobalTableSettingsRequest, UpdateGlobalTableSettingsResponse, account, control, passed, unbuilt, plain;
            update_item, "UpdateItem", UpdateItemRequest, UpdateItemResponse, table, write, cached, built, plain;
            update_kinesis_streaming_destination, "UpdateKinesisStreamingDestination", UpdateKinesisStreamingDestinationRequest, UpdateKinesisStreamingDestinationResponse, table, control, passed, unbuilt, plain;
            update_table, "UpdateTable", UpdateTableRequest, UpdateTableResponse, table, control, forgets, built, {TableDescription};
            update_table_replica_auto_scaling, "UpdateTableReplicaAutoScaling", UpdateTableReplicaAutoScalingRequest, UpdateTableReplicaAutoScalingResponse, table, control, passed, unbuilt, plain;
            update_time_to_live, "UpdateTimeToLive", UpdateTimeToLiveRequest, UpdateTimeToLiveResponse, table, control, forgets, built, {TimeToLiveSpecification};
        }
    };
}

/// The DynamoDB Streams actions (their own service and JSON target prefix), in the same
/// row shape. In this order for good: the fuzz targets' stored seeds select an action by
/// its place in DynamoDB's list followed by this one.
#[macro_export]
macro_rules! streams_actions {
    ($callback:ident) => {
        $callback! {
            list_streams, "ListStreams", ListStreamsRequest, ListStreamsResponse, account, read, passed, built, plain;
            describe_stream, "DescribeStream", DescribeStreamRequest, DescribeStreamResponse, stream, read, passed, built, {StreamDescription};
            get_shard_iterator, "GetShardIterator", GetShardIteratorRequest, GetShardIteratorResponse, stream, read, passed, built, {ShardIterator};
            get_records, "GetRecords", GetRecordsRequest, GetRecordsResponse, stream, read, passed, built, plain;
        }
    };
}

/// What IAM authorizes an action on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The table the request names.
    Table,
    /// The table the request may name, else the account (`*`).
    OptionalTable,
    /// The resource ARN the request names.
    Arn,
    /// The account: `*`.
    Account,
    /// The stream the request names (an ARN or a shard iterator's stream).
    Stream,
    /// The backup the request names by ARN (`table/<name>/backup/<id>`).
    Backup,
    /// The tables and indexes its PartiQL statements name, each statement under its own
    /// action (`dynamodb:PartiQLSelect`, ...).
    Statements,
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Reads items.
    Read,
    /// Writes items.
    Write,
    /// Tables, indexes, backups, settings.
    Control,
}

/// What keyfall-dax does with an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyRole {
    /// Served from its cache (reads) or written through it (writes).
    Cached,
    /// Forwarded; then what the proxy knew of the table (schema, TTL, indexes) is
    /// forgotten, since the action may change it.
    Forgets,
    /// Forwarded as it is.
    Passed,
}

/// One row of the action table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// DynamoDB's name, `PutItem`; IAM's action is `dynamodb:` + this.
    pub name: &'static str,
    /// The gRPC method, `put_item` (`/keyfall.v1.DynamoDB/PutItem` on the wire).
    pub grpc_method: &'static str,
    pub resource: Resource,
    pub class: Class,
    pub proxy: ProxyRole,
    /// Both APIs run it; when false they answer `UnknownOperationException` naming it.
    pub built: bool,
}

#[doc(hidden)]
#[macro_export]
macro_rules! __action_enum {
    (resource table) => {
        $crate::actions::Resource::Table
    };
    (resource opttable) => {
        $crate::actions::Resource::OptionalTable
    };
    (resource arn) => {
        $crate::actions::Resource::Arn
    };
    (resource account) => {
        $crate::actions::Resource::Account
    };
    (resource backup) => {
        $crate::actions::Resource::Backup
    };
    (resource stream) => {
        $crate::actions::Resource::Stream
    };
    (resource statements) => {
        $crate::actions::Resource::Statements
    };
    (class read) => {
        $crate::actions::Class::Read
    };
    (class write) => {
        $crate::actions::Class::Write
    };
    (class control) => {
        $crate::actions::Class::Control
    };
    (proxy cached) => {
        $crate::actions::ProxyRole::Cached
    };
    (proxy forgets) => {
        $crate::actions::ProxyRole::Forgets
    };
    (proxy passed) => {
        $crate::actions::ProxyRole::Passed
    };
    (built built) => {
        true
    };
    (built unbuilt) => {
        false
    };
}

macro_rules! action_rows {
    ($($method:ident, $name:literal, $req:ident, $resp:ident, $resource:ident, $class:ident, $proxy:ident, $built:ident, $json:tt;)*) => {
        &[$(Action {
            name: $name,
            grpc_method: stringify!($method),
            resource: __action_enum!(resource $resource),
            class: __action_enum!(class $class),
            proxy: __action_enum!(proxy $proxy),
            built: __action_enum!(built $built),
        },)*]
    };
}

/// Every DynamoDB action, built or not, sorted by name (the fuzz seeds rely on the order).
pub const DYNAMODB: &[Action] = dynamodb_actions!(action_rows);
/// Every DynamoDB Streams action.
pub const STREAMS: &[Action] = streams_actions!(action_rows);

/// The DynamoDB action called `name`, if there is one.
pub fn dynamodb_action(name: &str) -> Option<&'static Action> {
    DYNAMODB.iter().find(|a| a.name == name)
}

/// The name a request's metrics carry: the action's own (DynamoDB or DynamoDB Streams), or
/// `unknown`, so a caller cannot mint label values.
pub fn metric_name(name: &str) -> &'static str {
    DYNAMODB
        .iter()
        .chain(STREAMS)
        .find(|a| a.name == name)
        .map_or("unknown", |a| a.name)
}

/// The canonical `&'static` name of a DynamoDB action, if `name` is one.
pub fn known_action(name: &str) -> Option<&'static str> {
    dynamodb_action(name).map(|a| a.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_names_its_grpc_methods() {
        for pair in DYNAMODB.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for rows in [DYNAMODB, STREAMS] {
            for a in rows {
                let camel: String = a
                    .grpc_method
                    .split('_')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect();
                assert_eq!(camel, a.name);
            }
        }
        assert_eq!(DYNAMODB.len(), 57);
        assert_eq!(known_action("PutItem"), Some("PutItem"));
        assert_eq!(known_action("putitem"), None);
        assert!(!dynamodb_action("CreateGlobalTable").is_some_and(|a| a.built));
    }
}
