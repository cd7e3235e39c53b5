//! Trunk groups and ordered failover (issue 8) against real SIPp trunks: a
//! call to a `[[trunk_groups]]` tries its trunks in order and moves on at a
//! 503 (pausing that trunk for its Retry-After), at a 408/5xx, or when no
//! provisional response comes within the group's short timer; never at a
//! 486, a 6xx, or after answer. A trunk its keepalive marks down is skipped.

mod common;

use common::leads::wait_for;
use common::*;
use serde_json::{Value, json};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// The daemon with trunk `sipp` (first) and `second`, grouped as `carriers`.
fn daemon(first_port: u16, second_port: u16, extra: &str) -> Daemon {
    let tail = format!(
        "[[trunks]]\nname = \"second\"\naddress = \"127.0.0.1:{second_port}\"\n\
         [[trunk_groups]]\nname = \"carriers\"\ntrunks = [\"sipp\", \"second\"]\n{extra}"
    );
    Daemon::start(first_port, Opts { tail, ..Default::default() })
}

fn failovers(v: &Value) -> Vec<&Value> {
    v["events"].as_array().unwrap().iter().filter(|e| e["type"] == "failover").collect()
}

#[test]
fn a_503_moves_the_call_to_the_next_trunk_and_pauses_the_first() {
    let first = Sipp::uas("unavailable.xml", 1);
    let second = Sipp::uas("answer_wait_bye.xml", 2);
    let d = daemon(first.port, second.port, "");
    let id = d.call(call_body(json!({"trunk": "carriers"})));
    let v = d.wait_ended(&id, Duration::from_secs(15));
    assert_eq!((v["disposition"].as_str(), v["trunk"].as_str()), (Some("answered"), Some("second")), "{v}");
    let f = failovers(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!((f[0]["from_trunk"].as_str(), f[0]["to_trunk"].as_str()), (Some("sipp"), Some("second")));
    assert_eq!(f[0]["sip_status"], 503);
    assert_sipp(&first.wait(Duration::from_secs(10)), 1);
    assert_eq!(d.metric("dialerd_trunk_failovers_total", "trunk=\"sipp\""), 1.0);
    assert_eq!(d.metric("dialerd_trunk_paused", "trunk=\"sipp\""), 1.0, "Retry-After: 30 pauses it");

    // The first trunk is paused: the next call goes straight to the second.
    let id = d.call(call_body(json!({"trunk": "carriers"})));
    let v = d.wait_ended(&id, Duration::from_secs(15));
    assert_eq!((v["trunk"].as_str(), failovers(&v).len()), (Some("second"), 0), "{v}");
    assert_sipp(&second.wait(Duration::from_secs(10)), 2);
}

#[test]
fn a_486_or_a_603_is_the_callees_answer_and_ends_the_call() {
    for (scenario, status) in [("busy.xml", 486), ("decline.xml", 603)] {
        let first = Sipp::uas(scenario, 1);
        let second = UdpSocket::bind("127.0.0.1:0").unwrap();
        second.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let d = daemon(first.port, second.local_addr().unwrap().port(), "");
        let id = d.call(call_body(json!({"trunk": "carriers"})));
        let v = d.wait_ended(&id, Duration::from_secs(15));
        assert_eq!((v["sip_status"].as_u64(), v["trunk"].as_str()), (Some(status), Some("sipp")), "{v}");
        assert!(failovers(&v).is_empty(), "{v}");
        let mut buf = [0u8; 2048];
        assert!(second.recv_from(&mut buf).is_err(), "{status}: the second trunk got nothing");
        assert_sipp(&first.wait(Duration::from_secs(10)), 1);
    }
}

#[test]
fn a_silent_trunk_is_left_after_the_provisional_timer_not_timer_b() {
    // Bound but mute: INVITEs go nowhere, not even a 100 Trying.
    let mute = UdpSocket::bind("127.0.0.1:0").unwrap();
    let second = Sipp::uas("answer_wait_bye.xml", 1);
    let d = daemon(mute.local_addr().unwrap().port(), second.port, "provisional_timeout_s = 0.4\n");
    let t0 = Instant::now();
    let id = d.call(call_body(json!({"trunk": "carriers"})));
    // The inline flow hangs up at answer: the end is the answer's time.
    let v = d.wait_ended(&id, Duration::from_secs(10));
    let took = t0.elapsed();
    assert_eq!((v["disposition"].as_str(), v["trunk"].as_str()), (Some("answered"), Some("second")), "{v}");
    // Timer B here is 64 × 50 ms = 3.2 s; the group's timer is 0.4 s.
    assert!(took >= Duration::from_millis(400) && took < Duration::from_millis(2500), "{took:?}");
    let f = failovers(&v);
    assert_eq!((f.len(), f[0]["sip_status"].is_null()), (1, true), "{v}");
    assert!(f[0]["reason"].as_str().unwrap().contains("no provisional response within 400 ms"), "{v}");
    assert_sipp(&second.wait(Duration::from_secs(10)), 1);
}

#[test]
fn a_trunk_its_keepalive_marks_down_is_skipped() {
    let mute = UdpSocket::bind("127.0.0.1:0").unwrap();
    let second = Sipp::uas("answer_wait_bye.xml", 1);
    let d = Daemon::start(
        mute.local_addr().unwrap().port(),
        Opts {
            trunk: "keepalive_interval_s = 0.1\nkeepalive_failures = 2\nkeepalive_timeout_s = 0.1".into(),
            tail: format!(
                "[[trunks]]\nname = \"second\"\naddress = \"127.0.0.1:{}\"\n\
                 [[trunk_groups]]\nname = \"carriers\"\ntrunks = [\"sipp\", \"second\"]\n",
                second.port
            ),
            ..Default::default()
        },
    );
    wait_for("the first trunk down", Duration::from_secs(5), || {
        (d.metric("dialerd_trunk_up", "trunk=\"sipp\"") == 0.0).then_some(())
    });
    let id = d.call(call_body(json!({"trunk": "carriers"})));
    let v = d.wait_ended(&id, Duration::from_secs(15));
    assert_eq!((v["disposition"].as_str(), v["trunk"].as_str()), (Some("answered"), Some("second")), "{v}");
    assert!(failovers(&v).is_empty(), "admission chose the live trunk first: {v}");
    assert_sipp(&second.wait(Duration::from_secs(10)), 1);
    // Naming a trunk that is down still says why.
    let (s, v) = d.post_call(call_body(json!({"trunk": "sipp"})));
    assert_eq!((s, v["error"]["field"].as_str()), (429, Some("trunk")), "{v}");
}
