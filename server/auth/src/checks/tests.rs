//! Each row: an action, its JSON request, and the condition keys IAM must see.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::*;

/// Table `Tab` keyed by `pk`/`sk`, with index `I` keyed by `gpk`.
struct Fake;

impl Schemas for Fake {
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)> {
        match (table, index) {
            ("Tab", None) => Some(("pk".into(), Some("sk".into()))),
            ("Tab", Some("I")) => Some(("gpk".into(), None)),
            _ => None,
        }
    }
    fn table_arn(&self, table: &str) -> String {
        format!("arn:aws:dynamodb:r:1:table/{table}")
    }
    fn stream_arn_of_iterator(&self, _: &str) -> Option<String> {
        Some("arn:aws:dynamodb:r:1:table/Tab/stream/L".into())
    }
    fn stream_arn(&self, _: &str) -> Option<String> {
        None
    }
}

/// The checks of a JSON request, computed as the server computes them: on what it decodes
/// into.
fn checks_of<T: DeserializeOwned + command::Decode>(action: &'static str, body: Value) -> Vec<Check>
where
    T::Command: Authorize,
{
    let input: T = serde_json::from_value(body).unwrap();
    input.decode().checks(action, &Fake)
}

/// A check as comparable JSON: absent keys are left out.
fn view(c: &Check) -> Value {
    let mut v = json!({ "action": c.action, "resource": c.resource });
    let sorted = |l: &Option<Vec<String>>| {
        l.clone().map(|mut l| {
            l.sort();
            l
        })
    };
    for (k, val) in [
        ("leading", sorted(&c.leading_keys).map(Value::from)),
        ("attributes", sorted(&c.attributes).map(Value::from)),
        ("select", c.select.clone().map(Value::from)),
        ("return_values", c.return_values.clone().map(Value::from)),
        ("enclosing", c.enclosing_operation.map(Value::from)),
    ] {
        if let Some(val) = val {
            v[k] = val;
        }
    }
    v
}

#[test]
fn condition_keys_per_request() {
    let s = |v: &str| json!({ "S": v });
    let cases: Vec<(Vec<Check>, Value)> = vec![
        (
            checks_of::<GetItemInput>(
                "dynamodb:GetItem",
                json!({"TableName": "Tab", "Key": {"pk": s("a"), "sk": {"N": "1"}}}),
            ),
            json!([{"action": "dynamodb:GetItem", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["a"], "attributes": ["pk", "sk"], "select": "ALL_ATTRIBUTES"}]),
        ),
        (
            checks_of::<GetItemInput>(
                "dynamodb:GetItem",
                json!({"TableName": "Tab", "Key": {"pk": s("a"), "sk": {"N": "1"}}, "ProjectionExpression": "#n.x, b[0], size", "ExpressionAttributeNames": {"#n": "name"}}),
            ),
            json!([{"action": "dynamodb:GetItem", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["a"], "attributes": ["b", "name", "pk", "size", "sk"], "select": "SPECIFIC_ATTRIBUTES"}]),
        ),
        (
            checks_of::<PutItemInput>(
                "dynamodb:PutItem",
                json!({"TableName": "Tab", "Item": {"pk": s("a"), "sk": {"N": "1"}, "x": s("v")}, "ConditionExpression": "attribute_not_exists(y) AND size(z) > :n", "ExpressionAttributeValues": {":n": {"N": "1"}}, "ReturnValues": "ALL_OLD"}),
            ),
            json!([{"action": "dynamodb:PutItem", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["a"], "attributes": ["pk", "sk", "x", "y", "z"], "return_values": "ALL_OLD"}]),
        ),
        (
            checks_of::<UpdateItemInput>(
                "dynamodb:UpdateItem",
                json!({"TableName": "Tab", "Key": {"pk": {"N": "7"}, "sk": {"N": "1"}}, "UpdateExpression": "SET a = if_not_exists(b, :v) REMOVE c ADD d :v", "ExpressionAttributeValues": {":v": {"N": "1"}}}),
            ),
            json!([{"action": "dynamodb:UpdateItem", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["7"], "attributes": ["a", "b", "c", "d", "pk", "sk"], "return_values": "NONE"}]),
        ),
        (
            checks_of::<QueryInput>(
                "dynamodb:Query",
                json!({"TableName": "Tab", "KeyConditionExpression": "(#p = :p) AND sk BETWEEN :a AND :b", "ExpressionAttributeNames": {"#p": "pk"}, "ExpressionAttributeValues": {":p": s("u1"), ":a": {"N": "1"}, ":b": {"N": "2"}}}),
            ),
            json!([{"action": "dynamodb:Query", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["u1"], "attributes": ["pk", "sk"], "select": "ALL_ATTRIBUTES"}]),
        ),
        (
            checks_of::<QueryInput>(
                "dynamodb:Query",
                json!({"TableName": "Tab", "IndexName": "I", "KeyConditions": {"gpk": {"ComparisonOperator": "EQ", "AttributeValueList": [s("g")]}}}),
            ),
            json!([{"action": "dynamodb:Query", "resource": "arn:aws:dynamodb:r:1:table/Tab/index/I", "leading": ["g"], "attributes": ["gpk"], "select": "ALL_PROJECTED_ATTRIBUTES"}]),
        ),
        (
            checks_of::<ScanInput>(
                "dynamodb:Scan",
                json!({"TableName": "Tab", "FilterExpression": "q > :v", "ExpressionAttributeValues": {":v": {"N": "1"}}}),
            ),
            json!([{"action": "dynamodb:Scan", "resource": "arn:aws:dynamodb:r:1:table/Tab", "attributes": ["pk", "q", "sk"], "select": "ALL_ATTRIBUTES"}]),
        ),
        (
            checks_of::<BatchWriteItemInput>(
                "dynamodb:BatchWriteItem",
                json!({"RequestItems": {"Tab": [{"PutRequest": {"Item": {"pk": s("a"), "sk": {"N": "1"}, "v": s("x")}}}, {"DeleteRequest": {"Key": {"pk": s("b"), "sk": {"N": "1"}}}}]}}),
            ),
            json!([{"action": "dynamodb:BatchWriteItem", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["a", "b"], "attributes": ["pk", "sk", "v"]}]),
        ),
        (
            checks_of::<TransactWriteItemsInput>(
                "dynamodb:TransactWriteItems",
                json!({"TransactItems": [{"ConditionCheck": {"TableName": "Tab", "Key": {"pk": s("a"), "sk": {"N": "1"}}, "ConditionExpression": "attribute_exists(w)"}}, {"Delete": {"TableName": "Uni", "Key": {"id": s("z")}}}]}),
            ),
            json!([
                {"action": "dynamodb:ConditionCheckItem", "resource": "arn:aws:dynamodb:r:1:table/Tab", "leading": ["a"], "attributes": ["pk", "sk", "w"], "enclosing": "TransactWriteItems"},
                {"action": "dynamodb:DeleteItem", "resource": "arn:aws:dynamodb:r:1:table/Uni", "leading": [], "attributes": ["id"], "enclosing": "TransactWriteItems"}
            ]),
        ),
        (
            checks_of::<TableNameInput>("dynamodb:DescribeTable", json!({"TableName": "Tab"})),
            json!([{"action": "dynamodb:DescribeTable", "resource": "arn:aws:dynamodb:r:1:table/Tab"}]),
        ),
        (
            checks_of::<ListTablesInput>("dynamodb:ListTables", json!({})),
            json!([{"action": "dynamodb:ListTables", "resource": "*"}]),
        ),
        (
            checks_of::<GetRecordsInput>("dynamodb:GetRecords", json!({"ShardIterator": "x"})),
            json!([{"action": "dynamodb:GetRecords", "resource": "arn:aws:dynamodb:r:1:table/Tab/stream/L"}]),
        ),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        let got: Vec<Value> = got.iter().map(view).collect();
        assert_eq!(Value::from(got), want, "case {i}");
    }
}

/// Found by the `json_action` fuzz target: `"Key": {}` left the partition unknown while an
/// absent key (all the protobuf form can say) made it known and empty, so keyfall-dax and
/// the gRPC API allowed, under a `ForAllValues` condition on `dynamodb:LeadingKeys`, what
/// the JSON API refused. A missing key or item, absent or empty, leaves the partition unknown.
#[test]
fn a_missing_key_leaves_the_partition_unknown() {
    let bodies = [
        json!({"TransactItems": [{"Get": {"TableName": "Tab", "Key": {}}}]}),
        json!({"TransactItems": [{"Get": {"TableName": "Tab"}}]}),
    ];
    for body in bodies {
        let checks = checks_of::<TransactGetItemsInput>("dynamodb:TransactGetItems", body);
        assert!(checks.iter().all(|c| c.leading_keys_unknown), "{checks:?}");
    }
    for body in [
        json!({"TableName": "Tab", "Key": {}}),
        json!({"TableName": "Tab"}),
    ] {
        let checks = checks_of::<GetItemInput>("dynamodb:GetItem", body);
        assert!(checks.iter().all(|c| c.leading_keys_unknown), "{checks:?}");
    }
    let put = checks_of::<TransactWriteItemsInput>(
        "dynamodb:TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": "Tab", "Item": {"pk": {"S": "a"}}}}]}),
    );
    assert!(put.iter().all(|c| !c.leading_keys_unknown), "{put:?}");
    assert_eq!(
        put.first().and_then(|c| c.leading_keys.clone()),
        Some(vec!["a".to_string()])
    );
}
