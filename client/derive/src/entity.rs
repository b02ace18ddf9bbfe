//! `#[derive(Entity)]`: reading the `#[keyfall(...)]` attributes into an [`EntityDef`],
//! checking it, and generating the `Entity` impl, `key`/`primary_key`/`attrs` and the
//! `<Name>Attrs` struct.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Token, Type, Visibility};

use crate::errors::Errors;
use crate::serde_attr::{self, SerdeField};
use crate::template::{self, Part};
use crate::types;

const CONTAINER_KEYS: &[&str] = &[
    "table",
    "entity",
    "type_attribute",
    "pk",
    "sk",
    "pk_attribute",
    "sk_attribute",
    "index",
];
const INDEX_KEYS: &[&str] = &["name", "pk", "sk", "pk_attribute", "sk_attribute"];
const FIELD_KEYS: &[&str] = &["version", "created_at", "updated_at", "ttl"];

/// Everything the derive generates code from, checked.
pub(crate) struct EntityDef {
    pub ident: Ident,
    pub vis: Visibility,
    pub table: String,
    pub entity_type: String,
    pub type_attribute: String,
    pub pk: KeyDef,
    pub sk: Option<KeyDef>,
    pub indexes: Vec<IndexDef>,
    pub fields: Vec<FieldDef>,
    /// Indexes into `fields` of the fields with these roles.
    pub version: Option<usize>,
    pub created_at: Option<usize>,
    pub updated_at: Option<usize>,
    pub ttl: Option<usize>,
}

/// A key attribute and its parsed template.
pub(crate) struct KeyDef {
    pub attribute: String,
    pub template: String,
    pub parts: Vec<Part>,
}

pub(crate) struct IndexDef {
    pub name: String,
    pub pk: KeyDef,
    pub sk: Option<KeyDef>,
}

pub(crate) struct FieldDef {
    pub ident: Ident,
    /// The Rust name without `r#`: what key template placeholders name.
    pub name: String,
    pub ty: Type,
    /// The attribute the field is stored under (after `rename` / `rename_all`).
    pub serde_name: String,
    pub serde: SerdeField,
}

impl FieldDef {
    /// Whether the field is written as one attribute of its own.
    fn stored(&self) -> bool {
        !self.serde.skip && !self.serde.flatten
    }
}

/// The lifecycle roles a field can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Version,
    CreatedAt,
    UpdatedAt,
    Ttl,
}

impl Role {
    const ALL: [Role; 4] = [Role::Version, Role::CreatedAt, Role::UpdatedAt, Role::Ttl];

    fn name(self) -> &'static str {
        match self {
            Role::Version => "version",
            Role::CreatedAt => "created_at",
            Role::UpdatedAt => "updated_at",
            Role::Ttl => "ttl",
        }
    }
}

/// `#[keyfall(...)]` on the struct, as written.
#[derive(Default)]
struct RawContainer {
    table: Option<LitStr>,
    entity: Option<LitStr>,
    type_attribute: Option<LitStr>,
    pk: Option<LitStr>,
    sk: Option<LitStr>,
    pk_attribute: Option<LitStr>,
    sk_attribute: Option<LitStr>,
    indexes: Vec<RawIndex>,
}

/// One `index(...)`, as written.
struct RawIndex {
    span: Span,
    name: Option<LitStr>,
    pk: Option<LitStr>,
    sk: Option<LitStr>,
    pk_attribute: Option<LitStr>,
    sk_attribute: Option<LitStr>,
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let def = parse(input)?;
    Ok(expand(&def))
}

