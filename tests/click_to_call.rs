//! Click to call (issue 7, seed 000) against the real binary: a site's
//! signed request rings an agent (SIPp) who hears the whisper and presses
//! 1; the visitor (SIPp, `-rtp_echo`) is dialled and bridged; the
//! visitor's hang-up ends the agent's leg; statuses arrive as signed
//! webhooks in order and through `GET /v1/click-to-call/{id}`. Requests
//! unsigned, wrongly signed, expired or replayed are refused, as are those
//! that break the site's policy. Callbacks (`at`) wait as `scheduled` for
//! their time and an agent, across a `kill -9`.

mod common;

use common::leads::{forms, receiver, wait_for};
use common::*;
use dialerd::clicktocall::signature::sign;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "shop-secret-0123456789";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn nonce() -> String {
    format!("n-{}", uuid::Uuid::new_v4().simple())
}

/// POSTs `body` signed at time `t` with `nonce`; returns the reply and
/// the header so a test can replay it.
fn post_signed(d: &Daemon, site: &str, body: &str, t: i64, nonce: &str) -> (u16, Value, String) {
    let h = sign(SECRET.as_bytes(), t, nonce, body.as_bytes());
    let (s, v) = d.raw("/v1/click-to-call", &[("Dialerd-Site", site), ("Dialerd-Request-Signature", &h)], Some(body));
    (s, v, h)
}

fn site(customers: u16, extra: &str) -> String {
    format!(
        "[[trunks]]\nname = \"customers\"\naddress = \"127.0.0.1:{customers}\"\ncaller_id = \"+15550100\"\n\
         [click_to_call]\naccept_timeout_s = 10\n{extra}\n[[click_to_call.sites]]\nkey = \"shop\"\n\
         secret = \"{SECRET}\"\ntrunk = \"customers\"\ncalling_window = \"00:00-24:00\"\nagent_groups = [\"sales\"]\n"
    )
}

fn agent(name: &str, ext: &str, port: u16, crm: &str) -> String {
    format!(
        "[[trunks]]\nname = \"pbx-{name}\"\naddress = \"127.0.0.1:{port}\"\n[[agents]]\nid = \"{name}\"\n\
         extension = \"{ext}\"\nuri = \"sip:{ext}@127.0.0.1:{port}\"\n[agents.screen_pop]\nurl = \"http://{crm}/pop\"\n\
         method = \"post\"\n"
    )
}

