//! Inbound calls from trunks (issue 7): the SIP layer hands each INVITE
//! from a trunk source here (`sip::InboundHandler`); the `[[inbound]]`
//! table picks a dialplan or an agent group by the dialled number (DID)
//! and trunk; the call is admitted against its trunk's capacity and run by
//! a call actor that answers it. An agent group is reached through the
//! dialplan `transfer` node (`transfer/group.rs`): the call is answered,
//! the group rung (a `Ringing` screen pop per ringing extension, with the
//! caller's number and the DID), and whoever answers is bridged.
//!
//! Refusals (RFC 3261 §21.4): no route 404, no capacity 503 with
//! Retry-After, a route to a dialplan that no longer exists 500.

use super::actor::{InboundLeg, Origin};
use super::log::CallLog;
use super::place::{PlaceRequest, Placer};
use crate::config::{InboundConfig, InboundTarget, OnCapacity};
use crate::dialplan::{DialplanStore, Flow};
use crate::ids::{CallId, ClientId};
use crate::metrics as m;
use crate::pii::Redacted;
use crate::sip::digest::Algorithm;
use crate::sip::{InboundAuth, InboundHandler, InboundInvite, LegCommand, UacLeg};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::info;

pub struct InboundRouter {
    placer: Placer,
    routes: Vec<InboundConfig>,
    dialplans: Arc<DialplanStore>,
    call_log: CallLog,
}

/// The flow of a call routed to a group: ring it, bridge who answers;
/// nobody answering ends the call with outcome `no_agent`.
pub fn group_flow(group: &str) -> Result<Flow, String> {
    let text = format!(
        "description = \"Inbound call for agent group {group}\"\nstart = \"ring\"\n[nodes.ring]\nkind = \"transfer\"\n\
         to = \"group:{group}\"\non_fail = \"nobody\"\n[nodes.nobody]\nkind = \"outcome\"\noutcome = \"no_agent\"\n"
    );
    let no_prompts = |p: &str| Err(format!("no prompt {p}"));
    crate::dialplan::parse::parse(&format!("inbound-{group}.toml"), &text, &no_prompts).map_err(|e| format!("{e:?}"))
}

fn reject(leg: &UacLeg, status: u16, why: &'static str) {
    m::sip_rejected(why);
    leg.command(LegCommand::Reject { status, reason: None });
}

impl InboundRouter {
    pub fn new(placer: Placer, dialplans: Arc<DialplanStore>, call_log: CallLog) -> InboundRouter {
        let routes = placer.cfg.inbound.clone();
        InboundRouter { placer, routes, dialplans, call_log }
    }

    fn flow_of(&self, route: &InboundConfig) -> Option<Arc<Flow>> {
        match &route.target {
            InboundTarget::Dialplan(d) => self.dialplans.get(d),
            InboundTarget::Group(g) => group_flow(g).ok().map(Arc::new),
        }
    }
}

impl InboundHandler for InboundRouter {
    fn credentials(&self, source: std::net::SocketAddr) -> Option<InboundAuth> {
        let admission = &self.placer.admission;
        let cfg = &admission.trunk(admission.trunk_for_source(source)?).cfg;
        Some(InboundAuth {
            username: cfg.inbound_username.clone()?,
            password: cfg.inbound_password.clone()?,
            algorithms: cfg.inbound_algorithms.iter().filter_map(|a| Algorithm::parse(a)).collect(),
        })
    }

    fn incoming(&self, inv: InboundInvite, leg: UacLeg) {
        let admission = &self.placer.admission;
        let Some(trunk) = admission.trunk_for_source(inv.source) else {
            return reject(&leg, 403, "not_a_trunk");
        };
        let trunk_name = admission.trunk(trunk).cfg.name.clone();
        let Some(route) = self.routes.iter().find(|r| r.matches(&inv.did, &trunk_name)) else {
            info!(did = %Redacted(&inv.did), trunk = %trunk_name, "inbound call for a number with no route");
            return reject(&leg, 404, "no_inbound_route");
        };
        let Some(flow) = self.flow_of(route) else {
            return reject(&leg, 500, "inbound_route_broken");
        };
        let admitted = match admission.try_admit(trunk) {
            Ok(a) => a,
            Err(refusal) => {
                m::call_refused(refusal.reason());
                return reject(&leg, 503, "no_capacity");
            }
        };
        let mut vars = BTreeMap::new();
        vars.insert("caller".to_string(), inv.caller.clone());
        vars.insert("did".to_string(), inv.did.clone());
        let client = ClientId(route.client.clone());
        let req = PlaceRequest {
            user: inv.did.clone(),
            host: None,
            to_text: inv.did.clone(),
            route: crate::trunk::Route::single(trunk),
            from_user: None,
            from_display: None,
            flow,
            vars,
            no_answer_timeout: self.placer.cfg.calls.no_answer_timeout,
            max_duration: self.placer.cfg.calls.max_duration,
            on_capacity: OnCapacity::Reject,
            origin: Origin { client: Some(client.clone()), ..Default::default() },
            park_on: None,
            identity: None,
        };
        let id = CallId::new();
        info!(call = %id, from = %Redacted(&inv.caller), did = %Redacted(&inv.did), trunk = %trunk_name, "inbound call");
        let inbound = InboundLeg { leg, offer: inv.sdp_offer, admitted };
        let placed = self.placer.spawn_inbound(id, req, inbound, inv.caller);
        self.call_log.watch(client, placed.view);
    }
}

#[cfg(test)]
mod tests {
    use crate::dialplan::{NodeKind, TransferTarget};

    #[test]
    fn a_group_route_is_a_flow_that_transfers_to_the_group() {
        let f = super::group_flow("sales").unwrap();
        match &f.node(f.start).kind {
            NodeKind::Transfer { to: TransferTarget::Group(g), on_fail } => {
                assert_eq!(g, "sales");
                assert!(matches!(&f.node(*on_fail).kind, NodeKind::Outcome { outcome } if outcome == "no_agent"));
            }
            other => panic!("{other:?}"),
        }
        assert!(super::group_flow("bad\"name").is_err(), "a name that breaks the flow's TOML is refused");
    }
}
