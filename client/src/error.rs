//! The client's one error type: a variant per DynamoDB error kind, decoded from the gRPC
//! status (`x-amzn-errortype` and `x-keyfall-error-details-bin` metadata).

use prost::Message;

use crate::proto::v1 as pb;
use crate::value::{Item, ValueError};

/// Why a transaction was cancelled, per action in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct CancellationReason {
    /// `"None"` for actions that did not fail, else e.g. `"ConditionalCheckFailed"`.
    pub code: String,
    pub message: Option<String>,
    /// The item as it was, when asked for with `ReturnValuesOnConditionCheckFailure`.
    pub item: Option<Item>,
}

macro_rules! simple_errors {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal; )*) => {
        /// An error from a Keyfall (or DynamoDB-compatible) call.
        #[non_exhaustive]
        #[derive(Debug, thiserror::Error)]
        pub enum Error {
            /// A condition expression was false. `item` holds the item as it was when the
            /// request asked for it (`return_old_on_condition_failure`).
            #[error("ConditionalCheckFailedException: {message}")]
            ConditionalCheckFailed { message: String, item: Option<Box<Item>> },
            /// A transaction was cancelled; `reasons` has one entry per action.
            #[error("TransactionCanceledException: {message}")]
            TransactionCanceled { message: String, reasons: Vec<CancellationReason> },
            $(
                $(#[$doc])*
                #[error("{}: {message}", $name)]
                $variant { message: String },
            )*
            /// An error name this client does not know, as the service sent it.
            #[error("{error_type}: {message}")]
            Service { error_type: String, message: String },
            /// The call failed below the DynamoDB protocol: connection refused or lost,
            /// deadline passed, TLS failure. `source` says which.
            #[error("transport error: {source}")]
            Transport {
                #[source]
                source: Box<tonic::Status>,
            },
            /// The endpoint, credentials or TLS settings cannot make a client.
            #[error("configuration error: {0}")]
            Config(String),
            /// An item did not convert to or from the Rust type.
            #[error("value error: {0}")]
            Value(#[from] ValueError),
            /// An item read as one entity belongs to another.
            #[error("item has entity type {found:?}, expected {expected:?}")]
            WrongEntityType { expected: &'static str, found: Option<String> },
            /// The service's answer lacks what the call needs to read it.
            #[error("unexpected answer: {0}")]
            Unexpected(String),
            /// A wait (for a table to turn ACTIVE) ran out of time.
            #[error("timed out: {0}")]
            Timeout(String),
        }

        impl Error {
            /// The DynamoDB error name, e.g. `"ValidationException"`.
            pub fn error_type(&self) -> Option<&str> {
                match self {
                    Error::ConditionalCheckFailed { .. } => Some("ConditionalCheckFailedException"),
                    Error::TransactionCanceled { .. } => Some("TransactionCanceledException"),
                    $( Error::$variant { .. } => Some($name), )*
                    Error::Service { error_type, .. } => Some(error_type),
                    _ => None,
                }
            }

            fn from_type(error_type: &str, message: String) -> Error {
                match error_type {
                    $( $name => Error::$variant { message }, )*
                    other => Error::Service { error_type: other.to_string(), message },
                }
            }

            /// Retryable by the shared error table (`keyfall_proto::errors`).
            fn retryable_type(&self) -> bool {
                self.error_type().is_some_and(keyfall_proto::errors::is_retryable)
            }

            /// The service's message of an error kind that carries only a message.
            fn simple_message(&self) -> Option<&str> {
                match self {
                    $( Error::$variant { message } => Some(message), )*
                    _ => None,
                }
            }
        }
    };
}

simple_errors! {
    /// The request was malformed or broke a limit; the message names the problem.
    Validation => "ValidationException";
    ResourceNotFound => "ResourceNotFoundException";
    ResourceInUse => "ResourceInUseException";
    ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException";
    Throttling => "ThrottlingException";
    RequestLimitExceeded => "RequestLimitExceeded";
    LimitExceeded => "LimitExceededException";
    ItemCollectionSizeLimitExceeded => "ItemCollectionSizeLimitExceededException";
    TransactionConflict => "TransactionConflictException";
    TransactionInProgress => "TransactionInProgressException";
    IdempotentParameterMismatch => "IdempotentParameterMismatchException";
    DuplicateItem => "DuplicateItemException";
    AccessDenied => "AccessDeniedException";
    UnrecognizedClient => "UnrecognizedClientException";
    InvalidSignature => "InvalidSignatureException";
    IncompleteSignature => "IncompleteSignatureException";
    MissingAuthenticationToken => "MissingAuthenticationTokenException";
    ExpiredToken => "ExpiredTokenException";
    BackupNotFound => "BackupNotFoundException";
    BackupInUse => "BackupInUseException";
    TableNotFound => "TableNotFoundException";
    TableAlreadyExists => "TableAlreadyExistsException";
    TableInUse => "TableInUseException";
    PointInTimeRecoveryUnavailable => "PointInTimeRecoveryUnavailableException";
    InvalidRestoreTime => "InvalidRestoreTimeException";
    ContinuousBackupsUnavailable => "ContinuousBackupsUnavailableException";
    ExpiredIterator => "ExpiredIteratorException";
    TrimmedDataAccess => "TrimmedDataAccessException";
    UnknownOperation => "UnknownOperationException";
    /// The server failed; the request may or may not have been applied.
    InternalServerError => "InternalServerError";
    ServiceUnavailable => "ServiceUnavailable";
}

const ERROR_TYPE: &str = "x-amzn-errortype";
const ERROR_DETAILS: &str = "x-keyfall-error-details-bin";

impl Error {
    /// Worth sending again after a backoff: throttling, transaction conflicts, server
    /// faults and transport failures. Whether a *write* may be resent after an ambiguous
    /// failure is decided separately (see [`crate::RetryPolicy`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source } => matches!(
                source.code(),
                tonic::Code::Unavailable
                    | tonic::Code::Unknown
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Cancelled
                    | tonic::Code::ResourceExhausted
                    | tonic::Code::Aborted
            ),
            Error::TransactionCanceled { reasons, .. } => {
                // Only conflicts and throttling: a failed condition stays failed.
                !reasons.is_empty()
                    && reasons.iter().all(|r| {
                        matches!(
                            r.code.as_str(),
                            "None"
                                | "TransactionConflict"
                                | "ProvisionedThroughputExceeded"
                                | "ThrottlingError"
                        )
                    })
                    && reasons.iter().any(|r| r.code != "None")
            }
            other => other.retryable_type(),
        }
    }

    /// DynamoDB refused the request for want of throughput (it was not applied): the
    /// table, an index, a partition or the account is busy, and the request succeeds once
    /// the caller slows down.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self,
            Error::ProvisionedThroughputExceeded { .. }
                | Error::Throttling { .. }
                | Error::RequestLimitExceeded { .. }
        )
    }

    /// A failure after which the request may have been applied.
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport { source } => !transport_never_sent(source),
            Error::InternalServerError { .. } | Error::ServiceUnavailable { .. } => true,
            _ => false,
        }
    }

    /// The message the service sent.
    pub fn message(&self) -> String {
        match self {
            Error::ConditionalCheckFailed { message, .. }
            | Error::TransactionCanceled { message, .. }
            | Error::Service { message, .. } => message.clone(),
            Error::Transport { source } => source.message().to_string(),
            other => match other.simple_message() {
                Some(message) => message.to_string(),
                None => other.to_string(),
            },
        }
    }

    /// Decodes a failed call's status.
    pub fn from_status(status: tonic::Status) -> Error {
        let Some(error_type) = status
            .metadata()
            .get(ERROR_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return Error::Transport {
                source: Box::new(status),
            };
        };
        let details = status
            .metadata()
            .get_bin(ERROR_DETAILS)
            .and_then(|v| v.to_bytes().ok())
            .and_then(|bytes| pb::ErrorDetails::decode(bytes).ok());
        let message = status.message().to_string();
        match error_type.as_str() {
            "ConditionalCheckFailedException" => Error::ConditionalCheckFailed {
                message,
                item: details
                    .map(|d| d.item)
                    .filter(|item| !item.is_empty())
                    .map(Box::new),
            },
            "TransactionCanceledException" => Error::TransactionCanceled {
                message,
                reasons: details
                    .map(|d| {
                        d.cancellation_reasons
                            .into_iter()
                            .map(|r| CancellationReason {
                                code: r.code.unwrap_or_else(|| "None".into()),
                                message: r.message,
                                item: (!r.item.is_empty()).then_some(r.item),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            other => Error::from_type(other, message),
        }
    }
}

/// Connection-level failures that happen before a request is written: safe to resend any
/// request after them.
fn transport_never_sent(status: &tonic::Status) -> bool {
    if status.code() != tonic::Code::Unavailable {
        return false;
    }
    let mut text = status.message().to_lowercase();
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        text.push(' ');
        text.push_str(&err.to_string().to_lowercase());
        source = err.source();
    }
    [
        "connection refused",
        "tcp connect error",
        "dns error",
        "error trying to connect",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::from_status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(error_type: &str, message: &str) -> tonic::Status {
        let mut status = tonic::Status::invalid_argument(message);
        status
            .metadata_mut()
            .insert(ERROR_TYPE, error_type.parse().expect("ascii"));
        status
    }

    #[test]
    fn decodes_error_names_and_retryability() {
        let cases = [
            ("ValidationException", "ValidationException", false),
            ("ThrottlingException", "ThrottlingException", true),
            (
                "ProvisionedThroughputExceededException",
                "ProvisionedThroughputExceededException",
                true,
            ),
            (
                "ResourceNotFoundException",
                "ResourceNotFoundException",
                false,
            ),
            ("InternalServerError", "InternalServerError", true),
            ("SomethingNewException", "SomethingNewException", false),
        ];
        for (sent, decoded, retryable) in cases {
            let err = Error::from_status(status(sent, "the message"));
            assert_eq!(err.error_type(), Some(decoded), "{sent}");
            assert_eq!(err.is_retryable(), retryable, "{sent}");
            assert_eq!(err.message(), "the message", "{sent}");
        }
    }

    /// Every error of the shared table decodes to its name and the table's retryability
    /// (transactions aside: theirs depends on the reasons).
    #[test]
    fn every_error_of_the_shared_table_round_trips() {
        for row in keyfall_proto::errors::ERRORS {
            if row.name == "TransactionCanceledException" {
                continue;
            }
            let err = Error::from_status(status(row.name, "m"));
            assert_eq!(err.error_type(), Some(row.name));
            assert_eq!(err.is_retryable(), row.retryable, "{}", row.name);
        }
    }

    #[test]
    fn decodes_cancellation_reasons_and_old_items() {
        let mut item = Item::new();
        item.insert(
            "pk".into(),
            pb::AttributeValue {
                value: Some(pb::attribute_value::Value::S("a".into())),
            },
        );
        let details = pb::ErrorDetails {
            error_type: "TransactionCanceledException".into(),
            message: "cancelled".into(),
            cancellation_reasons: vec![
                pb::CancellationReason {
                    item: Default::default(),
                    code: Some("None".into()),
                    message: None,
                },
                pb::CancellationReason {
                    item: item.clone(),
                    code: Some("ConditionalCheckFailed".into()),
                    message: Some("The conditional request failed".into()),
                },
            ],
            item: Default::default(),
            throttling_reasons: vec![],
        };
        let mut st = status("TransactionCanceledException", "cancelled");
        st.metadata_mut().insert_bin(
            ERROR_DETAILS,
            tonic::metadata::MetadataValue::from_bytes(&details.encode_to_vec()),
        );
        match Error::from_status(st) {
            Error::TransactionCanceled { reasons, .. } => {
                assert_eq!(reasons.len(), 2);
                assert_eq!(reasons[1].code, "ConditionalCheckFailed");
                assert_eq!(reasons[1].item.as_ref(), Some(&item));
                assert_eq!(reasons[0].item, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn conflicts_retry_but_failed_conditions_do_not() {
        let reasons = |codes: &[&str]| Error::TransactionCanceled {
            message: String::new(),
            reasons: codes
                .iter()
                .map(|c| CancellationReason {
                    code: (*c).into(),
                    message: None,
                    item: None,
                })
                .collect(),
        };
        assert!(reasons(&["None", "TransactionConflict"]).is_retryable());
        assert!(!reasons(&["TransactionConflict", "ConditionalCheckFailed"]).is_retryable());
        assert!(!reasons(&["None", "None"]).is_retryable());
    }

    #[test]
    fn a_status_without_an_error_name_is_a_transport_error() {
        let err = Error::from_status(tonic::Status::unavailable(
            "tcp connect error: Connection refused",
        ));
        assert!(matches!(err, Error::Transport { .. }));
        assert!(err.is_retryable());
        assert!(!err.is_ambiguous());
        let err = Error::from_status(tonic::Status::unavailable("connection reset"));
        assert!(err.is_ambiguous());
    }
}
