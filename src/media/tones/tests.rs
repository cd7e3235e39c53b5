use super::synth::*;
use super::*;
use crate::media::g711;

const ALL: &str = "123A456B789C*0#D";

/// Feeds `audio` in chunks of `chunk` samples; the digits found, in order.
fn detect(audio: &[f64], chunk: usize) -> String {
    let mut rx = InbandDtmf::new();
    pcm(audio).chunks(chunk).flat_map(|c| rx.push(c)).collect()
}

/// Each digit pressed for `tone_ms` at −10 dBm0 per tone, with `gap_ms` of
/// silence before, between and after.
fn pressed(digits: &str, tone_ms: f64, gap_ms: f64) -> Vec<f64> {
    let mut audio = silence(gap_ms);
    for d in digits.chars() {
        audio.extend(dtmf(d, tone_ms, -10.0, 0.0));
        audio.extend(silence(gap_ms));
    }
    audio
}

/// One press of `(low, high)` Hz with the given amplitudes, 100 ms, in silence.
fn pair(lo: (f64, f64), hi: (f64, f64)) -> Vec<f64> {
    concat(&[silence(40.0), tones(&[lo, hi], 100.0), silence(60.0)])
}

#[test]
fn every_digit_is_detected_once() {
    assert_eq!(detect(&pressed(ALL, 100.0, 100.0), 160), ALL);
    assert_eq!(detect(&pressed(ALL, 60.0, 60.0), 160), ALL);
}

#[test]
fn digits_survive_g711() {
    let audio = pcm(&pressed(ALL, 80.0, 80.0));
    for (enc, dec) in [
        (g711::linear_to_ulaw as fn(i16) -> u8, g711::ulaw_to_linear as fn(u8) -> i16),
        (g711::linear_to_alaw, g711::alaw_to_linear),
    ] {
        let decoded: Vec<i16> = audio.iter().map(|&s| dec(enc(s))).collect();
        let mut rx = InbandDtmf::new();
        let got: String = decoded.chunks(160).flat_map(|c| rx.push(c)).collect();
        assert_eq!(got, ALL);
    }
}

#[test]
fn a_press_is_one_digit_however_long() {
    assert_eq!(detect(&pressed("5", 100.0, 50.0), 160), "5");
    assert_eq!(detect(&pressed("#", 2000.0, 50.0), 160), "#");
}

#[test]
fn pauses_separate_presses_and_short_breaks_do_not() {
    let twice = concat(&[silence(30.0), dtmf('7', 60.0, -10.0, 0.0), silence(50.0), dtmf('7', 60.0, -10.0, 0.0)]);
    assert_eq!(detect(&concat(&[twice, silence(50.0)]), 160), "77");
    // Q.24: an interruption of up to 10 ms must not split a digit.
    let broken = concat(&[silence(30.0), dtmf('7', 60.0, -10.0, 0.0), silence(10.0), dtmf('7', 60.0, -10.0, 0.0)]);
    assert_eq!(detect(&concat(&[broken, silence(50.0)]), 160), "7");
    // A different key straight after another is a new press.
    let rolled = concat(&[silence(30.0), dtmf('1', 60.0, -10.0, 0.0), dtmf('2', 60.0, -10.0, 0.0), silence(50.0)]);
    assert_eq!(detect(&rolled, 160), "12");
}

#[test]
fn tones_under_30_ms_are_rejected_and_40_ms_accepted() {
    // Every alignment of the tone against the 5 ms grid.
    for lead in 0..40 {
        let at = |ms: f64| concat(&[silence(20.0), vec![0.0; lead], dtmf('0', ms, -10.0, 0.0), silence(50.0)]);
        assert_eq!(detect(&at(30.0), 160), "", "30 ms, lead {lead}");
        assert_eq!(detect(&at(40.0), 160), "0", "40 ms, lead {lead}");
    }
}

