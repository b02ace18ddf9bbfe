//! A real Keyfall server in the test process: on a temporary data directory and port 0,
//! with random root credentials, so a user's tests need no separate process or Java.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Client, Credentials, Error};

/// A running in-process server. Dropping it stops the server and deletes its data.
///
/// ```no_run
/// # async fn f() -> Result<(), keyfall::Error> {
/// let server = keyfall::embedded::EmbeddedServer::start().await?;
/// let client = server.client()?;
/// // ... create tables, read and write ...
/// server.stop().await;
/// # Ok(()) }
/// ```
pub struct EmbeddedServer {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    credentials: Credentials,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), keyfall_server::ServerError>>>,
    _data_dir: tempfile::TempDir,
}

impl EmbeddedServer {
    /// Starts a server with the default configuration (auth enforced, buffered
    /// durability) on loopback ports chosen by the OS.
    pub async fn start() -> Result<EmbeddedServer, Error> {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with settings changed from the defaults.
    pub async fn start_with(
        configure: impl FnOnce(&mut keyfall_server::Config),
    ) -> Result<EmbeddedServer, Error> {
        let io =
            |what: &str, e: std::io::Error| Error::Config(format!("embedded server: {what}: {e}"));
        let data_dir = tempfile::tempdir().map_err(|e| io("temporary directory", e))?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let http = TcpListener::bind(loopback)
            .await
            .map_err(|e| io("bind", e))?;
        let grpc = TcpListener::bind(loopback)
            .await
            .map_err(|e| io("bind", e))?;
        let http_addr = http.local_addr().map_err(|e| io("address", e))?;
        let grpc_addr = grpc.local_addr().map_err(|e| io("address", e))?;
        let credentials = Credentials::new(
            format!(
                "AKIAEMBED{}",
                &uuid::Uuid::new_v4().simple().to_string()[..11].to_uppercase()
            ),
            uuid::Uuid::new_v4().simple().to_string(),
        );
        let mut config = keyfall_server::Config {
            data_dir: data_dir.path().to_path_buf(),
            http_listen: http_addr,
            grpc_listen: grpc_addr,
            root_access_key_id: Some(credentials.access_key_id.clone()),
            root_secret_access_key: Some(credentials.secret_access_key.clone()),
            ..keyfall_server::Config::default()
        };
        configure(&mut config);
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(keyfall_server::run(
            config,
            keyfall_server::Listeners { http, grpc },
            rx,
        ));
        Ok(EmbeddedServer {
            grpc_addr,
            http_addr,
            credentials,
            shutdown,
            task: Some(task),
            _data_dir: data_dir,
        })
    }

    /// `http://127.0.0.1:<port>` of the gRPC API.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// `http://127.0.0.1:<port>` of the DynamoDB JSON API (for the AWS SDKs).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The root credentials the server accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A client of this server as its root user.
    pub fn client(&self) -> Result<Client, Error> {
        Client::builder()
            .endpoint(self.grpc_endpoint())
            .credentials(self.credentials.clone())
            .build()
    }

    /// Stops the server, waiting for it to flush and close.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
