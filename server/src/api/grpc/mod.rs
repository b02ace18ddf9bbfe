//! TEMPORARY until the proto crate lands.
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use crate::engine::Engine;
use crate::server::ServerError;
pub async fn serve(_engine: Arc<Engine>, _listener: TcpListener, mut shutdown: watch::Receiver<bool>) -> Result<(), ServerError> {
    let _ = shutdown.wait_for(|s| *s).await;
    Ok(())
}
