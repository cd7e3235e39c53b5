//! The call actor: one task per call, owning its state machine, its leg
//! (the SIP dialog handle), its RTP socket and media session, and the view
//! the API reads. Everything else talks to it through its command channel.

mod bridged;
mod dial;

use super::bridge::Bridge;
use super::machine::{Action, CallMachine, Event, Plan};
use super::outcome::Outcome;
use super::registry::{CallCommand, CallRegistry};
use super::rtp::RtpPorts;
use super::view::CallView;
use crate::config::IdleMedia;
use crate::events::{EventBus, EventOut};
use crate::ids::{CallId, CampaignId, ClientId, RecordId};
use crate::media::{MediaSession, StreamSeed, sdp};
use crate::metrics as m;
use crate::sip::{LegCommand, LegEvent, LegFactory, UacLeg};
use crate::trunk::{Admission, Admitted, InvitePermit, Trunk, Unanswered};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

/// What every call shares.
pub struct CallDeps {
    pub legs: Arc<dyn LegFactory>,
    /// For dialplan `webhook` nodes.
    pub http: reqwest::Client,
    pub admission: Arc<Admission>,
    pub registry: Arc<CallRegistry>,
    pub rtp: RtpPorts,
    pub idle: IdleMedia,
    /// `[media] symmetric_rtp`: latch onto where the far end's RTP comes from.
    pub symmetric_rtp: bool,
    /// `[sip] session_expires_s`/`min_se_s`: what our INVITEs ask for.
    pub session_timer: Option<crate::sip::session_refresh::Ask>,
    pub queue_timeout: Duration,
    pub shutdown: CancellationToken,
    /// Every call event is published here (`call.*`, docs/events.md).
    pub events: EventBus,
    /// Dialplan `transfer` nodes ask here (`call::transfer`).
    pub transfers: Option<mpsc::Sender<super::transfer::TransferRequest>>,
    /// How long a transfer target rings (`[calls] no_answer_timeout_s`).
    pub transfer_no_answer: Duration,
}

/// Who a call is for: its events carry these ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub client: Option<ClientId>,
    pub campaign: Option<CampaignId>,
    pub record: Option<RecordId>,
}

/// One call as the API built it.
pub struct CallSpec {
    pub id: CallId,
    pub trunk: Arc<Trunk>,
    /// The trunks the call may use, in failover order (`trunk` among them).
    pub route: crate::trunk::Route,
    /// The Request-URI host is the trunk's (follows a failover).
    pub host_is_trunk: bool,
    /// The call's own `Identity` header value (replaces the trunk's).
    pub identity: Option<String>,
    pub plan: Plan,
    /// Request-URI host for the first INVITE (redirects keep it).
    pub host: String,
    pub from_user: String,
    pub from_display: Option<String>,
    /// Capacity already granted (reject mode); `None` waits in the queue.
    pub admitted: Option<(Admitted, InvitePermit)>,
    pub origin: Origin,
    /// An INVITE from a trunk this call answers, instead of dialling.
    pub inbound: Option<InboundLeg>,
    /// `[sip] supports_100rel`: our INVITEs say `Supported: 100rel`.
    pub supports_100rel: bool,
}

/// The far end's INVITE: its leg, its SDP offer, the capacity it took.
pub struct InboundLeg {
    pub leg: UacLeg,
    pub offer: Option<Vec<u8>>,
    pub admitted: Admitted,
}

