//! Status webhooks with a durable outbox.
//!
//! The writer drains the event bus in batches and stores one outbox row per
//! (event, matching webhook) before anything is sent, so nothing accepted is
//! lost across a restart. One deliverer per webhook POSTs the rows that head
//! their group (a call's events in order: a later event waits until the
//! earlier one is delivered or dead), signs each body, retries with
//! exponential backoff and jitter, and gives up after the horizon (the row
//! goes to the dead-letter list, readable and replayable via the API).
//! Delivery is at least once: receivers de-duplicate by `id`.

use super::{EventBus, EventOut, matches, sign};
use crate::store::{OutboxInsert, OutboxRow, Store, WebhookRow};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

#[derive(Debug, Clone)]
pub struct OutboxConfig {
    pub timeout: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// After this long since the event, an undelivered row is dead.
    pub horizon: Duration,
}

/// The delay before attempt `attempts + 1`: base × 2^attempts, capped, with
/// ±20 % jitter from `unit` (a number in [0, 1)) so retries of many rows do
/// not arrive together.
pub fn backoff(attempts: i64, base: Duration, max: Duration, unit: f64) -> Duration {
    let exp = base.as_secs_f64() * 2f64.powi(attempts.clamp(0, 30) as i32);
    let capped = exp.min(max.as_secs_f64());
    Duration::from_secs_f64(capped * (0.8 + 0.4 * unit.clamp(0.0, 1.0)))
}

#[derive(Debug, Clone)]
struct Sub {
    id: String,
    client: String,
    url: String,
    patterns: Vec<String>,
    secret: String,
}

impl Sub {
    fn of(w: &WebhookRow) -> Sub {
        Sub {
            id: w.id.clone(),
            client: w.client.clone(),
            url: w.url.clone(),
            patterns: serde_json::from_str(&w.events).unwrap_or_default(),
            secret: w.secret.clone(),
        }
    }

    fn wants(&self, e: &EventOut) -> bool {
        (self.client == "*" || e.client.as_ref().is_some_and(|c| c.0 == self.client))
            && self.patterns.iter().any(|p| matches(p, e.kind))
    }
}

pub struct Outbox {
    store: Arc<dyn Store>,
    http: reqwest::Client,
    cfg: OutboxConfig,
    subs: Mutex<Vec<Sub>>,
    deliverers: Mutex<HashMap<String, (CancellationToken, Arc<Notify>)>>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Outbox {
    /// Starts the writer and one deliverer per webhook (configured ones,
    /// `client = "*"`, and those stored by the API).
    pub async fn start(
        store: Arc<dyn Store>,
        configured: Vec<WebhookRow>,
        bus: &EventBus,
        http: reqwest::Client,
        cfg: OutboxConfig,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<Arc<Outbox>, crate::store::StoreError> {
        let mut all = configured;
        all.extend(store.webhooks(None).await?);
        let me = Arc::new(Outbox {
            store,
            http,
            cfg,
            subs: Mutex::new(Vec::new()),
            deliverers: Mutex::new(HashMap::new()),
            stop,
            tasks,
        });
        for w in &all {
            me.add(w);
        }
        me.tasks.spawn(write(me.clone(), bus.subscribe()));
        Ok(me)
    }

    /// Starts delivering to a new webhook.
    pub fn add(self: &Arc<Self>, w: &WebhookRow) {
        let sub = Sub::of(w);
        let token = self.stop.child_token();
        let notify = Arc::new(Notify::new());
        self.subs.lock().unwrap_or_else(|e| e.into_inner()).push(sub.clone());
        self.deliverers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sub.id.clone(), (token.clone(), notify.clone()));
        self.tasks.spawn(deliver(self.clone(), sub, notify, token));
    }

    /// Stops delivering to a webhook (its rows were deleted with it).
    pub fn remove(&self, id: &str) {
        self.subs.lock().unwrap_or_else(|e| e.into_inner()).retain(|s| s.id != id);
        if let Some((token, _)) = self.deliverers.lock().unwrap_or_else(|e| e.into_inner()).remove(id) {
            token.cancel();
        }
    }

    /// SIGHUP: the webhooks from the configuration (ids `config:*`) become
    /// `rows`. A changed one restarts its deliverer, which finds the
    /// deliveries still owed under the same id; webhooks created through
    /// the API are not touched. Returns how many changed.
    pub fn reload_configured(self: &Arc<Self>, rows: &[WebhookRow]) -> usize {
        let current: Vec<Sub> = self
            .subs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.id.starts_with("config:"))
            .cloned()
            .collect();
        let same = |a: &Sub, b: &Sub| {
            a.client == b.client && a.url == b.url && a.patterns == b.patterns && a.secret == b.secret
        };
        let mut changes = 0;
        for old in &current {
            let keep = rows.iter().any(|r| r.id == old.id && same(old, &Sub::of(r)));
            if !keep {
                self.remove(&old.id);
                changes += 1;
            }
        }
        for r in rows {
            let kept = current.iter().any(|old| old.id == r.id && same(old, &Sub::of(r)));
            if !kept {
                self.add(r);
                changes += usize::from(!current.iter().any(|old| old.id == r.id));
            }
        }
        changes
    }

