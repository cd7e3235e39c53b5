//! A click-to-call request's statuses (seed 000 and issue 7), in the order
//! they happen, and what the widget shows for each. Pure.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Ring the agents, whisper, then dial the visitor (the agent is
    /// ready before the visitor's phone rings).
    AgentFirst,
    /// Dial the visitor, then ring the agents.
    CustomerFirst,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::AgentFirst => "agent_first",
            Order::CustomerFirst => "customer_first",
        }
    }

    pub fn parse(s: &str) -> Option<Order> {
        [Order::AgentFirst, Order::CustomerFirst].into_iter().find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Asked for later (`at`): waits for its time, then `requested`.
    Scheduled,
    Requested,
    AgentRinging,
    AgentAnswered,
    CustomerRinging,
    Connected,
    Completed,
    Failed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Scheduled,
        Status::Requested,
        Status::AgentRinging,
        Status::AgentAnswered,
        Status::CustomerRinging,
        Status::Connected,
        Status::Completed,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Requested => "requested",
            Status::AgentRinging => "agent_ringing",
            Status::AgentAnswered => "agent_answered",
            Status::CustomerRinging => "customer_ringing",
            Status::Connected => "connected",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The event type (`docs/events.md`).
    pub fn event(self) -> &'static str {
        match self {
            Status::Scheduled => "click_to_call.scheduled",
            Status::Requested => "click_to_call.requested",
            Status::AgentRinging => "click_to_call.agent_ringing",
            Status::AgentAnswered => "click_to_call.agent_answered",
            Status::CustomerRinging => "click_to_call.customer_ringing",
            Status::Connected => "click_to_call.connected",
            Status::Completed => "click_to_call.completed",
            Status::Failed => "click_to_call.failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }

    /// The widget's three states (seed 003: new / processing / finished).
    pub fn phase(self) -> &'static str {
        match self {
            Status::Scheduled | Status::Requested => "new",
            Status::Completed | Status::Failed => "finished",
            _ => "processing",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_events_match_the_catalogue() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert!(crate::events::TYPES.contains(&s.event()), "{}", s.event());
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.as_str());
        }
        assert_eq!(Status::parse("nope"), None);
        assert_eq!(Order::parse("customer_first"), Some(Order::CustomerFirst));
        assert_eq!(Order::parse(Order::AgentFirst.as_str()), Some(Order::AgentFirst));
        assert_eq!(Status::Requested.phase(), "new");
        assert_eq!(Status::Scheduled.phase(), "new", "nobody is calling yet");
        assert!(!Status::Scheduled.is_final());
        assert_eq!(Status::Connected.phase(), "processing");
        assert!(Status::Failed.is_final() && !Status::Connected.is_final());
    }
}
