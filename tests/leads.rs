//! Lead qualification end to end (seed 001): the seed's own form posts
//! replayed against the real daemon, SIPp leads that press 1, press 2, or
//! never answer, email received by a real SMTP server (aiosmtpd), SMS and
//! WhatsApp requests received by a loopback HTTP provider, `lead.*` status
//! webhooks, the confirm page clicked in headless Chromium, and a lead
//! submitted out of working hours.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use common::browser::Browser;
use common::smtp::SmtpSink;
use common::*;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// SMS/WhatsApp provider and webhook receiver on loopback: records (path,
/// Authorization header, JSON body) and answers 200.
fn receiver() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let state = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let handler = |State(s): State<Seen>, uri: Uri, h: HeaderMap, body: String| async move {
                let auth = h.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
                s.lock().unwrap().push((uri.path().to_string(), auth, json));
                "{}"
            };
            let app = axum::Router::new().fallback(handler).with_state(state);
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lead_config(smtp: Option<u16>, hook: Option<SocketAddr>, extra_account: &str, extra_service: &str) -> String {
    let mut s = String::from(
        "[lead_api]\nrate_per_minute = 1000\ncors_origins = [\"https://shop.example\"]\nreconcile_interval_s = 0.5\n\
         message_retry_base_s = 0.1\n",
    );
    if let Some(port) = smtp {
        s += &format!(
            "[lead_api.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"Acme Leads <leads@acme.test>\"\n"
        );
    }
    if let Some(h) = hook {
        s += &format!(
            "[lead_api.sms]\nurl = \"http://{h}/sms\"\nauth_header = \"Authorization: Bearer sms-token\"\n\
             body = '{{\"to\": \"{{to}}\", \"message\": \"{{text}}\"}}'\n\
             [lead_api.whatsapp]\nurl = \"http://{h}/wa\"\nbody = '{{\"phone\": \"{{to}}\", \"text\": \"{{text}}\"}}'\n\
             [[webhooks]]\nname = \"sales\"\nurl = \"http://{h}/hook\"\nevents = [\"lead.*\"]\nsecret = \"0123456789abcdef0123\"\n"
        );
    }
    s += &format!(
        "[[lead_api.accounts]]\naccount_key = \"mydemo\"\napikeys = [\"ABC-test-key-0123456789\"]\nregion = \"SG\"\n\
         strict_numbers = false\ncompany = \"Acme\"\ndialplan = \"quick-qualify\"\ntrunks = [\"sipp\"]\nattempts = 2\nretry_interval_s = 1\n\
         no_answer_timeout_s = 1\ncalling_window = \"00:00-24:00\"\n{extra_account}\n\
         [[lead_api.services]]\naccount_key = \"mydemo\"\nservice_id = 1\nname = \"Car rental\"\n{extra_service}\n"
    );
    s
}

/// The qualification menu with a short prompt and one 1.5 s attempt, so an
/// ignored menu ends in seconds (the shipped flow asks three times).
const QUICK_FLOW: &str = r#"
start = "ask"
[nodes.ask]
kind = "menu"
prompt = "goodbye.wav"
options = { "1" = "qualified", "2" = "rejected" }
timeout_s = 1.5
attempts = 1
on_fail = "no_input"
[nodes.qualified]
kind = "outcome"
outcome = "qualified"
[nodes.rejected]
kind = "outcome"
outcome = "rejected"
[nodes.no_input]
kind = "outcome"
outcome = "no_input"
"#;

fn opts(tail: String) -> Opts {
    Opts { tail, dialplans: vec![("quick-qualify.toml".into(), QUICK_FLOW.into())], ..Default::default() }
}

fn post_form(d: &Daemon, body: &str) -> Value {
    let (status, v) = d.post_text("/api/", "application/x-www-form-urlencoded", body);
    assert_eq!(status, 200, "the lead API always answers 200: {v}");
    v
}

fn token(d: &Daemon) -> String {
    let v =
        post_form(d, "action=token_create&account_key=mydemo&for_action=lead_submit&apikey=ABC-test-key-0123456789");
    assert_eq!(v["status"], "ok", "{v}");
    v["token"].as_str().unwrap().to_string()
}

fn submit(d: &Daemon, fields: &str) -> Value {
    post_form(d, &format!("action=lead_submit&account_key=mydemo&auth={}&{fields}", token(d)))
}

