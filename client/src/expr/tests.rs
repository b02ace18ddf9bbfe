//! Table tests of the compiled expressions: exact strings, name maps and value maps.
//!
//! Values are raw `AttributeValue`s (accepted by every typed attribute), so these tests do
//! not depend on the serde serializer; `serialized_values` covers that path.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::*;
use crate::proto::v1::attribute_value::Value;
use crate::proto::v1::{ListValue, NumberSet, StringSet};
use crate::value::ValueError;

fn s(x: &str) -> AttributeValue {
    AttributeValue {
        value: Some(Value::S(x.into())),
    }
}

fn n(x: &str) -> AttributeValue {
    AttributeValue {
        value: Some(Value::N(x.into())),
    }
}

fn l(items: Vec<AttributeValue>) -> AttributeValue {
    AttributeValue {
        value: Some(Value::L(ListValue { values: items })),
    }
}

fn ss(items: &[&str]) -> AttributeValue {
    AttributeValue {
        value: Some(Value::Ss(StringSet {
            values: items.iter().map(|x| x.to_string()).collect(),
        })),
    }
}

/// The maps a compile step should have produced: `#n{i}` = names[i], `:v{i}` = values[i].
fn assert_maps(ex: Expressions, names: &[&str], values: &[AttributeValue], label: &str) {
    let (got_names, got_values) = ex.into_parts();
    let want_names: HashMap<String, String> = names
        .iter()
        .enumerate()
        .map(|(i, x)| (format!("#n{i}"), x.to_string()))
        .collect();
    let want_values: HashMap<String, AttributeValue> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!(":v{i}"), v.clone()))
        .collect();
    assert_eq!(got_names, want_names, "names of {label}");
    assert_eq!(got_values, want_values, "values of {label}");
}

struct Case<B> {
    label: &'static str,
    build: B,
    expr: &'static str,
    names: &'static [&'static str],
    values: Vec<AttributeValue>,
}

fn case<B>(
    label: &'static str,
    build: B,
    expr: &'static str,
    names: &'static [&'static str],
    values: Vec<AttributeValue>,
) -> Case<B> {
    Case {
        label,
        build,
        expr,
        names,
        values,
    }
}

