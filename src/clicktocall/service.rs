//! The click-to-call service: checks a verified request against the
//! site's policy (its groups, rate limits, DNC, working hours and the
//! visitor's calling window), stores it, and runs one orchestrator task
//! per request (`run.rs`), at once or, for a request with `at`, when the
//! callback timer says (`timer.rs`). Each status change is written to the
//! store and published as a `click_to_call.*` event, in order, by one
//! reporter task per request.

use super::run;
use super::status::{Order, Status};
use super::timer::Timer;
use crate::agents::directory::Directory;
use crate::call::place::Placer;
use crate::campaign::calendar::{callee_zones, closed_reason};
use crate::config::{Config, SiteConfig};
use crate::dialplan::DialplanStore;
use crate::events::{EventBus, EventOut};
use crate::ids::ClientId;
use crate::store::{ClickRow, ClickUpdate, Store, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum ClickError {
    #[error("{message}")]
    RateLimited { field: &'static str, message: String, retry_after: Duration },
    #[error("the number is on the do-not-call list")]
    OnDnc,
    #[error("{0}")]
    Closed(String),
    #[error("no agent group {0:?}")]
    UnknownGroup(String),
    #[error("this site may not ring agent group {0:?}")]
    GroupNotAllowed(String),
    #[error("no agent of group {0:?} is available")]
    NoAgent(String),
    #[error("dialerd is shutting down")]
    Draining,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

pub struct Deps {
    pub cfg: Arc<Config>,
    pub placer: Placer,
    pub directory: Arc<Directory>,
    pub store: Arc<dyn Store>,
    pub events: EventBus,
    pub dialplans: Arc<DialplanStore>,
    pub tasks: TaskTracker,
    /// Cancelled when the daemon drains: no new requests.
    pub stop: CancellationToken,
}

#[derive(Clone)]
pub struct ClickToCall {
    deps: Arc<Deps>,
    timer: Timer,
}

/// A request that passed its signature check.
pub struct NewRequest {
    pub site: usize,
    /// E.164.
    pub phone: String,
    pub agent_group: String,
    pub order: Order,
    pub visitor: serde_json::Map<String, serde_json::Value>,
    /// A callback: run at this time (checked by `schedule::parse_at`),
    /// or at the next opening after it.
    pub at: Option<jiff::Timestamp>,
}

pub struct Created {
    pub id: String,
    /// Lets a browser read this one request's status.
    pub token: String,
    /// `requested`, or `scheduled` for a callback.
    pub status: Status,
    /// When a scheduled request runs (epoch ms).
    pub due_at: Option<i64>,
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn random_token() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{b}")
}

impl ClickToCall {
    /// Fails what the last run left running, rearms what it scheduled,
    /// then forgets expired requests' personal data every minute.
    pub async fn start(deps: Deps) -> Result<ClickToCall, StoreError> {
        let deps = Arc::new(deps);
        let cut = deps.store.click_interrupted(now_ms()).await?;
        if !cut.is_empty() {
            warn!(requests = cut.len(), "click-to-call requests interrupted by the last stop are failed");
        }
        let timer = Timer::start(deps.clone(), &deps.store.click_scheduled().await?);
        let d = deps.clone();
        deps.tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = d.stop.cancelled() => return,
                }
                let before = now_ms() - d.cfg.click_to_call.retention.as_millis() as i64;
                if let Err(e) = d.store.click_forget(before).await {
                    warn!(error = %e, "click to call: cannot forget expired requests");
                }
            }
        });
        Ok(ClickToCall { deps, timer })
    }

    pub fn site(&self, key: &str) -> Option<(usize, &SiteConfig)> {
        self.deps.cfg.click_to_call.sites.iter().enumerate().find(|(_, s)| s.key == key)
    }

    pub fn sites(&self) -> &[SiteConfig] {
        &self.deps.cfg.click_to_call.sites
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.deps.store
    }

    pub fn retention(&self) -> Duration {
        self.deps.cfg.click_to_call.retention
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.deps.directory
    }

    /// Policy checks, then the row and its orchestrator.
    pub async fn create(&self, r: NewRequest) -> Result<Created, ClickError> {
        if self.deps.stop.is_cancelled() {
            return Err(ClickError::Draining);
        }
        let site = &self.deps.cfg.click_to_call.sites[r.site];
        if !site.agent_groups.is_empty() && !site.agent_groups.contains(&r.agent_group) {
            return Err(ClickError::GroupNotAllowed(r.agent_group));
        }
        let Some((candidates, _, _)) = self.deps.directory.offer(&site.client, &r.agent_group) else {
            return Err(ClickError::UnknownGroup(r.agent_group));
        };
        let now = now_ms();
        let store = &self.deps.store;
        if store.click_count(&site.key, None, now - 60_000).await? >= u64::from(site.per_site_per_minute) {
            return Err(ClickError::RateLimited {
                field: "site",
                message: format!("the site sent more than {} requests in a minute", site.per_site_per_minute),
                retry_after: Duration::from_secs(60),
            });
        }
        if store.click_count(&site.key, Some(&r.phone), now - 3_600_000).await? >= u64::from(site.per_number_per_hour) {
            return Err(ClickError::RateLimited {
                field: "phone",
                message: format!("this number was asked for more than {} times in an hour", site.per_number_per_hour),
                retry_after: Duration::from_secs(3600),
            });
        }
        // A callback runs when the site is open and an agent is free, so
        // neither is asked of it now; the DNC list is.
        let due = match r.at {
            Some(at) => {
                check_dnc(store.as_ref(), site, &r.phone).await?;
                let due = super::schedule::due(at, site, &r.phone).ok_or_else(|| {
                    ClickError::Closed("the site is not open for this number within the next 400 days".into())
                })?;
                Some(due.as_millisecond())
            }
            None => {
                check_dialable(&*self.deps.store, site, &r.phone).await?;
                // Last, so a widget can tell "no agent now" (offer a
                // callback) from a refusal.
                if candidates.is_empty() {
                    return Err(ClickError::NoAgent(r.agent_group));
                }
                None
            }
        };
        let status = if due.is_some() { Status::Scheduled } else { Status::Requested };
        let token = random_token();
        let id = uuid::Uuid::now_v7().to_string();
        let row = ClickRow {
            id: id.clone(),
            site: site.key.clone(),
            client: ClientId(site.client.clone()),
            phone: r.phone,
            agent_group: r.agent_group,
            order: r.order.as_str().into(),
            visitor: serde_json::Value::Object(r.visitor).to_string(),
            status: status.as_str().into(),
            cause: None,
            sip_status: None,
            agent: None,
            agent_call: None,
            customer_call: None,
            token_hash: token_hash(&token),
            created_at: now,
            updated_at: now,
            due_at: due,
        };
        store.click_insert(&row).await?;
        match due {
            Some(due) => {
                info!(click_to_call = %id, site = %site.key, due_at = due, "click to call scheduled");
                // Written with the row: only the event is left to send,
                // and no reporter may write after the timer claimed it.
                let u = ClickUpdate { status: status.as_str().into(), due_at: Some(due), ..Default::default() };
                crate::metrics::click_to_call(status.as_str());
                self.deps.events.publish(event(status, 1, &row, &u));
                self.timer.arm(id.clone(), due);
            }
            None => {
                info!(click_to_call = %id, site = %site.key, order = r.order.as_str(), "click to call requested");
                launch(&self.deps, row, r.order, 0);
            }
        }
        Ok(Created { id, token, status, due_at: due })
    }
}

