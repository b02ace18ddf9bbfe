//! Condition blocks: compiling one `"Operator": {"key": values}` entry and evaluating it with IAM's
//! rules for missing keys, `IfExists`, negated operators and the `ForAllValues` / `ForAnyValue`
//! set qualifiers.
//!
//! Each operator is reduced to a positive "does this request value match any policy value" test plus
//! a `negated` flag, so the key-presence and set logic lives in one place ([`Condition::evaluate`])
//! instead of being repeated per operator family.

use super::arn::{tokens_match_arn, ArnPattern};
use super::context::RequestContext;
use super::date::parse_instant;
use super::ip::{parse_request_ip, Cidr};
use super::numeric::{Decimal, OwnedDecimal};
use super::operator::{parse_operator, Cmp, Family, Operator, ParsedOperator, SetQualifier};
use super::variables::{
    has_vars, parse_pieces, resolve_tokens, static_tokens, GlobTemplate, Piece, Text,
};

/// One compiled (operator, key, values) triple; a statement's conditions are AND-ed.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    /// Lower-cased: condition keys are case-insensitive.
    key: Box<str>,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    /// `Null`: each entry is "key must be absent" (`true`) or "key must be present" (`false`); OR-ed.
    Null(Box<[bool]>),
    Compare {
        op: Operator,
        values: Values,
    },
}

/// Policy values, typed per operator family at parse time. A value containing policy variables is
/// kept as a template and typed after substitution.
#[derive(Debug, Clone)]
enum Values {
    Exact(Box<[Text]>),
    IgnoreCase(Box<[Text]>),
    Like(Box<[GlobTemplate]>),
    Bool(Box<[Text]>),
    Binary(Box<[Text]>),
    Numeric(Cmp, Box<[Typed<OwnedDecimal>]>),
    Date(Cmp, Box<[Typed<i128>]>),
    Ip(Box<[Typed<Cidr>]>),
    Arn(Box<[ArnValue]>),
}

#[derive(Debug, Clone)]
enum Typed<T> {
    Static(T),
    /// Has policy variables; parsed after substitution (an unparsable result matches nothing).
    Dynamic(Text),
}

#[derive(Debug, Clone)]
enum ArnValue {
    Static(ArnPattern),
    Dynamic(Box<[Piece]>),
}

