//! Keyfall's storage service. See ARCHITECTURE.md for the map of this crate.
#![deny(unsafe_code)]

pub mod expr;
pub mod model;
