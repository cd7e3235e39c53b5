//! IVR flows end to end: dialplans run by the real daemon against SIPp,
//! with RFC 4733 and in-band digits, an answering machine, a network
//! announcement in early media, a webhook served by the test, and reloads.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn path_nodes(v: &Value) -> Vec<String> {
    v["flow"]["path"].as_array().unwrap().iter().map(|s| s["node"].as_str().unwrap().to_string()).collect()
}

/// A call on a flow with SIPp playing `scenario` (placeholders filled).
fn flow_call(scenario: &str, fill: &[(&str, &str)], opts: Opts, body: Value) -> (Daemon, Value, SippResult) {
    let sipp = Sipp::uas_templated(scenario, fill);
    let d = Daemon::start(sipp.port, opts);
    let id = d.call(call_body(body));
    let v = d.wait_ended(&id, T);
    let r = sipp.wait(T);
    (d, v, r)
}

fn sox(args: &[&str]) {
    make_audio("sox", args);
}

/// Raw µ-law audio (what SIPp's rtp_stream sends as PCMU): 1 s of silence,
/// then each digit as a 150 ms dual tone and 150 ms of silence, then 2 s.
fn inband_digits(dir: &Path, digits: &str) -> PathBuf {
    let freqs = |d: char| match d {
        '1' => (697, 1209),
        '2' => (697, 1336),
        '5' => (770, 1336),
        '9' => (852, 1477),
        _ => panic!("no tone for {d}"),
    };
    let mut parts = vec![silence(dir, "lead", 1.0)];
    for (i, d) in digits.chars().enumerate() {
        let (lo, hi) = freqs(d);
        let stereo = dir.join(format!("d{i}s.wav"));
        let tone = dir.join(format!("d{i}.wav"));
        sox(&[
            "-n",
            "-r",
            "8000",
            "-c",
            "2",
            stereo.to_str().unwrap(),
            "synth",
            "0.15",
            "sine",
            &lo.to_string(),
            "sine",
            &hi.to_string(),
            "vol",
            "0.5",
        ]);
        sox(&[stereo.to_str().unwrap(), "-c", "1", tone.to_str().unwrap()]);
        parts.push(tone);
        parts.push(silence(dir, &format!("gap{i}"), 0.15));
    }
    parts.push(silence(dir, "tail", 2.0));
    ulaw(dir, "digits.ulaw", &parts)
}

fn silence(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let p = dir.join(format!("{name}.wav"));
    sox(&["-n", "-r", "8000", "-c", "1", "-b", "16", p.to_str().unwrap(), "trim", "0", &seconds.to_string()]);
    p
}

fn ulaw(dir: &Path, name: &str, parts: &[PathBuf]) -> PathBuf {
    let out = dir.join(name);
    let mut args: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(["-r", "8000", "-c", "1", "-e", "mu-law", "-t", "raw", out.to_str().unwrap()]);
    sox(&args);
    out
}

#[test]
fn lead_qualification_digit_1_qualifies() {
    let (_d, v, r) = flow_call(
        "answer_press.xml",
        &[("@DIGIT@", "1"), ("@DELAY@", "1000")],
        Opts::default(),
        json!({"dialplan": "lead-qualification"}),
    );
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(v["flow"]["name"], "lead-qualification");
    assert_eq!(v["flow"]["outcome"], "qualified", "{v:#}");
    assert_eq!(path_nodes(&v), ["ask", "interested", "qualified"]);
    assert_eq!(v["flow"]["path"][0]["digits"], "1");
    assert_eq!(v["flow"]["vars"]["company"], "Acme", "the flow's default variables");
    assert_eq!(v["flow"]["version"].as_str().unwrap().len(), 12);
    assert_sipp(&r, 1);
}

/// Issue 9: a carrier that sends digits by SIP INFO (`application/dtmf-relay`
/// as Cisco gateways do, or `application/dtmf`) qualifies the lead exactly
/// as the RFC 4733 digit of the test above does.
#[test]
fn lead_qualification_digit_1_by_sip_info_qualifies() {
    for (ctype, body) in [("application/dtmf-relay", "Signal=1\n      Duration=160"), ("application/dtmf", "1")] {
        let (_d, v, r) = flow_call(
            "info_dtmf.xml",
            &[("@CTYPE@", ctype), ("@BODY@", body), ("@DELAY@", "1000")],
            Opts::default(),
            json!({"dialplan": "lead-qualification"}),
        );
        assert_eq!(v["flow"]["outcome"], "qualified", "{ctype}: {v:#}");
        assert_eq!(path_nodes(&v), ["ask", "interested", "qualified"], "{ctype}");
        assert_eq!(v["flow"]["path"][0]["digits"], "1");
        assert_eq!(v["digits"], "1", "{ctype}");
        assert_sipp(&r, 1);
    }
}

