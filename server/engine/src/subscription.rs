//! Push subscriptions to a table's stream (`SubscribeChanges`): where a subscriber starts,
//! and the next records after the last it was given, waiting for commits once caught up.
//! The API layer only forwards what [`StreamSubscription::next`] returns (and re-checks
//! its caller); the stream semantics live here.

use std::sync::Arc;
use std::time::Duration;

use super::streams::StreamRecord;
use super::Engine;
use crate::error::{Error, Result};

/// Records handed out per storage read while catching up.
pub const FEED_BATCH: usize = 500;
/// A caught-up subscriber looks at storage again at least this often, even without a
/// commit's wake-up.
const FEED_POLL: Duration = Duration::from_millis(500);

/// A subscriber's place in a table's stream.
pub struct StreamSubscription {
    engine: Arc<Engine>,
    table_name: String,
    /// The sequence number of the last record handed out (or just before the start).
    after: u64,
}

impl Engine {
    /// Starts a subscription to `table_name`'s stream at `start` (`LATEST`,
    /// `TRIM_HORIZON`, `AT_SEQUENCE_NUMBER` or `AFTER_SEQUENCE_NUMBER` with
    /// `sequence_number`). A bad request fails here, before any record is sent.
    pub async fn subscribe_stream(
        self: &Arc<Self>,
        table_name: String,
        start: String,
        sequence_number: Option<String>,
    ) -> Result<StreamSubscription> {
        let name = table_name.clone();
        let after = self
            .run(move |e| {
                let table = e.table_by_name(&name).ok_or_else(Error::table_not_found)?;
                if table.meta.stream.is_none() {
                    return Err(Error::validation(format!(
                        "Table {name} has no stream enabled"
                    )));
                }
                let given = || {
                    sequence_number
                        .as_deref()
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or_else(|| {
                            Error::validation(format!("SequenceNumber is required for {start}"))
                        })
                };
                match start.as_str() {
                    "LATEST" => Ok(table.stream.last()),
                    "TRIM_HORIZON" => Ok(e.stream_first(&table)?.saturating_sub(1)),
                    "AT_SEQUENCE_NUMBER" => Ok(given()?.saturating_sub(1)),
                    "AFTER_SEQUENCE_NUMBER" => given(),
                    other => Err(Error::validation(format!(
                        "Invalid starting_position {other}"
                    ))),
                }
            })
            .await?;
        Ok(StreamSubscription {
            engine: self.clone(),
            table_name,
            after,
        })
    }
}

impl StreamSubscription {
    /// The next records, in sequence order, at most [`FEED_BATCH`]: at once while there
    /// are some; else, after the next commit or at most one poll interval later, whatever
    /// came (possibly nothing, so the caller can re-check its subscriber between waits).
    /// ResourceNotFound once the table is gone.
    pub async fn next(&mut self) -> Result<Vec<(u64, StreamRecord)>> {
        let table = self
            .engine
            .table_by_name(&self.table_name)
            .ok_or_else(Error::table_not_found)?;
        // Register for the wake-up before reading, so no commit slips between.
        let state = table.stream.clone();
        let notified = state.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let after = self.after;
        let batch = self
            .engine
            .run(move |e| e.stream_records(&table, after, FEED_BATCH))
            .await?;
        match batch.last() {
            Some((seq, _)) => self.after = *seq,
            None => {
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(FEED_POLL) => {}
                }
            }
        }
        Ok(batch)
    }
}
