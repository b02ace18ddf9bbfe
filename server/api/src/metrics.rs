//! Request metrics both binaries export the same way: requests by API, operation and
//! outcome (`success` or the DynamoDB error name), and their latency. The server records
//! them for the JSON handler and, through [`RequestMetricsLayer`], for every gRPC call
//! (DynamoDB, Streams, Admin); keyfall-dax records the same series on its own `/metrics`.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::grpc::ERROR_TYPE_KEY;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    api: &'static str,
    operation: String,
    /// `success`, or the DynamoDB error name.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    api: &'static str,
    operation: String,
}

#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        // 25 µs to ~13 s.
        Histogram::new(exponential_buckets(0.000_025, 2.0, 20))
    }
}

/// Which wire API a request came in by.
#[derive(Debug, Clone, Copy)]
pub enum Api {
    Json,
    Grpc,
}

impl Api {
    fn label(self) -> &'static str {
        match self {
            Api::Json => "json",
            Api::Grpc => "grpc",
        }
    }
}

pub struct RequestMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram, LatencyBuckets>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        RequestMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(LatencyBuckets),
        }
    }
}

impl RequestMetrics {
    /// Registers `requests` and `request_duration_seconds` (under the registry's prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "requests",
            "Requests by API, operation and outcome",
            self.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a received request to its answer",
            self.latency.clone(),
        );
    }

    /// Records one answered request; `outcome` is None for success.
    pub fn record(&self, api: Api, operation: &str, outcome: Option<&str>, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                api: api.label(),
                operation: operation.to_string(),
                outcome: outcome.unwrap_or("success").to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels {
                api: api.label(),
                operation: operation.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// Records every gRPC call that reached a method: its name (the path's last segment), its
/// outcome (the `x-amzn-errortype` of an error answer) and the time to its answer's
/// headers. A path no service routes (tonic's own UNIMPLEMENTED, which carries no
/// DynamoDB error name) is not recorded, so a caller cannot mint label values. Put it
/// outside the auth layer: refused calls count too, as on the JSON API.
#[derive(Clone)]
pub struct RequestMetricsLayer {
    pub metrics: Arc<RequestMetrics>,
}

impl<S> tower::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetricsService<S>;

    fn layer(&self, inner: S) -> RequestMetricsService<S> {
        RequestMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestMetricsService<S> {
    inner: S,
    metrics: Arc<RequestMetrics>,
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

impl<S, B, R> tower::Service<http::Request<B>> for RequestMetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let operation = req
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let metrics = self.metrics.clone();
        let answer = self.inner.call(req);
        Box::pin(async move {
            let response = answer.await?;
            let headers = response.headers();
            let error_type = headers.get(ERROR_TYPE_KEY).and_then(|v| v.to_str().ok());
            let grpc_status = headers.get("grpc-status").and_then(|v| v.to_str().ok());
            let outcome = match (error_type, grpc_status) {
                (Some(name), _) => Some(Some(name.to_string())),
                // Trailers-only UNIMPLEMENTED without a DynamoDB name: no such method.
                (None, Some("12")) => None,
                // A transport-level refusal (a message over the size limit, one that does
                // not decode): named by its gRPC code, a bounded set.
                (None, Some(code)) => match code.parse::<u8>() {
                    Ok(0) => Some(None),
                    Ok(n) if n <= 16 => Some(Some(format!("grpc_status_{n}"))),
                    _ => None,
                },
                (None, None) => Some(None),
            };
            if let Some(outcome) = outcome {
                let elapsed = started.elapsed();
                metrics.record(Api::Grpc, &operation, outcome.as_deref(), elapsed);
            }
            Ok(response)
        })
    }
}
