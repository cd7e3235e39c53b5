use super::*;
use crate::media::dtmf::EventPayload;
use crate::media::sdp::Direction;

fn negotiated(codec: Codec) -> Negotiated {
    Negotiated {
        remote: "127.0.0.1:40000".parse().unwrap(),
        codec,
        payload_type: if codec == Codec::Pcmu { 0 } else { 8 },
        dtmf_payload_type: Some(101),
        direction: Direction::SendRecv,
    }
}

const SEED: StreamSeed = StreamSeed { ssrc: 0x1234_5678, seq: 65_530, timestamp: u32::MAX - 500 };

fn header(p: &[u8]) -> (u16, u32, bool, u8) {
    let r = rtp_rs::RtpReader::new(p).unwrap();
    (r.sequence_number().into(), r.timestamp(), r.mark(), r.payload_type())
}

/// Drives the session like the actor does, waking up `lateness(i)` after
/// each deadline, and records (send time, packet).
fn run(s: &mut MediaSession, until: Instant, mut lateness: impl FnMut(u64) -> Duration) -> Vec<(Instant, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(deadline) = s.poll_timeout() {
        if deadline > until {
            break;
        }
        let now = deadline + lateness(i);
        i += 1;
        s.handle_timeout(now);
        while let Some(t) = s.poll_transmit() {
            out.push((now, t.packet));
        }
    }
    out
}

#[test]
fn pacing_has_no_drift_over_ten_minutes() {
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    // Deterministic jitter: up to 7 ms late, never early.
    let mut x: u64 = 0x9E37_79B9;
    let sent = run(&mut s, start + Duration::from_secs(600), |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Duration::from_micros(x % 7_000)
    });
    // Frames 0..=30000 have deadlines within the 10 minutes.
    assert_eq!(sent.len(), 30_001);
    for (k, (at, packet)) in sent.iter().enumerate() {
        let ideal = start + FRAME * k as u32;
        assert!(
            *at >= ideal && *at - ideal < Duration::from_millis(7),
            "frame {k} sent {:?} after its deadline",
            *at - ideal
        );
        let (seq, ts, marker, pt) = header(packet);
        assert_eq!(seq, SEED.seq.wrapping_add(k as u16));
        assert_eq!(ts, SEED.timestamp.wrapping_add(160 * k as u32));
        assert_eq!(marker, k == 0);
        assert_eq!(pt, 0);
        assert_eq!(rtp_rs::RtpReader::new(packet).unwrap().payload(), &[ULAW_SILENCE; 160][..]);
    }
}

#[test]
fn early_timeouts_do_nothing() {
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcma), IdleMedia::Silence, SEED, start);
    s.handle_timeout(start);
    assert!(s.poll_transmit().is_some());
    for ms in [1, 5, 19] {
        s.handle_timeout(start + Duration::from_millis(ms));
        assert!(s.poll_transmit().is_none(), "sent early at {ms} ms");
    }
    assert_eq!(s.poll_timeout(), Some(start + FRAME));
}

#[test]
fn a_stall_sends_a_bounded_burst_and_keeps_the_grid() {
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    s.handle_timeout(start);
    while s.poll_transmit().is_some() {}
    // Wake up 1 s late: frames 1..=50 are due, only the last 3 are sent.
    s.handle_timeout(start + Duration::from_millis(1_000));
    let burst: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
    assert_eq!(burst.len(), 3);
    let (_, ts, _, _) = header(&burst[2].packet);
    assert_eq!(ts, SEED.timestamp.wrapping_add(160 * 50), "timestamp follows wall time");
    assert_eq!(s.poll_timeout(), Some(start + FRAME * 51));
}

