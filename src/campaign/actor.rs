//! The campaign actor: one task per live campaign, the one owner of its
//! state, its hopper and its calls in flight. The API talks to it through
//! a bounded mailbox with `oneshot` replies; calls report their end through
//! a second channel. Decisions are made by the sans-IO parts (`sched`,
//! `retry`, `calendar`); this file performs them against the store and the
//! call placer.

use super::calendar::{self, Schedule, Window};
use super::explain::{Blocked, Snapshot};
use super::model::{CampaignState, CampaignType, Control, IllegalTransition, Settings};
use super::record::NewRecord;
use super::retry::{self, AttemptResult, RecordPos};
use super::sched::{Entry, Idle, Scheduler, Step};
use crate::call::log::call_end;
use crate::call::outcome::Cause;
use crate::call::place::Placer;
use crate::call::view::{CallState, CallView, hangup_cause};
use crate::dialplan::DialplanStore;
use crate::ids::{CallId, CampaignId, ClientId, RecordId};
use crate::metrics as m;
use crate::store::{RecordClass, RecordInsert, RecordNext, Store, StoreError};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

mod dial;

/// What the API may ask of a campaign actor.
pub enum Command {
    Control(Control, oneshot::Sender<Result<CampaignState, IllegalTransition>>),
    /// Insert records (a build batch or an append). Appends are checked
    /// against the state here, where the state lives.
    Insert {
        class: RecordClass,
        rows: Vec<RecordInsert>,
        uploaded: i64,
        reply: oneshot::Sender<Result<(), InsertError>>,
    },
    Explain(oneshot::Sender<Snapshot>),
    /// Ends a record that must not be dialled again (a lead decided by its
    /// confirm page). `Ok(false)`: a call for it is in flight; its end
    /// will move the record, so the caller asks again then.
    Close {
        record: RecordId,
        final_state: String,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("records can be added only in BUILT, PAUSE or PLAY; the campaign is {0:?}")]
    State(CampaignState),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What every campaign actor shares.
pub struct CampaignDeps {
    pub store: Arc<dyn Store>,
    pub placer: Placer,
    pub dialplans: Arc<DialplanStore>,
    pub interrupted_margin: Duration,
    /// Where REPORTED campaigns' reports are written.
    pub reports_dir: std::path::PathBuf,
    /// Cancelled when the daemon drains: stop dialling, let calls end.
    pub stop: CancellationToken,
    /// `campaign.state_changed`, `record.attempted`, `record.final`.
    pub events: crate::events::EventBus,
}

/// A campaign as its actor needs it (built from the stored row).
pub struct CampaignSpec {
    pub id: CampaignId,
    pub client: ClientId,
    pub kind: CampaignType,
    pub state: CampaignState,
    pub settings: Settings,
    /// Trunk or trunk group names, used in turn.
    pub trunks: Vec<String>,
    pub window: Window,
    pub schedule: Schedule,
    pub tz: TimeZone,
    pub report_at_end_of_day: bool,
    /// End of the campaign's day (its creation day in the service's zone).
    pub day_end: Timestamp,
}

struct InFlight {
    record: RecordId,
    phone_idx: i64,
    attempts_on_phone: i64,
    phones: usize,
}

struct Ended {
    call: CallId,
    view: CallView,
}

pub struct CampaignActor {
    spec: CampaignSpec,
    deps: Arc<CampaignDeps>,
    sched: Scheduler,
    in_flight: HashMap<CallId, InFlight>,
    ended_tx: mpsc::Sender<Ended>,
    ended_rx: mpsc::Receiver<Ended>,
    next_trunk: usize,
    caller_ids: super::caller_ids::Pool,
    blocked: Option<Blocked>,
    wake: Option<Instant>,
    gauges_at: Instant,
    /// Sequence number of the campaign's last event (since this start).
    seq: u64,
    state_tx: watch::Sender<CampaignState>,
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// An instant for a wall-clock time (both clocks read now).
fn instant_at(wall: Timestamp) -> Instant {
    let d = wall.duration_since(Timestamp::now());
    let d = Duration::try_from(d).unwrap_or(Duration::ZERO).min(Duration::from_secs(86_400));
    Instant::now() + d
}

impl CampaignActor {
    pub fn new(spec: CampaignSpec, deps: Arc<CampaignDeps>, state_tx: watch::Sender<CampaignState>) -> Self {
        let (ended_tx, ended_rx) = mpsc::channel(spec.settings.pacing.max_concurrent as usize + 16);
        let caller_ids =
            super::caller_ids::Pool::new(spec.settings.caller_ids.clone(), spec.settings.caller_id_strategy);
        CampaignActor {
            caller_ids,
            sched: Scheduler::new(spec.settings.pacing.clone()),
            spec,
            deps,
            in_flight: HashMap::new(),
            ended_tx,
            ended_rx,
            next_trunk: 0,
            blocked: None,
            wake: None,
            gauges_at: Instant::now(),
            seq: 0,
            state_tx,
        }
    }

