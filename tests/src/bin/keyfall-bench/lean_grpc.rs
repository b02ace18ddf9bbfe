//! `--grpc-client lean`: GetItem sent exactly as the generated client sends it (same
//! channel, SigV4 signing and request encoding), with the answer's item entries counted
//! instead of decoded into a map of strings. On two shared cores the generated client's
//! decoding of a 10-field item (about 25 allocations, ~5% of a proxy run's CPU) is taken
//! from the server it measures; the JSON side's `raw_json` exists for the same reason.

use anyhow::Context;
use bytes::Bytes;
use http::uri::PathAndQuery;
use keyfall_proto::v1 as pb;
use keyfall_tests::GrpcChannel;

/// `GetItemResponse` as far as a load generator needs it: `item` is a map, which protobuf
/// sends as one length-delimited entry per attribute (field 1), kept here undecoded;
/// `consumed_capacity` is skipped.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ItemEntries {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub item: Vec<Bytes>,
}

/// GetItem; the number of attributes in the item (0 when there is none).
pub async fn get_item(channel: GrpcChannel, request: pb::GetItemRequest) -> anyhow::Result<usize> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| anyhow::anyhow!("GetItem: channel not ready: {e}"))?;
    let codec = tonic_prost::ProstCodec::<pb::GetItemRequest, ItemEntries>::default();
    let path = PathAndQuery::from_static("/keyfall.v1.DynamoDB/GetItem");
    let out = grpc
        .unary(tonic::Request::new(request), path, codec)
        .await
        .context("GetItem")?;
    Ok(out.into_inner().item.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn counts_the_attributes_of_a_generated_response() {
        let s = |v: &str| pb::AttributeValue {
            value: Some(pb::attribute_value::Value::S(v.into())),
        };
        let cases = [
            (pb::GetItemResponse::default(), 0),
            (
                pb::GetItemResponse {
                    item: [("pk".to_string(), s("a")), ("f".to_string(), s(""))].into(),
                    consumed_capacity: Some(pb::ConsumedCapacity {
                        table_name: Some("t".into()),
                        capacity_units: Some(0.5),
                        ..Default::default()
                    }),
                },
                2,
            ),
        ];
        for (response, attributes) in cases {
            let lean = ItemEntries::decode(response.encode_to_vec().as_slice()).expect("decodes");
            assert_eq!(lean.item.len(), attributes, "{response:?}");
        }
    }
}
