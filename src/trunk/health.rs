//! A trunk's health from its OPTIONS keepalives (issue 8), sans-IO:
//! `failures` answers missed in a row mark it down, then `successes`
//! answers in a row mark it up again. The keepalive task feeds results
//! and sleeps until `next_probe`.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    pub interval: Duration,
    pub failures: u32,
    pub successes: u32,
}

#[derive(Debug, Clone)]
pub struct Health {
    cfg: HealthConfig,
    up: bool,
    /// Consecutive results against the current state.
    streak: u32,
    next: Instant,
}

/// What changed with one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    WentDown,
    WentUp,
}

impl Health {
    /// A trunk starts up: calls may go before the first probe returns.
    pub fn new(cfg: HealthConfig, now: Instant) -> Health {
        Health { cfg, up: true, streak: 0, next: now }
    }

    pub fn up(&self) -> bool {
        self.up
    }

    pub fn next_probe(&self) -> Instant {
        self.next
    }

    /// One probe's result at `now` (answered: any final response).
    pub fn handle_result(&mut self, answered: bool, now: Instant) -> Change {
        self.next = now + self.cfg.interval;
        if answered == self.up {
            self.streak = 0;
            return Change::None;
        }
        self.streak += 1;
        let needed = if self.up { self.cfg.failures } else { self.cfg.successes };
        if self.streak < needed {
            return Change::None;
        }
        self.streak = 0;
        self.up = answered;
        if answered { Change::WentUp } else { Change::WentDown }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_n_misses_up_after_m_answers_and_blips_do_not_count() {
        let t0 = Instant::now();
        let cfg = HealthConfig { interval: Duration::from_secs(10), failures: 3, successes: 2 };
        let mut h = Health::new(cfg, t0);
        assert!(h.up());
        assert_eq!(h.handle_result(false, t0), Change::None);
        assert_eq!(h.handle_result(false, t0), Change::None);
        assert_eq!(h.handle_result(true, t0), Change::None, "an answer resets the misses");
        assert_eq!(h.handle_result(false, t0), Change::None);
        assert_eq!(h.handle_result(false, t0), Change::None);
        assert_eq!(h.handle_result(false, t0 + Duration::from_secs(1)), Change::WentDown);
        assert!(!h.up());
        assert_eq!(h.next_probe(), t0 + Duration::from_secs(11));
        assert_eq!(h.handle_result(true, t0), Change::None);
        assert_eq!(h.handle_result(false, t0), Change::None, "a miss resets the answers");
        assert_eq!(h.handle_result(true, t0), Change::None);
        assert_eq!(h.handle_result(true, t0), Change::WentUp);
        assert!(h.up());
    }
}
