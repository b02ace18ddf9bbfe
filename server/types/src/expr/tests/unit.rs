//! Behaviour the oracle table cannot show directly: returned paths, nested projections,
//! printing, and hostile input (deep nesting, huge expressions) never panicking or
//! overflowing the stack.

use std::collections::HashMap;

use super::{item, n, s, values};
use crate::expr::legacy::{self, ExpectedAttribute};
use crate::expr::{parse, project, Condition, DocumentPath, ExpressionInput, PathElement, Printer};
use crate::model::{AttributeValue, Item};

fn cond(e: &str, v: &HashMap<String, AttributeValue>) -> Result<Condition, String> {
    let input = ExpressionInput {
        condition: Some(e),
        values: Some(v),
        ..Default::default()
    };
    parse(&input)
        .map(|x| x.condition.expect("condition"))
        .map_err(|e| e.to_string())
}

fn update(
    e: &str,
    v: Option<&HashMap<String, AttributeValue>>,
    it: &mut Item,
) -> Result<Vec<DocumentPath>, String> {
    let input = ExpressionInput {
        update: Some(e),
        values: v,
        ..Default::default()
    };
    let u = parse(&input)
        .map_err(|e| e.to_string())?
        .update
        .expect("update");
    u.apply(it).map_err(|e| e.to_string())
}

fn path(p: &str) -> DocumentPath {
    let input = ExpressionInput {
        projection: Some(p),
        ..Default::default()
    };
    parse(&input)
        .expect("path")
        .projection
        .expect("projection")
        .paths
        .remove(0)
}

fn list(v: &[AttributeValue]) -> AttributeValue {
    AttributeValue::L(v.to_vec())
}

#[test]
fn returned_paths_name_what_changed() {
    let v = values(&[(":v", n("9"))]);
    let mut it = item(&[("l", list(&[n("1"), n("2")])), ("a", n("1"))]);
    let paths = update("SET l[10] = :v, a = :v REMOVE zz", Some(&v), &mut it).expect("update");
    // The append lands at index 2 and is reported there; removing a missing attribute is no change.
    assert_eq!(paths, vec![path("a"), path("l[2]")]);
    let old = item(&[("l", list(&[n("1"), n("2")])), ("a", n("1"))]);
    assert_eq!(project(&old, &paths), item(&[("a", n("1"))]));
    assert_eq!(
        project(&it, &paths),
        item(&[("a", n("9")), ("l", list(&[n("9")]))])
    );

    let v = values(&[(":s", AttributeValue::Ss(vec!["x".into()]))]);
    let mut it = item(&[("ss", AttributeValue::Ss(vec!["x".into()]))]);
    let paths = update("DELETE ss :s", Some(&v), &mut it).expect("update");
    assert_eq!(paths, vec![path("ss")]);
    assert!(it.is_empty());
}

#[test]
fn failed_updates_change_nothing() {
    let v = values(&[(":v", n("9"))]);
    let before = item(&[("a", n("1")), ("s", s("x"))]);
    let mut it = before.clone();
    let err = update("SET a = :v, b = s + :v", Some(&v), &mut it).unwrap_err();
    assert_eq!(
        err,
        "An operand in the update expression has an incorrect data type"
    );
    assert_eq!(it, before);
}

#[test]
fn projection_keeps_nested_structure_and_list_order() {
    let it = item(&[
        (
            "l",
            list(&[
                n("0"),
                AttributeValue::M(item(&[("x", n("1")), ("y", n("2"))])),
                n("2"),
                list(&[n("5"), n("6")]),
            ]),
        ),
        (
            "m",
            AttributeValue::M(item(&[("k", n("1")), ("j", n("2"))])),
        ),
        ("a", n("1")),
    ]);
    let got = project(
        &it,
        &[
            path("l[3][1]"),
            path("l[1].y"),
            path("m.j"),
            path("zz"),
            path("a.b"),
        ],
    );
    let want = item(&[
        (
            "l",
            list(&[AttributeValue::M(item(&[("y", n("2"))])), list(&[n("6")])]),
        ),
        ("m", AttributeValue::M(item(&[("j", n("2"))]))),
    ]);
    assert_eq!(got, want);
    // Overlapping paths (as UPDATED_* may pass) keep the larger part.
    assert_eq!(
        project(&it, &[path("m.k"), path("m")]),
        item(&[("m", it["m"].clone())])
    );
}

