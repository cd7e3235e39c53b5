//! Scheduled click-to-call requests (callbacks, issue 7 item 5): which
//! `at` a site may ask for, when the request then runs (the site's
//! working hours and the visitor's calling window move it to their next
//! opening), and what to do when its time comes. Pure: the clock and the
//! facts are arguments; `timer.rs` does the waiting.

use crate::campaign::calendar::{callee_zones, next_dialable};
use crate::config::SiteConfig;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// How far ahead a callback may be asked for: a visitor's "call me next
/// week", not a reminder service.
pub const MAX_AHEAD_DAYS: i64 = 30;

/// A due request whose group has no available agent waits this long for
/// one (agents log in a little after opening time) before it fails.
pub const AGENT_WAIT: Duration = Duration::from_secs(15 * 60);

/// How often a waiting request looks at the roster again: one mutex
/// lookup, cheap enough to keep the wait short.
pub const AGENT_RETRY: Duration = Duration::from_secs(2);

/// Reads `at` (RFC 3339 with an offset) and checks it is in the future
/// and at most [`MAX_AHEAD_DAYS`] ahead; the error is the message for the
/// `at` field.
pub fn parse_at(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let at: Timestamp = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an RFC 3339 time with an offset, e.g. 2026-05-04T09:30:00+01:00"))?;
    if at <= now {
        return Err("must be in the future (leave it out to call now)".into());
    }
    let limit = now.checked_add(SignedDuration::from_hours(24 * MAX_AHEAD_DAYS)).unwrap_or(Timestamp::MAX);
    if at > limit {
        return Err(format!("must be at most {MAX_AHEAD_DAYS} days ahead"));
    }
    Ok(at)
}

/// The first instant at or after `at` when the site is open and the
/// visitor may be called; `None` if there is none within the calendar's
/// horizon.
pub fn due(at: Timestamp, site: &SiteConfig, phone: &str) -> Option<Timestamp> {
    let zones = callee_zones(phone, None, &site.time_zone);
    next_dialable(at, &site.working_hours, &site.time_zone, &site.calling_window, &zones)
}

/// What a due request's timer knows when it fires.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub now: Timestamp,
    /// The stored due time.
    pub due_at: Timestamp,
    /// `due(now, ..)`: now, later, or never.
    pub dialable_from: Option<Timestamp>,
    pub on_dnc: bool,
    pub agent_available: bool,
    /// `[click_to_call] retention_h`.
    pub retention: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fire {
    /// Start it: `requested`, then the usual steps.
    Run,
    /// Look again at this time (waiting for an agent); nothing stored.
    Retry(Timestamp),
    /// The site or the visitor's window closed meanwhile (hours changed,
    /// a DST shift): store this new due time.
    Reschedule(Timestamp),
    /// It fails with this cause.
    Fail(&'static str),
}

pub fn decide(f: Facts) -> Fire {
    let late = f.now.duration_since(f.due_at);
    // Calling hours after they were asked for helps nobody: a visitor who
    // wanted a call at ten does not want it three days later because
    // dialerd was down.
    if late > SignedDuration::try_from(f.retention).unwrap_or(SignedDuration::MAX) {
        return Fire::Fail("expired");
    }
    if f.on_dnc {
        return Fire::Fail("dnc");
    }
    match f.dialable_from {
        None => return Fire::Fail("outside_hours"),
        Some(t) if t > f.now => return Fire::Reschedule(t),
        Some(_) => {}
    }
    if f.agent_available {
        return Fire::Run;
    }
    let wait = SignedDuration::try_from(AGENT_WAIT).unwrap_or(SignedDuration::MAX);
    if late < wait {
        let retry = SignedDuration::try_from(AGENT_RETRY).unwrap_or(SignedDuration::MAX);
        Fire::Retry(f.now.checked_add(retry).unwrap_or(Timestamp::MAX))
    } else {
        Fire::Fail("no_agent_available")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn at_must_be_a_future_time_within_thirty_days() {
        let now = ts("2026-03-02T10:00:00Z");
        assert_eq!(parse_at("2026-03-02T11:30:00+01:00", now), Ok(ts("2026-03-02T10:30:00Z")));
        assert_eq!(parse_at(" 2026-04-01T10:00:00Z ", now), Ok(ts("2026-04-01T10:00:00Z")), "30 days exactly");
        for (bad, why) in [
            ("tomorrow", "RFC 3339"),
            ("2026-03-02T12:00:00", "RFC 3339"),
            ("2026-03-02T10:00:00Z", "future"),
            ("2026-03-01T10:00:00Z", "future"),
            ("2026-04-01T10:00:01Z", "30 days"),
        ] {
            let e = parse_at(bad, now).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    fn facts(now: &str) -> Facts {
        Facts {
            now: ts(now),
            due_at: ts("2026-03-02T10:00:00Z"),
            dialable_from: Some(ts(now)),
            on_dnc: false,
            agent_available: true,
            retention: Duration::from_secs(6 * 3600),
        }
    }

    #[test]
    fn a_due_request_runs_waits_moves_or_fails() {
        assert_eq!(decide(facts("2026-03-02T10:00:00Z")), Fire::Run);
        let f = Facts { on_dnc: true, ..facts("2026-03-02T10:00:00Z") };
        assert_eq!(decide(f), Fire::Fail("dnc"), "the number opted out meanwhile");
        let later = ts("2026-03-02T12:00:00Z");
        let f = Facts { dialable_from: Some(later), ..facts("2026-03-02T10:00:00Z") };
        assert_eq!(decide(f), Fire::Reschedule(later));
        let f = Facts { dialable_from: None, ..facts("2026-03-02T10:00:00Z") };
        assert_eq!(decide(f), Fire::Fail("outside_hours"));
        // No agent yet: look again shortly, for a quarter of an hour.
        let f = Facts { agent_available: false, ..facts("2026-03-02T10:14:00Z") };
        assert_eq!(decide(f), Fire::Retry(ts("2026-03-02T10:14:02Z")));
        let f = Facts { agent_available: false, ..facts("2026-03-02T10:15:00Z") };
        assert_eq!(decide(f), Fire::Fail("no_agent_available"));
        // dialerd was down past the retention window.
        assert_eq!(decide(facts("2026-03-02T16:00:01Z")), Fire::Fail("expired"));
        assert_eq!(decide(facts("2026-03-02T15:59:59Z")), Fire::Run);
    }

    #[test]
    fn due_moves_to_the_sites_next_opening() {
        let toml = "[sip]\nlisten = \"127.0.0.1:5060\"\n[api]\nlisten = \"127.0.0.1:8080\"\n\
            keys = [\"0123456789abcdef\"]\n[media]\nprompts_dir = \".\"\n[[trunks]]\nname = \"pbx\"\n\
            address = \"127.0.0.1:5080\"\n[[click_to_call.sites]]\nkey = \"shop\"\n\
            secret = \"0123456789abcdef0\"\ntrunk = \"pbx\"\ntime_zone = \"Europe/London\"\n\
            working_hours = { mon = [\"09:00-17:00\"] }\ncalling_window = \"00:00-24:00\"\n";
        let cfg = crate::config::Config::from_toml(toml).unwrap();
        let site = &cfg.click_to_call.sites[0];
        // Monday 2026-03-02 12:00 London is open; 18:00 is not, and the
        // next opening is the Monday after.
        assert_eq!(due(ts("2026-03-02T12:00:00Z"), site, "+442071838750"), Some(ts("2026-03-02T12:00:00Z")));
        assert_eq!(due(ts("2026-03-02T18:00:00Z"), site, "+442071838750"), Some(ts("2026-03-09T09:00:00Z")));
    }
}
