//! Carrying out a machine step: the record appended or closed, the number
//! added to the do-not-call list, messages rendered and queued, the new
//! state written with its history in one transaction, then the events.

use super::{Actor, LeadError, lead_of, now_ms};
use crate::campaign::actor::Command;
use crate::campaign::record::NewRecord;
use crate::campaign::sortkey::{self, SortSpec};
use crate::config::leads::Channel;
use crate::events::EventOut;
use crate::ids::RecordId;
use crate::leads::machine::{self, Action, Input, Policy};
use crate::leads::provision::ServiceRt;
use crate::leads::sms::{self, Overflow};
use crate::leads::template::{self, Escape};
use crate::leads::{link, wire::LeadSubmit};
use crate::pii::Redacted;
use crate::store::{LeadRow, LeadUpdate, MessageInsert, RecordClass, RecordInsert, Store};
use std::collections::BTreeMap;
use tokio::sync::oneshot;
use tracing::{info, warn};

/// Whether the service's working hours are open at `now_ms`.
pub async fn open_now(store: &dyn Store, svc: &ServiceRt, now_ms: i64) -> Result<bool, LeadError> {
    let Some(c) = store.campaign(svc.campaign).await? else { return Ok(true) };
    match crate::campaign::manager::service_context(store, &c).await {
        Ok((tz, schedule, _)) => {
            let now = jiff::Timestamp::from_millisecond(now_ms).unwrap_or_default();
            Ok(machine::next_slot(&schedule, &tz, now).is_none())
        }
        Err(e) => {
            warn!(error = %e, "cannot read the lead service's working hours; treating it as open");
            Ok(true)
        }
    }
}

/// The lead as the API and the events show it.
pub fn view(row: &LeadRow) -> serde_json::Value {
    let ts = |ms: i64| jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default();
    let fields: serde_json::Value = serde_json::from_str(&row.fields).unwrap_or_default();
    serde_json::json!({
        "validation_id": row.id,
        "state": row.state,
        "reason": row.reason,
        "account_key": row.account_key,
        "service_id": row.service_id,
        "phone": row.phone,
        "attempts": row.attempts,
        "message_rounds": row.message_rounds,
        "out_of_working_hours": row.out_of_hours,
        "campaign_id": row.campaign,
        "record_id": row.record,
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
        "lead": fields,
    })
}

impl Actor {
    fn can_reach(&self, row: &LeadRow, c: Channel) -> bool {
        let cfg = &self.deps.cfg.lead_api;
        match c {
            Channel::Email => cfg.smtp.is_some() && form(row).email.is_some(),
            Channel::Sms => cfg.sms.is_some(),
            Channel::Whatsapp => cfg.whatsapp.is_some(),
        }
    }

    /// Runs one input through the machine and carries out its step.
    /// Returns whether messages were queued.
    pub(super) async fn step(&mut self, row: &LeadRow, svc: &ServiceRt, input: Input<'_>) -> Result<bool, LeadError> {
        let p = &svc.policy;
        let policy = Policy {
            qualified_outcomes: &p.qualified_outcomes,
            rejected_outcomes: &p.rejected_outcomes,
            message_rounds: p.message_rounds,
            can_message: p.channels.iter().any(|c| self.can_reach(row, *c)),
            on_call_me: p.on_call_me,
        };
        let before = lead_of(row);
        let mut step = machine::handle(before.clone(), input, &policy);
        if step.history.is_empty() && step.actions.is_empty() && step.lead == before {
            return Ok(false);
        }
        let now = now_ms();
        let store = self.deps.store.clone();
        let mut update = LeadUpdate { at: now, ..Default::default() };
        let mut sent = false;
        for a in &step.actions {
            match a {
                Action::SendMessages => {
                    update.messages = self.render(row, svc, now, &mut step.history);
                    sent = !update.messages.is_empty();
                }
                Action::QueueCall => match self.ensure_record(row, svc).await {
                    Ok(r) => update.record = r,
                    Err(e) => warn!(lead = %row.id, error = %e, "cannot queue the lead's call; the reconcile retries"),
                },
                Action::CloseRecord { final_state } => self.close_record(row, svc, final_state).await,
                Action::AddDnc => {
                    let source = format!("lead_opt_out:{}", row.id);
                    store.dnc_add(&svc.client.0, std::slice::from_ref(&row.phone), &source, now).await?;
                }
                Action::Emit(_) => {}
            }
        }
        update.state = step.lead.state.as_str().into();
        update.reason = step.lead.reason.clone();
        update.attempts = step.lead.attempts as i64;
        update.message_rounds = step.lead.message_rounds as i64;
        update.history = std::mem::take(&mut step.history);
        store.lead_update(row.id, &update).await?;
        if sent {
            self.deps.messages.notify_one();
        }
        if let Some(r) = update.record {
            self.by_record.insert(r, row.id);
        }
        let kinds: Vec<&'static str> =
            step.actions.iter().filter_map(|a| if let Action::Emit(k) = a { Some(*k) } else { None }).collect();
        if !kinds.is_empty() {
            let fresh = store.lead(row.id).await?.unwrap_or_else(|| row.clone());
            for kind in kinds {
                info!(lead = %row.id, phone = %Redacted(&row.phone), state = %fresh.state, "{kind}");
                crate::metrics::lead_event(kind);
                let mut e = EventOut::new(kind, fresh.attempts as u64 + fresh.message_rounds as u64, view(&fresh));
                e.client = Some(svc.client.clone());
                e.campaign_id = Some(svc.campaign);
                e.record_id = fresh.record;
                e.lead_id = Some(fresh.id.to_string());
                self.deps.events.publish(e);
            }
        }
        Ok(sent)
    }

