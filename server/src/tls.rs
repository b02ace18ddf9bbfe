//! TLS on both listeners (rustls): certificates from `--tls-cert`/`--tls-key`, or a
//! self-signed one generated for development. The JSON API's listener hands axum
//! connections whose handshake already finished, done off the accept loop so a slow client
//! cannot hold up others.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::server::ServerError;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const SELF_SIGNED_FILE: &str = "self-signed-cert.pem";

/// A certificate chain and its private key, PEM-encoded.
#[derive(Clone)]
pub struct TlsMaterial {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsMaterial { .. }")
    }
}

fn config_error(msg: String) -> ServerError {
    ServerError::Config(msg)
}

/// The TLS material the config asks for, if any. A self-signed certificate is written to
/// the data dir so clients can be told to trust it.
pub fn load(config: &Config) -> Result<Option<TlsMaterial>, ServerError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| config_error(format!("cannot read {}: {e}", p.display())))
    };
    match (&config.tls_cert, &config.tls_key, config.tls_self_signed) {
        (Some(cert), Some(key), _) => {
            let m = TlsMaterial {
                cert_pem: read(cert)?,
                key_pem: read(key)?,
            };
            server_config(&m)?;
            Ok(Some(m))
        }
        (Some(_), None, _) | (None, Some(_), _) => Err(config_error(
            "--tls-cert and --tls-key must be given together".into(),
        )),
        (None, None, true) => {
            let names = vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ];
            let generated = rcgen::generate_simple_self_signed(names)
                .map_err(|e| config_error(format!("cannot generate a certificate: {e}")))?;
            let m = TlsMaterial {
                cert_pem: generated.cert.pem().into_bytes(),
                key_pem: generated.key_pair.serialize_pem().into_bytes(),
            };
            let path = config.data_dir.join(SELF_SIGNED_FILE);
            std::fs::write(&path, &m.cert_pem)
                .map_err(|e| config_error(format!("cannot write {}: {e}", path.display())))?;
            println!(
                "keyfall-server: TLS with a self-signed certificate for localhost; trust {} (e.g. AWS_CA_BUNDLE={0})",
                path.display()
            );
            Ok(Some(m))
        }
        (None, None, false) => Ok(None),
    }
}

/// A rustls server configuration for HTTP/1.1 (the JSON API).
pub fn server_config(m: &TlsMaterial) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&m.cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| config_error(format!("invalid TLS certificate: {e}")))?;
    if certs.is_empty() {
        return Err(config_error(
            "the TLS certificate file holds no certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&m.key_pem)
        .map_err(|e| config_error(format!("invalid TLS private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| config_error(format!("TLS certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An axum listener yielding TLS streams whose handshake has completed.
pub struct TlsListener {
    local: SocketAddr,
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, rx) = mpsc::channel(64);
        let accept_task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            local,
            rx,
            accept_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
