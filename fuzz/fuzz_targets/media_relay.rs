//! A bridge's RTP relay (`media::relay`) fed arbitrary datagrams on both
//! legs, with µ-law on one side and A-law on the other: never a panic;
//! every relayed packet is valid RTP with our SSRC and a payload type the
//! receiving leg negotiated, and voice keeps its length.
#![no_main]

use dialerd::media::relay::{Leg, Relay};
use dialerd::media::sdp::{Codec, Direction, Negotiated};
use dialerd::media::session::StreamSeed;
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use std::time::Instant;

fn neg(port: u16, codec: Codec, pt: u8, dtmf: Option<u8>) -> Negotiated {
    Negotiated {
        remote: SocketAddr::from(([127, 0, 0, 1], port)),
        codec,
        payload_type: pt,
        dtmf_payload_type: dtmf,
        direction: Direction::SendRecv,
    }
}

fuzz_target!(|data: &[u8]| {
    let a = neg(4000, Codec::Pcmu, 0, Some(101));
    let b = neg(5000, Codec::Pcma, 8, Some(96));
    let mut r = Relay::new(
        &a,
        &b,
        StreamSeed { ssrc: 1, seq: 65_000, timestamp: u32::MAX - 100 },
        StreamSeed { ssrc: 2, seq: 0, timestamp: 0 },
    );
    let now = Instant::now();
    // Datagrams separated by 0xFF 0xFE; the first byte of each picks the leg.
    for (i, chunk) in data.split(|&b| b == 0xFE).enumerate() {
        let leg = if chunk.first().is_some_and(|b| b & 1 == 1) || i % 7 == 3 { Leg::B } else { Leg::A };
        r.handle_rtp(leg, now, chunk);
        while let Some((to, t)) = r.poll_transmit() {
            let p = rtp_rs::RtpReader::new(&t.packet).expect("relayed packets are RTP");
            let (ssrc, voice, dtmf) = match to {
                Leg::A => (1, 0, 101),
                Leg::B => (2, 8, 96),
            };
            assert_eq!(p.ssrc(), ssrc);
            assert!(p.payload_type() == voice || p.payload_type() == dtmf);
        }
        while r.poll_event().is_some() {}
    }
});