#[test]
fn conditions() {
    let a = attr::<u64>("a");
    let b = attr::<u64>("b");
    let st = attr::<String>("status");
    let tags = attr::<Vec<String>>("tags");
    let raw = attr::<AttributeValue>("raw");
    let st_size = st.size();
    let cases = vec![
        case("eq", a.eq(n("1")), "#n0 = :v0", &["a"], vec![n("1")]),
        case("ne", a.ne(n("1")), "#n0 <> :v0", &["a"], vec![n("1")]),
        case("lt", a.lt(n("1")), "#n0 < :v0", &["a"], vec![n("1")]),
        case("le", a.le(n("1")), "#n0 <= :v0", &["a"], vec![n("1")]),
        case("gt", a.gt(n("1")), "#n0 > :v0", &["a"], vec![n("1")]),
        case("ge", a.ge(n("1")), "#n0 >= :v0", &["a"], vec![n("1")]),
        case("raw attr", raw.eq(s("x")), "#n0 = :v0", &["raw"], vec![s("x")]),
        case("raw by ref", raw.eq(&s("x")), "#n0 = :v0", &["raw"], vec![s("x")]),
        case("attr vs attr", a.lt(&b), "#n0 < #n1", &["a", "b"], vec![]),
        case("attr by value", a.lt(b.clone()), "#n0 < #n1", &["a", "b"], vec![]),
        case(
            "between",
            a.between(n("1"), n("9")),
            "#n0 BETWEEN :v0 AND :v1",
            &["a"],
            vec![n("1"), n("9")],
        ),
        case(
            "between attrs",
            a.between(&b, attr::<u64>("c")),
            "#n0 BETWEEN #n1 AND #n2",
            &["a", "b", "c"],
            vec![],
        ),
        case(
            "in",
            st.in_list([s("A"), s("B"), s("C")]),
            "#n0 IN (:v0, :v1, :v2)",
            &["status"],
            vec![s("A"), s("B"), s("C")],
        ),
        case("in one", st.in_list(vec![s("A")]), "#n0 IN (:v0)", &["status"], vec![s("A")]),
        case("exists", st.exists(), "attribute_exists(#n0)", &["status"], vec![]),
        case("not exists", st.not_exists(), "attribute_not_exists(#n0)", &["status"], vec![]),
        case(
            "type",
            st.is_type(AttributeType::Ss),
            "attribute_type(#n0, :v0)",
            &["status"],
            vec![s("SS")],
        ),
        case(
            "begins_with",
            st.begins_with(s("OR")),
            "begins_with(#n0, :v0)",
            &["status"],
            vec![s("OR")],
        ),
        case(
            "contains string",
            st.contains(s("x")),
            "contains(#n0, :v0)",
            &["status"],
            vec![s("x")],
        ),
        case(
            "contains element",
            tags.contains(s("red")),
            "contains(#n0, :v0)",
            &["tags"],
            vec![s("red")],
        ),
        case(
            "contains attr",
            tags.contains(&st),
            "contains(#n0, #n1)",
            &["tags", "status"],
            vec![],
        ),
        case("size", tags.size().gt(n("3")), "size(#n0) > :v0", &["tags"], vec![n("3")]),
        case("size eq", tags.size().eq(n("3")), "size(#n0) = :v0", &["tags"], vec![n("3")]),
        case("size ne", tags.size().ne(n("3")), "size(#n0) <> :v0", &["tags"], vec![n("3")]),
        case("size lt", tags.size().lt(n("3")), "size(#n0) < :v0", &["tags"], vec![n("3")]),
        case("size le", tags.size().le(n("3")), "size(#n0) <= :v0", &["tags"], vec![n("3")]),
        case("size ge", tags.size().ge(&a), "size(#n0) >= #n1", &["tags", "a"], vec![]),
        case(
            "size between",
            tags.size().between(n("1"), n("2")),
            "size(#n0) BETWEEN :v0 AND :v1",
            &["tags"],
            vec![n("1"), n("2")],
        ),
        case(
            "size in",
            tags.size().in_list([n("1"), n("2")]),
            "size(#n0) IN (:v0, :v1)",
            &["tags"],
            vec![n("1"), n("2")],
        ),
        case(
            "attr vs size",
            a.le(st.size()),
            "#n0 <= size(#n1)",
            &["a", "status"],
            vec![],
        ),
        case(
            "size vs size",
            tags.size().lt(&st_size),
            "size(#n0) < size(#n1)",
            &["tags", "status"],
            vec![],
        ),
        // Nested paths: one placeholder per name, literal indexes, reused names.
        case(
            "nested",
            attr::<()>("a").field::<()>("b").index::<()>(2).field::<u64>("c").eq(n("1")),
            "#n0.#n1[2].#n2 = :v0",
            &["a", "b", "c"],
            vec![n("1")],
        ),
        case(
            "same name at two depths",
            attr::<()>("a").field::<u64>("a").eq(&a),
            "#n0.#n0 = #n0",
            &["a"],
            vec![],
        ),
        case(
            "dots and reserved words are literal",
            attr::<String>("order.status").eq(attr::<String>("name")),
            "#n0 = #n1",
            &["order.status", "name"],
            vec![],
        ),
        case(
            "parsed path",
            Attr::<u64>::at(Path::parse("m.list[0][1]").unwrap_or_else(|e| panic!("{e}")))
                .exists(),
            "attribute_exists(#n0.#n1[0][1])",
            &["m", "list"],
            vec![],
        ),
        // Logic and precedence.
        case(
            "and",
            a.eq(n("1")) & b.eq(n("2")),
            "#n0 = :v0 AND #n1 = :v1",
            &["a", "b"],
            vec![n("1"), n("2")],
        ),
        case(
            "or",
            a.eq(n("1")) | b.eq(n("2")),
            "#n0 = :v0 OR #n1 = :v1",
            &["a", "b"],
            vec![n("1"), n("2")],
        ),
        case("not", !a.exists(), "NOT attribute_exists(#n0)", &["a"], vec![]),
        case(
            "not of comparison",
            a.eq(n("1")).not(),
            "NOT #n0 = :v0",
            &["a"],
            vec![n("1")],
        ),
        case("double not cancels", !!a.exists(), "attribute_exists(#n0)", &["a"], vec![]),
        case(
            "and chains flatten",
            a.exists().and(b.exists()).and(st.exists()),
            "attribute_exists(#n0) AND attribute_exists(#n1) AND attribute_exists(#n2)",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "and of ands flattens",
            (a.exists() & b.exists()) & (st.exists() & tags.exists()),
            "attribute_exists(#n0) AND attribute_exists(#n1) AND attribute_exists(#n2) AND attribute_exists(#n3)",
            &["a", "b", "status", "tags"],
            vec![],
        ),
        case(
            "or inside and keeps its parentheses",
            (a.exists() | b.exists()) & st.exists(),
            "(attribute_exists(#n0) OR attribute_exists(#n1)) AND attribute_exists(#n2)",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "and inside or is parenthesized for clarity",
            a.exists() | (b.exists() & st.exists()),
            "attribute_exists(#n0) OR (attribute_exists(#n1) AND attribute_exists(#n2))",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "operators group like Rust: & before |",
            a.exists() | b.exists() & st.exists(),
            "attribute_exists(#n0) OR (attribute_exists(#n1) AND attribute_exists(#n2))",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "not of and",
            !(a.exists() & b.exists()),
            "NOT (attribute_exists(#n0) AND attribute_exists(#n1))",
            &["a", "b"],
            vec![],
        ),
        case(
            "not of or inside and",
            !(a.exists() | b.exists()) & st.exists(),
            "NOT (attribute_exists(#n0) OR attribute_exists(#n1)) AND attribute_exists(#n2)",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "between inside and",
            a.between(n("1"), n("2")) & b.eq(n("3")),
            "#n0 BETWEEN :v0 AND :v1 AND #n1 = :v2",
            &["a", "b"],
            vec![n("1"), n("2"), n("3")],
        ),
        case(
            "deep nesting",
            ((a.exists() | b.exists()) & !(st.exists() | tags.exists())) | raw.exists(),
            "((attribute_exists(#n0) OR attribute_exists(#n1)) AND NOT (attribute_exists(#n2) OR attribute_exists(#n3))) OR attribute_exists(#n4)",
            &["a", "b", "status", "tags", "raw"],
            vec![],
        ),
        case(
            "all",
            Condition::all([a.exists(), b.exists(), st.exists()]).unwrap_or_else(|| a.exists()),
            "attribute_exists(#n0) AND attribute_exists(#n1) AND attribute_exists(#n2)",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "any",
            Condition::any([a.exists(), b.exists() & st.exists()]).unwrap_or_else(|| a.exists()),
            "attribute_exists(#n0) OR (attribute_exists(#n1) AND attribute_exists(#n2))",
            &["a", "b", "status"],
            vec![],
        ),
        case(
            "all of one",
            Condition::all([a.exists()]).unwrap_or_else(|| b.exists()),
            "attribute_exists(#n0)",
            &["a"],
            vec![],
        ),
        case(
            "values are not deduplicated",
            a.eq(n("1")) | b.eq(n("1")),
            "#n0 = :v0 OR #n1 = :v1",
            &["a", "b"],
            vec![n("1"), n("1")],
        ),
    ];
    for c in cases {
        let mut ex = Expressions::new();
        let got = ex
            .condition(&c.build)
            .unwrap_or_else(|e| panic!("{}: {e}", c.label));
        assert_eq!(got, c.expr, "{}", c.label);
        assert_maps(ex, c.names, &c.values, c.label);
    }
}