#[test]
fn lead_qualification_digit_2_opts_out() {
    let (_d, v, r) = flow_call(
        "answer_press.xml",
        &[("@DIGIT@", "2"), ("@DELAY@", "500")],
        Opts::default(),
        json!({"dialplan": "lead-qualification", "vars": {"company": "Globex", "lead_id": 42}}),
    );
    assert_eq!(v["flow"]["outcome"], "rejected", "{v:#}");
    assert_eq!(path_nodes(&v), ["ask", "opt_out", "rejected"]);
    assert_eq!(v["flow"]["vars"]["company"], "Globex", "call vars override the flow's");
    assert_eq!(v["flow"]["vars"]["lead_id"], "42");
    assert_sipp(&r, 1);
}

const QUICK_MENU: &str = r#"
start = "ask"
[nodes.ask]
kind = "menu"
prompt = "goodbye.wav"
options = { "1" = "yes" }
timeout_s = 0.3
attempts = 3
on_fail = "silent"
[nodes.yes]
kind = "outcome"
outcome = "qualified"
[nodes.silent]
kind = "outcome"
outcome = "no_input"
"#;

#[test]
fn no_input_tries_three_times_then_gives_up() {
    let opts = Opts { dialplans: vec![("quick.toml".into(), QUICK_MENU.into())], ..Opts::default() };
    let (d, v, r) = flow_call("answer_silent.xml", &[], opts, json!({"dialplan": "quick"}));
    assert_eq!(v["flow"]["outcome"], "no_input", "{v:#}");
    assert_eq!(path_nodes(&v), ["ask", "silent"]);
    // goodbye.wav is 1.9 s; played three times.
    let ms = v["duration_ms"].as_u64().unwrap();
    assert!(ms >= 3 * 1900 + 2 * 300, "ended after {ms} ms: fewer than three attempts");
    assert!(d.metric("dialerd_rtp_packets_total", "direction=\"out\"") >= 3.0 * 95.0);
    assert_sipp(&r, 1);
}

#[test]
fn inband_digits_are_heard_when_telephone_event_is_not_negotiated() {
    let dir = tempfile::tempdir().unwrap();
    let audio = inband_digits(dir.path(), "592");
    let (_d, v, r) = flow_call(
        "answer_stream.xml",
        &[("@AUDIO@", audio.to_str().unwrap())],
        Opts::default(),
        json!({"gather": {"max_digits": 3, "timeout_s": 5}}),
    );
    assert_eq!(v["digits"], "592", "{v:#}");
    assert_eq!(v["flow"]["outcome"], "gather_complete");
    assert_sipp(&r, 1);
}

/// A 6 s voicemail greeting (espeak-ng), its beep, then silence.
fn voicemail_greeting(dir: &Path) -> PathBuf {
    let spoken = dir.join("greeting22k.wav");
    make_audio(
        "espeak-ng",
        &[
            "-v",
            "en-us",
            "-s",
            "160",
            "-w",
            spoken.to_str().unwrap(),
            "Hi, you have reached the voicemail of Jane Doe. I cannot take your call right now, \
             please leave your name and number after the tone and I will call you back.",
        ],
    );
    let greeting = dir.join("greeting.wav");
    sox(&[spoken.to_str().unwrap(), "-r", "8000", "-c", "1", "-b", "16", greeting.to_str().unwrap()]);
    let beep = dir.join("beep.wav");
    sox(&[
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        beep.to_str().unwrap(),
        "synth",
        "0.5",
        "sine",
        "1000",
        "vol",
        "0.5",
    ]);
    let parts = [silence(dir, "pre", 0.3), greeting, beep, silence(dir, "post", 10.0)];
    ulaw(dir, "voicemail.ulaw", &parts)
}

