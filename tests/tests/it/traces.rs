//! One trace across client -> proxy -> server: the client's `traceparent` is honoured by
//! the proxy, which propagates it upstream, and both export their spans over OTLP to a
//! collector (here an in-test OTLP/gRPC receiver).
//!
//! Its own test binary: the tracing subscriber and the propagator are process-global.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyfall_proto::v1 as pb;
use keyfall_tests::{TestProxy, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        r: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in r.into_inner().resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attr(span: &Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_client_through_proxy_to_server() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let telemetry = keyfall_server::telemetry::Telemetry::init_with(
        "keyfall-test",
        keyfall_server::config::LogFormat::Text,
        "info",
        Some(&format!("http://{addr}")),
    );

    let server = TestServer::start().await;
    keyfall_tests::new_table(
        &server.dynamodb(),
        "traced",
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .send()
    .await
    .unwrap();
    let proxy = TestProxy::start(&server, |_| {}).await;
    let mut client = proxy.grpc().await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let mut request = tonic::Request::new(pb::GetItemRequest {
        table_name: "traced".into(),
        key: [(
            "pk".to_string(),
            pb::AttributeValue {
                value: Some(pb::attribute_value::Value::S("a".into())),
            },
        )]
        .into(),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-b7ad6b7169203331-01")
            .parse()
            .unwrap(),
    );
    let again = tonic::Request::new(request.get_ref().clone());
    client.get_item(request).await.unwrap();
    // The same read again is a cache hit; the proxy's span says so (outside the trace).
    client.get_item(again).await.unwrap();

    let mut components = Vec::new();
    for _ in 0..100 {
        telemetry.flush();
        components = collector
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .filter_map(|s| attr(s, "keyfall.component"))
            .collect();
        // Spans arrive as each side ends them: wait for the server's GetItem span too.
        let server_get = collector.spans.lock().unwrap().iter().any(|s| {
            hex(&s.trace_id) == trace_id
                && attr(s, "keyfall.component").as_deref() == Some("keyfall-server")
                && attr(s, "rpc.method").as_deref() == Some("GetItem")
        });
        if components.iter().any(|c| c == "keyfall-dax") && server_get {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        components.iter().any(|c| c == "keyfall-dax"),
        "no proxy span in the client's trace: {components:?}"
    );
    assert!(
        components.iter().any(|c| c == "keyfall-server"),
        "no server span in the client's trace: {components:?}"
    );
    // The proxy's upstream GetItem (after its DescribeTable and feed subscription) is a
    // server span of the same trace.
    let server_methods: Vec<String> = collector
        .spans
        .lock()
        .unwrap()
        .iter()
        .filter(|s| {
            hex(&s.trace_id) == trace_id
                && attr(s, "keyfall.component").as_deref() == Some("keyfall-server")
        })
        .filter_map(|s| attr(s, "rpc.method"))
        .collect();
    assert!(
        server_methods.iter().any(|m| m == "GetItem"),
        "{server_methods:?}"
    );
    // The server's span carries the DynamoDB attributes the engine observed.
    let tables: Vec<String> = collector
        .spans
        .lock()
        .unwrap()
        .iter()
        .filter(|s| {
            hex(&s.trace_id) == trace_id
                && attr(s, "keyfall.component").as_deref() == Some("keyfall-server")
                && attr(s, "rpc.method").as_deref() == Some("GetItem")
        })
        .filter_map(|s| attr(s, "aws.dynamodb.table_names"))
        .collect();
    assert_eq!(tables, ["traced"]);
    // The proxy marks its reads: a miss in the client's trace, then a hit.
    let mut hits = Vec::new();
    for _ in 0..100 {
        telemetry.flush();
        hits = collector
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter_map(|s| bool_attr(s, "keyfall.cache_hit"))
            .collect();
        if hits.contains(&true) && hits.contains(&false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hits.contains(&false) && hits.contains(&true), "{hits:?}");

    // The typed client starts the trace itself: its client span is the parent of the
    // proxy's span, whose upstream call is a server span of the same trace.
    let typed = proxy.client();
    let root = tracing::info_span!("checkout");
    let root_trace = {
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        root.context().span().span_context().trace_id().to_string()
    };
    tracing::Instrument::instrument(
        async {
            let raw = typed
                .query_items(
                    "traced",
                    keyfall::expr::KeyCondition::partition(
                        keyfall::expr::attr::<String>("pk"),
                        "b",
                    ),
                )
                .await
                .expect("typed query through the proxy");
            assert!(raw.is_empty());
        },
        root.clone(),
    )
    .await;
    drop(root);
    let mut found = (None, Vec::new());
    for _ in 0..100 {
        telemetry.flush();
        let (client_span, dax_parents, server) = {
            let spans = collector.spans.lock().unwrap();
            let in_trace: Vec<&Span> = spans
                .iter()
                .filter(|s| hex(&s.trace_id) == root_trace)
                .collect();
            let client_span = in_trace
                .iter()
                .find(|s| {
                    s.name == "DynamoDB.Query"
                        && attr(s, "db.system").as_deref() == Some("dynamodb")
                })
                .map(|s| hex(&s.span_id));
            let dax_parents: Vec<String> = in_trace
                .iter()
                .filter(|s| attr(s, "keyfall.component").as_deref() == Some("keyfall-dax"))
                .map(|s| hex(&s.parent_span_id))
                .collect();
            let server = in_trace
                .iter()
                .any(|s| attr(s, "keyfall.component").as_deref() == Some("keyfall-server"));
            (client_span, dax_parents, server)
        };
        if client_span.is_some() && server && !dax_parents.is_empty() {
            found = (client_span, dax_parents);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (client_span, dax_parents) = found;
    let client_span = client_span.expect("client, proxy and server spans in the client's trace");
    assert!(
        dax_parents.contains(&client_span),
        "{dax_parents:?} vs {client_span}"
    );
}

fn bool_attr(span: &Span, key: &str) -> Option<bool> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            Value::BoolValue(b) => Some(*b),
            _ => None,
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
