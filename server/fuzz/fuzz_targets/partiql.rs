//! Any text as a PartiQL statement (first line) with DynamoDB JSON parameters (the lines
//! after): parsed, bound, planned, authorized and evaluated without a panic, planned the
//! same way every time. The body is `keyfall_fuzz::partiql`, which
//! `tests/tests/it/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::partiql(data));
