use tokio::net::TcpListener;

/// Binds the HTTP and gRPC listeners of a binary (server or proxy); the error names the
/// address that could not be bound.
pub async fn bind_pair(
    http: std::net::SocketAddr,
    grpc: std::net::SocketAddr,
) -> Result<(TcpListener, TcpListener), String> {
    let bind = |addr: std::net::SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    tokio::try_join!(bind(http), bind(grpc))
}
