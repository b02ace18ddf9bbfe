//! Prometheus metrics of the server, served as OpenMetrics text at `/metrics` on the HTTP
//! port: requests by API, operation and outcome, their latency, and per-table item counts
//! and sizes (read from the engine at scrape time).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::engine::Engine;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        // 25 µs to ~13 s.
        Histogram::new(exponential_buckets(0.000_025, 2.0, 20))
    }
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram, LatencyBuckets>,
    table_items: Family<TableLabels, Gauge>,
    table_bytes: Family<TableLabels, Gauge>,
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

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("keyfall");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::new_with_constructor(LatencyBuckets);
        let table_items = Family::<TableLabels, Gauge>::default();
        let table_bytes = Family::<TableLabels, Gauge>::default();
        registry.register(
            "requests",
            "Requests by API, operation and outcome",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a decoded request to its answer",
            latency.clone(),
        );
        registry.register("table_items", "Items per table", table_items.clone());
        registry.register(
            "table_size_bytes",
            "Bytes of item data per table",
            table_bytes.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            table_items,
            table_bytes,
        }
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

    /// The OpenMetrics text, with table figures as of now.
    pub fn render(&self, engine: &Engine) -> String {
        self.table_items.clear();
        self.table_bytes.clear();
        for (name, items, bytes) in engine.table_figures() {
            let labels = TableLabels { table: name };
            self.table_items.get_or_create(&labels).set(items);
            self.table_bytes.get_or_create(&labels).set(bytes);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Shared handle.
pub type SharedMetrics = Arc<Metrics>;
