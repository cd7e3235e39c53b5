use super::*;
use crate::dialplan::parse;

fn flow(text: &str) -> Arc<Flow> {
    let prompts = |_: &str| Ok(Arc::new(Prompt::from_linear(&[0; 160])));
    Arc::new(parse("f.toml", text, &prompts).unwrap_or_else(|p| panic!("{p:#?}")))
}

fn drain(r: &mut FlowRun) -> Vec<FlowAction> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn plays(actions: &[FlowAction]) -> usize {
    actions.iter().filter(|a| matches!(a, FlowAction::Play(_))).count()
}

const MENU: &str = r##"
start = "ask"
[nodes.ask]
kind = "menu"
prompt = "ask.wav"
retry_prompt = "again.wav"
options = { "1" = "yes", "2" = "no" }
timeout_s = 5
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
fn menu_digit_one_qualifies() {
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(MENU), BTreeMap::new(), t0);
    assert_eq!(plays(&drain(&mut r)), 1);
    r.handle(t0, FlowInput::PromptFinished);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    r.handle(t0, FlowInput::Dtmf('1'));
    assert_eq!(drain(&mut r), vec![FlowAction::End]);
    assert_eq!(r.outcome(), Some("qualified"));
    let v = r.view();
    assert_eq!(v.path.iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), ["ask", "yes"]);
    assert_eq!(v.path[0].digits, "1");
}

#[test]
fn menu_barge_in_stops_the_prompt() {
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(MENU), BTreeMap::new(), t0);
    drain(&mut r);
    r.handle(t0, FlowInput::Dtmf('2'));
    assert_eq!(drain(&mut r), vec![FlowAction::StopPlayback, FlowAction::End]);
    assert_eq!(r.outcome(), Some("rejected"));
}

#[test]
fn menu_retries_with_the_retry_prompt_then_fails() {
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(MENU), BTreeMap::new(), t0);
    drain(&mut r);
    let mut now = t0;
    for attempt in 1..=3 {
        r.handle(now, FlowInput::PromptFinished);
        now += Duration::from_secs(5);
        r.handle_timeout(now - Duration::from_millis(1));
        assert!(drain(&mut r).is_empty(), "early timeout does nothing");
        r.handle_timeout(now);
        let a = drain(&mut r);
        if attempt < 3 {
            assert_eq!(plays(&a), 1, "attempt {attempt} replays");
        } else {
            assert_eq!(a, vec![FlowAction::End]);
        }
    }
    assert_eq!(r.outcome(), Some("no_input"));
    // An invalid digit also counts as an attempt.
    let mut r = FlowRun::start(flow(MENU), BTreeMap::new(), t0);
    drain(&mut r);
    r.handle(t0, FlowInput::PromptFinished);
    r.handle(t0, FlowInput::Dtmf('9'));
    assert_eq!(plays(&drain(&mut r)), 1);
    assert_eq!(r.view().path[0].digits, "9");
}

const GATHER: &str = r##"
start = "g"
[nodes.g]
kind = "gather"
prompt = "enter.wav"
max_digits = 4
terminator = "#"
first_digit_timeout_s = 5
inter_digit_timeout_s = 2
allowed = "0123456789"
var = "pin"
next = "check"
on_no_input = "none"
[nodes.check]
kind = "set"
var = "msg"
value = "pin ${pin} from ${company}"
next = "done"
[nodes.done]
kind = "outcome"
outcome = "got_pin"
[nodes.none]
kind = "outcome"
outcome = "no_input"
"##;

#[test]
fn gather_collects_until_the_terminator_and_sets_vars() {
    let t0 = Instant::now();
    let vars = BTreeMap::from([("company".to_string(), "Acme".to_string())]);
    let mut r = FlowRun::start(flow(GATHER), vars, t0);
    drain(&mut r);
    r.handle(t0, FlowInput::Dtmf('1'));
    assert_eq!(drain(&mut r), vec![FlowAction::StopPlayback], "barge-in");
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(2)), "inter-digit timer");
    r.handle(t0, FlowInput::Dtmf('*'));
    r.handle(t0, FlowInput::Dtmf('2'));
    r.handle(t0, FlowInput::Dtmf('#'));
    assert_eq!(r.outcome(), Some("got_pin"));
    let v = r.view();
    assert_eq!(v.vars["pin"], "12", "* is not allowed; # terminates");
    assert_eq!(v.vars["msg"], "pin 12 from Acme");
    assert_eq!(v.path[0].digits, "12");
}

#[test]
fn gather_timeouts() {
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(GATHER), BTreeMap::new(), t0);
    drain(&mut r);
    r.handle(t0, FlowInput::PromptFinished);
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(r.outcome(), Some("no_input"));
    // Digits then silence: the inter-digit timeout completes the gather.
    let mut r = FlowRun::start(flow(GATHER), BTreeMap::new(), t0);
    r.handle(t0, FlowInput::PromptFinished);
    r.handle(t0, FlowInput::Dtmf('7'));
    r.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(r.outcome(), Some("got_pin"));
    assert_eq!(r.view().vars["pin"], "7");
    // Max digits completes at once.
    let mut r = FlowRun::start(flow(GATHER), BTreeMap::new(), t0);
    for d in "12345".chars() {
        r.handle(t0, FlowInput::Dtmf(d));
    }
    assert_eq!(r.view().vars["pin"], "1234");
}