#[test]
fn frequency_within_1_5_percent_is_accepted_and_beyond_3_5_rejected() {
    let a = amp(-10.0);
    for d in ALL.chars() {
        let (lo, hi) = dtmf_freqs(d);
        for dev in [-0.015, 0.015] {
            let s = d.to_string();
            assert_eq!(detect(&pair((lo * (1.0 + dev), a), (hi, a)), 160), s, "{d}: low {dev}");
            assert_eq!(detect(&pair((lo, a), (hi * (1.0 + dev), a)), 160), s, "{d}: high {dev}");
            assert_eq!(detect(&pair((lo * (1.0 + dev), a), (hi * (1.0 - dev), a)), 160), s, "{d}: both {dev}");
        }
        for dev in [-0.035, 0.035, 0.05] {
            assert_eq!(detect(&pair((lo * (1.0 + dev), a), (hi, a)), 160), "", "{d}: low {dev}");
            assert_eq!(detect(&pair((lo, a), (hi * (1.0 + dev), a)), 160), "", "{d}: high {dev}");
        }
    }
}

#[test]
fn twist_from_8_db_under_to_4_db_over_is_accepted_and_far_beyond_rejected() {
    for d in ALL.chars() {
        let (lo, hi) = dtmf_freqs(d);
        let with_twist = |db: f64| detect(&pair((lo, amp(-12.0)), (hi, amp(-12.0 + db))), 160);
        for db in [-8.0, -4.0, 0.0, 4.0] {
            assert_eq!(with_twist(db), d.to_string(), "{d}: high group {db} dB");
        }
        for db in [-12.0, 7.0, 9.0, 12.0] {
            assert_eq!(with_twist(db), "", "{d}: high group {db} dB");
        }
    }
}

#[test]
fn level_floor_is_minus_33_dbm0_per_tone() {
    let at = |low: f64, high: f64| detect(&pair((697.0, amp(low)), (1336.0, amp(high))), 160);
    assert_eq!(at(-25.0, -25.0), "2");
    assert_eq!(at(-25.0, -32.0), "2");
    assert_eq!(at(-36.0, -36.0), "");
}

#[test]
fn digits_are_found_in_white_noise_at_15_db_snr() {
    let clean = pressed(ALL, 80.0, 80.0);
    let tone_power = amp(-10.0).powi(2);
    for (snr, seed) in [(15.0, 1), (15.0, 2), (15.0, 3), (20.0, 4)] {
        let noisy = mix(&clean, &noise(clean.len(), tone_power / 10f64.powf(snr / 10.0), seed));
        assert_eq!(detect(&noisy, 160), ALL, "{snr} dB, seed {seed}");
    }
}

#[test]
fn speech_noise_and_silence_give_no_digits() {
    for dbm0 in [-5.0, -15.0, -25.0] {
        assert_eq!(detect(&speech(3000.0, dbm0), 160), "", "speech at {dbm0} dBm0");
    }
    let s = speech(3000.0, -15.0);
    let noisy = mix(&s, &noise(s.len(), mean_square(&s) / 30.0, 9));
    assert_eq!(detect(&noisy, 160), "", "speech in noise");
    assert_eq!(detect(&noise(24_000, amp(-20.0).powi(2), 5), 160), "", "noise");
    assert_eq!(detect(&silence(3000.0), 160), "", "silence");
}

#[test]
fn chunk_size_does_not_change_the_result() {
    let mut audio = concat(&[speech(500.0, -15.0), pressed("159#", 70.0, 45.0), dtmf('D', 38.0, -10.0, 0.0)]);
    audio.extend(silence(45.0));
    audio = mix(&audio, &noise(audio.len(), amp(-30.0).powi(2), 7));
    let whole = detect(&audio, audio.len());
    assert_eq!(whole, "159#D");
    for chunk in [1, 7, 160, 4000] {
        assert_eq!(detect(&audio, chunk), whole, "chunks of {chunk}");
    }
}

#[test]
#[ignore = "timing; run with --ignored --nocapture in release"]
fn cost_per_20_ms_frame() {
    let audio = pcm(&mix(&pressed(ALL, 100.0, 100.0), &speech(3300.0, -15.0)));
    let mut best = f64::MAX;
    for _ in 0..10 {
        let mut rx = InbandDtmf::new();
        let start = std::time::Instant::now();
        let mut found = 0;
        for _ in 0..20 {
            found += audio.chunks(160).map(|f| rx.push(std::hint::black_box(f)).len()).sum::<usize>();
        }
        assert_eq!(found, 20 * ALL.len());
        best = best.min(start.elapsed().as_nanos() as f64 / (20 * audio.len().div_ceil(160)) as f64);
    }
    println!("InbandDtmf: {best:.0} ns per 20 ms frame");
}
