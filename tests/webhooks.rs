//! Status webhooks end to end: the real binary, SIPp as the carrier and a
//! real HTTP receiver in the test that can be down (503) for a while.
//! Checks order per call, at-least-once with stable ids, signatures, the
//! dead-letter list and replay, and delivery after `kill -9`.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Seen {
    down: AtomicBool,
    got: Mutex<Vec<(String, Value)>>,
    refused: Mutex<usize>,
}

/// An HTTP receiver on loopback: records every accepted POST (signature
/// header and body); answers 503 while `down`.
fn receiver() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/hook",
                    axum::routing::post(|State(s): State<Arc<Seen>>, headers: HeaderMap, body: Bytes| async move {
                        if s.down.load(Ordering::SeqCst) {
                            *s.refused.lock().unwrap() += 1;
                            return StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let sig = headers.get("dialerd-signature").map(|v| v.to_str().unwrap().to_string());
                        let sig = sig.unwrap_or_default();
                        let raw = String::from_utf8(body.to_vec()).unwrap();
                        s.got.lock().unwrap().push((sig, json!({"raw": raw})));
                        StatusCode::OK
                    }),
                )
                .with_state(state);
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}

const FAST_RETRIES: &str = "[events]\nretry_base_s = 0.05\nretry_max_s = 0.2\n";

fn subscribe(d: &Daemon, addr: SocketAddr, events: Value) -> String {
    let (s, v) = d.api("POST", "/v1/webhooks", Some(&json!({"url": format!("http://{addr}/hook"), "events": events})));
    assert_eq!(s, 201, "{v}");
    v["secret"].as_str().unwrap().to_string()
}

/// Events received so far, parsed, de-duplicated by id (first copy kept),
/// grouped by call in arrival order.
fn by_call(seen: &Seen, secret: &str) -> BTreeMap<String, Vec<Value>> {
    let got = seen.got.lock().unwrap().clone();
    let mut ids = HashSet::new();
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (sig, v) in got {
        let raw = v["raw"].as_str().unwrap();
        let now = jiff::Timestamp::now().as_second();
        assert!(
            dialerd::events::sign::verify(secret.as_bytes(), &sig, raw.as_bytes(), now, 300),
            "bad signature: {sig}"
        );
        let e: Value = serde_json::from_str(raw).unwrap();
        if !ids.insert(e["id"].as_str().unwrap().to_string()) {
            continue;
        }
        out.entry(e["call_id"].as_str().unwrap_or("-").to_string()).or_default().push(e);
    }
    out
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_receiver_that_is_down_then_back_gets_every_event_in_order_signed() {
    let (addr, seen) = receiver();
    seen.down.store(true, Ordering::SeqCst);
    let sipp = Sipp::uas("campaign_mix.xml", 3);
    let d = Daemon::start(sipp.port, Opts { tail: FAST_RETRIES.into(), ..Default::default() });
    let secret = subscribe(&d, addr, json!(["call.*"]));
    let ids: Vec<String> =
        ["+15550001", "+15550002", "+15550011"].iter().map(|to| d.call(call_body(json!({"to": to})))).collect();
    for id in &ids {
        d.wait_ended(id, Duration::from_secs(20));
    }
    wait_for("refused deliveries", Duration::from_secs(10), || *seen.refused.lock().unwrap() >= 6);
    seen.down.store(false, Ordering::SeqCst);
    wait_for("every call.ended", Duration::from_secs(20), || {
        let calls = by_call(&seen, &secret);
        ids.iter().all(|id| calls.get(id).is_some_and(|evs| evs.last().unwrap()["type"] == "call.ended"))
    });
    let calls = by_call(&seen, &secret);
    for id in &ids {
        let evs = &calls[id];
        let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "in order, no gap: {evs:#?}");
        assert_eq!(evs[0]["type"], "call.dialing");
        assert_eq!(evs[0]["data"]["trunk"], "sipp");
        let ended = evs.last().unwrap();
        assert!(ended["data"]["disposition"].is_string(), "{ended}");
    }
    let busy = &calls[&ids[1]];
    assert_eq!(busy.last().unwrap()["data"]["disposition"], "busy");
    assert_eq!(busy.last().unwrap()["data"]["sip_status"], 486);
    assert!(calls[&ids[0]].iter().any(|e| e["type"] == "call.answered"));
    assert!(d.metric("dialerd_webhook_deliveries_total", "outcome=\"retry\"") >= 6.0);
    drop(sipp);
}

