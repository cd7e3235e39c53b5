//! The flow interpreter, sans-IO: inputs (prompt ended, digit, AMD verdict,
//! silence, webhook reply) and time in; actions out. One per call, holding
//! the `Arc<Flow>` it started with, so a reload never changes a running call.

use super::{Flow, NodeId, NodeKind, TransferTarget};
use crate::media::Prompt;
use crate::media::amd::{AmdConfig, AmdVerdict};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Nodes entered per call before the flow is stopped: a loop that waits
/// every time still must not run forever.
const MAX_VISITS: u32 = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub enum FlowInput {
    PromptFinished,
    Dtmf(char),
    Amd(AmdVerdict),
    /// The silence asked for by `WatchSilence` was heard.
    Silence,
    WebhookReply(Result<serde_json::Value, String>),
    TransferFailed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlowAction {
    Play(Arc<Prompt>),
    StopPlayback,
    /// Start answering-machine detection with `FlowRun::amd_config()`.
    StartAmd,
    WatchSilence(Duration),
    /// POST `body` (the node and the call's variables) to `url`.
    Webhook {
        url: String,
        body: serde_json::Value,
        timeout: Duration,
    },
    Transfer(TransferTarget),
    /// The flow is over; `outcome()` says how.
    End,
}

/// The flow as `GET /v1/calls/{id}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowView {
    pub name: String,
    pub version: String,
    /// Nodes in the order entered, with the digits each one took.
    pub path: Vec<StepView>,
    pub outcome: Option<String>,
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepView {
    pub node: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub digits: String,
}

/// What the current node is waiting for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wait {
    /// A prompt plays (a play node's, or a gather's or menu's).
    Prompt {
        barge_in: bool,
    },
    /// Digits (gather or menu), with the deadline armed.
    Digits,
    Timer,
    Amd,
    Silence,
    Webhook,
    Transfer,
    Ended,
}

pub struct FlowRun {
    flow: Arc<Flow>,
    node: NodeId,
    wait: Wait,
    deadline: Option<Instant>,
    vars: BTreeMap<String, String>,
    path: Vec<StepView>,
    outcome: Option<String>,
    /// Digits typed ahead (during prompts) for the next gather or menu.
    typed_ahead: String,
    /// Gather: digits so far. Menu: unused.
    collected: String,
    attempt: u32,
    visits: u32,
    amd: Option<AmdVerdict>,
    actions: VecDeque<FlowAction>,
}

impl FlowRun {
    /// Starts `flow` at its start node; `vars` override the flow's defaults.
    pub fn start(flow: Arc<Flow>, vars: BTreeMap<String, String>, now: Instant) -> Self {
        let mut all = flow.vars.clone();
        all.extend(vars);
        let start = flow.start;
        let mut run = Self {
            flow,
            node: start,
            wait: Wait::Ended,
            deadline: None,
            vars: all,
            path: Vec::new(),
            outcome: None,
            typed_ahead: String::new(),
            collected: String::new(),
            attempt: 0,
            visits: 0,
            amd: None,
            actions: VecDeque::new(),
        };
        run.enter(start, now);
        run
    }

    pub fn is_ended(&self) -> bool {
        self.wait == Wait::Ended
    }

    pub fn outcome(&self) -> Option<&str> {
        self.outcome.as_deref()
    }

    pub fn amd_config(&self) -> &AmdConfig {
        &self.flow.amd
    }

    /// The answering-machine verdict, if an `amd` node ran.
    pub fn amd_verdict(&self) -> Option<AmdVerdict> {
        self.amd
    }

    pub fn poll_action(&mut self) -> Option<FlowAction> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn view(&self) -> FlowView {
        FlowView {
            name: self.flow.name.clone(),
            version: self.flow.version.clone(),
            path: self.path.clone(),
            outcome: self.outcome.clone(),
            vars: self.vars.clone(),
        }
    }

    fn kind(&self) -> &NodeKind {
        &self.flow.node(self.node).kind
    }

