//! The few `#[serde(...)]` attributes that change the names an entity is stored under.
//!
//! Parsing is lenient: everything else inside `#[serde(...)]` is skipped, and an attribute
//! that does not parse is ignored, since serde's own derive reports it.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Token};

use crate::case::RenameRule;

/// What serde does with one field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SerdeField {
    /// `rename = "x"` or `rename(serialize = "x")`.
    pub rename: Option<String>,
    /// `skip` or `skip_serializing`: never written to an item.
    pub skip: bool,
    /// `flatten`: its fields are written inline, not under one attribute.
    pub flatten: bool,
}

/// The field's serde settings.
pub(crate) fn field(attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ignored = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if let Some(name) = serialize_name(&meta)? {
                    out.rename = Some(name);
                }
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                out.skip = true;
                skip_value(&meta)?;
            } else if meta.path.is_ident("flatten") {
                out.flatten = true;
                skip_value(&meta)?;
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        });
    }
    out
}

/// The container's `rename_all` rule for serialization, if any (and known).
pub(crate) fn rename_all(attrs: &[Attribute]) -> Option<RenameRule> {
    let mut rule = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ignored = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                if let Some(name) = serialize_name(&meta)? {
                    rule = RenameRule::from_name(&name);
                }
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        });
    }
    rule
}

/// `key = "x"` or `key(serialize = "x", deserialize = "y")`: the serialize name.
fn serialize_name(meta: &ParseNestedMeta) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse::<LitStr>()?.value()));
    }
    let mut name = None;
    if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("serialize") {
                name = Some(inner.value()?.parse::<LitStr>()?.value());
            } else {
                skip_value(&inner)?;
            }
            Ok(())
        })?;
    }
    Ok(name)
}

/// Consumes whatever follows a key this derive does not read (one of serde's, or one it
/// reported as an error): `= expr`, `(...)` or nothing.
pub(crate) fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(source: &str) -> Vec<Attribute> {
        let item: syn::ItemStruct =
            syn::parse_str(&format!("{source} struct S {{}}")).expect("valid struct");
        item.attrs
    }

    #[test]
    fn reads_field_settings() {
        let cases: Vec<(&str, SerdeField)> = vec![
            ("", SerdeField::default()),
            ("#[doc = \"x\"]", SerdeField::default()),
            (
                "#[serde(rename = \"amountCents\")]",
                SerdeField {
                    rename: Some("amountCents".into()),
                    ..Default::default()
                },
            ),
            (
                "#[serde(default, rename = \"a\", with = \"serde_bytes\")]",
                SerdeField {
                    rename: Some("a".into()),
                    ..Default::default()
                },
            ),
            (
                "#[serde(rename(serialize = \"out\", deserialize = \"in\"))]",
                SerdeField {
                    rename: Some("out".into()),
                    ..Default::default()
                },
            ),
            (
                "#[serde(rename(deserialize = \"in\"))]",
                SerdeField::default(),
            ),
            (
                "#[serde(skip)]",
                SerdeField {
                    skip: true,
                    ..Default::default()
                },
            ),
            (
                "#[serde(skip_serializing)]",
                SerdeField {
                    skip: true,
                    ..Default::default()
                },
            ),
            (
                "#[serde(skip_serializing_if = \"Option::is_none\")]",
                SerdeField::default(),
            ),
            ("#[serde(skip_deserializing)]", SerdeField::default()),
            (
                "#[serde(flatten)] #[serde(bound(serialize = \"T: Serialize\"))]",
                SerdeField {
                    flatten: true,
                    ..Default::default()
                },
            ),
            (
                "#[serde(default = \"path::to\")] #[serde(rename = \"x\")]",
                SerdeField {
                    rename: Some("x".into()),
                    ..Default::default()
                },
            ),
            (
                "#[serde(alias = \"b\", skip_serializing_if = \"is_zero\", rename = \"c\")]",
                SerdeField {
                    rename: Some("c".into()),
                    ..Default::default()
                },
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(field(&attrs(source)), expected, "{source}");
        }
    }

    #[test]
    fn reads_rename_all() {
        let cases: Vec<(&str, Option<RenameRule>)> = vec![
            ("", None),
            (
                "#[serde(rename_all = \"camelCase\")]",
                Some(RenameRule::Camel),
            ),
            (
                "#[serde(deny_unknown_fields, rename_all = \"kebab-case\")]",
                Some(RenameRule::Kebab),
            ),
            (
                "#[serde(rename_all(serialize = \"PascalCase\", deserialize = \"camelCase\"))]",
                Some(RenameRule::Pascal),
            ),
            ("#[serde(rename_all = \"nonsense\")]", None),
            ("#[serde(rename = \"Other\")]", None),
            (
                "#[serde(tag = \"t\")] #[serde(rename_all = \"SCREAMING_SNAKE_CASE\")]",
                Some(RenameRule::ScreamingSnake),
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(rename_all(&attrs(source)), expected, "{source}");
        }
    }
}