/// Reads and checks the struct and its attributes.
pub(crate) fn parse(input: &DeriveInput) -> syn::Result<EntityDef> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(fields) => {
                return Err(syn::Error::new(
                    fields.span(),
                    format!(
                    "#[derive(Entity)] needs a struct with named fields; `{}` is a tuple struct",
                    input.ident
                ),
                ))
            }
            Fields::Unit => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    format!(
                        "#[derive(Entity)] needs a struct with named fields; `{}` is a unit struct",
                        input.ident
                    ),
                ))
            }
        },
        Data::Enum(data) => {
            return Err(syn::Error::new(
                data.enum_token.span,
                format!(
                    "#[derive(Entity)] needs a struct with named fields; `{}` is an enum \
                     (to read several entity types, derive `Collection` on an enum of entities)",
                    input.ident
                ),
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                format!(
                    "#[derive(Entity)] needs a struct with named fields; `{}` is a union",
                    input.ident
                ),
            ))
        }
    };
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!(
                "#[derive(Entity)] does not support generic structs: `{}` has generic parameters \
                 (an entity has one fixed schema; define a concrete struct per entity type)",
                input.ident
            ),
        ));
    }

    let mut errors = Errors::default();
    let raw = raw_container(&input.attrs, &mut errors);
    // Missing keys are not reported when the attributes had errors (a misspelt `table`).
    let container_ok = errors.is_empty();
    let rename_all = serde_attr::rename_all(&input.attrs);

    // Fields and their roles.
    let mut fields = Vec::new();
    let mut roles: [Option<usize>; 4] = [None; 4];
    for field in &named.named {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let name = ident.unraw().to_string();
        let serde = serde_attr::field(&field.attrs);
        let serde_name = match (&serde.rename, rename_all) {
            (Some(rename), _) => rename.clone(),
            (None, Some(rule)) => rule.apply_to_field(&name),
            (None, None) => name.clone(),
        };
        let index = fields.len();
        let def = FieldDef {
            ident,
            name,
            ty: field.ty.clone(),
            serde_name,
            serde,
        };
        for (role, span) in field_roles(&field.attrs, &mut errors) {
            let slot = match (role, &mut roles) {
                (Role::Version, [s, _, _, _])
                | (Role::CreatedAt, [_, s, _, _])
                | (Role::UpdatedAt, [_, _, s, _])
                | (Role::Ttl, [_, _, _, s]) => s,
            };
            if let Some(first) = slot {
                let first = fields
                    .get(*first)
                    .map_or("", |f: &FieldDef| f.name.as_str());
                errors.at(
                    span,
                    format!(
                        "more than one `#[keyfall({role})]` field: `{first}` and `{}`",
                        def.name,
                        role = role.name()
                    ),
                );
                continue;
            }
            if role == Role::Version && !types::is_integer(&def.ty) {
                errors.at(
                    def.ty.span(),
                    "`#[keyfall(version)]` needs an integer field type \
                     (u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128 or isize)",
                );
            }
            if !def.stored() {
                let why = if def.serde.flatten {
                    "#[serde(flatten)]"
                } else {
                    "skipped by serde"
                };
                errors.at(
                    span,
                    format!(
                        "the `#[keyfall({})]` field `{}` is {why}, so it is never stored \
                         as an attribute of its own",
                        role.name(),
                        def.name
                    ),
                );
            }
            *slot = Some(index);
        }
        fields.push(def);
    }

    // The container.
    let first_attr = input.attrs.iter().find(|a| a.path().is_ident("keyfall"));
    if first_attr.is_none() {
        errors.at(
            input.ident.span(),
            "missing `#[keyfall(table = \"...\", pk = \"...\")]` on the struct: an entity \
             needs a table and a partition key template",
        );
    }
    let missing = |errors: &mut Errors, message: &str| {
        if let (Some(attr), true) = (first_attr, container_ok) {
            errors.spanned(attr, message);
        }
    };
    let table = match &raw.table {
        Some(lit) => non_empty(lit, "table", &mut errors),
        None => {
            missing(
                &mut errors,
                "missing `table`: add `table = \"...\"` to `#[keyfall(...)]`",
            );
            String::new()
        }
    };
    let entity_type = match &raw.entity {
        Some(lit) => non_empty(lit, "entity", &mut errors),
        None => input.ident.unraw().to_string(),
    };
    let type_attribute = attribute(
        raw.type_attribute.as_ref(),
        "_type",
        "type_attribute",
        &mut errors,
    );
    let pk_attribute = attribute(raw.pk_attribute.as_ref(), "pk", "pk_attribute", &mut errors);
    let sk_attribute = attribute(raw.sk_attribute.as_ref(), "sk", "sk_attribute", &mut errors);
    if raw.sk.is_none() {
        if let Some(lit) = &raw.sk_attribute {
            errors.at(lit.span(), "`sk_attribute` without an `sk` template");
        }
    }

    let mut keys: Vec<WrittenKey> = vec![WrittenKey {
        attribute: type_attribute.clone(),
        template: None,
    }];
    let pk = match &raw.pk {
        Some(lit) => key_def(lit, pk_attribute, &fields, true, &mut keys, &mut errors),
        None => {
            missing(
                &mut errors,
                "missing `pk`: add a partition key template such as `pk = \"USER#{id}\"`",
            );
            None
        }
    };
    let sk = raw
        .sk
        .as_ref()
        .and_then(|lit| key_def(lit, sk_attribute, &fields, true, &mut keys, &mut errors));

    let mut indexes: Vec<IndexDef> = Vec::new();
    for index in &raw.indexes {
        let Some(name_lit) = &index.name else {
            if container_ok {
                errors.at(index.span, "`index(...)` needs a `name = \"...\"`");
            }
            continue;
        };
        let name = non_empty(name_lit, "name", &mut errors);
        if indexes.iter().any(|i| i.name == name) {
            errors.at(name_lit.span(), format!("duplicate index name `{name}`"));
            continue;
        }
        let Some(pk_lit) = &index.pk else {
            if container_ok {
                errors.at(
                    index.span,
                    format!("index `{name}` needs a `pk = \"...\"` template"),
                );
            }
            continue;
        };
        if index.sk.is_none() {
            if let Some(lit) = &index.sk_attribute {
                errors.at(lit.span(), "`sk_attribute` without an `sk` template");
            }
        }
        let pk_attribute = attribute(
            index.pk_attribute.as_ref(),
            &format!("{name}pk"),
            "pk_attribute",
            &mut errors,
        );
        let sk_attribute = attribute(
            index.sk_attribute.as_ref(),
            &format!("{name}sk"),
            "sk_attribute",
            &mut errors,
        );
        let pk = key_def(pk_lit, pk_attribute, &fields, false, &mut keys, &mut errors);
        let sk = index
            .sk
            .as_ref()
            .and_then(|lit| key_def(lit, sk_attribute, &fields, false, &mut keys, &mut errors));
        if let Some(pk) = pk {
            indexes.push(IndexDef { name, pk, sk });
        }
    }

    errors.finish()?;
    let Some(pk) = pk else {
        return Err(syn::Error::new(input.ident.span(), "missing `pk`"));
    };
    let [version, created_at, updated_at, ttl] = roles;
    Ok(EntityDef {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        table,
        entity_type,
        type_attribute,
        pk,
        sk,
        indexes,
        fields,
        version,
        created_at,
        updated_at,
        ttl,
    })
}

