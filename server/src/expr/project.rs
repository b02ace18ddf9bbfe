//! Keeping only some document paths of an item.

use std::collections::BTreeMap;

use crate::model::{AttributeValue, Item};

use super::ast::{DocumentPath, PathElement, Projection};

/// Which parts of a value to keep.
enum Sel {
    All,
    Map(BTreeMap<String, Sel>),
    List(BTreeMap<usize, Sel>),
}

fn insert(sel: &mut Sel, rest: &[PathElement]) {
    let Some((first, rest)) = rest.split_first() else {
        *sel = Sel::All;
        return;
    };
    match (first, &mut *sel) {
        (_, Sel::All) => {}
        (PathElement::Attr(a), Sel::Map(m)) => insert(m.entry(a.clone()).or_insert_with(|| Sel::Map(BTreeMap::new())), rest),
        (PathElement::Index(i), Sel::List(l)) => insert(l.entry(*i).or_insert_with(|| Sel::Map(BTreeMap::new())), rest),
        // A fresh node (created as an empty map) takes the kind of its first path.
        (PathElement::Index(i), Sel::Map(m)) if m.is_empty() => {
            let mut l = BTreeMap::new();
            insert(l.entry(*i).or_insert_with(|| Sel::Map(BTreeMap::new())), rest);
            *sel = Sel::List(l);
        }
        // Conflicting paths (a name and an index at one level): the first one wins.
        _ => {}
    }
}

fn extract(v: &AttributeValue, sel: &Sel) -> Option<AttributeValue> {
    match (sel, v) {
        (Sel::All, _) => Some(v.clone()),
        (Sel::Map(s), AttributeValue::M(m)) => {
            let out = extract_map(m, s);
            (!out.is_empty()).then_some(AttributeValue::M(out))
        }
        (Sel::List(s), AttributeValue::L(l)) => {
            let out: Vec<AttributeValue> = s.iter().filter_map(|(i, sub)| l.get(*i).and_then(|x| extract(x, sub))).collect();
            (!out.is_empty()).then_some(AttributeValue::L(out))
        }
        _ => None,
    }
}

fn extract_map(m: &Item, s: &BTreeMap<String, Sel>) -> Item {
    s.iter().filter_map(|(k, sub)| m.get(k).and_then(|x| extract(x, sub)).map(|x| (k.clone(), x))).collect()
}

/// Keeps only the given document paths of `item`, nested structure preserved (list elements
/// keep their relative order, as DynamoDB returns them). Used for projections and
/// UPDATED_* return values.
pub fn project(item: &Item, paths: &[DocumentPath]) -> Item {
    let mut top: BTreeMap<String, Sel> = BTreeMap::new();
    for p in paths {
        let Some((PathElement::Attr(first), rest)) = p.0.split_first() else { continue };
        let node = top.entry(first.clone()).or_insert_with(|| Sel::Map(BTreeMap::new()));
        if rest.is_empty() {
            *node = Sel::All;
        } else {
            insert(node, rest);
        }
    }
    extract_map(item, &top)
}

impl Projection {
    pub fn apply(&self, item: &Item) -> Item {
        project(item, &self.paths)
    }
}
