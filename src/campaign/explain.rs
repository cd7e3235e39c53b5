//! "Why is nothing being dialled?" in plain words, from a snapshot of the
//! campaign actor and the queue's counts. Pure, so every sentence is
//! tested.

use super::model::CampaignState;
use crate::store::RecordCounts;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// Why the actor's last attempt to dial stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Blocked {
    ServiceClosed { until: Option<Timestamp> },
    SlotsFull { in_flight: usize, max: u32 },
    Pacing { max_cps: f64 },
    Trunk { trunk: String, reason: &'static str },
    Waiting { records: i64, until: Timestamp },
    LastCalls { in_flight: usize },
    Exhausted,
}

/// The actor's side of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub state: CampaignState,
    pub service_open: bool,
    pub service_next_open: Option<Timestamp>,
    pub in_flight: usize,
    pub max_concurrent: u32,
    pub blocked: Option<Blocked>,
    pub draining: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explanation {
    /// True when the campaign is placing calls now (or would, given a record).
    pub dialling: bool,
    /// A machine-readable reason: `not_playing`, `service_closed`,
    /// `slots_full`, `pacing`, `trunk_capacity`, `waiting`, `last_calls`,
    /// `exhausted`, `draining`, `dialling`.
    pub code: &'static str,
    /// The reason in plain words.
    pub message: String,
    pub in_flight: usize,
    pub ready: i64,
    pub waiting: i64,
    /// Records not dialled because their number is on a do-not-call list.
    pub dnc: i64,
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn explain(s: &Snapshot, c: &RecordCounts) -> Explanation {
    let dnc = c.finals.iter().filter(|(f, _)| f == "dnc").map(|(_, n)| *n).sum();
    let (dialling, code, message) = match (&s.state, &s.blocked) {
        (_, _) if s.draining => {
            (false, "draining", "dialerd is shutting down; calls in progress are ending".to_string())
        }
        (CampaignState::Play, _) if !s.service_open => (
            false,
            "service_closed",
            match s.service_next_open {
                Some(t) => format!("outside the service's working hours; they open at {}", when(t)),
                None => "the service's working hours never open in the next 400 days".to_string(),
            },
        ),
        (CampaignState::Play, Some(b)) => match b {
            Blocked::ServiceClosed { .. } => (false, "service_closed", "outside the service's working hours".into()),
            Blocked::SlotsFull { in_flight, max } => (
                true,
                "slots_full",
                format!("all {max} call slots of the campaign are in use ({in_flight} calls in progress)"),
            ),
            Blocked::Pacing { max_cps } => {
                (true, "pacing", format!("dialling at the campaign's pace ({max_cps} calls per second)"))
            }
            Blocked::Trunk { trunk, reason } => {
                (false, "trunk_capacity", format!("trunk {trunk} takes no new call now ({reason}); retrying shortly"))
            }
            Blocked::Waiting { records, until } => (
                false,
                "waiting",
                format!(
                    "no record is ready: {records} wait for a retry, their next number or their calling window; the next is due at {}",
                    when(*until)
                ),
            ),
            Blocked::LastCalls { in_flight } => {
                (false, "last_calls", format!("no record is ready; {in_flight} calls are still in progress"))
            }
            Blocked::Exhausted => (false, "exhausted", "no dialable record remains".into()),
        },
        (CampaignState::Play, None) => (true, "dialling", "dialling".into()),
        (st, _) => (
            false,
            "not_playing",
            match st {
                CampaignState::Built | CampaignState::Pause => {
                    format!("the campaign is {}; POST /v1/campaigns/{{id}}/play to start dialling", st.as_str())
                }
                CampaignState::Done => "the campaign is DONE: no dialable record remained".into(),
                _ => format!("the campaign is {} and dials no more", st.as_str()),
            },
        ),
    };
    Explanation { dialling, code, message, in_flight: s.in_flight, ready: c.ready, waiting: c.waiting, dnc }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(state: CampaignState, blocked: Option<Blocked>) -> Snapshot {
        Snapshot {
            state,
            service_open: true,
            service_next_open: None,
            in_flight: 0,
            max_concurrent: 5,
            blocked,
            draining: false,
        }
    }

    #[test]
    fn each_reason_in_words() {
        let c = RecordCounts { finals: vec![("dnc".into(), 2)], waiting: 3, ..Default::default() };
        let e = explain(&snap(CampaignState::Pause, None), &c);
        assert_eq!((e.code, e.dnc), ("not_playing", 2));
        assert!(e.message.contains("PAUSE"), "{}", e.message);
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let e = explain(&snap(CampaignState::Play, Some(Blocked::Waiting { records: 3, until: t })), &c);
        assert_eq!(e.code, "waiting");
        assert!(e.message.contains("3 wait") && e.message.contains("2027-01-15"), "{}", e.message);
        let mut closed = snap(CampaignState::Play, None);
        closed.service_open = false;
        closed.service_next_open = Some(t);
        assert_eq!(explain(&closed, &c).code, "service_closed");
        let e =
            explain(&snap(CampaignState::Play, Some(Blocked::Trunk { trunk: "t1".into(), reason: "trunk_busy" })), &c);
        assert!(e.message.contains("t1") && e.message.contains("trunk_busy"));
        assert_eq!(explain(&snap(CampaignState::Play, Some(Blocked::Exhausted)), &c).code, "exhausted");
    }
}
