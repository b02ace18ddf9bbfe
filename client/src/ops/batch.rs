//! BatchGetItem and BatchWriteItem in chunks of DynamoDB's limits (100 keys, 25 writes),
//! resending unprocessed keys and writes with backoff until the retry policy gives up.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::Instant;

use futures::stream::{self, StreamExt};

use super::BoxFuture;
use crate::entity::{decode, encode, Key};
use crate::proto::v1 as pb;
use crate::retry::Idempotency;
use crate::{Client, Entity, Error, Item};

/// Keys per BatchGetItem request.
pub const MAX_BATCH_GET: usize = 100;
/// Writes per BatchWriteItem request.
pub const MAX_BATCH_WRITE: usize = 25;
/// Chunks in flight at once.
const CONCURRENCY: usize = 4;

/// The rounds of a batch: the first at once, then one per backoff while unprocessed
/// requests remain and the retry policy allows.
struct Resends {
    policy: crate::RetryPolicy,
    started: Instant,
    attempt: u32,
}

impl Resends {
    fn new(policy: &crate::RetryPolicy) -> Self {
        Resends {
            policy: policy.clone(),
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// Waits for the next round; false when the policy gives up.
    async fn next(&mut self) -> bool {
        let attempt = self.attempt;
        self.attempt += 1;
        if attempt == 0 {
            return true;
        }
        if attempt >= self.policy.max_attempts.max(1) {
            return false;
        }
        let delay = self.policy.jitter(attempt - 1);
        if self.started.elapsed() + delay > self.policy.max_elapsed {
            return false;
        }
        tokio::time::sleep(delay).await;
        true
    }
}

/// What a batch read found, and the keys still unread when the retry policy gave up.
#[derive(Debug)]
pub struct BatchGetOutput<T, K> {
    /// In no particular order; absent keys are simply missing.
    pub items: Vec<T>,
    pub unprocessed: Vec<K>,
}

impl Client {
    /// Reads many entities by key (eventually consistent unless [`BatchGet::consistent`]).
    pub fn batch_get<E: Entity>(&self, keys: impl IntoIterator<Item = Key<E>>) -> BatchGet<'_, E> {
        BatchGet {
            client: self,
            keys: keys.into_iter().collect(),
            consistent: false,
        }
    }

    /// Puts and deletes across tables, in any number.
    pub fn batch_write(&self) -> BatchWrite<'_> {
        BatchWrite {
            client: self,
            writes: Vec::new(),
            error: None,
        }
    }
}

/// See [`Client::batch_get`].
#[must_use = "does nothing until awaited"]
pub struct BatchGet<'c, E> {
    client: &'c Client,
    keys: Vec<Key<E>>,
    consistent: bool,
}

impl<E> BatchGet<'_, E> {
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }
}

impl<'c, E: Entity> IntoFuture for BatchGet<'c, E> {
    type Output = Result<BatchGetOutput<E, Key<E>>, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let table = E::schema().table;
            let keys = self.keys.into_iter().map(Key::into_item).collect();
            let output = self
                .client
                .batch_get_items(table, keys, self.consistent)
                .await?;
            let items = output
                .items
                .into_iter()
                .map(decode::<E>)
                .collect::<Result<_, _>>()?;
            Ok(BatchGetOutput {
                items,
                unprocessed: output.unprocessed.into_iter().map(Key::from_item).collect(),
            })
        })
    }
}

