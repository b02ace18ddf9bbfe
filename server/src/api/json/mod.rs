//! The DynamoDB JSON-over-HTTP protocol: `POST /` with `X-Amz-Target:
//! DynamoDB_20120810.<Action>` and an `application/x-amz-json-1.0` body, answered as AWS
//! answers (same shapes, `__type` errors, `x-amz-crc32` and `x-amzn-RequestId` headers).

pub use keyfall_api::json::*;

use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use keyfall_types::command::Decode;

use super::pipeline::{Call, Failure, Pipeline};
use crate::auth::checks::Authorize;
use crate::auth::{Auth, Caller};
use crate::engine::Engine;
use crate::error::Error;

#[derive(Clone)]
pub struct JsonApi {
    pub engine: Arc<Engine>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub pipeline: Pipeline,
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
    let Received {
        authenticated,
        body,
    } = match receive(
        &api.auth,
        &uri,
        &headers,
        body,
        peer.ip(),
        api.secure,
        &request_id,
    )
    .await
    {
        Ok(r) => r,
        Err(response) => return response,
    };
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
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
    let (caller, refused) = match authenticated {
        Ok(caller) => (caller, None),
        Err(e) => (
            Caller::unauthenticated(Some(peer.ip()), api.secure),
            Some(e),
        ),
    };
    let call = Call::new(&caller, "json", &request_id);
    let work = async {
        match refused {
            Some(e) => Err(JsonError::Auth(e)),
            None => dispatch_target(&api, &call, target, &body).await,
        }
    };
    let result = tracing::Instrument::instrument(work, span).await;
    let outcome = result.as_ref().err().map(JsonError::type_name);
    api.metrics.requests.record(
        keyfall_api::metrics::Api::Json,
        keyfall_api::actions::metric_name(operation),
        outcome.as_deref(),
        started.elapsed(),
    );
    api.pipeline
        .audit_unrun(&call, operation, outcome.as_deref());
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

/// Runs a JSON request by its `X-Amz-Target` (DynamoDB's or DynamoDB Streams' prefix).
async fn dispatch_target(
    api: &JsonApi,
    call: &Call<'_>,
    target: &str,
    body: &[u8],
) -> Result<Vec<u8>, JsonError> {
    if let Some(action) = target.strip_prefix(TARGET_PREFIX) {
        dispatch(api, call, action, body).await
    } else if let Some(action) = target.strip_prefix(STREAMS_TARGET_PREFIX) {
        dispatch_streams(api, call, action, body).await
    } else if let Some(action) = target.strip_prefix(AUTOSCALING_TARGET_PREFIX) {
        dispatch_autoscaling(api, call, action, body).await
    } else {
        Err(JsonError::UnknownOperation)
    }
}

/// The JSON API carried over gRPC (`keyfall.v1.JsonApi`, what keyfall-dax forwards the
/// actions it does not cache by): a call runs as a POST of its target and body would, as
/// the gRPC caller, and answers the status and body that POST would get.
pub struct JsonCalls {
    pub api: JsonApi,
}

#[tonic::async_trait]
impl keyfall_proto::v1::json_api_server::JsonApi for JsonCalls {
    async fn call(
        &self,
        r: tonic::Request<keyfall_proto::v1::JsonCall>,
    ) -> Result<tonic::Response<keyfall_proto::v1::JsonAnswer>, tonic::Status> {
        let caller = keyfall_api::grpc::caller_of(&r)?;
        let json = r.into_inner();
        let request_id = super::pipeline::new_request_id();
        let call = Call::new(&caller, "grpc", &request_id);
        let result = dispatch_target(&self.api, &call, &json.target, &json.body).await;
        let outcome = result.as_ref().err().map(JsonError::type_name);
        let operation = json.target.rsplit('.').next().unwrap_or("");
        self.api
            .pipeline
            .audit_unrun(&call, operation, outcome.as_deref());
        let (status, body) = match result {
            Ok(body) => (StatusCode::OK, body),
            Err(e) => (e.status(), e.body()),
        };
        Ok(tonic::Response::new(keyfall_proto::v1::JsonAnswer {
            status: u32::from(status.as_u16()),
            body,
        }))
    }
}

/// Decodes the JSON input and runs it through the [`Pipeline`], then encodes the output.
async fn run<I, T, F>(
    api: &JsonApi,
    call: &Call<'_>,
    action: &'static str,
    body: &[u8],
    f: F,
) -> Result<Vec<u8>, JsonError>
where
    I: serde::de::DeserializeOwned + Decode,
    I::Command: Authorize + Send + 'static,
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&Engine, I::Command) -> crate::error::Result<T> + Send + 'static,
{
    let input: I = decode_request(body)?;
    let out = api
        .pipeline
        .run(call, action, input, f)
        .await
        .map_err(json_error)?;
    encode(&out)
}

/// The JSON API's form of a pipeline failure.
fn json_error(f: Failure) -> JsonError {
    match f {
        Failure::Auth(e) => JsonError::Auth(e),
        Failure::Engine(e) => JsonError::Engine(e),
    }
}

