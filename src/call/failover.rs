//! Trunk failover, the machine's half (sans-IO): which failures before
//! answer move a call to its group's next trunk, and the no-provisional
//! timer that gives up on a silent trunk long before Timer B. The actor
//! picks and admits the next trunk and answers with
//! [`CallMachine::failed_over`] or [`CallMachine::failover_exhausted`].

use super::machine::{Action, CallMachine, Phase};
use super::outcome::Outcome;
use std::time::Instant;

impl CallMachine {
    /// Whether a failure before answer may try another trunk: 408 and 5xx
    /// (RFC 3261 §21.4.9, §21.5), a transport failure or no response at
    /// all (`None`). Never another 4xx — it is the callee's answer, such
    /// as 486 — and never a 6xx, a global failure (§21.6).
    pub(super) fn may_fail_over(&self, status: Option<u16>) -> bool {
        self.plan.failover.alternates > 0 && status.is_none_or(|s| s == 408 || (500..600).contains(&s))
    }

    /// Leaves the failed trunk; `failure` ends the call if no other trunk
    /// takes it.
    pub(super) fn fail_over(&mut self, sip_status: Option<u16>, reason: String, failure: Outcome) -> Phase {
        self.plan.failover.alternates -= 1;
        self.timers.provisional = None;
        self.pending_failure = Some(failure);
        self.actions.push_back(Action::Failover { user: self.plan.user.clone(), sip_status, reason });
        Phase::Dialing { ringing: false, early_media: false, early_sdp: None, hops: 0 }
    }

    /// The INVITE went out through the next trunk.
    pub fn failed_over(&mut self, now: Instant) {
        self.pending_failure = None;
        self.arm_provisional(now);
    }

    /// No other trunk would take the call: it ends with the last failure.
    pub fn failover_exhausted(&mut self) {
        if let Some(o) = self.pending_failure.take() {
            self.finish(o);
            self.phase = Phase::Ended;
        }
    }

    /// Trunks left to try (the actor sets it once it knows which trunk of
    /// the group admitted the call).
    pub fn set_alternates(&mut self, n: usize) {
        self.plan.failover.alternates = n;
    }

    pub(super) fn arm_provisional(&mut self, now: Instant) {
        if self.plan.failover.alternates > 0 {
            self.timers.provisional = self.plan.failover.provisional_timeout.map(|t| now + t);
        }
    }
}
