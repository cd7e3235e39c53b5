//! Agents' status and operator metrics (issue 7, seed 003), sans-IO.
//!
//! An agent's own status is available, paused or offline (set by the agent
//! or an operator); busy is derived: dialerd counts the agent's calls
//! itself, so an agent on a call is never offered another. Per agent the
//! roster counts calls offered, answered and missed, the time to answer
//! (average speed of answer), talk time (average handle time) and
//! occupancy: the share of logged-in time (available or busy) spent on
//! calls. Time is an input (`now`).

use super::AgentId;
use super::ring::Candidate;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Available,
    Busy,
    Paused,
    Offline,
}

impl Status {
    /// A status an agent may set (busy is dialerd's to decide).
    pub fn parse_settable(s: &str) -> Option<Status> {
        match s {
            "available" => Some(Status::Available),
            "paused" => Some(Status::Paused),
            "offline" => Some(Status::Offline),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct AgentReport {
    pub offered: u64,
    pub answered: u64,
    pub missed: u64,
    /// Average speed of answer: mean ring time of answered offers.
    pub asa_s: f64,
    /// Average handle time: mean duration of ended calls.
    pub aht_s: f64,
    /// Time on calls / logged-in time (0 to 1).
    pub occupancy: f64,
}

#[derive(Debug)]
struct Entry {
    status: Status,
    calls: u32,
    idle_since: Instant,
    offered: u64,
    answered: u64,
    missed: u64,
    ring_total: Duration,
    handled: u64,
    talk_total: Duration,
    /// Logged-in time so far, and since when the current stretch runs.
    logged_in: Duration,
    logged_in_since: Option<Instant>,
    /// On a call since (the first of overlapping calls).
    on_call_since: Option<Instant>,
    on_call: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    #[error("no agent {0}")]
    Unknown(AgentId),
}

#[derive(Debug, Default)]
pub struct Roster {
    agents: HashMap<AgentId, Entry>,
}

impl Roster {
    /// Agents start available and idle at `now`.
    pub fn new(ids: impl IntoIterator<Item = AgentId>, now: Instant) -> Roster {
        let mut r = Roster::default();
        for id in ids {
            r.add(id, now);
        }
        r
    }

    pub fn add(&mut self, id: AgentId, now: Instant) {
        self.agents.entry(id).or_insert(Entry {
            status: Status::Available,
            calls: 0,
            idle_since: now,
            offered: 0,
            answered: 0,
            missed: 0,
            ring_total: Duration::ZERO,
            handled: 0,
            talk_total: Duration::ZERO,
            logged_in: Duration::ZERO,
            logged_in_since: Some(now),
            on_call_since: None,
            on_call: Duration::ZERO,
        });
    }

    fn entry(&mut self, id: &AgentId) -> Result<&mut Entry, RosterError> {
        self.agents.get_mut(id).ok_or_else(|| RosterError::Unknown(id.clone()))
    }

    /// The agent's own status; `Busy` is refused (it is derived).
    pub fn set_status(&mut self, id: &AgentId, status: Status, now: Instant) -> Result<(), RosterError> {
        let e = self.entry(id)?;
        let was_in = e.status != Status::Offline;
        let is_in = status != Status::Offline;
        match (was_in, is_in) {
            (true, false) => {
                if let Some(s) = e.logged_in_since.take() {
                    e.logged_in += now.saturating_duration_since(s);
                }
            }
            (false, true) => e.logged_in_since = Some(now),
            _ => {}
        }
        if status != Status::Busy {
            e.status = status;
        }
        Ok(())
    }

    /// What the agent is now: `Busy` while on one of dialerd's calls.
    pub fn status(&self, id: &AgentId) -> Option<Status> {
        self.agents.get(id).map(|e| if e.calls > 0 && e.status == Status::Available { Status::Busy } else { e.status })
    }

    /// `members` that may be offered a call now, in the given order.
    pub fn candidates(&self, members: &[AgentId]) -> Vec<Candidate> {
        members
            .iter()
            .filter(|m| self.status(m) == Some(Status::Available))
            .map(|m| Candidate { id: m.clone(), idle_since: self.agents[m].idle_since })
            .collect()
    }

    /// A leg started ringing at the agent.
    pub fn offered(&mut self, id: &AgentId) -> Result<(), RosterError> {
        let e = self.entry(id)?;
        e.offered += 1;
        e.calls += 1;
        Ok(())
    }

    /// The ringing leg was not answered (timeout, refusal, cancelled
    /// because another agent won).
    /// A missed offer leaves the agent as idle as before: longest idle
    /// keeps its place in the queue.
    pub fn missed(&mut self, id: &AgentId) -> Result<(), RosterError> {
        let e = self.entry(id)?;
        e.missed += 1;
        e.calls = e.calls.saturating_sub(1);
        Ok(())
    }

    /// The agent answered after ringing for `rang`.
    pub fn answered(&mut self, id: &AgentId, rang: Duration, now: Instant) -> Result<(), RosterError> {
        let e = self.entry(id)?;
        e.answered += 1;
        e.ring_total += rang;
        e.on_call_since.get_or_insert(now);
        Ok(())
    }

    /// An answered call ended after `talked`.
    pub fn call_ended(&mut self, id: &AgentId, talked: Duration, now: Instant) -> Result<(), RosterError> {
        let e = self.entry(id)?;
        e.handled += 1;
        e.talk_total += talked;
        e.calls = e.calls.saturating_sub(1);
        if e.calls == 0 {
            e.idle_since = now;
            if let Some(s) = e.on_call_since.take() {
                e.on_call += now.saturating_duration_since(s);
            }
        }
        Ok(())
    }

    pub fn report(&self, id: &AgentId, now: Instant) -> Option<AgentReport> {
        let e = self.agents.get(id)?;
        let mean = |total: Duration, n: u64| if n == 0 { 0.0 } else { total.as_secs_f64() / n as f64 };
        let logged_in = e.logged_in + e.logged_in_since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let on_call = e.on_call + e.on_call_since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let occupancy =
            if logged_in.is_zero() { 0.0 } else { (on_call.as_secs_f64() / logged_in.as_secs_f64()).min(1.0) };
        Some(AgentReport {
            offered: e.offered,
            answered: e.answered,
            missed: e.missed,
            asa_s: mean(e.ring_total, e.answered),
            aht_s: mean(e.talk_total, e.handled),
            occupancy,
        })
    }

    /// A group's figures: the sum of its members' counts, time-weighted
    /// means.
    pub fn group_report(&self, members: &[AgentId], now: Instant) -> AgentReport {
        let mut g = AgentReport::default();
        let (mut ring, mut talk, mut handled, mut occ) = (0.0, 0.0, 0u64, Vec::new());
        for m in members {
            let (Some(r), Some(e)) = (self.report(m, now), self.agents.get(m)) else { continue };
            g.offered += r.offered;
            g.answered += r.answered;
            g.missed += r.missed;
            ring += e.ring_total.as_secs_f64();
            talk += e.talk_total.as_secs_f64();
            handled += e.handled;
            occ.push(r.occupancy);
        }
        g.asa_s = if g.answered == 0 { 0.0 } else { ring / g.answered as f64 };
        g.aht_s = if handled == 0 { 0.0 } else { talk / handled as f64 };
        g.occupancy = if occ.is_empty() { 0.0 } else { occ.iter().sum::<f64>() / occ.len() as f64 };
        g
    }
}

#[cfg(test)]
mod tests;
