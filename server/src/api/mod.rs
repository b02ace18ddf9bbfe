//! The wire APIs: thin adapters that authenticate and decode a request, authorize it, call
//! the engine and encode the answer. DynamoDB semantics live in the engine only.
pub mod actions;
pub mod grpc;
pub mod json;

use crate::auth::checks::Authorize;
use crate::auth::{Auth, AuthError, Caller};
use crate::engine::Engine;

/// Authorizes a decoded request. The root user and `--auth off` skip computing the
/// request's condition keys, since nothing would read them.
pub(crate) fn authorize<I: Authorize>(
    auth: &Auth,
    engine: &Engine,
    caller: &Caller,
    action: &'static str,
    input: &I,
) -> Result<(), AuthError> {
    match &caller.principal {
        Some(p) if !p.root => auth.authorize(caller, &input.checks(action, engine)),
        _ => Ok(()),
    }
}