#[test]
fn agent_first_rings_whispers_dials_the_visitor_and_bridges_them() {
    let agent_sipp = Sipp::uas_templated("c2c_agent.xml", &[("@DELAY@", "500")]);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "3000")], &["-rtp_echo"]);
    let (hooks, seen) = receiver();
    let mut tail = site(customer.port, "");
    tail += &agent("dana", "201", agent_sipp.port, &hooks.to_string());
    tail += "[[agent_groups]]\nid = \"sales\"\nagents = [\"dana\"]\nring_timeout_s = 10\n";
    tail += &format!(
        "[[webhooks]]\nname = \"crm\"\nurl = \"http://{hooks}/status\"\nevents = [\"click_to_call.*\"]\n\
         secret = \"hook-secret-0123456789\"\n"
    );
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });

    let body = json!({"phone": "+1 (555) 123-4567", "agent_group": "sales",
                      "visitor": {"name": "Ada", "page": "/pricing"}})
    .to_string();
    let (s, created, _) = post_signed(&d, "shop", &body, now(), &nonce());
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["status"], "requested");
    let id = created["id"].as_str().unwrap().to_string();
    let token = created["status_token"].as_str().unwrap().to_string();

    // The browser's token reads the status, and nothing personal.
    let (s, v) = d.raw(&format!("/v1/click-to-call/{id}"), &[("Dialerd-Status-Token", &token)], None);
    assert_eq!(s, 200, "{v}");
    assert!(v.get("visitor").is_none() && v.get("phone").is_none(), "{v}");
    let (s, _) = d.raw(&format!("/v1/click-to-call/{id}"), &[("Dialerd-Status-Token", "wrong")], None);
    assert_eq!(s, 401);
    let (s, _) = d.raw(&format!("/v1/click-to-call/{id}"), &[], None);
    assert_eq!(s, 401, "no credentials");

    let done = wait_for("the click to call to complete", Duration::from_secs(30), || {
        let (_, v) = d.api("GET", &format!("/v1/click-to-call/{id}"), None);
        matches!(v["status"].as_str(), Some("completed" | "failed")).then_some(v)
    });
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["phase"], "finished");
    assert_eq!(done["cause"], "customer_hung_up", "{done}");
    assert_eq!(done["agent"], "dana");
    assert_eq!(done["phone"], "+15551234567", "normalised to E.164");
    assert_eq!(done["visitor"]["name"], "Ada", "the agent sees the visitor: {done}");

    // The agent's leg heard the whisper, pressed 1 and was bridged to the
    // visitor; the visitor's BYE ended it.
    let agent_call = done["agent_call_id"].as_str().unwrap();
    let customer_call = done["customer_call_id"].as_str().unwrap();
    let va = d.wait_ended(agent_call, Duration::from_secs(10));
    let vc = d.wait_ended(customer_call, Duration::from_secs(10));
    assert_eq!(va["flow"]["outcome"], "accepted", "{va}");
    assert_eq!(va["digits"], "1");
    assert_eq!(hangup_cause(&va), "bridged_call_ended", "{va}");
    assert_eq!(vc["hangup_by"], "remote", "{vc}");
    assert_eq!(vc["to"], "+15551234567");
    // RTP both ways, counted at dialerd: the agent's PCMA reached the
    // visitor transcoded, the visitor's echo came back.
    assert!(va["bridge"]["forwarded"].as_u64().unwrap() > 20, "agent → bridge: {va}");
    assert!(vc["bridge"]["relayed"].as_u64().unwrap() > 20, "bridge → visitor: {vc}");
    assert!(vc["bridge"]["forwarded"].as_u64().unwrap() > 10, "visitor → bridge (echo): {vc}");
    assert!(va["bridge"]["relayed"].as_u64().unwrap() > 10, "bridge → agent: {va}");
    assert_sipp(&agent_sipp.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);

    // Every status as a webhook, in order, with the request's id.
    let statuses = wait_for("the completed webhook", Duration::from_secs(10), || {
        let got: Vec<Value> =
            seen.lock().unwrap().iter().filter(|(p, _, _)| p == "/status").map(|(_, _, b)| b.clone()).collect();
        got.iter().any(|e| e["type"] == "click_to_call.completed").then_some(got)
    });
    let types: Vec<&str> = statuses.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "click_to_call.requested",
            "click_to_call.agent_ringing",
            "click_to_call.agent_answered",
            "click_to_call.customer_ringing",
            "click_to_call.connected",
            "click_to_call.completed"
        ]
    );
    assert!(statuses.iter().all(|e| e["click_to_call_id"] == id.as_str()), "{statuses:?}");
    assert_eq!(statuses[3]["data"]["customer_call_id"], customer_call);
    // Seed 004: the agent's CRM got a Ringing pop for the click to call.
    let pops = forms(&seen, "/pop");
    assert_eq!(pops.len(), 1, "{pops:?}");
    assert!(pops[0].contains("extenUser=201") && pops[0].contains(&format!("ivrid={id}")), "{pops:?}");
    assert_eq!(d.metric("dialerd_click_to_call_total", "status=\"connected\""), 1.0);
}

