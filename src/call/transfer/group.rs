//! `transfer` to `group:<id>`: the call is offered to the group's
//! available agents through `agents::ring` (ring-all, round robin, longest
//! idle, then the fallback), one leg per rung agent; the first to answer is
//! bridged, the other legs are cancelled, and the roster counts offers,
//! answers, misses and talk time.

use super::{LegPlan, TransferRequest, place_leg};
use crate::agents::AgentId;
use crate::agents::directory::Directory;
use crate::agents::ring::{Action, Ring};
use crate::call::place::Placer;
use crate::call::view::{CallDirection, CallState, CallView};
use crate::dialplan::Flow;
use crate::events::pops;
use crate::events::screenpop::{PopFields, PopStatus};
use crate::ids::CallId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::info;

struct Leg {
    call: CallId,
    view: watch::Receiver<CallView>,
    rang_at: Instant,
}

/// Legs are watched by polling their views at this interval: a handful
/// of legs for a few seconds, not a hot path.
const POLL: Duration = Duration::from_millis(20);

/// The agent who answered an offer, and their leg.
pub struct Answered {
    pub agent: AgentId,
    pub call: CallId,
    pub view: watch::Receiver<CallView>,
    pub at: Instant,
}

/// What an offer needs besides the group: each rung agent's leg, the
/// screen pop per ringing extension, and whether the party waiting for an
/// agent is still there.
pub struct Offer<'a> {
    pub client: &'a str,
    pub group: &'a str,
    pub leg: LegPlan,
    pub pop: &'a (dyn Fn(&AgentId, CallId) + Send + Sync),
    pub gone: &'a (dyn Fn() -> bool + Send + Sync),
}

/// The dialplan `transfer` to a group: ring, bridge the agent who answers
/// to the asking call, count their talk time.
pub async fn offer(
    placer: &Placer,
    dir: &Arc<Directory>,
    hold: Arc<Flow>,
    req: &TransferRequest,
    group: &str,
) -> Result<(), String> {
    let client = req.origin.client.as_ref().map(|c| c.0.as_str()).unwrap_or(crate::auth::DEFAULT_CLIENT);
    let registry = placer.deps.registry.clone();
    let from = req.from;
    let pop_one = |k: &AgentId, leg: CallId| pop(placer, req, k, leg);
    let gone = move || registry.view(&from).is_none_or(|v| v.state == CallState::Ended);
    let offer = Offer { client, group, leg: LegPlan::hold(req, hold), pop: &pop_one, gone: &gone };
    let a = ring(placer, dir, offer).await?;
    info!(call = %req.from, agent = %a.agent, target = %a.call, "transfer: agent answered");
    let bridged = super::bridge(placer, req.from, a.call).await;
    watch_talk(dir, a.agent, a.view, a.at);
    bridged
}

/// Rings the group's agents by its steps until one answers (returned,
/// counted as answered), the steps run out, or the waiting party is gone.
pub async fn ring(placer: &Placer, dir: &Arc<Directory>, o: Offer<'_>) -> Result<Answered, String> {
    let (client, group) = (o.client, o.group);
    let (candidates, steps, cursor) = dir.offer(client, group).ok_or(format!("no agent group {group:?}"))?;
    let registry = placer.deps.registry.clone();
    let mut ring = Ring::new(steps, candidates, cursor, Instant::now());
    let mut legs: HashMap<AgentId, Leg> = HashMap::new();
    loop {
        let now = Instant::now();
        while let Some(action) = ring.poll_action() {
            match action {
                Action::Ring(agents) => {
                    for k in agents {
                        let Some(uri) = dir.agent_of(&k).and_then(|a| a.uri) else {
                            ring.handle_failed(&k, now);
                            continue;
                        };
                        match place_leg(placer, &o.leg, &uri) {
                            Ok((call, view)) => {
                                dir.offered(&k);
                                (o.pop)(&k, call);
                                legs.insert(k, Leg { call, view, rang_at: now });
                            }
                            Err(_) => ring.handle_failed(&k, now),
                        }
                    }
                }
                Action::Cancel(agents) => {
                    for k in agents {
                        if let Some(l) = legs.remove(&k) {
                            let _ = registry.hangup(&l.call);
                            dir.missed(&k);
                        }
                    }
                }
                Action::Connect(k) => {
                    dir.set_cursor(client, group, ring.next_cursor());
                    let l = legs.remove(&k).expect("a connected agent has a leg");
                    dir.answered(&k, now.saturating_duration_since(l.rang_at), now);
                    return Ok(Answered { agent: k, call: l.call, view: l.view, at: now });
                }
                Action::Fallback => return Err(format!("no agent of group {group:?} answered")),
            }
        }
        if (o.gone)() {
            ring.abandon();
            continue_cancel(&mut ring, &mut legs, dir, &registry);
            return Err("the caller hung up".into());
        }
        let now = Instant::now();
        let mut changed: Vec<(AgentId, CallState)> = Vec::new();
        for (k, l) in &legs {
            let s = l.view.borrow().state;
            if matches!(s, CallState::Answered | CallState::Ended) {
                changed.push((k.clone(), s));
            }
        }
        for (k, s) in changed {
            match s {
                CallState::Answered => ring.handle_answered(&k),
                _ => {
                    legs.remove(&k);
                    dir.missed(&k);
                    ring.handle_failed(&k, now);
                }
            }
        }
        ring.handle_timeout(now);
        tokio::time::sleep(POLL).await;
    }
}

