//! Replays `cases.jsonl` (DynamoDB Local's answers to the cases listed in `oracle.py`).

use std::collections::HashMap;

use serde_json::Value;

use super::{from_json, item_from_json, same_item};
use crate::expr::legacy::{self, AttributeUpdate, ExpectedAttribute, LegacyCondition};
use crate::expr::{parse, project, resolve, DocumentPath, ExprError, ExpressionInput};
use crate::model::{AttributeValue, Item};

const CASES: &str = include_str!("cases.jsonl");

fn str_map(v: Option<&Value>) -> Option<HashMap<String, String>> {
    v.and_then(Value::as_object).map(|o| {
        o.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect()
    })
}

fn value_map(v: Option<&Value>) -> Option<HashMap<String, AttributeValue>> {
    v.and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
}

fn value_list(v: Option<&Value>) -> Option<Vec<AttributeValue>> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(from_json).collect())
}

/// The item as stored before the request; the key alone when the case has none.
fn start_item(c: &Value, index: usize) -> Item {
    match c.get("item").filter(|v| !v.is_null()) {
        Some(v) => item_from_json(v),
        None => [("pk".to_string(), AttributeValue::S(format!("c{index}")))].into(),
    }
}

fn evaluated_item(c: &Value) -> Item {
    c.get("item").map(item_from_json).unwrap_or_default()
}

fn has_note(c: &Value) -> bool {
    c.get("note").is_some_and(|n| !n.is_null())
}

fn expect_error(c: &Value) -> Option<&str> {
    c["expect"].get("error").and_then(Value::as_str)
}

