use super::*;

fn policy<'a>(q: &'a [String], r: &'a [String], on_call_me: OnCallMe) -> Policy<'a> {
    Policy { qualified_outcomes: q, rejected_outcomes: r, message_rounds: 1, can_message: true, on_call_me }
}

fn run(inputs: &[Input<'_>], on_call_me: OnCallMe) -> (Lead, Vec<Action>) {
    let q = vec!["qualified".to_string()];
    let r = vec!["rejected".to_string(), "opt_out".to_string()];
    let p = policy(&q, &r, on_call_me);
    let mut lead = Lead::new();
    let mut actions = Vec::new();
    for i in inputs {
        let s = handle(lead, *i, &p);
        lead = s.lead;
        actions.extend(s.actions);
    }
    (lead, actions)
}

const IN_HOURS: Input<'static> = Input::Submitted { out_of_hours: false, on_dnc: false };
const NO_ANSWER: Input<'static> = Input::AttemptEnded { disposition: "no_answer", outcome: None };

#[test]
fn press_1_qualifies_press_2_rejects() {
    let (l, a) = run(
        &[IN_HOURS, Input::AttemptEnded { disposition: "answered", outcome: Some("qualified") }],
        OnCallMe::Qualify,
    );
    assert_eq!((l.state, l.reason.as_deref()), (LeadState::Qualified, Some("ivr")));
    assert_eq!(a, vec![Action::Emit("lead.created"), Action::QueueCall, Action::Emit("lead.qualified")]);
    let (l, a) =
        run(&[IN_HOURS, Input::AttemptEnded { disposition: "answered", outcome: Some("rejected") }], OnCallMe::Qualify);
    assert_eq!((l.state, l.reason.as_deref()), (LeadState::Rejected, Some("opt_out")));
    assert!(!a.contains(&Action::SendMessages), "an opt-out is never messaged");
}

#[test]
fn failed_attempts_message_once_then_reject() {
    let (l, a) = run(
        &[IN_HOURS, NO_ANSWER, NO_ANSWER, NO_ANSWER, Input::RecordFinal { final_state: "no_answer" }],
        OnCallMe::Qualify,
    );
    assert_eq!((l.state, l.reason.as_deref(), l.attempts), (LeadState::Rejected, Some("no_contact"), 3));
    assert_eq!(a.iter().filter(|x| **x == Action::SendMessages).count(), 1, "message_rounds = 1");
    assert_eq!(a.last(), Some(&Action::Emit("lead.rejected")));
}

#[test]
fn hang_up_or_ignored_options_message() {
    let (_, a) =
        run(&[IN_HOURS, Input::AttemptEnded { disposition: "answered", outcome: Some("no_input") }], OnCallMe::Qualify);
    assert!(a.contains(&Action::SendMessages));
}

#[test]
fn out_of_hours_messages_first() {
    let (l, a) = run(&[Input::Submitted { out_of_hours: true, on_dnc: false }], OnCallMe::Qualify);
    assert_eq!(l.state, LeadState::Pending);
    assert_eq!(a, vec![Action::Emit("lead.created"), Action::QueueCall, Action::SendMessages]);
    // The round is spent: a failed call later sends nothing more.
    let (_, a) = run(&[Input::Submitted { out_of_hours: true, on_dnc: false }, NO_ANSWER], OnCallMe::Qualify);
    assert_eq!(a.iter().filter(|x| **x == Action::SendMessages).count(), 1);
}

#[test]
fn a_number_on_the_dnc_list_is_rejected_at_once() {
    let (l, a) = run(&[Input::Submitted { out_of_hours: true, on_dnc: true }], OnCallMe::Qualify);
    assert_eq!((l.state, l.reason.as_deref()), (LeadState::Rejected, Some("dnc")));
    assert_eq!(a, vec![Action::Emit("lead.rejected")]);
}

#[test]
fn the_confirm_page() {
    let (l, a) = run(&[IN_HOURS, NO_ANSWER, Input::Page(Choice::CallMe)], OnCallMe::Qualify);
    assert_eq!((l.state, l.reason.as_deref()), (LeadState::Qualified, Some("confirm_page")));
    assert!(a.contains(&Action::CloseRecord { final_state: "qualified" }));
    // "Call me" after the attempts ran out, in call mode: a new call.
    let (l, a) =
        run(&[IN_HOURS, Input::RecordFinal { final_state: "no_answer" }, Input::Page(Choice::CallMe)], OnCallMe::Call);
    assert_eq!(l.state, LeadState::Pending);
    assert!(a.contains(&Action::QueueCall));
    // Stop always wins, also after qualification, and only once.
    let (l, a) = run(
        &[IN_HOURS, Input::Page(Choice::CallMe), Input::Page(Choice::Stop), Input::Page(Choice::Stop)],
        OnCallMe::Qualify,
    );
    assert_eq!((l.state, l.reason.as_deref()), (LeadState::Rejected, Some("opt_out_page")));
    assert_eq!(a.iter().filter(|x| **x == Action::AddDnc).count(), 1);
    // An IVR opt-out is not undone by a later "call me".
    let (l, _) = run(
        &[
            IN_HOURS,
            Input::AttemptEnded { disposition: "answered", outcome: Some("opt_out") },
            Input::Page(Choice::CallMe),
        ],
        OnCallMe::Qualify,
    );
    assert_eq!(l.reason.as_deref(), Some("opt_out"));
}

#[test]
fn every_sequence_keeps_the_invariants() {
    // Small exhaustive walk: any order of inputs never qualifies an
    // opted-out lead and never messages past the configured rounds.
    let inputs = [
        IN_HOURS,
        NO_ANSWER,
        Input::AttemptEnded { disposition: "answered", outcome: Some("qualified") },
        Input::AttemptEnded { disposition: "answered", outcome: Some("opt_out") },
        Input::RecordFinal { final_state: "busy" },
        Input::Page(Choice::CallMe),
        Input::Page(Choice::Stop),
    ];
    let n = inputs.len();
    for seq in 0..n.pow(4) {
        let picked: Vec<Input<'_>> = (0..4).map(|i| inputs[(seq / n.pow(i)) % n]).collect();
        for mode in [OnCallMe::Qualify, OnCallMe::Call] {
            let (l, a) = run(&picked, mode);
            assert!(a.iter().filter(|x| **x == Action::SendMessages).count() <= 1, "{picked:?}");
            let stop_at = picked.iter().position(|i| *i == Input::Page(Choice::Stop));
            if stop_at.is_some() {
                assert_eq!(l.state, LeadState::Rejected, "{picked:?}");
            }
        }
    }
}

#[test]
fn working_hours_decide_on_the_injected_wall_clock() {
    use crate::campaign::calendar::ScheduleSpec;
    let day = vec!["09:00-17:00".to_string()];
    let spec = ScheduleSpec {
        mon: day.clone(),
        tue: day.clone(),
        wed: day.clone(),
        thu: day.clone(),
        fri: day,
        holidays: vec!["2026-11-26".into()],
        ..Default::default()
    };
    let schedule = Schedule::from_spec(&spec).unwrap();
    let tz = TimeZone::get("America/New_York").unwrap();
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    // Tuesday 10:00 New York: open.
    assert_eq!(next_slot(&schedule, &tz, at("2026-11-24T15:00:00Z")), None);
    // Tuesday 17:30: the next slot is Wednesday 09:00.
    assert_eq!(next_slot(&schedule, &tz, at("2026-11-24T22:30:00Z")), Some(Some(at("2026-11-25T14:00:00Z"))));
    // Wednesday night before Thanksgiving (a holiday): Friday 09:00.
    assert_eq!(next_slot(&schedule, &tz, at("2026-11-26T01:00:00Z")), Some(Some(at("2026-11-27T14:00:00Z"))));
    // Saturday: Monday 09:00.
    assert_eq!(next_slot(&schedule, &tz, at("2026-11-28T18:00:00Z")), Some(Some(at("2026-11-30T14:00:00Z"))));
    // Across the spring DST change (Sunday 8 March 2026): Monday 09:00 EDT.
    assert_eq!(next_slot(&schedule, &tz, at("2026-03-08T12:00:00Z")), Some(Some(at("2026-03-09T13:00:00Z"))));
    // Never open: no slot, and the lead still gets its messages.
    let closed = Schedule::from_spec(&ScheduleSpec::default()).unwrap();
    assert_eq!(next_slot(&closed, &tz, at("2026-11-24T15:00:00Z")), Some(None));
}
