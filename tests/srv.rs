//! Trunks named by host name (issue 9, RFC 3263 / RFC 2782) against the
//! real binary: a DNS responder inside the test (`common/dns.rs`, on
//! 127.0.0.1) is dialerd's `[sip] dns_servers`; SIPp is the carrier the
//! SRV record points at. Loopback only.

mod common;

use common::dns::{DnsServer, Rr};
use common::leads::wait_for;
use common::*;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// A daemon whose trunk `srv` is `carrier.test` resolved through `dns`,
/// and one call through it.
fn call_via(dns: &DnsServer) -> (Daemon, String) {
    let opts = Opts {
        sip: format!("dns_servers = [\"{}\"]", dns.addr),
        tail: "[[trunks]]\nname = \"srv\"\naddress = \"carrier.test\"\n".into(),
        ..Default::default()
    };
    let d = Daemon::start(free_udp_port(), opts);
    let id = d.call(json!({"to": "+15551234567", "trunk": "srv"}));
    (d, id)
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Rr {
    Rr::Srv { priority, weight, port, target: target.into() }
}

/// `carrier.test` has two SRV targets; the lower priority one, listed
/// second, is SIPp: the INVITE goes there with the Request-URI naming the
/// domain alone. The other target's address (127.0.0.2) is trunk traffic:
/// a caller from it reaches a DID. A SIGHUP asks DNS again: the record
/// now points at a second SIPp, and the next call goes there.
#[test]
fn a_trunk_named_by_srv_goes_to_its_best_target_and_follows_dns_on_sighup() {
    let first = Sipp::uas("answer_wait_bye.xml", 1);
    let dns = DnsServer::start();
    // The backup's port has no listener: a call sent there would fail.
    dns.set(
        "_sip._udp.carrier.test",
        vec![srv(20, 100, free_udp_port(), "backup.carrier.test"), srv(10, 0, first.port, "main.carrier.test")],
    );
    dns.set("main.carrier.test", vec![Rr::A("127.0.0.1".parse().unwrap())]);
    dns.set("backup.carrier.test", vec![Rr::A("127.0.0.2".parse().unwrap())]);
    let opts = Opts {
        sip: format!("dns_servers = [\"{}\"]", dns.addr),
        tail: "[[trunks]]\nname = \"srv\"\naddress = \"carrier.test\"\n\
               [[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n"
            .into(),
        ..Default::default()
    };
    let d = Daemon::start(free_udp_port(), opts);
    assert!(dns.questions().contains(&"SRV _sip._udp.carrier.test".to_string()), "{:?}", dns.questions());

    let id = d.call(json!({"to": "+15551234567", "trunk": "srv"}));
    let v = d.wait_ended(&id, T);
    assert_eq!(v["disposition"], "answered", "{v}");
    let r = first.wait(T);
    assert_sipp(&r, 1);
    assert!(r.messages.contains("INVITE sip:+15551234567@carrier.test SIP/2.0"), "Request-URI:\n{}", r.messages);

    // The second target's address counts as the trunk's for inbound calls.
    let caller = Sipp::templated_on(
        "uac_inbound_press.xml",
        &[("@DID@", "+15550199"), ("@DELAY@", "300")],
        "127.0.0.2",
        &[d.sip.to_string().as_str(), "-r", "10"],
    );
    assert_sipp(&caller.wait(T), 1);

    // DNS changes; SIGHUP resolves again.
    let second = Sipp::uas("answer_wait_bye.xml", 1);
    dns.set("_sip._udp.carrier.test", vec![srv(10, 0, second.port, "main.carrier.test")]);
    d.signal("-HUP");
    wait_for("the reload", Duration::from_secs(5), || d.log().contains("SIGHUP: configuration reloaded").then_some(()));
    let id = d.call(json!({"to": "+15551234567", "trunk": "srv"}));
    assert_eq!(d.wait_ended(&id, T)["disposition"], "answered");
    assert_sipp(&second.wait(T), 1);
}

/// Records with a 1 s TTL: when DNS moves the trunk to another SIPp,
/// the next call follows without any SIGHUP.
#[test]
fn a_trunk_is_looked_up_again_when_its_dns_ttl_passes() {
    let first = Sipp::uas("answer_wait_bye.xml", 1);
    let dns = DnsServer::start();
    dns.set_ttl(1);
    dns.set("_sip._udp.carrier.test", vec![srv(10, 0, first.port, "main.carrier.test")]);
    dns.set("main.carrier.test", vec![Rr::A("127.0.0.1".parse().unwrap())]);
    let (d, id) = call_via(&dns);
    assert_eq!(d.wait_ended(&id, T)["disposition"], "answered");
    assert_sipp(&first.wait(T), 1);

    let second = Sipp::uas("answer_wait_bye.xml", 1);
    dns.set("_sip._udp.carrier.test", vec![srv(10, 0, second.port, "main.carrier.test")]);
    wait_for("the TTL refresh", Duration::from_secs(10), || {
        d.log().contains("DNS TTL: trunk addresses changed").then_some(())
    });
    let id = d.call(json!({"to": "+15551234567", "trunk": "srv"}));
    assert_eq!(d.wait_ended(&id, T)["disposition"], "answered");
    assert_sipp(&second.wait(T), 1);
    assert!(!d.log().contains("SIGHUP"), "no reload was asked for");
}

/// A name with no SRV record that does not resolve at all stops the
/// start, naming the trunk and the SRV name asked.
#[test]
fn an_unresolvable_trunk_name_is_reported_with_its_key() {
    let dns = DnsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dialerd.toml");
    std::fs::write(
        &cfg,
        format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\ndns_servers = [\"{}\"]\n[api]\nlisten = \"127.0.0.1:0\"\n\
             keys = [\"{KEY}\"]\n[storage]\ndata_dir = \"{}\"\n[media]\nprompts_dir = \"{}\"\n\
             [[trunks]]\nname = \"gone\"\naddress = \"nowhere.test\"\n",
            dns.addr,
            dir.path().join("var").display(),
            repo().join("dialplans/prompts").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dialerd")).arg("--config").arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("trunks: gone: address") && err.contains("_sip._udp.nowhere.test"), "{err}");
    let asked = dns.questions();
    assert!(asked.contains(&"SRV _sip._udp.nowhere.test".to_string()), "{asked:?}");
    assert!(asked.contains(&"A nowhere.test".to_string()), "the A/AAAA fallback was asked: {asked:?}");
}

/// RFC 3263 §4.3: when the best SRV target fails (here a 500), the same
/// trunk's next target gets the call, with a new INVITE, before anything
/// else; the `failover` event names the address.
#[test]
fn a_failing_srv_target_passes_the_call_to_the_next_one() {
    let broken = Sipp::uas("server_error.xml", 1);
    let good = Sipp::uas("answer_wait_bye.xml", 1);
    let dns = DnsServer::start();
    dns.set(
        "_sip._udp.carrier.test",
        vec![srv(10, 0, broken.port, "main.carrier.test"), srv(20, 0, good.port, "backup.carrier.test")],
    );
    dns.set("main.carrier.test", vec![Rr::A("127.0.0.1".parse().unwrap())]);
    dns.set("backup.carrier.test", vec![Rr::A("127.0.0.1".parse().unwrap())]);
    let (d, id) = call_via(&dns);
    let v = d.wait_ended(&id, T);
    assert_eq!(v["disposition"], "answered", "{v}");
    let f: Vec<&serde_json::Value> =
        v["events"].as_array().unwrap().iter().filter(|e| e["type"] == "failover").collect();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!((f[0]["sip_status"].as_u64(), f[0]["to_trunk"].as_str()), (Some(500), Some("srv")), "{v}");
    assert_eq!(f[0]["target"], format!("127.0.0.1:{}", good.port), "{v}");
    assert_sipp(&broken.wait(T), 1);
    assert_sipp(&good.wait(T), 1);
}
