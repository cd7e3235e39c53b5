use super::*;
use crate::dialplan::Flow;
use crate::media::sdp::Codec;
use crate::media::{MediaEvent, Prompt};
use std::sync::Arc;
use std::time::Duration;

const ANSWER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn prompt() -> Option<Arc<Prompt>> {
    Some(Arc::new(Prompt::from_linear(&[0; 800])))
}

/// The inline flow: prompt, then up to `digits` digits with a 5 s timeout.
fn plan_with(prompt: Option<Arc<Prompt>>, gather: Option<(usize, Duration)>) -> Plan {
    Plan::for_tests(Arc::new(Flow::inline(prompt, gather)), None)
}

fn plan() -> Plan {
    plan_with(prompt(), Some((2, Duration::from_secs(5))))
}

fn flow_outcome(m: &CallMachine) -> Option<String> {
    m.flow_view().and_then(|f| f.outcome)
}

fn drain(m: &mut CallMachine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn finished(actions: &[Action]) -> Option<&Outcome> {
    actions.iter().find_map(|a| match a {
        Action::Finished(o) => Some(o),
        _ => None,
    })
}

fn events(actions: &[Action]) -> Vec<&Event> {
    actions.iter().filter_map(|a| if let Action::Event(e) = a { Some(e) } else { None }).collect()
}

/// The BYE the machine sends, with its Q.850 cause (RFC 3326).
fn bye_with(cause: u16) -> Action {
    let text = if cause == 16 { "Normal call clearing" } else { "Normal, unspecified" };
    Action::Bye { reason: Some(format!("Q.850;cause={cause};text=\"{text}\"")) }
}

fn answered(sdp: &str) -> LegEvent {
    LegEvent::Answered { sdp: Some(sdp.as_bytes().to_vec()) }
}

fn rejected(status: u16, reason: &str) -> LegEvent {
    LegEvent::Rejected { status, reason: reason.into(), retry_after: None, redirect_user: None, cause: None }
}

#[test]
fn answered_call_plays_gathers_and_hangs_up() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    let a = drain(&mut m);
    assert_eq!(a[0], Action::Dial { user: "+15551234".into() });
    assert_eq!(events(&a), vec![&Event::Dialing]);

    m.handle_leg(t0, LegEvent::Progress { status: 180, reason: "Ringing".into(), sdp: None });
    m.handle_leg(t0, LegEvent::Progress { status: 180, reason: "Ringing".into(), sdp: None });
    assert_eq!(events(&drain(&mut m)), vec![&Event::Ringing { sip_status: 180 }], "one ringing event");

    let t1 = t0 + Duration::from_secs(3);
    m.handle_leg(t1, answered(ANSWER));
    let a = drain(&mut m);
    assert!(matches!(&a[1], Action::StartMedia(n) if n.codec == Codec::Pcmu && n.dtmf_payload_type == Some(101)));
    assert!(matches!(a[2], Action::Play(_)));
    assert_eq!(events(&a), vec![&Event::Answered { codec: "PCMU" }]);
    assert_eq!(m.answered_at(), Some(t1));

    m.handle_media(t1, MediaEvent::PromptFinished);
    assert_eq!(m.poll_timeout(), Some(t1 + Duration::from_secs(5)), "gather timer armed");
    m.handle_media(t1, MediaEvent::Dtmf('4'));
    m.handle_media(t1, MediaEvent::Dtmf('2'));
    let a = drain(&mut m);
    assert!(a.contains(&bye_with(16)));
    assert!(a.contains(&Action::StopMedia));
    assert_eq!(m.digits(), "42");

    m.handle_leg(t1, LegEvent::Ended);
    let a = drain(&mut m);
    let o = finished(&a).unwrap();
    assert_eq!(
        (o.disposition, o.cause, o.by, o.sip_status),
        (Disposition::Answered, Cause::FlowDone, HangupBy::Local, Some(200))
    );
    assert_eq!(flow_outcome(&m).as_deref(), Some("gather_complete"));
    assert!(m.is_ended());
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn no_answer_timeout_cancels() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    drain(&mut m);
    m.handle_timeout(t0 + Duration::from_secs(29));
    assert!(drain(&mut m).is_empty(), "nothing before the deadline");
    m.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(drain(&mut m), vec![Action::Cancel]);
    m.handle_timeout(t0 + Duration::from_secs(31));
    assert!(drain(&mut m).is_empty(), "a second timeout call does not cancel twice");
    m.handle_leg(t0 + Duration::from_secs(31), rejected(487, "Request Terminated"));
    let a = drain(&mut m);
    let o = finished(&a).unwrap();
    assert_eq!((o.disposition, o.by, o.sip_status), (Disposition::NoAnswer, HangupBy::System, Some(487)));
}

