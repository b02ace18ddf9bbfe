//! What a DynamoDB request asks to do, as IAM sees it: one [`Check`] per action and
//! resource, carrying the DynamoDB condition keys computed from the request.
//!
//! Batches are checked per table under their own action (`dynamodb:BatchWriteItem`), with
//! every item's keys and attributes in the context; transaction parts are checked as the
//! single-item actions they stand for (`dynamodb:PutItem`, `dynamodb:ConditionCheckItem`...)
//! with `dynamodb:EnclosingOperation` set. Any refused check refuses the whole request.

use std::collections::HashMap;

use keyfall_types::expr::key_condition::{bound_partition, key_condition_of};
use keyfall_types::expr::{self, ExpressionInput, Expressions};
use keyfall_types::model::{AttributeValue, Item};
use keyfall_types::streams::{
    DescribeStreamInput, GetRecordsInput, GetShardIteratorInput, ListStreamsInput,
};
use keyfall_types::types::*;

/// One authorization question: may the caller perform `action` on `resource`, given these
/// condition keys? `None` keys are absent from the request context.
#[derive(Debug, Clone, Default)]
pub struct Check {
    pub action: &'static str,
    pub resource: String,
    pub leading_keys: Option<Vec<String>>,
    pub attributes: Option<Vec<String>>,
    pub select: Option<String>,
    pub return_values: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub enclosing_operation: Option<&'static str>,
    /// `dynamodb:LeadingKeys` could not be computed: the request binds no single partition
    /// (a Scan, a Query whose key condition does not parse or names no one partition key
    /// value, a table whose schema is unknown). Conditions on the key then deny.
    pub leading_keys_unknown: bool,
    /// `dynamodb:Attributes` could not be computed (an expression that does not parse).
    pub attributes_unknown: bool,
}

/// The table facts checks need: key attribute names and ARNs.
pub trait Schemas {
    /// Partition and sort key names of a table, or of one of its indexes.
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)>;
    fn table_arn(&self, table: &str) -> String;
    fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String>;
    /// The ARN of a table's current stream.
    fn stream_arn(&self, table: &str) -> Option<String>;
}

/// A request that can say what it needs to be allowed to do.
pub trait Authorize {
    fn checks(&self, action: &'static str, schemas: &dyn Schemas) -> Vec<Check>;
}

fn name(t: &Option<String>) -> &str {
    t.as_deref().unwrap_or("")
}

fn table_check(action: &'static str, schemas: &dyn Schemas, table: &Option<String>) -> Vec<Check> {
    vec![Check {
        action,
        resource: schemas.table_arn(name(table)),
        ..Check::default()
    }]
}

fn account_check(action: &'static str) -> Vec<Check> {
    vec![Check {
        action,
        resource: "*".into(),
        ..Check::default()
    }]
}

/// A partition key value as IAM compares it: its scalar's text.
fn key_text(v: &AttributeValue) -> Option<String> {
    match v {
        AttributeValue::S(s) => Some(s.clone()),
        AttributeValue::N(n) => Some(n.to_string()),
        AttributeValue::B(b) => {
            use base64::Engine as _;
            Some(base64::engine::general_purpose::STANDARD.encode(b))
        }
        _ => None,
    }
}

/// Accumulates the condition keys of the item-level parts aimed at one resource.
#[derive(Default)]
struct Keys {
    leading: Vec<String>,
    attributes: Vec<String>,
    leading_unknown: bool,
    attributes_unknown: bool,
}

impl Keys {
    fn attr(&mut self, n: &str) {
        if !self.attributes.iter().any(|a| a == n) {
            self.attributes.push(n.to_string());
        }
    }

    /// Parses the request's expressions as the engine will ([`expr::parse`], same input)
    /// and records every top-level attribute they touch. An input the engine would refuse
    /// leaves the attributes unknown.
    fn exprs(&mut self, input: ExpressionInput) -> Option<Expressions> {
        match expr::parse(&input) {
            Ok(parsed) => {
                parsed.top_level_names(&mut self.attributes);
                Some(parsed)
            }
            Err(_) => {
                self.attributes_unknown = true;
                None
            }
        }
    }