    /// Makes a webhook's deliverer look at the outbox now.
    pub fn wake_one(&self, id: &str) {
        self.wake(&[id.to_string()]);
    }

    fn wake(&self, ids: &[String]) {
        let d = self.deliverers.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            if let Some((_, n)) = d.get(id) {
                n.notify_one();
            }
        }
    }
}

/// Bus → outbox, in batches of whatever has arrived.
async fn write(outbox: Arc<Outbox>, mut rx: broadcast::Receiver<Arc<EventOut>>) {
    loop {
        let first = tokio::select! {
            r = rx.recv() => r,
            _ = outbox.stop.cancelled() => {
                // Drain what is already on the bus, then stop.
                let mut batch = Vec::new();
                while let Ok(e) = rx.try_recv() {
                    batch.push(e);
                }
                store_batch(&outbox, batch).await;
                return;
            }
        };
        let mut batch = match first {
            Ok(e) => vec![e],
            Err(broadcast::error::RecvError::Lagged(n)) => {
                crate::metrics::events_lagged(n);
                warn!(lost = n, "the outbox writer fell behind the event bus; events were lost to webhooks");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        while batch.len() < 1000 {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(broadcast::error::TryRecvError::Lagged(n)) => crate::metrics::events_lagged(n),
                Err(_) => break,
            }
        }
        store_batch(&outbox, batch).await;
    }
}

async fn store_batch(outbox: &Outbox, batch: Vec<Arc<EventOut>>) {
    let subs = outbox.subs.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut rows = Vec::new();
    let mut woken = Vec::new();
    for e in &batch {
        for s in subs.iter().filter(|s| s.wants(e)) {
            let Ok(body) = serde_json::to_string(&**e) else { continue };
            rows.push(OutboxInsert { webhook: s.id.clone(), event_id: e.id.clone(), group: e.group(), body });
            woken.push(s.id.clone());
        }
    }
    if rows.is_empty() {
        return;
    }
    let now = jiff::Timestamp::now().as_millisecond();
    // The store may be briefly busy: keep trying rather than drop events.
    for attempt in 0.. {
        match outbox.store.outbox_add(&rows, now).await {
            Ok(()) => break,
            Err(e) if attempt < 50 => {
                warn!(error = %e, "cannot write the outbox; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                warn!(error = %e, rows = rows.len(), "outbox write failed; events lost to webhooks");
                return;
            }
        }
    }
    woken.dedup();
    outbox.wake(&woken);
}

/// Rows one webhook may have in flight at once.
const IN_FLIGHT: usize = 64;

/// One webhook's deliveries, pipelined: whenever a send finishes, the
/// outbox is read again, so the next event of that call goes out at once
/// instead of waiting for a whole round. Rows in flight stay the heads of
/// their groups in the store until they are done, so they are skipped here.
async fn deliver(outbox: Arc<Outbox>, sub: Sub, notify: Arc<Notify>, stop: CancellationToken) {
    let mut running: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    // Task id → outbox row id, so a send that panicked frees its row too.
    let mut in_flight: HashMap<tokio::task::Id, i64> = HashMap::new();
    loop {
        if stop.is_cancelled() {
            // Sends already started finish (their rows are recorded).
            while running.join_next().await.is_some() {}
            return;
        }
        let now = jiff::Timestamp::now().as_millisecond();
        let mut started = 0;
        if in_flight.len() < IN_FLIGHT {
            match outbox.store.outbox_heads(&sub.id, now, (IN_FLIGHT * 2) as u32).await {
                Ok(heads) => {
                    let busy: std::collections::HashSet<i64> = in_flight.values().copied().collect();
                    for row in heads.into_iter().filter(|r| !busy.contains(&r.id)) {
                        if in_flight.len() >= IN_FLIGHT {
                            break;
                        }
                        started += 1;
                        let (outbox, sub, id) = (outbox.clone(), sub.clone(), row.id);
                        let task = running.spawn(async move { send_one(&outbox, &sub, row).await });
                        in_flight.insert(task.id(), id);
                    }
                }
                Err(e) => {
                    warn!(webhook = %sub.id, error = %e, "cannot read the outbox");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if running.is_empty() {
            let next = outbox.store.outbox_next_due(&sub.id).await.ok().flatten();
            let wait =
                next.map_or(Duration::from_secs(60), |t| Duration::from_millis((t - now).clamp(1, 60_000) as u64));
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => {}
            }
            continue;
        }
        if started > 0 && in_flight.len() < IN_FLIGHT {
            // New rows may be waiting (a burst): look again before blocking,
            // but let the sends just started make progress first.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            done = running.join_next_with_id() => {
                let task = |r: Result<(tokio::task::Id, ()), tokio::task::JoinError>| match r {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                if let Some(r) = done {
                    in_flight.remove(&task(r));
                }
                // Collect every other send that has finished too.
                while let Some(r) = running.try_join_next_with_id() {
                    in_flight.remove(&task(r));
                }
            }
            _ = notify.notified(), if in_flight.len() < IN_FLIGHT => {}
            _ = stop.cancelled() => {}
        }
    }
}

async fn send_one(outbox: &Outbox, sub: &Sub, row: OutboxRow) {
    let t = jiff::Timestamp::now().as_second();
    let started = Instant::now();
    let result = outbox
        .http
        .post(&sub.url)
        .timeout(outbox.cfg.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(sign::HEADER, sign::signature(sub.secret.as_bytes(), t, row.body.as_bytes()))
        .header("Dialerd-Event-Id", &row.event_id)
        .body(row.body.clone())
        .send()
        .await;
    let error = match result {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Some("timeout".to_string()),
        Err(e) => Some(format!("{e}")),
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let store = &outbox.store;
    let r = match &error {
        None => {
            crate::metrics::webhook_delivery("delivered", started.elapsed(), now - row.created_at);
            store.outbox_delivered(row.id).await
        }
        Some(err) if now - row.created_at >= outbox.cfg.horizon.as_millis() as i64 => {
            crate::metrics::webhook_delivery("dead", started.elapsed(), now - row.created_at);
            warn!(webhook = %sub.id, event = %row.event_id, error = %err, "webhook gave up: dead-lettered");
            store.outbox_dead(row.id, err).await
        }
        Some(err) => {
            crate::metrics::webhook_delivery("retry", started.elapsed(), now - row.created_at);
            let delay = backoff(row.attempts, outbox.cfg.retry_base, outbox.cfg.retry_max, rand::random());
            debug!(webhook = %sub.id, event = %row.event_id, error = %err, ?delay, "webhook delivery failed; will retry");
            store.outbox_retry(row.id, now + delay.as_millis() as i64, err).await
        }
    };
    if let Err(e) = r {
        warn!(webhook = %sub.id, error = %e, "cannot record a delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let (b, m) = (Duration::from_secs(1), Duration::from_secs(300));
        assert_eq!(backoff(0, b, m, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(3, b, m, 0.5), Duration::from_secs(8));
        assert_eq!(backoff(20, b, m, 0.5), Duration::from_secs(300));
        assert_eq!(backoff(3, b, m, 0.0), Duration::from_secs_f64(6.4));
        assert!(backoff(3, b, m, 0.999) < Duration::from_secs_f64(9.6));
    }

    #[test]
    fn subscriptions_match_client_and_type() {
        let w = |client: &str, events: &str| {
            Sub::of(&WebhookRow {
                id: "w".into(),
                client: client.into(),
                url: "http://x".into(),
                events: events.into(),
                secret: "s".into(),
                created_at: 0,
            })
        };
        let mut e = EventOut::new("call.ended", 1, serde_json::json!({}));
        e.client = Some(crate::ids::ClientId("acme".into()));
        assert!(w("*", r#"["call.*"]"#).wants(&e));
        assert!(w("acme", r#"["call.ended"]"#).wants(&e));
        assert!(!w("other", r#"["*"]"#).wants(&e), "another client's events");
        assert!(!w("acme", r#"["record.final"]"#).wants(&e));
    }
}
