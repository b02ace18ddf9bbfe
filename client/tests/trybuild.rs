//! Compile-fail cases of `#[derive(Entity)]` and `#[derive(Collection)]`: each file under
//! tests/ui must fail to build with the message in its `.stderr`. Regenerate those with
//! `TRYBUILD=overwrite cargo test -p keyfall --test trybuild` and review the diff.
// Test code: the workspace lints deny these in library code only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[test]
fn derive_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