    fn list<'a>(&mut self, names: impl IntoIterator<Item = &'a String>) {
        for n in names {
            self.attr(n);
        }
    }

    /// Records a key or item: its partition key value and (for a key) its attribute names.
    /// Without a known schema, or without a usable partition key value, the partition is
    /// unknown; so it is without the key or item itself, absent and empty alike (the
    /// protobuf form of a request cannot tell them apart, and both APIs must ask the same).
    fn item(&mut self, item: &Option<Item>, pk: Option<&str>) {
        let Some(item) = item.as_ref().filter(|i| !i.is_empty()) else {
            self.leading_unknown = true;
            return;
        };
        match pk.and_then(|pk| item.get(pk)).and_then(key_text) {
            Some(v) => {
                if !self.leading.contains(&v) {
                    self.leading.push(v);
                }
            }
            None => self.leading_unknown = true,
        }
        self.list(item.keys());
    }

    fn key_attrs(&mut self, keys: &Option<(String, Option<String>)>) {
        if let Some((pk, sk)) = keys {
            self.attr(pk);
            if let Some(sk) = sk {
                self.attr(sk);
            }
        }
    }

    fn into_check(self, action: &'static str, resource: String) -> Check {
        Check {
            action,
            resource,
            leading_keys: Some(self.leading),
            attributes: Some(self.attributes),
            leading_keys_unknown: self.leading_unknown,
            attributes_unknown: self.attributes_unknown,
            ..Check::default()
        }
    }
}

/// The expressions of one request part, borrowed for [`Keys::exprs`].
fn expr_input<'a>(
    names: &'a Option<HashMap<String, String>>,
    values: &'a Option<HashMap<String, AttributeValue>>,
) -> ExpressionInput<'a> {
    ExpressionInput {
        names: names.as_ref(),
        values: values.as_ref(),
        ..ExpressionInput::default()
    }
}

fn select_of(select: &Option<String>, projected: bool, index: bool) -> String {
    match select {
        Some(s) => s.clone(),
        None if projected => "SPECIFIC_ATTRIBUTES".into(),
        None if index => "ALL_PROJECTED_ATTRIBUTES".into(),
        None => "ALL_ATTRIBUTES".into(),
    }
}

fn rcc(v: &Option<String>) -> Option<String> {
    Some(v.clone().unwrap_or_else(|| "NONE".into()))
}

fn pk_of(keys: &Option<(String, Option<String>)>) -> Option<&str> {
    keys.as_ref().map(|(pk, _)| pk.as_str())
}

impl Authorize for GetItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let table = name(&self.table_name);
        let schema = s.key_names(table, None);
        let mut k = Keys::default();
        k.item(&self.key, pk_of(&schema));
        k.exprs(ExpressionInput {
            projection: self.projection_expression.as_deref(),
            names: self.expression_attribute_names.as_ref(),
            ..ExpressionInput::default()
        });
        k.list(self.attributes_to_get.iter().flatten());
        let projected = self.projection_expression.is_some() || self.attributes_to_get.is_some();
        let mut c = k.into_check("dynamodb:GetItem", s.table_arn(table));
        c.select = Some(select_of(&None, projected, false));
        c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
        vec![c]
    }
}

/// Keys shared by Put, Update and Delete.
fn write_check(
    action: &'static str,
    s: &dyn Schemas,
    table: &Option<String>,
    fill: impl FnOnce(&mut Keys, Option<&str>),
    return_values: &Option<String>,
    return_consumed_capacity: &Option<String>,
) -> Vec<Check> {
    let table = name(table);
    let schema = s.key_names(table, None);
    let mut k = Keys::default();
    k.key_attrs(&schema);
    fill(&mut k, pk_of(&schema));
    let mut c = k.into_check(action, s.table_arn(table));
    c.return_values = Some(return_values.clone().unwrap_or_else(|| "NONE".into()));
    c.return_consumed_capacity = rcc(return_consumed_capacity);
    vec![c]
}

