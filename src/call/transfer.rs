//! The dialplan `transfer` node (issue 7): to a `sip:` URI, place the
//! target call, hold it answered, and bridge it to the call that asked; to
//! `group:<id>`, offer it to the group's agents (`group.rs`) and bridge the
//! first who answers
//! (`call::bridge`). The asking call's actor sends a [`TransferRequest`];
//! this service owns the placing (it holds the [`Placer`], which call
//! actors cannot: the placer holds their dependencies). Failures go back
//! to the asking call, whose node then takes `on_fail`.

pub mod group;

use super::actor::Origin;
use super::place::{PlaceRequest, Placer};
use super::view::{CallState, CallView};
use crate::agents::directory::Directory;
use crate::config::OnCapacity;
use crate::dialplan::Flow;
use crate::dialplan::TransferTarget;
use crate::ids::{CallId, TrunkId};
use crate::trunk::Route;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Requests waiting for the service; a full queue fails the transfer.
pub const DEPTH: usize = 256;

#[derive(Debug)]
pub struct TransferRequest {
    pub from: CallId,
    pub origin: Origin,
    /// The asking call's trunk: the target goes through the trunk whose
    /// address is the URI's host:port, else through this one.
    pub trunk: TrunkId,
    pub target: TransferTarget,
    pub no_answer_timeout: Duration,
}

/// What the target call runs until it is bridged: silence, up to the
/// longest pause a flow may take.
const HOLD: &str = r#"
description = "Hold a transfer target until it is bridged"
start = "hold"
[nodes.hold]
kind = "pause"
seconds = 600
next = "done"
[nodes.done]
kind = "hangup"
"#;

pub fn hold_flow() -> Arc<Flow> {
    let no_prompts = |p: &str| Err(format!("no prompt {p}"));
    Arc::new(crate::dialplan::parse::parse("transfer-hold.toml", HOLD, &no_prompts).expect("the hold flow is valid"))
}

/// Until `stop` (the daemon's drain: no new calls); the placer's own
/// dependencies keep the request channel open, so it never closes itself.
pub async fn run(
    placer: Placer,
    directory: Arc<Directory>,
    mut rx: mpsc::Receiver<TransferRequest>,
    stop: CancellationToken,
) {
    let hold = hold_flow();
    loop {
        let req = tokio::select! {
            r = rx.recv() => match r { Some(r) => r, None => return },
            _ = stop.cancelled() => return,
        };
        let (placer, directory, hold) = (placer.clone(), directory.clone(), hold.clone());
        placer.tasks.clone().spawn(async move {
            let from = req.from;
            let result = match &req.target {
                TransferTarget::Uri(uri) => to_uri(&placer, hold, &req, uri).await,
                TransferTarget::Group(g) => group::offer(&placer, &directory, hold, &req, g).await,
            };
            if let Err(why) = result {
                info!(call = %from, why, "transfer failed");
                placer.deps.registry.transfer_failed(&from, why);
            }
        });
    }
}

fn split(uri: &str) -> Result<(String, String), String> {
    let rest = uri.strip_prefix("sip:").ok_or("not a sip: URI")?;
    let (user, host) = rest.split_once('@').ok_or("the URI has no user@host")?;
    Ok((user.to_string(), host.to_string()))
}

/// What an agent-side leg runs and where it goes by default: the hold
/// flow for a transfer, the whisper for a click to call.
#[derive(Clone)]
pub struct LegPlan {
    pub flow: Arc<Flow>,
    pub vars: std::collections::BTreeMap<String, String>,
    /// See [`crate::call::plan::Plan::park_on`].
    pub park_on: Option<String>,
    /// Used when no trunk's address is the URI's host:port.
    pub trunk: TrunkId,
    pub no_answer_timeout: Duration,
    pub origin: Origin,
}

impl LegPlan {
    fn hold(req: &TransferRequest, hold: Arc<Flow>) -> LegPlan {
        LegPlan {
            flow: hold,
            vars: Default::default(),
            park_on: None,
            trunk: req.trunk,
            no_answer_timeout: req.no_answer_timeout,
            origin: req.origin.clone(),
        }
    }
}

/// Places a call to `uri` running `plan`: through the trunk whose address
/// is the URI's host:port, else the plan's.
pub fn place_leg(placer: &Placer, plan: &LegPlan, uri: &str) -> Result<(CallId, watch::Receiver<CallView>), String> {
    let (user, host) = split(uri)?;
    let trunks = placer.admission.trunks();
    let trunk =
        trunks.iter().find(|t| t.uri_host() == host || t.target.to_string() == host).map_or(plan.trunk, |t| t.id);
    let grant = placer
        .admit(&Route::single(trunk), OnCapacity::Reject)
        .map_err(|r| format!("no capacity on the trunk: {}", r.reason()))?;
    let to = CallId::new();
    let placed = placer.spawn(
        to,
        PlaceRequest {
            user,
            host: Some(host),
            to_text: uri.to_string(),
            route: Route::single(trunk),
            from_user: None,
            from_display: None,
            flow: plan.flow.clone(),
            vars: plan.vars.clone(),
            no_answer_timeout: plan.no_answer_timeout,
            max_duration: placer.cfg.calls.max_duration,
            on_capacity: OnCapacity::Reject,
            origin: plan.origin.clone(),
            park_on: plan.park_on.clone(),
            identity: None,
        },
        grant,
    );
    Ok((to, placed.view))
}

async fn to_uri(placer: &Placer, hold: Arc<Flow>, req: &TransferRequest, uri: &str) -> Result<(), String> {
    let (to, mut view) = place_leg(placer, &LegPlan::hold(req, hold), uri)?;
    info!(call = %req.from, target = %to, "transfer: calling");
    let state = view
        .wait_for(|v| matches!(v.state, CallState::Answered | CallState::Ended))
        .await
        .map(|v| v.state)
        .unwrap_or(CallState::Ended);
    if state != CallState::Answered {
        let v = view.borrow().clone();
        return Err(format!("the target did not answer ({})", v.disposition.map(|d| d.as_str()).unwrap_or("failed")));
    }
    bridge(placer, req.from, to).await
}

/// Joins the asking call and its answered target; hangs the target up
/// when that fails.
pub async fn bridge(placer: &Placer, from: CallId, to: CallId) -> Result<(), String> {
    let registry = &placer.deps.registry;
    let (end_from, end_to) = super::bridge::pair(from, to);
    let (Ok(a), Ok(b)) = (registry.bridge(&from, end_from), registry.bridge(&to, end_to)) else {
        let _ = registry.hangup(&to);
        return Err("a call ended before the bridge".into());
    };
    match (a.await, b.await) {
        (Ok(Ok(())), Ok(Ok(()))) => Ok(()),
        _ => {
            let _ = registry.hangup(&to);
            Err("the bridge could not be set up".into())
        }
    }
}