#[test]
fn empty_all_and_any_are_none() {
    assert!(Condition::all(Vec::new()).is_none());
    assert!(Condition::any(std::iter::empty()).is_none());
    assert!(Update::all(Vec::new()).is_none());
}

#[test]
fn updates() {
    let a = attr::<u64>("a");
    let b = attr::<u64>("b");
    let list = attr::<Vec<String>>("list");
    let tags = attr::<HashSet<String>>("tags");
    let m = attr::<()>("m");
    let cases =
        vec![
        case("set", a.set(n("1")), "SET #n0 = :v0", &["a"], vec![n("1")]),
        case("set from attr", a.set(&b), "SET #n0 = #n1", &["a", "b"], vec![]),
        case(
            "set nested",
            m.field::<u64>("x").index::<u64>(3).set(n("1")),
            "SET #n0.#n1[3] = :v0",
            &["m", "x"],
            vec![n("1")],
        ),
        case(
            "set if not exists",
            a.set_if_not_exists(n("0")),
            "SET #n0 = if_not_exists(#n0, :v0)",
            &["a"],
            vec![n("0")],
        ),
        case(
            "increment",
            a.increment(n("2")),
            "SET #n0 = #n0 + :v0",
            &["a"],
            vec![n("2")],
        ),
        case(
            "decrement",
            a.decrement(n("2")),
            "SET #n0 = #n0 - :v0",
            &["a"],
            vec![n("2")],
        ),
        case(
            "set_to plus",
            a.set_to(a.plus(n("1"))),
            "SET #n0 = #n0 + :v0",
            &["a"],
            vec![n("1")],
        ),
        case(
            "set_to other attrs",
            a.set_to(b.minus(attr::<u64>("c"))),
            "SET #n0 = #n1 - #n2",
            &["a", "b", "c"],
            vec![],
        ),
        case(
            "counter from zero",
            a.set_to(a.if_not_exists(n("0")).plus(n("1"))),
            "SET #n0 = if_not_exists(#n0, :v0) + :v1",
            &["a"],
            vec![n("0"), n("1")],
        ),
        case(
            "set_to operand",
            a.set_to(b.if_not_exists(n("0"))),
            "SET #n0 = if_not_exists(#n1, :v0)",
            &["a", "b"],
            vec![n("0")],
        ),
        case(
            "if_not_exists default from attr",
            a.set(a.if_not_exists(&b)),
            "SET #n0 = if_not_exists(#n0, #n1)",
            &["a", "b"],
            vec![],
        ),
        case(
            "append",
            list.append(l(vec![s("x")])),
            "SET #n0 = list_append(#n0, :v0)",
            &["list"],
            vec![l(vec![s("x")])],
        ),
        case(
            "prepend",
            list.prepend(l(vec![s("x")])),
            "SET #n0 = list_append(:v0, #n0)",
            &["list"],
            vec![l(vec![s("x")])],
        ),
        case(
            "append to a list that may be missing",
            list.set(Operand::list_append(
                list.if_not_exists(l(vec![])),
                l(vec![s("x")]),
            )),
            "SET #n0 = list_append(if_not_exists(#n0, :v0), :v1)",
            &["list"],
            vec![l(vec![]), l(vec![s("x")])],
        ),
        case("remove", a.remove(), "REMOVE #n0", &["a"], vec![]),
        case(
            "remove list element",
            list.index::<String>(1).remove(),
            "REMOVE #n0[1]",
            &["list"],
            vec![],
        ),
        case("add number", a.add(n("5")), "ADD #n0 :v0", &["a"], vec![n("5")]),
        case(
            "add set",
            tags.add(ss(&["x", "y"])),
            "ADD #n0 :v0",
            &["tags"],
            vec![ss(&["x", "y"])],
        ),
        case(
            "add list becomes set",
            tags.add(l(vec![s("x"), s("y"), s("x")])),
            "ADD #n0 :v0",
            &["tags"],
            vec![ss(&["x", "y"])],
        ),
        case(
            "delete set",
            tags.delete(ss(&["x"])),
            "DELETE #n0 :v0",
            &["tags"],
            vec![ss(&["x"])],
        ),
        case(
            "delete number list becomes number set",
            attr::<BTreeSet<u32>>("ns").delete(l(vec![n("1"), n("2")])),
            "DELETE #n0 :v0",
            &["ns"],
            vec![AttributeValue {
                value: Some(Value::Ns(NumberSet {
                    values: vec!["1".into(), "2".into()],
                })),
            }],
        ),
        case(
            "several sets",
            a.set(n("1")).and(b.set(n("2"))),
            "SET #n0 = :v0, #n1 = :v1",
            &["a", "b"],
            vec![n("1"), n("2")],
        ),
        case(
            "clauses are grouped in SET REMOVE ADD DELETE order",
            tags.delete(ss(&["z"]))
                .and(a.remove())
                .and(b.set(n("1")))
                .and(attr::<u64>("c").add(n("2")))
                .and(list.append(l(vec![])))
                .and(attr::<u64>("d").remove()),
            "SET #n0 = :v0, #n1 = list_append(#n1, :v1) REMOVE #n2, #n3 ADD #n4 :v2 DELETE #n5 :v3",
            &["b", "list", "a", "d", "c", "tags"],
            vec![n("1"), l(vec![]), n("2"), ss(&["z"])],
        ),
        case(
            "update all",
            Update::all([a.remove(), b.set(n("1"))]).unwrap_or_else(|| a.remove()),
            "SET #n0 = :v0 REMOVE #n1",
            &["b", "a"],
            vec![n("1")],
        ),
        case(
            "siblings and distinct list elements do not overlap",
            m.field::<u64>("x")
                .set(n("1"))
                .and(m.field::<u64>("y").remove())
                .and(list.index::<String>(0).set(s("a")))
                .and(list.index::<String>(1).remove()),
            "SET #n0.#n1 = :v0, #n2[0] = :v1 REMOVE #n0.#n3, #n2[1]",
            &["m", "x", "list", "y"],
            vec![n("1"), s("a")],
        ),
    ];
    for c in cases {
        let mut ex = Expressions::new();
        let got = ex
            .update(&c.build)
            .unwrap_or_else(|e| panic!("{}: {e}", c.label));
        assert_eq!(got, c.expr, "{}", c.label);
        assert_maps(ex, c.names, &c.values, c.label);
    }
}

