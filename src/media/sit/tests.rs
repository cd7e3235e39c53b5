use super::*;
use crate::media::tones::synth::*;

/// Feeds `audio` in chunks of `chunk` samples; every kind reported.
fn detect(audio: &[f64], chunk: usize) -> Vec<SitKind> {
    let mut rx = SitDetector::new();
    pcm(audio).chunks(chunk).filter_map(|c| rx.push(c)).collect()
}

const S: f64 = 274.0;
const L: f64 = 380.0;

/// Three tones `(Hz, ms)` at −24 dBm0 with `gap_ms` between them, in silence.
fn sit(tones3: [Burst; 3], gap_ms: f64) -> Vec<f64> {
    let mut audio = silence(200.0);
    for (i, (hz, ms)) in tones3.into_iter().enumerate() {
        if i > 0 {
            audio.extend(silence(gap_ms));
        }
        audio.extend(tones(&[(hz, amp(-24.0))], ms));
    }
    audio.extend(silence(300.0));
    audio
}

/// A tone: frequency (Hz), duration (ms).
type Burst = (f64, f64);

/// The published Telcordia table (module docs), reserved code included.
const CODES: [(Burst, Burst, SitKind); 8] = [
    ((913.8, S), (1370.6, S), SitKind::Intercept),
    ((985.2, L), (1370.6, S), SitKind::VacantCode),
    ((985.2, L), (1428.5, L), SitKind::NoCircuit),
    ((913.8, L), (1370.6, L), SitKind::NoCircuit),
    ((913.8, S), (1428.5, L), SitKind::Reorder),
    ((985.2, S), (1370.6, L), SitKind::Reorder),
    ((913.8, L), (1428.5, S), SitKind::IneffectiveOther),
    ((985.2, S), (1428.5, S), SitKind::Unknown),
];

#[test]
fn every_telcordia_code_is_classified() {
    for (first, second, kind) in CODES {
        for gap in [0.0, 4.0, 30.0] {
            assert_eq!(detect(&sit([first, second, (1776.7, L)], gap), 160), [kind], "{kind:?}, gap {gap} ms");
        }
    }
}

#[test]
fn the_e180_sit_is_a_sit_of_unknown_kind() {
    assert_eq!(detect(&sit([(950.0, 330.0), (1400.0, 330.0), (1800.0, 330.0)], 30.0), 160), [SitKind::Unknown]);
}

#[test]
fn durations_and_frequencies_within_tolerance() {
    // Short and long overlap at ±20 %: split at 327 ms (module docs).
    for (s, l) in [(S * 0.8, L * 0.88), (S * 1.18, L * 1.2)] {
        let audio = sit([(913.8, s), (1428.5, l), (1776.7, l)], 0.0);
        assert_eq!(detect(&audio, 160), [SitKind::Reorder], "short {s} ms, long {l} ms");
    }
    for dev in [0.99, 1.01] {
        let audio = sit([(985.2 * dev, L), (1370.6 * dev, S), (1776.7 * dev, L)], 0.0);
        assert_eq!(detect(&audio, 160), [SitKind::VacantCode], "frequencies × {dev}");
    }
}

#[test]
fn sits_are_found_in_noise_at_20_db_snr_and_through_g711() {
    for (i, (first, second, kind)) in CODES.into_iter().enumerate() {
        let clean = sit([first, second, (1776.7, L)], 0.0);
        let noisy = mix(&clean, &noise(clean.len(), amp(-24.0).powi(2) / 2.0 / 100.0, i as u64));
        assert_eq!(detect(&noisy, 160), [kind], "{kind:?} in noise");
    }
    let ulaw: Vec<i16> = pcm(&sit([(913.8, S), (1370.6, S), (1776.7, L)], 0.0))
        .into_iter()
        .map(|s| crate::media::g711::ulaw_to_linear(crate::media::g711::linear_to_ulaw(s)))
        .collect();
    let mut rx = SitDetector::new();
    assert_eq!(ulaw.chunks(160).filter_map(|c| rx.push(c)).collect::<Vec<_>>(), [SitKind::Intercept]);
}

