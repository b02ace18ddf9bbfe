//! Table-level actions: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable,
//! tags, DescribeLimits, DescribeEndpoints.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::catalog::{table_not_found, BillingMode, IndexMeta, StreamMeta, Table, TableMeta};
use super::indexes;
use super::types::*;
use super::{now_epoch_seconds, required, Engine};
use crate::error::{validation_errors, Error, Result};
use crate::model::{KeyAttribute, KeySchema, ScalarType};

const MAX_LSIS: usize = 5;
const MAX_GSIS: usize = 20;
const MAX_TAGS: usize = 50;

/// DynamoDB's table and index name rule, with its constraint messages.
pub(crate) use keyfall_types::command::{table_name, validate_name};

/// Index keyspaces get their own id: index names can be as long as a keyspace name.
/// A new index, in a keyspace of its own; `projection` is `parse_projection`'s answer and
/// `capacity` the provisioned (read, write) units.
fn new_index(
    name: &str,
    key_schema: KeySchema,
    projection: (String, Option<Vec<String>>),
    capacity: (i64, i64),
    global: bool,
    maximum: (Option<i64>, Option<i64>),
) -> IndexMeta {
    IndexMeta {
        name: name.to_string(),
        key_schema,
        projection_type: projection.0,
        non_key_attributes: projection.1,
        read_capacity: capacity.0,
        write_capacity: capacity.1,
        keyspace: format!("i-{}", uuid::Uuid::new_v4().simple()),
        creating: false,
        global,
        on_demand_max_read: maximum.0,
        on_demand_max_write: maximum.1,
    }
}

fn parse_billing_mode(v: Option<&str>) -> Result<Option<BillingMode>> {
    match v {
        None => Ok(None),
        Some("PROVISIONED") => Ok(Some(BillingMode::Provisioned)),
        Some("PAY_PER_REQUEST") => Ok(Some(BillingMode::PayPerRequest)),
        Some(other) => Err(Error::validation(format!(
            "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        ))),
    }
}

fn parse_throughput(t: &ProvisionedThroughput) -> Result<(i64, i64)> {
    let missing: Vec<&str> = [
        ("readCapacityUnits", t.read_capacity_units),
        ("writeCapacityUnits", t.write_capacity_units),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(m, _)| *m)
    .collect();
    if !missing.is_empty() {
        return Err(Error::validation(validation_errors(missing.iter().map(|m| {
            format!(
                "Value null at 'provisionedThroughput.{m}' failed to satisfy constraint: Member must not be null"
            )
        }))));
    }
    match (t.read_capacity_units, t.write_capacity_units) {
        (Some(r), Some(w)) if r >= 1 && w >= 1 => Ok((r, w)),
        _ => Err(Error::validation(
            "One or more parameter values were invalid: Table read and write throughput must be at least 1, and cannot be null",
        )),
    }
}

/// `OnDemandThroughput`'s maxima: each at least 1, or -1 to remove it (`None`).
fn parse_on_demand(
    t: Option<&OnDemandThroughput>,
    mode: BillingMode,
    member: &str,
) -> Result<Option<(Option<i64>, Option<i64>)>> {
    let Some(t) = t else { return Ok(None) };
    if mode == BillingMode::Provisioned {
        return Err(Error::validation(format!(
            "One or more parameter values were invalid: {member} cannot be specified when BillingMode is PROVISIONED"
        )));
    }
    let unit = |v: Option<i64>, field: &str| {
        match v {
        None | Some(-1) => Ok(None),
        Some(v) if v >= 1 => Ok(Some(v)),
        Some(v) => Err(Error::validation(format!(
            "One or more parameter values were invalid: {member}.{field} must be at least 1, or -1 to remove it; given: {v}"
        ))),
    }
    };
    Ok(Some((
        unit(t.max_read_request_units, "MaxReadRequestUnits")?,
        unit(t.max_write_request_units, "MaxWriteRequestUnits")?,
    )))
}

/// Decreases of provisioned throughput per UTC day: four at any time, then one an hour
/// (Developer Guide, "Service, account, and table quotas": "Decreasing provisioned
/// throughput").
const FREE_DECREASES: i64 = 4;

fn utc_day(epoch_seconds: f64) -> i64 {
    (epoch_seconds / 86_400.0).floor() as i64
}

/// NumberOfDecreasesToday.
fn decreases_today(meta: &TableMeta, now: f64) -> i64 {
    if meta.decrease_day == utc_day(now) {
        meta.decreases_today
    } else {
        0
    }
}

/// Counts one decrease of `meta`'s provisioned throughput, or refuses it.
fn note_decrease(meta: &mut TableMeta, now: f64) -> Result<()> {
    let today = decreases_today(meta, now);
    let last = meta.last_decrease_at.unwrap_or(f64::MIN);
    if today >= FREE_DECREASES && now - last < 3600.0 {
        return Err(Error::LimitExceeded(format!(
            "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first {FREE_DECREASES} decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: {today}. Last decrease at {}. Next decrease can be made at {}",
            http_date(last),
            http_date(last + 3600.0)
        )));
    }
    meta.decreases_today = today + 1;
    meta.decrease_day = utc_day(now);
    meta.last_decrease_at = Some(now);
    Ok(())
}

/// Switches to on-demand in any 24 hours (Developer Guide, "Considerations when switching
/// capacity modes": "up to four times in a 24-hour rolling window"; back to provisioned at
/// any time).
const SWITCHES_PER_DAY: usize = 4;

/// Counts a switch of `meta` to on-demand, or refuses it.
fn note_switch_to_on_demand(meta: &mut TableMeta, now: f64) -> Result<()> {
    meta.on_demand_switches.retain(|t| now - t < 86_400.0);
    if meta.on_demand_switches.len() >= SWITCHES_PER_DAY {
        let first = meta.on_demand_switches.first().copied().unwrap_or(now);
        let last = meta.on_demand_switches.last().copied().unwrap_or(now);
        return Err(Error::LimitExceeded(format!(
            "Subscriber limit exceeded: Update to PayPerRequest mode are limited to {SWITCHES_PER_DAY} times in 1 day(s). Last update at {}. Next update can be made at {}",
            http_date(last),
            http_date(first + 86_400.0)
        )));
    }
    meta.on_demand_switches.push(now);
    Ok(())
}

/// A time as DynamoDB writes it in messages, e.g. `Friday, October 9, 2026 at 12:21:34 AM
/// Coordinated Universal Time`.
pub(crate) fn http_date(epoch_seconds: f64) -> String {
    let format = time::macros::format_description!(
        "[weekday], [month repr:long] [day padding:none], [year] at [hour repr:12 padding:none]:[minute]:[second] [period] Coordinated Universal Time"
    );
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds as i64)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Key attribute names are 1 to 255 bytes, in AttributeDefinitions and KeySchema alike;
/// every failing name is listed.
fn check_key_name_lengths(
    defs: &[AttributeDefinition],
    key_schema: &[KeySchemaElement],
) -> Result<()> {
    let bad = |name: &str| name.is_empty() || name.len() > 255;
    let constraint = |name: &str| {
        if name.is_empty() {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 255"
        }
    };
    let errors: Vec<String> = defs
        .iter()
        .enumerate()
        .filter(|(_, d)| bad(&d.attribute_name))
        .map(|(i, d)| {
            format!(
                "Value '{}' at 'attributeDefinitions.{}.member.attributeName' failed to satisfy constraint: {}",
                d.attribute_name,
                i + 1,
                constraint(&d.attribute_name)
            )
        })
        .chain(key_schema.iter().enumerate().filter(|(_, k)| bad(&k.attribute_name)).map(
            |(i, k)| {
                format!(
                    "Value '{}' at 'keySchema.{}.member.attributeName' failed to satisfy constraint: {}",
                    k.attribute_name,
                    i + 1,
                    constraint(&k.attribute_name)
                )
            },
        ))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::validation(validation_errors(errors)))
    }
}

/// A new index's key schema, once its name is valid and no other index of the table has it;
/// `list` is the request member the index stands in (`globalSecondaryIndexes`, ...).
fn index_key_schema(
    names: &mut std::collections::HashSet<String>,
    name: &str,
    elements: &[KeySchemaElement],
    defs: &BTreeMap<&str, ScalarType>,
    list: &str,
) -> Result<KeySchema> {
    validate_name(name, &format!("{list}.member.indexName"))?;
    if !names.insert(name.to_string()) {
        return Err(Error::validation(format!("Duplicate index name: {name}")));
    }
    parse_key_schema(elements, defs, &format!("{list}.member.keySchema"))
}

/// Turns KeySchema + AttributeDefinitions into a key schema, with DynamoDB's checks.
fn parse_key_schema(
    elements: &[KeySchemaElement],
    defs: &BTreeMap<&str, ScalarType>,
    what: &str,
) -> Result<KeySchema> {
    if elements.is_empty() || elements.len() > 2 {
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{}' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2",
            elements.len()
        )));
    }
    let mut hash = None;
    let mut range = None;
    for (i, e) in elements.iter().enumerate() {
        let ty = *defs.get(e.attribute_name.as_str()).ok_or_else(|| {
            Error::validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                elements.iter().map(|e| e.attribute_name.as_str()).collect::<Vec<_>>().join(", "),
                defs.keys().copied().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let attr = KeyAttribute {
            name: e.attribute_name.clone(),
            ty,
        };
        match e.key_type.as_str() {
            "HASH" if i == 0 => hash = Some(attr),
            "HASH" => {
                return Err(Error::validation(
                    "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
                ))
            }
            "RANGE" if i == 1 => range = Some(attr),
            "RANGE" => {
                return Err(Error::validation(
                    "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
                ))
            }
            other => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at '{what}.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]"
                )))
            }
        }
    }
    let hash = hash.ok_or_else(|| {
        Error::validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    })?;
    if range.as_ref().is_some_and(|r| r.name == hash.name) {
        return Err(Error::validation(
            "Invalid KeySchema: The second KeySchemaElement may not have the same name as the first KeySchemaElement",
        ));
    }
    Ok(KeySchema { hash, range })
}

