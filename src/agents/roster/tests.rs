use super::*;

fn id(s: &str) -> AgentId {
    AgentId(s.into())
}

#[test]
fn busy_is_derived_from_dialerds_own_calls() {
    let t0 = Instant::now();
    let mut r = Roster::new([id("a"), id("b")], t0);
    let members = [id("a"), id("b")];
    assert_eq!(r.candidates(&members).len(), 2);
    r.offered(&id("a")).unwrap();
    assert_eq!(r.status(&id("a")), Some(Status::Busy), "ringing counts as busy");
    assert_eq!(r.candidates(&members).iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![id("b")]);
    r.answered(&id("a"), Duration::from_secs(4), t0 + Duration::from_secs(4)).unwrap();
    r.call_ended(&id("a"), Duration::from_secs(60), t0 + Duration::from_secs(64)).unwrap();
    assert_eq!(r.status(&id("a")), Some(Status::Available));
    assert_eq!(r.candidates(&members)[0].idle_since, t0 + Duration::from_secs(64), "idle since the call ended");
    // Paused and offline agents are not offered calls; busy cannot be set.
    r.set_status(&id("b"), Status::Paused, t0).unwrap();
    r.set_status(&id("a"), Status::Busy, t0).unwrap();
    assert_eq!(r.status(&id("a")), Some(Status::Available));
    assert_eq!(r.candidates(&members).len(), 1);
    assert_eq!(r.set_status(&id("zz"), Status::Offline, t0), Err(RosterError::Unknown(id("zz"))));
    assert_eq!(Status::parse_settable("busy"), None);
}

#[test]
fn operator_metrics() {
    let t0 = Instant::now();
    let mut r = Roster::new([id("a"), id("b")], t0);
    let s = |n| t0 + Duration::from_secs(n);
    // a: answers after 2 s, talks 30 s; answers after 4 s, talks 90 s; misses one.
    r.offered(&id("a")).unwrap();
    r.answered(&id("a"), Duration::from_secs(2), s(2)).unwrap();
    r.call_ended(&id("a"), Duration::from_secs(30), s(32)).unwrap();
    r.offered(&id("a")).unwrap();
    r.missed(&id("a")).unwrap();
    r.offered(&id("a")).unwrap();
    r.answered(&id("a"), Duration::from_secs(4), s(40)).unwrap();
    r.call_ended(&id("a"), Duration::from_secs(90), s(130)).unwrap();
    // b logs off half way.
    r.set_status(&id("b"), Status::Offline, s(100)).unwrap();
    let a = r.report(&id("a"), s(200)).unwrap();
    assert_eq!((a.offered, a.answered, a.missed), (3, 2, 1));
    assert!((a.asa_s - 3.0).abs() < 1e-9 && (a.aht_s - 60.0).abs() < 1e-9, "{a:?}");
    assert!((a.occupancy - 120.0 / 200.0).abs() < 1e-9, "30 s + 90 s on calls of 200 s logged in: {a:?}");
    let b = r.report(&id("b"), s(200)).unwrap();
    assert_eq!((b.offered, b.occupancy), (0, 0.0));
    // Logging in again resumes the logged-in clock.
    r.set_status(&id("b"), Status::Available, s(300)).unwrap();
    r.offered(&id("b")).unwrap();
    r.answered(&id("b"), Duration::from_secs(1), s(301)).unwrap();
    let b = r.report(&id("b"), s(351)).unwrap();
    assert!((b.occupancy - 50.0 / 151.0).abs() < 1e-9, "{b:?}");
    let g = r.group_report(&[id("a"), id("b")], s(351));
    assert_eq!((g.offered, g.answered, g.missed), (4, 3, 1));
    assert!((g.asa_s - 7.0 / 3.0).abs() < 1e-9 && (g.aht_s - 60.0).abs() < 1e-9, "{g:?}");
    assert!(r.report(&id("nobody"), s(1)).is_none());
}
