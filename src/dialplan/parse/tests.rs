use super::*;
use crate::dialplan::DialplanProblem;
use std::time::Duration;

fn prompts(name: &str) -> Result<Arc<Prompt>, String> {
    match name {
        "missing.wav" => Err("no such prompt file".into()),
        _ => Ok(Arc::new(Prompt::from_linear(&[0; 160]))),
    }
}

fn ok(text: &str) -> Flow {
    parse("t.toml", text, &prompts).unwrap_or_else(|p| panic!("{p:#?}"))
}

fn problems(text: &str) -> Vec<String> {
    parse("t.toml", text, &prompts).expect_err("problems").iter().map(DialplanProblem::to_string).collect()
}

const LEAD: &str = r##"
description = "qualify a lead"
start = "ask"
[vars]
company = "Acme"
attempts = 3
[nodes.ask]
kind = "menu"
prompt = ["a.wav", "b.wav"]
retry_prompt = "again.wav"
options = { "1" = "yes", "2" = "no" }
timeout_s = 4
attempts = 3
on_fail = "silent"
[nodes.yes]
kind = "outcome"
outcome = "qualified"
[nodes.no]
kind = "outcome"
outcome = "rejected"
[nodes.silent]
kind = "outcome"
outcome = "no_input"
"##;

#[test]
fn a_menu_flow_parses() {
    let f = ok(LEAD);
    assert_eq!(f.name, "t");
    assert_eq!(f.version.len(), 12);
    assert_eq!(f.vars.get("attempts").map(String::as_str), Some("3"));
    let NodeKind::Menu { prompt, options, attempts, timeout, .. } = &f.node(f.start).kind else { panic!() };
    assert_eq!(prompt.ulaw.len(), 320, "two prompts concatenated");
    assert_eq!(options.len(), 2);
    assert_eq!((*attempts, *timeout), (3, Duration::from_secs(4)));
}

#[test]
fn the_version_follows_the_content() {
    assert_eq!(ok(LEAD).version, ok(LEAD).version);
    assert_ne!(ok(LEAD).version, ok(&LEAD.replace("Acme", "Other")).version);
}

#[test]
fn problems_name_the_node_and_the_field() {
    let p = problems(&LEAD.replace("\"2\" = \"no\"", "\"2\" = \"nowhere\"").replace("again.wav", "missing.wav"));
    assert!(p.iter().any(|p| p == "t.toml: nodes.ask.options.2: no node named \"nowhere\""), "{p:#?}");
    assert!(
        p.iter().any(|p| p.starts_with("t.toml: nodes.ask.retry_prompt: \"missing.wav\": no such prompt")),
        "{p:#?}"
    );
    let p = problems(&LEAD.replace("kind = \"outcome\"\noutcome = \"rejected\"", "kind = \"teleport\""));
    assert!(p.iter().any(|p| p.starts_with("t.toml: nodes.no.kind: \"teleport\" is not one of")), "{p:#?}");
    let p = problems(&LEAD.replace("start = \"ask\"", "start = \"nope\""));
    assert_eq!(p, ["t.toml: start: no node named \"nope\""]);
    let p = problems(&LEAD.replace("timeout_s = 4", "timeout_s = 4\ncolour = \"red\""));
    assert_eq!(p, ["t.toml: nodes.ask.colour: unknown key"]);
    assert!(problems("start = [")[0].starts_with("t.toml: not valid TOML"));
    assert_eq!(problems("start = \"a\""), ["t.toml: nodes: a flow needs at least one [nodes.<name>] table"]);
}

#[test]
fn unreachable_nodes_are_reported() {
    let p = problems(&format!("{LEAD}\n[nodes.orphan]\nkind = \"hangup\"\n"));
    assert_eq!(p, ["t.toml: nodes.orphan: unreachable from the start node \"ask\""]);
}

#[test]
fn loops_that_never_wait_are_reported_and_waiting_loops_are_fine() {
    let spin = r##"
start = "a"
[nodes.a]
kind = "set"
var = "x"
value = "1"
next = "b"
[nodes.b]
kind = "goto"
next = "a"
"##;
    let p = problems(spin);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].contains("loop without an input or wait node") && p[0].contains("a → b → a"), "{p:#?}");
    // The same loop through a pause is a legitimate retry loop.
    ok(&spin.replace("kind = \"goto\"\nnext = \"a\"", "kind = \"pause\"\nseconds = 1\nnext = \"a\""));
    // A play-only loop never takes input: refused too.
    let p = problems("start = \"a\"\n[nodes.a]\nkind = \"play\"\nprompt = \"x.wav\"\nnext = \"a\"\n");
    assert!(p[0].contains("a → a"), "{p:#?}");
}

#[test]
fn every_node_kind_parses() {
    let text = r##"
start = "amd"
[amd]
initial_silence_ms = 2000
maximum_number_of_words = 4
[nodes.amd]
kind = "amd"
human = "gather"
machine = "wait"
notsure = "gather"
[nodes.wait]
kind = "wait_silence"
silence_ms = 700
timeout_s = 15
next = "hook"
[nodes.gather]
kind = "gather"
prompt = "enter.wav"
max_digits = 6
terminator = "#"
first_digit_timeout_s = 4
inter_digit_timeout_s = 2
allowed = "0123456789"
var = "account"
next = "set"
on_no_input = "bye"
[nodes.set]
kind = "set"
var = "greeting"
value = "hi ${account}"
next = "hook"
[nodes.hook]
kind = "webhook"
url = "http://127.0.0.1:9/lookup"
field = "result"
branches = { "ok" = "transfer", "later" = "pause" }
default = "bye"
on_error = "bye"
[nodes.transfer]
kind = "transfer"
to = "group:sales"
on_fail = "bye"
[nodes.pause]
kind = "pause"
seconds = 0.5
next = "bye"
[nodes.bye]
kind = "hangup"
"##;
    let f = ok(text);
    assert_eq!(f.amd.initial_silence, Duration::from_millis(2000));
    assert_eq!(f.amd.maximum_number_of_words, 4);
    let kinds: Vec<&str> = f.nodes.iter().map(|n| n.kind.kind_name()).collect();
    for k in ["amd", "wait_silence", "gather", "set", "webhook", "transfer", "pause", "hangup"] {
        assert!(kinds.contains(&k), "{k}");
    }
    let bad = problems(&text.replace("group:sales", "sales").replace("http://127", "ftp://127"));
    assert!(bad.iter().any(|p| p.contains("nodes.transfer.to")), "{bad:#?}");
    assert!(bad.iter().any(|p| p.contains("nodes.hook.url")), "{bad:#?}");
    let bad = problems(
        &text
            .replace("terminator = \"#\"", "terminator = \"##\"")
            .replace("allowed = \"0123456789\"", "allowed = \"12x\""),
    );
    assert!(bad.iter().any(|p| p.contains("nodes.gather.terminator")), "{bad:#?}");
    assert!(bad.iter().any(|p| p.contains("nodes.gather.allowed")), "{bad:#?}");
}
