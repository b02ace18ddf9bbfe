//! The gRPC API (`keyfall.v1`): tonic services over the same engine as the JSON API.

mod admin;
mod streams;

pub use keyfall_api::grpc::*;

use std::sync::Arc;

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::diagnostics_server::{Diagnostics, DiagnosticsServer};
use keyfall_proto::v1::dynamo_db_server::{DynamoDb, DynamoDbServer};
use keyfall_proto::v1::dynamo_db_streams_server::DynamoDbStreamsServer;
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
        advertised,
    };
    let secure = tls.is_some();
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

/// The caller the auth layer attached. Its absence means the layer did not run, which must
/// not turn into "allowed".
fn caller_of<T>(r: &Request<T>) -> Result<Caller, Status> {
    r.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("request was not authenticated"))
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

/// Actions not built yet (the action table's `unbuilt` rows) answer UNIMPLEMENTED with
/// the action's name. `#[async_trait]` does not see into macro output, so the methods are
/// spelled in its desugared form.
macro_rules! unbuilt_rpcs {
    ($($method:ident, $name:literal, $req:ident, $resp:ident, $resource:ident, $class:ident, $proxy:ident, $built:ident, $json:tt;)*) => {
        $(unbuilt_rpc!($built $method $name $req $resp);)*
    };
}

macro_rules! unbuilt_rpc {
    (built $($row:tt)*) => {};
    (unbuilt $method:ident $name:literal $req:ident $resp:ident) => {
        fn $method<'life0, 'async_trait>(
            &'life0 self,
            _: Request<pb::$req>,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = Result<Response<pb::$resp>, Status>>
                    + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move { Err(unimplemented($name)) })
        }
    };
}

