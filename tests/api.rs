//! The HTTP API's contract: auth, JSON errors that name the field (axum's
//! own rejections included), capacity answers, and the OpenAPI document
//! matching the routes that exist.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn raw(d: &Daemon, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> (u16, Value, Option<String>) {
    let url = d.url(path);
    let a = agent();
    let mut resp = match (method, body) {
        ("POST", Some(b)) => {
            let mut r = a.post(&url).header("Content-Type", "application/json");
            if let Some(k) = key {
                r = r.header("Authorization", &format!("Bearer {k}"));
            }
            r.send(b.as_bytes())
        }
        ("PUT", _) => a.put(&url).send(""),
        ("GET", _) => {
            let mut r = a.get(&url);
            if let Some(k) = key {
                r = r.header("Authorization", &format!("Bearer {k}"));
            }
            r.call()
        }
        ("DELETE", _) => {
            let mut r = a.delete(&url);
            if let Some(k) = key {
                r = r.header("Authorization", &format!("Bearer {k}"));
            }
            r.call()
        }
        _ => unreachable!(),
    }
    .unwrap();
    let www = resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null), www)
}

fn field_error(d: &Daemon, body: Value) -> (u16, Option<String>, String) {
    let (s, v) = d.post_call(body);
    (
        s,
        v["error"]["field"].as_str().map(str::to_string),
        v["error"]["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn requests_without_the_key_get_401_json() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let (s, v, www) = raw(&d, "POST", "/v1/calls", None, Some(r#"{"to":"+1555","trunk":"sipp"}"#));
    assert_eq!((s, v["error"]["field"].as_str()), (401, Some("authorization")), "{v}");
    assert_eq!(www.as_deref(), Some("Bearer"));
    let (s, _, _) = raw(&d, "POST", "/v1/calls", Some("wrong-key-123456"), Some("{}"));
    assert_eq!(s, 401);
    let (s, _, _) = raw(&d, "GET", "/v1/calls/01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f", None, None);
    assert_eq!(s, 401);
    // Health, metrics and the OpenAPI document need no key.
    assert_eq!(raw(&d, "GET", "/healthz", None, None).0, 200);
    assert_eq!(raw(&d, "GET", "/v1/openapi.json", None, None).0, 200);
}

#[test]
fn bad_input_names_the_field() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let cases: Vec<(Value, Option<&str>)> = vec![
        (json!({"trunk": "sipp"}), Some("to")),
        (json!({"to": 15551234, "trunk": "sipp"}), Some("to")),
        (json!({"to": "call me", "trunk": "sipp"}), Some("to")),
        (json!({"to": "sip:1000@host;transport=tcp", "trunk": "sipp"}), Some("to")),
        (json!({"to": "+15551234"}), Some("trunk")),
        (json!({"to": "+15551234", "trunk": "nope"}), Some("trunk")),
        (json!({"to": "+15551234", "trunk": "sipp", "caller_id": "bad id"}), Some("caller_id")),
        (json!({"to": "+15551234", "trunk": "sipp", "caller_name": "a\"b"}), Some("caller_name")),
        (json!({"to": "+15551234", "trunk": "sipp", "prompt": "missing.wav"}), Some("prompt")),
        (json!({"to": "+15551234", "trunk": "sipp", "prompt": "../dialerd.toml"}), Some("prompt")),
        (
            json!({"to": "+15551234", "trunk": "sipp", "gather": {"max_digits": 0, "timeout_s": 5}}),
            Some("gather.max_digits"),
        ),
        (json!({"to": "+15551234", "trunk": "sipp", "gather": {"max_digits": 1}}), Some("gather.timeout_s")),
        (
            json!({"to": "+15551234", "trunk": "sipp", "gather": {"max_digits": "x", "timeout_s": 1}}),
            Some("gather.max_digits"),
        ),
        (json!({"to": "+15551234", "trunk": "sipp", "no_answer_timeout_s": -1}), Some("no_answer_timeout_s")),
        (json!({"to": "+15551234", "trunk": "sipp", "max_duration_s": 1e9}), Some("max_duration_s")),
        (json!({"to": "+15551234", "trunk": "sipp", "colour": "blue"}), Some("colour")),
    ];
    for (body, field) in cases {
        let (s, f, m) = field_error(&d, body.clone());
        assert_eq!((s, f.as_deref()), (400, field), "{body} → {m}");
        assert!(!m.is_empty());
    }
    for text in ["{not json", "[1,2]", "", "\"just a string\""] {
        let (s, v, _) = raw(&d, "POST", "/v1/calls", Some(KEY), Some(text));
        assert_eq!(s, 400, "{text:?} → {v}");
        assert!(v["error"]["message"].as_str().is_some(), "{v}");
    }
    let big = format!("{{\"to\":\"{}\"}}", "1".repeat(70_000));
    let (s, v, _) = raw(&d, "POST", "/v1/calls", Some(KEY), Some(&big));
    assert_eq!(s, 413, "{v}");
    assert!(v["error"]["message"].as_str().is_some());
}

#[test]
fn unknown_ids_routes_and_methods_are_json_errors() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let (s, v) = d.get("/v1/calls/01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f");
    assert_eq!((s, v["error"]["field"].as_str()), (404, Some("id")));
    assert_eq!(d.get("/v1/calls/not-an-id").0, 404);
    assert_eq!(d.delete("/v1/calls/01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f").0, 404);
    let (s, v, _) = raw(&d, "GET", "/v1/nothing-here", Some(KEY), None);
    assert_eq!((s, v["error"]["field"].as_str()), (404, Some("path")));
    let (s, v, _) = raw(&d, "PUT", "/v1/calls", Some(KEY), None);
    assert_eq!(s, 405, "{v}");
    assert!(v["error"]["message"].as_str().is_some());
}