fn non_empty(lit: &LitStr, key: &str, errors: &mut Errors) -> String {
    let value = lit.value();
    if value.is_empty() {
        errors.at(lit.span(), format!("`{key}` cannot be empty"));
    }
    value
}

fn attribute(lit: Option<&LitStr>, default: &str, key: &str, errors: &mut Errors) -> String {
    lit.map_or_else(|| default.to_string(), |lit| non_empty(lit, key, errors))
}

/// An attribute a key template (or the entity type) is written to.
struct WrittenKey {
    attribute: String,
    /// The template as written and parsed; `None` for the type attribute.
    template: Option<(String, Vec<Part>)>,
}

/// Parses and checks one key template. `keys` collects the key attributes written so far
/// (with their templates) to catch one attribute built from two different templates.
fn key_def(
    lit: &LitStr,
    attribute: String,
    fields: &[FieldDef],
    primary: bool,
    keys: &mut Vec<WrittenKey>,
    errors: &mut Errors,
) -> Option<KeyDef> {
    let template = lit.value();
    let parts = match template::parse(&template) {
        // `{r#type}` names the field `r#type`, like `{type}`.
        Ok(parts) => parts
            .into_iter()
            .map(|part| match part {
                Part::Field(name) => match name.strip_prefix("r#") {
                    Some(unraw) => Part::Field(unraw.to_string()),
                    None => Part::Field(name),
                },
                literal => literal,
            })
            .collect::<Vec<_>>(),
        Err(error) => {
            let message = template::Described {
                template: &template,
                error: &error,
            };
            errors.at(lit.span(), message);
            return None;
        }
    };
    let mut ok = true;
    for name in template::fields(&parts) {
        match fields.iter().find(|f| f.name == name) {
            None => {
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                errors.at(
                    lit.span(),
                    format!(
                        "key template `{template}` names no field `{name}`; fields are: {}",
                        names.join(", ")
                    ),
                );
                ok = false;
            }
            Some(field) if primary && types::option_inner(&field.ty).is_some() => {
                errors.at(
                    lit.span(),
                    format!(
                        "primary key fields cannot be Option: key template `{template}` names \
                         `{name}`, an `Option<..>` field (an Option field may appear in an \
                         index key template, which makes the index sparse)"
                    ),
                );
                ok = false;
            }
            Some(_) => {}
        }
    }
    match keys.iter().find(|k| k.attribute == attribute) {
        Some(WrittenKey { template: None, .. }) => {
            errors.at(
                lit.span(),
                format!("key attribute `{attribute}` is also the type attribute"),
            );
            ok = false;
        }
        Some(WrittenKey {
            template: Some((other, other_parts)),
            ..
        }) if *other_parts != parts => {
            errors.at(
                lit.span(),
                format!(
                    "key attribute `{attribute}` would be built from two different templates: \
                     `{other}` and `{template}`"
                ),
            );
            ok = false;
        }
        Some(_) => {}
        None => keys.push(WrittenKey {
            attribute: attribute.clone(),
            template: Some((template.clone(), parts.clone())),
        }),
    }
    ok.then_some(KeyDef {
        attribute,
        template,
        parts,
    })
}

fn set_once(slot: &mut Option<LitStr>, meta: &ParseNestedMeta) -> syn::Result<()> {
    let lit: LitStr = meta.value()?.parse()?;
    if slot.is_some() {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        return Err(meta.error(format!("duplicate `{key}`")));
    }
    *slot = Some(lit);
    Ok(())
}