    /// Enters `id` and runs through nodes that need no waiting.
    fn enter(&mut self, id: NodeId, now: Instant) {
        self.visits += 1;
        if self.visits > MAX_VISITS {
            return self.end(Some("loop_limit".into()));
        }
        self.node = id;
        self.deadline = None;
        self.collected.clear();
        self.attempt = 1;
        let flow = self.flow.clone();
        let node = flow.node(id);
        self.path.push(StepView { node: node.name.clone(), kind: node.kind.kind_name(), digits: String::new() });
        match &node.kind {
            NodeKind::Play { prompt, barge_in, .. } => self.play(prompt.clone(), *barge_in),
            NodeKind::Gather { prompt, .. } => match prompt {
                Some(p) if self.typed_ahead.is_empty() => self.play(p.clone(), true),
                _ => self.start_digits(now),
            },
            NodeKind::Menu { prompt, .. } => {
                if self.typed_ahead.is_empty() {
                    self.play(prompt.clone(), true)
                } else {
                    self.start_digits(now)
                }
            }
            NodeKind::Set { var, value, next } => {
                let v = interpolate(value, &self.vars);
                self.vars.insert(var.clone(), v);
                self.enter(*next, now)
            }
            NodeKind::Outcome { outcome } => self.end(Some(outcome.clone())),
            NodeKind::Hangup => self.end(None),
            NodeKind::Goto { next } => self.enter(*next, now),
            NodeKind::Pause { duration, .. } => {
                self.wait = Wait::Timer;
                self.deadline = Some(now + *duration);
            }
            NodeKind::Webhook { url, timeout, .. } => {
                self.wait = Wait::Webhook;
                // A reply that never comes still ends the wait (on_error).
                self.deadline = Some(now + *timeout + Duration::from_secs(1));
                let body = serde_json::json!({ "node": node.name, "vars": self.vars });
                self.actions.push_back(FlowAction::Webhook { url: url.clone(), body, timeout: *timeout });
            }
            NodeKind::Transfer { to, .. } => {
                self.wait = Wait::Transfer;
                self.actions.push_back(FlowAction::Transfer(to.clone()));
            }
            NodeKind::Amd { .. } => {
                self.wait = Wait::Amd;
                self.deadline = Some(now + flow.amd.total_analysis_time + Duration::from_secs(1));
                self.actions.push_back(FlowAction::StartAmd);
            }
            NodeKind::WaitSilence { silence, timeout, .. } => {
                self.wait = Wait::Silence;
                self.deadline = Some(now + *timeout);
                self.actions.push_back(FlowAction::WatchSilence(*silence));
            }
        }
    }

    fn play(&mut self, prompt: Arc<Prompt>, barge_in: bool) {
        self.wait = Wait::Prompt { barge_in };
        self.actions.push_back(FlowAction::Play(prompt));
    }

    fn end(&mut self, outcome: Option<String>) {
        self.wait = Wait::Ended;
        self.deadline = None;
        self.outcome = outcome;
        self.actions.push_back(FlowAction::End);
    }

    /// Gather or menu: the prompt is over (or skipped); digits count now.
    fn start_digits(&mut self, now: Instant) {
        self.wait = Wait::Digits;
        self.deadline = Some(now + self.digit_timeout());
        let ahead = std::mem::take(&mut self.typed_ahead);
        for d in ahead.chars() {
            if self.wait != Wait::Digits {
                self.typed_ahead.push(d);
                continue;
            }
            self.digit(d, now);
        }
    }

    fn digit_timeout(&self) -> Duration {
        match self.kind() {
            NodeKind::Gather { first_digit_timeout, inter_digit_timeout, .. } => {
                if self.collected.is_empty() {
                    *first_digit_timeout
                } else {
                    *inter_digit_timeout
                }
            }
            NodeKind::Menu { timeout, .. } => *timeout,
            _ => Duration::ZERO,
        }
    }

    /// A digit while waiting for digits.
    fn digit(&mut self, d: char, now: Instant) {
        let flow = self.flow.clone();
        match &flow.node(self.node).kind {
            NodeKind::Gather { max_digits, terminator, allowed, var, next, .. } => {
                if *terminator == Some(d) {
                    return self.gathered(var, *next, now);
                }
                if !allowed.contains(d) {
                    return;
                }
                self.collected.push(d);
                self.step_digits(d);
                if self.collected.len() >= *max_digits {
                    self.gathered(var, *next, now)
                } else {
                    self.deadline = Some(now + self.digit_timeout());
                }
            }
            NodeKind::Menu { options, .. } => {
                self.step_digits(d);
                match options.iter().find(|(o, _)| *o == d) {
                    Some((_, target)) => self.enter(*target, now),
                    None => self.retry_menu(now),
                }
            }
            _ => {}
        }
    }

    fn step_digits(&mut self, d: char) {
        if let Some(step) = self.path.last_mut() {
            step.digits.push(d);
        }
    }

    fn gathered(&mut self, var: &str, next: NodeId, now: Instant) {
        let digits = std::mem::take(&mut self.collected);
        self.vars.insert(var.to_string(), digits);
        self.enter(next, now)
    }