impl Condition {
    /// Compiles one key of one operator. Errors are messages for the caller to locate.
    pub(crate) fn compile(
        op_name: &str,
        key: &str,
        raw: &[String],
        substitute: bool,
    ) -> Result<Condition, String> {
        let op = parse_operator(op_name)
            .ok_or_else(|| format!("Condition operator {op_name:?} is not supported"))?;
        let invalid = |value: &str, what: &str| {
            format!("Condition {op_name} value {value:?} for key {key:?} {what}")
        };
        let test = match op {
            ParsedOperator::Null => Test::Null(
                raw.iter()
                    .map(|v| match v.to_ascii_lowercase().as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(invalid(v, "must be \"true\" or \"false\"")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            ParsedOperator::Compare(op) => Test::Compare {
                op,
                values: compile_values(op.family, raw, substitute, &invalid)?,
            },
        };
        Ok(Condition {
            key: key.to_ascii_lowercase().into_boxed_str(),
            test,
        })
    }

    /// The condition key, lower-cased.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    pub(crate) fn evaluate(&self, ctx: &dyn RequestContext) -> bool {
        // A key with zero values is treated exactly like an absent one.
        let request = ctx.values(&self.key).filter(|values| !values.is_empty());
        let (op, values) = match &self.test {
            Test::Null(expect_absent) => {
                return expect_absent
                    .iter()
                    .any(|&absent| absent == request.is_none())
            }
            Test::Compare { op, values } => (op, values),
        };
        let Some(request) = request else {
            return op.if_exists
                || match op.set {
                    SetQualifier::ForAllValues => true,
                    SetQualifier::ForAnyValue => false,
                    SetQualifier::Single => op.negated,
                };
        };
        let satisfied = |value: &String| values.any_match(value, ctx) != op.negated;
        match (op.set, op.negated) {
            // Negated without a qualifier: no request value may match any policy value.
            (SetQualifier::ForAllValues, _) | (SetQualifier::Single, true) => {
                request.iter().all(satisfied)
            }
            (SetQualifier::ForAnyValue, _) | (SetQualifier::Single, false) => {
                request.iter().any(satisfied)
            }
        }
    }
}

fn compile_values(
    family: Family,
    raw: &[String],
    substitute: bool,
    invalid: &dyn Fn(&str, &str) -> String,
) -> Result<Values, String> {
    let texts = || -> Result<Box<[Text]>, String> {
        raw.iter()
            .map(|v| Text::compile(v, substitute).map_err(|e| invalid(v, &e)))
            .collect()
    };
    Ok(match family {
        Family::StringEquals => Values::Exact(texts()?),
        Family::StringEqualsIgnoreCase => Values::IgnoreCase(texts()?),
        Family::Bool => Values::Bool(texts()?),
        Family::Binary => Values::Binary(texts()?),
        Family::StringLike => Values::Like(
            raw.iter()
                .map(|v| GlobTemplate::compile(v, substitute).map_err(|e| invalid(v, &e)))
                .collect::<Result<_, _>>()?,
        ),
        Family::Numeric(cmp) => Values::Numeric(
            cmp,
            typed(
                raw,
                substitute,
                OwnedDecimal::parse,
                "is not a number",
                invalid,
            )?,
        ),
        Family::Date(cmp) => Values::Date(
            cmp,
            typed(
                raw,
                substitute,
                parse_instant,
                "is not a date (ISO 8601 or epoch seconds)",
                invalid,
            )?,
        ),
        Family::Ip => Values::Ip(typed(
            raw,
            substitute,
            Cidr::parse,
            "is not an IP address or CIDR block",
            invalid,
        )?),
        Family::Arn => Values::Arn(
            raw.iter()
                .map(|v| {
                    let pieces = parse_pieces(v, substitute, true).map_err(|e| invalid(v, &e))?;
                    if has_vars(&pieces) {
                        return Ok(ArnValue::Dynamic(pieces.into_boxed_slice()));
                    }
                    ArnPattern::from_tokens(&static_tokens(pieces))
                        .map(ArnValue::Static)
                        .ok_or_else(|| {
                            invalid(v, "is not an ARN (expected 6 colon-separated parts)")
                        })
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Parses each value now, or defers it when it contains policy variables.
fn typed<T>(
    raw: &[String],
    substitute: bool,
    parse: fn(&str) -> Option<T>,
    what: &str,
    invalid: &dyn Fn(&str, &str) -> String,
) -> Result<Box<[Typed<T>]>, String> {
    raw.iter()
        .map(
            |v| match Text::compile(v, substitute).map_err(|e| invalid(v, &e))? {
                Text::Static(s) => parse(&s).map(Typed::Static).ok_or_else(|| invalid(v, what)),
                dynamic => Ok(Typed::Dynamic(dynamic)),
            },
        )
        .collect()
}

/// Whether any policy value satisfies `test`, substituting and parsing deferred values on the way.
fn any_typed<T>(
    values: &[Typed<T>],
    ctx: &dyn RequestContext,
    parse: fn(&str) -> Option<T>,
    test: impl Fn(&T) -> bool,
) -> bool {
    values.iter().any(|value| match value {
        Typed::Static(v) => test(v),
        Typed::Dynamic(text) => text
            .resolve(ctx)
            .and_then(|s| parse(&s))
            .is_some_and(|v| test(&v)),
    })
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

impl Values {
    /// The positive test: does this one request value match at least one policy value?
    fn any_match(&self, request: &str, ctx: &dyn RequestContext) -> bool {
        let resolved_any = |texts: &[Text], test: &dyn Fn(&str) -> bool| {
            texts
                .iter()
                .any(|t| t.resolve(ctx).is_some_and(|p| test(&p)))
        };
        match self {
            Values::Exact(texts) => texts.iter().any(|t| t.equals(ctx, request)),
            Values::IgnoreCase(texts) => resolved_any(texts, &|p| eq_ignore_case(p, request)),
            Values::Bool(texts) => resolved_any(texts, &|p| p.eq_ignore_ascii_case(request)),
            Values::Binary(texts) => resolved_any(texts, &|p| p.trim() == request.trim()),
            Values::Like(globs) => globs.iter().any(|g| g.matches(ctx, request)),
            Values::Numeric(cmp, values) => Decimal::parse(request).is_some_and(|r| {
                any_typed(values, ctx, OwnedDecimal::parse, |p| {
                    cmp.holds(r.compare(&p.view()))
                })
            }),
            Values::Date(cmp, values) => parse_instant(request)
                .is_some_and(|r| any_typed(values, ctx, parse_instant, |p| cmp.holds(r.cmp(p)))),
            Values::Ip(values) => parse_request_ip(request)
                .is_some_and(|ip| any_typed(values, ctx, Cidr::parse, |c| c.contains(ip))),
            Values::Arn(values) => values.iter().any(|value| match value {
                ArnValue::Static(pattern) => pattern.matches(request),
                ArnValue::Dynamic(pieces) => resolve_tokens(pieces, ctx)
                    .is_some_and(|tokens| tokens_match_arn(&tokens, request)),
            }),
        }
    }
}
