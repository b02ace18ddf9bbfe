//! Typed attribute paths and the operands expressions compare, copy and combine.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;

use super::path::Path;
use crate::value::{AttributeValue, ValueError};

/// A value converted for an expression, or why it could not be. Builders stay infallible by
/// carrying the error until the expression is compiled.
pub(crate) type Val = Result<AttributeValue, ValueError>;

/// An untyped operand, as the expression grammar sees it.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Path(Path),
    Value(Val),
    /// `size(path)`: conditions only.
    Size(Path),
    /// `if_not_exists(path, operand)`: updates only.
    IfNotExists(Path, Box<Op>),
    /// `list_append(first, second)`: only directly on the right of a SET.
    ListAppend(Box<Op>, Box<Op>),
}

/// The attribute at `path` holding values of Rust type `T`.
///
/// `T` only guides which operands the builders accept (a `String` attribute compares with
/// strings, a `u64` one with integers), so that a typo'd comparison fails to compile instead
/// of failing on the server. It never affects the generated expression. `#[derive(Entity)]`
/// generates one `Attr` per field; [`attr`] makes one by hand. Use
/// `Attr<AttributeValue>` when the type is not known statically.
///
/// ```
/// use keyfall::expr::{attr, Attr, Path};
///
/// let total = attr::<u64>("total");
/// let city: Attr<String> = attr::<()>("address").field("city");
/// let first_line = Attr::<String>::at(Path::parse("address.lines[0]")?);
/// let _ = (total.gt(100), city.eq("Oslo"), first_line.exists());
/// # Ok::<(), keyfall::Error>(())
/// ```
pub struct Attr<T> {
    path: Path,
    // `fn() -> T`: Attr neither owns a T nor inherits T's auto traits.
    _type: PhantomData<fn() -> T>,
}

/// The top-level attribute `name` (taken literally) holding values of type `T`; short for
/// [`Attr::new`].
pub fn attr<T>(name: impl Into<String>) -> Attr<T> {
    Attr::new(name)
}

impl<T> Attr<T> {
    /// The top-level attribute `name`, taken literally (dots do not nest).
    pub fn new(name: impl Into<String>) -> Self {
        Attr::at(Path::new(name))
    }

    /// The attribute at any document path, e.g. one made with [`Path::parse`].
    pub fn at(path: Path) -> Self {
        Attr {
            path,
            _type: PhantomData,
        }
    }

    /// Where this attribute is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The map key `name` inside this attribute, holding values of type `U`.
    pub fn field<U>(&self, name: impl Into<String>) -> Attr<U> {
        Attr::at(self.path.clone().field(name))
    }

    /// The list element `index` of this attribute, holding values of type `U`.
    pub fn index<U>(&self, index: usize) -> Attr<U> {
        Attr::at(self.path.clone().index(index))
    }

    /// The same attribute seen as holding `U`: an escape hatch when the stored type differs
    /// from the Rust field type (e.g. `Attr::<AttributeValue>` for raw values).
    pub fn cast<U>(&self) -> Attr<U> {
        Attr::at(self.path.clone())
    }

    /// `size(path)`: the length of a string or binary, or the element count of a set, list
    /// or map, to compare with numbers.
    pub fn size(&self) -> Size {
        Size {
            path: self.path.clone(),
        }
    }

    /// `if_not_exists(path, default)`: the attribute's current value, or `default` when the
    /// item has no such attribute. For update expressions, e.g.
    /// `views.set_to(views.if_not_exists(0).plus(1))` counts from zero.
    pub fn if_not_exists<M>(&self, default: impl IntoOperand<T, M>) -> Operand<T> {
        Operand::new(Op::IfNotExists(
            self.path.clone(),
            Box::new(default.into_operand().op),
        ))
    }

    pub(crate) fn op(&self) -> Op {
        Op::Path(self.path.clone())
    }
}

impl<T> Clone for Attr<T> {
    fn clone(&self) -> Self {
        Attr::at(self.path.clone())
    }
}

impl<T> fmt::Debug for Attr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Attr({})", self.path)
    }
}

impl<T> From<Attr<T>> for Path {
    fn from(a: Attr<T>) -> Path {
        a.path
    }
}

impl<T> From<&Attr<T>> for Path {
    fn from(a: &Attr<T>) -> Path {
        a.path.clone()
    }
}

/// An operand of type `T` for an expression: a value, another attribute, `size(...)`, or an
/// update function (`if_not_exists`, `list_append`).
///
/// Builders accept `impl IntoOperand<T, M>` rather than `Operand<T>`, so this type is only
/// named when building update functions such as [`Operand::list_append`].
pub struct Operand<T> {
    pub(crate) op: Op,
    _type: PhantomData<fn() -> T>,
}

impl<T> Operand<T> {
    pub(crate) fn new(op: Op) -> Self {
        Operand {
            op,
            _type: PhantomData,
        }
    }

    /// `list_append(first, second)`: the list `first` followed by the list `second`. For
    /// update expressions; e.g. appending to a list that may not exist yet:
    /// `Operand::list_append(tags.if_not_exists(Vec::new()), vec!["new"])`.
    pub fn list_append<M1, M2>(
        first: impl IntoOperand<T, M1>,
        second: impl IntoOperand<T, M2>,
    ) -> Self {
        Operand::new(Op::ListAppend(
            Box::new(first.into_operand().op),
            Box::new(second.into_operand().op),
        ))
    }
}

impl<T> Clone for Operand<T> {
    fn clone(&self) -> Self {
        Operand::new(self.op.clone())
    }
}

