//! Inbound calls from trunks (issue 7) against the real binary: SIPp plays
//! the carrier's caller. A DID routed to a dialplan is answered and runs
//! it (the caller presses 1); a DID routed to an agent group rings the
//! agent (SIPp), pops the agent's CRM with the caller's number and the
//! DID (seed 004), and bridges them; the caller's BYE ends the agent's
//! leg. Unknown DIDs and strangers are refused in `tests/sip_inbound.rs`.

mod common;

use common::leads::{forms, receiver, wait_for};
use common::*;
use std::time::Duration;

#[test]
fn a_did_routed_to_a_dialplan_is_answered_and_runs_it() {
    let tail = "[[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n".to_string();
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let caller = Sipp::uac_templated("uac_inbound_press.xml", d.sip, &[("@DID@", "+15550199"), ("@DELAY@", "800")]);
    assert_sipp(&caller.wait(Duration::from_secs(20)), 1);
    let v = d.first_logged_call(Duration::from_secs(15));
    assert_eq!(v["direction"], "inbound", "{v}");
    assert_eq!((v["from"].as_str(), v["to"].as_str()), (Some("+15551234"), Some("+15550199")), "{v}");
    assert_eq!(v["disposition"], "answered");
    assert_eq!(v["digits"], "1");
    assert_eq!(v["flow"]["outcome"], "qualified", "{v}");
    assert_eq!(v["flow"]["vars"]["caller"], "+15551234", "the flow sees the caller: {v}");
    assert_eq!(v["hangup_by"], "local", "dialerd hung up when the flow ended: {v}");
    let types: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[..3], ["ringing", "answered", "dtmf"], "{v}");
}

/// Issue 9 on an inbound leg: the caller's hold by re-INVITE is answered
/// with the mirrored direction (SIPp checks `inactive`) and shows on the
/// call, and the Q.850 cause of the caller's BYE is the call's.
#[test]
fn an_inbound_callers_hold_and_hangup_cause_are_recorded() {
    let pause = "start = \"hold\"\n[nodes.hold]\nkind = \"pause\"\nseconds = 30\nnext = \"done\"\n\
                 [nodes.done]\nkind = \"hangup\"\n";
    let tail = "[[inbound]]\ndid = \"+15550199\"\ndialplan = \"pause\"\n".to_string();
    let opts = Opts { tail, dialplans: vec![("pause.toml".into(), pause.into())], ..Default::default() };
    let d = Daemon::start(free_udp_port(), opts);
    let caller = Sipp::uac_templated("uac_inbound_hold.xml", d.sip, &[("@DID@", "+15550199")]);
    assert_sipp(&caller.wait(Duration::from_secs(20)), 1);
    let v = d.first_logged_call(Duration::from_secs(15));
    let types: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ringing", "answered", "held", "hangup"], "{v}");
    assert_eq!(v["events"][2]["direction"], "inactive");
    assert_eq!(v["on_hold"], true, "never resumed: {v}");
    assert_eq!(v["hangup_by"], "remote", "{v}");
    assert_eq!(v["q850"], serde_json::json!({"cause": 102, "text": "Recovery on timer expiry"}), "{v}");
}

