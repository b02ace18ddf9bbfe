//! `#[derive(Collection)]`: an enum whose variants each hold one entity type.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::errors::Errors;

/// The checked enum.
pub(crate) struct CollectionDef {
    pub ident: Ident,
    /// Each variant and the entity type it holds.
    pub variants: Vec<(Ident, Type)>,
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let def = parse(input)?;
    Ok(expand(&def))
}

pub(crate) fn parse(input: &DeriveInput) -> syn::Result<CollectionDef> {
    let ident = &input.ident;
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            return Err(syn::Error::new(
                data.struct_token.span,
                format!(
                    "#[derive(Collection)] needs an enum whose variants each hold one entity, \
                     e.g. `enum View {{ Customer(Customer), Order(Order) }}`; `{ident}` is a struct"
                ),
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                format!("#[derive(Collection)] needs an enum; `{ident}` is a union"),
            ))
        }
    };
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!(
                "#[derive(Collection)] does not support generic enums: `{ident}` has generic \
                 parameters"
            ),
        ));
    }
    let mut errors = Errors::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("keyfall")) {
        errors.spanned(
            attr,
            "#[derive(Collection)] takes no `#[keyfall(...)]` attributes: each variant's \
             entity declares its own schema",
        );
    }
    if data.variants.is_empty() {
        errors.at(
            ident.span(),
            format!(
                "#[derive(Collection)] needs at least one variant: `{ident}` has none \
                 (e.g. `Customer(Customer)`)"
            ),
        );
    }
    let mut variants = Vec::new();
    for variant in &data.variants {
        let name = &variant.ident;
        for attr in variant
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("keyfall"))
        {
            errors.spanned(
                attr,
                "#[derive(Collection)] takes no `#[keyfall(...)]` attributes on variants",
            );
        }
        match &variant.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                if let Some(field) = fields.unnamed.first() {
                    variants.push((name.clone(), field.ty.clone()));
                }
            }
            Fields::Unnamed(fields) => errors.at(
                fields.span(),
                format!(
                    "variant `{name}` must hold exactly one entity, like `{name}({name})`; \
                     it has {} fields",
                    fields.unnamed.len()
                ),
            ),
            Fields::Named(fields) => errors.at(
                fields.span(),
                format!(
                    "variant `{name}` must be a tuple variant holding one entity, like \
                     `{name}({name})`, not a struct variant"
                ),
            ),
            Fields::Unit => errors.at(
                name.span(),
                format!(
                    "variant `{name}` must hold one entity, like `{name}({name})`; it is a \
                     unit variant"
                ),
            ),
        }
    }
    errors.finish()?;
    Ok(CollectionDef {
        ident: ident.clone(),
        variants,
    })
}

pub(crate) fn expand(def: &CollectionDef) -> TokenStream {
    let ident = &def.ident;
    let name = ident.to_string();
    let types: Vec<&Type> = def.variants.iter().map(|(_, ty)| ty).collect();
    let Some(first) = types.first() else {
        // parse() rejects enums without variants.
        return TokenStream::new();
    };
    let schemas = types
        .iter()
        .map(|ty| quote!(<#ty as ::keyfall::Entity>::schema()));
    let schemas_again = schemas.clone();
    let arms = def.variants.iter().map(|(variant, ty)| {
        quote! {
            if found == <#ty as ::keyfall::Entity>::schema().entity_type {
                return ::keyfall::entity::decode::<#ty>(item)
                    .map(|entity| ::core::option::Option::Some(#ident::#variant(entity)));
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl ::keyfall::Collection for #ident {
            fn entity_types() -> &'static [&'static str] {
                static TYPES: ::std::sync::OnceLock<::std::vec::Vec<&'static str>> =
                    ::std::sync::OnceLock::new();
                TYPES
                    .get_or_init(|| ::std::vec![#(#schemas.entity_type),*])
                    .as_slice()
            }

            fn from_item(
                item: ::keyfall::Item,
            ) -> ::core::result::Result<::core::option::Option<Self>, ::keyfall::Error> {
                let type_attribute = <#first as ::keyfall::Entity>::schema().type_attribute;
                for schema in [#(#schemas_again),*] {
                    if schema.type_attribute != type_attribute {
                        return ::core::result::Result::Err(::keyfall::Error::Config(::std::format!(
                            "collection `{}`: entity `{}` keeps its type in `{}` but entity `{}` in `{}`; \
                             the entities of a collection must use one type attribute",
                            #name,
                            <#first as ::keyfall::Entity>::schema().entity_type,
                            type_attribute,
                            schema.entity_type,
                            schema.type_attribute,
                        )));
                    }
                }
                let found: ::std::string::String =
                    match ::keyfall::entity::entity_type_of(type_attribute, &item) {
                        ::core::option::Option::Some(found) => ::std::string::ToString::to_string(found),
                        ::core::option::Option::None => {
                            return ::core::result::Result::Ok(::core::option::Option::None)
                        }
                    };
                #(#arms)*
                ::core::result::Result::Ok(::core::option::Option::None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(source: &str) -> syn::Result<CollectionDef> {
        let input: DeriveInput = syn::parse_str(source).expect("valid Rust");
        parse(&input)
    }

    #[test]
    fn reads_variants() {
        let def =
            parse_str("enum View { Customer(Customer), Order(crate::Order) }").expect("valid");
        let variants: Vec<(String, String)> = def
            .variants
            .iter()
            .map(|(v, ty)| (v.to_string(), quote!(#ty).to_string()))
            .collect();
        assert_eq!(
            variants,
            [
                ("Customer".to_string(), "Customer".to_string()),
                ("Order".to_string(), "crate :: Order".to_string())
            ]
        );
    }

    #[test]
    fn rejects_bad_collections() {
        let cases: &[(&str, &str)] = &[
            ("struct View { a: A }", "`View` is a struct"),
            ("union View { a: A }", "`View` is a union"),
            ("enum View<T> { A(T) }", "does not support generic enums"),
            ("enum View {}", "needs at least one variant"),
            ("enum View { A }", "variant `A` must hold one entity"),
            ("enum View { A(A, B) }", "it has 2 fields"),
            ("enum View { A() }", "it has 0 fields"),
            ("enum View { A { a: A } }", "not a struct variant"),
            (
                "#[keyfall(table = \"t\")] enum View { A(A) }",
                "takes no `#[keyfall(...)]`",
            ),
            (
                "enum View { #[keyfall(x)] A(A) }",
                "takes no `#[keyfall(...)]` attributes on variants",
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
}
