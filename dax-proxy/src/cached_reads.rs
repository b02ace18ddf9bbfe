//! gRPC GetItem, Query and Scan served by hand. The generated `DynamoDbServer` encodes a
//! response value through tonic's streaming codec machinery, so a cache hit would
//! deep-copy the item or page, encode it again and copy it into an encode buffer on every
//! read. Cached items and pages are kept as their framed gRPC messages (`EncodedItem`,
//! `EncodedPage`), so this service reads the one request message, answers a hit with those
//! bytes as the response body and `grpc-status: 0` as its trailer, and hands every other
//! call to the generated server. Same routes, same request limits and the errors tonic gives
//! for malformed frames, same answers on the wire.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http_body::Frame;
use http_body_util::{BodyExt, Limited, StreamBody};
use keyfall_proto::v1::dynamo_db_server::{DynamoDbServer, SERVICE_NAME};
use prost::Message;
use tonic::body::Body;
use tonic::Status;

use crate::service::{DaxService, ItemRead};

const GET_ITEM: &str = "/keyfall.v1.DynamoDB/GetItem";
const QUERY: &str = "/keyfall.v1.DynamoDB/Query";
const SCAN: &str = "/keyfall.v1.DynamoDB/Scan";

/// A gRPC message's prefix: the compressed flag, then the length (big-endian u32).
pub(crate) const FRAME_HEADER: usize = 5;

/// `message` as one uncompressed gRPC message: its prefix, then its encoding.
pub(crate) fn frame(message: &impl Message) -> Bytes {
    let len = message.encoded_len();
    let mut out = Vec::with_capacity(FRAME_HEADER + len);
    out.put_u8(0);
    // Messages are bounded by the 20 MB limit, far inside u32.
    out.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    message.encode_raw(&mut out);
    Bytes::from(out)
}

/// The message of a unary request's body, as tonic reads it (its error codes and texts).
fn unframe(body: &Bytes, max: usize) -> Result<Bytes, Status> {
    if body.is_empty() {
        return Err(Status::internal("Missing request message."));
    }
    let [flag, l0, l1, l2, l3, ..] = *body.as_ref() else {
        return Err(Status::internal("Unexpected EOF decoding stream."));
    };
    match flag {
        0 => {}
        // Compressed messages need a `grpc-encoding`, and this service accepts none.
        1 => {
            return Err(Status::internal(
                "protocol error: received message with compressed-flag but no grpc-encoding was specified",
            ))
        }
        f => {
            return Err(Status::internal(format!(
                "protocol error: received message with invalid compression flag: {f} (valid flags are 0 and 1), while sending request"
            )))
        }
    }
    let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    if len > max {
        return Err(Status::out_of_range(format!(
            "Error, decoded message length too large: found {len} bytes, the limit is: {max} bytes"
        )));
    }
    if body.len() < FRAME_HEADER + len {
        return Err(Status::internal("Unexpected EOF decoding stream."));
    }
    Ok(body.slice(FRAME_HEADER..FRAME_HEADER + len))
}

/// Requests compressed with anything but `identity` are refused, as tonic refuses an
/// encoding it was not configured for.
fn check_encoding(headers: &HeaderMap) -> Result<(), Status> {
    match headers.get("grpc-encoding") {
        None => Ok(()),
        Some(v) if v == "identity" => Ok(()),
        Some(v) => Err(Status::unimplemented(format!(
            "Content is compressed with `{}` which isn't supported",
            String::from_utf8_lossy(v.as_bytes())
        ))),
    }
}

/// A successful unary answer: one message, then `grpc-status: 0`.
fn respond(framed: Bytes) -> http::Response<Body> {
    let mut trailers = HeaderMap::with_capacity(1);
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = futures::stream::iter([
        Ok::<_, Status>(Frame::data(framed)),
        Ok(Frame::trailers(trailers)),
    ]);
    let mut response = http::Response::new(Body::new(StreamBody::new(frames)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    response
}

/// An empty `GetItemResponse` (no item with the key): a message of no bytes.
const NO_ITEM: [u8; FRAME_HEADER] = [0; FRAME_HEADER];

/// The one request message of a unary call, as tonic would decode it.
async fn request<M, B>(req: http::Request<B>, max: usize) -> Result<tonic::Request<M>, Status>
where
    M: Message + Default,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    check_encoding(req.headers())?;
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, max + FRAME_HEADER).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Status::out_of_range(format!(
                "Error, decoded message length too large: the limit is: {max} bytes"
            )))
        }
        Err(e) => return Err(Status::internal(format!("cannot read request: {e}"))),
    };
    let message = M::decode(unframe(&body, max)?).map_err(|e| Status::internal(e.to_string()))?;
    Ok(tonic::Request::from_http(http::Request::from_parts(
        parts, message,
    )))
}