#[test]
fn unsigned_replayed_expired_and_out_of_policy_requests_are_refused() {
    // Agents that never answer: nothing here may reach a visitor.
    let pbx = free_udp_port();
    let mut tail = site(free_udp_port(), "retention_h = 0.001\n");
    tail = tail.replace("agent_groups = [\"sales\"]\n", "agent_groups = [\"sales\"]\nper_number_per_hour = 1\n");
    tail += &agent("dana", "201", pbx, "127.0.0.1:9");
    tail += "[[agent_groups]]\nid = \"sales\"\nagents = [\"dana\"]\nring_timeout_s = 1\n\
             [[agent_groups]]\nid = \"support\"\nagents = [\"dana\"]\n";
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let body = json!({"phone": "+15551234567", "agent_group": "sales"}).to_string();
    let field = |v: &Value| v["error"]["field"].as_str().map(str::to_string);

    // No signature, no site, an unknown site, a wrong secret, a changed body.
    let (s, v) = d.raw("/v1/click-to-call", &[("Dialerd-Site", "shop")], Some(&body));
    assert_eq!((s, field(&v).as_deref()), (401, Some("dialerd-request-signature")), "{v}");
    let h = sign(SECRET.as_bytes(), now(), &nonce(), body.as_bytes());
    let (s, _) = d.raw("/v1/click-to-call", &[("Dialerd-Request-Signature", &h)], Some(&body));
    assert_eq!(s, 401, "no site");
    let (s, _, _) = post_signed(&d, "elsewhere", &body, now(), &nonce());
    assert_eq!(s, 401, "unknown site");
    let h = sign(b"not-the-secret-at-all", now(), &nonce(), body.as_bytes());
    let (s, v) =
        d.raw("/v1/click-to-call", &[("Dialerd-Site", "shop"), ("Dialerd-Request-Signature", &h)], Some(&body));
    assert_eq!(s, 401, "{v}");
    let h = sign(SECRET.as_bytes(), now(), &nonce(), body.as_bytes());
    let other = body.replace("4567", "4568");
    let (s, _) =
        d.raw("/v1/click-to-call", &[("Dialerd-Site", "shop"), ("Dialerd-Request-Signature", &h)], Some(&other));
    assert_eq!(s, 401, "the body was changed after signing");
    // Expired: six minutes old (tolerance five).
    let (s, v, _) = post_signed(&d, "shop", &body, now() - 360, &nonce());
    assert_eq!(s, 401, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("from ours"), "{v}");

    // A good request, then its exact replay.
    let n = nonce();
    let (s, v, h) = post_signed(&d, "shop", &body, now(), &n);
    assert_eq!(s, 201, "{v}");
    let first = v["id"].as_str().unwrap().to_string();
    let (s, v) =
        d.raw("/v1/click-to-call", &[("Dialerd-Site", "shop"), ("Dialerd-Request-Signature", &h)], Some(&body));
    assert_eq!(s, 401, "replay: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("already used"), "{v}");

    // Policy: the number's hourly limit, a group the site may not ring,
    // an unknown group, a bad number, the DNC list.
    let (s, v, _) = post_signed(&d, "shop", &body, now(), &nonce());
    assert_eq!((s, field(&v).as_deref()), (429, Some("phone")), "{v}");
    let b = json!({"phone": "+15551230000", "agent_group": "support"}).to_string();
    let (s, v, _) = post_signed(&d, "shop", &b, now(), &nonce());
    assert_eq!((s, field(&v).as_deref()), (403, Some("agent_group")), "{v}");
    let b = json!({"phone": "not a number", "agent_group": "sales"}).to_string();
    let (s, v, _) = post_signed(&d, "shop", &b, now(), &nonce());
    assert_eq!((s, field(&v).as_deref()), (400, Some("phone")), "{v}");
    let b = json!({"phone": "+15551230000", "agent_group": "sales", "colour": "red"}).to_string();
    let (s, v, _) = post_signed(&d, "shop", &b, now(), &nonce());
    assert_eq!((s, field(&v).as_deref()), (400, Some("colour")), "{v}");
    let (s, _) = d.api("POST", "/v1/dnc", Some(&json!({"numbers": ["+15551239999"]})));
    assert!(s == 200 || s == 201, "{s}");
    let b = json!({"phone": "+15551239999", "agent_group": "sales"}).to_string();
    let (s, v, _) = post_signed(&d, "shop", &b, now(), &nonce());
    assert_eq!((s, field(&v).as_deref()), (403, Some("phone")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("do-not-call"), "{v}");
    assert!(d.metric("dialerd_click_to_call_refused_total", "reason=\"replay\"") >= 1.0);

    // The accepted request's agent never answers: failed, with the cause.
    let v = wait_for("the request to fail", Duration::from_secs(15), || {
        let (_, v) = d.api("GET", &format!("/v1/click-to-call/{first}"), None);
        (v["status"] == "failed").then_some(v)
    });
    assert_eq!(v["cause"], "no_agent_answered", "{v}");
    // The site may read it with a signed GET (empty body).
    let h = sign(SECRET.as_bytes(), now(), &nonce(), b"");
    let (s, v) = d.raw(
        &format!("/v1/click-to-call/{first}"),
        &[("Dialerd-Site", "shop"), ("Dialerd-Request-Signature", &h)],
        None,
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("failed")), "{v}");
    // Past the retention window (3.6 s here): 410.
    std::thread::sleep(Duration::from_millis(3700));
    let (s, v) = d.api("GET", &format!("/v1/click-to-call/{first}"), None);
    assert_eq!(s, 410, "{v}");
}

#[test]
fn customer_first_dials_the_visitor_then_rings_the_agents() {
    let agent_sipp = Sipp::uas_templated("c2c_agent.xml", &[("@DELAY@", "300")]);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "4500")], &["-rtp_echo"]);
    let mut tail = site(customer.port, "");
    tail += &agent("omer", "202", agent_sipp.port, "127.0.0.1:9");
    tail += "[[agent_groups]]\nid = \"sales\"\nagents = [\"omer\"]\nring_timeout_s = 10\n";
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let body = json!({"phone": "+15551234567", "agent_group": "sales", "order": "customer_first"}).to_string();
    let (s, created, _) = post_signed(&d, "shop", &body, now(), &nonce());
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let done = wait_for("the click to call to complete", Duration::from_secs(30), || {
        let (_, v) = d.api("GET", &format!("/v1/click-to-call/{id}"), None);
        matches!(v["status"].as_str(), Some("completed" | "failed")).then_some(v)
    });
    assert_eq!(
        (done["status"].as_str(), done["order"].as_str()),
        (Some("completed"), Some("customer_first")),
        "{done}"
    );
    let va = d.wait_ended(done["agent_call_id"].as_str().unwrap(), Duration::from_secs(10));
    let vc = d.wait_ended(done["customer_call_id"].as_str().unwrap(), Duration::from_secs(10));
    // The visitor answered before the agent's phone rang.
    assert!(vc["answered_at"].as_str().unwrap() < va["created_at"].as_str().unwrap(), "{vc}\n{va}");
    assert!(va["bridge"]["relayed"].as_u64().unwrap() > 10 && vc["bridge"]["relayed"].as_u64().unwrap() > 10);
    assert_eq!(hangup_cause(&va), "bridged_call_ended");
    assert_sipp(&agent_sipp.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);
}

