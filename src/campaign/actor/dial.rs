//! Dialling one record: the checks at dial time (DNC, both clocks, the
//! number's caps through `gate`), a trunk with capacity, the attempt made
//! durable, then the call placed and watched until it ends.

use super::{CampaignActor, Ended, InFlight, now_ms, ts};
use crate::call::place::PlaceRequest;
use crate::call::view::CallState;
use crate::campaign::explain::Blocked;
use crate::campaign::gate::{self, Gate};
use crate::campaign::model::CampaignState;
use crate::campaign::sched::Entry;
use crate::config::OnCapacity;
use crate::dialplan::Flow;
use crate::ids::CallId;
use crate::metrics as m;
use crate::pii::Redacted;
use crate::store::{AttemptStart, RecordNext, StoreError};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

enum Check {
    Place(String),
    Move(RecordNext),
}

impl CampaignActor {
    /// Checks DNC, both clocks and the number's caps, then places the
    /// call. `Some` means dialling must pause (no trunk capacity).
    pub(super) async fn dial(&mut self, e: Entry) -> Result<Option<(Blocked, Instant)>, StoreError> {
        match self.check(&e).await? {
            Check::Place(phone) => self.place(e, phone).await,
            Check::Move(next) => {
                self.deps.store.move_record(e.id, &next, now_ms()).await?;
                match &next {
                    RecordNext::Done { final_state } => {
                        let data = serde_json::json!({"final": final_state});
                        self.emit("record.final", Some(e.id), data);
                    }
                    RecordNext::Wait { due_at, .. } if *due_at <= now_ms() => self.sched.invalidate(),
                    RecordNext::Wait { .. } => {}
                }
                Ok(None)
            }
        }
    }

    /// Where the record goes instead of being dialled now, if anywhere.
    async fn check(&self, e: &Entry) -> Result<Check, StoreError> {
        let store = &self.deps.store;
        let now = Timestamp::now();
        let s = &self.spec;
        let Some(phone) = e.phone().map(str::to_string) else {
            return Ok(Check::Move(RecordNext::Done { final_state: "no_number".into() }));
        };
        let keep = |due: Timestamp| RecordNext::Wait {
            due_at: due.as_millisecond(),
            phone_idx: e.phone_idx,
            attempts_on_phone: e.attempts_on_phone,
        };
        if let Some(hit) = store.dnc_find(&s.client, &phone).await? {
            info!(campaign = %s.id, record = %e.id, source = %hit.source, "number on the do-not-call list; not dialled");
            m::campaign_skipped("dnc");
            // The list names numbers: the record's next number may still be
            // dialled; with none left the record ends `dnc`.
            return Ok(Check::Move(if (e.phone_idx as usize + 1) < e.record.phones().count() {
                RecordNext::Wait { due_at: now_ms(), phone_idx: e.phone_idx + 1, attempts_on_phone: 0 }
            } else {
                RecordNext::Done { final_state: "dnc".into() }
            }));
        }
        let rules = gate::Rules { schedule: &s.schedule, service_tz: &s.tz, window: &s.window, caps: &s.settings.caps };
        let since = gate::attempts_since(&rules, now);
        let attempts: Vec<Timestamp> =
            store.attempts_since(&s.client, &phone, since.as_millisecond()).await?.into_iter().map(ts).collect();
        Ok(match gate::check(&rules, now, &phone, e.record.time_zone.as_deref(), &attempts) {
            Gate::Dial => Check::Place(phone),
            Gate::Wait { until, why } => {
                m::campaign_skipped(why);
                debug!(campaign = %s.id, record = %e.id, %until, why, "record waits");
                Check::Move(keep(until))
            }
            Gate::Never => {
                m::campaign_skipped("no_window");
                Check::Move(RecordNext::Done { final_state: "no_window".into() })
            }
        })
    }

