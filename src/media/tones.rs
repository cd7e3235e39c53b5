//! In-band tones, sans-IO: DTMF digits heard in the audio, for far ends that
//! did not negotiate RFC 4733 telephone-event, and the filter bank the SIT
//! detector (`sit.rs`) shares.
//!
//! Input is 8 kHz mono linear PCM (decoded G.711) in chunks of any size.
//! State advances per sample and every decision is taken on a fixed 5 ms
//! grid counted from the first sample, so chunking never changes a result.
//!
//! Measuring a tone (`ToneBank`): one Goertzel filter per frequency runs
//! over 5 ms blocks and keeps its complex output; every 5 ms the last three
//! blocks are combined into the DFT of a 15 ms window at that frequency.
//! Per window and frequency that gives:
//! - the power of a sinusoid there. 15 ms puts each neighbouring DTMF
//!   frequency near the window's first null, ≥ 18 dB down;
//! - the tone's actual frequency, from the phase it advances between the
//!   window and its neighbours 5 ms before and after. It is good to ~1 Hz,
//!   where the magnitude alone could not tell 1.5 % from 3.5 % off (the
//!   response falls only ~2 dB between them);
//! - the power corrected for that offset, so level and twist are right for a
//!   tone that is off-frequency (1633 Hz + 1.5 % reads 2 dB low otherwise).
//!
//! Each window also carries its mean square, the total to compare with.
//! Speech and noise spread their power; a DTMF digit puts nearly all of it
//! in two frequencies.

use std::f64::consts::PI;
use std::ops::{Add, Mul};

const RATE: f32 = 8000.0;
/// Goertzel block: 5 ms, the grid every decision is taken on.
pub(crate) const BLOCK: usize = 40;
/// Blocks per analysis window (15 ms).
const BLOCKS: usize = 3;
const WINDOW: usize = BLOCK * BLOCKS;

/// Mean square of a 0 dBm0 sine in linear 16-bit samples: G.711's full
/// scale (µ-law 32 124) is +3.17 dBm0, so 0 dBm0 is a peak of ~22 300.
pub(crate) const DBM0: f32 = 2.49e8;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Cplx {
    re: f32,
    im: f32,
}

impl Cplx {
    fn conj(self) -> Self {
        Self { re: self.re, im: -self.im }
    }
    fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }
}

impl Add for Cplx {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self { re: self.re + o.re, im: self.im + o.im }
    }
}

impl Mul for Cplx {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Self { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
}

/// Goertzel filters at `F` frequencies, read as overlapping 15 ms windows
/// every 5 ms. Cost: one multiply and two adds per sample and frequency,
/// plus a few complex operations per frequency every 5 ms.
#[derive(Debug, Clone)]
pub(crate) struct ToneBank<const F: usize> {
    freqs: [f32; F],
    /// 2 cos ω, the Goertzel recurrence.
    coeff: [f32; F],
    /// cos ω and sin ω: a block's output is `s1 − e^{−jω} s2`.
    cos: [f32; F],
    sin: [f32; F],
    /// e^{−jω·BLOCK}: where a block starts, in the phase of the window.
    step: [Cplx; F],
    s1: [f32; F],
    s2: [f32; F],
    fill: usize,
    energy: f32,
    /// The last `BLOCKS` block outputs and energies, oldest first.
    blocks: [[Cplx; F]; BLOCKS],
    energies: [f32; BLOCKS],
    blocks_seen: usize,
    /// The last three windows, oldest first; the middle one is the one read.
    windows: [[Cplx; F]; 3],
    mean_squares: [f32; 3],
}

impl<const F: usize> ToneBank<F> {
    pub(crate) fn new(freqs: [f32; F]) -> Self {
        let omega = freqs.map(|f| 2.0 * PI * f64::from(f) / f64::from(RATE));
        let step = omega.map(|w| {
            let a = w * BLOCK as f64;
            Cplx { re: a.cos() as f32, im: -a.sin() as f32 }
        });
        Self {
            freqs,
            coeff: omega.map(|w| (2.0 * w.cos()) as f32),
            cos: omega.map(|w| w.cos() as f32),
            sin: omega.map(|w| w.sin() as f32),
            step,
            s1: [0.0; F],
            s2: [0.0; F],
            fill: 0,
            energy: 0.0,
            blocks: [[Cplx::default(); F]; BLOCKS],
            energies: [0.0; BLOCKS],
            blocks_seen: 0,
            windows: [[Cplx::default(); F]; 3],
            mean_squares: [0.0; 3],
        }
    }

