//! A table made from what its entities declare: key attributes, global secondary indexes,
//! Time to Live, and optionally a stream for change feeds.

use std::collections::BTreeMap;

use crate::entity::EntitySchema;
use crate::proto::v1 as pb;
use crate::retry::Idempotency;
use crate::{Client, Entity, Error};

/// The table the entities of a single-table design share. All of them must use the same
/// table name and key attribute names; each index is declared once however many entities
/// write it.
#[derive(Debug, Clone)]
pub struct TableDefinition {
    name: String,
    schemas: Vec<&'static EntitySchema>,
    stream: Option<String>,
}

impl TableDefinition {
    pub fn new(name: impl Into<String>) -> Self {
        TableDefinition {
            name: name.into(),
            schemas: Vec::new(),
            stream: None,
        }
    }

    /// The table of entity `E`, with `E` in it.
    pub fn of<E: Entity>() -> Self {
        TableDefinition::new(E::schema().table).entity::<E>()
    }

    pub fn entity<E: Entity>(mut self) -> Self {
        self.schemas.push(E::schema());
        self
    }

    /// Enables a stream (`NEW_AND_OLD_IMAGES` for typed change feeds with both images).
    pub fn stream(mut self, view_type: impl Into<String>) -> Self {
        self.stream = Some(view_type.into());
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CreateTableRequest (on-demand billing, string keys, indexes projecting all
    /// attributes).
    pub fn create_request(&self) -> Result<pb::CreateTableRequest, Error> {
        let invalid = |message: String| Error::Config(message);
        let first = self
            .schemas
            .first()
            .ok_or_else(|| invalid(format!("table {} declares no entity", self.name)))?;
        let mut attributes = BTreeMap::new();
        let mut key_schema = Vec::new();
        let key = |attribute: &str, key_type: &str| pb::KeySchemaElement {
            attribute_name: attribute.to_string(),
            key_type: key_type.to_string(),
        };
        key_schema.push(key(first.partition_key.attribute, "HASH"));
        attributes.insert(first.partition_key.attribute, ());
        if let Some(sort) = &first.sort_key {
            key_schema.push(key(sort.attribute, "RANGE"));
            attributes.insert(sort.attribute, ());
        }
        let mut indexes: BTreeMap<&str, pb::GlobalSecondaryIndex> = BTreeMap::new();
        for schema in &self.schemas {
            if schema.table != self.name {
                return Err(invalid(format!(
                    "entity {} lives in table {}, not {}",
                    schema.entity_type, schema.table, self.name
                )));
            }
            let same_keys = schema.partition_key.attribute == first.partition_key.attribute
                && schema.sort_key.map(|s| s.attribute) == first.sort_key.map(|s| s.attribute);
            if !same_keys {
                return Err(invalid(format!(
                    "entity {} uses other key attributes than {}",
                    schema.entity_type, first.entity_type
                )));
            }
            for index in schema.indexes {
                let mut elements = vec![key(index.partition_key.attribute, "HASH")];
                attributes.insert(index.partition_key.attribute, ());
                if let Some(sort) = &index.sort_key {
                    elements.push(key(sort.attribute, "RANGE"));
                    attributes.insert(sort.attribute, ());
                }
                let entry = indexes
                    .entry(index.name)
                    .or_insert_with(|| pb::GlobalSecondaryIndex {
                        index_name: index.name.to_string(),
                        key_schema: elements.clone(),
                        projection: Some(pb::Projection {
                            projection_type: Some("ALL".into()),
                            non_key_attributes: Vec::new(),
                        }),
                        ..Default::default()
                    });
                if entry.key_schema != elements {
                    return Err(invalid(format!(
                        "index {} has different key attributes in different entities",
                        index.name
                    )));
                }
            }
        }
        Ok(pb::CreateTableRequest {
            table_name: self.name.clone(),
            attribute_definitions: attributes
                .into_keys()
                .map(|name| pb::AttributeDefinition {
                    attribute_name: name.to_string(),
                    attribute_type: "S".into(),
                })
                .collect(),
            key_schema,
            global_secondary_indexes: indexes.into_values().collect(),
            billing_mode: Some("PAY_PER_REQUEST".into()),
            stream_specification: self.stream.as_ref().map(|view| pb::StreamSpecification {
                stream_enabled: true,
                stream_view_type: Some(view.clone()),
            }),
            ..Default::default()
        })
    }

    fn ttl_attribute(&self) -> Result<Option<&'static str>, Error> {
        let mut found: Option<&'static str> = None;
        for schema in &self.schemas {
            match (found, schema.ttl_attribute) {
                (Some(a), Some(b)) if a != b => {
                    return Err(Error::Config(format!(
                        "table {} has two TTL attributes, {a} and {b}; DynamoDB allows one",
                        self.name
                    )))
                }
                (None, Some(b)) => found = Some(b),
                _ => {}
            }
        }
        Ok(found)
    }
}

impl Client {
    /// Creates the table with its indexes and Time to Live; returns `false` when it
    /// existed already (which is not checked against the definition).
    pub async fn create_table(&self, definition: &TableDefinition) -> Result<bool, Error> {
        let request = definition.create_request()?;
        let ttl = definition.ttl_attribute()?;
        let table = definition.name().to_string();
        let created = match self
            .call(
                "CreateTable",
                Some(&table),
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.create_table(r).await },
            )
            .await
        {
            Ok(_) => true,
            Err(Error::ResourceInUse { .. }) => false,
            Err(error) => return Err(error),
        };
        if created {
            if let Some(attribute) = ttl {
                let request = pb::UpdateTimeToLiveRequest {
                    table_name: table.clone(),
                    time_to_live_specification: Some(pb::TimeToLiveSpecification {
                        enabled: true,
                        attribute_name: attribute.to_string(),
                    }),
                };
                self.call(
                    "UpdateTimeToLive",
                    Some(&table),
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.update_time_to_live(r).await },
                )
                .await?;
            }
        }
        Ok(created)
    }

    /// Deletes a table; `false` when there was none.
    pub async fn delete_table(&self, table: &str) -> Result<bool, Error> {
        let request = pb::DeleteTableRequest {
            table_name: table.to_string(),
        };
        match self
            .call(
                "DeleteTable",
                Some(table),
                Idempotency::Safe,
                request,
                |mut c, r| async move { c.delete_table(r).await },
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::ResourceNotFound { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
