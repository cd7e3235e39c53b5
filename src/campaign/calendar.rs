//! The two clocks a campaign call must respect, both open at once: the
//! service's weekly working hours (with holidays) in the service's zone, and
//! the legal calling window in each of the callee's possible zones.
//!
//! Time is always a parameter. Every local interval becomes a pair of
//! instants per civil day (jiff's compatible disambiguation: a 02:30 start on
//! a spring-forward day is 03:30), so DST days are exactly as long as they
//! are and nothing here counts minutes on a wall clock.

use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::tzmap;

#[cfg(test)]
mod tests;

/// How far ahead any search looks before it answers "never".
pub const HORIZON_DAYS: i64 = 400;

/// jiff's `Time` stops at 23:59:59.999999999; this stands for "24:00", the
/// start of the next day, wherever an interval ends.
const END_OF_DAY: Time = Time::MAX;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A service's working hours as the API receives them. Each weekday lists
/// `"HH:MM-HH:MM"` intervals (a missing day is closed; `24:00` may end an
/// interval; intervals must not overlap); `holidays` are `YYYY-MM-DD` dates
/// closed all day. All of it is read in the service's time zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Monday's open intervals, e.g. `["09:00-12:00", "13:00-17:30"]`.
    pub mon: Vec<String>,
    pub tue: Vec<String>,
    pub wed: Vec<String>,
    pub thu: Vec<String>,
    pub fri: Vec<String>,
    pub sat: Vec<String>,
    pub sun: Vec<String>,
    /// Dates closed all day, e.g. `["2026-12-25"]`.
    pub holidays: Vec<String>,
}

impl ScheduleSpec {
    fn days(&self) -> [&Vec<String>; 7] {
        [&self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun]
    }
}

/// A validated [`ScheduleSpec`]: per weekday (Monday first) sorted,
/// non-overlapping intervals, and sorted holidays.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    days: [Vec<(Time, Time)>; 7],
    holidays: Vec<Date>,
}

/// A schedule field that failed validation, named the way the spec names it
/// (`mon[1]`, `holidays[0]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CalendarError {
    pub field: String,
    pub message: String,
}

impl Schedule {
    pub fn from_spec(spec: &ScheduleSpec) -> Result<Schedule, CalendarError> {
        let err = |field: String, message: String| CalendarError { field, message };
        let mut days: [Vec<(Time, Time)>; 7] = Default::default();
        for ((name, list), out) in DAY_NAMES.iter().zip(spec.days()).zip(&mut days) {
            let mut parsed = Vec::with_capacity(list.len());
            for (i, s) in list.iter().enumerate() {
                let (start, end) = parse_interval(s).map_err(|m| err(format!("{name}[{i}]"), m))?;
                parsed.push((start, end, i));
            }
            parsed.sort();
            // Sorted by start, any overlap shows up between neighbours.
            for w in parsed.windows(2) {
                if w[1].0 < w[0].1 {
                    let (a, b) = (w[0].2.min(w[1].2), w[0].2.max(w[1].2));
                    return Err(err(format!("{name}[{b}]"), format!("overlaps {name}[{a}] ({:?})", list[a])));
                }
            }
            *out = parsed.into_iter().map(|(s, e, _)| (s, e)).collect();
        }
        let mut holidays = Vec::with_capacity(spec.holidays.len());
        for (i, s) in spec.holidays.iter().enumerate() {
            let date = parse_date(s)
                .ok_or_else(|| err(format!("holidays[{i}]"), format!("{s:?} is not a YYYY-MM-DD date")))?;
            holidays.push(date);
        }
        holidays.sort();
        holidays.dedup();
        Ok(Schedule { days, holidays })
    }

    /// Open around the clock, no holidays.
    pub fn always() -> Schedule {
        Schedule { days: std::array::from_fn(|_| vec![(Time::midnight(), END_OF_DAY)]), holidays: Vec::new() }
    }

