//! One call's logic, sans-IO: leg events, media events, API commands and
//! time in; actions out (`handle_*` / `poll_*`).
//!
//! The minimal script of this version: after answer, play a prompt, collect
//! up to N digits with a timeout, hang up. The dialplan issue replaces the
//! script with the IVR interpreter; the dialling half stays.

use super::outcome::{Cause, Disposition, HangupBy, Outcome};
use crate::media::sdp::{self, Negotiated};
use crate::media::{MediaEvent, Prompt};
use crate::sip::LegEvent;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelWhy {
    NoAnswer,
    Api,
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Playing,
    Gathering,
}

#[derive(Debug)]
enum Phase {
    Idle,
    /// INVITE sent (RFC 3261 §13.2.1); 18x may have arrived.
    Dialing {
        ringing: bool,
        early_media: bool,
        early_sdp: Option<Vec<u8>>,
        hops: u8,
    },
    /// CANCEL sent (§9.1); waiting for the INVITE's final response.
    Canceling(CancelWhy),
    /// 2xx received and ACKed (§13.2.2.4); the script runs.
    Answered(Script),
    /// BYE sent (§15.1.1); waiting for it to complete.
    HangingUp(Outcome),
    Ended,
}

/// The machine's timer table; every entry is an absolute deadline.
#[derive(Debug, Default)]
struct Timers {
    no_answer: Option<Instant>,
    max_duration: Option<Instant>,
    gather: Option<Instant>,
    give_up: Option<Instant>,
}

impl Timers {
    fn next(&self) -> Option<Instant> {
        [self.no_answer, self.max_duration, self.gather, self.give_up].into_iter().flatten().min()
    }
}

pub struct CallMachine {
    plan: Plan,
    phase: Phase,
    timers: Timers,
    actions: VecDeque<Action>,
    digits: String,
    answered_at: Option<Instant>,
    media_started: bool,
}

impl CallMachine {
    pub fn new(plan: Plan) -> Self {
        Self {
            plan,
            phase: Phase::Idle,
            timers: Timers::default(),
            actions: VecDeque::new(),
            digits: String::new(),
            answered_at: None,
            media_started: false,
        }
    }

    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn answered_at(&self) -> Option<Instant> {
        self.answered_at
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended)
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The call waits for capacity before it may dial.
    pub fn queued(&mut self) {
        if matches!(self.phase, Phase::Idle) {
            self.actions.push_back(Action::Event(Event::Queued));
        }
    }

    /// Capacity never came: the call ends without dialling.
    pub fn queue_timeout(&mut self) {
        if matches!(self.phase, Phase::Idle) {
            self.finish(Outcome {
                disposition: Disposition::Failed,
                cause: Cause::QueueTimeout,
                by: HangupBy::System,
                sip_status: None,
                reason: Some("no capacity on the trunk within the queue timeout".into()),
            });
        }
    }

    /// A local failure before or instead of dialling (e.g. no RTP port).
    pub fn fail(&mut self, reason: String) {
        if !matches!(self.phase, Phase::Ended) {
            self.finish(Outcome {
                disposition: Disposition::Failed,
                cause: Cause::MediaError,
                by: HangupBy::System,
                sip_status: None,
                reason: Some(reason),
            });
        }
    }

