use super::*;

fn id(s: &str) -> AgentId {
    AgentId(s.into())
}

fn ids(v: &[&str]) -> Vec<AgentId> {
    v.iter().map(|s| id(s)).collect()
}

fn step(strategy: Strategy, secs: u64) -> Step {
    Step { strategy, ring_timeout: Duration::from_secs(secs) }
}

/// Agents a, b, c; c has been idle longest, then a, then b.
fn cands(t0: Instant) -> Vec<Candidate> {
    vec![
        Candidate { id: id("a"), idle_since: t0 - Duration::from_secs(60) },
        Candidate { id: id("b"), idle_since: t0 - Duration::from_secs(10) },
        Candidate { id: id("c"), idle_since: t0 - Duration::from_secs(600) },
    ]
}

fn drain(r: &mut Ring) -> Vec<Action> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

#[test]
fn ring_all_first_answer_wins_and_the_others_are_cancelled() {
    let t0 = Instant::now();
    let mut r = Ring::new(vec![step(Strategy::RingAll, 20)], cands(t0), 0, t0);
    assert_eq!(drain(&mut r), vec![Action::Ring(ids(&["a", "b", "c"]))]);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(20)));
    r.handle_answered(&id("b"));
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["a", "c"])), Action::Connect(id("b"))]);
    assert_eq!(r.connected(), Some(&id("b")));
    assert_eq!(r.poll_timeout(), None);
    // c answers in the race with our CANCEL: its leg is hung up.
    r.handle_answered(&id("c"));
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["c"]))]);
    assert_eq!(r.connected(), Some(&id("b")));
}

#[test]
fn a_timeout_moves_to_the_next_step_then_the_fallback() {
    let t0 = Instant::now();
    let steps = vec![step(Strategy::RingAll, 10), step(Strategy::LongestIdle, 5)];
    let mut r = Ring::new(steps, cands(t0), 0, t0);
    drain(&mut r);
    // Early calls change nothing.
    r.handle_timeout(t0 + Duration::from_secs(9));
    assert!(drain(&mut r).is_empty());
    let t1 = t0 + Duration::from_secs(10);
    r.handle_timeout(t1);
    // Longest idle: c, then a, then b, each for 5 s.
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["a", "b", "c"])), Action::Ring(ids(&["c"]))]);
    assert_eq!(r.poll_timeout(), Some(t1 + Duration::from_secs(5)));
    let t2 = t1 + Duration::from_secs(5);
    r.handle_timeout(t2);
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["c"])), Action::Ring(ids(&["a"]))]);
    r.handle_failed(&id("a"), t2 + Duration::from_secs(1));
    assert_eq!(drain(&mut r), vec![Action::Ring(ids(&["b"]))], "a refused: b at once, no waiting");
    r.handle_timeout(t2 + Duration::from_secs(6));
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["b"])), Action::Fallback]);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn round_robin_starts_after_the_cursor_and_reports_the_next_one() {
    let t0 = Instant::now();
    let mut r = Ring::new(vec![step(Strategy::RoundRobin, 5)], cands(t0), 0, t0);
    assert_eq!(drain(&mut r), vec![Action::Ring(ids(&["b"]))], "after a (index 0) comes b");
    r.handle_answered(&id("b"));
    drain(&mut r);
    assert_eq!(r.next_cursor(), 1);
    // The next call starts after b; the order wraps.
    let mut r = Ring::new(vec![step(Strategy::RoundRobin, 5)], cands(t0), 1, t0);
    assert_eq!(drain(&mut r), vec![Action::Ring(ids(&["c"]))]);
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["c"])), Action::Ring(ids(&["a"]))]);
    assert_eq!(r.next_cursor(), 0);
}

#[test]
fn refused_agents_are_not_rung_again_and_no_one_left_means_fallback() {
    let t0 = Instant::now();
    let steps = vec![step(Strategy::RingAll, 10), step(Strategy::RingAll, 10)];
    let mut r = Ring::new(steps, cands(t0), 0, t0);
    drain(&mut r);
    r.handle_failed(&id("a"), t0);
    r.handle_failed(&id("b"), t0);
    assert!(drain(&mut r).is_empty(), "c still rings");
    r.handle_timeout(t0 + Duration::from_secs(10));
    // Step 2 rings c again (it only timed out), not a or b (they refused).
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["c"])), Action::Ring(ids(&["c"]))]);
    r.handle_failed(&id("c"), t0 + Duration::from_secs(11));
    assert_eq!(drain(&mut r), vec![Action::Fallback]);
    // No candidate at all: straight to the fallback.
    let mut r = Ring::new(vec![step(Strategy::RingAll, 10)], Vec::new(), 0, t0);
    assert_eq!(drain(&mut r), vec![Action::Fallback]);
}

#[test]
fn the_caller_hanging_up_cancels_what_rings() {
    let t0 = Instant::now();
    let mut r = Ring::new(vec![step(Strategy::RingAll, 10)], cands(t0), 0, t0);
    drain(&mut r);
    r.abandon();
    assert_eq!(drain(&mut r), vec![Action::Cancel(ids(&["a", "b", "c"]))]);
    assert_eq!(r.poll_timeout(), None);
    r.handle_timeout(t0 + Duration::from_secs(60));
    assert!(drain(&mut r).is_empty());
}

#[test]
fn every_input_order_ends_connected_once_or_in_fallback_once() {
    // A small exhaustive walk over event orders: at most one Connect,
    // never both Connect and Fallback, every rung agent ends cancelled or
    // connected or refused, and the machine always terminates.
    let t0 = Instant::now();
    let all = ["a", "b", "c"];
    for strategy in [Strategy::RingAll, Strategy::RoundRobin, Strategy::LongestIdle] {
        for script in 0..4usize.pow(5) {
            let mut r = Ring::new(vec![step(strategy, 5), step(Strategy::RingAll, 5)], cands(t0), 2, t0);
            let mut now = t0;
            let mut acts = drain(&mut r);
            for k in 0..5 {
                let who = id(all[(script / 4usize.pow(k)) % 3]);
                match (script / 4usize.pow(k)) % 4 {
                    0 => r.handle_answered(&who),
                    1 => r.handle_failed(&who, now),
                    2 | 3 => {
                        now += Duration::from_secs(5);
                        r.handle_timeout(now);
                    }
                    _ => unreachable!(),
                }
                acts.extend(drain(&mut r));
            }
            for _ in 0..10 {
                now += Duration::from_secs(5);
                r.handle_timeout(now);
                acts.extend(drain(&mut r));
            }
            let connects = acts.iter().filter(|a| matches!(a, Action::Connect(_))).count();
            let fallbacks = acts.iter().filter(|a| **a == Action::Fallback).count();
            assert!(connects + fallbacks == 1, "{strategy:?} {script}: {acts:?}");
            assert_eq!(r.poll_timeout(), None, "{strategy:?} {script}: still ringing");
        }
    }
}
