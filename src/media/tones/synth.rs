//! Test signals for the tone detectors, synthesised with f64 `sin`: tones,
//! white noise (a seeded xorshift, so runs repeat) and a speech-like voice.

use std::f64::consts::TAU;

pub const RATE: f64 = 8000.0;

/// Peak amplitude of a sine at `dbm0` in linear 16-bit samples (G.711 full
/// scale, µ-law 32 124, is +3.17 dBm0).
pub fn amp(dbm0: f64) -> f64 {
    22_300.0 * 10f64.powf(dbm0 / 20.0)
}

pub fn samples(ms: f64) -> usize {
    (ms * RATE / 1000.0).round() as usize
}

/// Sum of sines `(hz, amplitude)` lasting `ms`.
pub fn tones(parts: &[(f64, f64)], ms: f64) -> Vec<f64> {
    (0..samples(ms)).map(|n| parts.iter().map(|&(f, a)| a * (TAU * f * n as f64 / RATE).sin()).sum()).collect()
}

pub fn silence(ms: f64) -> Vec<f64> {
    vec![0.0; samples(ms)]
}

/// The (low, high) frequencies of a key.
pub fn dtmf_freqs(digit: char) -> (f64, f64) {
    let keys = "123A456B789C*0#D";
    let i = keys.find(digit).expect("a DTMF key");
    ([697.0, 770.0, 852.0, 941.0][i / 4], [1209.0, 1336.0, 1477.0, 1633.0][i % 4])
}

/// A key press: both tones at `dbm0`, the high one `twist_db` louder.
pub fn dtmf(digit: char, ms: f64, dbm0: f64, twist_db: f64) -> Vec<f64> {
    let (lo, hi) = dtmf_freqs(digit);
    tones(&[(lo, amp(dbm0)), (hi, amp(dbm0 + twist_db))], ms)
}

/// Gaussian white noise of the given mean square.
pub fn noise(len: usize, mean_square: f64, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // Box–Muller.
    (0..len).map(|_| (-2.0 * (1.0 - uniform()).ln()).sqrt() * (TAU * uniform()).cos() * mean_square.sqrt()).collect()
}

/// Voiced speech as far as a tone detector can tell: harmonics of a ~150 Hz
/// fundamental with 5 Hz vibrato and a slow glide, shaped by two formants
/// that wander across the DTMF bands, under a 4 Hz syllable envelope.
pub fn speech(ms: f64, dbm0: f64) -> Vec<f64> {
    let mut phase = 0.0;
    (0..samples(ms))
        .map(|n| {
            let t = n as f64 / RATE;
            let f0 = 150.0 * (1.0 + 0.04 * (TAU * 5.0 * t).sin() + 0.15 * (TAU * 0.3 * t).sin());
            phase += TAU * f0 / RATE;
            let f1 = 650.0 + 250.0 * (TAU * 0.7 * t).sin();
            let f2 = 1350.0 + 350.0 * (TAU * 0.45 * t).sin();
            let formant = |f: f64, centre: f64| 1.0 / (1.0 + ((f - centre) / 90.0).powi(2));
            let voice: f64 = (1..=25)
                .map(|k| k as f64 * f0)
                .enumerate()
                .filter(|&(_, f)| f < 3800.0)
                .map(|(k, f)| {
                    let gain = 0.15 + formant(f, f1) + 0.7 * formant(f, f2);
                    gain / (1.0 + f / 1000.0) * ((k + 1) as f64 * phase).sin()
                })
                .sum();
            let envelope = 0.55 - 0.45 * (TAU * 4.0 * t).cos();
            amp(dbm0) * envelope * voice / 2.0
        })
        .collect()
}

pub fn mix(a: &[f64], b: &[f64]) -> Vec<f64> {
    (0..a.len().max(b.len())).map(|i| a.get(i).unwrap_or(&0.0) + b.get(i).unwrap_or(&0.0)).collect()
}

pub fn concat(parts: &[Vec<f64>]) -> Vec<f64> {
    parts.concat()
}

pub fn pcm(x: &[f64]) -> Vec<i16> {
    x.iter().map(|&v| v.round().clamp(-32768.0, 32767.0) as i16).collect()
}

pub fn mean_square(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64
}
