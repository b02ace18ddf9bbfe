//! Any text as any expression kind: parsing and evaluation must never panic.
//! The body is `keyfall_fuzz::expr_parse`, which `tests/tests/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::expr_parse(data));