    pub fn start(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Idle) {
            return;
        }
        self.phase = Phase::Dialing { ringing: false, early_media: false, early_sdp: None, hops: 0 };
        self.timers.no_answer = Some(now + self.plan.no_answer_timeout);
        self.actions.push_back(Action::Dial { user: self.plan.user.clone() });
        self.actions.push_back(Action::Event(Event::Dialing));
    }

    pub fn handle_leg(&mut self, now: Instant, ev: LegEvent) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match (phase, ev) {
            // §13.2.2.1: provisional responses; 18x may carry early media.
            (
                Phase::Dialing { mut ringing, mut early_media, mut early_sdp, hops },
                LegEvent::Progress { status, sdp, .. },
            ) => {
                if !ringing {
                    ringing = true;
                    self.actions.push_back(Action::Event(Event::Ringing { sip_status: status }));
                }
                if sdp.is_some() {
                    if !early_media {
                        early_media = true;
                        self.actions.push_back(Action::Event(Event::EarlyMedia));
                    }
                    early_sdp = sdp;
                }
                Phase::Dialing { ringing, early_media, early_sdp, hops }
            }
            // §13.2.2.4: 2xx; the answer is in it, or was in a reliable 18x.
            (Phase::Dialing { early_sdp, .. }, LegEvent::Answered { sdp }) => {
                self.timers.no_answer = None;
                self.answered(now, sdp.or(early_sdp))
            }
            // §8.1.3.4: follow a redirect, but only by its user part and
            // only through the same trunk.
            (Phase::Dialing { hops, .. }, LegEvent::Rejected { status, redirect_user: Some(user), .. })
                if (300..400).contains(&status)
                    && hops < self.plan.max_redirects
                    && crate::config::is_sip_user(&user) =>
            {
                self.actions.push_back(Action::Event(Event::Redirected { sip_status: status }));
                self.actions.push_back(Action::Dial { user });
                Phase::Dialing { ringing: false, early_media: false, early_sdp: None, hops: hops + 1 }
            }
            // §8.1.3.3/§21.4–21.6: the far end refused the call.
            (Phase::Dialing { .. }, LegEvent::Rejected { status, reason, retry_after, .. }) => {
                if let (503, Some(d)) = (status, retry_after) {
                    self.actions.push_back(Action::PauseTrunk(d));
                }
                self.finish(Outcome {
                    disposition: Disposition::from_sip_status(status),
                    cause: Cause::SipError,
                    by: HangupBy::Remote,
                    sip_status: Some(status),
                    reason: Some(reason),
                });
                Phase::Ended
            }
            (Phase::Dialing { .. }, LegEvent::Failed { status, reason }) => {
                self.finish(system_failure(status, reason));
                Phase::Ended
            }
            (Phase::Dialing { .. }, LegEvent::Ended) => {
                self.finish(system_failure(None, "the leg ended before a final response".into()));
                Phase::Ended
            }
            (Phase::Dialing { .. }, LegEvent::AnsweredAfterCancel) => {
                self.finish(system_failure(None, "answered after a CANCEL we never sent".into()));
                Phase::Ended
            }
            // §9.1: a 2xx may cross our CANCEL; the call must still end.
            (Phase::Canceling(why), LegEvent::Answered { .. }) => {
                self.actions.push_back(Action::Bye { reason: None });
                self.timers.give_up = Some(now + self.plan.give_up_after);
                Phase::HangingUp(cancel_outcome(why, Some(200), None))
            }
            (Phase::Canceling(why), LegEvent::Rejected { status, .. }) => {
                self.finish(cancel_outcome(why, Some(status), None));
                Phase::Ended
            }
            (Phase::Canceling(why), LegEvent::Failed { status, .. }) => {
                self.finish(cancel_outcome(why, status, None));
                Phase::Ended
            }
            (Phase::Canceling(why), LegEvent::AnsweredAfterCancel) => {
                self.finish(cancel_outcome(why, Some(200), Some("answered after CANCEL; ended with BYE".into())));
                Phase::Ended
            }
            // §15.1.2: the far end hung up.
            (Phase::Answered(_), LegEvent::RemoteBye { reason }) => {
                self.finish(Outcome {
                    disposition: Disposition::Answered,
                    cause: Cause::RemoteBye,
                    by: HangupBy::Remote,
                    sip_status: Some(200),
                    reason,
                });
                Phase::Ended
            }
            (Phase::Answered(_), LegEvent::Ended) => {
                self.finish(Outcome {
                    disposition: Disposition::Answered,
                    cause: Cause::TransportError,
                    by: HangupBy::System,
                    sip_status: Some(200),
                    reason: Some("the dialog ended unexpectedly".into()),
                });
                Phase::Ended
            }
            (Phase::HangingUp(outcome), LegEvent::Ended | LegEvent::RemoteBye { .. }) => {
                self.finish(outcome);
                Phase::Ended
            }
            (phase, _) => phase,
        };
    }
}