fn key_name(meta: &ParseNestedMeta) -> String {
    let path = &meta.path;
    path.get_ident()
        .map_or_else(|| quote!(#path).to_string(), Ident::to_string)
}

/// The error for a key this derive does not know, with a suggestion when it looks like a
/// typo of one it does.
fn unknown_key(meta: &ParseNestedMeta, what: &str, key: &str, known: &[&str]) -> syn::Error {
    let close = known
        .iter()
        .filter(|k| edit_distance(k, key) <= 2)
        .min_by_key(|k| edit_distance(k, key));
    let hint = match close {
        Some(k) => format!("did you mean `{k}`? "),
        None => String::new(),
    };
    meta.error(format!(
        "unknown {what} `{key}`; {hint}expected one of: {}",
        known.join(", ")
    ))
}

/// Levenshtein distance, for typo suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        // `left` is the new row's previous cell, `diagonal` and `above` the old row's.
        let mut left = i + 1;
        let mut next = Vec::with_capacity(row.len());
        next.push(left);
        for ((cb, &diagonal), &above) in b.iter().zip(&row).zip(row.iter().skip(1)) {
            left = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(left)
            };
            next.push(left);
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

/// Reads the struct's `#[keyfall(...)]` attributes. An unknown key is reported and skipped,
/// so the keys after it are still read.
fn raw_container(attrs: &[Attribute], errors: &mut Errors) -> RawContainer {
    let mut raw = RawContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("keyfall")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            match key.as_str() {
                "table" => set_once(&mut raw.table, &meta),
                "entity" => set_once(&mut raw.entity, &meta),
                "type_attribute" => set_once(&mut raw.type_attribute, &meta),
                "pk" => set_once(&mut raw.pk, &meta),
                "sk" => set_once(&mut raw.sk, &meta),
                "pk_attribute" => set_once(&mut raw.pk_attribute, &meta),
                "sk_attribute" => set_once(&mut raw.sk_attribute, &meta),
                "index" => {
                    raw.indexes.push(raw_index(&meta, errors)?);
                    Ok(())
                }
                "version" | "created_at" | "updated_at" | "ttl" => {
                    errors.push(meta.error(format!(
                        "`{key}` belongs on a field: `#[keyfall({key})] {key}: ...`"
                    )));
                    serde_attr::skip_value(&meta)
                }
                _ => {
                    errors.push(unknown_key(
                        &meta,
                        "keyfall attribute",
                        &key,
                        CONTAINER_KEYS,
                    ));
                    serde_attr::skip_value(&meta)
                }
            }
        });
        errors.ok(result);
    }
    raw
}

fn raw_index(meta: &ParseNestedMeta, errors: &mut Errors) -> syn::Result<RawIndex> {
    let mut index = RawIndex {
        span: meta.path.span(),
        name: None,
        pk: None,
        sk: None,
        pk_attribute: None,
        sk_attribute: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error("expected `index(name = \"...\", pk = \"...\", sk = \"...\")`"));
    }
    meta.parse_nested_meta(|inner| {
        let key = key_name(&inner);
        match key.as_str() {
            "name" => set_once(&mut index.name, &inner),
            "pk" => set_once(&mut index.pk, &inner),
            "sk" => set_once(&mut index.sk, &inner),
            "pk_attribute" => set_once(&mut index.pk_attribute, &inner),
            "sk_attribute" => set_once(&mut index.sk_attribute, &inner),
            _ => {
                errors.push(unknown_key(&inner, "index attribute", &key, INDEX_KEYS));
                serde_attr::skip_value(&inner)
            }
        }
    })?;
    Ok(index)
}

/// The roles `#[keyfall(...)]` gives a field, each with the span of its name.
fn field_roles(attrs: &[Attribute], errors: &mut Errors) -> Vec<(Role, Span)> {
    let mut roles: Vec<(Role, Span)> = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("keyfall")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            let Some(role) = Role::ALL.into_iter().find(|r| r.name() == key) else {
                errors.push(unknown_key(
                    &meta,
                    "keyfall field attribute",
                    &key,
                    FIELD_KEYS,
                ));
                return serde_attr::skip_value(&meta);
            };
            if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                errors.push(meta.error(format!("`{key}` takes no value")));
                return serde_attr::skip_value(&meta);
            }
            if roles.iter().any(|(r, _)| *r == role) {
                return Err(meta.error(format!("duplicate `{key}`")));
            }
            roles.push((role, meta.path.span()));
            Ok(())
        });
        errors.ok(result);
    }
    roles
}

// ---------------------------------------------------------------------------------------
// Code generation.

