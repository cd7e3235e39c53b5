//! Webhook signatures: `Dialerd-Signature: t=<unix>,v1=<hex HMAC-SHA256(
//! secret, "<t>.<body>")>`, and their verification (used by the tests and
//! shown in the README). Pure.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const HEADER: &str = "Dialerd-Signature";

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let tag = mac(secret, t, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Checks a header value against the body, within `tolerance_s` of `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_s {
        return false;
    }
    v1.iter().any(|hex| {
        let bytes: Option<Vec<u8>> =
            (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
        bytes.is_some_and(|b| mac(secret, t, body).verify_slice(&b).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify() {
        let s = signature(b"whsec", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("t=1700000000,v1="));
        assert_eq!(s.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify(b"whsec", &s, b"{\"a\":1}", 1_700_000_100, 300));
        assert!(!verify(b"whsec", &s, b"{\"a\":2}", 1_700_000_100, 300), "body changed");
        assert!(!verify(b"other", &s, b"{\"a\":1}", 1_700_000_100, 300), "wrong secret");
        assert!(!verify(b"whsec", &s, b"{\"a\":1}", 1_700_001_000, 300), "too old");
        assert!(!verify(b"whsec", "t=x,v1=00", b"", 0, 300));
    }

    #[test]
    fn a_known_vector() {
        // python3: hmac.new(b"key", b"1.The quick brown fox", hashlib.sha256).hexdigest()
        assert_eq!(
            signature(b"key", 1, b"The quick brown fox"),
            "t=1,v1=1ef269d2a2a1f8d397e0e25c3e3013fb5687509234565e6e49ea45a138768457"
        );
    }
}
