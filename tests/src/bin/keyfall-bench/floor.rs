//! The floors: the cheapest possible request of each API on this machine, served by empty
//! servers inside the bench process and driven by the same clients as the workload, so the
//! workload's figures can be given as ratios of them (absolute numbers on a shared machine
//! are noise; ratios measured in the same run are not).
//!
//! - gRPC: a `keyfall.v1.Diagnostics/Echo` server that does nothing, called through the same
//!   SigV4-signing tonic channel as the workload.
//! - JSON: an HTTP handler that answers every request `200 {}` as
//!   `application/x-amz-json-1.0`, called with aws-sdk-dynamodb `GetItem` (which decodes
//!   `{}` as an empty `GetItemOutput`): SDK serialization, signing and HTTP/1.1, no server.

use std::net::SocketAddr;

use anyhow::Context;
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_client::DiagnosticsClient;
use keyfall_proto::v1::diagnostics_server::{Diagnostics, DiagnosticsServer};
use keyfall_tests::{dynamodb_client_as, signed_channel, GrpcChannel};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::report::Report;

/// An in-process server; stops when dropped.
pub struct EmptyServer {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

struct EmptyEcho;

#[tonic::async_trait]
impl Diagnostics for EmptyEcho {
    async fn echo(
        &self,
        r: tonic::Request<pb::EchoRequest>,
    ) -> Result<tonic::Response<pb::EchoResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::EchoResponse {
            payload: r.into_inner().payload,
        }))
    }
}

/// A gRPC server with only an empty `Diagnostics/Echo`, on 127.0.0.1:0.
pub async fn grpc_echo_server() -> anyhow::Result<EmptyServer> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the gRPC floor server")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    // As the real server: small request/response pairs must not wait on Nagle's algorithm.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(DiagnosticsServer::new(EmptyEcho))
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stopped.await;
            }),
    );
    Ok(EmptyServer { addr, _stop: stop })
}

/// An HTTP server answering every request `200 {}` (`application/x-amz-json-1.0`), on
/// 127.0.0.1:0.
pub async fn http_empty_server() -> anyhow::Result<EmptyServer> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the HTTP floor server")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = axum::Router::new().fallback(|| async {
        (
            [(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            "{}",
        )
    });
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    tokio::spawn(async move { serve.await });
    Ok(EmptyServer { addr, _stop: stop })
}

/// Empty Echo calls against a channel, from `concurrency` workers for `seconds`.
pub async fn echo_load(
    name: &'static str,
    channel: GrpcChannel,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<Report> {
    let echo = DiagnosticsClient::new(channel);
    crate::measure(name, concurrency, seconds, move |_, _| {
        let mut echo = echo.clone();
        async move {
            echo.echo(pb::EchoRequest {
                payload: Vec::new(),
            })
            .await?;
            Ok(())
        }
    })
    .await
}

/// The gRPC floor: the in-bench empty Echo server, through a signed channel.
pub async fn grpc(
    key: &str,
    secret: &str,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<Report> {
    let server = grpc_echo_server().await?;
    let channel = signed_channel(&format!("http://{}", server.addr), key, secret).await;
    let report = echo_load(
        "floor: grpc Echo (empty, in-bench)",
        channel,
        concurrency,
        seconds,
    )
    .await;
    drop(server);
    report
}

/// The JSON floor: GetItem against the in-bench empty HTTP handler, with the client the
/// workload uses (aws-sdk-dynamodb, or the lean signed client).
pub async fn json(
    key: &str,
    secret: &str,
    concurrency: usize,
    seconds: f64,
    client: crate::ycsb::JsonClient,
) -> anyhow::Result<Report> {
    let server = http_empty_server().await?;
    let endpoint = format!("http://{}", server.addr);
    let report = match client {
        crate::ycsb::JsonClient::Sdk => {
            let sdk = dynamodb_client_as(&endpoint, key, secret);
            crate::measure(
                "floor: json GetItem (empty handler)",
                concurrency,
                seconds,
                move |_, i| {
                    let req = sdk.get_item().table_name("floor").key(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("user{i}")),
                    );
                    async move {
                        let out = req.send().await?;
                        anyhow::ensure!(out.item().is_none(), "the empty handler returned an item");
                        Ok(())
                    }
                },
            )
            .await
        }
        crate::ycsb::JsonClient::Raw => {
            let raw = crate::raw_json::RawJson::new(&endpoint, key, secret)?;
            crate::measure(
                "floor: json GetItem (empty handler, raw)",
                concurrency,
                seconds,
                move |_, i| {
                    let raw = raw.clone();
                    async move {
                        let body = crate::raw_json::Body::new("floor")
                            .raw(r#","Key":{"#)
                            .s("pk", &format!("user{i}"))
                            .raw("}")
                            .finish();
                        raw.call("GetItem", body).await?;
                        Ok(())
                    }
                },
            )
            .await
        }
    };
    drop(server);
    report
}
