//! The leads actor: the one owner of every lead's state. Submits and
//! confirm-page clicks arrive as commands; call and record events of the
//! qualification campaigns arrive from the bus; a periodic reconcile
//! against the store catches what a crash or a lagging bus lost (the store
//! is the truth, the bus only the fast path). Each input goes through
//! `machine::handle` and its step is written in one transaction (state,
//! history, queued messages) before its events are published.

pub mod apply;

use super::machine::{Choice, Input, Lead, LeadState};
use super::provision::ServiceRt;
use super::wire::LeadSubmit;
use crate::campaign::manager::Campaigns;
use crate::config::Config;
use crate::events::{EventBus, EventOut};
use crate::ids::{CallId, CampaignId, LeadId, RecordId};
use crate::store::{LeadInsert, LeadRow, Store, StoreError};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the lead service is shutting down")]
    Stopped,
    #[error("no such lead")]
    NotFound,
}

/// A validated submit: the account and service resolved, the number in
/// E.164.
pub struct Submission {
    pub service: usize,
    pub phone: String,
    pub form: LeadSubmit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: LeadId,
    pub out_of_hours: bool,
    /// Rounds of messages sent before the first call.
    pub skip_ivr: Option<u32>,
}

enum Cmd {
    Submit(Box<Submission>, oneshot::Sender<Result<Submitted, LeadError>>),
    Page(LeadId, Choice, oneshot::Sender<Result<LeadRow, LeadError>>),
}

pub struct Deps {
    pub cfg: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub campaigns: Arc<Campaigns>,
    pub events: EventBus,
    pub services: Vec<ServiceRt>,
    pub link_secret: Vec<u8>,
    /// Base of confirm links, without a trailing slash.
    pub public_url: String,
    /// Woken when messages are queued.
    pub messages: Arc<Notify>,
}

/// The handle the API holds.
#[derive(Clone)]
pub struct Leads {
    tx: mpsc::Sender<Cmd>,
    pub deps: Arc<Deps>,
}

impl Leads {
    /// Starts the actor; it reconciles open leads with the store first.
    pub fn start(deps: Arc<Deps>, stop: CancellationToken, tasks: &tokio_util::task::TaskTracker) -> Leads {
        // Bounded: a burst of submits waits here (the HTTP handler awaits
        // its reply) rather than growing memory without limit.
        let (tx, rx) = mpsc::channel(256);
        let actor = Actor {
            deps: deps.clone(),
            bus: deps.events.subscribe(),
            by_record: HashMap::new(),
            seen_calls: HashSet::new(),
            seen_order: VecDeque::new(),
        };
        tasks.spawn(actor.run(rx, stop));
        Leads { tx, deps }
    }

    pub async fn submit(&self, s: Submission) -> Result<Submitted, LeadError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Submit(Box::new(s), tx)).await.map_err(|_| LeadError::Stopped)?;
        rx.await.map_err(|_| LeadError::Stopped)?
    }

    pub async fn page(&self, id: LeadId, choice: Choice) -> Result<LeadRow, LeadError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Page(id, choice, tx)).await.map_err(|_| LeadError::Stopped)?;
        rx.await.map_err(|_| LeadError::Stopped)?
    }

    pub fn service_of(&self, account_key: &str, service_id: i64) -> Option<usize> {
        self.deps.services.iter().position(|s| s.account_key == account_key && s.service_id == service_id)
    }
}

