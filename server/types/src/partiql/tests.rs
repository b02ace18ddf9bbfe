//! The parser and planner on their own: statements in, trees or DynamoDB's messages out.

use super::ast::*;
use super::*;
use crate::expr::DocumentPath;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(crate::model::Number::parse(v).unwrap())
}

/// The error a statement answers, from parsing or from planning it on a table keyed
/// `pk`, `sk`.
fn message(src: &str, params: &[AttributeValue]) -> String {
    let statement = match parse(src, params) {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let mut c = cmd("SELECT * FROM t");
    c.statement = statement;
    match plan(&c, keys("pk", Some("sk"))) {
        Ok(p) => panic!("{src} planned: {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn statements_parse() {
    let cases: &[&str] = &[
        "SELECT * FROM Music",
        "select * from \"Music\".\"ByYear\" where \"year\" = 2020 order by title desc",
        "SELECT a, b.c, l[1], \"d e\" FROM t WHERE pk = 'x' AND sk BETWEEN 1 AND 5",
        "SELECT * FROM t WHERE pk IN ['a', 'b'] OR NOT x IS MISSING",
        "SELECT * FROM t WHERE begins_with(sk, 'a') AND size(l) > 2 AND x IS NOT NULL",
        "INSERT INTO t VALUE {'pk': 'a', 'm': {'n': [1, -2.5e3, true, null]}, 's': <<'a','b'>>}",
        "UPDATE t SET a = a + 1 SET l = list_append(l, [1]) REMOVE b, c.d WHERE pk = 'a' RETURNING ALL NEW *",
        "UPDATE t SET s = set_add(s, <<1>>), x = 'it''s' WHERE pk = ? AND sk = ?",
        "DELETE FROM t WHERE pk = 'a' AND sk = 1 RETURNING ALL OLD *",
        "EXISTS(SELECT * FROM t WHERE pk = 'a' AND x = 1)",
        "SELECT * FROM t -- a comment\n WHERE /* here */ pk = 'a';",
    ];
    for src in cases {
        let params = vec![s("p"); src.matches('?').count()];
        if let Err(e) = parse(src, &params) {
            panic!("{src}: {e}");
        }
    }
}

#[test]
fn literals_and_parameters_bind() {
    let st = parse(
        "INSERT INTO t VALUE {'pk': ?, 'n': -1.50, 'q': 'it''s', 'ns': <<1, 2>>}",
        &[s("a")],
    )
    .unwrap();
    let Statement::Insert(i) = st else { panic!() };
    let AttributeValue::M(item) = bind::value(&i.value).unwrap() else {
        panic!()
    };
    assert_eq!(item["pk"], s("a"));
    assert_eq!(item["n"], n("-1.5"));
    assert_eq!(item["q"], s("it's"));
    assert_eq!(
        item["ns"],
        AttributeValue::Ns(vec![
            crate::model::Number::parse("1").unwrap(),
            crate::model::Number::parse("2").unwrap()
        ])
    );
}

#[test]
fn errors_name_the_problem() {
    let cases: &[(&str, usize, &str)] = &[
        ("SELECT FROM t", 0, "processed: Unexpected keyword"),
        ("SELECT * FROM", 0, "processed: Unexpected term"),
        ("SELECT * FROM t WHERE value = 1", 0, "processed: Unexpected keyword"),
        ("SELECT * FROM t WHERE pk = 'a' AND", 0, "processed: Missing right-hand side expression of infix operator"),
        ("SELECT * FROM t WHERE IS NULL", 0, "processed: Unexpected operator"),
        ("SELECT * FROM t WHERE x IS FOO", 0, "processed: Expected type name"),
        ("SELECT * FROM t WHERE pk = 1 foo", 0, "processed: Unexpected token after expression"),
        ("DELETE FROM WHERE pk = 'a'", 0, "processed: Expected identifier for simple path"),
        ("GRANT x", 0, "processed: Expected data manipulation"),
        ("SELECT * FROM t WHERE pk = ?", 0, "Number of parameters in request and statement don't match."),
        ("SELECT * FROM t WHERE # = 1", 0, "Statement wasn't well formed, can't be processed: "),
        ("SELECT * FROM t WHERE x = MISSING", 0, "MISSING must be compared using IS operator"),
        ("SELECT * FROM t WHERE exists(x)", 0, "Unrecognized function: exists"),
        ("SELECT * FROM t, u", 0, "Only select from a single table or index is supported."),
        ("SELECT * FROM t AS x", 0, "Aliasing is not supported"),
        ("UPDATE t.i SET a = 1 WHERE pk = 'a'", 0, "This operation is not supported on an index"),
        ("INSERT INTO t.i VALUE {'pk': 'a'}", 0, "FROM clause may only contain a single table name"),
        ("DELETE FROM t WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *", 0,
            "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."),
        ("UPDATE t SET a = 1 WHERE pk = 'a' AND sk = 1 AND pk = 'b'", 0,
            "Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported"),
        ("", 0, "Member must have length greater than or equal to 1"),
    ];
    for (src, params, want) in cases {
        let got = message(src, &vec![s("p"); *params]);
        assert!(got.contains(want), "{src}: {got}");
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let src = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    let got = message(&src, &[]);
    assert!(got.contains("maximum depth"), "{got}");
    let src = format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(1500));
    assert!(message(&src, &[]).contains("maximum depth"));
    let src = format!("INSERT INTO t VALUE {}", "[".repeat(3000));
    assert!(message(&src, &[]).contains("maximum depth"));
    // A long chain within the length limit is a deep tree, and still plans.
    let src = format!("SELECT * FROM t WHERE a = 1{}", " AND a = 1".repeat(800));
    assert!(plan(&cmd(&src), keys("pk", None)).is_ok());
}

fn cmd(src: &str) -> ExecuteStatement {
    ExecuteStatement {
        statement: parse(src, &[]).unwrap(),
        consistent: false,
        limit: None,
        next: None,
        capacity: ReturnCapacity::None,
        item_on_failure: false,
    }
}

fn keys(pk: &str, sk: Option<&str>) -> Option<KeyNames> {
    Some((pk.to_string(), sk.map(str::to_string)))
}

#[test]
fn selects_plan_by_key() {
    let k = || keys("pk", Some("sk"));
    let kind = |src: &str| match plan(&cmd(src), k()).unwrap() {
        Plan::Get(_) => "get".to_string(),
        Plan::Query { queries, .. } => format!("query{}", queries.len()),
        Plan::Scan(_) => "scan".into(),
        other => format!("{other:?}"),
    };
    assert_eq!(kind("SELECT * FROM t WHERE pk = 'a' AND sk = 1"), "get");
    assert_eq!(kind("SELECT * FROM t WHERE 'a' = pk AND sk = 1"), "get");
    assert_eq!(kind("SELECT * FROM t WHERE pk = 'a'"), "query1");
    assert_eq!(
        kind("SELECT * FROM t WHERE pk = 'a' AND sk > 1 AND sk < 5"),
        "query1"
    );
    assert_eq!(
        kind("SELECT * FROM t WHERE pk = 'a' AND sk = 1 AND x = 2"),
        "query1"
    );
    assert_eq!(
        kind("SELECT * FROM t WHERE pk IN ['a', 'b', 'c']"),
        "query3"
    );
    assert_eq!(kind("SELECT * FROM t WHERE pk = 'a' OR pk = 'b'"), "query2");
    assert_eq!(kind("SELECT * FROM t WHERE pk = 'a' OR sk = 1"), "scan");
    assert_eq!(kind("SELECT * FROM t WHERE sk = 1"), "scan");
    assert_eq!(kind("SELECT * FROM t"), "scan");
    assert_eq!(
        kind("SELECT * FROM t.i WHERE pk = 'a' AND sk = 1"),
        "query1"
    );
    let Plan::Query { queries, .. } =
        plan(&cmd("SELECT * FROM t WHERE pk = 'a' ORDER BY sk DESC"), k()).unwrap()
    else {
        panic!()
    };
    assert!(!queries[0].forward);
    // An IN's partitions in the partition key's ORDER BY direction.
    let Plan::Query { queries, .. } = plan(
        &cmd("SELECT * FROM t WHERE pk IN ['a', 'c', 'b'] ORDER BY pk DESC, sk ASC"),
        k(),
    )
    .unwrap() else {
        panic!()
    };
    let bound: Vec<_> = queries
        .iter()
        .map(|q| crate::expr::key_condition::bound_partition(&q.key_condition, "pk").cloned())
        .collect();
    assert_eq!(bound, [Some(s("c")), Some(s("b")), Some(s("a"))]);
    let err = |src: &str| plan(&cmd(src), k()).unwrap_err().to_string();
    assert!(err("SELECT * FROM t WHERE pk = 'a' ORDER BY x")
        .contains("Attribute x in ORDER BY clause must be part of the primary key"));
    assert!(err("SELECT * FROM t WHERE pk > 'a' ORDER BY sk")
        .contains("Must have at least one non-optional hash key condition"));
    assert!(err("SELECT * FROM t WHERE pk IN ['a', 'b'] ORDER BY sk")
        .contains("Must have hash key in ORDER BY clause"));
    assert!(err("SELECT * FROM t WHERE pk IN ['a', 'a']").contains("Overlapping conditions"));
    assert!(err("SELECT * FROM t WHERE pk = 'a' OR pk = 'a'").contains("Overlapping conditions"));
    assert!(err("SELECT * FROM t ORDER BY sk").contains("Must have WHERE clause"));
    assert!(err("UPDATE t SET a = 1 WHERE pk = 'a'")
        .contains("mandatory equality on all key attributes"));
    assert!(err("DELETE FROM t WHERE pk = 'a' OR sk = 1").contains("mandatory equality"));
    assert!(err("INSERT INTO t VALUE {'pk': 'a'}").contains("Missing the key sk"));
    assert!(plan(&cmd("SELECT * FROM t"), None).is_err());
}

#[test]
fn writes_plan_to_single_item_actions() {
    let k = || keys("pk", Some("sk"));
    let Plan::Update(u) = plan(
        &cmd("UPDATE t SET a = a + 1 REMOVE b WHERE pk = 'a' AND sk = 1 AND c = 2 RETURNING MODIFIED OLD *"),
        k(),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(u.key.len(), 2);
    assert_eq!(u.returns.values, crate::command::ReturnValues::UpdatedOld);
    let Some(crate::expr::Condition::And(exists, _)) = &u.condition else {
        panic!("{:?}", u.condition)
    };
    assert_eq!(
        **exists,
        crate::expr::Condition::AttributeExists(DocumentPath::attr("pk"))
    );
    let Plan::Put(p) = plan(&cmd("INSERT INTO t VALUE {'pk': 'a', 'sk': 1}"), k()).unwrap() else {
        panic!()
    };
    assert_eq!(
        p.condition,
        Some(crate::expr::Condition::AttributeNotExists(
            DocumentPath::attr("pk")
        ))
    );
    let Plan::Delete(d) = plan(&cmd("DELETE FROM t WHERE sk = 1 AND pk = 'a'"), k()).unwrap()
    else {
        panic!()
    };
    assert!(d.condition.is_none());
}

#[test]
fn next_tokens_round_trip() {
    let mut key = Item::new();
    key.insert("pk".into(), s("a"));
    let t = NextToken {
        query: 2,
        key: Some(key),
        request: 7,
    };
    assert_eq!(NextToken::decode(&t.encode()).unwrap(), t);
    assert!(NextToken::decode("not a token!").is_err());
}
