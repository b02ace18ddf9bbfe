//! Protobuf ⇄ engine conversions: the only place that knows both shapes.
//!
//! proto3 cannot tell an empty string, map or list from an absent one; an empty required
//! string or an empty map becomes `None`, so the engine answers exactly as it does when the
//! JSON member is missing.
//!
//! Messages whose fields have one name and one meaning on both sides are converted both
//! ways from one field list ([`crate::members!`], `member.rs`); the rest are written out.

use std::collections::HashMap;

use bytes::Bytes;
use keyfall_proto::v1 as pb;
use pb::attribute_value::Value;

use keyfall_types::error::{Error, Result};

use super::member::Member;
use keyfall_types::backup as bk;
use keyfall_types::model::{AttributeValue, Item, Number};
use keyfall_types::types::*;

// ---------------------------------------------------------------- attribute values

pub fn value_from_proto(v: pb::AttributeValue) -> Result<AttributeValue> {
    let number = |s: &str| Number::parse(s).map_err(Error::from);
    Ok(match v.value {
        None => {
            return Err(Error::validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ))
        }
        Some(Value::S(s)) => AttributeValue::S(s),
        Some(Value::N(n)) => AttributeValue::N(number(&n)?),
        Some(Value::B(b)) => AttributeValue::B(Bytes::from(b)),
        Some(Value::Ss(s)) => AttributeValue::Ss(s.values),
        Some(Value::Ns(s)) => AttributeValue::Ns(s.values.iter().map(|n| number(n)).collect::<Result<_>>()?),
        Some(Value::Bs(s)) => AttributeValue::Bs(s.values.into_iter().map(Bytes::from).collect()),
        Some(Value::M(m)) => AttributeValue::M(item_from_proto(m.values)?),
        Some(Value::L(l)) => AttributeValue::L(l.values.into_iter().map(value_from_proto).collect::<Result<_>>()?),
        Some(Value::Null(true)) => AttributeValue::Null,
        Some(Value::Null(false)) => {
            return Err(Error::validation(
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ))
        }
        Some(Value::Bool(b)) => AttributeValue::Bool(b),
    })
}

pub fn value_to_proto(v: &AttributeValue) -> pb::AttributeValue {
    let value = match v {
        AttributeValue::S(s) => Value::S(s.clone()),
        AttributeValue::N(n) => Value::N(n.to_string()),
        AttributeValue::B(b) => Value::B(b.to_vec()),
        AttributeValue::Ss(s) => Value::Ss(pb::StringSet { values: s.clone() }),
        AttributeValue::Ns(s) => Value::Ns(pb::NumberSet {
            values: s.iter().map(Number::to_string).collect(),
        }),
        AttributeValue::Bs(s) => Value::Bs(pb::BinarySet {
            values: s.iter().map(|b| b.to_vec()).collect(),
        }),
        AttributeValue::M(m) => Value::M(pb::MapValue {
            values: item_to_proto(m),
        }),
        AttributeValue::L(l) => Value::L(pb::ListValue {
            values: l.iter().map(value_to_proto).collect(),
        }),
        AttributeValue::Null => Value::Null(true),
        AttributeValue::Bool(b) => Value::Bool(*b),
    };
    pb::AttributeValue { value: Some(value) }
}

pub fn item_from_proto(m: HashMap<String, pb::AttributeValue>) -> Result<Item> {
    m.into_iter()
        .map(|(k, v)| Ok((k, value_from_proto(v)?)))
        .collect()
}

pub fn item_to_proto(item: &Item) -> HashMap<String, pb::AttributeValue> {
    item.iter()
        .map(|(k, v)| (k.clone(), value_to_proto(v)))
        .collect()
}

/// As [`value_to_proto`], moving strings instead of copying them: answers (GetItem, Query
/// and Scan pages) are converted once and dropped, and copying their strings was a tenth of
/// a Query's time.
pub fn value_into_proto(v: AttributeValue) -> pb::AttributeValue {
    let value = match v {
        AttributeValue::S(s) => Value::S(s),
        AttributeValue::Ss(s) => Value::Ss(pb::StringSet { values: s }),
        AttributeValue::M(m) => Value::M(pb::MapValue {
            values: item_into_proto(m),
        }),
        AttributeValue::L(l) => Value::L(pb::ListValue {
            values: l.into_iter().map(value_into_proto).collect(),
        }),
        other => return value_to_proto(&other),
    };
    pb::AttributeValue { value: Some(value) }
}

