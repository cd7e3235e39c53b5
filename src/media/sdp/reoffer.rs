//! Offers inside an established session (RFC 3264 §8): a re-INVITE or
//! UPDATE from the far end, answered from the SDP we sent last.
//!
//! A session refresh (same codec, same direction) gets our previous SDP
//! back unchanged, o= version included (RFC 3264 §8: the version grows only
//! when the description changes). Hold and resume change the direction,
//! mirrored in the answer (sendonly → recvonly, inactive → inactive); a
//! codec we speak may replace the current one; an offer we cannot take is
//! an error, which the SIP layer answers 488 while the old session goes on
//! (RFC 3261 §14.2).

use super::{Codec, Negotiated, SdpError, answer_with, negotiate_preferring, parse_conn, truncate};
use std::net::IpAddr;

/// Our answer to a re-offer, and the session it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reanswer {
    pub sdp: String,
    pub session: Negotiated,
}

/// Our side of the session as the SDP we last sent describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Local {
    ip: IpAddr,
    port: u16,
    session_id: u64,
    version: u64,
}

/// Answers `offer` from `ours` (the SDP we last sent, offer or answer),
/// keeping `current` (the codec in use) when the offer still lists it.
pub fn reanswer(ours: &[u8], current: Option<Codec>, offer: &[u8]) -> Result<Reanswer, SdpError> {
    let local = local_of(ours)?;
    let session = negotiate_preferring(offer, current)?;
    let dir = session.direction.mirror();
    let same = answer_with(local.ip, local.port, (local.session_id, local.version), &session, dir);
    if same.as_bytes() == ours {
        return Ok(Reanswer { sdp: same, session });
    }
    let sdp = answer_with(local.ip, local.port, (local.session_id, local.version + 1), &session, dir);
    Ok(Reanswer { sdp, session })
}

fn local_of(sdp: &[u8]) -> Result<Local, SdpError> {
    let text = std::str::from_utf8(sdp).map_err(|_| SdpError::Malformed("not UTF-8".into()))?;
    let (mut origin, mut ip, mut port) = (None, None, None);
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(o) = line.strip_prefix("o=") {
            // o=<user> <sess-id> <sess-version> IN IP4 <address>
            let f: Vec<&str> = o.split_ascii_whitespace().collect();
            let parsed = (f.get(1).and_then(|v| v.parse().ok()), f.get(2).and_then(|v| v.parse().ok()));
            match parsed {
                (Some(id), Some(v)) => origin = Some((id, v)),
                _ => return Err(SdpError::Malformed(truncate(line))),
            }
        } else if let Some(c) = line.strip_prefix("c=") {
            ip = ip.or(Some(parse_conn(c)?));
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            port = m.split_ascii_whitespace().next().and_then(|p| p.parse().ok());
        }
    }
    let (session_id, version) = origin.ok_or_else(|| SdpError::Malformed("no o= line".into()))?;
    Ok(Local { ip: ip.ok_or(SdpError::NoAddress)?, port: port.ok_or(SdpError::NoAudio)?, session_id, version })
}

#[cfg(test)]
mod tests {
    use super::super::{Direction, answer, negotiate, offer};
    use super::*;

    const FAR: &str = "v=0\r\no=carrier 9 9 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n";

    fn far(m: &str, extra: &str) -> Vec<u8> {
        format!("{FAR}{m}\r\n{extra}").into_bytes()
    }

    fn ours() -> Vec<u8> {
        let n = negotiate(&far("m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000\r\n")).unwrap();
        answer("127.0.0.1".parse().unwrap(), 30000, 77, &n).into_bytes()
    }

    #[test]
    fn a_session_refresh_gets_our_sdp_back_unchanged() {
        let ours = ours();
        let r = reanswer(
            &ours,
            Some(Codec::Pcmu),
            &far("m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000\r\n"),
        )
        .unwrap();
        assert_eq!(r.sdp.as_bytes(), &ours[..], "same SDP, same o= version");
        assert_eq!(r.session.direction, Direction::SendRecv);
    }

    #[test]
    fn hold_is_mirrored_and_bumps_the_version() {
        let ours = ours();
        for (offered, answered) in [
            ("a=sendonly\r\n", "a=recvonly\r\n"),
            ("a=inactive\r\n", "a=inactive\r\n"),
            ("a=recvonly\r\n", "a=sendonly\r\n"),
        ] {
            let r = reanswer(&ours, Some(Codec::Pcmu), &far("m=audio 4000 RTP/AVP 0", offered)).unwrap();
            assert!(r.sdp.ends_with(answered), "{offered} → {}", r.sdp);
            assert!(r.sdp.contains("o=dialerd 77 2 IN IP4 127.0.0.1\r\n"), "{}", r.sdp);
            assert!(r.sdp.contains("m=audio 30000 RTP/AVP 0\r\n"), "{}", r.sdp);
        }
        // Resume from the held answer: sendrecv again, one version more.
        let held = reanswer(&ours, Some(Codec::Pcmu), &far("m=audio 4000 RTP/AVP 0", "a=sendonly\r\n")).unwrap();
        let resumed = reanswer(held.sdp.as_bytes(), Some(Codec::Pcmu), &far("m=audio 4000 RTP/AVP 0", "")).unwrap();
        assert!(resumed.sdp.ends_with("a=sendrecv\r\n") && resumed.sdp.contains(" 77 3 IN "), "{}", resumed.sdp);
    }

    #[test]
    fn rfc2543_hold_by_a_null_address_counts_as_sendonly() {
        let offer = "v=0\r\no=c 1 2 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        let r = reanswer(&ours(), Some(Codec::Pcmu), offer.as_bytes()).unwrap();
        assert_eq!(r.session.direction, Direction::SendOnly);
        assert!(r.sdp.ends_with("a=recvonly\r\n"), "{}", r.sdp);
    }

    #[test]
    fn the_current_codec_is_kept_and_a_supported_change_is_taken() {
        // Our offer (an outbound call) listed both laws; the far end chose
        // PCMA. A refresh listing PCMU first keeps PCMA.
        let ours = offer("127.0.0.1".parse().unwrap(), 30000, 5, 1).into_bytes();
        let r = reanswer(&ours, Some(Codec::Pcma), &far("m=audio 4000 RTP/AVP 0 8", "")).unwrap();
        assert_eq!(r.session.codec, Codec::Pcma);
        assert!(r.sdp.contains("m=audio 30000 RTP/AVP 8\r\n") && r.sdp.contains(" 5 2 IN "), "{}", r.sdp);
        // An offer of PCMA only while on PCMU: a real change, answered.
        let r = reanswer(&self::ours(), Some(Codec::Pcmu), &far("m=audio 4002 RTP/AVP 8", "")).unwrap();
        assert_eq!((r.session.codec, r.session.remote.port()), (Codec::Pcma, 4002));
        assert!(r.sdp.contains("a=rtpmap:8 PCMA/8000"), "{}", r.sdp);
    }

    #[test]
    fn an_unsupported_codec_is_refused() {
        let e = reanswer(&ours(), Some(Codec::Pcmu), &far("m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000\r\n"));
        assert!(matches!(e, Err(SdpError::NoCommonCodec(ref l)) if l == "G729/8000"), "{e:?}");
        assert!(reanswer(b"garbage", None, &far("m=audio 4000 RTP/AVP 0", "")).is_err(), "our SDP unreadable");
    }
}
