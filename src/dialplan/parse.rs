//! TOML text → `Flow`. Pure: prompts come through the `load_prompt`
//! callback, so the caller decides where files live and tests need none.
//!
//! ```toml
//! start = "ask"
//! [vars]
//! company = "Acme"
//! [nodes.ask]
//! kind = "menu"
//! prompt = "lead/ask.wav"
//! options = { "1" = "yes", "2" = "no" }
//! on_fail = "no"
//! ```

use super::{DialplanProblem, Flow, Node, NodeId, NodeKind, TransferTarget, check};
use crate::config::reader::{Problem, Reader};
use crate::media::Prompt;
use crate::media::amd::AmdConfig;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const KINDS: &[&str] = &[
    "play",
    "gather",
    "menu",
    "set",
    "outcome",
    "webhook",
    "transfer",
    "pause",
    "goto",
    "hangup",
    "amd",
    "wait_silence",
];

const DIGITS: &str = "0123456789*#ABCD";

/// Parses and validates one flow. `file` names it in problems (e.g.
/// `lead-qualification.toml`); the flow's name is the file stem.
pub fn parse(
    file: &str,
    text: &str,
    load_prompt: &dyn Fn(&str) -> Result<Arc<Prompt>, String>,
) -> Result<Flow, Vec<DialplanProblem>> {
    let to_problem = |p: Problem| {
        let (at, message) = (p.key, p.message);
        DialplanProblem { file: file.to_string(), at, message }
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        vec![DialplanProblem { file: file.into(), at: String::new(), message: format!("not valid TOML: {e}") }]
    })?;
    let tree = serde_json::to_value(&table).unwrap_or(Value::Null);
    let root = tree.as_object();
    let mut problems: Vec<Problem> = Vec::new();

    let mut r = Reader::new(root, "", &mut problems);
    let description = r.opt_string("description");
    let start_name = r.required_string("start");
    let vars_value = r.raw("vars");
    let amd_value = r.raw("amd");
    let nodes_value = r.raw("nodes");
    r.finish();

    let vars = read_vars(vars_value, &mut problems);
    let amd = read_amd(amd_value, &mut problems);

    let Some(nodes_table) = nodes_value.and_then(Value::as_object).filter(|t| !t.is_empty()) else {
        problems
            .push(Problem { key: "nodes".into(), message: "a flow needs at least one [nodes.<name>] table".into() });
        return Err(problems.into_iter().map(to_problem).collect());
    };
    let ids: HashMap<&str, NodeId> = nodes_table.keys().enumerate().map(|(i, k)| (k.as_str(), NodeId(i))).collect();

    let mut nodes = Vec::with_capacity(nodes_table.len());
    for (name, value) in nodes_table {
        let prefix = format!("nodes.{name}");
        let Some(table) = value.as_object() else {
            problems.push(Problem { key: prefix, message: "expected a table".into() });
            nodes.push(Node { name: name.clone(), kind: NodeKind::Hangup });
            continue;
        };
        let mut r = Reader::new(Some(table), prefix, &mut problems);
        let kind = read_node(&mut r, &ids, load_prompt);
        r.finish();
        nodes.push(Node { name: name.clone(), kind: kind.unwrap_or(NodeKind::Hangup) });
    }

    let start = match start_name.as_deref().map(|s| ids.get(s)) {
        Some(Some(id)) => Some(*id),
        Some(None) => {
            let s = start_name.unwrap_or_default();
            problems.push(Problem { key: "start".into(), message: format!("no node named {s:?}") });
            None
        }
        None => None,
    };
    if !problems.is_empty() {
        return Err(problems.into_iter().map(to_problem).collect());
    }
    let start = start.expect("checked above");
    let stem = file.strip_suffix(".toml").unwrap_or(file).to_string();
    let version: String = Sha256::digest(text.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
    let flow = Flow { name: stem, version, description, start, nodes, vars, amd };
    let graph_problems = check::graph(&flow);
    if graph_problems.is_empty() { Ok(flow) } else { Err(graph_problems.into_iter().map(to_problem).collect()) }
}

