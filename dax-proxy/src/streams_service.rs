//! The proxy's `keyfall.v1.DynamoDBStreams` service: nothing of a stream is cached (DAX
//! caches no stream either), so each call is authorized here as the server authorizes it
//! (the stream ARN it names; for GetRecords the stream its iterator claims, which the
//! server then verifies) and forwarded. The push feed is not offered through the proxy:
//! the proxy's own identity would read it, so it answers UnknownOperationException.

use std::sync::Arc;

use keyfall_api::grpc::{caller_of, to_status};
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::dynamo_db_streams_client::DynamoDbStreamsClient;
use keyfall_proto::v1::dynamo_db_streams_server::DynamoDbStreams;
use tonic::{Request, Response, Status};

use crate::service::DaxService;

pub struct StreamsService {
    pub dax: Arc<DaxService>,
}

impl StreamsService {
    fn up(&self) -> DynamoDbStreamsClient<crate::UpstreamChannel> {
        DynamoDbStreamsClient::new(self.dax.proxy.channel.clone())
    }

    /// Authorizes `action` on `resource` (a missing ARN is checked as the empty name,
    /// which no policy grants but `*`; the server then refuses the request itself).
    fn allow<T>(
        &self,
        r: &Request<T>,
        action: &'static str,
        resource: Option<String>,
    ) -> Result<(), Status> {
        let caller = caller_of(r)?;
        self.dax
            .allow_resource(&caller, action, resource.unwrap_or_default())
    }
}

#[tonic::async_trait]
impl DynamoDbStreams for StreamsService {
    type SubscribeChangesStream = tonic::codegen::BoxStream<pb::ChangeRecord>;

    async fn list_streams(
        &self,
        r: Request<pb::ListStreamsRequest>,
    ) -> Result<Response<pb::ListStreamsResponse>, Status> {
        self.allow(&r, "dynamodb:ListStreams", Some("*".into()))?;
        self.up().list_streams(r.into_inner()).await
    }

    async fn describe_stream(
        &self,
        r: Request<pb::DescribeStreamRequest>,
    ) -> Result<Response<pb::DescribeStreamResponse>, Status> {
        let arn = Some(r.get_ref().stream_arn.clone());
        self.allow(&r, "dynamodb:DescribeStream", arn)?;
        self.up().describe_stream(r.into_inner()).await
    }

    async fn get_shard_iterator(
        &self,
        r: Request<pb::GetShardIteratorRequest>,
    ) -> Result<Response<pb::GetShardIteratorResponse>, Status> {
        let arn = Some(r.get_ref().stream_arn.clone());
        self.allow(&r, "dynamodb:GetShardIterator", arn)?;
        self.up().get_shard_iterator(r.into_inner()).await
    }

    async fn get_records(
        &self,
        r: Request<pb::GetRecordsRequest>,
    ) -> Result<Response<pb::GetRecordsResponse>, Status> {
        let auth = &self.dax.proxy.auth;
        let claimed = keyfall_types::shard_iterator::claimed_stream_arn_of_iterator(
            &r.get_ref().shard_iterator,
            |t| auth.table_arn(t),
        );
        // An iterator that claims no stream reads nothing: the server refuses it as
        // DynamoDB does before touching any stream.
        if claimed.is_some() {
            self.allow(&r, "dynamodb:GetRecords", claimed)?;
        }
        self.up().get_records(r.into_inner()).await
    }

    async fn subscribe_changes(
        &self,
        _: Request<pb::SubscribeChangesRequest>,
    ) -> Result<Response<Self::SubscribeChangesStream>, Status> {
        Err(to_status(keyfall_types::error::Error::Unimplemented(
            "SubscribeChanges",
        )))
    }
}
