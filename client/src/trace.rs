//! W3C trace context on every gRPC request, so a trace continues through the proxy and
//! the server.

use std::task::{Context, Poll};

use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Adds `traceparent` (and `tracestate`) of the current `tracing` span to each request.
/// Without an OpenTelemetry layer in the subscriber the context is empty and nothing is
/// added.
#[derive(Clone)]
pub struct TraceContext<S> {
    inner: S,
}

impl<S> TraceContext<S> {
    pub fn new(inner: S) -> Self {
        TraceContext { inner }
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

impl<S, B> tower::Service<http::Request<B>> for TraceContext<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let cx = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(req.headers_mut()));
        self.inner.call(req)
    }
}