fn read_vars(v: Option<&Value>, problems: &mut Vec<Problem>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(v) = v else { return out };
    let Some(t) = v.as_object() else {
        problems.push(Problem { key: "vars".into(), message: "expected a table of names and values".into() });
        return out;
    };
    for (k, v) in t {
        match v {
            Value::String(s) => drop(out.insert(k.clone(), s.clone())),
            Value::Number(n) => drop(out.insert(k.clone(), n.to_string())),
            Value::Bool(b) => drop(out.insert(k.clone(), b.to_string())),
            _ => problems
                .push(Problem { key: format!("vars.{k}"), message: "expected text, a number or a boolean".into() }),
        }
    }
    out
}

fn read_amd(v: Option<&Value>, problems: &mut Vec<Problem>) -> AmdConfig {
    let d = AmdConfig::default();
    let Some(v) = v else { return d };
    let mut r = Reader::new(v.as_object(), "amd", problems);
    let ms = |x: std::time::Duration| x.as_millis() as u64;
    let cfg = AmdConfig {
        initial_silence: r.millis("initial_silence_ms", ms(d.initial_silence), 100, 60_000),
        greeting: r.millis("greeting_ms", ms(d.greeting), 100, 60_000),
        after_greeting_silence: r.millis("after_greeting_silence_ms", ms(d.after_greeting_silence), 50, 60_000),
        total_analysis_time: r.millis("total_analysis_time_ms", ms(d.total_analysis_time), 500, 120_000),
        min_word_length: r.millis("min_word_length_ms", ms(d.min_word_length), 10, 10_000),
        between_words_silence: r.millis("between_words_silence_ms", ms(d.between_words_silence), 10, 10_000),
        maximum_number_of_words: r.integer("maximum_number_of_words", d.maximum_number_of_words as u64, 1, 100) as u32,
        silence_threshold: r.integer("silence_threshold", d.silence_threshold as u64, 1, 32_767) as u16,
        maximum_word_length: r.millis("maximum_word_length_ms", ms(d.maximum_word_length), 100, 120_000),
    };
    r.finish();
    cfg
}

