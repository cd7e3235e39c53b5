//! `sip::wire`: raw datagrams through `scan`, `lint`, `has_rfc3261_branch`
//! and the stateless `response`, as `sip::socket` chains them.
#![no_main]

use dialerd::sip::wire::{Start, Verdict, has_rfc3261_branch, lint, reason_phrase, response, scan};
use libfuzzer_sys::fuzz_target;

const TO_TAG: &str = "fz7d3a";
/// Headers `response` echoes, by their scanned (long, lower-case) names.
const ECHOED: [&str; 5] = ["via", "from", "to", "call-id", "cseq"];

fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

fuzz_target!(|data: &[u8]| {
    let Some(m) = scan(data) else {
        // Only a datagram whose start line holds no token is unreadable.
        let first = String::from_utf8_lossy(data);
        let first = first.split('\n').next().unwrap_or("");
        assert!(first.split_whitespace().next().is_none(), "scan gave up on {first:?}");
        return;
    };
    assert!(m.body_len <= data.len());
    for (name, value) in &m.headers {
        assert!(!name.is_empty() && name.chars().all(is_token), "header name {name:?}");
        assert_eq!(name, &name.to_ascii_lowercase(), "header names are stored lower-case");
        assert!(!value.contains('\n'), "a header value spans lines: {value:?}");
    }
    if let Start::Response { code: Some(code) } = m.start {
        assert!((100..700).contains(&code), "status {code}");
    }

    let verdict = lint(&m);
    match (&m.start, verdict) {
        (Start::Response { .. }, v) => assert_eq!(v, Verdict::Pass, "responses are not linted"),
        (Start::Request { version, .. }, Verdict::Pass) => {
            assert_eq!(version, "SIP/2.0");
            for h in ["via", "from", "to", "call-id", "cseq"] {
                assert!(m.header(h).is_some(), "passed without {h}");
            }
            assert_eq!(m.broken_lines, 0);
        }
        (Start::Request { .. }, Verdict::Reject(status, why)) => {
            assert!(matches!(status, 400 | 505), "rejected with {status} ({why})");
            assert!(m.header("via").is_some(), "rejected (so answered) without a Via");
        }
        (Start::Request { .. }, Verdict::Drop(_)) => assert!(m.header("via").is_none()),
    }

    if has_rfc3261_branch(&m) {
        assert!(m.header("via").is_some_and(|v| v.contains("z9hG4bK")));
    }

    for status in [400u16, 481, 505] {
        let out = response(&m, status, reason_phrase(status), TO_TAG, &[("Retry-After", "5")]);
        let text = String::from_utf8(out.clone()).expect("a response is UTF-8");
        assert!(text.starts_with(&format!("SIP/2.0 {status} ")), "{text:?}");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text:?}");
        assert_eq!(text.find("\r\n\r\n"), Some(text.len() - 4), "a blank line inside the head: {text:?}");
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "a bare LF: {text:?}");

        // Our own response must scan back to what it echoed, in order.
        let back = scan(&out).expect("our response scans");
        assert_eq!(back.start, Start::Response { code: Some(status) });
        assert_eq!(back.body_len, 0);
        assert_eq!(back.broken_lines, 0, "{text:?}");
        let sent: Vec<(&str, &str)> =
            m.headers.iter().filter(|(n, _)| ECHOED.contains(&n.as_str())).map(|(n, v)| (n.as_str(), v.trim())).collect();
        let got: Vec<(&str, &str)> =
            back.headers.iter().filter(|(n, _)| ECHOED.contains(&n.as_str())).map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(sent.len(), got.len(), "{text:?}");
        for ((sn, sv), (gn, gv)) in sent.iter().zip(&got) {
            assert_eq!(sn, gn);
            if *sn == "to" {
                assert!(gv.starts_with(sv), "To {gv:?} does not start with {sv:?}");
                assert!(gv.to_ascii_lowercase().contains("tag"), "To {gv:?} has no tag");
            } else {
                assert_eq!(sv, gv, "{sn} changed");
            }
        }
        assert_eq!(back.header("content-length"), Some("0"));
        assert_eq!(back.header("retry-after"), Some("5"));
    }
});
