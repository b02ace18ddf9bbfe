//! Any bytes as an import object (DynamoDB JSON, Ion or CSV by the first byte): parsing
//! never panics, and what parses survives a round trip through both export formats.
//! The body is `keyfall_fuzz::import_lines`, which `tests/tests/it/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::import_lines(data));
