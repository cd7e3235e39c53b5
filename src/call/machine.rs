//! One call's logic, sans-IO: leg events, media events, API commands and
//! time in; actions out (`handle_*` / `poll_*`).
//!
//! This file is the dialling half (RFC 3261 §13, §9, §15); `script.rs` is
//! what runs once the call is answered.

use super::outcome::{Cause, Disposition, HangupBy, Outcome};
pub use super::plan::{Action, Event, Plan};
use crate::dialplan::FlowRun;
use crate::media::sdp;
use crate::media::sit::SitKind;
use crate::sip::LegEvent;
use crate::sip::reason::Q850;
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CancelWhy {
    NoAnswer,
    Api,
    Shutdown,
    /// Early media carried a special information tone.
    Sit(SitKind),
}

#[derive(Debug)]
pub(super) enum Phase {
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
    /// 2xx received and ACKed (§13.2.2.4); the flow runs (`script.rs`).
    Answered,
    /// BYE sent (§15.1.1); waiting for it to complete.
    HangingUp(Outcome),
    Ended,
}

/// The machine's timer table; every entry is an absolute deadline.
#[derive(Debug, Default)]
pub(super) struct Timers {
    pub(super) no_answer: Option<Instant>,
    pub(super) max_duration: Option<Instant>,
    pub(super) give_up: Option<Instant>,
    /// Answered: when the far end's silence (no RTP) ends the call.
    pub(super) rtp_idle: Option<Instant>,
    /// Dialing through a group: no 100/18x by then moves to the next trunk.
    pub(super) provisional: Option<Instant>,
}

impl Timers {
    fn next(&self) -> Option<Instant> {
        [self.no_answer, self.max_duration, self.give_up, self.rtp_idle, self.provisional].into_iter().flatten().min()
    }
}

