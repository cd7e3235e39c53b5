//! Hold and other changes the far end makes to an answered call's session
//! (re-INVITE or UPDATE, already answered by the SIP layer), sans-IO.
//!
//! The far end holds us with `sendonly`, `inactive` (or `recvonly`, or the
//! RFC 2543 c=0.0.0.0): while it does, the call is `Held`, we send no RTP
//! when it does not want ours, and the RTP inactivity timer is off, since
//! a held party is silent on purpose. `sendrecv` resumes: the timer starts
//! again from the resume.

use super::machine::{CallMachine, Phase};
use super::plan::{Action, Event};
use crate::media::sdp::{Direction, Negotiated};
use std::time::Instant;

/// Whether the far end holds the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HoldState {
    Active,
    /// Held by the far end, with the direction it offered.
    Held(Direction),
}

impl CallMachine {
    pub fn is_held(&self) -> bool {
        matches!(self.hold, HoldState::Held(_))
    }

    /// The answer itself holds the call (RFC 3264 §8.4 directions in the
    /// 2xx): reported like a later hold, and the RTP timer stays off.
    pub(super) fn hold_at_answer(&mut self, d: Direction) {
        if d != Direction::SendRecv {
            self.hold = HoldState::Held(d);
            self.timers.rtp_idle = None;
            self.actions.push_back(Action::Event(Event::Held { direction: d.as_str() }));
        }
    }

    /// The far end's accepted offer: media follows, hold is reported.
    pub(super) fn session_modified(&mut self, now: Instant, n: Negotiated) {
        if !matches!(self.phase, Phase::Answered) {
            return;
        }
        if self.session.as_ref() != Some(&n) {
            self.actions.push_back(Action::UpdateMedia(n.clone()));
        }
        match (self.hold, n.direction) {
            (HoldState::Active, Direction::SendRecv) => {}
            (HoldState::Active, d) => {
                self.hold = HoldState::Held(d);
                self.timers.rtp_idle = None;
                self.actions.push_back(Action::Event(Event::Held { direction: d.as_str() }));
            }
            (HoldState::Held(_), Direction::SendRecv) => {
                self.hold = HoldState::Active;
                self.timers.rtp_idle = self.plan.rtp_timeout.map(|t| now + t);
                self.actions.push_back(Action::Event(Event::Resumed));
            }
            // Still held (e.g. sendonly then inactive): nothing new to tell.
            (HoldState::Held(_), d) => self.hold = HoldState::Held(d),
        }
        self.session = Some(n);
    }
}

#[cfg(test)]
mod tests;