const AMD: &str = r##"
start = "detect"
[nodes.detect]
kind = "amd"
human = "human"
machine = "beep"
notsure = "human"
[nodes.beep]
kind = "wait_silence"
silence_ms = 800
timeout_s = 20
next = "message"
[nodes.message]
kind = "play"
prompt = "vm.wav"
next = "left"
[nodes.left]
kind = "outcome"
outcome = "voicemail_left"
[nodes.human]
kind = "outcome"
outcome = "human"
"##;

#[test]
fn amd_machine_waits_for_silence_then_leaves_a_message() {
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(AMD), BTreeMap::new(), t0);
    assert_eq!(drain(&mut r), vec![FlowAction::StartAmd]);
    r.handle(t0, FlowInput::Amd(AmdVerdict::Machine));
    assert_eq!(drain(&mut r), vec![FlowAction::WatchSilence(Duration::from_millis(800))]);
    r.handle(t0, FlowInput::Silence);
    assert_eq!(plays(&drain(&mut r)), 1);
    r.handle(t0, FlowInput::PromptFinished);
    assert_eq!(r.outcome(), Some("voicemail_left"));
    assert_eq!(r.amd_verdict(), Some(AmdVerdict::Machine));
    // No verdict in time counts as notsure.
    let mut r = FlowRun::start(flow(AMD), BTreeMap::new(), t0);
    let guard = r.poll_timeout().unwrap();
    r.handle_timeout(guard);
    assert_eq!(r.outcome(), Some("human"));
    assert_eq!(r.amd_verdict(), Some(AmdVerdict::NotSure));
}

#[test]
fn webhook_branches_on_the_reply_and_sets_vars() {
    let text = r##"
start = "hook"
[nodes.hook]
kind = "webhook"
url = "http://127.0.0.1:9/x"
field = "result"
branches = { "vip" = "vip" }
default = "normal"
on_error = "error"
[nodes.vip]
kind = "outcome"
outcome = "vip"
[nodes.normal]
kind = "outcome"
outcome = "normal"
[nodes.error]
kind = "outcome"
outcome = "error"
"##;
    let t0 = Instant::now();
    let f = flow(text);
    let mut r = FlowRun::start(f.clone(), BTreeMap::from([("lead".to_string(), "42".to_string())]), t0);
    match &drain(&mut r)[..] {
        [FlowAction::Webhook { body, .. }] => assert_eq!(body["vars"]["lead"], "42"),
        other => panic!("{other:?}"),
    }
    r.handle(t0, FlowInput::WebhookReply(Ok(serde_json::json!({"result": "vip", "vars": {"tier": 1}}))));
    assert_eq!((r.outcome(), r.view().vars.get("tier").map(String::as_str)), (Some("vip"), Some("1")));
    let mut r = FlowRun::start(f.clone(), BTreeMap::new(), t0);
    r.handle(t0, FlowInput::WebhookReply(Ok(serde_json::json!({"result": "other"}))));
    assert_eq!(r.outcome(), Some("normal"));
    let mut r = FlowRun::start(f.clone(), BTreeMap::new(), t0);
    r.handle(t0, FlowInput::WebhookReply(Err("HTTP 500".into())));
    assert_eq!(r.outcome(), Some("error"));
    let mut r = FlowRun::start(f, BTreeMap::new(), t0);
    r.handle_timeout(r.poll_timeout().unwrap());
    assert_eq!(r.outcome(), Some("error"), "no reply at all");
}

#[test]
fn transfer_falls_back_until_bridging_exists() {
    let text = "start = \"t\"\n[nodes.t]\nkind = \"transfer\"\nto = \"sip:1000@pbx\"\non_fail = \"f\"\n[nodes.f]\nkind = \"outcome\"\noutcome = \"no_transfer\"\n";
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(text), BTreeMap::new(), t0);
    assert_eq!(drain(&mut r), vec![FlowAction::Transfer(TransferTarget::Uri("sip:1000@pbx".into()))]);
    r.handle(t0, FlowInput::TransferFailed("not yet".into()));
    assert_eq!(r.outcome(), Some("no_transfer"));
}

#[test]
fn waiting_loops_stop_at_the_visit_limit() {
    let text = "start = \"p\"\n[nodes.p]\nkind = \"pause\"\nseconds = 1\nnext = \"p\"\n";
    let t0 = Instant::now();
    let mut r = FlowRun::start(flow(text), BTreeMap::new(), t0);
    let mut now = t0;
    while !r.is_ended() {
        now += Duration::from_secs(1);
        r.handle_timeout(now);
    }
    assert_eq!(r.outcome(), Some("loop_limit"));
    assert_eq!(now - t0, Duration::from_secs(u64::from(MAX_VISITS)));
}

#[test]
fn the_inline_flow_matches_the_minimal_script() {
    let t0 = Instant::now();
    let p = Arc::new(Prompt::from_linear(&[0; 160]));
    let mut r =
        FlowRun::start(Arc::new(Flow::inline(Some(p.clone()), Some((2, Duration::from_secs(5))))), BTreeMap::new(), t0);
    assert_eq!(plays(&drain(&mut r)), 1);
    r.handle(t0, FlowInput::Dtmf('4'));
    r.handle(t0, FlowInput::Dtmf('2'));
    assert_eq!(r.outcome(), Some("gather_complete"));
    let mut r = FlowRun::start(Arc::new(Flow::inline(Some(p), None)), BTreeMap::new(), t0);
    r.handle(t0, FlowInput::PromptFinished);
    assert_eq!(r.outcome(), Some("script_done"));
    let r = FlowRun::start(Arc::new(Flow::inline(None, None)), BTreeMap::new(), t0);
    assert_eq!(r.outcome(), Some("script_done"));
}
