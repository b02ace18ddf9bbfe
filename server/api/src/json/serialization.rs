//! DynamoDB's SerializationException messages, from serde's errors: text that is not JSON
//! gets no message (as DynamoDB answers), a value of the wrong JSON type gets the message
//! DynamoDB's front end writes (`TRUE_VALUE cannot be converted to String`, `Unexpected
//! field type`, ...), anything else serde's own words without its line and column.

/// The message for a body serde could not decode.
pub fn message(e: &serde_json::Error) -> Option<String> {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => None,
        Category::Data => Some(data_message(&without_position(e))),
    }
}

/// serde's text without " at line L column C".
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    }
}

fn data_message(text: &str) -> String {
    let Some(rest) = text.strip_prefix("invalid type: ") else {
        return match text.strip_prefix("unknown field `") {
            Some(rest) => {
                let name = rest.split('`').next().unwrap_or("");
                format!("Unexpected field: {name}")
            }
            None => text.to_string(),
        };
    };
    let Some((found, expected)) = rest.split_once(", expected ") else {
        return text.to_string();
    };
    let found = Found::parse(found);
    match Expected::parse(expected) {
        Expected::Scalar(type_name) => match found {
            Found::Map => "Start of structure or map found where not expected".into(),
            Found::List => "Start of list found where not expected".into(),
            Found::Token(token) => format!("{token} cannot be converted to {type_name}"),
        },
        Expected::Aggregate => "Unexpected field type".into(),
    }
}

/// The JSON token that was sent, named as DynamoDB names it.
enum Found {
    Token(&'static str),
    Map,
    List,
}

impl Found {
    fn parse(found: &str) -> Found {
        if found == "boolean `true`" {
            Found::Token("TRUE_VALUE")
        } else if found == "boolean `false`" {
            Found::Token("FALSE_VALUE")
        } else if found.starts_with("string") {
            Found::Token("STRING_VALUE")
        } else if found == "map" {
            Found::Map
        } else if found == "sequence" {
            Found::List
        } else if found == "null" || found == "unit value" {
            Found::Token("NULL_VALUE")
        } else {
            // integer, floating point, and numbers under `arbitrary_precision`.
            Found::Token("NUMBER_VALUE")
        }
    }
}

/// What the member holds: a scalar (by its Java-side type name, as DynamoDB reports it) or
/// a structure, map or list.
enum Expected {
    Scalar(&'static str),
    Aggregate,
}

impl Expected {
    fn parse(expected: &str) -> Expected {
        let e = expected.trim();
        if e.contains("string") || e.contains("identifier") || e.starts_with("variant") {
            Expected::Scalar("String")
        } else if e.contains("bool") {
            Expected::Scalar("Boolean")
        } else if [
            "i8", "i16", "i32", "u8", "u16", "u32", "i64", "u64", "usize", "isize",
        ]
        .contains(&e)
        {
            // Our types hold some of DynamoDB's Integer members (Limit, Segment) in 64 bits;
            // its Long members (capacity units) are rarer in a wrong-type error.
            Expected::Scalar("Integer")
        } else if e.starts_with("f32") || e.starts_with("f64") || e.contains("number") {
            Expected::Scalar("Double")
        } else {
            Expected::Aggregate
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Input {
        #[serde(rename = "TableName")]
        table_name: Option<String>,
        #[serde(rename = "Limit")]
        limit: Option<i32>,
        #[serde(rename = "ConsistentRead")]
        consistent_read: Option<bool>,
        #[serde(rename = "Item")]
        item: Option<std::collections::HashMap<String, String>>,
        #[serde(rename = "Names")]
        names: Option<Vec<String>>,
    }

    /// Body, the message DynamoDB gives (None: no message).
    const CASES: &[(&str, Option<&str>)] = &[
        ("{", None),
        ("not json", None),
        (
            r#"{"TableName": true}"#,
            Some("TRUE_VALUE cannot be converted to String"),
        ),
        (
            r#"{"TableName": false}"#,
            Some("FALSE_VALUE cannot be converted to String"),
        ),
        (
            r#"{"TableName": 5}"#,
            Some("NUMBER_VALUE cannot be converted to String"),
        ),
        (
            r#"{"TableName": {}}"#,
            Some("Start of structure or map found where not expected"),
        ),
        (
            r#"{"TableName": []}"#,
            Some("Start of list found where not expected"),
        ),
        (
            r#"{"Limit": "5"}"#,
            Some("STRING_VALUE cannot be converted to Integer"),
        ),
        (
            r#"{"ConsistentRead": "yes"}"#,
            Some("STRING_VALUE cannot be converted to Boolean"),
        ),
        (r#"{"Item": "x"}"#, Some("Unexpected field type")),
        (r#"{"Item": 1}"#, Some("Unexpected field type")),
        (r#"{"Names": {}}"#, Some("Unexpected field type")),
        (r#"{"Bogus": 1}"#, Some("Unexpected field: Bogus")),
    ];

    #[test]
    fn messages_as_dynamodb_writes_them() {
        for (body, want) in CASES {
            let e = serde_json::from_str::<Input>(body).expect_err(body);
            assert_eq!(
                super::message(&e).as_deref(),
                *want,
                "{body}: serde said {e}"
            );
        }
    }
}
