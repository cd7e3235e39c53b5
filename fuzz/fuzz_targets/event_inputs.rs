//! What dialerd reads from outside in `events/`: a CRM's screen-pop reply
//! (`screenpop::parse_reply`) and a `Dialerd-Signature` header
//! (`sign::verify`, used by receivers and the tests). Any input must give
//! an answer, never a panic; an accepted reply has STATUS exactly "OK"; a
//! signature made by `sign::signature` always verifies and a changed body
//! never does. The same holds for click-to-call request signatures
//! (`clicktocall::signature`).
#![no_main]

use dialerd::clicktocall::signature as request;
use dialerd::events::screenpop::parse_reply;
use dialerd::events::sign::{signature, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]) % 600;
    let body = &data[2..];
    if let Ok(info) = parse_reply(status, body, "201") {
        assert_eq!(info.status, "OK");
        assert!((200..300).contains(&status));
        assert_eq!(info.extension, "201");
        assert!(info.total.is_none_or(|t| t >= 0));
    }
    let header = String::from_utf8_lossy(body);
    let _ = verify(b"secret", &header, body, 1_700_000_000, 300);
    let t = i64::from(data[0]) * 1000 + 1_700_000_000;
    let sig = signature(b"secret", t, body);
    assert!(verify(b"secret", &sig, body, t, 0));
    let mut changed = body.to_vec();
    changed.push(b'x');
    assert!(!verify(b"secret", &sig, &changed, t, 0));
    let _ = request::verify(b"secret", Some(&header), body, 1_700_000_000, 300);
    let nonce = "fuzz-nonce-0123456789";
    let h = request::sign(b"secret", t, nonce, body);
    assert!(request::verify(b"secret", Some(&h), body, t, 0).is_ok());
    assert!(request::verify(b"secret", Some(&h), &changed, t, 0).is_err());
});
