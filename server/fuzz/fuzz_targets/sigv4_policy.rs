//! A policy from the input, a SigV4-signed request (correctly, or with a forged header)
//! verified, then its checks computed and evaluated by that policy.
//! The body is `keyfall_fuzz::sigv4_policy`, which `tests/tests/fuzz_smoke.rs` also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyfall_fuzz::sigv4_policy(data));
