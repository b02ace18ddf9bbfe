//! Property tests: nothing panics on any input; printing round-trips; projections keep only
//! what was asked for.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::expr::{
    parse, project, resolve, Comparator, Condition, DocumentPath, ExpressionInput, Operand,
    PathElement, Printer,
};
use crate::model::{AttributeValue, Item, Number};

fn names() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "name", "m", "l", "x.y"]).prop_map(str::to_string)
}

fn scalar() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        (-1000i64..1000).prop_map(|i| AttributeValue::N(Number::parse(&i.to_string()).expect("n"))),
        "[a-c]{0,3}".prop_map(AttributeValue::S),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(|b| AttributeValue::B(b.into())),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        prop::collection::btree_set("[a-c]{1,2}", 1..3)
            .prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
        prop::collection::btree_set(0i64..5, 1..3).prop_map(|s| AttributeValue::Ns(
            s.into_iter()
                .map(|i| Number::parse(&i.to_string()).expect("n"))
                .collect()
        )),
    ]
}

fn value() -> impl Strategy<Value = AttributeValue> {
    scalar().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            prop::collection::btree_map(names(), inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

fn items() -> impl Strategy<Value = Item> {
    prop::collection::btree_map(names(), value(), 0..5)
}

fn paths() -> impl Strategy<Value = DocumentPath> {
    (
        names(),
        prop::collection::vec(
            prop_oneof![
                names().prop_map(PathElement::Attr),
                (0usize..4).prop_map(PathElement::Index)
            ],
            0..3,
        ),
    )
        .prop_map(|(first, rest)| {
            let mut v = vec![PathElement::Attr(first)];
            v.extend(rest);
            DocumentPath(v)
        })
}

fn operands() -> impl Strategy<Value = Operand> {
    prop_oneof![
        paths().prop_map(Operand::Path),
        scalar().prop_map(Operand::Value),
        paths().prop_map(|p| Operand::Size(Box::new(Operand::Path(p)))),
    ]
}

fn comparators() -> impl Strategy<Value = Comparator> {
    prop::sample::select(vec![
        Comparator::Eq,
        Comparator::Ne,
        Comparator::Lt,
        Comparator::Le,
        Comparator::Gt,
        Comparator::Ge,
    ])
}

fn conditions() -> impl Strategy<Value = Condition> {
    let leaf = prop_oneof![
        (comparators(), operands(), operands()).prop_map(|(c, a, b)| Condition::Compare(c, a, b)),
        (operands(), operands(), operands()).prop_map(|(a, b, c)| Condition::Between(a, b, c)),
        (operands(), prop::collection::vec(operands(), 1..4))
            .prop_map(|(a, l)| Condition::In(a, l)),
        paths().prop_map(Condition::AttributeExists),
        paths().prop_map(Condition::AttributeNotExists),
        (operands(), operands()).prop_map(|(a, b)| Condition::BeginsWith(a, b)),
        (operands(), operands()).prop_map(|(a, b)| Condition::Contains(a, b)),
        (
            operands(),
            prop::sample::select(vec!["S", "N", "M", "L", "SS", "NULL", "BOOL"])
        )
            .prop_map(|(a, t)| Condition::AttributeType(
                a,
                Operand::Value(AttributeValue::S(t.into()))
            )),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Condition::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Condition::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Condition::Not(Box::new(a))),
        ]
    })
}

/// Expression text from fragments of the grammar, valid or not.
fn expression_text() -> impl Strategy<Value = String> {
    let frag = prop::sample::select(vec![
        "a",
        "b",
        "m.k",
        "l[1]",
        "l[0][2]",
        "#n",
        "#missing",
        ":v",
        ":w",
        ":missing",
        "name",
        "=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "(",
        ")",
        "(",
        ")",
        ",",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "SET",
        "REMOVE",
        "ADD",
        "DELETE",
        "+",
        "-",
        "size(",
        "attribute_exists(",
        "attribute_not_exists(",
        "attribute_type(",
        "begins_with(",
        "contains(",
        "if_not_exists(",
        "list_append(",
        "foo(",
        "[",
        "]",
        ".",
        "1",
        "\"",
        "é",
        "$",
    ]);
    prop::collection::vec(frag, 0..24).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_conditions_evaluate_without_panic(c in conditions(), it in items()) {
        let _ = c.evaluate(&it);
        prop_assert!(c.evaluate(&Item::new()).is_ok());
    }

    #[test]
    fn random_text_never_panics(text in expression_text(), it in items()) {
        let names: HashMap<String, String> = [("#n".to_string(), "a".to_string())].into();
        let values: HashMap<String, AttributeValue> = [
            (":v".to_string(), AttributeValue::N(Number::parse("1").expect("n"))),
            (":w".to_string(), AttributeValue::Ss(vec!["x".into()])),
        ].into();
        for kind in 0..3 {
            let mut input = ExpressionInput { names: Some(&names), values: Some(&values), ..Default::default() };
            match kind {
                0 => input.condition = Some(&text),
                1 => input.update = Some(&text),
                _ => input.projection = Some(&text),
            }
            if let Ok(parsed) = parse(&input) {
                if let Some(c) = parsed.condition {
                    let _ = c.evaluate(&it);
                }
                if let Some(u) = parsed.update {
                    let mut copy = it.clone();
                    let _ = u.apply(&mut copy);
                }
                if let Some(p) = parsed.projection {
                    let _ = p.apply(&it);
                }
            }
        }
    }

    #[test]
    fn printed_conditions_parse_back_to_themselves(c in conditions()) {
        let mut p = Printer::default();
        let text = p.condition(&c).expect("printable");
        let input = ExpressionInput { condition: Some(&text), names: Some(&p.names), values: Some(&p.values), ..Default::default() };
        // Some generated trees are ones DynamoDB rejects (e.g. `a = a`, `a < :bool`); the rest must round-trip.
        if let Ok(parsed) = parse(&input) {
            prop_assert_eq!(parsed.condition, Some(c), "{}", text);
        }
    }

    #[test]
    fn projection_keeps_only_requested_paths(it in items(), ps in prop::collection::vec(paths(), 1..4)) {
        let got = project(&it, &ps);
        // Only the requested top-level attributes appear, each no larger than in the item.
        for k in got.keys() {
            prop_assert!(ps.iter().any(|p| p.top() == Some(k.as_str())));
            prop_assert!(it.contains_key(k));
        }
        // Paths without list indexes keep their exact value.
        for p in ps.iter().filter(|p| p.0.iter().all(|e| matches!(e, PathElement::Attr(_)))) {
            let covered = ps.iter().any(|q| q != p && q.0.len() < p.0.len() && p.0.starts_with(&q.0));
            if !covered {
                prop_assert_eq!(resolve(&got, p), resolve(&it, p));
            }
        }
        // Projecting every top-level attribute gives the item back.
        let all: Vec<DocumentPath> = it.keys().map(|k| DocumentPath::attr(k.clone())).collect();
        prop_assert_eq!(project(&it, &all), it.clone());
    }
}
