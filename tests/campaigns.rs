//! Campaigns end to end: the real `dialerd` binary, its SQLite file, and
//! SIPp as the carrier (`tests/sipp/campaign_mix.xml` answers by the
//! dialled number's last digit: 1 answer, 2 busy, 3 ring until CANCEL,
//! 4 answer after 1.5 s).

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

fn service(d: &Daemon, id: &str, sort: &str) {
    let (s, v) = d.api("POST", "/v1/services", Some(&json!({"id": id, "name": id, "sort": sort, "time_zone": "UTC"})));
    assert_eq!(s, 201, "{v}");
}

/// A campaign on the SIPp trunk, open around the clock (tests run at any hour).
fn campaign(d: &Daemon, svc: &str, extra: Value, records: Vec<Value>) -> i64 {
    let mut body = json!({
        "service": svc, "name": "test", "allow_append": true, "trunks": ["sipp"],
        "calling_window": "00:00-24:00", "records": records,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, v) = d.api("POST", "/v1/campaigns", Some(&body));
    assert_eq!(s, 201, "{v}");
    v["campaign"]["id"].as_i64().unwrap()
}

fn wait_campaign_state(d: &Daemon, id: i64, state: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let (_, v) = d.api("GET", &format!("/v1/campaigns/{id}/stats"), None);
        if v["state"] == state {
            return v;
        }
        if Instant::now() >= deadline {
            let (_, calls) = d.api("GET", &format!("/v1/calls?campaign={id}&disposition=failed&limit=3"), None);
            panic!("campaign {id} never reached {state}: {v:#}\nfailed calls: {calls:#}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every call of a campaign, oldest first.
fn calls_of(d: &Daemon, id: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let (s, v) = d.api("GET", &format!("/v1/calls?campaign={id}&limit=100{cursor}"), None);
        assert_eq!(s, 200, "{v}");
        out.extend(v["calls"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    out.sort_by_key(|c| (c["started_at"].as_i64().unwrap(), c["id"].as_str().unwrap().to_string()));
    out
}

fn counts(v: &Value) -> BTreeMap<String, i64> {
    v.as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_i64().unwrap())).collect()
}

#[test]
fn a_200_record_campaign_ends_with_the_exact_dispositions_and_retries() {
    let sipp = Sipp::uas("campaign_mix.xml", 300);
    let d = Daemon::start(sipp.port, Opts::default());
    service(&d, "mix", "upload");
    // Half answer, a quarter busy, a quarter never answer.
    let records: Vec<Value> = (0..200)
        .map(|i| {
            let last = [1, 1, 2, 3][i % 4];
            json!({"phone1": format!("+1555{i:05}{last}"), "account": format!("A{i}")})
        })
        .collect();
    let id = campaign(
        &d,
        "mix",
        json!({
            "pacing": {"max_concurrent": 60, "max_cps": 200},
            "no_answer_timeout_s": 1,
            "retries": {
                "busy": {"delay_s": 0.3, "max_attempts": 2},
                "no_answer": {"delay_s": 0.3, "max_attempts": 2},
                "failed": {"delay_s": 0.3, "max_attempts": 1},
                "machine": {"delay_s": 0.3, "max_attempts": 1},
                "interrupted": {"delay_s": 0.3, "max_attempts": 1}
            }
        }),
        records,
    );
    let (s, v) = d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    assert_eq!((s, v["state"].as_str()), (200, Some("PLAY")), "{v}");
    let stats = wait_campaign_state(&d, id, "DONE", Duration::from_secs(90));
    assert_eq!(stats["loaded"], 200);
    assert_eq!(stats["completed"], 200);
    assert_eq!(stats["remaining"], 0);
    assert_eq!(stats["pct_completed"], 100.0);
    let finals = counts(&stats["finals"]);
    assert_eq!(finals, BTreeMap::from([("answered".into(), 100), ("busy".into(), 50), ("no_answer".into(), 50)]));
    let attempts = counts(&stats["attempts"]);
    assert_eq!(attempts, BTreeMap::from([("answered".into(), 100), ("busy".into(), 100), ("no_answer".into(), 100)]));
    // The call log agrees, number by number.
    let calls = calls_of(&d, id);
    assert_eq!(calls.len(), 300);
    let mut per_number: HashMap<String, Vec<String>> = HashMap::new();
    for c in &calls {
        per_number
            .entry(c["phone"].as_str().unwrap().into())
            .or_default()
            .push(c["disposition"].as_str().unwrap().into());
    }
    for (phone, dispositions) in &per_number {
        let want: &[&str] = match phone.chars().last().unwrap() {
            '1' => &["answered"],
            '2' => &["busy", "busy"],
            _ => &["no_answer", "no_answer"],
        };
        assert_eq!(dispositions, want, "{phone}");
    }
    // The report: every record with its final state, streamed as CSV.
    let (s, csv) = d.get_auth_text(&format!("/v1/campaigns/{id}/records?format=csv"));
    assert_eq!(s, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 201, "header + 200 records");
    assert!(lines[0].starts_with("record_id,class,state,final"), "{}", lines[0]);
    assert_eq!(lines.iter().filter(|l| l.contains(",done,busy,2,busy,")).count(), 50, "{csv}");
    let (s, v) = d.api("GET", &format!("/v1/campaigns/{id}/explain"), None);
    assert_eq!((s, v["code"].as_str()), (200, Some("not_playing")), "{v}");
    let r = sipp.wait(Duration::from_secs(30));
    assert_eq!(r.successful, 300, "{}", r.output);
    assert_eq!(d.metric("dialerd_campaign_attempts_ended_total", "disposition=\"busy\""), 100.0);
    assert_eq!(d.metric("dialerd_campaign_attempts_total", "class=\"loaded\""), 300.0);
    let done = format!("campaign=\"{id}\",state=\"done\"");
    assert_eq!(d.metric("dialerd_campaign_records", &done), 200.0);
    assert_eq!(d.metric("dialerd_campaign_queue_depth", &format!("campaign=\"{id}\"")), 0.0);
}

#[test]
fn an_append_mid_campaign_is_dialled_next_and_loaded_records_follow_the_service_sort() {
    let sipp = Sipp::uas("campaign_mix.xml", 33);
    let d = Daemon::start(sipp.port, Opts::default());
    service(&d, "sorted", "balance desc");
    // Balances shuffled: the dialling order must be by balance, highest first.
    let balances: Vec<i64> = (0..30).map(|i| (i * 37) % 30 * 10).collect();
    let records: Vec<Value> =
        balances.iter().enumerate().map(|(i, b)| json!({"phone1": format!("+1555100{i:03}1"), "balance": b})).collect();
    let id = campaign(&d, "sorted", json!({"pacing": {"max_concurrent": 1, "max_cps": 8}}), records);
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while calls_of(&d, id).len() < 8 {
        assert!(Instant::now() < deadline, "the campaign does not dial");
        std::thread::sleep(Duration::from_millis(20));
    }
    let appended: Vec<Value> =
        (0..3).map(|i| json!({"phone1": format!("+1555900{i:03}1"), "account": "vip"})).collect();
    let (s, v) = d.api("PUT", &format!("/v1/campaigns/{id}/records"), Some(&Value::Array(appended)));
    assert_eq!(s, 204, "{v}");
    let appended_at = jiff::Timestamp::now().as_millisecond();
    wait_campaign_state(&d, id, "DONE", Duration::from_secs(60));
    let calls = calls_of(&d, id);
    assert_eq!(calls.len(), 33);
    let phones: Vec<&str> = calls.iter().map(|c| c["phone"].as_str().unwrap()).collect();
    let first = phones.iter().position(|p| p.starts_with("+1555900")).unwrap();
    assert_eq!(
        &phones[first..first + 3],
        &["+15559000001", "+15559000011", "+15559000021"],
        "appended, FIFO: {phones:?}"
    );
    // Nothing loaded was dialled after the append returned while an
    // appended record waited (one call may have been starting).
    for c in &calls[..first] {
        assert!(c["started_at"].as_i64().unwrap() <= appended_at, "a loaded record jumped the append: {c}");
    }
    let loaded: Vec<i64> = phones
        .iter()
        .filter(|p| p.starts_with("+1555100"))
        .map(|p| balances[p[8..11].parse::<usize>().unwrap()])
        .collect();
    let mut sorted = loaded.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(loaded, sorted, "loaded records in balance desc order");
    drop(sipp);
}

#[test]
fn kill_9_mid_campaign_loses_no_record_and_retries_interrupted_attempts_after_the_ring_time() {
    let sipp = Sipp::uas("campaign_mix.xml", 200);
    let d0 =
        Daemon::start(sipp.port, Opts { tail: "[campaigns]\ninterrupted_margin_s = 1\n".into(), ..Default::default() });
    let mut d = d0;
    service(&d, "crash", "upload");
    // Every number answers after 1.5 s: calls are in flight most of the time.
    let records: Vec<Value> = (0..20).map(|i| json!({"phone1": format!("+1555200{i:03}4")})).collect();
    let id = campaign(
        &d,
        "crash",
        json!({
            "pacing": {"max_concurrent": 4, "max_cps": 50},
            "no_answer_timeout_s": 3,
            "retries": {"interrupted": {"delay_s": 0.1, "max_attempts": 3}}
        }),
        records,
    );
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let open = calls_of(&d, id).iter().filter(|c| c["ended_at"].is_null()).count();
        let done = calls_of(&d, id).iter().filter(|c| !c["ended_at"].is_null()).count();
        if open >= 2 && done >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "no calls in flight");
        std::thread::sleep(Duration::from_millis(30));
    }
    d.kill9_and_restart();
    let stats = wait_campaign_state(&d, id, "DONE", Duration::from_secs(60));
    assert_eq!((stats["loaded"].as_i64(), stats["completed"].as_i64()), (Some(20), Some(20)), "{stats:#}");
    assert_eq!(counts(&stats["finals"]), BTreeMap::from([("answered".into(), 20)]));
    let calls = calls_of(&d, id);
    let interrupted: Vec<&Value> = calls.iter().filter(|c| c["disposition"] == "interrupted").collect();
    assert!(!interrupted.is_empty(), "the kill caught calls in flight: {calls:#?}");
    assert_eq!(calls.len(), 20 + interrupted.len(), "every attempt accounted for");
    assert!(calls.iter().all(|c| !c["ended_at"].is_null()), "no attempt left open");
    for i in &interrupted {
        let record = &i["record_id"];
        let started = i["started_at"].as_i64().unwrap();
        let retry = calls.iter().find(|c| &c["record_id"] == record && c["started_at"].as_i64().unwrap() > started);
        let retry = retry.unwrap_or_else(|| panic!("record {record} was not retried"));
        // No-answer timeout 3 s + margin 1 s: the carrier leg may still ring.
        assert!(retry["started_at"].as_i64().unwrap() >= started + 4_000, "retried too soon: {i} then {retry}");
    }
    // Never two calls to the same record at once.
    let mut by_record: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for c in &calls {
        let span = (c["started_at"].as_i64().unwrap(), c["ended_at"].as_i64().unwrap());
        by_record.entry(c["record_id"].as_i64().unwrap()).or_default().push(span);
    }
    for spans in by_record.values_mut() {
        spans.sort();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "overlapping attempts: {spans:?}");
    }
    drop(sipp);
}

#[test]
fn an_ivr_opt_out_goes_on_the_dnc_list_and_is_never_undone() {
    // The callee answers and presses 2 on the lead-qualification flow.
    let sipp = Sipp::uas_templated("answer_press.xml", &[("@DIGIT@", "2"), ("@DELAY@", "500")]);
    let d = Daemon::start(sipp.port, Opts::default());
    service(&d, "leads", "upload");
    // A second number on the same record must not be tried after the opt-out.
    let rec = vec![json!({"phone1": "+15553000011", "phone2": ["+15553000021"]})];
    let id = campaign(&d, "leads", json!({"dialplan": "lead-qualification"}), rec.clone());
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    let stats = wait_campaign_state(&d, id, "DONE", Duration::from_secs(30));
    assert_eq!(counts(&stats["finals"]), BTreeMap::from([("dnc".into(), 1)]), "{stats:#}");
    let calls = calls_of(&d, id);
    assert_eq!(calls.len(), 1, "phone2 is not dialled after an opt-out: {calls:#?}");
    assert_eq!(calls[0]["outcome"], "rejected");
    let (_, hit) = d.api("GET", "/v1/dnc?phone=%2B15553000011", None);
    assert_eq!(hit[0]["source"], format!("ivr_opt_out:campaign:{id}"), "{hit}");
    // A later campaign to the same number skips it at dial time.
    let again =
        campaign(&d, "leads", json!({"dialplan": "lead-qualification"}), vec![json!({"phone1": "+15553000011"})]);
    d.api("POST", &format!("/v1/campaigns/{again}/play"), None);
    let stats = wait_campaign_state(&d, again, "DONE", Duration::from_secs(30));
    assert_eq!(stats["finals"]["dnc"], 1, "{stats:#}");
    assert!(calls_of(&d, again).is_empty());
    assert_eq!(sipp.wait(Duration::from_secs(10)).successful, 1);
}

#[test]
fn a_caller_id_pool_is_used_in_turn_or_least_used_today() {
    let sipp = Sipp::uas("answer_wait_bye.xml", 5);
    let d = Daemon::start(sipp.port, Opts::default());
    service(&d, "pool", "upload");
    let one_at_a_time = json!({"max_concurrent": 1, "max_cps": 50});
    let records = |n: u32| (0..n).map(|i| json!({"phone1": format!("+1555400{i:04}")})).collect::<Vec<_>>();
    for (body, field) in [
        (json!({"caller_id": "+15550100", "caller_ids": ["+15550101"]}), "caller_ids"),
        (json!({"caller_ids": ["+15550101", "not a number!"]}), "caller_ids[1]"),
        (json!({"caller_ids": ["+15550101", "+15550101"]}), "caller_ids[1]"),
        (json!({"caller_ids": ["+15550101"], "caller_id_strategy": "random"}), "caller_id_strategy"),
    ] {
        let mut b = json!({"service": "pool", "name": "x", "trunks": ["sipp"], "records": records(1)});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let (s, v) = d.api("POST", "/v1/campaigns", Some(&b));
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    let pool = ["+15550101", "+15550102", "+15550103"];
    let id = campaign(&d, "pool", json!({"caller_ids": pool, "pacing": one_at_a_time}), records(3));
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    wait_campaign_state(&d, id, "DONE", Duration::from_secs(30));
    // Today: 101, 102 and 103 once each. 104 is new, so it goes first;
    // then 101 and 104 tie at one and turn order decides.
    let strategy = json!({"caller_ids": ["+15550101", "+15550104"], "caller_id_strategy": "least_used_today",
        "pacing": one_at_a_time});
    let id = campaign(&d, "pool", strategy, records(2));
    d.api("POST", &format!("/v1/campaigns/{id}/play"), None);
    wait_campaign_state(&d, id, "DONE", Duration::from_secs(30));
    let r = sipp.wait(Duration::from_secs(10));
    assert_sipp(&r, 5);
    let shown: Vec<&str> = r
        .messages
        .split("INVITE sip:")
        .skip(1)
        .filter_map(|m| m.lines().find(|l| l.starts_with("From:")))
        .filter_map(|l| l.split("<sip:").nth(1)?.split('@').next())
        .collect();
    assert_eq!(shown, ["+15550101", "+15550102", "+15550103", "+15550104", "+15550101"], "{}", r.messages);
}