fn parse_projection(p: &Projection) -> Result<(String, Option<Vec<String>>)> {
    let ty = p.projection_type.clone().unwrap_or_else(|| "ALL".into());
    match ty.as_str() {
        "ALL" | "KEYS_ONLY" if p.non_key_attributes.is_some() => Err(Error::validation(format!(
            "One or more parameter values were invalid: ProjectionType is {ty}, but NonKeyAttributes is specified"
        ))),
        "ALL" | "KEYS_ONLY" => Ok((ty, None)),
        "INCLUDE" => match &p.non_key_attributes {
            Some(attrs) if !attrs.is_empty() => Ok((ty, Some(attrs.clone()))),
            _ => Err(Error::validation(
                "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
            )),
        },
        other => Err(Error::validation(format!(
            "1 validation error detected: Value '{other}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
        ))),
    }
}

/// A StreamSpecification on CreateTable (`creating`) or UpdateTable; DynamoDB words the
/// view-type rules differently for each.
fn parse_stream(spec: &StreamSpecification, creating: bool) -> Result<Option<StreamMeta>> {
    let invalid = |msg: &str| {
        Err(Error::validation(format!(
            "One or more parameter values were invalid: {msg}"
        )))
    };
    match (
        spec.stream_enabled,
        spec.stream_view_type.is_some(),
        creating,
    ) {
        (false, false, _) => return Ok(None),
        (false, true, true) => return invalid(
            "Table is being created with a stream disabled, UpdateViewType should not be specified",
        ),
        (false, true, false) => {
            return invalid(
                "If stream is being disabled, then UpdateViewType must not be specified",
            )
        }
        (true, false, true) => {
            return invalid(
                "Table is being created with a stream enabled, UpdateViewType is required",
            )
        }
        (true, false, false) => {
            return invalid("If stream is being enabled then UpdateViewType is required")
        }
        (true, true, _) => {}
    }
    let view = spec.stream_view_type.as_deref().unwrap_or_default();
    if !matches!(
        view,
        "KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"
    ) {
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{view}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]"
        )));
    }
    let now = now_epoch_seconds();
    Ok(Some(StreamMeta {
        view_type: view.to_string(),
        label: stream_label(now),
        keyspace: format!("s-{}", uuid::Uuid::new_v4().simple()),
        created_at: now,
    }))
}

/// DynamoDB's stream label: the creation time as `YYYY-MM-DDThh:mm:ss.mmm`.
fn stream_label(epoch: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos((epoch * 1e9) as i128)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Tag keys and values: Unicode letters, digits and spaces, and `_ . : / = + - @`.
fn tag_text_ok(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
    })
}

/// Validates tags as DynamoDB does, with its messages (lengths count characters).
fn parse_tags(tags: &[Tag]) -> Result<BTreeMap<String, String>> {
    if tags.is_empty() {
        return Err(Error::validation(
            "Atleast one Tag needs to be provided as Input.",
        ));
    }
    let mut out = BTreeMap::new();
    for t in tags {
        let key_len = t.key.chars().count();
        if key_len == 0 || key_len > 128 || !tag_text_ok(&t.key) {
            return Err(Error::validation(format!(
                "The Tag Key provided is invalid, Key: {}",
                t.key
            )));
        }
        if t.key.starts_with("aws:") {
            return Err(Error::validation(format!(
                "Tag Key cannot be prefixed with aws:, Key: {}",
                t.key
            )));
        }
        let value = match &t.value {
            Some(v) if v.chars().count() <= 256 && tag_text_ok(v) => v,
            Some(v) => {
                return Err(Error::validation(format!(
                    "The Tag Value provided is invalid, Value: {v}"
                )))
            }
            None => {
                return Err(Error::validation(
                    "The Tag Value provided is invalid, Value: null",
                ))
            }
        };
        if out.insert(t.key.clone(), value.clone()).is_some() {
            return Err(Error::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {}",
                t.key
            )));
        }
    }
    if out.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    Ok(out)
}

