//! Where a record goes after an attempt: the same number again after the
//! disposition's delay, the record's next number, or a final state. Pure:
//! times are epoch milliseconds given by the caller.

use super::model::{Retries, RetryRule};
use crate::store::RecordNext;

/// How an attempt ended, as far as retries are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult<'a> {
    /// The call's disposition (`answered`, `busy`, ...) or `interrupted`.
    pub disposition: &'a str,
    /// The flow's outcome, when the call was answered and ran one.
    pub outcome: Option<&'a str>,
}

/// The record's position before the attempt's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPos {
    pub phone_idx: i64,
    /// Attempts on this number, the one that just ended included.
    pub attempts_on_phone: i64,
    /// How many numbers the record has (phone1 + phone2).
    pub phones: usize,
}

/// What the flow's outcomes mean for the record.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcomes<'a> {
    /// Opt-outs: the number goes on the do-not-call list.
    pub dnc: &'a [String],
    /// When not empty, an answered call whose outcome is not one of these
    /// (the callee hung up or ignored the menu) counts as no contact and
    /// is retried under the `no_answer` rule; exhausted, it ends
    /// `undecided`. Empty: every answered call is final.
    pub decisive: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub next: RecordNext,
    /// The number must go on the do-not-call list (an IVR opt-out).
    pub add_dnc: bool,
}

fn rule<'r>(r: &'r Retries, disposition: &str) -> Option<&'r RetryRule> {
    match disposition {
        "busy" => Some(&r.busy),
        "no_answer" => Some(&r.no_answer),
        "failed" => Some(&r.failed),
        "machine" => Some(&r.machine),
        // Our own CANCEL/BYE cut the call short (shutdown, API hang-up).
        "interrupted" | "canceled" => Some(&r.interrupted),
        _ => None,
    }
}

/// `min_interrupted_delay_ms` is the no-answer timeout plus a margin: an
/// interrupted attempt's carrier leg may still ring that long.
pub fn after_attempt(
    rules: &Retries,
    outcomes: Outcomes<'_>,
    pos: RecordPos,
    result: &AttemptResult<'_>,
    now_ms: i64,
    min_interrupted_delay_ms: i64,
) -> Decision {
    if let Some(o) = result.outcome
        && outcomes.dnc.iter().any(|d| d == o)
    {
        return Decision { next: RecordNext::Done { final_state: "dnc".into() }, add_dnc: true };
    }
    let undecided = result.disposition == "answered"
        && !outcomes.decisive.is_empty()
        && !result.outcome.is_some_and(|o| outcomes.decisive.iter().any(|d| d == o));
    let next_phone = || {
        if (pos.phone_idx + 1) < pos.phones as i64 {
            RecordNext::Wait { due_at: now_ms, phone_idx: pos.phone_idx + 1, attempts_on_phone: 0 }
        } else if undecided {
            RecordNext::Done { final_state: "undecided".into() }
        } else {
            RecordNext::Done { final_state: result.disposition.to_string() }
        }
    };
    let disposition = if undecided { "no_answer" } else { result.disposition };
    let next = match disposition {
        "answered" => RecordNext::Done { final_state: "answered".into() },
        d => match rule(rules, d) {
            Some(r) if pos.attempts_on_phone < i64::from(r.max_attempts) => {
                let mut delay = (r.delay_s * 1000.0) as i64;
                if matches!(d, "interrupted" | "canceled") {
                    delay = delay.max(min_interrupted_delay_ms);
                }
                RecordNext::Wait {
                    due_at: now_ms + delay,
                    phone_idx: pos.phone_idx,
                    attempts_on_phone: pos.attempts_on_phone,
                }
            }
            // Out of attempts on this number, or a number that cannot be
            // reached (rejected, invalid): the next number, else final.
            _ => next_phone(),
        },
    };
    Decision { next, add_dnc: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(d: &str, outcome: Option<&str>, idx: i64, tries: i64, phones: usize) -> Decision {
        let pos = RecordPos { phone_idx: idx, attempts_on_phone: tries, phones };
        let dnc = ["rejected".to_string()];
        after_attempt(
            &Retries::default(),
            Outcomes { dnc: &dnc, decisive: &[] },
            pos,
            &AttemptResult { disposition: d, outcome },
            1_000,
            40_000,
        )
    }

    #[test]
    fn busy_retries_then_next_phone_then_final() {
        let r = run("busy", None, 0, 1, 2);
        assert_eq!(r.next, RecordNext::Wait { due_at: 301_000, phone_idx: 0, attempts_on_phone: 1 });
        let r = run("busy", None, 0, 3, 2);
        assert_eq!(r.next, RecordNext::Wait { due_at: 1_000, phone_idx: 1, attempts_on_phone: 0 });
        let r = run("busy", None, 1, 3, 2);
        assert_eq!(r.next, RecordNext::Done { final_state: "busy".into() });
    }

    #[test]
    fn answered_is_final_and_opt_out_goes_to_dnc() {
        assert_eq!(
            run("answered", Some("qualified"), 0, 1, 1).next,
            RecordNext::Done { final_state: "answered".into() }
        );
        let r = run("answered", Some("rejected"), 0, 1, 3);
        assert!(r.add_dnc);
        assert_eq!(r.next, RecordNext::Done { final_state: "dnc".into() });
    }

    #[test]
    fn undecided_answers_are_retried_when_outcomes_decide() {
        let decisive = ["qualified".to_string(), "rejected".to_string()];
        let o = Outcomes { dnc: &[], decisive: &decisive };
        let at = |tries, outcome| {
            let pos = RecordPos { phone_idx: 0, attempts_on_phone: tries, phones: 1 };
            after_attempt(&Retries::default(), o, pos, &AttemptResult { disposition: "answered", outcome }, 0, 0).next
        };
        assert_eq!(at(1, Some("no_input")), RecordNext::Wait { due_at: 1_800_000, phone_idx: 0, attempts_on_phone: 1 });
        assert_eq!(at(1, None), RecordNext::Wait { due_at: 1_800_000, phone_idx: 0, attempts_on_phone: 1 });
        assert_eq!(at(3, None), RecordNext::Done { final_state: "undecided".into() });
        assert_eq!(at(1, Some("qualified")), RecordNext::Done { final_state: "answered".into() });
    }

    #[test]
    fn unreachable_numbers_move_on_at_once() {
        let r = run("invalid_number", None, 0, 1, 2);
        assert_eq!(r.next, RecordNext::Wait { due_at: 1_000, phone_idx: 1, attempts_on_phone: 0 });
        assert_eq!(run("rejected", None, 0, 1, 1).next, RecordNext::Done { final_state: "rejected".into() });
    }

    #[test]
    fn interrupted_waits_at_least_the_ring_time() {
        let r = run("interrupted", None, 0, 1, 1);
        assert_eq!(r.next, RecordNext::Wait { due_at: 61_000, phone_idx: 0, attempts_on_phone: 1 });
        let pos = RecordPos { phone_idx: 0, attempts_on_phone: 1, phones: 1 };
        let res = AttemptResult { disposition: "interrupted", outcome: None };
        let r = after_attempt(&Retries::default(), Outcomes::default(), pos, &res, 0, 95_000);
        assert_eq!(r.next, RecordNext::Wait { due_at: 95_000, phone_idx: 0, attempts_on_phone: 1 });
    }
}
