use super::*;
use jiff::civil::DateTime;
use proptest::prelude::*;

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

/// A local wall-clock time in `zone` (compatible disambiguation).
fn local(zone: &str, dt: &str) -> Timestamp {
    tz(zone).to_timestamp(dt.parse::<DateTime>().unwrap()).unwrap()
}

fn utc(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ny(dt: &str) -> Timestamp {
    local("America/New_York", dt)
}

fn schedule(json: &str) -> Schedule {
    let spec: ScheduleSpec = serde_json::from_str(json).unwrap();
    Schedule::from_spec(&spec).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn spec_error(json: &str) -> CalendarError {
    Schedule::from_spec(&serde_json::from_str(json).unwrap()).unwrap_err()
}

fn office() -> Schedule {
    schedule(
        r#"{"mon": ["09:00-12:00", "13:00-17:30"], "tue": ["09:00-12:00", "13:00-17:30"],
            "wed": ["09:00-17:30"], "thu": ["09:00-17:30"], "fri": ["09:00-17:30"],
            "sat": ["10:00-14:00"], "holidays": ["2026-03-10"]}"#,
    )
}

#[test]
fn parse_errors_name_the_field() {
    let e = spec_error(r#"{"mon": ["09:00-12:00", "11:00-13:00"]}"#);
    assert_eq!(e.field, "mon[1]", "{e}");
    assert!(e.message.contains("overlaps mon[0]"), "{e}");
    let e = spec_error(r#"{"mon": ["11:00-13:00", "09:00-12:00"]}"#);
    assert_eq!(e.field, "mon[1]", "{e}");
    assert_eq!(spec_error(r#"{"tue": ["25:00-26:00"]}"#).field, "tue[0]");
    assert_eq!(spec_error(r#"{"tue": ["09:60-10:00"]}"#).field, "tue[0]");
    assert_eq!(spec_error(r#"{"tue": ["9-17"]}"#).field, "tue[0]");
    assert_eq!(spec_error(r#"{"sat": ["24:00-24:00"]}"#).field, "sat[0]");
    let e = spec_error(r#"{"wed": ["09:00-10:00", "12:00-09:00"]}"#);
    assert_eq!((e.field.as_str(), e.message.as_str()), ("wed[1]", "start 12:00 is not before end 09:00"));
    assert_eq!(spec_error(r#"{"sun": ["12:00-12:00"]}"#).field, "sun[0]");
    assert_eq!(spec_error(r#"{"holidays": ["2026-12-25", "2026-02-30"]}"#).field, "holidays[1]");
    assert_eq!(spec_error(r#"{"holidays": ["25/12/2026"]}"#).field, "holidays[0]");
    let unknown = serde_json::from_str::<ScheduleSpec>(r#"{"monday": ["09:00-17:00"]}"#).unwrap_err();
    assert!(unknown.to_string().contains("unknown field `monday`"), "{unknown}");
    assert_eq!(e.to_string(), "wed[1]: start 12:00 is not before end 09:00");
}

#[test]
fn spec_round_trips_canonically() {
    let s = schedule(
        r#"{"mon": ["13:00-17:30", "9:00-12:00", "12:00-13:00"], "fri": ["17:00-24:00"],
            "holidays": ["2026-12-25", "2026-01-01", "2026-12-25"]}"#,
    );
    let spec = s.spec();
    assert_eq!(spec.mon, ["09:00-12:00", "12:00-13:00", "13:00-17:30"]);
    assert_eq!(spec.fri, ["17:00-24:00"]);
    assert!(spec.tue.is_empty() && spec.sun.is_empty());
    assert_eq!(spec.holidays, ["2026-01-01", "2026-12-25"]);
    assert_eq!(Schedule::from_spec(&spec).unwrap(), s);
    assert_eq!(Schedule::always().spec().wed, ["00:00-24:00"]);
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(serde_json::from_str::<ScheduleSpec>(&json).unwrap(), spec);
}

#[test]
fn a_week_in_new_york() {
    let s = office();
    let z = tz("America/New_York");
    // Mon 2026-03-09 .. Sun 2026-03-15; Tue the 10th is a holiday.
    assert!(!s.is_open(&z, ny("2026-03-09T08:59:59")));
    assert!(s.is_open(&z, ny("2026-03-09T09:00")));
    assert!(!s.is_open(&z, ny("2026-03-09T12:00")));
    assert_eq!(s.next_open(&z, ny("2026-03-09T12:30")), Some(ny("2026-03-09T13:00")));
    assert_eq!(s.next_close(&z, ny("2026-03-09T10:00")), Some(ny("2026-03-09T12:00")));
    assert_eq!(s.next_close(&z, ny("2026-03-09T12:30")), None);
    assert!(!s.is_open(&z, ny("2026-03-10T10:00")), "holiday");
    assert_eq!(s.next_open(&z, ny("2026-03-09T18:00")), Some(ny("2026-03-11T09:00")));
    assert_eq!(s.next_close(&z, ny("2026-03-11T09:00")), Some(ny("2026-03-11T17:30")));
    assert_eq!(s.next_open(&z, ny("2026-03-13T17:30")), Some(ny("2026-03-14T10:00")));
    assert_eq!(s.next_open(&z, ny("2026-03-14T14:00")), Some(ny("2026-03-16T09:00")));
    assert_eq!(s.next_open(&z, ny("2026-03-11T10:15:07")), Some(ny("2026-03-11T10:15:07")));
    // The same wall clock is a different instant elsewhere.
    assert!(s.is_open(&z, ny("2026-03-11T14:00")) && !s.is_open(&tz("Europe/London"), ny("2026-03-11T14:00")));
}

#[test]
fn spring_forward_day() {
    let z = tz("America/New_York");
    let s = schedule(r#"{"sun": ["01:00-03:00", "09:00-17:00"], "mon": ["02:30-04:00"]}"#);
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    let (start, end) = day_bounds(&z, utc("2026-03-08T12:00Z"));
    assert_eq!((start, end), (utc("2026-03-08T05:00Z"), utc("2026-03-09T04:00Z")));
    assert_eq!(end.duration_since(start), SignedDuration::from_hours(23));
    assert_eq!(s.next_open(&z, utc("2026-03-08T05:00Z")), Some(utc("2026-03-08T06:00Z")));
    // 01:00 EST to 03:00 EDT is one real hour.
    assert_eq!(s.next_close(&z, utc("2026-03-08T06:00Z")), Some(utc("2026-03-08T07:00Z")));
    // 09:00 is 09:00 EDT.
    assert_eq!(s.next_open(&z, utc("2026-03-08T07:00Z")), Some(utc("2026-03-08T13:00Z")));
    assert_eq!(s.next_close(&z, utc("2026-03-08T13:00Z")), Some(utc("2026-03-08T21:00Z")));

    // A 02:30 start on the gap day of a zone is 03:30; outside it, normal.
    let gap = Schedule::from_spec(&ScheduleSpec { sun: vec!["02:30-04:00".into()], ..Default::default() }).unwrap();
    assert_eq!(gap.next_open(&z, utc("2026-03-08T05:00Z")), Some(utc("2026-03-08T07:30Z")));
    assert_eq!(gap.next_close(&z, utc("2026-03-08T07:30Z")), Some(utc("2026-03-08T08:00Z")));
    assert_eq!(gap.next_open(&z, utc("2026-03-14T05:00Z")), Some(utc("2026-03-15T06:30Z")));
    // An interval wholly inside the gap moves past it, keeping its length.
    let moved = Schedule::from_spec(&ScheduleSpec { sun: vec!["02:10-02:50".into()], ..Default::default() }).unwrap();
    assert_eq!(moved.next_open(&z, utc("2026-03-08T05:00Z")), Some(utc("2026-03-08T07:10Z")));
    assert_eq!(moved.next_close(&z, utc("2026-03-08T07:10Z")), Some(utc("2026-03-08T07:50Z")));
    // One straddling the jump loses the skipped hour.
    let cut = Schedule::from_spec(&ScheduleSpec { sun: vec!["01:30-03:30".into()], ..Default::default() }).unwrap();
    assert_eq!(cut.next_close(&z, utc("2026-03-08T06:30Z")), Some(utc("2026-03-08T07:30Z")));
}

#[test]
fn fall_back_day() {
    let z = tz("America/New_York");
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    let (start, end) = day_bounds(&z, utc("2026-11-01T12:00Z"));
    assert_eq!(end.duration_since(start), SignedDuration::from_hours(25));
    let s = schedule(r#"{"sun": ["00:00-03:00", "09:00-17:00"]}"#);
    assert_eq!(s.next_close(&z, utc("2026-11-01T04:00Z")), Some(utc("2026-11-01T08:00Z")));
    // Both 01:30s are inside 00:00-03:00.
    assert!(s.is_open(&z, utc("2026-11-01T05:30Z")) && s.is_open(&z, utc("2026-11-01T06:30Z")));
    assert_eq!(s.next_open(&z, utc("2026-11-01T08:00Z")), Some(utc("2026-11-01T14:00Z")));
    // A start in the fold is its first occurrence; an end in it, too.
    let fold = schedule(r#"{"sun": ["01:30-02:00"]}"#);
    assert_eq!(fold.next_open(&z, utc("2026-11-01T04:00Z")), Some(utc("2026-11-01T05:30Z")));
    assert_eq!(fold.next_close(&z, utc("2026-11-01T05:30Z")), Some(utc("2026-11-01T07:00Z")));
}

#[test]
fn midnight_ends_merge_and_always_is_open() {
    let z = tz("America/New_York");
    let s = schedule(r#"{"fri": ["17:00-24:00"], "sat": ["00:00-02:00", "02:00-03:00", "09:00-10:00"]}"#);
    assert_eq!(s.next_close(&z, ny("2026-03-13T18:00")), Some(ny("2026-03-14T03:00")));
    assert!(s.is_open(&z, ny("2026-03-13T23:59:59")) && s.is_open(&z, ny("2026-03-14T00:00")));
    assert!(!s.is_open(&z, ny("2026-03-14T03:00")));
    let all = Schedule::always();
    let at = ny("2026-03-08T02:59");
    assert!(all.is_open(&z, at));
    assert_eq!(all.next_open(&z, at), Some(at));
    assert!(all.next_close(&z, at).unwrap() >= horizon(at));
    let never = Schedule::from_spec(&ScheduleSpec::default()).unwrap();
    assert_eq!(never.next_open(&z, at), None);
    assert_eq!(never.next_close(&z, at), None);
}

#[test]
fn window_depends_on_the_zone() {
    let w = Window::DEFAULT;
    assert_eq!(w.to_string(), "08:00-21:00");
    assert_eq!(Window::parse("08:00-21:00"), Ok(w));
    assert_eq!("8:00-24:00".parse::<Window>().unwrap().to_string(), "08:00-24:00");
    assert!(Window::parse("21:00-08:00").is_err() && Window::parse("08:00").is_err());
    let (jlm, la) = (tz("Asia/Jerusalem"), tz("America/Los_Angeles"));
    let at = utc("2026-06-15T12:00Z"); // 15:00 in Jerusalem, 05:00 in Los Angeles
    assert!(w.is_open(&jlm, at) && !w.is_open(&la, at));
    assert_eq!(w.next_open(&jlm, at), at);
    assert_eq!(w.next_open(&la, at), utc("2026-06-15T15:00Z"));
    assert_eq!(w.next_close(&jlm, at), utc("2026-06-15T18:00Z"));
    assert_eq!(w.next_close(&la, at), utc("2026-06-16T04:00Z"));
    let empty = Window { start: w.end, end: w.start };
    assert!(!empty.is_open(&la, at));
    assert_eq!(empty.next_open(&la, at), Timestamp::MAX);
}

fn weekdays_9_to_5() -> Schedule {
    schedule(
        r#"{"mon": ["09:00-17:00"], "tue": ["09:00-17:00"], "wed": ["09:00-17:00"],
            "thu": ["09:00-17:00"], "fri": ["09:00-17:00"]}"#,
    )
}

#[test]
fn dialable_needs_both_clocks() {
    let s = weekdays_9_to_5();
    let (nyz, la) = (tz("America/New_York"), tz("America/Los_Angeles"));
    let w = Window::DEFAULT;
    let at = ny("2026-06-15T06:00");
    assert_eq!(next_dialable(at, &s, &nyz, &w, std::slice::from_ref(&la)), Some(ny("2026-06-15T11:00")));
    assert_eq!(next_dialable(at, &s, &nyz, &w, &[nyz.clone(), la.clone()]), Some(ny("2026-06-15T11:00")));
    assert_eq!(next_dialable(at, &s, &nyz, &w, std::slice::from_ref(&nyz)), Some(ny("2026-06-15T09:00")));
    let c = [la];
    // Friday after 17:00 waits for Monday.
    assert_eq!(next_dialable(ny("2026-06-19T17:00"), &s, &nyz, &w, &c), Some(ny("2026-06-22T11:00")));

    assert_eq!(closed_reason(at, &s, &nyz, &w, &c), Some(Closed::Service { until: Some(ny("2026-06-15T09:00")) }));
    let why = closed_reason(ny("2026-06-15T10:00"), &s, &nyz, &w, &c).unwrap();
    assert_eq!(why, Closed::Window { zone: "America/Los_Angeles".into(), until: ny("2026-06-15T11:00") });
    assert!(why.to_string().contains("calling window in America/Los_Angeles"), "{why}");
    assert_eq!(closed_reason(ny("2026-06-15T11:00"), &s, &nyz, &w, &c), None);

    let late = schedule(
        r#"{"mon": ["22:00-23:00"], "tue": ["22:00-23:00"], "wed": ["22:00-23:00"], "thu": ["22:00-23:00"],
            "fri": ["22:00-23:00"], "sat": ["22:00-23:00"], "sun": ["22:00-23:00"]}"#,
    );
    assert_eq!(next_dialable(at, &late, &nyz, &w, std::slice::from_ref(&nyz)), None);
    // Yet a callee far enough east is in its window then.
    let t = next_dialable(at, &late, &nyz, &w, &[tz("Asia/Tokyo")]).unwrap();
    assert!(t >= at && late.is_open(&nyz, t));
}

#[test]
fn many_zones_must_all_be_open() {
    let nyz = tz("America/New_York");
    let zones = callee_zones("+1999", None, &nyz);
    assert!(zones.len() > 30, "{}", zones.len());
    let at = ny("2026-06-15T06:00");
    let t = next_dialable(at, &Schedule::always(), &nyz, &Window::DEFAULT, &zones).unwrap();
    assert!(zones.iter().all(|z| Window::DEFAULT.is_open(z, t)));
    let before = t.checked_sub(SignedDuration::from_nanos(1)).unwrap();
    assert!(zones.iter().any(|z| !Window::DEFAULT.is_open(z, before)));
}

#[test]
fn callee_zone_precedence() {
    let service = tz("Europe/London");
    let names = |zones: Vec<TimeZone>| zones.iter().map(|z| z.iana_name().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(callee_zones("+12125550100", Some("Asia/Tokyo"), &service)), ["Asia/Tokyo"]);
    assert_eq!(names(callee_zones("+12125550100", Some("Mars/Olympus"), &service)), ["America/New_York"]);
    assert_eq!(names(callee_zones("+12125550100", Some(" "), &service)), ["America/New_York"]);
    assert_eq!(names(callee_zones("+12125550100", None, &service)), ["America/New_York"]);
    assert_eq!(names(callee_zones("02012345678", None, &service)), ["Europe/London"]);
    assert_eq!(names(callee_zones("+999", Some("nonsense"), &service)), ["Europe/London"]);
}

#[test]
fn a_week_of_minutes() {
    let s = weekdays_9_to_5();
    let nyz = tz("America/New_York");
    let callee = [nyz.clone(), tz("America/Los_Angeles")];
    let mut at = ny("2026-03-05T00:00"); // spans the spring-forward weekend
    let mut last = at;
    for _ in 0..7 * 24 * 60 {
        let t = next_dialable(at, &s, &nyz, &Window::DEFAULT, &callee).unwrap();
        assert!(t >= at && t >= last);
        last = t;
        at = at.checked_add(SignedDuration::from_mins(1)).unwrap();
    }
}

const ZONES: [&str; 7] = [
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Jerusalem",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

fn hm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn arb_day() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(0u16..=1440, 0..7).prop_map(|b| {
        let b: Vec<u16> = b.into_iter().collect();
        b.chunks_exact(2).map(|p| format!("{}-{}", hm(p[0]), hm(p[1]))).collect()
    })
}

fn arb_schedule() -> impl Strategy<Value = Schedule> {
    (prop::collection::vec(arb_day(), 7), prop::collection::vec(0i16..365, 0..3)).prop_map(|(d, hol)| {
        let holidays = hol.iter().map(|&n| (Date::constant(2026, 1, 1) + n.days()).to_string()).collect();
        let spec = ScheduleSpec {
            mon: d[0].clone(),
            tue: d[1].clone(),
            wed: d[2].clone(),
            thu: d[3].clone(),
            fri: d[4].clone(),
            sat: d[5].clone(),
            sun: d[6].clone(),
            holidays,
        };
        Schedule::from_spec(&spec).unwrap()
    })
}

fn arb_window() -> impl Strategy<Value = Window> {
    (0u16..1440, 1u16..=1440).prop_filter_map("empty", |(a, len)| {
        let end = a + len;
        (end <= 1440).then(|| Window::parse(&format!("{}-{}", hm(a), hm(end))).unwrap())
    })
}

/// Instants across 2026, half of them near the US and EU DST changes.
fn arb_instant() -> impl Strategy<Value = Timestamp> {
    let base = utc("2026-01-01T00:00Z").as_second();
    let near = |day: &str| {
        let s = utc(day).as_second();
        (s - 3 * 86_400)..(s + 3 * 86_400)
    };
    prop_oneof![
        base..base + 365 * 86_400,
        near("2026-03-08T07:00Z"),
        near("2026-03-29T01:00Z"),
        near("2026-10-25T01:00Z"),
        near("2026-11-01T06:00Z"),
        near("2026-04-05T00:00Z"),
    ]
    .prop_map(|s| Timestamp::from_second(s).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn next_dialable_is_the_first_open_instant(
        s in arb_schedule(),
        w in arb_window(),
        at in arb_instant(),
        service in 0..ZONES.len(),
        callee in prop::collection::btree_set(0..ZONES.len(), 1..4),
    ) {
        let service = tz(ZONES[service]);
        let callee: Vec<TimeZone> = callee.into_iter().map(|i| tz(ZONES[i])).collect();
        let open = |t: Timestamp| s.is_open(&service, t) && callee.iter().all(|z| w.is_open(z, t));
        let found = next_dialable(at, &s, &service, &w, &callee);
        prop_assert_eq!(closed_reason(at, &s, &service, &w, &callee).is_none(), found == Some(at));
        if let Some(t) = found {
            prop_assert!(t >= at && open(t));
            let before = t.checked_sub(SignedDuration::from_nanos(1)).unwrap();
            prop_assert!(t == at || !open(before), "open just before {}", t);
        }
        let end = found.unwrap_or(Timestamp::MAX);
        let mut probe = at;
        for _ in 0..3 * 24 * 60 {
            if probe >= end {
                break;
            }
            prop_assert!(!open(probe), "open at {} before the answer {:?}", probe, found);
            probe = probe.checked_add(SignedDuration::from_mins(1)).unwrap();
        }
    }
}
