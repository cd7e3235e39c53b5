//! The call leg as call actors see it: our own types, no rsipstack.
//!
//! A leg is one INVITE dialog: outbound (auth retries included), or
//! inbound from a trunk ([`InboundInvite`], answered with the UAS
//! commands). The actor
//! sends [`LegCommand`]s and receives [`LegEvent`]s over bounded channels;
//! whoever implements [`LegFactory`] (the SIP endpoint, or a scripted peer in
//! actor tests) drives the wire.

use super::reason::Q850;
use crate::ids::CallId;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// Answer only challenges for this realm, when set.
    pub realm: Option<String>,
}

/// Everything needed to send one INVITE.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub call: CallId,
    /// SIP Call-ID, kept across auth retries and redirects of one call
    /// (RFC 3261 §8.1.3.4, §22.2) so the far end sees one conversation.
    pub call_id: String,
    /// Where the request goes: the trunk's address, never a redirect target.
    pub target: SocketAddr,
    /// UDP, TCP or TLS (the trunk's `transport`).
    pub transport: crate::config::SipTransport,
    /// The trunk's host name when it is one: TLS checks the certificate
    /// against it (SNI).
    pub tls_name: Option<String>,
    /// The trunk's own advertised IP for From and Contact (its
    /// `advertised_address`), over `[sip] advertised_address`.
    pub advertised: Option<std::net::IpAddr>,
    /// Request-URI user (the number or extension).
    pub user: String,
    /// Request-URI host[:port] (the trunk's, or the host of a `sip:` target).
    pub host: String,
    pub from_user: String,
    pub from_display: Option<String>,
    pub sdp_offer: Vec<u8>,
    pub credentials: Option<Credentials>,
    /// Caller identity headers sent as given: `P-Asserted-Identity` and
    /// `Privacy` (RFC 3325), `Identity` (RFC 8224, STIR/SHAKEN, passed
    /// through untouched).
    pub identity_headers: Vec<(&'static str, String)>,
    /// Say `Supported: 100rel` (RFC 3262, `[sip] supports_100rel`).
    pub supports_100rel: bool,
    /// Ask for session timers (RFC 4028, `[sip] session_expires_s`).
    pub session_timer: Option<super::session_refresh::Ask>,
}

impl InviteRequest {
    /// RFC 3263 §4.1: the transport parameter keeps a stream transport
    /// through proxies on the way.
    pub fn request_uri(&self) -> String {
        match self.transport {
            crate::config::SipTransport::Udp => format!("sip:{}@{}", self.user, self.host),
            t => format!("sip:{}@{};transport={}", self.user, self.host, t.as_str()),
        }
    }
}

