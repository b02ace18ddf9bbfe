//! The DynamoDB Streams gRPC service, plus `SubscribeChanges`: a push feed of a table's
//! change records, in order and resumable from any retained sequence number.

use std::time::Duration;

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::dynamo_db_streams_server::DynamoDbStreams;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use keyfall_api::grpc::codec::{FromProto, IntoProto};

use super::convert::{item_to_proto, record_to_proto};
use super::{auth_status, caller_of, to_status};
use crate::auth::checks::{Authorize, FollowChanges, SubscribeChanges};
use crate::error::Error;

use crate::engine::subscription::FEED_BATCH;
/// The internal feed checks at least this often that its table still exists.
const FEED_POLL: Duration = Duration::from_millis(500);

pub struct StreamsService {
    pub gate: super::Pipeline,
    /// Feeds end at shutdown: a graceful shutdown waits for open streams.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

#[tonic::async_trait]
impl DynamoDbStreams for StreamsService {
    keyfall_api::streams_actions!(engine_rpcs);

    type SubscribeChangesStream = tonic::codegen::BoxStream<pb::ChangeRecord>;

    async fn subscribe_changes(
        &self,
        r: Request<pb::SubscribeChangesRequest>,
    ) -> Result<Response<Self::SubscribeChangesStream>, Status> {
        let caller = caller_of(&r)?;
        let r = r.into_inner();
        if r.internal == Some(true) {
            return self.follow_internal(caller, r.table_name).await;
        }
        let engine = self.gate.engine.clone();
        let table_name = r.table_name.clone();
        let subscribe = || SubscribeChanges {
            table_name: table_name.clone(),
        };
        let action = "dynamodb:GetRecords";
        let mut permission = FeedPermission::new(&self.gate, caller.clone(), action, subscribe());
        self.gate
            .rpc(&caller, action, subscribe(), |_, _| Ok(()))
            .await?;
        let start = r.starting_position.unwrap_or_else(|| "LATEST".into());
        // The starting point is resolved now, so a bad request fails the call itself.
        let mut subscription = engine
            .subscribe_stream(r.table_name, start, r.sequence_number)
            .await
            .map_err(to_status)?;
        let (tx, rx) = mpsc::channel::<Result<pb::ChangeRecord, Status>>(FEED_BATCH);
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            while !*shutdown.borrow() {
                // Permission is re-checked whenever users, keys or policies change: a
                // revoked caller or a deleted key ends the feed before its next record.
                if let Err(e) = permission.recheck() {
                    let _ = tx.send(Err(auth_status(&e))).await;
                    return;
                }
                let batch = tokio::select! {
                    b = subscription.next() => b,
                    _ = tx.closed() => return,
                    // A dropped sender is a shutdown too (never a busy loop).
                    changed = shutdown.changed() => match changed {
                        Ok(()) => continue,
                        Err(_) => break,
                    },
                };
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.send(Err(to_status(e))).await;
                        return;
                    }
                };
                for (_, rec) in batch {
                    let msg = pb::ChangeRecord {
                        sequence_number: rec.dynamodb.sequence_number.clone(),
                        record: Some(record_to_proto(&rec)),
                        table_id: String::new(),
                    };
                    if tx.send(Ok(msg)).await.is_err() {
                        return; // the subscriber went away
                    }
                }
            }
            let _ = tx
                .send(Err(Status::unavailable("the server is shutting down")))
                .await;
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// The permission check long-lived feeds repeat: whenever users, keys or policies change,
/// the caller is looked up again and the feed's checks re-evaluated.
struct FeedPermission<S> {
    auth: std::sync::Arc<crate::auth::Auth>,
    engine: std::sync::Arc<crate::engine::Engine>,
    caller: crate::auth::Caller,
    /// The directory generation last checked; read before the first authorization, so
    /// any change after it is seen.
    generation: u64,
    action: &'static str,
    subscription: S,
}

impl<S: Authorize> FeedPermission<S> {
    fn new(
        gate: &super::Pipeline,
        caller: crate::auth::Caller,
        action: &'static str,
        subscription: S,
    ) -> Self {
        FeedPermission {
            generation: gate.auth.directory().generation(),
            auth: gate.auth.clone(),
            engine: gate.engine.clone(),
            caller,
            action,
            subscription,
        }
    }

