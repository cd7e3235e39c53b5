//! Special information tones (SIT), sans-IO: the three rising tones a
//! network plays before a "your call cannot be completed" announcement, heard
//! in decoded audio and classified by the Telcordia code they carry.
//!
//! ITU-T E.180 defines the SIT as three tones, 950 ± 50, 1400 ± 50 and
//! 1800 ± 50 Hz, of 330 ± 70 ms each, with gaps of at most 30 ms. North
//! American networks (Telcordia GR-1162, from Bell System practice) encode
//! the reason in the first two tones: each is low or high in frequency and
//! short (274 ms) or long (380 ms); the third is always 1776.7 Hz, long; the
//! gaps are at most 4 ms. The code table, as commonly published (Bell
//! System announcement-equipment practice, and e.g. Wikipedia's "Special
//! information tone"):
//!
//! | code | meaning                    | tone 1       | tone 2        |
//! |------|----------------------------|--------------|---------------|
//! | IC   | intercept (vacant number)  | 913.8 short  | 1370.6 short  |
//! | VC   | vacant code                | 985.2 long   | 1370.6 short  |
//! | NC   | no circuit (intra-LATA)    | 985.2 long   | 1428.5 long   |
//! | NC   | no circuit (inter-LATA)    | 913.8 long   | 1370.6 long   |
//! | RO   | reorder (intra-LATA)       | 913.8 short  | 1428.5 long   |
//! | RO   | reorder (inter-LATA)       | 985.2 short  | 1370.6 long   |
//! | IO   | ineffective other          | 913.8 long   | 1428.5 short  |
//! | —    | reserved                   | 985.2 short  | 1428.5 short  |
//!
//! Tones are measured with the DTMF receiver's filter bank (`tones.rs`):
//! every 5 ms, the strongest of the five SIT frequencies, its actual
//! frequency from the phase, and whether it holds the window's power. Runs
//! of such windows in one band are tones; three tones in rising bands with
//! short gaps and SIT durations are a SIT, reported once, when the third
//! ends. A sequence that is a SIT by E.180 but not a Telcordia code (the
//! European 950/1400/1800 Hz, the reserved code) is [`SitKind::Unknown`].

use super::tones::{BLOCK, DBM0, ToneBank};

/// The kind of failure a SIT announces (Telcordia code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitKind {
    /// IC: the number is not in service (vacant, changed, disconnected).
    Intercept,
    /// NC: no trunk or circuit free; try again later.
    NoCircuit,
    /// RO: the switch failed to complete the call (blockage, bad digits).
    Reorder,
    /// VC: the dialled code (area code, office code) does not exist.
    VacantCode,
    /// IO: another failure (e.g. a restriction or a feature refusal).
    IneffectiveOther,
    /// A SIT, but not one of the codes above.
    Unknown,
}

impl SitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SitKind::Intercept => "intercept",
            SitKind::NoCircuit => "no_circuit",
            SitKind::Reorder => "reorder",
            SitKind::VacantCode => "vacant_code",
            SitKind::IneffectiveOther => "ineffective_other",
            SitKind::Unknown => "unknown",
        }
    }

    /// True for kinds that mean the number is not valid (IC, VC): redialling
    /// will not help. NC and RO are network trouble that may clear.
    pub fn means_invalid_number(self) -> bool {
        matches!(self, SitKind::Intercept | SitKind::VacantCode)
    }
}

