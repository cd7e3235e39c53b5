//! `campaign::calendar` (`ScheduleSpec` → `Schedule`, `Window`,
//! `callee_zones`, `next_dialable`, `closed_reason`) and `campaign::gate`:
//! the two clocks and the attempt caps a campaign call must respect.
//!
//! Input: `[instant:4 BE][record zone][caps][attempts][step]`, then text
//! (lossy UTF-8) in three lines: a calling window (`HH:MM-HH:MM`), a phone
//! number, and a JSON `ScheduleSpec`. The instant is whole seconds into
//! 2000–2100; the service zone is America/New_York. `record zone % 32`
//! picks the record's `time_zone` from `ZONES` (past its end: none, so the
//! number's prefix decides); `caps` is `per_day` (low nibble) and `per_24h`
//! (high nibble); `attempts & 7` earlier attempts lie `step + 1` minutes
//! apart before the instant. A spec that does not parse, or has more than
//! `MAX_INTERVALS` intervals a day or `MAX_HOLIDAYS` holidays, falls back
//! to `Schedule::always()`, so one input stays well under a second (every
//! search looks 400 days ahead).
//!
//! Invariants: nothing panics; a valid schedule's canonical `spec()` gives
//! the same schedule back (and the same spec); a window prints (`Display`)
//! to text that parses back to it; for the schedule (in New York) and the
//! window (in every callee zone): `next_open(at)` is `at` exactly when open
//! at `at`, else later, open there and closed just before; `next_close` is
//! later than `at` and open just before it; `next_dialable` is at or after
//! `at`, within the horizon, both clocks are open there (in every zone) and
//! not all just before; `closed_reason` is `None` exactly when
//! `next_dialable` is `at`; `gate::check` says `Never` exactly when there is
//! no dialable instant, waits only until later, for the clocks until the
//! next dialable instant, and dials only when dialable with both caps free.
#![no_main]

use dialerd::campaign::calendar::{
    HORIZON_DAYS, Schedule, ScheduleSpec, Window, callee_zones, closed_reason, day_bounds, next_dialable,
};
use dialerd::campaign::gate::{self, Gate, Rules};
use dialerd::campaign::model::NumberCaps;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;

/// Record zones: DST at 02:00, at midnight, of 30 minutes and of 2 hours, a
/// skipped day (Apia, 2011-12-30), odd offsets, a name jiff does not know.
const ZONES: &[&str] = &[
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Africa/Casablanca",
    "Pacific/Kiritimati",
    "UTC",
    "Mars/Olympus_Mons",
    " ",
];

const MAX_INTERVALS: usize = 6;
const MAX_HOLIDAYS: usize = 32;
const Y2000: i64 = 946_684_800;
/// 2000-01-01 to 2100-01-01, in seconds.
const CENTURY: i64 = 36_525 * 86_400;
const NS: SignedDuration = SignedDuration::from_nanos(1);
const DAY: SignedDuration = SignedDuration::from_hours(24);
const HORIZON: SignedDuration = SignedDuration::from_hours(24 * HORIZON_DAYS);

fn small(s: &ScheduleSpec) -> bool {
    [&s.mon, &s.tue, &s.wed, &s.thu, &s.fri, &s.sat, &s.sun].iter().all(|d| d.len() <= MAX_INTERVALS)
        && s.holidays.len() <= MAX_HOLIDAYS
}

/// One clock's `is_open` / `next_open` / `next_close`, with `None` for
/// "never" and `Timestamp::MAX` for the window's "never".
fn check_clock(
    what: &str,
    at: Timestamp,
    is_open: impl Fn(Timestamp) -> bool,
    next_open: Option<Timestamp>,
    next_close: Option<Timestamp>,
) {
    let open = is_open(at);
    assert_eq!(next_open == Some(at), open, "{what} at {at}: open {open}, next_open {next_open:?}");
    if let Some(t) = next_open {
        assert!(t >= at && t <= at + HORIZON, "{what} at {at}: next_open {t}");
        assert!(is_open(t), "{what} at {at}: closed at its next_open {t}");
        assert!(t == at || !is_open(t - NS), "{what} at {at}: already open before its next_open {t}");
    }
    if let Some(c) = next_close.filter(|&c| c != Timestamp::MAX) {
        assert!(c > at, "{what} at {at}: next_close {c}");
        assert!(is_open(c - NS), "{what} at {at}: closed just before its next_close {c}");
        if let Some(t) = next_open {
            assert!(c > t, "{what} at {at}: next_close {c} not after next_open {t}");
        }
        // A stretch cut by the search horizon ends open.
        assert!(c > at + DAY * 300 || !is_open(c), "{what} at {at}: still open at its next_close {c}");
    }
}