/// Starts a stored request: `requested`, then one orchestrator task.
/// `seq` counts the events it already sent (1 after `scheduled`).
pub(super) fn launch(deps: &Arc<Deps>, row: ClickRow, order: Order, seq: u64) {
    let reporter = Reporter::start(deps, &row, seq);
    reporter.set(Status::Requested, ClickUpdate::default());
    deps.placer.tasks.spawn(run::run(deps.clone(), row, order, reporter));
}

pub async fn check_dnc(store: &dyn Store, site: &SiteConfig, phone: &str) -> Result<(), ClickError> {
    if store.dnc_find(&ClientId(site.client.clone()), phone).await?.is_some() {
        return Err(ClickError::OnDnc);
    }
    Ok(())
}

/// DNC, then the site's working hours and the visitor's calling window.
pub async fn check_dialable(store: &dyn Store, site: &SiteConfig, phone: &str) -> Result<(), ClickError> {
    check_dnc(store, site, phone).await?;
    let zones = callee_zones(phone, None, &site.time_zone);
    let closed =
        closed_reason(jiff::Timestamp::now(), &site.working_hours, &site.time_zone, &site.calling_window, &zones);
    match closed {
        Some(c) => Err(ClickError::Closed(c.to_string())),
        None => Ok(()),
    }
}

