//! The proxy's HTTP port: the DynamoDB JSON API (what the AWS SDKs speak) and `/metrics`.
//!
//! Both lists come from the action table. Cached and written-through actions are decoded
//! with the server's serde types, converted to protobuf and served by the same
//! [`DaxService`] as gRPC, so both APIs share one cache and one authorization path; answers
//! and errors are encoded as the server encodes them.
//! Other actions are decoded with the server's types too, authorized with the server's checks
//! and forwarded to the server's JSON API re-encoded from what was decoded (never the raw
//! body), re-signed with the proxy's credentials. An action the proxy cannot decode is
//! refused, never forwarded.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use keyfall_api::grpc::convert_back as back;
use keyfall_api::json::{
    decode_request, encode, respond, JsonError, STREAMS_TARGET_PREFIX, TARGET_PREFIX,
};
use keyfall_auth::checks::{Authorize, Schemas};
use keyfall_auth::{AuthError, Caller, Check};
use keyfall_proto::v1::dynamo_db_server::DynamoDb;
use keyfall_types::command::Decode;

use crate::auth::SchemaView;
use crate::metrics::{inc, Sizes};
use crate::service::{Authorized, DaxService};
use crate::Proxy;
use keyfall_api::grpc::codec::{Answered, Decoded};
use keyfall_api::grpc::member::Member;
use keyfall_proto::v1 as pb;