    /// Feeds samples; calls `on_window` each time a window can be read: every
    /// 5 ms, 5 ms after it ends (its successor is part of the reading).
    pub(crate) fn push(&mut self, samples: &[i16], mut on_window: impl FnMut(&Self)) {
        let mut rest = samples;
        while !rest.is_empty() {
            let (run, tail) = rest.split_at((BLOCK - self.fill).min(rest.len()));
            rest = tail;
            // Locals keep the state in registers; the loop over F vectorises.
            let (mut s1, mut s2, mut energy) = (self.s1, self.s2, self.energy);
            for &x in run {
                let x = f32::from(x);
                energy += x * x;
                for i in 0..F {
                    // (x − s2) does not wait for s1: one multiply and one add
                    // on the sample-to-sample dependency chain, not two adds.
                    let s = (x - s2[i]) + self.coeff[i] * s1[i];
                    s2[i] = s1[i];
                    s1[i] = s;
                }
            }
            (self.s1, self.s2, self.energy) = (s1, s2, energy);
            self.fill += run.len();
            if self.fill == BLOCK && self.end_block() {
                on_window(self);
            }
        }
    }

    /// Closes a block; true when a window with both neighbours is ready.
    fn end_block(&mut self) -> bool {
        self.blocks.rotate_left(1);
        self.energies.rotate_left(1);
        // Σ x[n] e^{jω(BLOCK−1−n)}: the block's DFT times a constant
        // e^{jω(BLOCK−1)}, the same for every block, so it cancels in
        // magnitudes and in phase differences.
        self.blocks[BLOCKS - 1] =
            std::array::from_fn(|i| Cplx { re: self.s1[i] - self.cos[i] * self.s2[i], im: self.sin[i] * self.s2[i] });
        self.energies[BLOCKS - 1] = self.energy;
        (self.s1, self.s2, self.fill, self.energy) = ([0.0; F], [0.0; F], 0, 0.0);
        self.blocks_seen = (self.blocks_seen + 1).min(BLOCKS + 2);
        if self.blocks_seen < BLOCKS {
            return false;
        }
        self.windows.rotate_left(1);
        self.mean_squares.rotate_left(1);
        for i in 0..F {
            // DFT over the window = Σ_b e^{−jω·BLOCK·b} · block_b (Horner).
            let mut acc = self.blocks[BLOCKS - 1][i];
            for b in (0..BLOCKS - 1).rev() {
                acc = self.blocks[b][i] + self.step[i] * acc;
            }
            self.windows[2][i] = acc;
        }
        self.mean_squares[2] = self.energies.iter().sum::<f32>() / WINDOW as f32;
        self.blocks_seen == BLOCKS + 2
    }

    pub(crate) fn freq(&self, i: usize) -> f32 {
        self.freqs[i]
    }

    /// Mean square of the window's samples.
    pub(crate) fn mean_square(&self) -> f32 {
        self.mean_squares[1]
    }

    /// Power (mean square) of a sinusoid at exactly `freq(i)` that would give
    /// this window's DFT value: A²/2 for a tone of amplitude A.
    pub(crate) fn power(&self, i: usize) -> f32 {
        2.0 * self.windows[1][i].norm_sqr() / (WINDOW * WINDOW) as f32
    }

