//! End-to-end: the real dialerd binary against SIPp carriers on loopback.
//! Each test asserts the API's view of the call and SIPp's own counts.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[test]
fn answered_call_receives_rfc4733_digits() {
    let (d, v, r) = one_call("answer_dtmf.xml", Opts::default(), json!({"gather": {"max_digits": 3, "timeout_s": 10}}));
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(v["digits"], "1*#", "each event once, star and pound mapped");
    assert_eq!(v["sip_status"], 200);
    assert_eq!(v["hangup_by"], "local");
    assert_eq!(event_types(&v), ["dialing", "ringing", "answered", "dtmf", "dtmf", "dtmf", "hangup"], "{v:#}");
    assert_eq!(v["events"][3]["digit"], "1");
    assert_eq!(v["events"][5]["digit"], "#");
    assert_eq!(hangup_cause(&v), "flow_done");
    assert_eq!(v["flow"]["name"], "inline");
    assert_eq!(v["flow"]["outcome"], "gather_complete");
    assert_eq!(v["flow"]["vars"]["digits"], "1*#");
    assert!(v["duration_ms"].as_u64().is_some());
    assert_sipp(&r, 1);
    assert!(d.metric("dialerd_rtp_packets_total", "direction=\"in\"") >= 20.0, "DTMF packets counted");
    assert_eq!(d.metric("dialerd_calls_ended_total", "disposition=\"answered\""), 1.0);
}

#[test]
fn busy_here_is_busy() {
    let (_d, v, r) = one_call("busy.xml", Opts::default(), json!({}));
    assert_eq!(v["disposition"], "busy", "{v:#}");
    assert_eq!(v["sip_status"], 486);
    assert_eq!(v["reason"], "Busy Here");
    assert_eq!(v["hangup_by"], "remote");
    assert!(v["duration_ms"].is_null());
    assert_sipp(&r, 1);
}

#[test]
fn ring_no_answer_is_cancelled_at_the_timeout() {
    let sipp = Sipp::uas("no_answer.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let started = std::time::Instant::now();
    let id = d.call(call_body(json!({"no_answer_timeout_s": 1})));
    d.wait_state(&id, "ringing", T);
    let v = d.wait_ended(&id, T);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(5), "ended after {took:?}");
    assert_eq!(v["disposition"], "no_answer", "{v:#}");
    assert_eq!(v["sip_status"], 487);
    assert_eq!(v["hangup_by"], "system");
    assert_sipp(&sipp.wait(T), 1);
}

#[test]
fn www_auth_challenge_is_answered_with_a_digest_sipp_verifies() {
    let (_d, v, r) = one_call("auth_401.xml", alice("secret"), json!({}));
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_sipp(&r, 1);
}

#[test]
fn proxy_auth_challenge_is_answered_once() {
    let (_d, v, r) = one_call("auth_407.xml", alice("secret"), json!({}));
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(v["events"][1]["codec"], "PCMA");
    assert_sipp(&r, 1);
    // Recompute the digest SIPp received (RFC 2617 §3.2.2, qop=auth).
    let header =
        r.messages.lines().find(|l| l.starts_with("Proxy-Authorization:")).expect("a Proxy-Authorization header");
    let field = |name: &str| {
        let start = header.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} in {header}")) + name.len() + 1;
        let rest = &header[start..];
        let rest =
            rest.strip_prefix('"').map_or(rest.split([',', ' ']).next().unwrap(), |q| q.split('"').next().unwrap());
        rest.to_string()
    };
    let md5 = |s: String| md5_hex(s.as_bytes());
    let ha1 = md5("alice:sipp.test:secret".to_string());
    let ha2 = md5(format!("INVITE:{}", field("uri")));
    let expected = md5(format!("{ha1}:{}:{}:{}:auth:{ha2}", field("nonce"), field("nc"), field("cnonce")));
    assert_eq!(field("response"), expected, "{header}");
    assert_eq!(field("opaque"), "op4que");
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn wrong_password_ends_as_the_challenge() {
    // SIPp stops at the bad digest; dialerd must not loop on challenges.
    let (_d, v, r) = one_call("auth_401.xml", alice("wrong"), json!({}));
    assert_ne!(v["disposition"], "answered", "{v:#}");
    assert_eq!(r.successful, 0, "{}", r.output);
}

