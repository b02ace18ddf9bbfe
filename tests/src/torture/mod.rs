//! The reliability harness behind `keyfall-torture` (and its bounded CI runs in
//! `tests/tests/it/torture.rs`). `crash`: cycles of real `keyfall-server` processes killed
//! with SIGKILL under concurrent load, each restart verified against a ledger of what the
//! server acknowledged. `linear`: histories of reads, writes and compare-and-set through
//! both APIs, checked for linearizability.

pub mod crash;
pub mod linear;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

/// Why a run failed: a broken promise (the ledger and the store disagree) or a harness
/// failure (the server did not start, a call failed that must not).
#[derive(Debug)]
pub enum Failure {
    Violation(String),
    Harness(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Violation(m) => write!(f, "VIOLATION: {m}"),
            Failure::Harness(m) => write!(f, "harness: {m}"),
        }
    }
}

impl std::error::Error for Failure {}

pub(crate) fn harness<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> Failure + '_ {
    move |e| Failure::Harness(format!("{what}: {e:?}"))
}

fn free_port() -> Result<u16, Failure> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(harness("a free port"))
}

/// A `keyfall-server` child process on a data dir, with authorization off (the harness
/// tests durability and atomicity, not access).
pub struct Server {
    child: Child,
    pub http_port: u16,
    pub grpc_port: u16,
}

impl Server {
    pub async fn start(bin: &Path, data_dir: &Path, fsync: bool) -> Result<Server, Failure> {
        let (http_port, grpc_port) = (free_port()?, free_port()?);
        let mut command = Command::new(bin);
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--http-listen")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--grpc-listen")
            .arg(format!("127.0.0.1:{grpc_port}"))
            .arg("--auth")
            .arg("off")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if fsync {
            command.arg("--durability").arg("fsync");
        }
        let child = command.spawn().map_err(harness("spawn keyfall-server"))?;
        let mut server = Server {
            child,
            http_port,
            grpc_port,
        };
        for _ in 0..3000 {
            if tokio::net::TcpStream::connect(("127.0.0.1", http_port))
                .await
                .is_ok()
            {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(Failure::Harness(format!(
                    "keyfall-server exited at start: {status}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.kill();
        Err(Failure::Harness(
            "keyfall-server did not start in 30 s".into(),
        ))
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(format!("http://127.0.0.1:{}", self.http_port))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("torture", "torture", None, None, "t"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            // The harness decides what to retry: an ambiguous failure is a pending write.
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(20))
                    .build(),
            )
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `keyfall-server` next to this executable (`target/<profile>/`), as `cargo build`
/// leaves it.
pub fn sibling_server_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let name = format!("keyfall-server{}", std::env::consts::EXE_SUFFIX);
    [dir.join(&name), dir.parent()?.join(&name)]
        .into_iter()
        .find(|p| p.exists())
}