#[test]
fn api_hangup_before_answer_is_canceled() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_leg(t0, LegEvent::Progress { status: 183, reason: "Session Progress".into(), sdp: Some(ANSWER.into()) });
    let a = drain(&mut m);
    assert_eq!(events(&a), vec![&Event::Dialing, &Event::Ringing { sip_status: 183 }, &Event::EarlyMedia]);
    m.hangup(t0);
    assert_eq!(drain(&mut m), vec![Action::Cancel]);
    m.handle_leg(t0, rejected(487, "Request Terminated"));
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.cause, o.by), (Disposition::Canceled, Cause::ApiHangup, HangupBy::Local));
}

#[test]
fn final_responses_map_to_dispositions() {
    for (status, d) in [
        (486, Disposition::Busy),
        (404, Disposition::InvalidNumber),
        (603, Disposition::Rejected),
        (500, Disposition::Failed),
    ] {
        let mut m = CallMachine::new(plan());
        m.start(Instant::now());
        m.handle_leg(Instant::now(), rejected(status, "x"));
        let o = finished(&drain(&mut m)).cloned().unwrap();
        assert_eq!((o.disposition, o.by, o.sip_status), (d, HangupBy::Remote, Some(status)));
    }
}

#[test]
fn service_unavailable_with_retry_after_pauses_the_trunk() {
    let mut m = CallMachine::new(plan());
    m.start(Instant::now());
    drain(&mut m);
    m.handle_leg(
        Instant::now(),
        LegEvent::Rejected {
            status: 503,
            reason: "Service Unavailable".into(),
            retry_after: Some(Duration::from_secs(20)),
            redirect_user: None,
            cause: None,
        },
    );
    let a = drain(&mut m);
    assert_eq!(a[0], Action::PauseTrunk(Duration::from_secs(20)));
    assert_eq!(finished(&a).unwrap().disposition, Disposition::Failed);
}

#[test]
fn redirects_follow_the_user_at_most_three_times() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    drain(&mut m);
    let redirect = |u: &str| LegEvent::Rejected {
        status: 302,
        reason: "Moved".into(),
        retry_after: None,
        redirect_user: Some(u.into()),
        cause: None,
    };
    for hop in 1..=3 {
        m.handle_leg(t0, redirect(&format!("100{hop}")));
        let a = drain(&mut m);
        assert!(a.contains(&Action::Dial { user: format!("100{hop}") }), "hop {hop}: {a:?}");
    }
    m.handle_leg(t0, redirect("1004"));
    let a = drain(&mut m);
    assert!(!a.iter().any(|x| matches!(x, Action::Dial { .. })));
    assert_eq!(finished(&a).unwrap().sip_status, Some(302));
    // A redirect to something that is not a SIP user is not followed.
    let mut m = CallMachine::new(plan());
    m.start(t0);
    drain(&mut m);
    m.handle_leg(t0, redirect("bad user@x"));
    assert!(finished(&drain(&mut m)).is_some());
}

#[test]
fn no_common_codec_ends_the_call_with_bye_and_reason() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    drain(&mut m);
    m.handle_leg(t0, answered(&ANSWER.replace("RTP/AVP 0 101", "RTP/AVP 18")));
    let a = drain(&mut m);
    assert!(matches!(&a[0], Action::Bye { reason: Some(r) } if r.contains("488")), "{a:?}");
    assert!(!a.iter().any(|x| matches!(x, Action::StartMedia(_))));
    m.handle_leg(t0, LegEvent::Ended);
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.cause, o.by), (Disposition::Failed, Cause::MediaError, HangupBy::System));
    assert!(o.reason.unwrap().contains("no common codec"));
}

#[test]
fn gather_timeout_and_max_duration() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan_with(None, Some((2, Duration::from_secs(5)))));
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    drain(&mut m);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(5)), "first-digit timer");
    m.handle_timeout(t0 + Duration::from_secs(5));
    assert!(drain(&mut m).contains(&bye_with(16)), "the flow ended: normal clearing");
    m.handle_leg(t0, LegEvent::Ended);
    assert_eq!(finished(&drain(&mut m)).unwrap().cause, Cause::FlowDone);
    assert_eq!(flow_outcome(&m).as_deref(), Some("gather_timeout"));

    let mut m = CallMachine::new(plan_with(None, Some((4, Duration::from_secs(3600)))));
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    drain(&mut m);
    m.handle_timeout(t0 + Duration::from_secs(600));
    assert!(drain(&mut m).contains(&bye_with(31)), "a limit ended it: normal, unspecified");
    m.handle_leg(t0, LegEvent::Ended);
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.cause, o.by), (Cause::MaxDuration, HangupBy::System));
}

