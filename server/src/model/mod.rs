//! Domain types shared by every layer above storage: values, numbers, items.
pub mod number;
pub mod value;

pub use number::{Number, NumberError};
pub use value::{item_size, AttributeValue, Item, ValueError, ValueType};
