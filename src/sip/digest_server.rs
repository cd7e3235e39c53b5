//! Digest authentication of INVITEs from trunks that must authenticate
//! (`[[trunks]] inbound_username`/`inbound_password`), the server side of
//! RFC 3261 §22.4 with RFC 7616/8760 algorithms: we challenge with 401 and
//! check the `Authorization` of the retried INVITE.
//!
//! Nonces are stateless: `<unix time>.<HMAC-SHA256(key, time)>`, so a
//! restart or many callers cost no memory; an old nonce gets a fresh
//! challenge with `stale=true`. Pure: the clock and the key are arguments.

use super::digest::{self, Algorithm, Challenge, Request};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub struct Verifier {
    realm: String,
    key: [u8; 32],
    ttl_s: i64,
}

/// Why an `Authorization` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// None sent: challenge.
    Missing,
    /// Ours, but too old: challenge again with `stale=true`.
    Stale,
    /// Wrong user, realm, nonce, URI or response: refuse.
    Bad(&'static str),
}

fn mac(key: &[u8], t: i64) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(t.to_string().as_bytes());
    m.finalize().into_bytes().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl Verifier {
    pub fn new(realm: &str, key: [u8; 32], ttl_s: i64) -> Verifier {
        Verifier { realm: realm.to_string(), key, ttl_s }
    }

    fn nonce(&self, now: i64) -> String {
        format!("{now}.{}", mac(&self.key, now))
    }

    /// `WWW-Authenticate` values, strongest first (RFC 8760 §2.4): a
    /// caller picks the first algorithm it implements.
    pub fn challenges(&self, algorithms: &[Algorithm], now: i64, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now);
        let stale = if stale { ", stale=true" } else { "" };
        algorithms
            .iter()
            .map(|alg| {
                let alg = alg.token();
                format!("Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={alg}, qop=\"auth\"{stale}", self.realm)
            })
            .collect()
    }

    /// Checks one `Authorization` value for `method` against the
    /// expected credentials and the algorithms we offered.
    pub fn verify(
        &self,
        header: Option<&str>,
        method: &str,
        (username, password, offered): (&str, &str, &[Algorithm]),
        now: i64,
    ) -> Result<(), AuthFailure> {
        let header = header.ok_or(AuthFailure::Missing)?;
        let rest = header.trim_start().strip_prefix("Digest").ok_or(AuthFailure::Bad("not a Digest answer"))?;
        let params = digest::parse_params(rest).ok_or(AuthFailure::Bad("malformed Authorization"))?;
        let get = |k: &str| params.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
        if get("realm") != Some(self.realm.as_str()) {
            return Err(AuthFailure::Bad("wrong realm"));
        }
        let nonce = get("nonce").ok_or(AuthFailure::Bad("no nonce"))?;
        let (t, tag) = nonce.split_once('.').ok_or(AuthFailure::Bad("not our nonce"))?;
        let t: i64 = t.parse().map_err(|_| AuthFailure::Bad("not our nonce"))?;
        if !crate::auth::constant_time_eq(mac(&self.key, t).as_bytes(), tag.as_bytes()) {
            return Err(AuthFailure::Bad("not our nonce"));
        }
        if now.saturating_sub(t) > self.ttl_s || t > now + 5 {
            return Err(AuthFailure::Stale);
        }
        // Checked after the nonce, so a stranger cannot probe user names.
        if !crate::auth::constant_time_eq(get("username").unwrap_or("").as_bytes(), username.as_bytes()) {
            return Err(AuthFailure::Bad("wrong credentials"));
        }
        let algorithm = Algorithm::parse(get("algorithm").unwrap_or("MD5"))
            .filter(|a| offered.contains(a))
            .ok_or(AuthFailure::Bad("an algorithm we did not offer"))?;
        let qop_auth = match get("qop") {
            None => false,
            Some(q) if q.eq_ignore_ascii_case("auth") => true,
            Some(_) => return Err(AuthFailure::Bad("a qop we did not offer")),
        };
        let nc = match get("nc") {
            Some(n) => u32::from_str_radix(n, 16).map_err(|_| AuthFailure::Bad("malformed nc"))?,
            None if qop_auth => return Err(AuthFailure::Bad("qop=auth without nc")),
            None => 0,
        };
        let ch = Challenge {
            realm: self.realm.clone(),
            nonce: nonce.to_string(),
            opaque: None,
            algorithm,
            session: false,
            qop_auth,
            stale: false,
        };
        let req = Request {
            method,
            uri: get("uri").ok_or(AuthFailure::Bad("no uri"))?,
            username,
            password,
            cnonce: get("cnonce").unwrap_or(""),
            nc,
        };
        let want = digest::response(&ch, &req);
        let got = get("response").unwrap_or("");
        if crate::auth::constant_time_eq(want.as_bytes(), got.to_ascii_lowercase().as_bytes()) {
            Ok(())
        } else {
            Err(AuthFailure::Bad("wrong credentials"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(challenge: &str, user: &str, pass: &str) -> String {
        let ch = Challenge::parse(challenge).unwrap();
        let uri = "sip:+15550199@127.0.0.1";
        let req = Request { method: "INVITE", uri, username: user, password: pass, cnonce: "c0ffee", nc: 1 };
        digest::authorization(&ch, &req)
    }

    #[test]
    fn our_client_side_answers_our_challenge_and_nothing_else_passes() {
        let v = Verifier::new("dialerd", [7; 32], 300);
        let both = [Algorithm::Sha256, Algorithm::Md5];
        let creds = ("carrier", "s3cret", &both[..]);
        for ch in v.challenges(&both, 1_000, false) {
            let ok = answer(&ch, "carrier", "s3cret");
            assert_eq!(v.verify(Some(&ok), "INVITE", creds, 1_010), Ok(()), "{ch}");
            // The same answer for another method, user or password fails.
            assert_eq!(v.verify(Some(&ok), "BYE", creds, 1_010), Err(AuthFailure::Bad("wrong credentials")));
            assert!(v.verify(Some(&ok), "INVITE", ("carrier", "other", &both), 1_010).is_err());
            assert!(v.verify(Some(&ok), "INVITE", ("someone", "s3cret", &both), 1_010).is_err());
            // Past the nonce's lifetime: stale, challenge again.
            assert_eq!(v.verify(Some(&ok), "INVITE", creds, 1_301), Err(AuthFailure::Stale));
        }
        // An algorithm we did not offer is refused even with the right password.
        let md5 = answer(&v.challenges(&[Algorithm::Md5], 1_000, false)[0], "carrier", "s3cret");
        let sha_only = ("carrier", "s3cret", &[Algorithm::Sha256][..]);
        assert_eq!(
            v.verify(Some(&md5), "INVITE", sha_only, 1_000),
            Err(AuthFailure::Bad("an algorithm we did not offer"))
        );
        assert_eq!(v.verify(None, "INVITE", creds, 1_000), Err(AuthFailure::Missing));
    }

    #[test]
    fn forged_nonces_and_foreign_realms_are_refused() {
        let v = Verifier::new("dialerd", [7; 32], 300);
        let other = Verifier::new("dialerd", [8; 32], 300);
        let md5 = [Algorithm::Md5];
        let creds = ("carrier", "s3cret", &md5[..]);
        let forged = answer(&other.challenges(&md5, 1_000, false)[0], "carrier", "s3cret");
        assert_eq!(v.verify(Some(&forged), "INVITE", creds, 1_000), Err(AuthFailure::Bad("not our nonce")));
        let realm = v.challenges(&md5, 1_000, false)[0].replace("realm=\"dialerd\"", "realm=\"elsewhere\"");
        let foreign = answer(&realm, "carrier", "s3cret");
        assert_eq!(v.verify(Some(&foreign), "INVITE", creds, 1_000), Err(AuthFailure::Bad("wrong realm")));
        assert!(v.challenges(&md5, 1_000, true)[0].ends_with("stale=true"));
        for junk in ["Basic abc", "Digest", "Digest realm=\"dialerd\", nonce=\"x\"", "Digest ,,,=\""] {
            assert!(v.verify(Some(junk), "INVITE", creds, 1_000).is_err(), "{junk}");
        }
    }
}
