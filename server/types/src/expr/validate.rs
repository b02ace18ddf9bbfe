//! Semantic checks and placeholder substitution, turning the parser's raw tree into the
//! resolved AST. DynamoDB validates one expression in phases, and reports the first error of
//! the earliest phase; the phases here follow what DynamoDB Local shows:
//! 1. syntax (the parser), 2. the 300-operator limit, 3. redundant parentheses,
//! 4. in document order: function names, misused functions, reserved words, path limits,
//! 5. in document order: placeholders, operand counts, document-path operands, distinct
//!    operands, operand types, BETWEEN bounds (updates first check duplicate clauses, then
//!    resolve and compare the target paths).

use std::collections::{HashMap, HashSet};

use crate::model::{AttributeValue, ValueType};

use super::ast::*;
use super::error::{ExprError, ExprKind};
use super::lexer::Keyword;
use super::parser::{RawAction, RawClause, RawCond, RawElem, RawOperand, RawPath, RawSetValue};
use super::reserved::is_reserved;
use super::MAX_PATH_DEPTH;

/// Substitution context shared by every expression of one request.
pub(crate) struct Ctx<'a> {
    pub kind: ExprKind,
    pub names: Option<&'a HashMap<String, String>>,
    pub values: Option<&'a HashMap<String, AttributeValue>>,
    pub used_names: &'a mut HashSet<String>,
    pub used_values: &'a mut HashSet<String>,
}

type VResult<T> = Result<T, ExprError>;

const CONDITION_FUNCTIONS: [&str; 5] = [
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];
const UPDATE_FUNCTIONS: [&str; 2] = ["if_not_exists", "list_append"];

impl Ctx<'_> {
    fn err(&self, detail: impl Into<String>) -> ExprError {
        ExprError::invalid(self.kind, detail)
    }

    fn operand_type_err(&self, op: &str, t: &str) -> ExprError {
        self.err(format!("Incorrect operand type for operator or function; operator or function: {op}, operand type: {t}"))
    }

    fn count_err(&self, op: &str, n: usize) -> ExprError {
        self.err(format!("Incorrect number of operands for operator or function; operator or function: {op}, number of operands: {n}"))
    }

    fn misused(&self, f: &str) -> ExprError {
        self.err(format!(
            "The function is not allowed to be used this way in an expression; function: {f}"
        ))
    }

    fn value(&mut self, name: &str) -> VResult<AttributeValue> {
        match self.values.and_then(|v| v.get(name)) {
            Some(v) => {
                self.used_values.insert(name.to_string());
                Ok(v.clone())
            }
            None => Err(self.err(format!("An expression attribute value used in expression is not defined; attribute value: {name}"))),
        }
    }

    fn path(&mut self, raw: &RawPath) -> VResult<DocumentPath> {
        let mut out = Vec::with_capacity(raw.0.len());
        for e in &raw.0 {
            out.push(match e {
                RawElem::Ident(s) => PathElement::Attr(s.clone()),
                RawElem::Name(n) => match self.names.and_then(|m| m.get(n)) {
                    Some(v) => {
                        self.used_names.insert(n.clone());
                        PathElement::Attr(v.clone())
                    }
                    None => {
                        return Err(self.err(format!(
                            "An expression attribute name used in the document path is not defined; attribute name: {n}"
                        )))
                    }
                },
                // Range-checked in phase 4.
                RawElem::Index(d) => PathElement::Index(d.parse().unwrap_or(usize::MAX)),
            });
        }
        Ok(DocumentPath(out))
    }

    /// Phase 4 checks of one path: reserved words, list index range, nesting depth.
    fn check_path(&self, raw: &RawPath) -> VResult<()> {
        for e in &raw.0 {
            match e {
                RawElem::Ident(s) if is_reserved(s) => {
                    return Err(self.err(format!(
                        "Attribute name is a reserved keyword; reserved keyword: {s}"
                    )))
                }
                RawElem::Index(d) if d.parse::<i32>().is_err() => {
                    return Err(self.err(format!(
                        "List index is not within the allowable range; index: [{d}]"
                    )))
                }
                _ => {}
            }
        }
        if raw.0.len() > MAX_PATH_DEPTH {
            return Err(self.err(format!(
                "The document path has too many nesting levels; nesting levels: {}",
                raw.0.len()
            )));
        }
        Ok(())
    }
}

