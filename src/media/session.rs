//! One call's RTP stream, sans-IO: time and datagrams in, packets and
//! events out.
//!
//! Sending is paced from absolute deadlines (`anchor + k × 20 ms`), so a late
//! wake-up never shifts later packets: the stream cannot drift. The RTP
//! timestamp is tied to the frame index, so it tracks wall time across pauses
//! too (RFC 3550 §5.1: the timestamp reflects the sampling instant).

use super::amd::{Amd, AmdConfig, AmdResult};
use super::dtmf::DtmfReceiver;
use super::g711;
use super::g711::{ALAW_SILENCE, ULAW_SILENCE};
use super::prompt::Prompt;
use super::sdp::{Codec, Negotiated};
use super::sit::SitDetector;
use super::sit::SitKind;
use super::tones::InbandDtmf;
use crate::config::IdleMedia;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const FRAME: Duration = Duration::from_millis(20);
pub const SAMPLES_PER_FRAME: usize = 160;
/// After a stall, send at most this many overdue frames and skip the rest:
/// a burst longer than that only fills the far end's jitter buffer.
const MAX_CATCH_UP: u64 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: SocketAddr,
    pub packet: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    Dtmf(char),
    PromptFinished,
    Amd(AmdResult),
    /// The silence asked for by `watch_silence` was heard.
    Silence,
    Sit(SitKind),
}

#[derive(Debug, Default, Clone, Copy)]
pub struct MediaStats {
    pub tx_packets: u64,
    pub rx_packets: u64,
    pub rx_malformed: u64,
    pub last_rx: Option<Instant>,
}

/// Random starting points for the stream (RFC 3550 §5.1), supplied by the
/// caller so the core stays deterministic under test.
#[derive(Debug, Clone, Copy)]
pub struct StreamSeed {
    pub ssrc: u32,
    pub seq: u16,
    pub timestamp: u32,
}

pub struct MediaSession {
    remote: SocketAddr,
    codec: Codec,
    payload_type: u8,
    dtmf_payload_type: Option<u8>,
    idle: IdleMedia,
    ssrc: u32,
    seq: u16,
    ts_base: u32,
    anchor: Instant,
    next_frame: u64,
    running: bool,
    marker_next: bool,
    stopped: bool,
    /// The far end does not want our media (it holds us): frames keep
    /// their time slots, but none is sent.
    muted: bool,
    playing: Option<(Arc<Prompt>, usize)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    dtmf: DtmfReceiver,
    stats: MediaStats,
    /// Tone detection on received audio (`tones.rs`, `sit.rs`, `amd.rs`).
    inband: Option<InbandDtmf>,
    sit: Option<SitDetector>,
    amd: Option<Amd>,
    /// (how long, silent since) while a `watch_silence` is armed.
    silence_watch: Option<(Duration, Instant)>,
    pcm: Vec<i16>,
    /// `latch` has moved `remote` once.
    latched: bool,
}

/// Mean |sample| below this is silence (Asterisk AMD's default threshold).
const SILENCE_LEVEL: u32 = 256;

impl MediaSession {
    pub fn new(n: &Negotiated, idle: IdleMedia, seed: StreamSeed, now: Instant) -> Self {
        let mut s = Self {
            remote: n.remote,
            codec: n.codec,
            payload_type: n.payload_type,
            dtmf_payload_type: n.dtmf_payload_type,
            idle,
            ssrc: seed.ssrc,
            seq: seed.seq,
            ts_base: seed.timestamp,
            anchor: now,
            next_frame: 0,
            running: false,
            marker_next: true,
            stopped: false,
            muted: !n.direction.far_receives(),
            playing: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dtmf: DtmfReceiver::default(),
            stats: MediaStats::default(),
            // In-band digits only when the far end did not negotiate
            // telephone-event: one source per call, so no double counts.
            inband: n.dtmf_payload_type.is_none().then(InbandDtmf::new),
            sit: Some(SitDetector::new()),
            amd: None,
            silence_watch: None,
            pcm: Vec::with_capacity(SAMPLES_PER_FRAME),
            latched: false,
        };
        if idle == IdleMedia::Silence {
            s.resume(now);
        }
        s
    }

