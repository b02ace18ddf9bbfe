//! The HTTP layer's parsers: a Content-/Accept-Encoding value, NUL, a body to inflate.
//! The body is `keyfall_fuzz::http_wire`, which `tests/tests/it/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::http_wire(data));