#[test]
fn a_did_routed_to_a_group_rings_the_agent_pops_the_crm_and_bridges() {
    let agent = Sipp::uas_templated("bridge_agent.xml", &[("@TALK_AFTER@", "300")]);
    let (crm, pops) = receiver();
    let tail = format!(
        "[[trunks]]\nname = \"pbx\"\naddress = \"127.0.0.1:{p}\"\n[[agents]]\nid = \"dana\"\nextension = \"201\"\n\
         uri = \"sip:201@127.0.0.1:{p}\"\n[agents.screen_pop]\nurl = \"http://{crm}/pop\"\nmethod = \"post\"\n\
         [[agent_groups]]\nid = \"sales\"\nagents = [\"dana\"]\nring_timeout_s = 10\n\
         [[inbound]]\ndid = \"+15550155\"\nagent_group = \"sales\"\n",
        p = agent.port
    );
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let caller = Sipp::uac_templated("uac_inbound_talk.xml", d.sip, &[("@DID@", "+15550155"), ("@HOLD@", "3000")]);
    assert_sipp(&caller.wait(Duration::from_secs(20)), 1);
    let v = wait_for("the inbound call in the call log", Duration::from_secs(15), || {
        let (_, list) = d.api("GET", "/v1/calls", None);
        list["calls"].as_array().and_then(|c| {
            c.iter().find_map(|c| {
                let (_, v) = d.api("GET", &format!("/v1/calls/{}", c["id"].as_str()?), None);
                (v["direction"] == "inbound" && v["state"] == "ended").then_some(v)
            })
        })
    });
    assert_eq!(v["hangup_by"], "remote", "the caller hung up: {v}");
    let agent_call = v["bridge"]["with"].as_str().unwrap_or_else(|| panic!("bridged: {v}")).to_string();
    let va = d.wait_ended(&agent_call, Duration::from_secs(10));
    assert_eq!(hangup_cause(&va), "bridged_call_ended", "the agent's leg followed: {va}");
    // RTP both ways, counted at dialerd (the caller and the agent both play PCMA).
    assert!(v["bridge"]["forwarded"].as_u64().unwrap() > 20, "caller → bridge: {v}");
    assert!(va["bridge"]["forwarded"].as_u64().unwrap() > 10, "agent → bridge: {va}");
    assert!(va["bridge"]["relayed"].as_u64().unwrap() > 20, "bridge → agent: {va}");
    assert_sipp(&agent.wait(Duration::from_secs(10)), 1);
    // Seed 004: Ringing at extension 201 with the caller and the DID.
    let forms = forms(&pops, "/pop");
    assert_eq!(forms.len(), 1, "{forms:?}");
    let f = &forms[0];
    for want in [
        "phone=%2B15551234".to_string(),
        "did=%2B15550155".into(),
        "extenUser=201".into(),
        format!("ivrid={}", v["id"].as_str().unwrap()),
    ] {
        assert!(f.contains(&want), "{want} in {f}");
    }
    assert!(f.contains("status=Ringing") || f.contains("statusCall=Ringing"), "{f}");
}

#[test]
fn a_trunk_that_must_authenticate_is_challenged_and_wrong_credentials_are_refused() {
    let tail = "[[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n".to_string();
    // SIPp answers only MD5 and takes the first challenge: offer MD5 alone.
    let trunk = "inbound_username = \"carrier\"\ninbound_password = \"s3cret-pass\"\ninbound_algorithms = [\"MD5\"]\n"
        .to_string();
    let d = Daemon::start(free_udp_port(), Opts { tail, trunk, ..Default::default() });
    // Without credentials: 401 with our challenges, then nothing.
    let r = Sipp::uac_templated("uac_invite_404.xml", d.sip, &[]);
    let r = r.wait(Duration::from_secs(20));
    assert!(r.messages.contains("SIP/2.0 401"), "{}", r.messages);
    assert!(r.messages.contains("algorithm=MD5") && r.messages.contains("qop=\"auth\""), "{}", r.messages);
    assert_eq!(d.metric("dialerd_sip_requests_rejected_total", "reason=\"auth_required\""), 1.0);
    // Right credentials: the call goes through (SIPp answers MD5).
    let caller = Sipp::uac_templated(
        "uac_inbound_auth.xml",
        d.sip,
        &[("@DID@", "+15550199"), ("@DELAY@", "800"), ("@USER@", "carrier"), ("@PASS@", "s3cret-pass")],
    );
    assert_sipp(&caller.wait(Duration::from_secs(20)), 1);
    assert_eq!(d.first_logged_call(Duration::from_secs(15))["flow"]["outcome"], "qualified");
    // Wrong password: 403, no call.
    let bad = Sipp::uac_templated(
        "uac_inbound_auth.xml",
        d.sip,
        &[("@DID@", "+15550199"), ("@DELAY@", "800"), ("@USER@", "carrier"), ("@PASS@", "guessed-wrong")],
    );
    let r = bad.wait(Duration::from_secs(20));
    assert!(r.messages.contains("SIP/2.0 403"), "{}", r.messages);
    assert_eq!(d.metric("dialerd_sip_requests_rejected_total", "reason=\"auth_failed\""), 1.0);
    let (_, calls) = d.api("GET", "/v1/calls", None);
    assert_eq!(calls["calls"].as_array().unwrap().len(), 1, "only the authenticated call: {calls}");
}
