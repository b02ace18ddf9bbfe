//! The gRPC API (`keyfall.v1`): tonic services over the same engine as the JSON API.

#[macro_use]
mod rpc;
mod admin;
mod streams;

use keyfall_api::grpc::codec::{FromProto, IntoProto};
pub use keyfall_api::grpc::*;

use std::sync::Arc;

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_server::{Diagnostics, DiagnosticsServer};
use keyfall_proto::v1::dynamo_db_server::{DynamoDb, DynamoDbServer};
use keyfall_proto::v1::dynamo_db_streams_server::DynamoDbStreamsServer;
use keyfall_proto::v1::json_api_server::JsonApiServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use keyfall_types::command::Decode;

use super::pipeline::{new_request_id, request_id_or_new, Call, Failure, Pipeline};
use crate::auth::checks::Authorize;
use crate::auth::{Auth, Caller};
use crate::engine::Engine;
use crate::error::Error;
use crate::server::ServerError;

pub async fn serve(
    engine: Arc<Engine>,
    auth: Arc<Auth>,
    metrics: Arc<crate::metrics::Metrics>,
    audit: Option<Arc<crate::audit::Audit>>,
    tls: Option<crate::tls::TlsMaterial>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServerError> {
    let advertised = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let gate = Pipeline {
        engine: engine.clone(),
        auth: auth.clone(),
        audit: audit.clone(),
    };
    // Standard discovery: grpc.health.v1 and server reflection (grpcurl list/describe).
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<DynamoDbServer<DynamoDbService>>()
        .await;
    health
        .set_serving::<DynamoDbStreamsServer<streams::StreamsService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(keyfall_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServerError::Startup(format!("reflection: {e}")))?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(keyfall_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServerError::Startup(format!("reflection: {e}")))?;
    let dynamodb = DynamoDbService {
        gate: gate.clone(),
        advertised: advertised.clone(),
    };
    let secure = tls.is_some();
    let json_api = crate::api::json::JsonApi {
        engine: engine.clone(),
        metrics: metrics.clone(),
        pipeline: gate.clone(),
        auth: auth.clone(),
        secure,
        advertised_address: advertised,
    };
    // Small request/response pairs must not wait on Nagle's algorithm.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder();
    if let Some(m) = &tls {
        let identity = tonic::transport::Identity::from_pem(&m.cert_pem, &m.key_pem);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|e| ServerError::Config(format!("TLS setup: {e}")))?;
    }
    builder
        // Outside the auth layer: refused calls are counted too. Every service (DynamoDB,
        // Streams, Admin) is recorded here, once.
        .layer(keyfall_api::metrics::RequestMetricsLayer {
            metrics: metrics.requests.clone(),
        })
        .layer(AuthLayer {
            auth: auth.clone(),
            secure,
            component: "keyfall-server",
        })
        .add_service(
            DynamoDbServer::new(dynamodb)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(DynamoDbStreamsServer::new(streams::StreamsService {
            gate: gate.clone(),
            shutdown: shutdown.clone(),
        }))
        .add_service(keyfall_proto::v1::admin_server::AdminServer::new(
            admin::AdminService {
                pipeline: gate.clone(),
            },
        ))
        .add_service(
            JsonApiServer::new(crate::api::json::JsonCalls { api: json_api })
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(DiagnosticsServer::new(DiagnosticsService))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| ServerError::Serve(e.to_string()))
}

fn unimplemented(action: &'static str) -> Status {
    to_status(Error::Unimplemented(action))
}

pub struct DynamoDbService {
    gate: Pipeline,
    advertised: String,
}

impl Pipeline {
    /// Runs a gRPC call through the pipeline and maps its failure to a status once.
    pub async fn rpc<I, T, F>(
        &self,
        caller: &Caller,
        action: &'static str,
        input: I,
        f: F,
    ) -> Result<T, Status>
    where
        I: Decode,
        I::Command: Authorize + Send + 'static,
        T: Send + 'static,
        F: FnOnce(&Engine, I::Command) -> crate::error::Result<T> + Send + 'static,
    {
        // gRPC answers carry no id; one is made when the audit log or an error line
        // needs it, the same for both.
        let audit_id = if self.audit.as_ref().is_some_and(|a| a.wants(action)) {
            new_request_id()
        } else {
            String::new()
        };
        let call = Call::new(caller, "grpc", &audit_id);
        let failure = match self.run(&call, action, input, f).await {
            Ok(out) => return Ok(out),
            Err(failure) => failure,
        };
        let error_type = failure.type_name();
        let status = match failure {
            Failure::Auth(e) => auth_status(&e),
            Failure::Engine(e) => to_status(e),
        };
        // Once per error answer: server faults loudly, client mistakes quietly.
        let request_id = request_id_or_new(&audit_id);
        if matches!(
            status.code(),
            tonic::Code::Internal | tonic::Code::Unavailable
        ) {
            tracing::error!(%request_id, action, error_type, error = %status.message(), "request failed");
        } else {
            tracing::debug!(%request_id, action, error_type, error = %status.message(), "client error");
        }
        Err(status)
    }
}

#[tonic::async_trait]
impl DynamoDb for DynamoDbService {
    async fn describe_limits(
        &self,
        r: Request<pb::DescribeLimitsRequest>,
    ) -> Result<Response<pb::DescribeLimitsResponse>, Status> {
        let caller = caller_of(&r)?;
        let l = self
            .gate
            .rpc(&caller, "dynamodb:DescribeLimits", (), |e, ()| {
                Ok(e.describe_limits())
            })
            .await?;
        Ok(Response::new(pb::DescribeLimitsResponse {
            account_max_read_capacity_units: Some(l.account_max_read_capacity_units),
            account_max_write_capacity_units: Some(l.account_max_write_capacity_units),
            table_max_read_capacity_units: Some(l.table_max_read_capacity_units),
            table_max_write_capacity_units: Some(l.table_max_write_capacity_units),
        }))
    }

    async fn describe_endpoints(
        &self,
        r: Request<pb::DescribeEndpointsRequest>,
    ) -> Result<Response<pb::DescribeEndpointsResponse>, Status> {
        let caller = caller_of(&r)?;
        let advertised = self.advertised.clone();
        let endpoints = self
            .gate
            .rpc(&caller, "dynamodb:DescribeEndpoints", (), move |e, ()| {
                Ok(e.describe_endpoints(&advertised))
            })
            .await?
            .into_iter()
            .map(|e| pb::Endpoint {
                address: e.address,
                cache_period_in_minutes: e.cache_period_in_minutes,
            })
            .collect();
        Ok(Response::new(pb::DescribeEndpointsResponse { endpoints }))
    }

    keyfall_api::dynamodb_actions!(engine_rpcs);
}

/// The reference RPC benchmarks compare against: the cost of a gRPC call that does nothing.
pub struct DiagnosticsService;

#[tonic::async_trait]
impl Diagnostics for DiagnosticsService {
    async fn echo(
        &self,
        r: Request<pb::EchoRequest>,
    ) -> Result<Response<pb::EchoResponse>, Status> {
        Ok(Response::new(pb::EchoResponse {
            payload: r.into_inner().payload,
        }))
    }
}