fn lead(d: &Daemon, id: &Value) -> Value {
    let (s, v) = d.get(&format!("/v1/leads/{id}"));
    assert_eq!(s, 200, "{v}");
    v
}

fn wait_lead(d: &Daemon, id: &Value, state: &str, timeout: Duration) -> Value {
    wait_for(&format!("lead {id} {state}"), timeout, || Some(lead(d, id)).filter(|v| v["state"] == state))
}

#[test]
fn the_seeds_examples_work_unchanged_and_bad_input_fails_by_name() {
    let d = Daemon::start(free_udp_port(), opts(lead_config(None, None, "", "")));
    // The seed's PHP example (its curl one lacks the ids its table requires).
    let t = token(&d);
    let php = format!(
        "auth={t}&account_key=mydemo&action=lead_submit&name=John+Smith&phone_number=15551234&service_id=1\
         &service_name=Testing+from+web&customer_id=12345678&interaction_id=12345678&email=john%40example.com"
    );
    let v = post_form(&d, &php);
    assert_eq!(v["status"], "ok", "{v}");
    let id = v["validation_id"].clone();
    assert!(id.as_i64().is_some_and(|i| i > 0));
    // The jQuery example: 40-hex ids, langcode, location.
    let v = submit(
        &d,
        "customer_id=0000000000000000000000000000018c2f3a1b2c&interaction_id=0000000000000000000000000000018c2f3a1b2d\
         &langcode=eng&location=Singapore&name=John+Smith&phone_number=%2B1+(212)+555%E2%80%910101&email=john%40example.com\
         &service_id=1&service_name=test",
    );
    assert_eq!(v["status"], "ok", "{v}");
    let l = lead(&d, &v["validation_id"]);
    assert_eq!(l["phone"], "+12125550101", "curated (U+2011 dash removed) and in E.164");
    assert_eq!(l["lead"]["location"], "Singapore");
    // The same token twice: consumed by the first use.
    let v = post_form(&d, &php);
    assert_eq!(
        (v["status"].as_str(), v["msg"].as_str()),
        (Some("fail"), Some("auth: the token is unknown, expired or already used"))
    );
    // Each bad field is named; the token is burnt even so.
    let base = "customer_id=ab&interaction_id=cd&phone_number=%2B12125550101&service_id=1";
    for (fields, msg) in [
        (base.replace("cd", "xyz"), "interaction_id: must be 1 to 40 hexadecimal characters"),
        (base.replace("%2B12125550101", "%3Cscript%3E"), "phone_number"),
        (base.replace("%2B12125550101", "%2B999+12"), "phone_number"),
        (base.replace("service_id=1", "service_id=99"), "service_id: no qualification campaign for service 99"),
        (base.replace("&service_id=1", ""), "service_id: is required"),
        (format!("{base}&langcode=english"), "langcode"),
        (format!("{base}&custom_data=%7Bnope"), "custom_data"),
    ] {
        let t = token(&d);
        let v = post_form(&d, &format!("action=lead_submit&account_key=mydemo&auth={t}&{fields}"));
        assert_eq!(v["status"], "fail", "{fields}: {v}");
        assert!(v["msg"].as_str().unwrap().starts_with(msg), "{fields}: {v}");
        let again = post_form(&d, &format!("action=lead_submit&account_key=mydemo&auth={t}&{base}"));
        assert!(again["msg"].as_str().unwrap().starts_with("auth:"), "token reused after a failure: {again}");
    }
    let v = post_form(&d, "action=token_create&account_key=mydemo&for_action=lead_submit&apikey=wrong-key-0000000000");
    assert_eq!(v["msg"], "apikey: not a key of this account");
    let v = post_form(&d, "action=token_create&account_key=nobody&for_action=lead_submit&apikey=x");
    assert_eq!(v["msg"], "account_key: unknown account");
    assert_eq!(post_form(&d, "action=lead_create")["msg"], "action: must be token_create or lead_submit");
    let (s, v) = d.post_text("/api/", "text/plain", "action=token_create");
    assert_eq!((s, v["status"].as_str()), (200, Some("fail")), "{v}");
    // Resubmitting one interaction is the same lead, not a second call.
    let v = submit(&d, "customer_id=12345678&interaction_id=12345678&phone_number=15551234&service_id=1");
    assert_eq!(v["validation_id"], id);
    assert!(d.metric("dialerd_lead_api_requests_total", "action=\"lead_submit\",status=\"fail\"") >= 7.0);
}

