//! The single mapping from errors to DynamoDB JSON error responses.

use axum::http::StatusCode;

use crate::auth::AuthError;
use crate::error::Error;

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

    pub fn status(&self) -> StatusCode {
        if self.is_server_fault() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else if matches!(self, JsonError::Auth(AuthError::Unavailable(_))) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    pub fn message(&self) -> String {
        match self {
            JsonError::Engine(e) => e.to_string(),
            JsonError::Auth(e) => e.to_string(),
            JsonError::Serialization(m) => m.clone().unwrap_or_default(),
            JsonError::UnknownOperation => String::new(),
        }
    }

    /// The error's name without its namespace, e.g. `ValidationException`.
    pub fn type_name(&self) -> String {
        let id = self.type_id();
        id.rsplit('#').next().unwrap_or(&id).to_string()
    }

    /// `__type` as AWS spells it: service errors under the DynamoDB namespace, validation
    /// under `com.amazon.coral.validate`, protocol errors under `com.amazon.coral.service`.
    fn type_id(&self) -> String {
        match self {
            JsonError::Engine(Error::Unimplemented(_)) | JsonError::UnknownOperation => {
                "com.amazon.coral.service#UnknownOperationException".into()
            }
            JsonError::Serialization(_) => "com.amazon.coral.service#SerializationException".into(),
            JsonError::Auth(e) => format!("com.amazon.coral.service#{}", e.type_name()),
            JsonError::Engine(Error::Validation(_)) => {
                "com.amazon.coral.validate#ValidationException".into()
            }
            JsonError::Engine(e) => format!("com.amazonaws.dynamodb.v20120810#{}", e.type_name()),
        }
    }

    /// The message member's name: DynamoDB spells it `Message` for a few errors (older
    /// services' style) and `message` for the rest; SDKs read both, scripts often one.
    fn message_member(&self) -> &'static str {
        match self {
            JsonError::Serialization(_)
            | JsonError::Engine(Error::TransactionCanceled { .. })
            | JsonError::Auth(AuthError::AccessDenied(_)) => "Message",
            _ => "message",
        }
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
            _ => {}
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}