impl<T> fmt::Debug for Operand<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Operand").field(&self.op).finish()
    }
}

/// `size(path)` of an attribute, compared with numbers (see [`Attr::size`]). It is also an
/// operand of any numeric attribute, as in `limit.ge(tags.size())`.
#[derive(Clone, Debug)]
pub struct Size {
    pub(crate) path: Path,
}

impl Size {
    pub(crate) fn op(&self) -> Op {
        Op::Size(self.path.clone())
    }
}

/// A Rust value usable where an expression needs a value of type `T`.
///
/// Implemented for `T` and `&T` (when `T: Serialize`, converted with
/// [`crate::value::to_attribute_value`]), for `&str` when `T` is `String`, and for a raw
/// [`AttributeValue`] or `&AttributeValue` whatever `T` is (the escape hatch for values the
/// serializer cannot express, e.g. string sets). `M` is an inference marker from
/// [`marker`]: callers never name it; it only keeps these implementations from
/// overlapping.
pub trait IntoValue<T, M> {
    /// The value, or why it could not be converted.
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError>;
}

/// Anything usable where an expression needs an operand of type `T`: any [`IntoValue`]
/// value, an [`Attr<T>`] or `&Attr<T>` (the attribute's current value), an [`Operand<T>`],
/// or a [`Size`] when `T` is a number type. `M` is an inference marker from [`marker`];
/// callers never name it.
pub trait IntoOperand<T, M> {
    /// The operand.
    fn into_operand(self) -> Operand<T>;
}

/// Inference markers for [`IntoValue`] and [`IntoOperand`].
///
/// Rust rejects a blanket `impl<T: Serialize> IntoValue<T> for T` next to an impl for
/// `AttributeValue` (which might become `Serialize` one day). Giving each impl its own
/// marker type parameter makes them distinct traits to the compiler, and type inference
/// still picks the one that applies, so callers write `attr.eq(5)` and never see these.
pub mod marker {
    use std::marker::PhantomData;

    /// A `T: Serialize`, by value.
    #[derive(Debug)]
    pub struct Serialized;
    /// A `&T` where `T: Serialize`.
    #[derive(Debug)]
    pub struct SerializedRef;
    /// A `&str` for a `String` attribute.
    #[derive(Debug)]
    pub struct Str;
    /// A raw `AttributeValue`.
    #[derive(Debug)]
    pub struct Raw;
    /// A raw `&AttributeValue`.
    #[derive(Debug)]
    pub struct RawRef;
    /// Any [`IntoValue`](super::IntoValue) value used as an operand.
    #[derive(Debug)]
    pub struct Value<M>(PhantomData<M>);
    /// An `Attr<T>` or `&Attr<T>`.
    #[derive(Debug)]
    pub struct Attribute;
    /// An `Operand<T>`.
    #[derive(Debug)]
    pub struct Operand;
    /// A `Size` or `&Size`.
    #[derive(Debug)]
    pub struct Size;
}

impl<T: Serialize> IntoValue<T, marker::Serialized> for T {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        crate::value::to_attribute_value(&self)
    }
}

impl<T: Serialize> IntoValue<T, marker::SerializedRef> for &T {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        crate::value::to_attribute_value(self)
    }
}

impl IntoValue<String, marker::Str> for &str {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        crate::value::to_attribute_value(self)
    }
}

impl<T> IntoValue<T, marker::Raw> for AttributeValue {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        Ok(self)
    }
}

impl<T> IntoValue<T, marker::RawRef> for &AttributeValue {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        Ok(self.clone())
    }
}

impl<T, M, V: IntoValue<T, M>> IntoOperand<T, marker::Value<M>> for V {
    fn into_operand(self) -> Operand<T> {
        Operand::new(Op::Value(self.into_attribute_value()))
    }
}

impl<T> IntoOperand<T, marker::Attribute> for Attr<T> {
    fn into_operand(self) -> Operand<T> {
        Operand::new(Op::Path(self.path))
    }
}

impl<T> IntoOperand<T, marker::Attribute> for &Attr<T> {
    fn into_operand(self) -> Operand<T> {
        Operand::new(self.op())
    }
}

impl<T> IntoOperand<T, marker::Operand> for Operand<T> {
    fn into_operand(self) -> Operand<T> {
        self
    }
}

macro_rules! size_is_a_number {
    ($($t:ty),*) => {$(
        impl IntoOperand<$t, marker::Size> for Size {
            fn into_operand(self) -> Operand<$t> {
                Operand::new(Op::Size(self.path))
            }
        }
        impl IntoOperand<$t, marker::Size> for &Size {
            fn into_operand(self) -> Operand<$t> {
                Operand::new(self.op())
            }
        }
    )*};
}

size_is_a_number!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// Attribute types whose values `contains` looks inside: the substring of a string, or the
/// element of a set or list. [`Attr::contains`] takes an operand of type `Self::Element`.
pub trait Container {
    /// What `contains` looks for.
    type Element;
}

impl Container for String {
    type Element = String;
}

impl<E> Container for Vec<E> {
    type Element = E;
}

impl<E> Container for VecDeque<E> {
    type Element = E;
}

impl<E, S> Container for HashSet<E, S> {
    type Element = E;
}

impl<E> Container for BTreeSet<E> {
    type Element = E;
}

impl<E, const N: usize> Container for [E; N] {
    type Element = E;
}

impl Container for AttributeValue {
    type Element = AttributeValue;
}
