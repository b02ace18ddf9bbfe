//! Property tests: random condition trees and updates compile to expressions whose
//! placeholders match the maps exactly, and whose text, parsed back with DynamoDB's
//! precedence (`OR` < `AND` < `NOT` < predicates), gives the tree that was built.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;
use crate::proto::v1::attribute_value::Value;

// ---- generated conditions --------------------------------------------------------------

#[derive(Debug, Clone)]
enum Leaf {
    Compare(usize, Path, i64),
    Exists(Path),
    NotExists(Path),
    Between(Path, i64, i64),
    In(Path, Vec<i64>),
    BeginsWith(Path, String),
    SizeGt(Path, i64),
    AttrLt(Path, Path),
}

#[derive(Debug, Clone)]
enum Model {
    Leaf(Leaf),
    And(Box<Model>, Box<Model>),
    Or(Box<Model>, Box<Model>),
    Not(Box<Model>),
}

fn path() -> impl Strategy<Value = Path> {
    let name = prop::sample::select(vec!["a", "b", "status", "x.y", "m"]);
    (
        name.clone(),
        prop::collection::vec((any::<bool>(), 0usize..3, name), 0..3),
    )
        .prop_map(|(first, rest)| {
            rest.into_iter()
                .fold(Path::new(first), |p, (is_index, i, n)| {
                    if is_index {
                        p.index(i)
                    } else {
                        p.field(n)
                    }
                })
        })
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        (0usize..6, path(), -50i64..50).prop_map(|(c, p, v)| Leaf::Compare(c, p, v)),
        path().prop_map(Leaf::Exists),
        path().prop_map(Leaf::NotExists),
        (path(), -50i64..50, -50i64..50).prop_map(|(p, a, b)| Leaf::Between(p, a, b)),
        (path(), prop::collection::vec(-5i64..5, 1..4)).prop_map(|(p, v)| Leaf::In(p, v)),
        (path(), "[a-z]{1,3}").prop_map(|(p, s)| Leaf::BeginsWith(p, s)),
        (path(), 0i64..9).prop_map(|(p, v)| Leaf::SizeGt(p, v)),
        (path(), path()).prop_map(|(p, q)| Leaf::AttrLt(p, q)),
    ]
}

fn model() -> impl Strategy<Value = Model> {
    leaf()
        .prop_map(Model::Leaf)
        .prop_recursive(6, 48, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Model::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Model::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Model::Not(Box::new(a))),
            ]
        })
}

fn num(i: i64) -> AttributeValue {
    AttributeValue {
        value: Some(Value::N(i.to_string())),
    }
}

fn text(s: &str) -> AttributeValue {
    AttributeValue {
        value: Some(Value::S(s.to_string())),
    }
}

fn build(m: &Model) -> Condition {
    match m {
        Model::Leaf(leaf) => build_leaf(leaf),
        Model::And(a, b) => build(a) & build(b),
        Model::Or(a, b) => build(a) | build(b),
        Model::Not(a) => !build(a),
    }
}

fn build_leaf(leaf: &Leaf) -> Condition {
    let at = |p: &Path| Attr::<AttributeValue>::at(p.clone());
    match leaf {
        Leaf::Compare(c, p, v) => {
            let a = at(p);
            match c {
                0 => a.eq(num(*v)),
                1 => a.ne(num(*v)),
                2 => a.lt(num(*v)),
                3 => a.le(num(*v)),
                4 => a.gt(num(*v)),
                _ => a.ge(num(*v)),
            }
        }
        Leaf::Exists(p) => at(p).exists(),
        Leaf::NotExists(p) => at(p).not_exists(),
        Leaf::Between(p, a, b) => at(p).between(num(*a), num(*b)),
        Leaf::In(p, v) => at(p).in_list(v.iter().map(|i| num(*i))),
        Leaf::BeginsWith(p, s) => at(p).begins_with(text(s)),
        Leaf::SizeGt(p, v) => at(p).size().gt(num(*v)),
        Leaf::AttrLt(p, q) => at(p).lt(at(q)),
    }
}

/// A condition tree as read back: leaves as text with placeholders resolved.
#[derive(Debug, Clone, PartialEq)]
enum Tree {
    Leaf(String),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
}

/// Same-kind nesting flattened and double negation removed: the shape the builders
/// promise to preserve.
fn normalize(t: Tree) -> Tree {
    match t {
        Tree::Leaf(_) => t,
        Tree::And(ts) => Tree::And(flatten(ts, true)),
        Tree::Or(ts) => Tree::Or(flatten(ts, false)),
        Tree::Not(inner) => match normalize(*inner) {
            Tree::Not(x) => *x,
            x => Tree::Not(Box::new(x)),
        },
    }
}

