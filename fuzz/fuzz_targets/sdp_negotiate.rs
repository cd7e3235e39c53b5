//! `media::sdp::negotiate`: the far end's SDP, raw bytes off the wire; our
//! offer and our answer to it must negotiate back.
#![no_main]

use dialerd::media::sdp::{self, Codec, Direction, SdpError, negotiate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let got = negotiate(data);
    assert_eq!(got, negotiate(data), "negotiate is not deterministic");
    let n = match got {
        Ok(n) => n,
        Err(SdpError::Malformed(line)) => {
            // The echoed line is truncated to 80 characters for logs.
            assert!(line.chars().count() <= 80, "Malformed carries {} chars", line.chars().count());
            return;
        }
        Err(_) => return,
    };
    assert!(std::str::from_utf8(data).is_ok(), "accepted non-UTF-8 SDP");
    assert_ne!(n.remote.port(), 0, "a port-0 (rejected) stream became the remote: {n:?}");
    assert!(n.payload_type < 128, "payload type {} is not an RTP payload type", n.payload_type);
    if let Some(d) = n.dtmf_payload_type {
        assert!(d < 128, "telephone-event payload type {d} is not an RTP payload type");
        assert_ne!(d, n.payload_type, "voice and telephone-event share payload type {d}");
    }
    // Our own offer for the negotiated address must negotiate back to it.
    let offer = sdp::offer(n.remote.ip(), n.remote.port(), u64::from(n.payload_type), 1);
    let back = negotiate(offer.as_bytes()).unwrap_or_else(|e| panic!("our offer {offer:?} does not negotiate: {e}"));
    assert_eq!(back.remote, n.remote);
    assert_eq!(back.codec, Codec::Pcmu);
    assert_eq!(back.payload_type, 0);
    assert_eq!(back.dtmf_payload_type, Some(sdp::DTMF_PAYLOAD_TYPE));
    assert_eq!(back.direction, Direction::SendRecv);
    // Answering this SDP as an offer (an inbound call) settles the same
    // codec, payload types and our address.
    let answer = sdp::answer(n.remote.ip(), 40000, 1, &n);
    let a = negotiate(answer.as_bytes()).unwrap_or_else(|e| panic!("our answer {answer:?} does not negotiate: {e}"));
    assert_eq!((a.codec, a.payload_type, a.dtmf_payload_type), (n.codec, n.payload_type, n.dtmf_payload_type));
    assert_eq!(a.remote.port(), 40000);
});