/// RFC 3339 for `secs` from now.
fn in_secs(secs: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs)).to_string()
}

fn set_agent(d: &Daemon, agent: &str, status: &str) {
    let (s, v) = d.api("PUT", &format!("/v1/agents/{agent}/status"), Some(&json!({ "status": status })));
    assert_eq!(s, 200, "{v}");
}

#[test]
fn a_callback_waits_for_its_time_and_an_agent_then_connects() {
    let agent_sipp = Sipp::uas_templated("c2c_agent.xml", &[("@DELAY@", "300")]);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "3000")], &["-rtp_echo"]);
    let (hooks, seen) = receiver();
    let mut tail = site(customer.port, "");
    tail += &agent("dana", "201", agent_sipp.port, "127.0.0.1:9");
    tail += "[[agent_groups]]\nid = \"sales\"\nagents = [\"dana\"]\nring_timeout_s = 10\n";
    tail += &format!(
        "[[webhooks]]\nname = \"crm\"\nurl = \"http://{hooks}/status\"\nevents = [\"click_to_call.*\"]\n\
         secret = \"hook-secret-0123456789\"\n"
    );
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let field = |v: &Value| v["error"]["field"].as_str().map(str::to_string);
    set_agent(&d, "dana", "paused");

    // Nobody is free now: a call now is refused, a callback is not.
    let now_body = json!({"phone": "+15551234567", "agent_group": "sales"}).to_string();
    let (s, v, _) = post_signed(&d, "shop", &now_body, now(), &nonce());
    assert_eq!(s, 409, "{v}");
    for bad in ["tomorrow", "2020-01-01T00:00:00Z", in_secs(31 * 86_400).as_str(), "2030-01-01T09:00:00"] {
        let b = json!({"phone": "+15551234567", "agent_group": "sales", "at": bad}).to_string();
        let (s, v, _) = post_signed(&d, "shop", &b, now(), &nonce());
        assert_eq!((s, field(&v).as_deref()), (400, Some("at")), "{bad}: {v}");
    }
    // The DNC list still applies.
    d.api("POST", "/v1/dnc", Some(&json!({"numbers": ["+15551239999"]})));
    let b = json!({"phone": "+15551239999", "agent_group": "sales", "at": in_secs(60)}).to_string();
    let (s, v, _) = post_signed(&d, "shop", &b, now(), &nonce());
    assert_eq!((s, field(&v).as_deref()), (403, Some("phone")), "{v}");

    let at = in_secs(2);
    let body = json!({"phone": "+15551234567", "agent_group": "sales", "at": at,
                      "visitor": {"name": "Ada"}})
    .to_string();
    let (s, created, _) = post_signed(&d, "shop", &body, now(), &nonce());
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["status"], "scheduled");
    let due: jiff::Timestamp = created["due_at"].as_str().unwrap().parse().unwrap();
    let asked: jiff::Timestamp = at.parse().unwrap();
    assert_eq!(due.as_millisecond(), asked.as_millisecond(), "open now: due when asked");
    let id = created["id"].as_str().unwrap().to_string();
    let token = created["status_token"].as_str().unwrap().to_string();
    let (s, v) = d.raw(&format!("/v1/click-to-call/{id}"), &[("Dialerd-Status-Token", &token)], None);
    assert_eq!((s, v["status"].as_str(), v["phase"].as_str()), (200, Some("scheduled"), Some("new")), "{v}");
    wait_for("the waiting gauge", Duration::from_secs(5), || {
        (d.metric("dialerd_click_to_call_scheduled", "") == 1.0).then_some(())
    });

    // Past its time with the agent still paused, it waits for one.
    std::thread::sleep(Duration::from_millis(3500));
    let (_, v) = d.api("GET", &format!("/v1/click-to-call/{id}"), None);
    assert_eq!(v["status"], "scheduled", "no agent yet: {v}");
    set_agent(&d, "dana", "available");
    let done = wait_for("the callback to complete", Duration::from_secs(30), || {
        let (_, v) = d.api("GET", &format!("/v1/click-to-call/{id}"), None);
        matches!(v["status"].as_str(), Some("completed" | "failed")).then_some(v)
    });
    assert_eq!(
        (done["status"].as_str(), done["cause"].as_str()),
        (Some("completed"), Some("customer_hung_up")),
        "{done}"
    );
    assert_eq!(done["agent"], "dana");
    let va = d.wait_ended(done["agent_call_id"].as_str().unwrap(), Duration::from_secs(10));
    let vc = d.wait_ended(done["customer_call_id"].as_str().unwrap(), Duration::from_secs(10));
    assert_eq!(hangup_cause(&va), "bridged_call_ended", "{va}");
    assert!(vc["bridge"]["relayed"].as_u64().unwrap() > 10, "bridge → visitor: {vc}");
    assert_sipp(&agent_sipp.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);

    // Its events: scheduled first, then the usual steps, numbered on.
    let events = wait_for("the completed webhook", Duration::from_secs(10), || {
        let got: Vec<Value> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, b)| p == "/status" && b["click_to_call_id"] == id.as_str())
            .map(|(_, _, b)| b.clone())
            .collect();
        got.iter().any(|e| e["type"] == "click_to_call.completed").then_some(got)
    });
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[..2], ["click_to_call.scheduled", "click_to_call.requested"], "{types:?}");
    assert_eq!(types.last(), Some(&"click_to_call.completed"));
    assert_eq!(events[0]["data"]["due_at"], created["due_at"]);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(d.metric("dialerd_click_to_call_scheduled", ""), 0.0);
}

