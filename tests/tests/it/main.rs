//! All cross-crate integration tests in one test binary: each module was its own binary, and
//! every binary links the server, the proxy, the client and the AWS SDKs (hundreds of MB
//! each, minutes of linking on a 2-core machine). Run one file with `cargo test -p
//! keyfall-tests --test it <module>::`.

mod actions;
mod auth;
mod autoscaling;
mod backups;
mod bench_smoke;
mod capacity;
mod client;
mod commands;
mod convergence;
mod cost;
mod dax;
mod dax_hardening;
mod encryption;
mod fuzz_smoke;
mod grpc_api;
mod hardening;
mod insights;
mod json_indexes;
mod json_items;
mod json_query_scan;
mod json_tables;
mod json_transactions;
mod json_ttl;
mod layers;
mod observability;
mod partiql;
mod streams;
mod throttling;
mod torture;
mod traces;
mod transfers;
mod wire_cases;
mod wire_http;
mod wire_streams;