pub struct CallMachine {
    pub(super) plan: Plan,
    pub(super) phase: Phase,
    pub(super) timers: Timers,
    pub(super) actions: VecDeque<Action>,
    pub(super) digits: String,
    pub(super) answered_at: Option<Instant>,
    pub(super) media_started: bool,
    /// The flow, from answer on.
    pub(super) flow: Option<FlowRun>,
    /// The last trunk's failure while the actor looks for the next one.
    pub(super) pending_failure: Option<Outcome>,
    /// The media session as last settled, from answer on (`hold.rs`).
    pub(super) session: Option<sdp::Negotiated>,
    pub(super) hold: super::hold::HoldState,
    /// The Q.850 cause of the hang-up: the far end's (its BYE or final
    /// response), else the one our BYE carried.
    pub(super) q850: Option<Q850>,
    /// RFC 4028, from the 2xx on (`session_timer.rs`).
    pub(super) session_timer: Option<super::session_timer::SessionTimer>,
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
            flow: None,
            pending_failure: None,
            session: None,
            hold: super::hold::HoldState::Active,
            q850: None,
            session_timer: None,
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
        let session = self.session_timer.as_ref().filter(|_| matches!(self.phase, Phase::Answered));
        [self.timers.next(), self.flow.as_ref().and_then(FlowRun::poll_timeout), session.map(|s| s.poll_timeout())]
            .into_iter()
            .flatten()
            .min()
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
        self.arm_provisional(now);
        self.actions.push_back(Action::Dial { user: self.plan.user.clone() });
        self.actions.push_back(Action::Event(Event::Dialing));
    }

    /// An INVITE from a trunk (RFC 3261 §13.3): it rings at us until the
    /// actor answers it (a `LegEvent::Answered` carrying the offer) or
    /// refuses it. No INVITE of ours, so no dial and no no-answer timer.
    pub fn start_inbound(&mut self) {
        if !matches!(self.phase, Phase::Idle) {
            return;
        }
        self.phase = Phase::Dialing { ringing: true, early_media: false, early_sdp: None, hops: 0 };
        self.actions.push_back(Action::Event(Event::Ringing { sip_status: 180 }));
    }

    pub fn handle_leg(&mut self, now: Instant, ev: LegEvent) {
        // In-dialog news of an answered call: media, not dialling.
        let ev = match ev {
            LegEvent::Modified { session } => return self.session_modified(now, session),
            LegEvent::Dtmf { digit } => return self.handle_media(now, crate::media::MediaEvent::Dtmf(digit)),
            ev => ev,
        };
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match (phase, ev) {
            // §17.1.1.2: the trunk has the INVITE; it is alive.
            (p @ Phase::Dialing { .. }, LegEvent::Trying) => {
                self.timers.provisional = None;
                p
            }
            // §13.2.2.1: provisional responses; 18x may carry early media.
            (
                Phase::Dialing { mut ringing, mut early_media, mut early_sdp, hops },
                LegEvent::Progress { status, sdp, .. },
            ) => {
                self.timers.provisional = None;
                if !ringing {
                    ringing = true;
                    self.actions.push_back(Action::Event(Event::Ringing { sip_status: status }));
                }
                if let Some(body) = &sdp {
                    if !early_media {
                        early_media = true;
                        self.actions.push_back(Action::Event(Event::EarlyMedia));
                        // Listen for special information tones before answer.
                        if let Ok(n) = sdp::negotiate(body) {
                            self.actions.push_back(Action::ListenEarly(n));
                        }
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
            (Phase::Dialing { .. }, LegEvent::Rejected { status, reason, retry_after, cause, .. }) => {
                self.q850 = cause;
                if let (503, Some(d)) = (status, retry_after) {
                    self.actions.push_back(Action::PauseTrunk(d));
                }
                let outcome = Outcome {
                    disposition: Disposition::from_sip_status(status),
                    cause: Cause::SipError,
                    by: HangupBy::Remote,
                    sip_status: Some(status),
                    reason: Some(reason.clone()),
                };
                if self.may_fail_over(Some(status)) {
                    self.fail_over(Some(status), reason, outcome)
                } else {
                    self.finish(outcome);
                    Phase::Ended
                }
            }
            (Phase::Dialing { .. }, LegEvent::Failed { status, reason }) => {
                if self.may_fail_over(None) {
                    self.fail_over(status, reason.clone(), system_failure(status, reason))
                } else {
                    self.finish(system_failure(status, reason));
                    Phase::Ended
                }
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
                let q = Cause::ApiHangup.q850();
                self.actions.push_back(Action::Bye { reason: Some(q.header()) });
                self.q850 = Some(q);
                self.timers.give_up = Some(now + self.plan.give_up_after);
                Phase::HangingUp(cancel_outcome(why, Some(200), None))
            }
            (Phase::Canceling(why), LegEvent::Rejected { status, cause, .. }) => {
                self.q850 = cause;
                self.finish(cancel_outcome(why, Some(status), None));
                Phase::Ended
            }
            (Phase::Canceling(why), LegEvent::Failed { status, .. }) => {
                self.finish(cancel_outcome(why, status, None));
                Phase::Ended
            }
            (Phase::Canceling(why), LegEvent::Ended) => {
                self.finish(cancel_outcome(why, None, None));
                Phase::Ended
            }
            (Phase::Canceling(why), LegEvent::AnsweredAfterCancel) => {
                self.finish(cancel_outcome(why, Some(200), Some("answered after CANCEL; ended with BYE".into())));
                Phase::Ended
            }
            // §15.1.2: the far end hung up.
            (Phase::Answered, LegEvent::RemoteBye { cause }) => {
                let reason = cause.as_ref().and_then(|c| c.text.clone());
                self.q850 = cause;
                self.finish(Outcome {
                    disposition: self.answered_disposition(),
                    cause: Cause::RemoteBye,
                    by: HangupBy::Remote,
                    sip_status: Some(200),
                    reason,
                });
                Phase::Ended
            }
            (Phase::Answered, LegEvent::Ended) => {
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
            // RFC 4028 §10: the session was refreshed, or our refresh failed.
            (Phase::Answered, LegEvent::SessionRefreshed { negotiated }) => {
                self.session_refreshed(now, negotiated);
                Phase::Answered
            }
            (Phase::Answered, LegEvent::RefreshFailed { status }) => self.session_expired(now, status),
            (phase, _) => phase,
        };
    }
}

impl CallMachine {
    pub(super) fn bye(&mut self, now: Instant, reason: Option<String>, outcome: Outcome) -> Phase {
        self.timers.max_duration = None;
        self.timers.rtp_idle = None;
        self.timers.give_up = Some(now + self.plan.give_up_after);
        self.actions.push_back(Action::StopMedia);
        // RFC 3326: say why, in the terms carriers record (Q.850).
        let reason = reason.or_else(|| {
            let q = outcome.cause.q850();
            let header = q.header();
            self.q850 = Some(q);
            Some(header)
        });
        self.actions.push_back(Action::Bye { reason });
        Phase::HangingUp(outcome)
    }

    pub(super) fn finish(&mut self, o: Outcome) {
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
            q850: self.q850.clone(),
        }));
        self.actions.push_back(Action::Finished(o));
    }

    /// `DELETE /v1/calls/{id}`: CANCEL before answer, BYE after.
    pub fn hangup(&mut self, now: Instant) {
        self.end_by(now, CancelWhy::Api, Cause::ApiHangup, HangupBy::Local);
    }

    /// The call this one was bridged to ended: so does this one.
    pub fn bridged_call_ended(&mut self, now: Instant) {
        self.end_by(now, CancelWhy::Api, Cause::BridgedCallEnded, HangupBy::Local);
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
            Phase::Answered => {
                let disposition = self.answered_disposition();
                self.bye(now, None, Outcome { disposition, cause, by, sip_status: Some(200), reason: None })
            }
            other => other,
        };
    }

    /// The `Reason` our CANCEL carries (RFC 3326): 19 when nobody
    /// answered in time, 16 normal clearing otherwise.
    pub fn cancel_reason(&self) -> Option<String> {
        let Phase::Canceling(why) = &self.phase else { return None };
        let q = match why {
            CancelWhy::NoAnswer => Q850::new(crate::sip::reason::NO_ANSWER, "No answer from user"),
            _ => Q850::new(crate::sip::reason::NORMAL_CLEARING, "Normal call clearing"),
        };
        Some(q.header())
    }

    pub(super) fn cancel(&mut self, now: Instant, why: CancelWhy) -> Phase {
        self.timers.no_answer = None;
        self.timers.give_up = Some(now + self.plan.give_up_after);
        self.actions.push_back(Action::Cancel);
        Phase::Canceling(why)
    }

    /// A datagram came from the far end (or, bridged, from our leg's far
    /// end): the silence timer starts again.
    pub fn rtp_received(&mut self, now: Instant) {
        // On hold the far end may be silent as long as it likes.
        if self.is_held() {
            return;
        }
        if let (Phase::Answered, Some(t)) = (&self.phase, self.plan.rtp_timeout) {
            self.timers.rtp_idle = Some(now + t);
        }
    }

    /// Fires every timer that is due. Safe to call early or twice.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        self.phase = match phase {
            Phase::Dialing { .. } if due(self.timers.no_answer) => self.cancel(now, CancelWhy::NoAnswer),
            Phase::Answered if self.session_timer.as_ref().is_some_and(|s| s.poll_timeout() <= now) => {
                self.session_due(now)
            }
            Phase::Dialing { .. } if due(self.timers.provisional) => {
                let t = self.plan.failover.provisional_timeout.unwrap_or_default();
                let reason = format!("no provisional response within {} ms", t.as_millis());
                self.fail_over(None, reason.clone(), system_failure(None, reason))
            }
            Phase::Answered if due(self.timers.max_duration) => self.bye(
                now,
                None,
                Outcome {
                    disposition: self.answered_disposition(),
                    cause: Cause::MaxDuration,
                    by: HangupBy::System,
                    sip_status: Some(200),
                    reason: Some("maximum call duration reached".into()),
                },
            ),
            Phase::Answered if due(self.timers.rtp_idle) => {
                let secs = self.plan.rtp_timeout.unwrap_or_default().as_secs_f64();
                let outcome = Outcome {
                    disposition: self.answered_disposition(),
                    cause: Cause::RtpTimeout,
                    by: HangupBy::System,
                    sip_status: Some(200),
                    reason: Some(format!("no RTP from the far end for {secs} s")),
                };
                self.bye(now, None, outcome)
            }
            Phase::Answered if self.flow.as_ref().and_then(FlowRun::poll_timeout).is_some_and(|t| t <= now) => {
                if let Some(flow) = self.flow.as_mut() {
                    flow.handle_timeout(now);
                }
                self.pump_flow(now)
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
            (Disposition::NoAnswer, Cause::NoAnswerTimeout, HangupBy::System, "no answer before the timeout".into())
        }
        CancelWhy::Api => (Disposition::Canceled, Cause::ApiHangup, HangupBy::Local, "canceled through the API".into()),
        CancelWhy::Shutdown => {
            (Disposition::Canceled, Cause::Shutdown, HangupBy::System, "dialerd is shutting down".into())
        }
        CancelWhy::Sit(kind) => (sit_disposition(kind), Cause::Sit, HangupBy::Remote, sit_reason(kind)),
    };
    Outcome { disposition, cause, by, sip_status, reason: Some(reason.unwrap_or(default_reason)) }
}

/// Campaigns stop redialling numbers a SIT says are not valid.
pub(super) fn sit_disposition(kind: SitKind) -> Disposition {
    if kind.means_invalid_number() { Disposition::InvalidNumber } else { Disposition::Failed }
}

pub(super) fn sit_reason(kind: SitKind) -> String {
    format!("special information tone: {}", kind.as_str())
}

#[cfg(test)]
mod tests;