/// Filters: the Telcordia frequencies. E.180's 950 and 1400 Hz fall between
/// two of them, 1800 Hz 23 Hz above the third; the phase measurement finds
/// the actual frequency either way.
const FREQS: [f32; 5] = [913.8, 985.2, 1370.6, 1428.5, 1776.7];
/// Frequency range of each tone, Hz: E.180's ± 50 Hz, cut at the top of the
/// third to what the 1776.7 Hz filter reaches (+40 Hz, below).
const BANDS: [(f32, f32); 3] = [(900.0, 1000.0), (1350.0, 1450.0), (1750.0, 1817.0)];
/// Offsets past this are outside the filter's reliable reach (15 ms
/// window: −6 dB at 40 Hz, null at 67 Hz).
const MAX_OFFSET_HZ: f32 = 40.0;
/// A tone within this of a Telcordia frequency is that frequency. Sources
/// hold them to a fraction of a percent; the two choices for the first tone
/// are 7.8 % apart, for the second 4.2 %, so ±1.5 % cannot confuse them.
const TELCORDIA_TOLERANCE: f32 = 0.015;
/// SITs are sent at about −24 dBm0 (E.180: −24 ± 1.5 dB); −40 leaves room
/// for line loss while ignoring the noise floor.
const MIN_POWER: f32 = DBM0 * 1.0e-4;
/// The tone must hold this share of the window's power (as for DTMF, which
/// this also keeps out: a digit splits its power between two tones).
const MIN_PURITY: f32 = 0.72;
/// Windows are read every block.
const WINDOW_STEP_MS: f32 = BLOCK as f32 / 8.0;
/// Windows without the tone bridged inside one (noise, a codec glitch).
const BRIDGE: u64 = 2;
/// Windows between two tones: E.180 allows 30 ms of silence, which fails
/// (30 + 6.6) / 5 ≈ 7 windows; two tones back to back fail ~2 (the windows
/// that straddle both). 50 ms of slack.
const MAX_GAP: u64 = 11;
/// Durations, ms: short is 274 and long 380 (Telcordia), E.180 allows
/// 260–400. Accepted within ±20 % of short and long, plus 5 ms for the
/// measurement (±2.5 ms on the 5 ms grid). Short and long overlap at ±20 %
/// (short up to 329, long down to 304): the split is in the middle, so short
/// holds −20…+19 % and long −14…+20 %.
const MIN_MS: f32 = 274.0 * 0.8 - 5.0;
const MAX_MS: f32 = 380.0 * 1.2 + 5.0;
const LONG_FROM_MS: f32 = (274.0 + 380.0) / 2.0;

/// One band's tone in one window.
#[derive(Debug, Clone, Copy)]
struct Hit {
    band: usize,
    hz: f32,
}

/// A run of windows with a tone in one band.
#[derive(Debug, Clone, Copy)]
struct Tone {
    band: usize,
    first: u64,
    last: u64,
    hz_sum: f32,
    hits: u32,
}

impl Tone {
    fn hz(&self) -> f32 {
        self.hz_sum / self.hits as f32
    }

    /// A window passes once the tone fills ≥ 72 % of its 15 ms, so a tone of
    /// D ms spans (D − 6.6) / 5 windows (see `tones.rs`).
    fn ms(&self) -> f32 {
        (self.last - self.first + 1) as f32 * WINDOW_STEP_MS + 6.6
    }

    fn is_sit_length(&self) -> bool {
        (MIN_MS..=MAX_MS).contains(&self.ms())
    }
}

/// SIT receiver for one call's received audio (early media or after answer).
#[derive(Debug, Clone)]
pub struct SitDetector {
    bank: ToneBank<5>,
    /// The largest offset correction a tone in reach can get: lets most
    /// speech windows be rejected before any trigonometry.
    max_correction: f32,
    windows: u64,
    current: Option<Tone>,
    /// The first tones of a sequence in progress.
    sequence: Vec<Tone>,
}

impl Default for SitDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SitDetector {
    pub fn new() -> Self {
        Self {
            bank: ToneBank::new(FREQS),
            max_correction: ToneBank::<5>::correction(MAX_OFFSET_HZ),
            windows: 0,
            current: None,
            sequence: Vec::with_capacity(3),
        }
    }

