//! The one table of DynamoDB's errors, shared by keyfall-server (both APIs), keyfall-dax and
//! the client: for each error name, the namespace of its JSON `__type`, its HTTP status, the
//! gRPC status code that carries it, whether a client may retry it, and how its JSON body
//! spells the message member. The name itself travels unchanged on both APIs (`__type`
//! after `#`, and the `x-amzn-errortype` gRPC metadata), so what one side writes the other
//! reads back as the same error.

use tonic::Code;

/// Where DynamoDB files an error: the part of its JSON `__type` before `#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `com.amazonaws.dynamodb.v20120810`: the service's own errors.
    DynamoDb,
    /// `com.amazon.coral.service`: protocol and authentication errors.
    CoralService,
    /// `com.amazon.coral.validate`: request validation.
    CoralValidate,
    /// `com.amazon.coral.availability`: throttling of the front end.
    CoralAvailability,
}

impl Namespace {
    pub fn prefix(self) -> &'static str {
        match self {
            Namespace::DynamoDb => "com.amazonaws.dynamodb.v20120810",
            Namespace::CoralService => "com.amazon.coral.service",
            Namespace::CoralValidate => "com.amazon.coral.validate",
            Namespace::CoralAvailability => "com.amazon.coral.availability",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    /// DynamoDB's name, e.g. `ValidationException`.
    pub name: &'static str,
    pub namespace: Namespace,
    pub http_status: u16,
    /// The gRPC status code (a coarse category; the name identifies the error).
    pub grpc_code: Code,
    /// A client may send the same request again (after a backoff).
    pub retryable: bool,
    /// `message` for most errors, `Message` for the few DynamoDB spells that way.
    pub message_member: &'static str,
}

const fn row(
    name: &'static str,
    namespace: Namespace,
    http_status: u16,
    grpc_code: Code,
    retryable: bool,
    message_member: &'static str,
) -> ErrorInfo {
    ErrorInfo {
        name,
        namespace,
        http_status,
        grpc_code,
        retryable,
        message_member,
    }
}

use Namespace::{CoralAvailability, CoralService, CoralValidate, DynamoDb};

/// Every error Keyfall sends or understands: one row a name.
#[rustfmt::skip]
pub const ERRORS: &[ErrorInfo] = &[
    //  name                                          namespace          HTTP  gRPC code                 retry  member
    row("ValidationException",                          CoralValidate,     400,  Code::InvalidArgument,    false, "message"),
    row("SerializationException",                       CoralService,      400,  Code::InvalidArgument,    false, "Message"),
    row("UnknownOperationException",                    CoralService,      400,  Code::Unimplemented,      false, "message"),
    row("ResourceNotFoundException",                    DynamoDb,          400,  Code::NotFound,           false, "message"),
    row("ResourceInUseException",                       DynamoDb,          400,  Code::AlreadyExists,      false, "message"),
    row("ConditionalCheckFailedException",              DynamoDb,          400,  Code::FailedPrecondition, false, "message"),
    row("TransactionCanceledException",                 DynamoDb,          400,  Code::Aborted,            false, "Message"),
    row("TransactionConflictException",                 DynamoDb,          400,  Code::Aborted,            true,  "message"),
    row("TransactionInProgressException",               DynamoDb,          400,  Code::Aborted,            true,  "message"),
    row("IdempotentParameterMismatchException",         DynamoDb,          400,  Code::InvalidArgument,    false, "message"),
    row("LimitExceededException",                       DynamoDb,          400,  Code::ResourceExhausted,  false, "message"),
    row("ItemCollectionSizeLimitExceededException",     DynamoDb,          400,  Code::ResourceExhausted,  false, "message"),
    row("ProvisionedThroughputExceededException",       DynamoDb,          400,  Code::ResourceExhausted,  true,  "message"),
    row("RequestLimitExceeded",                         DynamoDb,          400,  Code::ResourceExhausted,  true,  "message"),
    row("ThrottlingException",                          CoralAvailability, 400,  Code::ResourceExhausted,  true,  "message"),
    row("DuplicateItemException",                       DynamoDb,          400,  Code::AlreadyExists,      false, "message"),
    // Application Auto Scaling's, served beside DynamoDB's API.
    row("ObjectNotFoundException",                      DynamoDb,          400,  Code::NotFound,           false, "Message"),
    row("InvalidNextTokenException",                    DynamoDb,          400,  Code::InvalidArgument,    false, "Message"),
    row("ExpiredIteratorException",                     DynamoDb,          400,  Code::OutOfRange,         false, "message"),
    row("TrimmedDataAccessException",                   DynamoDb,          400,  Code::OutOfRange,         false, "message"),
    row("BackupNotFoundException",                      DynamoDb,          400,  Code::NotFound,           false, "message"),
    row("BackupInUseException",                         DynamoDb,          400,  Code::AlreadyExists,      false, "message"),
    row("TableNotFoundException",                       DynamoDb,          400,  Code::NotFound,           false, "message"),
    row("TableAlreadyExistsException",                  DynamoDb,          400,  Code::AlreadyExists,      false, "message"),
    row("TableInUseException",                          DynamoDb,          400,  Code::AlreadyExists,      false, "message"),
    row("PointInTimeRecoveryUnavailableException",      DynamoDb,          400,  Code::FailedPrecondition, false, "message"),
    row("InvalidRestoreTimeException",                  DynamoDb,          400,  Code::InvalidArgument,    false, "message"),
    row("ContinuousBackupsUnavailableException",        DynamoDb,          400,  Code::FailedPrecondition, false, "message"),
    row("AccessDeniedException",                        CoralService,      400,  Code::PermissionDenied,   false, "Message"),
    row("MissingAuthenticationTokenException",          CoralService,      400,  Code::Unauthenticated,    false, "message"),
    row("IncompleteSignatureException",                 CoralService,      400,  Code::Unauthenticated,    false, "message"),
    row("UnrecognizedClientException",                  CoralService,      400,  Code::Unauthenticated,    false, "message"),
    row("InvalidSignatureException",                    CoralService,      400,  Code::Unauthenticated,    false, "message"),
    row("ExpiredTokenException",                        CoralService,      400,  Code::Unauthenticated,    false, "message"),
    row("InternalServerError",                          DynamoDb,          500,  Code::Internal,           true,  "message"),
    row("ServiceUnavailable",                           CoralService,      503,  Code::Unavailable,        true,  "message"),
];

/// The row of an error name.
pub fn info(name: &str) -> Option<&'static ErrorInfo> {
    ERRORS.iter().find(|e| e.name == name)
}

