//! The qualification campaign behind each `[[lead_api.services]]` entry:
//! its service (time zone and working hours), and one continuous OUTBOUND
//! campaign that leads are appended to, created at the first start and
//! kept in step with the configuration at every start. Runs before the
//! campaign actors start, so they read the settings written here.

use crate::campaign::model::{CampaignState, CampaignType, NumberCaps, Pacing, Retries, RetryRule, Settings};
use crate::config::Config;
use crate::config::leads::{LeadPolicy, LeadService};
use crate::ids::{CampaignId, ClientId};
use crate::store::{CampaignFilter, NewCampaignRow, ServiceRow, Store, StoreError};
use std::collections::BTreeMap;
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("lead_api.services[{index}]: {message}")]
    Invalid { index: usize, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lead service as the engine uses it.
#[derive(Debug, Clone)]
pub struct ServiceRt {
    pub account_key: String,
    pub service_id: i64,
    pub client: ClientId,
    pub campaign: CampaignId,
    /// The dialerd service (`lead-<account>-<service_id>`).
    pub service: String,
    pub name: String,
    pub policy: LeadPolicy,
}

/// The campaign's name; one per lead service.
const CAMPAIGN_NAME: &str = "lead qualification";

pub fn settings(p: &LeadPolicy) -> Settings {
    let rule = RetryRule { delay_s: p.retry_interval.as_secs_f64(), max_attempts: p.attempts };
    let mut vars = BTreeMap::new();
    vars.insert("company".to_string(), p.company.clone());
    Settings {
        trunks: p.trunks.clone(),
        dialplan: Some(p.dialplan.clone()),
        vars,
        caller_id: p.caller_id.clone(),
        caller_name: None,
        caller_ids: Vec::new(),
        caller_id_strategy: Default::default(),
        pacing: Pacing::default(),
        // A call cut by a crash is redialled like any other, never sooner
        // than its ring time plus [campaigns] interrupted_margin_s.
        retries: Retries { busy: rule, no_answer: rule, failed: rule, machine: rule, interrupted: rule },
        calling_window: p.calling_window.clone(),
        // Every attempt the policy allows must fit the per-number caps.
        caps: NumberCaps { per_day: p.attempts.max(3) + 1, per_24h: p.attempts.max(4) + 1 },
        no_answer_timeout_s: p.no_answer_timeout.map(|d| d.as_secs_f64()),
        dnc_outcomes: p.rejected_outcomes.clone(),
        continuous: true,
        // A lead that hangs up or ignores the menu is redialled.
        decisive_outcomes: p.qualified_outcomes.iter().chain(&p.rejected_outcomes).cloned().collect(),
    }
}

pub async fn provision(cfg: &Config, store: &dyn Store, now_ms: i64) -> Result<Vec<ServiceRt>, ProvisionError> {
    let mut out = Vec::new();
    for (index, s) in cfg.lead_api.services.iter().enumerate() {
        let bad = |message: String| ProvisionError::Invalid { index, message };
        let account = cfg
            .lead_api
            .accounts
            .iter()
            .find(|a| a.account_key == s.account_key)
            .ok_or_else(|| bad(format!("no account {:?}", s.account_key)))?;
        let client = ClientId(account.client.clone());
        let schedule = schedule(s, &client, store, now_ms).await.map_err(|e| match e {
            Err(m) => bad(m),
            Ok(e) => ProvisionError::Store(e),
        })?;
        let service = format!("lead-{}-{}", s.account_key, s.service_id);
        store
            .put_service(&ServiceRow {
                client: client.clone(),
                id: service.clone(),
                name: s.name.clone(),
                sort: "upload".into(),
                time_zone: s.time_zone.clone(),
                schedule,
                report_at_end_of_day: false,
                created_at: now_ms,
            })
            .await?;
        let settings = serde_json::to_string(&settings(&s.policy)).expect("settings serialise");
        let filter = CampaignFilter { service: Some(service.clone()), limit: 10, ..Default::default() };
        let existing = store.find_campaigns(&client, &filter).await?;
        let live =
            existing.iter().find(|c| c.name == CAMPAIGN_NAME && !matches!(c.state.as_str(), "DONE" | "REPORTED"));
        let campaign = match live {
            Some(c) => {
                if c.settings != settings {
                    store.set_campaign_settings(c.id, &settings).await?;
                    info!(campaign = %c.id, service = %service, "lead campaign settings updated from the configuration");
                }
                c.id
            }
            None => {
                let day = jiff::Timestamp::from_millisecond(now_ms).unwrap_or_default().to_string()[..10].to_string();
                let id = store
                    .create_campaign(&NewCampaignRow {
                        client: client.clone(),
                        service: service.clone(),
                        name: CAMPAIGN_NAME.into(),
                        kind: CampaignType::Outbound.as_str().into(),
                        state: CampaignState::Play.as_str().into(),
                        allow_append: true,
                        settings,
                        created_at: now_ms,
                        day,
                    })
                    .await?;
                info!(campaign = %id, service = %service, "lead qualification campaign created");
                id
            }
        };
        out.push(ServiceRt {
            account_key: s.account_key.clone(),
            service_id: s.service_id,
            client,
            campaign,
            service,
            name: s.name.clone(),
            policy: s.policy.clone(),
        });
    }
    Ok(out)
}

/// The service's schedule name: working hours from the config are written
/// under it; a named schedule alone must already exist (shared by name
/// across the client's services).
async fn schedule(
    s: &LeadService,
    client: &ClientId,
    store: &dyn Store,
    now_ms: i64,
) -> Result<Option<String>, Result<StoreError, String>> {
    let name = s.schedule.clone().unwrap_or_else(|| format!("lead-{}-{}", s.account_key, s.service_id));
    match &s.working_hours {
        Some(spec) => {
            store.ensure_client(client, now_ms).await.map_err(Ok)?;
            let text = serde_json::to_string(spec).expect("a schedule serialises");
            store.put_schedule(client, &name, &text).await.map_err(Ok)?;
            Ok(Some(name))
        }
        None if s.schedule.is_some() => match store.schedule(client, &name).await.map_err(Ok)? {
            Some(_) => Ok(Some(name)),
            None => Err(Err(format!(
                "schedule {name:?} does not exist for client {client}: create it (PUT /v1/schedules/{name}) or give working_hours"
            ))),
        },
        None => Ok(None),
    }
}
