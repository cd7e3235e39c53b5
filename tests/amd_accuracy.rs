//! Answering-machine detection against a labelled set of recordings made at
//! test time: espeak-ng speaks the humans' answers and the machines'
//! greetings, sox adds silence, noise and beeps and resamples to 8 kHz mono
//! 16-bit. Every file then goes through G.711 µ-law, as it would arrive on a
//! PCMU call, and through `Amd` in 20 ms frames with the amd.conf defaults.
//!
//! Needs the Debian packages espeak-ng and sox; without them the test fails.

use dialerd::media::Prompt;
use dialerd::media::amd::{Amd, AmdConfig, AmdResult, AmdVerdict};
use dialerd::media::g711::ulaw_to_linear;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Human,
    Machine,
}

enum Source {
    /// Text, espeak-ng voice, words per minute.
    Speech(&'static str, &'static str, u32),
    /// sox `synth` arguments after the length, e.g. "whitenoise vol 0.01"; `None` for silence.
    Synth(Option<&'static str>),
}

struct Case {
    name: String,
    label: Label,
    source: Source,
    lead_s: f32,
    trail_s: f32,
    beep: bool,
}

const HUMAN_TEXTS: [&str; 4] = ["hello?", "hi, who is this?", "yes?", "hello, John speaking"];
const HUMAN_VOICES: [(&str, u32); 3] = [("en-us", 175), ("en-gb+f3", 160), ("en-us+m3", 200)];
const GREETINGS: [&str; 3] = [
    "Hi, you've reached the voicemail of Jane Doe, I can't take your call right now, please leave a message after the tone.",
    "Hello, this is Mark. Sorry I missed your call. Leave your name and number and I'll get back to you.",
    "The person you are calling is not available. Please leave a message after the tone.",
];
const MACHINE_VOICES: [(&str, u32); 3] = [("en-us+f2", 170), ("en-gb", 180), ("en-us", 160)];

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (t, text) in HUMAN_TEXTS.iter().enumerate() {
        for (v, &(voice, wpm)) in HUMAN_VOICES.iter().enumerate() {
            let k = t * HUMAN_VOICES.len() + v;
            out.push(Case {
                name: format!("human-{t}-{voice}-{wpm}"),
                label: Label::Human,
                source: Source::Speech(text, voice, wpm),
                lead_s: [0.0, 0.3, 0.6, 1.0][k % 4],
                trail_s: [2.0, 2.5, 3.0][k % 3],
                beep: false,
            });
        }
    }
    for (g, text) in GREETINGS.iter().enumerate() {
        for (v, &(voice, wpm)) in MACHINE_VOICES.iter().enumerate() {
            let k = g * MACHINE_VOICES.len() + v;
            out.push(Case {
                name: format!("machine-{g}-{voice}-{wpm}"),
                label: Label::Machine,
                source: Source::Speech(text, voice, wpm),
                lead_s: [0.0, 0.5][k % 2],
                trail_s: 0.3,
                beep: k % 3 != 2,
            });
        }
    }
    let synth = |name: &str, source| Case {
        name: name.into(),
        label: Label::Machine,
        source: Source::Synth(source),
        lead_s: 0.0,
        trail_s: 0.0,
        beep: false,
    };
    out.push(synth("silence-5s", None));
    out.push(synth("noise-5s-vol0.01", Some("whitenoise vol 0.01")));
    out.push(synth("noise-5s-vol0.005", Some("whitenoise vol 0.005")));
    out.push(synth("pinknoise-5s-vol0.01", Some("pinknoise vol 0.01")));
    out
}

