//! The campaign API's rules against the real binary and its SQLite file:
//! users and sessions, roles, seed 002's append limits, legal transitions,
//! find-matching, DNC at dial time, and the OpenAPI document.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn add_user(d: &Daemon, client: &str, user: &str, role: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialerd"))
        .args(["--config", d.dir.path().join("dialerd.toml").to_str().unwrap()])
        .args(["user", "add", "--client", client, "--username", user, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn login(d: &Daemon, client: &str, user: &str, password: &str) -> (u16, Value) {
    d.send("POST", "/v1/session/login", Some(&json!({"client": client, "username": user, "password": password})), "-")
}

fn setup(d: &Daemon, bearer: &str) -> i64 {
    let (s, v) = d.send(
        "POST",
        "/v1/services",
        Some(&json!({"id": "svc", "name": "Svc", "time_zone": "Europe/London"})),
        bearer,
    );
    assert_eq!(s, 201, "{v}");
    let body = json!({"service": "svc", "name": "c", "allow_append": true, "trunks": ["sipp"],
        "calling_window": "00:00-24:00", "records": [{"phone1": "+441234567001"}, {"phone1": "+441234567001"}, {"phone2": []}]});
    let (s, v) = d.send("POST", "/v1/campaigns", Some(&body), bearer);
    assert_eq!(s, 201, "{v}");
    assert_eq!((v["build"]["uploaded"].as_i64(), v["build"]["loaded"].as_i64()), (Some(3), Some(1)), "{v}");
    let reasons: Vec<&str> =
        v["build"]["rejections"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["invalid", "duplicate"]);
    v["campaign"]["id"].as_i64().unwrap()
}

#[test]
fn sessions_roles_and_seed_002_append_rules() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    add_user(&d, "acme", "mia", "manager", "manager-pass-1");
    add_user(&d, "acme", "rob", "readonly", "readonly-pass-1");
    assert_eq!(login(&d, "acme", "mia", "wrong-password").0, 401);
    assert_eq!(login(&d, "other", "mia", "manager-pass-1").0, 401);
    let (s, v) = login(&d, "acme", "mia", "manager-pass-1");
    assert_eq!((s, v["client_id"].as_str(), v["role"].as_str()), (200, Some("acme"), Some("manager")), "{v}");
    let mia = v["session_id"].as_str().unwrap().to_string();
    let rob = login(&d, "acme", "rob", "readonly-pass-1").1["session_id"].as_str().unwrap().to_string();
    let id = setup(&d, &mia);
    // Tenancy: the default client's key does not see acme's campaign.
    assert_eq!(d.api("GET", &format!("/v1/campaigns/{id}"), None).0, 404);

    let path = format!("/v1/campaigns/{id}/records");
    let one = json!([{"phone1": "+441234567002", "account": "A-2"}]);
    let (s, v) = d.send("PUT", &path, Some(&one), &rob);
    assert_eq!((s, v["error"]["field"].as_str()), (403, Some("authorization")), "{v}");
    let too_many = Value::Array((0..10_001).map(|i| json!({"phone1": format!("+4412{i:08}")})).collect());
    assert_eq!(d.send("PUT", &path, Some(&too_many), &mia).0, 413);
    let phones: Vec<String> = (0..31).map(|i| format!("+4413{i:08}")).collect();
    let bad = json!([{"phone1": "+441234567003"}, {"phone1": "+441234567004", "phone2": phones}]);
    let (s, v) = d.send("PUT", &path, Some(&bad), &mia);
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("[1].phone2")), "{v}");
    let (s, v) = d.send("PUT", &path, Some(&json!({"phone1": "x"})), &mia);
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].is_string());
    // Five calls per rolling minute, failed ones included: three so far.
    assert_eq!(d.send("PUT", &path, Some(&one), &mia).0, 204);
    assert_eq!(d.send("PUT", &path, Some(&json!([{"phone1": "+441234567005"}])), &mia).0, 204);
    let (s, v) = d.send("PUT", &path, Some(&one), &mia);
    assert_eq!(s, 429, "{v}");

    let (_, stats) = d.send("GET", &format!("/v1/campaigns/{id}/stats"), None, &rob);
    // Appends count as uploaded and loaded, and skip de-duplication.
    assert_eq!((stats["uploaded"].as_i64(), stats["loaded"].as_i64()), (Some(5), Some(3)), "{stats}");
    assert_eq!(stats["appended"], 2);
    let (s, v) = d.send("POST", &format!("/v1/campaigns/{id}/pause"), None, &mia);
    assert_eq!(s, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("BUILT"), "{v}");
    let (s, v) = d.send("POST", &format!("/v1/campaigns/{id}/stop"), None, &mia);
    assert_eq!((s, v["state"].as_str()), (200, Some("STOP")), "{v}");
    assert_eq!(d.send("POST", &format!("/v1/campaigns/{id}/play"), None, &mia).0, 409);

    let (s, v) = d.send("GET", "/v1/campaigns?service=svc&state=STOP&type=OUTBOUND", None, &rob);
    assert_eq!((s, v["campaigns"].as_array().map(Vec::len)), (200, Some(1)), "{v}");
    assert_eq!(d.send("GET", "/v1/campaigns?limit=11", None, &rob).1["error"]["field"], "limit");
    assert_eq!(d.send("GET", "/v1/campaigns?state=RUNNING", None, &rob).1["error"]["field"], "state");

    let (s, _) = d.send("POST", "/v1/session/logout", None, &mia);
    assert_eq!(s, 204);
    assert_eq!(d.send("GET", "/v1/campaigns", None, &mia).0, 401, "the session has ended");
}