#[test]
fn prompt_plays_whole_then_reports_finished() {
    let start = Instant::now();
    // 50 ms of audio: 3 frames, the last padded with silence.
    let samples: Vec<i16> = (0..400).map(|i| if i % 2 == 0 { 1000 } else { -1000 }).collect();
    let prompt = Arc::new(Prompt::from_linear(&samples));
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    s.play(prompt.clone(), start);
    let sent = run(&mut s, start + Duration::from_millis(100), |_| Duration::ZERO);
    let payloads: Vec<Vec<u8>> =
        sent.iter().map(|(_, p)| rtp_rs::RtpReader::new(p).unwrap().payload().to_vec()).collect();
    assert_eq!(&payloads[0][..], &prompt.ulaw[..160]);
    assert_eq!(&payloads[1][..], &prompt.ulaw[160..320]);
    assert_eq!(&payloads[2][..80], &prompt.ulaw[320..400]);
    assert_eq!(&payloads[2][80..], &[ULAW_SILENCE; 80][..]);
    assert_eq!(&payloads[3][..], &[ULAW_SILENCE; 160][..], "silence after the prompt");
    assert_eq!(s.poll_event(), Some(MediaEvent::PromptFinished));
    assert_eq!(s.poll_event(), None);
}

#[test]
fn idle_none_stops_between_prompts_and_marks_each_talkspurt() {
    let start = Instant::now();
    let prompt = Arc::new(Prompt::from_linear(&[500; 320]));
    let mut s = MediaSession::new(&negotiated(Codec::Pcma), IdleMedia::None, SEED, start);
    assert_eq!(s.poll_timeout(), None, "nothing to send yet");
    s.play(prompt.clone(), start);
    let first = run(&mut s, start + Duration::from_secs(1), |_| Duration::ZERO);
    assert_eq!(first.len(), 2);
    assert_eq!(s.poll_timeout(), None, "silent after the prompt");
    let later = start + Duration::from_millis(1_010);
    s.play(prompt, later);
    let second = run(&mut s, start + Duration::from_secs(2), |_| Duration::ZERO);
    assert_eq!(second.len(), 2);
    let (seq0, _, m0, _) = header(&first[0].1);
    let (seq2, ts2, m2, pt) = header(&second[0].1);
    assert!(m0 && m2, "marker on both talkspurts");
    assert_eq!(seq2, seq0.wrapping_add(2), "sequence numbers have no gap");
    // Resumed on the next 20 ms boundary after 1010 ms: frame 51.
    assert_eq!(ts2, SEED.timestamp.wrapping_add(160 * 51));
    assert_eq!(second[0].0, start + FRAME * 51);
    assert_eq!(pt, 8);
}

fn dtmf_packet(ssrc: u32, seq: u16, ts: u32, code: u8, end: bool) -> Vec<u8> {
    let payload = EventPayload { code, end, volume: 10, duration: 400 }.encode();
    rtp_rs::RtpPacketBuilder::new()
        .payload_type(101)
        .ssrc(ssrc)
        .sequence(seq.into())
        .timestamp(ts)
        .payload(&payload)
        .build()
        .unwrap()
}

#[test]
fn telephone_events_become_digits_once() {
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    // A voice packet from the far end, then DTMF on a different SSRC.
    let voice = rtp_rs::RtpPacketBuilder::new().payload_type(0).ssrc(1).payload(&[0xFF; 160]).build().unwrap();
    s.handle_rtp(start, &voice);
    for (i, end) in [false, false, true, true, true].into_iter().enumerate() {
        s.handle_rtp(start, &dtmf_packet(99, i as u16, 4000, 1, end));
    }
    s.handle_rtp(start, &dtmf_packet(99, 9, 5600, 11, true));
    s.handle_rtp(start, b"\x00garbage");
    assert_eq!(s.poll_event(), Some(MediaEvent::Dtmf('1')));
    assert_eq!(s.poll_event(), Some(MediaEvent::Dtmf('#')));
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.stats().rx_packets, 7);
    assert_eq!(s.stats().rx_malformed, 1);
}

#[test]
fn stop_ends_all_sending() {
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    s.stop();
    assert_eq!(s.poll_timeout(), None);
    s.play(Arc::new(Prompt::from_linear(&[0; 160])), start);
    s.handle_timeout(start + Duration::from_secs(1));
    assert!(s.poll_transmit().is_none());
}