#[test]
fn key_conditions() {
    let pk = attr::<String>("pk");
    let sk = attr::<String>("sk");
    let n_sk = attr::<u64>("n");
    let part = || KeyCondition::partition(&pk, s("C#1"));
    let cases = vec![
        case(
            "partition only",
            part(),
            "#n0 = :v0",
            &["pk"],
            vec![s("C#1")],
        ),
        case(
            "sort eq",
            part().sort_eq(&sk, s("x")),
            "#n0 = :v0 AND #n1 = :v1",
            &["pk", "sk"],
            vec![s("C#1"), s("x")],
        ),
        case(
            "sort lt",
            part().sort_lt(&n_sk, n("5")),
            "#n0 = :v0 AND #n1 < :v1",
            &["pk", "n"],
            vec![s("C#1"), n("5")],
        ),
        case(
            "sort le",
            part().sort_le(&n_sk, n("5")),
            "#n0 = :v0 AND #n1 <= :v1",
            &["pk", "n"],
            vec![s("C#1"), n("5")],
        ),
        case(
            "sort gt",
            part().sort_gt(&n_sk, n("5")),
            "#n0 = :v0 AND #n1 > :v1",
            &["pk", "n"],
            vec![s("C#1"), n("5")],
        ),
        case(
            "sort ge",
            part().sort_ge(n_sk.clone(), n("5")),
            "#n0 = :v0 AND #n1 >= :v1",
            &["pk", "n"],
            vec![s("C#1"), n("5")],
        ),
        case(
            "sort between",
            part().sort_between(&sk, s("a"), s("b")),
            "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2",
            &["pk", "sk"],
            vec![s("C#1"), s("a"), s("b")],
        ),
        case(
            "sort begins_with",
            part().sort_begins_with(&sk, s("ORDER#")),
            "#n0 = :v0 AND begins_with(#n1, :v1)",
            &["pk", "sk"],
            vec![s("C#1"), s("ORDER#")],
        ),
        case(
            "a later sort condition replaces an earlier one",
            part().sort_eq(&sk, s("x")).sort_gt(&sk, s("y")),
            "#n0 = :v0 AND #n1 > :v1",
            &["pk", "sk"],
            vec![s("C#1"), s("y")],
        ),
    ];
    for c in cases {
        let mut ex = Expressions::new();
        let got = ex
            .key_condition(&c.build)
            .unwrap_or_else(|e| panic!("{}: {e}", c.label));
        assert_eq!(got, c.expr, "{}", c.label);
        assert_maps(ex, c.names, &c.values, c.label);
    }
}