fn too_many_tags() -> Error {
    Error::validation("Number of Tags exceed the current limit for the provided ResourceArn")
}

impl Engine {
    pub fn create_table(&self, input: CreateTableInput) -> Result<TableDescription> {
        let meta = self.plan_table(&input)?;
        let table = self.catalog.create(self.store.as_ref(), meta)?;
        let mut created = self.describe(&table);
        // CreateTable always answers CREATING, as DynamoDB does; waiters then see ACTIVE.
        created.table_status = "CREATING".into();
        Ok(created)
    }

    /// The definition CreateTable would create, validated with DynamoDB's messages (a
    /// restore plans its target the same way).
    pub(crate) fn plan_table(&self, input: &CreateTableInput) -> Result<TableMeta> {
        let name = table_name(&input.table_name)?;
        let key_schema = required(&input.key_schema, "keySchema")?;
        let attr_defs = required(&input.attribute_definitions, "attributeDefinitions")?;
        check_key_name_lengths(attr_defs, key_schema)?;
        let mut defs = BTreeMap::new();
        for d in attr_defs {
            let ty = ScalarType::from_tag(&d.attribute_type).ok_or_else(|| {
                Error::validation(format!(
                    "1 validation error detected: Value '{}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                    d.attribute_type
                ))
            })?;
            if defs.insert(d.attribute_name.as_str(), ty).is_some() {
                return Err(Error::validation(format!(
                    "Attribute Name is duplicated: {}",
                    d.attribute_name
                )));
            }
        }
        let schema = parse_key_schema(key_schema, &defs, "keySchema")?;

        let billing =
            parse_billing_mode(input.billing_mode.as_deref())?.unwrap_or(BillingMode::Provisioned);
        let (read, write) = match (billing, &input.provisioned_throughput) {
            (BillingMode::Provisioned, Some(t)) => parse_throughput(t)?,
            (BillingMode::Provisioned, None) => {
                return Err(Error::validation(
                    "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                ))
            }
            (BillingMode::PayPerRequest, Some(_)) => {
                return Err(Error::validation(
                    "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ))
            }
            (BillingMode::PayPerRequest, None) => (0, 0),
        };
        self.check_quota(None, read, write)?;
        let on_demand = parse_on_demand(
            input.on_demand_throughput.as_ref(),
            billing,
            "OnDemandThroughput",
        )?
        .unwrap_or_default();

        let mut index_names = std::collections::HashSet::new();
        let mut local_indexes = Vec::new();
        for lsi in input.local_secondary_indexes.iter().flatten() {
            let ks = index_key_schema(
                &mut index_names,
                &lsi.index_name,
                &lsi.key_schema,
                &defs,
                "localSecondaryIndexes",
            )?;
            if ks.hash != schema.hash {
                return Err(Error::validation(format!(
                    "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                    lsi.index_name, ks.hash.name, schema.hash.name
                )));
            }
            if ks.range.is_none() {
                return Err(Error::validation(format!(
                    "One or more parameter values were invalid: Index KeySchema does not have a range key for index: {}",
                    lsi.index_name
                )));
            }
            if schema.range.is_none() {
                return Err(Error::validation(
                    "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
                ));
            }
            let projection = parse_projection(&lsi.projection)?;
            let index = new_index(&lsi.index_name, ks, projection, (0, 0), false, (None, None));
            local_indexes.push(index);
        }
        if local_indexes.len() > MAX_LSIS {
            return Err(Error::LimitExceeded(format!(
                "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSIS}"
            )));
        }
        let mut global_indexes = Vec::new();
        for gsi in input.global_secondary_indexes.iter().flatten() {
            let ks = index_key_schema(
                &mut index_names,
                &gsi.index_name,
                &gsi.key_schema,
                &defs,
                "globalSecondaryIndexes",
            )?;
            let projection = parse_projection(&gsi.projection)?;
            let (r, w) = match (billing, &gsi.provisioned_throughput) {
                (BillingMode::Provisioned, Some(t)) => parse_throughput(t)?,
                (BillingMode::Provisioned, None) => {
                    return Err(Error::validation(format!(
                        "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {}",
                        gsi.index_name
                    )))
                }
                (BillingMode::PayPerRequest, Some(_)) => {
                    return Err(Error::validation(
                        "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index when BillingMode is PAY_PER_REQUEST",
                    ))
                }
                (BillingMode::PayPerRequest, None) => (0, 0),
            };
            self.check_quota(Some(&gsi.index_name), r, w)?;
            let member = "GlobalSecondaryIndexes.OnDemandThroughput";
            let maximum = parse_on_demand(gsi.on_demand_throughput.as_ref(), billing, member)?;
            let index = new_index(
                &gsi.index_name,
                ks,
                projection,
                (r, w),
                true,
                maximum.unwrap_or_default(),
            );
            global_indexes.push(index);
        }
        if global_indexes.len() > MAX_GSIS {
            return Err(Error::LimitExceeded(format!(
                "One or more parameter values were invalid: Number of GlobalSecondaryIndexes exceeds per-table limit of {MAX_GSIS}"
            )));
        }
        // Every attribute definition must be used by the table or an index key.
        let key_attrs: std::collections::HashSet<&str> = std::iter::once(&schema)
            .chain(local_indexes.iter().map(|i| &i.key_schema))
            .chain(global_indexes.iter().map(|i| &i.key_schema))
            .flat_map(|s| s.key_names())
            .collect();
        if defs.keys().any(|d| !key_attrs.contains(d)) {
            let mut used: Vec<&str> = key_attrs.iter().copied().collect();
            used.sort_unstable();
            return Err(Error::validation(format!(
                "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
                defs.keys().copied().collect::<Vec<_>>().join(", "),
                used.join(", ")
            )));
        }
        let stream = match &input.stream_specification {
            Some(s) => parse_stream(s, true)?,
            None => None,
        };
        let tags = match input.tags.as_deref() {
            None | Some([]) => BTreeMap::new(),
            Some(tags) => parse_tags(tags)?,
        };
        let table_class = match input.table_class.as_deref() {
            None | Some("STANDARD") | Some("STANDARD_INFREQUENT_ACCESS") => input.table_class.clone(),
            Some(other) => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'tableClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, STANDARD_INFREQUENT_ACCESS]"
                )))
            }
        };
        let now = now_epoch_seconds();
        let id = uuid::Uuid::new_v4().to_string();
        let sse_key = self.table_key(input.sse_specification.as_ref(), &id)?;
        let meta = TableMeta {
            name: name.to_string(),
            keyspace: format!("t-{}", id.replace('-', "")),
            id,
            key_schema: schema,
            attribute_definitions: defs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            billing_mode: billing,
            read_capacity: read,
            write_capacity: write,
            created_at: now,
            pay_per_request_since: (billing == BillingMode::PayPerRequest).then_some(now),
            last_increase_at: None,
            last_decrease_at: None,
            local_indexes,
            global_indexes,
            stream,
            closed_streams: Vec::new(),
            sse_enabled: sse_key.is_some(),
            tags,
            table_class,
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            ttl_attribute: None,
            on_demand_max_read: on_demand.0,
            on_demand_max_write: on_demand.1,
            decreases_today: 0,
            decrease_day: 0,
            insights: Vec::new(),
            on_demand_switches: Vec::new(),
            pitr: None,
            restore: None,
            import: None,
            sse_key,
        };
        Ok(meta)
    }

