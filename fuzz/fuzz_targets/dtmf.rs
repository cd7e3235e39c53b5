//! `media::dtmf`: RFC 4733 telephone-event payloads and the receiver's
//! de-duplication, checked against a model.
//!
//! Input: records of `[ssrc selector][timestamp selector][len][payload…]`;
//! the selectors use small ranges so keys repeat and the 16-entry memory
//! wraps.
#![no_main]

use dialerd::media::dtmf::{DtmfReceiver, EventPayload, event_char};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;

const MEMORY: usize = 16;

fn check_payload(p: &[u8]) {
    match EventPayload::parse(p) {
        None => assert!(p.len() < 4, "a {}-byte payload refused", p.len()),
        Some(ev) => {
            assert!(p.len() >= 4);
            assert_eq!(ev.code, p[0]);
            assert_eq!(ev.end, p[1] & 0x80 != 0);
            assert!(ev.volume <= 0x3F);
            // Encoding drops only the reserved R bit (0x40).
            assert_eq!(ev.encode(), [p[0], p[1] & !0x40, p[2], p[3]]);
            assert_eq!(EventPayload::parse(&ev.encode()), Some(ev));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_payload(data);

    let mut rx = DtmfReceiver::default();
    let mut model: VecDeque<(u32, u32)> = VecDeque::new();
    let mut rest = data;
    while rest.len() >= 3 {
        let ssrc = u32::from(rest[0] & 0x03) * 0x0101_0101;
        let timestamp = u32::from(rest[1] & 0x1F) * 160;
        let len = usize::from(rest[2] & 0x07).min(rest.len() - 3);
        let payload = &rest[3..3 + len];
        rest = &rest[3 + len..];
        check_payload(payload);

        let got = rx.handle(ssrc, timestamp, payload);
        let expected = EventPayload::parse(payload).and_then(|ev| event_char(ev.code)).and_then(|digit| {
            if model.contains(&(ssrc, timestamp)) {
                return None;
            }
            if model.len() == MEMORY {
                model.pop_front();
            }
            model.push_back((ssrc, timestamp));
            Some(digit)
        });
        assert_eq!(got, expected, "ssrc {ssrc:#x} ts {timestamp} payload {payload:02x?}");
        if let Some(d) = got {
            assert!("0123456789*#ABCD".contains(d));
        }
    }
});