    pub async fn run(mut self, mut mailbox: mpsc::Receiver<Command>) {
        let mut draining = false;
        loop {
            if !draining {
                if let Err(e) = self.pump().await {
                    warn!(campaign = %self.spec.id, error = %e, "campaign store error; retrying in 1 s");
                    self.wake = Some(Instant::now() + Duration::from_secs(1));
                }
            } else if self.in_flight.is_empty() {
                return;
            }
            if self.spec.state == CampaignState::Reported {
                return;
            }
            let wake = self.wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let eod = instant_at(self.spec.day_end);
            let gauges = self.gauges_at;
            tokio::select! {
                cmd = mailbox.recv(), if !draining => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => draining = true,
                },
                Some(ended) = self.ended_rx.recv() => self.ended(ended).await,
                _ = tokio::time::sleep_until(wake.into()) => self.sched.invalidate(),
                _ = tokio::time::sleep_until(eod.into()), if !draining => self.end_of_day().await,
                _ = self.deps.stop.cancelled(), if !draining => draining = true,
                _ = tokio::time::sleep_until(gauges.into()) => self.publish_gauges().await,
            }
        }
    }

    /// Records by state as gauges; an index-only count, every 10 s.
    async fn publish_gauges(&mut self) {
        self.gauges_at = Instant::now() + Duration::from_secs(10);
        match self.deps.store.state_counts(self.spec.id).await {
            Ok(c) => m::campaign_records(self.spec.id.0, &c),
            Err(e) => warn!(error = %e, "cannot count the campaign's records"),
        }
    }

    /// Publishes a campaign or record event. They are ordered (and
    /// numbered) per campaign; the call they concern is in `data.call_id`,
    /// so a call's own sequence stays 1, 2, 3...
    fn emit(&mut self, kind: &'static str, record: Option<RecordId>, data: serde_json::Value) {
        self.seq += 1;
        let mut e = crate::events::EventOut::new(kind, self.seq, data);
        e.client = Some(self.spec.client.clone());
        e.campaign_id = Some(self.spec.id);
        e.record_id = record;
        self.deps.events.publish(e);
    }

