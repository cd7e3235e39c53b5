//! Answering-machine detection (AMD), sans-IO: the far end's first seconds
//! of audio in, one verdict out (human, machine or not sure).
//!
//! The method is Asterisk's app_amd, configured with its amd.conf names and
//! defaults: audio is cut into 20 ms frames; a frame whose mean absolute
//! sample is below `silence_threshold` is silence, anything else is voice.
//! Runs of voice at least `min_word_length` long are words; a silence of
//! `between_words_silence` ends a word. Then, frame by frame:
//!
//! - `initial_silence` of silence before the first word: a machine (or
//!   nobody) answered and waits for us to speak — INITIALSILENCE, machine;
//! - voice in total reaching `greeting` once the first word began: people
//!   say "hello?" and stop, greetings go on — LONGGREETING, machine;
//! - `maximum_number_of_words` words counted — MAXWORDS, machine;
//! - one word lasting `maximum_word_length` — MAXWORDLENGTH, machine;
//! - `after_greeting_silence` of silence after a short greeting: the caller
//!   is waiting for us to answer — HUMAN;
//! - nothing decided after `total_analysis_time` — TOOLONG, not sure.
//!
//! Time comes only from the audio: 8 kHz samples fed, plus gaps the caller
//! reports with [`Amd::push_silence`]. Chunks of any size give the same
//! result as whole frames, because frames are assembled here.
//!
//! One deliberate difference from app_amd: Asterisk starts "in a word", so a
//! word already under way at the first frame is not counted until a silence
//! has been seen; here the call starts in silence and every word counts.
//! Otherwise a greeting's count would depend on whether it began 40 or 60 ms
//! after the answer.

use std::time::Duration;

/// Analysis frame: 20 ms at 8 kHz, what app_amd sees from a G.711 channel.
const FRAME_SAMPLES: usize = 160;
const FRAME: Duration = Duration::from_millis(20);
const NANOS_PER_SAMPLE: u128 = 125_000;

/// The knobs of Asterisk's amd.conf, under the same names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmdConfig {
    /// Silence before the first word that means a machine.
    pub initial_silence: Duration,
    /// Total voice after the first word that means a machine (a long greeting).
    pub greeting: Duration,
    /// Silence after the greeting that means a human waiting for us.
    pub after_greeting_silence: Duration,
    /// Audio analysed before giving up as not sure.
    pub total_analysis_time: Duration,
    /// Voice shorter than this is a click or breath, not a word.
    pub min_word_length: Duration,
    /// Silence that ends a word, so the voice after it is a new word.
    pub between_words_silence: Duration,
    /// Reaching this many words means a machine. 3, app_amd's built-in
    /// default: app_amd compares with `>=`, so the 2 of Asterisk's sample
    /// amd.conf already calls "Hello, John here" a machine at its second word.
    pub maximum_number_of_words: u32,
    /// A 20 ms frame whose mean |sample| (linear 16-bit) is below this is
    /// silence. This is Asterisk's DSP measure (`ast_dsp_silence`: the sum of
    /// absolute samples over the frame length), not an energy. 256 is a mean
    /// 42 dB below full scale.
    pub silence_threshold: u16,
    /// A single word this long means a machine (or a tone).
    pub maximum_word_length: Duration,
}

