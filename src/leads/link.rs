//! Signed, expiring tokens for a lead's confirm page `/l/{token}`.
//!
//! The email, SMS and WhatsApp follow-ups carry a link that lets the lead qualify ("call me") or opt out
//! without logging in, so the token itself is the credential: it must be unforgeable, bound to one lead, and
//! stop working after a while. It is stateless (no table of issued links) so any dialerd instance can verify it.
//! Format: `<lead_id>.<expires_unix>.<sig>`, where `sig` is the lowercase hex of the first 16 bytes of
//! HMAC-SHA256(secret, "<lead_id>.<expires_unix>"). 128 bits resist forgery, and the whole token stays well
//! under 80 characters so the link fits an SMS next to the message. Every character is URL-safe.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Tokens longer than this are refused before parsing or hashing: the longest genuine one (two i64::MIN values)
/// is 74 bytes, and refusing early keeps an unauthenticated endpoint from hashing attacker-sized input.
pub const MAX_TOKEN_LEN: usize = 100;

/// Bytes of the HMAC kept in the token.
const SIG_BYTES: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not shaped like a token we issue; also covers non-canonical numbers that would alias a real token.
    #[error("link is malformed")]
    Malformed,
    #[error("link signature is not valid")]
    BadSignature,
    /// Reported only for genuine tokens, so the page can tell the lead to ask for a new link.
    #[error("link has expired")]
    Expired,
}

fn mac(secret: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(payload.as_bytes());
    m
}

