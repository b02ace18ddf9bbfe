//! The layering of ARCHITECTURE.md, enforced: each crate's normal dependencies (transitive,
//! as `cargo tree` resolves them for this machine) may not reach a layer above it or a
//! storage engine it must not link. A crate that starts importing past its layer fails
//! here, not in review.

use std::collections::BTreeSet;
use std::process::Command;

/// The crates a package links (itself excluded), as `cargo tree` resolves normal
/// dependencies.
fn linked(package: &str, features: &[&str]) -> BTreeSet<String> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["--manifest-path", manifest, "-p", package]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd.output().expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_string)
        .collect()
}

/// `(package, features, crates it must never link)`.
const RULES: &[(&str, &[&str], &[&str])] = &[
    // Wire types only.
    (
        "keyfall-proto",
        &[],
        &[
            "keyfall-types",
            "keyfall-auth",
            "keyfall-api",
            "keyfall-server",
            "fjall",
        ],
    ),
    // The DynamoDB model, expressions, request types and errors: no engine, no storage,
    // no protocol.
    (
        "keyfall-types",
        &[],
        &[
            "keyfall-proto",
            "keyfall-auth",
            "keyfall-api",
            "keyfall-server",
            "fjall",
            "tonic",
            "axum",
        ],
    ),
    // SigV4 and policies read the decoded request; they name no engine or storage engine.
    (
        "keyfall-auth",
        &[],
        &[
            "keyfall-proto",
            "keyfall-api",
            "keyfall-server",
            "fjall",
            "tonic",
            "axum",
        ],
    ),
    // DynamoDB semantics over storage: no wire format, no auth, no network.
    (
        "keyfall-engine",
        &[],
        &[
            "keyfall-proto",
            "keyfall-auth",
            "keyfall-api",
            "keyfall-server",
            "tonic",
            "axum",
        ],
    ),
    // The wire codecs run no request themselves.
    (
        "keyfall-api",
        &[],
        &["keyfall-server", "keyfall-engine", "fjall"],
    ),
    // The fuzz targets' bodies exercise the parsers of types, auth and api only.
    (
        "keyfall-fuzz",
        &[],
        &["keyfall-server", "keyfall-engine", "fjall"],
    ),
    // The proxy reuses types, auth and codecs, never the engine.
    (
        "keyfall-dax",
        &[],
        &["keyfall-server", "keyfall-engine", "fjall"],
    ),
    // The client speaks the wire (its `embedded` feature aside).
    (
        "keyfall",
        &[],
        &[
            "keyfall-server",
            "keyfall-engine",
            "keyfall-api",
            "keyfall-auth",
            "fjall",
        ],
    ),
];

#[test]
fn no_crate_links_past_its_layer() {
    let mut breaches = Vec::new();
    for (package, features, forbidden) in RULES {
        let links = linked(package, features);
        assert!(
            !links.is_empty(),
            "cargo tree found no dependencies of {package}: the rule reads nothing"
        );
        for f in *forbidden {
            if links.contains(*f) {
                breaches.push(format!("{package} links {f}"));
            }
        }
    }
    assert!(breaches.is_empty(), "layer breaches: {breaches:?}");
}

/// The rule above can fail: the engine does link fjall, and the client's `embedded`
/// feature links the server.
#[test]
fn the_layer_check_sees_real_links() {
    assert!(linked("keyfall-engine", &[]).contains("fjall"));
    assert!(linked("keyfall", &["embedded"]).contains("keyfall-server"));
}