#[test]
fn answer_crossing_cancel_is_hung_up() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_timeout(t0 + Duration::from_secs(30));
    drain(&mut m);
    m.handle_leg(t0, answered(ANSWER));
    let a = drain(&mut m);
    assert_eq!(a, vec![bye_with(16)]);
    m.handle_leg(t0, LegEvent::Ended);
    assert_eq!(finished(&drain(&mut m)).unwrap().disposition, Disposition::NoAnswer);

    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.hangup(t0);
    m.handle_leg(t0, LegEvent::AnsweredAfterCancel);
    assert_eq!(finished(&drain(&mut m)).unwrap().disposition, Disposition::Canceled);
}

#[test]
fn give_up_when_cancel_or_bye_goes_unanswered() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.hangup(t0);
    drain(&mut m);
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    m.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(finished(&drain(&mut m)).unwrap().disposition, Disposition::Canceled);

    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    m.hangup(t0);
    drain(&mut m);
    m.handle_timeout(t0 + Duration::from_secs(32));
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.cause), (Disposition::Answered, Cause::ApiHangup));
}

#[test]
fn remote_bye_during_the_prompt() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    drain(&mut m);
    m.handle_leg(t0, LegEvent::RemoteBye { cause: None });
    let a = drain(&mut m);
    assert_eq!(a[0], Action::StopMedia);
    let o = finished(&a).unwrap();
    assert_eq!((o.disposition, o.cause, o.by), (Disposition::Answered, Cause::RemoteBye, HangupBy::Remote));
    // Late events change nothing.
    m.handle_media(t0, MediaEvent::Dtmf('9'));
    m.handle_leg(t0, LegEvent::Ended);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.digits(), "");
}

#[test]
fn no_script_hangs_up_at_once_and_transport_failure_is_failed() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan_with(None, None));
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    assert!(drain(&mut m).contains(&bye_with(16)));

    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_leg(t0, LegEvent::Failed { status: Some(408), reason: "timer B".into() });
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.by, o.sip_status), (Disposition::Failed, HangupBy::System, Some(408)));
}

#[test]
fn queue_timeout_and_hangup_while_queued() {
    let mut m = CallMachine::new(plan());
    m.queued();
    m.queue_timeout();
    let a = drain(&mut m);
    assert_eq!(events(&a)[0], &Event::Queued);
    assert_eq!(finished(&a).unwrap().cause, Cause::QueueTimeout);
    let mut m = CallMachine::new(plan());
    m.queued();
    m.hangup(Instant::now());
    assert_eq!(finished(&drain(&mut m)).unwrap().disposition, Disposition::Canceled);
}

#[test]
fn a_leg_that_vanishes_while_canceling_ends_the_call() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.hangup(t0);
    drain(&mut m);
    m.handle_leg(t0, LegEvent::Ended);
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.sip_status), (Disposition::Canceled, None));
}

#[test]
fn special_information_tones_end_the_call_by_kind() {
    use crate::media::sit::SitKind;
    let t0 = Instant::now();
    // In early media: the SDP of the 183 starts listening, the tone cancels.
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_leg(
        t0,
        LegEvent::Progress { status: 183, reason: "Session Progress".into(), sdp: Some(ANSWER.as_bytes().to_vec()) },
    );
    assert!(drain(&mut m).iter().any(|a| matches!(a, Action::ListenEarly(_))));
    m.handle_media(t0, MediaEvent::Sit(SitKind::VacantCode));
    let a = drain(&mut m);
    assert!(a.contains(&Action::Cancel));
    assert!(events(&a).contains(&&Event::Sit { kind: "vacant_code" }));
    m.handle_leg(t0, rejected(487, "Request Terminated"));
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.cause, o.by), (Disposition::InvalidNumber, Cause::Sit, HangupBy::Remote));
    // After answer: BYE; a reorder tone is a failure, not a bad number.
    let mut m = CallMachine::new(plan());
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    drain(&mut m);
    m.handle_media(t0, MediaEvent::Sit(SitKind::Reorder));
    assert!(drain(&mut m).contains(&bye_with(16)));
    m.handle_leg(t0, LegEvent::Ended);
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.cause), (Disposition::Failed, Cause::Sit));
}

