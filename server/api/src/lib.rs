//! The wire protocols Keyfall speaks, shared by keyfall-server and keyfall-dax, with no
//! engine and no storage engine: the DynamoDB JSON API's codec and HTTP conformance
//! (`json`), the gRPC API's codec and auth layer (`grpc`), the action list (`actions`),
//! tracing context (`telemetry`), and the flag values and listeners both binaries share.
//! What runs a decoded request (the engine, or the proxy's cache and upstream) is the
//! caller's.

pub mod actions;
pub mod flags;
pub mod grpc;
pub mod json;
pub mod listen;
pub mod metrics;
pub mod telemetry;

use keyfall_auth::checks::{Authorize, Schemas};
use keyfall_auth::{Auth, AuthError, Caller};

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
