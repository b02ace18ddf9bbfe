//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`), honoured only in
//! documents with `"Version": "2012-10-17"`.
//!
//! Values are split into literal / variable pieces once, at parse time, so evaluating a request never
//! re-scans policy text; a value without variables is resolved up front into a plain string or glob.
//! A variable whose key is absent (and has no default) makes its whole value non-matching, which is
//! why every resolver here returns `Option`/`false` instead of substituting an empty string.

use std::borrow::Cow;

use super::context::RequestContext;
use super::wildcard::{glob_match, Glob, Token};

/// A `${key}` or `${key, 'default'}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    /// Lower-cased, the form [`RequestContext::values`] expects.
    key: Box<str>,
    default: Option<Box<str>>,
}

impl Var {
    /// The first value of the key, else the default; `None` makes the enclosing value non-matching.
    pub(crate) fn resolve<'a>(&'a self, ctx: &'a dyn RequestContext) -> Option<&'a str> {
        ctx.values(&self.key)
            .and_then(|values| values.first())
            .map(String::as_str)
            .or(self.default.as_deref())
    }
}

/// A piece of a policy value after variable and wildcard recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(Box<str>),
    Star,
    One,
    Var(Var),
}

/// Splits `s` into pieces. `substitute`: recognise `${...}` (Version 2012-10-17 only).
/// `wildcards`: `*`/`?` are glob wildcards (Resource, StringLike, ArnLike) rather than text.
/// `${*}`, `${?}` and `${$}` always produce literal text.
pub(crate) fn parse_pieces(
    s: &str,
    substitute: bool,
    wildcards: bool,
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    loop {
        let special = rest.char_indices().find(|&(i, c)| match c {
            '*' | '?' => wildcards,
            '$' => substitute && rest.as_bytes().get(i + 1) == Some(&b'{'),
            _ => false,
        });
        let Some((i, c)) = special else {
            lit.push_str(rest);
            break;
        };
        lit.push_str(&rest[..i]);
        if c == '$' {
            let (body, after) = split_variable(&rest[i + 2..])
                .ok_or_else(|| String::from("has an unterminated or malformed policy variable"))?;
            match body {
                VarBody::Literal(text) => lit.push_str(text),
                VarBody::Var(var) => {
                    flush(&mut pieces, &mut lit);
                    pieces.push(Piece::Var(var));
                }
            }
            rest = after;
        } else {
            flush(&mut pieces, &mut lit);
            pieces.push(if c == '*' { Piece::Star } else { Piece::One });
            rest = &rest[i + 1..];
        }
    }
    flush(&mut pieces, &mut lit);
    Ok(pieces)
}

fn flush(pieces: &mut Vec<Piece>, lit: &mut String) {
    if !lit.is_empty() {
        pieces.push(Piece::Lit(std::mem::take(lit).into_boxed_str()));
    }
}

enum VarBody<'a> {
    Literal(&'a str),
    Var(Var),
}

/// Parses what follows `${`: `key}` or `key, 'default'}`. Returns the body and the text after `}`.
fn split_variable(s: &str) -> Option<(VarBody<'_>, &str)> {
    let key_end = s.find([',', '}'])?;
    let key = s[..key_end].trim();
    let (default, after) = if s[key_end..].starts_with(',') {
        let quoted = s[key_end + 1..].trim_start().strip_prefix('\'')?;
        let close = quoted.find('\'')?;
        let after = quoted[close + 1..].trim_start().strip_prefix('}')?;
        (Some(&quoted[..close]), after)
    } else {
        (None, &s[key_end + 1..])
    };
    if key.is_empty() {
        return None;
    }
    let body = match (key, default) {
        ("*" | "?" | "$", None) => VarBody::Literal(key),
        _ => VarBody::Var(Var {
            key: key.to_ascii_lowercase().into_boxed_str(),
            default: default.map(Box::from),
        }),
    };
    Some((body, after))
}

pub(crate) fn has_vars(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| matches!(p, Piece::Var(_)))
}

