//! Bridging two answered calls (B2BUA, issue 7) against SIPp: an agent
//! that answers PCMA and talks (sip-tester's g711a.pcap), a customer that
//! answers PCMU, echoes what it hears (`-rtp_echo`) and hangs up. RTP is
//! counted at dialerd (SIPp counts none): both directions relayed and
//! transcoded; the customer's BYE ends the agent's call.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const HOLD: &str = r#"
description = "Answer and hold the line (until bridged or hung up)"
start = "hold"
[nodes.hold]
kind = "pause"
seconds = 30
next = "done"
[nodes.done]
kind = "hangup"
"#;

#[test]
fn two_calls_bridged_with_transcoding_and_one_hang_up_ends_both() {
    let agent = Sipp::uas_templated("bridge_agent.xml", &[("@TALK_AFTER@", "800")]);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "4000")], &["-rtp_echo"]);
    let tail = format!("[[trunks]]\nname = \"customers\"\naddress = \"127.0.0.1:{}\"\n", customer.port);
    let opts = Opts { tail, dialplans: vec![("hold.toml".into(), HOLD.into())], ..Default::default() };
    let d = Daemon::start(agent.port, opts);
    let a = d.call(call_body(json!({"to": "201", "dialplan": "hold"})));
    let b = d.call(call_body(json!({"to": "+15551234567", "trunk": "customers", "dialplan": "hold"})));
    d.wait_state(&a, "answered", Duration::from_secs(10));
    d.wait_state(&b, "answered", Duration::from_secs(10));

    // Refusals first: itself, an unknown call.
    let (s, v) = d.api("POST", &format!("/v1/calls/{a}/bridge"), Some(&json!({"with": a})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("with")), "{v}");
    let (s, _) =
        d.api("POST", &format!("/v1/calls/{a}/bridge"), Some(&json!({"with": "01937a6e-5b9c-7c1e-9a0e-3f1b2c4d5e6f"})));
    assert_eq!(s, 404);

    let (s, v) = d.api("POST", &format!("/v1/calls/{a}/bridge"), Some(&json!({"with": b})));
    assert_eq!(s, 200, "{v}");
    let (s, _) = d.api("POST", &format!("/v1/calls/{b}/bridge"), Some(&json!({"with": a})));
    assert_eq!(s, 409, "already bridged");

    // The customer hangs up 4 s after answering; the agent's call follows.
    let vb = d.wait_ended(&b, Duration::from_secs(20));
    let va = d.wait_ended(&a, Duration::from_secs(10));
    assert_eq!(vb["hangup_by"], "remote", "{vb}");
    assert_eq!(va["hangup_by"], "local", "dialerd hung up the agent: {va}");
    assert_eq!(hangup_cause(&va), "bridged_call_ended", "{va}");
    assert_eq!(va["bridge"]["with"], b.as_str());
    // Agent → customer: the agent's PCMA, transcoded to PCMU.
    let fa = va["bridge"]["forwarded"].as_u64().unwrap();
    let to_customer = &vb["bridge"];
    assert!(fa > 20, "the agent's audio reached the bridge: {va}");
    assert!(to_customer["relayed"].as_u64().unwrap() > 20, "{vb}");
    assert_eq!(to_customer["relayed"], to_customer["transcoded"], "every packet transcoded: {vb}");
    // Customer → agent: the echo came back and was relayed, transcoded.
    assert!(vb["bridge"]["forwarded"].as_u64().unwrap() > 20, "the customer's echo reached the bridge: {vb}");
    assert!(va["bridge"]["relayed"].as_u64().unwrap() > 20, "{va}");
    assert_eq!(va["bridge"]["relayed"], va["bridge"]["transcoded"]);
    // Flows stopped at the bridge: neither call ran on to its hangup node.
    assert_sipp(&agent.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);
}

