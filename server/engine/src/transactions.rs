//! TransactWriteItems and TransactGetItems.
//!
//! A write transaction takes the schema lock and every item's lock stripe (in ascending
//! order, as batches do), checks every condition against the current items, and commits
//! all changes, index entries and its idempotency token as one atomic storage batch:
//! serializable against single-item writes, batches and other transactions, and all or
//! nothing across a crash. A read transaction reads one storage snapshot.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::capacity::{self, ReturnCapacity, Usage};
use super::catalog::Table;
use super::commit::{Change, Origin};
use super::indexes;
use super::items::{validate_new_item, validate_updated_item};
use super::throughput::partition_of;
use super::types::*;
use super::{now_epoch_seconds, Engine};
use crate::error::{Error, Result};
use crate::expr::{Condition, Projection, Update};
use crate::model::{codec, item_size, Item};
use crate::storage::Op;
use keyfall_types::command::{
    Access, PartAction, PartError, TransactGetItems, TransactPart, TransactWriteItems,
};

pub const TOKENS_KEYSPACE: &str = "_tokens";
const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// How long a ClientRequestToken makes a retry idempotent.
const TOKEN_WINDOW_SECONDS: f64 = 600.0;

enum Kind {
    Check,
    Put(Item),
    Delete,
    Update(Option<Update>),
}

/// An action after validation: ready, or cancelling the transaction with a reason.
enum Prepared {
    Ready(Action),
    Invalid(String),
}

/// One validated action, ready to run under the locks.
struct Action {
    table: Arc<Table>,
    key: Vec<u8>,
    key_item: Item,
    kind: Kind,
    condition: Option<Condition>,
    return_on_failure: bool,
}

fn duplicate_item() -> Error {
    Error::validation("Transaction request cannot include multiple operations on one item")
}

impl Engine {
    /// Looks up a part's table and checks what needs it (keys, sizes, indexes).
    fn prepare(&self, part: TransactPart) -> Result<Prepared> {
        let (action, table, write) = match part {
            TransactPart::Malformed(e) => return Err(e),
            TransactPart::Named {
                action,
                table,
                write,
            } => (action, table, write),
        };
        let table = self.item_table_named(&table)?;
        let write = match write {
            Ok(w) => w,
            Err(PartError::Request(e)) => return Err(e),
            Err(PartError::Item { message, .. }) => return Ok(Prepared::Invalid(message)),
        };
        let schema = &table.meta.key_schema;
        // Item-level problems (keys, values, sizes) cancel the transaction with a
        // ValidationError reason for this action, as DynamoDB reports them.
        let item_level = || -> Result<(Item, Kind)> {
            let item = &write.subject;
            Ok(match action {
                PartAction::Put => {
                    schema.validate_item(item)?;
                    validate_new_item(item)?;
                    indexes::validate_item(&table, item)?;
                    (schema.extract_key(item), Kind::Put(item.clone()))
                }
                PartAction::ConditionCheck | PartAction::Delete | PartAction::Update => {
                    schema.validate_key(item)?;
                    let kind = match action {
                        PartAction::ConditionCheck => Kind::Check,
                        PartAction::Delete => Kind::Delete,
                        _ => {
                            if let Some(u) = &write.update {
                                let names: Vec<&str> = schema.key_names().collect();
                                u.check_key_attributes(&names)?;
                            }
                            Kind::Update(write.update.clone())
                        }
                    };
                    (item.clone(), kind)
                }
            })
        };
        match item_level()
            .and_then(|(key_item, kind)| Ok((schema.encode(&key_item)?, key_item, kind)))
        {
            Ok((key, key_item, kind)) => Ok(Prepared::Ready(Action {
                table,
                key,
                key_item,
                kind,
                condition: write.condition,
                return_on_failure: write.item_on_failure,
            })),
            Err(Error::Validation(message)) => Ok(Prepared::Invalid(message)),
            Err(other) => Err(other),
        }
    }

