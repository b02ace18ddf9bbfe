//! The line formats of DynamoDB's exports to and imports from S3: DynamoDB JSON
//! (`{"Item":{...}}`), Amazon Ion (`$ion_1_0 {Item:{...}}`) and, for imports, CSV; and the
//! records of incremental exports (`Metadata`, `Keys`, `NewImage`, `OldImage`).

pub mod csv_rows;
pub mod ion;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{AttributeValue, Item};

/// An export's or an import's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DynamoDbJson,
    Ion,
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DynamoDbJson => "DYNAMODB_JSON",
            Format::Ion => "ION",
            Format::Csv => "CSV",
        }
    }

    /// The data files' extension in an export.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ion => "ion.gz",
            _ => "json.gz",
        }
    }
}

#[derive(Serialize)]
struct ItemLine<'a> {
    #[serde(rename = "Item")]
    item: &'a Item,
}

/// One line of a full export: the item, newline-terminated.
pub fn item_line(format: Format, item: &Item, out: &mut Vec<u8>) -> Result<()> {
    match format {
        Format::Ion => {
            out.extend_from_slice(b"$ion_1_0 {Item:");
            ion::write_item(item, out);
            out.extend_from_slice(b"}\n");
        }
        _ => {
            serde_json::to_writer(&mut *out, &ItemLine { item })
                .map_err(|e| Error::Internal(e.to_string()))?;
            out.push(b'\n');
        }
    }
    Ok(())
}

/// One record of an incremental export: when the item last changed in the window, its
/// keys, and its images (absent: no such image).
pub struct ChangeRecord<'a> {
    pub micros: u64,
    pub keys: &'a Item,
    pub new_image: Option<&'a Item>,
    pub old_image: Option<&'a Item>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeLine<'a> {
    metadata: Metadata,
    keys: &'a Item,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_image: Option<&'a Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_image: Option<&'a Item>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    write_timestamp_micros: AttributeValue,
}

pub fn change_line(format: Format, record: &ChangeRecord<'_>, out: &mut Vec<u8>) -> Result<()> {
    let micros = crate::model::Number::parse(&record.micros.to_string())?;
    match format {
        Format::Ion => {
            out.extend_from_slice(b"$ion_1_0 {Metadata:{WriteTimestampMicros:");
            ion::write_value(&AttributeValue::N(micros), out);
            out.extend_from_slice(b"},Keys:");
            ion::write_item(record.keys, out);
            if let Some(new) = record.new_image {
                out.extend_from_slice(b",NewImage:");
                ion::write_item(new, out);
            }
            if let Some(old) = record.old_image {
                out.extend_from_slice(b",OldImage:");
                ion::write_item(old, out);
            }
            out.extend_from_slice(b"}\n");
        }
        _ => {
            let line = ChangeLine {
                metadata: Metadata {
                    write_timestamp_micros: AttributeValue::N(micros),
                },
                keys: record.keys,
                new_image: record.new_image,
                old_image: record.old_image,
            };
            serde_json::to_writer(&mut *out, &line).map_err(|e| Error::Internal(e.to_string()))?;
            out.push(b'\n');
        }
    }
    Ok(())
}

/// Why one line of an import was not imported.
#[derive(Debug, Clone, PartialEq)]
pub enum LineError {
    /// The item is not valid (a missing or mistyped key, a bad value): counted, and the
    /// import goes on with the next line.
    Item(String),
    /// The line cannot be parsed: counted, and the rest of the object is abandoned, as
    /// DynamoDB abandons it.
    Parse(String),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemLineIn {
    #[serde(rename = "Item")]
    item: Item,
}

/// A DynamoDB JSON import line: `{"Item":{...}}`.
pub fn parse_json_line(line: &[u8]) -> std::result::Result<Item, LineError> {
    crate::model::dynamodb_json::reset_validation_error();
    match serde_json::from_slice::<ItemLineIn>(line) {
        Ok(l) => Ok(l.item),
        Err(e) => match crate::model::dynamodb_json::take_validation_error() {
            Some(message) => Err(LineError::Item(message)),
            None => Err(LineError::Parse(e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn export_lines_are_dynamodbs() {
        let it = item(r#"{"pk":{"S":"a"},"n":{"N":"600"},"b":{"B":"AQI="}}"#);
        let mut out = Vec::new();
        item_line(Format::DynamoDbJson, &it, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"Item\":{\"b\":{\"B\":\"AQI=\"},\"n\":{\"N\":\"600\"},\"pk\":{\"S\":\"a\"}}}\n"
        );
        let mut out = Vec::new();
        item_line(Format::Ion, &it, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "$ion_1_0 {Item:{b:{{AQI=}},n:6d2,pk:\"a\"}}\n"
        );
        let keys = item(r#"{"pk":{"S":"a"}}"#);
        let mut out = Vec::new();
        let record = ChangeRecord {
            micros: 1_700_000_000_000_001,
            keys: &keys,
            new_image: None,
            old_image: Some(&it),
        };
        change_line(Format::DynamoDbJson, &record, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("{\"Metadata\":{\"WriteTimestampMicros\":{\"N\":\"1700000000000001\"}},\"Keys\":{\"pk\":{\"S\":\"a\"}},\"OldImage\":"),
            "{text}"
        );
    }

    #[test]
    fn import_lines_tell_item_errors_from_parse_errors() {
        assert!(parse_json_line(br#"{"Item":{"pk":{"S":"a"}}}"#).is_ok());
        assert!(matches!(
            parse_json_line(b"{\"Item\":"),
            Err(LineError::Parse(_))
        ));
        assert!(matches!(
            parse_json_line(br#"{"pk":{"S":"a"}}"#),
            Err(LineError::Parse(_))
        ));
        assert!(matches!(
            parse_json_line(br#"{"Item":{"n":{"N":"x"}}}"#),
            Err(LineError::Item(_))
        ));
    }
}