#[test]
fn sessions_expire() {
    let d = Daemon::start(free_udp_port(), Opts { api: "session_ttl_s = 1".into(), ..Default::default() });
    add_user(&d, "acme", "ann", "agent", "agent-pass-12");
    let (s, v) = login(&d, "acme", "ann", "agent-pass-12");
    assert_eq!(s, 200, "{v}");
    let token = v["session_id"].as_str().unwrap().to_string();
    assert_eq!(d.send("GET", "/v1/services", None, &token).0, 200);
    // An agent places calls but may not create services.
    let svc = json!({"id": "x", "name": "X", "time_zone": "UTC"});
    assert_eq!(d.send("POST", "/v1/services", Some(&svc), &token).0, 403);
    std::thread::sleep(Duration::from_millis(1200));
    let (s, v) = d.send("GET", "/v1/services", None, &token);
    assert_eq!((s, v["error"]["field"].as_str()), (401, Some("authorization")), "{v}");
}

#[test]
fn append_refusals_by_type_flag_and_state_and_the_openapi_document() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    d.api("POST", "/v1/services", Some(&json!({"id": "s", "name": "S", "time_zone": "UTC"})));
    let mk = |extra: Value| {
        let mut b = json!({"service": "s", "name": "n", "trunks": ["sipp"]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        d.api("POST", "/v1/campaigns", Some(&b)).1["campaign"]["id"].as_i64().unwrap()
    };
    let rec = json!([{"phone1": "+15551230001"}]);
    let manual = mk(json!({"type": "MANUAL", "allow_append": true}));
    let (s, v) = d.api("PUT", &format!("/v1/campaigns/{manual}/records"), Some(&rec));
    assert_eq!(s, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("MANUAL"), "{v}");
    let no_flag = mk(json!({}));
    assert_eq!(d.api("PUT", &format!("/v1/campaigns/{no_flag}/records"), Some(&rec)).0, 409);
    let ok = mk(json!({"allow_append": true}));
    assert_eq!(d.api("PUT", &format!("/v1/campaigns/{ok}/records"), Some(&rec)).0, 204);
    let (s, v) = d.api("POST", "/v1/campaigns", Some(&json!({"service": "s", "name": "n", "trunks": ["nope"]})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("trunks[0]")), "{v}");
    let (s, v) = d.api(
        "POST",
        "/v1/campaigns",
        Some(&json!({"service": "s", "name": "n", "trunks": ["sipp"], "pacing": {"max_cps": 0}})),
    );
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("pacing.max_cps")), "{v}");
    let zero = json!({"service": "s", "name": "n", "trunks": ["sipp"], "caps": {"per_day": 3, "per_24h": 0}});
    let (s, v) = d.api("POST", "/v1/campaigns", Some(&zero));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("caps.per_24h")), "{v}");
    let (s, v) = d.post_text(&format!("/v1/campaigns/{ok}/upload"), "text/plain", "phone1\n+15551230002\n");
    assert_eq!(s, 415, "{v}");

    let (_, doc) = d.api("GET", "/v1/openapi.json", None);
    for route in
        ["/v1/session/login", "/v1/campaigns/{id}/records", "/v1/campaigns/{id}/upload", "/v1/dnc", "/v1/services"]
    {
        assert!(doc["paths"][route].is_object(), "{route} missing from the OpenAPI document");
    }
}

