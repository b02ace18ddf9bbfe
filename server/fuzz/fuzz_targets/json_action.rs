//! Any bytes as the body of any X-Amz-Target action (the first byte picks it), as keyfall-dax
//! sees it: decoded with the server's types, re-encoded and converted as the proxy forwards
//! it, its checks computed and evaluated by policies with condition keys.
//! The body is `keyfall_fuzz::json_action`, which `tests/tests/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::json_action(data));