/// Checks one case; `Err` describes a mismatch.
fn check(c: &Value, index: usize) -> Result<(), String> {
    let kind = c["kind"].as_str().unwrap_or("");
    let names = str_map(c.get("names"));
    let values = value_map(c.get("values"));
    let expr = c.get("expr").and_then(Value::as_str);
    let want_err = expect_error(c);
    let err_matches = |e: &ExprError| match want_err {
        Some(w) if e.to_string() == w => Ok(()),
        Some(w) => Err(format!("error {e:?}\n   want {w:?}")),
        None => Err(format!(
            "unexpected error {:?}, want {}",
            e.to_string(),
            c["expect"]
        )),
    };
    match kind {
        "condition" => {
            let input = ExpressionInput {
                condition: expr,
                names: names.as_ref(),
                values: values.as_ref(),
                ..Default::default()
            };
            let parsed = match parse(&input) {
                Ok(p) => p,
                Err(e) => return err_matches(&e),
            };
            let got = parsed
                .condition
                .ok_or("no condition")?
                .evaluate(&evaluated_item(c))
                .map_err(|e| e.to_string())?;
            match c["expect"].as_bool() {
                Some(w) if w == got => Ok(()),
                _ => Err(format!("evaluated to {got}, want {}", c["expect"])),
            }
        }
        "update" => {
            let cond = c.get("condition").and_then(Value::as_str);
            let input = ExpressionInput {
                update: expr,
                condition: cond,
                names: names.as_ref(),
                values: values.as_ref(),
                ..Default::default()
            };
            let parsed = match parse(&input) {
                Ok(p) => p,
                Err(e) => return err_matches(&e),
            };
            let update = parsed.update.ok_or("no update")?;
            if let Err(e) = update.check_key_attributes(&["pk"]) {
                return err_matches(&e);
            }
            let old = start_item(c, index);
            if let Some(cond) = parsed.condition {
                let existing = evaluated_item(c);
                if !cond.evaluate(&existing).map_err(|e| e.to_string())? {
                    return if c["expect"].get("condition_failed").is_some() {
                        Ok(())
                    } else {
                        Err("condition failed".into())
                    };
                }
            }
            let mut new = old.clone();
            let paths = match update.apply(&mut new) {
                Ok(p) => p,
                Err(e) => return err_matches(&e),
            };
            if want_err.is_some() || c["expect"].get("condition_failed").is_some() {
                return Err(format!("succeeded, want {}", c["expect"]));
            }
            let want = item_from_json(&c["expect"]["item"]);
            if !same_item(&new, &want) {
                return Err(format!("item {new:?}\n   want {want:?}"));
            }
            // DynamoDB Local answers UPDATED_OLD/NEW with the whole top-level attribute of each
            // updated path that exists in the item before (OLD) or after (NEW) the update.
            for (key, from) in [("updated_old", &old), ("updated_new", &new)] {
                let tops: Vec<DocumentPath> = paths
                    .iter()
                    .filter(|p| resolve(from, p).is_some())
                    .filter_map(|p| p.top())
                    .map(DocumentPath::attr)
                    .collect();
                let got = project(from, &tops);
                let want = item_from_json(&c["expect"][key]);
                if !same_item(&got, &want) && !has_note(c) {
                    return Err(format!("{key} {got:?}\n   want {want:?}"));
                }
            }
            Ok(())
        }
        "projection" => {
            let input = ExpressionInput {
                projection: expr,
                names: names.as_ref(),
                ..Default::default()
            };
            let parsed = match parse(&input) {
                Ok(p) => p,
                Err(e) => return err_matches(&e),
            };
            let got = parsed
                .projection
                .ok_or("no projection")?
                .apply(&evaluated_item(c));
            let want = item_from_json(&c["expect"]["item"]);
            if same_item(&got, &want) {
                Ok(())
            } else {
                Err(format!("projected {got:?}\n   want {want:?}"))
            }
        }
        "request" => {
            let p = &c["params"];
            let get = |k: &str| p.get(k).and_then(Value::as_str);
            let names = str_map(p.get("ExpressionAttributeNames"));
            let values = value_map(p.get("ExpressionAttributeValues"));
            let input = ExpressionInput {
                filter: get("FilterExpression"),
                projection: get("ProjectionExpression"),
                key_condition: get("KeyConditionExpression"),
                names: names.as_ref(),
                values: values.as_ref(),
                ..Default::default()
            };
            match parse(&input) {
                Ok(_) if want_err.is_none() => Ok(()),
                Ok(_) => Err(format!("parsed, want {}", c["expect"])),
                Err(e) => err_matches(&e),
            }
        }
        "expected" => {
            let mut map = HashMap::new();
            for (k, v) in c["expected"].as_object().ok_or("expected")? {
                map.insert(
                    k.clone(),
                    ExpectedAttribute {
                        value: v.get("Value").map(from_json),
                        exists: v.get("Exists").and_then(Value::as_bool),
                        comparison_operator: v
                            .get("ComparisonOperator")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        attribute_value_list: value_list(v.get("AttributeValueList")),
                    },
                );
            }
            let cond =
                match legacy::expected_to_condition(&map, c.get("op").and_then(Value::as_str)) {
                    Ok(cond) => cond,
                    Err(e) => return err_matches(&e),
                };
            let got = cond
                .evaluate(&evaluated_item(c))
                .map_err(|e| e.to_string())?;
            match c["expect"].as_bool() {
                Some(w) if w == got => Ok(()),
                _ => Err(format!("evaluated to {got}, want {}", c["expect"])),
            }
        }
        "scanfilter" => {
            let mut map = HashMap::new();
            for (k, v) in c["filter"].as_object().ok_or("filter")? {
                map.insert(
                    k.clone(),
                    LegacyCondition {
                        comparison_operator: v["ComparisonOperator"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        attribute_value_list: value_list(v.get("AttributeValueList")),
                    },
                );
            }
            let cond =
                match legacy::conditions_to_condition(&map, c.get("op").and_then(Value::as_str)) {
                    Ok(cond) => cond,
                    Err(e) => return err_matches(&e),
                };
            let got = cond
                .evaluate(&evaluated_item(c))
                .map_err(|e| e.to_string())?;
            match c["expect"].as_bool() {
                Some(w) if w == got => Ok(()),
                _ => Err(format!("evaluated to {got}, want {}", c["expect"])),
            }
        }
        "attribute_updates" => {
            let mut map = HashMap::new();
            for (k, v) in c["updates"].as_object().ok_or("updates")? {
                map.insert(
                    k.clone(),
                    AttributeUpdate {
                        value: v.get("Value").map(from_json),
                        action: v.get("Action").and_then(Value::as_str).map(str::to_string),
                    },
                );
            }
            let update = match legacy::attribute_updates_to_update(&map) {
                Ok(u) => u,
                Err(e) => return err_matches(&e),
            };
            if let Err(e) = update.check_key_attributes(&["pk"]) {
                return err_matches(&e);
            }
            let mut new = start_item(c, index);
            if has_note(c) {
                return Ok(());
            }
            if let Err(e) = update.apply(&mut new) {
                return err_matches(&e);
            }
            let want = item_from_json(&c["expect"]["item"]);
            if want_err.is_none() && same_item(&new, &want) {
                Ok(())
            } else {
                Err(format!("item {new:?}\n   want {}", c["expect"]))
            }
        }
        "attributes_to_get" => {
            let names: Vec<String> = c["names"]
                .as_array()
                .ok_or("names")?
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect();
            let p = match legacy::attributes_to_get(&names) {
                Ok(p) => p,
                Err(e) => return err_matches(&e),
            };
            let got = p.apply(&evaluated_item(c));
            let want = item_from_json(&c["expect"]["item"]);
            if same_item(&got, &want) {
                Ok(())
            } else {
                Err(format!("projected {got:?}\n   want {want:?}"))
            }
        }
        "mixing" => {
            let p = c["params"].as_object().ok_or("params")?;
            let order_legacy = [
                "AttributeUpdates",
                "Expected",
                "AttributesToGet",
                "QueryFilter",
                "ScanFilter",
                "ConditionalOperator",
                "KeyConditions",
            ];
            let order_expr = [
                "UpdateExpression",
                "ConditionExpression",
                "ProjectionExpression",
                "FilterExpression",
                "KeyConditionExpression",
            ];
            let legacy: Vec<&str> = order_legacy
                .iter()
                .copied()
                .filter(|k| p.contains_key(*k))
                .collect();
            let exprs: Vec<&str> = order_expr
                .iter()
                .copied()
                .filter(|k| p.contains_key(*k))
                .collect();
            match legacy::check_no_mixing(&legacy, &exprs) {
                Ok(()) if want_err.is_none() => Ok(()),
                Ok(()) => Err(format!("no error, want {}", c["expect"])),
                Err(e) => err_matches(&e),
            }
        }
        other => Err(format!("unknown case kind {other}")),
    }
}

#[test]
fn dynamodb_local_answers() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (i, line) in CASES.lines().enumerate() {
        let c: Value = serde_json::from_str(line).expect("cases.jsonl line");
        count += 1;
        if let Err(why) = check(&c, i) {
            let what = c
                .get("expr")
                .or_else(|| c.get("expected"))
                .or_else(|| c.get("updates"))
                .or_else(|| c.get("params"));
            let mut shown = what.map(|v| v.to_string()).unwrap_or_default();
            shown.truncate(160);
            failures.push(format!("case {i} ({}) {shown}\n   {why}", c["kind"]));
        }
    }
    assert!(count > 600, "cases.jsonl has {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ from DynamoDB:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
