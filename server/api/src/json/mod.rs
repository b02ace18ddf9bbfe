//! The DynamoDB JSON-over-HTTP protocol, shared by keyfall-server and keyfall-dax: `POST /`
//! with `X-Amz-Target: DynamoDB_20120810.<Action>` and an `application/x-amz-json-1.0` body,
//! answered as AWS answers (same shapes, `__type` errors, `x-amz-crc32` and
//! `x-amzn-RequestId` headers). Decoding, encoding, errors and the HTTP conformance layer
//! live here; what runs a request is the caller's.

mod error;
mod serialization;
pub mod wire;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyfall_types::error::Error;
use keyfall_types::model::dynamodb_json;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::JsonError;

pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";
pub const STREAMS_TARGET_PREFIX: &str = "DynamoDBStreams_20120810.";
/// DynamoDB's largest request (a 16 MB BatchWriteItem); a longer body is refused with 413
/// before it is buffered.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Reads a request body of at most [`MAX_BODY_BYTES`]; past that (by `Content-Length` or
/// as it streams in), answers 413 without reading further.
pub async fn read_body(headers: &HeaderMap, body: axum::body::Body) -> Result<Bytes, Response> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large())
}

/// 413 for a body over [`MAX_BODY_BYTES`], sent or inflated.
fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large: the request body exceeds DynamoDB's 16 MB limit",
    )
        .into_response()
}

/// A JSON API response with AWS's headers (`x-amz-crc32`, `x-amzn-RequestId`).
pub fn respond(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let crc = crc32fast::hash(&body);
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    h.insert("x-amz-crc32", HeaderValue::from(crc));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// Decodes a request body (an empty one is a SerializationException, as in DynamoDB).
/// Public for the fuzz target.
pub fn decode_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonError> {
    dynamodb_json::reset_validation_error();
    serde_json::from_slice(body).map_err(|e| match dynamodb_json::take_validation_error() {
        Some(msg) => JsonError::Engine(Error::Validation(msg)),
        None => JsonError::Serialization(serialization::message(&e)),
    })
}

pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, JsonError> {
    serde_json::to_vec(v).map_err(|e| JsonError::Engine(Error::Internal(e.to_string())))
}

/// A one-member JSON object, `{"<name>": value}`: how DynamoDB wraps some answers
/// (`{"TableDescription": ...}`), serialized without building a `serde_json::Value`.
pub struct Member<T>(pub &'static str, pub T);

impl<T: Serialize> Serialize for Member<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &self.1)?;
        map.end()
    }
}

/// A JSON API request as both binaries receive it: who sent it (or why they could not be
/// authenticated) and its body, inflated only once the signature over the bytes sent was
/// checked.
pub struct Received {
    pub authenticated: Result<keyfall_auth::Caller, keyfall_auth::AuthError>,
    pub body: Bytes,
}

/// Receives a JSON API request: a missing, malformed or unknown credential is refused
/// from the headers alone, before the body is read; a body over [`MAX_BODY_BYTES`] is
/// refused (413) without being buffered; the signature is checked over the bytes sent;
/// only then is a compressed body inflated (bounded). `Err` is the answer to send at once.
pub async fn receive(
    auth: &keyfall_auth::Auth,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: axum::body::Body,
    peer: std::net::IpAddr,
    secure: bool,
    request_id: &str,
) -> Result<Received, Response> {
    let refused = auth.authenticate_headers(headers).err();
    let body = match refused {
        Some(_) => Bytes::new(),
        None => read_body(headers, body).await?,
    };
    let authenticated = match refused {
        Some(e) => Err(e),
        None => {
            let signed = keyfall_auth::sigv4::SignedRequest {
                method: "POST",
                path: uri.path(),
                query: uri.query().unwrap_or(""),
                headers,
                authority: uri.authority().map(|a| a.as_str()),
                body: &body,
            };
            auth.authenticate(&signed, Some(peer), secure)
        }
    };
    let body = match authenticated {
        Ok(_) => wire::inflate(headers, body)
            .await
            .map_err(|e| e.into_response(request_id))?,
        Err(_) => body,
    };
    Ok(Received {
        authenticated,
        body,
    })
}
