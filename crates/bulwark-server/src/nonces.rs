//! Spends signed requests' nonces in batches. Every agent request spends one, so each would
//! otherwise be a write of its own; on SQLite those meet the single writer, and a write that
//! finds it busy sleeps in SQLite's busy handler (1, 2, 5, 10... ms between tries), which
//! was the heaviest tail of a heartbeat. One task writes whatever queued up while the
//! previous batch was being written, in one transaction that waits its turn on the writer:
//! a burst costs one write and a quiet server adds no delay. Replay protection stays in the
//! database, so it holds across replicas and restarts.

use std::sync::Arc;

use bulwark_store::{NonceUse, Store};
use tokio::sync::{OnceCell, mpsc, oneshot};

use crate::error::AppError;

/// The most nonces written in one transaction.
const MAX_BATCH: usize = 1_000;

type Answer = oneshot::Sender<Result<bool, String>>;

/// The queue to the writing task, started on first use (it needs the runtime).
pub struct NonceLedger {
    store: Arc<dyn Store>,
    queue: OnceCell<mpsc::UnboundedSender<(NonceUse, Answer)>>,
}

impl NonceLedger {
    pub fn new(store: Arc<dyn Store>) -> Self {
        NonceLedger {
            store,
            queue: OnceCell::new(),
        }
    }

    /// Records the nonce; false when it was used before.
    pub async fn spend(&self, nonce: NonceUse) -> Result<bool, AppError> {
        let queue = self
            .queue
            .get_or_init(|| async { start(self.store.clone()) })
            .await;
        let (answer, answered) = oneshot::channel();
        queue
            .send((nonce, answer))
            .map_err(|_| AppError::Internal("the nonce writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| AppError::Internal("the nonce writer has stopped".into()))?
            .map_err(|e| AppError::Internal(format!("recording the request's nonce failed: {e}")))
    }
}

fn start(store: Arc<dyn Store>) -> mpsc::UnboundedSender<(NonceUse, Answer)> {
    let (queue, mut pending) = mpsc::unbounded_channel::<(NonceUse, Answer)>();
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (uses, answers): (Vec<NonceUse>, Vec<Answer>) = batch.drain(..).unzip();
            match store.use_nonces(&uses).await {
                Ok(fresh) => {
                    for (answer, fresh) in answers.into_iter().zip(fresh) {
                        let _ = answer.send(Ok(fresh));
                    }
                }
                Err(e) => {
                    let reason = e.to_string();
                    for answer in answers {
                        let _ = answer.send(Err(reason.clone()));
                    }
                }
            }
        }
    });
    queue
}