/// An error name's JSON `__type`, e.g. `com.amazon.coral.validate#ValidationException`
/// (an unknown name goes under the DynamoDB namespace).
pub fn json_type(name: &str) -> String {
    let ns = info(name).map_or(Namespace::DynamoDb, |e| e.namespace);
    format!("{}#{name}", ns.prefix())
}

/// Whether an error name may be retried; unknown names may not.
pub fn is_retryable(name: &str) -> bool {
    info(name).is_some_and(|e| e.retryable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_rows_consistent() {
        for (i, e) in ERRORS.iter().enumerate() {
            assert!(
                !ERRORS.iter().skip(i + 1).any(|o| o.name == e.name),
                "{} listed twice",
                e.name
            );
            assert!(matches!(e.message_member, "message" | "Message"));
            // Server faults are 5xx and retryable; client faults are 400.
            assert_eq!(
                e.http_status >= 500,
                matches!(e.grpc_code, Code::Internal | Code::Unavailable)
            );
        }
        assert_eq!(
            json_type("ValidationException"),
            "com.amazon.coral.validate#ValidationException"
        );
        assert_eq!(
            json_type("SomethingNew"),
            "com.amazonaws.dynamodb.v20120810#SomethingNew"
        );
        assert!(is_retryable("ThrottlingException") && !is_retryable("SomethingNew"));
    }
}
