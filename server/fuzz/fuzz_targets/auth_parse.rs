//! Any text as a policy document, and any bytes as an Authorization header and date:
//! parsing, evaluation and signature verification must never panic.
//! The body is `keyfall_fuzz::auth_parse`, which `tests/tests/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::auth_parse(data));
