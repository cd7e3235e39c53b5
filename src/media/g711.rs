//! G.711 µ-law (PCMU) and A-law (PCMA) companding, ITU-T G.711.
//!
//! Pure functions on samples: prompts are companded once at load time and
//! the bridge issue transcodes between the two laws with them.

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// The µ-law byte for digital silence (linear 0).
pub const ULAW_SILENCE: u8 = 0xFF;
/// The A-law byte for digital silence (linear 0).
pub const ALAW_SILENCE: u8 = 0xD5;

pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // Segment: position of the highest set bit above bit 7.
    let exponent = (31 - (s >> 7).max(1).leading_zeros()) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

pub fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 { -magnitude as i16 } else { magnitude as i16 }
}

pub fn linear_to_alaw(sample: i16) -> u8 {
    let (mask, mut s) =
        if sample >= 0 { (0xD5u8, (sample as i32) >> 3) } else { (0x55u8, (-(sample as i32) - 1) >> 3) };
    s = s.min(0xFFF);
    // Segment ends for the 13-bit magnitude: 0x1F, 0x3F, ... 0xFFF.
    let seg = (32 - (s >> 5).leading_zeros()) as i32;
    let quant = if seg < 2 { (s >> 1) & 0x0F } else { (s >> seg) & 0x0F };
    (((seg << 4) | quant) as u8) ^ mask
}

pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_bytes() {
        assert_eq!(linear_to_ulaw(0), ULAW_SILENCE);
        assert_eq!(linear_to_alaw(0), ALAW_SILENCE);
        assert_eq!(ulaw_to_linear(ULAW_SILENCE), 0);
        assert!(alaw_to_linear(ALAW_SILENCE).abs() <= 8);
    }

    #[test]
    fn every_ulaw_code_round_trips() {
        for b in 0..=255u8 {
            if b == 0x7F {
                continue; // "negative zero" decodes to 0, which encodes as 0xFF
            }
            assert_eq!(linear_to_ulaw(ulaw_to_linear(b)), b, "code {b:#04x}");
        }
    }

    #[test]
    fn every_alaw_code_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b, "code {b:#04x}");
        }
    }

    #[test]
    fn companding_error_is_bounded_and_monotonic() {
        let mut prev_u = i16::MIN;
        let mut prev_a = i16::MIN;
        for s in (-32768i32..=32767).step_by(7) {
            let s = s as i16;
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            // Relative error of a logarithmic quantiser: under 1/16 plus a step.
            let tol = (s as i32).abs() / 16 + 64;
            assert!((u as i32 - s as i32).abs() <= tol.max(130), "ulaw {s} -> {u}");
            assert!((a as i32 - s as i32).abs() <= tol.max(130), "alaw {s} -> {a}");
            assert!(u >= prev_u && a >= prev_a, "not monotonic at {s}");
            prev_u = u;
            prev_a = a;
        }
    }

    #[test]
    fn extremes_saturate() {
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }
}
