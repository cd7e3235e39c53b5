//! The callback widget (issue 7 item 5, seed 003) end to end: dialerd
//! serves `/widget.js` and the site's widget settings (CORS for the site's
//! `allowed_origins` only); the example site backend
//! (`examples/widget-backend/server.py`, Python's standard library) serves
//! a demo page with the script tag and signs the widget's posts. Headless
//! Chromium opens the page, asks for a call, sees dialerd's field error,
//! then `connected` and `finished` while SIPp plays the agent (presses 1)
//! and the visitor (`-rtp_echo`); with the agent paused the widget offers
//! the offline form, whose callback is stored as `scheduled`, and a "call
//! me now" refused with 409 moves to it.

mod common;

use common::browser::Browser;
use common::leads::wait_for;
use common::*;
use dialerd::clicktocall::signature::sign;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "shop-secret-0123456789";
/// The widget's host element; its parts are in its shadow root.
const W: &str = "#dialerd-widget >>> ";

/// The example backend, killed on drop.
struct Backend {
    child: Child,
    origin: String,
    _log: tempfile::NamedTempFile,
}

impl Backend {
    fn start(d: &Daemon, port: u16) -> Backend {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new("/usr/bin/python3")
            .arg(repo().join("examples/widget-backend/server.py"))
            .args(["--dialerd", &d.url(""), "--site", "shop", "--group", "sales", "--port", &port.to_string()])
            // The secret from the environment, as the README advises.
            .env("SITE_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("/usr/bin/python3 runs the example backend");
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        let origin = format!("http://127.0.0.1:{port}");
        assert!(
            line.contains(&origin),
            "the backend did not start: {line:?}\n{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        Backend { child, origin, _log: log }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn config(customers: u16, agent_port: u16, origin: &str, extra_sites: &str) -> String {
    format!(
        "[[trunks]]\nname = \"customers\"\naddress = \"127.0.0.1:{customers}\"\n\
         [[trunks]]\nname = \"pbx\"\naddress = \"127.0.0.1:{agent_port}\"\n\
         [click_to_call]\naccept_timeout_s = 10\n\
         [[click_to_call.sites]]\nkey = \"shop\"\nsecret = \"{SECRET}\"\ntrunk = \"customers\"\n\
         calling_window = \"00:00-24:00\"\nagent_groups = [\"sales\"]\nfields = [\"order_id\"]\n\
         allowed_origins = [\"{origin}\"]\n{extra_sites}\
         [[agents]]\nid = \"dana\"\nextension = \"201\"\nuri = \"sip:201@127.0.0.1:{agent_port}\"\n\
         [[agent_groups]]\nid = \"sales\"\nagents = [\"dana\"]\nring_timeout_s = 10\n"
    )
}

fn click(d: &Daemon, id: &str) -> Value {
    let (s, v) = d.api("GET", &format!("/v1/click-to-call/{id}"), None);
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn the_widget_calls_the_visitor_back_or_schedules_a_callback() {
    let agent_sipp = Sipp::uas_templated("c2c_agent.xml", &[("@DELAY@", "300")]);
    // Long enough for the widget's once-a-second poll to see `connected`.
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "5000")], &["-rtp_echo"]);
    let web = free_tcp_port();
    let tail = config(customer.port, agent_sipp.port, &format!("http://127.0.0.1:{web}"), "");
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let site = Backend::start(&d, web);
    let b = Browser::start();
    b.goto(&format!("{}/", site.origin));

    b.wait_exists(&format!("{W}#open"), Duration::from_secs(10));
    assert_eq!(b.text(&format!("{W}#open")), "Call me back");
    b.click(&format!("{W}#open"));
    b.wait_exists(&format!("{W}#form[data-mode=online]"), Duration::from_secs(10));
    assert!(b.exists(&format!("{W}label[for=field-order_id]")), "the site's extra field");
    assert!(!b.exists(&format!("{W}#at")), "no time to choose: the call is now");

    // dialerd's error reaches the visitor, on the field it names.
    b.type_text(&format!("{W}#name"), "Ada Lovelace");
    b.type_text(&format!("{W}#phone"), "not a number");
    b.type_text(&format!("{W}#field-order_id"), "A-1001");
    b.click(&format!("{W}#submit"));
    wait_for("the phone error", Duration::from_secs(10), || {
        (b.attr(&format!("{W}#error"), "data-field").as_deref() == Some("phone")).then_some(())
    });
    assert!(!b.text(&format!("{W}#error")).is_empty());
    assert_eq!(b.attr(&format!("{W}#phone"), "aria-invalid").as_deref(), Some("true"));

    b.type_text(&format!("{W}#phone"), "+1 (555) 123-4567");
    b.click(&format!("{W}#submit"));
    b.wait_text(&format!("{W}#status-detail"), "connected", Duration::from_secs(30));
    assert_eq!(b.attr(&format!("{W}#status"), "data-phase").as_deref(), Some("processing"));
    assert_eq!(b.text(&format!("{W}#status-phase")), "In progress");
    b.wait_text(&format!("{W}#status-detail"), "completed", Duration::from_secs(30));
    assert_eq!(b.attr(&format!("{W}#status"), "data-phase").as_deref(), Some("finished"));
    assert_eq!(b.text(&format!("{W}#status-phase")), "Finished");

    // dialerd agrees: the request completed, the two calls were bridged,
    // the agent saw what the visitor typed.
    let id = b.attr(&format!("{W}#status"), "data-request").expect("the request's id");
    let done = click(&d, &id);
    assert_eq!(
        (done["status"].as_str(), done["cause"].as_str()),
        (Some("completed"), Some("customer_hung_up")),
        "{done}"
    );
    assert_eq!(done["phone"], "+15551234567");
    assert_eq!(done["visitor"], json!({"name": "Ada Lovelace", "page": "/", "order_id": "A-1001"}));
    let va = d.wait_ended(done["agent_call_id"].as_str().unwrap(), Duration::from_secs(10));
    let vc = d.wait_ended(done["customer_call_id"].as_str().unwrap(), Duration::from_secs(10));
    assert_eq!(va["flow"]["outcome"], "accepted", "{va}");
    assert_eq!(hangup_cause(&va), "bridged_call_ended", "{va}");
    assert_eq!(va["bridge"]["with"], vc["id"], "{va}");
    assert!(vc["bridge"]["relayed"].as_u64().unwrap() > 20 && va["bridge"]["relayed"].as_u64().unwrap() > 10);
    assert_sipp(&agent_sipp.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);

    // Nobody free: the offline form asks when to call, and its callback
    // is stored as scheduled for that time.
    let (s, v) = d.api("PUT", "/v1/agents/dana/status", Some(&json!({"status": "paused"})));
    assert_eq!(s, 200, "{v}");
    b.click(&format!("{W}#again"));
    b.wait_exists(&format!("{W}#form[data-mode=offline]"), Duration::from_secs(10));
    assert!(b.text(&format!("{W}#notice")).contains("busy"), "{}", b.text(&format!("{W}#notice")));
    b.type_text(&format!("{W}#name"), "Grace Hopper");
    b.type_text(&format!("{W}#phone"), "+1 555 123 0000");
    b.click(&format!("{W}#submit"));
    b.wait_text(&format!("{W}#status-detail"), "scheduled", Duration::from_secs(10));
    assert_eq!(b.attr(&format!("{W}#status"), "data-phase").as_deref(), Some("new"));
    let id = b.attr(&format!("{W}#status"), "data-request").unwrap();
    let v = click(&d, &id);
    assert_eq!(v["status"], "scheduled", "{v}");
    assert_eq!(v["visitor"]["name"], "Grace Hopper");
    let due: jiff::Timestamp = v["due_at"].as_str().unwrap().parse().unwrap();
    let ahead = due.duration_since(jiff::Timestamp::now()).as_secs();
    // The proposal is half an hour ahead (minute precision).
    assert!((28 * 60..=31 * 60).contains(&ahead), "due in {ahead} s: {v}");

    // The last agent goes between drawing "call me now" and the submit:
    // dialerd's 409 turns it into the offline form, keeping what was typed.
    d.api("PUT", "/v1/agents/dana/status", Some(&json!({"status": "available"})));
    b.click(&format!("{W}#close"));
    b.click(&format!("{W}#open"));
    b.wait_exists(&format!("{W}#form[data-mode=online]"), Duration::from_secs(10));
    d.api("PUT", "/v1/agents/dana/status", Some(&json!({"status": "paused"})));
    b.type_text(&format!("{W}#name"), "Alan Turing");
    b.type_text(&format!("{W}#phone"), "+1 555 123 0001");
    b.click(&format!("{W}#submit"));
    b.wait_exists(&format!("{W}#form[data-mode=offline]"), Duration::from_secs(10));
    assert_eq!(
        (b.value(&format!("{W}#name")), b.value(&format!("{W}#phone"))),
        ("Alan Turing".into(), "+1 555 123 0001".into())
    );
}

/// POSTs `body` signed by the site's secret.
fn post_signed(d: &Daemon, site: &str, body: &str) -> (u16, Value) {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let h = sign(SECRET.as_bytes(), t, &format!("n-{}", uuid::Uuid::new_v4().simple()), body.as_bytes());
    d.raw("/v1/click-to-call", &[("Dialerd-Site", site), ("Dialerd-Request-Signature", &h)], Some(body))
}

/// (status, header value, JSON body) of a request with an `Origin`.
fn with_origin(d: &Daemon, method: &str, path: &str, origin: &str, header: &str) -> (u16, Option<String>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(d.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Headers", "dialerd-status-token")
        .body(())
        .unwrap();
    let mut resp = agent.run(req).unwrap();
    let h = resp.headers().get(header).map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), h, resp.body_mut().read_json().unwrap_or(Value::Null))
}

