//! The Keyfall Rust client. Today it re-exports the generated gRPC client and signs its
//! requests; the typed, ergonomic layer comes with the client issue.
#![deny(unsafe_code)]

pub mod signing;

pub use keyfall_proto as proto;
pub use signing::{Credentials, SigV4Layer};
