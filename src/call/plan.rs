//! What a call is asked to do (`Plan`), what it reports (`Event`, the
//! API's `events[]`), and what its machine asks the actor to do (`Action`).

use super::outcome::{Cause, HangupBy, Outcome};
use crate::dialplan::Flow;
use crate::media::amd::AmdConfig;
use crate::media::{Negotiated, Prompt};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What to do with the call, fixed when it is created.
#[derive(Debug, Clone)]
pub struct Plan {
    pub user: String,
    /// What runs once answered: a dialplan, or the inline prompt-and-digits
    /// flow (`Flow::inline`). Pinned: a reload does not change it.
    pub flow: Arc<Flow>,
    /// The call's variables (`POST /v1/calls` `vars`), over the flow's.
    pub vars: BTreeMap<String, String>,
    pub no_answer_timeout: Duration,
    pub max_duration: Duration,
    pub max_redirects: u8,
    /// How long to wait for the final response to CANCEL or BYE before the
    /// call is closed anyway (64 × T1 plus margin, RFC 3261 §17.1.1.2).
    pub give_up_after: Duration,
    /// A flow ending with this outcome leaves the call up (silent) for
    /// whoever placed it to bridge or hang up: the agent's leg of a click
    /// to call after the whisper.
    pub park_on: Option<String>,
    /// No RTP from the far end this long after answer ends the call.
    pub rtp_timeout: Option<std::time::Duration>,
    /// Other trunks of the call's group it may still try.
    pub failover: Failover,
}

#[cfg(test)]
impl Plan {
    /// The machine's unit tests: `flow` with generous timers, no failover.
    pub(crate) fn for_tests(flow: Arc<Flow>, rtp_timeout: Option<Duration>) -> Plan {
        Plan {
            user: "+15551234".into(),
            flow,
            vars: BTreeMap::new(),
            no_answer_timeout: Duration::from_secs(30),
            max_duration: Duration::from_secs(600),
            max_redirects: 3,
            give_up_after: Duration::from_secs(32),
            park_on: None,
            rtp_timeout,
            failover: Failover::default(),
        }
    }
}

/// A trunk group's failover (`[[trunk_groups]]`): trunks left to try and
/// the no-provisional timer that gives up on a silent trunk.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Failover {
    pub alternates: usize,
    pub provisional_timeout: Option<Duration>,
}

/// The call's history as the API shows it (`events[].type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Queued,
    Dialing,
    Redirected {
        sip_status: u16,
    },
    /// The trunk failed before answer; the call went on to the group's
    /// next trunk (`sip_status` absent: no response in time).
    Failover {
        from_trunk: String,
        to_trunk: String,
        /// The address the INVITE goes to now (a trunk's next SRV target
        /// is tried before the group's next trunk).
        target: String,
        sip_status: Option<u16>,
        reason: String,
    },
    Ringing {
        sip_status: u16,
    },
    EarlyMedia,
    Answered {
        codec: &'static str,
    },
    Dtmf {
        digit: char,
    },
    /// Answering-machine detection's verdict (`human`, `machine`, `notsure`)
    /// and Asterisk-style cause, e.g. `LONGGREETING-1620-1500`.
    Amd {
        verdict: &'static str,
        cause: String,
    },
    /// A special information tone sequence (ITU-T E.180) was heard.
    Sit {
        kind: &'static str,
    },
    /// The far end put the call on hold (re-INVITE or UPDATE with
    /// `sendonly`, `inactive`, `recvonly` or c=0.0.0.0): its direction.
    Held {
        direction: &'static str,
    },
    /// The far end took the call off hold (`sendrecv` again).
    Resumed,
    Hangup {
        cause: Cause,
        sip_status: Option<u16>,
        reason: Option<String>,
        by: HangupBy,
        /// The Q.850 cause of the far end's `Reason` header, else ours.
        q850: Option<crate::sip::reason::Q850>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send an INVITE for this Request-URI user (first try or redirect).
    Dial {
        user: String,
    },
    Cancel,
    /// Drop the leg and send the INVITE through the group's next trunk;
    /// answer with `failed_over` or `failover_exhausted`.
    Failover {
        user: String,
        sip_status: Option<u16>,
        reason: String,
    },
    Bye {
        reason: Option<String>,
    },
    StartMedia(Negotiated),
    /// The far end changed the session (hold, resume, codec, address):
    /// the media session follows; it sends only when the far end receives.
    UpdateMedia(Negotiated),
    /// Receive (not send) early media, to hear special information tones.
    ListenEarly(Negotiated),
    Play(Arc<Prompt>),
    StopPlayback,
    StartAmd(AmdConfig),
    /// Report when the far end has been silent this long.
    WatchSilence(Duration),
    /// POST `body` to `url`; answer with `CallMachine::handle_webhook`.
    Webhook {
        url: String,
        body: serde_json::Value,
        timeout: Duration,
    },
    /// The flow moved: refresh the view's `flow`.
    FlowChanged,
    StopMedia,
    /// RFC 4028 §7.4: re-INVITE to keep the session, asking for `interval`.
    RefreshSession {
        interval: Duration,
    },
    /// A 503 with Retry-After: stop sending calls to this trunk for a while.
    PauseTrunk(Duration),
    /// The flow's `transfer` node: call the URI (or offer the call to the
    /// group) and bridge; `CallMachine::transfer_failed` when that fails.
    Transfer(crate::dialplan::TransferTarget),
    Event(Event),
    Finished(Outcome),
}