/// What happened on the wire, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// 100 Trying (RFC 3261 §17.1.1.2): the trunk has the INVITE.
    Trying,
    /// 18x (RFC 3261 §13.2.2.1); `sdp` when it carries a session description.
    Progress { status: u16, reason: String, sdp: Option<Vec<u8>> },
    /// 2xx, ACKed by the stack (RFC 3261 §13.2.2.4).
    Answered { sdp: Option<Vec<u8>> },
    /// A 2xx crossed our CANCEL; the stack ACKed it and sent BYE (§9.1, §15).
    AnsweredAfterCancel,
    /// 3xx–6xx final response, ACKed by the transaction layer (§17.1.1.3);
    /// `cause` from its `Reason: Q.850` header (RFC 3326).
    Rejected {
        status: u16,
        reason: String,
        retry_after: Option<Duration>,
        redirect_user: Option<String>,
        cause: Option<Q850>,
    },
    /// No usable final response: transport error, timer B, broken 2xx.
    Failed { status: Option<u16>, reason: String },
    /// The far end sent BYE (§15.1.2); already answered 200. `cause`
    /// from its `Reason: Q.850` header (RFC 3326).
    RemoteBye { cause: Option<Q850> },
    /// The far end changed the session by re-INVITE or UPDATE (RFC 3311,
    /// RFC 3264 §8) and we accepted: hold, resume, a new codec or address.
    /// Already answered 200; every accepted offer is reported, refreshes too.
    Modified { session: crate::media::Negotiated },
    /// A digit sent in a SIP INFO (`application/dtmf-relay`, `application/dtmf`).
    Dtmf { digit: char },
    /// Our BYE completed (or timed out); the leg is gone.
    Ended,
    /// RFC 4028: the session's interval and refresher, from the 2xx to our
    /// INVITE or our refresh (`negotiated`), or the far end refreshed it
    /// with a re-INVITE/UPDATE we answered 2xx (`None`: same terms).
    SessionRefreshed { negotiated: Option<crate::call::session_timer::Negotiated> },
    /// Our refresh got an error or no answer: the session is gone (§10).
    RefreshFailed { status: Option<u16> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegCommand {
    /// CANCEL the INVITE (deferred by the stack until a provisional, §9.1);
    /// `reason` is a `Reason` header value for it (RFC 3326).
    Cancel { reason: Option<String> },
    /// End the established dialog; `reason` is a `Reason` header value
    /// (RFC 3326), e.g. `SIP;cause=488;text="Not Acceptable Here"`.
    /// On an inbound leg not yet answered: a 480 final response.
    Bye { reason: Option<String> },
    /// Inbound: 180 Ringing (RFC 3261 §13.3.1.1).
    Ring,
    /// Refresh the session (RFC 4028 §7.4) with a re-INVITE asking for
    /// `interval` again.
    Refresh { interval: Duration },
    /// Inbound: 200 OK with our SDP answer (§13.3.1.4).
    Answer { sdp: Vec<u8> },
    /// Inbound: a final error response (§13.3.1.3).
    Reject { status: u16, reason: Option<String> },
}

/// An INVITE from a trunk that opens a dialog: what the application
/// needs to route it. Its leg reports [`LegEvent::RemoteBye`] when the
/// caller hangs up and `Rejected { status: 487 }` when the caller cancels.
#[derive(Debug, Clone)]
pub struct InboundInvite {
    /// The dialled number: the Request-URI's user part.
    pub did: String,
    /// The caller: the From URI's user part.
    pub caller: String,
    pub caller_display: Option<String>,
    pub source: SocketAddr,
    /// The SDP offer; `None` for an offerless INVITE.
    pub sdp_offer: Option<Vec<u8>>,
}

/// Who takes INVITEs from trunks. Called on the SIP router's task: it
/// must not block (spawn, or answer through the leg).
pub trait InboundHandler: Send + Sync + 'static {
    fn incoming(&self, invite: InboundInvite, leg: UacLeg);

    /// The credentials INVITEs from `source` must authenticate with (RFC
    /// 3261 §22.4), if its trunk requires it.
    fn credentials(&self, _source: SocketAddr) -> Option<InboundAuth> {
        None
    }
}

/// What a trunk's INVITEs must prove: user, password, and the digest
/// algorithms we challenge with, most preferred first (RFC 8760 §2.4).
#[derive(Debug, Clone)]
pub struct InboundAuth {
    pub username: String,
    pub password: String,
    pub algorithms: Vec<super::digest::Algorithm>,
}

/// The actor's end of a leg.
pub struct UacLeg {
    pub events: mpsc::Receiver<LegEvent>,
    pub commands: mpsc::Sender<LegCommand>,
}

impl UacLeg {
    /// A pair of channel ends: the leg for the actor, the other for the
    /// driver. Commands are few per call (cancel, bye), events a handful.
    pub fn channel() -> (UacLeg, mpsc::Sender<LegEvent>, mpsc::Receiver<LegCommand>) {
        let (etx, erx) = mpsc::channel(32);
        let (ctx, crx) = mpsc::channel(4);
        (UacLeg { events: erx, commands: ctx }, etx, crx)
    }

    /// Sends a command without waiting. A full queue already holds a
    /// pending cancel/bye, which is what any new command would ask for.
    pub fn command(&self, c: LegCommand) {
        let _ = self.commands.try_send(c);
    }
}

pub trait LegFactory: Send + Sync + 'static {
    fn start(&self, req: InviteRequest) -> UacLeg;
}