#[derive(Clone)]
pub struct HttpState {
    pub proxy: Arc<Proxy>,
    pub service: Arc<DaxService>,
    pub audit: Option<Arc<keyfall_auth::audit::Audit>>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", post(json_api))
        .route("/", get(|| async { "healthy: keyfall-dax" }))
        .layer(DefaultBodyLimit::max(keyfall_api::json::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(keyfall_api::json::wire::conform))
        .with_state(state)
}

async fn metrics(State(st): State<HttpState>) -> impl IntoResponse {
    let c = &st.proxy.caches;
    c.items.run_pending_tasks().await;
    c.pages.run_pending_tasks().await;
    let sizes = Sizes {
        item_entries: c.items.entry_count(),
        item_bytes: c.items.weighted_size(),
        query_entries: c.pages.entry_count(),
        query_bytes: c.pages.weighted_size(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        c.metrics.render(&sizes),
    )
}

/// A gRPC status from the service, as the JSON API reports it.
fn status_error(status: tonic::Status) -> JsonError {
    let name = status
        .metadata()
        .get(keyfall_api::grpc::ERROR_TYPE_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match AuthError::from_type_name(name, status.message().to_string()) {
        Some(auth) => JsonError::Auth(auth),
        None => JsonError::Engine(back::status_to_error(&status)),
    }
}

/// A row keyfall-dax serves itself (`cached`): the JSON input decoded as the server decodes
/// it, authorized once (the service is told so), served through the gRPC service as
/// `caller`, and the answer encoded as the server's JSON API would. With `paged` (Query,
/// Scan), `Items` comes back absent only for `Select: COUNT`: protobuf cannot tell an empty
/// page from a count.
macro_rules! via_service {
    ($st:expr, $caller:expr, $body:expr, $name:literal, $req:ident, $method:ident, $resp:ident $(, $paged:ident)?) => {{
        let input: <pb::$req as Decoded>::Input = decode_request($body)?;
        authorize_decoded($st, $caller, concat!("dynamodb:", $name), &input).await?;
        $(let $paged = input.select.as_deref() == Some("COUNT");)?
        let proto: pb::$req = Member::into_proto(input);
        let mut req = tonic::Request::new(proto);
        req.extensions_mut().insert($caller.clone());
        req.extensions_mut().insert(Authorized);
        let out = $st
            .service
            .$method(req)
            .await
            .map_err(status_error)?
            .into_inner();
        #[allow(unused_mut)]
        let mut out: <pb::$resp as Answered>::Output = Member::from_proto(out)?;
        $(out.items = (!$paged).then(|| out.items.take().unwrap_or_default());)?
        Ok(Forwarded::Encoded(encode(&out)?))
    }};
}

async fn json_api(
    State(st): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = std::time::Instant::now();
    let request_id = format!("{:032X}", rand_id());
    // As on the server (one function receives for both).
    let keyfall_api::json::Received {
        authenticated,
        body,
    } = match keyfall_api::json::receive(
        &st.proxy.auth,
        &uri,
        &headers,
        body,
        peer.ip(),
        false,
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
        .unwrap_or("")
        .to_string();
    let result = match authenticated {
        Err(e) => {
            let error = JsonError::Auth(e);
            let operation = target.rsplit('.').next().unwrap_or("");
            let action = format!("dynamodb:{operation}");
            if let Some(audit) = st.audit.as_ref().filter(|a| a.wants(&action)) {
                let caller = Caller::unauthenticated(Some(peer.ip()), false);
                let outcome = error.type_name();
                audit.record(&request_id, &caller, "json", &action, &[], Some(&outcome));
            }
            Err(error)
        }
        Ok(caller) => {
            let operation = target.rsplit('.').next().unwrap_or("");
            let action = format!("dynamodb:{operation}");
            match st.audit.as_ref().filter(|a| a.wants(&action)) {
                None => dispatch(&st, &caller, &target, body).await,
                Some(audit) => {
                    let (result, resources) =
                        crate::audit::collecting(dispatch(&st, &caller, &target, body)).await;
                    let outcome = result.as_ref().err().map(JsonError::type_name);
                    audit.record(
                        &request_id,
                        &caller,
                        "json",
                        &action,
                        &resources,
                        outcome.as_deref(),
                    );
                    result
                }
            }
        }
    };
    // The same series as the server's: the error name an answer carries, or success.
    let (status, body, outcome) = match result {
        Ok(Forwarded::Encoded(body)) => (StatusCode::OK, body, None),
        Ok(Forwarded::Upstream(status, body)) => {
            let outcome = (status != StatusCode::OK).then(|| upstream_error_name(&body));
            (status, body.to_vec(), outcome)
        }
        Err(e) => (e.status(), e.body(), Some(e.type_name())),
    };
    let operation = target.rsplit('.').next().unwrap_or("");
    st.proxy.caches.metrics.requests.record(
        keyfall_api::metrics::Api::Json,
        keyfall_api::actions::metric_name(operation),
        outcome.as_deref(),
        started.elapsed(),
    );
    respond(status, body, &request_id)
}

/// The error name (`__type` without its namespace) of an answer the server sent.
fn upstream_error_name(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(str::to_string))
        .map(|t| t.rsplit('#').next().unwrap_or("").to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn rand_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    u128::from(h.finish())
}

enum Forwarded {
    Encoded(Vec<u8>),
    Upstream(StatusCode, Bytes),
}

async fn dispatch(
    st: &HttpState,
    caller: &Caller,
    target: &str,
    body: Bytes,
) -> Result<Forwarded, JsonError> {
    let Some(action) = target.strip_prefix(TARGET_PREFIX) else {
        if let Some(action) = target.strip_prefix(STREAMS_TARGET_PREFIX) {
            return dispatch_streams(st, caller, target, action, &body).await;
        }
        return Err(JsonError::UnknownOperation);
    };
    let b = &body[..];
    if let Some(answer) = forwarded_dynamodb(st, caller, target, action, b).await {
        return answer;
    }
    match action {
        "DescribeLimits" | "DescribeEndpoints" => {
            let input: NoInput = decode_request(b)?;
            let action = if action == "DescribeLimits" {
                "dynamodb:DescribeLimits"
            } else {
                "dynamodb:DescribeEndpoints"
            };
            forward(st, caller, target, action, &input).await
        }
        // Known but not built: the server's own answer, without asking it; anything else is
        // no action at all. Nothing undecoded is ever forwarded.
        other => Err(match keyfall_api::actions::known_action(other) {
            Some(name) => JsonError::Engine(keyfall_types::error::Error::Unimplemented(name)),
            None => JsonError::UnknownOperation,
        }),
    }
}

/// The action table's built rows (not `custom`), each decoded as the server decodes the
/// row's request ([`Decoded`]) and authorized: `cached` rows are served by the proxy's own
/// service ([`via_service`]), the others forwarded; after a `forgets` row the proxy forgets
/// what it knew of the table (its schema, TTL attribute or indexes may have changed).
macro_rules! forwarded_rows {
    ($fn_name:ident; $($method:ident, $name:literal, $req:ident, $resp:ident, $resource:ident, $class:ident, $proxy:ident, $built:ident, $json:tt;)*) => {
        async fn $fn_name(
            st: &HttpState,
            caller: &Caller,
            target: &str,
            action: &str,
            body: &[u8],
        ) -> Option<Result<Forwarded, JsonError>> {
            $(forwarded_row!(st, caller, target, action, body, $built $proxy $json $name $req $method $resp);)*
            None
        }
    };
}

macro_rules! forwarded_row {
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, built $proxy:ident custom $($row:tt)*) => {};
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, built cached $json:tt "Query" $req:ident $method:ident $resp:ident) => {
        if $action == "Query" {
            return Some(
                async { via_service!($st, $caller, $body, "Query", $req, $method, $resp, paged) }
                    .await,
            );
        }
    };
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, built cached $json:tt "Scan" $req:ident $method:ident $resp:ident) => {
        if $action == "Scan" {
            return Some(
                async { via_service!($st, $caller, $body, "Scan", $req, $method, $resp, paged) }
                    .await,
            );
        }
    };
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, built cached $json:tt $name:literal $req:ident $method:ident $resp:ident) => {
        if $action == $name {
            return Some(
                async { via_service!($st, $caller, $body, $name, $req, $method, $resp) }.await,
            );
        }
    };
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, unbuilt $($row:tt)*) => {};
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, built passed $json:tt $name:literal $req:ident $method:ident $resp:ident) => {
        if $action == $name {
            return Some(
                async {
                    let input: <pb::$req as Decoded>::Input = decode_request($body)?;
                    forward($st, $caller, $target, concat!("dynamodb:", $name), &input).await
                }
                .await,
            );
        }
    };
    ($st:ident, $caller:ident, $target:ident, $action:ident, $body:ident, built forgets $json:tt $name:literal $req:ident $method:ident $resp:ident) => {
        if $action == $name {
            return Some(
                async {
                    let input: <pb::$req as Decoded>::Input = decode_request($body)?;
                    let out =
                        forward($st, $caller, $target, concat!("dynamodb:", $name), &input).await;
                    if let Some(t) = &input.table_name {
                        $st.proxy.forget_table(t);
                    }
                    out
                }
                .await,
            );
        }
    };
}