    /// Early media: listen for special information tones, send nothing.
    pub fn listen_only(n: &Negotiated, seed: StreamSeed, now: Instant) -> Self {
        let mut s = Self::new(n, IdleMedia::None, seed, now);
        s.stopped = true;
        s.inband = None;
        s
    }

    /// Digits come by SIP INFO on this call: stop listening for tones, so
    /// a gateway that also leaves the tone in the audio is counted once.
    pub fn digits_by_signalling(&mut self) {
        self.inband = None;
    }

    /// Starts answering-machine detection on the audio from now on.
    pub fn start_amd(&mut self, cfg: AmdConfig) {
        self.amd = Some(Amd::new(cfg));
    }

    /// Reports `MediaEvent::Silence` once the far end has been silent for
    /// `d` (received silence, or no audio at all).
    pub fn watch_silence(&mut self, d: Duration, now: Instant) {
        self.silence_watch = Some((d, now));
    }

    pub fn stats(&self) -> MediaStats {
        self.stats
    }

    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// Starts a prompt from its beginning, replacing any playing one.
    pub fn play(&mut self, prompt: Arc<Prompt>, now: Instant) {
        if self.stopped {
            return;
        }
        self.playing = Some((prompt, 0));
        if !self.running {
            self.resume(now);
        }
    }

    pub fn stop_playback(&mut self) {
        self.playing = None;
        if self.idle == IdleMedia::None {
            self.running = false;
        }
    }

    /// The far end changed the session (re-INVITE, UPDATE): new address,
    /// codec or direction. While it does not receive (hold), frames are
    /// skipped, not queued; sending resumes on the same timestamp grid
    /// with the marker bit set (RFC 3550 §5.1: a talkspurt begins).
    pub fn update(&mut self, n: &Negotiated) {
        self.remote = n.remote;
        self.codec = n.codec;
        self.payload_type = n.payload_type;
        self.dtmf_payload_type = n.dtmf_payload_type;
        let muted = !n.direction.far_receives();
        if self.muted && !muted {
            self.marker_next = true;
        }
        self.muted = muted;
    }

    /// Stops all sending for good (the call is ending).
    pub fn stop(&mut self) {
        self.stopped = true;
        self.running = false;
        self.playing = None;
    }

    fn resume(&mut self, now: Instant) {
        // Next frame boundary at or after `now`, on the original grid.
        let elapsed = now.saturating_duration_since(self.anchor).as_nanos();
        let frame = FRAME.as_nanos();
        let k = elapsed.div_ceil(frame) as u64;
        self.next_frame = self.next_frame.max(k);
        self.running = true;
        self.marker_next = true;
    }

    fn deadline(&self, k: u64) -> Instant {
        self.anchor + FRAME * k as u32
    }

