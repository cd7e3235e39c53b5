//! How a call ended: the disposition enum that campaigns and reports build
//! on, and the one mapping from SIP final responses to dispositions.

use crate::sip::reason::{self, Q850};
use serde::Serialize;

/// The result of a call. Later issues add variants (`machine`,
/// `interrupted`); match arms elsewhere use wildcards with care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Answered,
    /// Answered by a machine (answering-machine detection said so).
    Machine,
    Busy,
    NoAnswer,
    Rejected,
    InvalidNumber,
    Failed,
    Canceled,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::Machine => "machine",
            Disposition::Busy => "busy",
            Disposition::NoAnswer => "no_answer",
            Disposition::Rejected => "rejected",
            Disposition::InvalidNumber => "invalid_number",
            Disposition::Failed => "failed",
            Disposition::Canceled => "canceled",
        }
    }

    /// The disposition a final non-2xx response means (RFC 3261 §21).
    pub fn from_sip_status(status: u16) -> Disposition {
        match status {
            486 | 600 => Disposition::Busy,
            408 | 480 => Disposition::NoAnswer,
            403 | 603 => Disposition::Rejected,
            404 | 484 | 604 => Disposition::InvalidNumber,
            _ => Disposition::Failed,
        }
    }
}

/// Who ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HangupBy {
    /// dialerd's own decision: the script finished, or the API asked.
    Local,
    /// The far end: BYE, or a final error response.
    Remote,
    /// A safety net: timeouts, shutdown, transport or media failure.
    System,
}

/// Why the call ended, finer than the disposition (`hangup.cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The flow (dialplan or inline script) ended; its outcome is in the view.
    FlowDone,
    /// A special information tone: the network says the number is not valid
    /// or cannot be reached.
    Sit,
    RemoteBye,
    SipError,
    NoAnswerTimeout,
    MaxDuration,
    ApiHangup,
    Shutdown,
    TransportError,
    MediaError,
    QueueTimeout,
    /// The call it was bridged to ended (either leg ends the other).
    BridgedCallEnded,
    /// No RTP from the far end for `rtp_timeout_s`.
    RtpTimeout,
    /// RFC 4028: the session was not refreshed in time, or our refresh
    /// failed.
    SessionExpired,
}

impl Cause {
    /// The Q.850 cause our BYE carries when the call ends for this reason
    /// (RFC 3326 `Reason`): 31 when a limit ended it (maximum duration, RTP
    /// inactivity), 16 normal clearing otherwise.
    pub fn q850(self) -> Q850 {
        match self {
            Cause::MaxDuration | Cause::RtpTimeout => Q850::new(reason::NORMAL_UNSPECIFIED, "Normal, unspecified"),
            Cause::SessionExpired => Q850::new(reason::TIMER_EXPIRY, "Recovery on timer expiry"),
            _ => Q850::new(reason::NORMAL_CLEARING, "Normal call clearing"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::FlowDone => "flow_done",
            Cause::Sit => "sit",
            Cause::RemoteBye => "remote_bye",
            Cause::SipError => "sip_error",
            Cause::NoAnswerTimeout => "no_answer_timeout",
            Cause::MaxDuration => "max_duration",
            Cause::ApiHangup => "api_hangup",
            Cause::Shutdown => "shutdown",
            Cause::TransportError => "transport_error",
            Cause::MediaError => "media_error",
            Cause::QueueTimeout => "queue_timeout",
            Cause::BridgedCallEnded => "bridged_call_ended",
            Cause::RtpTimeout => "rtp_timeout",
            Cause::SessionExpired => "session_expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub disposition: Disposition,
    pub cause: Cause,
    pub by: HangupBy,
    pub sip_status: Option<u16>,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_mapping() {
        use Disposition::*;
        for (codes, d) in [
            (&[486, 600][..], Busy),
            (&[408, 480], NoAnswer),
            (&[403, 603], Rejected),
            (&[404, 484, 604], InvalidNumber),
            (&[400, 410, 488, 500, 503, 502, 606, 302], Failed),
        ] {
            for &c in codes {
                assert_eq!(Disposition::from_sip_status(c), d, "{c}");
            }
        }
        assert_eq!(serde_json::to_string(&InvalidNumber).unwrap(), "\"invalid_number\"");
        assert_eq!(NoAnswer.as_str(), "no_answer");
    }
}
