//! The enum-valued members of item requests, decoded once with DynamoDB's messages.

use crate::error::{Error, Result};

/// `ReturnConsumedCapacity`: NONE (the default), TOTAL or INDEXES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnCapacity {
    #[default]
    None,
    Total,
    Indexes,
}

impl ReturnCapacity {
    pub fn parse(v: Option<&str>) -> Result<Self> {
        match v {
            None | Some("NONE") => Ok(ReturnCapacity::None),
            Some("TOTAL") => Ok(ReturnCapacity::Total),
            Some("INDEXES") => Ok(ReturnCapacity::Indexes),
            Some(other) => Err(enum_error(
                other,
                "returnConsumedCapacity",
                "INDEXES, TOTAL, NONE",
            )),
        }
    }

    /// The value as IAM's `dynamodb:ReturnConsumedCapacity` compares it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnCapacity::None => "NONE",
            ReturnCapacity::Total => "TOTAL",
            ReturnCapacity::Indexes => "INDEXES",
        }
    }
}

/// `ReturnValues` of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnValues {
    #[default]
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    /// Decodes the member; a value of the enum the action does not take (`ALL_NEW` on a
    /// PutItem) is DynamoDB's "Return values set to invalid value".
    pub fn parse(v: Option<&str>, allowed: &[ReturnValues]) -> Result<Self> {
        let rv = match v {
            None | Some("NONE") => ReturnValues::None,
            Some("ALL_OLD") => ReturnValues::AllOld,
            Some("UPDATED_OLD") => ReturnValues::UpdatedOld,
            Some("ALL_NEW") => ReturnValues::AllNew,
            Some("UPDATED_NEW") => ReturnValues::UpdatedNew,
            Some(other) => {
                return Err(enum_error(
                    other,
                    "returnValues",
                    "ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW",
                ))
            }
        };
        if rv != ReturnValues::None && !allowed.contains(&rv) {
            return Err(Error::validation("Return values set to invalid value"));
        }
        Ok(rv)
    }

    /// The value as IAM's `dynamodb:ReturnValues` compares it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnValues::None => "NONE",
            ReturnValues::AllOld => "ALL_OLD",
            ReturnValues::UpdatedOld => "UPDATED_OLD",
            ReturnValues::AllNew => "ALL_NEW",
            ReturnValues::UpdatedNew => "UPDATED_NEW",
        }
    }
}

/// `ReturnValuesOnConditionCheckFailure`: whether a failed condition returns the item.
pub fn parse_return_on_failure(v: Option<&str>) -> Result<bool> {
    flag(v, "ALL_OLD", "returnValuesOnConditionCheckFailure")
}

/// `ReturnItemCollectionMetrics`: whether SIZE metrics are wanted.
pub fn parse_collection_metrics(v: Option<&str>) -> Result<bool> {
    flag(v, "SIZE", "returnItemCollectionMetrics")
}

/// A member of two values: `NONE` (the default) or `yes`.
fn flag(v: Option<&str>, yes: &str, member: &str) -> Result<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some(v) if v == yes => Ok(true),
        Some(other) => Err(enum_error(other, member, &format!("{yes}, NONE"))),
    }
}

/// What a write returns besides its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteReturns {
    pub values: ReturnValues,
    /// `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`.
    pub item_on_failure: bool,
    pub capacity: ReturnCapacity,
    /// `ReturnItemCollectionMetrics` is `SIZE`.
    pub collection_metrics: bool,
}

impl WriteReturns {
    pub fn parse(
        values: Option<&str>,
        allowed: &[ReturnValues],
        on_failure: Option<&str>,
        capacity: Option<&str>,
        collection_metrics: Option<&str>,
    ) -> Result<Self> {
        Ok(WriteReturns {
            values: ReturnValues::parse(values, allowed)?,
            item_on_failure: parse_return_on_failure(on_failure)?,
            capacity: ReturnCapacity::parse(capacity)?,
            collection_metrics: parse_collection_metrics(collection_metrics)?,
        })
    }
}

/// `Select` of a Query or Scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    AllAttributes,
    AllProjected,
    Specific,
    Count,
}

impl Select {
    /// Decodes `Select` against the request's projection and index, with DynamoDB's
    /// defaults (SPECIFIC_ATTRIBUTES with a projection, ALL_PROJECTED_ATTRIBUTES on an
    /// index, else ALL_ATTRIBUTES) and its rules on combining them.
    pub fn parse(select: Option<&str>, has_projection: bool, has_index: bool) -> Result<Select> {
        let s = match select {
            None if has_projection => Select::Specific,
            None if has_index => Select::AllProjected,
            None => Select::AllAttributes,
            Some("ALL_ATTRIBUTES") => Select::AllAttributes,
            Some("ALL_PROJECTED_ATTRIBUTES") => Select::AllProjected,
            Some("SPECIFIC_ATTRIBUTES") => Select::Specific,
            Some("COUNT") => Select::Count,
            Some(other) => {
                return Err(enum_error(
                    other,
                    "select",
                    "SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES",
                ))
            }
        };
        let refuse = |m: &str| Err(Error::validation(m));
        match s {
            Select::Specific if !has_projection => refuse(
                "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
            ),
            Select::AllAttributes if has_projection && select.is_some() => {
                refuse("Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES")
            }
            Select::Count if has_projection => {
                refuse("Cannot specify the ProjectionExpression when choosing to get COUNT")
            }
            Select::AllProjected if !has_index => refuse(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            ),
            Select::AllProjected if has_projection => refuse(
                "Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES",
            ),
            s => Ok(s),
        }
    }

    /// The value as IAM's `dynamodb:Select` compares it.
    pub fn as_str(self) -> &'static str {
        match self {
            Select::AllAttributes => "ALL_ATTRIBUTES",
            Select::AllProjected => "ALL_PROJECTED_ATTRIBUTES",
            Select::Specific => "SPECIFIC_ATTRIBUTES",
            Select::Count => "COUNT",
        }
    }
}

/// `Limit`: at least 1.
pub fn parse_limit(limit: Option<i64>) -> Result<Option<usize>> {
    match limit {
        None => Ok(None),
        Some(l) if l >= 1 => Ok(Some(usize::try_from(l).unwrap_or(usize::MAX))),
        Some(l) => Err(Error::validation(format!(
            "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
    }
}

fn enum_error(value: &str, member: &str, set: &str) -> Error {
    Error::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{set}]"
    ))
}
