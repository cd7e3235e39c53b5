//! The campaign supervisor: starts one actor per live campaign, recovers
//! attempts a crash left open, and hands the API each actor's mailbox.

use super::actor::{CampaignActor, CampaignDeps, CampaignSpec, Command};
use super::calendar::{self, Schedule, ScheduleSpec, Window};
use super::model::{CampaignState, CampaignType, Settings};
use super::record::NewRecord;
use super::retry::{self, AttemptResult, RecordPos};
use crate::ids::CampaignId;
use crate::store::{CallEnd, CampaignRow, Store, StoreError};
use dashmap::DashMap;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored campaign cannot run (its service or schedule is gone...).
    #[error("campaign {0}: {1}")]
    Invalid(CampaignId, String),
}

/// The API's way to one campaign actor.
pub struct Handle {
    pub tx: mpsc::Sender<Command>,
    pub state: watch::Receiver<CampaignState>,
    /// Times of recent appends (seed 002: at most N per rolling minute).
    pub appends: Mutex<VecDeque<Instant>>,
    /// An upload is streaming into this campaign.
    pub uploading: AtomicBool,
}

pub struct Campaigns {
    deps: Arc<CampaignDeps>,
    handles: Arc<DashMap<CampaignId, Arc<Handle>>>,
    tasks: TaskTracker,
}

/// Everything a campaign needs from its service, resolved from the store.
pub async fn service_context(
    store: &dyn Store,
    row: &CampaignRow,
) -> Result<(TimeZone, Schedule, bool), CampaignError> {
    let invalid = |m: String| CampaignError::Invalid(row.id, m);
    let svc = store
        .service(&row.client, &row.service)
        .await?
        .ok_or_else(|| invalid(format!("service {:?} is gone", row.service)))?;
    let tz = TimeZone::get(&svc.time_zone).map_err(|e| invalid(format!("time zone {:?}: {e}", svc.time_zone)))?;
    let schedule = match &svc.schedule {
        None => Schedule::always(),
        Some(name) => {
            let text = store
                .schedule(&row.client, name)
                .await?
                .ok_or_else(|| invalid(format!("schedule {name:?} is gone")))?;
            let spec: ScheduleSpec =
                serde_json::from_str(&text).map_err(|e| invalid(format!("schedule {name:?}: {e}")))?;
            Schedule::from_spec(&spec).map_err(|e| invalid(format!("schedule {name:?}: {}: {}", e.field, e.message)))?
        }
    };
    Ok((tz, schedule, svc.report_at_end_of_day))
}

impl Campaigns {
    /// Recovers open attempts, then starts an actor for every live campaign.
    pub async fn start(deps: Arc<CampaignDeps>, tasks: TaskTracker) -> Result<Arc<Campaigns>, CampaignError> {
        let me = Arc::new(Campaigns { deps, handles: Arc::new(DashMap::new()), tasks });
        me.recover().await?;
        for row in me.deps.store.live_campaigns().await? {
            if let Err(e) = me.spawn(&row).await {
                warn!(error = %e, "campaign not started");
            }
        }
        Ok(me)
    }

    /// Attempts still open were in flight when dialerd died. Each becomes
    /// `interrupted` and its record is retried by the campaign's rules, never
    /// before the no-answer timeout plus a margin after the attempt began
    /// (the carrier may still be ringing that number).
    async fn recover(&self) -> Result<(), CampaignError> {
        let store = &self.deps.store;
        let open = store.open_attempts().await?;
        let now = Timestamp::now().as_millisecond();
        for a in &open {
            let (Some(c), Some(r)) = (store.campaign(a.campaign).await?, store.record(a.record).await?) else {
                continue;
            };
            let settings: Settings = serde_json::from_str(&c.settings)
                .map_err(|e| CampaignError::Invalid(c.id, format!("settings: {e}")))?;
            let phones = serde_json::from_str::<NewRecord>(&r.data).map(|x| x.phones().count()).unwrap_or(1);
            let no_answer = settings
                .no_answer_timeout_s
                .map(Duration::from_secs_f64)
                .unwrap_or(self.deps.placer.cfg.calls.no_answer_timeout);
            let earliest = a.started_at + (no_answer + self.deps.interrupted_margin).as_millis() as i64;
            let pos = RecordPos { phone_idx: a.phone_idx, attempts_on_phone: r.attempts_on_phone, phones };
            let result = AttemptResult { disposition: "interrupted", outcome: None };
            let d = retry::after_attempt(
                &settings.retries,
                retry::Outcomes { dnc: &settings.dnc_outcomes, decisive: &settings.decisive_outcomes },
                pos,
                &result,
                now,
                (earliest - now).max(0),
            );
            let end = CallEnd {
                ended_at: now,
                disposition: "interrupted".into(),
                cause: Some("crash".into()),
                ..Default::default()
            };
            store.finish_attempt(a.call, &end, a.record, &d.next).await?;
        }
        if !open.is_empty() {
            info!(attempts = open.len(), "recovered attempts interrupted by the last stop");
        }
        Ok(())
    }

    /// Starts the actor of a stored campaign (idempotent).
    pub async fn spawn(&self, row: &CampaignRow) -> Result<Arc<Handle>, CampaignError> {
        if let Some(h) = self.handles.get(&row.id) {
            return Ok(h.clone());
        }
        let invalid = |m: String| CampaignError::Invalid(row.id, m);
        let settings: Settings = serde_json::from_str(&row.settings).map_err(|e| invalid(format!("settings: {e}")))?;
        let state = CampaignState::parse(&row.state).ok_or_else(|| invalid(format!("state {:?}", row.state)))?;
        let kind = CampaignType::parse(&row.kind).ok_or_else(|| invalid(format!("type {:?}", row.kind)))?;
        let (tz, schedule, report_at_end_of_day) = service_context(self.deps.store.as_ref(), row).await?;
        let window = Window::parse(&settings.calling_window).map_err(|e| invalid(format!("calling_window: {e}")))?;
        let admission = &self.deps.placer.admission;
        let trunks = settings
            .trunks
            .iter()
            .map(|t| {
                admission.route(t).map(|_| t.clone()).ok_or_else(|| invalid(format!("trunk {t:?} is not configured")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if trunks.is_empty() {
            return Err(invalid("no trunk".into()));
        }
        let created = Timestamp::from_millisecond(row.created_at).unwrap_or(Timestamp::UNIX_EPOCH);
        let day_end = calendar::day_bounds(&tz, created).1;
        let spec = CampaignSpec {
            id: row.id,
            client: row.client.clone(),
            kind,
            state,
            settings,
            trunks,
            window,
            schedule,
            tz,
            report_at_end_of_day,
            day_end,
        };
        let (tx, rx) = mpsc::channel(64);
        let (state_tx, state_rx) = watch::channel(state);
        let handle = Arc::new(Handle {
            tx,
            state: state_rx,
            appends: Mutex::new(VecDeque::new()),
            uploading: AtomicBool::new(false),
        });
        self.handles.insert(row.id, handle.clone());
        let actor = CampaignActor::new(spec, self.deps.clone(), state_tx);
        let (handles, id) = (self.handles.clone(), row.id);
        self.tasks.spawn(async move {
            actor.run(rx).await;
            // A reported campaign's actor is gone; the API answers from the store.
            handles.remove(&id);
        });
        Ok(handle)
    }

    pub fn handle(&self, id: CampaignId) -> Option<Arc<Handle>> {
        self.handles.get(&id).map(|h| h.clone())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.deps.store
    }

    /// Live actors (for metrics and shutdown).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Waits for every campaign actor to finish its calls and stop.
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
