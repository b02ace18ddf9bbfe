//! Every row of the action table (`keyfall_api::actions`) is reachable on both APIs, on the
//! server and through keyfall-dax: a built action answers as DynamoDB would (success, or an
//! error of its own about the empty request), an unbuilt one `UnknownOperationException`
//! naming it. Nothing answers as a method or target nobody routes.

use http::uri::PathAndQuery;
use keyfall_api::actions::{Action, DYNAMODB, STREAMS};
use keyfall_tests::{
    json_error_name, raw_request, signed_channel, GrpcChannel, TestProxy, TestServer,
    ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY,
};

/// What an endpoint answered an empty request of one action with: `Ok` or the DynamoDB
/// error name (empty when the answer carried none).
type Answer = Result<(), String>;

async fn over_json(addr: std::net::SocketAddr, prefix: &str, action: &Action) -> Answer {
    let (status, body, _) = raw_request(addr, &format!("{prefix}.{}", action.name), "{}").await;
    if status == 200 {
        return Ok(());
    }
    let name = json_error_name(&body);
    if name == "UnknownOperationException" {
        // The JSON API names no action in this error (DynamoDB's own answer); the
        // status tells a known-but-unbuilt action only through the gRPC check below.
        assert_eq!(status, 400, "{}: {body}", action.name);
    }
    Err(name)
}

async fn over_grpc(channel: GrpcChannel, service: &str, action: &Action) -> Answer {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    let path =
        PathAndQuery::try_from(format!("/keyfall.v1.{service}/{}", action.name)).expect("path");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    match grpc.unary(tonic::Request::new(()), path, codec).await {
        Ok(_) => Ok(()),
        Err(status) => {
            let name = keyfall_tests::error_type(&status).unwrap_or("").to_string();
            if name == "UnknownOperationException" {
                assert!(
                    status.message().contains(action.name),
                    "{}: an unbuilt action's answer names it: {status:?}",
                    action.name
                );
            }
            Err(name)
        }
    }
}

fn check(action: &Action, via: &str, answer: Answer) {
    match (action.built, answer) {
        (true, Ok(())) => {}
        (true, Err(name)) => assert!(
            !name.is_empty() && name != "UnknownOperationException",
            "{} over {via}: a built action answered {name:?}",
            action.name
        ),
        (false, answer) => assert_eq!(
            answer,
            Err("UnknownOperationException".to_string()),
            "{} over {via}: an unbuilt action",
            action.name
        ),
    }
}

#[tokio::test]
async fn every_action_in_the_table_is_reachable_on_both_apis_and_through_the_proxy() {
    let server = TestServer::start().await;
    let proxy = TestProxy::start(&server, |_| {}).await;
    let proxy_endpoint = format!("http://{}", proxy.grpc_addr);
    let services = [
        (DYNAMODB, "DynamoDB_20120810", "DynamoDB"),
        (STREAMS, "DynamoDBStreams_20120810", "DynamoDBStreams"),
    ];
    let mut checked = 0;
    for (rows, prefix, service) in services {
        for action in rows {
            check(
                action,
                "server JSON",
                over_json(server.http_addr, prefix, action).await,
            );
            check(
                action,
                "server gRPC",
                over_grpc(server.channel().await, service, action).await,
            );
            check(
                action,
                "proxy JSON",
                over_json(proxy.http_addr, prefix, action).await,
            );
            check(
                action,
                "proxy gRPC",
                over_grpc(
                    signed_channel(&proxy_endpoint, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
                        .await,
                    service,
                    action,
                )
                .await,
            );
            checked += 1;
        }
    }
    assert_eq!(checked, DYNAMODB.len() + STREAMS.len());
    // The check can fail: a name outside the table is no action on either API.
    let nothing = Action {
        name: "FlyToTheMoon",
        grpc_method: "fly_to_the_moon",
        ..DYNAMODB[0]
    };
    assert_eq!(
        over_json(server.http_addr, "DynamoDB_20120810", &nothing).await,
        Err("UnknownOperationException".into())
    );
    assert_eq!(
        over_grpc(server.channel().await, "DynamoDB", &nothing).await,
        Err(String::new()),
        "tonic's own answer to an unrouted method carries no DynamoDB error name"
    );
}