/// The framed answer of a GetItem, Query or Scan (`path`).
async fn answer<B>(
    dax: &DaxService,
    path: &str,
    req: http::Request<B>,
    max: usize,
) -> Result<Bytes, Status>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    Ok(match path {
        QUERY => dax.read_query(request(req, max).await?).await?.framed(),
        SCAN => dax.read_scan(request(req, max).await?).await?.framed(),
        _ => match dax.read_item(request(req, max).await?).await? {
            ItemRead::Cached(Some(item)) => item.framed(),
            ItemRead::Cached(None) => Bytes::from_static(&NO_ITEM),
            ItemRead::Passed(out) => frame(&*out),
        },
    })
}

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
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = match req.uri().path() {
            GET_ITEM => GET_ITEM,
            QUERY => QUERY,
            SCAN => SCAN,
            _ => return self.generated.call(req),
        };
        let (dax, max) = (self.dax.clone(), self.max_message_bytes);
        Box::pin(async move {
            Ok(match answer(&dax, path, req, max).await {
                Ok(framed) => respond(framed),
                Err(status) => status.into_http(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyfall_proto::v1 as pb;

    /// The message, or the error's code and a part of its text.
    type Want = Result<Bytes, (tonic::Code, &'static str)>;

    #[test]
    fn request_frames_are_read_as_tonic_reads_them() {
        let message = pb::GetItemRequest {
            table_name: "t".into(),
            ..Default::default()
        };
        let good = frame(&message);
        let mut trailing = good.to_vec();
        trailing.extend_from_slice(b"more");
        let with_flag = |flag: u8| {
            let mut b = good.to_vec();
            b[0] = flag;
            Bytes::from(b)
        };
        let too_long = Bytes::from_static(&[0, 0, 0, 0, 200]);
        let cases: [(&str, Bytes, Want); 7] = [
            (
                "a message",
                good.clone(),
                Ok(message.encode_to_vec().into()),
            ),
            (
                "trailing bytes ignored",
                trailing.into(),
                Ok(message.encode_to_vec().into()),
            ),
            (
                "no message",
                Bytes::new(),
                Err((tonic::Code::Internal, "Missing request")),
            ),
            (
                "half a prefix",
                good.slice(..3),
                Err((tonic::Code::Internal, "Unexpected EOF")),
            ),
            (
                "half a message",
                good.slice(..good.len() - 1),
                Err((tonic::Code::Internal, "Unexpected EOF")),
            ),
            (
                "compressed",
                with_flag(1),
                Err((tonic::Code::Internal, "compressed-flag")),
            ),
            (
                "over the limit",
                too_long,
                Err((
                    tonic::Code::OutOfRange,
                    "found 200 bytes, the limit is: 100",
                )),
            ),
        ];
        for (what, body, want) in cases {
            match (unframe(&body, 100), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{what}"),
                (Err(got), Err((code, text))) => {
                    assert_eq!(got.code(), code, "{what}: {got:?}");
                    assert!(got.message().contains(text), "{what}: {got:?}");
                }
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
        }
        let flag = unframe(&with_flag(7), 100).expect_err("flag 7");
        assert!(flag.message().contains("invalid compression flag: 7"));
    }

    #[test]
    fn only_identity_encoding_is_accepted() {
        for (encoding, accepted) in [
            (None, true),
            (Some("identity"), true),
            (Some("gzip"), false),
        ] {
            let mut headers = HeaderMap::new();
            if let Some(e) = encoding {
                headers.insert("grpc-encoding", HeaderValue::from_static(e));
            }
            let got = check_encoding(&headers);
            assert_eq!(got.is_ok(), accepted, "{encoding:?}");
            if let Err(s) = got {
                assert_eq!(s.code(), tonic::Code::Unimplemented);
            }
        }
    }
}
