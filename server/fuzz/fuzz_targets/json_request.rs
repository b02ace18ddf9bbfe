//! Any bytes as a DynamoDB JSON request body: decoding must answer an error, never panic.
//! The body is `keyfall_fuzz::json_request`, which `tests/tests/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::json_request(data));
