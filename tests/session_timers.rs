//! RFC 4028 session timers against SIPp (issue 9), on short timers
//! (`[sip] session_expires_s = 3`, `min_se_s = 1`): the far end refreshes
//! once by UPDATE and then stops (dialerd ends the session with a BYE,
//! Q.850 102, about 2 s after the last refresh); dialerd refreshes by
//! re-INVITE when it is the refresher; a 422 is retried with the far end's
//! Min-SE.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn opts() -> Opts {
    Opts { sip: "session_expires_s = 3\nmin_se_s = 1".into(), ..Default::default() }
}

/// A call whose flow would wait a minute: only the session ends it.
fn long_call(d: &Daemon) -> String {
    d.call(call_body(json!({"gather": {"max_digits": 1, "timeout_s": 60}})))
}

#[test]
fn an_unrefreshed_session_ends_with_a_bye_and_an_update_refresh_extends_it() {
    let sipp = Sipp::uas("st_uas_refreshes.xml", 1);
    let d = Daemon::start(sipp.port, opts());
    let t0 = Instant::now();
    let id = long_call(&d);
    let v = d.wait_ended(&id, Duration::from_secs(15));
    let took = t0.elapsed();
    assert_eq!(hangup_cause(&v), "session_expired", "{v}");
    assert_eq!(v["hangup_by"], "system", "{v}");
    // Expiry is 3 s − 1 s after the last refresh: the UPDATE at 1.5 s moved
    // it from 2 s to about 3.5 s.
    assert!(took >= Duration::from_millis(3300) && took < Duration::from_secs(6), "{took:?}");
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
}

#[test]
fn dialerd_refreshes_when_the_far_end_makes_it_the_refresher() {
    let sipp = Sipp::uas("st_we_refresh.xml", 1);
    let d = Daemon::start(sipp.port, opts());
    let id = long_call(&d);
    let v = d.wait_ended(&id, Duration::from_secs(15));
    // Two refreshes were answered, then the callee hung up: the session
    // never expired.
    assert_eq!((v["hangup_by"].as_str(), hangup_cause(&v).as_str()), (Some("remote"), Some("remote_bye")), "{v}");
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
}

#[test]
fn a_422_is_retried_with_the_far_ends_min_se() {
    let sipp = Sipp::uas("st_422.xml", 1);
    let d = Daemon::start(sipp.port, opts());
    let id = d.call(call_body(json!({"gather": {"max_digits": 1, "timeout_s": 0.5}})));
    let v = d.wait_ended(&id, Duration::from_secs(15));
    assert_eq!(v["disposition"], "answered", "{v}");
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
}

#[test]
fn an_inbound_session_the_caller_stops_refreshing_is_ended() {
    let mut o = opts();
    // A dialplan that would wait much longer than the session.
    o.tail = "[[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n".into();
    let d = Daemon::start(free_udp_port(), o);
    let t0 = Instant::now();
    let caller = Sipp::uac_templated("st_uac_inbound.xml", d.sip, &[("@DID@", "+15550199")]);
    assert_sipp(&caller.wait(Duration::from_secs(15)), 1);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_secs(5), "{took:?}");
    let v = d.first_logged_call(Duration::from_secs(5));
    assert_eq!(hangup_cause(&v), "session_expired", "{v}");
}
