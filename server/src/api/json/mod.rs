//! The DynamoDB JSON-over-HTTP protocol: `POST /` with `X-Amz-Target:
//! DynamoDB_20120810.<Action>` and an `application/x-amz-json-1.0` body, answered as AWS
//! answers (same shapes, `__type` errors, `x-amz-crc32` and `x-amzn-RequestId` headers).

pub use keyfall_api::json::*;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::sigv4::SignedRequest;
use crate::auth::{Auth, Caller};
use crate::engine::Engine;
use crate::error::Error;

#[derive(Clone)]
pub struct JsonApi {
    pub engine: Arc<Engine>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub audit: Option<Arc<crate::audit::Audit>>,
    pub auth: Arc<Auth>,
    /// Served over TLS (`aws:SecureTransport`).
    pub secure: bool,
    /// The address DescribeEndpoints advertises.
    pub advertised_address: String,
}

pub fn router(api: JsonApi) -> Router {
    // DynamoDB's health answer names its endpoint, trailing space included.
    let healthy = format!(
        "healthy: dynamodb.{}.amazonaws.com ",
        api.engine.config().region
    );
    Router::new()
        .route("/", post(handle))
        .route("/", get(move || async move { healthy }))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(wire::conform))
        .with_state(api)
}

async fn metrics(State(api): State<JsonApi>) -> Response {
    let engine = api.engine.clone();
    let metrics = api.metrics.clone();
    let text = tokio::task::spawn_blocking(move || metrics.render(&engine))
        .await
        .unwrap_or_default();
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn handle(
    State(api): State<JsonApi>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    // A missing, malformed or unknown credential is refused before the body is read.
    let refused = api.auth.authenticate_headers(&headers).err();
    let body = match refused {
        Some(_) => Bytes::new(),
        None => match read_body(&headers, body).await {
            Ok(b) => b,
            Err(response) => return response,
        },
    };
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The signature covers the bytes sent; the engine reads them inflated.
    let signed = SignedRequest {
        method: "POST",
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &headers,
        authority: uri.authority().map(|a| a.as_str()),
        body: &body,
    };
    let operation = target.rsplit('.').next().unwrap_or("");
    let span = tracing::info_span!(
        target: crate::telemetry::REQUEST_SPANS,
        "request",
        otel.name = %format!("DynamoDB.{operation}"),
        otel.kind = "server",
        rpc.system = "aws-api",
        rpc.service = "DynamoDB",
        rpc.method = %operation,
        db.system = "dynamodb",
        aws.request_id = %request_id,
            // Recorded by the engine (`engine::observe`) when the request ran.
            aws.dynamodb.table_names = tracing::field::Empty,
            aws.dynamodb.consumed_capacity_units = tracing::field::Empty,
            aws.dynamodb.count = tracing::field::Empty,
            aws.dynamodb.scanned_count = tracing::field::Empty,
    );
    crate::telemetry::extract_parent(&span, &headers);
    let authenticated = match refused {
        Some(e) => Err(e),
        None => api.auth.authenticate(&signed, Some(peer.ip()), api.secure),
    };
    let body = match authenticated {
        Ok(_) => match wire::inflate(&headers, body).await {
            Ok(b) => b,
            Err(e) => return e.into_response(&request_id),
        },
        Err(_) => body,
    };
    let work = async {
        match &authenticated {
            Err(e) => Err(JsonError::Auth(e.clone())),
            Ok(caller) => {
                let caller = caller.clone();
                if let Some(action) = target.strip_prefix(TARGET_PREFIX) {
                    dispatch(&api, &caller, action, &body).await
                } else if let Some(action) = target.strip_prefix(STREAMS_TARGET_PREFIX) {
                    dispatch_streams(&api, &caller, action, &body).await
                } else {
                    Err(JsonError::UnknownOperation)
                }
            }
        }
    };
    let result = tracing::Instrument::instrument(work, span).await;
    let outcome = result.as_ref().err().map(JsonError::type_name);
    api.metrics.record(
        crate::metrics::Api::Json,
        operation,
        outcome.as_deref(),
        started.elapsed(),
    );
    if let Some(audit) = &api.audit {
        let action = format!("dynamodb:{operation}");
        if audit.wants(&action) {
            let caller = authenticated
                .unwrap_or_else(|_| Caller::unauthenticated(Some(peer.ip()), api.secure));
            let resources = resources_named(&api.engine, &body);
            audit.record(
                &request_id,
                &caller,
                "json",
                &action,
                &resources,
                outcome.as_deref(),
            );
        }
    }
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            // Once per error answer: server faults loudly, client mistakes quietly.
            if e.is_server_fault() {
                tracing::error!(%request_id, target, error = %e.message(), "request failed");
            } else {
                tracing::debug!(%request_id, target, error_type = %e.type_name(), error = %e.message(), "client error");
            }
            (e.status(), e.body())
        }
    };
    respond(status, body, &request_id)
}

/// The resources a JSON request names, for the audit log: its table(s), ARN or stream.
fn resources_named(engine: &Engine, body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(t) = v.get("TableName").and_then(|t| t.as_str()) {
        out.push(engine.table_arn(t));
    }
    for key in ["ResourceArn", "StreamArn"] {
        if let Some(a) = v.get(key).and_then(|t| t.as_str()) {
            out.push(a.to_string());
        }
    }
    if let Some(items) = v.get("RequestItems").and_then(|t| t.as_object()) {
        out.extend(items.keys().map(|t| engine.table_arn(t)));
    }
    out
}

