//! Auto scaling of provisioned tables and GSIs: Application Auto Scaling's scalable targets
//! and target tracking policies for the `dynamodb` namespace, and the scaler that follows
//! them.
//!
//! The scaler runs once a period (a minute by default, `--autoscaling-period`): for each
//! policy it takes the units consumed in the period against the provisioned units. Above
//! the target for two consecutive periods, it scales out to what would bring utilization
//! back to the target; 20% or more below it for fifteen, it scales in likewise; always
//! within the target's minimum and maximum (Developer Guide, "Managing throughput capacity
//! automatically with DynamoDB auto scaling"; AWS re:Post, "DynamoDB auto scaling"). A
//! change is an UpdateTable, so DynamoDB's limits on decreases hold, and each is recorded as
//! a scaling activity.
//!
//! Targets and policies are stored in the `_autoscaling` keyspace and survive restarts;
//! what the scaler has observed and the activities are kept in memory.

use std::collections::{HashMap, VecDeque};

use keyfall_types::autoscaling::*;
use parking_lot::Mutex;

use super::catalog::{BillingMode, Table};
use super::types::{
    GlobalSecondaryIndexUpdate, ProvisionedThroughput, UpdateGlobalSecondaryIndexAction,
    UpdateTableInput,
};
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::storage::{KeyRange, Op};

pub const KEYSPACE: &str = "_autoscaling";
/// Periods above the target before scaling out, below before scaling in.
const OUT_AFTER: u32 = 2;
const IN_AFTER: u32 = 15;
/// Activities kept per target.
const ACTIVITIES_KEPT: usize = 100;

/// What a scalable dimension scales: the table's or a GSI's reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Dimension {
    table: String,
    index: Option<String>,
    write: bool,
}

impl Dimension {
    fn of(t: &TargetInput) -> Result<Dimension> {
        Dimension::parse(&t.service_namespace, &t.resource_id, &t.scalable_dimension)
    }

    /// `table/T` or `table/T/index/I` with a matching `dynamodb:table:...CapacityUnits` or
    /// `dynamodb:index:...CapacityUnits`.
    fn parse(
        namespace: &Option<String>,
        resource: &Option<String>,
        dim: &Option<String>,
    ) -> Result<Dimension> {
        let unsupported = || {
            Error::validation("Unsupported service namespace, resource type or scalable dimension")
        };
        let (namespace, resource, dim) = match (namespace, resource, dim) {
            (Some(n), Some(r), Some(d)) => (n, r, d),
            _ => return Err(unsupported()),
        };
        if namespace != NAMESPACE {
            return Err(unsupported());
        }
        let parts: Vec<&str> = resource.split('/').collect();
        let (table, index) = match parts.as_slice() {
            ["table", t] => (*t, None),
            ["table", t, "index", i] => (*t, Some(i.to_string())),
            _ => return Err(unsupported()),
        };
        let kind = if index.is_some() { "index" } else { "table" };
        let write = match dim.strip_prefix(&format!("dynamodb:{kind}:")) {
            Some("ReadCapacityUnits") => false,
            Some("WriteCapacityUnits") => true,
            _ => return Err(unsupported()),
        };
        Ok(Dimension {
            table: table.to_string(),
            index,
            write,
        })
    }

    fn units(&self) -> &'static str {
        if self.write {
            "write"
        } else {
            "read"
        }
    }
}

fn key(kind: &str, resource: &str, dim: &str, name: &str) -> Vec<u8> {
    format!("{kind}\0{resource}\0{dim}\0{name}").into_bytes()
}

fn not_found(what: &str, t: &TargetInput) -> Error {
    let mut message = format!(
        "No {what} found for service namespace: {}, resource ID: {}, scalable dimension: {}",
        t.service_namespace.as_deref().unwrap_or_default(),
        t.resource_id.as_deref().unwrap_or_default(),
        t.scalable_dimension.as_deref().unwrap_or_default(),
    );
    if let Some(name) = &t.policy_name {
        message.push_str(&format!(", policy name: {name}"));
    }
    Error::Other {
        name: "ObjectNotFoundException",
        message,
    }
}

/// What the scaler remembers of one policy between periods.
#[derive(Debug, Default)]
struct Tracker {
    /// The dimension's consumed units (since start) at the last period, and when.
    consumed: Option<(f64, std::time::Instant)>,
    above: u32,
    below: u32,
}