    /// Invalid or no input in a menu: replay, or give up after `attempts`.
    fn retry_menu(&mut self, now: Instant) {
        let flow = self.flow.clone();
        let NodeKind::Menu { prompt, retry_prompt, attempts, on_fail, .. } = &flow.node(self.node).kind else {
            return;
        };
        self.attempt += 1;
        if self.attempt > *attempts {
            return self.enter(*on_fail, now);
        }
        self.deadline = None;
        self.play(retry_prompt.clone().unwrap_or_else(|| prompt.clone()), true);
    }

    pub fn handle(&mut self, now: Instant, input: FlowInput) {
        let flow = self.flow.clone();
        let kind = &flow.node(self.node).kind;
        match (self.wait, input) {
            (Wait::Ended, _) => {}
            (Wait::Prompt { .. }, FlowInput::PromptFinished) => match kind {
                NodeKind::Play { next, .. } => self.enter(*next, now),
                _ => self.start_digits(now),
            },
            (Wait::Prompt { barge_in }, FlowInput::Dtmf(d)) => {
                self.typed_ahead.push(d);
                let digits_node = matches!(kind, NodeKind::Gather { .. } | NodeKind::Menu { .. });
                if digits_node {
                    self.actions.push_back(FlowAction::StopPlayback);
                    self.start_digits(now);
                } else if barge_in {
                    self.actions.push_back(FlowAction::StopPlayback);
                    if let NodeKind::Play { next, .. } = kind {
                        self.enter(*next, now);
                    }
                }
            }
            (Wait::Digits, FlowInput::Dtmf(d)) => self.digit(d, now),
            (_, FlowInput::Dtmf(d)) => self.typed_ahead.push(d),
            (Wait::Amd, FlowInput::Amd(v)) => {
                self.amd = Some(v);
                if let NodeKind::Amd { human, machine, notsure } = kind {
                    let target = match v {
                        AmdVerdict::Human => *human,
                        AmdVerdict::Machine => *machine,
                        AmdVerdict::NotSure => *notsure,
                    };
                    self.enter(target, now);
                }
            }
            (Wait::Silence, FlowInput::Silence) => {
                if let NodeKind::WaitSilence { next, .. } = kind {
                    self.enter(*next, now);
                }
            }
            (Wait::Webhook, FlowInput::WebhookReply(reply)) => self.webhook_reply(reply, now),
            (Wait::Transfer, FlowInput::TransferFailed(_)) => {
                if let NodeKind::Transfer { on_fail, .. } = kind {
                    self.enter(*on_fail, now);
                }
            }
            _ => {}
        }
    }

    fn webhook_reply(&mut self, reply: Result<serde_json::Value, String>, now: Instant) {
        let flow = self.flow.clone();
        let NodeKind::Webhook { field, branches, default, on_error, .. } = &flow.node(self.node).kind else {
            return;
        };
        let Ok(json) = reply else { return self.enter(*on_error, now) };
        if let Some(vars) = json.get("vars").and_then(|v| v.as_object()) {
            for (k, v) in vars {
                let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                self.vars.insert(k.clone(), text);
            }
        }
        let value = json.get(field).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        let target = value.and_then(|v| branches.iter().find(|(b, _)| *b == v).map(|(_, n)| *n)).unwrap_or(*default);
        self.enter(target, now)
    }

    /// Fires the current node's deadline. Safe to call early.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        let flow = self.flow.clone();
        match (self.wait, &flow.node(self.node).kind) {
            (Wait::Digits, NodeKind::Gather { var, next, on_no_input, .. }) => {
                if self.collected.is_empty() {
                    self.enter(*on_no_input, now)
                } else {
                    self.gathered(var, *next, now)
                }
            }
            (Wait::Digits, NodeKind::Menu { .. }) => self.retry_menu(now),
            (Wait::Timer, NodeKind::Pause { next, .. }) => self.enter(*next, now),
            (Wait::Webhook, NodeKind::Webhook { on_error, .. }) => self.enter(*on_error, now),
            (Wait::Amd, NodeKind::Amd { notsure, .. }) => {
                self.amd = Some(AmdVerdict::NotSure);
                self.enter(*notsure, now)
            }
            (Wait::Silence, NodeKind::WaitSilence { next, .. }) => self.enter(*next, now),
            _ => {}
        }
    }
}

/// `${name}` → the variable's value (empty when unset).
fn interpolate(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find('}') {
            Some(j) => {
                out.push_str(vars.get(&rest[i + 2..i + 2 + j]).map_or("", String::as_str));
                rest = &rest[i + 2 + j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
