//! Operations of the typed layer, one module per kind. Each builder is a plain struct of
//! options that turns into a future with `.await` (`IntoFuture`), so optional settings are
//! chained methods and nothing runs until awaited.

pub mod backup;
pub mod batch;
pub mod changes;
pub mod items;
pub mod query;
pub mod statement;
pub mod table;
pub mod transact;

use crate::expr::{attr, Condition, Expressions, Update};
use crate::value::AttributeValue;
use crate::{Entity, Error, Item};

/// `attribute_not_exists(<partition key>)`: the item does not exist yet.
pub(crate) fn absent<E: Entity>() -> Condition {
    attr::<AttributeValue>(E::schema().partition_key.attribute).not_exists()
}

/// `attribute_exists(<partition key>)`: the item exists.
pub(crate) fn present<E: Entity>() -> Condition {
    attr::<AttributeValue>(E::schema().partition_key.attribute).exists()
}

/// `<version> = :expected`, or no condition for an unversioned entity.
pub(crate) fn version_is<E: Entity>(expected: u64) -> Option<Condition> {
    E::schema()
        .version_attribute
        .map(|name| attr::<u64>(name).eq(expected))
}

/// `<type attribute> = :entity_type`.
pub(crate) fn is_entity<E: Entity>() -> Condition {
    let schema = E::schema();
    attr::<String>(schema.type_attribute).eq(schema.entity_type.to_string())
}

pub(crate) fn and_all(conditions: impl IntoIterator<Item = Condition>) -> Option<Condition> {
    conditions.into_iter().reduce(|a, b| a & b)
}

/// One request's expressions with their shared names and values.
pub(crate) struct Compiled {
    pub condition: Option<String>,
    pub update: Option<String>,
    pub names: std::collections::HashMap<String, String>,
    pub values: Item,
}

pub(crate) fn compile(
    condition: Option<&Condition>,
    update: Option<&Update>,
) -> Result<Compiled, Error> {
    let mut expressions = Expressions::new();
    let update = update.map(|u| expressions.update(u)).transpose()?;
    let condition = condition.map(|c| expressions.condition(c)).transpose()?;
    let (names, values) = expressions.into_parts();
    Ok(Compiled {
        condition,
        update,
        names,
        values,
    })
}

pub(crate) fn compile_condition(condition: Option<&Condition>) -> Result<Compiled, Error> {
    compile(condition, None)
}

/// The `ReturnValuesOnConditionCheckFailure` member.
pub(crate) fn old_on_failure(asked: bool) -> Option<String> {
    asked.then(|| "ALL_OLD".to_string())
}

pub(crate) type BoxFuture<'a, T> = futures::future::BoxFuture<'a, T>;

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::items::{prepare_put, PutMode};
    use super::table::TableDefinition;
    use crate::expr::Expressions;
    use crate::Entity;

    #[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[keyfall(
        table = "t",
        pk = "A#{id}",
        sk = "X",
        index(name = "gsi1", pk = "B#{group}")
    )]
    struct Versioned {
        id: String,
        group: Option<String>,
        #[keyfall(version)]
        version: u64,
        #[keyfall(ttl)]
        expires: Option<u64>,
    }

    #[derive(Entity, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[keyfall(
        table = "t",
        pk = "C#{id}",
        sk = "Y#{n}",
        index(name = "gsi1", pk = "B#{id}")
    )]
    struct Plain {
        id: String,
        n: u32,
    }

    fn condition_text(entity: Versioned, mode: PutMode) -> (u64, Option<String>) {
        let (written, condition) = prepare_put(entity, mode, None);
        let text = condition.map(|c| {
            let mut e = Expressions::new();
            let text = e.condition(&c).expect("compiles");
            let (names, _) = e.into_parts();
            // Replace placeholders by names to compare readable text.
            names.iter().fold(text, |t, (k, v)| t.replace(k, v))
        });
        (written.version, text)
    }

    #[test]
    fn puts_check_the_version_they_replace() {
        let entity = |version| Versioned {
            id: "1".into(),
            group: None,
            version,
            expires: None,
        };
        let cases = [
            (0, PutMode::Upsert, 1, Some("attribute_not_exists(pk)")),
            (0, PutMode::Create, 1, Some("attribute_not_exists(pk)")),
            (4, PutMode::Upsert, 5, Some("version = :v0")),
            (
                4,
                PutMode::Replace,
                5,
                Some("attribute_exists(pk) AND version = :v0"),
            ),
        ];
        for (version, mode, written, condition) in cases {
            let (got_version, got_condition) = condition_text(entity(version), mode);
            assert_eq!(got_version, written, "{version} {mode:?}");
            assert_eq!(got_condition.as_deref(), condition, "{version} {mode:?}");
        }
    }

    #[test]
    fn encoding_writes_keys_sparse_indexes_and_the_entity_type() {
        let item = crate::entity::encode(&Versioned {
            id: "1".into(),
            group: None,
            version: 1,
            expires: None,
        })
        .expect("encodes");
        let text = |name: &str| match item.get(name).and_then(|v| v.value.clone()) {
            Some(crate::proto::v1::attribute_value::Value::S(s)) => Some(s),
            _ => None,
        };
        assert_eq!(text("pk").as_deref(), Some("A#1"));
        assert_eq!(text("sk").as_deref(), Some("X"));
        assert_eq!(text("_type").as_deref(), Some("Versioned"));
        assert_eq!(text("gsi1pk"), None, "no group: not in the sparse index");
        let with_group = crate::entity::encode(&Versioned {
            id: "1".into(),
            group: Some("g".into()),
            version: 1,
            expires: None,
        })
        .expect("encodes");
        assert!(with_group.contains_key("gsi1pk"));
    }

    #[test]
    fn a_table_definition_merges_what_its_entities_declare() {
        let request = TableDefinition::new("t")
            .entity::<Versioned>()
            .entity::<Plain>()
            .create_request()
            .expect("valid");
        let names: Vec<&str> = request
            .attribute_definitions
            .iter()
            .map(|a| a.attribute_name.as_str())
            .collect();
        assert_eq!(names, ["gsi1pk", "pk", "sk"]);
        assert_eq!(
            request.global_secondary_indexes.len(),
            1,
            "gsi1 declared once"
        );
        let wrong_table = TableDefinition::new("other")
            .entity::<Plain>()
            .create_request();
        assert!(matches!(wrong_table, Err(crate::Error::Config(_))));
    }
}
