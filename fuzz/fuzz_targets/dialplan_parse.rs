//! `dialplan::parse`: a dialplan file as an operator might write it (or
//! break it). Any text must give a valid flow or problems, never a panic;
//! an accepted flow must hold the graph invariants the interpreter relies
//! on, and running it with arbitrary inputs must never panic either.
#![no_main]

use dialerd::dialplan::{FlowInput, FlowRun, parse};
use dialerd::media::Prompt;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let prompts = |name: &str| {
        if name.contains("bad") { Err("unsupported audio".to_string()) } else { Ok(Arc::new(Prompt::from_linear(&[0; 160]))) }
    };
    let flow = match parse("f.toml", text, &prompts) {
        Ok(f) => Arc::new(f),
        Err(problems) => {
            assert!(!problems.is_empty(), "an Err with no problem");
            assert!(problems.iter().all(|p| p.file == "f.toml" && !p.message.is_empty()));
            return;
        }
    };
    assert!(flow.start.0 < flow.nodes.len());
    for n in &flow.nodes {
        for s in n.kind.successors() {
            assert!(s.0 < flow.nodes.len(), "dangling reference from {}", n.name);
        }
    }
    // Drive it: digits, prompt ends, time; bounded by the visit limit.
    let t0 = Instant::now();
    let mut run = FlowRun::start(flow, BTreeMap::new(), t0);
    let mut now = t0;
    for (i, b) in data.iter().take(200).enumerate() {
        let input = match b % 6 {
            0 => FlowInput::PromptFinished,
            1 => FlowInput::Dtmf("0123456789*#"[(*b as usize / 6) % 12..].chars().next().unwrap()),
            2 => FlowInput::Silence,
            3 => FlowInput::WebhookReply(Ok(serde_json::json!({"next": "x"}))),
            4 => FlowInput::TransferFailed("no".into()),
            _ => FlowInput::Amd(dialerd::media::amd::AmdVerdict::NotSure),
        };
        run.handle(now, input);
        now += Duration::from_millis(u64::from(*b) * 50);
        run.handle_timeout(now);
        while run.poll_action().is_some() {}
        let _ = run.view();
        if run.is_ended() {
            break;
        }
        let _ = i;
    }
});
