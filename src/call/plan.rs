//! What a call is asked to do (`Plan`), what it reports (`Event`, the
//! API's `events[]`), and what its machine asks the actor to do (`Action`).

use super::outcome::{Cause, HangupBy, Outcome};
use crate::media::{Negotiated, Prompt};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gather {
    pub max_digits: usize,
    pub timeout: Duration,
}

/// What to do with the call, fixed when it is created.
#[derive(Debug, Clone)]
pub struct Plan {
    pub user: String,
    pub prompt: Option<Arc<Prompt>>,
    pub gather: Option<Gather>,
    pub no_answer_timeout: Duration,
    pub max_duration: Duration,
    pub max_redirects: u8,
    /// How long to wait for the final response to CANCEL or BYE before the
    /// call is closed anyway (64 × T1 plus margin, RFC 3261 §17.1.1.2).
    pub give_up_after: Duration,
}

/// The call's history as the API shows it (`events[].type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Queued,
    Dialing,
    Redirected { sip_status: u16 },
    Ringing { sip_status: u16 },
    EarlyMedia,
    Answered { codec: &'static str },
    Dtmf { digit: char },
    Hangup { cause: Cause, sip_status: Option<u16>, reason: Option<String>, by: HangupBy },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send an INVITE for this Request-URI user (first try or redirect).
    Dial {
        user: String,
    },
    Cancel,
    Bye {
        reason: Option<String>,
    },
    StartMedia(Negotiated),
    Play(Arc<Prompt>),
    StopMedia,
    /// A 503 with Retry-After: stop sending calls to this trunk for a while.
    PauseTrunk(Duration),
    Event(Event),
    Finished(Outcome),
}
