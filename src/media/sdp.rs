//! SDP offer/answer for one audio stream (RFC 3264, RFC 4566).
//!
//! We always offer PCMU(0), PCMA(8) and telephone-event(101)/8000 and pick
//! the first codec of the answer that we support. Pure text in, values out.
//! Offers inside an established session (re-INVITE, UPDATE) are answered
//! by `reoffer.rs`.

mod reoffer;
pub use reoffer::{Reanswer, reanswer};

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// The voice codecs we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
}

/// RFC 3264 §6.1 stream direction, from the far end's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answer takes (RFC 3264 §6.1): sendonly and
    /// recvonly swap, the others stay.
    pub fn mirror(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether the far end wants our media (we may send).
    pub fn far_receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// What the offer/answer exchange settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub remote: SocketAddr,
    pub codec: Codec,
    pub payload_type: u8,
    pub dtmf_payload_type: Option<u8>,
    pub direction: Direction,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("the SDP has no audio stream")]
    NoAudio,
    #[error("the audio stream was rejected (port 0)")]
    Rejected,
    #[error("no common codec: we offered PCMU, PCMA; the answer has {0}")]
    NoCommonCodec(String),
    #[error("no usable connection address (c=)")]
    NoAddress,
    #[error("malformed SDP line: {0}")]
    Malformed(String),
}

pub const DTMF_PAYLOAD_TYPE: u8 = 101;