    pub fn transact_write_items(
        &self,
        cmd: TransactWriteItems,
    ) -> Result<TransactWriteItemsOutput> {
        let _schema = self.schema_lock.read();
        let (rcc, metrics) = (cmd.capacity, cmd.collection_metrics);
        let prepared = cmd
            .parts
            .into_iter()
            .map(|p| self.prepare(p))
            .collect::<Result<Vec<_>>>()?;
        if prepared.iter().any(|p| matches!(p, Prepared::Invalid(_))) {
            let reasons = prepared
                .iter()
                .map(|p| match p {
                    Prepared::Invalid(message) => CancellationReason {
                        code: "ValidationError".into(),
                        message: Some(message.clone()),
                        item: None,
                    },
                    Prepared::Ready(_) => CancellationReason {
                        code: "None".into(),
                        ..Default::default()
                    },
                })
                .collect();
            return Err(Error::TransactionCanceled { reasons });
        }
        let actions: Vec<Action> = prepared
            .into_iter()
            .filter_map(|p| match p {
                Prepared::Ready(a) => Some(a),
                Prepared::Invalid(_) => None,
            })
            .collect();
        let mut seen = HashSet::new();
        for a in &actions {
            if !seen.insert((a.table.meta.keyspace.as_str(), a.key.as_slice())) {
                return Err(duplicate_item());
            }
        }
        let size: usize = actions
            .iter()
            .map(|a| match &a.kind {
                Kind::Put(item) => item_size(item),
                _ => item_size(&a.key_item),
            })
            .sum();
        if size > MAX_TRANSACTION_BYTES {
            return Err(Error::validation(
                "Transaction request size exceeds the maximum allowed size of 4 MB",
            ));
        }
        let token = match &cmd.token {
            Some(t) if t.is_empty() || t.len() > 36 => {
                return Err(Error::validation(
                    "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 1 and 36",
                ))
            }
            Some(t) => Some((t.clone(), cmd.fingerprint)),
            None => None,
        };

        // The token's stripe is locked with the items': two requests with one token are
        // serialized, so the second sees the first's token (same request: its answer
        // again; another request: IdempotentParameterMismatch), never both commit.
        let stripes: BTreeSet<usize> = actions
            .iter()
            .map(|a| self.lock_stripe(&a.table.meta.keyspace, &a.key))
            .chain(
                token
                    .as_ref()
                    .map(|(t, _)| self.lock_stripe(TOKENS_KEYSPACE, t.as_bytes())),
            )
            .collect();
        let _guards: Vec<_> = stripes
            .into_iter()
            .map(|s| self.lock_stripe_index(s))
            .collect();
        if let Some((token, print)) = &token {
            if self.token_seen(token, *print)? {
                // The same request within the window: already applied, answer success again.
                return Ok(TransactWriteItemsOutput::default());
            }
        }

        // Evaluate every action against the current items; collect every failure.
        let mut reasons = Vec::with_capacity(actions.len());
        let mut changes = Vec::with_capacity(actions.len());
        let mut failed = false;
        for a in &actions {
            // An item whose table or partition has no throughput left cancels the
            // transaction, with its reason.
            if let Err(e) = self.check_item(&a.table, Access::Write, &a.key, &a.key_item) {
                reasons.push(throttled(e)?);
                changes.push(None);
                failed = true;
                continue;
            }
            let stored = self.read_stored(&a.table.meta.keyspace, &a.key)?;
            let old = a.table.meta.visible(stored.clone());
            let empty = Item::new();
            let ok = match &a.condition {
                Some(c) => c.evaluate(old.as_ref().unwrap_or(&empty))?,
                None => true,
            };
            if !ok {
                failed = true;
                reasons.push(CancellationReason {
                    code: "ConditionalCheckFailed".into(),
                    message: Some("The conditional request failed".into()),
                    item: if a.return_on_failure {
                        old.clone()
                    } else {
                        None
                    },
                });
                changes.push(None);
                continue;
            }
            let new = match &a.kind {
                Kind::Check => {
                    reasons.push(CancellationReason {
                        code: "None".into(),
                        ..Default::default()
                    });
                    changes.push(None);
                    continue;
                }
                Kind::Put(item) => Some(item.clone()),
                Kind::Delete => None,
                Kind::Update(update) => {
                    let mut new = old.clone().unwrap_or_else(|| a.key_item.clone());
                    if let Some(u) = update {
                        u.apply(&mut new)?;
                    }
                    validate_updated_item(&new)?;
                    indexes::validate_item(&a.table, &new)?;
                    Some(new)
                }
            };
            // So do the GSIs it would update.
            match self.check_indexes(&a.table, &a.key, stored.as_ref(), new.as_ref()) {
                Ok(gsis) => {
                    reasons.push(CancellationReason {
                        code: "None".into(),
                        ..Default::default()
                    });
                    changes.push(Some((stored, new, gsis)));
                }
                Err(e) => {
                    reasons.push(throttled(e)?);
                    changes.push(None);
                    failed = true;
                }
            }
        }
        if failed {
            return Err(Error::TransactionCanceled { reasons });
        }

        let committed: Vec<Change<'_>> = actions
            .iter()
            .zip(&changes)
            .filter_map(|(a, change)| {
                change.as_ref().map(|(old, new, _)| Change {
                    table: &a.table,
                    key: &a.key,
                    old: old.as_ref(),
                    new: new.as_ref(),
                })
            })
            .collect();
        let extra = token
            .as_ref()
            .map(|(t, print)| token_op(t, *print))
            .into_iter()
            .collect();
        self.commit_changes(&committed, extra, Origin::Client)?;

        let mut usage: HashMap<&str, Usage> = HashMap::new();
        let mut collection_metrics: HashMap<String, Vec<ItemCollectionMetrics>> = HashMap::new();
        for (a, change) in actions.iter().zip(&changes) {
            if let Some((_, _, gsis)) = change {
                Self::charge_indexes(&a.table, gsis.as_ref());
            }
            if rcc != ReturnCapacity::None {
                let u = match change {
                    Some((old, new, _)) => {
                        indexes::write_usage(&a.table, &a.key, old.as_ref(), new.as_ref())
                    }
                    None => Usage::table(capacity::write_units(0, 0)),
                };
                // Transactional writes cost double.
                let entry = usage.entry(a.table.meta.name.as_str()).or_default();
                entry.add(&u);
                entry.add(&u);
            }
            if let Some(m) = self.collection_metrics(&a.table, metrics, &a.key_item) {
                collection_metrics
                    .entry(a.table.meta.name.clone())
                    .or_default()
                    .push(m);
            }
        }
        let consumed = usage
            .iter()
            .filter_map(|(t, u)| capacity::consumed(t, rcc, u))
            .collect();
        Ok(TransactWriteItemsOutput {
            consumed_capacity: (rcc != ReturnCapacity::None).then_some(consumed),
            item_collection_metrics: (!collection_metrics.is_empty()).then_some(collection_metrics),
        })
    }

