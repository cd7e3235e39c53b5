//! The call log for calls placed through `POST /v1/calls`: each call's
//! facts are written to the store when it ends, in batches, so that
//! thousands of calls per second cost a few transactions per second.
//!
//! Campaign attempts do not come through here: their rows are written
//! before the INVITE leaves and completed in the same transaction that
//! moves their record (`campaign/actor.rs`). When the writer falls behind
//! (its channel is full), the row is dropped and counted: an API call's
//! log is a report, and the call itself must not wait for it.

use super::view::{CallState, CallView};
use crate::ids::ClientId;
use crate::store::{CallEnd, CallRow, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

#[derive(Clone)]
pub struct CallLog {
    tx: mpsc::Sender<CallRow>,
    tasks: TaskTracker,
}

/// The facts of an ended call as the store keeps them.
pub fn call_end(v: &CallView) -> CallEnd {
    CallEnd {
        ended_at: v.ended_at.map_or(0, |t| t.as_millisecond()),
        disposition: v.disposition.map_or("failed", |d| d.as_str()).to_string(),
        sip_status: v.sip_status.map(i64::from),
        cause: super::view::hangup_cause(v).map(|c| c.as_str().to_string()),
        outcome: v.flow.as_ref().and_then(|f| f.outcome.clone()),
        digits: v.digits.clone(),
        duration_ms: v.duration_ms.map(|d| d as i64),
        q850_cause: v.q850.as_ref().map(|q| i64::from(q.cause)),
        q850_text: v.q850.as_ref().and_then(|q| q.text.clone()),
    }
}

impl CallLog {
    /// Starts the writer; it drains and stops when `stop` is cancelled.
    /// Rows wait up to `window` to share a transaction.
    pub fn start(store: Arc<dyn Store>, window: Duration, stop: CancellationToken, tasks: &TaskTracker) -> CallLog {
        let (tx, rx) = mpsc::channel(20_000);
        tasks.spawn(write_batches(store, rx, window, stop));
        CallLog { tx, tasks: tasks.clone() }
    }

    /// Logs the call when it ends.
    pub fn watch(&self, client: ClientId, mut view: watch::Receiver<CallView>) {
        let tx = self.tx.clone();
        self.tasks.spawn(async move {
            let ended = view.wait_for(|v| v.state == CallState::Ended).await.map(|v| v.clone());
            let v = match ended {
                Ok(v) => v,
                Err(_) => view.borrow().clone(),
            };
            let row = CallRow {
                id: v.id.to_string(),
                client,
                campaign: None,
                record: None,
                phone: v.to.clone(),
                trunk: v.trunk.clone(),
                started_at: v.created_at.as_millisecond(),
                end: Some(call_end(&v)),
            };
            if tx.try_send(row).is_err() {
                crate::metrics::call_log_dropped(1);
            }
        });
    }
}

async fn write_batches(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<CallRow>,
    window: Duration,
    stop: CancellationToken,
) {
    const MAX: usize = 512;
    let mut batch = Vec::with_capacity(MAX);
    loop {
        let n = tokio::select! {
            n = rx.recv_many(&mut batch, MAX) => n,
            _ = stop.cancelled() => {
                rx.close();
                rx.recv_many(&mut batch, usize::MAX).await
            }
        };
        if n == 0 && batch.is_empty() {
            return;
        }
        // Each write is a round trip to SQLite's thread and a commit: let
        // rows that arrive within the window share one (at 1,000 calls per
        // second a row at a time cost more CPU than the calls themselves).
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < MAX && !stop.is_cancelled() {
            let room = MAX - batch.len();
            tokio::select! {
                n = rx.recv_many(&mut batch, room) => if n == 0 { break },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stop.cancelled() => break,
            }
        }
        if let Err(e) = store.record_calls(&batch).await {
            warn!(error = %e, rows = batch.len(), "cannot write the call log");
            crate::metrics::call_log_dropped(batch.len() as u64);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        batch.clear();
    }
}
