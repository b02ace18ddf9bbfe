//! Wire types of the `keyfall.v1` gRPC API: Keyfall's DynamoDB-compatible API
//! as protobuf messages and gRPC services, generated from the `.proto` files
//! under `proto/keyfall/v1/` (see `proto/README.md` for the conventions).
//!
//! Generated items, all in [`v1`]:
//!
//! | service           | server trait                                   | server type                                            | client type                                            |
//! |-------------------|------------------------------------------------|--------------------------------------------------------|--------------------------------------------------------|
//! | `DynamoDB`        | [`v1::dynamo_db_server::DynamoDb`]             | [`v1::dynamo_db_server::DynamoDbServer`]               | [`v1::dynamo_db_client::DynamoDbClient`]               |
//! | `DynamoDBStreams` | [`v1::dynamo_db_streams_server::DynamoDbStreams`] | [`v1::dynamo_db_streams_server::DynamoDbStreamsServer`] | [`v1::dynamo_db_streams_client::DynamoDbStreamsClient`] |
//! | `Admin`           | [`v1::admin_server::Admin`]                    | [`v1::admin_server::AdminServer`]                      | [`v1::admin_client::AdminClient`]                      |
//! | `Diagnostics`     | [`v1::diagnostics_server::Diagnostics`]        | [`v1::diagnostics_server::DiagnosticsServer`]          | [`v1::diagnostics_client::DiagnosticsClient`]          |
#![deny(unsafe_code)]

pub mod errors;

/// Messages and services of the `keyfall.v1` protobuf package.
pub mod v1 {
    // Generated code: its style is prost's and tonic's, not ours.
    #![allow(clippy::all, clippy::pedantic, clippy::nursery, missing_docs)]
    tonic::include_proto!("keyfall.v1");
}

/// The encoded `google.protobuf.FileDescriptorSet` of every `keyfall.v1` file,
/// with source info (comments), e.g. for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/keyfall_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::v1::{attribute_value::Value, AttributeValue, GetItemRequest, MapValue};
    use super::FILE_DESCRIPTOR_SET;

    #[test]
    fn descriptor_set_declares_every_service() {
        let fds = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("valid descriptor set");
        let methods = |name: &str| {
            fds.file
                .iter()
                .filter(|f| f.package() == "keyfall.v1")
                .flat_map(|f| &f.service)
                .find(|s| s.name() == name)
                .map(|s| {
                    s.method
                        .iter()
                        .map(|m| m.name().to_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_else(|| panic!("service {name} missing"))
        };
        assert_eq!(methods("DynamoDB").len(), 57);
        assert_eq!(
            methods("DynamoDBStreams"),
            [
                "ListStreams",
                "DescribeStream",
                "GetShardIterator",
                "GetRecords",
                "SubscribeChanges"
            ]
        );
        assert_eq!(methods("Diagnostics"), ["Echo"]);
        assert_eq!(methods("Admin").len(), 11);
    }

    #[test]
    fn optional_scalars_keep_presence() {
        let item = MapValue {
            values: [(
                "pk".to_owned(),
                AttributeValue {
                    value: Some(Value::S("a".into())),
                },
            )]
            .into_iter()
            .collect(),
        };
        let request = GetItemRequest {
            table_name: "t".into(),
            key: item.values.clone(),
            consistent_read: Some(false),
            ..Default::default()
        };
        let decoded = GetItemRequest::decode(request.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, request);
        assert_eq!(decoded.consistent_read, Some(false));
        assert_eq!(decoded.projection_expression, None);
    }
}
