//! Generates the `keyfall.v1` message types and gRPC services.
//!
//! The .proto files are compiled by `protox` (a pure-Rust protobuf compiler),
//! so building this crate needs no system `protoc`.

use std::{env, fs, io, path::PathBuf};

use prost::Message;

const PROTO_ROOT: &str = "keyfall";

fn main() -> io::Result<()> {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let proto_dir = manifest_dir.join(PROTO_ROOT).join("v1");
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join(PROTO_ROOT).display()
    );

    let mut files: Vec<PathBuf> = fs::read_dir(&proto_dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    // Deterministic order, so the descriptor set (and thus the build) is reproducible.
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let fds = protox::compile(&files, [&manifest_dir])
        .map_err(|e| io::Error::other(format!("compiling .proto files: {e:?}")))?;

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out_dir.join("keyfall_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Rerun directives are emitted above for the whole proto directory.
        .emit_rerun_if_changed(false)
        .compile_fds(fds)
}
