//! The proxy's audit trail: the server's JSON lines (`keyfall_auth::audit`) for the calls
//! the proxy answers or forwards, naming the end user as principal. The server's own lines
//! for the proxy's upstream calls name the proxy's credentials, and cache hits never reach
//! the server at all, so without these lines a read served from cache would leave no trace.
//!
//! The resources of a call are noted where it is authorized (`note`, from the service) in a
//! task-local slot that lives as long as the call.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use keyfall_auth::audit::Audit;
use keyfall_auth::Caller;

tokio::task_local! {
    static RESOURCES: RefCell<Vec<String>>;
}

/// Whether the current call is audited (its resources are being collected).
pub fn collecting_now() -> bool {
    RESOURCES.try_with(|_| ()).is_ok()
}

/// Notes a resource the current call names; outside an audited call it is not even
/// computed (an ARN is a `format!` per cache hit otherwise).
pub fn note(resource: impl FnOnce() -> String) {
    let _ = RESOURCES.try_with(|r| {
        let resource = resource();
        let mut r = r.borrow_mut();
        if !r.contains(&resource) {
            r.push(resource);
        }
    });
}

/// Runs a call, collecting the resources it notes.
pub async fn collecting<T>(call: impl Future<Output = T>) -> (T, Vec<String>) {
    RESOURCES
        .scope(RefCell::new(Vec::new()), async {
            let out = call.await;
            let resources = RESOURCES.with(|r| r.take());
            (out, resources)
        })
        .await
}

pub fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

/// Audits gRPC calls, inside the auth layer (whose `Caller` it reads).
#[derive(Clone)]
pub struct AuditLayer {
    pub audit: Option<Arc<Audit>>,
}

impl<S> tower::Layer<S> for AuditLayer {
    type Service = Audited<S>;

    fn layer(&self, inner: S) -> Audited<S> {
        Audited {
            inner,
            audit: self.audit.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Audited<S> {
    inner: S,
    audit: Option<Arc<Audit>>,
}

type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<http::Request<B>> for Audited<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if self.audit.is_none() {
            return Box::pin(self.inner.call(req));
        }
        let method = req
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let action = format!("dynamodb:{method}");
        let audit = self.audit.clone().filter(|a| a.wants(&action));
        let caller = req.extensions().get::<Caller>().cloned();
        let call = self.inner.call(req);
        let Some((audit, caller)) = audit.zip(caller) else {
            return Box::pin(call);
        };
        Box::pin(async move {
            let (response, resources) = collecting(call).await;
            let outcome = match &response {
                Ok(r) => r
                    .headers()
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                Err(_) => Some("InternalServerError".to_string()),
            };
            audit.record(
                &request_id(),
                &caller,
                "grpc",
                &action,
                &resources,
                outcome.as_deref(),
            );
            response
        })
    }
}
