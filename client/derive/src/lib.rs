//! `#[derive(Entity)]` and `#[derive(Collection)]` for the keyfall client. Use them through
//! the client crate, as `keyfall::Entity` and `keyfall::Collection`: the generated code
//! names everything by absolute `::keyfall::...` paths.

mod case;
mod collection;
mod entity;
mod errors;
mod serde_attr;
mod template;
mod types;

use proc_macro::TokenStream;
use syn::DeriveInput;

/// Implements `keyfall::Entity` for a struct with named fields, checking its key templates
/// at compile time.
///
/// ```ignore
/// use serde::{Deserialize, Serialize};
///
/// #[derive(keyfall::Entity, Serialize, Deserialize)]
/// #[keyfall(
///     table = "shop",
///     entity = "Order",
///     pk = "CUSTOMER#{customer_id}",
///     sk = "ORDER#{created}#{order_id}",
///     index(name = "gsi1", pk = "ORDER#{order_id}", sk = "STATUS#{status}"),
/// )]
/// #[serde(rename_all = "camelCase")]
/// pub struct Order {
///     pub customer_id: String,
///     pub order_id: String,
///     pub created: u64,
///     pub status: Option<String>,
///     #[keyfall(version)]
///     pub version: u64,
///     #[keyfall(created_at)]
///     pub created_at: Option<u64>,
///     #[keyfall(updated_at)]
///     pub updated_at: Option<u64>,
///     #[keyfall(ttl)]
///     pub expires_at: Option<u64>,
///     #[serde(rename = "amountCents")]
///     pub amount: u64,
/// }
///
/// let key = Order::key("c1", 1700000000u64, "o1"); // pk = "CUSTOMER#c1", sk = "ORDER#1700000000#o1"
/// let amount = Order::attrs().amount;               // keyfall::expr::Attr<u64> at "amountCents"
/// ```
///
/// The struct must also derive serde's `Serialize` and `Deserialize`, have named fields and
/// no generic parameters.
///
/// # Struct attributes: `#[keyfall(...)]`
///
/// | key | required | meaning |
/// | --- | --- | --- |
/// | `table = "shop"` | yes | the table the entity is stored in |
/// | `pk = "CUSTOMER#{customer_id}"` | yes | partition key template |
/// | `sk = "ORDER#{created}#{order_id}"` | no | sort key template |
/// | `entity = "Order"` | no | entity type written to the type attribute; default: the struct's name |
/// | `type_attribute = "_type"` | no | attribute holding the entity type; default `_type` |
/// | `pk_attribute = "pk"` | no | attribute holding the built partition key; default `pk` |
/// | `sk_attribute = "sk"` | no | attribute holding the built sort key; default `sk` |
/// | `index(name = "gsi1", pk = "...", sk = "...")` | no, repeatable | a global secondary index the entity writes keys for; `sk` is optional; its key attributes default to `<name>pk` / `<name>sk` and can be set with `pk_attribute = "..."` / `sk_attribute = "..."` |
///
/// Several `#[keyfall(...)]` attributes on the struct are merged.
///
/// # Key templates
///
/// Literal text with `{field}` placeholders naming **Rust** fields (a raw field `r#type` is
/// `{type}` or `{r#type}`), not their serde names. A field
/// renders through `keyfall::KeyPart` (strings as they are, integers in decimal without
/// padding). Checked at compile time:
///
/// - every placeholder names a field of the struct;
/// - no empty placeholder `{}`, unclosed `{` or stray `}` (there is no escape for braces);
/// - two placeholders are separated by literal text (`{a}#{b}`, not `{a}{b}`), so a key
///   can be split back into its fields;
/// - fields in the primary key (`pk`, `sk`) are not `Option`. An `Option` field in an
///   `index(...)` template makes the index sparse: an entity whose field is `None` writes
///   no key for that index.
///
/// Two templates may write the same attribute only if they are identical (e.g. an index
/// reusing the table's `sk` with `sk_attribute = "sk"`); the type attribute is never a key
/// attribute.
///
/// # Field attributes: `#[keyfall(...)]`
///
/// | attribute | at most one field | field type | meaning |
/// | --- | --- | --- | --- |
/// | `#[keyfall(version)]` | yes | a primitive integer (`u64`, `u32`, `i64`, ...) | optimistic locking version; `Entity::version` / `set_version` convert to and from `u64` (saturating) |
/// | `#[keyfall(created_at)]` | yes | a `keyfall::Timestamp` (`u64`, `i64`, `SystemTime`, `Option<..>` of them) | set by `Entity::touch` when the entity is created |
/// | `#[keyfall(updated_at)]` | yes | a `keyfall::Timestamp` | set by `Entity::touch` on every write |
/// | `#[keyfall(ttl)]` | yes | any (epoch seconds) | the table's Time to Live attribute |
///
/// Any other key inside a field's `#[keyfall(...)]` is an error, as is one of these on a
/// field serde skips or flattens. Unknown keys anywhere are reported with the list of known
/// ones (and a suggestion for a likely typo).
///
/// # serde attributes that are honoured
///
/// The schema's attribute names (`version_attribute`, ...) and the [`Attrs`](#generated)
/// paths are the names serde stores the fields under: `#[serde(rename = "x")]` (or
/// `rename(serialize = "x")`) on a field and `#[serde(rename_all = "...")]` on the struct
/// (`lowercase`, `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`,
/// `SCREAMING_SNAKE_CASE`, `kebab-case`, `SCREAMING-KEBAB-CASE`). Fields with
/// `#[serde(skip)]`, `#[serde(skip_serializing)]` or `#[serde(flatten)]` get no attribute
/// path.
///
/// # Generated
///
/// For `pub struct Order` as above:
///
/// ```ignore
/// impl ::keyfall::Entity for Order {
///     fn schema() -> &'static ::keyfall::EntitySchema;     // a static, templates pre-parsed
///     fn key_part(&self, field: &str) -> Option<String>;   // every field a template names
///     fn version(&self) -> Option<u64>;                     // with #[keyfall(version)]
///     fn set_version(&mut self, version: u64);              // with #[keyfall(version)]
///     fn touch(&mut self, now: SystemTime, creating: bool); // with created_at / updated_at
/// }
///
/// impl Order {
///     /// One parameter per distinct field of the pk then sk templates, in order of first
///     /// appearance, named like the field.
///     pub fn key(
///         customer_id: impl ::keyfall::KeyPart,
///         created: impl ::keyfall::KeyPart,
///         order_id: impl ::keyfall::KeyPart,
///     ) -> ::keyfall::Key<Self>;
///     pub fn primary_key(&self) -> ::keyfall::Key<Self>;
///     pub fn attrs() -> OrderAttrs;
/// }
///
/// /// Same visibility as `Order`; one field per stored field, `Option<T>` fields as `Attr<T>`.
/// pub struct OrderAttrs {
///     pub customer_id: ::keyfall::expr::Attr<String>,   // "customerId" with camelCase
///     pub status: ::keyfall::expr::Attr<String>,
///     pub amount: ::keyfall::expr::Attr<u64>,           // "amountCents"
///     // ...
/// }
/// ```
///
/// `key(...)` with a part whose `key_text` is `None` (such as `None::<String>`) returns an
/// empty key, which the server rejects with a `ValidationException`. A type named
/// `<Name>Attrs` must not already exist next to the entity.
#[proc_macro_derive(Entity, attributes(keyfall))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    entity::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `keyfall::Collection` for an enum whose variants each hold one entity type,
/// to decode the items of several entity kinds (e.g. one partition of a single-table
/// design).
///
/// ```ignore
/// #[derive(keyfall::Collection)]
/// enum CustomerView {
///     Customer(Customer),
///     Order(Order),
/// }
///
/// // Some(CustomerView::Order(..)) for an item whose type attribute is "Order",
/// // None for an item of an entity type no variant holds.
/// let view: Option<CustomerView> = CustomerView::from_item(item)?;
/// ```
///
/// Every variant is a tuple variant with exactly one field, whose type implements
/// `keyfall::Entity`; the enum has at least one variant and no generic parameters, and
/// takes no `#[keyfall(...)]` attributes.
///
/// Generated:
///
/// ```ignore
/// impl ::keyfall::Collection for CustomerView {
///     /// The variants' `schema().entity_type`, in variant order (computed once).
///     fn entity_types() -> &'static [&'static str];
///     /// Reads the first variant's `type_attribute` (an `S` value) and decodes the item
///     /// with `keyfall::entity::decode` as the variant whose entity type it names.
///     /// `Ok(None)` when the attribute is missing, not a string, or names no variant;
///     /// `Err(keyfall::Error::Config(..))` when the variants' entities use different type
///     /// attributes.
///     fn from_item(item: ::keyfall::Item) -> Result<Option<Self>, ::keyfall::Error>;
/// }
/// ```
#[proc_macro_derive(Collection, attributes(keyfall))]
pub fn derive_collection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    collection::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
