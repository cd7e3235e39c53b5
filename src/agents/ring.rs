//! Offering one call to an agent group (issue 7), sans-IO: which agents to
//! ring, when to give up on them, who won. The group's plan is a list of
//! steps, each a strategy with a ring timeout, then a fallback:
//!
//! - ring-all: every candidate at once; the first to answer wins and the
//!   other legs are cancelled;
//! - round robin: one agent at a time, starting after the group's cursor
//!   (kept by the caller between calls), each for the ring timeout;
//! - longest idle: one at a time, the agent idle longest first.
//!
//! An agent that refused (busy, declined, unreachable) is not rung again
//! for this call; one that merely did not answer may be, by a later step.
//! Inputs are the answers, failures and `now`; outputs are [`Action`]s and
//! the next deadline (`poll_timeout`), and `handle_timeout` is safe to
//! call early.

use super::AgentId;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    RingAll,
    RoundRobin,
    LongestIdle,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "ring_all" => Some(Strategy::RingAll),
            "round_robin" => Some(Strategy::RoundRobin),
            "longest_idle" => Some(Strategy::LongestIdle),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub strategy: Strategy,
    pub ring_timeout: Duration,
}

/// An agent that may be rung: available when the call was offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: AgentId,
    /// Since when the agent has had no call (longest idle first).
    pub idle_since: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Place a leg to each of these agents.
    Ring(Vec<AgentId>),
    /// CANCEL the legs still ringing at these agents.
    Cancel(Vec<AgentId>),
    /// This agent answered: bridge the call to it.
    Connect(AgentId),
    /// Every step is exhausted: the group's fallback takes the call.
    Fallback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Ringing some agents of step `step` until `deadline`.
    Ringing {
        step: usize,
        deadline: Instant,
    },
    Connected(AgentId),
    Exhausted,
}

pub struct Ring {
    steps: Vec<Step>,
    candidates: Vec<Candidate>,
    /// Round robin starts after this index of `candidates`.
    cursor: usize,
    state: State,
    ringing: Vec<AgentId>,
    /// One-at-a-time steps: who is left to ring in this step.
    queue: VecDeque<AgentId>,
    refused: HashSet<AgentId>,
    actions: VecDeque<Action>,
    /// The round-robin cursor to keep for the next call.
    next_cursor: usize,
}

impl Ring {
    /// Starts offering the call at `now`. `candidates` are the group's
    /// available agents in configured order; `cursor` is the group's
    /// round-robin position (from the previous call's `next_cursor`).
    pub fn new(steps: Vec<Step>, candidates: Vec<Candidate>, cursor: usize, now: Instant) -> Ring {
        let mut r = Ring {
            steps,
            candidates,
            cursor,
            state: State::Exhausted,
            ringing: Vec::new(),
            queue: VecDeque::new(),
            refused: HashSet::new(),
            actions: VecDeque::new(),
            next_cursor: cursor,
        };
        r.start_step(0, now);
        r
    }

    fn start_step(&mut self, mut step: usize, now: Instant) {
        while let Some(s) = self.steps.get(step).copied() {
            let mut order: Vec<&Candidate> = self.candidates.iter().filter(|c| !self.refused.contains(&c.id)).collect();
            match s.strategy {
                Strategy::RingAll => {}
                Strategy::RoundRobin => {
                    let n = self.candidates.len().max(1);
                    let start = (self.cursor + 1) % n;
                    let pos = |c: &Candidate| {
                        let i = self.candidates.iter().position(|x| x.id == c.id).unwrap_or(0);
                        (i + n - start) % n
                    };
                    order.sort_by_key(|c| pos(c));
                }
                // Stable: equal idle times keep the configured order.
                Strategy::LongestIdle => order.sort_by_key(|c| c.idle_since),
            }
            let ids: Vec<AgentId> = order.into_iter().map(|c| c.id.clone()).collect();
            if ids.is_empty() {
                step += 1;
                continue;
            }
            self.state = State::Ringing { step, deadline: now + s.ring_timeout };
            if s.strategy == Strategy::RingAll {
                self.queue.clear();
                self.ring(ids);
            } else {
                self.queue = ids.into();
                self.ring_next_in_queue(step, now);
            }
            return;
        }
        self.state = State::Exhausted;
        self.actions.push_back(Action::Fallback);
    }

    fn ring(&mut self, ids: Vec<AgentId>) {
        self.ringing.extend(ids.iter().cloned());
        self.actions.push_back(Action::Ring(ids));
    }

    /// One-at-a-time steps: the next agent of the queue, with a fresh ring
    /// timeout; the next step when the queue is empty.
    fn ring_next_in_queue(&mut self, step: usize, now: Instant) {
        match self.queue.pop_front() {
            Some(id) => {
                if self.steps[step].strategy == Strategy::RoundRobin
                    && let Some(i) = self.candidates.iter().position(|c| c.id == id)
                {
                    self.next_cursor = i;
                }
                self.state = State::Ringing { step, deadline: now + self.steps[step].ring_timeout };
                self.ring(vec![id]);
            }
            None => self.start_step(step + 1, now),
        }
    }

    fn cancel_all(&mut self) {
        if !self.ringing.is_empty() {
            self.actions.push_back(Action::Cancel(std::mem::take(&mut self.ringing)));
        }
    }

    /// `agent` answered. The first answer wins; a later one (a race with
    /// our CANCEL) gets `Cancel` so its leg is hung up.
    pub fn handle_answered(&mut self, agent: &AgentId) {
        match &self.state {
            State::Ringing { .. } if self.ringing.contains(agent) => {
                self.ringing.retain(|a| a != agent);
                self.cancel_all();
                self.queue.clear();
                self.state = State::Connected(agent.clone());
                self.actions.push_back(Action::Connect(agent.clone()));
            }
            _ => self.actions.push_back(Action::Cancel(vec![agent.clone()])),
        }
    }

    /// `agent`'s leg failed (busy, declined, unreachable, or the agent
    /// became unavailable): not rung again for this call.
    pub fn handle_failed(&mut self, agent: &AgentId, now: Instant) {
        self.refused.insert(agent.clone());
        if !self.ringing.contains(agent) {
            return;
        }
        self.ringing.retain(|a| a != agent);
        if let State::Ringing { step, .. } = self.state
            && self.ringing.is_empty()
        {
            // Nobody left ringing in this step: move on now rather than
            // waiting out the timeout.
            if self.steps[step].strategy == Strategy::RingAll {
                self.start_step(step + 1, now);
            } else {
                self.ring_next_in_queue(step, now);
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Ringing { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let State::Ringing { step, deadline } = self.state else { return };
        if now < deadline {
            return;
        }
        self.cancel_all();
        if self.steps[step].strategy == Strategy::RingAll {
            self.start_step(step + 1, now);
        } else {
            self.ring_next_in_queue(step, now);
        }
    }

    /// The caller hung up while we were ringing: cancel what rings.
    pub fn abandon(&mut self) {
        self.cancel_all();
        self.queue.clear();
        self.state = State::Exhausted;
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Who took the call, once one did.
    pub fn connected(&self) -> Option<&AgentId> {
        match &self.state {
            State::Connected(a) => Some(a),
            _ => None,
        }
    }

    /// The round-robin position for the group's next call.
    pub fn next_cursor(&self) -> usize {
        self.next_cursor
    }
}

#[cfg(test)]
mod tests;
