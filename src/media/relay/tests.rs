use super::*;
use crate::media::dtmf::EventPayload;
use crate::media::sdp::Direction;

fn neg(port: u16, codec: Codec, pt: u8, dtmf: Option<u8>) -> Negotiated {
    Negotiated {
        remote: SocketAddr::from(([127, 0, 0, 1], port)),
        codec,
        payload_type: pt,
        dtmf_payload_type: dtmf,
        direction: Direction::SendRecv,
    }
}

const SEED_A: StreamSeed = StreamSeed { ssrc: 0xAAAA, seq: 1000, timestamp: 50_000 };
const SEED_B: StreamSeed = StreamSeed { ssrc: 0xBBBB, seq: 65_534, timestamp: 7 };

fn pkt(pt: u8, ssrc: u32, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    rtp_rs::RtpPacketBuilder::new()
        .payload_type(pt)
        .ssrc(ssrc)
        .sequence(seq.into())
        .timestamp(ts)
        .payload(payload)
        .build()
        .unwrap()
}

struct Out {
    to: Leg,
    dest: SocketAddr,
    pt: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    marked: bool,
    payload: Vec<u8>,
}

fn sent(r: &mut Relay) -> Vec<Out> {
    std::iter::from_fn(|| r.poll_transmit())
        .map(|(to, t)| {
            let p = rtp_rs::RtpReader::new(&t.packet).unwrap();
            Out {
                to,
                dest: t.dest,
                pt: p.payload_type(),
                ssrc: p.ssrc(),
                seq: p.sequence_number().into(),
                ts: p.timestamp(),
                marked: p.mark(),
                payload: p.payload().to_vec(),
            }
        })
        .collect()
}

#[test]
fn same_codec_passes_through_as_our_stream() {
    let (a, b) = (neg(4000, Codec::Pcmu, 0, Some(101)), neg(5000, Codec::Pcmu, 0, Some(101)));
    let mut r = Relay::new(&a, &b, SEED_A, SEED_B);
    assert!(!r.transcodes());
    let now = Instant::now();
    let voice: Vec<u8> = (0..160).map(|i| i as u8).collect();
    for k in 0..3u16 {
        r.handle_rtp(Leg::A, now, &pkt(0, 0x1234, 500 + k, 9_000 + 160 * k as u32, &voice));
    }
    let out = sent(&mut r);
    assert_eq!(out.len(), 3);
    for (k, o) in out.iter().enumerate() {
        assert_eq!((o.to, o.dest, o.pt, o.ssrc), (Leg::B, b.remote, 0, 0xBBBB));
        assert_eq!(o.payload, voice, "untouched");
        // B's stream starts at its seed and wraps past 65535.
        assert_eq!(o.seq, 65_534u16.wrapping_add(k as u16));
        assert_eq!(o.ts, 7 + 160 * k as u32);
        assert_eq!(o.marked, k == 0, "the first packet of our stream is marked");
    }
    let s = r.stats(Leg::A);
    assert_eq!((s.rx_packets, s.relayed, s.transcoded, s.dropped), (3, 3, 0, 0));
    // The other direction has its own stream.
    r.handle_rtp(Leg::B, now, &pkt(0, 0x9999, 1, 1, &voice));
    let out = sent(&mut r);
    assert_eq!((out[0].to, out[0].dest, out[0].ssrc, out[0].seq), (Leg::A, a.remote, 0xAAAA, 1000));
}

#[test]
fn ulaw_and_alaw_legs_are_transcoded_both_ways() {
    let (a, b) = (neg(4000, Codec::Pcmu, 0, None), neg(5000, Codec::Pcma, 8, None));
    let mut r = Relay::new(&a, &b, SEED_A, SEED_B);
    assert!(r.transcodes());
    let now = Instant::now();
    // A sine wave in µ-law.
    let pcm: Vec<i16> = (0..160).map(|i| ((i as f64 * 0.3).sin() * 12_000.0) as i16).collect();
    let ulaw: Vec<u8> = pcm.iter().map(|&s| g711::linear_to_ulaw(s)).collect();
    r.handle_rtp(Leg::A, now, &pkt(0, 1, 1, 0, &ulaw));
    let out = sent(&mut r);
    assert_eq!(out[0].pt, 8);
    for (i, &b) in out[0].payload.iter().enumerate() {
        let back = g711::alaw_to_linear(b) as i32;
        // Two G.711 quantisations: within a few percent of the signal.
        assert!((back - pcm[i] as i32).abs() <= 64 + pcm[i].unsigned_abs() as i32 / 16, "{i}: {back} vs {}", pcm[i]);
    }
    let alaw: Vec<u8> = pcm.iter().map(|&s| g711::linear_to_alaw(s)).collect();
    r.handle_rtp(Leg::B, now, &pkt(8, 2, 1, 0, &alaw));
    let out = sent(&mut r);
    assert_eq!((out[0].to, out[0].pt), (Leg::A, 0));
    assert_eq!(out[0].payload.len(), 160);
    assert_eq!(r.stats(Leg::B).transcoded, 1);
}