pub fn item_into_proto(item: Item) -> HashMap<String, pb::AttributeValue> {
    item.into_iter()
        .map(|(k, v)| (k, value_into_proto(v)))
        .collect()
}

fn opt_string(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---------------------------------------------------------------- requests

pub fn update_table(r: pb::UpdateTableRequest) -> Result<UpdateTableInput> {
    if !r.replica_updates.is_empty() {
        return Err(Error::Unimplemented("UpdateTable with ReplicaUpdates"));
    }
    Member::from_proto(r)
}

pub fn table_name(name: String) -> TableNameInput {
    TableNameInput {
        table_name: opt_string(name),
    }
}

crate::members! {
    pb::KeySchemaElement => KeySchemaElement { attribute_name, key_type }
    pb::AttributeDefinition => AttributeDefinition { attribute_name, attribute_type }
    pb::ProvisionedThroughput => ProvisionedThroughput {
        read_capacity_units: present, write_capacity_units: present
    }
    pb::OnDemandThroughput => OnDemandThroughput {
        max_read_request_units, max_write_request_units
    }
    pb::Projection => Projection { projection_type, non_key_attributes }
    pb::LocalSecondaryIndex => LocalSecondaryIndex {
        index_name, key_schema, projection: required
    }
    pb::GlobalSecondaryIndex => GlobalSecondaryIndex {
        index_name, key_schema, projection: required, provisioned_throughput,
        on_demand_throughput,
    }
    pb::CreateGlobalSecondaryIndexAction => GlobalSecondaryIndex {
        index_name, key_schema, projection: required, provisioned_throughput,
        on_demand_throughput,
    }
    pb::UpdateGlobalSecondaryIndexAction => UpdateGlobalSecondaryIndexAction {
        index_name, provisioned_throughput, on_demand_throughput
    }
    pb::DeleteGlobalSecondaryIndexAction => DeleteGlobalSecondaryIndexAction { index_name }
    pb::GlobalSecondaryIndexUpdate => GlobalSecondaryIndexUpdate { create, update, delete }
    pb::StreamSpecification => StreamSpecification { stream_enabled, stream_view_type }
    pb::SseSpecification => SseSpecification { enabled, sse_type, kms_master_key_id }
    // A tag's value may be empty, and is still a value.
    pb::Tag => Tag { key, value: present }
    @ create_table / create_table_to_proto: pb::CreateTableRequest => CreateTableInput {
        table_name, key_schema, attribute_definitions, billing_mode, provisioned_throughput,
        local_secondary_indexes, global_secondary_indexes, stream_specification,
        sse_specification, tags, table_class, deletion_protection_enabled,
        on_demand_throughput,
    }
    pb::UpdateTableRequest => UpdateTableInput {
        table_name, attribute_definitions, billing_mode, provisioned_throughput,
        global_secondary_index_updates, stream_specification, sse_specification, table_class,
        deletion_protection_enabled, on_demand_throughput,
    }
    @ tag_resource / tag_resource_to_proto: pb::TagResourceRequest => TagResourceInput {
        resource_arn, tags: present
    }
    @ untag_resource / untag_resource_to_proto: pb::UntagResourceRequest => UntagResourceInput {
        resource_arn, tag_keys: present
    }
    pb::ProvisionedThroughputDescription => ProvisionedThroughputDescription {
        last_increase_date_time, last_decrease_date_time, number_of_decreases_today: required,
        read_capacity_units: required, write_capacity_units: required,
    }
    pb::BillingModeSummary => BillingModeSummary {
        billing_mode: required, last_update_to_pay_per_request_date_time
    }
    pb::LocalSecondaryIndexDescription => IndexDescription {
        index_name: required, key_schema, projection: required, index_size_bytes: required,
        item_count: required, index_arn: required,
    }
    pb::GlobalSecondaryIndexDescription => IndexDescription {
        index_name: required, key_schema, projection: required, index_status, backfilling,
        provisioned_throughput, on_demand_throughput, index_size_bytes: required,
        item_count: required, index_arn: required,
    }
    pb::SseDescription => SseDescription { status: required, sse_type: required, kms_master_key_arn }
    pb::TableClassSummary => TableClassSummary { table_class: required }
    pb::TableDescription => TableDescription {
        attribute_definitions, table_name: required, key_schema, table_status: required,
        creation_date_time: required, provisioned_throughput: required,
        table_size_bytes: required, item_count: required, table_arn: required,
        table_id: required, billing_mode_summary, local_secondary_indexes,
        global_secondary_indexes, stream_specification, latest_stream_label, latest_stream_arn,
        sse_description, table_class_summary, deletion_protection_enabled: required,
        on_demand_throughput, restore_summary,
    }
    pb::RestoreSummary => keyfall_types::backup::RestoreSummary {
        source_backup_arn, source_table_arn, restore_date_time, restore_in_progress
    }
    pb::KinesisDataStreamDestination => KinesisDataStreamDestination {
        stream_arn: required, destination_status: required, destination_status_description,
        approximate_creation_date_time_precision,
    }
    pb::DescribeKinesisStreamingDestinationResponse => DescribeKinesisStreamingDestinationOutput {
        table_name: required, kinesis_data_stream_destinations
    }
    pb::UpdateContributorInsightsRequest => UpdateContributorInsightsInput {
        table_name, index_name, contributor_insights_action, contributor_insights_mode
    }
    pb::UpdateContributorInsightsResponse => UpdateContributorInsightsOutput {
        table_name: required, index_name, contributor_insights_status: required,
        contributor_insights_mode
    }
    pb::DescribeContributorInsightsRequest => DescribeContributorInsightsInput {
        table_name, index_name
    }
    pb::Contributor => Contributor { rule, partition_key, sort_key, count }
    pb::DescribeContributorInsightsResponse => DescribeContributorInsightsOutput {
        table_name: required, index_name, contributor_insights_rule_list,
        contributor_insights_status: required, last_update_date_time,
        contributor_insights_mode, top_contributors
    }
    pb::ListContributorInsightsRequest => ListContributorInsightsInput {
        table_name, next_token, max_results
    }
    pb::ContributorInsightsSummary => ContributorInsightsSummary {
        table_name: required, index_name, contributor_insights_status: required,
        contributor_insights_mode: required
    }
    pb::ListContributorInsightsResponse => ListContributorInsightsOutput {
        contributor_insights_summaries, next_token
    }
    pb::CreateBackupRequest => bk::CreateBackupInput { table_name, backup_name }
    pb::DescribeBackupRequest => bk::BackupArnInput { backup_arn }
    pb::DeleteBackupRequest => bk::BackupArnInput { backup_arn }
    pb::ListBackupsRequest => bk::ListBackupsInput {
        table_name, limit, time_range_lower_bound, time_range_upper_bound,
        exclusive_start_backup_arn, backup_type
    }
    pb::RestoreTableFromBackupRequest => bk::RestoreTableFromBackupInput {
        target_table_name, backup_arn, billing_mode_override, global_secondary_index_override,
        local_secondary_index_override, provisioned_throughput_override,
        on_demand_throughput_override, sse_specification_override
    }
    pb::RestoreTableToPointInTimeRequest => bk::RestoreTableToPointInTimeInput {
        source_table_arn, source_table_name, target_table_name, use_latest_restorable_time,
        restore_date_time, billing_mode_override, global_secondary_index_override,
        local_secondary_index_override, provisioned_throughput_override,
        on_demand_throughput_override, sse_specification_override
    }
    pb::UpdateContinuousBackupsRequest => bk::UpdateContinuousBackupsInput {
        table_name, point_in_time_recovery_specification
    }
    pb::PointInTimeRecoverySpecification => bk::PointInTimeRecoverySpecification {
        point_in_time_recovery_enabled: present, recovery_period_in_days
    }
    pb::BackupDetails => bk::BackupDetails {
        backup_arn, backup_name, backup_size_bytes, backup_status, backup_type,
        backup_creation_date_time, backup_expiry_date_time
    }
    pb::CreateBackupResponse => bk::CreateBackupOutput { backup_details: required }
    pb::DescribeBackupResponse => bk::BackupDescriptionOutput { backup_description: required }
    pb::DeleteBackupResponse => bk::BackupDescriptionOutput { backup_description: required }
    pb::BackupDescription => bk::BackupDescription {
        backup_details, source_table_details, source_table_feature_details
    }
    pb::SourceTableDetails => bk::SourceTableDetails {
        table_name, table_id, table_arn, table_size_bytes, key_schema, table_creation_date_time,
        provisioned_throughput: required, on_demand_throughput, item_count, billing_mode
    }
    pb::SourceTableFeatureDetails => bk::SourceTableFeatureDetails {
        local_secondary_indexes, global_secondary_indexes, stream_description,
        time_to_live_description, sse_description
    }
    pb::LocalSecondaryIndexInfo => bk::LocalSecondaryIndexInfo { index_name, key_schema, projection }
    pb::GlobalSecondaryIndexInfo => bk::GlobalSecondaryIndexInfo {
        index_name, key_schema, projection, provisioned_throughput, on_demand_throughput
    }
    pb::ListBackupsResponse => bk::ListBackupsOutput { backup_summaries, last_evaluated_backup_arn }
    pb::BackupSummary => bk::BackupSummary {
        table_name, table_id, table_arn, backup_arn, backup_name, backup_creation_date_time,
        backup_expiry_date_time, backup_status, backup_type, backup_size_bytes
    }
    pb::DescribeContinuousBackupsResponse => bk::ContinuousBackupsOutput {
        continuous_backups_description: required
    }
    pb::UpdateContinuousBackupsResponse => bk::ContinuousBackupsOutput {
        continuous_backups_description: required
    }
    pb::ContinuousBackupsDescription => bk::ContinuousBackupsDescription {
        continuous_backups_status, point_in_time_recovery_description
    }
    pb::PointInTimeRecoveryDescription => bk::PointInTimeRecoveryDescription {
        point_in_time_recovery_status, recovery_period_in_days, earliest_restorable_date_time,
        latest_restorable_date_time
    }
    pb::RestoreTableFromBackupResponse => bk::RestoreOutput { table_description: required }
    pb::RestoreTableToPointInTimeResponse => bk::RestoreOutput { table_description: required }
    pb::ExportTableToPointInTimeRequest => bk::ExportTableToPointInTimeInput {
        table_arn, export_time, client_token, s3_bucket, s3_bucket_owner, s3_prefix,
        s3_sse_algorithm, s3_sse_kms_key_id, export_format, export_type,
        incremental_export_specification
    }
    pb::IncrementalExportSpecification => bk::IncrementalExportSpecification {
        export_from_time, export_to_time, export_view_type
    }
    pb::DescribeExportRequest => bk::ExportArnInput { export_arn }
    pb::ListExportsRequest => bk::ListExportsInput { table_arn, max_results, next_token }
    pb::ExportDescription => bk::ExportDescription {
        export_arn, export_status, start_time, end_time, export_manifest, table_arn, table_id,
        export_time, client_token, s3_bucket, s3_bucket_owner, s3_prefix, s3_sse_algorithm,
        s3_sse_kms_key_id, failure_code, failure_message, export_format, billed_size_bytes,
        item_count, export_type, incremental_export_specification
    }
    pb::ExportTableToPointInTimeResponse => bk::ExportDescriptionOutput {
        export_description: required
    }
    pb::DescribeExportResponse => bk::ExportDescriptionOutput { export_description: required }
    pb::ExportSummary => bk::ExportSummary { export_arn, export_status, export_type }
    pb::ListExportsResponse => bk::ListExportsOutput { export_summaries, next_token }
    pb::S3BucketSource => bk::S3BucketSource { s3_bucket_owner, s3_bucket, s3_key_prefix }
    pb::CsvOptions => bk::CsvOptions { delimiter, header_list }
    pb::InputFormatOptions => bk::InputFormatOptions { csv }
    pb::TableCreationParameters => bk::TableCreationParameters {
        table_name, attribute_definitions, key_schema, billing_mode, provisioned_throughput,
        on_demand_throughput, sse_specification, global_secondary_indexes
    }
    pb::ImportTableRequest => bk::ImportTableInput {
        client_token, s3_bucket_source, input_format, input_format_options,
        input_compression_type, table_creation_parameters
    }
    pb::DescribeImportRequest => bk::ImportArnInput { import_arn }
    pb::ListImportsRequest => bk::ListImportsInput { table_arn, page_size, next_token }
    pb::ImportTableDescription => bk::ImportTableDescription {
        import_arn, import_status, table_arn, table_id, client_token, s3_bucket_source,
        error_count, cloud_watch_log_group_arn, input_format, input_format_options,
        input_compression_type, table_creation_parameters, start_time, end_time,
        processed_size_bytes, processed_item_count, imported_item_count, failure_code,
        failure_message
    }
    pb::ImportTableResponse => bk::ImportDescriptionOutput { import_table_description: required }
    pb::DescribeImportResponse => bk::ImportDescriptionOutput {
        import_table_description: required
    }
    pb::ImportSummary => bk::ImportSummary {
        import_arn, import_status, table_arn, s3_bucket_source, cloud_watch_log_group_arn,
        input_format, start_time, end_time
    }
    pb::ListImportsResponse => bk::ListImportsOutput { import_summary_list, next_token }
    pb::ListTagsOfResourceRequest => ListTagsOfResourceInput { resource_arn, next_token }
    pb::ListTagsOfResourceResponse => ListTagsOfResourceOutput { tags, next_token }
    pb::ListTablesRequest => ListTablesInput { exclusive_start_table_name, limit }
    pb::ListTablesResponse => ListTablesOutput { table_names, last_evaluated_table_name }
    pb::TimeToLiveSpecification => TimeToLiveSpecification { enabled, attribute_name }
    pb::UpdateTimeToLiveRequest => UpdateTimeToLiveInput {
        table_name, time_to_live_specification
    }
    pb::TimeToLiveDescription => TimeToLiveDescription {
        time_to_live_status: required, attribute_name
    }
    pb::ExpectedAttributeValue => ExpectedAttributeValue {
        value, exists, comparison_operator, attribute_value_list
    }
    pb::AttributeValueUpdate => AttributeValueUpdate { value, action }
    pb::Condition => Condition { attribute_value_list, comparison_operator }
    @ get_item_output / get_item_response: pb::GetItemResponse => GetItemOutput {
        item, consumed_capacity
    }
    @ put_item_output / put_item_response: pb::PutItemResponse => WriteItemOutput {
        attributes, consumed_capacity, item_collection_metrics
    }
    @ update_item_output / update_item_response: pb::UpdateItemResponse => WriteItemOutput {
        attributes, consumed_capacity, item_collection_metrics
    }
    @ delete_item_output / delete_item_response: pb::DeleteItemResponse => WriteItemOutput {
        attributes, consumed_capacity, item_collection_metrics
    }
    @ batch_get_output / batch_get_response: pb::BatchGetItemResponse => BatchGetItemOutput {
        responses, unprocessed_keys, consumed_capacity
    }
    pb::TransactGetItem => TransactGetItem { get }
    pb::Get => TransactGet { table_name, key, projection_expression, expression_attribute_names }
    pb::Capacity => Capacity {
        capacity_units: required, read_capacity_units, write_capacity_units
    }
    pb::ConsumedCapacity => ConsumedCapacity {
        table_name: required, capacity_units: required, read_capacity_units,
        write_capacity_units, table,
        local_secondary_indexes, global_secondary_indexes,
    }
    pb::ItemCollectionMetrics => ItemCollectionMetrics {
        item_collection_key, size_estimate_range_gb
    }
    pb::KeysAndAttributes => KeysAndAttributes {
        keys, attributes_to_get, consistent_read, projection_expression,
        expression_attribute_names,
    }
    @ batch_get / batch_get_to_proto: pb::BatchGetItemRequest => BatchGetItemInput {
        request_items: present, return_consumed_capacity
    }
    @ batch_write / batch_write_to_proto: pb::BatchWriteItemRequest => BatchWriteItemInput {
        request_items: present, return_consumed_capacity, return_item_collection_metrics
    }
    @ batch_write_output / batch_write_response:
    pb::BatchWriteItemResponse => BatchWriteItemOutput {
        unprocessed_items, consumed_capacity, item_collection_metrics
    }
    pb::ConditionCheck => TransactAction {
        key, table_name, condition_expression, expression_attribute_names,
        expression_attribute_values, return_values_on_condition_check_failure,
    }
    pb::Put => TransactAction {
        item, table_name, condition_expression, expression_attribute_names,
        expression_attribute_values, return_values_on_condition_check_failure,
    }
    pb::Delete => TransactAction {
        key, table_name, condition_expression, expression_attribute_names,
        expression_attribute_values, return_values_on_condition_check_failure,
    }
    pb::Update => TransactAction {
        key, update_expression, table_name, condition_expression, expression_attribute_names,
        expression_attribute_values, return_values_on_condition_check_failure,
    }
    pb::TransactWriteItem => TransactWriteItem { condition_check, put, delete, update }
    @ transact_write / transact_write_to_proto:
    pb::TransactWriteItemsRequest => TransactWriteItemsInput {
        transact_items: present, return_consumed_capacity, return_item_collection_metrics,
        client_request_token,
    }
    @ transact_write_output / transact_write_response:
    pb::TransactWriteItemsResponse => TransactWriteItemsOutput {
        consumed_capacity, item_collection_metrics
    }
    @ transact_get / transact_get_to_proto:
    pb::TransactGetItemsRequest => TransactGetItemsInput {
        transact_items: present, return_consumed_capacity
    }
    pb::ItemResponse => ItemResponse { item }
    @ execute_statement / execute_statement_to_proto:
    pb::ExecuteStatementRequest => ExecuteStatementInput {
        statement, parameters, consistent_read, next_token, return_consumed_capacity, limit,
        return_values_on_condition_check_failure,
    }
    pb::ExecuteStatementResponse => ExecuteStatementOutput {
        items, next_token, consumed_capacity, last_evaluated_key
    }
    pb::BatchStatementRequest => BatchStatementRequest {
        statement, parameters, consistent_read, return_values_on_condition_check_failure
    }
    pb::BatchExecuteStatementRequest => BatchExecuteStatementInput {
        statements: present, return_consumed_capacity
    }
    pb::BatchStatementError => BatchStatementError { code: required, message, item }
    pb::BatchStatementResponse => BatchStatementResponse { error, table_name, item }
    pb::BatchExecuteStatementResponse => BatchExecuteStatementOutput {
        responses, consumed_capacity
    }
    pb::ParameterizedStatement => ParameterizedStatement {
        statement, parameters, return_values_on_condition_check_failure
    }
    pb::ExecuteTransactionRequest => ExecuteTransactionInput {
        transact_statements: present, client_request_token, return_consumed_capacity
    }
    pb::ExecuteTransactionResponse => ExecuteTransactionOutput { responses, consumed_capacity }
    @ transact_get_output / transact_get_response:
    pb::TransactGetItemsResponse => TransactGetItemsOutput { responses, consumed_capacity }
    // `Items` is absent from a page only with Select COUNT, and proto3 cannot say so: an
    // empty list reads as absent, and a reader that knows the request fixes it up.
    @ query_output / query_response: pb::QueryResponse => QueryOutput {
        items, count, scanned_count, last_evaluated_key, consumed_capacity
    }
    @ scan_output / scan_response: pb::ScanResponse => QueryOutput {
        items, count, scanned_count, last_evaluated_key, consumed_capacity
    }
    pb::PutRequest => PutRequest { item }
    pb::DeleteRequest => DeleteRequest { key }
    pb::WriteRequest => WriteRequest { put_request, delete_request }
    @ query / query_to_proto: pb::QueryRequest => QueryInput {
        table_name, index_name, select, attributes_to_get, limit, consistent_read,
        key_conditions, query_filter, conditional_operator, scan_index_forward,
        exclusive_start_key, return_consumed_capacity, projection_expression,
        filter_expression, key_condition_expression, expression_attribute_names,
        expression_attribute_values,
    }
    @ scan / scan_to_proto: pb::ScanRequest => ScanInput {
        table_name, index_name, attributes_to_get, limit, select, scan_filter,
        conditional_operator, exclusive_start_key, return_consumed_capacity, total_segments,
        segment, projection_expression, filter_expression, expression_attribute_names,
        expression_attribute_values, consistent_read,
    }
    @ get_item / get_item_to_proto: pb::GetItemRequest => GetItemInput {
        table_name, key, attributes_to_get, consistent_read, return_consumed_capacity,
        projection_expression, expression_attribute_names,
    }
    @ put_item / put_item_to_proto: pb::PutItemRequest => PutItemInput {
        table_name, item, expected, return_values, return_consumed_capacity,
        return_item_collection_metrics, conditional_operator, condition_expression,
        expression_attribute_names, expression_attribute_values,
        return_values_on_condition_check_failure,
    }
    @ update_item / update_item_to_proto: pb::UpdateItemRequest => UpdateItemInput {
        table_name, key, attribute_updates, expected, conditional_operator, return_values,
        return_consumed_capacity, return_item_collection_metrics, update_expression,
        condition_expression, expression_attribute_names, expression_attribute_values,
        return_values_on_condition_check_failure,
    }
    @ delete_item / delete_item_to_proto: pb::DeleteItemRequest => DeleteItemInput {
        table_name, key, expected, conditional_operator, return_values,
        return_consumed_capacity, return_item_collection_metrics, condition_expression,
        expression_attribute_names, expression_attribute_values,
        return_values_on_condition_check_failure,
    }
}

/// A change record as the Streams service and the push feed send it.
pub fn record_to_proto(r: &keyfall_types::streams::StreamRecord) -> pb::Record {
    let d = &r.dynamodb;
    pb::Record {
        event_id: Some(r.event_id.clone()),
        event_name: Some(r.event_name.clone()),
        event_version: Some(r.event_version.clone()),
        event_source: Some(r.event_source.clone()),
        aws_region: Some(r.aws_region.clone()),
        dynamodb: Some(pb::StreamRecord {
            approximate_creation_date_time: Some(d.approximate_creation_date_time),
            keys: item_to_proto(&d.keys),
            new_image: d.new_image.as_ref().map(item_to_proto).unwrap_or_default(),
            old_image: d.old_image.as_ref().map(item_to_proto).unwrap_or_default(),
            sequence_number: Some(d.sequence_number.clone()),
            size_bytes: Some(d.size_bytes),
            stream_view_type: Some(d.stream_view_type.clone()),
        }),
        user_identity: r.user_identity.as_ref().map(|i| pb::Identity {
            principal_id: Some(i.principal_id.clone()),
            r#type: Some(i.kind.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_validate() {
        let item: Item = [
            ("s".to_string(), AttributeValue::S("x".into())),
            (
                "n".to_string(),
                AttributeValue::N(Number::parse("1.5").unwrap()),
            ),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::Null, AttributeValue::Bool(true)]),
            ),
            (
                "ns".to_string(),
                AttributeValue::Ns(vec![Number::parse("2").unwrap()]),
            ),
        ]
        .into();
        assert_eq!(item_from_proto(item_to_proto(&item)).unwrap(), item);
        assert_eq!(item_into_proto(item.clone()), item_to_proto(&item));
        let bad = [
            (
                pb::AttributeValue { value: None },
                "Supplied AttributeValue is empty",
            ),
            (
                pb::AttributeValue {
                    value: Some(Value::N("x".into())),
                },
                "cannot be converted into a number",
            ),
            (
                pb::AttributeValue {
                    value: Some(Value::Null(false)),
                },
                "Null attribute value types must have the value of true",
            ),
        ];
        for (v, want) in bad {
            let err = value_from_proto(v).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
