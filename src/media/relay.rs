//! The media of a bridge (B2BUA, issue 7), sans-IO: RTP received from one
//! leg goes out to the other. Voice passes through untouched when both legs
//! negotiated the same codec and is transcoded µ-law ↔ A-law (G.711) when
//! they did not; RFC 4733 telephone-events are relayed with the far leg's
//! payload type, and each digit is reported once.
//!
//! Each leg sees one stream from us (RFC 3550 §8.2: a B2BUA is a new
//! source): our own SSRC per leg, and sequence numbers and timestamps moved
//! by a fixed offset from the source's, so loss and reordering stay visible
//! to the receiver's jitter buffer. When the source restarts (a new SSRC,
//! e.g. after a re-INVITE or a transfer on its side) the offsets are taken
//! again so our stream continues without a jump, and the next packet
//! carries the marker bit (§5.1: the start of a talkspurt).

use super::dtmf::DtmfReceiver;
use super::g711;
use super::sdp::{Codec, Negotiated};
use super::session::{StreamSeed, Transmit};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Which leg of the bridge (the one placed first is `A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    A,
    B,
}

impl Leg {
    pub fn other(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }

    fn idx(self) -> usize {
        match self {
            Leg::A => 0,
            Leg::B => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayEvent {
    /// A digit pressed on `from` (relayed to the other leg when it
    /// negotiated telephone-event).
    Dtmf { from: Leg, digit: char },
}

/// Counters per receiving leg.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayStats {
    pub rx_packets: u64,
    pub relayed: u64,
    pub transcoded: u64,
    pub dtmf_relayed: u64,
    /// Not relayed: malformed, an unknown payload type (comfort noise...),
    /// or telephone-events the other leg cannot receive.
    pub dropped: u64,
    pub last_rx: Option<Instant>,
}

/// What one leg negotiated (the `Negotiated` of its offer/answer).
#[derive(Debug, Clone, Copy)]
struct Side {
    remote: SocketAddr,
    codec: Codec,
    payload_type: u8,
    dtmf_payload_type: Option<u8>,
}

/// Our outgoing stream towards one leg.
#[derive(Debug)]
struct Out {
    ssrc: u32,
    /// Next sequence number and the timestamp to continue from after a
    /// source restart.
    next_seq: u16,
    last_ts: u32,
    /// The source stream feeding it and the offsets mapping it onto ours.
    source: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    marker_next: bool,
}

impl Out {
    fn new(seed: StreamSeed) -> Out {
        Out {
            ssrc: seed.ssrc,
            next_seq: seed.seq,
            last_ts: seed.timestamp,
            source: None,
            seq_offset: 0,
            ts_offset: 0,
            marker_next: true,
        }
    }

    /// Our (sequence, timestamp, marker) for a packet of `ssrc`.
    fn map(&mut self, ssrc: u32, seq: u16, ts: u32, marked: bool) -> (u16, u32, bool) {
        if self.source != Some(ssrc) {
            // A new source continues our stream: its first packet takes
            // our next sequence number and a timestamp one frame on.
            let first = self.source.is_none();
            self.source = Some(ssrc);
            self.seq_offset = self.next_seq.wrapping_sub(seq);
            let continue_at = if first { self.last_ts } else { self.last_ts.wrapping_add(160) };
            self.ts_offset = continue_at.wrapping_sub(ts);
            self.marker_next = true;
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = ts.wrapping_add(self.ts_offset);
        // Later packets only move `next_seq` forward (reordering must not
        // rewind it); the comparison is modulo 2^16 (RFC 3550 A.1).
        if out_seq.wrapping_sub(self.next_seq) < 0x8000 {
            self.next_seq = out_seq.wrapping_add(1);
            self.last_ts = out_ts;
        }
        let m = marked || self.marker_next;
        self.marker_next = false;
        (out_seq, out_ts, m)
    }
}

pub struct Relay {
    sides: [Side; 2],
    out: [Out; 2],
    stats: [RelayStats; 2],
    dtmf: [DtmfReceiver; 2],
    transmits: VecDeque<(Leg, Transmit)>,
    events: VecDeque<RelayEvent>,
    buf: Vec<u8>,
}

fn side(n: &Negotiated) -> Side {
    Side { remote: n.remote, codec: n.codec, payload_type: n.payload_type, dtmf_payload_type: n.dtmf_payload_type }
}

fn transcode(from: Codec, to: Codec, b: u8) -> u8 {
    match (from, to) {
        (Codec::Pcmu, Codec::Pcma) => g711::linear_to_alaw(g711::ulaw_to_linear(b)),
        (Codec::Pcma, Codec::Pcmu) => g711::linear_to_ulaw(g711::alaw_to_linear(b)),
        _ => b,
    }
}

impl Relay {
    /// `a` and `b` are what each leg negotiated; `seed_a`/`seed_b` start
    /// our streams towards them (random in production, fixed in tests).
    pub fn new(a: &Negotiated, b: &Negotiated, seed_a: StreamSeed, seed_b: StreamSeed) -> Relay {
        Relay {
            sides: [side(a), side(b)],
            out: [Out::new(seed_a), Out::new(seed_b)],
            stats: [RelayStats::default(); 2],
            dtmf: [DtmfReceiver::default(), DtmfReceiver::default()],
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            buf: Vec::with_capacity(172),
        }
    }

    /// Whether voice is transcoded (the legs chose different codecs).
    pub fn transcodes(&self) -> bool {
        self.sides[0].codec != self.sides[1].codec
    }

    /// Where packets for `leg` go (symmetric RTP may move it, issue 9).
    pub fn set_remote(&mut self, leg: Leg, remote: SocketAddr) {
        self.sides[leg.idx()].remote = remote;
    }

    /// One datagram received on `from`'s RTP socket.
    pub fn handle_rtp(&mut self, from: Leg, now: Instant, data: &[u8]) {
        let stats = &mut self.stats[from.idx()];
        stats.last_rx = Some(now);
        let Ok(rtp) = rtp_rs::RtpReader::new(data) else {
            stats.dropped += 1;
            return;
        };
        stats.rx_packets += 1;
        let (src, dst) = (self.sides[from.idx()], self.sides[from.other().idx()]);
        let pt = rtp.payload_type();
        let (out_pt, transcoded) = if pt == src.payload_type {
            (dst.payload_type, src.codec != dst.codec)
        } else if Some(pt) == src.dtmf_payload_type {
            if let Some(digit) = self.dtmf[from.idx()].handle(rtp.ssrc(), rtp.timestamp(), rtp.payload()) {
                self.events.push_back(RelayEvent::Dtmf { from, digit });
            }
            match dst.dtmf_payload_type {
                Some(p) => (p, false),
                None => {
                    stats.dropped += 1;
                    return;
                }
            }
        } else {
            stats.dropped += 1;
            return;
        };
        let (seq, ts, marked) =
            self.out[from.other().idx()].map(rtp.ssrc(), rtp.sequence_number().into(), rtp.timestamp(), rtp.mark());
        self.buf.clear();
        if transcoded {
            self.buf.extend(rtp.payload().iter().map(|&b| transcode(src.codec, dst.codec, b)));
        } else {
            self.buf.extend_from_slice(rtp.payload());
        }
        let Ok(packet) = rtp_rs::RtpPacketBuilder::new()
            .payload_type(out_pt)
            .ssrc(self.out[from.other().idx()].ssrc)
            .sequence(seq.into())
            .timestamp(ts)
            .marked(marked)
            .payload(&self.buf)
            .build()
        else {
            stats.dropped += 1;
            return;
        };
        stats.relayed += 1;
        if transcoded {
            stats.transcoded += 1;
        }
        if out_pt != dst.payload_type {
            stats.dtmf_relayed += 1;
        }
        self.transmits.push_back((from.other(), Transmit { dest: dst.remote, packet }));
    }

    /// The next packet to send, and the leg whose socket sends it.
    pub fn poll_transmit(&mut self) -> Option<(Leg, Transmit)> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<RelayEvent> {
        self.events.pop_front()
    }

    /// Counters of what was received on `leg`.
    pub fn stats(&self, leg: Leg) -> RelayStats {
        self.stats[leg.idx()]
    }
}

#[cfg(test)]
mod tests;
