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
    let gate = Gate {
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
        audit: audit.clone(),
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
            gate,
            shutdown: shutdown.clone(),
        }))
        .add_service(keyfall_proto::v1::admin_server::AdminServer::new(
            admin::AdminService {
                auth: auth.clone(),
                audit,
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
    gate: Gate,
    advertised: String,
}

/// What every service call goes through: authorization of the decoded request, then the
/// engine off the async workers.
#[derive(Clone)]
pub struct Gate {
    pub engine: Arc<Engine>,
    pub auth: Arc<Auth>,
    pub audit: Option<Arc<crate::audit::Audit>>,
}

impl Gate {
    /// Authorizes `input` as `action`, then runs `f` on the engine.
    pub async fn run<I, T, F>(
        &self,
        caller: &Caller,
        action: &'static str,
        input: I,
        f: F,
    ) -> Result<T, Status>
    where
        I: Authorize + Send + 'static,
        T: Send + 'static,
        F: FnOnce(&Engine, I) -> crate::error::Result<T> + Send + 'static,
    {
        // Resource names for the audit line, computed before the input moves.
        let resources: Option<Vec<String>> =
            self.audit.as_ref().filter(|a| a.wants(action)).map(|_| {
                let mut r: Vec<String> = input
                    .checks(action, &crate::api::EngineSchemas(&self.engine))
                    .into_iter()
                    .map(|c| c.resource)
                    .collect();
                r.dedup();
                r
            });
        let result = match crate::api::authorize(
            &self.auth,
            &crate::api::EngineSchemas(&self.engine),
            caller,
            action,
            &input,
        ) {
            Err(e) => Err(auth_status(&e)),
            Ok(()) => call(&self.engine, move |e| f(e, input)).await,
        };
        let outcome = result.as_ref().err().map(error_type_of);
        // Only errors and audited calls need an id: a successful call makes none.
        let needs_id = result.is_err() || (self.audit.is_some() && resources.is_some());
        let request_id = if needs_id {
            uuid::Uuid::new_v4().simple().to_string().to_uppercase()
        } else {
            String::new()
        };
        if let Err(status) = &result {
            // Once per error answer: server faults loudly, client mistakes quietly.
            let error_type = outcome.as_deref().unwrap_or("");
            if matches!(
                status.code(),
                tonic::Code::Internal | tonic::Code::Unavailable
            ) {
                tracing::error!(%request_id, action, error_type, error = %status.message(), "request failed");
            } else {
                tracing::debug!(%request_id, action, error_type, error = %status.message(), "client error");
            }
        }
        if let (Some(audit), Some(resources)) = (&self.audit, resources) {
            audit.record(
                &request_id,
                caller,
                "grpc",
                action,
                &resources,
                outcome.as_deref(),
            );
        }
        result
    }
}

/// Runs an engine call off the async workers and maps its error once.
async fn call<T, F>(engine: &Arc<Engine>, f: F) -> Result<T, Status>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> crate::error::Result<T> + Send + 'static,
{
    engine.run(f).await.map_err(to_status)
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
            .run(&caller, "dynamodb:DescribeLimits", (), |e, ()| {
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
            .run(&caller, "dynamodb:DescribeEndpoints", (), move |e, ()| {
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