    async fn place(&mut self, e: Entry, phone: String) -> Result<Option<(Blocked, Instant)>, StoreError> {
        let s = &self.spec;
        let n = s.trunks.len();
        let placer = &self.deps.placer;
        let mut refusal = None;
        let mut grant = None;
        for i in 0..n {
            // A name resolves now, so a reload's trunks and groups apply.
            let name = &s.trunks[(self.next_trunk + i) % n];
            let Some(route) = placer.admission.route(name).filter(|r| !r.trunks.is_empty()) else {
                refusal = Some((name.clone(), crate::trunk::Refusal::TrunkRemoved));
                continue;
            };
            match placer.admit(&route, OnCapacity::Reject) {
                Ok(g) => {
                    grant = Some((route, g));
                    self.next_trunk = (self.next_trunk + i + 1) % n;
                    break;
                }
                Err(r) => refusal = Some((name.clone(), r)),
            }
        }
        let Some((route, grant)) = grant else {
            let (name, r) = refusal.expect("at least one trunk");
            // The record stays ready; the hopper is re-read when we resume.
            self.sched.invalidate();
            let wait = r.retry_after().clamp(Duration::from_millis(20), Duration::from_secs(5));
            return Ok(Some((Blocked::Trunk { trunk: name, reason: r.reason() }, Instant::now() + wait)));
        };
        let flow = match &s.settings.dialplan {
            Some(name) => match self.deps.dialplans.get(name) {
                Some(f) => f,
                None => {
                    warn!(campaign = %s.id, dialplan = %name, "the campaign's dialplan is gone; pausing");
                    drop(grant);
                    let _ = self.set_state(CampaignState::Pause).await;
                    return Ok(None);
                }
            },
            None => Arc::new(Flow::inline(None, None)),
        };
        let call = CallId::new();
        let picked = self.pick_caller_id().await?;
        let s = &self.spec;
        let placer = &self.deps.placer;
        let caller_id = picked.or_else(|| s.settings.caller_id.clone());
        let trunk_name = match &grant {
            Some(g) => g.trunk_name(),
            None => placer.admission.trunk(route.trunks[0]).cfg.name.clone(),
        };
        // The attempt is durable before the INVITE leaves: a crash from
        // here on finds it open and accounts for it.
        self.deps
            .store
            .begin_attempt(&AttemptStart {
                call,
                client: s.client.clone(),
                campaign: s.id,
                record: e.id,
                phone_idx: e.phone_idx,
                phone: phone.clone(),
                trunk: trunk_name,
                started_at: now_ms(),
                caller_id: caller_id.clone(),
            })
            .await?;
        let mut vars = s.settings.vars.clone();
        vars.insert("campaign_id".into(), s.id.to_string());
        vars.insert("record_id".into(), e.id.to_string());
        if let Some(a) = &e.record.account {
            vars.insert("account".into(), a.clone());
        }
        let no_answer =
            s.settings.no_answer_timeout_s.map(Duration::from_secs_f64).unwrap_or(placer.cfg.calls.no_answer_timeout);
        let req = PlaceRequest {
            user: phone.clone(),
            host: None,
            to_text: phone.clone(),
            route,
            from_user: caller_id,
            from_display: s.settings.caller_name.clone(),
            flow,
            vars,
            no_answer_timeout: no_answer,
            max_duration: placer.cfg.calls.max_duration,
            on_capacity: OnCapacity::Reject,
            origin: crate::call::actor::Origin {
                client: Some(s.client.clone()),
                campaign: Some(s.id),
                record: Some(e.id),
            },
            park_on: None,
            identity: None,
        };
        let placed = placer.spawn(call, req, grant);
        info!(campaign = %s.id, record = %e.id, call = %call, to = %Redacted(&phone), "campaign call");
        m::campaign_attempt(e.class == 0);
        self.in_flight.insert(
            call,
            InFlight {
                record: e.id,
                phone_idx: e.phone_idx,
                attempts_on_phone: e.attempts_on_phone + 1,
                phones: e.record.phones().count(),
            },
        );
        self.sched.handle_dialed();
        let data =
            serde_json::json!({"phone_idx": e.phone_idx, "attempt_on_phone": e.attempts_on_phone + 1, "call_id": call});
        self.emit("record.attempted", Some(e.id), data);
        let tx = self.ended_tx.clone();
        let mut view = placed.view;
        tokio::spawn(async move {
            let ended = view.wait_for(|v| v.state == CallState::Ended).await.map(|v| v.clone());
            let v = match ended {
                Ok(v) => v,
                Err(_) => view.borrow().clone(),
            };
            let _ = tx.send(Ended { call, view: v }).await;
        });
        Ok(None)
    }

    /// The pool's number for the next call (`None` without a pool).
    async fn pick_caller_id(&mut self) -> Result<Option<String>, StoreError> {
        let used = if self.caller_ids.needs_counts() {
            let day_start = crate::campaign::calendar::day_bounds(&self.spec.tz, Timestamp::now()).0;
            let store = &self.deps.store;
            store.caller_id_use(&self.spec.client, &self.caller_ids.numbers, day_start.as_millisecond()).await?
        } else {
            Vec::new()
        };
        Ok(self.caller_ids.pick(&used).map(str::to_string))
    }
}