#[tonic::async_trait]
impl DynamoDb for DynamoDbService {
    async fn create_table(
        &self,
        r: Request<pb::CreateTableRequest>,
    ) -> Result<Response<pb::CreateTableResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::create_table(r.into_inner());
        let d = self
            .gate
            .run(&caller, "dynamodb:CreateTable", input, |e, input| {
                e.create_table(input)
            })
            .await?;
        Ok(Response::new(pb::CreateTableResponse {
            table_description: Some(convert::table_description(&d)),
        }))
    }

    async fn describe_table(
        &self,
        r: Request<pb::DescribeTableRequest>,
    ) -> Result<Response<pb::DescribeTableResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::table_name(r.into_inner().table_name);
        let d = self
            .gate
            .run(&caller, "dynamodb:DescribeTable", input, |e, input| {
                e.describe_table(input)
            })
            .await?;
        Ok(Response::new(pb::DescribeTableResponse {
            table: Some(convert::table_description(&d)),
        }))
    }

    async fn update_table(
        &self,
        r: Request<pb::UpdateTableRequest>,
    ) -> Result<Response<pb::UpdateTableResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::update_table(r.into_inner()).map_err(to_status)?;
        let d = self
            .gate
            .run(&caller, "dynamodb:UpdateTable", input, |e, input| {
                e.update_table(input)
            })
            .await?;
        Ok(Response::new(pb::UpdateTableResponse {
            table_description: Some(convert::table_description(&d)),
        }))
    }

    async fn delete_table(
        &self,
        r: Request<pb::DeleteTableRequest>,
    ) -> Result<Response<pb::DeleteTableResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::table_name(r.into_inner().table_name);
        let d = self
            .gate
            .run(&caller, "dynamodb:DeleteTable", input, |e, input| {
                e.delete_table(input)
            })
            .await?;
        Ok(Response::new(pb::DeleteTableResponse {
            table_description: Some(convert::table_description(&d)),
        }))
    }

    async fn list_tables(
        &self,
        r: Request<pb::ListTablesRequest>,
    ) -> Result<Response<pb::ListTablesResponse>, Status> {
        let caller = caller_of(&r)?;
        let r = r.into_inner();
        let input = crate::engine::types::ListTablesInput {
            exclusive_start_table_name: r.exclusive_start_table_name,
            limit: r.limit.map(i64::from),
        };
        let out = self
            .gate
            .run(&caller, "dynamodb:ListTables", input, |e, input| {
                e.list_tables(input)
            })
            .await?;
        Ok(Response::new(pb::ListTablesResponse {
            table_names: out.table_names,
            last_evaluated_table_name: out.last_evaluated_table_name,
        }))
    }

    async fn put_item(
        &self,
        r: Request<pb::PutItemRequest>,
    ) -> Result<Response<pb::PutItemResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::put_item(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:PutItem", input, |e, input| {
                e.put_item(input)
            })
            .await?;
        let p = convert::write_output(&out);
        Ok(Response::new(pb::PutItemResponse {
            attributes: p.attributes,
            consumed_capacity: p.consumed_capacity,
            item_collection_metrics: p.item_collection_metrics,
        }))
    }

    async fn get_item(
        &self,
        r: Request<pb::GetItemRequest>,
    ) -> Result<Response<pb::GetItemResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::get_item(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:GetItem", input, |e, input| {
                e.get_item(input)
            })
            .await?;
        Ok(Response::new(pb::GetItemResponse {
            consumed_capacity: out
                .consumed_capacity
                .as_ref()
                .map(convert::consumed_to_proto),
            item: out.item.map(convert::item_into_proto).unwrap_or_default(),
        }))
    }

    async fn update_item(
        &self,
        r: Request<pb::UpdateItemRequest>,
    ) -> Result<Response<pb::UpdateItemResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::update_item(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:UpdateItem", input, |e, input| {
                e.update_item(input)
            })
            .await?;
        let p = convert::write_output(&out);
        Ok(Response::new(pb::UpdateItemResponse {
            attributes: p.attributes,
            consumed_capacity: p.consumed_capacity,
            item_collection_metrics: p.item_collection_metrics,
        }))
    }

    async fn delete_item(
        &self,
        r: Request<pb::DeleteItemRequest>,
    ) -> Result<Response<pb::DeleteItemResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::delete_item(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:DeleteItem", input, |e, input| {
                e.delete_item(input)
            })
            .await?;
        let p = convert::write_output(&out);
        Ok(Response::new(pb::DeleteItemResponse {
            attributes: p.attributes,
            consumed_capacity: p.consumed_capacity,
            item_collection_metrics: p.item_collection_metrics,
        }))
    }

    async fn query(
        &self,
        r: Request<pb::QueryRequest>,
    ) -> Result<Response<pb::QueryResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::query(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:Query", input, |e, input| e.query(input))
            .await?;
        let p = convert::page_output(out);
        Ok(Response::new(pb::QueryResponse {
            items: p.items,
            count: p.count,
            scanned_count: p.scanned_count,
            last_evaluated_key: p.last_evaluated_key,
            consumed_capacity: p.consumed_capacity,
        }))
    }

    async fn scan(
        &self,
        r: Request<pb::ScanRequest>,
    ) -> Result<Response<pb::ScanResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::scan(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:Scan", input, |e, input| e.scan(input))
            .await?;
        let p = convert::page_output(out);
        Ok(Response::new(pb::ScanResponse {
            items: p.items,
            count: p.count,
            scanned_count: p.scanned_count,
            last_evaluated_key: p.last_evaluated_key,
            consumed_capacity: p.consumed_capacity,
        }))
    }

    async fn batch_get_item(
        &self,
        r: Request<pb::BatchGetItemRequest>,
    ) -> Result<Response<pb::BatchGetItemResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::batch_get(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:BatchGetItem", input, |e, input| {
                e.batch_get_item(input)
            })
            .await?;
        Ok(Response::new(convert::batch_get_output(&out)))
    }

    async fn batch_write_item(
        &self,
        r: Request<pb::BatchWriteItemRequest>,
    ) -> Result<Response<pb::BatchWriteItemResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::batch_write(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:BatchWriteItem", input, |e, input| {
                e.batch_write_item(input)
            })
            .await?;
        Ok(Response::new(convert::batch_write_output(&out)))
    }

    async fn transact_write_items(
        &self,
        r: Request<pb::TransactWriteItemsRequest>,
    ) -> Result<Response<pb::TransactWriteItemsResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::transact_write(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:TransactWriteItems", input, |e, input| {
                e.transact_write_items(input)
            })
            .await?;
        Ok(Response::new(convert::transact_write_output(&out)))
    }

    async fn transact_get_items(
        &self,
        r: Request<pb::TransactGetItemsRequest>,
    ) -> Result<Response<pb::TransactGetItemsResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::transact_get(r.into_inner()).map_err(to_status)?;
        let out = self
            .gate
            .run(&caller, "dynamodb:TransactGetItems", input, |e, input| {
                e.transact_get_items(input)
            })
            .await?;
        Ok(Response::new(convert::transact_get_output(&out)))
    }

    async fn update_time_to_live(
        &self,
        r: Request<pb::UpdateTimeToLiveRequest>,
    ) -> Result<Response<pb::UpdateTimeToLiveResponse>, Status> {
        let caller = caller_of(&r)?;
        let r = r.into_inner();
        let input = crate::engine::types::UpdateTimeToLiveInput {
            table_name: (!r.table_name.is_empty()).then_some(r.table_name),
            time_to_live_specification: r.time_to_live_specification.map(|s| {
                crate::engine::types::TimeToLiveSpecification {
                    enabled: s.enabled,
                    attribute_name: s.attribute_name,
                }
            }),
        };
        let spec = self
            .gate
            .run(&caller, "dynamodb:UpdateTimeToLive", input, |e, input| {
                e.update_time_to_live(input)
            })
            .await?;
        Ok(Response::new(pb::UpdateTimeToLiveResponse {
            time_to_live_specification: Some(pb::TimeToLiveSpecification {
                enabled: spec.enabled,
                attribute_name: spec.attribute_name,
            }),
        }))
    }

    async fn describe_time_to_live(
        &self,
        r: Request<pb::DescribeTimeToLiveRequest>,
    ) -> Result<Response<pb::DescribeTimeToLiveResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::table_name(r.into_inner().table_name);
        let d = self
            .gate
            .run(&caller, "dynamodb:DescribeTimeToLive", input, |e, input| {
                e.describe_time_to_live(input)
            })
            .await?;
        Ok(Response::new(pb::DescribeTimeToLiveResponse {
            time_to_live_description: Some(pb::TimeToLiveDescription {
                time_to_live_status: Some(d.time_to_live_status),
                attribute_name: d.attribute_name,
            }),
        }))
    }

    async fn tag_resource(
        &self,
        r: Request<pb::TagResourceRequest>,
    ) -> Result<Response<pb::TagResourceResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::tag_resource(r.into_inner());
        self.gate
            .run(&caller, "dynamodb:TagResource", input, |e, input| {
                e.tag_resource(input)
            })
            .await?;
        Ok(Response::new(pb::TagResourceResponse {}))
    }

    async fn untag_resource(
        &self,
        r: Request<pb::UntagResourceRequest>,
    ) -> Result<Response<pb::UntagResourceResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::untag_resource(r.into_inner());
        self.gate
            .run(&caller, "dynamodb:UntagResource", input, |e, input| {
                e.untag_resource(input)
            })
            .await?;
        Ok(Response::new(pb::UntagResourceResponse {}))
    }

    async fn list_tags_of_resource(
        &self,
        r: Request<pb::ListTagsOfResourceRequest>,
    ) -> Result<Response<pb::ListTagsOfResourceResponse>, Status> {
        let caller = caller_of(&r)?;
        let input = convert::list_tags(r.into_inner());
        let out = self
            .gate
            .run(&caller, "dynamodb:ListTagsOfResource", input, |e, input| {
                e.list_tags_of_resource(input)
            })
            .await?;
        Ok(Response::new(convert::tags_output(out)))
    }

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

    keyfall_api::dynamodb_actions!(unbuilt_rpcs);
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
