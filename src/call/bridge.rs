//! Two answered calls joined by dialerd (B2BUA, issue 7). Each call's actor
//! keeps its own leg and RTP socket; the two actors exchange the datagrams
//! their far ends send over a pair of bounded channels, and each runs the
//! direction towards its own far end through `media::relay` (payload
//! passthrough or µ-law/A-law transcoding, RFC 4733 remap, its own stream
//! identity). A full channel drops the datagram, as a congested network
//! would; a closed one means the other call ended, and this one hangs up.

use crate::ids::CallId;
use crate::media::relay::{Relay, RelayStats};
use crate::media::sdp::Negotiated;
use tokio::sync::mpsc;

/// Datagrams buffered per direction: about a second of 20 ms audio.
const DEPTH: usize = 64;

#[derive(Debug)]
pub enum BridgeMsg {
    /// The sender's negotiated media: the first message either way.
    Hello(Negotiated),
    /// A datagram the sender's far end sent, and when it was read (the
    /// relay latency metric).
    Rtp(Vec<u8>, std::time::Instant),
}

/// One call's end of a bridge.
#[derive(Debug)]
pub struct BridgeEnd {
    pub peer: CallId,
    pub tx: mpsc::Sender<BridgeMsg>,
    pub rx: mpsc::Receiver<BridgeMsg>,
}

/// The two ends of a bridge between `a` and `b` (the first for `a`).
pub fn pair(a: CallId, b: CallId) -> (BridgeEnd, BridgeEnd) {
    let (to_b, from_a) = mpsc::channel(DEPTH);
    let (to_a, from_b) = mpsc::channel(DEPTH);
    (BridgeEnd { peer: b, tx: to_b, rx: from_b }, BridgeEnd { peer: a, tx: to_a, rx: from_a })
}

/// A call's bridge state in its actor: `relay` once the peer said hello.
pub struct Bridge {
    pub end: BridgeEnd,
    pub relay: Option<Relay>,
    /// Datagrams from our far end passed to the peer, and dropped because
    /// the peer's channel was full.
    pub forwarded: u64,
    pub overflow: u64,
}

/// What `GET /v1/calls/{id}` shows of a bridged call.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BridgeView {
    #[schema(value_type = String)]
    pub with: CallId,
    /// Packets from this call's far end passed to the other call.
    pub forwarded: u64,
    /// Packets from the other call sent to this call's far end.
    pub relayed: u64,
    /// Of those, transcoded (µ-law ↔ A-law).
    pub transcoded: u64,
    /// Of those, RFC 4733 telephone-events.
    pub dtmf_relayed: u64,
    /// Not relayed: malformed, unknown payload types, full channel.
    pub dropped: u64,
}

impl Bridge {
    pub fn view(&self) -> BridgeView {
        let s: RelayStats = self.relay.as_ref().map(|r| r.stats(crate::media::relay::Leg::A)).unwrap_or_default();
        BridgeView {
            with: self.end.peer,
            forwarded: self.forwarded,
            relayed: s.relayed,
            transcoded: s.transcoded,
            dtmf_relayed: s.dtmf_relayed,
            dropped: s.dropped + self.overflow,
        }
    }
}