fn key_template(key: &KeyDef) -> TokenStream {
    let attribute = &key.attribute;
    let template = &key.template;
    let parts = key.parts.iter().map(|part| match part {
        Part::Literal(text) => quote!(::keyfall::entity::TemplatePart::Literal(#text)),
        Part::Field(name) => quote!(::keyfall::entity::TemplatePart::Field(#name)),
    });
    quote! {
        ::keyfall::entity::KeyTemplate {
            attribute: #attribute,
            template: #template,
            parts: &[#(#parts),*],
        }
    }
}

fn optional_key_template(key: Option<&KeyDef>) -> TokenStream {
    match key {
        Some(key) => {
            let key = key_template(key);
            quote!(::core::option::Option::Some(#key))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn optional_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// Distinct field names in the order the templates first name them.
fn template_fields<'a>(keys: impl IntoIterator<Item = &'a KeyDef>) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for key in keys {
        for name in template::fields(&key.parts) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// An index name as part of a Rust identifier: `by-email` gives `by_email_partition`.
fn index_ident(name: &str) -> String {
    let ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("index_{ident}")
    } else {
        ident
    }
}

pub(crate) fn expand(def: &EntityDef) -> TokenStream {
    let ident = &def.ident;
    let vis = &def.vis;
    let field = |name: &str| def.fields.iter().find(|f| f.name == name);
    let role_field = |index: Option<usize>| index.and_then(|i| def.fields.get(i));

    // The schema.
    let table = &def.table;
    let entity_type = &def.entity_type;
    let type_attribute = &def.type_attribute;
    let partition_key = key_template(&def.pk);
    let sort_key = optional_key_template(def.sk.as_ref());
    let indexes = def.indexes.iter().map(|index| {
        let name = &index.name;
        let pk = key_template(&index.pk);
        let sk = optional_key_template(index.sk.as_ref());
        quote! {
            ::keyfall::entity::IndexSchema {
                name: #name,
                partition_key: #pk,
                sort_key: #sk,
            }
        }
    });
    let role_attribute =
        |index: Option<usize>| optional_str(role_field(index).map(|f| f.serde_name.as_str()));
    let version_attribute = role_attribute(def.version);
    let created_at_attribute = role_attribute(def.created_at);
    let updated_at_attribute = role_attribute(def.updated_at);
    let ttl_attribute = role_attribute(def.ttl);

    // key_part: every field any template names.
    let all_keys = std::iter::once(&def.pk).chain(&def.sk).chain(
        def.indexes
            .iter()
            .flat_map(|i| std::iter::once(&i.pk).chain(&i.sk)),
    );
    let key_part_arms = template_fields(all_keys).into_iter().filter_map(|name| {
        let f = field(name)?;
        let member = &f.ident;
        let text = quote_spanned!(f.ty.span()=> ::keyfall::KeyPart::key_text(&self.#member));
        Some(quote!(#name => #text,))
    });

    // version / set_version.
    let version_methods = role_field(def.version).map(|f| {
        let member = &f.ident;
        let ty = &f.ty;
        quote! {
            fn version(&self) -> ::core::option::Option<u64> {
                <u64 as ::core::convert::TryFrom<#ty>>::try_from(self.#member).ok()
            }

            fn set_version(&mut self, version: u64) {
                self.#member = match <#ty as ::core::convert::TryFrom<u64>>::try_from(version) {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(_) => <#ty>::MAX,
                };
            }
        }
    });

    // touch.
    let created_at = role_field(def.created_at);
    let updated_at = role_field(def.updated_at);
    let touch = (created_at.is_some() || updated_at.is_some()).then(|| {
        let now = |f: &FieldDef| {
            let ty = &f.ty;
            quote_spanned!(ty.span()=> <#ty as ::keyfall::Timestamp>::from_system_time(now))
        };
        let creating = if created_at.is_some() {
            quote!(creating)
        } else {
            quote!(_creating)
        };
        let set_created = created_at.map(|f| {
            let member = &f.ident;
            let value = now(f);
            quote!(if creating { self.#member = #value; })
        });
        let set_updated = updated_at.map(|f| {
            let member = &f.ident;
            let value = now(f);
            quote!(self.#member = #value;)
        });
        quote! {
            fn touch(&mut self, now: ::std::time::SystemTime, #creating: bool) {
                #set_created
                #set_updated
            }
        }
    });
    let timestamp_value = updated_at.map(|f| {
        let value = {
            let ty = &f.ty;
            quote_spanned!(ty.span()=> <#ty as ::keyfall::Timestamp>::from_system_time(now))
        };
        quote! {
            fn timestamp_value(
                now: ::std::time::SystemTime,
            ) -> ::core::option::Option<
                ::core::result::Result<::keyfall::AttributeValue, ::keyfall::value::ValueError>,
            > {
                ::core::option::Option::Some(::keyfall::value::to_attribute_value(&#value))
            }
        }
    });

    // partition(...) and <index>_partition(...): one parameter per partition key field.
    let partition_fns = std::iter::once((None, &def.pk))
        .chain(def.indexes.iter().map(|i| (Some(i.name.as_str()), &i.pk)))
        .map(|(index, pk)| {
            let fields: Vec<&FieldDef> = template_fields(std::iter::once(pk))
                .into_iter()
                .filter_map(field)
                .collect();
            let params = fields.iter().map(|f| {
                let param = &f.ident;
                quote!(#param: impl ::keyfall::KeyPart)
            });
            let arms = fields.iter().map(|f| {
                let name = &f.name;
                let param = &f.ident;
                quote!(#name => ::keyfall::KeyPart::key_text(&#param),)
            });
            let (fn_name, index_arg, doc) = match index {
                None => (
                    format_ident!("partition"),
                    quote!(::core::option::Option::None),
                    format!(
                        "The partition `{}` = `{}`, to query `{entity_type}`s (or, with \
                         `query_collection`, every item in it).",
                        pk.attribute, pk.template
                    ),
                ),
                Some(name) => (
                    format_ident!("{}_partition", index_ident(name)),
                    quote!(::core::option::Option::Some(#name)),
                    format!(
                        "The partition `{}` = `{}` of index `{name}`.",
                        pk.attribute, pk.template
                    ),
                ),
            };
            quote! {
                #[doc = #doc]
                pub fn #fn_name(#(#params),*) -> ::keyfall::Partition<Self> {
                    ::keyfall::Partition::generated(#index_arg, |__keyfall_field: &str| {
                        match __keyfall_field {
                            #(#arms)*
                            _ => ::core::option::Option::None,
                        }
                    })
                }
            }
        })
        .collect::<Vec<_>>();

    // key(...): one parameter per primary key field.
    let primary_keys: Vec<&KeyDef> = std::iter::once(&def.pk).chain(&def.sk).collect();
    let key_fields: Vec<&FieldDef> = template_fields(primary_keys.iter().copied())
        .into_iter()
        .filter_map(field)
        .collect();
    let key_params = key_fields.iter().map(|f| {
        let param = &f.ident;
        quote!(#param: impl ::keyfall::KeyPart)
    });
    let key_arms = key_fields.iter().map(|f| {
        let name = &f.name;
        let param = &f.ident;
        quote!(#name => ::keyfall::KeyPart::key_text(&#param),)
    });
    let key_doc = {
        let mut doc = format!("The primary key of the `{entity_type}` with these key fields: ");
        let described: Vec<String> = primary_keys
            .iter()
            .map(|k| format!("`{}` = `{}`", k.attribute, k.template))
            .collect();
        doc.push_str(&described.join(", "));
        doc.push_str(
            ".\n\nA part whose `key_text` is `None` (e.g. `None::<String>`) leaves the key \
             empty, which the server rejects with a `ValidationException`.",
        );
        doc
    };

    // The Attrs struct.
    let attrs_ident = format_ident!("{}Attrs", ident);
    let attr_fields: Vec<&FieldDef> = def.fields.iter().filter(|f| f.stored()).collect();
    let attrs_struct_fields = attr_fields.iter().map(|f| {
        let member = &f.ident;
        let ty = types::option_inner(&f.ty).unwrap_or(&f.ty);
        let doc = format!("The `{}` attribute (field `{}`).", f.serde_name, f.name);
        quote! {
            #[doc = #doc]
            pub #member: ::keyfall::expr::Attr<#ty>
        }
    });
    let attrs_values = attr_fields.iter().map(|f| {
        let member = &f.ident;
        let name = &f.serde_name;
        quote!(#member: ::keyfall::expr::Attr::new(#name))
    });
    let attrs_doc = format!(
        "Typed attribute paths of [`{ident}`]'s stored fields, under their serde names, for \
         condition, filter, update and projection expressions. Made by [`{ident}::attrs`]."
    );
    let attrs_fn_doc = format!("The typed attribute paths of `{ident}`'s fields.");
    let primary_key_doc = "This entity's primary key, built from its key fields.";

    quote! {
        #[doc = #attrs_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #[allow(private_interfaces, dead_code)]
        #vis struct #attrs_ident {
            #(#attrs_struct_fields,)*
        }

        #[automatically_derived]
        impl ::keyfall::Entity for #ident {
            fn schema() -> &'static ::keyfall::EntitySchema {
                static SCHEMA: ::keyfall::EntitySchema = ::keyfall::EntitySchema {
                    table: #table,
                    entity_type: #entity_type,
                    type_attribute: #type_attribute,
                    partition_key: #partition_key,
                    sort_key: #sort_key,
                    indexes: &[#(#indexes),*],
                    version_attribute: #version_attribute,
                    created_at_attribute: #created_at_attribute,
                    updated_at_attribute: #updated_at_attribute,
                    ttl_attribute: #ttl_attribute,
                };
                &SCHEMA
            }

            fn key_part(&self, field: &str) -> ::core::option::Option<::std::string::String> {
                match field {
                    #(#key_part_arms)*
                    _ => ::core::option::Option::None,
                }
            }

            #version_methods

            #touch

            #timestamp_value
        }

        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            #[doc = #key_doc]
            pub fn key(#(#key_params),*) -> ::keyfall::Key<Self> {
                match ::keyfall::entity::build_key::<Self>(|__keyfall_field: &str| {
                    match __keyfall_field {
                        #(#key_arms)*
                        _ => ::core::option::Option::None,
                    }
                }) {
                    ::core::option::Option::Some(key) => key,
                    ::core::option::Option::None => ::keyfall::Key::from_item(::keyfall::Item::new()),
                }
            }

            #[doc = #primary_key_doc]
            pub fn primary_key(&self) -> ::keyfall::Key<Self> {
                match ::keyfall::entity::build_key::<Self>(|__keyfall_field: &str| {
                    <Self as ::keyfall::Entity>::key_part(self, __keyfall_field)
                }) {
                    ::core::option::Option::Some(key) => key,
                    ::core::option::Option::None => ::keyfall::Key::from_item(::keyfall::Item::new()),
                }
            }

            #(#partition_fns)*

            #[doc = #attrs_fn_doc]
            pub fn attrs() -> #attrs_ident {
                #attrs_ident {
                    #(#attrs_values,)*
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(source: &str) -> syn::Result<EntityDef> {
        let input: DeriveInput = syn::parse_str(source).expect("valid Rust");
        parse(&input)
    }

    const FULL: &str = r#"
        #[keyfall(
            table = "shop",
            entity = "Order",
            type_attribute = "kind",
            pk = "CUSTOMER#{customer_id}",
            sk = "ORDER#{created}#{order_id}",
            pk_attribute = "PK", sk_attribute = "SK",
            index(name = "gsi1", pk = "ORDER#{order_id}", sk = "STATUS#{status}"),
            index(name = "byStatus", pk = "S#{status}", pk_attribute = "spk"),
        )]
        #[serde(rename_all = "camelCase")]
        pub struct ShopOrder {
            pub customer_id: String,
            pub order_id: String,
            pub created: u64,
            pub status: Option<String>,
            #[keyfall(version)] pub version: u32,
            #[keyfall(created_at)] pub created_at: Option<u64>,
            #[keyfall(updated_at)] pub updated_at: Option<u64>,
            #[keyfall(ttl)] #[serde(rename = "ttl")] pub expires_at: Option<u64>,
            #[serde(rename = "amountCents")] pub amount: u64,
            #[serde(skip)] pub cache: u8,
        }
    "#;

    #[test]
    fn reads_a_full_entity() {
        let def = parse_str(FULL).expect("valid entity");
        assert_eq!(def.table, "shop");
        assert_eq!(def.entity_type, "Order");
        assert_eq!(def.type_attribute, "kind");
        assert_eq!(def.pk.attribute, "PK");
        let sk = def.sk.as_ref().expect("sk");
        assert_eq!(
            (sk.attribute.as_str(), sk.template.as_str()),
            ("SK", "ORDER#{created}#{order_id}")
        );
        let indexes: Vec<(&str, &str, Option<&str>)> = def
            .indexes
            .iter()
            .map(|i| {
                (
                    i.name.as_str(),
                    i.pk.attribute.as_str(),
                    i.sk.as_ref().map(|k| k.attribute.as_str()),
                )
            })
            .collect();
        assert_eq!(
            indexes,
            [
                ("gsi1", "gsi1pk", Some("gsi1sk")),
                ("byStatus", "spk", None)
            ]
        );
        let serde_names: Vec<&str> = def.fields.iter().map(|f| f.serde_name.as_str()).collect();
        assert_eq!(
            serde_names,
            [
                "customerId",
                "orderId",
                "created",
                "status",
                "version",
                "createdAt",
                "updatedAt",
                "ttl",
                "amountCents",
                "cache"
            ]
        );
        let role = |i: Option<usize>| i.map(|i| def.fields[i].name.as_str());
        assert_eq!(role(def.version), Some("version"));
        assert_eq!(role(def.created_at), Some("created_at"));
        assert_eq!(role(def.updated_at), Some("updated_at"));
        assert_eq!(role(def.ttl), Some("expires_at"));
        assert!(!def.fields[9].stored());
    }

    #[test]
    fn defaults() {
        let def = parse_str(
            r#"#[keyfall(table = "t", pk = "U#{type}", sk = "{r#type}", index(name = "g", pk = "{id}"))]
               struct User { id: String, r#type: String }"#,
        )
        .expect("valid entity");
        assert_eq!(def.entity_type, "User");
        assert_eq!(def.type_attribute, "_type");
        assert_eq!(def.pk.attribute, "pk");
        let sk = def.sk.as_ref().expect("sk");
        assert_eq!(sk.parts, [Part::Field("type".into())]);
        assert_eq!(
            def.pk.parts,
            [Part::Literal("U#".into()), Part::Field("type".into())]
        );
        assert_eq!(def.indexes[0].pk.attribute, "gpk");
        assert!(def.indexes[0].sk.is_none());
        assert_eq!(def.fields[1].name, "type");
        assert_eq!(def.fields[1].serde_name, "type");
        assert_eq!(
            (def.version, def.created_at, def.updated_at, def.ttl),
            (None, None, None, None)
        );
    }

    #[test]
    fn rejects_bad_entities() {
        let cases: &[(&str, &str)] = &[
            (
                r#"#[keyfall(pk = "A")] struct S { id: String }"#,
                "missing `table`",
            ),
            (r#"struct S { id: String }"#, "missing `#[keyfall(table = "),
            (
                r#"#[keyfall(table = "t")] struct S { id: String }"#,
                "missing `pk`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "USER#{idd}")] struct S { id: String, name: String }"#,
                "key template `USER#{idd}` names no field `idd`; fields are: id, name",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A#{}")] struct S { id: String }"#,
                "empty placeholder",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A#{id")] struct S { id: String }"#,
                "unclosed `{`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A#}")] struct S { id: String }"#,
                "stray `}`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "{a}{b}")] struct S { a: String, b: String }"#,
                "no literal between them",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", sk = "B#{b}")] struct S { b: Option<String> }"#,
                "primary key fields cannot be Option",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(version)] a: u64, #[keyfall(version)] b: u64 }"#,
                "more than one `#[keyfall(version)]` field: `a` and `b`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(ttl)] a: u64, #[keyfall(ttl)] b: u64 }"#,
                "more than one `#[keyfall(ttl)]` field",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(version)] v: String }"#,
                "`#[keyfall(version)]` needs an integer field type",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(version)] v: Option<u64> }"#,
                "`#[keyfall(version)]` needs an integer field type",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] enum S { A }"#,
                "`S` is an enum",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S(String);"#,
                "`S` is a tuple struct",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S;"#,
                "`S` is a unit struct",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S<T> { t: T }"#,
                "does not support generic structs",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", tabel = "x")] struct S { a: u8 }"#,
                "unknown keyfall attribute `tabel`; did you mean `table`? expected one of: table, entity,",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", color = "x")] struct S { a: u8 }"#,
                "unknown keyfall attribute `color`; expected one of",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", index(name = "g", pkk = "x"))] struct S { a: u8 }"#,
                "unknown index attribute `pkk`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(verison)] a: u8 }"#,
                "unknown keyfall field attribute `verison`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(version = 1)] a: u8 }"#,
                "`version` takes no value",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", version)] struct S { a: u8 }"#,
                "`version` belongs on a field",
            ),
            (
                r#"#[keyfall(table = "t", table = "u", pk = "A")] struct S { a: u8 }"#,
                "duplicate `table`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", index(name = "g", pk = "X"), index(name = "g", pk = "Y"))] struct S { a: u8 }"#,
                "duplicate index name `g`",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", index(pk = "X"))] struct S { a: u8 }"#,
                "needs a `name",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", index(name = "g"))] struct S { a: u8 }"#,
                "index `g` needs a `pk",
            ),
            (
                r#"#[keyfall(table = "", pk = "A")] struct S { a: u8 }"#,
                "`table` cannot be empty",
            ),
            (
                r#"#[keyfall(table = "t", pk = "")] struct S { a: u8 }"#,
                "key template is empty",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", sk = "B", sk_attribute = "pk")] struct S { a: u8 }"#,
                "key attribute `pk` would be built from two different templates",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", pk_attribute = "_type")] struct S { a: u8 }"#,
                "key attribute `_type` is also the type attribute",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A", sk_attribute = "s")] struct S { a: u8 }"#,
                "`sk_attribute` without an `sk` template",
            ),
            (
                r#"#[keyfall(table = "t", pk = "A")] struct S { #[keyfall(version)] #[serde(skip)] a: u8 }"#,
                "is skipped by serde",
            ),
        ];
        for (source, expected) in cases {
            let error = match parse_str(source) {
                Ok(_) => panic!("accepted: {source}"),
                Err(error) => error,
            };
            let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
            assert!(
                messages.iter().any(|m| m.contains(expected)),
                "{source}\nexpected {expected:?} in {messages:?}"
            );
        }
    }

    #[test]
    fn a_misspelt_key_is_not_also_missing() {
        let messages = |source: &str| -> Vec<String> {
            match parse_str(source) {
                Ok(_) => panic!("accepted: {source}"),
                Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
            }
        };
        let found = messages(
            r#"#[keyfall(tabel = "t", pk = "A#{x}", index(nam = "g", pk = "B"))]
               struct S { #[keyfall(verison, ttl = 3)] a: u8 }"#,
        );
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            found[0].starts_with("unknown keyfall attribute `tabel`"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("unknown index attribute `nam`; did you mean `name`?"),
            "{found:?}"
        );
        assert!(
            found[2]
                .starts_with("unknown keyfall field attribute `verison`; did you mean `version`?"),
            "{found:?}"
        );
        assert!(found[3].starts_with("`ttl` takes no value"), "{found:?}");
        // The template is still read and checked.
        assert!(
            found[4].starts_with("key template `A#{x}` names no field `x`"),
            "{found:?}"
        );
    }

    #[test]
    fn edit_distances() {
        let cases = [
            ("table", "table", 0),
            ("tabel", "table", 2),
            ("tables", "table", 1),
            ("", "pk", 2),
            ("verison", "version", 2),
            ("sk", "pk", 1),
        ];
        for (a, b, expected) in cases {
            assert_eq!(edit_distance(a, b), expected, "{a} {b}");
        }
    }

    #[test]
    fn reports_every_error_at_once() {
        let error = match parse_str(
            r#"#[keyfall(table = "t", pk = "A#{x}", sk = "{y}{z}")]
               struct S { #[keyfall(version)] a: String }"#,
        ) {
            Ok(_) => panic!("accepted"),
            Err(error) => error,
        };
        assert_eq!(error.into_iter().count(), 3);
    }

    #[test]
    fn accepts_shared_and_sparse_index_keys() {
        let def = parse_str(
            r#"#[keyfall(table = "t", pk = "U#{id}", sk = "P",
                         index(name = "g", pk = "E#{email}", sk = "P", sk_attribute = "sk"))]
               struct S { id: String, email: Option<String> }"#,
        )
        .expect("valid entity");
        let index_sk = def.indexes[0].sk.as_ref().expect("index sk");
        assert_eq!(index_sk.attribute, "sk");
    }

    #[test]
    fn key_part_arms_cover_every_template_field_once() {
        let def = parse_str(FULL).expect("valid entity");
        let keys = std::iter::once(&def.pk).chain(&def.sk).chain(
            def.indexes
                .iter()
                .flat_map(|i| std::iter::once(&i.pk).chain(&i.sk)),
        );
        assert_eq!(
            template_fields(keys),
            ["customer_id", "created", "order_id", "status"]
        );
        let code = expand(&def).to_string();
        assert!(code.contains("pub fn key (customer_id : impl :: keyfall :: KeyPart , created : impl :: keyfall :: KeyPart , order_id : impl :: keyfall :: KeyPart)"), "{code}");
        assert!(code.contains("pub struct ShopOrderAttrs"), "{code}");
        assert!(
            !code.contains("cache : :: keyfall :: expr :: Attr"),
            "{code}"
        );
        assert!(
            code.contains("pub status : :: keyfall :: expr :: Attr < String >"),
            "{code}"
        );
    }
}
