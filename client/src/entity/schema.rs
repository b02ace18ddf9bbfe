//! What `#[derive(Entity)]` declares about a type, as static data the client reads at run
//! time. The derive parses and checks the key templates at compile time, so nothing here
//! parses a template again.

/// One piece of a key template: `"ORDER#{created}#{order_id}"` is
/// `[Literal("ORDER#"), Field("created"), Literal("#"), Field("order_id")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart {
    Literal(&'static str),
    /// A placeholder, named after the Rust field it reads.
    Field(&'static str),
}

/// A key attribute and the template its value is built from.
#[derive(Debug, Clone, Copy)]
pub struct KeyTemplate {
    /// The attribute that holds the built value, e.g. `pk` or `gsi1pk`.
    pub attribute: &'static str,
    /// The template as written, for messages and docs.
    pub template: &'static str,
    pub parts: &'static [TemplatePart],
}

/// A global secondary index an entity writes keys for.
#[derive(Debug, Clone, Copy)]
pub struct IndexSchema {
    pub name: &'static str,
    pub partition_key: KeyTemplate,
    pub sort_key: Option<KeyTemplate>,
}

/// Everything the client needs to store and load one entity kind.
#[derive(Debug, Clone, Copy)]
pub struct EntitySchema {
    pub table: &'static str,
    /// Written to `type_attribute` on every put and checked on every read.
    pub entity_type: &'static str,
    pub type_attribute: &'static str,
    pub partition_key: KeyTemplate,
    pub sort_key: Option<KeyTemplate>,
    pub indexes: &'static [IndexSchema],
    /// Attribute of the `#[keyfall(version)]` field (optimistic locking).
    pub version_attribute: Option<&'static str>,
    pub created_at_attribute: Option<&'static str>,
    pub updated_at_attribute: Option<&'static str>,
    /// Attribute of the `#[keyfall(ttl)]` field: the table's Time to Live attribute.
    pub ttl_attribute: Option<&'static str>,
}