impl Authorize for PutItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        write_check(
            "dynamodb:PutItem",
            s,
            &self.table_name,
            |k, pk| {
                k.item(&self.item, pk);
                k.exprs(ExpressionInput {
                    condition: self.condition_expression.as_deref(),
                    ..expr_input(
                        &self.expression_attribute_names,
                        &self.expression_attribute_values,
                    )
                });
                k.list(self.expected.iter().flat_map(|m| m.keys()));
            },
            &self.return_values,
            &self.return_consumed_capacity,
        )
    }
}

impl Authorize for UpdateItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        write_check(
            "dynamodb:UpdateItem",
            s,
            &self.table_name,
            |k, pk| {
                k.item(&self.key, pk);
                k.exprs(ExpressionInput {
                    update: self.update_expression.as_deref(),
                    condition: self.condition_expression.as_deref(),
                    ..expr_input(
                        &self.expression_attribute_names,
                        &self.expression_attribute_values,
                    )
                });
                k.list(self.attribute_updates.iter().flat_map(|m| m.keys()));
                k.list(self.expected.iter().flat_map(|m| m.keys()));
            },
            &self.return_values,
            &self.return_consumed_capacity,
        )
    }
}

impl Authorize for DeleteItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        write_check(
            "dynamodb:DeleteItem",
            s,
            &self.table_name,
            |k, pk| {
                k.item(&self.key, pk);
                k.exprs(ExpressionInput {
                    condition: self.condition_expression.as_deref(),
                    ..expr_input(
                        &self.expression_attribute_names,
                        &self.expression_attribute_values,
                    )
                });
                k.list(self.expected.iter().flat_map(|m| m.keys()));
            },
            &self.return_values,
            &self.return_consumed_capacity,
        )
    }
}

fn read_resource(s: &dyn Schemas, table: &str, index: &Option<String>) -> String {
    match index {
        Some(i) => format!("{}/index/{i}", s.table_arn(table)),
        None => s.table_arn(table),
    }
}

impl Authorize for QueryInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let table = name(&self.table_name);
        let schema = s.key_names(table, self.index_name.as_deref());
        let mut k = Keys::default();
        k.key_attrs(&schema);
        let parsed = k.exprs(ExpressionInput {
            key_condition: self.key_condition_expression.as_deref(),
            filter: self.filter_expression.as_deref(),
            projection: self.projection_expression.as_deref(),
            ..expr_input(
                &self.expression_attribute_names,
                &self.expression_attribute_values,
            )
        });
        k.list(self.key_conditions.iter().flat_map(|m| m.keys()));
        k.list(self.query_filter.iter().flat_map(|m| m.keys()));
        k.list(self.attributes_to_get.iter().flatten());
        // The partition comes from the key condition the engine will evaluate; anything
        // it cannot bind to one partition is unknown, and denied by LeadingKeys policies.
        let partition = parsed
            .and_then(|p| key_condition_of(p.key_condition, self.key_conditions.as_ref()).ok())
            .zip(pk_of(&schema))
            .and_then(|(cond, pk)| bound_partition(&cond, pk).and_then(key_text));
        match partition {
            Some(v) => k.leading.push(v),
            None => k.leading_unknown = true,
        }
        let projected = self.projection_expression.is_some() || self.attributes_to_get.is_some();
        let mut c = k.into_check("dynamodb:Query", read_resource(s, table, &self.index_name));
        c.select = Some(select_of(
            &self.select,
            projected,
            self.index_name.is_some(),
        ));
        c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
        vec![c]
    }
}

