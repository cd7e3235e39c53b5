//! Header values and in-dialog bodies the far end controls: `Reason:
//! Q.850` (RFC 3326), `Session-Expires` (RFC 4028), INFO digit bodies
//! (`application/dtmf-relay`, `application/dtmf`), and re-INVITE/UPDATE
//! offers answered from the SDP we sent last.
//!
//! Input: the first byte picks the parser; the rest is its input.
#![no_main]

use dialerd::call::session_timer::parse_session_expires;
use dialerd::media::dtmf::info_digit;
use dialerd::media::sdp::{self, Codec};
use dialerd::sip::reason::Q850;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match which % 4 {
        0 => {
            if let Some(q) = Q850::parse(&text) {
                // What we read, we can write and read back the same.
                assert_eq!(Q850::parse(&q.header()), Some(q.clone()), "{text:?}");
            }
        }
        1 => {
            if let Some((interval, _)) = parse_session_expires(&text) {
                assert!(!interval.is_zero(), "{text:?}");
            }
        }
        2 => {
            let (ct, body) = rest.split_at(rest.len().min(usize::from(rest.first().copied().unwrap_or(0) % 40)));
            let ct = String::from_utf8_lossy(ct);
            if let Some(d) = info_digit(&ct, body) {
                assert!("0123456789*#ABCD".contains(d), "{d:?}");
            }
        }
        _ => {
            let ours = sdp::offer("127.0.0.1".parse().unwrap(), 40_000, 7, 1);
            let current = if rest.first().is_some_and(|b| b & 1 == 1) { Some(Codec::Pcma) } else { None };
            if let Ok(r) = sdp::reanswer(ours.as_bytes(), current, rest) {
                // Our answer is SDP we can read back.
                assert!(sdp::negotiate(r.sdp.as_bytes()).is_ok(), "{}", r.sdp);
            }
        }
    }
});
