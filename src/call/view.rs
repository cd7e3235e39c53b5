//! What the API shows of a call: written only by the call's actor, read by
//! anyone through a `watch` channel (one owner, many readers).

use super::machine::Event;
use super::outcome::{Disposition, HangupBy, Outcome};
use crate::dialplan::FlowView;
use crate::ids::CallId;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Queued,
    Dialing,
    Ringing,
    Answered,
    Ended,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventRecord {
    /// RFC 3339 time the event happened.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

/// `GET /v1/calls/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    #[schema(value_type = String, example = "01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f")]
    pub id: CallId,
    pub state: CallState,
    /// `outbound` (placed by dialerd) or `inbound` (from a trunk).
    pub direction: CallDirection,
    /// The number or SIP URI dialled, as given to `POST /v1/calls`; for an
    /// inbound call, the DID the caller dialled.
    pub to: String,
    /// Inbound: the caller's number (From user part).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub trunk: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub events: Vec<EventRecord>,
    /// DTMF digits received, in order.
    pub digits: String,
    pub disposition: Option<Disposition>,
    /// The INVITE's final SIP status (200 once answered).
    pub sip_status: Option<u16>,
    pub reason: Option<String>,
    pub hangup_by: Option<HangupBy>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Timestamp>,
    /// Answer to hang-up; absent for unanswered calls.
    pub duration_ms: Option<u64>,
    /// The Q.850 cause (RFC 3326 `Reason`) of the hang-up: the far end's
    /// (BYE, final error response), else the one our BYE carried.
    pub q850: Option<crate::sip::reason::Q850>,
    /// The far end holds the call (a `held` event; `resumed` clears it).
    pub on_hold: bool,
    /// The flow run after answer: nodes taken, digits per node, outcome.
    pub flow: Option<FlowView>,
    /// The agent's CRM answer to the screen pop (seed 004), when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm: Option<crate::events::screenpop::CrmInfo>,
    /// Why the screen pop got no usable answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_error: Option<String>,
    /// The call this one is bridged to, and what the bridge relayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<super::bridge::BridgeView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Outbound,
    Inbound,
}

impl CallView {
    pub fn new(id: CallId, to: String, trunk: String) -> Self {
        Self {
            id,
            state: CallState::Queued,
            direction: CallDirection::Outbound,
            from: None,
            to,
            trunk,
            created_at: Timestamp::now(),
            events: Vec::new(),
            digits: String::new(),
            disposition: None,
            sip_status: None,
            reason: None,
            hangup_by: None,
            answered_at: None,
            ended_at: None,
            duration_ms: None,
            q850: None,
            on_hold: false,
            flow: None,
            crm: None,
            crm_error: None,
            bridge: None,
        }
    }

    /// Appends an event and moves the state it implies.
    pub fn record(&mut self, at: Timestamp, event: Event) {
        match &event {
            Event::Queued => self.state = CallState::Queued,
            Event::Dialing | Event::Redirected { .. } => self.state = CallState::Dialing,
            Event::Failover { to_trunk, .. } => {
                self.state = CallState::Dialing;
                self.trunk = to_trunk.clone();
            }
            Event::Ringing { sip_status } => {
                self.state = CallState::Ringing;
                self.sip_status = Some(*sip_status);
            }
            Event::EarlyMedia => self.state = CallState::Ringing,
            Event::Answered { .. } => {
                self.state = CallState::Answered;
                self.answered_at = Some(at);
                self.sip_status = Some(200);
            }
            Event::Dtmf { digit } => self.digits.push(*digit),
            Event::Held { .. } => self.on_hold = true,
            Event::Resumed => self.on_hold = false,
            Event::Amd { .. } | Event::Sit { .. } => {}
            // `ended` is set by `finish`, with the outcome, so whoever sees
            // the state sees the disposition too.
            Event::Hangup { q850, .. } => self.q850 = q850.clone(),
        }
        self.events.push(EventRecord { at, event });
    }

    pub fn finish(&mut self, at: Timestamp, o: &Outcome) {
        self.state = CallState::Ended;
        self.disposition = Some(o.disposition);
        self.sip_status = o.sip_status.or(self.sip_status);
        self.reason = o.reason.clone();
        self.hangup_by = Some(o.by);
        self.ended_at = Some(at);
        self.duration_ms = self.answered_at.map(|a| at.duration_since(a).as_millis().max(0) as u64);
    }
}

/// Why the call ended (the hang-up event's cause), once it has.
pub fn hangup_cause(v: &CallView) -> Option<super::outcome::Cause> {
    v.events.iter().rev().find_map(|e| match &e.event {
        Event::Hangup { cause, .. } => Some(*cause),
        _ => None,
    })
}