impl Authorize for ScanInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let table = name(&self.table_name);
        let names = &self.expression_attribute_names;
        let mut k = Keys::default();
        k.key_attrs(&s.key_names(table, self.index_name.as_deref()));
        k.exprs(ExpressionInput {
            filter: self.filter_expression.as_deref(),
            projection: self.projection_expression.as_deref(),
            ..expr_input(names, &self.expression_attribute_values)
        });
        k.list(self.scan_filter.iter().flat_map(|m| m.keys()));
        k.list(self.attributes_to_get.iter().flatten());
        let projected = self.projection_expression.is_some() || self.attributes_to_get.is_some();
        let mut c = k.into_check("dynamodb:Scan", read_resource(s, table, &self.index_name));
        // A Scan reads every partition: a policy that limits the partitions a caller may
        // read cannot allow it (IAM would see an absent key, which ForAllValues lets
        // through).
        c.leading_keys = None;
        c.leading_keys_unknown = true;
        c.select = Some(select_of(
            &self.select,
            projected,
            self.index_name.is_some(),
        ));
        c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
        vec![c]
    }
}

/// Request maps iterate in hash order; checks come out sorted by table for stable messages.
fn sorted_tables<V>(m: &Option<HashMap<String, V>>) -> Vec<(&String, &V)> {
    let mut v: Vec<_> = m.iter().flatten().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

impl Authorize for BatchGetItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        sorted_tables(&self.request_items)
            .into_iter()
            .map(|(table, ka)| {
                let schema = s.key_names(table, None);
                let mut k = Keys::default();
                for key in &ka.keys {
                    k.item(&Some(key.clone()), pk_of(&schema));
                }
                k.exprs(ExpressionInput {
                    projection: ka.projection_expression.as_deref(),
                    names: ka.expression_attribute_names.as_ref(),
                    ..ExpressionInput::default()
                });
                k.list(ka.attributes_to_get.iter().flatten());
                let projected =
                    ka.projection_expression.is_some() || ka.attributes_to_get.is_some();
                let mut c = k.into_check("dynamodb:BatchGetItem", s.table_arn(table));
                c.select = Some(select_of(&None, projected, false));
                c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
                c
            })
            .collect()
    }
}

impl Authorize for BatchWriteItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        sorted_tables(&self.request_items)
            .into_iter()
            .map(|(table, writes)| {
                let schema = s.key_names(table, None);
                let mut k = Keys::default();
                k.key_attrs(&schema);
                for w in writes {
                    if let Some(p) = &w.put_request {
                        k.item(&Some(p.item.clone()), pk_of(&schema));
                    }
                    if let Some(d) = &w.delete_request {
                        k.item(&Some(d.key.clone()), pk_of(&schema));
                    }
                }
                let mut c = k.into_check("dynamodb:BatchWriteItem", s.table_arn(table));
                c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
                c
            })
            .collect()
    }
}

impl Authorize for TransactWriteItemsInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let mut out = Vec::new();
        for item in self.transact_items.iter().flatten() {
            let parts = [
                ("dynamodb:ConditionCheckItem", &item.condition_check),
                ("dynamodb:PutItem", &item.put),
                ("dynamodb:DeleteItem", &item.delete),
                ("dynamodb:UpdateItem", &item.update),
            ];
            for (action, part) in parts {
                let Some(a) = part else { continue };
                let table = name(&a.table_name);
                let schema = s.key_names(table, None);
                let mut k = Keys::default();
                k.key_attrs(&schema);
                // A Put is about its item, the other parts about their key (the member the
                // part does not take has no protobuf form and is not what runs).
                let subject = if action == "dynamodb:PutItem" {
                    &a.item
                } else {
                    &a.key
                };
                k.item(subject, pk_of(&schema));
                // Only an Update part has an UpdateExpression (the JSON form shares one
                // struct for every part; the protobuf form has no such member elsewhere).
                let update = (action == "dynamodb:UpdateItem")
                    .then_some(a.update_expression.as_deref())
                    .flatten();
                k.exprs(ExpressionInput {
                    update,
                    condition: a.condition_expression.as_deref(),
                    ..expr_input(
                        &a.expression_attribute_names,
                        &a.expression_attribute_values,
                    )
                });
                let mut c = k.into_check(action, s.table_arn(table));
                c.enclosing_operation = Some("TransactWriteItems");
                c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
                out.push(c);
            }
        }
        out
    }
}

