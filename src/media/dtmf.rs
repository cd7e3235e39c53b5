//! RFC 4733 telephone-event receiver: one digit per event; and digits sent
//! in SIP INFO bodies (`info_digit`), which carriers use instead of RTP.
//!
//! An event is one (SSRC, RTP timestamp) pair (RFC 4733 §2.5.1.2: all packets
//! of an event share the timestamp of its start); its packets are repeated
//! and its end packet is sent three times (§2.5.1.4). Events may come with an
//! SSRC of their own (SIPp's DTMF pcaps do), so the key includes the SSRC
//! rather than filtering on the voice stream's.

/// RFC 4733 §3.2 event codes 0–15 as characters.
pub fn event_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

/// The digit of a SIP INFO body: `application/dtmf-relay` (`Signal=5`
/// then `Duration=160`, lines in any order) or `application/dtmf` (the
/// digit alone). Signals are a key (`0`–`9`, `*`, `#`, `A`–`D`) or an RFC
/// 4733 event code (`10` is `*`). `None` for other bodies.
pub fn info_digit(content_type: &str, body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    let ct = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let signal = match ct.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?,
        "application/dtmf" => text.trim(),
        _ => return None,
    };
    let mut chars = signal.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() || matches!(c, '*' | '#') => Some(c),
        (Some(c), None) if ('A'..='D').contains(&c.to_ascii_uppercase()) => Some(c.to_ascii_uppercase()),
        _ => signal.parse::<u8>().ok().and_then(event_char),
    }
}

/// A parsed telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub code: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

impl EventPayload {
    pub fn parse(p: &[u8]) -> Option<Self> {
        if p.len() < 4 {
            return None;
        }
        Some(Self {
            code: p[0],
            end: p[1] & 0x80 != 0,
            volume: p[1] & 0x3F,
            duration: u16::from_be_bytes([p[2], p[3]]),
        })
    }

    pub fn encode(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.code, (self.end as u8) << 7 | (self.volume & 0x3F), d[0], d[1]]
    }
}

/// Remembers recent events so repeats are not counted twice.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    recent: [Option<(u32, u32)>; 16],
    next: usize,
}

impl DtmfReceiver {
    /// Feeds one telephone-event packet; returns the digit the first time an
    /// event is seen (start or, if the start was lost, a later packet).
    pub fn handle(&mut self, ssrc: u32, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = EventPayload::parse(payload)?;
        let digit = event_char(ev.code)?;
        let key = (ssrc, timestamp);
        if self.recent.contains(&Some(key)) {
            return None;
        }
        self.recent[self.next] = Some(key);
        self.next = (self.next + 1) % self.recent.len();
        Some(digit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(code: u8, end: bool, duration: u16) -> [u8; 4] {
        EventPayload { code, end, volume: 10, duration }.encode()
    }

    #[test]
    fn one_digit_per_event_despite_repeats() {
        let mut rx = DtmfReceiver::default();
        let mut got = Vec::new();
        // Digit 5: start, updates, and the triple end packet.
        for (end, dur) in [(false, 160), (false, 320), (false, 480), (true, 640), (true, 640), (true, 640)] {
            got.extend(rx.handle(1, 8000, &pkt(5, end, dur)));
        }
        // Same digit pressed again is a new event (new timestamp).
        for end in [false, true, true, true] {
            got.extend(rx.handle(1, 9600, &pkt(5, end, 400)));
        }
        assert_eq!(got, vec!['5', '5']);
    }

    #[test]
    fn event_seen_only_by_its_end_packets_still_counts() {
        let mut rx = DtmfReceiver::default();
        let got: Vec<char> = (0..3).filter_map(|_| rx.handle(7, 100, &pkt(11, true, 800))).collect();
        assert_eq!(got, vec!['#']);
    }

    #[test]
    fn events_on_another_ssrc_are_separate_streams() {
        let mut rx = DtmfReceiver::default();
        assert_eq!(rx.handle(1, 100, &pkt(1, false, 160)), Some('1'));
        assert_eq!(rx.handle(2, 100, &pkt(2, false, 160)), Some('2'));
    }

    #[test]
    fn info_bodies() {
        let relay = "application/dtmf-relay";
        assert_eq!(info_digit(relay, b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(info_digit("Application/DTMF-Relay; x=1", b"Duration=250\nSignal= #\n"), Some('#'));
        assert_eq!(info_digit(relay, b"Signal=10\r\nDuration=160"), Some('*'));
        assert_eq!(info_digit(relay, b"Signal=b\r\n"), Some('B'));
        assert_eq!(info_digit("application/dtmf", b"7\r\n"), Some('7'));
        assert_eq!(info_digit("application/dtmf", b"11"), Some('#'));
        assert_eq!(info_digit(relay, b"Duration=160"), None, "no signal");
        assert_eq!(info_digit(relay, b"Signal=x"), None);
        assert_eq!(info_digit("application/sdp", b"Signal=5"), None, "another package");
    }

    #[test]
    fn codes_and_garbage() {
        assert_eq!(event_char(10), Some('*'));
        assert_eq!(event_char(15), Some('D'));
        assert_eq!(event_char(16), None);
        let mut rx = DtmfReceiver::default();
        assert_eq!(rx.handle(1, 1, &[1, 2]), None);
        assert_eq!(rx.handle(1, 2, &pkt(16, false, 1)), None);
    }
}
