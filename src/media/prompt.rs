//! Prompts: WAV files parsed and companded once, then played frame by frame.
//!
//! Accepted: RIFF/WAVE, mono, 8000 Hz, either 16-bit PCM or 8-bit µ-law /
//! A-law (format tags 1, 7, 6, or WAVE_FORMAT_EXTENSIBLE carrying one of
//! those). Both laws are prepared at load so playback never transcodes.

use super::g711;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WavError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("the file is truncated or has a malformed chunk")]
    Truncated,
    #[error("no fmt chunk")]
    NoFormat,
    #[error("no data chunk")]
    NoData,
    #[error("unsupported audio: {0} (need 8 kHz mono 16-bit PCM, µ-law or A-law)")]
    Unsupported(String),
}

/// A prompt ready to send in either law.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub ulaw: Vec<u8>,
    pub alaw: Vec<u8>,
}

impl Prompt {
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.ulaw.len() as u64 / 8)
    }

    /// Builds a prompt from 8 kHz linear samples (also used by tests).
    pub fn from_linear(samples: &[i16]) -> Prompt {
        Prompt {
            ulaw: samples.iter().map(|&s| g711::linear_to_ulaw(s)).collect(),
            alaw: samples.iter().map(|&s| g711::linear_to_alaw(s)).collect(),
        }
    }

    pub fn from_wav(bytes: &[u8]) -> Result<Prompt, WavError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(WavError::NotWave);
        }
        let mut pos = 12;
        let mut format: Option<(u16, u16, u32, u16)> = None;
        let mut data: Option<&[u8]> = None;
        while pos + 8 <= bytes.len() {
            let id = &bytes[pos..pos + 4];
            let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            let body_start = pos + 8;
            // A data chunk whose size overruns the file (streamed WAVs write
            // 0 or 0xFFFFFFFF) is taken up to the end of the file.
            let body_end = body_start.checked_add(size).filter(|&e| e <= bytes.len());
            match id {
                b"fmt " => {
                    let end = body_end.ok_or(WavError::Truncated)?;
                    let f = &bytes[body_start..end];
                    if f.len() < 16 {
                        return Err(WavError::Truncated);
                    }
                    let le16 = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
                    let mut tag = le16(0);
                    if tag == 0xFFFE && f.len() >= 26 {
                        tag = le16(24); // first two bytes of the sub-format GUID
                    }
                    let rate = u32::from_le_bytes(f[4..8].try_into().unwrap());
                    format = Some((tag, le16(2), rate, le16(14)));
                }
                b"data" => {
                    data = Some(&bytes[body_start..body_end.unwrap_or(bytes.len())]);
                    break;
                }
                _ => {}
            }
            let Some(end) = body_end else { return Err(WavError::Truncated) };
            pos = end + (size & 1); // chunks are word aligned
        }
        let (tag, channels, rate, bits) = format.ok_or(WavError::NoFormat)?;
        let data = data.ok_or(WavError::NoData)?;
        if channels != 1 {
            return Err(WavError::Unsupported(format!("{channels} channels")));
        }
        if rate != 8000 {
            return Err(WavError::Unsupported(format!("{rate} Hz")));
        }
        match (tag, bits) {
            (1, 16) => {
                let samples: Vec<i16> = data.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
                Ok(Prompt::from_linear(&samples))
            }
            (7, 8) => Ok(Prompt {
                alaw: data.iter().map(|&u| g711::linear_to_alaw(g711::ulaw_to_linear(u))).collect(),
                ulaw: data.to_vec(),
            }),
            (6, 8) => Ok(Prompt {
                ulaw: data.iter().map(|&a| g711::linear_to_ulaw(g711::alaw_to_linear(a))).collect(),
                alaw: data.to_vec(),
            }),
            (tag, bits) => Err(WavError::Unsupported(format!("format tag {tag} with {bits} bits per sample"))),
        }
    }
}

/// Writes a 16-bit PCM mono 8 kHz WAV (tests and tools).
pub fn wav_pcm16(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize) -> Vec<i16> {
        (0..n).map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16).collect()
    }

    #[test]
    fn pcm16_wav_is_companded_to_both_laws() {
        let samples = tone(8000);
        let p = Prompt::from_wav(&wav_pcm16(&samples)).unwrap();
        assert_eq!(p.ulaw.len(), 8000);
        assert_eq!(p.duration(), Duration::from_secs(1));
        assert_eq!(p.ulaw[10], g711::linear_to_ulaw(samples[10]));
        assert_eq!(p.alaw[10], g711::linear_to_alaw(samples[10]));
    }

    #[test]
    fn ulaw_wav_is_kept_verbatim() {
        let mut wav = wav_pcm16(&[0; 4]);
        // Rewrite the header as 8-bit µ-law (tag 7) with 8 data bytes.
        wav[20..22].copy_from_slice(&7u16.to_le_bytes());
        wav[34..36].copy_from_slice(&8u16.to_le_bytes());
        let p = Prompt::from_wav(&wav).unwrap();
        assert_eq!(p.ulaw, vec![0u8; 8]);
        assert_eq!(p.alaw.len(), 8);
    }

    #[test]
    fn wrong_formats_are_named() {
        let mut stereo = wav_pcm16(&[0; 4]);
        stereo[22..24].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(Prompt::from_wav(&stereo), Err(WavError::Unsupported("2 channels".into())));
        let mut wide = wav_pcm16(&[0; 4]);
        wide[24..28].copy_from_slice(&16000u32.to_le_bytes());
        assert_eq!(Prompt::from_wav(&wide), Err(WavError::Unsupported("16000 Hz".into())));
        assert_eq!(Prompt::from_wav(b"RIFF\0\0\0\0WAVEjunk"), Err(WavError::NoFormat));
        assert_eq!(Prompt::from_wav(b"not a wav"), Err(WavError::NotWave));
    }

    #[test]
    fn truncated_input_never_panics() {
        let wav = wav_pcm16(&tone(100));
        for cut in 0..wav.len() {
            let _ = Prompt::from_wav(&wav[..cut]);
        }
    }
}
