//! IVR dialplans: call flows in `dialplans/*.toml`, one flow per file (name
//! = file stem), validated on load, run per call by a sans-IO interpreter.
//!
//! - `parse.rs`: TOML text → `Flow`, every problem named by file and node.
//! - `check.rs`: graph checks (references, reachability, loops that never
//!   wait for input or time).
//! - `interp.rs`: the interpreter the call machine drives (`handle_*`,
//!   `poll_*`), one per call, pinned to the flow version it started with.
//! - `store.rs`: the loaded set, replaced whole on reload (the only file
//!   here that reads the disk).

mod check;
pub mod interp;
pub mod parse;
pub mod store;

use crate::media::Prompt;
use crate::media::amd::AmdConfig;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use interp::{FlowAction, FlowInput, FlowRun, FlowView};
pub use parse::parse;
pub use store::{DialplanStore, LoadReport};

/// Index of a node in its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// A validated flow, immutable once loaded; calls hold it by `Arc`.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    /// First 12 hex digits of the file's SHA-256: which version a call ran.
    pub version: String,
    pub description: Option<String>,
    pub start: NodeId,
    pub nodes: Vec<Node>,
    /// Default call variables; `POST /v1/calls` `vars` override them.
    pub vars: BTreeMap<String, String>,
    /// Answering-machine detection settings for `amd` nodes.
    pub amd: AmdConfig,
}

impl Flow {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).map(NodeId)
    }
}

#[derive(Debug)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
}

/// Where a `transfer` goes (bridged by the click-to-call issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    Group(String),
    Uri(String),
}

#[derive(Debug)]
pub enum NodeKind {
    /// Play prompts in order; with `barge_in`, a digit stops them and is kept
    /// for the next `gather` or `menu`.
    Play {
        prompt: Arc<Prompt>,
        barge_in: bool,
        next: NodeId,
    },
    /// Collect digits into `var`.
    Gather {
        prompt: Option<Arc<Prompt>>,
        max_digits: usize,
        terminator: Option<char>,
        first_digit_timeout: Duration,
        inter_digit_timeout: Duration,
        allowed: String,
        var: String,
        next: NodeId,
        on_no_input: NodeId,
    },
    /// One digit chooses the next node; invalid or no input retries with
    /// `retry_prompt`, `attempts` times in all, then goes to `on_fail`.
    Menu {
        prompt: Arc<Prompt>,
        retry_prompt: Option<Arc<Prompt>>,
        options: Vec<(char, NodeId)>,
        timeout: Duration,
        attempts: u32,
        on_fail: NodeId,
    },
    /// Set a call variable (`${name}` in the value is replaced).
    Set {
        var: String,
        value: String,
        next: NodeId,
    },
    /// End the flow with a named result the caller of the flow receives.
    Outcome {
        outcome: String,
    },
    /// POST the call's variables as JSON and branch on a field of the reply.
    Webhook {
        url: String,
        timeout: Duration,
        field: String,
        branches: Vec<(String, NodeId)>,
        default: NodeId,
        on_error: NodeId,
    },
    /// Connect the call elsewhere; until bridging exists, goes to `on_fail`.
    Transfer {
        to: TransferTarget,
        on_fail: NodeId,
    },
    Pause {
        duration: Duration,
        next: NodeId,
    },
    Goto {
        next: NodeId,
    },
    Hangup,
    /// Answering-machine detection; branches on the verdict.
    Amd {
        human: NodeId,
        machine: NodeId,
        notsure: NodeId,
    },
    /// Wait until the far end is silent for `silence` (after a voicemail
    /// greeting and its beep), at most `timeout`.
    WaitSilence {
        silence: Duration,
        timeout: Duration,
        next: NodeId,
    },
}

