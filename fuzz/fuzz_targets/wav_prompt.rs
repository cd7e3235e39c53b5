//! `media::Prompt::from_wav`: prompt files as an operator drops them in.
#![no_main]

use dialerd::media::Prompt;
use dialerd::media::prompt::{WavError, wav_pcm16};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// RIFF header (12) + "fmt " chunk header and its 16-byte minimum (24) +
/// "data" chunk header (8): bytes a valid file spends before any sample.
const MIN_OVERHEAD: usize = 44;

fuzz_target!(|data: &[u8]| {
    match Prompt::from_wav(data) {
        Ok(p) => {
            assert_eq!(p.ulaw.len(), p.alaw.len(), "the two laws differ in length");
            assert!(
                p.ulaw.len() + MIN_OVERHEAD <= data.len(),
                "{} samples out of a {}-byte file",
                p.ulaw.len(),
                data.len()
            );
            assert_eq!(p.duration(), Duration::from_millis(p.ulaw.len() as u64 / 8));
        }
        Err(WavError::NotWave) => {
            assert!(data.len() < 12 || &data[0..4] != b"RIFF" || &data[8..12] != b"WAVE", "a RIFF/WAVE header called NotWave");
        }
        Err(_) => {
            assert!(data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WAVE");
        }
    }

    // Round trips: the input as 16-bit samples, written as PCM, µ-law and A-law files.
    let samples: Vec<i16> = data.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    let wav = wav_pcm16(&samples);
    let p = Prompt::from_wav(&wav).unwrap_or_else(|e| panic!("our own PCM WAV is refused: {e}"));
    assert_eq!(p, Prompt::from_linear(&samples));
    let mut eight_bit = wav.clone();
    eight_bit[34..36].copy_from_slice(&8u16.to_le_bytes()); // bits per sample
    for (tag, ulaw_verbatim) in [(7u16, true), (6u16, false)] {
        eight_bit[20..22].copy_from_slice(&tag.to_le_bytes());
        let p = Prompt::from_wav(&eight_bit).unwrap_or_else(|e| panic!("8-bit tag {tag} refused: {e}"));
        let verbatim = if ulaw_verbatim { &p.ulaw } else { &p.alaw };
        assert_eq!(verbatim.as_slice(), &eight_bit[44..], "tag {tag}: samples not kept verbatim");
        assert_eq!(p.ulaw.len(), p.alaw.len());
    }
});