#[test]
fn a_sit_followed_by_its_announcement_is_found() {
    for gap in [0.0, 100.0] {
        let mut audio = sit([(985.2, L), (1428.5, L), (1776.7, L)], 0.0);
        audio.truncate(audio.len() - samples(300.0 - gap));
        audio.extend(speech(3000.0, -20.0));
        assert_eq!(detect(&audio, 160), [SitKind::NoCircuit], "speech {gap} ms after");
    }
}

#[test]
fn other_audio_is_not_a_sit() {
    let digits: Vec<f64> = "19#5".chars().flat_map(|d| concat(&[dtmf(d, 300.0, -10.0, 0.0), silence(20.0)])).collect();
    let nothing: [(&str, Vec<f64>); 6] = [
        ("1000 Hz", tones(&[(1000.0, amp(-20.0))], 3000.0)),
        ("DTMF", digits),
        ("speech", speech(5000.0, -15.0)),
        ("silence", silence(3000.0)),
        ("noise", noise(24_000, amp(-20.0).powi(2), 3)),
        ("one tone", sit([(913.8, S), (1000.0, 0.0), (1000.0, 0.0)], 0.0)),
    ];
    for (name, audio) in nothing {
        assert_eq!(detect(&audio, 160), [], "{name}");
    }
}

#[test]
fn wrong_order_length_or_spacing_is_not_a_sit() {
    let cases: [(&str, Vec<f64>); 5] = [
        ("falling", sit([(1776.7, L), (1370.6, L), (913.8, L)], 0.0)),
        ("too short", sit([(913.8, 150.0), (1370.6, 150.0), (1776.7, 150.0)], 0.0)),
        ("too long", sit([(913.8, 600.0), (1370.6, 600.0), (1776.7, 600.0)], 0.0)),
        ("third tone endless", sit([(913.8, S), (1370.6, S), (1776.7, 3000.0)], 0.0)),
        ("200 ms gaps", sit([(913.8, S), (1370.6, S), (1776.7, L)], 200.0)),
    ];
    for (name, audio) in cases {
        assert_eq!(detect(&audio, 160), [], "{name}");
    }
}

#[test]
fn each_sit_is_reported_once() {
    let once = sit([(913.8, S), (1370.6, S), (1776.7, L)], 0.0);
    assert_eq!(detect(&concat(&[once.clone(), once]), 160), [SitKind::Intercept, SitKind::Intercept]);
}

#[test]
fn chunk_size_does_not_change_the_result() {
    let mut audio = concat(&[speech(700.0, -15.0), sit([(913.8, L), (1428.5, S), (1776.7, L)], 4.0)]);
    audio.extend(speech(1000.0, -20.0));
    audio = mix(&audio, &noise(audio.len(), amp(-45.0).powi(2), 1));
    assert_eq!(detect(&audio, audio.len()), [SitKind::IneffectiveOther]);
    for chunk in [1, 7, 160, 4000] {
        assert_eq!(detect(&audio, chunk), [SitKind::IneffectiveOther], "chunks of {chunk}");
    }
}

#[test]
fn kinds_name_themselves_and_say_which_mean_an_invalid_number() {
    let all = [
        SitKind::Intercept,
        SitKind::NoCircuit,
        SitKind::Reorder,
        SitKind::VacantCode,
        SitKind::IneffectiveOther,
        SitKind::Unknown,
    ];
    let names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
    assert_eq!(names, ["intercept", "no_circuit", "reorder", "vacant_code", "ineffective_other", "unknown"]);
    let invalid: Vec<SitKind> = all.into_iter().filter(|k| k.means_invalid_number()).collect();
    assert_eq!(invalid, [SitKind::Intercept, SitKind::VacantCode]);
}

#[test]
#[ignore = "timing; run with --ignored --nocapture in release"]
fn cost_per_20_ms_frame() {
    let audio = pcm(&concat(&[sit([(913.8, S), (1370.6, S), (1776.7, L)], 0.0), speech(3000.0, -15.0)]));
    let mut best = f64::MAX;
    for _ in 0..10 {
        let mut rx = SitDetector::new();
        let start = std::time::Instant::now();
        let mut found = 0;
        for _ in 0..20 {
            found += audio.chunks(160).filter_map(|f| rx.push(std::hint::black_box(f))).count();
        }
        assert_eq!(found, 20);
        best = best.min(start.elapsed().as_nanos() as f64 / (20 * audio.len().div_ceil(160)) as f64);
    }
    println!("SitDetector: {best:.0} ns per 20 ms frame");
}
