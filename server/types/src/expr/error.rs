//! The one error type of the expression module. Its `Display` is exactly the message DynamoDB
//! puts in the `ValidationException` for the same request (checked against DynamoDB Local).

use std::fmt;

/// Which expression parameter an error belongs to; DynamoDB prefixes parse-time messages with
/// `Invalid <Kind>: `.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Condition,
    Update,
    Projection,
    Filter,
    KeyCondition,
}

impl ExprKind {
    pub fn parameter(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
        }
    }
}

/// A ValidationException raised by parsing, validating or applying an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprError {
    /// A problem inside one expression string: rendered `Invalid <Kind>: <detail>`.
    Invalid { kind: ExprKind, detail: String },
    /// A message DynamoDB sends without any prefix (request-wide rules, runtime errors).
    Plain(String),
}

impl ExprError {
    pub(crate) fn invalid(kind: ExprKind, detail: impl Into<String>) -> Self {
        ExprError::Invalid {
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn plain(msg: impl Into<String>) -> Self {
        ExprError::Plain(msg.into())
    }

    /// "The provided expression refers to an attribute that does not exist in the item"
    pub(crate) fn missing_attribute() -> Self {
        Self::plain(
            "The provided expression refers to an attribute that does not exist in the item",
        )
    }

    /// "The document path provided in the update expression is invalid for update"
    pub(crate) fn invalid_update_path() -> Self {
        Self::plain("The document path provided in the update expression is invalid for update")
    }

    /// "An operand in the update expression has an incorrect data type"
    pub(crate) fn wrong_operand_type() -> Self {
        Self::plain("An operand in the update expression has an incorrect data type")
    }

    /// The `Invalid…Expression:` detail, or the whole message for unprefixed errors.
    pub fn detail(&self) -> &str {
        match self {
            ExprError::Invalid { detail, .. } => detail,
            ExprError::Plain(m) => m,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExprError::Invalid { kind, detail } => {
                write!(f, "Invalid {}: {}", kind.parameter(), detail)
            }
            ExprError::Plain(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ExprError {}

impl From<crate::model::NumberError> for ExprError {
    fn from(e: crate::model::NumberError) -> Self {
        ExprError::Plain(e.to_string())
    }
}