#[test]
fn a_callback_survives_kill_9_and_running_requests_are_interrupted() {
    let agent_sipp = Sipp::uas_templated("c2c_agent.xml", &[("@DELAY@", "300")]);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "3000")], &["-rtp_echo"]);
    let mut tail = site(customer.port, "");
    tail = tail.replace("agent_groups = [\"sales\"]\n", "agent_groups = [\"sales\", \"support\"]\n");
    tail += &agent("dana", "201", agent_sipp.port, "127.0.0.1:9");
    // omer's phone is a socket that never answers (and, bound, sends no
    // ICMP refusal): his request is still ringing when dialerd is killed.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tail += &agent("omer", "202", silent.local_addr().unwrap().port(), "127.0.0.1:9");
    tail += "[[agent_groups]]\nid = \"sales\"\nagents = [\"dana\"]\nring_timeout_s = 10\n\
             [[agent_groups]]\nid = \"support\"\nagents = [\"omer\"]\nring_timeout_s = 10\n";
    let mut d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let body = json!({"phone": "+15551234567", "agent_group": "sales", "at": in_secs(4)}).to_string();
    let (s, later, _) = post_signed(&d, "shop", &body, now(), &nonce());
    assert_eq!((s, later["status"].as_str()), (201, Some("scheduled")), "{later}");
    let body = json!({"phone": "+15551230000", "agent_group": "support"}).to_string();
    let (s, running, _) = post_signed(&d, "shop", &body, now(), &nonce());
    assert_eq!(s, 201, "{running}");

    d.kill9_and_restart();
    let (_, v) = d.api("GET", &format!("/v1/click-to-call/{}", running["id"].as_str().unwrap()), None);
    assert_eq!((v["status"].as_str(), v["cause"].as_str()), (Some("failed"), Some("interrupted")), "{v}");
    let id = later["id"].as_str().unwrap();
    let done = wait_for("the rearmed callback to complete", Duration::from_secs(30), || {
        let (_, v) = d.api("GET", &format!("/v1/click-to-call/{id}"), None);
        matches!(v["status"].as_str(), Some("completed" | "failed")).then_some(v)
    });
    assert_eq!(done["status"], "completed", "{done}");
    assert!(d.log().contains("scheduled click-to-call requests rearmed"), "{}", d.log());
    let vc = d.wait_ended(done["customer_call_id"].as_str().unwrap(), Duration::from_secs(10));
    assert!(vc["bridge"]["relayed"].as_u64().unwrap() > 10, "{vc}");
    assert_sipp(&agent_sipp.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);
}