    /// The canonical spec (intervals sorted, holidays sorted and unique).
    pub fn spec(&self) -> ScheduleSpec {
        let [mon, tue, wed, thu, fri, sat, sun] =
            self.days.each_ref().map(|d| d.iter().map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e))).collect());
        let holidays = self.holidays.iter().map(|d| d.to_string()).collect();
        ScheduleSpec { mon, tue, wed, thu, fri, sat, sun, holidays }
    }

    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.binary_search(&date).is_ok()
    }

    pub fn is_open(&self, tz: &TimeZone, at: Timestamp) -> bool {
        is_open(Rule::Schedule(self), tz, at)
    }

    /// First instant >= `at` when open (`at` itself if open); `None` if
    /// never open within [`HORIZON_DAYS`].
    pub fn next_open(&self, tz: &TimeZone, at: Timestamp) -> Option<Timestamp> {
        next_open(Rule::Schedule(self), tz, at)
    }

    /// When the open stretch containing `at` ends, across touching intervals
    /// and midnights; `None` if closed at `at`. A stretch longer than the
    /// horizon reports the horizon's end.
    pub fn next_close(&self, tz: &TimeZone, at: Timestamp) -> Option<Timestamp> {
        span_containing(Rule::Schedule(self), tz, at).filter(|&(s, _)| s <= at).map(|(_, e)| e)
    }
}

/// The legal calling window, the same every day in the callee's zone.
/// An `end` of `Time::MAX` stands for 24:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Time,
    pub end: Time,
}

impl Window {
    pub const DEFAULT: Window = Window { start: Time::constant(8, 0, 0, 0), end: Time::constant(21, 0, 0, 0) };

    /// Parses `"08:00-21:00"` (`24:00` allowed as the end).
    pub fn parse(s: &str) -> Result<Window, String> {
        parse_interval(s).map(|(start, end)| Window { start, end })
    }

    pub fn is_open(&self, tz: &TimeZone, at: Timestamp) -> bool {
        is_open(Rule::Window(&self.interval()), tz, at)
    }

    /// First instant >= `at` inside the window; `Timestamp::MAX` for a
    /// window that never opens (start not before end).
    pub fn next_open(&self, tz: &TimeZone, at: Timestamp) -> Timestamp {
        next_open(Rule::Window(&self.interval()), tz, at).unwrap_or(Timestamp::MAX)
    }

    /// When the window next closes: the end of the current opening if open
    /// at `at`, else of the next one (`Timestamp::MAX` if it never opens).
    pub fn next_close(&self, tz: &TimeZone, at: Timestamp) -> Timestamp {
        span_containing(Rule::Window(&self.interval()), tz, at).map_or(Timestamp::MAX, |(_, e)| e)
    }

    fn interval(&self) -> [(Time, Time); 1] {
        [(self.start, self.end)]
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::DEFAULT
    }
}

impl std::str::FromStr for Window {
    type Err = String;
    fn from_str(s: &str) -> Result<Window, String> {
        Window::parse(s)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

/// First instant >= `at` when the service schedule (in `service_tz`) and the
/// window in every zone of `callee` are all open; `None` if there is none
/// within [`HORIZON_DAYS`].
pub fn next_dialable(
    at: Timestamp,
    schedule: &Schedule,
    service_tz: &TimeZone,
    window: &Window,
    callee: &[TimeZone],
) -> Option<Timestamp> {
    let limit = horizon(at);
    let interval = window.interval();
    let mut t = at;
    // Every clock's next opening from a lower bound of the answer is again a
    // lower bound, and `t` only moves when some clock is closed at it, so the
    // first `t` at which nothing moves is the answer.
    loop {
        let candidate = next_open(Rule::Schedule(schedule), service_tz, t)?;
        if candidate > limit {
            return None;
        }
        let mut moved = candidate;
        for tz in callee {
            moved = next_open(Rule::Window(&interval), tz, moved)?;
        }
        if moved == candidate {
            return Some(candidate);
        }
        t = moved;
    }
}

/// Why a call cannot be placed at some instant, and until when that reason
/// holds (which is not yet a promise that the call can then be placed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// Outside the service's working hours; `until` is its next opening.
    Service { until: Option<Timestamp> },
    /// Outside the calling window in `zone` (the one reopening last).
    Window { zone: String, until: Timestamp },
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::Service { until: Some(t) } => write!(f, "outside the service's working hours until {t}"),
            Closed::Service { until: None } => write!(f, "outside the service's working hours for the next 400 days"),
            Closed::Window { zone, until } => write!(f, "outside the calling window in {zone} until {until}"),
        }
    }
}