#[test]
fn digits_are_relayed_with_the_far_payload_type_and_reported_once() {
    let (a, b) = (neg(4000, Codec::Pcmu, 0, Some(101)), neg(5000, Codec::Pcmu, 0, Some(96)));
    let mut r = Relay::new(&a, &b, SEED_A, SEED_B);
    let now = Instant::now();
    // RFC 4733 §2.5.1.4: one event, three packets (the end repeated).
    for (seq, end, dur) in [(10, false, 160), (11, false, 320), (12, true, 480), (13, true, 480)] {
        let ev = EventPayload { code: 5, end, volume: 10, duration: dur }.encode();
        r.handle_rtp(Leg::A, now, &pkt(101, 7, seq, 3200, &ev));
    }
    let out = sent(&mut r);
    assert_eq!(out.len(), 4);
    assert!(out.iter().all(|o| o.pt == 96 && o.ts == out[0].ts), "one event: one timestamp");
    assert_eq!(r.poll_event(), Some(RelayEvent::Dtmf { from: Leg::A, digit: '5' }));
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.stats(Leg::A).dtmf_relayed, 4);
    // A leg without telephone-event cannot receive it: dropped, still heard.
    let c = neg(6000, Codec::Pcmu, 0, None);
    let mut r = Relay::new(&a, &c, SEED_A, SEED_B);
    let ev = EventPayload { code: 11, end: false, volume: 10, duration: 160 }.encode();
    r.handle_rtp(Leg::A, now, &pkt(101, 7, 1, 1, &ev));
    assert!(sent(&mut r).is_empty());
    assert_eq!(r.poll_event(), Some(RelayEvent::Dtmf { from: Leg::A, digit: '#' }));
    assert_eq!(r.stats(Leg::A).dropped, 1);
}

#[test]
fn loss_and_reordering_stay_visible_and_a_new_source_continues_the_stream() {
    let (a, b) = (neg(4000, Codec::Pcmu, 0, None), neg(5000, Codec::Pcmu, 0, None));
    let mut r = Relay::new(&a, &b, SEED_A, StreamSeed { ssrc: 0xBBBB, seq: 100, timestamp: 1000 });
    let now = Instant::now();
    let v = [0xFFu8; 160];
    for (seq, ts) in [(10u16, 0u32), (11, 160), (13, 480), (12, 320), (14, 640)] {
        r.handle_rtp(Leg::A, now, &pkt(0, 1, seq, ts, &v));
    }
    let seqs: Vec<u16> = sent(&mut r).iter().map(|o| o.seq).collect();
    assert_eq!(seqs, vec![100, 101, 103, 102, 104], "the gap and the late packet map one to one");
    // The source restarts with another SSRC and unrelated numbers: our
    // stream goes on at 105, one frame later, marked.
    r.handle_rtp(Leg::A, now, &pkt(0, 2, 40_000, 123_456, &v));
    r.handle_rtp(Leg::A, now, &pkt(0, 2, 40_001, 123_616, &v));
    let out = sent(&mut r);
    assert_eq!((out[0].seq, out[0].ts, out[0].marked), (105, 1000 + 640 + 160, true));
    assert_eq!((out[1].seq, out[1].ts, out[1].marked), (106, 1000 + 800 + 160, false));
}

#[test]
fn what_cannot_be_relayed_is_counted_not_sent() {
    let (a, b) = (neg(4000, Codec::Pcmu, 0, Some(101)), neg(5000, Codec::Pcma, 8, Some(101)));
    let mut r = Relay::new(&a, &b, SEED_A, SEED_B);
    let now = Instant::now();
    r.handle_rtp(Leg::A, now, &pkt(13, 1, 1, 1, &[0x40])); // comfort noise
    r.handle_rtp(Leg::A, now, &pkt(8, 1, 2, 2, &[0; 160])); // A-law on the µ-law leg
    r.handle_rtp(Leg::A, now, b"\x80"); // not RTP
    r.handle_rtp(Leg::A, now, &[]);
    assert!(sent(&mut r).is_empty());
    let s = r.stats(Leg::A);
    assert_eq!((s.rx_packets, s.dropped, s.relayed), (2, 4, 0));
    assert_eq!(s.last_rx, Some(now));
    // Symmetric RTP may move a leg's address.
    let moved = SocketAddr::from(([127, 0, 0, 9], 7000));
    r.set_remote(Leg::B, moved);
    r.handle_rtp(Leg::A, now, &pkt(0, 1, 3, 3, &[0xFF; 160]));
    assert_eq!(sent(&mut r)[0].dest, moved);
}

#[test]
fn arbitrary_datagrams_never_panic() {
    let (a, b) = (neg(4000, Codec::Pcmu, 0, Some(101)), neg(5000, Codec::Pcma, 8, Some(96)));
    let mut r = Relay::new(&a, &b, SEED_A, SEED_B);
    let now = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 200) as usize;
        let mut d: Vec<u8> = (0..len).map(|k| (x >> (k % 56)) as u8).collect();
        if len >= 12 {
            d[0] = 0x80;
            d[1] = [0u8, 8, 101, 96, 13][(x >> 3) as usize % 5];
        }
        let leg = if i % 2 == 0 { Leg::A } else { Leg::B };
        r.handle_rtp(leg, now, &d);
        while r.poll_transmit().is_some() {}
        while r.poll_event().is_some() {}
    }
    let total = r.stats(Leg::A).rx_packets + r.stats(Leg::B).rx_packets;
    assert!(total > 0, "some datagrams parsed as RTP");
}
