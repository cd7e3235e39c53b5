//! Issue 9: carriers whose SBC answers from another port than the one
//! the INVITE went to (responses are matched by transaction, RFC 3261
//! §17.1.3, not by address), with a Contact on that other port for the
//! rest of the dialog. The carrier here is a hand-written UDP peer in the
//! test: SIPp answers from the port it listens on.

mod common;

use common::*;
use serde_json::json;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// The headers a response copies from its request (RFC 3261 §8.2.6.2).
fn response(req: &str, status: &str, to_tag: Option<&str>, extra: &str, body: &str) -> String {
    let mut out = format!("SIP/2.0 {status}\r\n");
    for line in req.lines() {
        let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => out.push_str(&format!("{line}\r\n")),
            "to" => match to_tag {
                Some(tag) if !line.contains("tag=") => out.push_str(&format!("{line};tag={tag}\r\n")),
                _ => out.push_str(&format!("{line}\r\n")),
            },
            _ => {}
        }
    }
    out.push_str(extra);
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out
}

fn recv(sock: &UdpSocket, method: &str) -> (String, SocketAddr) {
    let mut buf = [0u8; 8192];
    loop {
        let (n, from) = sock.recv_from(&mut buf).unwrap_or_else(|e| panic!("waiting for {method}: {e}"));
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.starts_with(&format!("{method} ")) {
            return (text, from);
        }
    }
}

#[test]
fn a_carrier_answering_from_another_port_is_followed() {
    // `listen` gets the INVITE; `sbc` answers it and takes the dialog.
    let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sbc = UdpSocket::bind("127.0.0.1:0").unwrap();
    let media = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&listen, &sbc] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let d = Daemon::start(listen.local_addr().unwrap().port(), Opts::default());
    let id = d.call(call_body(json!({"gather": {"max_digits": 1, "timeout_s": 0.5}})));

    let (invite, from) = recv(&listen, "INVITE");
    let sbc_port = sbc.local_addr().unwrap().port();
    let contact = format!("Contact: <sip:carrier@127.0.0.1:{sbc_port}>\r\n");
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n",
        media.local_addr().unwrap().port()
    );
    let ok = response(&invite, "200 OK", Some("sbc1"), &format!("{contact}Content-Type: application/sdp\r\n"), &sdp);
    sbc.send_to(response(&invite, "100 Trying", None, "", "").as_bytes(), from).unwrap();
    sbc.send_to(ok.as_bytes(), from).unwrap();

    // The ACK and, when the flow ends, the BYE go to the SBC's Contact.
    let (ack, _) = recv(&sbc, "ACK");
    assert!(ack.starts_with(&format!("ACK sip:carrier@127.0.0.1:{sbc_port}")), "{ack}");
    let (bye, bye_from) = recv(&sbc, "BYE");
    sbc.send_to(response(&bye, "200 OK", None, "", "").as_bytes(), bye_from).unwrap();
    let v = d.wait_ended(&id, Duration::from_secs(10));
    assert_eq!((v["disposition"].as_str(), v["hangup_by"].as_str()), (Some("answered"), Some("local")), "{v}");
    // Nothing went back to the port the INVITE was sent to, and the
    // INVITE was never retransmitted there once answered.
    listen.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 2048];
    assert!(listen.recv_from(&mut buf).is_err(), "nothing more to the first port");
}