    async fn set_state(&mut self, to: CampaignState) -> Result<(), StoreError> {
        if to != self.spec.state {
            self.deps.store.set_campaign_state(self.spec.id, to.as_str(), now_ms()).await?;
            info!(campaign = %self.spec.id, from = self.spec.state.as_str(), to = to.as_str(), "campaign state");
            let data = serde_json::json!({"from": self.spec.state.as_str(), "to": to.as_str()});
            self.emit("campaign.state_changed", None, data);
            self.spec.state = to;
            // Gauges first: whoever sees the new state sees them current.
            self.publish_gauges().await;
            let _ = self.state_tx.send(to);
        }
        Ok(())
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Control(c, reply) => {
                let result = match self.spec.state.control(c) {
                    Ok(to) => match self.set_state(to).await {
                        Ok(()) => Ok(to),
                        Err(e) => {
                            warn!(error = %e, "cannot save the campaign state");
                            Err(IllegalTransition { from: self.spec.state, action: c.as_str() })
                        }
                    },
                    Err(e) => Err(e),
                };
                self.sched.invalidate();
                let _ = reply.send(result);
            }
            Command::Insert { class, rows, uploaded, reply } => {
                let r = if !self.spec.state.accepts_appends() {
                    Err(InsertError::State(self.spec.state))
                } else {
                    self.deps
                        .store
                        .insert_records(self.spec.id, class, &rows, uploaded, now_ms())
                        .await
                        .map_err(Into::into)
                };
                // Appended records go ahead of the hopper's content.
                self.sched.invalidate();
                let _ = reply.send(r);
            }
            Command::Close { record, final_state, reply } => {
                let r = if self.in_flight.values().any(|f| f.record == record) {
                    Ok(false)
                } else {
                    let next = RecordNext::Done { final_state: final_state.clone() };
                    let r = self.deps.store.move_record(record, &next, now_ms()).await;
                    if r.is_ok() {
                        self.emit("record.final", Some(record), serde_json::json!({"final": final_state}));
                    }
                    r.map(|()| true)
                };
                self.sched.invalidate();
                let _ = reply.send(r);
            }
            Command::Explain(reply) => {
                let _ = reply.send(Snapshot {
                    state: self.spec.state,
                    service_open: self.spec.schedule.is_open(&self.spec.tz, Timestamp::now()),
                    service_next_open: self.spec.schedule.next_open(&self.spec.tz, Timestamp::now()),
                    in_flight: self.in_flight.len(),
                    max_concurrent: self.spec.settings.pacing.max_concurrent,
                    blocked: self.blocked.clone(),
                    draining: self.deps.stop.is_cancelled(),
                });
            }
        }
    }

    /// Dials while the scheduler says so; records why it stopped.
    async fn pump(&mut self) -> Result<(), StoreError> {
        self.wake = None;
        loop {
            if self.spec.state != CampaignState::Play || !self.spec.kind.dials() {
                self.blocked = None;
                return Ok(());
            }
            let wall = Timestamp::now();
            if !self.spec.schedule.is_open(&self.spec.tz, wall) {
                let until = self.spec.schedule.next_open(&self.spec.tz, wall);
                self.blocked = Some(Blocked::ServiceClosed { until });
                self.wake = until.map(instant_at);
                return Ok(());
            }
            match self.sched.poll(Instant::now()) {
                Step::Refill { limit } => self.refill(limit).await?,
                Step::Dial(entry) => {
                    if let Some(stop) = self.dial(entry).await? {
                        self.blocked = Some(stop.0);
                        self.wake = Some(stop.1);
                        return Ok(());
                    }
                }
                Step::Idle { why, until } => {
                    self.wake = until;
                    self.blocked = Some(match why {
                        Idle::SlotsFull { in_flight, max } => Blocked::SlotsFull { in_flight, max },
                        Idle::Pacing => Blocked::Pacing { max_cps: self.spec.settings.pacing.max_cps },
                        Idle::Empty => return self.nothing_ready().await,
                    });
                    return Ok(());
                }
            }
        }
    }

    async fn refill(&mut self, limit: u32) -> Result<(), StoreError> {
        let store = &self.deps.store;
        store.promote_due(self.spec.id, now_ms()).await?;
        let rows = store.fetch_ready(self.spec.id, limit).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows {
            match serde_json::from_str::<NewRecord>(&r.data) {
                Ok(record) => entries.push(Entry {
                    id: r.id,
                    class: r.class,
                    phone_idx: r.phone_idx,
                    attempts_on_phone: r.attempts_on_phone,
                    record,
                }),
                Err(e) => {
                    warn!(record = %r.id, error = %e, "unreadable record; marking it failed");
                    let next = RecordNext::Done { final_state: "unreadable".into() };
                    store.move_record(r.id, &next, now_ms()).await?;
                }
            }
        }
        self.sched.handle_refill(entries, limit);
        Ok(())
    }