#[test]
fn callee_hangs_up() {
    let (d, v, r) = one_call("callee_bye.xml", Opts::default(), json!({"prompt": "welcome.wav"}));
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(v["hangup_by"], "remote");
    let d_ms = v["duration_ms"].as_u64().unwrap();
    assert!((600..3000).contains(&d_ms), "duration {d_ms}");
    assert_eq!(hangup_cause(&v), "remote_bye");
    assert_sipp(&r, 1);
    assert!(d.metric("dialerd_rtp_packets_total", "direction=\"out\"") >= 25.0, "the prompt was sent as RTP");
}

#[test]
fn service_unavailable_pauses_the_trunk_for_retry_after() {
    let sipp = Sipp::uas("unavailable.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({})));
    let v = d.wait_ended(&id, T);
    assert_eq!(v["disposition"], "failed", "{v:#}");
    assert_eq!(v["sip_status"], 503);
    let (status, body, retry) = d.post_call_full(call_body(json!({})));
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["field"], "trunk");
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((25..=30).contains(&retry), "Retry-After {retry}");
    assert_eq!(d.metric("dialerd_trunk_paused", "trunk=\"sipp\""), 1.0);
    assert_eq!(d.metric("dialerd_calls_refused_total", "reason=\"trunk_paused\""), 1.0);
    assert_sipp(&sipp.wait(T), 1);
}

#[test]
fn no_common_codec_fails_with_bye() {
    let (_d, v, r) = one_call("no_common_codec.xml", Opts::default(), json!({}));
    assert_eq!(v["disposition"], "failed", "{v:#}");
    assert!(v["reason"].as_str().unwrap().contains("no common codec"), "{v:#}");
    assert_eq!(v["hangup_by"], "system");
    assert_sipp(&r, 1);
}

#[test]
fn redirect_is_followed_through_the_same_trunk() {
    let (_d, v, r) = one_call("redirect.xml", Opts::default(), json!({}));
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(event_types(&v), ["dialing", "redirected", "answered", "hangup"], "{v:#}");
    assert_eq!(v["events"][1]["sip_status"], 302);
    assert_sipp(&r, 1);
}