    /// Feeds samples; returns the kind once a whole SIT has been heard (when
    /// its third tone ends).
    pub fn push(&mut self, samples: &[i16]) -> Option<SitKind> {
        let mut found = None;
        let Self { bank, max_correction, windows, current, sequence } = self;
        bank.push(samples, |bank| {
            *windows += 1;
            let ended = track(current, hit(bank, *max_correction), *windows);
            if let Some(kind) = ended.and_then(|tone| sequence_step(sequence, tone)) {
                found = Some(kind);
            }
        });
        found
    }
}

/// The SIT tone one window shows, if any.
fn hit(bank: &ToneBank<5>, max_correction: f32) -> Option<Hit> {
    let ms = bank.mean_square();
    if ms < MIN_POWER {
        return None;
    }
    let i = (0..FREQS.len()).max_by(|&a, &b| bank.power(a).total_cmp(&bank.power(b)))?;
    if bank.power(i) * max_correction < MIN_PURITY * ms {
        return None;
    }
    let offset = bank.offset_hz(i);
    if offset.abs() > MAX_OFFSET_HZ {
        return None;
    }
    let power = bank.tone_power(i, offset);
    let hz = bank.freq(i) + offset;
    let band = i / 2;
    let (lo, hi) = BANDS[band];
    (power >= MIN_POWER && power >= MIN_PURITY * ms && (lo..=hi).contains(&hz)).then_some(Hit { band, hz })
}

/// Extends or ends the current tone with this window; returns a tone that
/// ended.
fn track(current: &mut Option<Tone>, hit: Option<Hit>, now: u64) -> Option<Tone> {
    match (current.as_mut(), hit) {
        (Some(tone), Some(h)) if tone.band == h.band && now - tone.last <= BRIDGE + 1 => {
            (tone.last, tone.hz_sum, tone.hits) = (now, tone.hz_sum + h.hz, tone.hits + 1);
            None
        }
        (_, Some(h)) => current.replace(Tone { band: h.band, first: now, last: now, hz_sum: h.hz, hits: 1 }),
        (Some(tone), None) if now - tone.last > BRIDGE => current.take(),
        _ => None,
    }
}

/// Adds a finished tone to the sequence; the kind when it completes a SIT.
fn sequence_step(sequence: &mut Vec<Tone>, tone: Tone) -> Option<SitKind> {
    let follows = sequence.last().is_some_and(|prev| tone.first - prev.last - 1 <= MAX_GAP);
    if !tone.is_sit_length() || tone.band != sequence.len() || (tone.band > 0 && !follows) {
        sequence.clear();
        // A failed sequence's last tone may still start a new one.
        if tone.band == 0 && tone.is_sit_length() {
            sequence.push(tone);
        }
        return None;
    }
    sequence.push(tone);
    if sequence.len() < 3 {
        return None;
    }
    let kind = classify(&sequence[0], &sequence[1]);
    sequence.clear();
    Some(kind)
}

/// The Telcordia code of a SIT from its first two tones (table above).
fn classify(first: &Tone, second: &Tone) -> SitKind {
    let variant = |tone: &Tone, low: f32, high: f32| {
        let near = |nominal: f32| (tone.hz() / nominal - 1.0).abs() <= TELCORDIA_TOLERANCE;
        let long = tone.ms() >= LONG_FROM_MS;
        if near(low) {
            Some((false, long))
        } else if near(high) {
            Some((true, long))
        } else {
            None
        }
    };
    // (high frequency, long) for tone 1, then tone 2.
    match (variant(first, FREQS[0], FREQS[1]), variant(second, FREQS[2], FREQS[3])) {
        (Some((false, false)), Some((false, false))) => SitKind::Intercept,
        (Some((true, true)), Some((false, false))) => SitKind::VacantCode,
        (Some((true, true)), Some((true, true))) | (Some((false, true)), Some((false, true))) => SitKind::NoCircuit,
        (Some((false, false)), Some((true, true))) | (Some((true, false)), Some((false, true))) => SitKind::Reorder,
        (Some((false, true)), Some((true, false))) => SitKind::IneffectiveOther,
        _ => SitKind::Unknown,
    }
}

#[cfg(test)]
mod tests;
