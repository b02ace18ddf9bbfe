//! The wire APIs: thin adapters that authenticate and decode a request, authorize it, call
//! the engine and encode the answer. DynamoDB semantics live in the engine only.
pub mod actions;
pub mod grpc;
pub mod json;
mod schemas;

use crate::auth::checks::{Authorize, Schemas};
use crate::auth::{Auth, AuthError, Caller};

/// Authorizes a decoded request. The root user and `--auth off` skip computing the
/// request's condition keys, since nothing would read them.
pub fn authorize<I: Authorize>(
    auth: &Auth,
    schemas: &dyn Schemas,
    caller: &Caller,
    action: &'static str,
    input: &I,
) -> Result<(), AuthError> {
    match &caller.principal {
        Some(p) if !p.root => auth.authorize(caller, &input.checks(action, schemas)),
        _ => Ok(()),
    }
}
