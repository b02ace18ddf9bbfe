//! What the examples share: logs, and OpenTelemetry export over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, so a run shows up as one trace per step through
//! the proxy and the server.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Flushes pending spans when dropped.
pub struct Telemetry(Option<SdkTracerProvider>);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs logging (`RUST_LOG`, default `info`) and, when the environment asks for it,
/// the OTLP exporter. Call inside the Tokio runtime.
pub fn init_telemetry(service: &str) -> anyhow::Result<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let wanted = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|v| !v.is_empty());
    let provider = if wanted {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service.to_string());
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name(service)
                        .build(),
                )
                .build(),
        )
    } else {
        None
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("keyfall-examples")));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(otel)
        .try_init()?;
    Ok(Telemetry(provider))
}

/// Fails the example with `what` unless `condition` holds.
pub fn check(condition: bool, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(condition, "unexpected result: {what}");
    println!("  ok: {what}");
    Ok(())
}
