//! Per-trunk admission, sans-IO: a calls-per-second token bucket, a
//! concurrency cap and the pause a 503 Retry-After imposes.

use std::time::{Duration, Instant};

/// Holds up to one second of calls (at least one), refilled continuously.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    pub fn new(rate_per_s: f64) -> Self {
        let capacity = rate_per_s.max(1.0);
        Self { rate: rate_per_s, capacity, tokens: capacity, last: None }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.capacity);
        }
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }

    /// Takes a token, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// Why a call may not start now, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A 503 with Retry-After paused the trunk (RFC 3261 §21.5.4).
    TrunkPaused(Duration),
    /// `max_concurrent` calls are up.
    TrunkBusy,
    /// `max_cps` reached.
    TrunkRate(Duration),
    /// Global cap on INVITEs awaiting a final response.
    InvitesInFlight,
    /// Global cap on live calls (`[calls] max_active`).
    TooManyCalls,
    /// The trunk's keepalive says it is down (`trunk::health`).
    TrunkDown,
    /// A reload removed the trunk from the configuration.
    TrunkRemoved,
    /// Too many INVITEs have no response at all yet: responses are being
    /// processed late (CPU saturated, or the trunk is not answering), and
    /// more INVITEs would soon be retransmitted. Shed load instead.
    Overloaded,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::TrunkPaused(_) => "trunk_paused",
            Refusal::TrunkBusy => "trunk_busy",
            Refusal::TrunkRate(_) => "trunk_rate",
            Refusal::TrunkDown => "trunk_down",
            Refusal::TrunkRemoved => "trunk_removed",
            Refusal::InvitesInFlight => "invites_in_flight",
            Refusal::TooManyCalls => "max_active",
            Refusal::Overloaded => "overloaded",
        }
    }

    /// A hint for Retry-After and for queued calls' next attempt.
    pub fn retry_after(self) -> Duration {
        match self {
            Refusal::TrunkPaused(d) | Refusal::TrunkRate(d) => d,
            Refusal::TrunkBusy | Refusal::InvitesInFlight | Refusal::TooManyCalls | Refusal::Overloaded => {
                Duration::from_secs(1)
            }
            Refusal::TrunkDown | Refusal::TrunkRemoved => Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrunkGate {
    bucket: TokenBucket,
    active: usize,
    max_concurrent: usize,
    paused_until: Option<Instant>,
}

impl TrunkGate {
    pub fn new(max_concurrent: usize, max_cps: f64) -> Self {
        Self { bucket: TokenBucket::new(max_cps), active: 0, max_concurrent, paused_until: None }
    }

    pub fn try_admit(&mut self, now: Instant) -> Result<(), Refusal> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(Refusal::TrunkPaused(until - now));
            }
            self.paused_until = None;
        }
        if self.active >= self.max_concurrent {
            return Err(Refusal::TrunkBusy);
        }
        self.bucket.try_take(now).map_err(Refusal::TrunkRate)?;
        self.active += 1;
        Ok(())
    }

    /// New limits from a reload; calls already up stay counted.
    pub fn set_limits(&mut self, max_concurrent: usize, max_cps: f64) {
        self.max_concurrent = max_concurrent;
        if self.bucket.rate != max_cps {
            self.bucket = TokenBucket::new(max_cps);
        }
    }

    pub fn release(&mut self) {
        self.active = self.active.saturating_sub(1);
    }

    pub fn active(&self) -> usize {
        self.active
    }

    /// Pauses new calls until `now + d`; a longer pause already set wins.
    pub fn pause(&mut self, now: Instant, d: Duration) {
        let until = now + d;
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
    }

    pub fn paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|u| now < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_paces_to_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0);
        // A full bucket: ten calls at once, then one every 100 ms.
        for _ in 0..10 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert!(b.try_take(t0 + Duration::from_millis(99)).is_err());
        assert!(b.try_take(t0 + Duration::from_millis(100)).is_ok());
        // Over ten simulated seconds at most 10/s get through.
        let mut ok = 0;
        for ms in (200..10_200).step_by(5) {
            if b.try_take(t0 + Duration::from_millis(ms)).is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 100);
    }

    #[test]
    fn fractional_rates_still_allow_one_call() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0.5);
        assert!(b.try_take(t0).is_ok());
        assert_eq!(b.try_take(t0), Err(Duration::from_secs(2)));
    }

    #[test]
    fn concurrency_cap_and_release() {
        let t0 = Instant::now();
        let mut g = TrunkGate::new(2, 100.0);
        assert!(g.try_admit(t0).is_ok());
        assert!(g.try_admit(t0).is_ok());
        assert_eq!(g.try_admit(t0), Err(Refusal::TrunkBusy));
        g.release();
        assert!(g.try_admit(t0).is_ok());
        assert_eq!(g.active(), 2);
    }

    #[test]
    fn pause_refuses_until_it_ends() {
        let t0 = Instant::now();
        let mut g = TrunkGate::new(10, 100.0);
        g.pause(t0, Duration::from_secs(30));
        g.pause(t0, Duration::from_secs(5)); // a shorter pause does not shorten it
        assert_eq!(g.try_admit(t0 + Duration::from_secs(10)), Err(Refusal::TrunkPaused(Duration::from_secs(20))));
        assert!(g.paused(t0 + Duration::from_secs(29)));
        assert!(g.try_admit(t0 + Duration::from_secs(30)).is_ok());
        assert!(!g.paused(t0 + Duration::from_secs(30)));
    }
}