#[test]
fn projections() {
    let a = attr::<u64>("a");
    let p = |t: &str| Path::parse(t).unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<(&str, Projection, &str, &[&str])> = vec![
        ("empty", Projection::new(), "", &[]),
        ("one", Projection::new().with(&a), "#n0", &["a"]),
        (
            "mixed types and paths",
            Projection::new()
                .with(&a)
                .with(attr::<String>("status"))
                .with(p("m.x[2].y")),
            "#n0, #n1, #n2.#n3[2].#n4",
            &["a", "status", "m", "x", "y"],
        ),
        (
            "of and reuse",
            Projection::of([p("m.a"), p("a"), p("m.b")]),
            "#n0.#n1, #n1, #n0.#n2",
            &["m", "a", "b"],
        ),
        (
            "repeats and covered paths are dropped",
            Projection::of([p("m.a"), p("b"), p("m"), p("b"), p("m.c[1]")]),
            "#n0, #n1",
            &["b", "m"],
        ),
        (
            "collect",
            ["x", "y"].into_iter().map(Path::new).collect(),
            "#n0, #n1",
            &["x", "y"],
        ),
    ];
    for (label, projection, want, names) in cases {
        let mut ex = Expressions::new();
        assert_eq!(ex.projection(&projection), want, "{label}");
        assert_maps(ex, names, &[], label);
    }
    let mut extended = Projection::new();
    assert!(extended.is_empty());
    extended.extend([&a, &a]);
    assert_eq!(extended.paths().len(), 2);
}

