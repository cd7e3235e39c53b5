//! What a campaign is: its type, its lifecycle state machine and its
//! settings (trunks, flow, pacing, retry rules, calling window, caps).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignType {
    Outbound,
    Callback,
    Inbound,
    ScheduledCallback,
    Manual,
}

impl CampaignType {
    pub const ALL: [CampaignType; 5] = [
        CampaignType::Outbound,
        CampaignType::Callback,
        CampaignType::Inbound,
        CampaignType::ScheduledCallback,
        CampaignType::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignType::Outbound => "OUTBOUND",
            CampaignType::Callback => "CALLBACK",
            CampaignType::Inbound => "INBOUND",
            CampaignType::ScheduledCallback => "SCHEDULED_CALLBACK",
            CampaignType::Manual => "MANUAL",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignType> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Seed 002: appends are refused for these types.
    pub fn accepts_appends(self) -> bool {
        self == CampaignType::Outbound
    }

    /// Types whose records dialerd dials by itself.
    pub fn dials(self) -> bool {
        matches!(self, CampaignType::Outbound | CampaignType::Callback | CampaignType::ScheduledCallback)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignState {
    Built,
    Play,
    Pause,
    Stop,
    Done,
    Reported,
}

/// What an operator asks of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Play,
    Pause,
    Stop,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Play => "play",
            Control::Pause => "pause",
            Control::Stop => "stop",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a campaign in state {from:?}")]
pub struct IllegalTransition {
    pub from: CampaignState,
    pub action: &'static str,
}

impl CampaignState {
    pub const ALL: [CampaignState; 6] = [
        CampaignState::Built,
        CampaignState::Play,
        CampaignState::Pause,
        CampaignState::Stop,
        CampaignState::Done,
        CampaignState::Reported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Built => "BUILT",
            CampaignState::Play => "PLAY",
            CampaignState::Pause => "PAUSE",
            CampaignState::Stop => "STOP",
            CampaignState::Done => "DONE",
            CampaignState::Reported => "REPORTED",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignState> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// An operator's command. Consumes the old state: the caller keeps the
    /// returned one or the error.
    pub fn control(self, c: Control) -> Result<CampaignState, IllegalTransition> {
        use CampaignState::*;
        match (self, c) {
            (Built | Pause, Control::Play) => Ok(Play),
            (Play, Control::Pause) => Ok(Pause),
            (Built | Play | Pause, Control::Stop) => Ok(Stop),
            (from, c) => Err(IllegalTransition { from, action: c.as_str() }),
        }
    }

    /// No dialable record remains: a playing campaign is done, unless its
    /// service reports at end of day (it stays open for appends).
    pub fn exhausted(self, report_at_end_of_day: bool) -> CampaignState {
        match self {
            CampaignState::Play if !report_at_end_of_day => CampaignState::Done,
            s => s,
        }
    }

    /// The service's day ended. Report-at-end-of-day campaigns report
    /// whatever their state; others report once they are done or stopped.
    pub fn end_of_day(self, report_at_end_of_day: bool) -> CampaignState {
        match self {
            CampaignState::Reported => CampaignState::Reported,
            CampaignState::Done | CampaignState::Stop => CampaignState::Reported,
            _ if report_at_end_of_day => CampaignState::Reported,
            s => s,
        }
    }

    /// Seed 002: records may be appended in Built, Pause or Play only.
    pub fn accepts_appends(self) -> bool {
        matches!(self, CampaignState::Built | CampaignState::Pause | CampaignState::Play)
    }
}

/// Per-campaign pacing, on top of the trunks' own caps. Progressive mode:
/// one call per free slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Pacing {
    pub max_concurrent: u32,
    pub max_cps: f64,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing { max_concurrent: 10, max_cps: 2.0 }
    }
}

/// What to do after an attempt ended with one disposition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRule {
    /// Wait this long before dialling the same number again.
    pub delay_s: f64,
    /// Attempts on one number (all dispositions) before moving to the
    /// record's next number.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Retries {
    pub busy: RetryRule,
    pub no_answer: RetryRule,
    pub failed: RetryRule,
    pub machine: RetryRule,
    /// A call cut short by a crash or shutdown. Its delay is never shorter
    /// than the no-answer timeout plus a margin: the carrier leg may still
    /// be ringing.
    pub interrupted: RetryRule,
}

impl Default for Retries {
    fn default() -> Self {
        let r = |delay_s, max_attempts| RetryRule { delay_s, max_attempts };
        Retries {
            busy: r(300.0, 3),
            no_answer: r(1800.0, 3),
            failed: r(600.0, 2),
            machine: r(3600.0, 2),
            interrupted: r(60.0, 3),
        }
    }
}

/// Caps per number across the client's campaigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NumberCaps {
    /// Attempts per calendar day (the service's time zone).
    pub per_day: u32,
    /// Attempts per rolling 24 hours.
    pub per_24h: u32,
}

