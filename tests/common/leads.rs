//! Lead qualification helpers shared by tests/leads.rs and
//! tests/lead_api.rs: a loopback HTTP receiver (SMS/WhatsApp provider and
//! webhooks), the `[lead_api]` configuration, and the seed 001 wire calls.

use super::{Daemon, Opts};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type Seen = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// SMS/WhatsApp provider and webhook receiver on loopback: records (path,
/// Authorization header, JSON body) and answers 200.
pub fn receiver() -> (SocketAddr, Seen) {
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

/// The form bodies the receiver got on `path` (screen pops).
pub fn forms(seen: &Seen, path: &str) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, _, b)| b.as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn lead_config(smtp: Option<u16>, hook: Option<SocketAddr>, extra_account: &str, extra_service: &str) -> String {
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
pub const QUICK_FLOW: &str = r#"
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

pub fn opts(tail: String) -> Opts {
    Opts { tail, dialplans: vec![("quick-qualify.toml".into(), QUICK_FLOW.into())], ..Default::default() }
}

pub fn post_form(d: &Daemon, body: &str) -> Value {
    let (status, v) = d.post_text("/api/", "application/x-www-form-urlencoded", body);
    assert_eq!(status, 200, "the lead API always answers 200: {v}");
    v
}

pub fn token(d: &Daemon) -> String {
    let v =
        post_form(d, "action=token_create&account_key=mydemo&for_action=lead_submit&apikey=ABC-test-key-0123456789");
    assert_eq!(v["status"], "ok", "{v}");
    v["token"].as_str().unwrap().to_string()
}

pub fn submit(d: &Daemon, fields: &str) -> Value {
    post_form(d, &format!("action=lead_submit&account_key=mydemo&auth={}&{fields}", token(d)))
}

pub fn lead(d: &Daemon, id: &Value) -> Value {
    let (s, v) = d.get(&format!("/v1/leads/{id}"));
    assert_eq!(s, 200, "{v}");
    v
}

pub fn wait_lead(d: &Daemon, id: &Value, state: &str, timeout: Duration) -> Value {
    wait_for(&format!("lead {id} {state}"), timeout, || Some(lead(d, id)).filter(|v| v["state"] == state))
}
