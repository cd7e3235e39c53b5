//! One lead's life (seed 001), as a pure state machine: inputs are what
//! happened (submitted, a call ended, the record ran out of attempts, the
//! lead clicked a button on its confirm page); the output is the new state,
//! history lines and the actions the engine must carry out (queue messages,
//! close the record, add the number to the do-not-call list, emit events).
//!
//! Outcomes (seed 001, "Workflow"): confirmed interest → qualified; opt-out
//! → rejected; no answer or ignored attempts → redial, then rejected.
//! "After call validation": a failed attempt, a hang-up or ignored options
//! send every enabled message channel at once, up to `message_rounds`.

use crate::campaign::calendar::Schedule;
use crate::config::leads::OnCallMe;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Seed 001, "Outside working hours": `None` when the service's working
/// hours are open at `now`; else the start of the next working slot (the
/// lead is messaged now and called then), `Some(None)` when no slot opens
/// within the calendar's horizon.
pub fn next_slot(schedule: &Schedule, tz: &TimeZone, now: Timestamp) -> Option<Option<Timestamp>> {
    if schedule.is_open(tz, now) { None } else { Some(schedule.next_open(tz, now)) }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadState {
    /// Queued for a call (now, or at the next working slot).
    Pending,
    Qualified,
    Rejected,
}

impl LeadState {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadState::Pending => "pending",
            LeadState::Qualified => "qualified",
            LeadState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<LeadState> {
        [LeadState::Pending, LeadState::Qualified, LeadState::Rejected].into_iter().find(|x| x.as_str() == s)
    }
}

/// What the machine remembers between inputs (a row of `leads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub state: LeadState,
    /// Why it is qualified or rejected: `ivr`, `confirm_page`, `opt_out`,
    /// `opt_out_page`, `no_contact`, `dnc`, `not_dialable`.
    pub reason: Option<String>,
    pub attempts: u32,
    pub message_rounds: u32,
}

impl Lead {
    pub fn new() -> Lead {
        Lead { state: LeadState::Pending, reason: None, attempts: 0, message_rounds: 0 }
    }
}

impl Default for Lead {
    fn default() -> Self {
        Lead::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    CallMe,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    Submitted {
        out_of_hours: bool,
        on_dnc: bool,
    },
    AttemptEnded {
        disposition: &'a str,
        outcome: Option<&'a str>,
    },
    /// The campaign gave up on the record (`final_state` as in its report).
    RecordFinal {
        final_state: &'a str,
    },
    Page(Choice),
}

#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub qualified_outcomes: &'a [String],
    pub rejected_outcomes: &'a [String],
    pub message_rounds: u32,
    /// At least one channel is enabled and can reach this lead.
    pub can_message: bool,
    pub on_call_me: OnCallMe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Queue every enabled channel now.
    SendMessages,
    /// Take the record out of the campaign's queue.
    CloseRecord {
        final_state: &'static str,
    },
    /// Append a new record: a call at the next working slot.
    QueueCall,
    AddDnc,
    Emit(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub lead: Lead,
    pub history: Vec<(String, String)>,
    pub actions: Vec<Action>,
}

impl Step {
    fn note(&mut self, kind: &str, detail: impl Into<String>) {
        self.history.push((kind.into(), detail.into()));
    }

    fn finish(&mut self, state: LeadState, reason: &str) {
        self.lead.state = state;
        self.lead.reason = Some(reason.into());
        self.note(state.as_str(), reason);
        self.actions.push(Action::Emit(match state {
            LeadState::Qualified => "lead.qualified",
            _ => "lead.rejected",
        }));
    }

    fn message(&mut self, p: &Policy<'_>, why: &str) {
        if p.can_message && self.lead.message_rounds < p.message_rounds {
            self.lead.message_rounds += 1;
            self.note("messages", format!("round {}: {why}", self.lead.message_rounds));
            self.actions.push(Action::SendMessages);
        }
    }
}

/// Consumes the lead's state; the caller keeps the returned one.
pub fn handle(lead: Lead, input: Input<'_>, p: &Policy<'_>) -> Step {
    use LeadState::*;
    let state = lead.state;
    let mut s = Step { lead, history: Vec::new(), actions: Vec::new() };
    match (state, input) {
        (Pending, Input::Submitted { on_dnc: true, .. }) => s.finish(Rejected, "dnc"),
        (Pending, Input::Submitted { out_of_hours, .. }) => {
            s.actions.push(Action::Emit("lead.created"));
            s.actions.push(Action::QueueCall);
            // Seed 001, "Outside working hours": messages first, the call
            // at the next working slot.
            if out_of_hours {
                s.message(p, "submitted out of working hours");
            }
        }
        (Pending, Input::AttemptEnded { disposition, outcome }) => {
            s.lead.attempts += 1;
            let detail = format!("{disposition}{}", outcome.map(|o| format!(", outcome {o}")).unwrap_or_default());
            s.note("call", detail);
            match outcome {
                Some(o) if p.qualified_outcomes.iter().any(|q| q == o) => s.finish(Qualified, "ivr"),
                // The campaign puts the number on the do-not-call list.
                Some(o) if p.rejected_outcomes.iter().any(|q| q == o) => s.finish(Rejected, "opt_out"),
                _ => s.message(p, if disposition == "answered" { "options ignored" } else { "call failed" }),
            }
        }
        (Pending, Input::RecordFinal { final_state }) => {
            s.finish(Rejected, if final_state == "dnc" { "dnc" } else { "no_contact" });
        }
        (Pending, Input::Page(Choice::CallMe)) | (Rejected, Input::Page(Choice::CallMe))
            if s.lead.reason.as_deref().is_none_or(|r| r == "no_contact") =>
        {
            match p.on_call_me {
                OnCallMe::Qualify => {
                    s.finish(Qualified, "confirm_page");
                    s.actions.push(Action::CloseRecord { final_state: "qualified" });
                }
                OnCallMe::Call if state == Rejected => {
                    s.lead.state = Pending;
                    s.lead.reason = None;
                    s.note("call_requested", "confirm page");
                    s.actions.push(Action::QueueCall);
                }
                OnCallMe::Call => s.note("call_requested", "confirm page; a call is already queued"),
            }
        }
        (Pending | Qualified | Rejected, Input::Page(Choice::Stop))
            if s.lead.reason.as_deref() != Some("opt_out_page") =>
        {
            // An opt-out always wins, whatever came before.
            s.finish(Rejected, "opt_out_page");
            s.actions.push(Action::AddDnc);
            if state == Pending {
                s.actions.push(Action::CloseRecord { final_state: "dnc" });
            }
        }
        // Late news for a decided lead (a call that was in flight, a
        // second click): recorded, nothing changes.
        (_, Input::AttemptEnded { disposition, .. }) => {
            s.lead.attempts += 1;
            s.note("call", format!("{disposition} (lead already {})", state.as_str()));
        }
        (_, Input::Page(c)) => s.note("page", format!("{c:?} ignored: lead already {}", state.as_str())),
        (_, Input::RecordFinal { .. } | Input::Submitted { .. }) => {}
    }
    s
}

#[cfg(test)]
mod tests;