/// Reads one node's fields; `None` when a problem was recorded.
fn read_node(
    r: &mut Reader,
    ids: &HashMap<&str, NodeId>,
    load_prompt: &dyn Fn(&str) -> Result<Arc<Prompt>, String>,
) -> Option<NodeKind> {
    let kind = r.required_string("kind")?;
    if !KINDS.contains(&kind.as_str()) {
        r.problem("kind", format!("{kind:?} is not one of: {}", KINDS.join(", ")));
        return None;
    }
    let before = r.problems.len();
    let target = |r: &mut Reader, field: &str| -> Option<NodeId> {
        let name = r.required_string(field)?;
        match ids.get(name.as_str()) {
            Some(id) => Some(*id),
            None => {
                r.problem(field, format!("no node named {name:?}"));
                None
            }
        }
    };
    let prompt = |r: &mut Reader, field: &str, required: bool| -> Option<Arc<Prompt>> {
        let names = match r.strings(field) {
            Some(n) if !n.is_empty() => n,
            _ => {
                if required {
                    r.problem(field, "is required: a prompt file, or a list of them");
                }
                return None;
            }
        };
        let mut all = Prompt { ulaw: Vec::new(), alaw: Vec::new() };
        for name in &names {
            match load_prompt(name) {
                Ok(p) => {
                    all.ulaw.extend_from_slice(&p.ulaw);
                    all.alaw.extend_from_slice(&p.alaw);
                }
                Err(why) => r.problem(field, format!("{name:?}: {why}")),
            }
        }
        Some(Arc::new(all))
    };
    let node = match kind.as_str() {
        "play" => NodeKind::Play {
            prompt: prompt(r, "prompt", true).unwrap_or_default(),
            barge_in: r.boolean("barge_in", false),
            next: target(r, "next")?,
        },
        "gather" => {
            let allowed = r.string("allowed", DIGITS);
            if allowed.is_empty() || !allowed.chars().all(|c| DIGITS.contains(c)) {
                r.problem("allowed", format!("digits must be from {DIGITS}"));
            }
            let terminator = match r.opt_string("terminator").as_deref() {
                None | Some("") => None,
                Some(t) if t.len() == 1 && DIGITS.contains(t) => t.chars().next(),
                Some(t) => {
                    r.problem("terminator", format!("{t:?} is not one DTMF digit"));
                    None
                }
            };
            NodeKind::Gather {
                prompt: prompt(r, "prompt", false),
                max_digits: r.integer("max_digits", 1, 1, 64) as usize,
                terminator,
                first_digit_timeout: r.seconds("first_digit_timeout_s", 5.0, 0.1, 600.0),
                inter_digit_timeout: r.seconds("inter_digit_timeout_s", 3.0, 0.1, 600.0),
                allowed,
                var: r.required_string("var")?,
                next: target(r, "next")?,
                on_no_input: target(r, "on_no_input")?,
            }
        }
        "menu" => {
            let options = match r.raw("options").and_then(Value::as_object) {
                Some(map) if !map.is_empty() => read_options(r, map, ids),
                _ => {
                    r.problem("options", "is required: a table of digit = node");
                    Vec::new()
                }
            };
            NodeKind::Menu {
                prompt: prompt(r, "prompt", true).unwrap_or_default(),
                retry_prompt: prompt(r, "retry_prompt", false),
                options,
                timeout: r.seconds("timeout_s", 5.0, 0.1, 600.0),
                attempts: r.integer("attempts", 3, 1, 20) as u32,
                on_fail: target(r, "on_fail")?,
            }
        }
        "set" => NodeKind::Set {
            var: r.required_string("var")?,
            value: r.opt_string("value").unwrap_or_default(),
            next: target(r, "next")?,
        },
        "outcome" => NodeKind::Outcome { outcome: r.required_string("outcome")? },
        "webhook" => {
            let url = r.required_string("url")?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                r.problem("url", "must be an http:// or https:// URL");
            }
            let branches = match r.raw("branches").and_then(Value::as_object) {
                Some(map) => map
                    .iter()
                    .filter_map(|(k, v)| match v.as_str().and_then(|n| ids.get(n)) {
                        Some(id) => Some((k.clone(), *id)),
                        None => {
                            r.problem(&format!("branches.{k}"), format!("no node named {v}"));
                            None
                        }
                    })
                    .collect(),
                None => Vec::new(),
            };
            NodeKind::Webhook {
                url,
                timeout: r.seconds("timeout_s", 3.0, 0.1, 60.0),
                field: r.string("field", "next"),
                branches,
                default: target(r, "default")?,
                on_error: target(r, "on_error")?,
            }
        }
        "transfer" => {
            let to = r.required_string("to")?;
            let to = if let Some(g) = to.strip_prefix("group:") {
                TransferTarget::Group(g.to_string())
            } else if to.starts_with("sip:") {
                TransferTarget::Uri(to)
            } else {
                r.problem("to", "must be group:<name> or a sip: URI");
                return None;
            };
            NodeKind::Transfer { to, on_fail: target(r, "on_fail")? }
        }
        "pause" => NodeKind::Pause { duration: r.seconds("seconds", 1.0, 0.02, 600.0), next: target(r, "next")? },
        "goto" => NodeKind::Goto { next: target(r, "next")? },
        "hangup" => NodeKind::Hangup,
        "amd" => {
            NodeKind::Amd { human: target(r, "human")?, machine: target(r, "machine")?, notsure: target(r, "notsure")? }
        }
        "wait_silence" => NodeKind::WaitSilence {
            silence: r.millis("silence_ms", 800, 50, 60_000),
            timeout: r.seconds("timeout_s", 20.0, 0.5, 600.0),
            next: target(r, "next")?,
        },
        _ => unreachable!("checked against KINDS"),
    };
    (r.problems.len() == before).then_some(node)
}

fn read_options(r: &mut Reader, map: &Map<String, Value>, ids: &HashMap<&str, NodeId>) -> Vec<(char, NodeId)> {
    let mut out = Vec::new();
    for (digit, v) in map {
        let key = format!("options.{digit}");
        let mut chars = digit.chars();
        let d = match (chars.next(), chars.next()) {
            (Some(d), None) if DIGITS.contains(d) => d,
            _ => {
                r.problem(&key, "an option is one DTMF digit");
                continue;
            }
        };
        match v.as_str().and_then(|n| ids.get(n)) {
            Some(id) => out.push((d, *id)),
            None => r.problem(&key, format!("no node named {v}")),
        }
    }
    out
}

#[cfg(test)]
mod tests;
