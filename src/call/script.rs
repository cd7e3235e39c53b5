//! What runs once the call is answered, sans-IO: the flow interpreter (a
//! dialplan, or the inline prompt-and-digits flow) and the media events that
//! feed it: digits, prompt ends, answering-machine verdicts, silence,
//! special information tones, webhook replies.

use super::machine::{CallMachine, CancelWhy, Phase, sit_disposition, sit_reason};
use super::outcome::{Cause, Disposition, HangupBy, Outcome};
use super::plan::{Action, Event};
use crate::dialplan::{FlowAction, FlowInput, FlowRun, FlowView};
use crate::media::amd::AmdVerdict;
use crate::media::{MediaEvent, sdp};
use std::time::Instant;

impl CallMachine {
    /// §13.2.2.4 / RFC 3264 §5: settle the media from the answer.
    pub(super) fn answered(&mut self, now: Instant, sdp: Option<Vec<u8>>) -> Phase {
        self.answered_at = Some(now);
        let negotiated = match sdp {
            None => Err("the 2xx carried no SDP answer".to_string()),
            Some(body) => sdp::negotiate(&body).map_err(|e| e.to_string()),
        };
        match negotiated {
            Ok(n) => {
                self.actions.push_back(Action::Event(Event::Answered { codec: n.codec.name() }));
                let direction = n.direction;
                self.actions.push_back(Action::StartMedia(n.clone()));
                self.session = Some(n);
                self.media_started = true;
                self.timers.max_duration = Some(now + self.plan.max_duration);
                self.timers.rtp_idle = self.plan.rtp_timeout.map(|t| now + t);
                // Answered already on hold (a 2xx saying sendonly/inactive).
                self.hold_at_answer(direction);
                self.flow = Some(FlowRun::start(self.plan.flow.clone(), self.plan.vars.clone(), now));
                self.pump_flow(now)
            }
            Err(reason) => {
                // RFC 3261 §13.2.2.4: the session is established; end it.
                self.actions
                    .push_back(Action::Bye { reason: Some("SIP;cause=488;text=\"Not Acceptable Here\"".into()) });
                self.timers.give_up = Some(now + self.plan.give_up_after);
                Phase::HangingUp(Outcome {
                    disposition: Disposition::Failed,
                    cause: Cause::MediaError,
                    by: HangupBy::System,
                    sip_status: Some(200),
                    reason: Some(reason),
                })
            }
        }
    }

    /// `machine` when detection said so, else `answered`.
    pub(super) fn answered_disposition(&self) -> Disposition {
        match self.flow.as_ref().and_then(FlowRun::amd_verdict) {
            Some(AmdVerdict::Machine) => Disposition::Machine,
            _ => Disposition::Answered,
        }
    }

    /// Turns what the flow asks for into actions; hangs up when it ends.
    pub(super) fn pump_flow(&mut self, now: Instant) -> Phase {
        let Some(flow) = self.flow.as_mut() else { return Phase::Answered };
        let mut ended = false;
        while let Some(a) = flow.poll_action() {
            match a {
                FlowAction::Play(p) => self.actions.push_back(Action::Play(p)),
                FlowAction::StopPlayback => self.actions.push_back(Action::StopPlayback),
                FlowAction::StartAmd => self.actions.push_back(Action::StartAmd(flow.amd_config().clone())),
                FlowAction::WatchSilence(d) => self.actions.push_back(Action::WatchSilence(d)),
                FlowAction::Webhook { url, body, timeout } => {
                    self.actions.push_back(Action::Webhook { url, body, timeout })
                }
                FlowAction::Transfer(target) => self.actions.push_back(Action::Transfer(target)),
                FlowAction::End => ended = true,
            }
        }
        self.actions.push_back(Action::FlowChanged);
        let parked = ended && self.plan.park_on.is_some() && flow.outcome() == self.plan.park_on.as_deref();
        if parked {
            // The placer bridges or hangs up this call; until then it is
            // silent and the maximum duration still applies.
            Phase::Answered
        } else if ended {
            let disposition = self.answered_disposition();
            let outcome = Outcome {
                disposition,
                cause: Cause::FlowDone,
                by: HangupBy::Local,
                sip_status: Some(200),
                reason: None,
            };
            self.bye(now, None, outcome)
        } else {
            Phase::Answered
        }
    }

    /// The `transfer` node's call failed: its `on_fail` runs.
    pub fn transfer_failed(&mut self, now: Instant, reason: String) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match phase {
            Phase::Answered if self.flow.is_some() => self.feed(now, FlowInput::TransferFailed(reason)),
            other => other,
        };
    }

    /// The call is joined to another (`bridge.rs`): its flow stops, the
    /// other call's audio replaces ours, and the call stays up until
    /// either side hangs up or the maximum duration. Only an answered call
    /// can be bridged.
    pub fn bridge(&mut self) -> bool {
        if !matches!(self.phase, Phase::Answered) {
            return false;
        }
        self.flow = None;
        true
    }

    pub fn flow_view(&self) -> Option<FlowView> {
        self.flow.as_ref().map(FlowRun::view)
    }

    fn feed(&mut self, now: Instant, input: FlowInput) -> Phase {
        if let Some(flow) = self.flow.as_mut() {
            flow.handle(now, input);
        }
        self.pump_flow(now)
    }

    pub fn handle_media(&mut self, now: Instant, ev: MediaEvent) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match (phase, ev) {
            (Phase::Answered, MediaEvent::Dtmf(d)) => {
                self.digits.push(d);
                self.actions.push_back(Action::Event(Event::Dtmf { digit: d }));
                self.feed(now, FlowInput::Dtmf(d))
            }
            (Phase::Answered, MediaEvent::PromptFinished) => self.feed(now, FlowInput::PromptFinished),
            (Phase::Answered, MediaEvent::Amd(r)) => {
                let verdict = match r.verdict {
                    AmdVerdict::Human => "human",
                    AmdVerdict::Machine => "machine",
                    AmdVerdict::NotSure => "notsure",
                };
                self.actions.push_back(Action::Event(Event::Amd { verdict, cause: r.cause.clone() }));
                self.feed(now, FlowInput::Amd(r.verdict))
            }
            (Phase::Answered, MediaEvent::Silence) => self.feed(now, FlowInput::Silence),
            // E.180 tones before answer: stop ringing a dead number.
            (phase @ Phase::Dialing { .. }, MediaEvent::Sit(kind)) => {
                self.actions.push_back(Action::Event(Event::Sit { kind: kind.as_str() }));
                drop(phase);
                self.cancel(now, CancelWhy::Sit(kind))
            }
            (Phase::Answered, MediaEvent::Sit(kind)) => {
                self.actions.push_back(Action::Event(Event::Sit { kind: kind.as_str() }));
                let outcome = Outcome {
                    disposition: sit_disposition(kind),
                    cause: Cause::Sit,
                    by: HangupBy::Remote,
                    sip_status: Some(200),
                    reason: Some(sit_reason(kind)),
                };
                self.bye(now, None, outcome)
            }
            (phase, _) => phase,
        };
    }

    /// The reply (or failure) of the webhook the flow asked for.
    pub fn handle_webhook(&mut self, now: Instant, reply: Result<serde_json::Value, String>) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match phase {
            Phase::Answered => self.feed(now, FlowInput::WebhookReply(reply)),
            other => other,
        };
    }
}