    /// The tone's offset from `freq(i)`, in Hz: the phase it advances per
    /// 5 ms beyond what `freq(i)` would, from the window's neighbours before
    /// and after, each pair weighted by its magnitude. Unambiguous within
    /// ±100 Hz. Where the tone starts or stops inside a window the reading is
    /// pulled towards zero; weighting lets a full neighbour outvote a partial
    /// one, so the first and last full windows of a tone read true.
    pub(crate) fn offset_hz(&self, i: usize) -> f32 {
        let [before, now, after] = [self.windows[0][i], self.windows[1][i], self.windows[2][i]];
        let z = (now * before.conj() + after * now.conj()) * self.step[i];
        z.im.atan2(z.re) * RATE / (2.0 * std::f32::consts::PI * BLOCK as f32)
    }

    /// [`power`](Self::power) corrected for a tone `offset_hz` away.
    pub(crate) fn tone_power(&self, i: usize, offset_hz: f32) -> f32 {
        self.power(i) * Self::correction(offset_hz)
    }

    /// 1 / the window's power response `offset_hz` off centre (a rectangular
    /// window's Dirichlet kernel). Meant for offsets inside the main lobe,
    /// |offset| ≲ 40 Hz; capped at ×20 so a tone near the null cannot blow up.
    pub(crate) fn correction(offset_hz: f32) -> f32 {
        let x = std::f32::consts::PI * offset_hz / RATE;
        let n = WINDOW as f32;
        let gain = if x.abs() < 1e-7 { 1.0 } else { (n * x).sin() / (n * x.sin()) };
        1.0 / (gain * gain).max(0.05)
    }
}

const LOW: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Rows are the low group, columns the high group (Q.23).
const KEYS: [[char; 4]; 4] = [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];

/// Q.24: operate within ±1.5 %, never beyond ±3.5 %. The middle leaves 1 %
/// of margin both ways for the estimate (±1 Hz clean, a few Hz in noise).
const MAX_DEVIATION: f32 = 0.025;
/// Weakest tone accepted, −33 dBm0: Q.24 receivers typically must operate
/// down to about −25 dBm0 per tone, and the high group may be 8 dB under the
/// low one.
const MIN_TONE_POWER: f32 = DBM0 * 5.0e-4;
/// Twist, high group over low group in power: accepted from −10.5 dB to
/// +6.5 dB. The usual receiver requirement (Bellcore LSSGR, EIA-464) is the
/// high tone from 8 dB below to 4 dB above the low one: lines lose more at
/// high frequencies, and phones send the high group ~2 dB louder to make up
/// for it. The 2.5 dB of margin is measurement error: in a 15 ms window the
/// strong tone's sidelobe moves the weak one's reading by up to ±1.2 dB at
/// 8 dB twist (depending on the pair), and noise 15 dB down adds about ±1 dB
/// to a tone 8 dB under the other. A miss here breaks the run of windows
/// below, so this errs towards accepting (tests: −12 dB and +7 dB are
/// rejected for every key).
const MAX_TWIST: f32 = 4.467;
const MIN_TWIST: f32 = 0.0891;
/// Share of the window's power the two tones must hold: everything else at
/// least 4 dB below them. White noise 15 dB down costs 3 %; voiced speech
/// spreads over many harmonics and stays far below (the speech-like test
/// signal never passes a single window). It also sets how much of a window
/// the tone must fill (72 %), which the durations below rely on.
const MIN_PURITY: f32 = 0.72;
/// Windows (5 ms apart) in a row that must show the same digit. A window
/// passes once the tone fills ≥ 72 % of its 15 ms, so a tone of D ms passes
/// (D − 6.6) / 5 windows, ±1 with alignment: 30 ms gives 4–5, 40 ms gives
/// 6–7. Six puts the cut between 31.6 and 36.6 ms, between Q.24's "reject
/// under 30 ms" (some administrations say 20 or 23) and "accept 40 ms".
/// Impairments at their limits all at once (±1.5 %, 4–8 dB twist, noise
/// 15 dB down) can cost a window, and then a tone of exactly 40 ms is missed
/// at ~1 % of alignments; 45 ms was found in every such case tried.
const MIN_RUN: u32 = 6;
/// Windows in a row without the digit that end a press. A gap of G ms fails
/// (G + 6.6) / 5 windows ±1: gaps under 23 ms are bridged (Q.24: a 10 ms
/// interruption must not split a digit) and from 28.5 ms on the next tone
/// is a new press (Q.24: a 40 ms pause separates two digits).
const RELEASE: u32 = 7;

/// In-band DTMF receiver (ITU-T Q.23 frequencies, Q.24 tolerances) for one
/// call's received audio.
#[derive(Debug, Clone)]
pub struct InbandDtmf {
    bank: ToneBank<8>,
    /// Per filter, the largest offset correction a tone within tolerance can
    /// get: lets most speech windows be rejected before any trigonometry.
    max_correction: [f32; 8],
    debounce: Debounce,
}

impl Default for InbandDtmf {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDtmf {
    pub fn new() -> Self {
        let mut freqs = [0.0; 8];
        freqs[..4].copy_from_slice(&LOW);
        freqs[4..].copy_from_slice(&HIGH);
        let max_correction = freqs.map(|f| ToneBank::<8>::correction(MAX_DEVIATION * f));
        Self { bank: ToneBank::new(freqs), max_correction, debounce: Debounce::default() }
    }