fn flatten(ts: Vec<Tree>, and: bool) -> Vec<Tree> {
    let mut out = Vec::new();
    for t in ts.into_iter().map(normalize) {
        match t {
            Tree::And(inner) if and => out.extend(inner),
            Tree::Or(inner) if !and => out.extend(inner),
            t => out.push(t),
        }
    }
    out
}

fn value_text(v: &AttributeValue) -> String {
    match &v.value {
        Some(Value::N(n)) => format!("N:{n}"),
        Some(Value::S(s)) => format!("S:{s}"),
        other => format!("{other:?}"),
    }
}

/// What each leaf should read back as, written independently of the renderer.
fn expected(m: &Model) -> Tree {
    match m {
        Model::And(a, b) => Tree::And(vec![expected(a), expected(b)]),
        Model::Or(a, b) => Tree::Or(vec![expected(a), expected(b)]),
        Model::Not(a) => Tree::Not(Box::new(expected(a))),
        Model::Leaf(leaf) => Tree::Leaf(match leaf {
            Leaf::Compare(c, p, v) => {
                let sym = ["=", "<>", "<", "<=", ">", ">="][*c];
                format!("{p} {sym} N:{v}")
            }
            Leaf::Exists(p) => format!("attribute_exists({p})"),
            Leaf::NotExists(p) => format!("attribute_not_exists({p})"),
            Leaf::Between(p, a, b) => format!("{p} BETWEEN N:{a} AND N:{b}"),
            Leaf::In(p, v) => {
                let items: Vec<String> = v.iter().map(|i| format!("N:{i}")).collect();
                format!("{p} IN ({})", items.join(", "))
            }
            Leaf::BeginsWith(p, s) => format!("begins_with({p}, S:{s})"),
            Leaf::SizeGt(p, v) => format!("size({p}) > N:{v}"),
            Leaf::AttrLt(p, q) => format!("{p} < {q}"),
        }),
    }
}

// ---- reading an expression back -----------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Word(String),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    _ => Tok::Comma,
                });
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, ' ' | '(' | ')' | ',') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    out
}

/// Fails when a parenthesized group is nothing but another group (`((x))`), which
/// DynamoDB rejects as redundant parentheses.
fn no_redundant_parens(toks: &[Tok]) -> bool {
    let mut stack = Vec::new();
    let mut pairs = HashMap::new();
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Open => stack.push(i),
            Tok::Close => {
                if let Some(open) = stack.pop() {
                    pairs.insert(open, i);
                }
            }
            _ => {}
        }
    }
    pairs
        .iter()
        .all(|(&open, &close)| !(pairs.get(&(open + 1)) == Some(&(close - 1)) && close > open + 1))
}

struct Reader<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a HashMap<String, String>,
    values: &'a HashMap<String, AttributeValue>,
}

impl Reader<'_> {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x == w)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok) {
        assert_eq!(self.next(), Some(t));
    }

    fn or(&mut self) -> Tree {
        let mut terms = vec![self.and()];
        while self.peek_word("OR") {
            self.pos += 1;
            terms.push(self.and());
        }
        if terms.len() == 1 {
            terms.remove(0)
        } else {
            Tree::Or(terms)
        }
    }

    fn and(&mut self) -> Tree {
        let mut terms = vec![self.not()];
        while self.peek_word("AND") {
            self.pos += 1;
            terms.push(self.not());
        }
        if terms.len() == 1 {
            terms.remove(0)
        } else {
            Tree::And(terms)
        }
    }

    fn not(&mut self) -> Tree {
        if self.peek_word("NOT") {
            self.pos += 1;
            return Tree::Not(Box::new(self.not()));
        }
        if self.toks.get(self.pos) == Some(&Tok::Open) {
            self.pos += 1;
            let inner = self.or();
            self.expect(Tok::Close);
            return inner;
        }
        Tree::Leaf(self.predicate())
    }

    /// A path or value placeholder, resolved; or `size(path)`.
    fn operand(&mut self) -> String {
        let Some(Tok::Word(w)) = self.next() else {
            panic!("operand expected at {}", self.pos)
        };
        if w == "size" {
            self.expect(Tok::Open);
            let inner = self.operand();
            self.expect(Tok::Close);
            return format!("size({inner})");
        }
        if let Some(v) = self.values.get(&w) {
            return value_text(v);
        }
        // #n0.#n1[2]: resolve each name.
        let mut out = String::new();
        for (i, part) in w.split('.').enumerate() {
            let (name, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            let resolved = self
                .names
                .get(name)
                .unwrap_or_else(|| panic!("undefined name placeholder {name}"));
            if i > 0 {
                out.push('.');
            }
            out.push_str(resolved);
            out.push_str(rest);
        }
        out
    }

    fn predicate(&mut self) -> String {
        if let (Some(Tok::Word(f)), Some(Tok::Open)) = (
            self.toks.get(self.pos).cloned(),
            self.toks.get(self.pos + 1),
        ) {
            if f != "size" {
                self.pos += 2;
                let mut args = vec![self.operand()];
                while self.toks.get(self.pos) == Some(&Tok::Comma) {
                    self.pos += 1;
                    args.push(self.operand());
                }
                self.expect(Tok::Close);
                return format!("{f}({})", args.join(", "));
            }
        }
        let left = self.operand();
        let Some(Tok::Word(op)) = self.next() else {
            panic!("operator expected")
        };
        match op.as_str() {
            "BETWEEN" => {
                let low = self.operand();
                assert!(self.peek_word("AND"));
                self.pos += 1;
                let high = self.operand();
                format!("{left} BETWEEN {low} AND {high}")
            }
            "IN" => {
                self.expect(Tok::Open);
                let mut items = vec![self.operand()];
                while self.toks.get(self.pos) == Some(&Tok::Comma) {
                    self.pos += 1;
                    items.push(self.operand());
                }
                self.expect(Tok::Close);
                format!("{left} IN ({})", items.join(", "))
            }
            cmp => format!("{left} {cmp} {}", self.operand()),
        }
    }
}