/// The scaler's memory: trackers by policy key, activities by target.
#[derive(Debug, Default)]
pub struct Scaler {
    trackers: Mutex<HashMap<Vec<u8>, Tracker>>,
    activities: Mutex<HashMap<(String, String), VecDeque<ScalingActivity>>>,
}

impl Engine {
    fn stored<T: serde::de::DeserializeOwned>(&self, prefix: &str) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        for kv in self.store.range(KEYSPACE, KeyRange::all(), false)? {
            let (k, v) = kv?;
            if !k.starts_with(prefix.as_bytes()) {
                continue;
            }
            let value = serde_json::from_slice(&v)
                .map_err(|e| Error::Internal(format!("auto scaling record is corrupt: {e}")))?;
            out.push((k, value));
        }
        Ok(out)
    }

    fn put_record(&self, key: Vec<u8>, value: &impl serde::Serialize) -> Result<()> {
        let value = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
        self.store.apply(vec![Op::Put {
            keyspace: KEYSPACE.into(),
            key,
            value,
        }])?;
        Ok(())
    }

    fn target_of(&self, dim: &Dimension, t: &TargetInput) -> Result<ScalableTarget> {
        let resource = t.resource_id.as_deref().unwrap_or_default();
        let d = t.scalable_dimension.as_deref().unwrap_or_default();
        let _ = dim;
        match self.store.get(KEYSPACE, &key("target", resource, d, ""))? {
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| Error::Internal(format!("auto scaling record is corrupt: {e}"))),
            None => Err(not_found(
                "scalable target",
                &TargetInput {
                    policy_name: None,
                    ..t.clone()
                },
            )),
        }
    }

    /// The provisioned table (or GSI) a dimension scales, and its units now.
    fn scaled(&self, dim: &Dimension) -> Result<(std::sync::Arc<Table>, i64)> {
        let table = self.catalog.get(&dim.table).ok_or_else(|| {
            Error::validation(format!(
                "Requested resource not found: Table: {} not found",
                dim.table
            ))
        })?;
        if table.meta.billing_mode != BillingMode::Provisioned {
            return Err(Error::validation(format!(
                "Table {} is not in PROVISIONED billing mode: on-demand tables are not scaled",
                dim.table
            )));
        }
        let (read, write) = match &dim.index {
            None => (table.meta.read_capacity, table.meta.write_capacity),
            Some(i) => {
                let index = table
                    .meta
                    .global_indexes
                    .iter()
                    .find(|g| &g.name == i)
                    .ok_or_else(|| {
                        Error::validation(format!(
                            "Requested resource not found: Index: {i} not found for table: {}",
                            dim.table
                        ))
                    })?;
                (index.read_capacity, index.write_capacity)
            }
        };
        Ok((table, if dim.write { write } else { read }))
    }

    pub fn register_scalable_target(
        &self,
        input: RegisterScalableTargetInput,
    ) -> Result<RegisterScalableTargetOutput> {
        let dim = Dimension::parse(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        )?;
        let (resource, d) = (
            input.resource_id.clone().unwrap_or_default(),
            input.scalable_dimension.clone().unwrap_or_default(),
        );
        let existing: Option<ScalableTarget> = self
            .store
            .get(KEYSPACE, &key("target", &resource, &d, ""))?
            .and_then(|v| serde_json::from_slice(&v).ok());
        let min = input
            .min_capacity
            .or(existing.as_ref().map(|t| t.min_capacity));
        let max = input
            .max_capacity
            .or(existing.as_ref().map(|t| t.max_capacity));
        let (Some(min), Some(max)) = (min, max) else {
            return Err(Error::validation(
                "MinCapacity and MaxCapacity are required for registering a new scalable target",
            ));
        };
        if min < 1 || max < min {
            return Err(Error::validation(format!(
                "Maximum capacity cannot be less than minimum capacity, and both must be at least 1 (MinCapacity: {min}, MaxCapacity: {max})"
            )));
        }
        let (_, current) = self.scaled(&dim)?;
        let arn = existing.as_ref().map_or_else(
            || {
                format!(
                    "arn:aws:application-autoscaling:{}:{}:scalable-target/{}",
                    self.config.region,
                    self.config.account_id,
                    uuid::Uuid::new_v4().simple()
                )
            },
            |t| t.scalable_target_arn.clone(),
        );
        let target = ScalableTarget {
            service_namespace: NAMESPACE.into(),
            resource_id: resource,
            scalable_dimension: d,
            min_capacity: min,
            max_capacity: max,
            role_arn: input.role_arn.clone().unwrap_or_else(|| {
                format!(
                    "arn:aws:iam::{}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable",
                    self.config.account_id
                )
            }),
            creation_time: existing.as_ref().map_or_else(now_epoch_seconds, |t| t.creation_time),
            scalable_target_arn: arn.clone(),
        };
        self.put_record(
            key(
                "target",
                &target.resource_id,
                &target.scalable_dimension,
                "",
            ),
            &target,
        )?;
        // A capacity outside the new bounds is brought inside them at once.
        let (wanted, cause) = if current < min {
            (min, format!("minimum capacity was set to {min}"))
        } else if current > max {
            (max, format!("maximum capacity was set to {max}"))
        } else {
            return Ok(RegisterScalableTargetOutput {
                scalable_target_arn: arn,
            });
        };
        self.scale(&dim, &target, wanted, cause);
        Ok(RegisterScalableTargetOutput {
            scalable_target_arn: arn,
        })
    }

    pub fn describe_scalable_targets(
        &self,
        input: DescribeInput,
    ) -> Result<DescribeScalableTargetsOutput> {
        check_namespace(&input.service_namespace)?;
        let targets: Vec<ScalableTarget> = self
            .stored::<ScalableTarget>("target\0")?
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| {
                input
                    .resource_ids
                    .as_ref()
                    .is_none_or(|ids| ids.is_empty() || ids.contains(&t.resource_id))
                    && input
                        .scalable_dimension
                        .as_ref()
                        .is_none_or(|d| d == &t.scalable_dimension)
            })
            .collect();
        let (scalable_targets, next_token) = page(targets, &input)?;
        Ok(DescribeScalableTargetsOutput {
            scalable_targets,
            next_token,
        })
    }

    pub fn deregister_scalable_target(&self, input: TargetInput) -> Result<Empty> {
        let dim = Dimension::of(&input)?;
        let target = self.target_of(&dim, &input)?;
        let mut ops = vec![Op::Delete {
            keyspace: KEYSPACE.into(),
            key: key(
                "target",
                &target.resource_id,
                &target.scalable_dimension,
                "",
            ),
        }];
        // Its policies go with it, as in Application Auto Scaling.
        let prefix = String::from_utf8_lossy(&key(
            "policy",
            &target.resource_id,
            &target.scalable_dimension,
            "",
        ))
        .into_owned();
        for (k, _) in self.stored::<ScalingPolicy>(&prefix)? {
            ops.push(Op::Delete {
                keyspace: KEYSPACE.into(),
                key: k,
            });
        }
        self.store.apply(ops)?;
        Ok(Empty {})
    }

    pub fn put_scaling_policy(
        &self,
        input: PutScalingPolicyInput,
    ) -> Result<PutScalingPolicyOutput> {
        let name = match input.policy_name.as_deref() {
            Some(n) if (1..=256).contains(&n.len()) => n.to_string(),
            _ => {
                return Err(Error::validation(
                    "1 validation error detected: Value at 'policyName' failed to satisfy constraint: Member must have length between 1 and 256",
                ))
            }
        };
        let dim = Dimension::parse(
            &input.service_namespace,
            &input.resource_id,
            &input.scalable_dimension,
        )?;
        match input.policy_type.as_deref() {
            None | Some("TargetTrackingScaling") => {}
            Some(t @ ("StepScaling" | "PredictiveScaling")) => {
                return Err(Error::validation(format!(
                    "{t} policies are not supported for DynamoDB: use TargetTrackingScaling"
                )))
            }
            Some(other) => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set: [PredictiveScaling, StepScaling, TargetTrackingScaling]"
                )))
            }
        }
        let config = input
            .target_tracking_scaling_policy_configuration
            .clone()
            .ok_or_else(|| {
                Error::validation(
                    "TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy",
                )
            })?;
        // Developer Guide: "target utilization values between 20 and 90 percent".
        if !(20.0..=90.0).contains(&config.target_value) {
            return Err(Error::validation(format!(
                "The target value for DynamoDB must be between 20 and 90 percent, got {}",
                config.target_value
            )));
        }
        let expected = if dim.write {
            "DynamoDBWriteCapacityUtilization"
        } else {
            "DynamoDBReadCapacityUtilization"
        };
        match &config.predefined_metric_specification {
            Some(m) if m.predefined_metric_type == expected => {}
            _ => {
                return Err(Error::validation(format!(
                    "Only the predefined metric {expected} can track {}",
                    input.scalable_dimension.as_deref().unwrap_or_default()
                )))
            }
        }
        let target = self.target_of(
            &dim,
            &TargetInput {
                service_namespace: input.service_namespace.clone(),
                resource_id: input.resource_id.clone(),
                scalable_dimension: input.scalable_dimension.clone(),
                policy_name: None,
            },
        )
        .map_err(|_| Error::Other {
            name: "ObjectNotFoundException",
            message: format!(
                "No scalable target registered for service namespace: {NAMESPACE}, resource ID: {}, scalable dimension: {}",
                input.resource_id.as_deref().unwrap_or_default(),
                input.scalable_dimension.as_deref().unwrap_or_default()
            ),
        })?;
        let (region, account) = (&self.config.region, &self.config.account_id);
        let id = uuid::Uuid::new_v4();
        let policy_arn = format!(
            "arn:aws:autoscaling:{region}:{account}:scalingPolicy:{id}:resource/{NAMESPACE}/{}:policyName/{name}",
            target.resource_id
        );
        let alarm = |kind: &str| {
            let alarm_name = format!(
                "TargetTracking-{}-{kind}-{}",
                target.resource_id,
                uuid::Uuid::new_v4()
            );
            Alarm {
                alarm_arn: format!("arn:aws:cloudwatch:{region}:{account}:alarm:{alarm_name}"),
                alarm_name,
            }
        };
        let policy = ScalingPolicy {
            policy_arn: policy_arn.clone(),
            policy_name: name.clone(),
            service_namespace: NAMESPACE.into(),
            resource_id: target.resource_id.clone(),
            scalable_dimension: target.scalable_dimension.clone(),
            policy_type: "TargetTrackingScaling".into(),
            target_tracking_scaling_policy_configuration: config,
            alarms: [
                "AlarmHigh",
                "AlarmLow",
                "ProvisionedCapacityHigh",
                "ProvisionedCapacityLow",
            ]
            .into_iter()
            .map(alarm)
            .collect(),
            creation_time: now_epoch_seconds(),
        };
        let k = key(
            "policy",
            &policy.resource_id,
            &policy.scalable_dimension,
            &name,
        );
        self.put_record(k.clone(), &policy)?;
        self.scaler.trackers.lock().remove(&k);
        Ok(PutScalingPolicyOutput {
            policy_arn,
            alarms: policy.alarms,
        })
    }

    pub fn describe_scaling_policies(
        &self,
        input: DescribeInput,
    ) -> Result<DescribeScalingPoliciesOutput> {
        check_namespace(&input.service_namespace)?;
        let policies: Vec<ScalingPolicy> = self
            .stored::<ScalingPolicy>("policy\0")?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| {
                input
                    .resource_id
                    .as_ref()
                    .is_none_or(|r| r == &p.resource_id)
                    && input
                        .scalable_dimension
                        .as_ref()
                        .is_none_or(|d| d == &p.scalable_dimension)
                    && input
                        .policy_names
                        .as_ref()
                        .is_none_or(|n| n.is_empty() || n.contains(&p.policy_name))
            })
            .collect();
        let (scaling_policies, next_token) = page(policies, &input)?;
        Ok(DescribeScalingPoliciesOutput {
            scaling_policies,
            next_token,
        })
    }

    pub fn delete_scaling_policy(&self, input: TargetInput) -> Result<Empty> {
        Dimension::of(&input)?;
        let k = key(
            "policy",
            input.resource_id.as_deref().unwrap_or_default(),
            input.scalable_dimension.as_deref().unwrap_or_default(),
            input.policy_name.as_deref().unwrap_or_default(),
        );
        if self.store.get(KEYSPACE, &k)?.is_none() {
            return Err(not_found("scaling policy", &input));
        }
        self.store.apply(vec![Op::Delete {
            keyspace: KEYSPACE.into(),
            key: k.clone(),
        }])?;
        self.scaler.trackers.lock().remove(&k);
        Ok(Empty {})
    }

    pub fn describe_scaling_activities(
        &self,
        input: DescribeInput,
    ) -> Result<DescribeScalingActivitiesOutput> {
        check_namespace(&input.service_namespace)?;
        let mut activities: Vec<ScalingActivity> = self
            .scaler
            .activities
            .lock()
            .iter()
            .filter(|((r, d), _)| {
                input.resource_id.as_ref().is_none_or(|x| x == r)
                    && input.scalable_dimension.as_ref().is_none_or(|x| x == d)
            })
            .flat_map(|(_, a)| a.iter().cloned())
            .collect();
        // Newest first, as Application Auto Scaling lists them.
        activities.sort_by(|a, b| b.start_time.total_cmp(&a.start_time));
        let (scaling_activities, next_token) = page(activities, &input)?;
        Ok(DescribeScalingActivitiesOutput {
            scaling_activities,
            next_token,
        })
    }

    /// One period of the scaler: every target tracking policy compares the units its
    /// dimension consumed since the last period, per second, with what is provisioned.
    pub fn autoscale(&self) -> Result<usize> {
        let mut changes = 0;
        for (k, policy) in self.stored::<ScalingPolicy>("policy\0")? {
            let input = TargetInput {
                service_namespace: Some(policy.service_namespace.clone()),
                resource_id: Some(policy.resource_id.clone()),
                scalable_dimension: Some(policy.scalable_dimension.clone()),
                policy_name: None,
            };
            let Ok(dim) = Dimension::of(&input) else {
                continue;
            };
            let (Ok(target), Ok((table, current))) =
                (self.target_of(&dim, &input), self.scaled(&dim))
            else {
                continue;
            };
            let consumed = consumed_units(&table, &dim);
            let config = &policy.target_tracking_scaling_policy_configuration;
            let wanted = {
                let mut trackers = self.scaler.trackers.lock();
                let tracker = trackers.entry(k).or_default();
                let now = std::time::Instant::now();
                let Some((before, at)) = tracker.consumed.replace((consumed, now)) else {
                    continue;
                };
                let elapsed = now.saturating_duration_since(at).as_secs_f64();
                let rate = (consumed - before).max(0.0) / elapsed.max(1e-3);
                let utilization = 100.0 * rate / current.max(1) as f64;
                // What brings utilization back to the target.
                let fit = ((rate * 100.0 / config.target_value).ceil() as i64)
                    .clamp(target.min_capacity, target.max_capacity);
                if utilization > config.target_value {
                    tracker.above += 1;
                    tracker.below = 0;
                } else if utilization < config.target_value * 0.8 {
                    tracker.below += 1;
                    tracker.above = 0;
                } else {
                    (tracker.above, tracker.below) = (0, 0);
                }
                let scale_in = !config.disable_scale_in.unwrap_or(false);
                if tracker.above >= OUT_AFTER && fit > current {
                    (tracker.above, tracker.below) = (0, 0);
                    Some((fit, utilization, "AlarmHigh"))
                } else if scale_in && tracker.below >= IN_AFTER && fit < current {
                    (tracker.above, tracker.below) = (0, 0);
                    Some((fit, utilization, "AlarmLow"))
                } else {
                    None
                }
            };
            if let Some((units, utilization, alarm)) = wanted {
                let alarm_name = policy
                    .alarms
                    .iter()
                    .find(|a| a.alarm_name.contains(alarm))
                    .map_or(alarm, |a| a.alarm_name.as_str());
                let cause = format!(
                    "monitor alarm {alarm_name} in state ALARM triggered policy {} (utilization {utilization:.0}%)",
                    policy.policy_name
                );
                if self.scale(&dim, &target, units, cause) {
                    changes += 1;
                }
            }
        }
        Ok(changes)
    }

    /// Sets the dimension to `units` with UpdateTable and records the activity; whether it
    /// was done.
    fn scale(&self, dim: &Dimension, target: &ScalableTarget, units: i64, cause: String) -> bool {
        let start = now_epoch_seconds();
        let result = self.set_units(dim, units);
        let what = dim.units();
        let (status, message) = match &result {
            Ok(()) => (
                "Successful",
                format!("Successfully set {what} capacity units to {units}. Change successfully fulfilled by dynamodb."),
            ),
            Err(e) => ("Failed", format!("Failed to set {what} capacity units to {units}. Reason: {e}")),
        };
        let activity = ScalingActivity {
            activity_id: uuid::Uuid::new_v4().to_string(),
            service_namespace: NAMESPACE.into(),
            resource_id: target.resource_id.clone(),
            scalable_dimension: target.scalable_dimension.clone(),
            description: format!("Setting {what} capacity units to {units}."),
            cause,
            start_time: start,
            end_time: now_epoch_seconds(),
            status_code: status.into(),
            status_message: message,
        };
        let mut activities = self.scaler.activities.lock();
        let kept = activities
            .entry((
                target.resource_id.clone(),
                target.scalable_dimension.clone(),
            ))
            .or_default();
        kept.push_back(activity);
        while kept.len() > ACTIVITIES_KEPT {
            kept.pop_front();
        }
        result.is_ok()
    }

    fn set_units(&self, dim: &Dimension, units: i64) -> Result<()> {
        let (table, _) = self.scaled(dim)?;
        let meta = &table.meta;
        let mut input = UpdateTableInput {
            table_name: Some(dim.table.clone()),
            ..Default::default()
        };
        match &dim.index {
            None => {
                let (r, w) = match dim.write {
                    true => (meta.read_capacity, units),
                    false => (units, meta.write_capacity),
                };
                input.provisioned_throughput = Some(ProvisionedThroughput {
                    read_capacity_units: Some(r),
                    write_capacity_units: Some(w),
                });
            }
            Some(i) => {
                let index = meta.global_indexes.iter().find(|g| &g.name == i);
                let (r, w) = index.map_or((1, 1), |g| (g.read_capacity, g.write_capacity));
                let (r, w) = if dim.write { (r, units) } else { (units, w) };
                input.global_secondary_index_updates = Some(vec![GlobalSecondaryIndexUpdate {
                    update: Some(UpdateGlobalSecondaryIndexAction {
                        index_name: i.clone(),
                        provisioned_throughput: Some(ProvisionedThroughput {
                            read_capacity_units: Some(r),
                            write_capacity_units: Some(w),
                        }),
                        on_demand_throughput: None,
                    }),
                    ..Default::default()
                }]);
            }
        }
        self.update_table(input).map(|_| ())
    }
}