    /// Feeds samples; returns the digits whose tone was recognised (once per
    /// press), in order. Allocates only when a digit is found.
    pub fn push(&mut self, samples: &[i16]) -> Vec<char> {
        let mut digits = Vec::new();
        let (debounce, max_correction) = (&mut self.debounce, &self.max_correction);
        self.bank.push(samples, |bank| digits.extend(debounce.step(classify(bank, max_correction))));
        digits
    }
}

/// The digit one window shows, if it passes every check.
fn classify(bank: &ToneBank<8>, max_correction: &[f32; 8]) -> Option<char> {
    let floor = MIN_PURITY * bank.mean_square();
    if floor < 2.0 * MIN_PURITY * MIN_TONE_POWER {
        return None;
    }
    let strongest = |from: usize| (from..from + 4).max_by(|&a, &b| bank.power(a).total_cmp(&bank.power(b)));
    let (lo, hi) = (strongest(0)?, strongest(4)?);
    if bank.power(lo) * max_correction[lo] + bank.power(hi) * max_correction[hi] < floor {
        return None;
    }
    let (p_lo, p_hi) = (measure(bank, lo)?, measure(bank, hi)?);
    let twist = p_hi / p_lo;
    let ok = p_lo >= MIN_TONE_POWER
        && p_hi >= MIN_TONE_POWER
        && (MIN_TWIST..=MAX_TWIST).contains(&twist)
        && p_lo + p_hi >= floor;
    ok.then(|| KEYS[lo][hi - 4])
}

/// Power of the tone near filter `i`, if its frequency is within tolerance.
fn measure(bank: &ToneBank<8>, i: usize) -> Option<f32> {
    let offset = bank.offset_hz(i);
    (offset.abs() <= MAX_DEVIATION * bank.freq(i)).then(|| bank.tone_power(i, offset))
}

/// Windows to presses: a digit is reported after `MIN_RUN` windows in a row
/// and not again until `RELEASE` windows without it. A window that briefly
/// shows another digit resets the candidate, not the held digit, so a
/// glitch inside a long press cannot report the press twice.
#[derive(Debug, Clone, Default)]
struct Debounce {
    candidate: Option<char>,
    run: u32,
    held: Option<char>,
    misses: u32,
}

impl Debounce {
    fn step(&mut self, seen: Option<char>) -> Option<char> {
        if seen.is_some() && seen == self.held {
            self.misses = 0;
            return None;
        }
        self.misses = self.misses.saturating_add(1);
        if self.misses >= RELEASE {
            self.held = None;
        }
        let Some(digit) = seen else {
            self.candidate = None;
            return None;
        };
        if self.candidate == Some(digit) {
            self.run += 1;
        } else {
            (self.candidate, self.run) = (Some(digit), 1);
        }
        if self.run < MIN_RUN {
            return None;
        }
        (self.candidate, self.held, self.misses) = (None, Some(digit), 0);
        Some(digit)
    }
}

#[cfg(test)]
pub(crate) mod synth;
#[cfg(test)]
mod tests;