/// `None` if dialable at `at`; else the service's closure first, or the
/// callee zone whose window reopens last.
pub fn closed_reason(
    at: Timestamp,
    schedule: &Schedule,
    service_tz: &TimeZone,
    window: &Window,
    callee: &[TimeZone],
) -> Option<Closed> {
    if !schedule.is_open(service_tz, at) {
        return Some(Closed::Service { until: schedule.next_open(service_tz, at) });
    }
    callee
        .iter()
        .filter(|tz| !window.is_open(tz, at))
        .map(|tz| (window.next_open(tz, at), tz))
        .max_by_key(|&(until, _)| until)
        .map(|(until, tz)| Closed::Window { zone: zone_name(tz, at), until })
}

/// The zones whose calling window applies to a callee: the record's own
/// zone if it names a known IANA zone (anything else counts as absent), else
/// every zone the number's prefix may be in, else the service's zone.
pub fn callee_zones(phone: &str, record_tz: Option<&str>, service_tz: &TimeZone) -> Vec<TimeZone> {
    let own = record_tz
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .and_then(|n| TimeZone::get(n).ok())
        .filter(|tz| !tz.is_unknown());
    if let Some(tz) = own {
        return vec![tz];
    }
    let zones = tzmap::zones_for(phone);
    if zones.is_empty() { vec![service_tz.clone()] } else { zones }
}

/// Start and end of the civil day containing `at` in `tz` (DST days are 23
/// or 25 hours; a day whose midnight falls in a gap starts after the gap).
pub fn day_bounds(tz: &TimeZone, at: Timestamp) -> (Timestamp, Timestamp) {
    let day = tz.to_datetime(at).date();
    let start = instant(tz, day, Time::midnight()).unwrap_or(Timestamp::MIN);
    let end = instant(tz, day, END_OF_DAY).unwrap_or(Timestamp::MAX);
    (start, end)
}

fn zone_name(tz: &TimeZone, at: Timestamp) -> String {
    tz.iana_name().map_or_else(|| format!("UTC{}", tz.to_offset(at)), str::to_string)
}

fn horizon(at: Timestamp) -> Timestamp {
    at.checked_add(SignedDuration::from_hours(24 * HORIZON_DAYS)).unwrap_or(Timestamp::MAX)
}

/// `HH:MM`, `HH:MM-HH:MM` and `YYYY-MM-DD` are parsed strictly so that
/// what `spec()` prints is what was accepted.
fn parse_hhmm(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    let digits = |x: &str, max_len| !x.is_empty() && x.len() <= max_len && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return None;
    }
    match (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?) {
        (24, 0) => Some(END_OF_DAY),
        (h @ 0..=23, m @ 0..=59) => Time::new(h, m, 0, 0).ok(),
        _ => None,
    }
}

fn parse_interval(s: &str) -> Result<(Time, Time), String> {
    let Some((a, b)) = s.split_once('-') else {
        return Err(format!("{s:?} is not an interval like \"09:00-17:00\""));
    };
    let start = parse_hhmm(a)
        .filter(|&t| t != END_OF_DAY)
        .ok_or_else(|| format!("bad start time {:?}; expected HH:MM from 00:00 to 23:59", a.trim()))?;
    let end = parse_hhmm(b).ok_or_else(|| format!("bad end time {:?}; expected HH:MM up to 24:00", b.trim()))?;
    if start >= end {
        return Err(format!("start {} is not before end {}", hhmm(start), hhmm(end)));
    }
    Ok((start, end))
}

