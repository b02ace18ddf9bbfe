//! The engine's own threads, fed by one queue.
//!
//! Engine work blocks (storage calls), so it never runs on the async workers. It ran on
//! tokio's blocking pool first, which grows a thread per concurrent request (about a
//! hundred under load) and parks and wakes one for every request: profiles showed a fifth
//! of the server's time in those context switches. A fixed set of threads draining a
//! shared queue stays busy under load and only sleeps when the queue is empty.
//!
//! Work that would wait rather than compute is kept off these threads: a request's wait
//! for an fsync (`Durability::Fsync`) is deferred ([`defer_sync`]) and awaited by
//! [`super::Engine::run`] after the thread is free again, so concurrent writers still share
//! fsyncs however few threads there are.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;

use crate::error::{Error, Result};
use crate::storage::SyncTicket;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct WorkerPool {
    queue: crossbeam_channel::Sender<Job>,
}

impl WorkerPool {
    /// Starts `threads` threads; they stop when the pool is dropped and the queue drains.
    pub(crate) fn start(threads: usize) -> Result<WorkerPool> {
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("keyfall-engine-{i}"))
                .spawn(move || {
                    for job in jobs {
                        // A panicking request fails alone (its answer channel is dropped,
                        // which the caller reports); the thread goes on serving.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start an engine thread: {e}")))?;
        }
        Ok(WorkerPool { queue })
    }

    pub(crate) fn submit(&self, job: Job) -> Result<()> {
        self.queue
            .send(job)
            .map_err(|_| Error::Internal("the engine's threads have stopped".into()))
    }
}

thread_local! {
    /// Set while a request runs on this thread: the highest durability ticket its writes
    /// still wait for.
    static PENDING_SYNC: RefCell<Option<Option<SyncTicket>>> = const { RefCell::new(None) };
}

/// Runs `f` with fsync waits deferred; returns what it left to wait for.
pub(crate) fn deferring_syncs<T>(f: impl FnOnce() -> T) -> (T, Option<SyncTicket>) {
    PENDING_SYNC.with(|cell| *cell.borrow_mut() = Some(None));
    let out = f();
    let pending = PENDING_SYNC.with(|cell| cell.borrow_mut().take().flatten());
    (out, pending)
}

/// Hands `ticket` to the running request when there is one (it is awaited before the
/// answer is sent); returns it back when there is none, for the caller to wait now.
pub(crate) fn defer_sync(ticket: SyncTicket) -> Option<SyncTicket> {
    PENDING_SYNC.with(|cell| match cell.borrow_mut().as_mut() {
        Some(pending) => {
            *pending = Some(pending.map_or(ticket, |p| p.max(ticket)));
            None
        }
        None => Some(ticket),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_survives_panics_and_defers_syncs() {
        let pool = WorkerPool::start(2).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        pool.submit(Box::new(move || {
            let _keep = tx;
            panic!("a request's bug");
        }))
        .unwrap();
        assert!(rx.await.is_err(), "the panicking job's answer is dropped");
        let mut answers = Vec::new();
        for i in 0..50u64 {
            let (tx, rx) = tokio::sync::oneshot::channel();
            pool.submit(Box::new(move || {
                let _ = tx.send(deferring_syncs(|| {
                    assert_eq!(defer_sync(SyncTicket(i)), None);
                    assert_eq!(defer_sync(SyncTicket(i / 2)), None);
                    i * 2
                }));
            }))
            .unwrap();
            answers.push(rx);
        }
        for (i, rx) in answers.into_iter().enumerate() {
            let i = i as u64;
            assert_eq!(rx.await.unwrap(), (i * 2, Some(SyncTicket(i))));
        }
        assert_eq!(
            defer_sync(SyncTicket(7)),
            Some(SyncTicket(7)),
            "no request here"
        );
    }
}
