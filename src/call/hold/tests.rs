use super::*;
use crate::call::outcome::Cause;
use crate::call::plan::Plan;
use crate::dialplan::Flow;
use crate::media::sdp::{Codec, negotiate};
use crate::sip::LegEvent;
use std::sync::Arc;
use std::time::Duration;

const ANSWER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\n\
     a=rtpmap:101 telephone-event/8000\r\n";

/// An answered call whose flow waits 300 s for one digit; RTP timeout 5 s.
fn answered(t0: Instant) -> CallMachine {
    let flow = Arc::new(Flow::inline(None, Some((1, Duration::from_secs(300)))));
    let plan = Plan::for_tests(flow, Some(Duration::from_secs(5)));
    let mut m = CallMachine::new(plan);
    m.start(t0);
    m.handle_leg(t0, LegEvent::Answered { sdp: Some(ANSWER.into()) });
    drain(&mut m);
    m
}

fn drain(m: &mut CallMachine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn offer(dir: &str) -> LegEvent {
    let sdp = ANSWER.to_string() + dir;
    LegEvent::Modified { session: negotiate(sdp.as_bytes()).unwrap() }
}

/// The BYE the machine asked for, if any.
fn bye(actions: &[Action]) -> Option<&Action> {
    actions.iter().find(|a| matches!(a, Action::Bye { .. }))
}

#[test]
fn hold_and_resume_are_events_and_media_follows() {
    let t0 = Instant::now();
    let mut m = answered(t0);
    m.handle_leg(t0, offer("a=sendonly\r\n"));
    let a = drain(&mut m);
    assert!(a.contains(&Action::Event(Event::Held { direction: "sendonly" })), "{a:?}");
    assert!(
        a.iter().any(|x| matches!(x, Action::UpdateMedia(n) if !n.direction.far_receives())),
        "the media session is told to stop sending: {a:?}"
    );
    assert!(m.is_held());
    // A second hold offer (inactive) is no new event.
    m.handle_leg(t0, offer("a=inactive\r\n"));
    assert!(!drain(&mut m).iter().any(|x| matches!(x, Action::Event(_))));
    m.handle_leg(t0, offer("a=sendrecv\r\n"));
    let a = drain(&mut m);
    assert!(a.contains(&Action::Event(Event::Resumed)), "{a:?}");
    assert!(a.iter().any(|x| matches!(x, Action::UpdateMedia(n) if n.direction.far_receives())), "{a:?}");
    assert!(!m.is_held());
}

#[test]
fn a_refresh_with_the_same_session_changes_nothing() {
    let t0 = Instant::now();
    let mut m = answered(t0);
    m.handle_leg(t0, offer(""));
    assert!(drain(&mut m).is_empty(), "same session: no media update, no event");
}

#[test]
fn a_codec_change_reaches_the_media_session() {
    let t0 = Instant::now();
    let mut m = answered(t0);
    let pcma = ANSWER.replace("RTP/AVP 0 101", "RTP/AVP 8 101");
    m.handle_leg(t0, LegEvent::Modified { session: negotiate(pcma.as_bytes()).unwrap() });
    let a = drain(&mut m);
    assert!(matches!(&a[..], [Action::UpdateMedia(n)] if n.codec == Codec::Pcma), "{a:?}");
}

#[test]
fn rtp_inactivity_does_not_end_a_held_call() {
    let t0 = Instant::now();
    let mut m = answered(t0);
    m.handle_leg(t0 + Duration::from_secs(1), offer("a=inactive\r\n"));
    drain(&mut m);
    // Held for a minute without a packet: the call stays up; the
    // far end's odd packet while held does not re-arm the timer.
    m.rtp_received(t0 + Duration::from_secs(2));
    for s in [6, 20, 59] {
        m.handle_timeout(t0 + Duration::from_secs(s));
        assert_eq!(bye(&drain(&mut m)), None, "held at {s} s");
    }
    // Resumed at 59 s: silence counts again from there.
    let resumed = t0 + Duration::from_secs(59);
    m.handle_leg(resumed, offer(""));
    drain(&mut m);
    m.handle_timeout(resumed + Duration::from_millis(4900));
    assert_eq!(bye(&drain(&mut m)), None);
    m.handle_timeout(resumed + Duration::from_secs(5));
    assert!(bye(&drain(&mut m)).is_some(), "the RTP timeout fires 5 s after the resume");
    m.handle_leg(resumed + Duration::from_secs(5), LegEvent::Ended);
    let a = drain(&mut m);
    assert!(
        a.contains(&Action::Event(Event::Hangup {
            cause: Cause::RtpTimeout,
            sip_status: Some(200),
            reason: Some("no RTP from the far end for 5 s".into()),
            by: crate::call::outcome::HangupBy::System,
            q850: Some(crate::sip::reason::Q850::new(31, "Normal, unspecified")),
        })),
        "{a:?}"
    );
}

#[test]
fn an_info_digit_feeds_the_flow_like_an_rtp_one() {
    let t0 = Instant::now();
    let mut m = answered(t0);
    m.handle_leg(t0, LegEvent::Dtmf { digit: '7' });
    let a = drain(&mut m);
    assert!(a.contains(&Action::Event(Event::Dtmf { digit: '7' })), "{a:?}");
    assert!(bye(&a).is_some(), "the one-digit gather completed: {a:?}");
    assert_eq!(m.digits(), "7");
}

#[test]
fn a_2xx_already_on_hold_is_reported_and_silence_is_not_an_rtp_timeout() {
    let t0 = Instant::now();
    let mut m = answered(t0);
    let mut m2 = {
        // The same call, but the 2xx itself says inactive.
        let mut c = CallMachine::new(m.plan.clone());
        c.start(t0);
        let sdp = ANSWER.to_string() + "a=inactive\r\n";
        c.handle_leg(t0, LegEvent::Answered { sdp: Some(sdp.into_bytes()) });
        c
    };
    let a = drain(&mut m2);
    assert!(a.contains(&Action::Event(Event::Held { direction: "inactive" })), "{a:?}");
    assert!(m2.is_held() && !m.is_held());
    // 60 s of silence: the sendrecv call ends (5 s RTP timeout), the held one does not.
    let later = t0 + Duration::from_secs(60);
    m.handle_timeout(later);
    m2.handle_timeout(later);
    assert!(bye(&drain(&mut m)).is_some());
    assert!(bye(&drain(&mut m2)).is_none());
}