#[test]
fn site_settings_availability_hours_and_cors() {
    // "night" opens for an hour, two hours from now (UTC), every day.
    let now = jiff::Timestamp::now();
    let hour = now.to_zoned(jiff::tz::TimeZone::UTC).hour();
    let start = (hour + 2) % 24;
    let end = if start == 23 { "24:00".to_string() } else { format!("{:02}:00", start + 1) };
    let day = format!("[\"{start:02}:00-{end}\"]");
    let hours = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(|d| format!("{d} = {day}")).join(", ");
    let night = format!(
        "[[click_to_call.sites]]\nkey = \"night\"\nsecret = \"{SECRET}\"\ntrunk = \"customers\"\n\
         calling_window = \"00:00-24:00\"\ntime_zone = \"UTC\"\nworking_hours = {{ {hours} }}\n"
    );
    let tail = config(free_udp_port(), free_udp_port(), "https://shop.example", &night);
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });

    let (s, v) = d.raw("/v1/click-to-call/sites/shop", &[], None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["fields"].clone(), v["open"].clone(), v["agent_available"].clone()),
        (json!(["order_id"]), json!(true), json!(true))
    );
    assert_eq!(v["groups"], json!([{"id": "sales", "agent_available": true}]));
    assert!(v.get("secrets").is_none() && v.get("secret").is_none() && !v.to_string().contains(SECRET), "{v}");
    d.api("PUT", "/v1/agents/dana/status", Some(&json!({"status": "paused"})));
    let (_, v) = d.raw("/v1/click-to-call/sites/shop", &[], None);
    assert_eq!(v["agent_available"], false, "{v}");
    let (s, v) = d.raw("/v1/click-to-call/sites/nope", &[], None);
    assert_eq!((s, v["error"]["field"].as_str()), (404, Some("key")), "{v}");

    // Closed now: the widget learns the next opening, and a callback
    // asked for before it runs at it.
    let opening = jiff::Timestamp::from_second(now.as_second() - now.as_second() % 3600 + 2 * 3600).unwrap();
    let (_, v) = d.raw("/v1/click-to-call/sites/night", &[], None);
    assert_eq!(v["open"], false, "{v}");
    assert_eq!(v["next_open"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(), opening, "{v}");
    let body = json!({"phone": "+15551234567", "agent_group": "sales",
                      "at": (now + jiff::SignedDuration::from_secs(60)).to_string()});
    let (s, v) = post_signed(&d, "night", &body.to_string());
    assert_eq!((s, v["status"].as_str()), (201, Some("scheduled")), "{v}");
    assert_eq!(v["due_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(), opening, "{v}");

    // CORS: the site's origin only, on the settings and the status routes.
    let acao = "access-control-allow-origin";
    let (s, h, _) = with_origin(&d, "GET", "/v1/click-to-call/sites/shop", "https://shop.example", acao);
    assert_eq!((s, h.as_deref()), (200, Some("https://shop.example")));
    let (_, h, _) = with_origin(&d, "GET", "/v1/click-to-call/sites/shop", "https://evil.example", acao);
    assert_eq!(h, None, "another origin may not read it");
    let (_, h, _) = with_origin(&d, "GET", "/v1/click-to-call/sites/night", "https://shop.example", acao);
    assert_eq!(h, None, "night lists no origins");
    let id = v["id"].as_str().unwrap();
    let path = format!("/v1/click-to-call/{id}");
    let (s, h, _) = with_origin(&d, "OPTIONS", &path, "https://shop.example", "access-control-allow-headers");
    assert_eq!((s, h.as_deref()), (204, None), "a night request: shop's origin is not night's");
    let b = json!({"phone": "+15551230000", "agent_group": "sales", "at": (now + jiff::SignedDuration::from_secs(600)).to_string()});
    let (_, v) = post_signed(&d, "shop", &b.to_string());
    let path = format!("/v1/click-to-call/{}", v["id"].as_str().unwrap());
    let (s, h, _) = with_origin(&d, "OPTIONS", &path, "https://shop.example", "access-control-allow-headers");
    assert_eq!((s, h.as_deref()), (204, Some("Dialerd-Status-Token")));
    let (s, h, _) = with_origin(&d, "GET", &path, "https://shop.example", acao);
    assert_eq!((s, h.as_deref()), (401, Some("https://shop.example")), "the widget can read why it failed");

    // The script: JavaScript, cacheable, revalidated by its ETag.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let resp = agent.get(&d.url("/widget.js")).call().unwrap();
    assert_eq!(resp.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(resp.headers()["cache-control"].to_str().unwrap().contains("max-age="));
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let resp = agent.get(&d.url("/widget.js")).header("If-None-Match", &etag).call().unwrap();
    assert_eq!(resp.status().as_u16(), 304);
}
