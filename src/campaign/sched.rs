//! The campaign scheduler, sans-IO: the hopper (a bounded window of the
//! queue's head, read from the store), progressive pacing (one call per free
//! slot, at most `max_cps` per second) and what to do next.
//!
//! The queue itself lives in the store, which orders it; the hopper is a
//! cache of its head and is replaced whole on each refill, so a record can
//! never be in it twice. Anything that may change the head (an append, a
//! record becoming due, an attempt ending with "next number now") marks it
//! stale.

use super::model::Pacing;
use super::record::NewRecord;
use crate::ids::RecordId;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A record taken from the head of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: RecordId,
    /// 0 = appended, 1 = loaded.
    pub class: i64,
    pub phone_idx: i64,
    pub attempts_on_phone: i64,
    pub record: NewRecord,
}

impl Entry {
    /// The number this attempt dials; `None` if the index is past the end.
    pub fn phone(&self) -> Option<&str> {
        self.record.phones().nth(self.phone_idx.max(0) as usize)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Dial this record now (the caller checks DNC, windows and caps).
    Dial(Entry),
    /// Read the head of the queue from the store, then call `handle_refill`.
    Refill { limit: u32 },
    /// Nothing to do until `until` (or until something happens).
    Idle { why: Idle, until: Option<Instant> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Every slot (`max_concurrent`) holds a call.
    SlotsFull { in_flight: usize, max: u32 },
    /// `max_cps` reached; a token comes at `until`.
    Pacing,
    /// No ready record in the store.
    Empty,
}

pub struct Scheduler {
    pacing: Pacing,
    tokens: f64,
    last: Option<Instant>,
    hopper: VecDeque<Entry>,
    stale: bool,
    /// The last refill got fewer rows than asked: the store has no more.
    drained: bool,
    in_flight: usize,
    batch: u32,
}

impl Scheduler {
    pub fn new(pacing: Pacing) -> Self {
        let batch = (pacing.max_concurrent.saturating_mul(2)).clamp(20, 500);
        Scheduler {
            pacing,
            tokens: 1.0,
            last: None,
            hopper: VecDeque::new(),
            stale: true,
            drained: false,
            in_flight: 0,
            batch,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn hopper_len(&self) -> usize {
        self.hopper.len()
    }

    /// The head of the queue may have changed: re-read it before dialling.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    pub fn handle_refill(&mut self, rows: Vec<Entry>, asked: u32) {
        self.drained = (rows.len() as u32) < asked;
        self.hopper = rows.into();
        self.stale = false;
    }

    /// A call started for a record `poll` returned.
    pub fn handle_dialed(&mut self) {
        self.in_flight += 1;
    }

    /// A record `poll` returned was not dialled after all (DNC, window,
    /// caps): it went back to the store, which now knows where it belongs.
    pub fn handle_skipped(&mut self) {}

    /// A call ended; its slot is free.
    pub fn handle_ended(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn refill_tokens(&mut self, now: Instant) {
        let cps = self.pacing.max_cps.max(0.001);
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * cps).min(cps.max(1.0));
        }
        self.last = Some(now);
    }

    /// What to do now. Safe to call at any time, as often as wanted.
    pub fn poll(&mut self, now: Instant) -> Step {
        let max = self.pacing.max_concurrent;
        if self.in_flight >= max as usize {
            return Step::Idle { why: Idle::SlotsFull { in_flight: self.in_flight, max }, until: None };
        }
        if self.stale || (self.hopper.len() <= (self.batch as usize) / 4 && !self.drained) {
            return Step::Refill { limit: self.batch };
        }
        if self.hopper.is_empty() {
            return Step::Idle { why: Idle::Empty, until: None };
        }
        self.refill_tokens(now);
        if self.tokens < 1.0 {
            let wait = (1.0 - self.tokens) / self.pacing.max_cps.max(0.001);
            return Step::Idle { why: Idle::Pacing, until: Some(now + Duration::from_secs_f64(wait)) };
        }
        self.tokens -= 1.0;
        let entry = self.hopper.pop_front().expect("not empty");
        Step::Dial(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64) -> Entry {
        let record = NewRecord::from_json(&serde_json::json!({"phone1": format!("+1555{id:04}")})).unwrap();
        Entry { id: RecordId(id), class: 1, phone_idx: 0, attempts_on_phone: 0, record }
    }

    fn pacing(max_concurrent: u32, max_cps: f64) -> Pacing {
        Pacing { max_concurrent, max_cps }
    }

    #[test]
    fn refills_first_then_dials_in_hopper_order() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(pacing(5, 100.0));
        let Step::Refill { limit } = s.poll(t0) else { panic!() };
        s.handle_refill((1..=3).map(entry).collect(), limit);
        for want in 1..=3 {
            match s.poll(t0 + Duration::from_secs(want as u64)) {
                Step::Dial(e) => assert_eq!(e.id, RecordId(want)),
                other => panic!("{other:?}"),
            }
            s.handle_dialed();
        }
        assert_eq!(s.poll(t0 + Duration::from_secs(9)), Step::Idle { why: Idle::Empty, until: None });
        s.invalidate();
        assert!(matches!(s.poll(t0), Step::Refill { .. }));
    }

    #[test]
    fn slots_cap_concurrency() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(pacing(2, 1000.0));
        s.handle_refill((1..=10).map(entry).collect(), 10);
        for i in 0..2 {
            assert!(matches!(s.poll(t0 + Duration::from_millis(i * 10)), Step::Dial(_)));
            s.handle_dialed();
        }
        assert!(matches!(s.poll(t0), Step::Idle { why: Idle::SlotsFull { in_flight: 2, max: 2 }, .. }));
        s.handle_ended();
        assert!(matches!(s.poll(t0 + Duration::from_millis(50)), Step::Dial(_)));
    }

    #[test]
    fn cps_paces_on_a_virtual_clock() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(pacing(1000, 2.0));
        s.handle_refill((1..=400).map(entry).collect(), 400);
        let mut dialled = Vec::new();
        let mut now = t0;
        while now < t0 + Duration::from_secs(10) {
            match s.poll(now) {
                Step::Dial(_) => {
                    s.handle_dialed();
                    dialled.push(now);
                }
                Step::Idle { until: Some(u), .. } => now = u,
                other => panic!("{other:?}"),
            }
        }
        // A burst of up to max(1, cps) tokens, then 2 per second.
        assert!((20..=22).contains(&dialled.len()), "{}", dialled.len());
        let last_second = dialled.iter().filter(|t| **t >= t0 + Duration::from_secs(9)).count();
        assert_eq!(last_second, 2);
    }
}
