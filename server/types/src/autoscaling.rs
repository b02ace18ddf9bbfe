//! Application Auto Scaling's JSON API (`AnyScaleFrontendService`, API version 2016-02-06),
//! the subset the AWS CLI and SDKs use for DynamoDB: scalable targets, target tracking
//! policies and scaling activities. Served beside DynamoDB's API on the same port.

use serde::{Deserialize, Serialize};

/// The only service namespace served.
pub const NAMESPACE: &str = "dynamodb";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterScalableTargetInput {
    pub service_namespace: Option<String>,
    pub resource_id: Option<String>,
    pub scalable_dimension: Option<String>,
    pub min_capacity: Option<i64>,
    pub max_capacity: Option<i64>,
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    pub suspended_state: Option<serde_json::Value>,
    pub tags: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterScalableTargetOutput {
    #[serde(rename = "ScalableTargetARN")]
    pub scalable_target_arn: String,
}

/// A registered scalable target, as stored and as DescribeScalableTargets lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalableTarget {
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub min_capacity: i64,
    pub max_capacity: i64,
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    pub creation_time: f64,
    #[serde(rename = "ScalableTargetARN")]
    pub scalable_target_arn: String,
}

/// Which targets (or policies, or activities) a Describe call asks for.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    pub service_namespace: Option<String>,
    pub resource_ids: Option<Vec<String>>,
    pub resource_id: Option<String>,
    pub scalable_dimension: Option<String>,
    pub policy_names: Option<Vec<String>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub include_not_scaled_activities: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalableTargetsOutput {
    pub scalable_targets: Vec<ScalableTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A target (or a policy of it) by name: DeregisterScalableTarget, DeleteScalingPolicy.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetInput {
    pub service_namespace: Option<String>,
    pub resource_id: Option<String>,
    pub scalable_dimension: Option<String>,
    pub policy_name: Option<String>,
}

/// An empty answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PredefinedMetricSpecification {
    pub predefined_metric_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetTrackingConfiguration {
    pub target_value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetricSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutScalingPolicyInput {
    pub policy_name: Option<String>,
    pub service_namespace: Option<String>,
    pub resource_id: Option<String>,
    pub scalable_dimension: Option<String>,
    pub policy_type: Option<String>,
    pub target_tracking_scaling_policy_configuration: Option<TargetTrackingConfiguration>,
    pub step_scaling_policy_configuration: Option<serde_json::Value>,
    pub predictive_scaling_policy_configuration: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    #[serde(rename = "AlarmARN")]
    pub alarm_arn: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutScalingPolicyOutput {
    #[serde(rename = "PolicyARN")]
    pub policy_arn: String,
    pub alarms: Vec<Alarm>,
}

/// A target tracking policy, as stored and as DescribeScalingPolicies lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingPolicy {
    #[serde(rename = "PolicyARN")]
    pub policy_arn: String,
    pub policy_name: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub policy_type: String,
    pub target_tracking_scaling_policy_configuration: TargetTrackingConfiguration,
    pub alarms: Vec<Alarm>,
    pub creation_time: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalingPoliciesOutput {
    pub scaling_policies: Vec<ScalingPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A change the scaler made, or tried to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingActivity {
    pub activity_id: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub description: String,
    pub cause: String,
    pub start_time: f64,
    pub end_time: f64,
    /// `Successful` or `Failed`.
    pub status_code: String,
    pub status_message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalingActivitiesOutput {
    pub scaling_activities: Vec<ScalingActivity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
