//! CSV imports as DynamoDB reads them: the first row is the header unless the request
//! gives one; key columns (of the table and its indexes) take their type from the
//! attribute definitions (N a number, B base64), every other column is a string; an empty
//! column is left out of the item; quotes are RFC 4180's.

use std::collections::HashMap;

use base64::Engine as _;
use bytes::Bytes;

use super::LineError;
use crate::model::{AttributeValue, Item, Number, ScalarType};

/// Items of a CSV object, one result per data row.
pub fn parse(
    text: &[u8],
    delimiter: u8,
    header: Option<&[String]>,
    key_types: &HashMap<String, ScalarType>,
) -> Vec<Result<Item, LineError>> {
    let mut out = Vec::new();
    let _ = for_each(text, delimiter, header, key_types, |row| {
        out.push(row);
        Ok::<(), ()>(())
    });
    out
}

/// The rows of a CSV object read from `input` as it streams, each handed to `each` (which
/// may stop the reading with its error): memory stays one row whatever the object's size.
pub fn for_each<E>(
    input: impl std::io::Read,
    delimiter: u8,
    header: Option<&[String]>,
    key_types: &HashMap<String, ScalarType>,
    mut each: impl FnMut(Result<Item, LineError>) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.byte_records();
    let header: Vec<String> = match header {
        Some(h) => h.to_vec(),
        None => match records.next() {
            None => return Ok(()),
            Some(Err(e)) => return each(Err(LineError::Parse(e.to_string()))),
            Some(Ok(r)) => r
                .iter()
                .map(|f| String::from_utf8_lossy(f).to_string())
                .collect(),
        },
    };
    for record in records {
        let record = match record {
            Ok(r) => r,
            // A malformed row ends the object, as a parse error does in DynamoDB.
            Err(e) => return each(Err(LineError::Parse(e.to_string()))),
        };
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
            continue;
        }
        each(row(&header, &record, key_types))?;
    }
    Ok(())
}

fn row(
    header: &[String],
    record: &csv::ByteRecord,
    key_types: &HashMap<String, ScalarType>,
) -> Result<Item, LineError> {
    if record.len() != header.len() {
        return Err(LineError::Item(format!(
            "The row has {} columns and the header {}",
            record.len(),
            header.len()
        )));
    }
    let mut item = Item::new();
    for (name, field) in header.iter().zip(record.iter()) {
        if field.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(field)
            .map_err(|_| LineError::Item(format!("The value of {name} is not UTF-8")))?;
        let value = match key_types.get(name) {
            Some(ScalarType::N) => {
                AttributeValue::N(Number::parse(text).map_err(|e| LineError::Item(e.to_string()))?)
            }
            Some(ScalarType::B) => AttributeValue::B(Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| LineError::Item(format!("The value of {name} is not base64")))?,
            )),
            _ => AttributeValue::S(text.to_string()),
        };
        item.insert(name.clone(), value);
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_typed_and_the_rest_are_strings() {
        let types = HashMap::from([
            ("pk".to_string(), ScalarType::S),
            ("n".to_string(), ScalarType::N),
        ]);
        let text = b"pk,n,note,empty\na,1.50,\"x, \"\"y\"\"\",\nb,x,,\nc,2\n";
        let rows = parse(text, b',', None, &types);
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first["n"], AttributeValue::N(Number::parse("1.5").unwrap()));
        assert_eq!(first["note"], AttributeValue::S("x, \"y\"".into()));
        assert!(!first.contains_key("empty"), "empty columns are left out");
        assert!(
            matches!(rows[1], Err(LineError::Item(_))),
            "n is not a number"
        );
        assert!(
            matches!(rows[2], Err(LineError::Item(_))),
            "too few columns"
        );
        let given = vec!["pk".to_string(), "v".to_string()];
        let rows = parse(b"a|b\n", b'|', Some(&given), &types);
        assert_eq!(
            rows[0].as_ref().unwrap()["v"],
            AttributeValue::S("b".into())
        );
    }
}