/// Issue 9: `call.ended` carries the Q.850 cause of the carrier's BYE.
#[test]
fn call_ended_carries_the_q850_cause() {
    let (addr, seen) = receiver();
    let sipp = Sipp::uas("callee_bye_q850.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let secret = subscribe(&d, addr, json!(["call.ended"]));
    let id = d.call(call_body(json!({"prompt": "welcome.wav"})));
    d.wait_ended(&id, Duration::from_secs(20));
    wait_for("call.ended", Duration::from_secs(10), || by_call(&seen, &secret).contains_key(&id));
    let ended = &by_call(&seen, &secret)[&id][0];
    assert_eq!(ended["type"], "call.ended");
    assert_eq!(ended["data"]["q850"], json!({"cause": 17, "text": "User busy"}), "{ended}");
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
}

#[test]
fn undelivered_events_survive_kill_9_and_dead_letters_replay() {
    let (addr, seen) = receiver();
    seen.down.store(true, Ordering::SeqCst);
    let sipp = Sipp::uas("campaign_mix.xml", 2);
    let tail = format!("{FAST_RETRIES}retry_horizon_s = 1.5\n");
    let mut d = Daemon::start(sipp.port, Opts { tail, ..Default::default() });
    let secret = subscribe(&d, addr, json!(["call.ended"]));
    let first = d.call(call_body(json!({"to": "+15550002"})));
    d.wait_ended(&first, Duration::from_secs(20));
    // The event is in the outbox (the receiver refuses it), then the daemon dies.
    wait_for("a refused delivery", Duration::from_secs(10), || *seen.refused.lock().unwrap() >= 1);
    d.kill9_and_restart();
    seen.down.store(false, Ordering::SeqCst);
    wait_for("the event after restart", Duration::from_secs(20), || by_call(&seen, &secret).contains_key(&first));

    // Past the horizon an undelivered event is dead; replay sends it.
    seen.down.store(true, Ordering::SeqCst);
    let (_, hooks) = d.api("GET", "/v1/webhooks", None);
    let hook = hooks[0]["id"].as_str().unwrap().to_string();
    assert!(hooks[0].get("secret").is_none(), "secrets are shown once");
    let second = d.call(call_body(json!({"to": "+15550001"})));
    d.wait_ended(&second, Duration::from_secs(20));
    let mut dead = Value::Null;
    wait_for("a dead letter", Duration::from_secs(20), || {
        dead = d.api("GET", &format!("/v1/webhooks/{hook}/dead"), None).1;
        dead.as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(dead[0]["event"]["call_id"], second.as_str());
    assert!(dead[0]["attempts"].as_i64().unwrap() >= 2, "{dead}");
    seen.down.store(false, Ordering::SeqCst);
    let letter = dead[0]["id"].as_i64().unwrap();
    let (s, v) = d.api("POST", &format!("/v1/webhooks/{hook}/dead/{letter}/replay"), None);
    assert_eq!(s, 202, "{v}");
    wait_for("the replayed event", Duration::from_secs(10), || by_call(&seen, &secret).contains_key(&second));
    let (_, dead) = d.api("GET", &format!("/v1/webhooks/{hook}/dead"), None);
    assert_eq!(dead.as_array().map(Vec::len), Some(0));
    assert_eq!(d.api("DELETE", &format!("/v1/webhooks/{hook}"), None).0, 204);
    drop(sipp);
}

#[test]
fn webhook_requests_are_checked() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    for (body, field) in [
        (json!({"url": "ftp://x/y", "events": ["call.*"]}), "url"),
        (json!({"url": "http://u:p@h/y", "events": ["call.*"]}), "url"),
        (json!({"url": "http://h/y", "events": []}), "events"),
        (json!({"url": "http://h/y", "events": ["call.nope"]}), "events[0]"),
        (json!({"url": "http://h/y", "events": ["*"], "secret": "short"}), "secret"),
    ] {
        let (s, v) = d.api("POST", "/v1/webhooks", Some(&body));
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    let (s, v) = d.api("POST", "/v1/webhooks", Some(&json!({"url": "http://127.0.0.1:9/h", "events": ["*"]})));
    assert_eq!(s, 201, "{v}");
    assert!(v["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(d.api("DELETE", "/v1/webhooks/nope", None).0, 404);
}

/// The README's verification example accepts dialerd's signatures and
/// refuses a changed body (it runs the snippet with python3).
#[test]
fn the_readme_verification_example_works() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme.split("## Verifying a webhook").nth(1).expect("README section");
    let code = section.split("```python").nth(1).unwrap().split("```").next().unwrap();
    let t = jiff::Timestamp::now().as_second();
    let header = dialerd::events::sign::signature(b"whsec_test", t, b"{\"id\":\"x\"}");
    let script = format!(
        "{code}\nimport sys\nok = verify(b'whsec_test', '{header}', b'{{\"id\":\"x\"}}')\n\
         bad = verify(b'whsec_test', '{header}', b'{{\"id\":\"y\"}}')\nsys.exit(0 if ok and not bad else 1)\n"
    );
    let out = std::process::Command::new("python3").arg("-c").arg(&script).output().expect("python3");
    assert!(out.status.success(), "{}\n{script}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn campaign_and_record_events_reach_the_webhook() {
    let (addr, seen) = receiver();
    let sipp = Sipp::uas("campaign_mix.xml", 2);
    let d = Daemon::start(sipp.port, Opts { tail: FAST_RETRIES.into(), ..Default::default() });
    let secret = subscribe(&d, addr, json!(["campaign.*", "record.*"]));
    d.api("POST", "/v1/services", Some(&json!({"id": "s", "name": "S", "time_zone": "UTC"})));
    let body = json!({"service": "s", "name": "n", "trunks": ["sipp"], "calling_window": "00:00-24:00",
        "retries": {"busy": {"delay_s": 0.1, "max_attempts": 1}},
        "records": [{"phone1": "+15554000001"}, {"phone1": "+15554000002"}]});
    let (_, v) = d.api("POST", "/v1/campaigns", Some(&body));
    let id = v["campaign"]["id"].as_i64().unwrap();
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    let done = |evs: &BTreeMap<String, Vec<Value>>| {
        evs.values().flatten().any(|e| e["type"] == "campaign.state_changed" && e["data"]["to"] == "DONE")
    };
    wait_for("the campaign's DONE event", Duration::from_secs(20), || done(&by_call(&seen, &secret)));
    let all: Vec<Value> = by_call(&seen, &secret).into_values().flatten().collect();
    let of = |t: &str| all.iter().filter(|e| e["type"] == t).cloned().collect::<Vec<_>>();
    let states: Vec<String> = of("campaign.state_changed")
        .iter()
        .map(|e| format!("{}>{}", e["data"]["from"].as_str().unwrap(), e["data"]["to"].as_str().unwrap()))
        .collect();
    assert_eq!(states, ["BUILT>PLAY", "PLAY>DONE"]);
    assert_eq!(of("record.attempted").len(), 2);
    let mut finals: Vec<String> =
        of("record.final").iter().map(|e| e["data"]["final"].as_str().unwrap().into()).collect();
    finals.sort();
    assert_eq!(finals, ["answered", "busy"]);
    assert!(all.iter().all(|e| e["campaign_id"] == id), "{all:#?}");
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "one sequence per campaign, delivered in order");
    assert!(of("record.attempted").iter().all(|e| e["data"]["call_id"].is_string() && e.get("call_id").is_none()));
    // With calls, a campaign and a webhook behind it, the exposition is
    // complete enough for Prometheus' own linter.
    promtool_check(&d.get_text("/metrics"));
    drop(sipp);
}

fn promtool_check(exposition: &str) {
    use std::io::Write;
    let fetched = repo().join("target/tools/promtool");
    let tool = std::env::var("DIALERD_PROMTOOL")
        .unwrap_or_else(|_| if fetched.is_file() { fetched.display().to_string() } else { "promtool".into() });
    let mut child = std::process::Command::new(&tool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e} (scripts/test fetches promtool)"));
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}");
    assert!(exposition.contains("dialerd_webhook_deliveries_total"), "webhook metrics present");
}

#[test]
fn a_configured_webhook_receives_events_and_is_read_only_in_the_api() {
    let (addr, seen) = receiver();
    let sipp = Sipp::uas("campaign_mix.xml", 1);
    let secret = "configured-secret-0123";
    let tail = format!(
        "{FAST_RETRIES}[[webhooks]]\nname = \"ops\"\nurl = \"http://{addr}/hook\"\nevents = [\"call.ended\"]\nsecret = \"{secret}\"\n"
    );
    let d = Daemon::start(sipp.port, Opts { tail, ..Default::default() });
    let (_, hooks) = d.api("GET", "/v1/webhooks", None);
    assert_eq!((hooks[0]["id"].as_str(), hooks[0]["source"].as_str()), (Some("config:ops"), Some("config")), "{hooks}");
    assert_eq!(d.api("DELETE", "/v1/webhooks/config:ops", None).0, 409);
    let id = d.call(call_body(json!({"to": "+15550001"})));
    d.wait_ended(&id, Duration::from_secs(20));
    wait_for("call.ended", Duration::from_secs(10), || by_call(&seen, secret).contains_key(&id));
    let evs = &by_call(&seen, secret)[&id];
    assert_eq!(evs.len(), 1, "only the subscribed type: {evs:#?}");
    assert_eq!(evs[0]["type"], "call.ended");
    assert_eq!(evs[0]["data"]["disposition"], "answered");
    drop(sipp);
}
