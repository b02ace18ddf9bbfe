//! The engine's error: one variant per DynamoDB error the engine can produce. Each API
//! boundary maps it once (`api::json::error`, `api::grpc::status`).

use crate::model::{Item, KeyError, NumberError, ValueError};
use crate::types::{CancellationReason, ThrottlingReason};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("The conditional request failed")]
    ConditionalCheckFailed { item: Option<Item> },
    #[error("{0}")]
    LimitExceeded(String),
    /// A request throttled: `name` is `ProvisionedThroughputExceededException` (provisioned
    /// or key-range throughput), `ThrottlingException` (an on-demand maximum) or
    /// `RequestLimitExceeded` (the per-table quota); `reasons` says which resource and why.
    #[error("{message}")]
    Throttled {
        name: &'static str,
        message: String,
        reasons: Vec<ThrottlingReason>,
    },
    #[error("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", "))]
    TransactionCanceled { reasons: Vec<CancellationReason> },
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    #[error("{0}")]
    ItemCollectionSizeLimitExceeded(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    TrimmedDataAccess(String),
    /// A DynamoDB action Keyfall does not implement yet.
    #[error("{0} is not implemented by Keyfall yet")]
    Unimplemented(&'static str),
    #[error("internal server error: {0}")]
    Internal(String),
    /// Another DynamoDB error, by its name in the shared error table: one the engine does
    /// not make itself but a front end passes on unchanged (keyfall-dax relaying the
    /// server's `ThrottlingException`, say).
    #[error("{message}")]
    Other { name: &'static str, message: String },
}

impl Error {
    /// DynamoDB's name for the error (the `__type` suffix and `x-amzn-errortype`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Error::Validation(_) => "ValidationException",
            Error::ResourceNotFound(_) => "ResourceNotFoundException",
            Error::ResourceInUse(_) => "ResourceInUseException",
            Error::ConditionalCheckFailed { .. } => "ConditionalCheckFailedException",
            Error::LimitExceeded(_) => "LimitExceededException",
            Error::Throttled { name, .. } => name,
            Error::TransactionCanceled { .. } => "TransactionCanceledException",
            Error::IdempotentParameterMismatch(_) => "IdempotentParameterMismatchException",
            Error::ItemCollectionSizeLimitExceeded(_) => "ItemCollectionSizeLimitExceededException",
            Error::ExpiredIterator(_) => "ExpiredIteratorException",
            Error::TrimmedDataAccess(_) => "TrimmedDataAccessException",
            Error::Unimplemented(_) => "UnknownOperationException",
            Error::Internal(_) => "InternalServerError",
            Error::Other { name, .. } => name,
        }
    }

    pub fn validation(msg: impl Into<String>) -> Self {
        Error::Validation(msg.into())
    }

    pub fn table_not_found() -> Self {
        Error::ResourceNotFound("Requested resource not found".into())
    }
}

/// Expression errors are DynamoDB's ValidationException messages.
impl From<crate::expr::ExprError> for Error {
    fn from(e: crate::expr::ExprError) -> Self {
        Error::Validation(e.to_string())
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Error::Validation(e.to_string())
    }
}

impl From<ValueError> for Error {
    fn from(e: ValueError) -> Self {
        Error::Validation(e.to_string())
    }
}

impl From<NumberError> for Error {
    fn from(e: NumberError) -> Self {
        Error::Validation(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// DynamoDB's form for schema constraint failures: "N validation error(s) detected: " and
/// the failures joined with "; " (at most ten listed, as DynamoDB lists them).
pub fn validation_errors(errors: impl IntoIterator<Item = String>) -> String {
    let errors: Vec<String> = errors.into_iter().collect();
    let n = errors.len();
    let listed: Vec<String> = errors.into_iter().take(10).collect();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        listed.join("; ")
    )
}
