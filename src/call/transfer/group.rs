//! `transfer` to `group:<id>`: the call is offered to the group's
//! available agents through `agents::ring` (ring-all, round robin, longest
//! idle, then the fallback), one leg per rung agent; the first to answer is
//! bridged, the other legs are cancelled, and the roster counts offers,
//! answers, misses and talk time.

use super::{TransferRequest, place_held};
use crate::agents::AgentId;
use crate::agents::directory::Directory;
use crate::agents::ring::{Action, Ring};
use crate::call::place::Placer;
use crate::call::view::{CallState, CallView};
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

pub async fn offer(
    placer: &Placer,
    dir: &Arc<Directory>,
    hold: Arc<Flow>,
    req: &TransferRequest,
    group: &str,
) -> Result<(), String> {
    let client = req.origin.client.as_ref().map(|c| c.0.as_str()).unwrap_or(crate::auth::DEFAULT_CLIENT);
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
                        match place_held(placer, hold.clone(), req, &uri) {
                            Ok((call, view)) => {
                                dir.offered(&k);
                                pop(placer, req, &k, call);
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
                    info!(call = %req.from, agent = %k, target = %l.call, "transfer: agent answered");
                    let bridged = super::bridge(placer, req.from, l.call).await;
                    watch_talk(dir, k, l.view, now);
                    return bridged;
                }
                Action::Fallback => return Err(format!("no agent of group {group:?} answered")),
            }
        }
        // The caller hung up while we were ringing.
        if registry.view(&req.from).is_none_or(|v| v.state == CallState::Ended) {
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
    let Some((client, id)) = k.0.split_once('/') else { return };
    let Some(agent) = placer.cfg.agents.iter().find(|a| a.id == id && a.client == client) else { return };
    let Some(endpoint) = agent.pop.clone().filter(|_| agent.pops.incoming) else { return };
    let registry = &placer.deps.registry;
    let phone = registry.view(&req.from).map(|v| v.to).unwrap_or_default();
    let did = placer.admission.trunk(req.trunk).cfg.caller_id.clone().unwrap_or_default();
    let fields = PopFields {
        phone,
        ivrid: req.from.to_string(),
        exten_user: agent.extension.clone(),
        did,
        status: PopStatus::Ringing,
    };
    pops::spawn(&placer.tasks, placer.deps.http.clone(), registry.clone(), leg, endpoint, fields);
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
fn watch_talk(dir: &Arc<Directory>, k: AgentId, mut view: watch::Receiver<CallView>, answered: Instant) {
    let dir = dir.clone();
    tokio::spawn(async move {
        let _ = view.wait_for(|v| v.state == CallState::Ended).await;
        let now = Instant::now();
        dir.call_ended(&k, now.saturating_duration_since(answered), now);
    });
}
