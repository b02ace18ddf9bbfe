//! Single-entity operations: get, put, create, replace, update and delete.

use std::future::IntoFuture;
use std::time::SystemTime;

use super::{
    absent, and_all, compile, compile_condition, old_on_failure, present, version_is, BoxFuture,
};
use crate::entity::{decode, encode, Key};
use crate::expr::{attr, Condition, Update};
use crate::proto::v1 as pb;
use crate::retry::Idempotency;
use crate::value::AttributeValue;
use crate::{Client, Entity, Error};

impl Client {
    /// Reads one entity by key; `None` when absent.
    ///
    /// ```no_run
    /// # async fn f(client: keyfall::Client, key: keyfall::Key<MyEntity>) -> Result<(), keyfall::Error> {
    /// let found = client.get(key).consistent().await?;
    /// # Ok(()) }
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct MyEntity;
    /// # impl keyfall::Entity for MyEntity { fn schema() -> &'static keyfall::EntitySchema { unimplemented!() } fn key_part(&self, _: &str) -> Option<String> { None } }
    /// ```
    pub fn get<E: Entity>(&self, key: Key<E>) -> GetEntity<'_, E> {
        GetEntity {
            client: self,
            key,
            consistent: false,
        }
    }

    /// Writes an entity, replacing any item with its key. A versioned entity is written
    /// only if the stored version is the one it carries (or, at version 0, if there is
    /// none); the entity comes back with its new version and timestamps.
    pub fn put<E: Entity>(&self, entity: E) -> PutEntity<'_, E> {
        PutEntity::new(self, entity, PutMode::Upsert)
    }

    /// Writes an entity that must not exist yet (else `ConditionalCheckFailed`).
    pub fn create<E: Entity>(&self, entity: E) -> PutEntity<'_, E> {
        PutEntity::new(self, entity, PutMode::Create)
    }

    /// Writes an entity that must exist already (else `ConditionalCheckFailed`).
    pub fn replace<E: Entity>(&self, entity: E) -> PutEntity<'_, E> {
        PutEntity::new(self, entity, PutMode::Replace)
    }

    /// Changes attributes of an existing entity and returns it as it is afterwards. The
    /// version of a versioned entity goes up by one and `updated_at` is set.
    pub fn update<E: Entity>(&self, key: Key<E>, update: Update) -> UpdateEntity<'_, E> {
        UpdateEntity {
            client: self,
            key,
            update,
            condition: None,
            expected_version: None,
            upsert: false,
            old_on_failure: false,
        }
    }

    /// Deletes an entity and returns it as it was (`None` if there was none).
    pub fn delete<E: Entity>(&self, key: Key<E>) -> DeleteEntity<'_, E> {
        DeleteEntity {
            client: self,
            key,
            condition: None,
            expected_version: None,
            old_on_failure: false,
        }
    }
}

/// See [`Client::get`].
#[must_use = "does nothing until awaited"]
pub struct GetEntity<'c, E> {
    client: &'c Client,
    key: Key<E>,
    consistent: bool,
}

impl<E> GetEntity<'_, E> {
    /// A strongly consistent read.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }
}

impl<'c, E: Entity> IntoFuture for GetEntity<'c, E> {
    type Output = Result<Option<E>, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let table = E::schema().table;
            let request = pb::GetItemRequest {
                table_name: table.to_string(),
                key: self.key.into_item(),
                consistent_read: self.consistent.then_some(true),
                ..Default::default()
            };
            let response = self
                .client
                .call(
                    "GetItem",
                    Some(table),
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.get_item(r).await },
                )
                .await?;
            if response.item.is_empty() {
                return Ok(None);
            }
            decode(response.item).map(Some)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutMode {
    Upsert,
    Create,
    Replace,
}

/// See [`Client::put`], [`Client::create`], [`Client::replace`].
#[must_use = "does nothing until awaited"]
pub struct PutEntity<'c, E> {
    client: &'c Client,
    entity: E,
    mode: PutMode,
    condition: Option<Condition>,
    old_on_failure: bool,
}

impl<'c, E: Entity> PutEntity<'c, E> {
    fn new(client: &'c Client, entity: E, mode: PutMode) -> Self {
        PutEntity {
            client,
            entity,
            mode,
            condition: None,
            old_on_failure: false,
        }
    }

    /// A further condition on the stored item.
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// On a failed condition, `Error::ConditionalCheckFailed` carries the stored item.
    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.old_on_failure = true;
        self
    }
}

/// The entity as it will be written (version and timestamps advanced) and the condition
/// the write needs.
pub(crate) fn prepare_put<E: Entity>(
    mut entity: E,
    mode: PutMode,
    extra: Option<Condition>,
) -> (E, Option<Condition>) {
    let schema = E::schema();
    let mut conditions = Vec::new();
    match mode {
        PutMode::Create => conditions.push(absent::<E>()),
        PutMode::Replace => conditions.push(present::<E>()),
        PutMode::Upsert => {}
    }
    let creating = mode == PutMode::Create;
    if schema.version_attribute.is_some() {
        let current = entity.version().unwrap_or(0);
        if current == 0 {
            if mode != PutMode::Create {
                conditions.push(absent::<E>());
            }
        } else {
            conditions.extend(version_is::<E>(current));
        }
        entity.set_version(current.saturating_add(1));
    }
    entity.touch(SystemTime::now(), creating || entity.version() == Some(1));
    conditions.extend(extra);
    (entity, and_all(conditions))
}