#[test]
fn key_attributes_cannot_be_updated() {
    let v = values(&[(":v", n("1"))]);
    let input = ExpressionInput {
        update: Some("SET a = :v, #k.x = :v"),
        values: Some(&v),
        names: Some(&[("#k".to_string(), "sk".to_string())].into()),
        ..Default::default()
    };
    let u = parse(&input).expect("parse").update.expect("update");
    assert_eq!(u.check_key_attributes(&["pk"]), Ok(()));
    assert_eq!(
        u.check_key_attributes(&["pk", "sk"]).unwrap_err().to_string(),
        "One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key"
    );
}

#[test]
fn printing_round_trips() {
    let v = values(&[(":a", n("1")), (":b", s("x")), (":t", s("S"))]);
    for e in [
        "a = :a AND NOT (b < :a OR c BETWEEN :a AND :a)",
        "attribute_exists(m.k[2]) OR begins_with(s, :b) AND contains(l, :a)",
        "size(x.y) IN (:a, :a) AND attribute_type(q, :t) AND attribute_not_exists(#r)",
    ] {
        let input = ExpressionInput {
            condition: Some(e),
            values: Some(&v),
            names: if e.contains("#r") {
                Some(&[("#r".to_string(), "name".to_string())].into())
            } else {
                None
            },
            ..Default::default()
        };
        let Ok(parsed) = parse(&input) else { continue };
        let c = parsed.condition.expect("condition");
        let mut p = Printer::default();
        let text = p.condition(&c).expect("printable");
        let again = ExpressionInput {
            condition: Some(&text),
            names: Some(&p.names),
            values: Some(&p.values),
            ..Default::default()
        };
        assert_eq!(parse(&again).expect("reparse").condition, Some(c), "{text}");
    }
}

#[test]
fn hostile_input_is_rejected_without_panicking() {
    let v = values(&[(":v", n("1"))]);
    let cases = [
        "(".repeat(4000),
        "(".repeat(2000) + &")".repeat(2000),
        "size(".repeat(800) + "a" + &")".repeat(800),
        "NOT ".repeat(1000) + "a = :v",
        "a".to_string() + &"[0]".repeat(1300),
        "a = :v AND ".repeat(400) + "a = :v",
        ":v IN (".to_string() + &":v, ".repeat(1000) + ":v)",
        "\u{0}\u{ffff}é😀".repeat(100),
    ];
    for e in &cases {
        let r = cond(e, &v);
        assert!(r.is_err(), "{} accepted", &e[..20.min(e.len())]);
    }
    assert_eq!(
        cond(&("(".repeat(150) + "a = :v" + &")".repeat(150)), &v).unwrap_err(),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    assert_eq!(
        cond(&("NOT ".repeat(1000) + "a = :v"), &v).unwrap_err(),
        "Invalid ConditionExpression: The expression contains too many operators; operator count: 301"
    );
    let mut deep = n("1");
    for _ in 0..40 {
        deep = list(&[deep]);
    }
    let v = values(&[(":v", deep)]);
    assert_eq!(
        cond("a = :v", &v).unwrap_err(),
        "ExpressionAttributeValues contains invalid value: Nesting Levels have exceeded supported limits for key :v"
    );
}

#[test]
fn legacy_entries_combine_into_a_shallow_tree() {
    let expected: HashMap<String, ExpectedAttribute> = (0..5000)
        .map(|i| {
            (
                format!("a{i}"),
                ExpectedAttribute {
                    exists: Some(false),
                    ..Default::default()
                },
            )
        })
        .collect();
    let c = legacy::expected_to_condition(&expected, None).expect("condition");
    assert_eq!(c.evaluate(&Item::new()), Ok(true));
    assert_eq!(c.evaluate(&item(&[("a4999", n("1"))])), Ok(false));
    let c = legacy::expected_to_condition(&expected, Some("OR")).expect("condition");
    assert_eq!(c.evaluate(&item(&[("a1", n("1"))])), Ok(true));
    assert_eq!(
        legacy::expected_to_condition(&HashMap::new(), None),
        Ok(Condition::True)
    );
}

#[test]
fn document_paths_render_as_dynamodb_does() {
    let p = DocumentPath(vec![
        PathElement::Attr("a".into()),
        PathElement::Index(3),
        PathElement::Attr("b.c".into()),
    ]);
    assert_eq!(p.to_string(), "[a, [3], b.c]");
}