    /// A new table's data key, wrapped, when its SSESpecification enables encryption.
    fn table_key(
        &self,
        sse: Option<&SseSpecification>,
        table_id: &str,
    ) -> Result<Option<crate::encryption::WrappedKey>> {
        let Some(sse) = sse.filter(|s| s.enabled == Some(true)) else {
            return Ok(None);
        };
        self.check_sse(sse)?;
        let keys = self.config.keys.as_ref().ok_or_else(|| {
            Error::validation("Encryption at rest is not available: this server has no master key")
        })?;
        crate::encryption::new_data_key(keys.as_ref(), table_id).map(Some)
    }

    /// SSEType KMS (or none); a KMSMasterKeyId must name this server's master key.
    fn check_sse(&self, sse: &SseSpecification) -> Result<()> {
        match sse.sse_type.as_deref() {
            None | Some("KMS") => {}
            Some("AES256") => {
                return Err(Error::validation(
                    "One or more parameter values were invalid: SSEType AES256 is not supported",
                ))
            }
            Some(other) => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'sSESpecification.sSEType' failed to satisfy constraint: Member must satisfy enum value set: [AES256, KMS]"
                )))
            }
        }
        if let Some(id) = &sse.kms_master_key_id {
            let current = self
                .config
                .keys
                .as_ref()
                .map(|k| k.key_id())
                .unwrap_or_default();
            let named = id.rsplit('/').next().unwrap_or(id);
            if named != current {
                return Err(Error::validation(format!(
                    "KMS validation error: the key {id} is not this server's master key ({current})"
                )));
            }
        }
        Ok(())
    }

    /// SSEDescription as DynamoDB reports a table encrypted under a customer key: the
    /// master key that wraps its data key, as a KMS key ARN.
    pub(crate) fn sse_description(&self, m: &TableMeta) -> Option<SseDescription> {
        m.sse_key.as_ref().map(|w| SseDescription {
            status: "ENABLED".into(),
            sse_type: "KMS".into(),
            kms_master_key_arn: Some(format!(
                "arn:aws:kms:{}:{}:key/{}",
                self.config.region, self.config.account_id, w.key_id
            )),
        })
    }

    pub fn describe_table(&self, input: TableNameInput) -> Result<TableDescription> {
        let name = table_name(&input.table_name)?;
        let table = self
            .catalog
            .get(name)
            .ok_or_else(|| table_not_found(name))?;
        Ok(self.describe(&table))
    }

    pub(crate) fn table(&self, name: &Option<String>) -> Result<std::sync::Arc<Table>> {
        let name = table_name(name)?;
        self.catalog.get(name).ok_or_else(|| table_not_found(name))
    }

    /// The table an item action addresses; a missing one is DynamoDB's short message.
    /// A table for item calls: one still CREATING is not found yet, as in DynamoDB.
    pub(crate) fn item_table(&self, name: &Option<String>) -> Result<std::sync::Arc<Table>> {
        self.item_table_named(table_name(name)?)
    }

    /// A table items can be read and written in (created, and ACTIVE).
    pub(crate) fn item_table_named(&self, name: &str) -> Result<std::sync::Arc<Table>> {
        self.catalog
            .get(name)
            .filter(|t| !self.is_creating(&t.meta))
            .ok_or_else(Error::table_not_found)
    }

    /// CREATING until `--table-activation-delay` after creation (ACTIVE at once by default).
    pub(crate) fn is_creating(&self, meta: &TableMeta) -> bool {
        meta.restore.is_some()
            || meta.import.is_some()
            || now_epoch_seconds()
                < meta.created_at + self.config.table_activation_delay.as_secs_f64()
    }

    /// DynamoDB's TableStatus for a table this server holds.
    fn status_of(&self, meta: &TableMeta) -> &'static str {
        if self.is_creating(meta) {
            "CREATING"
        } else {
            "ACTIVE"
        }
    }

    pub(crate) fn describe(&self, table: &Table) -> TableDescription {
        self.describe_with(table, &[])
    }

    /// The description, with `deleting` (GSIs an UpdateTable just removed) listed as
    /// DELETING, as DynamoDB's UpdateTable answer lists them.
    fn describe_with(&self, table: &Table, deleting: &[IndexMeta]) -> TableDescription {
        let m = &table.meta;
        let arn = self.table_arn(&m.name);
        let key_schema_elements = super::backup::key_schema_elements;
        let throughput = |r: i64, w: i64| ProvisionedThroughputDescription {
            last_increase_date_time: None,
            last_decrease_date_time: None,
            number_of_decreases_today: 0,
            read_capacity_units: r,
            write_capacity_units: w,
        };
        // On demand, the maxima are reported, -1 where none is set.
        let on_demand = |r: Option<i64>, w: Option<i64>| {
            (m.billing_mode == BillingMode::PayPerRequest).then(|| OnDemandThroughput {
                max_read_request_units: Some(r.unwrap_or(-1)),
                max_write_request_units: Some(w.unwrap_or(-1)),
            })
        };
        let index = |i: &IndexMeta, global: bool, status: &str| IndexDescription {
            index_name: i.name.clone(),
            key_schema: key_schema_elements(&i.key_schema),
            projection: super::backup::projection(i),
            index_status: global.then(|| status.to_string()),
            backfilling: (global && i.creating).then_some(true),
            provisioned_throughput: global.then(|| throughput(i.read_capacity, i.write_capacity)),
            on_demand_throughput: on_demand(i.on_demand_max_read, i.on_demand_max_write)
                .filter(|_| global),
            index_size_bytes: table
                .index_stats(&i.name)
                .map_or(0, |s| s.bytes.load(Ordering::Relaxed).max(0)),
            item_count: table
                .index_stats(&i.name)
                .map_or(0, |s| s.items.load(Ordering::Relaxed).max(0)),
            index_arn: format!("{arn}/index/{}", i.name),
        };
        TableDescription {
            attribute_definitions: m
                .attribute_definitions
                .iter()
                .map(|(n, t)| AttributeDefinition {
                    attribute_name: n.clone(),
                    attribute_type: t.tag().into(),
                })
                .collect(),
            table_name: m.name.clone(),
            key_schema: key_schema_elements(&m.key_schema),
            table_status: self.status_of(m).into(),
            creation_date_time: m.created_at,
            provisioned_throughput: ProvisionedThroughputDescription {
                last_increase_date_time: m.last_increase_at,
                last_decrease_date_time: m.last_decrease_at,
                number_of_decreases_today: decreases_today(m, now_epoch_seconds()),
                ..throughput(m.read_capacity, m.write_capacity)
            },
            table_size_bytes: table.stats.bytes.load(Ordering::Relaxed).max(0),
            item_count: table.stats.items.load(Ordering::Relaxed).max(0),
            table_arn: arn.clone(),
            table_id: m.id.clone(),
            billing_mode_summary: Some(BillingModeSummary {
                billing_mode: m.billing_mode.name().into(),
                last_update_to_pay_per_request_date_time: m.pay_per_request_since,
            }),
            local_secondary_indexes: (!m.local_indexes.is_empty()).then(|| {
                m.local_indexes
                    .iter()
                    .map(|i| index(i, false, ""))
                    .collect()
            }),
            global_secondary_indexes: (!m.global_indexes.is_empty() || !deleting.is_empty()).then(
                || {
                    m.global_indexes
                        .iter()
                        .map(|i| index(i, true, if i.creating { "CREATING" } else { "ACTIVE" }))
                        .chain(deleting.iter().map(|i| index(i, true, "DELETING")))
                        .collect()
                },
            ),
            stream_specification: m.stream.as_ref().map(|s| StreamSpecification {
                stream_enabled: true,
                stream_view_type: Some(s.view_type.clone()),
            }),
            // After a disable, the latest stream is the one just closed.
            latest_stream_label: m.latest_stream().map(|s| s.label.clone()),
            latest_stream_arn: m
                .latest_stream()
                .map(|s| format!("{arn}/stream/{}", s.label)),
            sse_description: self.sse_description(m),
            table_class_summary: m.table_class.as_ref().map(|c| TableClassSummary {
                table_class: c.clone(),
            }),
            deletion_protection_enabled: m.deletion_protection,
            on_demand_throughput: on_demand(m.on_demand_max_read, m.on_demand_max_write),
            // Shown while the restore runs, as DynamoDB shows it.
            restore_summary: m
                .restore
                .as_ref()
                .map(|r| keyfall_types::backup::RestoreSummary {
                    source_backup_arn: r.source_backup_arn.clone(),
                    source_table_arn: r.source_table_arn.clone(),
                    restore_date_time: r.restore_time,
                    restore_in_progress: true,
                }),
        }
    }

    pub fn list_tables(&self, input: ListTablesInput) -> Result<ListTablesOutput> {
        let limit = match input.limit {
            None => 100,
            Some(l) if (1..=100).contains(&l) => l as usize,
            Some(l) => {
                let bound = if l < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 100"
                };
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value {bound}"
                )));
            }
        };
        if let Some(start) = &input.exclusive_start_table_name {
            validate_name(start, "exclusiveStartTableName")?;
        }
        let (names, more) = self
            .catalog
            .names_after(input.exclusive_start_table_name.as_deref(), limit);
        let last = if more { names.last().cloned() } else { None };
        Ok(ListTablesOutput {
            table_names: names,
            last_evaluated_table_name: last,
        })
    }

    pub fn update_table(&self, input: UpdateTableInput) -> Result<TableDescription> {
        let _schema = self.schema_lock.write();
        let table = self.table(&input.table_name)?;
        if input.replica_updates.is_some() {
            return Err(Error::Unimplemented("UpdateTable with ReplicaUpdates"));
        }
        let (table, (backfill, dropped)) = self.catalog.update(
            self.store.as_ref(),
            &table.meta.name,
            &table.meta.id,
            |meta| {
            let mut changed = false;
            let mut backfill = None;
            let mut dropped = Vec::new();
            if let Some(updates) = &input.global_secondary_index_updates {
                (backfill, dropped) = self.apply_index_updates(
                    meta,
                    updates,
                    input.attribute_definitions.as_deref(),
                )?;
                changed = true;
            }
            let now = now_epoch_seconds();
            let billing = parse_billing_mode(input.billing_mode.as_deref())?;
            if let Some(b) = billing {
                if b != meta.billing_mode {
                    changed = true;
                    meta.billing_mode = b;
                    if b == BillingMode::Provisioned {
                        meta.on_demand_max_read = None;
                        meta.on_demand_max_write = None;
                        meta.global_indexes.iter_mut().for_each(|i| {
                            i.on_demand_max_read = None;
                            i.on_demand_max_write = None;
                        });
                    }
                    if b == BillingMode::PayPerRequest {
                        note_switch_to_on_demand(meta, now)?;
                        meta.pay_per_request_since = Some(now);
                        meta.read_capacity = 0;
                        meta.write_capacity = 0;
                        meta.global_indexes.iter_mut().for_each(|i| {
                            i.read_capacity = 0;
                            i.write_capacity = 0;
                        });
                    } else if input.provisioned_throughput.is_none() {
                        return Err(Error::validation(
                            "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
                        ));
                    }
                }
            }
            if let Some(t) = &input.provisioned_throughput {
                if meta.billing_mode == BillingMode::PayPerRequest {
                    return Err(Error::validation(
                        "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                    ));
                }
                let (r, w) = parse_throughput(t)?;
                if (r, w) == (meta.read_capacity, meta.write_capacity) && billing.is_none() {
                    return Err(Error::validation(format!(
                        "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {}. Requested ReadCapacityUnits: {r}. Current WriteCapacityUnits provisioned for the table: {}. Requested WriteCapacityUnits: {w}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
                        meta.read_capacity, meta.write_capacity
                    )));
                }
                self.check_quota(None, r, w)?;
                if r > meta.read_capacity || w > meta.write_capacity {
                    meta.last_increase_at = Some(now);
                }
                if r < meta.read_capacity || w < meta.write_capacity {
                    note_decrease(meta, now)?;
                }
                meta.read_capacity = r;
                meta.write_capacity = w;
                changed = true;
            }
            if let Some(s) = &input.stream_specification {
                // The specification's own rules come before the table's state.
                let next = parse_stream(s, false)?;
                match (s.stream_enabled, &meta.stream) {
                    (true, Some(_)) => {
                        return Err(Error::validation(format!(
                            "Table already has an enabled stream: TableName: {}",
                            meta.name
                        )))
                    }
                    (false, None) => {
                        return Err(Error::validation(format!(
                            "Table has no stream to disable: TableName: {}",
                            meta.name
                        )))
                    }
                    _ => {
                        // A disabled stream stays readable, closed, for a day.
                        if let Some(old) = meta.stream.take() {
                            meta.closed_streams.push(super::catalog::ClosedStream {
                                stream: old,
                                closed_at: now,
                            });
                        }
                        meta.stream = next;
                    }
                }
                changed = true;
            }
            if let Some(sse) = &input.sse_specification {
                // A table's encryption is fixed at creation: changing it would mean
                // rewriting every item under its locks.
                if sse.enabled.unwrap_or(true) != meta.sse_key.is_some() {
                    return Err(Error::validation(
                        "Keyfall cannot change the encryption of an existing table: restore a backup of it with an SSESpecificationOverride instead",
                    ));
                }
                self.check_sse(sse)?;
                changed = true;
            }
            if let Some(c) = &input.table_class {
                meta.table_class = Some(c.clone());
                changed = true;
            }
            if let Some(d) = input.deletion_protection_enabled {
                meta.deletion_protection = d;
                changed = true;
            }
            let mode = meta.billing_mode;
            let member = "OnDemandThroughput";
            if let Some((r, w)) = parse_on_demand(input.on_demand_throughput.as_ref(), mode, member)? {
                (meta.on_demand_max_read, meta.on_demand_max_write) = (r, w);
                changed = true;
            }
            if !changed {
                return Err(Error::validation(
                    "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required",
                ));
            }
                Ok((backfill, dropped))
            },
        )?;
        for index in &dropped {
            self.store.drop_keyspace(&index.keyspace)?;
        }
        if let Some(index) = backfill.and_then(|name| table.meta.index(&name)) {
            self.start_backfill(BackfillTarget::of(&table.meta, index))?;
        }
        // DynamoDB answers UpdateTable with the table UPDATING; it is ACTIVE again as soon
        // as the change is made (here, at once).
        let mut desc = self.describe_with(&table, &dropped);
        desc.table_status = "UPDATING".into();
        Ok(desc)
    }

    /// Applies GlobalSecondaryIndexUpdates to `meta`; returns the index to backfill and the
    /// indexes removed (their keyspaces are dropped once the new definition is published).
    fn apply_index_updates(
        &self,
        meta: &mut TableMeta,
        updates: &[GlobalSecondaryIndexUpdate],
        new_definitions: Option<&[AttributeDefinition]>,
    ) -> Result<(Option<String>, Vec<IndexMeta>)> {
        if updates
            .iter()
            .filter(|u| u.create.is_some() || u.delete.is_some())
            .count()
            > 1
        {
            return Err(Error::LimitExceeded(
                "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table".into(),
            ));
        }
        if meta.global_indexes.iter().any(|i| i.creating)
            && updates
                .iter()
                .any(|u| u.create.is_some() || u.delete.is_some())
        {
            return Err(Error::ResourceInUse(format!(
                "Attempting to create or delete an index while another index is being created on table {}",
                meta.name
            )));
        }
        let mut backfill = None;
        let mut dropped = Vec::new();
        for update in updates {
            match (&update.create, &update.update, &update.delete) {
                (Some(create), None, None) => {
                    validate_name(&create.index_name, "globalSecondaryIndexUpdates.member.create.indexName")?;
                    if meta.index(&create.index_name).is_some() {
                        return Err(Error::validation(format!(
                            "One or more parameter values were invalid: Index already exists: {}",
                            create.index_name
                        )));
                    }
                    if meta.global_indexes.len() >= MAX_GSIS {
                        return Err(Error::LimitExceeded(format!(
                            "One or more parameter values were invalid: Number of GlobalSecondaryIndexes exceeds per-table limit of {MAX_GSIS}"
                        )));
                    }
                    // The new index's key attributes come from the table's definitions plus
                    // the request's AttributeDefinitions.
                    let mut defs: BTreeMap<&str, ScalarType> =
                        meta.attribute_definitions.iter().map(|(n, t)| (n.as_str(), *t)).collect();
                    for d in new_definitions.unwrap_or_default() {
                        let ty = ScalarType::from_tag(&d.attribute_type).ok_or_else(|| {
                            Error::validation(format!(
                                "1 validation error detected: Value '{}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                                d.attribute_type
                            ))
                        })?;
                        if defs.get(d.attribute_name.as_str()).is_some_and(|t| *t != ty) {
                            return Err(Error::validation(
                                "invalid attribute, SchemaElement redefined should be of same type as previously defined",
                            ));
                        }
                        defs.insert(d.attribute_name.as_str(), ty);
                    }
                    let ks = parse_key_schema(&create.key_schema, &defs, "globalSecondaryIndexUpdates.member.create.keySchema")?;
                    let projection = parse_projection(&create.projection)?;
                    let (read, write) = match (meta.billing_mode, &create.provisioned_throughput) {
                        (BillingMode::Provisioned, Some(t)) => parse_throughput(t)?,
                        (BillingMode::Provisioned, None) => {
                            return Err(Error::validation(format!(
                                "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {}",
                                create.index_name
                            )))
                        }
                        (BillingMode::PayPerRequest, _) => (0, 0),
                    };
                    self.check_quota(Some(&create.index_name), read, write)?;
                    let member = "GlobalSecondaryIndexUpdates.Create.OnDemandThroughput";
                    let given = create.on_demand_throughput.as_ref();
                    let maximum = parse_on_demand(given, meta.billing_mode, member)?;
                    let added: Vec<(String, ScalarType)> = ks
                        .key_names()
                        .filter(|attr| !meta.attribute_definitions.iter().any(|(n, _)| n == attr))
                        .filter_map(|attr| defs.get(attr).map(|ty| (attr.to_string(), *ty)))
                        .collect();
                    drop(defs);
                    meta.attribute_definitions.extend(added);
                    meta.global_indexes.push(IndexMeta {
                        creating: true,
                        ..new_index(&create.index_name, ks, projection, (read, write), true, maximum.unwrap_or_default())
                    });
                    backfill = Some(create.index_name.clone());
                }
                (None, Some(change), None) => {
                    let index = meta
                        .global_indexes
                        .iter_mut()
                        .find(|i| i.name == change.index_name)
                        .ok_or_else(|| Error::ResourceNotFound(format!("Requested resource not found: Index: {} not found", change.index_name)))?;
                    if let Some(t) = &change.provisioned_throughput {
                        if meta.billing_mode == BillingMode::PayPerRequest {
                            return Err(Error::validation(
                                "One or more parameter values were invalid: ProvisionedThroughput cannot be specified for index when BillingMode is PAY_PER_REQUEST",
                            ));
                        }
                        let (r, w) = parse_throughput(t)?;
                        self.check_quota(Some(&change.index_name), r, w)?;
                        (index.read_capacity, index.write_capacity) = (r, w);
                    }
                    let member = "GlobalSecondaryIndexUpdates.Update.OnDemandThroughput";
                    let given = change.on_demand_throughput.as_ref();
                    if let Some((r, w)) = parse_on_demand(given, meta.billing_mode, member)? {
                        (index.on_demand_max_read, index.on_demand_max_write) = (r, w);
                    }
                }
                (None, None, Some(delete)) => {
                    let pos = meta
                        .global_indexes
                        .iter()
                        .position(|i| i.name == delete.index_name)
                        .ok_or_else(|| Error::ResourceNotFound(format!("Requested resource not found: Index: {} not found", delete.index_name)))?;
                    dropped.push(meta.global_indexes.remove(pos));
                }
                _ => {
                    return Err(Error::validation(
                        "One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified",
                    ))
                }
            }
        }
        // Definitions no key uses any more go away, as in DynamoDB.
        let used: std::collections::HashSet<String> = std::iter::once(&meta.key_schema)
            .chain(meta.indexes().map(|i| &i.key_schema))
            .flat_map(|k| k.key_names().map(str::to_string))
            .collect();
        meta.attribute_definitions.retain(|(n, _)| used.contains(n));
        Ok((backfill, dropped))
    }

    /// Backfills a new GSI from the table's existing items on a background thread, then
    /// marks it ACTIVE. Each item is indexed under its item lock after a fresh read, so a
    /// concurrent write (which maintains the CREATING index itself) is never overwritten by
    /// a stale entry. Progress is persisted after every chunk (`BACKFILL_KEYSPACE`), and
    /// [`Engine::resume_backfills`] restarts an interrupted backfill where it stopped.
    pub(crate) fn start_backfill(&self, target: BackfillTarget) -> Result<()> {
        let engine = self
            .me
            .upgrade()
            .ok_or_else(|| Error::Internal("engine is shutting down".into()))?;
        std::thread::Builder::new()
            .name("keyfall-backfill".into())
            .spawn(move || {
                if let Err(e) = engine.backfill(&target) {
                    tracing::error!(table = %target.table, index = %target.index, error = %e, "index backfill failed");
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the backfill thread: {e}")))?;
        Ok(())
    }

    /// Starts the backfill of every index still CREATING, e.g. after a crash or restart.
    pub(crate) fn resume_backfills(&self) -> Result<()> {
        for table in self.catalog.all() {
            for index in table.meta.global_indexes.iter().filter(|i| i.creating) {
                tracing::info!(table = %table.meta.name, index = %index.name, "resuming index backfill");
                self.start_backfill(BackfillTarget::of(&table.meta, index))?;
            }
        }
        Ok(())
    }

    /// The table and index still being backfilled, by identity: a table deleted and
    /// re-created under the same name, or an index dropped and re-created, is not it.
    fn backfill_table(&self, target: &BackfillTarget) -> Option<(Arc<Table>, IndexMeta)> {
        let table = self
            .catalog
            .get(&target.table)
            .filter(|t| t.meta.id == target.table_id)?;
        let index = table
            .meta
            .global_indexes
            .iter()
            .find(|i| i.keyspace == target.keyspace && i.creating)?
            .clone();
        Some((table, index))
    }

    fn backfill(&self, target: &BackfillTarget) -> Result<()> {
        const CHUNK: usize = 256;
        let progress_key = target.keyspace.as_bytes().to_vec();
        let mut start = match self.store.get(BACKFILL_KEYSPACE, &progress_key)? {
            Some(last) => std::ops::Bound::Excluded(last),
            None => std::ops::Bound::Unbounded,
        };
        loop {
            let Some((table, _)) = self.backfill_table(target) else {
                return self.forget_backfill(&progress_key);
            };
            let keys: Vec<Vec<u8>> = self
                .store
                .range(
                    &table.meta.keyspace,
                    crate::storage::KeyRange {
                        start: start.clone(),
                        end: std::ops::Bound::Unbounded,
                    },
                    false,
                )?
                .take(CHUNK)
                .map(|kv| kv.map(|(k, _)| k))
                .collect::<std::result::Result<_, _>>()?;
            let Some(last) = keys.last().cloned() else {
                break;
            };
            for key in keys {
                let _schema = self.schema_lock.read();
                let Some((table, index)) = self.backfill_table(target) else {
                    return self.forget_backfill(&progress_key);
                };
                let _item = self.lock_item(&table.meta.keyspace, &key);
                let Some(item) = self.read_stored(&table.meta.keyspace, &key)? else {
                    continue;
                };
                // Items whose index key has the wrong type or size are skipped, as
                // DynamoDB's backfill reports them as violations instead of indexing them.
                if let Some(entry) = indexes::entry_key(&index, &key, &item) {
                    let projected = indexes::project(&index, &table.meta.key_schema, &item);
                    let value = crate::model::codec::encode_item(&projected);
                    let existed = self.store.get(&index.keyspace, &entry)?.is_some();
                    self.store.apply(vec![crate::storage::Op::Put {
                        keyspace: index.keyspace.clone(),
                        key: entry,
                        value,
                    }])?;
                    if !existed {
                        if let Some(stats) = table.index_stats(&index.name) {
                            stats.add(1, crate::model::item_size(&projected) as i64);
                        }
                    }
                }
            }
            self.store.apply(vec![crate::storage::Op::Put {
                keyspace: BACKFILL_KEYSPACE.into(),
                key: progress_key.clone(),
                value: last.clone(),
            }])?;
            start = std::ops::Bound::Excluded(last);
        }
        let _schema = self.schema_lock.write();
        if self.backfill_table(target).is_some() {
            self.catalog.update(
                self.store.as_ref(),
                &target.table,
                &target.table_id,
                |meta| {
                    if let Some(index) = meta
                        .global_indexes
                        .iter_mut()
                        .find(|i| i.keyspace == target.keyspace)
                    {
                        index.creating = false;
                    }
                    Ok(())
                },
            )?;
        }
        self.forget_backfill(&progress_key)
    }

    fn forget_backfill(&self, progress_key: &[u8]) -> Result<()> {
        self.store.apply(vec![crate::storage::Op::Delete {
            keyspace: BACKFILL_KEYSPACE.into(),
            key: progress_key.to_vec(),
        }])?;
        Ok(())
    }

    pub fn delete_table(&self, input: TableNameInput) -> Result<TableDescription> {
        let _schema = self.schema_lock.write();
        let table = self.table(&input.table_name)?;
        if table.meta.restore.is_some() || table.meta.import.is_some() {
            return Err(Error::ResourceInUse(format!(
                "Attempt to change a resource which is still in use: Table is being {}: {}",
                if table.meta.import.is_some() {
                    "imported"
                } else {
                    "restored"
                },
                table.meta.name
            )));
        }
        if self.backups.backing_up(&table.meta.id) {
            return Err(Error::ResourceInUse(format!(
                "Attempt to change a resource which is still in use: Table is being backed up: {}",
                table.meta.name
            )));
        }
        if table.meta.deletion_protection {
            return Err(Error::validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
            ));
        }
        let table = self.catalog.remove(self.store.as_ref(), &table.meta.name)?;
        if table.meta.pitr.is_some() {
            self.drop_orphan_bases()?;
        }
        let mut desc = self.describe(&table);
        desc.table_status = "DELETING".into();
        Ok(desc)
    }

    pub fn describe_limits(&self) -> DescribeLimitsOutput {
        let l = &self.config.limits;
        DescribeLimitsOutput {
            account_max_read_capacity_units: l.account_max_read,
            account_max_write_capacity_units: l.account_max_write,
            table_max_read_capacity_units: l.table_max_read,
            table_max_write_capacity_units: l.table_max_write,
        }
    }

    /// Provisioned throughput of a table (or of its GSI `index`) stays within the per-table
    /// quota.
    fn check_quota(&self, index: Option<&str>, read: i64, write: i64) -> Result<()> {
        let l = &self.config.limits;
        let over = [
            ("ReadCapacityUnits", read, l.table_max_read),
            ("WriteCapacityUnits", write, l.table_max_write),
        ]
        .into_iter()
        .find(|(_, asked, max)| asked > max);
        let Some((member, asked, max)) = over else {
            return Ok(());
        };
        let region = &self.config.region;
        let (what, of) = match index {
            None => (format!("{member}, {asked}"), "table"),
            Some(i) => (format!("{member} for index {i}, {asked}"), "index"),
        };
        Err(Error::LimitExceeded(format!(
            "The requested {what}, is above the per {of} maximum for the account in {region}. Per {of} maximum: {max}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        )))
    }

    pub fn describe_endpoints(&self, address: &str) -> Vec<Endpoint> {
        vec![Endpoint {
            address: address.to_string(),
            cache_period_in_minutes: 1440,
        }]
    }

    /// Resolves a table ARN of this server's region and account.
    fn table_by_arn(&self, arn: &Option<String>) -> Result<std::sync::Arc<Table>> {
        let arn = required(arn, "resourceArn")?;
        let prefix = format!(
            "arn:aws:dynamodb:{}:{}:table/",
            self.config.region, self.config.account_id
        );
        if !arn.starts_with("arn:") {
            return Err(Error::validation(format!(
                "One or more parameter values were invalid: ARNs must start with 'arn:': {arn}"
            )));
        }
        // Another account or region's table is not here: not found, as DynamoDB answers
        // for a table it does not have.
        let rest = arn
            .strip_prefix(&prefix)
            .ok_or_else(|| resource_arn_not_found(arn))?;
        let name = match rest.split_once('/') {
            None => rest,
            Some(_) => {
                return Err(Error::validation(format!(
                    "One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}"
                )))
            }
        };
        self.catalog
            .get(name)
            .ok_or_else(|| resource_arn_not_found(arn))
    }

    /// A table deleted while a tagging call ran is reported as its ARN not found.
    fn arn_not_found(&self, e: Error, arn: &Option<String>) -> Error {
        match e {
            Error::ResourceNotFound(_) => resource_arn_not_found(arn.as_deref().unwrap_or("")),
            other => other,
        }
    }

    pub fn tag_resource(&self, input: TagResourceInput) -> Result<()> {
        let table = self.table_by_arn(&input.resource_arn)?;
        let tags = parse_tags(required(&input.tags, "tags")?)?;
        self.catalog
            .update(
                self.store.as_ref(),
                &table.meta.name,
                &table.meta.id,
                |meta| {
                    meta.tags.extend(tags);
                    if meta.tags.len() > MAX_TAGS {
                        return Err(too_many_tags());
                    }
                    Ok(())
                },
            )
            .map_err(|e| self.arn_not_found(e, &input.resource_arn))?;
        Ok(())
    }

    pub fn untag_resource(&self, input: UntagResourceInput) -> Result<()> {
        let table = self.table_by_arn(&input.resource_arn)?;
        let keys = required(&input.tag_keys, "tagKeys")?;
        if keys.is_empty() {
            return Err(Error::validation(
                "Atleast one Tag Key needs to be provided as Input.",
            ));
        }
        self.catalog
            .update(
                self.store.as_ref(),
                &table.meta.name,
                &table.meta.id,
                |meta| {
                    for k in keys {
                        meta.tags.remove(k);
                    }
                    Ok(())
                },
            )
            .map_err(|e| self.arn_not_found(e, &input.resource_arn))?;
        Ok(())
    }

    pub fn list_tags_of_resource(
        &self,
        input: ListTagsOfResourceInput,
    ) -> Result<ListTagsOfResourceOutput> {
        let table = self.table_by_arn(&input.resource_arn)?;
        Ok(ListTagsOfResourceOutput {
            tags: table
                .meta
                .tags
                .iter()
                .map(|(k, v)| Tag {
                    key: k.clone(),
                    value: Some(v.clone()),
                })
                .collect(),
            next_token: None,
        })
    }
}

fn resource_arn_not_found(arn: &str) -> Error {
    Error::ResourceNotFound(format!(
        "Requested resource not found: ResourcArn: {arn} not found"
    ))
}

/// Where each interrupted GSI backfill stopped: index keyspace → the last base key indexed.
pub const BACKFILL_KEYSPACE: &str = "_backfill";

/// A GSI being backfilled, named by identity (table id, index keyspace), not only by name.
#[derive(Debug, Clone)]
pub(crate) struct BackfillTarget {
    table: String,
    table_id: String,
    index: String,
    keyspace: String,
}

impl BackfillTarget {
    fn of(meta: &TableMeta, index: &IndexMeta) -> BackfillTarget {
        BackfillTarget {
            table: meta.name.clone(),
            table_id: meta.id.clone(),
            index: index.name.clone(),
            keyspace: index.keyspace.clone(),
        }
    }
}