/// Seed 004: a `Ringing` screen pop for each ringing extension whose
/// agent has a CRM endpoint and takes incoming pops. `ivrid` is the
/// customer's call (the conversation); the CRM's answer shows on the
/// agent's leg.
fn pop(placer: &Placer, req: &TransferRequest, k: &AgentId, leg: CallId) {
    // Seed 004: `phone` is the customer, `did` the number the call is on:
    // for an inbound call the caller and the number they dialled.
    let view = placer.deps.registry.view(&req.from);
    let (phone, did) = match view {
        Some(v) if v.direction == CallDirection::Inbound => (v.from.unwrap_or_default(), v.to),
        v => (
            v.map(|v| v.to).unwrap_or_default(),
            placer.admission.trunk(req.trunk).cfg.caller_id.clone().unwrap_or_default(),
        ),
    };
    pop_agent(placer, k, leg, phone, req.from.to_string(), did, |f| f.incoming);
}

/// A `Ringing` pop to agent `k`'s CRM, when it has one and `wants` this
/// kind of call (its pop filter).
pub fn pop_agent(
    placer: &Placer,
    k: &AgentId,
    leg: CallId,
    phone: String,
    ivrid: String,
    did: String,
    wants: impl Fn(&crate::config::PopFilter) -> bool,
) {
    let Some((client, id)) = k.0.split_once('/') else { return };
    let cfg = placer.live.get();
    let Some(agent) = cfg.agents.iter().find(|a| a.id == id && a.client == client) else { return };
    let Some(endpoint) = agent.pop.clone().filter(|_| wants(&agent.pops)) else { return };
    let fields = PopFields { phone, ivrid, exten_user: agent.extension.clone(), did, status: PopStatus::Ringing };
    let registry = placer.deps.registry.clone();
    pops::spawn(&placer.tasks, placer.deps.http.clone(), registry, leg, endpoint, fields);
}

fn continue_cancel(
    ring: &mut Ring,
    legs: &mut HashMap<AgentId, Leg>,
    dir: &Directory,
    registry: &crate::call::registry::CallRegistry,
) {
    while let Some(a) = ring.poll_action() {
        if let Action::Cancel(agents) = a {
            for k in agents {
                if let Some(l) = legs.remove(&k) {
                    let _ = registry.hangup(&l.call);
                    dir.missed(&k);
                }
            }
        }
    }
}

/// Counts the agent's talk time when the bridged call ends (the roster
/// also derives "busy" from it until then).
pub fn watch_talk(dir: &Arc<Directory>, k: AgentId, mut view: watch::Receiver<CallView>, answered: Instant) {
    let dir = dir.clone();
    tokio::spawn(async move {
        let _ = view.wait_for(|v| v.state == CallState::Ended).await;
        let now = Instant::now();
        dir.call_ended(&k, now.saturating_duration_since(answered), now);
    });
}
