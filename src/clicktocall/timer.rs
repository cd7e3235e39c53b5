//! The callback timer: one task holds every scheduled click-to-call
//! request in memory, sleeps until the earliest is due and starts it
//! (`schedule::decide` says whether to run, wait for an agent, move it or
//! fail it). The store is the truth: rows are reloaded at start, so a
//! request survives a restart, and a request starts only through
//! `click_claim`, so it never starts twice.

use super::schedule::{self, Facts, Fire};
use super::service::{Deps, Reporter, launch, now_ms};
use super::status::{Order, Status};
use crate::ids::ClientId;
use crate::store::{ClickRow, ClickUpdate};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Arms requests on the timer task.
#[derive(Clone)]
pub struct Timer {
    tx: mpsc::UnboundedSender<(i64, String)>,
}

/// Sleeps at most this long, so a clock step (NTP) is noticed within a
/// minute.
const MAX_SLEEP: Duration = Duration::from_secs(60);

impl Timer {
    /// Starts the task with the requests the store holds as scheduled.
    pub fn start(deps: Arc<Deps>, rows: &[ClickRow]) -> Timer {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue: BTreeSet<(i64, String)> =
            rows.iter().map(|r| (r.due_at.unwrap_or(r.created_at), r.id.clone())).collect();
        if !queue.is_empty() {
            info!(requests = queue.len(), "scheduled click-to-call requests rearmed");
        }
        deps.tasks.clone().spawn(run(deps, rx, queue));
        Timer { tx }
    }

    /// Runs `id` at `due_ms` (epoch ms) or as soon after as it may.
    pub fn arm(&self, id: String, due_ms: i64) {
        // Only fails once the task stopped (draining): the row stays
        // scheduled and the next start rearms it.
        let _ = self.tx.send((due_ms, id));
    }
}

async fn run(deps: Arc<Deps>, mut rx: mpsc::UnboundedReceiver<(i64, String)>, mut queue: BTreeSet<(i64, String)>) {
    loop {
        crate::metrics::click_scheduled(queue.len());
        let wait = queue.first().map_or(MAX_SLEEP, |(due, _)| {
            Duration::from_millis(due.saturating_sub(now_ms()).max(0) as u64).min(MAX_SLEEP)
        });
        tokio::select! {
            _ = deps.stop.cancelled() => return,
            armed = rx.recv() => match armed {
                Some(a) => { queue.insert(a); }
                None => return,
            },
            _ = tokio::time::sleep(wait) => {
                let now = now_ms();
                while queue.first().is_some_and(|(due, _)| *due <= now) {
                    let Some((_, id)) = queue.pop_first() else { break };
                    if let Some(again) = fire(&deps, &id).await {
                        queue.insert((again, id));
                    }
                }
            }
        }
    }
}

/// Starts, moves or fails a due request; `Some(t)` to look again at `t`.
async fn fire(deps: &Arc<Deps>, id: &str) -> Option<i64> {
    let store = &deps.store;
    let row = match store.click(id).await {
        Ok(Some(r)) if r.status == Status::Scheduled.as_str() => r,
        Ok(_) => return None,
        Err(e) => {
            warn!(click_to_call = %id, error = %e, "cannot read a scheduled click to call; retrying");
            return Some(now_ms() + 5_000);
        }
    };
    let Some(site) = deps.cfg.click_to_call.sites.iter().find(|s| s.key == row.site) else {
        fail(deps, row, "no_site").await;
        return None;
    };
    let on_dnc = match store.dnc_find(&ClientId(site.client.clone()), &row.phone).await {
        Ok(found) => found.is_some(),
        Err(e) => {
            warn!(click_to_call = %id, error = %e, "cannot check the DNC list; retrying");
            return Some(now_ms() + 5_000);
        }
    };
    let now = jiff::Timestamp::now();
    let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap_or(now);
    let agent_available =
        deps.directory.offer(&site.client, &row.agent_group).is_some_and(|(candidates, _, _)| !candidates.is_empty());
    let facts = Facts {
        now,
        due_at: ts(row.due_at.unwrap_or(row.created_at)),
        dialable_from: schedule::due(now, site, &row.phone),
        on_dnc,
        agent_available,
        retention: deps.cfg.click_to_call.retention,
    };
    match schedule::decide(facts) {
        Fire::Run => {
            if claim(deps, &row).await {
                let order = Order::parse(&row.order).unwrap_or(Order::AgentFirst);
                info!(click_to_call = %row.id, site = %row.site, "scheduled click to call starts");
                // The `scheduled` event was the request's first.
                launch(deps, row, order, 1);
            }
            None
        }
        Fire::Retry(t) => {
            debug!(click_to_call = %row.id, "no agent available yet for a scheduled click to call");
            Some(t.as_millisecond())
        }
        Fire::Reschedule(t) => {
            let u = ClickUpdate {
                status: Status::Scheduled.as_str().into(),
                due_at: Some(t.as_millisecond()),
                ..Default::default()
            };
            if let Err(e) = store.click_update(&row.id, &u, now_ms()).await {
                warn!(click_to_call = %row.id, error = %e, "cannot move a scheduled click to call");
            }
            info!(click_to_call = %row.id, due_at = %t, "scheduled click to call moved to the next opening");
            Some(t.as_millisecond())
        }
        Fire::Fail(cause) => {
            fail(deps, row, cause).await;
            None
        }
    }
}

async fn claim(deps: &Arc<Deps>, row: &ClickRow) -> bool {
    match deps.store.click_claim(&row.id, now_ms()).await {
        Ok(claimed) => claimed,
        Err(e) => {
            warn!(click_to_call = %row.id, error = %e, "cannot start a scheduled click to call");
            false
        }
    }
}

async fn fail(deps: &Arc<Deps>, row: ClickRow, cause: &'static str) {
    if claim(deps, &row).await {
        info!(click_to_call = %row.id, cause, "scheduled click to call failed");
        let rep = Reporter::start(deps, &row, 1);
        rep.set(Status::Failed, ClickUpdate { cause: Some(cause.into()), ..Default::default() });
    }
}
