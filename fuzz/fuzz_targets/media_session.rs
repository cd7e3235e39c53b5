//! `media::MediaSession`: received RTP (`handle_rtp`) interleaved with the
//! pacing clock, prompts and stops, checked against rtp-rs and a model.
//!
//! Input: `[flags][payload type][dtmf payload type][ssrc:4][seq:2][ts:4]`
//! then operations, each one opcode byte:
//!   0 `[ms/5]`          advance the clock, `handle_timeout`, drain packets
//!   1 `[len:2 BE][…]`   `handle_rtp` with `len` bytes (clamped to what is left)
//!   2 `[n]`             `play` a prompt of `13 × n` samples
//!   3                   `stop_playback`
//!   4                   `stop`
//! flags: bit 0 = PCMA (else PCMU), bit 1 = idle `none` (else silence).
//! dtmf payload type: bit 7 set = no telephone-event.
#![no_main]

use dialerd::config::IdleMedia;
use dialerd::media::dtmf::{EventPayload, event_char};
use dialerd::media::g711::{ALAW_SILENCE, ULAW_SILENCE};
use dialerd::media::session::SAMPLES_PER_FRAME;
use dialerd::media::sdp::Direction;
use dialerd::media::{Codec, MediaEvent, MediaSession, Negotiated, Prompt, StreamSeed};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most frames one `handle_timeout` may send after a stall.
const MAX_CATCH_UP: usize = 3;

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let head: [u8; N] = self.0.get(..N)?.try_into().ok()?;
        self.0 = &self.0[N..];
        Some(head)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let (Some(flags), Some(pt), Some(dtmf)) = (input.u8(), input.u8(), input.u8()) else { return };
    let Some(seed) = input.array::<10>() else { return };
    let codec = if flags & 1 == 1 { Codec::Pcma } else { Codec::Pcmu };
    let idle = if flags & 2 == 2 { IdleMedia::None } else { IdleMedia::Silence };
    let payload_type = pt & 0x7F;
    // negotiate() only yields payload types below 128, never shared.
    let dtmf_payload_type = Some(dtmf).filter(|d| d & 0x80 == 0 && *d != payload_type);
    let negotiated = Negotiated {
        remote: "192.0.2.10:4000".parse().unwrap(),
        codec,
        payload_type,
        dtmf_payload_type,
        direction: Direction::SendRecv,
    };
    let seed = StreamSeed {
        ssrc: u32::from_be_bytes(seed[0..4].try_into().unwrap()),
        seq: u16::from_be_bytes(seed[4..6].try_into().unwrap()),
        timestamp: u32::from_be_bytes(seed[6..10].try_into().unwrap()),
    };
    let silence = match codec {
        Codec::Pcmu => ULAW_SILENCE,
        Codec::Pcma => ALAW_SILENCE,
    };

    let start = Instant::now();
    let mut now = start;
    let mut session = MediaSession::new(&negotiated, idle, seed, now);

    // Model state.
    let mut next_seq = seed.seq;
    let mut last_frame: Option<u32> = None;
    let mut tx = 0u64;
    let (mut rx_ok, mut rx_bad) = (0u64, 0u64);
    let mut last_rx = None;
    let mut dtmf_memory: VecDeque<(u32, u32)> = VecDeque::new();
    let mut expected_digits: VecDeque<char> = VecDeque::new();
    let (mut plays, mut finished) = (0u32, 0u32);
    let mut ever_played = false;
    let mut stopped = false;

    while let Some(op) = input.u8() {
        match op % 5 {
            0 => {
                let step = input.u8().unwrap_or(0);
                now += Duration::from_millis(u64::from(step) * 5);
                session.handle_timeout(now);
                let mut sent = 0;
                while let Some(t) = session.poll_transmit() {
                    sent += 1;
                    assert!(!stopped, "a packet after stop()");
                    assert_eq!(t.dest, negotiated.remote);
                    let rtp = rtp_rs::RtpReader::new(&t.packet).unwrap_or_else(|e| panic!("we sent bad RTP: {e:?}"));
                    assert_eq!(rtp.payload_type(), payload_type);
                    assert_eq!(rtp.ssrc(), seed.ssrc);
                    assert_eq!(u16::from(rtp.sequence_number()), next_seq, "sequence numbers must not skip");
                    next_seq = next_seq.wrapping_add(1);
                    assert_eq!(rtp.payload().len(), SAMPLES_PER_FRAME);
                    if tx == 0 {
                        assert!(rtp.mark(), "the first packet of a stream carries the marker");
                    }
                    // The timestamp is the frame index × 160 past the seed.
                    let offset = rtp.timestamp().wrapping_sub(seed.timestamp);
                    assert_eq!(offset % SAMPLES_PER_FRAME as u32, 0, "timestamp off the frame grid");
                    let frame = offset / SAMPLES_PER_FRAME as u32;
                    assert!(last_frame.is_none_or(|l| frame > l), "frame {frame} after {last_frame:?}");
                    let frame_time = start + Duration::from_millis(20) * frame;
                    assert!(frame_time <= now, "frame {frame} sent before its time");
                    last_frame = Some(frame);
                    if !ever_played {
                        assert!(rtp.payload().iter().all(|&b| b == silence), "non-silence with no prompt");
                    }
                    tx += 1;
                }
                assert!(sent <= MAX_CATCH_UP, "{sent} frames in one burst");
                if let Some(next) = session.poll_timeout() {
                    assert!(next > now, "a due frame was left unsent");
                }
            }
            1 => {
                let len = input.array::<2>().map_or(0, u16::from_be_bytes);
                let packet = input.take(usize::from(len));
                session.handle_rtp(now, packet);
                match rtp_rs::RtpReader::new(packet) {
                    Err(_) => rx_bad += 1,
                    Ok(rtp) => {
                        rx_ok += 1;
                        last_rx = Some(now);
                        if Some(rtp.payload_type()) == dtmf_payload_type
                            && let Some(ev) = EventPayload::parse(rtp.payload())
                            && let Some(digit) = event_char(ev.code)
                        {
                            let key = (rtp.ssrc(), rtp.timestamp());
                            if !dtmf_memory.contains(&key) {
                                if dtmf_memory.len() == 16 {
                                    dtmf_memory.pop_front();
                                }
                                dtmf_memory.push_back(key);
                                expected_digits.push_back(digit);
                            }
                        }
                    }
                }
            }
            2 => {
                let n = usize::from(input.u8().unwrap_or(0)) * 13;
                let samples: Vec<i16> = (0..n).map(|i| (i as i16).wrapping_mul(977)).collect();
                session.play(Arc::new(Prompt::from_linear(&samples)), now);
                if !stopped {
                    plays += 1;
                    ever_played = true;
                }
            }
            3 => session.stop_playback(),
            _ => {
                session.stop();
                stopped = true;
            }
        }

        while let Some(ev) = session.poll_event() {
            match ev {
                MediaEvent::Dtmf(d) => {
                    assert_eq!(Some(d), expected_digits.pop_front(), "unexpected digit");
                }
                MediaEvent::PromptFinished => {
                    finished += 1;
                    assert!(finished <= plays, "{finished} prompts finished of {plays} played");
                }
            }
        }
        assert!(expected_digits.is_empty(), "digits {expected_digits:?} were not reported");

        let stats = session.stats();
        assert_eq!((stats.rx_packets, stats.rx_malformed), (rx_ok, rx_bad));
        assert_eq!(stats.last_rx, last_rx);
        assert_eq!(stats.tx_packets, tx);
        if stopped {
            assert!(session.poll_timeout().is_none(), "a stopped session still wants the clock");
            assert!(!session.is_playing());
        } else if idle == IdleMedia::Silence {
            assert!(session.poll_timeout().is_some(), "idle silence stopped sending");
        } else if !ever_played {
            assert!(session.poll_timeout().is_none(), "idle none sends with nothing to play");
        }
    }
});
