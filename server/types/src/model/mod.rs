//! Domain types shared by every layer above storage: values, numbers, items, keys and
//! their stored encodings.
pub mod codec;
/// DynamoDB JSON (`{"S": "x"}`) for attribute values: the JSON API's encoding and the
/// stored format of stream records.
pub mod dynamodb_json;
pub mod key;
pub mod number;
pub mod value;

pub use key::{KeyAttribute, KeyError, KeySchema, ScalarType};
pub use number::{Number, NumberError};
pub use value::{item_size, AttributeValue, Item, ValueError, ValueType};