#[test]
fn answer_crossing_cancel_is_acked_then_byed() {
    let sipp = Sipp::uas("cancel_race.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({})));
    d.wait_state(&id, "ringing", T);
    let (status, _) = d.delete(&format!("/v1/calls/{id}"));
    assert_eq!(status, 202);
    let v = d.wait_ended(&id, T);
    assert_eq!(v["disposition"], "canceled", "{v:#}");
    assert_eq!(v["hangup_by"], "local");
    // SIPp only succeeds if it got the ACK and then the BYE.
    assert_sipp(&sipp.wait(T), 1);
}

#[test]
fn delete_ends_ringing_and_answered_calls() {
    // Ringing: CANCEL.
    let sipp = Sipp::uas("no_answer.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({})));
    d.wait_state(&id, "ringing", T);
    assert_eq!(d.delete(&format!("/v1/calls/{id}")).0, 202);
    let v = d.wait_ended(&id, T);
    assert_eq!((v["disposition"].as_str(), v["sip_status"].as_u64()), (Some("canceled"), Some(487)), "{v:#}");
    assert_sipp(&sipp.wait(T), 1);
    let (status, body) = d.delete(&format!("/v1/calls/{id}"));
    assert_eq!(status, 409, "{body}");

    // Answered (prompt still playing): BYE.
    let sipp = Sipp::uas("answer_wait_bye.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({"prompt": "welcome.wav"})));
    d.wait_state(&id, "answered", T);
    assert_eq!(d.delete(&format!("/v1/calls/{id}")).0, 202);
    let v = d.wait_ended(&id, T);
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(v["hangup_by"], "local");
    assert_eq!(hangup_cause(&v), "api_hangup");
    assert_eq!(v["events"][2]["codec"], "PCMA", "the answer's first codec wins");
    assert_sipp(&sipp.wait(T), 1);
}

#[test]
fn max_duration_hangs_up_answered_calls() {
    let (_d, v, r) =
        one_call("answer_wait_bye.xml", Opts::default(), json!({"prompt": "welcome.wav", "max_duration_s": 1}));
    assert_eq!(v["hangup_by"], "system", "{v:#}");
    assert_eq!(hangup_cause(&v), "max_duration");
    let ms = v["duration_ms"].as_u64().unwrap();
    assert!((950..2500).contains(&ms), "duration {ms}");
    assert_sipp(&r, 1);
}

#[test]
fn ok_without_contact_fails_cleanly() {
    let (mut d, v, r) = one_call("ok_without_contact.xml", Opts::default(), json!({}));
    assert_eq!(v["disposition"], "failed", "{v:#}");
    assert!(v["reason"].as_str().unwrap().contains("Contact"), "{v:#}");
    // Known limit of rsipstack 0.7.14 (docs/sip-stack.md): no ACK is sent.
    assert_eq!((r.successful, r.failed), (0, 1), "{}", r.output);
    assert!(d.alive());
}

#[test]
fn early_media_answer_and_retransmitted_ok_is_reacked() {
    let sipp = Sipp::uas_with("early_media_reack.xml", 1, &["-nr"]);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({"prompt": "goodbye.wav"})));
    let v = d.wait_ended(&id, T);
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_eq!(event_types(&v), ["dialing", "ringing", "early_media", "answered", "hangup"], "{v:#}");
    assert_eq!(v["events"][1]["sip_status"], 183);
    assert_eq!(v["events"][3]["codec"], "PCMA", "the answer came in the 183");
    assert_sipp(&sipp.wait(T), 1);
    assert_eq!(
        d.metric("dialerd_sip_messages_total", "direction=\"out\",kind=\"ACK\""),
        2.0,
        "the retransmitted 200 was ACKed again"
    );
}

/// Issue 9: a far end that answers and then sends no RTP is hung up after
/// `rtp_timeout_s`; a trunk may turn the check off (`rtp_timeout_s = 0`).
#[test]
fn an_answered_call_without_rtp_from_the_far_end_ends_with_rtp_timeout() {
    let hold = "description = \"Hold\"\nstart = \"hold\"\n[nodes.hold]\nkind = \"pause\"\nseconds = 30\nnext = \"done\"\n\
                [nodes.done]\nkind = \"hangup\"\n";
    let silent = Sipp::uas("answer_wait_bye.xml", 1);
    let quiet_ok = Sipp::uas("answer_wait_bye.xml", 1);
    let tail =
        format!("[[trunks]]\nname = \"lenient\"\naddress = \"127.0.0.1:{}\"\nrtp_timeout_s = 0\n", quiet_ok.port);
    let opts = Opts {
        calls: "rtp_timeout_s = 1".into(),
        tail,
        dialplans: vec![("hold.toml".into(), hold.into())],
        ..Default::default()
    };
    let d = Daemon::start(silent.port, opts);
    let a = d.call(call_body(json!({"dialplan": "hold"})));
    let b = d.call(call_body(json!({"dialplan": "hold", "trunk": "lenient"})));
    let v = d.wait_ended(&a, Duration::from_secs(10));
    assert_eq!(hangup_cause(&v), "rtp_timeout", "{v}");
    assert_eq!((v["disposition"].as_str(), v["hangup_by"].as_str()), (Some("answered"), Some("system")), "{v}");
    let ms = v["duration_ms"].as_u64().unwrap();
    assert!((900..3000).contains(&ms), "ended after about 1 s of silence: {ms} ms");
    assert_sipp(&silent.wait(Duration::from_secs(10)), 1);
    // The lenient trunk's call is still up, silent as it is.
    assert_eq!(d.api("GET", &format!("/v1/calls/{b}"), None).1["state"], "answered");
    let (s, _) = d.api("DELETE", &format!("/v1/calls/{b}"), None);
    assert_eq!(s, 202);
    assert_sipp(&quiet_ok.wait(Duration::from_secs(10)), 1);
}

/// Issue 9: a trunk's caller identity headers (RFC 3325, RFC 8224) reach
/// the carrier as configured; SIPp fails the call if one is missing or
/// different.
#[test]
fn caller_identity_headers_are_sent_as_configured() {
    let sipp = Sipp::uas("identity_check.xml", 1);
    let trunk = "asserted_identity = \"sip:+15550100@carrier.example\"\nprivacy = \"id\"\n\
                 identity = \"eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example/cert.pem>\"\n"
        .to_string();
    let d = Daemon::start(sipp.port, Opts { trunk, ..Default::default() });
    let id = d.call(call_body(json!({})));
    let v = d.wait_ended(&id, Duration::from_secs(10));
    assert_eq!(v["sip_status"], 486, "{v}");
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
}

/// A call's own `identity` (RFC 8224, STIR/SHAKEN) replaces the trunk's:
/// one `Identity` header, the call's value (SIPp's regexp checks it).
#[test]
fn a_calls_identity_replaces_the_trunks() {
    let sipp = Sipp::uas("identity_check.xml", 1);
    let trunk = "asserted_identity = \"sip:+15550100@carrier.example\"\nprivacy = \"id\"\n\
                 identity = \"stale.token.sig;info=<https://old.example/cert.pem>\"\n"
        .to_string();
    let d = Daemon::start(sipp.port, Opts { trunk, ..Default::default() });
    let (s, v) = d.post_call(call_body(json!({"identity": "two\nlines"})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("identity")), "{v}");
    let identity = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example/cert.pem>";
    let id = d.call(call_body(json!({"identity": identity})));
    assert_eq!(d.wait_ended(&id, Duration::from_secs(10))["sip_status"], 486);
    let r = sipp.wait(Duration::from_secs(10));
    assert_sipp(&r, 1);
    let invite = r.messages.split("INVITE sip:").nth(1).unwrap();
    let invite = &invite[..invite.find("\n\n").or_else(|| invite.find("\r\n\r\n")).unwrap_or(invite.len())];
    assert_eq!(invite.lines().filter(|l| l.starts_with("Identity:")).count(), 1, "{invite}");
    assert!(!r.messages.contains("stale.token"), "the trunk's value is not sent");
}

/// Issue 9: behind NAT or on a wildcard listener, `[sip]
/// advertised_address` goes into Via, Contact and SDP `c=` (SIPp checks
/// all three), and the far end's ACK and BYE reach dialerd through it; a
/// trunk's own `advertised_address` wins for its calls' Contact and SDP.
#[test]
fn the_advertised_address_is_what_the_far_end_sees_and_uses() {
    for (trunk, addr) in [("", "127.0.0.3"), ("advertised_address = \"127.0.0.4\"", "127.0.0.4")] {
        let re = addr.replace('.', "\\.");
        // Via is the stack's, built from the listener: the global address.
        let sipp = Sipp::uas_templated("advertised_check.xml", &[("@ADDR_RE@", &re), ("@VIA_RE@", "127\\.0\\.0\\.3")]);
        let opts = Opts { sip: "advertised_address = \"127.0.0.3\"".into(), trunk: trunk.into(), ..Default::default() };
        let d = Daemon::start_listening(sipp.port, opts, "0.0.0.0");
        let gather = json!({"max_digits": 1, "timeout_s": 0.5});
        let id = d.call(call_body(json!({"gather": gather})));
        let v = d.wait_ended(&id, Duration::from_secs(10));
        assert_eq!(v["disposition"], "answered", "{v}");
        assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
    }
}

/// The far end's `pause` dialplan: the call stays up until someone hangs up.
const PAUSE_30: &str = "description = \"Hold\"\nstart = \"hold\"\n[nodes.hold]\nkind = \"pause\"\nseconds = 30\n\
                        next = \"done\"\n[nodes.done]\nkind = \"hangup\"\n";

/// Issue 9: a carrier holds the call by re-INVITE (sendonly; SIPp checks
/// our 200 says recvonly), resumes it, refreshes the session by UPDATE
/// (SIPp checks our SDP came back unchanged, o= version included), moves
/// to PCMA (answered PCMA), offers G.729 alone (SIPp expects 488), asks
/// OPTIONS in the dialog (200) and
/// hangs up. The call shows held and
/// resumed, and the 1 s RTP timeout does not end it during the 1.5 s hold
/// (SIPp sends no RTP at all).
#[test]
fn carrier_hold_resume_refresh_codec_change_and_488() {
    let sipp = Sipp::uas("reinvite_hold.xml", 1);
    let opts = Opts {
        calls: "rtp_timeout_s = 1".into(),
        dialplans: vec![("pause.toml".into(), PAUSE_30.into())],
        ..Default::default()
    };
    let d = Daemon::start(sipp.port, opts);
    let id = d.call(call_body(json!({"dialplan": "pause"})));
    let held = wait_view(&d, &id, |v| v["on_hold"] == true);
    assert_eq!(held["state"], "answered", "{held:#}");
    let v = d.wait_ended(&id, T);
    assert_eq!(hangup_cause(&v), "remote_bye", "not rtp_timeout: held calls are silent on purpose {v:#}");
    assert_eq!(event_types(&v), ["dialing", "answered", "held", "resumed", "hangup"], "{v:#}");
    assert_eq!(v["events"][2]["direction"], "sendonly");
    assert_eq!(v["on_hold"], false);
    assert_sipp(&sipp.wait(T), 1);
    // Idle silence goes out every 20 ms while the far end receives: about
    // 80 packets over the call had we kept sending through the 1.5 s hold,
    // a handful without.
    let sent = d.metric("dialerd_rtp_packets_total", "direction=\"out\"");
    assert!((1.0..40.0).contains(&sent), "{sent} RTP packets sent: the hold did not stop them");
}

/// Polls the call until `pred` holds (or fails after `T`).
fn wait_view(d: &Daemon, id: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + T;
    loop {
        let v = d.call_view(id);
        if pred(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "call {id} never matched: {v:#}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Issue 9: the Q.850 cause of a carrier's BYE (RFC 3326 `Reason`) is the
/// call's: in the view, its hang-up event, the metric and the stored log.
#[test]
fn a_q850_cause_on_the_callees_bye_is_recorded() {
    let (d, v, r) = one_call("callee_bye_q850.xml", Opts::default(), json!({"prompt": "welcome.wav"}));
    assert_sipp(&r, 1);
    let want = json!({"cause": 17, "text": "User busy"});
    assert_eq!(v["q850"], want, "{v:#}");
    assert_eq!(v["events"].as_array().unwrap().last().unwrap()["q850"], want);
    assert_eq!((v["hangup_by"].as_str(), v["reason"].as_str()), (Some("remote"), Some("User busy")), "{v:#}");
    assert_eq!(d.metric("dialerd_hangup_cause_total", "cause=\"17\""), 1.0);
    // The call log (written in batches) keeps it.
    let id = v["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + T;
    loop {
        let (_, page) = d.get("/v1/calls");
        if let Some(row) = page["calls"].as_array().unwrap().iter().find(|c| c["id"] == id) {
            assert_eq!(row["q850_cause"], 17, "{row}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the call log never showed {id}: {page}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issue 9: a final error response's Q.850 cause is read too, after a SIP
/// value in the same header.
#[test]
fn a_q850_cause_on_a_busy_answer_is_recorded() {
    let (d, v, r) = one_call("busy_q850.xml", Opts::default(), json!({}));
    assert_sipp(&r, 1);
    assert_eq!((v["disposition"].as_str(), v["sip_status"].as_u64()), (Some("busy"), Some(486)), "{v:#}");
    assert_eq!(v["q850"], json!({"cause": 17, "text": "User busy"}), "{v:#}");
    assert_eq!(v["reason"], "Busy Here", "the status line's reason stays the reason");
    assert_eq!(d.metric("dialerd_hangup_cause_total", "cause=\"17\""), 1.0);
}

/// Issue 9: our BYE carries a Q.850 cause, which SIPp checks: 16 (normal
/// clearing) for a hang-up through the API, 31 (normal, unspecified) when
/// the maximum duration ends the call.
#[test]
fn our_bye_carries_a_q850_cause() {
    for (cause, body) in
        [("16", json!({"prompt": "welcome.wav"})), ("31", json!({"prompt": "welcome.wav", "max_duration_s": 1}))]
    {
        let sipp = Sipp::uas_templated("bye_reason.xml", &[("@CAUSE@", cause)]);
        let d = Daemon::start(sipp.port, Opts::default());
        let id = d.call(call_body(body));
        d.wait_state(&id, "answered", T);
        if cause == "16" {
            assert_eq!(d.delete(&format!("/v1/calls/{id}")).0, 202);
        }
        let v = d.wait_ended(&id, T);
        assert_sipp(&sipp.wait(T), 1);
        assert_eq!(v["q850"]["cause"].as_u64(), Some(cause.parse().unwrap()), "{v:#}");
        assert_eq!(d.metric("dialerd_hangup_cause_total", &format!("cause=\"{cause}\"")), 1.0);
    }
}

/// Issue 9, RFC 3262: with `[sip] supports_100rel` our INVITE says
/// `Supported: 100rel`, and a reliable 183 gets its PRACK (SIPp checks
/// both, and the RAck) before the 200; the early media's codec holds.
#[test]
fn a_reliable_183_is_pracked() {
    let sipp = Sipp::uas("prack_183.xml", 1);
    let d = Daemon::start(sipp.port, Opts { sip: "supports_100rel = true".into(), ..Default::default() });
    let id = d.call(call_body(json!({})));
    let v = d.wait_ended(&id, T);
    assert_sipp(&sipp.wait(T), 1);
    assert_eq!(event_types(&v), ["dialing", "ringing", "early_media", "answered", "hangup"], "{v:#}");
    assert_eq!(v["events"][3]["codec"], "PCMA");
    assert_eq!(d.metric("dialerd_sip_messages_total", "direction=\"out\",kind=\"PRACK\""), 1.0);
}

/// Issue 9: our CANCEL says why (RFC 3326): 19 at the no-answer timeout,
/// 16 when the API hangs up (SIPp matches the `Reason` with a regexp).
#[test]
fn our_cancel_carries_a_q850_cause() {
    for (cause, no_answer, hang_up) in [("19", 0.5, false), ("16", 30.0, true)] {
        let sipp = Sipp::uas_templated("cancel_reason.xml", &[("@CAUSE@", cause)]);
        let d = Daemon::start(sipp.port, Opts::default());
        let id = d.call(call_body(json!({"no_answer_timeout_s": no_answer})));
        if hang_up {
            d.wait_state(&id, "ringing", Duration::from_secs(10));
            assert_eq!(d.delete(&format!("/v1/calls/{id}")).0, 202);
        }
        d.wait_ended(&id, Duration::from_secs(10));
        assert_sipp(&sipp.wait(Duration::from_secs(10)), 1);
    }
}
