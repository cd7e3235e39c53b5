//! Lead qualification end to end (seed 001): SIPp leads that press 1,
//! press 2, never answer or ignore the menu; email received by a real SMTP
//! server (aiosmtpd), SMS and WhatsApp requests received by a loopback HTTP
//! provider, `lead.*` status webhooks, the confirm page clicked in headless
//! Chromium, a lead submitted out of working hours, and leads that survive
//! `kill -9`. The wire API alone is in tests/lead_api.rs.

mod common;

use common::browser::Browser;
use common::leads::*;
use common::smtp::SmtpSink;
use common::*;
use serde_json::Value;
use std::time::Duration;

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
    // Already rejected (no contact): wait for the reason the click gives.
    wait_for("the opt-out from the page", Duration::from_secs(10), || {
        Some(()).filter(|_| lead(&d, &ignores)["reason"] == "opt_out_page")
    });
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
        started.datetime() >= opens.datetime().with().second(0).subsec_nanosecond(0).build().unwrap(),
        "called at {started}, opens {opens}"
    );
    sipp.wait(Duration::from_secs(30));
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