/// Our offer. `session_id` keeps o= unique; `version` grows on re-offers.
pub fn offer(ip: IpAddr, rtp_port: u16, session_id: u64, version: u64) -> String {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = String::with_capacity(300);
    let _ = write!(
        s,
        "v=0\r\no=dialerd {session_id} {version} IN {family} {ip}\r\ns=dialerd\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 8 {DTMF_PAYLOAD_TYPE}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:{DTMF_PAYLOAD_TYPE} telephone-event/8000\r\na=fmtp:{DTMF_PAYLOAD_TYPE} 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    s
}

/// Our answer to an offer (RFC 3264 §6.1): the codec [`negotiate`] chose
/// from it, under the offerer's payload type, and telephone-event when it
/// was offered; `sendrecv`.
pub fn answer(ip: IpAddr, rtp_port: u16, session_id: u64, n: &Negotiated) -> String {
    answer_with(ip, rtp_port, (session_id, 1), n, Direction::SendRecv)
}

/// An answer with the given o= (session id, version) and direction.
fn answer_with(ip: IpAddr, rtp_port: u16, origin: (u64, u64), n: &Negotiated, dir: Direction) -> String {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let (session_id, version) = origin;
    let pt = n.payload_type;
    let mut s = String::with_capacity(300);
    let _ = write!(
        s,
        "v=0\r\no=dialerd {session_id} {version} IN {family} {ip}\r\ns=dialerd\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP {pt}"
    );
    if let Some(d) = n.dtmf_payload_type {
        let _ = write!(s, " {d}");
    }
    let _ = write!(s, "\r\na=rtpmap:{pt} {}/8000\r\n", n.codec.name());
    if let Some(d) = n.dtmf_payload_type {
        let _ = write!(s, "a=rtpmap:{d} telephone-event/8000\r\na=fmtp:{d} 0-16\r\n");
    }
    let _ = write!(s, "a=ptime:20\r\na={}\r\n", dir.as_str());
    s
}

/// Reads the far end's answer (or offer) and settles codec and address.
pub fn negotiate(sdp: &[u8]) -> Result<Negotiated, SdpError> {
    negotiate_preferring(sdp, None)
}

/// [`negotiate`], keeping `prefer` when the SDP lists it: a session
/// refresh must not switch codecs because the offer lists them in another
/// order (RFC 3264 §8.3.2). A connection address of 0.0.0.0 is the RFC 2543
/// way to hold (RFC 3264 §8.4): it counts as "do not send to me".
pub fn negotiate_preferring(sdp: &[u8], prefer: Option<Codec>) -> Result<Negotiated, SdpError> {
    let text = std::str::from_utf8(sdp).map_err(|_| SdpError::Malformed("not UTF-8".into()))?;
    let mut session_addr: Option<IpAddr> = None;
    let mut session_dir = Direction::SendRecv;
    // The first audio m= section, once seen.
    let mut audio: Option<AudioSection> = None;
    let mut in_audio = false;
    let mut seen_audio = false;

    for raw in text.split('\n') {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (kind, value) = match line.split_once('=') {
            Some((k, v)) if k.len() == 1 => (k, v),
            _ => return Err(SdpError::Malformed(truncate(line))),
        };
        match kind {
            "m" => {
                in_audio = false;
                if !seen_audio && value.starts_with("audio ") {
                    seen_audio = true;
                    in_audio = true;
                    audio = Some(AudioSection::parse(value)?);
                }
            }
            "c" if in_audio => audio.as_mut().expect("in audio").addr = Some(parse_conn(value)?),
            "c" if !seen_audio => session_addr = Some(parse_conn(value)?),
            "a" => {
                let dir = match value {
                    "sendrecv" => Some(Direction::SendRecv),
                    "sendonly" => Some(Direction::SendOnly),
                    "recvonly" => Some(Direction::RecvOnly),
                    "inactive" => Some(Direction::Inactive),
                    _ => None,
                };
                match (dir, in_audio) {
                    (Some(d), true) => audio.as_mut().expect("in audio").dir = Some(d),
                    (Some(d), false) if !seen_audio => session_dir = d,
                    (None, true) => {
                        if let Some(map) = value.strip_prefix("rtpmap:") {
                            audio.as_mut().expect("in audio").add_rtpmap(map);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    let audio = audio.ok_or(SdpError::NoAudio)?;
    if audio.port == 0 {
        return Err(SdpError::Rejected);
    }
    let ip = audio.addr.or(session_addr).ok_or(SdpError::NoAddress)?;
    let mut codec: Option<(Codec, u8)> = None;
    let mut dtmf = None;
    for &pt in &audio.payloads {
        let name = audio.encoding(pt);
        let found = match name.as_deref() {
            Some(n) if n.eq_ignore_ascii_case("PCMU/8000") => Some(Codec::Pcmu),
            Some(n) if n.eq_ignore_ascii_case("PCMA/8000") => Some(Codec::Pcma),
            Some(n) if n.eq_ignore_ascii_case("telephone-event/8000") && dtmf.is_none() => {
                dtmf = Some(pt);
                None
            }
            _ => None,
        };
        if let Some(c) = found
            && (codec.is_none() || (Some(c) == prefer && codec.is_some_and(|(k, _)| Some(k) != prefer)))
        {
            codec = Some((c, pt));
        }
    }
    let (codec, payload_type) = codec.ok_or_else(|| {
        let names: Vec<String> =
            audio.payloads.iter().map(|&pt| audio.encoding(pt).unwrap_or_else(|| format!("payload {pt}"))).collect();
        SdpError::NoCommonCodec(if names.is_empty() { "no codecs".into() } else { names.join(", ") })
    })?;
    let mut direction = audio.dir.unwrap_or(session_dir);
    if ip.is_unspecified() {
        direction = match direction {
            Direction::SendRecv => Direction::SendOnly,
            Direction::RecvOnly => Direction::Inactive,
            d => d,
        };
    }
    Ok(Negotiated { remote: SocketAddr::new(ip, audio.port), codec, payload_type, dtmf_payload_type: dtmf, direction })
}

struct AudioSection {
    port: u16,
    payloads: Vec<u8>,
    rtpmaps: Vec<(u8, String)>,
    addr: Option<IpAddr>,
    dir: Option<Direction>,
}

impl AudioSection {
    fn parse(value: &str) -> Result<Self, SdpError> {
        let mut parts = value.split_ascii_whitespace();
        let bad = || SdpError::Malformed(truncate(value));
        parts.next(); // "audio"
        let port_text = parts.next().ok_or_else(bad)?;
        // "port/count" (RFC 4566 §5.14): we use the first port.
        let port = port_text.split('/').next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let proto = parts.next().ok_or_else(bad)?;
        let payloads = if proto.starts_with("RTP/") {
            parts.filter_map(|p| p.parse::<u8>().ok()).filter(|&p| p < 128).collect()
        } else {
            Vec::new()
        };
        Ok(Self { port, payloads, rtpmaps: Vec::new(), addr: None, dir: None })
    }

    fn add_rtpmap(&mut self, map: &str) {
        if let Some((pt, enc)) = map.split_once(' ')
            && let Ok(pt) = pt.trim().parse::<u8>()
        {
            // Keep "name/rate" and drop channel counts.
            let mut it = enc.trim().split('/');
            if let (Some(n), Some(r)) = (it.next(), it.next()) {
                self.rtpmaps.push((pt, format!("{n}/{r}")));
            }
        }
    }

    /// The encoding of a payload type: its rtpmap, else the RFC 3551 static one.
    fn encoding(&self, pt: u8) -> Option<String> {
        if let Some((_, e)) = self.rtpmaps.iter().find(|(p, _)| *p == pt) {
            return Some(e.clone());
        }
        match pt {
            0 => Some("PCMU/8000".into()),
            3 => Some("GSM/8000".into()),
            8 => Some("PCMA/8000".into()),
            9 => Some("G722/8000".into()),
            18 => Some("G729/8000".into()),
            _ => None,
        }
    }
}

fn parse_conn(value: &str) -> Result<IpAddr, SdpError> {
    // c=IN IP4 192.0.2.1[/ttl]
    let mut parts = value.split_ascii_whitespace();
    let (Some("IN"), Some(_family), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SdpError::Malformed(truncate(value)));
    };
    let addr = addr.split('/').next().unwrap_or(addr);
    addr.parse().map_err(|_| SdpError::NoAddress)
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(m: &str, extra: &str) -> String {
        format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n{m}\r\n{extra}")
    }

    #[test]
    fn an_answer_takes_the_offerers_codec_and_event_payload_types() {
        let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                     m=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n";
        let n = negotiate(offer.as_bytes()).unwrap();
        let a = super::answer("127.0.0.1".parse().unwrap(), 30000, 7, &n);
        assert!(a.contains("m=audio 30000 RTP/AVP 8 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:8 PCMA/8000") && a.contains("a=rtpmap:96 telephone-event/8000"), "{a}");
        // The answer read back settles the same codec and event type.
        let back = negotiate(a.as_bytes()).unwrap();
        assert_eq!((back.codec, back.dtmf_payload_type), (Codec::Pcma, Some(96)));
        let plain =
            negotiate(offer.replace(" 96", "").replace("a=rtpmap:96 telephone-event/8000\r\n", "").as_bytes()).unwrap();
        assert!(!super::answer("127.0.0.1".parse().unwrap(), 30000, 7, &plain).contains("telephone-event"));
    }

    #[test]
    fn offer_lists_both_laws_and_dtmf() {
        let o = offer("127.0.0.1".parse().unwrap(), 16384, 7, 1);
        assert!(o.contains("m=audio 16384 RTP/AVP 0 8 101\r\n"));
        assert!(o.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        assert!(o.contains("c=IN IP4 127.0.0.1\r\n"));
        let v6 = offer("::1".parse().unwrap(), 20000, 7, 1);
        assert!(v6.contains("c=IN IP6 ::1\r\n"));
        // Our own offer must negotiate against itself.
        let n = negotiate(o.as_bytes()).unwrap();
        assert_eq!((n.codec, n.payload_type, n.dtmf_payload_type), (Codec::Pcmu, 0, Some(101)));
    }

    #[test]
    fn answer_order_picks_the_codec() {
        let a = answer("m=audio 6000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000\r\n");
        let n = negotiate(a.as_bytes()).unwrap();
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(n.remote, "127.0.0.2:6000".parse().unwrap());
        assert_eq!(n.dtmf_payload_type, Some(101));
        assert_eq!(n.direction, Direction::SendRecv);
    }

    #[test]
    fn media_level_address_and_direction_win() {
        let a = answer("m=audio 6000 RTP/AVP 0", "c=IN IP4 10.0.0.9\r\na=sendonly\r\n");
        let n = negotiate(a.as_bytes()).unwrap();
        assert_eq!(n.remote.ip(), "10.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(n.direction, Direction::SendOnly);
        assert_eq!(n.dtmf_payload_type, None);
    }

    #[test]
    fn dynamic_telephone_event_number_is_honoured() {
        let a = answer("m=audio 6000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000\r\n");
        assert_eq!(negotiate(a.as_bytes()).unwrap().dtmf_payload_type, Some(96));
    }

    #[test]
    fn no_common_codec_names_what_was_answered() {
        let a = answer("m=audio 6000 RTP/AVP 18 101", "a=rtpmap:101 telephone-event/8000\r\n");
        match negotiate(a.as_bytes()) {
            Err(SdpError::NoCommonCodec(list)) => assert_eq!(list, "G729/8000, telephone-event/8000"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejected_and_missing_streams() {
        assert_eq!(negotiate(answer("m=audio 0 RTP/AVP 0", "").as_bytes()), Err(SdpError::Rejected));
        assert_eq!(negotiate(answer("m=video 5000 RTP/AVP 96", "").as_bytes()), Err(SdpError::NoAudio));
        assert!(matches!(negotiate(b"garbage"), Err(SdpError::Malformed(_))));
        assert!(matches!(negotiate(&[0xff, 0xfe]), Err(SdpError::Malformed(_))));
    }

    #[test]
    fn ipv6_connection() {
        let a = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 2001:db8::5\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
        assert_eq!(negotiate(a.as_bytes()).unwrap().remote, "[2001:db8::5]:7000".parse().unwrap());
    }
}