    fn recheck(&mut self) -> Result<(), crate::auth::AuthError> {
        let generation = self.auth.directory().generation();
        if generation == self.generation {
            return Ok(());
        }
        self.generation = generation;
        let checks = self
            .subscription
            .checks(self.action, &crate::api::EngineSchemas(&self.engine));
        let refreshed = self.auth.refresh(&self.caller)?;
        self.auth.authorize(&refreshed, &checks)?;
        self.caller = refreshed;
        Ok(())
    }
}

impl StreamsService {
    /// The internal change feed of a table (`SubscribeChangesRequest.internal`): every
    /// change from now on, with the whole new item, whatever the table's stream setting.
    async fn follow_internal(
        &self,
        caller: crate::auth::Caller,
        table_name: String,
    ) -> Result<Response<<Self as DynamoDbStreams>::SubscribeChangesStream>, Status> {
        const ACTION: &str = "keyfall:FollowChanges";
        let engine = self.gate.engine.clone();
        let follow = || FollowChanges {
            table_name: table_name.clone(),
        };
        let mut permission = FeedPermission::new(&self.gate, caller.clone(), ACTION, follow());
        self.gate
            .rpc(&caller, ACTION, follow(), |_, _| Ok(()))
            .await?;
        let table = engine
            .table_by_name(&table_name)
            .ok_or_else(|| to_status(Error::table_not_found()))?;
        let table_id = table.meta.id.clone();
        let mut events = table.changes.subscribe();
        drop(table);
        let (tx, rx) = mpsc::channel::<Result<pb::ChangeRecord, Status>>(FEED_BATCH);
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let gone = || to_status(Error::table_not_found());
            loop {
                if let Err(e) = permission.recheck() {
                    let _ = tx.send(Err(auth_status(&e))).await;
                    return;
                }
                let event = tokio::select! {
                    e = events.recv() => e,
                    _ = tokio::time::sleep(FEED_POLL) => {
                        // The table deleted (or deleted and re-created) ends the feed.
                        let same = engine
                            .table_by_name(&table_name)
                            .is_some_and(|t| t.meta.id == table_id);
                        if !same {
                            let _ = tx.send(Err(gone())).await;
                            return;
                        }
                        continue;
                    }
                    _ = tx.closed() => return,
                    _ = shutdown.changed() => {
                        let _ = tx
                            .send(Err(Status::unavailable("the server is shutting down")))
                            .await;
                        return;
                    }
                };
                let event = match event {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let status = Status::aborted(format!(
                            "the subscriber fell {n} changes behind the table's feed; subscribe again"
                        ));
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        let _ = tx.send(Err(gone())).await;
                        return;
                    }
                };
                let seq = crate::engine::streams::seq_string(event.seq);
                let record = pb::Record {
                    event_name: Some(
                        if event.new_image.is_some() {
                            "MODIFY"
                        } else {
                            "REMOVE"
                        }
                        .into(),
                    ),
                    event_source: Some("keyfall:internal".into()),
                    dynamodb: Some(pb::StreamRecord {
                        keys: item_to_proto(&event.keys),
                        new_image: event
                            .new_image
                            .as_ref()
                            .map(item_to_proto)
                            .unwrap_or_default(),
                        sequence_number: Some(seq.clone()),
                        stream_view_type: Some("NEW_IMAGE".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let msg = pb::ChangeRecord {
                    sequence_number: seq,
                    record: Some(record),
                    table_id: table_id.clone(),
                };
                if tx.send(Ok(msg)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
