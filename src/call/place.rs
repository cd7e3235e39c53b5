//! Placing a call: admission, the view, the registry entry and the actor.
//! `POST /v1/calls` and campaign actors both come through here, so a call
//! is the same whoever asked for it.

use super::actor::{self, CallDeps, CallSpec, Origin};
use super::machine::Plan;
use super::view::{CallState, CallView};
use crate::config::{Config, OnCapacity};
use crate::dialplan::Flow;
use crate::ids::CallId;
use crate::metrics as m;
use crate::trunk::{Admission, Admitted, InvitePermit, Refusal, Route};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;

/// Where a call goes and what it runs.
pub struct PlaceRequest {
    /// The Request-URI user (a number, or the user of a `sip:` URI).
    pub user: String,
    /// The Request-URI host; the trunk's own by default.
    pub host: Option<String>,
    /// As the requester wrote it (shown in the view).
    pub to_text: String,
    /// A trunk, or a group's trunks in failover order.
    pub route: Route,
    pub from_user: Option<String>,
    pub from_display: Option<String>,
    pub flow: Arc<Flow>,
    pub vars: BTreeMap<String, String>,
    pub no_answer_timeout: Duration,
    pub max_duration: Duration,
    /// Queue when at capacity (API `on_capacity = "queue"`) or refuse.
    pub on_capacity: OnCapacity,
    /// Client, campaign and record the call's events carry.
    pub origin: Origin,
    /// See [`Plan::park_on`].
    pub park_on: Option<String>,
    /// An RFC 8224 `Identity` value for this call (STIR/SHAKEN), sent
    /// untouched instead of the trunk's.
    pub identity: Option<String>,
}

/// Capacity for one call, held until the call's actor takes it.
pub struct Grant((Admitted, InvitePermit));

impl Grant {
    /// The trunk that admitted the call.
    pub fn trunk_name(&self) -> String {
        self.0.0.trunk.cfg.name.clone()
    }
}

pub struct Placed {
    pub id: CallId,
    pub state: CallState,
    pub view: watch::Receiver<CallView>,
}

/// What placing needs from the daemon.
#[derive(Clone)]
pub struct Placer {
    pub cfg: Arc<Config>,
    /// The configuration a SIGHUP last loaded (agents, webhooks).
    pub live: Arc<crate::reload::LiveConfig>,
    pub deps: Arc<CallDeps>,
    pub admission: Arc<Admission>,
    pub tasks: TaskTracker,
}

impl Placer {
    /// Takes capacity (or queues), then spawns the call's actor. Returns
    /// before the INVITE leaves.
    pub fn place(&self, req: PlaceRequest) -> Result<Placed, Refusal> {
        let grant = self.admit(&req.route, req.on_capacity)?;
        Ok(self.spawn(CallId::new(), req, grant))
    }

    /// Capacity for one call on the first trunk of `route` that has some
    /// (`None` in queue mode: the actor waits for it). Dropping the grant
    /// gives it back. All refusing: the first trunk's reason.
    pub fn admit(&self, route: &Route, on_capacity: OnCapacity) -> Result<Option<Grant>, Refusal> {
        if on_capacity == OnCapacity::Queue {
            return Ok(None);
        }
        let grant = self.admission.try_invite().and_then(|p| {
            let mut first = None;
            for id in &route.trunks {
                match self.admission.try_admit(*id) {
                    Ok(a) => return Ok((a, p)),
                    Err(r) => first = first.or(Some(r)),
                }
            }
            Err(first.unwrap_or(Refusal::TrunkRemoved))
        });
        match grant {
            Ok(g) => Ok(Some(Grant(g))),
            Err(refusal) => {
                m::call_refused(refusal.reason());
                Err(refusal)
            }
        }
    }

    /// Spawns the call's actor with capacity taken by [`Placer::admit`].
    pub fn spawn(&self, id: CallId, req: PlaceRequest, grant: Option<Grant>) -> Placed {
        self.spawn_with(id, req, grant, None)
    }

    /// An inbound call from `req.trunk`: the actor answers `leg` and runs
    /// the flow; `caller` is shown as the view's `from`.
    pub fn spawn_inbound(&self, id: CallId, req: PlaceRequest, inbound: actor::InboundLeg, caller: String) -> Placed {
        self.spawn_with(id, req, None, Some((inbound, caller)))
    }

    fn spawn_with(
        &self,
        id: CallId,
        req: PlaceRequest,
        grant: Option<Grant>,
        inbound: Option<(actor::InboundLeg, String)>,
    ) -> Placed {
        let admitted = grant.map(|g| g.0);
        let trunk = match &admitted {
            Some((a, _)) => a.trunk.clone(),
            None => self.admission.trunk(req.route.trunks[0]),
        };
        let pos = req.route.trunks.iter().position(|t| *t == trunk.id).unwrap_or(0);
        // This trunk's other addresses, then every address of later trunks.
        let later: usize =
            req.route.trunks[pos + 1..].iter().map(|id| self.admission.trunk(*id).addrs.len().max(1)).sum();
        let failover = super::plan::Failover {
            alternates: trunk.addrs.len().saturating_sub(1) + later,
            provisional_timeout: req.route.provisional_timeout,
        };
        let calls = &self.cfg.calls;
        let plan = Plan {
            user: req.user,
            flow: req.flow,
            vars: req.vars,
            no_answer_timeout: req.no_answer_timeout,
            // The trunk's cap is a safety net: it wins over a longer request.
            max_duration: trunk.cfg.max_duration.map_or(req.max_duration, |m| m.min(req.max_duration)),
            max_redirects: calls.max_redirects,
            give_up_after: self.cfg.sip.t1 * 64 + Duration::from_secs(1),
            park_on: req.park_on,
            rtp_timeout: trunk.cfg.rtp_timeout.unwrap_or(calls.rtp_timeout),
            failover,
        };
        let mut view = CallView::new(id, req.to_text, trunk.cfg.name.clone());
        let inbound = inbound.map(|(leg, caller)| {
            view.direction = super::view::CallDirection::Inbound;
            view.from = Some(caller);
            leg
        });
        let (view_tx, view_rx) = watch::channel(view);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        self.deps.registry.insert(id, req.origin.client.clone(), view_rx.clone(), cmd_tx);
        let spec = CallSpec {
            id,
            host_is_trunk: req.host.is_none(),
            host: req.host.unwrap_or_else(|| trunk.uri_host()),
            route: req.route,
            identity: req.identity,
            from_user: req.from_user.or_else(|| trunk.cfg.caller_id.clone()).unwrap_or_else(|| "dialerd".into()),
            from_display: req.from_display.or_else(|| trunk.cfg.caller_name.clone()),
            trunk,
            plan,
            admitted,
            origin: req.origin,
            inbound,
            supports_100rel: self.cfg.sip.supports_100rel,
        };
        let state = match (&spec.inbound, &spec.admitted) {
            (Some(_), _) => CallState::Ringing,
            (None, Some(_)) => CallState::Dialing,
            (None, None) => CallState::Queued,
        };
        self.tasks.spawn(actor::run(spec, self.deps.clone(), view_tx, cmd_rx));
        Placed { id, state, view: view_rx }
    }
}
