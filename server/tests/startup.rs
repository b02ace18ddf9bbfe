//! The binary refuses to start, with a message and exit code 2, on a bad configuration or
//! a data directory another server holds.
// Test code: the workspace lints deny these in library code only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn server() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyfall-server"));
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// The server on `data_dir`, listening on free ports nobody is told about.
fn server_on(data_dir: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = server();
    cmd.args([
        "--http-listen",
        &port(),
        "--grpc-listen",
        &port(),
        "--data-dir",
    ])
    .arg(data_dir);
    cmd
}

/// Whether the JSON API answers its health check.
fn serves(http: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(http) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.contains("healthy")
}

fn port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

#[test]
fn bad_config_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keyfall.toml");
    std::fs::write(&config, "durability = \"sometimes\"\n").unwrap();
    let out = server().arg("--config").arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid config file") && stderr.contains("durability"),
        "{stderr}"
    );
}

#[test]
fn environment_settings_are_read() {
    let out = server().env("KEYFALL_ACCOUNT_ID", "12").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("account_id must be 12 digits"));
}

#[test]
fn locked_data_dir_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // The ports come from a bind-and-release, so another test may take one first: a first
    // server can answer on HTTP and then exit (its gRPC port taken), leaving the lock free
    // for the second, which would then run instead of exiting. So each attempt checks the
    // first still runs, bounds the wait for the second, and starts over when the race hit.
    for _ in 0..5 {
        let (http, grpc) = (port(), port());
        let mut first = server()
            .args(["--http-listen", &http, "--grpc-listen", &grpc, "--data-dir"])
            .arg(dir.path())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut up = false;
        while start.elapsed() < Duration::from_secs(30) {
            if first.try_wait().unwrap().is_some() {
                break;
            }
            if std::net::TcpStream::connect(&http).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        if !up || first.try_wait().unwrap().is_some() {
            let _ = first.kill();
            let _ = first.wait();
            continue;
        }
        let mut second = server_on(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = second.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > Duration::from_secs(30) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let first_died = first.try_wait().unwrap().is_some();
        let _ = first.kill();
        let _ = first.wait();
        let Some(status) = status else {
            let _ = second.kill();
            let _ = second.wait();
            assert!(
                first_died,
                "the second server ran beside the first on one data dir"
            );
            continue;
        };
        let mut stderr = String::new();
        if let Some(mut e) = second.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        if first_died && status.code() != Some(2) {
            continue;
        }
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("in use by another keyfall-server process"),
            "{stderr}"
        );
        return;
    }
    panic!("no attempt kept a first server running long enough to test the lock");
}

#[test]
fn malformed_iam_config_exits_2_naming_user_statement_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let iam = dir.path().join("iam.json");
    std::fs::write(
        &iam,
        r#"{"users": [{"name": "alice", "access_key_id": "AKIAALICE", "secret_access_key": "s",
            "policies": [{"Version": "2012-10-17", "Statement": [
                {"Sid": "Ok", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
                {"Sid": "Broken", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
                 "Condition": {"StringEqualz": {"aws:username": "alice"}}}]}]}]}"#,
    )
    .unwrap();
    let out = server_on(dir.path().join("data"))
        .arg("--iam-config")
        .arg(&iam)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in ["alice", "Statement[1]", "Broken", "StringEqualz"] {
        assert!(stderr.contains(want), "{want} missing from: {stderr}");
    }
}

#[test]
fn first_start_prints_generated_root_credentials_once() {
    let dir = tempfile::tempdir().unwrap();
    let start = |dir: &std::path::Path| {
        // Retried on fresh ports when another test took one (the server then exits).
        for _ in 0..5 {
            let (http, grpc) = (port(), port());
            let mut child = server()
                .args(["--http-listen", &http, "--grpc-listen", &grpc, "--data-dir"])
                .arg(dir)
                .spawn()
                .unwrap();
            let begin = Instant::now();
            let serving = loop {
                if serves(&http) {
                    break true;
                }
                if child.try_wait().unwrap().is_some() {
                    break false;
                }
                assert!(
                    begin.elapsed() < Duration::from_secs(30),
                    "server did not start"
                );
                std::thread::sleep(Duration::from_millis(10));
            };
            if !serving {
                continue;
            }
            // Serving means the start-up lines were printed; stop and read them.
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        panic!("server did not start on any ports");
    };
    let first = start(dir.path());
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("root-credentials.json")).unwrap(),
    )
    .unwrap();
    let (key, secret) = (
        creds["access_key_id"].as_str().unwrap(),
        creds["secret_access_key"].as_str().unwrap(),
    );
    assert!(
        first.contains(&format!(
            "export AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret}"
        )),
        "{first}"
    );
    let second = start(dir.path());
    assert!(second.contains(key), "{second}");
    assert!(
        !second.contains(secret),
        "the secret is printed only once: {second}"
    );
}
