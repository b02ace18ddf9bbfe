//! TransactWriteItems mixing entity operations, made idempotent by a ClientRequestToken.

use std::future::IntoFuture;

use super::{and_all, compile, present, version_is, BoxFuture};
use crate::entity::{encode, Key};
use crate::expr::{Condition, Update};
use crate::ops::items::{prepare_put, prepare_update, PutMode};
use crate::proto::v1 as pb;
use crate::retry::Idempotency;
use crate::{Client, Entity, Error};

/// Actions per transaction (DynamoDB's limit).
pub const MAX_TRANSACTION_ACTIONS: usize = 100;

impl Client {
    /// An all-or-nothing group of writes and checks (at most 100, on distinct items).
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction {
            client: self,
            actions: Vec::new(),
            token: None,
            error: None,
            old_on_failure: false,
        }
    }
}

/// See [`Client::transaction`]. Awaiting it commits. If it is cancelled the error is
/// `Error::TransactionCanceled` with one reason per action, in the order they were added.
#[must_use = "does nothing until awaited"]
pub struct Transaction<'c> {
    client: &'c Client,
    actions: Vec<pb::TransactWriteItem>,
    token: Option<String>,
    error: Option<Error>,
    old_on_failure: bool,
}

impl Transaction<'_> {
    fn push(mut self, action: Result<pb::TransactWriteItem, Error>) -> Self {
        match action {
            Ok(action) => self.actions.push(action),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    fn put_action<E: Entity>(self, entity: E, mode: PutMode, condition: Option<Condition>) -> Self {
        let old = self.old_on_failure_value();
        let (entity, condition) = prepare_put(entity, mode, condition);
        let action = (|| {
            let compiled = compile(condition.as_ref(), None)?;
            Ok(pb::TransactWriteItem {
                put: Some(pb::Put {
                    item: encode(&entity)?,
                    table_name: E::schema().table.to_string(),
                    condition_expression: compiled.condition,
                    expression_attribute_names: compiled.names,
                    expression_attribute_values: compiled.values,
                    return_values_on_condition_check_failure: old,
                }),
                ..Default::default()
            })
        })();
        self.push(action)
    }

    fn old_on_failure_value(&self) -> Option<String> {
        self.old_on_failure.then(|| "ALL_OLD".to_string())
    }

    /// Puts an entity (with the version check of [`Client::put`]).
    pub fn put<E: Entity>(self, entity: E) -> Self {
        self.put_action(entity, PutMode::Upsert, None)
    }

    /// Puts an entity that must not exist yet.
    pub fn create<E: Entity>(self, entity: E) -> Self {
        self.put_action(entity, PutMode::Create, None)
    }

    /// Puts an entity that must exist already.
    pub fn replace<E: Entity>(self, entity: E) -> Self {
        self.put_action(entity, PutMode::Replace, None)
    }

    /// Puts an entity if `condition` holds for the stored item.
    pub fn put_if<E: Entity>(self, entity: E, condition: Condition) -> Self {
        self.put_action(entity, PutMode::Upsert, Some(condition))
    }

    /// Updates an existing entity (version and `updated_at` as [`Client::update`]).
    pub fn update<E: Entity>(self, key: Key<E>, update: Update) -> Self {
        self.update_if(key, update, None)
    }

    /// Updates an existing entity if `condition` holds.
    pub fn update_if<E: Entity>(
        self,
        key: Key<E>,
        update: Update,
        condition: Option<Condition>,
    ) -> Self {
        let old = self.old_on_failure_value();
        let action = (|| {
            let (update, condition) = prepare_update::<E>(update, condition, None, false)?;
            let compiled = compile(condition.as_ref(), Some(&update))?;
            Ok(pb::TransactWriteItem {
                update: Some(pb::Update {
                    key: key.into_item(),
                    update_expression: compiled.update.unwrap_or_default(),
                    table_name: E::schema().table.to_string(),
                    condition_expression: compiled.condition,
                    expression_attribute_names: compiled.names,
                    expression_attribute_values: compiled.values,
                    return_values_on_condition_check_failure: old,
                }),
                ..Default::default()
            })
        })();
        self.push(action)
    }

    /// Deletes an entity (whether or not it exists).
    pub fn delete<E: Entity>(self, key: Key<E>) -> Self {
        self.delete_if(key, None)
    }

    /// Deletes an entity if `condition` holds.
    pub fn delete_if<E: Entity>(self, key: Key<E>, condition: Option<Condition>) -> Self {
        let old = self.old_on_failure_value();
        let action = (|| {
            let compiled = compile(condition.as_ref(), None)?;
            Ok(pb::TransactWriteItem {
                delete: Some(pb::Delete {
                    key: key.into_item(),
                    table_name: E::schema().table.to_string(),
                    condition_expression: compiled.condition,
                    expression_attribute_names: compiled.names,
                    expression_attribute_values: compiled.values,
                    return_values_on_condition_check_failure: old,
                }),
                ..Default::default()
            })
        })();
        self.push(action)
    }

    /// Requires `condition` of an entity that the transaction does not write.
    pub fn check<E: Entity>(self, key: Key<E>, condition: Condition) -> Self {
        let old = self.old_on_failure_value();
        let action = (|| {
            let compiled = compile(Some(&condition), None)?;
            Ok(pb::TransactWriteItem {
                condition_check: Some(pb::ConditionCheck {
                    key: key.into_item(),
                    table_name: E::schema().table.to_string(),
                    condition_expression: compiled.condition.unwrap_or_default(),
                    expression_attribute_names: compiled.names,
                    expression_attribute_values: compiled.values,
                    return_values_on_condition_check_failure: old,
                }),
                ..Default::default()
            })
        })();
        self.push(action)
    }

    /// Requires that an entity exists and, if versioned, is at `version`.
    pub fn check_version<E: Entity>(self, key: Key<E>, version: u64) -> Self {
        let condition = and_all(std::iter::once(present::<E>()).chain(version_is::<E>(version)));
        match condition {
            Some(condition) => self.check(key, condition),
            None => self,
        }
    }

    /// The ClientRequestToken: resending the same transaction with the same token within
    /// ten minutes applies it once. A random token is used when none is set, so the
    /// client's own retries are always safe.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Cancellation reasons of failed conditions carry the stored item. Applies to the
    /// actions added after this call.
    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.old_on_failure = true;
        self
    }
}

impl<'c> IntoFuture for Transaction<'c> {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(error) = self.error {
                return Err(error);
            }
            let table = self
                .actions
                .iter()
                .filter_map(|a| {
                    a.put
                        .as_ref()
                        .map(|p| p.table_name.clone())
                        .or_else(|| a.update.as_ref().map(|u| u.table_name.clone()))
                        .or_else(|| a.delete.as_ref().map(|d| d.table_name.clone()))
                        .or_else(|| a.condition_check.as_ref().map(|c| c.table_name.clone()))
                })
                .next();
            let request = pb::TransactWriteItemsRequest {
                transact_items: self.actions,
                client_request_token: Some(
                    self.token
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                ),
                ..Default::default()
            };
            self.client
                .call(
                    "TransactWriteItems",
                    table.as_deref(),
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.transact_write_items(r).await },
                )
                .await?;
            Ok(())
        })
    }
}