fn link_in(text: &str) -> String {
    let start = text.find("http://").expect("a link in the message");
    text[start..].split(|c: char| c.is_whitespace() || c == '"').next().unwrap().to_string()
}

#[test]
fn ivr_outcomes_messages_webhooks_and_the_confirm_page() {
    let smtp = SmtpSink::start();
    let (hook, seen) = receiver();
    let sipp = Sipp::uas("lead_mix.xml", 6);
    let tail = lead_config(Some(smtp.port), Some(hook), "", "");
    let d = Daemon::start(sipp.port, opts(tail));
    let ids = |v: Value| -> Value {
        assert_eq!(v["status"], "ok", "{v}");
        v["validation_id"].clone()
    };
    let form = |n: u32, phone: &str, extra: &str| {
        format!("customer_id=c{n}&interaction_id=a{n}&phone_number={phone}&service_id=1&name=Lead+{n}{extra}")
    };
    // Last digit 1 presses 1, 2 presses 2, 3 never answers, 4 ignores the menu.
    let yes = ids(submit(&d, &form(1, "%2B15553000011", "&payload=%7B%22car%22%3A%22Corolla%22%7D")));
    let no = ids(submit(&d, &form(2, "%2B15553000012", "")));
    let silent = ids(submit(&d, &form(3, "%2B15553000013", "&email=ann%40example.com&langcode=heb")));
    let ignores = ids(submit(&d, &form(4, "%2B15553000014", "&email=bob%40example.com")));

    let l = wait_lead(&d, &yes, "qualified", Duration::from_secs(30));
    assert_eq!((l["reason"].as_str(), l["attempts"].as_i64()), (Some("ivr"), Some(1)), "{l}");
    let l = wait_lead(&d, &no, "rejected", Duration::from_secs(30));
    assert_eq!(l["reason"], "opt_out", "{l}");
    let (s, dnc) = d.get("/v1/dnc");
    assert_eq!(s, 200);
    assert!(dnc.to_string().contains("+15553000012"), "press 2 puts the number on the DNC list: {dnc}");
    // No answer twice (attempts = 2): rejected for no contact, after one
    // round of messages on every channel.
    let l = wait_lead(&d, &silent, "rejected", Duration::from_secs(30));
    assert_eq!((l["reason"].as_str(), l["attempts"].as_i64()), (Some("no_contact"), Some(2)), "{l}");
    let mail = smtp.wait_mail(Duration::from_secs(20));
    let mail =
        if mail.to.iter().any(|t| t == "ann@example.com") { mail } else { smtp.wait_mail(Duration::from_secs(20)) };
    assert_eq!(mail.to, vec!["ann@example.com".to_string()]);
    assert_eq!(mail.subject, "Acme: please confirm your request");
    assert!(mail.body.contains("Lead 3") && mail.body.contains("Car rental"), "{}", mail.body);
    let link = link_in(&mail.body);
    assert!(link.starts_with(&format!("http://{}/l/", d.http)), "{link}");
    let provider = |path: &str, to: &str| {
        wait_for(&format!("{path} for {to}"), Duration::from_secs(20), || {
            seen.lock().unwrap().iter().find(|(p, _, b)| p == path && b.to_string().contains(to)).cloned()
        })
    };
    let (_, auth, sms) = provider("/sms", "+15553000013");
    assert_eq!(auth.as_deref(), Some("Bearer sms-token"));
    assert!(sms["message"].as_str().unwrap().contains("/l/"), "{sms}");
    let (_, _, wa) = provider("/wa", "+15553000013");
    assert!(wa["text"].as_str().unwrap().contains("/l/"), "{wa}");
    let l = lead(&d, &silent);
    assert!(l["messages"].as_array().unwrap().iter().all(|m| m["state"] == "sent"), "{l}");

    // The lead that ignored the menu: messages after its first call, a
    // second call, then no contact.
    let l = wait_lead(&d, &ignores, "rejected", Duration::from_secs(30));
    assert_eq!((l["reason"].as_str(), l["attempts"].as_i64()), (Some("no_contact"), Some(2)), "{l}");
    assert_eq!(l["messages"].as_array().unwrap().len(), 3, "one round, every channel: {l}");

    // The confirm page in headless Chromium: GET shows (and changes
    // nothing), the button POSTs.
    let b = Browser::start();
    b.goto(&link);
    assert!(b.exists("#call-me") && b.exists("#stop"), "{}", b.source());
    assert!(b.source().contains("dir=\"rtl\""), "langcode heb renders right to left");
    assert_eq!(lead(&d, &silent)["state"], "rejected", "a GET must not change the lead");
    b.click("#call-me");
    b.wait_text("#status", "", Duration::from_secs(10));
    let l = wait_lead(&d, &silent, "qualified", Duration::from_secs(10));
    assert_eq!(l["reason"], "confirm_page");

    // The other lead's link: "stop contacting me" → opted out, on the DNC list.
    let mail = wait_for("bob's mail", Duration::from_secs(20), || {
        let m = smtp.wait_mail(Duration::from_secs(20));
        m.to.iter().any(|t| t == "bob@example.com").then_some(m)
    });
    b.goto(&link_in(&mail.body));
    b.click("#stop");
    let l = wait_lead(&d, &ignores, "rejected", Duration::from_secs(10));
    assert_eq!(l["reason"], "opt_out_page");
    assert!(d.get("/v1/dnc").1.to_string().contains("+15553000014"));
    // A tampered link is refused.
    let mut bad = link.clone();
    bad.push('0');
    assert_eq!(ureq_status(&bad), 404);

    // The sales team's hand-off: lead.qualified carries the whole lead.
    let q = wait_for("lead.qualified webhook", Duration::from_secs(20), || {
        seen.lock()
            .unwrap()
            .iter()
            .find(|(p, _, b)| {
                p == "/hook" && b["type"] == "lead.qualified" && b["lead_id"].as_str() == Some(yes.to_string().as_str())
            })
            .cloned()
    });
    assert_eq!(q.2["data"]["lead"]["payload"]["car"], "Corolla", "{}", q.2);
    assert_eq!(q.2["data"]["phone"], "+15553000011");
    let (s, page) = d.get("/v1/leads?state=qualified");
    assert_eq!(s, 200);
    assert_eq!(page["leads"].as_array().unwrap().len(), 2, "{page}");
    sipp.wait(Duration::from_secs(30));
}

