//! Screen pop (seed 004) end to end: an agent's outbound call pops a real
//! HTTP receiver in the test, GET with a query string or POST form, and
//! the CRM's reply shows on the call (`crm`), or why it did not
//! (`crm_error`: not "OK", bad JSON, timeout).

mod common;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(String, String, HashMap<String, String>)>>>;

/// A CRM on loopback: `/ok` answers a full card, `/lower` STATUS "ok",
/// `/bad` not JSON, `/slow` after 3 s. Records (method, path, fields).
fn crm() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let state = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let handler = |State(s): State<Seen>,
                           method: Method,
                           uri: Uri,
                           Query(q): Query<HashMap<String, String>>,
                           _h: HeaderMap,
                           body: String| async move {
                let fields = if method == Method::POST {
                    serde_urlencoded_pairs(&body)
                } else {
                    q
                };
                s.lock().unwrap().push((method.to_string(), uri.path().to_string(), fields));
                match uri.path() {
                    "/ok" => r#"{"STATUS":"OK","URL":"https://crm.example/c/42","CLIENTNAME":"Dana Levi","TOTAL":"3","COMPANY":"Acme"}"#.to_string(),
                    "/lower" => r#"{"STATUS":"ok"}"#.to_string(),
                    "/slow" => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        r#"{"STATUS":"OK"}"#.to_string()
                    }
                    _ => "<html>not json</html>".to_string(),
                }
            };
            let app = axum::Router::new().fallback(handler).with_state(state);
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}

/// `a=1&b=x+y` → map (the test's own decoder, independent of dialerd's encoder).
fn serde_urlencoded_pairs(body: &str) -> HashMap<String, String> {
    let dec = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (dec(k), dec(v))).collect()
}

fn agents(addr: SocketAddr) -> String {
    let agent = |id: &str, ext: &str, path: &str, method: &str, field: &str| {
        format!(
            "[[agents]]\nid = \"{id}\"\nextension = \"{ext}\"\n[agents.screen_pop]\nurl = \"http://{addr}{path}\"\n\
             method = \"{method}\"\nstatus_field = \"{field}\"\ntimeout_s = 0.5\n"
        )
    };
    [
        agent("dana", "201", "/ok", "get", "statusCall"),
        agent("omer", "202", "/ok", "post", "status"),
        agent("lower", "203", "/lower", "get", "statusCall"),
        agent("bad", "204", "/bad", "get", "statusCall"),
        agent("slow", "205", "/slow", "get", "statusCall"),
        "[[agents]]\nid = \"nopop\"\nextension = \"206\"\n".to_string(),
    ]
    .concat()
}

fn wait_crm(d: &Daemon, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = d.call_view(id);
        if v.get("crm").is_some() || v.get("crm_error").is_some() {
            return v;
        }
        assert!(Instant::now() < deadline, "no screen pop result: {v:#}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_agents_outbound_call_pops_the_crm_and_shows_the_card() {
    let (addr, seen) = crm();
    let sipp = Sipp::uas("campaign_mix.xml", 6);
    let d = Daemon::start(sipp.port, Opts { tail: agents(addr), ..Default::default() });
    // GET with a query string; the card shows on the call.
    let id = d.call(call_body(json!({"to": "+972 50-123 4562", "agent": "dana"})));
    let v = wait_crm(&d, &id);
    let crm = &v["crm"];
    assert_eq!(crm["status"], "OK");
    assert_eq!(crm["url"], "https://crm.example/c/42");
    assert_eq!((crm["client_name"].as_str(), crm["total"].as_i64()), (Some("Dana Levi"), Some(3)));
    assert_eq!((crm["company"].as_str(), crm["extension"].as_str()), (Some("Acme"), Some("201")));
    let (method, path, f) = seen.lock().unwrap()[0].clone();
    assert_eq!((method.as_str(), path.as_str()), ("GET", "/ok"));
    assert_eq!(f["phone"], "+972 50-123 4562");
    assert_eq!(f["ivrid"], id);
    assert_eq!(f["extenUser"], "201");
    assert_eq!(f["did"], "+15550100", "our caller id");
    assert_eq!(f["statusCall"], "Dialing");

    // POST form with the status field the seed's POST example uses.
    let id = d.call(call_body(json!({"to": "+15550002", "agent": "omer"})));
    assert_eq!(wait_crm(&d, &id)["crm"]["extension"], "202");
    let (method, _, f) = seen.lock().unwrap()[1].clone();
    assert_eq!(method, "POST");
    assert_eq!((f["status"].as_str(), f["extenUser"].as_str()), ("Dialing", "202"));

    // CRM-side errors: lower-case ok, not JSON, too slow. The calls go on.
    for (agent, want) in [("lower", "\"ok\""), ("bad", "not a JSON object"), ("slow", "in time")] {
        let id = d.call(call_body(json!({"to": "+15550002", "agent": agent})));
        let v = wait_crm(&d, &id);
        assert!(v.get("crm").is_none(), "{v:#}");
        assert!(v["crm_error"].as_str().unwrap().contains(want), "{agent}: {v:#}");
        assert_eq!(d.wait_ended(&id, Duration::from_secs(10))["disposition"], "busy", "the pop never holds the call");
    }
    assert_eq!(d.metric("dialerd_screen_pops_total", "outcome=\"ok\""), 2.0);
    assert_eq!(d.metric("dialerd_screen_pops_total", "outcome=\"not_ok\""), 1.0);
    assert_eq!(d.metric("dialerd_screen_pops_total", "outcome=\"timeout\""), 1.0);

    // An agent without a CRM endpoint pops nothing; an unknown agent is a 400.
    let id = d.call(call_body(json!({"to": "+15550002", "agent": "nopop"})));
    d.wait_ended(&id, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(seen.lock().unwrap().len(), 5);
    let (s, v) = d.post_call(call_body(json!({"agent": "nobody"})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("agent")), "{v}");
    drop(sipp);
}
