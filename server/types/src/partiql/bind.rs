//! Parameters bound and PartiQL's expressions turned into the engine's trees: values
//! (`{...}`, `[...]`, `<<...>>` folded into attribute values), conditions and update
//! actions. Nothing here needs the table; what does is `plan`.

use super::ast::{Absence, Action, Arith, Expr, Statement};
use super::error::invalid;
use crate::error::Result;
use crate::expr::{
    Comparator, Condition, DocumentPath, Operand, SetValue, UpdateAction, UpdateOperand,
};
use crate::model::{AttributeValue, Item};

/// DynamoDB's bound on the operands of one `IN`.
pub const MAX_IN_OPERANDS: usize = 100;

/// Replaces every `?` by its parameter. The counts must agree.
pub fn bind(statement: &mut Statement, count: usize, params: &[AttributeValue]) -> Result<()> {
    if count != params.len() {
        return Err(invalid(
            "Number of parameters in request and statement don't match.",
        ));
    }
    for p in params {
        p.validate().map_err(crate::error::Error::from)?;
    }
    let visit = |e: &mut Expr| substitute(e, params);
    match statement {
        Statement::Select(s) | Statement::Exists(s) => {
            if let Some(f) = &mut s.filter {
                visit(f);
            }
        }
        Statement::Insert(i) => visit(&mut i.value),
        Statement::Update(u) => {
            for a in &mut u.actions {
                if let Action::Set(_, v) = a {
                    visit(v);
                }
            }
            visit(&mut u.filter);
        }
        Statement::Delete(d) => visit(&mut d.filter),
    }
    Ok(())
}

fn substitute(e: &mut Expr, params: &[AttributeValue]) {
    match e {
        Expr::Param(i) => {
            if let Some(v) = params.get(*i) {
                *e = Expr::Value(v.clone());
            }
        }
        Expr::Value(_) | Expr::Path(_) | Expr::Missing => {}
        Expr::Map(m) => m.iter_mut().for_each(|(_, v)| substitute(v, params)),
        Expr::List(l) | Expr::Bag(l) | Expr::Call(_, l) => {
            l.iter_mut().for_each(|v| substitute(v, params))
        }
        Expr::Compare(_, a, b) | Expr::Arith(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            substitute(a, params);
            substitute(b, params);
        }
        Expr::Not(a) => substitute(a, params),
        Expr::Is { expr, .. } => substitute(expr, params),
        Expr::In(a, l) => {
            substitute(a, params);
            l.iter_mut().for_each(|v| substitute(v, params));
        }
        Expr::Between(a, b, c) => {
            substitute(a, params);
            substitute(b, params);
            substitute(c, params);
        }
    }
}

/// An expression that must be a value: a literal, a bound parameter, or a collection of
/// them.
pub fn value(e: &Expr) -> Result<AttributeValue> {
    Ok(match e {
        Expr::Value(v) => v.clone(),
        Expr::Map(members) => {
            let mut item = Item::new();
            for (k, v) in members {
                if item.insert(k.clone(), value(v)?).is_some() {
                    return Err(invalid(format!("Duplicate attribute name: {k}")));
                }
            }
            AttributeValue::M(item)
        }
        Expr::List(items) => AttributeValue::L(items.iter().map(value).collect::<Result<_>>()?),
        Expr::Bag(items) => set(items)?,
        Expr::Missing => return Err(invalid("MISSING is not a value")),
        Expr::Param(_) => {
            return Err(invalid(
                "Number of parameters in request and statement don't match.",
            ))
        }
        _ => return Err(invalid("Expected a value: a literal or a parameter")),
    })
}