/// Every `#n`/`:v` placeholder written is defined, and every defined one is written.
fn placeholders_match(
    exprs: &[&str],
    names: &HashMap<String, String>,
    values: &HashMap<String, AttributeValue>,
) -> Result<(), String> {
    let mut used = BTreeSet::new();
    for e in exprs {
        let mut rest = *e;
        while let Some(at) = rest.find(['#', ':']) {
            let tail = &rest[at + 1..];
            let len = tail
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(tail.len());
            used.insert(rest[at..at + 1 + len].to_string());
            rest = &tail[len..];
        }
    }
    let defined: BTreeSet<String> = names.keys().chain(values.keys()).cloned().collect();
    if used == defined {
        Ok(())
    } else {
        Err(format!("used {used:?}, defined {defined:?}"))
    }
}

proptest! {
    // No regression files: they would land outside this module's directory.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn conditions_read_back_as_built(m in model()) {
        let mut ex = Expressions::new();
        let s = ex.condition(&build(&m)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (names, values) = ex.into_parts();
        placeholders_match(&[&s], &names, &values).map_err(TestCaseError::fail)?;
        let toks = tokenize(&s);
        prop_assert!(no_redundant_parens(&toks), "redundant parentheses in {}", s);
        let mut reader = Reader { toks, pos: 0, names: &names, values: &values };
        let tree = reader.or();
        prop_assert_eq!(reader.pos, reader.toks.len(), "trailing tokens in {}", s);
        prop_assert_eq!(normalize(tree), normalize(expected(&m)), "{}", s);
        // Names are shared: one placeholder per distinct name.
        let distinct: BTreeSet<&String> = names.values().collect();
        prop_assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn updates_compile_unless_paths_overlap(
        actions in prop::collection::vec((0usize..6, path()), 1..6)
    ) {
        let mut update: Option<Update> = None;
        for (kind, p) in &actions {
            let a = Attr::<AttributeValue>::at(p.clone());
            let one = match kind {
                0 => a.set(num(1)),
                1 => a.increment(num(1)),
                2 => a.set_if_not_exists(num(1)),
                3 => a.remove(),
                4 => a.add(num(1)),
                _ => a.delete(AttributeValue {
                    value: Some(Value::Ss(crate::proto::v1::StringSet { values: vec!["x".into()] })),
                }),
            };
            update = Some(match update {
                Some(u) => u.and(one),
                None => one,
            });
        }
        let Some(update) = update else { return Ok(()) };
        // The first step where two paths differ decides: a name against an index conflicts,
        // two names or two indexes diverge; no such step means one leads into the other.
        let clash = actions.iter().enumerate().any(|(i, (_, p))| {
            actions[..i].iter().any(|(_, q)| {
                match p.segments().iter().zip(q.segments()).find(|(x, y)| x != y) {
                    Some((x, y)) => std::mem::discriminant(x) != std::mem::discriminant(y),
                    None => true,
                }
            })
        });
        let mut ex = Expressions::new();
        match ex.update(&update) {
            Ok(s) => {
                prop_assert!(!clash, "{} should have been rejected", s);
                let (names, values) = ex.into_parts();
                placeholders_match(&[&s], &names, &values).map_err(TestCaseError::fail)?;
                let with_values = actions.iter().filter(|(kind, _)| *kind != 3).count();
                prop_assert_eq!(values.len(), with_values, "one value per action but REMOVE: {}", s);
            }
            Err(Error::Validation { message }) => {
                prop_assert!(clash, "unexpected rejection: {}", message);
                let (names, values) = ex.into_parts();
                prop_assert!(names.is_empty() && values.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }
}
