//! Robustness: the RFC 4475 and RFC 5118 torture messages replayed at the
//! SIP port, byte for byte, from a trunk's address. The daemon must not
//! panic, must answer or drop each as the verdicts allow, count what it
//! drops, and keep placing calls afterwards.

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::Duration;

fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("DIALERD_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/conformance"));
    assert!(
        dir.join("INDEX.md").is_file(),
        "torture messages not found at {} (set DIALERD_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

fn status_of(bytes: &[u8]) -> Option<u16> {
    std::str::from_utf8(bytes.get(8..11)?).ok()?.parse().ok().filter(|_| bytes.starts_with(b"SIP/2.0 "))
}

#[test]
fn torture_messages_are_survived_and_answered_by_the_rules() {
    let dir = conformance_dir();
    let sipp = Sipp::uas("busy.xml", 1);
    let mut d = Daemon::start(sipp.port, Opts::default());
    // One socket per message: the answers come back to the sender
    // (rsipstack adds received/rport), so each socket holds its message's
    // answers, even where RFC 5118's messages share a transaction key.
    let mut sent: Vec<(String, UdpSocket)> = Vec::new();
    for sub in ["rfc4475", "rfc5118"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let name = format!("{sub}/{}", f.file_name().unwrap().to_string_lossy());
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_nonblocking(true).unwrap();
            sock.send_to(&bytes, d.sip).unwrap();
            sent.push((name, sock));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    std::thread::sleep(Duration::from_millis(800));
    let mut outcome: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    let mut buf = [0u8; 65536];
    for (name, sock) in &sent {
        let mut codes = Vec::new();
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            codes.extend(status_of(&buf[..n]));
        }
        // A 100 Trying may or may not precede a quick final answer.
        codes.retain(|c| *c >= 200);
        codes.sort();
        codes.dedup();
        outcome.insert(name.clone(), codes);
    }
    let summary: Vec<String> = outcome.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
    let summary = summary.join("\n");
    assert!(outcome.len() >= 61, "all 61 messages replayed:\n{summary}");
    assert!(d.alive(), "dialerd died:\n{summary}");

    // The answer each message gets, from its verdict in INDEX.md:
    // invalid → 400/505 (or dropped); responses → nothing; parseable but
    // semantically wrong → the status RFC 4475 §3.3 names; valid → handled
    // like any request (INVITE from a trunk: 404 from the inbound router,
    // as no [[inbound]] route takes it, or 480 when only our stateless
    // fallback can read it; OPTIONS 200, REGISTER and other methods 405,
    // stray BYE 481).
    let expected: &[(&str, &[u16])] = &[
        // RFC 4475 §3.1.1: valid messages.
        ("rfc4475/wsinv.dat", &[480]),
        ("rfc4475/intmeth.dat", &[405]),
        ("rfc4475/esc01.dat", &[404]),
        ("rfc4475/escnull.dat", &[405]),
        ("rfc4475/esc02.dat", &[405]),
        ("rfc4475/lwsdisp.dat", &[200]),
        ("rfc4475/longreq.dat", &[480]),
        ("rfc4475/dblreq.dat", &[405]),
        ("rfc4475/semiuri.dat", &[200]),
        ("rfc4475/transports.dat", &[200]),
        ("rfc4475/mpart01.dat", &[405]),
        ("rfc4475/unreason.dat", &[]),
        ("rfc4475/noreason.dat", &[]),
        // §3.1.2: invalid messages.
        ("rfc4475/badinv01.dat", &[400]),
        ("rfc4475/clerr.dat", &[400]),
        ("rfc4475/ncl.dat", &[400]),
        ("rfc4475/scalar02.dat", &[400]),
        ("rfc4475/scalarlg.dat", &[]),
        ("rfc4475/quotbal.dat", &[400]),
        ("rfc4475/ltgtruri.dat", &[400]),
        ("rfc4475/lwsruri.dat", &[400]),
        ("rfc4475/lwsstart.dat", &[400]),
        ("rfc4475/trws.dat", &[400]),
        ("rfc4475/escruri.dat", &[400]),
        ("rfc4475/baddate.dat", &[404]),
        ("rfc4475/regbadct.dat", &[400]),
        ("rfc4475/badaspec.dat", &[400]),
        ("rfc4475/baddn.dat", &[400]),
        ("rfc4475/badvers.dat", &[505]),
        ("rfc4475/mismatch01.dat", &[400]),
        ("rfc4475/mismatch02.dat", &[400]),
        ("rfc4475/bigcode.dat", &[]),
        // §3.2, §3.3, §3.4: transaction layer, semantics, RFC 2543.
        ("rfc4475/badbranch.dat", &[200]),
        ("rfc4475/insuf.dat", &[400]),
        ("rfc4475/unkscm.dat", &[416]),
        ("rfc4475/novelsc.dat", &[416]),
        ("rfc4475/unksm2.dat", &[405]),
        ("rfc4475/bext01.dat", &[420]),
        ("rfc4475/invut.dat", &[415]),
        ("rfc4475/regaut01.dat", &[405]),
        ("rfc4475/multi01.dat", &[400]),
        ("rfc4475/mcl01.dat", &[400]),
        ("rfc4475/bcast.dat", &[]),
        ("rfc4475/zeromf.dat", &[200]),
        ("rfc4475/cparam01.dat", &[405]),
        ("rfc4475/cparam02.dat", &[405]),
        ("rfc4475/regescrt.dat", &[405]),
        ("rfc4475/sdp01.dat", &[404]),
        ("rfc4475/inv2543.dat", &[480]),
        // RFC 5118.
        ("rfc5118/ipv6-good.dat", &[405]),
        ("rfc5118/ipv6-bad.dat", &[400]),
        ("rfc5118/port-ambiguous.dat", &[405]),
        ("rfc5118/port-unambiguous.dat", &[405]),
        ("rfc5118/via-received-param-with-delim.dat", &[481]),
        ("rfc5118/via-received-param-no-delim.dat", &[200]),
        ("rfc5118/ipv6-in-sdp.dat", &[404]),
        ("rfc5118/mult-ip-in-header.dat", &[481]),
        ("rfc5118/mult-ip-in-sdp.dat", &[404]),
        ("rfc5118/ipv4-mapped-ipv6.dat", &[404]),
        ("rfc5118/ipv6-bug-abnf-3-colons.dat", &[400]),
        ("rfc5118/ipv6-correct-abnf-2-colons.dat", &[200]),
    ];
    assert_eq!(expected.len(), 61);
    let mut wrong = Vec::new();
    for (name, codes) in expected {
        let got = outcome.get(*name).unwrap_or_else(|| panic!("{name} was not replayed"));
        if got.as_slice() != *codes {
            wrong.push(format!("{name}: expected {codes:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}\n\nall:\n{summary}", wrong.join("\n"));
    // Never a broadcast or any address but the sender's: every answer came
    // back to the sending socket (checked above by construction).
    assert!(d.metric("dialerd_sip_malformed_total", "") >= 5.0, "dropped datagrams are counted\n{summary}");

    // Still serving: a call through the trunk works as before.
    let id = d.call(call_body(json!({})));
    let v = d.wait_ended(&id, Duration::from_secs(20));
    assert_eq!(v["disposition"], "busy", "{v:#}");
    assert_sipp(&sipp.wait(Duration::from_secs(20)), 1);
    eprintln!("{summary}");
}

#[test]
fn torture_responses_inside_a_live_call() {
    let sipp = Sipp::uas("odd_responses.xml", 1);
    let d = Daemon::start(sipp.port, Opts::default());
    let id = d.call(call_body(json!({})));
    let v = d.wait_ended(&id, Duration::from_secs(20));
    assert_eq!(v["disposition"], "answered", "{v:#}");
    assert_sipp(&sipp.wait(Duration::from_secs(20)), 1);
    assert_eq!(d.metric("dialerd_sip_malformed_total", ""), 0.0, "odd but valid responses are not malformed");
}