    /// The lead's record in its campaign: the existing live one, or a new
    /// one appended (first in first out, ahead of nothing else: the
    /// campaign holds leads only).
    pub(super) async fn ensure_record(
        &mut self,
        row: &LeadRow,
        svc: &ServiceRt,
    ) -> Result<Option<RecordId>, LeadError> {
        let store = &self.deps.store;
        if let Some(r) = store.lead_record(svc.campaign, row.id).await?
            && store.record(r).await?.is_some_and(|rec| rec.state != "done")
        {
            return Ok(Some(r));
        }
        let Some(handle) = self.deps.campaigns.handle(svc.campaign) else {
            warn!(campaign = %svc.campaign, "the lead campaign is not running; the lead waits");
            return Ok(None);
        };
        let f = form(row);
        let mut json = serde_json::json!({"phone1": row.phone, "lead_id": row.id.to_string()});
        if let Some(n) = &f.name {
            json["first_name"] = n.chars().take(200).collect::<String>().into();
        }
        let record = NewRecord::from_json(&json).map_err(|e| {
            LeadError::Store(crate::store::StoreError::NotFound(format!("a record for lead {}: {e}", row.id)))
        })?;
        let mut key = sortkey::key(&SortSpec::UploadOrder, &record, 0);
        key.truncate(key.len() - 8);
        let data = serde_json::to_string(&record).expect("a record serialises");
        let rows = vec![RecordInsert { key_prefix: key, phone1: record.phone1.clone(), data }];
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Insert { class: RecordClass::Appended, rows, uploaded: 1, reply: tx };
        if handle.tx.send(cmd).await.is_err() {
            return Ok(None);
        }
        match rx.await {
            Ok(Ok(())) => Ok(store.lead_record(svc.campaign, row.id).await?),
            Ok(Err(e)) => {
                warn!(lead = %row.id, error = %e, "the lead campaign refused the record");
                Ok(None)
            }
            Err(_) => Ok(None),
        }
    }

    async fn close_record(&self, row: &LeadRow, svc: &ServiceRt, final_state: &str) {
        let Ok(Some(r)) = self.deps.store.lead_record(svc.campaign, row.id).await else { return };
        if !matches!(self.deps.store.record(r).await, Ok(Some(rec)) if rec.state != "done") {
            return;
        }
        let Some(handle) = self.deps.campaigns.handle(svc.campaign) else { return };
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Close { record: r, final_state: final_state.into(), reply: tx };
        if handle.tx.send(cmd).await.is_ok() && matches!(rx.await, Ok(Ok(false))) {
            // A call is in flight; its end reaches the machine as a late
            // attempt of a decided lead, and the campaign retries nothing
            // because the reconcile closes the record then.
            info!(lead = %row.id, "lead decided while its call is in flight");
        }
    }

    /// One message per enabled channel that can reach the lead, rendered
    /// now so what is sent never changes.
    fn render(
        &self,
        row: &LeadRow,
        svc: &ServiceRt,
        now: i64,
        history: &mut Vec<(String, String)>,
    ) -> Vec<MessageInsert> {
        let cfg = &self.deps.cfg.lead_api;
        let f = form(row);
        let expires = now / 1000 + cfg.link_ttl.as_secs() as i64;
        let link = format!("{}/l/{}", self.deps.public_url, link::sign(&self.deps.link_secret, row.id.0, expires));
        let mut vars = BTreeMap::new();
        vars.insert("name".to_string(), f.name.clone().unwrap_or_default());
        vars.insert("company".to_string(), svc.policy.company.clone());
        vars.insert("service_name".to_string(), f.service_name.clone().unwrap_or_else(|| svc.name.clone()));
        vars.insert("link".to_string(), link);
        vars.insert("validation_id".to_string(), row.id.to_string());
        vars.insert("phone".to_string(), row.phone.clone());
        vars.insert("langcode".to_string(), f.langcode.clone().unwrap_or_else(|| "eng".into()));
        let t = &svc.policy.templates;
        let mut out = Vec::new();
        for c in &svc.policy.channels {
            if !self.can_reach(row, *c) {
                continue;
            }
            let body = match c {
                Channel::Email => serde_json::json!({
                    "subject": template::render(&t.email_subject, &vars, Escape::None),
                    "text": template::render(&t.email_text, &vars, Escape::None),
                }),
                Channel::Sms => {
                    let text = template::render(&t.sms, &vars, Escape::None);
                    let max = cfg.sms.as_ref().map_or(1, |s| s.max_parts);
                    let overflow = if max <= 1 { Overflow::Refuse } else { Overflow::Split { max_parts: max } };
                    match sms::segment(&text, overflow) {
                        Ok(s) => serde_json::json!({"parts": s.parts, "encoding": s.encoding}),
                        Err(e) => {
                            history.push(("message_refused".into(), format!("sms: {e}")));
                            continue;
                        }
                    }
                }
                Channel::Whatsapp => serde_json::json!({"text": template::render(&t.whatsapp, &vars, Escape::None)}),
            };
            let recipient = match c {
                Channel::Email => f.email.clone().unwrap_or_default(),
                _ => row.phone.clone(),
            };
            history.push(("message_queued".into(), c.as_str().into()));
            out.push(MessageInsert { channel: c.as_str().into(), recipient, body: body.to_string() });
        }
        out
    }
}

pub fn form(row: &LeadRow) -> LeadSubmit {
    serde_json::from_str::<serde_json::Value>(&row.fields)
        .ok()
        .map(|v| {
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
            LeadSubmit {
                name: s("name"),
                email: s("email"),
                langcode: s("langcode"),
                service_name: s("service_name"),
                ..Default::default()
            }
        })
        .unwrap_or_default()
}
