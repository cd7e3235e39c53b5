//! The seed 001 wire API against the real daemon: the seed's own form
//! posts replayed unchanged, every bad field failing by name (and still
//! burning its token), the rate limit per IP, CORS, lead keys through the
//! API, and concurrent submits.

mod common;

use common::leads::*;
use common::*;
use serde_json::Value;

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