    /// The ready queue is empty: wait for the next due record, or finish.
    async fn nothing_ready(&mut self) -> Result<(), StoreError> {
        let c = self.deps.store.counts(self.spec.id).await?;
        if let Some(due) = c.next_due {
            self.wake = Some(instant_at(ts(due)));
            self.blocked = Some(Blocked::Waiting { records: c.waiting, until: ts(due) });
        } else if self.in_flight.is_empty() && c.dialing == 0 {
            self.blocked = Some(Blocked::Exhausted);
            let to = match self.spec.settings.continuous {
                true => self.spec.state,
                false => self.spec.state.exhausted(self.spec.report_at_end_of_day),
            };
            self.set_state(to).await?;
        } else {
            self.blocked = Some(Blocked::LastCalls { in_flight: self.in_flight.len() });
        }
        Ok(())
    }

    async fn ended(&mut self, ended: Ended) {
        let Some(f) = self.in_flight.remove(&ended.call) else { return };
        self.sched.handle_ended();
        let v = &ended.view;
        let mut end = call_end(v);
        if v.state != CallState::Ended || hangup_cause(v) == Some(Cause::Shutdown) {
            end.disposition = "interrupted".into();
        }
        if end.ended_at == 0 {
            end.ended_at = now_ms();
        }
        m::campaign_attempt_ended(&end.disposition);
        let s = &self.spec;
        let no_answer = s
            .settings
            .no_answer_timeout_s
            .map(Duration::from_secs_f64)
            .unwrap_or(self.deps.placer.cfg.calls.no_answer_timeout);
        let margin = (no_answer + self.deps.interrupted_margin).as_millis() as i64;
        let pos = RecordPos { phone_idx: f.phone_idx, attempts_on_phone: f.attempts_on_phone, phones: f.phones };
        let result = AttemptResult { disposition: &end.disposition, outcome: end.outcome.as_deref() };
        let outcomes = retry::Outcomes { dnc: &s.settings.dnc_outcomes, decisive: &s.settings.decisive_outcomes };
        let d = retry::after_attempt(&s.settings.retries, outcomes, pos, &result, end.ended_at, margin);
        if d.add_dnc {
            let source = format!("ivr_opt_out:campaign:{}", s.id);
            if let Err(e) =
                self.deps.store.dnc_add(&s.client.0, std::slice::from_ref(&v.to), &source, end.ended_at).await
            {
                warn!(error = %e, "cannot add an opt-out to the do-not-call list");
            }
        }
        if let RecordNext::Wait { due_at, .. } = &d.next
            && *due_at <= now_ms()
        {
            self.sched.invalidate();
        }
        if let RecordNext::Done { final_state } = &d.next {
            let data = serde_json::json!({"final": final_state, "disposition": end.disposition,
                "outcome": end.outcome, "call_id": ended.call});
            self.emit("record.final", Some(f.record), data);
        }
        if let Err(e) = self.deps.store.finish_attempt(ended.call, &end, f.record, &d.next).await {
            // The attempt stays open in the store and is recovered as
            // interrupted at the next start.
            warn!(error = %e, call = %ended.call, "cannot record the attempt's end");
        }
    }

    async fn end_of_day(&mut self) {
        let to = match self.spec.settings.continuous {
            true => self.spec.state,
            false => self.spec.state.end_of_day(self.spec.report_at_end_of_day),
        };
        if to == CampaignState::Reported && self.spec.state != CampaignState::Reported {
            // day_end is the next day's midnight: name the day that ended.
            let last = self.spec.day_end - jiff::SignedDuration::from_secs(1);
            let day = self.spec.tz.to_datetime(last).date().to_string();
            match super::report::write(self.deps.store.clone(), self.spec.id, &day, &self.deps.reports_dir).await {
                Ok(path) => info!(campaign = %self.spec.id, report = %path.display(), "campaign report written"),
                Err(e) => warn!(campaign = %self.spec.id, error = %e, "cannot write the campaign report"),
            }
        }
        if let Err(e) = self.set_state(to).await {
            warn!(error = %e, "cannot report the campaign");
        }
        // The next day's end, for campaigns that keep running.
        self.spec.day_end =
            calendar::day_bounds(&self.spec.tz, self.spec.day_end + jiff::SignedDuration::from_secs(1)).1;
    }
}
