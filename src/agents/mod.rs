//! Agents and agent groups (issue 7): the people behind extensions, and
//! how a call offered to a group rings them (`ring`, sans-IO).

pub mod directory;
pub mod ring;
pub mod roster;

use std::fmt;

/// An agent, by its `[[agents]] id` (or the id the API gave it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<&str> for AgentId {
    fn from(s: &str) -> Self {
        AgentId(s.to_string())
    }
}
