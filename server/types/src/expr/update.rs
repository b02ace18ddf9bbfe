//! Applying update actions. DynamoDB evaluates every operand against the item as it was before
//! the update, then writes: replacements and appends first (appends to one list in index
//! order), removals last (list elements from the highest index down, so that `REMOVE l[0],
//! l[2]` removes the elements the request named). Nothing is written if any action fails.

use crate::model::{AttributeValue, Item};

use super::ast::*;
use super::error::ExprError;
use super::eval::resolve;

enum Planned {
    Put(DocumentPath, AttributeValue),
    Remove(DocumentPath),
}

fn type_error(style: UpdateStyle) -> ExprError {
    match style {
        UpdateStyle::Expression => ExprError::wrong_operand_type(),
        UpdateStyle::Legacy => ExprError::plain("Type mismatch for attribute to update"),
    }
}

fn eval_operand(item: &Item, op: &UpdateOperand) -> Result<AttributeValue, ExprError> {
    match op {
        UpdateOperand::Path(p) => resolve(item, p)
            .cloned()
            .ok_or_else(ExprError::missing_attribute),
        UpdateOperand::Value(v) => Ok(v.clone()),
        UpdateOperand::IfNotExists(p, default) => match resolve(item, p) {
            Some(v) => Ok(v.clone()),
            None => eval_operand(item, default),
        },
        UpdateOperand::ListAppend(a, b) => {
            let a = eval_operand(item, a)?;
            let b = eval_operand(item, b)?;
            match (a, b) {
                (AttributeValue::L(mut x), AttributeValue::L(y)) => {
                    x.extend(y);
                    Ok(AttributeValue::L(x))
                }
                _ => Err(ExprError::wrong_operand_type()),
            }
        }
    }
}

fn eval_set_value(item: &Item, v: &SetValue) -> Result<AttributeValue, ExprError> {
    match v {
        SetValue::Operand(o) => eval_operand(item, o),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let a = eval_operand(item, a)?;
            let b = eval_operand(item, b)?;
            match (a, b) {
                (AttributeValue::N(x), AttributeValue::N(y)) => {
                    let r = if matches!(v, SetValue::Plus(..)) {
                        x.checked_add(&y)
                    } else {
                        x.checked_sub(&y)
                    };
                    Ok(AttributeValue::N(r?))
                }
                _ => Err(ExprError::wrong_operand_type()),
            }
        }
    }
}

/// Whether `path` can be written in `item`: a top-level name always can; a nested one needs
/// its parent to exist and be a map (for a name) or a list (for an index).
fn parent_ok(item: &Item, path: &DocumentPath) -> bool {
    let Some((last, parent)) = path.0.split_last() else {
        return false;
    };
    if parent.is_empty() {
        return matches!(last, PathElement::Attr(_));
    }
    let parent = DocumentPath(parent.to_vec());
    matches!(
        (resolve(item, &parent), last),
        (Some(AttributeValue::M(_)), PathElement::Attr(_))
            | (Some(AttributeValue::L(_)), PathElement::Index(_))
    )
}

fn union<T: PartialEq + Clone>(mut a: Vec<T>, b: &[T]) -> Vec<T> {
    for x in b {
        if !a.contains(x) {
            a.push(x.clone());
        }
    }
    a
}

fn difference<T: PartialEq>(a: Vec<T>, b: &[T]) -> Vec<T> {
    a.into_iter().filter(|x| !b.contains(x)).collect()
}

fn add(
    existing: Option<&AttributeValue>,
    v: &AttributeValue,
    style: UpdateStyle,
) -> Result<AttributeValue, ExprError> {
    use AttributeValue as V;
    let Some(existing) = existing else {
        return Ok(v.clone());
    };
    Ok(match (existing, v) {
        (V::N(a), V::N(b)) => V::N(a.checked_add(b)?),
        (V::Ss(a), V::Ss(b)) => V::Ss(union(a.clone(), b)),
        (V::Ns(a), V::Ns(b)) => V::Ns(union(a.clone(), b)),
        (V::Bs(a), V::Bs(b)) => V::Bs(union(a.clone(), b)),
        (V::L(a), V::L(b)) if style == UpdateStyle::Legacy => {
            let mut a = a.clone();
            a.extend(b.iter().cloned());
            V::L(a)
        }
        _ => return Err(type_error(style)),
    })
}

/// The set left after removing `v`'s elements, or `None` when nothing is left.
fn delete(
    existing: &AttributeValue,
    v: &AttributeValue,
    style: UpdateStyle,
) -> Result<Option<AttributeValue>, ExprError> {
    use AttributeValue as V;
    let out = match (existing, v) {
        (V::Ss(a), V::Ss(b)) => V::Ss(difference(a.clone(), b)),
        (V::Ns(a), V::Ns(b)) => V::Ns(difference(a.clone(), b)),
        (V::Bs(a), V::Bs(b)) => V::Bs(difference(a.clone(), b)),
        _ => return Err(type_error(style)),
    };
    let empty = match &out {
        V::Ss(x) => x.is_empty(),
        V::Ns(x) => x.is_empty(),
        V::Bs(x) => x.is_empty(),
        _ => false,
    };
    Ok(if empty { None } else { Some(out) })
}