impl Client {
    /// Raw items by key from one table.
    pub async fn batch_get_items(
        &self,
        table: &str,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<BatchGetOutput<Item, Item>, Error> {
        let chunks: Vec<Vec<Item>> = keys.chunks(MAX_BATCH_GET).map(<[Item]>::to_vec).collect();
        let results: Vec<Result<BatchGetOutput<Item, Item>, Error>> = stream::iter(chunks)
            .map(|chunk| self.batch_get_chunk(table, chunk, consistent))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut output = BatchGetOutput {
            items: Vec::new(),
            unprocessed: Vec::new(),
        };
        for result in results {
            let chunk = result?;
            output.items.extend(chunk.items);
            output.unprocessed.extend(chunk.unprocessed);
        }
        Ok(output)
    }

    async fn batch_get_chunk(
        &self,
        table: &str,
        mut keys: Vec<Item>,
        consistent: bool,
    ) -> Result<BatchGetOutput<Item, Item>, Error> {
        let mut rounds = Resends::new(self.retry_policy());
        let mut found = Vec::new();
        while rounds.next().await {
            let request = pb::BatchGetItemRequest {
                request_items: HashMap::from([(
                    table.to_string(),
                    pb::KeysAndAttributes {
                        keys: std::mem::take(&mut keys)
                            .into_iter()
                            .map(|values| pb::MapValue { values })
                            .collect(),
                        consistent_read: consistent.then_some(true),
                        ..Default::default()
                    },
                )]),
                ..Default::default()
            };
            let response = self
                .call(
                    "BatchGetItem",
                    Some(table),
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.batch_get_item(r).await },
                )
                .await?;
            for (_, list) in response.responses {
                found.extend(list.values.into_iter().map(|m| m.values));
            }
            keys = response
                .unprocessed_keys
                .into_values()
                .flat_map(|k| k.keys)
                .map(|m| m.values)
                .collect();
            if keys.is_empty() {
                break;
            }
        }
        Ok(BatchGetOutput {
            items: found,
            unprocessed: keys,
        })
    }
}

/// See [`Client::batch_write`]. Batch writes cannot carry conditions: a versioned entity
/// is written as it is, without the version check (use a transaction for that).
#[must_use = "does nothing until awaited"]
pub struct BatchWrite<'c> {
    client: &'c Client,
    writes: Vec<(String, pb::WriteRequest)>,
    error: Option<Error>,
}

/// The writes still unapplied when the retry policy gave up, by table.
#[derive(Debug, Default)]
pub struct BatchWriteOutput {
    pub unprocessed: Vec<(String, pb::WriteRequest)>,
}

impl BatchWrite<'_> {
    pub fn put<E: Entity>(mut self, entity: &E) -> Self {
        match encode(entity) {
            Ok(item) => self.writes.push((
                E::schema().table.to_string(),
                pb::WriteRequest {
                    put_request: Some(pb::PutRequest { item }),
                    delete_request: None,
                },
            )),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    pub fn delete<E: Entity>(self, key: Key<E>) -> Self {
        self.delete_item(E::schema().table, key.into_item())
    }

    pub fn put_item(mut self, table: impl Into<String>, item: Item) -> Self {
        self.writes.push((
            table.into(),
            pb::WriteRequest {
                put_request: Some(pb::PutRequest { item }),
                delete_request: None,
            },
        ));
        self
    }

    pub fn delete_item(mut self, table: impl Into<String>, key: Item) -> Self {
        self.writes.push((
            table.into(),
            pb::WriteRequest {
                put_request: None,
                delete_request: Some(pb::DeleteRequest { key }),
            },
        ));
        self
    }
}

impl<'c> IntoFuture for BatchWrite<'c> {
    type Output = Result<BatchWriteOutput, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(error) = self.error {
                return Err(error);
            }
            let client = self.client;
            let chunks: Vec<Vec<(String, pb::WriteRequest)>> = self
                .writes
                .chunks(MAX_BATCH_WRITE)
                .map(<[_]>::to_vec)
                .collect();
            let results: Vec<Result<Vec<(String, pb::WriteRequest)>, Error>> = stream::iter(chunks)
                .map(|chunk| client.batch_write_chunk(chunk))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut output = BatchWriteOutput::default();
            for result in results {
                output.unprocessed.extend(result?);
            }
            Ok(output)
        })
    }
}

impl Client {
    async fn batch_write_chunk(
        &self,
        mut writes: Vec<(String, pb::WriteRequest)>,
    ) -> Result<Vec<(String, pb::WriteRequest)>, Error> {
        let mut rounds = Resends::new(self.retry_policy());
        while rounds.next().await {
            let mut request_items: HashMap<String, pb::WriteRequestList> = HashMap::new();
            for (table, write) in std::mem::take(&mut writes) {
                request_items.entry(table).or_default().values.push(write);
            }
            let table = request_items.keys().next().cloned();
            let request = pb::BatchWriteItemRequest {
                request_items,
                ..Default::default()
            };
            let response = self
                .call(
                    "BatchWriteItem",
                    table.as_deref(),
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.batch_write_item(r).await },
                )
                .await?;
            writes = response
                .unprocessed_items
                .into_iter()
                .flat_map(|(table, list)| list.values.into_iter().map(move |w| (table.clone(), w)))
                .collect();
            if writes.is_empty() {
                break;
            }
        }
        Ok(writes)
    }
}