fn parse_date(s: &str) -> Option<Date> {
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if shape { s.parse().ok() } else { None }
}

fn hhmm(t: Time) -> String {
    if t == END_OF_DAY {
        "24:00".to_string()
    } else if t.second() == 0 && t.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        t.strftime("%H:%M:%S%.f").to_string()
    }
}

/// The local open intervals of one civil day, for either clock.
#[derive(Clone, Copy)]
enum Rule<'a> {
    Schedule(&'a Schedule),
    Window(&'a [(Time, Time); 1]),
}

impl<'a> Rule<'a> {
    fn intervals(self, day: Date) -> &'a [(Time, Time)] {
        match self {
            Rule::Schedule(s) if s.is_holiday(day) => &[],
            Rule::Schedule(s) => &s.days[usize::from(day.weekday().to_monday_zero_offset().unsigned_abs())],
            Rule::Window(w) => w,
        }
    }
}

/// The instant a local time on `day` denotes (compatible disambiguation);
/// `END_OF_DAY` is the next day's 00:00, so touching intervals stay touching.
fn instant(tz: &TimeZone, day: Date, t: Time) -> Option<Timestamp> {
    let dt = if t == END_OF_DAY { day.tomorrow().ok()?.to_datetime(Time::midnight()) } else { day.to_datetime(t) };
    tz.to_timestamp(dt).ok()
}

/// A rule's open intervals as instants, day by day from the day before
/// `at`'s (whose intervals may reach into it) through `days` days after.
/// Intervals a DST gap emptied are dropped.
struct Spans<'a> {
    rule: Rule<'a>,
    tz: &'a TimeZone,
    next_day: Option<Date>,
    last_day: Date,
    buf: Vec<(Timestamp, Timestamp)>,
    pos: usize,
}

impl<'a> Spans<'a> {
    fn new(rule: Rule<'a>, tz: &'a TimeZone, at: Timestamp, days: i64) -> Self {
        let day = tz.to_datetime(at).date();
        let last_day = day.checked_add(days.days()).unwrap_or(Date::MAX);
        Spans { rule, tz, next_day: Some(day.yesterday().unwrap_or(day)), last_day, buf: Vec::new(), pos: 0 }
    }
}

impl Iterator for Spans<'_> {
    type Item = (Timestamp, Timestamp);

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos == self.buf.len() {
            let day = self.next_day.filter(|&d| d <= self.last_day)?;
            self.next_day = day.tomorrow().ok();
            self.buf.clear();
            self.pos = 0;
            for &(s, e) in self.rule.intervals(day) {
                if let (Some(s), Some(e)) = (instant(self.tz, day, s), instant(self.tz, day, e))
                    && s < e
                {
                    self.buf.push((s, e));
                }
            }
            // A gap can push a start past a later interval's start.
            self.buf.sort_unstable();
        }
        self.pos += 1;
        Some(self.buf[self.pos - 1])
    }
}

fn is_open(rule: Rule<'_>, tz: &TimeZone, at: Timestamp) -> bool {
    Spans::new(rule, tz, at, 1).find(|&(_, e)| e > at).is_some_and(|(s, _)| s <= at)
}

fn next_open(rule: Rule<'_>, tz: &TimeZone, at: Timestamp) -> Option<Timestamp> {
    let (s, _) = Spans::new(rule, tz, at, HORIZON_DAYS + 1).find(|&(_, e)| e > at)?;
    Some(s.max(at)).filter(|&t| t <= horizon(at))
}

/// The first merged stretch (touching or overlapping intervals joined,
/// also across midnight) that ends after `at`.
fn span_containing(rule: Rule<'_>, tz: &TimeZone, at: Timestamp) -> Option<(Timestamp, Timestamp)> {
    let mut spans = Spans::new(rule, tz, at, HORIZON_DAYS + 1).skip_while(|&(_, e)| e <= at);
    let (start, mut end) = spans.next()?;
    for (s, e) in spans {
        if s > end {
            break;
        }
        end = end.max(e);
    }
    Some((start, end))
}