fn ureq_status(url: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent.get(url).call().map(|r| r.status().as_u16()).unwrap_or(0)
}

#[test]
fn out_of_hours_messages_now_and_calls_at_the_next_slot() {
    // Working hours that open at the next minute (UTC): the lead is
    // messaged at once and called when the slot opens.
    let mut now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    if now.second() >= 50 || (now.hour() == 23 && now.minute() >= 58) {
        let wait =
            if now.hour() == 23 && now.minute() >= 58 { 180 - now.second() as u64 } else { 61 - now.second() as u64 };
        std::thread::sleep(Duration::from_secs(wait));
        now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    }
    let opens = now.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][opens.weekday().to_monday_zero_offset() as usize];
    let hours = format!("working_hours = {{ {day} = [\"{:02}:{:02}-24:00\"] }}", opens.hour(), opens.minute());
    let (hook, seen) = receiver();
    let sipp = Sipp::uas("lead_mix.xml", 1);
    let d = Daemon::start(sipp.port, opts(lead_config(None, Some(hook), "", &hours)));
    let v = submit(&d, "customer_id=1&interaction_id=2&phone_number=%2B15553000021&service_id=1&name=Night+Owl");
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["out_of_working_hours"], true, "{v}");
    assert_eq!(v["skip_ivr_call_counter"], 1, "{v}");
    let id = v["validation_id"].clone();
    wait_for("the out-of-hours SMS", Duration::from_secs(10), || {
        seen.lock().unwrap().iter().find(|(p, _, b)| p == "/sms" && b["to"] == "+15553000021").cloned()
    });
    assert_eq!(lead(&d, &id)["attempts"], 0, "no call before the slot opens");
    let l = wait_lead(&d, &id, "qualified", Duration::from_secs(90));
    assert_eq!(l["reason"], "ivr");
    let started = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    assert!(
        started.datetime() >= opens.datetime().with().second(0).build().unwrap(),
        "called at {started}, opens {opens}"
    );
    sipp.wait(Duration::from_secs(30));
}