/// `<<...>>`: a set of strings or of numbers (DynamoDB's bags hold nothing else), one type,
/// no duplicates.
fn set(items: &[Expr]) -> Result<AttributeValue> {
    let values = items.iter().map(value).collect::<Result<Vec<_>>>()?;
    let unsupported = || {
        invalid("Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags")
    };
    let v = match values.first() {
        None => return Err(invalid("Empty bags are not supported")),
        Some(AttributeValue::S(_)) => AttributeValue::Ss(
            values
                .into_iter()
                .map(|v| {
                    if let AttributeValue::S(s) = v {
                        Ok(s)
                    } else {
                        Err(unsupported())
                    }
                })
                .collect::<Result<_>>()?,
        ),
        Some(AttributeValue::N(_)) => AttributeValue::Ns(
            values
                .into_iter()
                .map(|v| {
                    if let AttributeValue::N(n) = v {
                        Ok(n)
                    } else {
                        Err(unsupported())
                    }
                })
                .collect::<Result<_>>()?,
        ),
        Some(_) => return Err(unsupported()),
    };
    // The model's message is DynamoDB's ("One or more parameter values were invalid: ...").
    v.validate().map_err(crate::error::Error::from)?;
    Ok(v)
}

fn operand(e: &Expr) -> Result<Operand> {
    match e {
        Expr::Path(p) => Ok(Operand::Path(p.clone())),
        Expr::Call(name, args) if name == "size" => match args.as_slice() {
            [arg] => Ok(Operand::Size(Box::new(operand(arg)?))),
            _ => Err(arity(name, 1)),
        },
        Expr::Missing => Err(invalid("MISSING must be compared using IS operator")),
        Expr::Call(name, _) => Err(invalid(format!("Unsupported function in operand: {name}"))),
        Expr::Arith(..) => Err(invalid(
            "Arithmetic is only supported in the SET clause of an UPDATE",
        )),
        Expr::Compare(..)
        | Expr::And(..)
        | Expr::Or(..)
        | Expr::Not(..)
        | Expr::In(..)
        | Expr::Between(..)
        | Expr::Is { .. } => Err(invalid("A condition is not a value")),
        other => Ok(Operand::Value(value(other)?)),
    }
}

fn arity(name: &str, n: usize) -> crate::error::Error {
    invalid(format!(
        "Incorrect number of arguments for function {name}: expected {n}"
    ))
}

/// A WHERE clause as the engine's condition.
pub fn condition(e: &Expr) -> Result<Condition> {
    Ok(match e {
        Expr::And(a, b) => Condition::And(Box::new(condition(a)?), Box::new(condition(b)?)),
        Expr::Or(a, b) => Condition::Or(Box::new(condition(a)?), Box::new(condition(b)?)),
        Expr::Not(a) => Condition::Not(Box::new(condition(a)?)),
        Expr::Compare(cmp, a, b) => Condition::Compare(*cmp, operand(a)?, operand(b)?),
        Expr::In(a, list) => {
            if list.is_empty() {
                return Err(invalid("IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member"));
            }
            if list.len() > MAX_IN_OPERANDS {
                return Err(invalid(format!(
                    "The IN operator is provided with too many operands; number of operands: {}",
                    list.len()
                )));
            }
            Condition::In(
                operand(a)?,
                list.iter().map(operand).collect::<Result<_>>()?,
            )
        }
        Expr::Between(a, lo, hi) => Condition::Between(operand(a)?, operand(lo)?, operand(hi)?),
        Expr::Is {
            expr,
            what,
            negated,
        } => {
            let Operand::Path(path) = operand(expr)? else {
                return Err(invalid("IS applies to an attribute path"));
            };
            let c = match what {
                Absence::Missing => Condition::AttributeNotExists(path),
                Absence::Null => Condition::AttributeType(
                    Operand::Path(path),
                    Operand::Value(AttributeValue::S("NULL".into())),
                ),
                Absence::Type(tag) => Condition::AttributeType(
                    Operand::Path(path),
                    Operand::Value(AttributeValue::S((*tag).into())),
                ),
            };
            if *negated {
                Condition::Not(Box::new(c))
            } else {
                c
            }
        }
        Expr::Call(name, args) => {
            let two = || match args.as_slice() {
                [a, b] => Ok((operand(a)?, operand(b)?)),
                _ => Err(arity(name, 2)),
            };
            match name.as_str() {
                "begins_with" => {
                    let (a, b) = two()?;
                    Condition::BeginsWith(a, b)
                }
                "contains" => {
                    let (a, b) = two()?;
                    Condition::Contains(a, b)
                }
                "attribute_type" => {
                    let (a, b) = two()?;
                    Condition::AttributeType(a, b)
                }
                "missing" => match args.as_slice() {
                    [Expr::Path(p)] => Condition::AttributeNotExists(p.clone()),
                    [_] => return Err(invalid("missing applies to an attribute path")),
                    _ => return Err(arity(name, 1)),
                },
                "size" => return Err(invalid("size returns a number: compare it (size(a) > 3)")),
                _ => return Err(invalid(format!("Unrecognized function: {name}"))),
            }
        }
        Expr::Missing => return Err(invalid("MISSING must be compared using IS operator")),
        Expr::Path(p) => {
            return Err(invalid(format!(
                "An attribute is not a condition: {}",
                path_text(p)
            )))
        }
        _ => return Err(invalid("Expected a condition")),
    })
}