/// Static type of a resolved condition operand, where known before evaluation.
fn static_type(op: &Operand) -> Option<ValueType> {
    match op {
        Operand::Value(v) => Some(v.value_type()),
        Operand::Size(_) => Some(ValueType::N),
        Operand::Path(_) => None,
    }
}

fn is_scalar(t: ValueType) -> bool {
    matches!(t, ValueType::N | ValueType::S | ValueType::B)
}

/// DynamoDB's (Java) rendering of a value inside messages, e.g. `{N:5}`, `{S:x}`.
pub(crate) fn java_value(v: &AttributeValue) -> String {
    fn inner(v: &AttributeValue) -> String {
        match v {
            AttributeValue::S(s) => s.clone(),
            AttributeValue::N(n) => n.to_string(),
            AttributeValue::B(b) => format!(
                "java.nio.HeapByteBuffer[pos=0 lim={} cap={}]",
                b.len(),
                b.len()
            ),
            AttributeValue::Ss(v) => format!("[{}]", v.join(", ")),
            AttributeValue::Ns(v) => format!(
                "[{}]",
                v.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            AttributeValue::Bs(v) => format!(
                "[{}]",
                v.iter()
                    .map(|b| format!("java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]", b.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            AttributeValue::M(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{k}={}", java_value(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            AttributeValue::L(l) => format!(
                "[{}]",
                l.iter().map(java_value).collect::<Vec<_>>().join(", ")
            ),
            AttributeValue::Null => "true".into(),
            AttributeValue::Bool(b) => b.to_string(),
        }
    }
    format!("{{{}:{}}}", v.value_type().tag(), inner(v))
}

// ---- phase 3: redundant parentheses ------------------------------------------------------

fn op_has_double_parens(o: &RawOperand) -> bool {
    match o {
        RawOperand::Paren(inner) => {
            matches!(**inner, RawOperand::Paren(_)) || op_has_double_parens(inner)
        }
        RawOperand::Func(_, args) => args.iter().any(op_has_double_parens),
        _ => false,
    }
}

fn cond_has_double_parens(c: &RawCond) -> bool {
    match c {
        RawCond::Paren(inner) => {
            matches!(**inner, RawCond::Paren(_)) || cond_has_double_parens(inner)
        }
        RawCond::Compare(_, l, r) => op_has_double_parens(l) || op_has_double_parens(r),
        RawCond::Between(a, b, c) => [a, b, c].into_iter().any(op_has_double_parens),
        RawCond::In(a, l) => op_has_double_parens(a) || l.iter().any(op_has_double_parens),
        RawCond::Call(_, args) => args.iter().any(op_has_double_parens),
        RawCond::And(l, r) | RawCond::Or(l, r) => {
            cond_has_double_parens(l) || cond_has_double_parens(r)
        }
        RawCond::Not(_) => {
            let mut c = c;
            while let RawCond::Not(i) = c {
                c = i;
            }
            cond_has_double_parens(c)
        }
    }
}

fn set_value_has_double_parens(v: &RawSetValue) -> bool {
    match v {
        RawSetValue::Operand(o) => op_has_double_parens(o),
        RawSetValue::Plus(l, r) | RawSetValue::Minus(l, r) => {
            op_has_double_parens(l) || op_has_double_parens(r)
        }
        RawSetValue::Paren(inner) => {
            matches!(**inner, RawSetValue::Paren(_)) || set_value_has_double_parens(inner)
        }
    }
}

// ---- conditions ------------------------------------------------------------------------------

pub(crate) fn condition(raw: &RawCond, ctx: &mut Ctx) -> VResult<Condition> {
    if cond_has_double_parens(raw) {
        return Err(ctx.err("The expression has redundant parentheses;"));
    }
    check_cond_names(raw, ctx)?;
    resolve_cond(raw, ctx)
}

fn check_cond_names(c: &RawCond, ctx: &Ctx) -> VResult<()> {
    match c {
        RawCond::Compare(_, l, r) => {
            check_cond_operand(l, ctx)?;
            check_cond_operand(r, ctx)
        }
        RawCond::Between(a, b, c) => [a, b, c]
            .into_iter()
            .try_for_each(|o| check_cond_operand(o, ctx)),
        RawCond::In(a, l) => std::iter::once(a)
            .chain(l)
            .try_for_each(|o| check_cond_operand(o, ctx)),
        RawCond::Call(name, args) => {
            if !CONDITION_FUNCTIONS.contains(&name.as_str()) {
                return Err(function_name_error(name, ctx, true));
            }
            args.iter().try_for_each(|o| check_cond_operand(o, ctx))
        }
        RawCond::And(l, r) | RawCond::Or(l, r) => {
            check_cond_names(l, ctx)?;
            check_cond_names(r, ctx)
        }
        RawCond::Not(_) | RawCond::Paren(_) => {
            let mut c = c;
            while let RawCond::Not(i) | RawCond::Paren(i) = c {
                c = i;
            }
            check_cond_names(c, ctx)
        }
    }
}

/// The error for a function that may not stand where it stands in a condition.
fn function_name_error(name: &str, ctx: &Ctx, as_condition: bool) -> ExprError {
    if UPDATE_FUNCTIONS.contains(&name) {
        ctx.err(format!(
            "The function is not allowed in a condition expression; function: {name}"
        ))
    } else if name == "size" && as_condition || CONDITION_FUNCTIONS.contains(&name) && !as_condition
    {
        ctx.misused(name)
    } else {
        ctx.err(format!("Invalid function name; function: {name}"))
    }
}

fn check_cond_operand(o: &RawOperand, ctx: &Ctx) -> VResult<()> {
    match o {
        RawOperand::Path(p) => ctx.check_path(p),
        RawOperand::Value(_) => Ok(()),
        RawOperand::Func(name, args) => {
            if name != "size" {
                return Err(function_name_error(name, ctx, false));
            }
            args.iter().try_for_each(|a| check_cond_operand(a, ctx))
        }
        RawOperand::Paren(i) => check_cond_operand(i, ctx),
    }
}

fn resolve_operand(o: &RawOperand, ctx: &mut Ctx) -> VResult<Operand> {
    match o {
        RawOperand::Path(p) => Ok(Operand::Path(ctx.path(p)?)),
        RawOperand::Value(v) => Ok(Operand::Value(ctx.value(v)?)),
        RawOperand::Paren(i) => resolve_operand(i, ctx),
        RawOperand::Func(name, args) => {
            // Only `size` gets here (phase 4 rejected the others).
            let [only] = args.as_slice() else {
                return Err(ctx.count_err(name, args.len()));
            };
            let arg = resolve_operand(only, ctx)?;
            if let Some(t @ (ValueType::N | ValueType::Bool | ValueType::Null)) = static_type(&arg)
            {
                return Err(ctx.operand_type_err("size", t.tag()));
            }
            Ok(Operand::Size(Box::new(arg)))
        }
    }
}

fn check_distinct(op: &str, first: &Operand, rest: &[&Operand], ctx: &Ctx) -> VResult<()> {
    if let Operand::Path(p) = first {
        if rest.iter().any(|o| matches!(o, Operand::Path(q) if q == p)) {
            return Err(ctx.err(format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {p}"
            )));
        }
    }
    Ok(())
}

fn check_scalar(op: &str, operands: &[&Operand], ctx: &Ctx) -> VResult<()> {
    for o in operands {
        if let Some(t) = static_type(o) {
            if !is_scalar(t) {
                return Err(ctx.operand_type_err(op, t.tag()));
            }
        }
    }
    Ok(())
}

fn resolve_cond(c: &RawCond, ctx: &mut Ctx) -> VResult<Condition> {
    // Chains of NOT and parentheses are unwrapped in a loop, not by recursion.
    let mut nots = 0usize;
    let mut c = c;
    loop {
        match c {
            RawCond::Not(i) => {
                nots += 1;
                c = i;
            }
            RawCond::Paren(i) => c = i,
            _ => break,
        }
    }
    let mut out = match c {
        RawCond::And(l, r) => Condition::And(
            Box::new(resolve_cond(l, ctx)?),
            Box::new(resolve_cond(r, ctx)?),
        ),
        RawCond::Or(l, r) => Condition::Or(
            Box::new(resolve_cond(l, ctx)?),
            Box::new(resolve_cond(r, ctx)?),
        ),
        leaf => resolve_leaf(leaf, ctx)?,
    };
    for _ in 0..nots {
        out = Condition::Not(Box::new(out));
    }
    Ok(out)
}

#[inline(never)]
fn resolve_leaf(c: &RawCond, ctx: &mut Ctx) -> VResult<Condition> {
    Ok(match c {
        RawCond::Compare(cmp, l, r) => {
            let l = resolve_operand(l, ctx)?;
            let r = resolve_operand(r, ctx)?;
            check_distinct(cmp.symbol(), &l, &[&r], ctx)?;
            if !matches!(cmp, Comparator::Eq | Comparator::Ne) {
                check_scalar(cmp.symbol(), &[&l, &r], ctx)?;
            }
            Condition::Compare(*cmp, l, r)
        }
        RawCond::Between(a, lo, hi) => {
            let a = resolve_operand(a, ctx)?;
            let lo = resolve_operand(lo, ctx)?;
            let hi = resolve_operand(hi, ctx)?;
            check_distinct("BETWEEN", &a, &[&lo, &hi], ctx)?;
            check_scalar("BETWEEN", &[&a, &lo, &hi], ctx)?;
            if let (Operand::Value(x), Operand::Value(y)) = (&lo, &hi) {
                let bounds = format!("lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}", java_value(x), java_value(y));
                if x.value_type() != y.value_type() {
                    return Err(ctx.err(format!("The BETWEEN operator requires same data type for lower and upper bounds; {bounds}")));
                }
                if super::eval::compare_scalars(x, y) == Some(std::cmp::Ordering::Greater) {
                    return Err(ctx.err(format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}")));
                }
            }
            Condition::Between(a, lo, hi)
        }
        RawCond::In(a, list) => {
            if list.len() > 100 {
                return Err(ctx.err(format!(
                    "The IN operator is provided with too many operands; number of operands: {}",
                    list.len()
                )));
            }
            let a = resolve_operand(a, ctx)?;
            let list = list
                .iter()
                .map(|o| resolve_operand(o, ctx))
                .collect::<VResult<Vec<_>>>()?;
            check_distinct("IN", &a, &list.iter().collect::<Vec<_>>(), ctx)?;
            Condition::In(a, list)
        }
        RawCond::Call(name, args) => resolve_call(name, args, ctx)?,
        other => resolve_cond(other, ctx)?,
    })
}

fn resolve_call(name: &str, args: &[RawOperand], ctx: &mut Ctx) -> VResult<Condition> {
    let want = match name {
        "attribute_exists" | "attribute_not_exists" => 1,
        _ => 2,
    };
    if args.len() != want {
        return Err(ctx.count_err(name, args.len()));
    }
    let ops = args
        .iter()
        .map(|o| resolve_operand(o, ctx))
        .collect::<VResult<Vec<_>>>()?;
    let mut ops = ops.into_iter();
    let (Some(first), second) = (ops.next(), ops.next()) else {
        return Err(ctx.count_err(name, 0));
    };
    if want == 1 {
        let Operand::Path(p) = first else {
            return Err(ctx.err(format!(
                "Operator or function requires a document path; operator or function: {name}"
            )));
        };
        return Ok(if name == "attribute_exists" {
            Condition::AttributeExists(p)
        } else {
            Condition::AttributeNotExists(p)
        });
    }
    let Some(second) = second else {
        return Err(ctx.count_err(name, 1));
    };
    check_distinct(name, &first, &[&second], ctx)?;
    Ok(match name {
        "attribute_type" => {
            match &second {
                Operand::Value(AttributeValue::S(tag)) => {
                    if ValueType::from_tag(tag).is_none() {
                        return Err(ctx.err(format!(
                            "Invalid attribute type name found; type: {tag}, valid types: {{N,BS,L,B,NULL,M,S,SS,NS,BOOL}}"
                        )));
                    }
                }
                Operand::Path(_) => {
                    return Err(ctx.operand_type_err(
                        name,
                        "{INTSET,N,HDS,DOUBLESET,DECIMALSET,HD,M,NS,BOOL,BS,FS,DICT,B,DOUBLE,L,DECIMAL,S,NULL,FLOAT,INT,SS}",
                    ))
                }
                other => {
                    let t = static_type(other).map_or("N", ValueType::tag);
                    return Err(ctx.operand_type_err(name, t));
                }
            }
            Condition::AttributeType(first, second)
        }
        "begins_with" => {
            for o in [&first, &second] {
                if let Some(t) = static_type(o) {
                    if !matches!(t, ValueType::S | ValueType::B) {
                        return Err(ctx.operand_type_err(name, t.tag()));
                    }
                }
            }
            Condition::BeginsWith(first, second)
        }
        _ => Condition::Contains(first, second),
    })
}

// ---- update expressions ------------------------------------------------------------------------

fn update_type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::S => "STRING",
        ValueType::N => "NUMBER",
        ValueType::B => "BINARY",
        ValueType::Bool => "BOOLEAN",
        ValueType::Null => "NULL",
        ValueType::L => "LIST",
        ValueType::M => "MAP",
        ValueType::Ss => "STRING_SET",
        ValueType::Ns => "NUMBER_SET",
        ValueType::Bs => "BINARY_SET",
    }
}

fn is_set(t: ValueType) -> bool {
    matches!(t, ValueType::Ss | ValueType::Ns | ValueType::Bs)
}

pub(crate) fn update(clauses: &[RawClause], ctx: &mut Ctx) -> VResult<Update> {
    let actions: Vec<&RawAction> = clauses.iter().flat_map(|c| &c.actions).collect();
    // Phase 3.
    for a in &actions {
        if let RawAction::Set(_, v) = a {
            if set_value_has_double_parens(v) {
                return Err(ctx.err("The expression has redundant parentheses;"));
            }
        }
    }
    // Phase 4.
    for a in &actions {
        match a {
            RawAction::Set(p, v) => {
                ctx.check_path(p)?;
                check_set_value_names(v, ctx)?;
            }
            RawAction::Remove(p) | RawAction::Add(p, _) | RawAction::Delete(p, _) => {
                ctx.check_path(p)?
            }
        }
    }
    let mut seen = HashSet::new();
    for c in clauses {
        if !seen.insert(c.keyword) {
            let name = match c.keyword {
                Keyword::Set => "SET",
                Keyword::Remove => "REMOVE",
                Keyword::Add => "ADD",
                _ => "DELETE",
            };
            return Err(ctx.err(format!(
                "The \"{name}\" section can only be used once in an update expression;"
            )));
        }
    }
    // Phase 5: target paths, their overlaps, then operands.
    let mut targets = Vec::with_capacity(actions.len());
    for a in &actions {
        let p = match a {
            RawAction::Set(p, _)
            | RawAction::Remove(p)
            | RawAction::Add(p, _)
            | RawAction::Delete(p, _) => p,
        };
        targets.push(ctx.path(p)?);
    }
    check_overlaps(&targets, ctx)?;
    // DynamoDB checks the operands of the actions from the last one to the first (so with
    // several faulty actions it reports the last).
    let mut out = Vec::with_capacity(actions.len());
    for (a, path) in actions.into_iter().zip(targets).rev() {
        out.push(match a {
            RawAction::Set(_, v) => UpdateAction::Set(path, resolve_set_value(v, ctx)?),
            RawAction::Remove(_) => UpdateAction::Remove(path),
            RawAction::Add(_, v) => {
                let v = ctx.value(v)?;
                let t = v.value_type();
                if t != ValueType::N && !is_set(t) {
                    return Err(ctx.err(format!(
                        "Incorrect operand type for operator or function; operator: ADD, operand type: {}, typeSet: ALLOWED_FOR_ADD_OPERAND",
                        update_type_name(t)
                    )));
                }
                UpdateAction::Add(path, v)
            }
            RawAction::Delete(_, v) => {
                let v = ctx.value(v)?;
                let t = v.value_type();
                if !is_set(t) {
                    return Err(ctx.err(format!(
                        "Incorrect operand type for operator or function; operator: DELETE, operand type: {}, typeSet: ALLOWED_FOR_DELETE_OPERAND",
                        update_type_name(t)
                    )));
                }
                UpdateAction::Delete(path, v)
            }
        });
    }
    out.reverse();
    Ok(Update {
        actions: out,
        style: UpdateStyle::Expression,
    })
}

fn check_set_value_names(v: &RawSetValue, ctx: &Ctx) -> VResult<()> {
    match v {
        RawSetValue::Operand(o) => check_update_operand(o, ctx, true),
        RawSetValue::Plus(l, r) | RawSetValue::Minus(l, r) => {
            check_update_operand(l, ctx, true)?;
            check_update_operand(r, ctx, true)
        }
        RawSetValue::Paren(i) => check_set_value_names(i, ctx),
    }
}

fn check_update_operand(o: &RawOperand, ctx: &Ctx, top: bool) -> VResult<()> {
    match o {
        RawOperand::Path(p) => ctx.check_path(p),
        RawOperand::Value(_) => Ok(()),
        RawOperand::Paren(i) => check_update_operand(i, ctx, top),
        RawOperand::Func(name, args) => {
            match name.as_str() {
                "if_not_exists" => {}
                "list_append" if top => {}
                "list_append" => return Err(ctx.misused(name)),
                n if n == "size" || CONDITION_FUNCTIONS.contains(&n) => {
                    return Err(ctx.err(format!(
                        "The function is not allowed in an update expression; function: {name}"
                    )))
                }
                _ => return Err(ctx.err(format!("Invalid function name; function: {name}"))),
            }
            args.iter()
                .try_for_each(|a| check_update_operand(a, ctx, false))
        }
    }
}

fn resolve_set_value(v: &RawSetValue, ctx: &mut Ctx) -> VResult<SetValue> {
    Ok(match v {
        RawSetValue::Operand(o) => SetValue::Operand(resolve_update_operand(o, ctx)?),
        RawSetValue::Paren(i) => resolve_set_value(i, ctx)?,
        RawSetValue::Plus(l, r) | RawSetValue::Minus(l, r) => {
            let sym = if matches!(v, RawSetValue::Plus(..)) {
                "+"
            } else {
                "-"
            };
            let l = resolve_update_operand(l, ctx)?;
            let r = resolve_update_operand(r, ctx)?;
            for o in [&l, &r] {
                if let UpdateOperand::Value(v) = o {
                    if v.value_type() != ValueType::N {
                        return Err(ctx.operand_type_err(sym, v.value_type().tag()));
                    }
                }
            }
            if sym == "+" {
                SetValue::Plus(l, r)
            } else {
                SetValue::Minus(l, r)
            }
        }
    })
}

fn resolve_update_operand(o: &RawOperand, ctx: &mut Ctx) -> VResult<UpdateOperand> {
    match o {
        RawOperand::Path(p) => Ok(UpdateOperand::Path(ctx.path(p)?)),
        RawOperand::Value(v) => Ok(UpdateOperand::Value(ctx.value(v)?)),
        RawOperand::Paren(i) => resolve_update_operand(i, ctx),
        RawOperand::Func(name, args) => {
            // Arguments first: `list_append(:undefined)` reports the placeholder, not the count.
            let resolved = args
                .iter()
                .map(|a| resolve_update_operand(a, ctx))
                .collect::<VResult<Vec<_>>>()?;
            let [a, b]: [UpdateOperand; 2] = resolved
                .try_into()
                .map_err(|_| ctx.count_err(name, args.len()))?;
            if name == "if_not_exists" {
                let UpdateOperand::Path(p) = a else {
                    return Err(ctx.err(format!("Operator or function requires a document path; operator or function: {name}")));
                };
                Ok(UpdateOperand::IfNotExists(p, Box::new(b)))
            } else {
                for o in [&a, &b] {
                    if let UpdateOperand::Value(v) = o {
                        if v.value_type() != ValueType::L {
                            return Err(ctx.operand_type_err(name, v.value_type().tag()));
                        }
                    }
                }
                Ok(UpdateOperand::ListAppend(Box::new(a), Box::new(b)))
            }
        }
    }
}

/// DynamoDB's pairwise check of the paths one expression writes (or projects): a path may not
/// be a prefix of another ("overlap"), nor index a list where another names a map key
/// ("conflict").
pub(crate) fn check_overlaps(paths: &[DocumentPath], ctx: &Ctx) -> VResult<()> {
    for (j, later) in paths.iter().enumerate() {
        for earlier in paths.iter().take(j) {
            let mut conflict = false;
            let mut diverged = false;
            for (x, y) in earlier.0.iter().zip(&later.0) {
                match (x, y) {
                    (PathElement::Attr(a), PathElement::Attr(b)) if a == b => {}
                    (PathElement::Index(a), PathElement::Index(b)) if a == b => {}
                    (PathElement::Attr(_), PathElement::Attr(_))
                    | (PathElement::Index(_), PathElement::Index(_)) => {
                        diverged = true;
                        break;
                    }
                    _ => {
                        conflict = true;
                        break;
                    }
                }
            }
            if conflict {
                return Err(ctx.err(format!(
                    "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}"
                )));
            }
            if !diverged {
                return Err(ctx.err(format!(
                    "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}"
                )));
            }
        }
    }
    Ok(())
}

// ---- projections -------------------------------------------------------------------------------

pub(crate) fn projection(raw: &[RawPath], ctx: &mut Ctx) -> VResult<Projection> {
    for p in raw {
        ctx.check_path(p)?;
    }
    let paths = raw
        .iter()
        .map(|p| ctx.path(p))
        .collect::<VResult<Vec<_>>>()?;
    check_overlaps(&paths, ctx)?;
    Ok(Projection { paths })
}
