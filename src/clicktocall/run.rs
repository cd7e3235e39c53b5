//! One click-to-call request from its first ring to its end. Agent first:
//! ring the group (each agent's leg runs the whisper and parks on
//! "accepted"), then dial the visitor and bridge. Customer first: dial
//! the visitor, then ring the group and bridge. Every step is a status
//! (`service::Reporter`); every leg placed is hung up when the request
//! fails, so nobody is left on a silent line.

use super::service::{ClickError, Deps, Reporter, check_dialable};
use super::status::{Order, Status};
use crate::agents::AgentId;
use crate::call::place::PlaceRequest;
use crate::call::transfer::group::{Answered, Offer, pop_agent, ring, watch_talk};
use crate::call::transfer::{LegPlan, bridge, hold_flow};
use crate::call::view::{CallState, CallView};
use crate::config::{OnCapacity, SiteConfig};
use crate::ids::{CallId, ClientId, TrunkId};
use crate::store::{ClickRow, ClickUpdate};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;
use tracing::info;

/// Why a request failed: the cause code and, for a call that was
/// refused, its SIP status.
struct Failure {
    cause: String,
    sip_status: Option<i64>,
}

fn fail(cause: &str) -> Failure {
    Failure { cause: cause.into(), sip_status: None }
}

struct Ctx<'a> {
    deps: &'a Arc<Deps>,
    row: &'a ClickRow,
    site: &'a SiteConfig,
    trunk: TrunkId,
    rep: &'a Reporter,
    /// Legs to hang up if the request fails.
    legs: Vec<CallId>,
    customer: Option<CallId>,
}

impl Ctx<'_> {
    fn customer_ringing(&self) {
        let customer_call = self.customer.map(|c| c.to_string());
        self.rep.set(Status::CustomerRinging, ClickUpdate { customer_call, ..Default::default() });
    }
}

pub async fn run(deps: Arc<Deps>, row: ClickRow, order: Order, rep: Reporter) {
    let Some(site) = deps.cfg.click_to_call.sites.iter().find(|s| s.key == row.site) else { return };
    let Some(trunk) = deps.placer.admission.find(&site.trunk) else {
        rep.set(Status::Failed, ClickUpdate { cause: Some("no_trunk".into()), ..Default::default() });
        return;
    };
    let mut cx = Ctx { deps: &deps, row: &row, site, trunk, rep: &rep, legs: Vec::new(), customer: None };
    let result = match order {
        Order::AgentFirst => agent_first(&mut cx).await,
        Order::CustomerFirst => customer_first(&mut cx).await,
    };
    match result {
        Ok(cause) => {
            info!(click_to_call = %row.id, cause, "click to call completed");
            let customer_call = cx.customer.map(|c| c.to_string());
            rep.set(Status::Completed, ClickUpdate { cause: Some(cause), customer_call, ..Default::default() });
        }
        Err(f) => {
            info!(click_to_call = %row.id, cause = %f.cause, "click to call failed");
            for leg in &cx.legs {
                let _ = deps.placer.deps.registry.hangup(leg);
            }
            let customer_call = cx.customer.map(|c| c.to_string());
            let u = ClickUpdate { cause: Some(f.cause), sip_status: f.sip_status, customer_call, ..Default::default() };
            rep.set(Status::Failed, u);
        }
    }
}

async fn agent_first(cx: &mut Ctx<'_>) -> Result<String, Failure> {
    let agent = ring_agents(cx, None).await?;
    check(cx).await?;
    let (customer, mut view) = dial_customer(cx)?;
    let mut agent_view = agent.view.clone();
    // The visitor's phone rings while the agent waits on a silent line.
    let mut rang = false;
    loop {
        let v = view.borrow_and_update().clone();
        match v.state {
            CallState::Ringing if !rang => {
                rang = true;
                cx.customer_ringing();
            }
            CallState::Answered => {
                // A 200 with no 18x first still went through this step.
                if !rang {
                    cx.customer_ringing();
                }
                break;
            }
            CallState::Ended => return Err(unanswered(&v)),
            _ => {}
        }
        if agent_view.borrow().state == CallState::Ended {
            return Err(fail("agent_hung_up"));
        }
        tokio::select! {
            r = view.changed() => if r.is_err() { return Err(fail("customer_call_lost")) },
            _ = agent_view.changed() => {}
        }
    }
    connect(cx, agent, customer, view).await
}

async fn customer_first(cx: &mut Ctx<'_>) -> Result<String, Failure> {
    check(cx).await?;
    let (customer, mut view) = dial_customer(cx)?;
    let mut rang = false;
    let v = view
        .wait_for(|v| {
            if matches!(v.state, CallState::Ringing | CallState::Answered) && !rang {
                rang = true;
                cx.customer_ringing();
            }
            matches!(v.state, CallState::Answered | CallState::Ended)
        })
        .await
        .map(|v| v.clone())
        .map_err(|_| fail("customer_call_lost"))?;
    if v.state == CallState::Ended {
        return Err(unanswered(&v));
    }
    let agent = ring_agents(cx, Some(customer)).await?;
    connect(cx, agent, customer, view).await
}

/// DNC and calling hours again, right before the visitor is dialled: a
/// number may have opted out while the agents rang.
async fn check(cx: &Ctx<'_>) -> Result<(), Failure> {
    match check_dialable(&*cx.deps.store, cx.site, &cx.row.phone).await {
        Ok(()) => Ok(()),
        Err(ClickError::OnDnc) => Err(fail("dnc")),
        Err(ClickError::Closed(_)) => Err(fail("outside_hours")),
        Err(_) => Err(fail("store_error")),
    }
}