/// How a path is written in PartiQL.
pub fn path_text(p: &DocumentPath) -> String {
    let mut out = String::new();
    for (i, e) in p.0.iter().enumerate() {
        match e {
            crate::expr::PathElement::Attr(a) => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(a);
            }
            crate::expr::PathElement::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

fn update_operand(e: &Expr) -> Result<UpdateOperand> {
    match e {
        Expr::Path(p) => Ok(UpdateOperand::Path(p.clone())),
        Expr::Call(name, args) if name == "list_append" => match args.as_slice() {
            [a, b] => Ok(UpdateOperand::ListAppend(
                Box::new(update_operand(a)?),
                Box::new(update_operand(b)?),
            )),
            _ => Err(arity(name, 2)),
        },
        Expr::Call(name, args) if name == "if_not_exists" => match args.as_slice() {
            [Expr::Path(p), b] => Ok(UpdateOperand::IfNotExists(
                p.clone(),
                Box::new(update_operand(b)?),
            )),
            [_, _] => Err(invalid("if_not_exists takes an attribute path first")),
            _ => Err(arity(name, 2)),
        },
        Expr::Call(name, _) => Err(invalid(format!("Unrecognized function: {name}"))),
        other => Ok(UpdateOperand::Value(value(other)?)),
    }
}

/// One UPDATE clause as the engine's update action.
pub fn update_action(action: &Action) -> Result<UpdateAction> {
    let (path, e) = match action {
        Action::Remove(p) => return Ok(UpdateAction::Remove(p.clone())),
        Action::Set(p, e) => (p, e),
    };
    Ok(match e {
        Expr::Arith(op, a, b) => {
            let (a, b) = (update_operand(a)?, update_operand(b)?);
            let v = match op {
                Arith::Plus => SetValue::Plus(a, b),
                Arith::Minus => SetValue::Minus(a, b),
            };
            UpdateAction::Set(path.clone(), v)
        }
        Expr::Call(name, args) if name == "set_add" || name == "set_delete" => {
            let [Expr::Path(target), v] = args.as_slice() else {
                return Err(arity(name, 2));
            };
            if target != path {
                return Err(invalid(format!(
                    "{name} must operate on the attribute it sets: {}",
                    path_text(path)
                )));
            }
            let v = value(v)?;
            if !matches!(
                v,
                AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
            ) {
                return Err(invalid(format!("{name} takes a set: <<...>>")));
            }
            if name == "set_add" {
                UpdateAction::Add(path.clone(), v)
            } else {
                UpdateAction::Delete(path.clone(), v)
            }
        }
        other => UpdateAction::Set(path.clone(), SetValue::Operand(update_operand(other)?)),
    })
}

/// The `pk = value` equality a conjunct states, if it is one on a top-level attribute.
pub fn equality(e: &Expr) -> Option<(&str, &AttributeValue)> {
    let Expr::Compare(Comparator::Eq, a, b) = e else {
        return None;
    };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Path(p), Expr::Value(v)) | (Expr::Value(v), Expr::Path(p)) if p.0.len() == 1 => {
            Some((p.top()?, v))
        }
        _ => None,
    }
}

/// The conjuncts of a WHERE clause, in order.
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::And(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// Conjuncts joined back with AND; `None` for none.
pub fn and_all(parts: Vec<Condition>) -> Option<Condition> {
    super::parser::balanced(parts, Condition::And)
}