struct Actor {
    deps: Arc<Deps>,
    bus: broadcast::Receiver<Arc<EventOut>>,
    by_record: HashMap<RecordId, LeadId>,
    /// Calls already counted (an attempt is reported by `call.ended` and
    /// again by `record.final`).
    seen_calls: HashSet<CallId>,
    seen_order: VecDeque<CallId>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub fn lead_of(row: &LeadRow) -> Lead {
    Lead {
        state: LeadState::parse(&row.state).unwrap_or(LeadState::Pending),
        reason: row.reason.clone(),
        attempts: row.attempts as u32,
        message_rounds: row.message_rounds as u32,
    }
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, stop: CancellationToken) {
        self.reconcile().await;
        let every = self.deps.cfg.lead_api.reconcile_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Submit(s, reply)) => {
                        let _ = reply.send(self.submit(*s).await);
                    }
                    Some(Cmd::Page(id, choice, reply)) => {
                        let _ = reply.send(self.page(id, choice).await);
                    }
                    None => return,
                },
                e = self.bus.recv() => match e {
                    Ok(e) => self.event(&e).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!(lost = n, "the leads actor fell behind the event bus; reconciling with the store");
                        self.reconcile().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => self.reconcile().await,
                _ = stop.cancelled() => return,
            }
        }
    }

    fn service_by_campaign(&self, c: CampaignId) -> Option<&ServiceRt> {
        self.deps.services.iter().find(|s| s.campaign == c)
    }

    fn service_of_row(&self, row: &LeadRow) -> Option<ServiceRt> {
        self.deps.services.iter().find(|s| s.account_key == row.account_key && s.service_id == row.service_id).cloned()
    }

    async fn submit(&mut self, s: Submission) -> Result<Submitted, LeadError> {
        let svc = self.deps.services[s.service].clone();
        let now = now_ms();
        let out_of_hours = !apply::open_now(&*self.deps.store, &svc, now).await?;
        let fields = serde_json::to_string(&s.form).expect("a lead serialises");
        let (id, created) = self
            .deps
            .store
            .lead_insert(&LeadInsert {
                client: svc.client.clone(),
                account_key: svc.account_key.clone(),
                service_id: svc.service_id,
                interaction_id: s.form.interaction_id.clone(),
                phone: s.phone.clone(),
                fields,
                state: LeadState::Pending.as_str().into(),
                campaign: svc.campaign,
                out_of_hours,
                created_at: now,
            })
            .await?;
        let row = self.deps.store.lead(id).await?.ok_or(LeadError::NotFound)?;
        if !created {
            // The same form posted again: the same lead, no second call.
            debug!(lead = %id, "lead submitted again (same interaction_id)");
            return Ok(Submitted { id, out_of_hours: row.out_of_hours, skip_ivr: None });
        }
        let on_dnc = self.deps.store.dnc_find(&svc.client, &s.phone).await?.is_some();
        let sent = self.step(&row, &svc, Input::Submitted { out_of_hours, on_dnc }).await?;
        Ok(Submitted { id, out_of_hours, skip_ivr: (out_of_hours && sent).then_some(1) })
    }

    async fn page(&mut self, id: LeadId, choice: Choice) -> Result<LeadRow, LeadError> {
        let row = self.deps.store.lead(id).await?.ok_or(LeadError::NotFound)?;
        let svc = self.service_of_row(&row).ok_or(LeadError::NotFound)?;
        self.step(&row, &svc, Input::Page(choice)).await?;
        self.deps.store.lead(id).await?.ok_or(LeadError::NotFound)
    }

    /// Call and record events of the qualification campaigns.
    async fn event(&mut self, e: &EventOut) {
        let (Some(campaign), Some(record)) = (e.campaign_id, e.record_id) else { return };
        if !matches!(e.kind, "call.ended" | "record.final") || self.service_by_campaign(campaign).is_none() {
            return;
        }
        if let Err(err) = self.record_event(e, record).await {
            warn!(error = %err, record = %record, "cannot apply a call result to its lead; the reconcile will");
        }
    }

    async fn record_event(&mut self, e: &EventOut, record: RecordId) -> Result<(), LeadError> {
        let row = match self.by_record.get(&record) {
            Some(id) => self.deps.store.lead(*id).await?,
            None => self.deps.store.lead_by_record(record).await?,
        };
        let Some(row) = row else { return Ok(()) };
        self.by_record.insert(record, row.id);
        let Some(svc) = self.service_of_row(&row) else { return Ok(()) };
        let text = |k: &str| e.data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let call = e.call_id.or_else(|| text("call_id").and_then(|c| c.parse().ok()));
        let mut row = row;
        if let (Some(call), Some(disposition)) = (call, text("disposition"))
            && self.first_sight(call)
        {
            let outcome = text("outcome");
            self.step(&row, &svc, Input::AttemptEnded { disposition: &disposition, outcome: outcome.as_deref() })
                .await?;
            row = self.deps.store.lead(row.id).await?.ok_or(LeadError::NotFound)?;
        }
        if e.kind == "record.final"
            && let Some(f) = text("final")
        {
            self.step(&row, &svc, Input::RecordFinal { final_state: &f }).await?;
        }
        Ok(())
    }

    fn first_sight(&mut self, call: CallId) -> bool {
        if !self.seen_calls.insert(call) {
            return false;
        }
        self.seen_order.push_back(call);
        if self.seen_order.len() > 10_000
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen_calls.remove(&old);
        }
        true
    }

    /// Open leads against their records: a record that ended while no one
    /// listened ends its lead; a lead whose record was never appended (a
    /// crash in between) gets it now.
    async fn reconcile(&mut self) {
        // Results already on the bus go first: they carry the outcome the
        // store's record does not.
        while let Ok(e) = self.bus.try_recv() {
            self.event(&e).await;
        }
        let open = match self.deps.store.leads_stale().await {
            Ok(o) => o,
            Err(e) => return warn!(error = %e, "cannot read open leads"),
        };
        for row in open {
            let Some(svc) = self.service_of_row(&row) else { continue };
            if let Err(e) = self.reconcile_one(row, &svc).await {
                warn!(error = %e, "lead reconcile failed");
            }
        }
    }

    async fn reconcile_one(&mut self, row: LeadRow, svc: &ServiceRt) -> Result<(), LeadError> {
        let store = self.deps.store.clone();
        let Some(record) = row.record else {
            if now_ms() - row.created_at > 5_000 {
                self.ensure_record(&row, svc).await?;
            }
            return Ok(());
        };
        let Some(rec) = store.record(record).await? else { return Ok(()) };
        let mut row = row;
        if rec.attempts > row.attempts && rec.state != "dialing" {
            let d = rec.last_disposition.clone().unwrap_or_else(|| "failed".into());
            self.step(&row, svc, Input::AttemptEnded { disposition: &d, outcome: None }).await?;
            row = store.lead(row.id).await?.ok_or(LeadError::NotFound)?;
        }
        if rec.state == "done" {
            let f = rec.final_state.clone().unwrap_or_default();
            self.step(&row, svc, Input::RecordFinal { final_state: &f }).await?;
        }
        Ok(())
    }
}
