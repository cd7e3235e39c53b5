//! SIP over TCP and TLS (issue 8) against real peers: SIPp over TCP
//! (`-t t1`) as the carrier, both ways; and, since Debian's SIPp has no
//! TLS, a second dialerd as the TLS peer (its TLS listener answers the
//! first one's trunk and routes the call to a dialplan). Certificates are
//! made at test time by `certs/make-dev-certs.sh`; the TLS listener's
//! certificate is swapped by SIGHUP.

mod common;

use common::leads::wait_for;
use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn an_outbound_call_over_tcp() {
    let sipp = Sipp::uas_with("answer_wait_bye.xml", 1, &["-t", "t1"]);
    let tcp = free_tcp_port();
    let opts = Opts {
        sip: format!("listen_tcp = \"127.0.0.1:{tcp}\""),
        trunk: "transport = \"tcp\"".into(),
        ..Default::default()
    };
    let d = Daemon::start(sipp.port, opts);
    let id = d.call(call_body(json!({})));
    let v = d.wait_ended(&id, Duration::from_secs(15));
    let r = sipp.wait(Duration::from_secs(15));
    assert_sipp(&r, 1);
    assert_eq!(v["disposition"], "answered", "{v}");
    // Every request dialerd sent travelled over TCP and says so.
    // (The stack writes the transport parameter in capitals; RFC 3261
    // §19.1.4 compares it without case.)
    let invite = r.messages.split("INVITE sip:").nth(1).expect("an INVITE").to_ascii_lowercase();
    assert!(invite.contains(";transport=tcp sip/2.0"), "Request-URI names TCP:\n{invite}");
    assert!(invite.contains(&format!("via: sip/2.0/tcp 127.0.0.1:{tcp}")), "Via names our TCP listener:\n{invite}");
    assert!(invite.contains(&format!("@127.0.0.1:{tcp};transport=tcp>")), "Contact is the TCP listener:\n{invite}");
    assert!(r.messages.contains("BYE sip:"), "the BYE came over TCP too");
}

#[test]
fn an_inbound_call_over_tcp_runs_its_dialplan() {
    let tcp = free_tcp_port();
    let opts = Opts {
        sip: format!("listen_tcp = \"127.0.0.1:{tcp}\""),
        tail: "[[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n".into(),
        ..Default::default()
    };
    let d = Daemon::start(free_udp_port(), opts);
    let remote = format!("127.0.0.1:{tcp}").parse().unwrap();
    let caller = Sipp::uac_templated_with(
        "uac_inbound_press.xml",
        remote,
        &[("@DID@", "+15550199"), ("@DELAY@", "800")],
        &["-t", "t1"],
    );
    let r = caller.wait(Duration::from_secs(20));
    assert_sipp(&r, 1);
    assert!(r.messages.contains("SIP/2.0/TCP"), "SIPp spoke TCP:\n{}", r.messages);
    let v = d.first_logged_call(Duration::from_secs(10));
    assert_eq!((v["direction"].as_str(), v["digits"].as_str()), (Some("inbound"), Some("1")), "{v}");
    assert_eq!(v["flow"]["outcome"], "qualified", "{v}");
}

/// A CA and a server certificate for 127.0.0.1 in `dir`.
fn make_certs(dir: &Path) {
    let ok = Command::new(repo().join("certs/make-dev-certs.sh"))
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("certs/make-dev-certs.sh runs (needs openssl: scripts/test installs it)");
    assert!(ok.success());
}

/// A dialerd whose trunk `b` is the TLS listener at `port`, trusting `ca`.
fn tls_caller(port: u16, ca: &Path) -> Daemon {
    let opts = Opts {
        sip: format!("tls_ca = \"{}\"", ca.display()),
        tail: format!("[[trunks]]\nname = \"b\"\naddress = \"127.0.0.1:{port}\"\ntransport = \"tls\"\n"),
        ..Default::default()
    };
    Daemon::start(free_udp_port(), opts)
}

/// One call from `a` through its TLS trunk; the ended view.
fn call_over_tls(a: &Daemon) -> Value {
    let id = a.call(json!({"to": "+15550123", "trunk": "b"}));
    a.wait_ended(&id, Duration::from_secs(15))
}

#[test]
fn tls_calls_between_two_dialerds_and_a_certificate_swapped_by_sighup() {
    let certs = tempfile::tempdir().unwrap();
    let (one, two) = (certs.path().join("one"), certs.path().join("two"));
    make_certs(&one);
    make_certs(&two);
    // B: the TLS listener, serving certificate one, routing the DID to a dialplan.
    let tls = free_tcp_port();
    let served = certs.path().join("served");
    std::fs::create_dir(&served).unwrap();
    let serve = |from: &Path| {
        for f in ["server.crt", "server.key"] {
            std::fs::copy(from.join(f), served.join(f)).unwrap();
        }
    };
    serve(&one);
    let b = Daemon::start(
        free_udp_port(),
        Opts {
            sip: format!(
                "listen_tls = \"127.0.0.1:{tls}\"\ntls_cert = \"{c}\"\ntls_key = \"{k}\"",
                c = served.join("server.crt").display(),
                k = served.join("server.key").display()
            ),
            tail: "[[inbound]]\ndid = \"+15550123\"\ndialplan = \"lead-qualification\"\n".into(),
            ..Default::default()
        },
    );

    // A trusts CA one: the call is answered by B over TLS, and A's BYE
    // (the inline flow ends at once) reaches B over the same connection.
    let a = tls_caller(tls, &one.join("ca.crt"));
    let v = call_over_tls(&a);
    assert_eq!(v["disposition"], "answered", "{v}");
    let vb = b.first_logged_call(Duration::from_secs(10));
    assert_eq!((vb["direction"].as_str(), vb["hangup_by"].as_str()), (Some("inbound"), Some("remote")), "{vb}");

    // A second caller trusts only CA two: it refuses B's certificate at
    // every retransmission (a new handshake each time) until Timer B.
    let a2 = tls_caller(tls, &two.join("ca.crt"));
    let v = call_over_tls(&a2);
    assert_eq!((v["answered_at"].as_str(), v["sip_status"].as_u64()), (None, Some(408)), "{v}");
    assert!(b.log().contains("TLS handshake failed"), "B saw the refusal:\n{}", b.log());
    assert_eq!(b.api("GET", "/v1/calls", None).1["calls"].as_array().map(Vec::len), Some(1), "no call reached B");

    // A broken certificate file: the reload is refused, the old one stays.
    std::fs::write(served.join("server.crt"), "not a certificate").unwrap();
    b.signal("-HUP");
    wait_for("the refusal", Duration::from_secs(5), || b.log().contains("SIGHUP: reload refused").then_some(()));
    assert!(b.log().contains("sip.tls_cert"), "the log names the key:\n{}", b.log());

    // B now serves certificate two (SIGHUP, no restart): A2 gets through.
    serve(&two);
    b.signal("-HUP");
    wait_for("the reload", Duration::from_secs(5), || b.log().contains("SIGHUP: configuration reloaded").then_some(()));
    let v = call_over_tls(&a2);
    assert_eq!(v["disposition"], "answered", "after the certificate swap: {v}");
}