    /// When `handle_timeout` next has work; `None` while nothing is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let frame = self.running.then(|| self.deadline(self.next_frame));
        let silence = self.silence_watch.map(|(d, since)| since + d);
        [frame, silence].into_iter().flatten().min()
    }

    /// Emits every frame whose deadline has passed. Safe to call early.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((d, since)) = self.silence_watch
            && now >= since + d
        {
            self.silence_watch = None;
            self.events.push_back(MediaEvent::Silence);
        }
        if !self.running || now < self.deadline(self.next_frame) {
            return;
        }
        let elapsed = now.duration_since(self.anchor).as_nanos() / FRAME.as_nanos();
        let due = elapsed as u64 + 1 - self.next_frame;
        if due > MAX_CATCH_UP {
            self.next_frame += due - MAX_CATCH_UP;
        }
        while self.running && self.deadline(self.next_frame) <= now {
            self.emit_frame();
        }
    }

    fn emit_frame(&mut self) {
        let k = self.next_frame;
        self.next_frame += 1;
        let silence = match self.codec {
            Codec::Pcmu => ULAW_SILENCE,
            Codec::Pcma => ALAW_SILENCE,
        };
        let mut payload = [silence; SAMPLES_PER_FRAME];
        match self.playing.take() {
            Some((prompt, offset)) => {
                let audio = match self.codec {
                    Codec::Pcmu => &prompt.ulaw,
                    Codec::Pcma => &prompt.alaw,
                };
                let end = (offset + SAMPLES_PER_FRAME).min(audio.len());
                payload[..end - offset].copy_from_slice(&audio[offset..end]);
                if end >= audio.len() {
                    self.events.push_back(MediaEvent::PromptFinished);
                    if self.idle == IdleMedia::None {
                        self.running = false;
                    }
                } else {
                    self.playing = Some((prompt, end));
                }
            }
            None if self.idle == IdleMedia::Silence => {}
            None => {
                self.running = false;
                return;
            }
        }
        if self.muted {
            return;
        }
        let timestamp = self.ts_base.wrapping_add((k as u32).wrapping_mul(SAMPLES_PER_FRAME as u32));
        let packet = rtp_rs::RtpPacketBuilder::new()
            .payload_type(self.payload_type)
            .ssrc(self.ssrc)
            .sequence(self.seq.into())
            .timestamp(timestamp)
            .marked(self.marker_next)
            .payload(&payload)
            .build()
            .expect("a 160-byte payload always fits");
        self.seq = self.seq.wrapping_add(1);
        self.marker_next = false;
        self.stats.tx_packets += 1;
        self.transmits.push_back(Transmit { dest: self.remote, packet });
    }

    /// Symmetric RTP (RFC 4961, "comedia"): a far end behind NAT sends
    /// from an address other than the one its SDP names, and only packets
    /// sent back to that address get through its NAT. The first packet of
    /// the negotiated stream from elsewhere moves our sending there — once,
    /// so a stranger's packets later in the call cannot take the stream.
    /// Returns whether it moved.
    pub fn latch(&mut self, from: SocketAddr, data: &[u8]) -> bool {
        if self.latched || from == self.remote {
            return false;
        }
        let ours = rtp_rs::RtpReader::new(data)
            .is_ok_and(|r| r.payload_type() == self.payload_type || Some(r.payload_type()) == self.dtmf_payload_type);
        if ours {
            self.remote = from;
            self.latched = true;
        }
        ours
    }

    /// Feeds one received datagram.
    pub fn handle_rtp(&mut self, now: Instant, data: &[u8]) {
        let Ok(rtp) = rtp_rs::RtpReader::new(data) else {
            self.stats.rx_malformed += 1;
            return;
        };
        self.stats.rx_packets += 1;
        self.stats.last_rx = Some(now);
        if Some(rtp.payload_type()) == self.dtmf_payload_type {
            if let Some(d) = self.dtmf.handle(rtp.ssrc(), rtp.timestamp(), rtp.payload()) {
                self.events.push_back(MediaEvent::Dtmf(d));
            }
        } else if rtp.payload_type() == self.payload_type {
            self.analyse(now, rtp.payload());
        }
    }

    /// Decodes received audio and runs the detectors that are on.
    fn analyse(&mut self, now: Instant, payload: &[u8]) {
        if self.inband.is_none() && self.sit.is_none() && self.amd.is_none() && self.silence_watch.is_none() {
            return;
        }
        let mut pcm = std::mem::take(&mut self.pcm);
        pcm.clear();
        let decode = match self.codec {
            Codec::Pcmu => g711::ulaw_to_linear,
            Codec::Pcma => g711::alaw_to_linear,
        };
        pcm.extend(payload.iter().map(|&b| decode(b)));
        if let Some(inband) = self.inband.as_mut() {
            for d in inband.push(&pcm) {
                self.events.push_back(MediaEvent::Dtmf(d));
            }
        }
        if let Some(kind) = self.sit.as_mut().and_then(|s| s.push(&pcm)) {
            self.sit = None; // once per call
            self.events.push_back(MediaEvent::Sit(kind));
        }
        if let Some(r) = self.amd.as_mut().and_then(|a| a.push(&pcm)) {
            self.amd = None;
            self.events.push_back(MediaEvent::Amd(r));
        }
        if let Some((_, since)) = self.silence_watch.as_mut() {
            let level = pcm.iter().map(|&x| (x as i32).unsigned_abs()).sum::<u32>() / pcm.len().max(1) as u32;
            if level >= SILENCE_LEVEL {
                *since = now;
            }
        }
        self.pcm = pcm;
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests;