impl Default for NumberCaps {
    fn default() -> Self {
        NumberCaps { per_day: 3, per_24h: 4 }
    }
}

/// Everything about how a campaign dials, stored as JSON with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[[trunks]]` names, used in turn.
    pub trunks: Vec<String>,
    /// The flow each answered call runs; without one, the call is answered
    /// and hung up.
    #[serde(default)]
    pub dialplan: Option<String>,
    /// Variables for the flow.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub caller_id: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    /// A caller-ID pool: calls show these numbers (instead of `caller_id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caller_ids: Vec<String>,
    #[serde(default)]
    pub caller_id_strategy: super::caller_ids::CallerIdStrategy,
    #[serde(default)]
    pub pacing: Pacing,
    #[serde(default)]
    pub retries: Retries,
    /// The legal calling window in the callee's time zone.
    #[serde(default = "default_window")]
    pub calling_window: String,
    #[serde(default)]
    pub caps: NumberCaps,
    /// Ringing time before giving up (`[calls] no_answer_timeout_s` by default).
    #[serde(default)]
    pub no_answer_timeout_s: Option<f64>,
    /// Flow outcomes that put the number on the client's do-not-call list.
    #[serde(default = "default_dnc_outcomes")]
    pub dnc_outcomes: Vec<String>,
    /// A queue that never ends by itself: running out of records or the
    /// end of the day leaves it playing (lead qualification, where leads
    /// arrive at any hour and wait for the next working slot).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continuous: bool,
    /// Outcomes that decide a record; when set, an answered call without
    /// one (hung up, menu ignored) is retried like a no-answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisive_outcomes: Vec<String>,
}

fn default_window() -> String {
    "08:00-21:00".into()
}

fn default_dnc_outcomes() -> Vec<String> {
    vec!["rejected".into(), "opt_out".into()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignState::*;

    #[test]
    fn only_legal_transitions() {
        let all = [Control::Play, Control::Pause, Control::Stop];
        let legal = [
            (Built, Control::Play, Play),
            (Built, Control::Stop, Stop),
            (Play, Control::Pause, Pause),
            (Play, Control::Stop, Stop),
            (Pause, Control::Play, Play),
            (Pause, Control::Stop, Stop),
        ];
        for from in CampaignState::ALL {
            for c in all {
                let want = legal.iter().find(|(f, cc, _)| *f == from && *cc == c).map(|l| l.2);
                match (from.control(c), want) {
                    (Ok(got), Some(w)) => assert_eq!(got, w),
                    (Err(e), None) => assert_eq!(e.from, from),
                    (got, want) => panic!("{from:?} {c:?}: {got:?} vs {want:?}"),
                }
            }
        }
    }

    #[test]
    fn exhaustion_and_end_of_day() {
        assert_eq!(Play.exhausted(false), Done);
        assert_eq!(Play.exhausted(true), Play, "stays open for appends");
        assert_eq!(Play.end_of_day(true), Reported);
        assert_eq!(Play.end_of_day(false), Play);
        assert_eq!(Done.end_of_day(false), Reported);
        assert!(!Stop.accepts_appends() && !Done.accepts_appends() && Pause.accepts_appends());
        assert!(CampaignType::Outbound.accepts_appends() && !CampaignType::Manual.accepts_appends());
        assert_eq!(CampaignType::parse("scheduled_callback"), Some(CampaignType::ScheduledCallback));
    }

    #[test]
    fn settings_defaults() {
        let s: Settings = serde_json::from_str(r#"{"trunks": ["t"]}"#).unwrap();
        assert_eq!(s.calling_window, "08:00-21:00");
        assert_eq!(s.retries.busy.max_attempts, 3);
        assert!(serde_json::from_str::<Settings>(r#"{"trunks": [], "x": 1}"#).is_err());
    }
}
