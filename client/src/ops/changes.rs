//! The change feed (Keyfall's push `SubscribeChanges`) as a stream of typed change events,
//! resumed after the last event seen when the connection drops.

use std::time::Instant;

use futures::stream::{self, BoxStream, StreamExt};
use tracing::Instrument;

use crate::entity::decode_kind;
use crate::proto::v1 as pb;
use crate::{Client, Entity, Error, Item};

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Change<T> {
    pub kind: ChangeKind,
    /// Its position in the feed: pass to [`Changes::after`] to resume after it.
    pub sequence_number: String,
    pub keys: Item,
    /// The item before the change (with OLD_IMAGE or NEW_AND_OLD_IMAGES streams).
    pub old: Option<T>,
    /// The item after the change (with NEW_IMAGE or NEW_AND_OLD_IMAGES streams).
    pub new: Option<T>,
    /// A deletion by Time to Live.
    pub expired: bool,
}

/// Where a feed starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingPosition {
    /// Changes committed after the subscription is established.
    Latest,
    /// The oldest change still retained.
    TrimHorizon,
    /// Changes after this sequence number.
    After(String),
}

type Decoder<T> = fn(Item) -> Result<Option<T>, Error>;

/// See [`Client::changes`]. The table must have a stream enabled.
#[must_use = "does nothing until streamed"]
pub struct Changes<'c, T> {
    client: &'c Client,
    table: String,
    start: StartingPosition,
    decode: Decoder<T>,
    /// Whether a record whose images are not of this kind is skipped (typed feeds).
    typed: bool,
}

impl Client {
    /// Changes to entities of type `E` (changes to other kinds in the table are skipped).
    pub fn changes<E: Entity>(&self) -> Changes<'_, E> {
        Changes {
            client: self,
            table: E::schema().table.to_string(),
            start: StartingPosition::Latest,
            decode: decode_kind::<E>,
            typed: true,
        }
    }

    /// Changes to any item of a table.
    pub fn changes_items(&self, table: impl Into<String>) -> Changes<'_, Item> {
        Changes {
            client: self,
            table: table.into(),
            start: StartingPosition::Latest,
            decode: |item| Ok(Some(item)),
            typed: false,
        }
    }
}

impl<'c, T: Send + 'static> Changes<'c, T> {
    pub fn from(mut self, start: StartingPosition) -> Self {
        self.start = start;
        self
    }

    /// Resumes after a change already processed.
    pub fn after(self, sequence_number: impl Into<String>) -> Self {
        self.from(StartingPosition::After(sequence_number.into()))
    }

    /// The feed. It ends only on an error the retry policy does not retry; after a lost
    /// connection it resubscribes after the last change it delivered.
    pub fn stream(self) -> BoxStream<'c, Result<Change<T>, Error>> {
        struct State<'c> {
            client: &'c Client,
            table: String,
            position: StartingPosition,
            feed: Option<tonic::Streaming<pb::ChangeRecord>>,
            failures: u32,
            since: Instant,
            done: bool,
        }
        let decode = self.decode;
        let typed = self.typed;
        let state = State {
            client: self.client,
            table: self.table,
            position: self.start,
            feed: None,
            failures: 0,
            since: Instant::now(),
            done: false,
        };
        stream::unfold(state, move |mut state| async move {
            loop {
                if state.done {
                    return None;
                }
                let outcome = match state.feed.as_mut() {
                    Some(feed) => feed.message().await.map_err(Error::from_status),
                    None => match subscribe(state.client, &state.table, &state.position).await {
                        Ok(feed) => {
                            state.feed = Some(feed);
                            continue;
                        }
                        Err(error) => Err(error),
                    },
                };
                match outcome {
                    Ok(Some(record)) => {
                        state.failures = 0;
                        state.position = StartingPosition::After(record.sequence_number.clone());
                        match change(record, decode, typed) {
                            Ok(Some(change)) => return Some((Ok(change), state)),
                            Ok(None) => continue,
                            Err(error) => return Some((Err(error), state)),
                        }
                    }
                    // The server ended the feed (it is shutting down): resubscribe.
                    Ok(None) => {
                        state.feed = None;
                        let error = Error::ServiceUnavailable {
                            message: "the change feed ended".into(),
                        };
                        if !backoff(&mut state.failures, &mut state.since, state.client, &error)
                            .await
                        {
                            state.done = true;
                            return Some((Err(error), state));
                        }
                    }
                    Err(error) => {
                        state.feed = None;
                        if !backoff(&mut state.failures, &mut state.since, state.client, &error)
                            .await
                        {
                            state.done = true;
                            return Some((Err(error), state));
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

/// Waits before resubscribing; false when the retry policy gives up.
async fn backoff(failures: &mut u32, since: &mut Instant, client: &Client, error: &Error) -> bool {
    if *failures == 0 {
        *since = Instant::now();
    }
    let policy = client.retry_policy();
    match policy.backoff(*failures, since.elapsed(), error, crate::Idempotency::Safe) {
        Some(delay) => {
            tracing::debug!(%error, "change feed interrupted; resubscribing");
            tokio::time::sleep(delay).await;
            *failures += 1;
            true
        }
        None => false,
    }
}

async fn subscribe(
    client: &Client,
    table: &str,
    position: &StartingPosition,
) -> Result<tonic::Streaming<pb::ChangeRecord>, Error> {
    let (starting_position, sequence_number) = match position {
        StartingPosition::Latest => ("LATEST", None),
        StartingPosition::TrimHorizon => ("TRIM_HORIZON", None),
        StartingPosition::After(seq) => ("AFTER_SEQUENCE_NUMBER", Some(seq.clone())),
    };
    let request = pb::SubscribeChangesRequest {
        table_name: table.to_string(),
        starting_position: Some(starting_position.to_string()),
        sequence_number,
        internal: None,
    };
    let span = tracing::info_span!(
        "dynamodb",
        otel.name = "DynamoDBStreams.SubscribeChanges",
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.method = "SubscribeChanges",
        db.system = "dynamodb",
        aws.dynamodb.table_names = table,
    );
    async {
        client
            .streams_grpc()
            .subscribe_changes(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(Error::from_status)
    }
    .instrument(span)
    .await
}

fn change<T>(
    record: pb::ChangeRecord,
    decode: Decoder<T>,
    typed: bool,
) -> Result<Option<Change<T>>, Error> {
    let Some(inner) = record.record else {
        return Ok(None);
    };
    let kind = match inner.event_name.as_deref() {
        Some("INSERT") => ChangeKind::Insert,
        Some("MODIFY") => ChangeKind::Modify,
        Some("REMOVE") => ChangeKind::Remove,
        _ => return Ok(None),
    };
    let expired = inner
        .user_identity
        .as_ref()
        .and_then(|i| i.principal_id.as_deref())
        == Some("dynamodb.amazonaws.com");
    let data = inner.dynamodb.unwrap_or_default();
    let had_images = !data.old_image.is_empty() || !data.new_image.is_empty();
    let image = |item: Item| -> Result<Option<T>, Error> {
        if item.is_empty() {
            Ok(None)
        } else {
            decode(item)
        }
    };
    let old = image(data.old_image)?;
    let new = image(data.new_image)?;
    if typed && had_images && old.is_none() && new.is_none() {
        return Ok(None);
    }
    Ok(Some(Change {
        kind,
        sequence_number: record.sequence_number,
        keys: data.keys,
        old,
        new,
        expired,
    }))
}