/// Token for `lead`, valid while `now < expires_unix`. The secret should be at least 32 random bytes; it is not
/// checked here so that tests and config validation decide how to report a weak one.
pub fn sign(secret: &[u8], lead: i64, expires_unix: i64) -> String {
    let payload = format!("{lead}.{expires_unix}");
    let tag = mac(secret, &payload).finalize().into_bytes();
    let mut token = payload;
    token.push('.');
    for b in &tag[..SIG_BYTES] {
        token.push(char::from(HEX[usize::from(b >> 4)]));
        token.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    token
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The number only if written exactly as `sign` writes it. Without this, "042", "+42" or " 42" would parse to
/// the same lead but fail the HMAC (it covers the text), which is safe but reports the wrong error; rejecting
/// them as malformed keeps exactly one spelling per token.
fn canonical(s: &str) -> Option<i64> {
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

/// Lowercase hex only: one spelling per signature, as for the numbers.
fn unhex(s: &str) -> Option<[u8; SIG_BYTES]> {
    let digit = |b: u8| HEX.iter().position(|&h| h == b).map(|p| p as u8);
    if s.len() != SIG_BYTES * 2 {
        return None;
    }
    let mut out = [0; SIG_BYTES];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        *o = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// Checks `token` and returns its lead id. The signature is checked (in constant time) before the expiry, so
/// `Expired` never reveals anything about a forged token.
pub fn verify(secret: &[u8], token: &str, now_unix: i64) -> Result<i64, LinkError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(LinkError::Malformed);
    }
    let mut fields = token.split('.');
    let (Some(lead_s), Some(exp_s), Some(sig_s), None) = (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(LinkError::Malformed);
    };
    let (Some(lead), Some(expires), Some(sig)) = (canonical(lead_s), canonical(exp_s), unhex(sig_s)) else {
        return Err(LinkError::Malformed);
    };
    // The signed payload is the token's own prefix; canonical() guarantees it equals what sign() hashed.
    let payload = &token[..lead_s.len() + 1 + exp_s.len()];
    mac(secret, payload).verify_truncated_left(&sig).map_err(|_| LinkError::BadSignature)?;
    if now_unix >= expires {
        return Err(LinkError::Expired);
    }
    Ok(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_700_000_000;

    #[test]
    fn known_vector() {
        // Computed independently (Python hmac), pinning the format for anything else that mints links.
        assert_eq!(sign(SECRET, 42, NOW), "42.1700000000.b0847e1ad2c5735e16d7e82e080b42df");
    }

    #[test]
    fn round_trip() {
        for (lead, exp) in [(1, NOW + 1), (42, NOW + 86_400), (i64::MAX, i64::MAX), (-7, NOW + 5), (0, NOW + 60)] {
            let token = sign(SECRET, lead, exp);
            assert_eq!(verify(SECRET, &token, NOW), Ok(lead), "{token}");
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'), "{token}");
        }
        assert_eq!(sign(SECRET, i64::MIN, i64::MIN).len(), 74);
    }

    #[test]
    fn expiry_is_exclusive() {
        let token = sign(SECRET, 9, NOW);
        assert_eq!(verify(SECRET, &token, NOW - 1), Ok(9));
        assert_eq!(verify(SECRET, &token, NOW), Err(LinkError::Expired));
        assert_eq!(verify(SECRET, &token, i64::MAX), Err(LinkError::Expired));
        assert_eq!(verify(SECRET, &sign(SECRET, 9, i64::MIN), i64::MIN), Err(LinkError::Expired));
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let token = sign(SECRET, 12345, NOW + 3600);
        let replacements = "0123456789abcdefABCDEF.-+ xz/%\u{0660}";
        for (i, original) in token.char_indices() {
            for r in replacements.chars().filter(|&r| r != original) {
                let mut changed = token.clone();
                changed.replace_range(i..i + 1, r.encode_utf8(&mut [0; 4]));
                assert!(verify(SECRET, &changed, NOW).is_err(), "{changed}");
            }
            let mut removed = token.clone();
            removed.remove(i);
            assert!(verify(SECRET, &removed, NOW).is_err(), "{removed}");
            for r in ['0', 'a', '.'] {
                let mut inserted = token.clone();
                inserted.insert(i, r);
                assert!(verify(SECRET, &inserted, NOW).is_err(), "{inserted}");
            }
        }
        // A forged expiry is a bad signature, even though the forged time has passed.
        let forged = token.replacen(&(NOW + 3600).to_string(), &(NOW - 1).to_string(), 1);
        assert_eq!(verify(SECRET, &forged, NOW), Err(LinkError::BadSignature));
    }

    #[test]
    fn malformed_inputs() {
        let good = sign(SECRET, 42, NOW + 60);
        let sig = good.rsplit('.').next().unwrap();
        let cases = [
            String::new(),
            "42".into(),
            format!("42.{}", NOW + 60),
            format!("42.{}.{sig}.", NOW + 60),
            format!("042.{}.{sig}", NOW + 60),
            format!("+42.{}.{sig}", NOW + 60),
            format!(" 42.{}.{sig}", NOW + 60),
            format!("42.{} .{sig}", NOW + 60),
            format!("-0.{}.{sig}", NOW + 60),
            format!("42.{}.{}", NOW + 60, sig.to_uppercase()),
            format!("42.{}.{}", NOW + 60, &sig[..31]),
            format!("42.{}.{sig}0", NOW + 60),
            format!("42.{}.{}", NOW + 60, &sig[..16]),
            format!("99999999999999999999.{}.{sig}", NOW + 60),
            format!("42.{}.{sig}", "9".repeat(80)),
            "a.b.c".into(),
            "..".into(),
            "€.€.€".into(),
        ];
        for bad in cases {
            assert_eq!(verify(SECRET, &bad, NOW), Err(LinkError::Malformed), "{bad:?}");
        }
        let long = format!("{good}{}", "0".repeat(MAX_TOKEN_LEN));
        assert_eq!(verify(SECRET, &long, NOW), Err(LinkError::Malformed));
    }

    #[test]
    fn other_secret_or_lead_is_rejected() {
        let token = sign(SECRET, 42, NOW + 60);
        assert_eq!(verify(b"another secret", &token, NOW), Err(LinkError::BadSignature));
        assert_eq!(verify(b"", &token, NOW), Err(LinkError::BadSignature));
        let other = sign(SECRET, 43, NOW + 60);
        let swapped = format!("42.{}", other.split_once('.').unwrap().1);
        assert_eq!(verify(SECRET, &swapped, NOW), Err(LinkError::BadSignature));
        assert_eq!(LinkError::Expired.to_string(), "link has expired");
    }
}
