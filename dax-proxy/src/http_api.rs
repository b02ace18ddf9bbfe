//! The proxy's HTTP port: `/metrics` (Prometheus text). The DynamoDB JSON API of the proxy
//! is not built yet; its requests get a clear error naming the alternative.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::metrics::Sizes;
use crate::Proxy;

pub fn router(proxy: Arc<Proxy>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", post(json_api))
        .with_state(proxy)
}

async fn metrics(State(proxy): State<Arc<Proxy>>) -> impl IntoResponse {
    let c = &proxy.caches;
    c.items.run_pending_tasks().await;
    c.pages.run_pending_tasks().await;
    let sizes = Sizes {
        item_entries: c.items.entry_count(),
        item_bytes: c.items.weighted_size(),
        query_entries: c.pages.entry_count(),
        query_bytes: c.pages.weighted_size(),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        c.metrics.render(&sizes),
    )
}

async fn json_api() -> impl IntoResponse {
    let body = serde_json::json!({
        "__type": "com.amazon.coral.service#UnknownOperationException",
        "message": "The DynamoDB JSON API of keyfall-dax is not implemented yet: use its gRPC endpoint, or the server's JSON API",
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        body.to_string(),
    )
}