/// Decodes the input, authorizes it as `dynamodb:<action>`, runs the engine method off the
/// async workers, encodes the output.
macro_rules! call {
    ($api:expr, $caller:expr, $action:literal, $body:expr, |$e:ident, $input:ident| $call:expr) => {{
        let $input = decode_request($body)?;
        crate::api::authorize(
            &$api.auth,
            &*$api.engine,
            $caller,
            concat!("dynamodb:", $action),
            &$input,
        )
        .map_err(JsonError::Auth)?;
        let out = $api.engine.run(move |$e| $call).await?;
        encode(&out)
    }};
}

async fn dispatch(
    api: &JsonApi,
    caller: &Caller,
    action: &str,
    body: &[u8],
) -> Result<Vec<u8>, JsonError> {
    use serde_json::json;
    let account_wide = |action: &'static str| {
        crate::api::authorize(&api.auth, &*api.engine, caller, action, &()).map_err(JsonError::Auth)
    };
    match action {
        "CreateTable" => call!(api, caller, "CreateTable", body, |e, i| e
            .create_table(i)
            .map(|d| json!({ "TableDescription": d }))),
        "DescribeTable" => call!(api, caller, "DescribeTable", body, |e, i| e
            .describe_table(i)
            .map(|d| json!({ "Table": d }))),
        "UpdateTable" => call!(api, caller, "UpdateTable", body, |e, i| e
            .update_table(i)
            .map(|d| json!({ "TableDescription": d }))),
        "DeleteTable" => call!(api, caller, "DeleteTable", body, |e, i| e
            .delete_table(i)
            .map(|d| json!({ "TableDescription": d }))),
        "ListTables" => call!(api, caller, "ListTables", body, |e, i| e.list_tables(i)),
        "PutItem" => call!(api, caller, "PutItem", body, |e, i| e.put_item(i)),
        "GetItem" => call!(api, caller, "GetItem", body, |e, i| e.get_item(i)),
        "UpdateItem" => call!(api, caller, "UpdateItem", body, |e, i| e.update_item(i)),
        "DeleteItem" => call!(api, caller, "DeleteItem", body, |e, i| e.delete_item(i)),
        "Query" => call!(api, caller, "Query", body, |e, i| e.query(i)),
        "Scan" => call!(api, caller, "Scan", body, |e, i| e.scan(i)),
        "BatchGetItem" => call!(api, caller, "BatchGetItem", body, |e, i| e
            .batch_get_item(i)),
        "BatchWriteItem" => call!(api, caller, "BatchWriteItem", body, |e, i| e
            .batch_write_item(i)),
        "TransactWriteItems" => call!(api, caller, "TransactWriteItems", body, |e, i| e
            .transact_write_items(i)),
        "TransactGetItems" => call!(api, caller, "TransactGetItems", body, |e, i| e
            .transact_get_items(i)),
        "UpdateTimeToLive" => call!(api, caller, "UpdateTimeToLive", body, |e, i| e
            .update_time_to_live(i)
            .map(|s| json!({ "TimeToLiveSpecification": s }))),
        "DescribeTimeToLive" => call!(api, caller, "DescribeTimeToLive", body, |e, i| e
            .describe_time_to_live(i)
            .map(|d| json!({ "TimeToLiveDescription": d }))),
        // DynamoDB answers these two with an empty body.
        "TagResource" => {
            call!(api, caller, "TagResource", body, |e, i| e.tag_resource(i))?;
            Ok(Vec::new())
        }
        "UntagResource" => {
            call!(api, caller, "UntagResource", body, |e, i| e
                .untag_resource(i))?;
            Ok(Vec::new())
        }
        "ListTagsOfResource" => call!(api, caller, "ListTagsOfResource", body, |e, i| e
            .list_tags_of_resource(i)),
        "DescribeLimits" => {
            decode_request::<NoMembers>(body)?;
            account_wide("dynamodb:DescribeLimits")?;
            encode(&api.engine.describe_limits())
        }
        "DescribeEndpoints" => {
            decode_request::<NoMembers>(body)?;
            account_wide("dynamodb:DescribeEndpoints")?;
            encode(&json!({ "Endpoints": api.engine.describe_endpoints(&api.advertised_address) }))
        }
        other => match crate::api::actions::known_action(other) {
            Some(name) => Err(JsonError::Engine(Error::Unimplemented(name))),
            None => Err(JsonError::UnknownOperation),
        },
    }
}

/// The input of actions without members: `{}` only (unknown members are refused, as for
/// every other action).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoMembers {}

/// The DynamoDB Streams API, served on the same port under its own target prefix.
async fn dispatch_streams(
    api: &JsonApi,
    caller: &Caller,
    action: &str,
    body: &[u8],
) -> Result<Vec<u8>, JsonError> {
    use serde_json::json;
    match action {
        "ListStreams" => call!(api, caller, "ListStreams", body, |e, i| e.list_streams(i)),
        "DescribeStream" => call!(api, caller, "DescribeStream", body, |e, i| e
            .describe_stream(i)
            .map(|d| json!({ "StreamDescription": d }))),
        "GetShardIterator" => call!(api, caller, "GetShardIterator", body, |e, i| e
            .get_shard_iterator(i)
            .map(|s| json!({ "ShardIterator": s }))),
        "GetRecords" => call!(api, caller, "GetRecords", body, |e, i| e.get_records(i)),
        _ => Err(JsonError::UnknownOperation),
    }
}
