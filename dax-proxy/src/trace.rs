//! Trace propagation to the server: every upstream call carries the current span's
//! context as `traceparent`, so one trace shows client, proxy and server.

use std::task::{Context, Poll};

use tonic::body::Body;

#[derive(Clone)]
pub struct Traced<S> {
    pub inner: S,
}

impl<S> tower::Service<http::Request<Body>> for Traced<S>
where
    S: tower::Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> S::Future {
        keyfall_api::telemetry::inject_current(req.headers_mut());
        self.inner.call(req)
    }
}