/// The JSON dispatch, generated from the action table (`keyfall_api::actions`): a built
/// row runs the engine method of its name and wraps the answer as its `json_answer` says;
/// `custom` rows are answered in [`dispatch`]; unbuilt rows are left to it too.
macro_rules! engine_dispatch {
    ($fn_name:ident; $($method:ident, $name:literal, $req:ident, $resp:ident, $resource:ident, $class:ident, $proxy:ident, $built:ident, $json:tt;)*) => {
        async fn $fn_name(
            api: &JsonApi,
            call: &Call<'_>,
            action: &str,
            body: &[u8],
        ) -> Option<Result<Vec<u8>, JsonError>> {
            $(engine_arm!(api, call, action, body, $built $json $method $name $req);)*
            None
        }
    };
}

macro_rules! engine_arm {
    ($api:ident, $call:ident, $action:ident, $body:ident, unbuilt $($row:tt)*) => {};
    ($api:ident, $call:ident, $action:ident, $body:ident, built custom $($row:tt)*) => {};
    ($api:ident, $call:ident, $action:ident, $body:ident, built $json:tt $method:ident $name:literal $req:ident) => {
        if $action == $name {
            let f = |e: &Engine, i| e.$method(i).map(|d| json_wrap!($json, d));
            let action = concat!("dynamodb:", $name);
            let out = run::<Input<keyfall_proto::v1::$req>, _, _>($api, $call, action, $body, f);
            return Some(out.await.map(|b| json_body!($json, b)));
        }
    };
}

/// A row's answer as its `json_answer` wraps it: as is, or in its one member.
macro_rules! json_wrap {
    ({$member:ident}, $d:expr) => {
        Member(stringify!($member), $d)
    };
    ($plain_or_empty:ident, $d:expr) => {
        $d
    };
}

/// DynamoDB answers `empty` rows with an empty body.
macro_rules! json_body {
    (empty, $b:expr) => {{
        drop($b);
        Vec::new()
    }};
    ($other:tt, $b:expr) => {
        $b
    };
}

/// The input type a row's request decodes into.
type Input<R> = <R as keyfall_api::grpc::codec::Decoded>::Input;

macro_rules! dynamodb_dispatch {
    ($($row:tt)*) => { engine_dispatch!(dispatch_engine; $($row)*); };
}
macro_rules! streams_dispatch {
    ($($row:tt)*) => { engine_dispatch!(dispatch_streams_engine; $($row)*); };
}
keyfall_api::dynamodb_actions!(dynamodb_dispatch);
keyfall_api::streams_actions!(streams_dispatch);

async fn dispatch(
    api: &JsonApi,
    call: &Call<'_>,
    action: &str,
    body: &[u8],
) -> Result<Vec<u8>, JsonError> {
    if let Some(answer) = dispatch_engine(api, call, action, body).await {
        return answer;
    }
    match action {
        "DescribeLimits" => {
            decode_request::<NoMembers>(body)?;
            let f = |e: &Engine, ()| Ok(e.describe_limits());
            let limits = api.pipeline.run(call, "dynamodb:DescribeLimits", (), f);
            encode(&limits.await.map_err(json_error)?)
        }
        "DescribeEndpoints" => {
            decode_request::<NoMembers>(body)?;
            let address = api.advertised_address.clone();
            let f = move |e: &Engine, ()| Ok(e.describe_endpoints(&address));
            let endpoints = api.pipeline.run(call, "dynamodb:DescribeEndpoints", (), f);
            encode(&Member("Endpoints", endpoints.await.map_err(json_error)?))
        }
        other => match crate::api::actions::known_action(other) {
            Some(name) => Err(JsonError::Engine(Error::Unimplemented(name))),
            None => Err(JsonError::UnknownOperation),
        },
    }
}

/// Application Auto Scaling's target prefix: its JSON API (version 1.1) is served on the
/// same port, for DynamoDB's tables and indexes (`engine::autoscaling`).
const AUTOSCALING_TARGET_PREFIX: &str = "AnyScaleFrontendService.";

/// Application Auto Scaling's actions, each authorized as `application-autoscaling:<Action>`.
async fn dispatch_autoscaling(
    api: &JsonApi,
    call: &Call<'_>,
    action: &str,
    body: &[u8],
) -> Result<Vec<u8>, JsonError> {
    use keyfall_types::autoscaling::*;
    macro_rules! actions {
        ($($name:literal => $input:ty, $method:ident;)*) => {
            match action {
                $($name => {
                    let f = |e: &Engine, i| e.$method(i);
                    let iam = concat!("application-autoscaling:", $name);
                    run::<$input, _, _>(api, call, iam, body, f).await
                })*
                _ => Err(JsonError::UnknownOperation),
            }
        };
    }
    actions! {
        "RegisterScalableTarget" => RegisterScalableTargetInput, register_scalable_target;
        "DescribeScalableTargets" => DescribeInput, describe_scalable_targets;
        "DeregisterScalableTarget" => TargetInput, deregister_scalable_target;
        "PutScalingPolicy" => PutScalingPolicyInput, put_scaling_policy;
        "DescribeScalingPolicies" => DescribeInput, describe_scaling_policies;
        "DeleteScalingPolicy" => TargetInput, delete_scaling_policy;
        "DescribeScalingActivities" => DescribeInput, describe_scaling_activities;
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
    call: &Call<'_>,
    action: &str,
    body: &[u8],
) -> Result<Vec<u8>, JsonError> {
    dispatch_streams_engine(api, call, action, body)
        .await
        .unwrap_or(Err(JsonError::UnknownOperation))
}
