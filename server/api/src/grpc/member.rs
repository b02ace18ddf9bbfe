//! One field list per message, both directions: a DynamoDB member's form (`Self`) and its
//! protobuf field's (`P`) convert through [`Member`], and [`members!`] writes a message's
//! conversion each way from the list of its fields, so the server's direction (protobuf →
//! DynamoDB types) and keyfall-dax's (DynamoDB types → protobuf) cannot disagree.
//!
//! proto3 cannot tell an empty string, map or list from an absent one: empty becomes `None`
//! on the way in, and `None` becomes empty on the way out.

use std::collections::{BTreeMap, HashMap};

use keyfall_proto::v1 as pb;
use keyfall_types::error::Result;
use keyfall_types::model::AttributeValue;
use keyfall_types::types::{ItemCollectionMetrics, WriteRequest};

use super::convert::{value_from_proto, value_into_proto};

/// A member's DynamoDB form, converted from and to its protobuf field.
pub trait Member<P>: Sized {
    fn from_proto(p: P) -> Result<Self>;
    fn into_proto(self) -> P;
}

/// Scalars are the same on both sides.
macro_rules! same {
    ($($t:ty),*) => {$(
        impl Member<$t> for $t {
            fn from_proto(p: $t) -> Result<$t> {
                Ok(p)
            }
            fn into_proto(self) -> $t {
                self
            }
        }
    )*};
}
same!(String, bool, i64, f64);

/// `int32` fields (`Limit`, `Segment`, `TotalSegments`): out of range saturates, so the
/// value stays out of the accepted range and still fails validation.
impl Member<i32> for i64 {
    fn from_proto(p: i32) -> Result<Self> {
        Ok(i64::from(p))
    }
    fn into_proto(self) -> i32 {
        i32::try_from(self).unwrap_or(if self < 0 { i32::MIN } else { i32::MAX })
    }
}

impl Member<pb::AttributeValue> for AttributeValue {
    fn from_proto(p: pb::AttributeValue) -> Result<Self> {
        value_from_proto(p)
    }
    fn into_proto(self) -> pb::AttributeValue {
        value_into_proto(self)
    }
}

/// A required string: empty is absent.
impl Member<String> for Option<String> {
    fn from_proto(p: String) -> Result<Self> {
        Ok((!p.is_empty()).then_some(p))
    }
    fn into_proto(self) -> String {
        self.unwrap_or_default()
    }
}

impl<T: Member<P>, P> Member<Option<P>> for Option<T> {
    fn from_proto(p: Option<P>) -> Result<Self> {
        p.map(T::from_proto).transpose()
    }
    fn into_proto(self) -> Option<P> {
        self.map(T::into_proto)
    }
}

impl<T: Member<P>, P> Member<Vec<P>> for Option<Vec<T>> {
    fn from_proto(p: Vec<P>) -> Result<Self> {
        if p.is_empty() {
            return Ok(None);
        }
        p.into_iter()
            .map(T::from_proto)
            .collect::<Result<_>>()
            .map(Some)
    }
    fn into_proto(self) -> Vec<P> {
        self.into_iter().flatten().map(T::into_proto).collect()
    }
}

/// An optional map (or item): empty is absent.
impl<M: Member<HashMap<String, P>>, P> Member<HashMap<String, P>> for Option<M> {
    fn from_proto(p: HashMap<String, P>) -> Result<Self> {
        if p.is_empty() {
            return Ok(None);
        }
        M::from_proto(p).map(Some)
    }
    fn into_proto(self) -> HashMap<String, P> {
        self.map(M::into_proto).unwrap_or_default()
    }
}

/// A map, or an item (an ordered map in the model), element by element.
macro_rules! maps {
    ($($map:ident),*) => {$(
        impl<T: Member<P>, P> Member<HashMap<String, P>> for $map<String, T> {
            fn from_proto(p: HashMap<String, P>) -> Result<Self> {
                p.into_iter().map(|(k, v)| Ok((k, T::from_proto(v)?))).collect()
            }
            fn into_proto(self) -> HashMap<String, P> {
                self.into_iter().map(|(k, v)| (k, v.into_proto())).collect()
            }
        }
    )*};
}
maps!(HashMap, BTreeMap);