struct Actor {
    id: CallId,
    deps: Arc<CallDeps>,
    trunk: Arc<Trunk>,
    route: crate::trunk::Route,
    /// Which of the trunk's addresses the INVITE goes to (failover).
    addr_idx: usize,
    host_is_trunk: bool,
    identity: Option<String>,
    host: String,
    from_user: String,
    from_display: Option<String>,
    machine: CallMachine,
    view: watch::Sender<CallView>,
    leg: Option<UacLeg>,
    rtp: Option<UdpSocket>,
    media: Option<MediaSession>,
    invite: Option<InvitePermit>,
    admitted: Option<Admitted>,
    invite_sent_at: Option<Instant>,
    unanswered: Option<Unanswered>,
    started: bool,
    call_id: String,
    /// The reply of the webhook the flow waits for.
    webhook: Option<oneshot::Receiver<Result<serde_json::Value, String>>>,
    outcome: Option<Outcome>,
    origin: Origin,
    /// Sequence number of the call's last published event.
    seq: std::cell::Cell<u64>,
    /// What the answer settled (a bridge's relay needs it).
    negotiated: Option<sdp::Negotiated>,
    bridge: Option<Bridge>,
    supports_100rel: bool,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Runs the call to its end. Spawned on the daemon's task tracker.
pub async fn run(
    spec: CallSpec,
    deps: Arc<CallDeps>,
    view: watch::Sender<CallView>,
    mut commands: mpsc::Receiver<CallCommand>,
) {
    let (mut admitted, invite) = match spec.admitted {
        Some((a, p)) => (Some(a), Some(p)),
        None => (None, None),
    };
    let inbound = spec.inbound.map(|i| {
        admitted = Some(i.admitted);
        (i.leg, i.offer)
    });
    let mut a = Actor {
        id: spec.id,
        trunk: spec.trunk,
        route: spec.route,
        addr_idx: 0,
        host_is_trunk: spec.host_is_trunk,
        identity: spec.identity,
        host: spec.host,
        from_user: spec.from_user,
        from_display: spec.from_display,
        machine: CallMachine::new(spec.plan),
        deps,
        view,
        leg: None,
        rtp: None,
        media: None,
        invite,
        admitted,
        invite_sent_at: None,
        unanswered: None,
        started: false,
        call_id: format!("{}@dialerd", uuid::Uuid::new_v4().simple()),
        webhook: None,
        outcome: None,
        origin: spec.origin,
        seq: std::cell::Cell::new(0),
        negotiated: None,
        bridge: None,
        supports_100rel: spec.supports_100rel,
    };
    m::call_created();
    if a.admitted.is_none() && !a.wait_for_capacity(&mut commands).await {
        a.apply_actions().await;
        return a.finish();
    }
    match a.deps.rtp.bind().await {
        Ok(s) => a.rtp = Some(s),
        Err(e) => {
            a.machine.fail(format!("no RTP port available: {e}"));
            a.apply_actions().await;
            return a.finish();
        }
    }
    match inbound {
        Some((leg, offer)) => a.answer_inbound(leg, offer),
        None => a.machine.start(now()),
    }
    a.run_loop(&mut commands).await;
    a.finish();
}

impl Actor {
    /// Queue mode: retry admission until it succeeds, the queue timeout
    /// passes, or the call is hung up. Returns whether the call may dial.
    async fn wait_for_capacity(&mut self, commands: &mut mpsc::Receiver<CallCommand>) -> bool {
        self.machine.queued();
        self.apply_actions().await;
        let deadline = tokio::time::Instant::now() + self.deps.queue_timeout;
        loop {
            // A group: the first of its trunks, in order, with room.
            let mut wait = Duration::from_secs(1);
            for id in self.route.trunks.clone() {
                match self.deps.admission.try_admit(id) {
                    Ok(a) => {
                        self.switch_trunk(a);
                        self.machine.set_alternates(self.alternates());
                        return true;
                    }
                    Err(refusal) => wait = wait.min(refusal.retry_after()),
                }
            }
            let wait = wait.clamp(Duration::from_millis(20), Duration::from_secs(1));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    self.machine.queue_timeout();
                    return false;
                }
                Some(CallCommand::Hangup) = commands.recv() => {
                    self.machine.hangup(now());
                    return false;
                }
                _ = self.deps.shutdown.cancelled() => {
                    self.machine.shutdown(now());
                    return false;
                }
            }
        }
    }

    async fn run_loop(&mut self, commands: &mut mpsc::Receiver<CallCommand>) {
        let mut buf = vec![0u8; 2048];
        let mut shutdown_seen = false;
        loop {
            self.apply_actions().await;
            if self.outcome.is_some() {
                return;
            }
            let deadline = [self.machine.poll_timeout(), self.media.as_ref().and_then(|m| m.poll_timeout())]
                .into_iter()
                .flatten()
                .min()
                .map(tokio::time::Instant::from_std);
            let media_on = self.media.is_some() || self.bridged();
            tokio::select! {
                ev = recv_leg(&mut self.leg) => {
                    // A leg that went away without a word has ended; stop
                    // polling its closed channel.
                    let ev = ev.unwrap_or_else(|| {
                        self.leg = None;
                        LegEvent::Ended
                    });
                    self.on_leg_event(&ev);
                    self.machine.handle_leg(now(), ev);
                }
                r = recv_rtp(&self.rtp, &mut buf), if media_on => {
                    if let Ok((n, from)) = r {
                        self.machine.rtp_received(now());
                        match self.media.as_mut() {
                            Some(media) => {
                                if self.deps.symmetric_rtp && media.latch(from, &buf[..n]) {
                                    debug!(call = %self.id, %from, "RTP latched to where the far end sends from");
                                }
                                media.handle_rtp(now(), &buf[..n])
                            }
                            None => self.forward_rtp(&buf[..n]),
                        }
                    }
                }
                msg = bridged::recv_bridge(&mut self.bridge) => self.on_bridge_msg(msg).await,
                Some(cmd) = commands.recv() => match cmd {
                    CallCommand::Hangup => self.machine.hangup(now()),
                    CallCommand::Bridge(end, reply) => {
                        let _ = reply.send(self.accept_bridge(end));
                    }
                    CallCommand::TransferFailed(why) => self.machine.transfer_failed(now(), why),
                },
                _ = self.deps.shutdown.cancelled(), if !shutdown_seen => {
                    shutdown_seen = true;
                    self.machine.shutdown(now());
                }
                Some(reply) = recv_webhook(&mut self.webhook) => {
                self.webhook = None;
                self.machine.handle_webhook(now(), reply);
            }
                _ = sleep_until(deadline) => {}
            }
            let t = now();
            self.machine.handle_timeout(t);
            if let Some(media) = self.media.as_mut() {
                media.handle_timeout(t);
                while let Some(ev) = media.poll_event() {
                    self.machine.handle_media(t, ev);
                }
            }
            self.flush_rtp().await;
        }
    }

    /// Set-up timing and INVITE permits follow the wire, not the machine.
    fn on_leg_event(&mut self, ev: &LegEvent) {
        // One source of digits per call (docs/architecture.md).
        if let (LegEvent::Dtmf { .. }, Some(media)) = (ev, self.media.as_mut()) {
            media.digits_by_signalling();
        }
        self.unanswered = None; // any response counts
        let first_answer = matches!(ev, LegEvent::Progress { .. } | LegEvent::Answered { .. });
        if first_answer && let Some(sent) = self.invite_sent_at.take() {
            m::call_setup(now().saturating_duration_since(sent));
        }
        if !matches!(ev, LegEvent::Progress { .. } | LegEvent::Trying) {
            self.invite = None; // the INVITE has its final response
        }
    }

    async fn flush_rtp(&mut self) {
        let (Some(media), Some(sock)) = (self.media.as_mut(), self.rtp.as_ref()) else { return };
        while let Some(t) = media.poll_transmit() {
            // UDP: a failed send is a lost packet, as on the wire.
            let _ = sock.send_to(&t.packet, t.dest).await;
        }
    }

    async fn apply_actions(&mut self) {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Dial { user } => self.dial(user).await,
                Action::Cancel => self.command(LegCommand::Cancel { reason: self.machine.cancel_reason() }),
                Action::RefreshSession { interval } => self.command(LegCommand::Refresh { interval }),
                Action::Failover { user, sip_status, reason } => self.fail_over(user, sip_status, reason).await,
                Action::Bye { reason } => self.command(LegCommand::Bye { reason }),
                Action::StartMedia(n) => {
                    self.media = Some(MediaSession::new(&n, self.deps.idle, seed(), now()));
                    self.negotiated = Some(n);
                }
                Action::UpdateMedia(n) => {
                    if let Some(media) = self.media.as_mut() {
                        media.update(&n);
                    }
                    self.negotiated = Some(n);
                }
                Action::ListenEarly(n) => {
                    if self.media.is_none() {
                        self.media = Some(MediaSession::listen_only(&n, seed(), now()));
                    }
                }
                Action::Play(p) => {
                    if let Some(media) = self.media.as_mut() {
                        media.play(p, now());
                    }
                }
                Action::StopPlayback => {
                    if let Some(media) = self.media.as_mut() {
                        media.stop_playback();
                    }
                }
                Action::StartAmd(cfg) => {
                    if let Some(media) = self.media.as_mut() {
                        media.start_amd(cfg);
                    }
                }
                Action::WatchSilence(d) => {
                    if let Some(media) = self.media.as_mut() {
                        media.watch_silence(d, now());
                    }
                }
                Action::Webhook { url, body, timeout } => self.start_webhook(url, body, timeout),
                Action::FlowChanged => {
                    let flow = self.machine.flow_view();
                    self.view.send_modify(|v| v.flow = flow);
                }
                Action::StopMedia => {
                    if let Some(media) = self.media.as_mut() {
                        media.stop();
                    }
                }
                Action::PauseTrunk(d) => {
                    info!(trunk = %self.trunk.cfg.name, seconds = d.as_secs(), "trunk paused by 503 Retry-After");
                    self.trunk.pause(d);
                }
                Action::Transfer(t) => self.transfer(t),
                Action::Event(e) => self.record(e),
                Action::Finished(o) => self.outcome = Some(o),
            }
        }
        self.flush_rtp().await;
    }

    /// A `transfer` node: the transfer service places and bridges the
    /// target, or tells us it failed.
    fn transfer(&mut self, target: crate::dialplan::TransferTarget) {
        let req = super::transfer::TransferRequest {
            from: self.id,
            origin: self.origin.clone(),
            trunk: self.trunk.id,
            target,
            no_answer_timeout: self.deps.transfer_no_answer,
        };
        let sent = self.deps.transfers.as_ref().is_some_and(|t| t.try_send(req).is_ok());
        if !sent {
            self.machine.transfer_failed(now(), "transfers are not available (queue full)".into());
        }
    }

    /// POSTs the flow's body, with the call's id and number, off the actor's
    /// task; the reply comes back through `self.webhook`.
    fn start_webhook(&mut self, url: String, mut body: serde_json::Value, timeout: Duration) {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("call_id".into(), self.id.to_string().into());
            obj.insert("to".into(), self.view.borrow().to.clone().into());
        }
        let (tx, rx) = oneshot::channel();
        self.webhook = Some(rx);
        let http = self.deps.http.clone();
        tokio::spawn(async move {
            let reply = async {
                let resp = http.post(&url).timeout(timeout).json(&body).send().await.map_err(|e| e.to_string())?;
                if !resp.status().is_success() {
                    return Err(format!("HTTP {}", resp.status()));
                }
                resp.json::<serde_json::Value>().await.map_err(|e| format!("the reply is not JSON: {e}"))
            };
            let _ = tx.send(reply.await);
        });
    }

    fn command(&self, c: LegCommand) {
        if let Some(leg) = &self.leg {
            leg.command(c);
        }
    }

    fn record(&self, e: Event) {
        let at = jiff::Timestamp::now();
        if let Some((kind, data)) = event_out(&e) {
            self.publish(kind, data);
        }
        self.view.send_modify(|v| v.record(at, e));
    }

    fn publish(&self, kind: &'static str, mut data: serde_json::Value) {
        if kind == "call.dialing"
            && let Some(o) = data.as_object_mut()
        {
            let v = self.view.borrow();
            o.insert("to".into(), v.to.clone().into());
            o.insert("trunk".into(), v.trunk.clone().into());
        }
        self.seq.set(self.seq.get() + 1);
        let mut out = EventOut::new(kind, self.seq.get(), data);
        out.call_id = Some(self.id);
        out.client = self.origin.client.clone();
        out.campaign_id = self.origin.campaign;
        out.record_id = self.origin.record;
        self.deps.events.publish(out);
    }

    fn finish(mut self) {
        // The bridge's last figures stay readable on the ended call.
        self.show_bridge();
        let o = self.outcome.take().unwrap_or_else(|| Outcome {
            disposition: super::outcome::Disposition::Failed,
            cause: super::outcome::Cause::TransportError,
            by: super::outcome::HangupBy::System,
            sip_status: None,
            reason: Some("the call ended without an outcome".into()),
        });
        if let Some(media) = &self.media {
            let s = media.stats();
            m::rtp_packets(s.rx_packets, s.tx_packets);
        }
        if let Some(q) = &self.view.borrow().q850 {
            m::hangup_cause(q.cause);
        }
        let talked = self.view.borrow().answered_at.map(|a| jiff::Timestamp::now().duration_since(a));
        m::call_ended(&self.trunk.cfg.name, o.disposition.as_str(), talked.and_then(|d| Duration::try_from(d).ok()));
        debug!(call = %self.id, disposition = o.disposition.as_str(), "call ended");
        // The view goes last: whoever sees "ended" also sees the metrics.
        let at = jiff::Timestamp::now();
        self.view.send_modify(|v| v.finish(at, &o));
        // Only the fields the event needs, not a copy of the whole view.
        let data = {
            let v = self.view.borrow();
            serde_json::json!({
                "disposition": o.disposition,
                "cause": o.cause,
                "sip_status": v.sip_status,
                "reason": o.reason,
                "hangup_by": o.by,
                "duration_ms": v.duration_ms,
                "digits": v.digits,
                "outcome": v.flow.as_ref().and_then(|f| f.outcome.clone()),
                "direction": v.direction,
                "from": v.from,
                "q850": v.q850,
            })
        };
        self.publish("call.ended", data);
        self.deps.registry.ended(self.id, now());
        // Dropping the leg closes its command channel; the SIP layer
        // finishes any transaction still open on its own.
    }
}

