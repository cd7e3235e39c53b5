//! IPv6 (issue 9) against the real binary: dialerd listening on `[::1]`
//! calls a SIPp carrier on `::1` (SIPp checks the bracketed addresses in
//! the INVITE and `c=IN IP6`), RTP flows both ways over IPv6, and a SIPp
//! caller on `::1` reaches a dialplan. Loopback only. A machine that
//! cannot bind `::1` at all says so and skips; CI machines have it.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Whether `::1` can be bound here (some containers run without IPv6).
fn have_ipv6_loopback() -> bool {
    let ok = std::net::UdpSocket::bind("[::1]:0").is_ok();
    if !ok {
        eprintln!("SKIPPED: this machine cannot bind the IPv6 loopback ::1; the IPv6 tests did not run");
    }
    ok
}

/// A trunk `v6` at `[::1]:port` (the harness's own trunk stays IPv4).
fn v6_trunk(port: u16) -> String {
    format!("[[trunks]]\nname = \"v6\"\naddress = \"[::1]:{port}\"\nmax_cps = 1000\n")
}

/// Out and back over IPv6: the INVITE names `[::1]` in Request-URI, Via,
/// From and Contact and offers `c=IN IP6 ::1` (SIPp's checks fail the
/// call otherwise); the carrier's digit (RFC 4733 from ::1) reaches us;
/// our silence reaches SIPp, which echoes it (`-rtp_echo`): we count far
/// more packets in than the ten of the digit; then our BYE.
#[test]
fn an_outbound_call_over_ipv6() {
    if !have_ipv6_loopback() {
        return;
    }
    let sipp = Sipp::templated_on("ipv6_answer.xml", &[("@DELAY@", "1000")], "::1", &["-rtp_echo"]);
    let opts = Opts { tail: v6_trunk(sipp.port), ..Default::default() };
    let d = Daemon::start_listening(free_udp_port(), opts, "::1");
    assert!(d.sip.is_ipv6(), "listening on {}", d.sip);
    let gather = json!({"max_digits": 1, "timeout_s": 5});
    let id = d.call(json!({"to": "+15551234567", "trunk": "v6", "gather": gather}));
    let v = d.wait_ended(&id, T);
    let r = sipp.wait(T);
    assert_sipp(&r, 1);
    assert_eq!((v["disposition"].as_str(), v["digits"].as_str()), (Some("answered"), Some("1")), "{v}");
    assert_eq!(v["hangup_by"], "local", "{v}");
    let rx = d.metric("dialerd_rtp_packets_total", "direction=\"in\"");
    assert!(rx >= 30.0, "our RTP reached SIPp and came back: {rx} packets in");
    assert!(r.messages.contains("BYE sip:"), "the BYE went over IPv6:\n{}", r.messages);
}

/// A caller on `::1` (a trunk's address, so trunk traffic) dials a DID
/// on dialerd's `[::1]` listener: answered with `c=IN IP6 ::1` and a
/// bracketed Contact, the dialplan hears the digit and qualifies.
#[test]
fn an_inbound_call_over_ipv6_runs_its_dialplan() {
    if !have_ipv6_loopback() {
        return;
    }
    let tail = v6_trunk(free_udp_port()) + "[[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n";
    let d = Daemon::start_listening(free_udp_port(), Opts { tail, ..Default::default() }, "::1");
    let remote = d.sip.to_string();
    let caller = Sipp::templated_on(
        "uac_inbound_press.xml",
        &[("@DID@", "+15550199"), ("@DELAY@", "800")],
        "::1",
        &[remote.as_str(), "-r", "10"],
    );
    let r = caller.wait(T);
    assert_sipp(&r, 1);
    let ok = r.messages.split("SIP/2.0 200 OK").nth(1).expect("a 200 OK");
    assert!(ok.contains("c=IN IP6 ::1"), "the answer's SDP is IPv6:\n{ok}");
    assert!(ok.contains("@[::1]:"), "the Contact is bracketed:\n{ok}");
    let v = d.first_logged_call(Duration::from_secs(10));
    assert_eq!((v["direction"].as_str(), v["digits"].as_str()), (Some("inbound"), Some("1")), "{v}");
    assert_eq!(v["flow"]["outcome"], "qualified", "{v}");
}