fuzz_target!(|data: &[u8]| {
    let [t0, t1, t2, t3, zone, caps, attempts, step, rest @ ..] = data else { return };
    let secs = Y2000 + i64::from(u32::from_be_bytes([*t0, *t1, *t2, *t3])) % CENTURY;
    let at = Timestamp::from_second(secs).unwrap();
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.splitn(3, '\n');
    let (window_text, phone, json) =
        (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let ny = TimeZone::get("America/New_York").unwrap();

    let window = match Window::parse(window_text) {
        Ok(w) => {
            assert!(w.start < w.end, "{window_text:?}: {w:?}");
            let shown = w.to_string();
            assert_eq!(shown.parse::<Window>(), Ok(w), "{window_text:?} shown as {shown:?}");
            w
        }
        Err(e) => {
            assert!(!e.is_empty());
            Window::DEFAULT
        }
    };

    let schedule = match serde_json::from_str::<ScheduleSpec>(json) {
        Ok(spec) if small(&spec) => match Schedule::from_spec(&spec) {
            Ok(s) => {
                let canon = s.spec();
                let again = Schedule::from_spec(&canon);
                assert_eq!(again.as_ref(), Ok(&s), "{spec:?} -> {canon:?}");
                assert_eq!(again.unwrap().spec(), canon);
                s
            }
            Err(e) => {
                assert!(!e.field.is_empty() && !e.message.is_empty(), "{e:?}");
                Schedule::always()
            }
        },
        _ => Schedule::always(),
    };

    check_clock(
        "schedule",
        at,
        |t| schedule.is_open(&ny, t),
        schedule.next_open(&ny, at),
        schedule.next_close(&ny, at),
    );
    assert_eq!(schedule.next_close(&ny, at).is_some(), schedule.is_open(&ny, at));

    let record_tz = ZONES.get(usize::from(*zone % 32)).copied();
    let zones = callee_zones(phone, record_tz, &ny);
    assert!(!zones.is_empty(), "{phone:?} {record_tz:?}: no zone at all");
    for tz in &zones {
        let what = format!("window {window} in {:?}", tz.iana_name());
        let next = Some(window.next_open(tz, at)).filter(|&t| t != Timestamp::MAX);
        check_clock(&what, at, |t| window.is_open(tz, t), next, Some(window.next_close(tz, at)));
    }

    let all_open = |t: Timestamp| schedule.is_open(&ny, t) && zones.iter().all(|tz| window.is_open(tz, t));
    let dialable = next_dialable(at, &schedule, &ny, &window, &zones);
    if let Some(t) = dialable {
        assert!(t >= at && t <= at + HORIZON, "next_dialable at {at}: {t}");
        assert!(all_open(t), "next_dialable at {at}: {t} is closed");
        assert!(t == at || !all_open(t - NS), "next_dialable at {at}: {t} but open before");
    }
    let reason = closed_reason(at, &schedule, &ny, &window, &zones);
    assert_eq!(reason.is_none(), dialable == Some(at), "at {at}: {reason:?} vs {dialable:?}");

    let caps = NumberCaps { per_day: u32::from(caps & 15), per_24h: u32::from(caps >> 4) };
    let rules = Rules { schedule: &schedule, service_tz: &ny, window: &window, caps: &caps };
    let since = gate::attempts_since(&rules, at);
    assert!(since <= at - DAY);
    let made: Vec<Timestamp> = (1..=i64::from(attempts & 7))
        .map(|i| at - SignedDuration::from_mins(i * (i64::from(*step) + 1)))
        .filter(|&t| t >= since)
        .collect();
    match gate::check(&rules, at, phone, record_tz, &made) {
        // A zero cap allows no call at all.
        Gate::Never if caps.per_day == 0 || caps.per_24h == 0 => {}
        Gate::Never => assert_eq!(dialable, None, "gate says never"),
        Gate::Wait { until, why } => {
            assert!(until > at, "gate waits until {until} at {at} ({why})");
            match why {
                "working_hours" | "calling_window" => {
                    assert_eq!(dialable, Some(until), "gate waits for the clocks ({why})");
                    assert_eq!(why == "working_hours", !schedule.is_open(&ny, at));
                }
                "per_day_cap" | "per_24h_cap" => assert_eq!(dialable, Some(at), "gate waits for a cap ({why})"),
                _ => panic!("unknown reason {why:?}"),
            }
        }
        Gate::Dial => {
            assert_eq!(dialable, Some(at), "gate dials outside the clocks");
            let today = made.iter().filter(|&&t| t >= day_bounds(&ny, at).0).count();
            let recent = made.iter().filter(|&&t| t > at - DAY).count();
            assert!(today < caps.per_day as usize, "gate dials past the day cap ({caps:?}, {made:?})");
            assert!(recent < caps.per_24h as usize, "gate dials past the 24 h cap ({caps:?}, {made:?})");
        }
    }
});