impl CallMachine {
    /// §13.2.2.4 / RFC 3264 §5: settle the media from the answer.
    fn answered(&mut self, now: Instant, sdp: Option<Vec<u8>>) -> Phase {
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

    fn local_hangup(&mut self, now: Instant, cause: Cause) -> Phase {
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

    fn bye(&mut self, now: Instant, reason: Option<String>, outcome: Outcome) -> Phase {
        self.timers.gather = None;
        self.timers.max_duration = None;
        self.timers.give_up = Some(now + self.plan.give_up_after);
        self.actions.push_back(Action::StopMedia);
        self.actions.push_back(Action::Bye { reason });
        Phase::HangingUp(outcome)
    }

    fn finish(&mut self, o: Outcome) {
        self.timers = Timers::default();
        if self.media_started {
            self.actions.push_back(Action::StopMedia);
            self.media_started = false;
        }
        self.actions.push_back(Action::Event(Event::Hangup {
            cause: o.cause,
            sip_status: o.sip_status,
            reason: o.reason.clone(),
            by: o.by,
        }));
        self.actions.push_back(Action::Finished(o));
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

    /// `DELETE /v1/calls/{id}`: CANCEL before answer, BYE after.
    pub fn hangup(&mut self, now: Instant) {
        self.end_by(now, CancelWhy::Api, Cause::ApiHangup, HangupBy::Local);
    }

    /// Ordered shutdown: like a hangup, attributed to the system.
    pub fn shutdown(&mut self, now: Instant) {
        self.end_by(now, CancelWhy::Shutdown, Cause::Shutdown, HangupBy::System);
    }

    fn end_by(&mut self, now: Instant, why: CancelWhy, cause: Cause, by: HangupBy) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match phase {
            Phase::Idle => {
                self.finish(cancel_outcome(why, None, None));
                Phase::Ended
            }
            Phase::Dialing { .. } => self.cancel(now, why),
            Phase::Answered(_) => self.bye(
                now,
                None,
                Outcome { disposition: Disposition::Answered, cause, by, sip_status: Some(200), reason: None },
            ),
            other => other,
        };
    }

    fn cancel(&mut self, now: Instant, why: CancelWhy) -> Phase {
        self.timers.no_answer = None;
        self.timers.give_up = Some(now + self.plan.give_up_after);
        self.actions.push_back(Action::Cancel);
        Phase::Canceling(why)
    }

    /// Fires every timer that is due. Safe to call early or twice.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match phase {
            Phase::Dialing { .. } if due(self.timers.no_answer) => self.cancel(now, CancelWhy::NoAnswer),
            Phase::Answered(_) if due(self.timers.max_duration) => self.bye(
                now,
                None,
                Outcome {
                    disposition: Disposition::Answered,
                    cause: Cause::MaxDuration,
                    by: HangupBy::System,
                    sip_status: Some(200),
                    reason: Some("maximum call duration reached".into()),
                },
            ),
            Phase::Answered(Script::Gathering) if due(self.timers.gather) => {
                self.local_hangup(now, Cause::GatherTimeout)
            }
            Phase::Canceling(why) if due(self.timers.give_up) => {
                self.finish(cancel_outcome(why, None, Some("no final response to CANCEL".into())));
                Phase::Ended
            }
            Phase::HangingUp(outcome) if due(self.timers.give_up) => {
                self.finish(outcome);
                Phase::Ended
            }
            other => other,
        };
    }
}

fn system_failure(status: Option<u16>, reason: String) -> Outcome {
    Outcome {
        disposition: Disposition::Failed,
        cause: Cause::TransportError,
        by: HangupBy::System,
        sip_status: status,
        reason: Some(reason),
    }
}

fn cancel_outcome(why: CancelWhy, sip_status: Option<u16>, reason: Option<String>) -> Outcome {
    let (disposition, cause, by, default_reason) = match why {
        CancelWhy::NoAnswer => {
            (Disposition::NoAnswer, Cause::NoAnswerTimeout, HangupBy::System, "no answer before the timeout")
        }
        CancelWhy::Api => (Disposition::Canceled, Cause::ApiHangup, HangupBy::Local, "canceled through the API"),
        CancelWhy::Shutdown => (Disposition::Canceled, Cause::Shutdown, HangupBy::System, "dialerd is shutting down"),
    };
    Outcome { disposition, cause, by, sip_status, reason: Some(reason.unwrap_or_else(|| default_reason.into())) }
}

#[cfg(test)]
mod tests;
