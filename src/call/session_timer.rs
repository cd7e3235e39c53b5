//! Session timers (RFC 4028), sans-IO: after the 2xx says how long the
//! session lives and who refreshes it, this says when we must refresh
//! (at half the interval, §7.4) or, when the far end refreshes, when the
//! session has expired unrefreshed and must end with a BYE (§10: before
//! the interval ends, by the smaller of 32 s and a third of it).

use super::machine::{Action, CallMachine, Phase};
use super::outcome::{Cause, HangupBy, Outcome};
use std::time::{Duration, Instant};

/// What the 2xx (or a refresh's 2xx) settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub interval: Duration,
    /// `refresher=uac` on our INVITE's 2xx: we send the refreshes.
    pub we_refresh: bool,
}

/// What is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send a refresh (re-INVITE with our SDP).
    Refresh,
    /// No refresh came in time: end the call.
    Expired,
}

#[derive(Debug, Clone)]
pub struct SessionTimer {
    n: Negotiated,
    refresh_at: Option<Instant>,
    expires_at: Instant,
}

impl SessionTimer {
    pub fn new(n: Negotiated, now: Instant) -> Self {
        let mut t = Self { n, refresh_at: None, expires_at: now };
        t.refreshed(n, now);
        t
    }

    /// A refresh went through (ours answered 2xx, or the far end's
    /// re-INVITE/UPDATE arrived): the interval starts again.
    pub fn refreshed(&mut self, n: Negotiated, now: Instant) {
        self.n = n;
        let margin = Duration::from_secs(32).min(n.interval / 3);
        self.expires_at = now + n.interval - margin;
        self.refresh_at = n.we_refresh.then(|| now + n.interval / 2);
    }

    /// Our refresh is under way: do not send another one.
    pub fn refresh_sent(&mut self) {
        self.refresh_at = None;
    }

    pub fn negotiated(&self) -> Negotiated {
        self.n
    }

    pub fn poll_timeout(&self) -> Instant {
        self.refresh_at.map_or(self.expires_at, |r| r.min(self.expires_at))
    }

    /// Safe to call early: `None` until something is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Due> {
        if now >= self.expires_at {
            return Some(Due::Expired);
        }
        if self.refresh_at.is_some_and(|r| now >= r) {
            self.refresh_at = None;
            return Some(Due::Refresh);
        }
        None
    }
}

impl CallMachine {
    /// The 2xx settled terms (`Some`), or a refresh went through.
    pub(super) fn session_refreshed(&mut self, now: Instant, n: Option<Negotiated>) {
        match (&mut self.session_timer, n) {
            (Some(t), n) => {
                let n = n.unwrap_or(t.negotiated());
                t.refreshed(n, now);
            }
            (None, Some(n)) => self.session_timer = Some(SessionTimer::new(n, now)),
            (None, None) => {}
        }
    }

    /// A session timer deadline passed: refresh, or end the call (§10).
    pub(super) fn session_due(&mut self, now: Instant) -> Phase {
        match self.session_timer.as_mut().and_then(|t| t.handle_timeout(now)) {
            Some(Due::Refresh) => {
                let interval = self.session_timer.as_ref().map(|t| t.negotiated().interval).unwrap_or_default();
                self.actions.push_back(Action::RefreshSession { interval });
                Phase::Answered
            }
            Some(Due::Expired) => self.session_expired(now, None),
            None => Phase::Answered,
        }
    }

    /// The session is gone: BYE (RFC 4028 §10), cause `session_expired`.
    pub(super) fn session_expired(&mut self, now: Instant, status: Option<u16>) -> Phase {
        self.session_timer = None;
        let reason = match status {
            Some(s) => format!("the session refresh was answered {s}"),
            None => "the session expired without a refresh (RFC 4028)".into(),
        };
        let outcome = Outcome {
            disposition: self.answered_disposition(),
            cause: Cause::SessionExpired,
            by: HangupBy::System,
            sip_status: Some(200),
            reason: Some(reason),
        };
        self.bye(now, None, outcome)
    }
}

/// `Session-Expires: 1800;refresher=uac` → (1800 s, Some(true)) where
/// `true` means the UAC refreshes (RFC 4028 §4). The compact form `x` is
/// the caller's business.
pub fn parse_session_expires(v: &str) -> Option<(Duration, Option<bool>)> {
    let mut parts = v.split(';');
    let secs: u64 = parts.next()?.trim().parse().ok()?;
    if secs == 0 {
        return None;
    }
    let refresher = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("refresher").then(|| v.trim().eq_ignore_ascii_case("uac"))
    });
    Some((Duration::from_secs(secs), refresher))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn we_refresh_at_half_and_expire_only_without_a_refresh() {
        let t0 = Instant::now();
        let n = Negotiated { interval: Duration::from_secs(90), we_refresh: true };
        let mut t = SessionTimer::new(n, t0);
        assert_eq!(t.poll_timeout(), t0 + Duration::from_secs(45));
        assert_eq!(t.handle_timeout(t0 + Duration::from_secs(44)), None, "early is safe");
        assert_eq!(t.handle_timeout(t0 + Duration::from_secs(45)), Some(Due::Refresh));
        assert_eq!(t.handle_timeout(t0 + Duration::from_secs(46)), None, "once");
        // 90 − min(32, 30) = 60 s: the refresh's answer never came.
        assert_eq!(t.poll_timeout(), t0 + Duration::from_secs(60));
        t.refreshed(n, t0 + Duration::from_secs(50));
        assert_eq!(t.poll_timeout(), t0 + Duration::from_secs(95));
    }

    #[test]
    fn when_the_far_end_refreshes_we_only_watch() {
        let t0 = Instant::now();
        let n = Negotiated { interval: Duration::from_secs(1800), we_refresh: false };
        let mut t = SessionTimer::new(n, t0);
        // 1800 − 32 s.
        assert_eq!(t.poll_timeout(), t0 + Duration::from_secs(1768));
        assert_eq!(t.handle_timeout(t0 + Duration::from_secs(1767)), None);
        assert_eq!(t.handle_timeout(t0 + Duration::from_secs(1768)), Some(Due::Expired));
    }

    #[test]
    fn session_expires_values() {
        assert_eq!(parse_session_expires("1800;refresher=uac"), Some((Duration::from_secs(1800), Some(true))));
        assert_eq!(parse_session_expires(" 90 ; refresher = UAS"), Some((Duration::from_secs(90), Some(false))));
        assert_eq!(parse_session_expires("600"), Some((Duration::from_secs(600), None)));
        assert_eq!(parse_session_expires("soon"), None);
        assert_eq!(parse_session_expires("0"), None);
    }
}
