//! Queueing when capacity is short, and the ordered shutdown: refuse new
//! calls, end the active ones, exit within the deadline.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

#[test]
fn queued_calls_dial_when_a_slot_frees() {
    let sipp = Sipp::uas("no_answer.xml", 2);
    let d = Daemon::start(
        sipp.port,
        Opts {
            trunk: "max_concurrent = 1".into(),
            calls: "on_capacity = \"queue\"\nqueue_timeout_s = 20".into(),
            ..Opts::default()
        },
    );
    let first = d.call(call_body(json!({})));
    d.wait_state(&first, "ringing", T);
    let (status, body) = d.post_call(call_body(json!({})));
    assert_eq!((status, body["state"].as_str()), (201, Some("queued")), "{body}");
    let second = body["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.call_view(&second)["state"], "queued", "still waiting for the slot");
    assert_eq!(d.delete(&format!("/v1/calls/{first}")).0, 202);
    d.wait_ended(&first, T);
    let v = d.wait_state(&second, "ringing", T);
    assert_eq!(event_types(&v), ["queued", "dialing", "ringing"], "{v:#}");
    assert_eq!(d.delete(&format!("/v1/calls/{second}")).0, 202);
    d.wait_ended(&second, T);
    assert_sipp(&sipp.wait(T), 2);
}

#[test]
fn queued_calls_give_up_after_the_queue_timeout() {
    let sipp = Sipp::uas("no_answer.xml", 1);
    let d = Daemon::start(
        sipp.port,
        Opts {
            trunk: "max_concurrent = 1".into(),
            calls: "on_capacity = \"queue\"\nqueue_timeout_s = 0.5".into(),
            ..Opts::default()
        },
    );
    let first = d.call(call_body(json!({})));
    d.wait_state(&first, "ringing", T);
    let second = d.call(call_body(json!({})));
    let v = d.wait_ended(&second, T);
    assert_eq!(v["disposition"], "failed", "{v:#}");
    assert_eq!(hangup_cause(&v), "queue_timeout");
    assert!(v["sip_status"].is_null(), "never dialled");
    d.delete(&format!("/v1/calls/{first}"));
    d.wait_ended(&first, T);
    assert_sipp(&sipp.wait(T), 1);
}

#[test]
fn sigterm_ends_calls_with_bye_and_exits() {
    let sipp = Sipp::uas("answer_wait_bye.xml", 1);
    let mut d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({"prompt": "welcome.wav"})));
    d.wait_state(&id, "answered", T);
    let started = Instant::now();
    let status = d.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_sipp(&sipp.wait(T), 1);
    let log = d.log();
    assert!(log.contains("dialerd stopped"), "{log}");
}

#[test]
fn draining_refuses_new_calls_and_respects_the_deadline() {
    // The far end never answers our BYE; hangup_deadline_s (3 s here)
    // bounds the wait.
    let sipp = Sipp::uas("answer_ignore_bye.xml", 1);
    let mut d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({"prompt": "welcome.wav"})));
    d.wait_state(&id, "answered", T);
    let started = Instant::now();
    d.signal("-TERM");
    // While draining: new calls are refused, health says so.
    let deadline = Instant::now() + Duration::from_secs(2);
    let (status, body, retry) = loop {
        let r = d.post_call_full(call_body(json!({})));
        if r.0 == 503 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some());
    assert_eq!(d.get("/healthz").1["status"], "draining");
    // One signal only: a second would end the drain at once (tested below).
    let exit = d.wait_exit(Duration::from_secs(10));
    let took = started.elapsed();
    assert!(exit.success(), "{exit:?}");
    assert!(took >= Duration::from_millis(2500) && took < Duration::from_secs(6), "exited after {took:?}");
    assert_sipp(&sipp.wait(T), 1);
}

#[test]
fn a_second_sigterm_ends_the_drain_at_once() {
    // The far end never answers our BYE: the drain would wait for
    // hangup_deadline_s (3 s); a second SIGTERM does not.
    let sipp = Sipp::uas("answer_ignore_bye.xml", 1);
    let mut d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({"prompt": "welcome.wav"})));
    d.wait_state(&id, "answered", T);
    d.signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(2);
    while d.get("/healthz").1["status"] != "draining" {
        assert!(Instant::now() < deadline, "not draining");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    d.signal("-TERM");
    let exit = d.wait_exit(Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_eq!(exit.code(), Some(1), "not a clean exit: {exit:?}");
    assert!(d.log().contains("second stop signal"), "{}", d.log());
}

#[test]
fn unanswered_invites_shed_new_calls() {
    // One INVITE without any response is the limit here: a second call is
    // refused as overloaded until the first gets an answer.
    let sipp = Sipp::uas("slow_busy.xml", 2);
    let d = Daemon::start(sipp.port, Opts { sip: "max_invites_unanswered = 1".into(), ..Opts::default() });
    let first = d.call(call_body(json!({})));
    std::thread::sleep(Duration::from_millis(100));
    let (status, body, retry) = d.post_call_full(call_body(json!({})));
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some());
    assert!(body["error"]["message"].as_str().unwrap().contains("overloaded"), "{body}");
    assert_eq!(d.metric("dialerd_calls_refused_total", "reason=\"overloaded\""), 1.0);
    assert_eq!(d.wait_ended(&first, T)["disposition"], "busy");
    let second = d.call(call_body(json!({})));
    assert_eq!(d.wait_ended(&second, T)["disposition"], "busy");
    assert_sipp(&sipp.wait(T), 2);
}

const HOLD: &str = "description = \"Hold\"\nstart = \"hold\"\n[nodes.hold]\nkind = \"pause\"\nseconds = 60\nnext = \"done\"\n\
                    [nodes.done]\nkind = \"hangup\"\n";

#[test]
fn sigterm_during_fifty_answered_calls_ends_each_with_one_bye() {
    let sipp = Sipp::uas("answer_wait_bye.xml", 50);
    let opts = Opts { dialplans: vec![("hold.toml".into(), HOLD.into())], ..Default::default() };
    let mut d = Daemon::start(sipp.port, opts);
    let ids: Vec<String> = (0..50).map(|_| d.call(call_body(json!({"dialplan": "hold"})))).collect();
    for id in &ids {
        d.wait_state(id, "answered", T);
    }
    let started = Instant::now();
    let exit = d.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}\n{}", d.log());
    assert!(started.elapsed() < Duration::from_secs(4), "within the drain deadline: {:?}", started.elapsed());
    let r = sipp.wait(T);
    assert_sipp(&r, 50);
    // One BYE per call: no retransmissions, nothing left behind.
    let byes = r.messages.lines().filter(|l| l.starts_with("BYE sip:")).count();
    assert_eq!(byes, 50, "BYE requests seen by SIPp");
}