impl<'c, E: Entity> IntoFuture for PutEntity<'c, E> {
    type Output = Result<E, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (entity, condition) = prepare_put(self.entity, self.mode, self.condition);
            let table = E::schema().table;
            // A conditional write resent after it succeeded would fail its own condition.
            let idempotency = if condition.is_some() {
                Idempotency::Unsafe
            } else {
                Idempotency::Safe
            };
            let compiled = compile_condition(condition.as_ref())?;
            let request = pb::PutItemRequest {
                table_name: table.to_string(),
                item: encode(&entity)?,
                condition_expression: compiled.condition,
                expression_attribute_names: compiled.names,
                expression_attribute_values: compiled.values,
                return_values_on_condition_check_failure: old_on_failure(self.old_on_failure),
                ..Default::default()
            };
            self.client
                .call(
                    "PutItem",
                    Some(table),
                    idempotency,
                    request,
                    |mut c, r| async move { c.put_item(r).await },
                )
                .await?;
            Ok(entity)
        })
    }
}

/// See [`Client::update`].
#[must_use = "does nothing until awaited"]
pub struct UpdateEntity<'c, E> {
    client: &'c Client,
    key: Key<E>,
    update: Update,
    condition: Option<Condition>,
    expected_version: Option<u64>,
    upsert: bool,
    old_on_failure: bool,
}

impl<E: Entity> UpdateEntity<'_, E> {
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Applies only if the stored version is `version` (optimistic locking).
    pub fn expect_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }

    /// Creates the entity when it does not exist (DynamoDB's default for UpdateItem; off
    /// here so an update never leaves a partial entity behind by accident).
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.old_on_failure = true;
        self
    }
}

/// The update with the entity's bookkeeping added: version, `updated_at`, entity type.
pub(crate) fn prepare_update<E: Entity>(
    update: Update,
    condition: Option<Condition>,
    expected_version: Option<u64>,
    upsert: bool,
) -> Result<(Update, Option<Condition>), Error> {
    let schema = E::schema();
    let mut update = update;
    if let Some(version) = schema.version_attribute {
        update = update.and(attr::<u64>(version).add(1u64));
    }
    if let Some(updated_at) = schema.updated_at_attribute {
        if let Some(now) = E::timestamp_value(SystemTime::now()) {
            update = update.and(attr::<AttributeValue>(updated_at).set(now?));
        }
    }
    let mut conditions = Vec::new();
    if upsert {
        update = update.and(
            attr::<String>(schema.type_attribute).set_if_not_exists(schema.entity_type.to_string()),
        );
    } else {
        conditions.push(present::<E>());
    }
    if let Some(version) = expected_version {
        conditions.extend(version_is::<E>(version));
    }
    conditions.extend(condition);
    Ok((update, and_all(conditions)))
}

impl<'c, E: Entity> IntoFuture for UpdateEntity<'c, E> {
    type Output = Result<E, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (update, condition) = prepare_update::<E>(
                self.update,
                self.condition,
                self.expected_version,
                self.upsert,
            )?;
            let table = E::schema().table;
            let compiled = compile(condition.as_ref(), Some(&update))?;
            let request = pb::UpdateItemRequest {
                table_name: table.to_string(),
                key: self.key.into_item(),
                update_expression: compiled.update,
                condition_expression: compiled.condition,
                expression_attribute_names: compiled.names,
                expression_attribute_values: compiled.values,
                return_values: Some("ALL_NEW".into()),
                return_values_on_condition_check_failure: old_on_failure(self.old_on_failure),
                ..Default::default()
            };
            let response = self
                .client
                .call(
                    "UpdateItem",
                    Some(table),
                    Idempotency::Unsafe,
                    request,
                    |mut c, r| async move { c.update_item(r).await },
                )
                .await?;
            decode(response.attributes)
        })
    }
}

/// See [`Client::delete`].
#[must_use = "does nothing until awaited"]
pub struct DeleteEntity<'c, E> {
    client: &'c Client,
    key: Key<E>,
    condition: Option<Condition>,
    expected_version: Option<u64>,
    old_on_failure: bool,
}

impl<E: Entity> DeleteEntity<'_, E> {
    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Deletes only if the stored version is `version`.
    pub fn expect_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }

    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.old_on_failure = true;
        self
    }
}

impl<'c, E: Entity> IntoFuture for DeleteEntity<'c, E> {
    type Output = Result<Option<E>, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let table = E::schema().table;
            let mut conditions: Vec<Condition> = self.condition.into_iter().collect();
            if let Some(version) = self.expected_version {
                conditions.extend(version_is::<E>(version));
            }
            let idempotency = if conditions.is_empty() {
                Idempotency::Safe
            } else {
                Idempotency::Unsafe
            };
            let compiled = compile_condition(and_all(conditions).as_ref())?;
            let request = pb::DeleteItemRequest {
                table_name: table.to_string(),
                key: self.key.into_item(),
                condition_expression: compiled.condition,
                expression_attribute_names: compiled.names,
                expression_attribute_values: compiled.values,
                return_values: Some("ALL_OLD".into()),
                return_values_on_condition_check_failure: old_on_failure(self.old_on_failure),
                ..Default::default()
            };
            let response = self
                .client
                .call(
                    "DeleteItem",
                    Some(table),
                    idempotency,
                    request,
                    |mut c, r| async move { c.delete_item(r).await },
                )
                .await?;
            if response.attributes.is_empty() {
                return Ok(None);
            }
            decode(response.attributes).map(Some)
        })
    }
}
