//! Wire types of the `keyfall.v1` gRPC API.