async fn recv_leg(leg: &mut Option<UacLeg>) -> Option<LegEvent> {
    match leg {
        Some(l) => l.events.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_rtp(sock: &Option<UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, std::net::SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// A call event's type on the bus and its data (the view's event without
/// its `type` tag). The hang-up is published as `call.ended`, with the
/// outcome, when the call has finished.
fn event_out(e: &Event) -> Option<(&'static str, serde_json::Value)> {
    let kind = match e {
        Event::Queued => "call.queued",
        Event::Dialing | Event::Redirected { .. } => "call.dialing",
        Event::Failover { .. } => "call.failover",
        Event::Ringing { .. } => "call.ringing",
        Event::EarlyMedia => "call.early_media",
        Event::Answered { .. } => "call.answered",
        Event::Dtmf { .. } => "call.dtmf",
        Event::Amd { .. } => "call.amd",
        Event::Sit { .. } => "call.sit",
        Event::Held { .. } => "call.held",
        Event::Resumed => "call.resumed",
        Event::Hangup { .. } => return None,
    };
    let mut data = serde_json::to_value(e).ok()?;
    if let Some(o) = data.as_object_mut() {
        o.remove("type");
    }
    Some((kind, data))
}

fn seed() -> StreamSeed {
    StreamSeed { ssrc: rand::random(), seq: rand::random(), timestamp: rand::random() }
}

async fn recv_webhook(
    rx: &mut Option<oneshot::Receiver<Result<serde_json::Value, String>>>,
) -> Option<Result<serde_json::Value, String>> {
    match rx {
        Some(r) => Some(r.await.unwrap_or_else(|_| Err("the webhook task ended".into()))),
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