const XFER: &str = r#"
description = "Transfer the answered call to an agent's phone"
start = "xfer"
[nodes.xfer]
kind = "transfer"
to = "sip:201@127.0.0.1:@AGENT@"
on_fail = "failed"
[nodes.failed]
kind = "outcome"
outcome = "transfer_failed"
"#;

#[test]
fn the_dialplan_transfer_node_bridges_to_a_sip_uri_or_takes_on_fail() {
    let agent = Sipp::uas_templated("bridge_agent.xml", &[("@TALK_AFTER@", "300")]);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "3000")], &["-rtp_echo"]);
    let busy = Sipp::uas("busy.xml", 1);
    // The agent's URI names its PBX trunk's address: the transfer goes there.
    let tail = format!(
        "[[trunks]]\nname = \"customers\"\naddress = \"127.0.0.1:{}\"\n[[trunks]]\nname = \"pbx2\"\naddress = \"127.0.0.1:{}\"\n",
        customer.port, busy.port
    );
    let flows = vec![
        ("xfer.toml".to_string(), XFER.replace("@AGENT@", &agent.port.to_string())),
        ("xfer-busy.toml".to_string(), XFER.replace("@AGENT@", &busy.port.to_string())),
    ];
    let d = Daemon::start(agent.port, Opts { tail, dialplans: flows, ..Default::default() });
    let c = d.call(call_body(json!({"trunk": "customers", "dialplan": "xfer"})));
    let vc = d.wait_ended(&c, Duration::from_secs(20));
    assert_eq!(vc["hangup_by"], "remote", "the customer hung up after talking: {vc}");
    let agent_call = vc["bridge"]["with"].as_str().unwrap_or_else(|| panic!("bridged: {vc}")).to_string();
    assert!(vc["bridge"]["relayed"].as_u64().unwrap() > 10, "the agent's audio reached the customer: {vc}");
    let va = d.wait_ended(&agent_call, Duration::from_secs(10));
    assert_eq!(va["to"], format!("sip:201@127.0.0.1:{}", agent.port));
    assert_eq!(hangup_cause(&va), "bridged_call_ended", "{va}");
    assert!(va["bridge"]["relayed"].as_u64().unwrap() > 10, "the customer's echo reached the agent: {va}");
    assert_sipp(&agent.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);

    // A busy target: the node's on_fail runs and the flow ends the call.
    let quiet = Sipp::uas("answer_wait_bye.xml", 1);
    drop(d);
    let tail = format!(
        "[[trunks]]\nname = \"customers\"\naddress = \"127.0.0.1:{}\"\n[[trunks]]\nname = \"pbx2\"\naddress = \"127.0.0.1:{}\"\n",
        quiet.port, busy.port
    );
    let flows = vec![("xfer-busy.toml".to_string(), XFER.replace("@AGENT@", &busy.port.to_string()))];
    let d = Daemon::start(free_udp_port(), Opts { tail, dialplans: flows, ..Default::default() });
    let c = d.call(call_body(json!({"trunk": "customers", "dialplan": "xfer-busy"})));
    let vc = d.wait_ended(&c, Duration::from_secs(20));
    assert_eq!(vc["flow"]["outcome"], "transfer_failed", "{vc}");
    assert!(vc.get("bridge").is_none_or(|b| b.is_null()), "{vc}");
    assert_sipp(&busy.wait(Duration::from_secs(10)), 1);
    assert_sipp(&quiet.wait(Duration::from_secs(10)), 1);
}