/// Messages that only wrap a list or map (`values`), so it can sit in a map or a `oneof`.
macro_rules! wrapped {
    ($($proto:ty => $model:ty),* $(,)?) => {$(
        impl Member<$proto> for $model {
            fn from_proto(p: $proto) -> Result<Self> {
                Member::from_proto(p.values)
            }
            fn into_proto(self) -> $proto {
                type Proto = $proto;
                Proto { values: Member::into_proto(self) }
            }
        }
    )*};
}
wrapped!(
    pb::MapValue => BTreeMap<String, AttributeValue>,
    pb::ItemList => Vec<BTreeMap<String, AttributeValue>>,
    pb::WriteRequestList => Vec<WriteRequest>,
    pb::ItemCollectionMetricsList => Vec<ItemCollectionMetrics>,
);

/// Members DynamoDB checks by length (`RequestItems`, `TransactItems`): read as present even
/// when empty, so a gRPC caller gets DynamoDB's length message rather than the
/// missing-member one. Named in a field list as `field: present`.
pub mod present {
    use super::{Member, Result};

    pub fn from_proto<T: Member<P>, P>(p: P) -> Result<Option<T>> {
        T::from_proto(p).map(Some)
    }

    pub fn into_proto<T: Member<P>, P: Default>(m: Option<T>) -> P {
        m.map(T::into_proto).unwrap_or_default()
    }
}

impl<T: Member<P>, P> Member<Vec<P>> for Vec<T> {
    fn from_proto(p: Vec<P>) -> Result<Self> {
        p.into_iter().map(T::from_proto).collect()
    }
    fn into_proto(self) -> Vec<P> {
        self.into_iter().map(T::into_proto).collect()
    }
}

/// Members the model always has where protobuf marks them `optional` or makes them a
/// message (ConsumedCapacity's `TableName`, an index's `Projection`): absent reads as the
/// default. Named in a field list as `field: required`.
pub mod required {
    use super::{Member, Result};

    pub fn from_proto<T: Member<P>, P: Default>(p: Option<P>) -> Result<T> {
        T::from_proto(p.unwrap_or_default())
    }

    pub fn into_proto<T: Member<P>, P>(m: T) -> Option<P> {
        Some(m.into_proto())
    }
}

/// A message's conversion each way from its fields, which have one name on both sides;
/// fields a side does not list keep their defaults. A field written `field: module` converts
/// through that module of `member` (e.g. [`present`]) instead of its [`Member`] impl. The
/// prefix `@ from / to:` also names the two directions as functions.
#[macro_export]
macro_rules! members {
    (@from $e:expr) => { $crate::grpc::member::Member::from_proto($e) };
    (@from $e:expr, $via:ident) => { $crate::grpc::member::$via::from_proto($e) };
    (@into $e:expr) => { $crate::grpc::member::Member::into_proto($e) };
    (@into $e:expr, $via:ident) => { $crate::grpc::member::$via::into_proto($e) };
    ($($(@ $from:ident / $to:ident :)? $proto:path => $model:path {
        $($field:ident $(: $via:ident)?),* $(,)?
    })*) => {$(
        impl $crate::grpc::member::Member<$proto> for $model {
            #[allow(clippy::needless_update)]
            fn from_proto(p: $proto) -> keyfall_types::error::Result<Self> {
                Ok(Self { $($field: $crate::members!(@from p.$field $(, $via)?)?,)* ..Default::default() })
            }
            #[allow(clippy::needless_update)]
            fn into_proto(self) -> $proto {
                type Proto = $proto;
                Proto { $($field: $crate::members!(@into self.$field $(, $via)?),)* ..Default::default() }
            }
        }
        $(
            pub fn $from(p: $proto) -> keyfall_types::error::Result<$model> {
                $crate::grpc::member::Member::from_proto(p)
            }
            pub fn $to(m: $model) -> $proto {
                $crate::grpc::member::Member::into_proto(m)
            }
        )?
    )*};
}
