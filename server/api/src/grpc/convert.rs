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

fn opt_item(m: HashMap<String, pb::AttributeValue>) -> Result<Option<Item>> {
    if m.is_empty() {
        Ok(None)
    } else {
        item_from_proto(m).map(Some)
    }
}

fn opt_values(m: HashMap<String, pb::AttributeValue>) -> Result<Option<AttributeMap>> {
    if m.is_empty() {
        return Ok(None);
    }
    m.into_iter()
        .map(|(k, v)| Ok((k, value_from_proto(v)?)))
        .collect::<Result<_>>()
        .map(Some)
}

fn opt_map<K, V>(m: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

fn opt_vec<T, U>(v: Vec<T>, f: impl Fn(T) -> U) -> Option<Vec<U>> {
    (!v.is_empty()).then(|| v.into_iter().map(f).collect())
}

fn opt_string(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---------------------------------------------------------------- shared structures

fn key_schema(v: Vec<pb::KeySchemaElement>) -> Vec<KeySchemaElement> {
    v.into_iter()
        .map(|k| KeySchemaElement {
            attribute_name: k.attribute_name,
            key_type: k.key_type,
        })
        .collect()
}

fn key_schema_to_proto(v: &[KeySchemaElement]) -> Vec<pb::KeySchemaElement> {
    v.iter()
        .map(|k| pb::KeySchemaElement {
            attribute_name: k.attribute_name.clone(),
            key_type: k.key_type.clone(),
        })
        .collect()
}

fn throughput(t: pb::ProvisionedThroughput) -> ProvisionedThroughput {
    ProvisionedThroughput {
        read_capacity_units: Some(t.read_capacity_units),
        write_capacity_units: Some(t.write_capacity_units),
    }
}

fn on_demand(t: pb::OnDemandThroughput) -> OnDemandThroughput {
    OnDemandThroughput {
        max_read_request_units: t.max_read_request_units,
        max_write_request_units: t.max_write_request_units,
    }
}

fn projection(p: Option<pb::Projection>) -> Projection {
    let p = p.unwrap_or_default();
    Projection {
        projection_type: p.projection_type,
        non_key_attributes: opt_vec(p.non_key_attributes, |a| a),
    }
}

fn projection_to_proto(p: &Projection) -> pb::Projection {
    pb::Projection {
        projection_type: p.projection_type.clone(),
        non_key_attributes: p.non_key_attributes.clone().unwrap_or_default(),
    }
}

fn stream_spec(s: pb::StreamSpecification) -> StreamSpecification {
    StreamSpecification {
        stream_enabled: s.stream_enabled,
        stream_view_type: s.stream_view_type,
    }
}

fn sse_spec(s: pb::SseSpecification) -> SseSpecification {
    SseSpecification {
        enabled: s.enabled,
        sse_type: s.sse_type,
        kms_master_key_id: s.kms_master_key_id,
    }
}

fn tags(v: Vec<pb::Tag>) -> Vec<Tag> {
    v.into_iter()
        .map(|t| Tag {
            key: t.key,
            value: Some(t.value),
        })
        .collect()
}

fn attribute_definitions(v: Vec<pb::AttributeDefinition>) -> Vec<AttributeDefinition> {
    v.into_iter()
        .map(|a| AttributeDefinition {
            attribute_name: a.attribute_name,
            attribute_type: a.attribute_type,
        })
        .collect()
}

pub fn consumed_to_proto(c: &ConsumedCapacity) -> pb::ConsumedCapacity {
    c.clone().into_proto()
}

/// Per-table ItemCollectionMetrics of BatchWriteItem and TransactWriteItems.
fn collection_metrics_to_proto(
    m: &Option<HashMap<String, Vec<ItemCollectionMetrics>>>,
) -> HashMap<String, pb::ItemCollectionMetricsList> {
    m.iter()
        .flatten()
        .map(|(t, list)| {
            (
                t.clone(),
                pb::ItemCollectionMetricsList {
                    values: list.iter().map(metrics_to_proto).collect(),
                },
            )
        })
        .collect()
}

fn metrics_to_proto(m: &ItemCollectionMetrics) -> pb::ItemCollectionMetrics {
    m.clone().into_proto()
}

fn throughput_description(
    t: &ProvisionedThroughputDescription,
) -> pb::ProvisionedThroughputDescription {
    pb::ProvisionedThroughputDescription {
        last_increase_date_time: t.last_increase_date_time,
        last_decrease_date_time: t.last_decrease_date_time,
        number_of_decreases_today: Some(t.number_of_decreases_today),
        read_capacity_units: Some(t.read_capacity_units),
        write_capacity_units: Some(t.write_capacity_units),
    }
}

pub fn table_description(d: &TableDescription) -> pb::TableDescription {
    pb::TableDescription {
        attribute_definitions: d
            .attribute_definitions
            .iter()
            .map(|a| pb::AttributeDefinition {
                attribute_name: a.attribute_name.clone(),
                attribute_type: a.attribute_type.clone(),
            })
            .collect(),
        table_name: Some(d.table_name.clone()),
        key_schema: key_schema_to_proto(&d.key_schema),
        table_status: Some(d.table_status.clone()),
        creation_date_time: Some(d.creation_date_time),
        provisioned_throughput: Some(throughput_description(&d.provisioned_throughput)),
        table_size_bytes: Some(d.table_size_bytes),
        item_count: Some(d.item_count),
        table_arn: Some(d.table_arn.clone()),
        table_id: Some(d.table_id.clone()),
        billing_mode_summary: d
            .billing_mode_summary
            .as_ref()
            .map(|b| pb::BillingModeSummary {
                billing_mode: Some(b.billing_mode.clone()),
                last_update_to_pay_per_request_date_time: b
                    .last_update_to_pay_per_request_date_time,
            }),
        local_secondary_indexes: d
            .local_secondary_indexes
            .iter()
            .flatten()
            .map(|i| pb::LocalSecondaryIndexDescription {
                index_name: Some(i.index_name.clone()),
                key_schema: key_schema_to_proto(&i.key_schema),
                projection: Some(projection_to_proto(&i.projection)),
                index_size_bytes: Some(i.index_size_bytes),
                item_count: Some(i.item_count),
                index_arn: Some(i.index_arn.clone()),
            })
            .collect(),
        global_secondary_indexes: d
            .global_secondary_indexes
            .iter()
            .flatten()
            .map(|i| pb::GlobalSecondaryIndexDescription {
                index_name: Some(i.index_name.clone()),
                key_schema: key_schema_to_proto(&i.key_schema),
                projection: Some(projection_to_proto(&i.projection)),
                index_status: i.index_status.clone(),
                backfilling: i.backfilling,
                provisioned_throughput: i
                    .provisioned_throughput
                    .as_ref()
                    .map(throughput_description),
                index_size_bytes: Some(i.index_size_bytes),
                item_count: Some(i.item_count),
                index_arn: Some(i.index_arn.clone()),
                ..Default::default()
            })
            .collect(),
        stream_specification: d
            .stream_specification
            .as_ref()
            .map(|s| pb::StreamSpecification {
                stream_enabled: s.stream_enabled,
                stream_view_type: s.stream_view_type.clone(),
            }),
        latest_stream_label: d.latest_stream_label.clone(),
        latest_stream_arn: d.latest_stream_arn.clone(),
        sse_description: d.sse_description.as_ref().map(|s| pb::SseDescription {
            status: Some(s.status.clone()),
            sse_type: Some(s.sse_type.clone()),
            kms_master_key_arn: s.kms_master_key_arn.clone(),
            inaccessible_encryption_date_time: None,
        }),
        table_class_summary: d
            .table_class_summary
            .as_ref()
            .map(|c| pb::TableClassSummary {
                table_class: Some(c.table_class.clone()),
                last_update_date_time: None,
            }),
        deletion_protection_enabled: Some(d.deletion_protection_enabled),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- requests

pub fn create_table(r: pb::CreateTableRequest) -> CreateTableInput {
    CreateTableInput {
        table_name: opt_string(r.table_name),
        key_schema: opt_vec(r.key_schema, |k| k).map(key_schema),
        attribute_definitions: opt_vec(r.attribute_definitions, |a| a).map(attribute_definitions),
        billing_mode: r.billing_mode,
        provisioned_throughput: r.provisioned_throughput.map(throughput),
        local_secondary_indexes: opt_vec(r.local_secondary_indexes, |i| LocalSecondaryIndex {
            index_name: i.index_name,
            key_schema: key_schema(i.key_schema),
            projection: projection(i.projection),
        }),
        global_secondary_indexes: opt_vec(r.global_secondary_indexes, |i| GlobalSecondaryIndex {
            index_name: i.index_name,
            key_schema: key_schema(i.key_schema),
            projection: projection(i.projection),
            provisioned_throughput: i.provisioned_throughput.map(throughput),
            on_demand_throughput: i.on_demand_throughput.map(on_demand),
        }),
        stream_specification: r.stream_specification.map(stream_spec),
        sse_specification: r.sse_specification.map(sse_spec),
        tags: opt_vec(r.tags, |t| t).map(tags),
        table_class: r.table_class,
        deletion_protection_enabled: r.deletion_protection_enabled,
        on_demand_throughput: r.on_demand_throughput.map(on_demand),
    }
}

pub fn update_table(r: pb::UpdateTableRequest) -> Result<UpdateTableInput> {
    if !r.replica_updates.is_empty() {
        return Err(Error::Unimplemented("UpdateTable with ReplicaUpdates"));
    }
    let gsi_updates = opt_vec(r.global_secondary_index_updates, |u| {
        GlobalSecondaryIndexUpdate {
            create: u.create.map(|c| GlobalSecondaryIndex {
                index_name: c.index_name,
                key_schema: key_schema(c.key_schema),
                projection: projection(c.projection),
                provisioned_throughput: c.provisioned_throughput.map(throughput),
                on_demand_throughput: c.on_demand_throughput.map(on_demand),
            }),
            update: u.update.map(|c| UpdateGlobalSecondaryIndexAction {
                index_name: c.index_name,
                provisioned_throughput: c.provisioned_throughput.map(throughput),
                on_demand_throughput: c.on_demand_throughput.map(on_demand),
            }),
            delete: u.delete.map(|d| DeleteGlobalSecondaryIndexAction {
                index_name: d.index_name,
            }),
        }
    });
    Ok(UpdateTableInput {
        table_name: opt_string(r.table_name),
        attribute_definitions: opt_vec(r.attribute_definitions, |a| a).map(attribute_definitions),
        billing_mode: r.billing_mode,
        provisioned_throughput: r.provisioned_throughput.map(throughput),
        global_secondary_index_updates: gsi_updates,
        stream_specification: r.stream_specification.map(stream_spec),
        sse_specification: r.sse_specification.map(sse_spec),
        table_class: r.table_class,
        deletion_protection_enabled: r.deletion_protection_enabled,
        on_demand_throughput: r.on_demand_throughput.map(on_demand),
        replica_updates: None,
    })
}

pub fn table_name(name: String) -> TableNameInput {
    TableNameInput {
        table_name: opt_string(name),
    }
}

crate::members! {
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
    pb::Capacity => Capacity { capacity_units, read_capacity_units, write_capacity_units }
    pb::ConsumedCapacity => ConsumedCapacity {
        table_name, capacity_units, read_capacity_units, write_capacity_units, table,
        local_secondary_indexes, global_secondary_indexes,
    }
    pb::ItemCollectionMetrics => ItemCollectionMetrics {
        item_collection_key, size_estimate_range_gb
    }
    pb::KeysAndAttributes => KeysAndAttributes {
        keys, attributes_to_get, consistent_read, projection_expression,
        expression_attribute_names,
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

pub fn tag_resource(r: pb::TagResourceRequest) -> TagResourceInput {
    TagResourceInput {
        resource_arn: opt_string(r.resource_arn),
        tags: Some(tags(r.tags)),
    }
}

pub fn untag_resource(r: pb::UntagResourceRequest) -> UntagResourceInput {
    UntagResourceInput {
        resource_arn: opt_string(r.resource_arn),
        tag_keys: Some(r.tag_keys),
    }
}

pub fn list_tags(r: pb::ListTagsOfResourceRequest) -> ListTagsOfResourceInput {
    ListTagsOfResourceInput {
        resource_arn: opt_string(r.resource_arn),
        next_token: r.next_token,
    }
}

// ---------------------------------------------------------------- responses

pub fn tags_output(o: ListTagsOfResourceOutput) -> pb::ListTagsOfResourceResponse {
    pb::ListTagsOfResourceResponse {
        tags: o
            .tags
            .into_iter()
            .map(|t| pb::Tag {
                key: t.key,
                value: t.value.unwrap_or_default(),
            })
            .collect(),
        next_token: o.next_token,
    }
}

// ---------------------------------------------------------------- query, scan and batches

/// The parts shared by Query and Scan responses.
pub struct PageParts {
    pub items: Vec<pb::MapValue>,
    pub count: i32,
    pub scanned_count: i32,
    pub last_evaluated_key: HashMap<String, pb::AttributeValue>,
    pub consumed_capacity: Option<pb::ConsumedCapacity>,
}

pub fn page_output(o: QueryOutput) -> PageParts {
    PageParts {
        items: o
            .items
            .into_iter()
            .flatten()
            .map(|i| pb::MapValue {
                values: item_into_proto(i),
            })
            .collect(),
        count: i32::try_from(o.count).unwrap_or(i32::MAX),
        scanned_count: i32::try_from(o.scanned_count).unwrap_or(i32::MAX),
        last_evaluated_key: o
            .last_evaluated_key
            .map(item_into_proto)
            .unwrap_or_default(),
        consumed_capacity: o.consumed_capacity.as_ref().map(consumed_to_proto),
    }
}

pub fn batch_get(r: pb::BatchGetItemRequest) -> Result<BatchGetItemInput> {
    Ok(BatchGetItemInput {
        request_items: Some(
            r.request_items
                .into_iter()
                .map(|(t, k)| Ok((t, Member::from_proto(k)?)))
                .collect::<Result<_>>()?,
        ),
        return_consumed_capacity: r.return_consumed_capacity,
    })
}

pub fn batch_write(r: pb::BatchWriteItemRequest) -> Result<BatchWriteItemInput> {
    Ok(BatchWriteItemInput {
        request_items: Some(
            r.request_items
                .into_iter()
                .map(|(t, list)| {
                    Ok((
                        t,
                        list.values
                            .into_iter()
                            .map(<WriteRequest as Member<_>>::from_proto)
                            .collect::<Result<_>>()?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        return_consumed_capacity: r.return_consumed_capacity,
        return_item_collection_metrics: r.return_item_collection_metrics,
    })
}

pub fn batch_write_output(o: &BatchWriteItemOutput) -> pb::BatchWriteItemResponse {
    pb::BatchWriteItemResponse {
        unprocessed_items: o
            .unprocessed_items
            .iter()
            .map(|(t, list)| {
                (
                    t.clone(),
                    pb::WriteRequestList {
                        values: list.iter().map(|w| w.clone().into_proto()).collect(),
                    },
                )
            })
            .collect(),
        item_collection_metrics: collection_metrics_to_proto(&o.item_collection_metrics),
        consumed_capacity: o
            .consumed_capacity
            .iter()
            .flatten()
            .map(consumed_to_proto)
            .collect(),
    }
}

// ---------------------------------------------------------------- transactions

#[allow(clippy::too_many_arguments)]
fn transact_action(
    table_name: String,
    key: HashMap<String, pb::AttributeValue>,
    item: HashMap<String, pb::AttributeValue>,
    update_expression: Option<String>,
    condition_expression: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, pb::AttributeValue>,
    return_on_failure: Option<String>,
) -> Result<TransactAction> {
    Ok(TransactAction {
        table_name: opt_string(table_name),
        key: opt_item(key)?,
        item: opt_item(item)?,
        update_expression,
        condition_expression,
        expression_attribute_names: opt_map(names),
        expression_attribute_values: opt_values(values)?,
        return_values_on_condition_check_failure: return_on_failure,
    })
}

pub fn transact_write(r: pb::TransactWriteItemsRequest) -> Result<TransactWriteItemsInput> {
    let items = r
        .transact_items
        .into_iter()
        .map(|t| {
            Ok(TransactWriteItem {
                condition_check: t
                    .condition_check
                    .map(|c| {
                        transact_action(
                            c.table_name,
                            c.key,
                            HashMap::new(),
                            None,
                            opt_string(c.condition_expression),
                            c.expression_attribute_names,
                            c.expression_attribute_values,
                            c.return_values_on_condition_check_failure,
                        )
                    })
                    .transpose()?,
                put: t
                    .put
                    .map(|p| {
                        transact_action(
                            p.table_name,
                            HashMap::new(),
                            p.item,
                            None,
                            p.condition_expression,
                            p.expression_attribute_names,
                            p.expression_attribute_values,
                            p.return_values_on_condition_check_failure,
                        )
                    })
                    .transpose()?,
                delete: t
                    .delete
                    .map(|d| {
                        transact_action(
                            d.table_name,
                            d.key,
                            HashMap::new(),
                            None,
                            d.condition_expression,
                            d.expression_attribute_names,
                            d.expression_attribute_values,
                            d.return_values_on_condition_check_failure,
                        )
                    })
                    .transpose()?,
                update: t
                    .update
                    .map(|u| {
                        transact_action(
                            u.table_name,
                            u.key,
                            HashMap::new(),
                            opt_string(u.update_expression),
                            u.condition_expression,
                            u.expression_attribute_names,
                            u.expression_attribute_values,
                            u.return_values_on_condition_check_failure,
                        )
                    })
                    .transpose()?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(TransactWriteItemsInput {
        transact_items: Some(items),
        return_consumed_capacity: r.return_consumed_capacity,
        return_item_collection_metrics: r.return_item_collection_metrics,
        client_request_token: r.client_request_token,
    })
}

pub fn transact_write_output(o: &TransactWriteItemsOutput) -> pb::TransactWriteItemsResponse {
    pb::TransactWriteItemsResponse {
        consumed_capacity: o
            .consumed_capacity
            .iter()
            .flatten()
            .map(consumed_to_proto)
            .collect(),
        item_collection_metrics: collection_metrics_to_proto(&o.item_collection_metrics),
    }
}

pub fn transact_get(r: pb::TransactGetItemsRequest) -> Result<TransactGetItemsInput> {
    Ok(TransactGetItemsInput {
        // Present even when empty: DynamoDB's answer is about its length, not its absence.
        transact_items: Some(Member::from_proto(r.transact_items)?),
        return_consumed_capacity: r.return_consumed_capacity,
    })
}

pub fn transact_get_output(o: &TransactGetItemsOutput) -> pb::TransactGetItemsResponse {
    pb::TransactGetItemsResponse {
        consumed_capacity: o
            .consumed_capacity
            .iter()
            .flatten()
            .map(consumed_to_proto)
            .collect(),
        responses: o
            .responses
            .iter()
            .map(|r| pb::ItemResponse {
                item: r.item.as_ref().map(item_to_proto).unwrap_or_default(),
            })
            .collect(),
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