#[test]
fn a_transfer_to_a_ring_all_group_bridges_the_agent_who_answers_and_cancels_the_others() {
    let a1 = Sipp::uas("no_answer.xml", 1);
    let a2 = Sipp::uas_templated("bridge_agent.xml", &[("@TALK_AFTER@", "300")]);
    let a3 = Sipp::uas("no_answer.xml", 1);
    let customer = Sipp::uas_templated_with("bridge_customer.xml", &[("@HOLD@", "3000")], &["-rtp_echo"]);
    let (crm, pops) = common::leads::receiver();
    let mut tail = format!("[[trunks]]\nname = \"customers\"\naddress = \"127.0.0.1:{}\"\n", customer.port);
    // Each agent's phone sits behind its own trunk (an extension of a PBX).
    for (i, (name, sipp)) in [("dana", &a1), ("omer", &a2), ("lior", &a3)].iter().enumerate() {
        tail += &format!(
            "[[trunks]]\nname = \"pbx{i}\"\naddress = \"127.0.0.1:{p}\"\n[[agents]]\nid = \"{name}\"\nextension = \"20{i}\"\n\
             uri = \"sip:20{i}@127.0.0.1:{p}\"\n[agents.screen_pop]\nurl = \"http://{crm}/pop\"\nmethod = \"post\"\n",
            p = sipp.port
        );
    }
    tail += "[[agent_groups]]\nid = \"sales\"\nagents = [\"dana\", \"omer\", \"lior\"]\nstrategy = \"ring_all\"\nring_timeout_s = 10\n";
    let flow = XFER.replace("sip:201@127.0.0.1:@AGENT@", "group:sales");
    let opts = Opts { tail, dialplans: vec![("to-sales.toml".into(), flow)], ..Default::default() };
    let d = Daemon::start(free_udp_port(), opts);
    let c = d.call(call_body(json!({"trunk": "customers", "dialplan": "to-sales"})));
    let vc = d.wait_ended(&c, Duration::from_secs(20));
    let agent_call = vc["bridge"]["with"].as_str().unwrap_or_else(|| panic!("bridged: {vc}")).to_string();
    let va = d.wait_ended(&agent_call, Duration::from_secs(10));
    assert_eq!(va["to"], format!("sip:201@127.0.0.1:{}", a2.port), "omer answered: {va}");
    assert!(vc["bridge"]["relayed"].as_u64().unwrap() > 10, "{vc}");
    // The other two were rung and cancelled when omer answered.
    assert_sipp(&a1.wait(Duration::from_secs(10)), 1);
    assert_sipp(&a3.wait(Duration::from_secs(10)), 1);
    assert_sipp(&a2.wait(Duration::from_secs(10)), 1);
    assert_sipp(&customer.wait(Duration::from_secs(10)), 1);
    // Seed 004: one Ringing pop per ringing extension, the customer's call as ivrid.
    let mut exts: Vec<String> = pops
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == "/pop")
        .map(|(_, _, body)| {
            let form = body.as_str().unwrap_or_default().to_string();
            assert!(form.contains("status=Ringing") || form.contains("statusCall=Ringing"), "{form}");
            assert!(form.contains(&format!("ivrid={c}")), "{form}");
            form.split('&').find_map(|kv| kv.strip_prefix("extenUser=")).unwrap_or_default().to_string()
        })
        .collect();
    exts.sort();
    assert_eq!(exts, ["200", "201", "202"]);
    let (s, stats) = d.get("/v1/agent-groups/sales/stats");
    assert_eq!(s, 200);
    let t = &stats["totals"];
    assert_eq!(
        (t["offered"].as_u64(), t["answered"].as_u64(), t["missed"].as_u64()),
        (Some(3), Some(1), Some(2)),
        "{stats}"
    );
    assert!(t["aht_s"].as_f64().unwrap() > 1.0, "omer's talk time is counted: {stats}");
    // The same in Prometheus, per agent.
    let offers = |agent: &str, result: &str| {
        d.metric("dialerd_agent_offers_total", &format!("agent=\"default/{agent}\",result=\"{result}\""))
    };
    assert_eq!((offers("omer", "offered"), offers("omer", "answered")), (1.0, 1.0));
    assert_eq!((offers("dana", "missed"), offers("lior", "missed")), (1.0, 1.0));
    assert_eq!(d.metric("dialerd_agents", "status=\"available\""), 3.0, "nobody busy once the calls ended");
}
