//! Recognising field types by their syntax (a derive sees no type information).

use syn::{GenericArgument, PathArguments, Type, TypePath};

/// The last path segment's name when `ty` is a plain path (`u64`, `std::option::Option<T>`),
/// with its arguments.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(TypePath { qself: None, path }) => path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

/// `T` when `ty` is `Option<T>` (also written `std::option::Option<T>` or
/// `core::option::Option<T>`).
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    let segment = last_segment(ty)?;
    if segment.ident != "Option" {
        return None;
    }
    match &segment.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first() {
            Some(GenericArgument::Type(inner)) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

const INTEGERS: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// Whether `ty` names a primitive integer type (`u64`, `std::primitive::u64`, ...).
pub(crate) fn is_integer(ty: &Type) -> bool {
    let Some(segment) = last_segment(ty) else {
        return false;
    };
    let Type::Path(TypePath { path, .. }) = peel(ty) else {
        return false;
    };
    let prefix_ok = match path.segments.len() {
        1 => path.leading_colon.is_none(),
        3 => {
            let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            matches!(names.as_slice(), [krate, module, _]
                if (krate == "std" || krate == "core") && module == "primitive")
        }
        _ => false,
    };
    prefix_ok && segment.arguments.is_none() && INTEGERS.iter().any(|name| segment.ident == name)
}

fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(source: &str) -> Type {
        syn::parse_str(source).expect("valid type")
    }

    #[test]
    fn finds_option_inner_types() {
        let cases: [(&str, Option<&str>); 8] = [
            ("Option<String>", Some("String")),
            ("std::option::Option<u64>", Some("u64")),
            ("::core::option::Option<Vec<u8>>", Some("Vec < u8 >")),
            ("Option<Option<u8>>", Some("Option < u8 >")),
            ("String", None),
            ("Vec<Option<u8>>", None),
            ("Option", None),
            ("&Option<u8>", None),
        ];
        for (source, expected) in cases {
            let parsed = ty(source);
            let inner = option_inner(&parsed).map(|t| quote::quote!(#t).to_string());
            assert_eq!(inner.as_deref(), expected, "{source}");
        }
    }

    #[test]
    fn recognises_integer_types() {
        let cases: [(&str, bool); 12] = [
            ("u64", true),
            ("u32", true),
            ("i64", true),
            ("usize", true),
            ("i128", true),
            ("std::primitive::u64", true),
            ("core::primitive::i8", true),
            ("String", false),
            ("f64", false),
            ("Option<u64>", false),
            ("my::u64", false),
            ("::u64", false),
        ];
        for (source, expected) in cases {
            assert_eq!(is_integer(&ty(source)), expected, "{source}");
        }
    }
}
