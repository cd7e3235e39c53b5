//! Trunk health (issue 8): an OPTIONS keepalive per trunk marks a trunk
//! that stops answering down (`dialerd_trunk_up` 0, new calls refused
//! with `trunk_down`) and up again once it answers. The far end here is a
//! small UDP responder the test switches on and off.

mod common;

use common::leads::wait_for;
use common::*;
use serde_json::json;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Answers each OPTIONS 200 (copying Via, From, To, Call-ID, CSeq) while
/// `on`; counts what it received.
fn responder(on: Arc<AtomicBool>, seen: Arc<AtomicUsize>) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if !text.starts_with("OPTIONS ") {
                continue;
            }
            seen.fetch_add(1, Ordering::Relaxed);
            if !on.load(Ordering::Relaxed) {
                continue;
            }
            let copy: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
                    matches!(name.as_str(), "via" | "from" | "to" | "call-id" | "cseq")
                })
                .collect();
            let reply = format!("SIP/2.0 200 OK\r\n{}\r\nContent-Length: 0\r\n\r\n", copy.join("\r\n"));
            let _ = sock.send_to(reply.as_bytes(), from);
        }
    });
    port
}

#[test]
fn a_trunk_that_stops_answering_options_goes_down_and_comes_back() {
    let (on, seen) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicUsize::new(0)));
    let port = responder(on.clone(), seen.clone());
    let tail = format!(
        "[[trunks]]\nname = \"carrier\"\naddress = \"127.0.0.1:{port}\"\nkeepalive_interval_s = 0.2\n\
         keepalive_failures = 2\nkeepalive_successes = 2\nkeepalive_timeout_s = 0.15\n"
    );
    let d = Daemon::start(free_udp_port(), Opts { tail, ..Default::default() });
    let up = || d.metric("dialerd_trunk_up", "trunk=\"carrier\"");
    wait_for("OPTIONS answered", Duration::from_secs(5), || (seen.load(Ordering::Relaxed) >= 3).then_some(()));
    assert_eq!(up(), 1.0);

    on.store(false, Ordering::Relaxed);
    wait_for("the trunk down", Duration::from_secs(5), || (up() == 0.0).then_some(()));
    let (s, v) = d.post_call(call_body(json!({"trunk": "carrier"})));
    assert_eq!((s, v["error"]["field"].as_str()), (429, Some("trunk")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("trunk_down"), "{v}");
    assert!(d.log().contains("trunk down: no answer to OPTIONS"));

    on.store(true, Ordering::Relaxed);
    wait_for("the trunk up again", Duration::from_secs(5), || (up() == 1.0).then_some(()));
    // Trunks without a keepalive send nothing and report nothing.
    assert!(!d.get_text("/metrics").contains("dialerd_trunk_up{trunk=\"sipp\"}"));
}
