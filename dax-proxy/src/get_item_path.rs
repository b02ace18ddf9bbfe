//! gRPC GetItem answered with the cached bytes. The generated `DynamoDbServer` encodes a
//! `GetItemResponse` value, so a cache hit would deep-copy the item's map and encode it
//! again on every read; this service serves `/keyfall.v1.DynamoDB/GetItem` with a codec
//! whose responses are already encoded (`EncodedItem` keeps that encoding) and hands
//! every other call to the generated server. Same route, same request decoding, same
//! message size limits, same answers on the wire.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use keyfall_proto::v1 as pb;
use keyfall_proto::v1::dynamo_db_server::{DynamoDbServer, SERVICE_NAME};
use prost::Message;
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

use crate::service::{DaxService, ItemRead};

const PATH: &str = "/keyfall.v1.DynamoDB/GetItem";

/// The proxy's `keyfall.v1.DynamoDB` service.
#[derive(Clone)]
pub struct DynamoDbService {
    dax: Arc<DaxService>,
    generated: DynamoDbServer<DaxService>,
    max_message_bytes: usize,
}

impl DynamoDbService {
    pub fn new(dax: Arc<DaxService>, max_message_bytes: usize) -> DynamoDbService {
        let generated = DynamoDbServer::from_arc(dax.clone())
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes);
        DynamoDbService {
            dax,
            generated,
            max_message_bytes,
        }
    }
}

impl tonic::server::NamedService for DynamoDbService {
    const NAME: &'static str = SERVICE_NAME;
}

impl<B> tower::Service<http::Request<B>> for DynamoDbService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != PATH {
            return self.generated.call(req);
        }
        let (dax, max) = (self.dax.clone(), self.max_message_bytes);
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(EncodedCodec)
                .apply_max_message_size_config(Some(max), Some(max));
            Ok(grpc.unary(GetItem(dax), req).await)
        })
    }
}

struct GetItem(Arc<DaxService>);

impl tonic::server::UnaryService<pb::GetItemRequest> for GetItem {
    type Response = Bytes;
    type Future = futures::future::BoxFuture<'static, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<pb::GetItemRequest>) -> Self::Future {
        let dax = self.0.clone();
        Box::pin(async move {
            let encoded = match dax.read_item(request).await? {
                ItemRead::Cached(Some(item)) => item.response(),
                // An empty GetItemResponse encodes as no bytes at all.
                ItemRead::Cached(None) => Bytes::new(),
                ItemRead::Passed(out) => Bytes::from(out.encode_to_vec()),
            };
            Ok(tonic::Response::new(encoded))
        })
    }
}

/// Decodes `GetItemRequest`s as prost does; encodes responses by copying their bytes.
struct EncodedCodec;

impl Codec for EncodedCodec {
    type Encode = Bytes;
    type Decode = pb::GetItemRequest;
    type Encoder = EncodedCodec;
    type Decoder = EncodedCodec;

    fn encoder(&mut self) -> EncodedCodec {
        EncodedCodec
    }

    fn decoder(&mut self) -> EncodedCodec {
        EncodedCodec
    }
}

impl Encoder for EncodedCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for EncodedCodec {
    type Item = pb::GetItemRequest;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<pb::GetItemRequest>, Status> {
        pb::GetItemRequest::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}