/// Writes `value` at `path`; returns the path actually written (an index past the end of a
/// list appends, and the returned path names the new element).
fn put(item: &mut Item, path: &DocumentPath, value: AttributeValue) -> Option<DocumentPath> {
    let (last, parent) = path.0.split_last()?;
    if parent.is_empty() {
        let PathElement::Attr(a) = last else {
            return None;
        };
        item.insert(a.clone(), value);
        return Some(path.clone());
    }
    let mut elems = parent.iter();
    let mut cur = match elems.next()? {
        PathElement::Attr(a) => item.get_mut(a)?,
        PathElement::Index(_) => return None,
    };
    for e in elems {
        cur = match (e, cur) {
            (PathElement::Attr(a), AttributeValue::M(m)) => m.get_mut(a)?,
            (PathElement::Index(i), AttributeValue::L(l)) => l.get_mut(*i)?,
            _ => return None,
        };
    }
    match (last, cur) {
        (PathElement::Attr(a), AttributeValue::M(m)) => {
            m.insert(a.clone(), value);
            Some(path.clone())
        }
        (PathElement::Index(i), AttributeValue::L(l)) => {
            let at = if *i < l.len() {
                if let Some(slot) = l.get_mut(*i) {
                    *slot = value;
                }
                *i
            } else {
                l.push(value);
                l.len() - 1
            };
            let mut written = parent.to_vec();
            written.push(PathElement::Index(at));
            Some(DocumentPath(written))
        }
        _ => None,
    }
}

fn remove(item: &mut Item, path: &DocumentPath) {
    let Some((last, parent)) = path.0.split_last() else {
        return;
    };
    if parent.is_empty() {
        if let PathElement::Attr(a) = last {
            item.remove(a);
        }
        return;
    }
    let mut elems = parent.iter();
    let mut cur = match elems.next() {
        Some(PathElement::Attr(a)) => match item.get_mut(a) {
            Some(v) => v,
            None => return,
        },
        _ => return,
    };
    for e in elems {
        let next = match (e, cur) {
            (PathElement::Attr(a), AttributeValue::M(m)) => m.get_mut(a),
            (PathElement::Index(i), AttributeValue::L(l)) => l.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return,
        }
    }
    match (last, cur) {
        (PathElement::Attr(a), AttributeValue::M(m)) => {
            m.remove(a);
        }
        (PathElement::Index(i), AttributeValue::L(l)) if *i < l.len() => {
            l.remove(*i);
        }
        _ => {}
    }
}

impl Update {
    /// Applies the actions to `item` in place (the existing item, or just the key attributes
    /// for a new one). Returns the document paths that were set, removed, added to or deleted
    /// from, for ReturnValues UPDATED_OLD/UPDATED_NEW (use [`super::project`]). On error the
    /// item is left unchanged.
    pub fn apply(&self, item: &mut Item) -> Result<Vec<DocumentPath>, ExprError> {
        let original: &Item = item;
        let mut plan = Vec::with_capacity(self.actions.len());
        for action in &self.actions {
            match action {
                UpdateAction::Set(path, v) => {
                    let value = eval_set_value(original, v)?;
                    if !parent_ok(original, path) {
                        return Err(ExprError::invalid_update_path());
                    }
                    plan.push(Planned::Put(path.clone(), value));
                }
                UpdateAction::Remove(path) => {
                    if !parent_ok(original, path) {
                        return Err(ExprError::invalid_update_path());
                    }
                    if resolve(original, path).is_some() {
                        plan.push(Planned::Remove(path.clone()));
                    }
                }
                UpdateAction::Add(path, v) => {
                    if !parent_ok(original, path) {
                        return Err(ExprError::invalid_update_path());
                    }
                    let value = add(resolve(original, path), v, self.style)?;
                    plan.push(Planned::Put(path.clone(), value));
                }
                UpdateAction::Delete(path, v) => {
                    if !parent_ok(original, path) {
                        return Err(ExprError::invalid_update_path());
                    }
                    if let Some(existing) = resolve(original, path) {
                        match delete(existing, v, self.style)? {
                            Some(rest) => plan.push(Planned::Put(path.clone(), rest)),
                            None => plan.push(Planned::Remove(path.clone())),
                        }
                    }
                }
            }
        }
        let mut puts = Vec::new();
        let mut removes = Vec::new();
        for p in plan {
            match p {
                Planned::Put(path, v) => puts.push((path, v)),
                Planned::Remove(path) => removes.push(path),
            }
        }
        puts.sort_by(|a, b| a.0.cmp(&b.0));
        removes.sort_by(|a, b| b.cmp(a));
        let mut written = Vec::with_capacity(puts.len() + removes.len());
        for (path, v) in puts {
            if let Some(p) = put(item, &path, v) {
                written.push(p);
            }
        }
        for path in removes {
            remove(item, &path);
            written.push(path);
        }
        Ok(written)
    }

    /// DynamoDB's error when an action targets a key attribute (at any depth below it).
    pub fn check_key_attributes(&self, key_names: &[&str]) -> Result<(), ExprError> {
        for a in &self.actions {
            if let Some(top) = a.path().top() {
                if key_names.contains(&top) {
                    return Err(ExprError::plain(format!(
                        "One or more parameter values were invalid: Cannot update attribute {top}. This attribute is part of the key"
                    )));
                }
            }
        }
        Ok(())
    }
}