#[test]
fn a_machine_verdict_makes_the_disposition_machine() {
    use crate::dialplan::parse;
    use crate::media::amd::{AmdResult, AmdVerdict};
    let text = "start = \"d\"\n[nodes.d]\nkind = \"amd\"\nhuman = \"h\"\nmachine = \"m\"\nnotsure = \"h\"\n\
                [nodes.h]\nkind = \"outcome\"\noutcome = \"person\"\n[nodes.m]\nkind = \"outcome\"\noutcome = \"vm\"\n";
    let silent = |_: &str| Ok(Arc::new(Prompt::from_linear(&[0; 160])));
    let mut p = plan();
    p.flow = Arc::new(parse("amd.toml", text, &silent).unwrap());
    let t0 = Instant::now();
    let mut m = CallMachine::new(p);
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    assert!(drain(&mut m).iter().any(|a| matches!(a, Action::StartAmd(_))));
    let verdict =
        AmdResult { verdict: AmdVerdict::Machine, cause: "MAXWORDS-3-3".into(), after: Duration::from_millis(1500) };
    m.handle_media(t0, MediaEvent::Amd(verdict));
    let a = drain(&mut m);
    assert!(events(&a).contains(&&Event::Amd { verdict: "machine", cause: "MAXWORDS-3-3".into() }));
    assert!(a.contains(&bye_with(16)));
    m.handle_leg(t0, LegEvent::Ended);
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.disposition, o.cause), (Disposition::Machine, Cause::FlowDone));
    assert_eq!(flow_outcome(&m).as_deref(), Some("vm"));
}

#[test]
fn webhook_replies_reach_the_flow() {
    use crate::dialplan::parse;
    let text = "start = \"w\"\n[nodes.w]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\ndefault = \"a\"\non_error = \"b\"\n\
                [nodes.a]\nkind = \"outcome\"\noutcome = \"ok\"\n[nodes.b]\nkind = \"outcome\"\noutcome = \"error\"\n";
    let silent = |_: &str| Ok(Arc::new(Prompt::from_linear(&[0; 160])));
    let mut p = plan();
    p.flow = Arc::new(parse("w.toml", text, &silent).unwrap());
    let t0 = Instant::now();
    let mut m = CallMachine::new(p);
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    assert!(drain(&mut m).iter().any(|a| matches!(a, Action::Webhook { .. })));
    m.handle_webhook(t0, Err("HTTP 500".into()));
    assert!(drain(&mut m).contains(&bye_with(16)));
    assert_eq!(flow_outcome(&m).as_deref(), Some("error"));
}

#[test]
fn a_flow_ending_on_the_park_outcome_leaves_the_call_up() {
    let t0 = Instant::now();
    let answered_parking = || {
        let mut p = plan();
        p.park_on = Some("gather_complete".into());
        let mut m = CallMachine::new(p);
        m.start(t0);
        m.handle_leg(t0, answered(ANSWER));
        m.handle_media(t0, MediaEvent::PromptFinished);
        m
    };
    let mut m = answered_parking();
    m.handle_media(t0, MediaEvent::Dtmf('1'));
    m.handle_media(t0, MediaEvent::Dtmf('2'));
    let a = drain(&mut m);
    assert!(!a.iter().any(|a| matches!(a, Action::Bye { .. })), "parked, not hung up: {a:?}");
    assert_eq!(flow_outcome(&m).as_deref(), Some("gather_complete"));
    assert!(!m.is_ended());
    // Digits after the flow ended change nothing; the maximum duration still ends it.
    m.handle_media(t0, MediaEvent::Dtmf('3'));
    m.handle_timeout(t0 + Duration::from_secs(600));
    assert!(drain(&mut m).iter().any(|a| matches!(a, Action::Bye { .. })));

    // Any other outcome hangs up as before.
    let mut m = answered_parking();
    m.handle_timeout(t0 + Duration::from_secs(5));
    assert!(drain(&mut m).iter().any(|a| matches!(a, Action::Bye { .. })));
    assert_eq!(flow_outcome(&m).as_deref(), Some("gather_timeout"));
}

#[test]
fn silence_from_the_far_end_ends_an_answered_call_and_rtp_keeps_it_up() {
    let t0 = Instant::now();
    let mut p = plan_with(None, None);
    p.flow = Arc::new(crate::dialplan::Flow::inline(None, Some((1, Duration::from_secs(600)))));
    p.rtp_timeout = Some(Duration::from_secs(5));
    let mut m = CallMachine::new(p);
    m.start(t0);
    m.handle_leg(t0, answered(ANSWER));
    drain(&mut m);
    // Packets every 4 s keep it up past several timeouts.
    for k in 1..=5 {
        let t = t0 + Duration::from_secs(4 * k);
        m.handle_timeout(t);
        m.rtp_received(t);
        assert!(!drain(&mut m).iter().any(|a| matches!(a, Action::Bye { .. })), "up at {k}");
    }
    let quiet = t0 + Duration::from_secs(20);
    assert_eq!(m.poll_timeout(), Some(quiet + Duration::from_secs(5)), "the silence timer is in the table");
    m.handle_timeout(quiet + Duration::from_secs(5));
    assert!(drain(&mut m).iter().any(|a| matches!(a, Action::Bye { .. })));
    m.handle_leg(quiet, LegEvent::Ended);
    let o = finished(&drain(&mut m)).cloned().unwrap();
    assert_eq!((o.cause, o.by, o.disposition), (Cause::RtpTimeout, HangupBy::System, Disposition::Answered));
}