/// The units a dimension's table or GSI consumed since the server started.
fn consumed_units(table: &Table, dim: &Dimension) -> f64 {
    let stats = match &dim.index {
        None => Some(table.stats.as_ref()),
        Some(i) => table.index_stats(i),
    };
    let (read, write) = stats.map_or((0.0, 0.0), |s| s.consumed());
    if dim.write {
        write
    } else {
        read
    }
}

fn check_namespace(namespace: &Option<String>) -> Result<()> {
    match namespace.as_deref() {
        Some(NAMESPACE) => Ok(()),
        _ => Err(Error::validation(
            "Unsupported service namespace, resource type or scalable dimension",
        )),
    }
}

/// One page of `all`: `MaxResults` (at most 50, the default) from `NextToken` (an offset).
fn page<T: Clone>(all: Vec<T>, input: &DescribeInput) -> Result<(Vec<T>, Option<String>)> {
    let limit = match input.max_results {
        None => 50,
        Some(m) if (1..=50).contains(&m) => m as usize,
        Some(m) => {
            return Err(Error::validation(format!(
                "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"
            )))
        }
    };
    let invalid = || Error::Other {
        name: "InvalidNextTokenException",
        message: "Invalid token".into(),
    };
    super::paging::page(&all, limit, input.next_token.as_deref(), invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_and_dimensions_name_what_they_scale() {
        let s = |v: &str| Some(v.to_string());
        let cases = [
            (
                "table/T",
                "dynamodb:table:WriteCapacityUnits",
                Some(("T", None, true)),
            ),
            (
                "table/T",
                "dynamodb:table:ReadCapacityUnits",
                Some(("T", None, false)),
            ),
            (
                "table/T/index/I",
                "dynamodb:index:ReadCapacityUnits",
                Some(("T", Some("I"), false)),
            ),
            // A table's dimension on an index, and the other way round.
            ("table/T/index/I", "dynamodb:table:ReadCapacityUnits", None),
            ("table/T", "dynamodb:index:WriteCapacityUnits", None),
            ("table/T/extra", "dynamodb:table:ReadCapacityUnits", None),
            ("service/T", "dynamodb:table:ReadCapacityUnits", None),
            ("table/T", "dynamodb:table:Nope", None),
        ];
        for (resource, dim, expected) in cases {
            let got = Dimension::parse(&s(NAMESPACE), &s(resource), &s(dim)).ok();
            let expected = expected.map(|(t, i, w): (&str, Option<&str>, bool)| Dimension {
                table: t.into(),
                index: i.map(str::to_string),
                write: w,
            });
            assert_eq!(got, expected, "{resource} {dim}");
        }
        let other = Dimension::parse(
            &s("ecs"),
            &s("table/T"),
            &s("dynamodb:table:ReadCapacityUnits"),
        );
        assert!(other.is_err());
    }
}
