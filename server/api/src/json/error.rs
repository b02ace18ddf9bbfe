//! The single mapping from errors to DynamoDB JSON error responses.

use axum::http::StatusCode;

use keyfall_auth::AuthError;
use keyfall_proto::errors;
use keyfall_types::error::Error;

#[derive(Debug)]
pub enum JsonError {
    Engine(Error),
    /// Authentication or authorization refused the request.
    Auth(AuthError),
    /// The body is not valid JSON for the action: with DynamoDB's message for a value of
    /// the wrong type, without one for text that is not JSON (as DynamoDB answers).
    Serialization(Option<String>),
    /// No such `X-Amz-Target`.
    UnknownOperation,
}

impl From<Error> for JsonError {
    fn from(e: Error) -> Self {
        JsonError::Engine(e)
    }
}

impl JsonError {
    pub fn is_server_fault(&self) -> bool {
        matches!(self, JsonError::Engine(Error::Internal(_)))
    }

    /// The HTTP status, from the shared error table.
    pub fn status(&self) -> StatusCode {
        let code = errors::info(&self.type_name()).map_or(400, |e| e.http_status);
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
    }

    pub fn message(&self) -> String {
        match self {
            JsonError::Engine(e) => e.to_string(),
            JsonError::Auth(e) => e.to_string(),
            JsonError::Serialization(m) => m.clone().unwrap_or_default(),
            JsonError::UnknownOperation => String::new(),
        }
    }

    /// The error's DynamoDB name, e.g. `ValidationException`.
    pub fn type_name(&self) -> String {
        match self {
            JsonError::Engine(e) => e.type_name(),
            JsonError::Auth(e) => e.type_name(),
            JsonError::Serialization(_) => "SerializationException",
            JsonError::UnknownOperation => "UnknownOperationException",
        }
        .to_string()
    }

    /// `__type` as AWS spells it (the namespace is the shared error table's).
    fn type_id(&self) -> String {
        errors::json_type(&self.type_name())
    }

    /// The message member's name: DynamoDB spells it `Message` for a few errors (older
    /// services' style) and `message` for the rest; SDKs read both, scripts often one.
    fn message_member(&self) -> &'static str {
        errors::info(&self.type_name()).map_or("message", |e| e.message_member)
    }

    pub fn body(&self) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert("__type".into(), self.type_id().into());
        let message = self.message();
        if !message.is_empty() {
            body.insert(self.message_member().into(), message.into());
        }
        match self {
            JsonError::Engine(Error::ConditionalCheckFailed { item: Some(item) }) => {
                let item = serde_json::to_value(item).unwrap_or_default();
                body.insert("Item".into(), item);
            }
            JsonError::Engine(Error::TransactionCanceled { reasons }) => {
                let reasons = serde_json::to_value(reasons).unwrap_or_default();
                body.insert("CancellationReasons".into(), reasons);
            }
            JsonError::Engine(Error::Throttled { name, reasons, .. }) => {
                let reasons = serde_json::to_value(reasons).unwrap_or_default();
                // DynamoDB's model spells the member in lower camel case on this one.
                let member = match *name {
                    "ThrottlingException" => "throttlingReasons",
                    _ => "ThrottlingReasons",
                };
                body.insert(member.into(), reasons);
            }
            _ => {}
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error either API sends is a row of the shared table, so its namespace, HTTP
    /// status, gRPC code and message member come from one place.
    #[test]
    fn every_error_the_server_sends_is_in_the_shared_table() {
        let all = [
            JsonError::Engine(Error::Validation(String::new())),
            JsonError::Engine(Error::ResourceNotFound(String::new())),
            JsonError::Engine(Error::ResourceInUse(String::new())),
            JsonError::Engine(Error::ConditionalCheckFailed { item: None }),
            JsonError::Engine(Error::LimitExceeded(String::new())),
            JsonError::Engine(Error::Throttled {
                name: "ProvisionedThroughputExceededException",
                message: String::new(),
                reasons: Vec::new(),
            }),
            JsonError::Engine(Error::TransactionCanceled {
                reasons: Vec::new(),
            }),
            JsonError::Engine(Error::IdempotentParameterMismatch(String::new())),
            JsonError::Engine(Error::ItemCollectionSizeLimitExceeded(String::new())),
            JsonError::Engine(Error::ExpiredIterator(String::new())),
            JsonError::Engine(Error::TrimmedDataAccess(String::new())),
            JsonError::Engine(Error::Unimplemented("x")),
            JsonError::Engine(Error::Internal(String::new())),
            JsonError::Auth(AuthError::MissingAuthenticationToken(String::new())),
            JsonError::Auth(AuthError::IncompleteSignature(String::new())),
            JsonError::Auth(AuthError::UnrecognizedClient(String::new())),
            JsonError::Auth(AuthError::InvalidSignature(String::new())),
            JsonError::Auth(AuthError::AccessDenied(String::new())),
            JsonError::Auth(AuthError::Unavailable(String::new())),
            JsonError::Serialization(None),
            JsonError::UnknownOperation,
        ];
        for e in &all {
            let name = e.type_name();
            assert!(
                errors::info(&name).is_some(),
                "{name} is not in the error table"
            );
        }
        // Spot checks of what the table decides.
        let status = |e: &JsonError| e.status().as_u16();
        assert_eq!(status(&all[12]), 500);
        assert_eq!(status(&all[18]), 503);
        assert_eq!(status(&all[0]), 400);
        assert_eq!(
            all[0].type_id(),
            "com.amazon.coral.validate#ValidationException"
        );
        assert_eq!(all[17].message_member(), "Message");
    }
}
