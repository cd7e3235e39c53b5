//! HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 7616, RFC 8760).
//!
//! rsipstack 0.7.14 answers MD5 challenges but cannot parse
//! `algorithm=SHA-256` (docs/sip-stack.md), so dialerd answers challenges
//! itself: pick the strongest challenge offered, compute the response, and
//! let the UAC resend once per challenge. Pure functions, no I/O.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    Md5,
    Sha256,
    Sha512_256,
}

impl Algorithm {
    /// `MD5`, `SHA-256` or `SHA-512-256` (any case).
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-512-256" => Some(Algorithm::Sha512_256),
            _ => None,
        }
    }

    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }

    fn hash(self, data: &str) -> String {
        fn hex(bytes: &[u8]) -> String {
            let mut s = String::with_capacity(bytes.len() * 2);
            for b in bytes {
                let _ = write!(s, "{b:02x}");
            }
            s
        }
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
            Algorithm::Sha512_256 => hex(&Sha512_256::digest(data.as_bytes())),
        }
    }
}

/// A parsed `WWW-Authenticate` / `Proxy-Authenticate` Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    pub session: bool,
    /// `qop=auth` offered (we never choose auth-int: it hashes the body).
    pub qop_auth: bool,
    pub stale: bool,
}

impl Challenge {
    /// Parses one header value; `None` for other schemes or algorithms we
    /// do not implement (the caller then tries the next challenge).
    pub fn parse(value: &str) -> Option<Challenge> {
        let v = value.trim_start();
        let (scheme, rest) = v.split_at(v.find(|c: char| c.is_whitespace()).unwrap_or(v.len()));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let params = parse_params(rest)?;
        let get = |k: &str| params.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        let alg_text = get("algorithm").unwrap_or_else(|| "MD5".into());
        // Byte-wise: the value comes from the far end and may be any UTF-8
        // (found by fuzz/fuzz_targets/digest_challenge.rs).
        let bytes = alg_text.as_bytes();
        let (alg_name, session) = match bytes.len().checked_sub(5) {
            Some(i) if bytes[i..].eq_ignore_ascii_case(b"-sess") => (&alg_text[..i], true),
            _ => (alg_text.as_str(), false),
        };
        let algorithm = match alg_name.to_ascii_uppercase().as_str() {
            "MD5" => Algorithm::Md5,
            "SHA-256" => Algorithm::Sha256,
            "SHA-512-256" => Algorithm::Sha512_256,
            _ => return None,
        };
        let qop = get("qop");
        let qop_auth = qop.as_deref().is_some_and(|q| q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")));
        if qop.is_some() && !qop_auth {
            return None; // auth-int only: we cannot answer it
        }
        Some(Challenge {
            realm: get("realm")?,
            nonce: get("nonce")?,
            opaque: get("opaque"),
            algorithm,
            session,
            qop_auth,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The strongest challenge among several header values (RFC 8760 §2.4).
    pub fn strongest<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
        values.into_iter().filter_map(Challenge::parse).max_by_key(|c| c.algorithm)
    }
}

/// What the response is computed over.
pub struct Request<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub cnonce: &'a str,
    pub nc: u32,
}

/// The `response` value (RFC 7616 §3.4.1).
pub fn response(ch: &Challenge, req: &Request) -> String {
    let h = |s: &str| ch.algorithm.hash(s);
    let mut ha1 = h(&format!("{}:{}:{}", req.username, ch.realm, req.password));
    if ch.session {
        ha1 = h(&format!("{ha1}:{}:{}", ch.nonce, req.cnonce));
    }
    let ha2 = h(&format!("{}:{}", req.method, req.uri));
    if ch.qop_auth {
        h(&format!("{ha1}:{}:{:08x}:{}:auth:{ha2}", ch.nonce, req.nc, req.cnonce))
    } else {
        h(&format!("{ha1}:{}:{ha2}", ch.nonce))
    }
}

/// The full `Authorization` / `Proxy-Authorization` header value.
pub fn authorization(ch: &Challenge, req: &Request) -> String {
    let mut s = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}{}",
        quote(req.username),
        quote(&ch.realm),
        quote(&ch.nonce),
        req.uri,
        response(ch, req),
        ch.algorithm.token(),
        if ch.session { "-sess" } else { "" },
    );
    if ch.qop_auth {
        let _ = write!(s, ", qop=auth, nc={:08x}, cnonce=\"{}\"", req.nc, quote(req.cnonce));
    }
    if let Some(o) = &ch.opaque {
        let _ = write!(s, ", opaque=\"{}\"", quote(o));
    }
    s
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `name=value` pairs, values either tokens or quoted strings.
pub(super) fn parse_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || name.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 §3.9.1: the same request under MD5 and SHA-256.
    const RFC7616: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=ALG, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    fn rfc7616_request() -> Request<'static> {
        Request {
            method: "GET",
            uri: "/dir/index.html",
            username: "Mufasa",
            password: "Circle of Life",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            nc: 1,
        }
    }

    #[test]
    fn rfc7616_md5_vector() {
        let ch = Challenge::parse(&RFC7616.replace("ALG", "MD5")).unwrap();
        assert_eq!(response(&ch, &rfc7616_request()), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let ch = Challenge::parse(&RFC7616.replace("ALG", "SHA-256")).unwrap();
        assert_eq!(ch.algorithm, Algorithm::Sha256);
        assert_eq!(
            response(&ch, &rfc7616_request()),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let header = authorization(&ch, &rfc7616_request());
        assert!(
            header.contains(
                "algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\""
            ),
            "{header}"
        );
        assert!(header.ends_with("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
    }

    #[test]
    fn rfc2617_md5_vector() {
        // RFC 2617 §3.5.
        let ch = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let req = Request {
            method: "GET",
            uri: "/dir/index.html",
            username: "Mufasa",
            password: "Circle Of Life",
            cnonce: "0a4f113b",
            nc: 1,
        };
        assert_eq!(response(&ch, &req), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn no_qop_uses_the_rfc2069_form() {
        let ch = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
        let req = Request { method: "INVITE", uri: "sip:1@h", username: "u", password: "p", cnonce: "c", nc: 1 };
        let ha1 = Algorithm::Md5.hash("u:r:p");
        let ha2 = Algorithm::Md5.hash("INVITE:sip:1@h");
        assert_eq!(response(&ch, &req), Algorithm::Md5.hash(&format!("{ha1}:n:{ha2}")));
        assert!(!authorization(&ch, &req).contains("qop"));
    }

    #[test]
    fn strongest_challenge_wins_and_unknown_ones_are_skipped() {
        let values = [
            r#"Digest realm="r", nonce="a", algorithm=MD5"#,
            r#"Digest realm="r", nonce="b", algorithm=SHA-256"#,
            r#"Digest realm="r", nonce="c", algorithm=UNKNOWN"#,
            r#"Basic realm="r""#,
        ];
        assert_eq!(Challenge::strongest(values).unwrap().nonce, "b");
        assert!(Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#).is_none());
        assert!(Challenge::parse(r#"Digest realm="r""#).is_none(), "nonce is required");
        assert!(Challenge::parse(r#"Digest realm="unterminated"#).is_none());
    }

    #[test]
    fn sess_variants_hash_the_nonces_into_ha1() {
        let ch = Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop=auth"#).unwrap();
        assert!(ch.session);
        let req = Request { method: "INVITE", uri: "sip:1@h", username: "u", password: "p", cnonce: "c", nc: 1 };
        let h = |s: &str| Algorithm::Sha256.hash(s);
        let ha1 = h(&format!("{}:n:c", h("u:r:p")));
        let ha2 = h("INVITE:sip:1@h");
        assert_eq!(response(&ch, &req), h(&format!("{ha1}:n:00000001:c:auth:{ha2}")));
    }

    #[test]
    fn non_ascii_algorithms_are_refused_without_panic() {
        assert!(Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=€€").is_none());
        assert!(Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5€-sess").is_none());
    }

    #[test]
    fn quoted_values_unescape() {
        let ch = Challenge::parse(r#"Digest realm="a \"b\"", nonce="x\\y", stale=TRUE"#).unwrap();
        assert_eq!(ch.realm, "a \"b\"");
        assert_eq!(ch.nonce, "x\\y");
        assert!(ch.stale);
    }
}