fn tool(name: &str, args: &[&str]) {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {name} ({e}): install the Debian packages espeak-ng and sox (scripts/test should)")
    });
    assert!(out.status.success(), "{name} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// 8 kHz mono 16-bit signed, no dither: the same bytes on every run.
const OUT_FORMAT: [&str; 9] = ["-D", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"];

fn render(case: &Case, dir: &Path) -> Vec<u8> {
    let path = |suffix: &str| dir.join(format!("{}{suffix}.wav", case.name)).to_str().unwrap().to_owned();
    let out = path("");
    match case.source {
        Source::Speech(text, voice, wpm) => {
            let raw = path("-espeak");
            tool("espeak-ng", &["-v", voice, "-s", &wpm.to_string(), "-w", &raw, text]);
            let (lead, trail) = (case.lead_s.to_string(), case.trail_s.to_string());
            let speech = path("-8k");
            let mut args = vec![raw.as_str()];
            args.extend(OUT_FORMAT);
            args.extend([speech.as_str(), "pad", &lead, &trail]);
            tool("sox", &args);
            if case.beep {
                let beep = path("-beep");
                let mut args = vec!["-n"];
                args.extend(OUT_FORMAT);
                args.extend([beep.as_str(), "synth", "0.5", "sine", "1000", "vol", "0.3"]);
                tool("sox", &args);
                tool("sox", &[&speech, &beep, &out, "pad", "0", "1"]);
            } else {
                std::fs::rename(&speech, &out).unwrap();
            }
        }
        Source::Synth(synth) => {
            let mut args = vec!["-n"];
            args.extend(OUT_FORMAT);
            args.extend([out.as_str(), "synth", "5"]);
            match synth {
                Some(s) => args.extend(s.split(' ')),
                None => args.extend(["sine", "0", "vol", "0"]),
            }
            tool("sox", &args);
        }
    }
    std::fs::read(&out).unwrap()
}

/// What a PCMU call would deliver: the file companded to µ-law and back.
fn as_received(wav: &[u8]) -> Vec<i16> {
    Prompt::from_wav(wav).expect("sox writes 8 kHz mono PCM").ulaw.iter().map(|&u| ulaw_to_linear(u)).collect()
}

/// Runs the detector over 20 ms frames. If the recording ends undecided,
/// the line stays quiet: the rest is a gap of silence.
fn detect(samples: &[i16]) -> AmdResult {
    let cfg = AmdConfig::default();
    let rest = cfg.total_analysis_time;
    let mut amd = Amd::new(cfg);
    samples
        .chunks(160)
        .find_map(|frame| amd.push(frame))
        .or_else(|| amd.push_silence(rest))
        .expect("the analysis time bounds every call")
}

#[test]
fn amd_accuracy_on_synthesized_calls() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut right = [0u32; 2];
    let mut seen = [0u32; 2];
    println!("{:<34} {:<8} {:<8} {:<26} {:>8} {:>8}", "file", "label", "verdict", "cause", "after", "length");
    for case in &cases {
        let samples = as_received(&render(case, dir.path()));
        let r = detect(&samples);
        let expected = match case.label {
            Label::Human => AmdVerdict::Human,
            Label::Machine => AmdVerdict::Machine,
        };
        let class = case.label as usize;
        seen[class] += 1;
        right[class] += u32::from(r.verdict == expected);
        println!(
            "{:<34} {:<8} {:<8} {:<26} {:>6}ms {:>6}ms{}",
            case.name,
            format!("{:?}", case.label).to_uppercase(),
            r.verdict.as_str(),
            r.cause,
            r.after.as_millis(),
            samples.len() / 8,
            if r.verdict == expected { "" } else { "  <- wrong" }
        );
        if matches!(case.source, Source::Synth(_)) {
            assert_eq!(r.cause, "INITIALSILENCE-2500-2500", "{}: silence and low noise are dead air", case.name);
        }
    }
    let pct = |r: u32, n: u32| 100.0 * f64::from(r) / f64::from(n);
    let (human, machine) = (pct(right[0], seen[0]), pct(right[1], seen[1]));
    let all = pct(right[0] + right[1], seen[0] + seen[1]);
    println!(
        "accuracy {all:.1}% ({}/{}); humans {human:.1}% ({}/{}), machines {machine:.1}% ({}/{})",
        right[0] + right[1],
        seen[0] + seen[1],
        right[0],
        seen[0],
        right[1],
        seen[1]
    );
    assert!(all >= 85.0, "accuracy {all:.1}% is below the 85% floor");
    // Neither class may be sacrificed to the other: "always machine" would
    // score well on a set with more machines than humans.
    assert!(human >= 75.0 && machine >= 75.0, "humans {human:.1}%, machines {machine:.1}%");
}

/// Per-frame cost: `cargo test --release --test amd_accuracy -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run by hand in release"]
fn per_frame_cost() {
    let never = Duration::from_secs(1 << 40);
    let cfg = AmdConfig {
        initial_silence: never,
        greeting: never,
        after_greeting_silence: never,
        total_analysis_time: never,
        maximum_word_length: never,
        maximum_number_of_words: u32::MAX,
        ..AmdConfig::default()
    };
    // Three frames of a loud tone, then one of silence, so both branches run.
    let frames: Vec<[i16; 160]> = (0..20)
        .map(|k| {
            std::array::from_fn(|i| if k % 4 == 3 { 0 } else { (((k * 160 + i) as f64 * 0.11).sin() * 6000.0) as i16 })
        })
        .collect();
    let n = 2_000_000;
    let mut amd = Amd::new(cfg);
    let start = Instant::now();
    for k in 0..n {
        assert!(amd.push(std::hint::black_box(&frames[k % frames.len()])).is_none());
    }
    let per_frame = start.elapsed().as_nanos() / n as u128;
    println!("Amd::push: {per_frame} ns per 20 ms frame ({n} frames)");
}