#[test]
fn rate_limit_cors_and_lead_keys() {
    let tail = lead_config(None, None, "", "").replace("rate_per_minute = 1000", "rate_per_minute = 4");
    let d = Daemon::start(free_udp_port(), opts(tail));
    // CORS for the configured origin only.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let post = |origin: &str, body: &str| {
        agent
            .post(&d.url("/api/"))
            .header("Origin", origin)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap()
    };
    let r = post(
        "https://shop.example",
        "action=token_create&account_key=mydemo&for_action=lead_submit&apikey=ABC-test-key-0123456789",
    );
    assert_eq!(r.headers().get("access-control-allow-origin").unwrap(), "https://shop.example");
    let r = post("https://evil.example", "action=token_create");
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A key made through the API works for token_create.
    let (s, k) = d.api(
        "POST",
        "/v1/clients/default/lead-keys",
        Some(&serde_json::json!({"account_key": "mydemo", "label": "site"})),
    );
    assert_eq!(s, 201, "{k}");
    let key = k["apikey"].as_str().unwrap().to_string();
    let v = post_form(&d, &format!("action=token_create&account_key=mydemo&for_action=lead_submit&apikey={key}"));
    assert_eq!(v["status"], "ok", "{v}");
    let v = post_form(&d, "action=token_create&account_key=mydemo&for_action=lead_submit&apikey=x");
    assert_eq!(v["msg"], "apikey: not a key of this account");
    // Four requests so far from 127.0.0.1: the fifth in the minute fails.
    let v = post_form(&d, &format!("action=token_create&account_key=mydemo&for_action=lead_submit&apikey={key}"));
    assert_eq!(v["status"], "fail");
    assert!(v["msg"].as_str().unwrap().starts_with("rate limit"), "{v}");
    let (s, list) = d.get("/v1/clients/default/lead-keys");
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 2, "one configured, one created: {list}");
    assert!(list.to_string().find(&key).is_none(), "keys are shown once");
    let (s, _) = d.api("DELETE", &format!("/v1/clients/default/lead-keys/{}", k["id"].as_str().unwrap()), None);
    assert_eq!(s, 204);
    let (s, e) = d.api("POST", "/v1/clients/default/lead-keys", Some(&serde_json::json!({"account_key": "other"})));
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("account_key")), "{e}");
    let (s, _) = d.get("/v1/clients/someone-else/lead-keys");
    assert_eq!(s, 404);
}

#[test]
fn a_lead_submitted_just_before_kill_9_is_still_qualified() {
    // Killed at once after the reply: the lead row is durable, and after
    // the restart its record is appended (or its interrupted call retried)
    // and the reconcile brings the lead to its outcome.
    // Room for calls cut by the kill besides the three that complete.
    let sipp = Sipp::uas("lead_mix.xml", 10);
    let tail = format!("{}[campaigns]\ninterrupted_margin_s = 0.2\n", lead_config(None, None, "", ""));
    let mut d = Daemon::start(sipp.port, opts(tail));
    let mut ids = Vec::new();
    for n in 0..3 {
        let v = submit(&d, &format!("customer_id=1&interaction_id=b{n}&phone_number=%2B155530000{n}1&service_id=1"));
        assert_eq!(v["status"], "ok", "{v}");
        ids.push(v["validation_id"].clone());
    }
    d.kill9_and_restart();
    for id in &ids {
        let l = wait_lead(&d, id, "qualified", Duration::from_secs(40));
        assert_eq!(l["reason"], "ivr", "{l}");
    }
    // The same form posted after the restart is still the same lead.
    let v = submit(&d, "customer_id=1&interaction_id=b0&phone_number=%2B15553000001&service_id=1");
    assert_eq!(v["validation_id"], ids[0]);
}

#[test]
fn concurrent_submits_all_succeed() {
    // Eight web servers posting at once: SQLite's single writer must not
    // surface as `error` (a read-then-write transaction would fail with
    // SQLITE_BUSY_SNAPSHOT under WAL). Closed working hours: no calls.
    let d = Daemon::start(free_udp_port(), opts(lead_config(None, None, "", "working_hours = { holidays = [] }")));
    let d = &d;
    let replies: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                s.spawn(move || {
                    (0..15)
                        .map(|i| {
                            submit(d, &format!("customer_id=1&interaction_id={t:x}{i:02x}&phone_number=%2B1212555{t}{i:03}&service_id=1"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(replies.len(), 120);
    for r in &replies {
        assert_eq!((r["status"].as_str(), r["out_of_working_hours"].as_bool()), (Some("ok"), Some(true)), "{r}");
    }
    let (_, page) = d.get("/v1/leads?state=pending&limit=500");
    assert_eq!(page["leads"].as_array().unwrap().len(), 120);
}