impl Default for AmdConfig {
    fn default() -> Self {
        Self {
            initial_silence: Duration::from_millis(2500),
            greeting: Duration::from_millis(1500),
            after_greeting_silence: Duration::from_millis(800),
            total_analysis_time: Duration::from_millis(5000),
            min_word_length: Duration::from_millis(100),
            between_words_silence: Duration::from_millis(50),
            maximum_number_of_words: 3,
            silence_threshold: 256,
            maximum_word_length: Duration::from_millis(5000),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmdVerdict {
    Human,
    Machine,
    NotSure,
}

impl AmdVerdict {
    /// Asterisk's AMDSTATUS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AmdVerdict::Human => "HUMAN",
            AmdVerdict::Machine => "MACHINE",
            AmdVerdict::NotSure => "NOTSURE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmdResult {
    pub verdict: AmdVerdict,
    /// Asterisk's AMDCAUSE, milliseconds measured then configured:
    /// "INITIALSILENCE-2500-2500", "LONGGREETING-1520-1500", "HUMAN-800-800",
    /// "MAXWORDS-3-3", "MAXWORDLENGTH-5000", "TOOLONG-5000".
    pub cause: String,
    /// Audio analysed when the verdict was reached.
    pub after: Duration,
}

/// One call's detector. Feed it the far end's audio from the answer on.
#[derive(Debug)]
pub struct Amd {
    cfg: AmdConfig,
    finished: bool,
    /// Samples of the frame being assembled, and the sum of their |sample|.
    fill: usize,
    abs_sum: u32,
    /// Part of a sample left over from `push_silence`, in nanoseconds.
    gap_carry: u128,
    total: Duration,
    /// Consecutive silence up to now (zero after a voice frame).
    silence: Duration,
    /// All voice heard, across words and pauses.
    voice: Duration,
    /// The current run of voice; short silences inside a word do not end it.
    run: Duration,
    in_word: bool,
    words: u32,
    /// Whether the first word has begun (app_amd's `inGreeting`).
    greeting: bool,
}

impl Amd {
    pub fn new(cfg: AmdConfig) -> Self {
        Self {
            cfg,
            finished: false,
            fill: 0,
            abs_sum: 0,
            gap_carry: 0,
            total: Duration::ZERO,
            silence: Duration::ZERO,
            voice: Duration::ZERO,
            run: Duration::ZERO,
            in_word: false,
            words: 0,
            greeting: false,
        }
    }

    /// Feeds samples (any chunk size; usually 160 per 20 ms frame). Returns
    /// the result once, then None; samples after the deciding frame are
    /// ignored.
    pub fn push(&mut self, mut samples: &[i16]) -> Option<AmdResult> {
        while !self.finished && !samples.is_empty() {
            let take = samples.len().min(FRAME_SAMPLES - self.fill);
            let (head, rest) = samples.split_at(take);
            samples = rest;
            self.abs_sum += head.iter().map(|s| s.unsigned_abs() as u32).sum::<u32>();
            self.fill += take;
            if let Some(r) = self.frame_if_full() {
                return Some(r);
            }
        }
        None
    }

    /// Audio that never came (RTP gap) counts as silence: the caller passes
    /// how long. It completes a partly filled frame with zeros, as if the
    /// missing samples had been digital silence.
    pub fn push_silence(&mut self, d: Duration) -> Option<AmdResult> {
        let nanos = self.gap_carry + d.as_nanos();
        self.gap_carry = nanos % NANOS_PER_SAMPLE;
        let mut samples = nanos / NANOS_PER_SAMPLE;
        while !self.finished && samples > 0 {
            let take = samples.min((FRAME_SAMPLES - self.fill) as u128);
            samples -= take;
            self.fill += take as usize;
            if let Some(r) = self.frame_if_full() {
                return Some(r);
            }
        }
        None
    }

    fn frame_if_full(&mut self) -> Option<AmdResult> {
        if self.fill < FRAME_SAMPLES {
            return None;
        }
        // Mean |sample| < threshold, without the division.
        let silent = self.abs_sum < u32::from(self.cfg.silence_threshold) * FRAME_SAMPLES as u32;
        self.fill = 0;
        self.abs_sum = 0;
        let r = self.frame(silent);
        self.finished = r.is_some();
        r
    }

    /// One 20 ms frame through app_amd's decision steps, in its order: the
    /// analysis budget is checked before the frame is looked at.
    fn frame(&mut self, silent: bool) -> Option<AmdResult> {
        let c = &self.cfg;
        self.total += FRAME;
        if self.total >= c.total_analysis_time {
            return self.verdict(AmdVerdict::NotSure, format!("TOOLONG-{}", ms(self.total)));
        }
        if silent {
            self.silence += FRAME;
            if self.silence >= c.between_words_silence {
                self.in_word = false;
                self.run = Duration::ZERO;
            }
            if !self.greeting && self.silence >= c.initial_silence {
                let cause = format!("INITIALSILENCE-{}-{}", ms(self.silence), ms(c.initial_silence));
                return self.verdict(AmdVerdict::Machine, cause);
            }
            if self.greeting && self.silence >= c.after_greeting_silence {
                let cause = format!("HUMAN-{}-{}", ms(self.silence), ms(c.after_greeting_silence));
                return self.verdict(AmdVerdict::Human, cause);
            }
            return None;
        }
        self.silence = Duration::ZERO;
        self.run += FRAME;
        self.voice += FRAME;
        let is_word = self.run >= c.min_word_length;
        if is_word && !self.in_word {
            self.in_word = true;
            self.words += 1;
        }
        if self.run >= c.maximum_word_length {
            return self.verdict(AmdVerdict::Machine, format!("MAXWORDLENGTH-{}", ms(self.run)));
        }
        if self.words >= c.maximum_number_of_words {
            let cause = format!("MAXWORDS-{}-{}", self.words, c.maximum_number_of_words);
            return self.verdict(AmdVerdict::Machine, cause);
        }
        if self.greeting && self.voice >= c.greeting {
            let cause = format!("LONGGREETING-{}-{}", ms(self.voice), ms(c.greeting));
            return self.verdict(AmdVerdict::Machine, cause);
        }
        // The greeting starts with the first word, so voice heard before it
        // (clicks, a breath) counts towards it but cannot end the silence
        // phase on its own.
        self.greeting |= is_word;
        None
    }

    fn verdict(&self, verdict: AmdVerdict, cause: String) -> Option<AmdResult> {
        Some(AmdResult { verdict, cause, after: self.total })
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[cfg(test)]
mod tests;
