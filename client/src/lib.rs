//! The Keyfall Rust client. Today it re-exports the generated gRPC client; the typed,
//! ergonomic layer comes with the client issue.
#![deny(unsafe_code)]

pub use keyfall_proto as proto;
