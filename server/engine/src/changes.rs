//! The internal change feed every table has, whatever its StreamSpecification: what a
//! cache in front of the server (keyfall-dax) follows to stay coherent. It is not a
//! DynamoDB Stream: nothing is stored, nothing is listed or billed, and a subscriber sees
//! the changes committed after it subscribed.
//!
//! Events are published by [`super::Engine::commit_changes`] after the storage batch is
//! applied and while the items' locks are still held, so the events of one item are
//! published in commit order. A subscriber that falls more than [`CAPACITY`] events behind
//! is told so (`Lagged`) and must start over: nothing it cached can be proven fresh.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

use super::commit::Change;
use crate::model::Item;

/// Events a subscriber may fall behind by before its feed is cut.
pub const CAPACITY: usize = 4096;

/// One committed change of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Position in the table's internal feed (per server run; increases with each change).
    pub seq: u64,
    /// The item's key attributes.
    pub keys: Item,
    /// The whole item after the change; `None` when it was deleted.
    pub new_image: Option<Item>,
}

/// One table's feed, shared by every definition of the table (not by a re-created table
/// of the same name).
#[derive(Debug)]
pub struct ChangeHub {
    seq: AtomicU64,
    tx: broadcast::Sender<Arc<ChangeEvent>>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        ChangeHub {
            seq: AtomicU64::new(0),
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl ChangeHub {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeEvent>> {
        self.tx.subscribe()
    }

    /// Publishes a committed change; costs nothing when nobody follows the table.
    pub(crate) fn publish(&self, change: &Change<'_>) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let Some(source) = change.new.or(change.old) else {
            return;
        };
        if change.old == change.new {
            return;
        }
        let event = ChangeEvent {
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            keys: change.table.meta.key_schema.extract_key(source),
            new_image: change.new.cloned(),
        };
        // No receiver left is not an error: the feed simply has no followers now.
        let _ = self.tx.send(Arc::new(event));
    }
}