/// Writes one request's status changes and publishes them, in order.
#[derive(Clone)]
pub struct Reporter {
    tx: mpsc::Sender<(Status, ClickUpdate)>,
}

/// More than the statuses a request can have.
const REPORTS: usize = 16;

/// A status change as the `click_to_call.*` event receivers get, with
/// the request as it stands.
fn event(status: Status, seq: u64, row: &ClickRow, u: &ClickUpdate) -> EventOut {
    let at = |ms: i64| jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).ok();
    let mut data = serde_json::json!({
        "status": status.as_str(),
        "site": row.site,
        "agent": u.agent,
        "agent_call_id": u.agent_call,
        "customer_call_id": u.customer_call,
        "sip_status": u.sip_status,
        "cause": u.cause,
    });
    if let Some(due) = u.due_at.and_then(at) {
        data["due_at"] = due.into();
    }
    let mut e = EventOut::new(status.event(), seq, data);
    e.click_to_call_id = Some(row.id.clone());
    e.client = Some(row.client.clone());
    e
}

impl Reporter {
    /// `seq`: events this request already sent (its next is `seq + 1`).
    pub(super) fn start(deps: &Arc<Deps>, row: &ClickRow, seq: u64) -> Reporter {
        let (tx, mut rx) = mpsc::channel::<(Status, ClickUpdate)>(REPORTS);
        let (store, events) = (deps.store.clone(), deps.events.clone());
        let (id, row) = (row.id.clone(), row.clone());
        deps.tasks.spawn(async move {
            let mut seq = seq;
            // Events carry the request as it stands, not just the change.
            let mut cur = ClickUpdate::default();
            while let Some((status, u)) = rx.recv().await {
                seq += 1;
                cur.status = status.as_str().into();
                for (mine, new) in [
                    (&mut cur.cause, u.cause),
                    (&mut cur.agent, u.agent),
                    (&mut cur.agent_call, u.agent_call),
                    (&mut cur.customer_call, u.customer_call),
                ] {
                    if new.is_some() {
                        *mine = new;
                    }
                }
                cur.sip_status = u.sip_status.or(cur.sip_status);
                let u = cur.clone();
                if let Err(e) = store.click_update(&id, &u, now_ms()).await {
                    warn!(click_to_call = %id, error = %e, "cannot record a click-to-call status");
                }
                crate::metrics::click_to_call(status.as_str());
                events.publish(event(status, seq, &row, &u));
            }
        });
        Reporter { tx }
    }

    /// Never blocks: a request has fewer statuses than the channel holds.
    pub fn set(&self, status: Status, u: ClickUpdate) {
        if self.tx.try_send((status, u)).is_err() {
            warn!(status = status.as_str(), "click-to-call status dropped");
        }
    }
}
