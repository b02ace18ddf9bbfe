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

/// Members the server always answers (ConsumedCapacity's `TableName`, `CapacityUnits`):
/// `optional` on the wire, absent read as the default.
macro_rules! always_sent {
    ($($t:ty),*) => {$(
        impl Member<Option<$t>> for $t {
            fn from_proto(p: Option<$t>) -> Result<$t> {
                Ok(p.unwrap_or_default())
            }
            fn into_proto(self) -> Option<$t> {
                Some(self)
            }
        }
    )*};
}
always_sent!(String, f64);

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

/// An item in a list of items.
impl Member<pb::MapValue> for BTreeMap<String, AttributeValue> {
    fn from_proto(p: pb::MapValue) -> Result<Self> {
        Member::from_proto(p.values)
    }
    fn into_proto(self) -> pb::MapValue {
        pb::MapValue {
            values: Member::into_proto(self),
        }
    }
}

/// The items of one table in a batch answer.
impl Member<pb::ItemList> for Vec<BTreeMap<String, AttributeValue>> {
    fn from_proto(p: pb::ItemList) -> Result<Self> {
        Member::from_proto(p.values)
    }
    fn into_proto(self) -> pb::ItemList {
        pb::ItemList {
            values: Member::into_proto(self),
        }
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

/// A message's conversion each way from its fields, which have one name on both sides;
/// fields a side does not list keep their defaults. The prefix `@ from / to:` also names
/// the two directions as functions.
#[macro_export]
macro_rules! members {
    ($($(@ $from:ident / $to:ident :)? $proto:path => $model:path { $($field:ident),* $(,)? })*) => {$(
        impl $crate::grpc::member::Member<$proto> for $model {
            #[allow(clippy::needless_update)]
            fn from_proto(p: $proto) -> keyfall_types::error::Result<Self> {
                use $crate::grpc::member::Member;
                Ok(Self { $($field: Member::from_proto(p.$field)?,)* ..Default::default() })
            }
            #[allow(clippy::needless_update)]
            fn into_proto(self) -> $proto {
                type Proto = $proto;
                Proto { $($field: $crate::grpc::member::Member::into_proto(self.$field),)* ..Default::default() }
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
