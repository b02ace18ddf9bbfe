//! Keeping only some document paths of an item.

use std::collections::BTreeMap;

use crate::model::{AttributeValue, Item};

use super::ast::{DocumentPath, PathElement, Projection};

/// Which parts of a value to keep: all of it, or the listed map keys / list elements (a
/// value is either a map or a list, so at most one of the two applies).
#[derive(Default)]
struct Sel {
    all: bool,
    keys: BTreeMap<String, Sel>,
    indexes: BTreeMap<usize, Sel>,
}

impl Sel {
    fn insert(&mut self, path: &[PathElement]) {
        let mut node = self;
        for e in path {
            if node.all {
                return;
            }
            node = match e {
                PathElement::Attr(a) => node.keys.entry(a.clone()).or_default(),
                PathElement::Index(i) => node.indexes.entry(*i).or_default(),
            };
        }
        node.all = true;
    }
}

fn extract(v: &AttributeValue, sel: &Sel) -> Option<AttributeValue> {
    if sel.all {
        return Some(v.clone());
    }
    match v {
        AttributeValue::M(m) => {
            let out = extract_map(m, &sel.keys);
            (!out.is_empty()).then_some(AttributeValue::M(out))
        }
        AttributeValue::L(l) => {
            let out: Vec<AttributeValue> = sel
                .indexes
                .iter()
                .filter_map(|(i, sub)| l.get(*i).and_then(|x| extract(x, sub)))
                .collect();
            (!out.is_empty()).then_some(AttributeValue::L(out))
        }
        _ => None,
    }
}

fn extract_map(m: &Item, keys: &BTreeMap<String, Sel>) -> Item {
    keys.iter()
        .filter_map(|(k, sub)| {
            m.get(k)
                .and_then(|x| extract(x, sub))
                .map(|x| (k.clone(), x))
        })
        .collect()
}

/// Keeps only the given document paths of `item`, nested structure preserved (list elements
/// keep their relative order, as DynamoDB returns them). Used for projections and
/// UPDATED_* return values.
pub fn project(item: &Item, paths: &[DocumentPath]) -> Item {
    let mut top = Sel::default();
    for p in paths {
        if matches!(p.0.first(), Some(PathElement::Attr(_))) {
            top.insert(&p.0);
        }
    }
    extract_map(item, &top.keys)
}

impl Projection {
    pub fn apply(&self, item: &Item) -> Item {
        project(item, &self.paths)
    }
}