#[test]
fn capacity_refusals_are_429_with_retry_after() {
    let sipp = Sipp::uas("no_answer.xml", 1);
    let d = Daemon::start(sipp.port, Opts { trunk: "max_concurrent = 1".into(), ..Opts::default() });
    let id = d.call(call_body(json!({})));
    d.wait_state(&id, "ringing", Duration::from_secs(10));
    let (s, v, retry) = d.post_call_full(call_body(json!({})));
    assert_eq!(s, 429, "{v}");
    assert_eq!(v["error"]["field"], "trunk");
    assert!(retry.is_some());
    assert_eq!(d.metric("dialerd_calls_refused_total", "reason=\"trunk_busy\""), 1.0);
    d.delete(&format!("/v1/calls/{id}"));
    d.wait_ended(&id, Duration::from_secs(10));
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
}

#[test]
fn the_openapi_document_matches_the_routes() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let (s, doc, _) = raw(&d, "GET", "/v1/openapi.json", None, None);
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    documented.sort();
    let expected = [
        ("DELETE", "/v1/agent-groups/{id}"),
        ("DELETE", "/v1/agents/{id}"),
        ("DELETE", "/v1/calls/{id}"),
        ("DELETE", "/v1/clients/{id}/lead-keys/{key_id}"),
        ("DELETE", "/v1/dnc/{phone}"),
        ("DELETE", "/v1/webhooks/{id}"),
        ("GET", "/healthz"),
        ("GET", "/l/{token}"),
        ("GET", "/metrics"),
        ("GET", "/v1/agent-groups"),
        ("GET", "/v1/agent-groups/{id}/stats"),
        ("GET", "/v1/agents"),
        ("GET", "/v1/calls"),
        ("GET", "/v1/calls/{id}"),
        ("GET", "/v1/campaigns"),
        ("GET", "/v1/campaigns/{id}"),
        ("GET", "/v1/campaigns/{id}/explain"),
        ("GET", "/v1/campaigns/{id}/records"),
        ("GET", "/v1/campaigns/{id}/stats"),
        ("GET", "/v1/click-to-call/sites/{key}"),
        ("GET", "/v1/click-to-call/{id}"),
        ("GET", "/v1/clients/{id}/lead-keys"),
        ("GET", "/v1/dialplans"),
        ("GET", "/v1/dnc"),
        ("GET", "/v1/leads"),
        ("GET", "/v1/leads/{id}"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/v1/schedules"),
        ("GET", "/v1/schedules/{name}"),
        ("GET", "/v1/services"),
        ("GET", "/v1/webhooks"),
        ("GET", "/v1/webhooks/{id}/dead"),
        ("GET", "/widget.js"),
        ("POST", "/api/"),
        ("POST", "/l/{token}"),
        ("POST", "/v1/agent-groups"),
        ("POST", "/v1/agents"),
        ("POST", "/v1/calls"),
        ("POST", "/v1/calls/{id}/bridge"),
        ("POST", "/v1/campaigns"),
        ("POST", "/v1/campaigns/{id}/pause"),
        ("POST", "/v1/campaigns/{id}/play"),
        ("POST", "/v1/campaigns/{id}/stop"),
        ("POST", "/v1/campaigns/{id}/upload"),
        ("POST", "/v1/click-to-call"),
        ("POST", "/v1/clients/{id}/lead-keys"),
        ("POST", "/v1/dialplans:reload"),
        ("POST", "/v1/dnc"),
        ("POST", "/v1/services"),
        ("POST", "/v1/session/login"),
        ("POST", "/v1/session/logout"),
        ("POST", "/v1/webhooks"),
        ("POST", "/v1/webhooks/{id}/dead/{letter}/replay"),
        ("PUT", "/v1/agents/{id}/status"),
        ("PUT", "/v1/campaigns/{id}/records"),
        ("PUT", "/v1/schedules/{name}"),
    ];
    assert_eq!(documented, expected.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect::<Vec<_>>());
    // Every documented route exists: none answers with the fallback.
    for (method, path) in &documented {
        let path = path
            .replace("{id}", "01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f")
            .replace("{name}", "x")
            .replace("{phone}", "%2B15551234")
            .replace("{letter}", "1")
            .replace("{token}", "x")
            .replace("{key_id}", "k")
            .replace("{key}", "k");
        let (s, v, _) = raw(&d, method, &path, Some(KEY), Some("{}"));
        assert!(s != 405 && v["error"]["field"] != "path", "{method} {path}: {s} {v}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for schema in ["NewCall", "CallView", "ErrorBody", "Created", "Health"] {
        assert!(doc["components"]["schemas"].get(schema).is_some(), "schema {schema}");
    }
    assert_eq!(doc["paths"]["/v1/calls"]["post"]["security"][0]["bearer"], json!([]));
}

#[test]
fn metrics_are_described_and_histograms_have_buckets() {
    let sipp = Sipp::uas("answer_wait_bye.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({})));
    d.wait_ended(&id, Duration::from_secs(10));
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
    let text = d.get_text("/metrics");
    for name in [
        "dialerd_calls_started_total",
        "dialerd_calls_ended_total",
        "dialerd_calls_active",
        "dialerd_call_setup_seconds",
        "dialerd_sip_messages_total",
        "dialerd_sip_malformed_total",
        "dialerd_rtp_packets_total",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "no description for {name}:\n{text}");
    }
    assert!(text.contains("dialerd_call_setup_seconds_bucket{le=\"0.005\"}"), "{text}");
    assert!(!text.contains("quantile="), "histograms, not summaries");
    assert_eq!(metric_value(&text, "dialerd_calls_started_total", "trunk=\"sipp\""), 1.0);
    assert_eq!(metric_value(&text, "dialerd_calls_ended_total", "disposition=\"answered\""), 1.0);
    assert_eq!(metric_value(&text, "dialerd_call_setup_seconds_count", ""), 1.0);
    assert_eq!(metric_value(&text, "dialerd_calls_active", ""), 0.0);
    assert!(metric_value(&text, "dialerd_sip_messages_total", "direction=\"out\",kind=\"INVITE\"") >= 1.0);
    assert!(metric_value(&text, "dialerd_sip_messages_total", "direction=\"in\",kind=\"180\"") >= 1.0);
}
