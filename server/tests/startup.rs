//! The binary refuses to start, with a message and exit code 2, on a bad configuration or
//! a data directory another server holds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn server() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyfall-server"));
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
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
    let (http, grpc) = (port(), port());
    let mut first = server()
        .args(["--http-listen", &http, "--grpc-listen", &grpc, "--data-dir"])
        .arg(dir.path())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(&http).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "first server did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = server()
        .args([
            "--http-listen",
            &port(),
            "--grpc-listen",
            &port(),
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use by another keyfall-server process")
    );
}
