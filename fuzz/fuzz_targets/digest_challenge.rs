//! `sip::digest`: `WWW-Authenticate` / `Proxy-Authenticate` values from a
//! trunk through `Challenge::parse`, `Challenge::strongest` and back out as
//! an `authorization` header; each value also as an `Authorization` a
//! trunk sends us (`digest_server::Verifier::verify`, never a panic), and
//! our client's answer to our server's challenge must verify.
//!
//! Input: UTF-8 text; lines 1–4 are challenge values, a fifth line (if
//! any) is `username:password:cnonce` for the answer.
#![no_main]

use dialerd::sip::digest::{Algorithm, Challenge, Request, authorization, response};
use dialerd::sip::digest_server::Verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let values: Vec<&str> = lines.by_ref().take(4).collect();
    let creds = lines.next().unwrap_or("alice:secret:0a4f113b");
    let mut creds = creds.splitn(3, ':');
    let (username, password, cnonce) =
        (creds.next().unwrap_or(""), creds.next().unwrap_or(""), creds.next().unwrap_or(""));
    let req = Request {
        method: "INVITE",
        uri: "sip:+15551234@trunk.example.com",
        username,
        password,
        cnonce,
        nc: data.len() as u32,
    };

    let verifier = Verifier::new("dialerd", [3; 32], 300);
    let all = [Algorithm::Sha256, Algorithm::Md5, Algorithm::Sha512_256];
    for v in &values {
        // Any answer may come off the wire; it must never panic.
        let _ = verifier.verify(Some(v), "INVITE", (username, password, &all), 1_000);
    }
    for ch in verifier.challenges(&all, 1_000, false) {
        let ours = Challenge::parse(&ch).expect("our challenge parses");
        let answer = authorization(&ours, &req);
        assert_eq!(verifier.verify(Some(&answer), "INVITE", (username, password, &all), 1_000), Ok(()), "{answer:?}");
    }

    let parsed: Vec<Challenge> = values.iter().filter_map(|v| Challenge::parse(v)).collect();
    let best = Challenge::strongest(values.iter().copied());
    assert_eq!(best.is_some(), !parsed.is_empty());
    if let Some(best) = &best {
        assert!(parsed.iter().all(|c| c.algorithm <= best.algorithm), "strongest is not the strongest");
        assert!(parsed.contains(best));
    }

    for (value, ch) in values.iter().filter_map(|v| Challenge::parse(v).map(|c| (*v, c))) {
        assert_eq!(Challenge::parse(value).as_ref(), Some(&ch), "parse is not deterministic");
        assert!(value.trim_start().get(..6).is_some_and(|s| s.eq_ignore_ascii_case("Digest")));

        let digest = response(&ch, &req);
        let hex_len = match ch.algorithm {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 | Algorithm::Sha512_256 => 64,
        };
        assert_eq!(digest.len(), hex_len, "{digest:?}");
        assert!(digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{digest:?}");

        // Our Authorization header quotes realm, nonce and opaque, so read
        // as a challenge it must give back the same parameters.
        let header = authorization(&ch, &req);
        assert!(header.starts_with("Digest username=\""), "{header:?}");
        assert!(header.contains(&format!("response=\"{digest}\"")), "{header:?}");
        let back = Challenge::parse(&header).unwrap_or_else(|| panic!("our header does not parse back: {header:?}"));
        assert_eq!(back, Challenge { stale: false, ..ch.clone() }, "{header:?}");
    }
});