#[test]
fn a_number_on_the_do_not_call_list_is_never_dialled_and_csv_builds_stream() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    d.api("POST", "/v1/services", Some(&json!({"id": "s", "name": "S", "time_zone": "UTC", "sort": "balance desc"})));
    let (s, v) = d.api("POST", "/v1/dnc", Some(&json!({"numbers": ["+1 (555) 000-0001"], "source": "complaint"})));
    assert_eq!((s, v["added"].as_i64()), (200, Some(1)), "{v}");
    let (_, id) = d.api(
        "POST",
        "/v1/campaigns",
        Some(&json!({"service": "s", "name": "n", "trunks": ["sipp"], "calling_window": "00:00-24:00"})),
    );
    let id = id["campaign"]["id"].as_i64().unwrap();
    let csv = "Phone1,Balance,Last Name\n+15550000001,10,Dnc\n\"+1555000000 2\",5,\"Dup, Ok\"\n+15550000002,1,Dup\nnot-a-number,3,Bad\n";
    let (s, v) = d.post_text(&format!("/v1/campaigns/{id}/upload"), "text/csv", csv);
    assert_eq!(
        (s, v["uploaded"].as_i64(), v["loaded"].as_i64(), v["rejected"].as_i64()),
        (200, Some(4), Some(2), Some(2)),
        "{v}"
    );
    // Only the DNC number is dialable-looking; the other rings nowhere, so
    // hold it back by DNC'ing it too after the check below.
    d.api("POST", "/v1/dnc", Some(&json!({"numbers": ["+15550000002"]})));
    let (_, look) = d.api("GET", "/v1/dnc?phone=%2B15550000001", None);
    assert_eq!(look[0]["source"], "complaint");
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    let deadline = Instant::now() + Duration::from_secs(15);
    let stats = loop {
        let (_, v) = d.api("GET", &format!("/v1/campaigns/{id}/stats"), None);
        if v["state"] == "DONE" {
            break v;
        }
        assert!(Instant::now() < deadline, "{v:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(stats["finals"]["dnc"], 2, "{stats}");
    assert_eq!(stats["completed"], 0);
    let (_, calls) = d.api("GET", &format!("/v1/calls?campaign={id}"), None);
    assert_eq!(calls["calls"].as_array().unwrap().len(), 0, "nothing dialled: {calls}");
    let (_, e) = d.api("GET", &format!("/v1/campaigns/{id}/explain"), None);
    assert_eq!((e["dnc"].as_i64(), e["code"].as_str()), (Some(2), Some("not_playing")), "{e}");
    assert_eq!(d.api("DELETE", "/v1/dnc/%2B15550000001", None).0, 204);
    assert_eq!(d.api("DELETE", "/v1/dnc/%2B15550000001", None).0, 404);
}

/// Moves every campaign's creation two days back, as if dialerd had been
/// running since then (the store is shared with the running daemon: WAL).
fn age_campaigns(d: &Daemon) -> String {
    let yesterday = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let day = yesterday.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let db = d.dir.path().join("var/dialerd.db");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).busy_timeout(Duration::from_secs(5));
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::query("UPDATE campaigns SET created_at = ?, day = ?")
            .bind(yesterday.as_millisecond())
            .bind(&day)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    day
}

