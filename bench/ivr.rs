//! CPU cost of what dialerd does with the far end's audio on an IVR call:
//! RTP parsing, G.711 decoding, in-band DTMF (Goertzel), SIT detection,
//! answering-machine detection, and the flow interpreter's timer checks.
//! Single thread, simulated time (all of it is sans-IO): CPU time per
//! call-minute, and the share of one core 100 concurrent calls need.
//!
//!   cargo run --release --example ivr_cost -- --call-minutes 200

use clap::Parser;
use dialerd::config::IdleMedia;
use dialerd::dialplan::{FlowInput, FlowRun, parse};
use dialerd::media::amd::AmdConfig;
use dialerd::media::sdp::{Codec, Direction, Negotiated};
use dialerd::media::{MediaSession, Prompt, StreamSeed};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// How many simulated call-minutes to process.
    #[arg(long, default_value_t = 200)]
    call_minutes: u32,
    /// Far-end audio (8 kHz mono WAV), looped; speech exercises the detectors.
    #[arg(long, default_value = "dialplans/prompts/welcome.wav")]
    audio: String,
}

fn main() {
    let args = Args::parse();
    let wav = std::fs::read(&args.audio).expect("read the audio file");
    let audio = Prompt::from_wav(&wav).expect("an 8 kHz mono WAV");
    // The far end's packets, built once: 20 ms of µ-law each.
    let packets: Vec<Vec<u8>> = audio
        .ulaw
        .chunks_exact(160)
        .enumerate()
        .map(|(i, frame)| {
            rtp_rs::RtpPacketBuilder::new()
                .payload_type(0)
                .ssrc(7)
                .sequence((i as u16).into())
                .timestamp(i as u32 * 160)
                .payload(frame)
                .build()
                .unwrap()
        })
        .collect();
    let flow_text = std::fs::read_to_string("dialplans/lead-qualification.toml").expect("the sample flow");
    let silent = |_: &str| Ok(Arc::new(Prompt::from_linear(&[0; 160])));
    let flow = Arc::new(parse("lead-qualification.toml", &flow_text, &silent).expect("a valid flow"));
    // No telephone-event: in-band DTMF runs, as it must for such calls.
    let negotiated = Negotiated {
        remote: "127.0.0.1:9".parse().unwrap(),
        codec: Codec::Pcmu,
        payload_type: 0,
        dtmf_payload_type: None,
        direction: Direction::SendRecv,
    };
    let frames_per_minute = 60 * 50;
    let seed = StreamSeed { ssrc: 1, seq: 1, timestamp: 1 };

    let started = Instant::now();
    let mut events = 0usize;
    for call in 0..args.call_minutes {
        let t0 = Instant::now();
        let mut media = MediaSession::new(&negotiated, IdleMedia::None, seed, t0);
        media.start_amd(AmdConfig::default());
        let mut run = FlowRun::start(flow.clone(), BTreeMap::new(), t0);
        for k in 0..frames_per_minute {
            let now = t0 + Duration::from_millis(20 * k as u64);
            media.handle_rtp(now, &packets[(k + call as usize) % packets.len()]);
            while let Some(ev) = media.poll_event() {
                events += 1;
                if let dialerd::media::MediaEvent::Dtmf(d) = ev {
                    run.handle(now, FlowInput::Dtmf(d));
                }
            }
            run.handle_timeout(now);
            while run.poll_action().is_some() {}
        }
    }
    let cpu = started.elapsed();
    let frames = u64::from(args.call_minutes) * frames_per_minute as u64;
    let per_frame = cpu.as_nanos() as f64 / frames as f64;
    let per_call_minute = cpu.as_secs_f64() / f64::from(args.call_minutes);
    // 100 concurrent calls make 100 call-minutes per minute.
    let share = per_call_minute * 100.0 / 60.0 * 100.0;
    println!("call-minutes        {}", args.call_minutes);
    println!("frames              {frames}");
    println!("events              {events}");
    println!("ns per 20 ms frame  {per_frame:.0}");
    println!("CPU per call-minute {:.2} ms", per_call_minute * 1000.0);
    println!("100 concurrent calls need {share:.2} % of one core (target < 1 %)");
}