/// A non-wildcard policy value (StringEquals, Bool, numbers, dates, CIDRs before typing).
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Static(Box<str>),
    Dynamic(Box<[Piece]>),
}

impl Text {
    pub(crate) fn compile(s: &str, substitute: bool) -> Result<Text, String> {
        let pieces = parse_pieces(s, substitute, false)?;
        if has_vars(&pieces) {
            return Ok(Text::Dynamic(pieces.into_boxed_slice()));
        }
        let mut text = String::with_capacity(s.len());
        for piece in &pieces {
            text.push_str(piece_text(piece));
        }
        Ok(Text::Static(text.into_boxed_str()))
    }

    /// The value with variables substituted; allocates only when it has variables.
    pub(crate) fn resolve<'a>(&'a self, ctx: &'a dyn RequestContext) -> Option<Cow<'a, str>> {
        match self {
            Text::Static(s) => Some(Cow::Borrowed(s)),
            Text::Dynamic(pieces) => {
                let mut out = String::new();
                for piece in pieces.iter() {
                    match piece {
                        Piece::Var(var) => out.push_str(var.resolve(ctx)?),
                        other => out.push_str(piece_text(other)),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// Exact comparison without allocating, even for values with variables.
    pub(crate) fn equals(&self, ctx: &dyn RequestContext, request: &str) -> bool {
        match self {
            Text::Static(s) => **s == *request,
            Text::Dynamic(pieces) => {
                let mut rest = request;
                for piece in pieces.iter() {
                    let part = match piece {
                        Piece::Var(var) => match var.resolve(ctx) {
                            Some(v) => v,
                            None => return false,
                        },
                        other => piece_text(other),
                    };
                    match rest.strip_prefix(part) {
                        Some(r) => rest = r,
                        None => return false,
                    }
                }
                rest.is_empty()
            }
        }
    }
}

/// Text of a non-variable piece (wildcard pieces never occur in [`Text`]; rendered literally anyway).
fn piece_text(piece: &Piece) -> &str {
    match piece {
        Piece::Lit(s) => s,
        Piece::Star => "*",
        Piece::One => "?",
        Piece::Var(_) => "",
    }
}

/// A wildcard policy value (Resource, StringLike).
#[derive(Debug, Clone)]
pub(crate) enum GlobTemplate {
    Static(Glob),
    Dynamic(Box<[Piece]>),
}

impl GlobTemplate {
    pub(crate) fn compile(s: &str, substitute: bool) -> Result<GlobTemplate, String> {
        let pieces = parse_pieces(s, substitute, true)?;
        if has_vars(&pieces) {
            return Ok(GlobTemplate::Dynamic(pieces.into_boxed_slice()));
        }
        Ok(GlobTemplate::Static(Glob::from_tokens(static_tokens(
            pieces,
        ))))
    }

    pub(crate) fn matches(&self, ctx: &dyn RequestContext, text: &str) -> bool {
        match self {
            GlobTemplate::Static(glob) => glob.matches(text, false),
            GlobTemplate::Dynamic(pieces) => {
                resolve_tokens(pieces, ctx).is_some_and(|tokens| glob_match(&tokens, text, false))
            }
        }
    }
}

/// Tokens of a variable-free piece list.
pub(crate) fn static_tokens(pieces: Vec<Piece>) -> Vec<Token<Box<str>>> {
    pieces
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Lit(s) => Some(Token::Lit(s)),
            Piece::Star => Some(Token::Star),
            Piece::One => Some(Token::One),
            Piece::Var(_) => None,
        })
        .collect()
}

/// Substitutes variables into a glob; substituted text is literal. `None` if a variable is unresolvable.
pub(crate) fn resolve_tokens<'a>(
    pieces: &'a [Piece],
    ctx: &'a dyn RequestContext,
) -> Option<Vec<Token<&'a str>>> {
    pieces
        .iter()
        .map(|piece| {
            Some(match piece {
                Piece::Lit(s) => Token::Lit(&**s),
                Piece::Star => Token::Star,
                Piece::One => Token::One,
                Piece::Var(var) => Token::Lit(var.resolve(ctx)?),
            })
        })
        .collect()
}