#[test]
fn at_the_end_of_their_day_campaigns_report_and_take_no_more_appends() {
    let mut d = Daemon::start(free_udp_port(), Opts::default());
    let svc = |id: &str, eod: bool| {
        let body = json!({"id": id, "name": id, "time_zone": "UTC", "report_at_end_of_day": eod});
        assert_eq!(d.api("POST", "/v1/services", Some(&body)).0, 201);
    };
    svc("eod", true);
    svc("plain", false);
    let mk = |service: &str, records: Value| {
        let body =
            json!({"service": service, "name": "n", "allow_append": true, "trunks": ["sipp"], "records": records});
        d.api("POST", "/v1/campaigns", Some(&body)).1["campaign"]["id"].as_i64().unwrap()
    };
    // Report at end of day: playing with nothing to dial, it stays open.
    let open = mk("eod", json!([]));
    assert_eq!(d.api("POST", &format!("/v1/campaigns/{open}/play"), None).0, 200);
    let stopped = mk("plain", json!([{"phone1": "+15557000001", "account": "A-1"}]));
    assert_eq!(d.api("POST", &format!("/v1/campaigns/{stopped}/stop"), None).0, 200);
    let built = mk("plain", json!([]));
    std::thread::sleep(Duration::from_millis(300));
    let (_, st) = d.api("GET", &format!("/v1/campaigns/{open}/stats"), None);
    assert_eq!(st["state"], "PLAY", "report-at-end-of-day keeps an empty campaign open: {st}");

    let day = age_campaigns(&d);
    d.kill9_and_restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in [open, stopped] {
        loop {
            let (_, c) = d.api("GET", &format!("/v1/campaigns/{id}"), None);
            if c["state"] == "REPORTED" {
                break;
            }
            assert!(Instant::now() < deadline, "campaign {id} not reported: {c}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let report = d.dir.path().join(format!("var/reports/campaign-{id}-{day}.csv"));
        let text =
            std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{}: {e}\n{}", report.display(), d.log()));
        assert!(text.starts_with("record_id,"), "{text}");
        assert_eq!(text.lines().count(), if id == stopped { 2 } else { 1 }, "{text}");
    }
    let rec = json!([{"phone1": "+15557000002"}]);
    let (s, v) = d.api("PUT", &format!("/v1/campaigns/{built}/records"), Some(&rec));
    assert_eq!(s, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("today"), "{v}");
    let (s, v) = d.api("PUT", &format!("/v1/campaigns/{open}/records"), Some(&rec));
    assert_eq!(s, 409, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("REPORTED"), "{v}");
    assert_eq!(d.api("POST", &format!("/v1/campaigns/{open}/play"), None).0, 409);
}

#[test]
fn another_clients_calls_are_not_found() {
    // A call placed by client `default` is unknown to client `globex`:
    // GET and DELETE answer 404 (not 403, so ids cannot be probed).
    let d = Daemon::start(free_udp_port(), Opts::default());
    add_user(&d, "globex", "gus", "manager", "pw-0123456789");
    let (s, v) = login(&d, "globex", "gus", "pw-0123456789");
    assert_eq!(s, 200, "{v}");
    let theirs = v["session_id"].as_str().unwrap().to_string();
    let id = d.call(call_body(json!({})));
    let (s, _) = d.send("GET", &format!("/v1/calls/{id}"), None, &theirs);
    assert_eq!(s, 404);
    let (s, _) = d.send("DELETE", &format!("/v1/calls/{id}"), None, &theirs);
    assert_eq!(s, 404);
    let (s, v) = d.send("GET", &format!("/v1/calls/{id}"), None, KEY);
    assert_eq!(s, 200, "the owner still sees it: {v}");
}