#[test]
fn answering_machine_gets_the_voicemail_message() {
    let dir = tempfile::tempdir().unwrap();
    let audio = voicemail_greeting(dir.path());
    let (_d, v, r) = flow_call(
        "answer_stream.xml",
        &[("@AUDIO@", audio.to_str().unwrap())],
        Opts::default(),
        json!({"dialplan": "voicemail-drop"}),
    );
    assert_eq!(v["disposition"], "machine", "{v:#}");
    assert_eq!(v["flow"]["outcome"], "voicemail_left");
    assert_eq!(path_nodes(&v), ["detect", "wait_for_beep", "message", "left"]);
    let amd = v["events"].as_array().unwrap().iter().find(|e| e["type"] == "amd").expect("an amd event");
    assert_eq!(amd["verdict"], "machine", "{amd}");
    // The message starts only after the greeting and the beep (~8 s in).
    let ms = v["duration_ms"].as_u64().unwrap();
    assert!(ms > 8_000, "the message must wait for the beep and silence: call lasted {ms} ms");
    assert_sipp(&r, 1);
}

#[test]
fn a_person_saying_hello_is_human() {
    let dir = tempfile::tempdir().unwrap();
    let spoken = dir.path().join("hello22k.wav");
    make_audio("espeak-ng", &["-v", "en-us", "-s", "175", "-w", spoken.to_str().unwrap(), "Hello?"]);
    let hello = dir.path().join("hello.wav");
    sox(&[spoken.to_str().unwrap(), "-r", "8000", "-c", "1", "-b", "16", hello.to_str().unwrap()]);
    let audio =
        ulaw(dir.path(), "hello.ulaw", &[silence(dir.path(), "pre", 0.5), hello, silence(dir.path(), "post", 8.0)]);
    let (_d, v, r) = flow_call(
        "answer_stream.xml",
        &[("@AUDIO@", audio.to_str().unwrap())],
        Opts::default(),
        json!({"dialplan": "voicemail-drop"}),
    );
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(v["flow"]["outcome"], "human_reached");
    assert_sipp(&r, 1);
}

#[test]
fn special_information_tones_in_early_media_mean_invalid_number() {
    // Vacant code (VC): 985.2 Hz long, 1370.6 Hz short, 1776.7 Hz long.
    let dir = tempfile::tempdir().unwrap();
    let tone = |name: &str, hz: &str, secs: &str| {
        let p = dir.path().join(format!("{name}.wav"));
        sox(&["-n", "-r", "8000", "-c", "1", "-b", "16", p.to_str().unwrap(), "synth", secs, "sine", hz, "vol", "0.3"]);
        p
    };
    let parts = [
        silence(dir.path(), "pre", 0.3),
        tone("t1", "985.2", "0.380"),
        tone("t2", "1370.6", "0.274"),
        tone("t3", "1776.7", "0.380"),
        silence(dir.path(), "post", 5.0),
    ];
    let audio = ulaw(dir.path(), "sit.ulaw", &parts);
    let (_d, v, r) = flow_call(
        "early_sit.xml",
        &[("@AUDIO@", audio.to_str().unwrap())],
        Opts::default(),
        json!({"no_answer_timeout_s": 20}),
    );
    assert_eq!(v["disposition"], "invalid_number", "{v:#}");
    assert_eq!(hangup_cause(&v), "sit");
    assert!(v["reason"].as_str().unwrap().contains("vacant_code"), "{v:#}");
    assert!(v["events"].as_array().unwrap().iter().any(|e| e["type"] == "sit" && e["kind"] == "vacant_code"));
    assert_sipp(&r, 1);
}

/// A one-request HTTP server: reads the request, answers `reply`, hands the
/// request body back.
fn one_shot_http(reply: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut w = stream;
        write!(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}", reply.len()).unwrap();
        String::from_utf8(body).unwrap()
    });
    (port, handle)
}