impl Authorize for TransactGetItemsInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        self.transact_items
            .iter()
            .flatten()
            .filter_map(|i| i.get.as_ref())
            .map(|g| {
                let table = name(&g.table_name);
                let schema = s.key_names(table, None);
                let mut k = Keys::default();
                k.item(&g.key, pk_of(&schema));
                k.exprs(ExpressionInput {
                    projection: g.projection_expression.as_deref(),
                    names: g.expression_attribute_names.as_ref(),
                    ..ExpressionInput::default()
                });
                let mut c = k.into_check("dynamodb:GetItem", s.table_arn(table));
                c.select = Some(select_of(&None, g.projection_expression.is_some(), false));
                c.enclosing_operation = Some("TransactGetItems");
                c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
                c
            })
            .collect()
    }
}

macro_rules! table_actions {
    ($($ty:ty => $action:literal),* $(,)?) => {$(
        impl Authorize for $ty {
            fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
                table_check($action, s, &self.table_name)
            }
        }
    )*};
}

table_actions! {
    CreateTableInput => "dynamodb:CreateTable",
    UpdateTableInput => "dynamodb:UpdateTable",
    UpdateTimeToLiveInput => "dynamodb:UpdateTimeToLive",
}

/// Actions whose input is just a table name (DescribeTable, DeleteTable...).
impl Authorize for TableNameInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        table_check(action, s, &self.table_name)
    }
}

impl Authorize for ListTablesInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        account_check("dynamodb:ListTables")
    }
}

/// Tagging actions name their resource by ARN.
fn arn_check(action: &'static str, arn: &Option<String>) -> Vec<Check> {
    vec![Check {
        action,
        resource: arn.clone().unwrap_or_default(),
        ..Check::default()
    }]
}

impl Authorize for TagResourceInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:TagResource", &self.resource_arn)
    }
}

impl Authorize for UntagResourceInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:UntagResource", &self.resource_arn)
    }
}

impl Authorize for ListTagsOfResourceInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:ListTagsOfResource", &self.resource_arn)
    }
}

impl Authorize for ListStreamsInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        account_check("dynamodb:ListStreams")
    }
}

impl Authorize for DescribeStreamInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:DescribeStream", &self.stream_arn)
    }
}

impl Authorize for GetShardIteratorInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:GetShardIterator", &self.stream_arn)
    }
}

impl Authorize for GetRecordsInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        // Authorized on the stream the iterator names. An iterator that names none (not
        // issued by the server: forged, altered, foreign) reads nothing: the engine
        // refuses it with DynamoDB's `Invalid ShardIterator` before touching any stream.
        match self
            .shard_iterator
            .as_deref()
            .and_then(|i| s.stream_arn_of_iterator(i))
        {
            Some(arn) => arn_check("dynamodb:GetRecords", &Some(arn)),
            None => Vec::new(),
        }
    }
}

/// Keyfall's push change feed reads a table's stream: it needs `dynamodb:GetRecords` on
/// the stream's ARN.
pub struct SubscribeChanges {
    pub table_name: String,
}

impl Authorize for SubscribeChanges {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let resource = s
            .stream_arn(&self.table_name)
            .unwrap_or_else(|| format!("{}/stream/*", s.table_arn(&self.table_name)));
        vec![Check {
            action,
            resource,
            ..Check::default()
        }]
    }
}

/// Keyfall's internal change feed of a table (what keyfall-dax follows): every change
/// with its whole new item, so it needs its own action, `keyfall:FollowChanges`, on the
/// table's ARN.
pub struct FollowChanges {
    pub table_name: String,
}

impl Authorize for FollowChanges {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        vec![Check {
            action,
            resource: s.table_arn(&self.table_name),
            ..Check::default()
        }]
    }
}

/// Account-wide actions with no input worth reading (DescribeLimits, DescribeEndpoints).
impl Authorize for () {
    fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
        account_check(action)
    }
}

#[cfg(test)]
mod tests;
