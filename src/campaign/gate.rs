//! May this record's number be dialled now? The checks a campaign makes
//! at dial time besides DNC: the service's working hours, the legal window
//! in every zone the callee may be in, and the number's attempt caps (per
//! service day and per rolling 24 hours). Pure: the wall clock and the
//! number's recent attempts are inputs, so a week of calendar runs in
//! milliseconds.

use super::calendar::{self, Schedule, Window};
use super::model::NumberCaps;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The clocks and caps of one campaign.
pub struct Rules<'a> {
    pub schedule: &'a Schedule,
    pub service_tz: &'a TimeZone,
    pub window: &'a Window,
    pub caps: &'a NumberCaps,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Dial,
    /// Not before `until`; `why` in words for logs.
    Wait {
        until: Timestamp,
        why: &'static str,
    },
    /// Never: no instant within the horizon opens both clocks.
    Never,
}

const DAY: SignedDuration = SignedDuration::from_hours(24);

/// Attempts older than this cannot matter to the caps at `now`.
pub fn attempts_since(rules: &Rules<'_>, now: Timestamp) -> Timestamp {
    calendar::day_bounds(rules.service_tz, now).0.min(now - DAY)
}

/// `attempts`: start times of the number's attempts since
/// [`attempts_since`], in any order.
pub fn check(rules: &Rules<'_>, now: Timestamp, phone: &str, record_tz: Option<&str>, attempts: &[Timestamp]) -> Gate {
    let zones = calendar::callee_zones(phone, record_tz, rules.service_tz);
    match calendar::next_dialable(now, rules.schedule, rules.service_tz, rules.window, &zones) {
        None => return Gate::Never,
        Some(t) if t > now => {
            let why = if rules.schedule.is_open(rules.service_tz, now) { "calling_window" } else { "working_hours" };
            return Gate::Wait { until: t, why };
        }
        Some(_) => {}
    }
    if rules.caps.per_day == 0 || rules.caps.per_24h == 0 {
        // A cap of zero allows no call at all (the API refuses it; stored
        // settings from elsewhere must not panic).
        return Gate::Never;
    }
    let (day_start, day_end) = calendar::day_bounds(rules.service_tz, now);
    let today = attempts.iter().filter(|t| **t >= day_start).count();
    if today >= rules.caps.per_day as usize {
        return Gate::Wait { until: day_end + SignedDuration::from_nanos(1), why: "per_day_cap" };
    }
    let mut recent: Vec<Timestamp> = attempts.iter().copied().filter(|t| *t > now - DAY).collect();
    let cap = rules.caps.per_24h as usize;
    if recent.len() >= cap {
        recent.sort();
        // The cap frees when the oldest attempt that still counts is 24 h old.
        let frees = recent[recent.len() - cap] + DAY + SignedDuration::from_millis(1);
        return Gate::Wait { until: frees, why: "per_24h_cap" };
    }
    Gate::Dial
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::calendar::ScheduleSpec;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn weekdays_9_to_17() -> Schedule {
        let day = vec!["09:00-17:00".to_string()];
        let spec = ScheduleSpec {
            mon: day.clone(),
            tue: day.clone(),
            wed: day.clone(),
            thu: day.clone(),
            fri: day,
            holidays: vec!["2026-11-26".into()],
            ..Default::default()
        };
        Schedule::from_spec(&spec).unwrap()
    }

    #[test]
    fn a_zero_cap_never_dials_and_does_not_panic() {
        let (schedule, tz, window) = (Schedule::always(), TimeZone::UTC, Window::DEFAULT);
        for caps in [NumberCaps { per_day: 5, per_24h: 0 }, NumberCaps { per_day: 0, per_24h: 5 }] {
            let r = Rules { schedule: &schedule, service_tz: &tz, window: &window, caps: &caps };
            let now = at("2025-10-08T20:46:33Z");
            assert_eq!(check(&r, now, "+15555550100", Some("UTC"), &[now - SignedDuration::from_mins(2)]), Gate::Never);
        }
    }

    #[test]
    fn both_clocks_then_the_caps() {
        let schedule = weekdays_9_to_17();
        let tz = TimeZone::get("America/New_York").unwrap();
        let window = Window::DEFAULT;
        let caps = NumberCaps { per_day: 2, per_24h: 3 };
        let r = Rules { schedule: &schedule, service_tz: &tz, window: &window, caps: &caps };
        // Monday 2026-11-23 07:00 New York: the service is closed.
        let g = check(&r, at("2026-11-23T12:00Z"), "+12125550100", None, &[]);
        assert_eq!(g, Gate::Wait { until: at("2026-11-23T14:00Z"), why: "working_hours" });
        // 10:00 New York is 07:00 in Los Angeles: the callee's window waits.
        let g = check(&r, at("2026-11-23T15:00Z"), "+14155550100", None, &[]);
        assert_eq!(g, Gate::Wait { until: at("2026-11-23T16:00Z"), why: "calling_window" });
        // A record's own zone wins over its number's.
        let g = check(&r, at("2026-11-23T15:00Z"), "+14155550100", Some("America/New_York"), &[]);
        assert_eq!(g, Gate::Dial);
        // Two attempts today: tomorrow (Tuesday 09:00 after the day cap frees).
        let today = [at("2026-11-23T14:10Z"), at("2026-11-23T14:40Z")];
        let g = check(&r, at("2026-11-23T16:00Z"), "+12125550100", None, &today);
        assert_eq!(g, Gate::Wait { until: at("2026-11-24T05:00:00.000000001Z"), why: "per_day_cap" });
        // Three in the last 24 h across midnight: the rolling cap.
        let rolling = [at("2026-11-23T21:30Z"), at("2026-11-23T21:50Z"), at("2026-11-24T14:05Z")];
        let g = check(&r, at("2026-11-24T14:30Z"), "+12125550100", None, &rolling);
        assert_eq!(g, Gate::Wait { until: at("2026-11-24T21:30:00.001Z"), why: "per_24h_cap" });
    }

    /// A week on a virtual clock, one-minute steps: a number is dialled
    /// whenever the gate says so (and the call takes a minute). No call
    /// falls outside working hours, the window, a holiday or the caps.
    #[test]
    fn a_week_of_dialling_never_breaks_a_rule() {
        let schedule = weekdays_9_to_17();
        let tz = TimeZone::get("America/New_York").unwrap();
        let window = Window::parse("10:00-20:00").unwrap();
        let caps = NumberCaps { per_day: 3, per_24h: 4 };
        let r = Rules { schedule: &schedule, service_tz: &tz, window: &window, caps: &caps };
        // The last has no known area code: every NANP zone, Guam to Pago
        // Pago, would have to be inside 10:00-20:00 at once, which never
        // happens, so it is never dialled (legally safe by construction).
        let phones = ["+12125550100", "+14155550100", "+13125550100", "+15555550100"];
        let mut calls: Vec<Vec<Timestamp>> = vec![Vec::new(); phones.len()];
        let mut next_try = vec![at("2026-11-22T00:00Z"); phones.len()];
        let mut now = at("2026-11-22T00:00Z");
        let end = now + SignedDuration::from_hours(7 * 24);
        let mut gate_calls = 0;
        while now < end {
            for (i, phone) in phones.iter().enumerate() {
                if now < next_try[i] {
                    continue;
                }
                let since = attempts_since(&r, now);
                let recent: Vec<Timestamp> = calls[i].iter().copied().filter(|t| *t >= since).collect();
                gate_calls += 1;
                match check(&r, now, phone, None, &recent) {
                    Gate::Dial => {
                        calls[i].push(now);
                        next_try[i] = now + SignedDuration::from_mins(1);
                    }
                    Gate::Wait { until, .. } => {
                        assert!(until > now);
                        next_try[i] = until;
                    }
                    Gate::Never => next_try[i] = end,
                }
            }
            now += SignedDuration::from_mins(1);
        }
        assert!(gate_calls < 2_000, "waits jump ahead instead of polling: {gate_calls}");
        assert!(calls[3].is_empty(), "an unknown +1 area code is never inside every zone's window");
        for (i, made) in calls.iter().enumerate().take(3) {
            assert!(!made.is_empty(), "{} was never dialled", phones[i]);
            for t in made {
                let ny = tz.to_datetime(*t);
                assert!(schedule.is_open(&tz, *t), "{} outside working hours at {ny}", phones[i]);
                assert_ne!(ny.date().to_string(), "2026-11-26", "a call on the holiday");
                let zone = TimeZone::get(["America/New_York", "America/Los_Angeles", "America/Chicago"][i]).unwrap();
                assert!(window.is_open(&zone, *t), "{} outside its window at {}", phones[i], zone.to_datetime(*t));
                let same_day = made.iter().filter(|u| tz.to_datetime(**u).date() == ny.date()).count();
                assert!(same_day <= 3, "day cap");
                let last_24h = made.iter().filter(|u| **u <= *t && **u > *t - DAY).count();
                assert!(last_24h <= 4, "rolling cap");
            }
        }
    }
}
