//! Keyfall's storage service. See ARCHITECTURE.md for the map of this crate.
//!
//! A request flows api (grpc | json) -> auth -> engine (model, expressions, tables) -> storage.
#![deny(unsafe_code)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod engine;
pub mod error;
pub mod expr;
pub mod metrics;
pub mod model;
pub mod server;
pub mod storage;
pub mod telemetry;
pub mod tls;

pub use config::{Cli, Config};
pub use server::{run, Listeners, ServerError};
