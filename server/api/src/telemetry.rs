//! Logs and traces for the binaries: `tracing` everywhere, formatted as text or JSON, and
//! exported as OpenTelemetry spans over OTLP/gRPC when the standard `OTEL_*` variables ask
//! for it (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`;
//! `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`... as the SDK reads them). Spans leave
//! through a batch processor, so a slow or absent collector never blocks a request.
//!
//! W3C `traceparent` is read from incoming HTTP headers and gRPC metadata
//! ([`extract_parent`]) and written into outgoing ones ([`inject_current`]).

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::flags::LogFormat;

/// The target of the one span each request gets (both APIs, server and proxy). Those spans
/// are for trace export, not for log lines: the log layer never sees them, because
/// formatting their fields for it on every request cost ~5% of a GetItem, and with no
/// exporter configured they are not even created.
pub const REQUEST_SPANS: &str = "keyfall::request";

/// Keeps the exporter alive; [`Telemetry::shutdown`] flushes what is pending.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty())
}

/// Whether the `OTEL_*` environment asks for OTLP trace export.
pub fn otlp_requested() -> bool {
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let exporter_none =
        std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    !disabled
        && !exporter_none
        && (env_set("OTEL_EXPORTER_OTLP_ENDPOINT") || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// A tracer provider exporting over OTLP/gRPC to the `OTEL_*`-configured endpoint (or to
/// `endpoint` when given). Must run inside a Tokio runtime (the exporter is a tonic client).
pub fn otlp_provider(
    default_service: &str,
    endpoint: Option<&str>,
) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::WithExportConfig;
    let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
    if let Some(e) = endpoint {
        builder = builder.with_endpoint(e);
    }
    let exporter = builder.build().map_err(|e| e.to_string())?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| default_service.into());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}

impl Telemetry {
    /// Installs the global subscriber, exporting spans when the `OTEL_*` environment asks.
    /// Call inside the runtime.
    pub fn init(default_service: &str, format: LogFormat, default_filter: &str) -> Telemetry {
        Self::init_with(default_service, format, default_filter, None)
    }

    /// As [`Telemetry::init`]; with `endpoint`, spans go there whatever the environment says.
    pub fn init_with(
        default_service: &str,
        format: LogFormat,
        default_filter: &str,
        endpoint: Option<&str>,
    ) -> Telemetry {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let filter = || {
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter))
        };
        let (provider, otel_error) = if endpoint.is_some() || otlp_requested() {
            match otlp_provider(default_service, endpoint) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(e)),
            }
        } else {
            (None, None)
        };
        type Boxed = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;
        let mut layers: Vec<Boxed> = Vec::new();
        if let Some(p) = &provider {
            let otel = tracing_opentelemetry::layer().with_tracer(p.tracer("keyfall"));
            layers.push(otel.with_filter(filter()).boxed());
        }
        let logged = filter().and(tracing_subscriber::filter::filter_fn(|meta| {
            !(meta.is_span() && meta.target() == REQUEST_SPANS)
        }));
        layers.push(match format {
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_filter(logged)
                .boxed(),
            LogFormat::Text => tracing_subscriber::fmt::layer().with_filter(logged).boxed(),
        });
        tracing_subscriber::registry().with(layers).init();
        if let Some(e) = otel_error {
            tracing::warn!(error = %e, "OpenTelemetry export disabled");
        }
        Telemetry { provider }
    }

    /// Sends what the batch processor holds now.
    pub fn flush(&self) {
        if let Some(p) = &self.provider {
            let _ = p.force_flush();
        }
    }

    /// Flushes pending spans.
    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            let _ = p.shutdown();
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Makes `span` a child of the trace the request's `traceparent` names, if any.
pub fn extract_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let _ = span.set_parent(cx);
}

/// Writes the current span's context as `traceparent` into outgoing headers.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}