macro_rules! dynamodb_forwarded {
    ($($row:tt)*) => { forwarded_rows!(forwarded_dynamodb; $($row)*); };
}
macro_rules! streams_forwarded {
    ($($row:tt)*) => { forwarded_rows!(forwarded_streams; $($row)*); };
}
keyfall_api::dynamodb_actions!(dynamodb_forwarded);
keyfall_api::streams_actions!(streams_forwarded);

/// The DynamoDB Streams actions, decoded and authorized as the server does them.
async fn dispatch_streams(
    st: &HttpState,
    caller: &Caller,
    target: &str,
    action: &str,
    body: &[u8],
) -> Result<Forwarded, JsonError> {
    forwarded_streams(st, caller, target, action, body)
        .await
        .unwrap_or(Err(JsonError::UnknownOperation))
}

/// Actions without members (DescribeLimits, DescribeEndpoints): only `{}` is accepted.
#[derive(Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct NoInput {}

impl Decode for NoInput {
    type Command = NoInput;
    fn decode(self) -> Result<NoInput, keyfall_types::command::Invalid> {
        Ok(self)
    }
}

impl Authorize for NoInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        ().checks(action, s)
    }
}

/// Authorizes a decoded request with the server's checks, once. A restricted caller's
/// `dynamodb:LeadingKeys` need the tables' key schemas: those not known yet are learned
/// first and the checks computed again.
async fn authorize_decoded<I: Decode + Clone>(
    st: &HttpState,
    caller: &Caller,
    action: &'static str,
    input: &I,
) -> Result<(), JsonError>
where
    I::Command: Authorize,
{
    let restricted = caller.principal.as_ref().is_some_and(|p| !p.root);
    // Root and `--auth off` skip the checks unless the audit log wants their resources.
    if !restricted && !crate::audit::collecting_now() {
        return Ok(());
    }
    let view = SchemaView {
        schemas: &st.proxy.schemas,
        auth: &st.proxy.auth,
    };
    // Decoded as the server will decode it; the input itself is what gets forwarded.
    let decoded = input.clone().decode();
    let mut checks = decoded.checks(action, &view);
    if restricted {
        let mut learned = false;
        for c in checks.iter().filter(|c| c.leading_keys_unknown) {
            if let Some(table) = table_of(&c.resource) {
                if st.proxy.schemas.cached(table).is_none() {
                    learned |= st.proxy.schemas.schema(table).await.is_some();
                }
            }
        }
        if learned {
            checks = decoded.checks(action, &view);
        }
        if let Err(e) = st.proxy.auth.authorize(caller, &checks) {
            // A malformed request answers its own error, as the server answers it.
            return Err(match decoded {
                Ok(_) => JsonError::Auth(e),
                Err(invalid) => JsonError::Engine(invalid.error),
            });
        }
    }
    for c in &checks {
        crate::audit::note(|| c.resource.clone());
    }
    Ok(())
}

/// The table a resource ARN names (`...:table/<name>[/index/...|/stream/...]`).
fn table_of(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":table/")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// An uncached action: `input` (decoded with the server's type) is authorized with the
/// server's checks, then re-encoded and forwarded, so what was authorized is exactly what
/// the server decodes and runs (no member the proxy did not read reaches it).
async fn forward<I: Decode + Clone + serde::Serialize>(
    st: &HttpState,
    caller: &Caller,
    target: &str,
    action: &'static str,
    input: &I,
) -> Result<Forwarded, JsonError>
where
    I::Command: Authorize,
{
    authorize_decoded(st, caller, action, input).await?;
    // On the one upstream connection, as the request decoded and authorized here.
    let call = keyfall_proto::v1::JsonCall {
        target: target.to_string(),
        body: encode(input)?,
    };
    inc(&st.proxy.caches.metrics.pass_throughs);
    let answer = keyfall_proto::v1::json_api_client::JsonApiClient::new(st.proxy.channel.clone())
        .call(call)
        .await
        .map_err(status_error)?
        .into_inner();
    let status = u16::try_from(answer.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    Ok(Forwarded::Upstream(status, Bytes::from(answer.body)))
}