impl NodeKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            NodeKind::Play { .. } => "play",
            NodeKind::Gather { .. } => "gather",
            NodeKind::Menu { .. } => "menu",
            NodeKind::Set { .. } => "set",
            NodeKind::Outcome { .. } => "outcome",
            NodeKind::Webhook { .. } => "webhook",
            NodeKind::Transfer { .. } => "transfer",
            NodeKind::Pause { .. } => "pause",
            NodeKind::Goto { .. } => "goto",
            NodeKind::Hangup => "hangup",
            NodeKind::Amd { .. } => "amd",
            NodeKind::WaitSilence { .. } => "wait_silence",
        }
    }

    /// The nodes this one can continue to.
    pub fn successors(&self) -> Vec<NodeId> {
        match self {
            NodeKind::Play { next, .. } | NodeKind::Set { next, .. } | NodeKind::Pause { next, .. } => vec![*next],
            NodeKind::Goto { next } | NodeKind::WaitSilence { next, .. } => vec![*next],
            NodeKind::Gather { next, on_no_input, .. } => vec![*next, *on_no_input],
            NodeKind::Menu { options, on_fail, .. } => {
                options.iter().map(|(_, n)| *n).chain(std::iter::once(*on_fail)).collect()
            }
            NodeKind::Webhook { branches, default, on_error, .. } => {
                branches.iter().map(|(_, n)| *n).chain([*default, *on_error]).collect()
            }
            NodeKind::Transfer { on_fail, .. } => vec![*on_fail],
            NodeKind::Amd { human, machine, notsure } => vec![*human, *machine, *notsure],
            NodeKind::Outcome { .. } | NodeKind::Hangup => vec![],
        }
    }

    /// Whether the node waits for the caller or for time, so a loop through
    /// it cannot spin.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            NodeKind::Gather { .. }
                | NodeKind::Menu { .. }
                | NodeKind::Pause { .. }
                | NodeKind::Amd { .. }
                | NodeKind::WaitSilence { .. }
        )
    }
}

/// A problem in a dialplan file, named by file and node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialplanProblem {
    pub file: String,
    /// `nodes.<name>[.field]`, or a top-level key; empty for the whole file.
    pub at: String,
    pub message: String,
}

impl fmt::Display for DialplanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.at, self.message)
        }
    }
}

impl Flow {
    /// The flow behind `POST /v1/calls` without a dialplan: play `prompt`
    /// (if any), collect up to `gather.0` digits with `gather.1` timeouts
    /// (if asked), hang up. Outcomes: `gather_complete`, `gather_timeout`,
    /// `script_done`.
    pub fn inline(prompt: Option<Arc<Prompt>>, gather: Option<(usize, Duration)>) -> Flow {
        let outcome =
            |name: &str, outcome: &str| Node { name: name.into(), kind: NodeKind::Outcome { outcome: outcome.into() } };
        let mut nodes = Vec::new();
        match (prompt, gather) {
            (prompt, Some((max_digits, timeout))) => {
                nodes.push(Node {
                    name: "gather".into(),
                    kind: NodeKind::Gather {
                        prompt,
                        max_digits,
                        terminator: None,
                        first_digit_timeout: timeout,
                        inter_digit_timeout: timeout,
                        allowed: "0123456789*#ABCD".into(),
                        var: "digits".into(),
                        next: NodeId(1),
                        on_no_input: NodeId(2),
                    },
                });
                nodes.push(outcome("complete", "gather_complete"));
                nodes.push(outcome("timeout", "gather_timeout"));
            }
            (Some(prompt), None) => {
                nodes.push(Node {
                    name: "prompt".into(),
                    kind: NodeKind::Play { prompt, barge_in: false, next: NodeId(1) },
                });
                nodes.push(outcome("done", "script_done"));
            }
            (None, None) => nodes.push(outcome("done", "script_done")),
        }
        Flow {
            name: "inline".into(),
            version: "-".into(),
            description: None,
            start: NodeId(0),
            nodes,
            vars: BTreeMap::new(),
            amd: AmdConfig::default(),
        }
    }
}