#[test]
fn webhook_node_posts_the_variables_and_branches_on_the_reply() {
    let (port, server) = one_shot_http(r#"{"result": "vip", "vars": {"tier": "gold"}}"#);
    let flow = format!(
        r#"
start = "lookup"
[nodes.lookup]
kind = "webhook"
url = "http://127.0.0.1:{port}/lead"
field = "result"
branches = {{ "vip" = "vip" }}
default = "normal"
on_error = "error"
[nodes.vip]
kind = "outcome"
outcome = "vip"
[nodes.normal]
kind = "outcome"
outcome = "normal"
[nodes.error]
kind = "outcome"
outcome = "error"
"#
    );
    let opts = Opts { dialplans: vec![("hook.toml".into(), flow)], ..Opts::default() };
    let (_d, v, r) = flow_call("answer_silent.xml", &[], opts, json!({"dialplan": "hook", "vars": {"lead": "L-7"}}));
    assert_eq!(v["flow"]["outcome"], "vip", "{v:#}");
    assert_eq!(v["flow"]["vars"]["tier"], "gold", "the reply's vars are kept");
    let posted: Value = serde_json::from_str(&server.join().unwrap()).unwrap();
    assert_eq!(posted["vars"]["lead"], "L-7");
    assert_eq!(posted["node"], "lookup");
    assert_eq!(posted["call_id"], v["id"]);
    assert_eq!(posted["to"], "+15551234567");
    assert_sipp(&r, 1);
}

#[test]
fn reload_swaps_flows_for_new_calls_only_and_refuses_broken_files() {
    let hold = |outcome: &str| {
        format!(
            "start = \"wait\"\n[nodes.wait]\nkind = \"pause\"\nseconds = 1.5\nnext = \"end\"\n[nodes.end]\nkind = \"outcome\"\noutcome = \"{outcome}\"\n"
        )
    };
    let sipp = Sipp::uas("answer_silent.xml", 2);
    let d = Daemon::start(sipp.port, Opts { dialplans: vec![("hold.toml".into(), hold("v1"))], ..Opts::default() });
    let file = d.dir.path().join("dialplans/hold.toml");
    let (_, before) = d.get("/v1/dialplans");
    let v1 = before["flows"][0]["version"].as_str().unwrap().to_string();

    let first = d.call(call_body(json!({"dialplan": "hold"})));
    d.wait_state(&first, "answered", T);
    std::fs::write(&file, hold("v2")).unwrap();
    let reloaded = agent_post(&d, "/v1/dialplans:reload");
    assert_eq!(reloaded.0, 200, "{}", reloaded.1);
    let v2 = reloaded.1["flows"][0]["version"].as_str().unwrap().to_string();
    assert_ne!(v1, v2);
    let second = d.call(call_body(json!({"dialplan": "hold"})));
    let a = d.wait_ended(&first, T);
    let b = d.wait_ended(&second, T);
    assert_eq!((a["flow"]["outcome"].as_str(), a["flow"]["version"].as_str()), (Some("v1"), Some(v1.as_str())));
    assert_eq!((b["flow"]["outcome"].as_str(), b["flow"]["version"].as_str()), (Some("v2"), Some(v2.as_str())));

    // A broken file: refused, the running set stays.
    std::fs::write(&file, "start = \"wait\"\n[nodes.wait]\nkind = \"goto\"\nnext = \"nowhere\"\n").unwrap();
    let (status, report) = agent_post(&d, "/v1/dialplans:reload");
    assert_eq!(status, 409, "{report}");
    let problem = report["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("hold.toml") && problem.contains("nodes.wait.next") && problem.contains("nowhere"),
        "{problem}"
    );
    assert_eq!(d.get("/v1/dialplans").1["flows"][0]["version"], v2.as_str());
    assert_sipp(&sipp.wait(T), 2);
}

fn agent_post(d: &Daemon, path: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut resp = agent.post(&d.url(path)).header("Authorization", &format!("Bearer {KEY}")).send("").unwrap();
    (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
}

#[test]
fn unknown_dialplans_and_mixed_requests_are_refused() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let (s, v) = d.post_call(call_body(json!({"dialplan": "nope"})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("dialplan")), "{v}");
    let (s, v) = d.post_call(call_body(json!({"dialplan": "lead-qualification", "prompt": "welcome.wav"})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("dialplan")), "{v}");
    let (s, v) = d.post_call(call_body(json!({"dialplan": "lead-qualification", "vars": {"x": [1]}})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("vars.x")), "{v}");
    let (_, list) = d.get("/v1/dialplans");
    let names: Vec<&str> = list["flows"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["agent-whisper", "lead-qualification", "voicemail-drop"]);
}

#[test]
fn sighup_reloads_the_dialplans() {
    let flow = |o: &str| format!("start = \"end\"\n[nodes.end]\nkind = \"outcome\"\noutcome = \"{o}\"\n");
    let d = Daemon::start(free_udp_port(), Opts { dialplans: vec![("x.toml".into(), flow("a"))], ..Opts::default() });
    let before = d.get("/v1/dialplans").1["flows"][0]["version"].as_str().unwrap().to_string();
    std::fs::write(d.dir.path().join("dialplans/x.toml"), flow("b")).unwrap();
    std::process::Command::new("kill").arg("-HUP").arg(d.pid().to_string()).status().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = d.get("/v1/dialplans").1["flows"][0]["version"].as_str().unwrap().to_string();
        if now != before {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "SIGHUP did not reload:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(d.log().contains("SIGHUP: configuration reloaded"));
}