/// µ-law RTP packets, 20 ms each, carrying `pcm` from the far end.
fn audio_packets(ssrc: u32, first_seq: u16, pcm: &[i16]) -> Vec<Vec<u8>> {
    pcm.chunks(SAMPLES_PER_FRAME)
        .enumerate()
        .map(|(i, chunk)| {
            let payload: Vec<u8> = chunk.iter().map(|&x| crate::media::g711::linear_to_ulaw(x)).collect();
            rtp_rs::RtpPacketBuilder::new()
                .payload_type(0)
                .ssrc(ssrc)
                .sequence(first_seq.wrapping_add(i as u16).into())
                .timestamp(i as u32 * SAMPLES_PER_FRAME as u32)
                .payload(&payload)
                .build()
                .unwrap()
        })
        .collect()
}

fn digits(s: &mut MediaSession) -> String {
    std::iter::from_fn(|| s.poll_event())
        .filter_map(|e| match e {
            MediaEvent::Dtmf(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn tones_for(ds: &str) -> Vec<i16> {
    use crate::media::tones::synth;
    let parts: Vec<Vec<f64>> =
        ds.chars().flat_map(|d| [synth::dtmf(d, 100.0, -10.0, 0.0), synth::silence(100.0)]).collect();
    synth::pcm(&synth::concat(&parts))
}

#[test]
fn inband_digits_are_heard_only_without_telephone_event() {
    let start = Instant::now();
    let mut plain = negotiated(Codec::Pcmu);
    plain.dtmf_payload_type = None;
    let mut s = MediaSession::new(&plain, IdleMedia::Silence, SEED, start);
    for p in audio_packets(7, 0, &tones_for("59#")) {
        s.handle_rtp(start, &p);
    }
    assert_eq!(digits(&mut s), "59#");
}

#[test]
fn tones_are_not_digits_once_digits_come_by_sip_info() {
    let start = Instant::now();
    let mut plain = negotiated(Codec::Pcmu);
    plain.dtmf_payload_type = None;
    let mut s = MediaSession::new(&plain, IdleMedia::Silence, SEED, start);
    s.digits_by_signalling();
    for p in audio_packets(7, 0, &tones_for("59#")) {
        s.handle_rtp(start, &p);
    }
    assert_eq!(digits(&mut s), "");
}

#[test]
fn a_digit_sent_both_ways_counts_once() {
    // Many gateways send RFC 4733 events and leave the tone in the audio.
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    for p in audio_packets(7, 0, &tones_for("5")) {
        s.handle_rtp(start, &p);
    }
    for (i, end) in [false, true, true, true].into_iter().enumerate() {
        s.handle_rtp(start, &dtmf_packet(7, 100 + i as u16, 8000, 5, end));
    }
    assert_eq!(digits(&mut s), "5");
}

#[test]
fn no_rtp_is_sent_while_the_far_end_holds_us() {
    let start = Instant::now();
    let mut s = MediaSession::new(&negotiated(Codec::Pcmu), IdleMedia::Silence, SEED, start);
    let before = run(&mut s, start + Duration::from_millis(100), |_| Duration::ZERO);
    assert_eq!(before.len(), 6, "frames 0..=5");
    let mut held = negotiated(Codec::Pcmu);
    held.direction = Direction::SendOnly;
    s.update(&held);
    let during = run(&mut s, start + Duration::from_millis(1100), |_| Duration::ZERO);
    assert!(during.is_empty(), "{} packets sent on hold", during.len());
    // Resumed on A-law at a new port: the grid goes on, marker set, the
    // sequence number continues from the last packet sent.
    let mut resumed = negotiated(Codec::Pcma);
    resumed.remote = "127.0.0.1:40002".parse().unwrap();
    s.update(&resumed);
    s.handle_timeout(start + Duration::from_millis(1120));
    let t = s.poll_transmit().expect("sending again");
    assert_eq!(t.dest, resumed.remote);
    let (seq, ts, mark, pt) = header(&t.packet);
    let (last_seq, ..) = header(&before.last().unwrap().1);
    assert_eq!((seq, mark, pt), (last_seq.wrapping_add(1), true, 8));
    assert_eq!(ts, SEED.timestamp.wrapping_add(56 * 160), "frame 56's timestamp: wall time kept");
}
