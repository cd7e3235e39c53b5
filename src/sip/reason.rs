//! Q.850 hangup causes in SIP `Reason` headers (RFC 3326), sans-IO: read
//! from the far end's BYE and final error responses, written on our BYE.
//!
//! Carriers put the ISDN cause of a call's end here (`Q.850;cause=17;
//! text="User busy"`); it says more than the SIP status, and billing
//! disputes are argued in these numbers.

use serde::Serialize;

/// A Q.850 cause (ITU-T Q.850 §2.2.5) and the text that came with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Q850 {
    /// 1–127, e.g. 16 normal call clearing, 17 user busy.
    pub cause: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The causes dialerd sends on its own BYE (docs/carrier-interop.md).
pub const NORMAL_CLEARING: u16 = 16;
/// "Normal, unspecified": the call ended by policy, not by either party
/// (maximum duration, RTP inactivity). Normal class, so carriers raise no
/// alarm, yet distinct from 16 in their records.
pub const NORMAL_UNSPECIFIED: u16 = 31;
/// Alerted, not answered (our CANCEL at the no-answer timeout).
pub const NO_ANSWER: u16 = 19;
/// A timer ran out (RFC 4028 session expiry).
pub const TIMER_EXPIRY: u16 = 102;

impl Q850 {
    pub fn new(cause: u16, text: &str) -> Self {
        Self { cause, text: Some(text.to_string()) }
    }

    /// The first `Q.850` value among a `Reason` header's comma-separated
    /// values (`SIP;cause=…` ones are skipped); `None` when there is none
    /// or its cause is not a number from 0 to 127.
    pub fn parse(header: &str) -> Option<Q850> {
        split_outside_quotes(header, ',').into_iter().find_map(|value| {
            let mut params = split_outside_quotes(value, ';').into_iter();
            if !params.next()?.trim().eq_ignore_ascii_case("Q.850") {
                return None;
            }
            let (mut cause, mut text) = (None, None);
            for p in params {
                let (k, v) = p.split_once('=')?;
                match k.trim().to_ascii_lowercase().as_str() {
                    "cause" => cause = v.trim().parse::<u16>().ok().filter(|c| *c <= 127),
                    "text" => {
                        let v = v.trim();
                        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
                        text = Some(v.replace("\\\"", "\"")).filter(|t| !t.is_empty());
                    }
                    _ => {}
                }
            }
            Some(Q850 { cause: cause?, text })
        })
    }

    /// The `Reason` header value (RFC 3326 §2).
    pub fn header(&self) -> String {
        match &self.text {
            Some(t) => format!("Q.850;cause={};text=\"{}\"", self.cause, t.replace('"', "'")),
            None => format!("Q.850;cause={}", self.cause),
        }
    }
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_forms() {
        assert_eq!(Q850::parse("Q.850;cause=17;text=\"User busy\""), Some(Q850::new(17, "User busy")));
        assert_eq!(Q850::parse("Q.850 ; cause=16"), Some(Q850 { cause: 16, text: None }));
        assert_eq!(Q850::parse("q.850;text=\"a, b; c\";cause=34"), Some(Q850::new(34, "a, b; c")));
        // Several values: the SIP one is skipped.
        let both = "SIP;cause=480;text=\"Temporarily, unavailable\", Q.850;cause=18;text=\"No user responding\"";
        assert_eq!(Q850::parse(both), Some(Q850::new(18, "No user responding")));
    }

    #[test]
    fn what_is_not_a_q850_cause() {
        assert_eq!(Q850::parse("SIP;cause=200;text=\"Call completed elsewhere\""), None);
        assert_eq!(Q850::parse("Q.850;cause=abc"), None);
        assert_eq!(Q850::parse("Q.850;cause=128"), None, "causes are 7 bits");
        assert_eq!(Q850::parse("Q.850;text=\"no cause\""), None);
        assert_eq!(Q850::parse(""), None);
    }

    #[test]
    fn our_header_reads_back() {
        let q = Q850::new(NORMAL_CLEARING, "Normal call clearing");
        assert_eq!(q.header(), "Q.850;cause=16;text=\"Normal call clearing\"");
        assert_eq!(Q850::parse(&q.header()), Some(q));
        assert_eq!(Q850 { cause: 31, text: None }.header(), "Q.850;cause=31");
    }
}