    /// Whether `token` was used within the window: for the same request (true) or, as an
    /// error, for a different one.
    fn token_seen(&self, token: &str, print: u64) -> Result<bool> {
        let Some(record) = self.store.get(TOKENS_KEYSPACE, token.as_bytes())? else {
            return Ok(false);
        };
        let Some((stored, at)) = decode_token(&record) else {
            return Ok(false);
        };
        if now_epoch_seconds() - at > TOKEN_WINDOW_SECONDS {
            return Ok(false);
        }
        if stored == print {
            Ok(true)
        } else {
            Err(Error::IdempotentParameterMismatch(format!(
                "ClientRequestToken {token} was used within the last 10 minutes for a different request"
            )))
        }
    }

    /// Deletes idempotency tokens older than DynamoDB's 10-minute window (run by the
    /// sweeper), so the token store does not grow forever.
    pub fn expire_tokens(&self) -> Result<usize> {
        let now = now_epoch_seconds();
        let mut stale = Vec::new();
        for kv in self
            .store
            .range(TOKENS_KEYSPACE, crate::storage::KeyRange::all(), false)?
        {
            let (k, v) = kv?;
            let expired = decode_token(&v).is_none_or(|(_, at)| now - at > TOKEN_WINDOW_SECONDS);
            if expired {
                stale.push(k);
            }
        }
        let mut deleted = 0;
        for key in stale {
            // Under the token's stripe, re-checked: a request reusing the token now keeps it.
            let _stripe = self.lock_item(TOKENS_KEYSPACE, &key);
            let still = self
                .store
                .get(TOKENS_KEYSPACE, &key)?
                .and_then(|v| decode_token(&v))
                .is_none_or(|(_, at)| now_epoch_seconds() - at > TOKEN_WINDOW_SECONDS);
            if still {
                self.store.apply(vec![Op::Delete {
                    keyspace: TOKENS_KEYSPACE.into(),
                    key,
                }])?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    #[allow(
        clippy::type_complexity,
        reason = "one tuple per get, named where it is built"
    )]
    pub fn transact_get_items(&self, cmd: TransactGetItems) -> Result<TransactGetItemsOutput> {
        let rcc = cmd.capacity;
        // Each get's table, stored key, projection and key.
        let mut gets: Vec<(Arc<Table>, Vec<u8>, Option<Projection>, Item)> =
            Vec::with_capacity(cmd.parts.len());
        let mut seen = HashSet::new();
        for part in cmd.parts {
            let table = self.item_table_named(&part.table?)?;
            let key = part.key?;
            table.meta.key_schema.validate_key(&key)?;
            let encoded = table.meta.key_schema.encode(&key)?;
            if !seen.insert((table.meta.keyspace.clone(), encoded.clone())) {
                return Err(duplicate_item());
            }
            gets.push((table, encoded, part.projection?, key));
        }
        // Each item's table and partition must have throughput left, or the transaction is
        // cancelled with the refused items' reasons.
        let mut reasons = Vec::with_capacity(gets.len());
        for (table, key, _, key_item) in &gets {
            reasons.push(match self.check_item(table, Access::Read, key, key_item) {
                Ok(()) => CancellationReason {
                    code: "None".into(),
                    ..Default::default()
                },
                Err(e) => throttled(e)?,
            });
        }
        if reasons.iter().any(|r| r.code != "None") {
            return Err(Error::TransactionCanceled { reasons });
        }
        // One snapshot: every write (a single storage batch) is seen entirely or not at all.
        let snapshot = self.store.snapshot();
        let mut responses = Vec::with_capacity(gets.len());
        let mut usage: HashMap<&str, f64> = HashMap::new();
        for (table, key, projection, key_item) in &gets {
            table
                .insights
                .record(None, &table.meta.key_schema, key_item, false);
            let item = match snapshot.get(&table.meta.keyspace, key)? {
                Some(bytes) => {
                    Some(codec::decode_item(&bytes).map_err(|e| Error::Internal(e.to_string()))?)
                }
                None => None,
            };
            let item = table.meta.visible(item);
            // Transactional reads cost double a strongly consistent read.
            let units = 2.0 * capacity::read_units(item.as_ref().map(item_size).unwrap_or(0), true);
            super::observe::read(table, None, partition_of(key), units);
            *usage.entry(table.meta.name.as_str()).or_default() += units;
            let item = match (item, projection) {
                (Some(i), Some(p)) => Some(p.apply(&i)),
                (item, _) => item,
            };
            responses.push(ItemResponse { item });
        }
        let consumed = usage
            .iter()
            .filter_map(|(t, u)| capacity::consumed(t, rcc, &Usage::table(*u)))
            .collect();
        Ok(TransactGetItemsOutput {
            responses,
            consumed_capacity: (rcc != ReturnCapacity::None).then_some(consumed),
        })
    }
}

/// The cancellation reason of an item refused by throttling `e`; any other error is
/// answered as itself.
fn throttled(e: Error) -> Result<CancellationReason> {
    super::admission::cancellation(&e).ok_or(e)
}

fn token_op(token: &str, print: u64) -> Op {
    let mut value = print.to_be_bytes().to_vec();
    value.extend_from_slice(&now_epoch_seconds().to_be_bytes());
    Op::Put {
        keyspace: TOKENS_KEYSPACE.into(),
        key: token.as_bytes().to_vec(),
        value,
    }
}

fn decode_token(v: &[u8]) -> Option<(u64, f64)> {
    let print = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let at = f64::from_be_bytes(v.get(8..16)?.try_into().ok()?);
    Some((print, at))
}