#[test]
fn placeholders_are_shared_across_one_request() {
    let pk = attr::<String>("pk");
    let status = attr::<String>("status");
    let total = attr::<u64>("total");
    let mut ex = Expressions::new();
    let key = ex
        .key_condition(&KeyCondition::partition(&pk, s("P")))
        .unwrap_or_else(|e| panic!("{e}"));
    let filter = ex
        .filter(&(status.eq(s("OPEN")) & total.gt(n("5"))))
        .unwrap_or_else(|e| panic!("{e}"));
    let projection = ex.projection(&Projection::new().with(&status).with(&pk));
    assert_eq!(key, "#n0 = :v0");
    assert_eq!(filter, "#n1 = :v1 AND #n2 > :v2");
    assert_eq!(projection, "#n1, #n0");
    assert_maps(
        ex,
        &["pk", "status", "total"],
        &[s("P"), s("OPEN"), n("5")],
        "request",
    );
}

fn validation_message(result: Result<String, Error>) -> String {
    match result {
        Err(Error::Validation { message }) => message,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn rejected_updates() {
    let a = attr::<u64>("a");
    let m = attr::<()>("m");
    let list = attr::<Vec<u64>>("list");
    let cases: Vec<(&str, Update, &str)> = vec![
        (
            "same path twice",
            a.set(n("1")).and(a.remove()),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "path inside another",
            m.field::<u64>("x").set(n("1")).and(m.remove()),
            // Reported in clause order: the SET comes first.
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m, x], path two: [m]",
        ),
        (
            "list index against map key",
            m.index::<u64>(0).set(n("1")).and(m.field::<u64>("x").set(n("2"))),
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [m, [0]], path two: [m, x]",
        ),
        (
            "size in an update",
            a.set(list.size()),
            "Invalid UpdateExpression: The function is not allowed in an update expression; function: size",
        ),
        (
            "list_append nested in if_not_exists",
            list.set(list.if_not_exists(Operand::list_append(&list, l(vec![])))),
            "Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append",
        ),
    ];
    for (label, update, want) in cases {
        let mut ex = Expressions::new();
        assert_eq!(validation_message(ex.update(&update)), want, "{label}");
        assert_maps(ex, &[], &[], label);
    }
}

#[test]
fn rejected_conditions() {
    let a = attr::<u64>("a");
    let list = attr::<Vec<u64>>("list");
    let cases: Vec<(&str, Condition, &str)> = vec![
        (
            "empty IN",
            a.in_list(Vec::<AttributeValue>::new()),
            "Invalid ConditionExpression: The IN operator needs at least one operand",
        ),
        (
            "if_not_exists in a condition",
            a.eq(a.if_not_exists(n("1"))),
            "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists",
        ),
        (
            "list_append in a condition",
            list.eq(Operand::list_append(&list, l(vec![]))),
            "Invalid ConditionExpression: The function is not allowed in a condition expression; function: list_append",
        ),
    ];
    for (label, cond, want) in cases {
        let mut ex = Expressions::new();
        assert_eq!(validation_message(ex.condition(&cond)), want, "{label}");
    }
    let mut ex = Expressions::new();
    assert_eq!(
        validation_message(ex.filter(&a.in_list(Vec::<AttributeValue>::new()))),
        "Invalid FilterExpression: The IN operator needs at least one operand"
    );
}

/// A value that failed to convert surfaces at compile time as `Error::Value`, and the
/// failed step leaves no placeholders behind.
#[test]
fn conversion_errors_surface_when_compiled() {
    let a = attr::<u64>("a");
    let b = attr::<u64>("b");
    let bad =
        || -> Operand<u64> { Operand::new(Op::Value(Err(ValueError::Message("bad".into())))) };
    let mut ex = Expressions::new();
    let ok = ex.condition(&b.exists()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok, "attribute_exists(#n0)");
    let failures: Vec<Result<String, Error>> = vec![
        ex.condition(&(a.eq(n("1")) & attr::<u64>("c").eq(bad()))),
        ex.filter(&a.between(n("1"), bad())),
        ex.update(&a.set(n("1")).and(attr::<u64>("c").set(bad()))),
        ex.update(&attr::<Vec<u64>>("set").add(l(vec![]))),
        ex.key_condition(&KeyCondition {
            partition: (Path::new("pk"), Err(ValueError::Message("bad".into()))),
            sort: None,
        }),
    ];
    for (i, f) in failures.into_iter().enumerate() {
        match f {
            Err(Error::Value(ValueError::Message(m))) => {
                assert!(m == "bad" || m.contains("non-empty set"), "case {i}: {m}")
            }
            other => panic!("case {i}: expected a value error, got {other:?}"),
        }
    }
    // Only the successful step's placeholders remain.
    assert_maps(ex, &["b"], &[], "after failures");
}

/// Typed Rust values go through `crate::value::to_attribute_value`; these pass once the
/// serializer is in place.
#[test]
fn serialized_values() {
    let status = attr::<String>("status");
    let total = attr::<u64>("total");
    let tags = attr::<HashSet<String>>("tags");
    let owned = String::from("B");
    let limit = 7u64;
    let set: HashSet<String> = ["x".to_string()].into();
    let cond = status.eq("A")
        & status.ne(owned.clone())
        & status.ne(&owned)
        & total.gt(5)
        & total.lt(&limit)
        & attr::<f64>("ratio").le(0.5)
        & attr::<Vec<String>>("list").contains("x")
        & status.in_list(["A", "B"]);
    let mut ex = Expressions::new();
    let got = ex.condition(&cond).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        "#n0 = :v0 AND #n0 <> :v1 AND #n0 <> :v2 AND #n1 > :v3 AND #n1 < :v4 AND #n2 <= :v5 AND contains(#n3, :v6) AND #n0 IN (:v7, :v8)"
    );
    let update = tags.add(&set).and(total.increment(1));
    assert_eq!(
        ex.update(&update).unwrap_or_else(|e| panic!("{e}")),
        "SET #n1 = #n1 + :v9 ADD #n4 :v10"
    );
    let (_, values) = ex.into_parts();
    assert_eq!(values[":v0"], s("A"));
    assert_eq!(values[":v2"], s("B"));
    assert_eq!(values[":v3"], n("5"));
    assert_eq!(values[":v4"], n("7"));
    assert_eq!(values[":v9"], n("1"));
    assert_eq!(values[":v10"], ss(&["x"]));
}