fn unanswered(v: &CallView) -> Failure {
    Failure {
        cause: v.disposition.map(|d| d.as_str()).unwrap_or("failed").to_string(),
        sip_status: v.sip_status.map(i64::from),
    }
}

/// Rings the group; the agent's leg runs the whisper and parks when the
/// agent accepts. `waiting` is the visitor's call (customer first): its
/// end stops the ringing.
async fn ring_agents(cx: &mut Ctx<'_>, waiting: Option<CallId>) -> Result<Answered, Failure> {
    let deps = cx.deps;
    let c2c = &deps.cfg.click_to_call;
    let whisper = deps.dialplans.get(&c2c.whisper_dialplan).ok_or_else(|| fail("no_whisper_dialplan"))?;
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("click_to_call_id".to_string(), cx.row.id.clone());
    vars.insert("site".to_string(), cx.row.site.clone());
    let leg = LegPlan {
        flow: whisper,
        vars,
        park_on: Some(c2c.accept_outcome.clone()),
        trunk: cx.trunk,
        no_answer_timeout: deps.cfg.calls.no_answer_timeout,
        origin: crate::call::actor::Origin { client: Some(ClientId(cx.site.client.clone())), ..Default::default() },
    };
    let first = AtomicBool::new(false);
    let did = deps.placer.admission.trunk(cx.trunk).cfg.caller_id.clone().unwrap_or_default();
    let pop = |k: &AgentId, call: CallId| {
        pop_agent(&deps.placer, k, call, cx.row.phone.clone(), cx.row.id.clone(), did.clone(), |f| f.click_to_call);
        if !first.swap(true, Ordering::Relaxed) {
            cx.rep.set(Status::AgentRinging, ClickUpdate::default());
        }
    };
    let registry = deps.placer.deps.registry.clone();
    let stop = deps.stop.clone();
    let gone = move || {
        stop.is_cancelled() || waiting.is_some_and(|c| registry.view(&c).is_none_or(|v| v.state == CallState::Ended))
    };
    let offer = Offer { client: &cx.site.client, group: &cx.row.agent_group, leg, pop: &pop, gone: &gone };
    let answered = ring(&deps.placer, &deps.directory, offer).await.map_err(|why| {
        info!(click_to_call = %cx.row.id, why, "no agent took the click to call");
        if why.contains("hung up") { fail("customer_hung_up") } else { fail("no_agent_answered") }
    })?;
    cx.legs.push(answered.call);
    let agent_name = answered.agent.0.split_once('/').map(|(_, a)| a.to_string()).unwrap_or_default();
    cx.rep.set(
        Status::AgentAnswered,
        ClickUpdate { agent: Some(agent_name), agent_call: Some(answered.call.to_string()), ..Default::default() },
    );
    // The whisper: the agent accepts (the leg parks) or not (it hangs up).
    let accept = c2c.accept_outcome.clone();
    let mut v = answered.view.clone();
    let waited = tokio::time::timeout(
        c2c.accept_timeout,
        v.wait_for(|v| v.state == CallState::Ended || v.flow.as_ref().is_some_and(|f| f.outcome.is_some())),
    )
    .await;
    let accepted = matches!(waited, Ok(Ok(ref v)) if v.state == CallState::Answered
        && v.flow.as_ref().and_then(|f| f.outcome.as_deref()) == Some(accept.as_str()));
    if !accepted {
        return Err(fail("agent_declined"));
    }
    Ok(answered)
}

fn dial_customer(cx: &mut Ctx<'_>) -> Result<(CallId, watch::Receiver<CallView>), Failure> {
    let deps = cx.deps;
    let req = PlaceRequest {
        user: cx.row.phone.clone(),
        host: None,
        to_text: cx.row.phone.clone(),
        route: crate::trunk::Route::single(cx.trunk),
        from_user: None,
        from_display: None,
        flow: hold_flow(),
        vars: Default::default(),
        no_answer_timeout: deps.cfg.click_to_call.customer_no_answer,
        max_duration: deps.cfg.calls.max_duration,
        on_capacity: OnCapacity::Reject,
        origin: crate::call::actor::Origin { client: Some(ClientId(cx.site.client.clone())), ..Default::default() },
        park_on: None,
        identity: None,
    };
    let placed = deps.placer.place(req).map_err(|r| fail(&format!("no_capacity_{}", r.reason())))?;
    cx.legs.push(placed.id);
    cx.customer = Some(placed.id);
    Ok((placed.id, placed.view))
}

/// Bridges the agent and the visitor and waits for the conversation's
/// end; the cause says who hung up.
async fn connect(
    cx: &mut Ctx<'_>,
    agent: Answered,
    customer: CallId,
    mut view: watch::Receiver<CallView>,
) -> Result<String, Failure> {
    let deps = cx.deps;
    bridge(&deps.placer, agent.call, customer).await.map_err(|_| fail("bridge_failed"))?;
    cx.rep.set(Status::Connected, ClickUpdate::default());
    watch_talk(&deps.directory, agent.agent, agent.view.clone(), agent.at);
    let ended = view.wait_for(|v| v.state == CallState::Ended).await.map(|v| v.clone());
    let by_customer =
        ended.as_ref().is_ok_and(|v| v.hangup_by.is_some_and(|b| b == crate::call::outcome::HangupBy::Remote));
    Ok(if by_customer { "customer_hung_up" } else { "agent_hung_up" }.to_string())
}
