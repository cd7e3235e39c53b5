//! Request validation for click to call (seed 000, "request validation"):
//!
//! ```text
//! Dialerd-Request-Signature: t=<unix>,n=<nonce>,v1=<hex HMAC-SHA256(secret, "<t>.<n>.<body>")>
//! ```
//!
//! The site's backend signs the exact body it sends with the site's
//! secret. dialerd accepts the request when a `v1` matches (several may be
//! sent while a secret is rotated), `t` is within the tolerance of its own
//! clock, and the nonce has not been seen (the caller checks that against
//! the store after this passes: an unsigned request must not be able to
//! burn nonces). Pure: the clock is an argument.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const HEADER: &str = "Dialerd-Request-Signature";

/// Nonces are 16 to 64 characters of `A-Za-z0-9_-`: long enough that
/// guessing one is hopeless, short enough to store.
fn valid_nonce(n: &str) -> bool {
    (16..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {HEADER} header is missing")]
    Missing,
    #[error("the {HEADER} header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the request's time is {0} s from ours (at most the tolerance is accepted)")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Mismatch,
}

/// A verified request: its time and nonce (to be recorded as used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub t: i64,
    pub nonce: String,
}

fn mac(secret: &[u8], t: i64, nonce: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(nonce.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value a site's backend sends (also used by our tests and
/// the example backend).
pub fn sign(secret: &[u8], t: i64, nonce: &str, body: &[u8]) -> String {
    let tag = mac(secret, t, nonce, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},n={nonce},v1={hex}")
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance_s: i64,
) -> Result<Signed, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > 1024 {
        return Err(SignatureError::Malformed("longer than 1024 bytes"));
    }
    let (mut t, mut nonce, mut tags) = (None, None, Vec::new());
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed("t is not a number"))?),
            Some(("n", v)) if valid_nonce(v) => nonce = Some(v.to_string()),
            Some(("n", _)) => return Err(SignatureError::Malformed("n must be 16 to 64 of A-Z a-z 0-9 _ -")),
            Some(("v1", v)) => tags.push(unhex(v).ok_or(SignatureError::Malformed("v1 is not 64 hex digits"))?),
            // Unknown schemes are ignored, so a v2 can be added later.
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed("no t="))?;
    let nonce = nonce.ok_or(SignatureError::Malformed("no n="))?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed("no v1="));
    }
    let skew = now.saturating_sub(t);
    if skew.abs() > tolerance_s {
        return Err(SignatureError::Stale(skew));
    }
    // verify_slice compares in constant time.
    if tags.iter().any(|tag| mac(secret, t, &nonce, body).verify_slice(tag).is_ok()) {
        Ok(Signed { t, nonce })
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "n0nce-0123456789abcdef";

    #[test]
    fn signed_requests_verify_and_every_change_fails() {
        let body = br#"{"phone":"+15551234","agent_group":"sales"}"#;
        let h = sign(b"site-secret", 1_700_000_000, NONCE, body);
        let ok = verify(b"site-secret", Some(&h), body, 1_700_000_100, 300).unwrap();
        assert_eq!(ok, Signed { t: 1_700_000_000, nonce: NONCE.into() });
        assert_eq!(verify(b"other", Some(&h), body, 1_700_000_000, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"site-secret", Some(&h), b"{}", 1_700_000_000, 300), Err(SignatureError::Mismatch));
        // The nonce is signed: swapping it breaks the signature.
        let swapped = h.replace(NONCE, "another-nonce-000000000");
        assert_eq!(verify(b"site-secret", Some(&swapped), body, 1_700_000_000, 300), Err(SignatureError::Mismatch));
        // Five minutes either way, no more.
        assert_eq!(verify(b"site-secret", Some(&h), body, 1_700_000_301, 300), Err(SignatureError::Stale(301)));
        assert_eq!(verify(b"site-secret", Some(&h), body, 1_699_999_699, 300), Err(SignatureError::Stale(-301)));
    }

    #[test]
    fn a_rotated_secret_verifies_with_either_tag() {
        let body = b"x";
        let old = sign(b"old", 10, NONCE, body);
        let new = sign(b"new", 10, NONCE, body);
        let both = format!("{old},v1={}", new.rsplit("v1=").next().unwrap());
        assert!(verify(b"old", Some(&both), body, 10, 300).is_ok());
        assert!(verify(b"new", Some(&both), body, 10, 300).is_ok());
    }

    #[test]
    fn malformed_headers_are_named() {
        let body = b"x";
        for (h, why) in [
            ("t=1,v1=", "v1 is not 64 hex digits"),
            (&format!("t=1,v1={}", "ab".repeat(32)), "no n="),
            ("n=n0nce-0123456789abcdef,v1=00", "v1 is not 64 hex digits"),
            ("t=x,n=n0nce-0123456789abcdef", "t is not a number"),
            ("t=1,n=short", "n must be 16 to 64 of A-Z a-z 0-9 _ -"),
            ("t=1,n=n0nce-0123456789abcdef", "no v1="),
        ] {
            assert_eq!(verify(b"s", Some(h), body, 1, 300), Err(SignatureError::Malformed(why)), "{h}");
        }
        assert_eq!(verify(b"s", None, body, 1, 300), Err(SignatureError::Missing));
        assert!(matches!(verify(b"s", Some(&"a".repeat(2000)), body, 1, 300), Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn a_known_vector() {
        // python3: hmac.new(b"key", b"1.n0nce-0123456789abcdef.body", hashlib.sha256).hexdigest()
        let h = sign(b"key", 1, NONCE, b"body");
        assert_eq!(
            h,
            format!("t=1,n={NONCE},v1={}", "ca76588d9149a7d6ad33c416fe98e4c11dcb447511c81daf1d121ae0cbfa7124")
        );
    }
}
