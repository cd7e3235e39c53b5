//! A call actor's INVITE: building and sending it through the call's
//! trunk, moving to the next address or trunk when the machine fails
//! over (`call::failover`), and answering an inbound INVITE.

use super::{Actor, now};
use crate::call::machine::Event;
use crate::media::sdp;
use crate::metrics as m;
use crate::pii::Redacted;
use crate::sip::{Credentials, InviteRequest, LegCommand, LegEvent, UacLeg};
use crate::trunk::Admitted;
use tracing::info;

impl Actor {
    /// The trunk failed before answer: drop its leg (a CANCEL if it is
    /// still pending) and dial through the next trunk of the route that
    /// admits the call.
    pub(super) async fn fail_over(&mut self, user: String, sip_status: Option<u16>, reason: String) {
        self.leg = None;
        self.unanswered = None;
        let from = self.trunk.cfg.name.clone();
        if self.addr_idx + 1 < self.trunk.addrs.len() {
            // RFC 3263 §4.3: the trunk's next address (SRV target) first.
            self.addr_idx += 1;
        } else {
            let pos = self.route.trunks.iter().position(|t| *t == self.trunk.id).unwrap_or(0);
            let next = self.route.trunks[pos + 1..].iter().find_map(|id| self.deps.admission.try_admit(*id).ok());
            let Some(admitted) = next else {
                info!(call = %self.id, trunk = %from, "no other trunk or address takes the call");
                self.machine.failover_exhausted();
                return;
            };
            self.switch_trunk(admitted);
        }
        self.machine.set_alternates(self.alternates());
        m::trunk_failover(&from);
        let target = self.target().to_string();
        info!(call = %self.id, from = %from, to = %self.trunk.cfg.name, %target, ?sip_status, reason, "failing over");
        let to_trunk = self.trunk.cfg.name.clone();
        self.record(Event::Failover { from_trunk: from, to_trunk, target, sip_status, reason });
        // A new Call-ID: a new INVITE to a different peer (RFC 3261 §8.1.1.4).
        self.call_id = format!("{}@dialerd", uuid::Uuid::new_v4().simple());
        self.dial(user).await;
        self.machine.failed_over(now());
    }

    /// Where this call's INVITEs go now: the trunk's address in turn.
    fn target(&self) -> std::net::SocketAddr {
        self.trunk.addrs.get(self.addr_idx).copied().unwrap_or(self.trunk.target)
    }

    /// What failover may still try: this trunk's later addresses, then
    /// every address of the route's later trunks.
    pub(super) fn alternates(&self) -> usize {
        let pos = self.route.trunks.iter().position(|t| *t == self.trunk.id).unwrap_or(0);
        let later: usize =
            self.route.trunks[pos + 1..].iter().map(|id| self.deps.admission.trunk(*id).addrs.len().max(1)).sum();
        self.trunk.addrs.len().saturating_sub(self.addr_idx + 1) + later
    }

    /// The call now runs on `admitted`'s trunk (capacity of the previous
    /// one is given back).
    pub(super) fn switch_trunk(&mut self, admitted: Admitted) {
        self.trunk = admitted.trunk.clone();
        self.addr_idx = 0;
        if self.host_is_trunk {
            self.host = self.trunk.uri_host();
        }
        self.admitted = Some(admitted);
    }

    pub(super) async fn dial(&mut self, user: String) {
        if self.invite.is_none() {
            self.invite = Some(self.deps.admission.invite().await);
        }
        let port = self.rtp.as_ref().and_then(|s| s.local_addr().ok()).map_or(0, |a| a.port());
        let cfg = &self.trunk.cfg;
        let offer =
            sdp::offer(cfg.advertised_address.unwrap_or(self.deps.rtp.ip()), port, rand::random::<u32>() as u64, 1);
        let credentials = match (&cfg.username, &cfg.password) {
            (Some(u), Some(p)) => {
                Some(Credentials { username: u.clone(), password: p.clone(), realm: cfg.realm.clone() })
            }
            _ => None,
        };
        let req = InviteRequest {
            call: self.id,
            call_id: self.call_id.clone(),
            target: self.target(),
            transport: cfg.transport,
            tls_name: cfg.host.parse::<std::net::IpAddr>().is_err().then(|| cfg.host.clone()),
            advertised: cfg.advertised_address,
            user,
            host: self.host.clone(),
            from_user: self.from_user.clone(),
            from_display: self.from_display.clone(),
            sdp_offer: offer.into_bytes(),
            credentials,
            identity_headers: identity_headers(cfg, self.identity.as_deref()),
            supports_100rel: self.supports_100rel,
            session_timer: self.deps.session_timer,
        };
        if !self.started {
            self.started = true;
            m::call_started(&cfg.name);
        }
        info!(call = %self.id, to = %Redacted(&req.user), trunk = %cfg.name, "dialling");
        self.invite_sent_at = Some(now());
        self.unanswered = Some(self.deps.admission.invite_sent());
        // A redirect replaces the previous leg, which has already ended.
        self.leg = Some(self.deps.legs.start(req));
    }

    /// RFC 3264 §6: answer the trunk's offer at once with the codec we
    /// negotiate from it; an offer we cannot use is refused with 488
    /// (RFC 3261 §13.3.1.3), an offerless INVITE too (we do not offer in
    /// the 2xx).
    pub(super) fn answer_inbound(&mut self, leg: UacLeg, offer: Option<Vec<u8>>) {
        self.machine.start_inbound();
        self.leg = Some(leg);
        m::call_started(&self.trunk.cfg.name);
        self.started = true;
        let negotiated = match offer.as_deref() {
            None => Err("the INVITE carried no SDP offer".to_string()),
            Some(o) => sdp::negotiate(o).map_err(|e| e.to_string()),
        };
        match negotiated {
            Ok(n) => {
                let port = self.rtp.as_ref().and_then(|s| s.local_addr().ok()).map_or(0, |a| a.port());
                let ip = self.trunk.cfg.advertised_address.unwrap_or(self.deps.rtp.ip());
                let answer = sdp::answer(ip, port, rand::random::<u32>() as u64, &n);
                self.command(LegCommand::Answer { sdp: answer.into_bytes() });
                self.machine.handle_leg(now(), LegEvent::Answered { sdp: offer });
            }
            Err(reason) => {
                info!(call = %self.id, reason, "inbound call refused: no usable SDP offer");
                self.command(LegCommand::Reject { status: 488, reason: None });
                let ev =
                    LegEvent::Rejected { status: 488, reason, retry_after: None, redirect_user: None, cause: None };
                self.machine.handle_leg(now(), ev);
            }
        }
    }
}

/// The trunk's identity headers, with the call's `Identity` (RFC 8224)
/// in place of the trunk's when it has one.
fn identity_headers(cfg: &crate::config::TrunkConfig, call: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = cfg.identity_headers();
    if let Some(v) = call {
        h.retain(|(n, _)| *n != "Identity");
        h.push(("Identity", v.to_string()));
    }
    h
}
