//! The in-call script, sans-IO: after answer, play a prompt, collect up to
//! N digits with a timeout, hang up. The dialplan issue replaces this with
//! the IVR interpreter; the dialling half (`machine.rs`) stays.

use super::machine::{CallMachine, Phase, Script};
use super::outcome::{Cause, Disposition, HangupBy, Outcome};
use super::plan::{Action, Event};
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
                self.actions.push_back(Action::StartMedia(n));
                self.media_started = true;
                self.timers.max_duration = Some(now + self.plan.max_duration);
                self.start_script(now)
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

    fn start_script(&mut self, now: Instant) -> Phase {
        if let Some(p) = self.plan.prompt.clone() {
            self.actions.push_back(Action::Play(p));
            Phase::Answered(Script::Playing)
        } else if let Some(g) = self.plan.gather {
            self.timers.gather = Some(now + g.timeout);
            Phase::Answered(Script::Gathering)
        } else {
            self.local_hangup(now, Cause::ScriptDone)
        }
    }

    pub(super) fn local_hangup(&mut self, now: Instant, cause: Cause) -> Phase {
        self.bye(
            now,
            None,
            Outcome {
                disposition: Disposition::Answered,
                cause,
                by: HangupBy::Local,
                sip_status: Some(200),
                reason: None,
            },
        )
    }

    pub fn handle_media(&mut self, now: Instant, ev: MediaEvent) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match (phase, ev) {
            (Phase::Answered(script), MediaEvent::Dtmf(d)) => {
                self.digits.push(d);
                self.actions.push_back(Action::Event(Event::Dtmf { digit: d }));
                match self.plan.gather {
                    // Digits typed over the prompt count (barge-in).
                    Some(g) if self.digits.len() >= g.max_digits => self.local_hangup(now, Cause::GatherComplete),
                    _ => Phase::Answered(script),
                }
            }
            (Phase::Answered(Script::Playing), MediaEvent::PromptFinished) => match self.plan.gather {
                Some(g) => {
                    self.timers.gather = Some(now + g.timeout);
                    Phase::Answered(Script::Gathering)
                }
                None => self.local_hangup(now, Cause::ScriptDone),
            },
            (phase, _) => phase,
        };
    }
}
